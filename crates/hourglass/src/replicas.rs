//! Replicas of one network in several processes (data-parallel training): the collective
//! operations they need, behind a trait, so that the network and the trainer know no transport.
//! The `tnet` binary implements it over MPI (feature `mpi`); [`SingleProcess`] is the world of
//! one, and [`ThreadGroup`] runs replicas as threads of one process (tests, examples).
//!
//! ```
//! use std::sync::Arc;
//! use tnet_hourglass::replicas::{Collective, ThreadGroup};
//! let sums: Vec<Vec<f32>> = std::thread::scope(|s| {
//!     let handles: Vec<_> = ThreadGroup::new(3)
//!         .into_iter()
//!         .map(|member| {
//!             s.spawn(move || {
//!                 let mut v = vec![member.rank() as f32, 1.0];
//!                 member.all_reduce_sum(&mut v).unwrap();
//!                 v
//!             })
//!         })
//!         .collect();
//!     handles.into_iter().map(|h| h.join().unwrap()).collect()
//! });
//! assert!(sums.iter().all(|v| v == &[3.0, 3.0]));
//! ```

use std::sync::{Arc, Barrier, Mutex};

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

/// A collective failed: a peer is gone, the transport reported an error, or it timed out.
#[derive(Debug, thiserror::Error)]
#[error("collective {op} failed: {reason}")]
pub struct CollectiveError {
    pub op: &'static str,
    pub reason: String,
}

/// The collectives data-parallel training uses. Every member calls each operation in the same
/// order with buffers of the same length; sums are element-wise and leave the same values on
/// every member.
pub trait Collective: Send + Sync + std::fmt::Debug {
    /// This member's index, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of members.
    fn size(&self) -> usize;
    /// Sums `values` over the members, in place.
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<(), CollectiveError>;
    /// Sums `values` over the members, in place, in f64 (counts, losses, gathered results).
    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<(), CollectiveError>;

    /// Member 0 writes files and shows progress.
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
}

/// The world of one process: every collective is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, _: &mut [f32]) -> Result<(), CollectiveError> {
        Ok(())
    }
    fn all_reduce_sum_f64(&self, _: &mut [f64]) -> Result<(), CollectiveError> {
        Ok(())
    }
}

/// Members of one in-process group, one per thread. Sums are taken in f64 in rank order, so
/// every member gets bit-identical results.
#[derive(Debug)]
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<GroupState>,
}

#[derive(Debug)]
struct GroupState {
    size: usize,
    barrier: Barrier,
    slots: Mutex<Vec<Vec<f64>>>,
}

impl ThreadGroup {
    /// `size` members (at least one), to be moved each to its own thread.
    pub fn new(size: usize) -> Vec<ThreadGroup> {
        let size = size.max(1);
        let shared = Arc::new(GroupState {
            size,
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size)
            .map(|rank| ThreadGroup {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }

    fn sum(&self, values: &[f64]) -> Result<Vec<f64>, CollectiveError> {
        let poisoned = |_| CollectiveError {
            op: "all-reduce",
            reason: "a member of the thread group panicked".into(),
        };
        self.shared.slots.lock().map_err(poisoned)?[self.rank] = values.to_vec();
        self.shared.barrier.wait();
        let total = {
            let slots = self.shared.slots.lock().map_err(poisoned)?;
            if let Some(other) = slots.iter().find(|s| s.len() != values.len()) {
                return Err(CollectiveError {
                    op: "all-reduce",
                    reason: format!("members passed {} and {} values", values.len(), other.len()),
                });
            }
            let mut total = vec![0.0; values.len()];
            for slot in slots.iter() {
                for (t, v) in total.iter_mut().zip(slot) {
                    *t += v;
                }
            }
            total
        };
        // Nobody overwrites a slot before every member has read them all.
        self.shared.barrier.wait();
        Ok(total)
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.shared.size
    }
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<(), CollectiveError> {
        let wide: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        for (v, t) in values.iter_mut().zip(self.sum(&wide)?) {
            *v = t as f32;
        }
        Ok(())
    }
    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<(), CollectiveError> {
        let total = self.sum(values)?;
        values.copy_from_slice(&total);
        Ok(())
    }
}

/// Sums a tensor over the members, differentiably: the gradient of a sum that every member
/// uses is the sum of their gradients, so the backward pass all-reduces too (synchronized
/// BatchNorm's statistics). The tensor must be f32 or f64; it may live on any device (it is
/// summed through host memory).
pub fn all_reduce_tensor(t: &Tensor, group: &Arc<dyn Collective>) -> candle_core::Result<Tensor> {
    if group.size() == 1 {
        return Ok(t.clone());
    }
    let device = t.device().clone();
    let op = AllReduceOp(group.clone());
    t.to_device(&candle_core::Device::Cpu)?
        .contiguous()?
        .apply_op1(op)?
        .to_device(&device)
}

#[derive(Clone)]
struct AllReduceOp(Arc<dyn Collective>);

impl CustomOp1 for AllReduceOp {
    fn name(&self) -> &'static str {
        "tnet-all-reduce-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = l.contiguous_offsets() else {
            candle_core::bail!("all-reduce of a non-contiguous tensor");
        };
        let failed = |e: CollectiveError| candle_core::Error::Msg(e.to_string());
        let out = match s {
            CpuStorage::F32(data) => {
                let mut values = data[start..end].to_vec();
                self.0.all_reduce_sum(&mut values).map_err(failed)?;
                CpuStorage::F32(values)
            }
            CpuStorage::F64(data) => {
                let mut values = data[start..end].to_vec();
                self.0.all_reduce_sum_f64(&mut values).map_err(failed)?;
                CpuStorage::F64(values)
            }
            _ => candle_core::bail!("all-reduce of a tensor that is neither f32 nor f64"),
        };
        Ok((out, l.shape().clone()))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(all_reduce_tensor(grad_res, &self.0)?))
    }
}
