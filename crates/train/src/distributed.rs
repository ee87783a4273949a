//! Data-parallel training over a [`Collective`] (docs/distributed.md): every replica holds the
//! whole network, trains on its part of each global batch, and applies the same averaged
//! gradients, so the replicas stay identical. Gradients travel in buckets of
//! [`BUCKET_ELEMENTS`] values (one all-reduce per bucket, not per tensor); results that the
//! replicas compute in parts (validation) are gathered exactly.

use std::sync::Arc;
use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use tnet_data::pose_loader::Shard;
pub use tnet_hourglass::replicas::{Collective, CollectiveError, SingleProcess, ThreadGroup};

/// Values per gradient bucket (4 MiB of f32).
pub const BUCKET_ELEMENTS: usize = 1 << 20;

/// What one gradient reduction moved (or several, added up).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReduceStats {
    /// Bytes each replica sent into the all-reduces (the gradients' size).
    pub bytes: usize,
    /// All-reduce calls.
    pub calls: usize,
    /// Seconds spent packing, reducing and unpacking.
    pub seconds: f64,
}

impl std::ops::AddAssign for ReduceStats {
    fn add_assign(&mut self, other: ReduceStats) {
        self.bytes += other.bytes;
        self.calls += other.calls;
        self.seconds += other.seconds;
    }
}

/// One tensor's place in a bucket.
struct Slot<'a> {
    var: &'a Var,
    offset: usize,
    shape: Vec<usize>,
    device: Device,
}

/// The element types gradients are reduced in: f32 (training), f64 (exactness checks).
trait Element: candle_core::WithDType + Copy {
    fn all_reduce(group: &dyn Collective, values: &mut [Self]) -> Result<(), CollectiveError>;
}

impl Element for f32 {
    fn all_reduce(group: &dyn Collective, values: &mut [f32]) -> Result<(), CollectiveError> {
        group.all_reduce_sum(values)
    }
}

impl Element for f64 {
    fn all_reduce(group: &dyn Collective, values: &mut [f64]) -> Result<(), CollectiveError> {
        group.all_reduce_sum_f64(values)
    }
}

/// Replaces each gradient in `grads` of the variables `params` (in this order, the same on
/// every replica) by its mean over the replicas. Gradients travel in the parameters' dtype when
/// every one is f64, in f32 otherwise.
pub fn average_gradients(
    params: &[(String, Var)],
    grads: &mut GradStore,
    group: &dyn Collective,
) -> candle_core::Result<ReduceStats> {
    if group.size() == 1 {
        return Ok(ReduceStats::default());
    }
    if params
        .iter()
        .all(|(_, v)| v.dtype() == candle_core::DType::F64)
    {
        average_as::<f64>(params, grads, group)
    } else {
        average_as::<f32>(params, grads, group)
    }
}

fn average_as<T: Element>(
    params: &[(String, Var)],
    grads: &mut GradStore,
    group: &dyn Collective,
) -> candle_core::Result<ReduceStats> {
    let mut stats = ReduceStats::default();
    let started = Instant::now();
    let mut bucket: Vec<T> = Vec::with_capacity(BUCKET_ELEMENTS);
    let mut slots: Vec<Slot<'_>> = Vec::new();
    for (_, var) in params {
        let Some(g) = grads.get(var.as_tensor()) else {
            continue;
        };
        slots.push(Slot {
            var,
            offset: bucket.len(),
            shape: g.dims().to_vec(),
            device: g.device().clone(),
        });
        bucket.extend(g.flatten_all()?.to_dtype(T::DTYPE)?.to_vec1::<T>()?);
        if bucket.len() >= BUCKET_ELEMENTS {
            flush(&mut bucket, &mut slots, grads, group, &mut stats)?;
        }
    }
    if !bucket.is_empty() {
        flush(&mut bucket, &mut slots, grads, group, &mut stats)?;
    }
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

/// All-reduces one bucket and puts the means back as the slots' gradients.
fn flush<T: Element>(
    bucket: &mut Vec<T>,
    slots: &mut Vec<Slot<'_>>,
    grads: &mut GradStore,
    group: &dyn Collective,
    stats: &mut ReduceStats,
) -> candle_core::Result<()> {
    T::all_reduce(group, bucket).map_err(candle_err)?;
    stats.bytes += bucket.len() * std::mem::size_of::<T>();
    stats.calls += 1;
    let ends: Vec<usize> = slots
        .iter()
        .skip(1)
        .map(|s| s.offset)
        .chain([bucket.len()])
        .collect();
    let scale = 1.0 / group.size() as f64;
    for (slot, end) in slots.iter().zip(ends) {
        let sum = Tensor::from_slice(
            &bucket[slot.offset..end],
            slot.shape.as_slice(),
            &slot.device,
        )?;
        let mean = (sum * scale)?.to_dtype(slot.var.dtype())?;
        grads.insert(slot.var.as_tensor(), mean);
    }
    bucket.clear();
    slots.clear();
    Ok(())
}

/// Sets every replica's `values` to replica 0's (a sum in which the others contribute zeros,
/// so the values arrive unchanged).
pub fn broadcast_from_root(
    values: &mut [f64],
    group: &dyn Collective,
) -> Result<(), CollectiveError> {
    if group.size() == 1 {
        return Ok(());
    }
    if !group.is_root() {
        values.fill(0.0);
    }
    group.all_reduce_sum_f64(values)
}

/// Copies replica 0's values of `vars` to every replica (BatchNorm's running statistics,
/// which each replica updates from its own part of the batch unless BatchNorm is
/// synchronized, before a validation or a checkpoint).
pub fn broadcast_vars(vars: &[(String, Var)], group: &dyn Collective) -> candle_core::Result<()> {
    if group.size() == 1 {
        return Ok(());
    }
    let mut flat: Vec<f64> = Vec::new();
    for (_, v) in vars {
        flat.extend(
            v.as_tensor()
                .flatten_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_vec1::<f64>()?,
        );
    }
    broadcast_from_root(&mut flat, group).map_err(candle_err)?;
    let mut offset = 0;
    for (_, v) in vars {
        let n = v.elem_count();
        let t = Tensor::from_slice(&flat[offset..offset + n], v.dims(), v.device())?;
        v.set(&t.to_dtype(v.dtype())?)?;
        offset += n;
    }
    Ok(())
}

/// This replica's part of each batch (and of each validation batch).
pub fn shard_of(group: &dyn Collective) -> Shard {
    Shard {
        index: group.rank(),
        count: group.size(),
    }
}

/// Every replica says whether it must stop (Ctrl-C); all stop when one does, at the same
/// step, so no replica waits in a collective for one that left.
pub fn agree_to_stop(stop: bool, group: &dyn Collective) -> Result<bool, CollectiveError> {
    let mut v = [f64::from(u8::from(stop))];
    group.all_reduce_sum_f64(&mut v)?;
    Ok(v[0] > 0.0)
}

/// The replicas a training process is one of.
#[derive(Debug, Clone)]
pub struct Replicas {
    pub group: Arc<dyn Collective>,
    /// BatchNorm over the global batch ([`tnet_hourglass::TNet::sync_batch_norm`]) instead of
    /// each replica's part.
    pub sync_bn: bool,
}

impl Default for Replicas {
    /// One process, its own BatchNorm.
    fn default() -> Self {
        Replicas {
            group: Arc::new(SingleProcess),
            sync_bn: false,
        }
    }
}

fn candle_err(e: CollectiveError) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}
