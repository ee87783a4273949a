//! BatchNorm2d with PyTorch's semantics: batch statistics in training (biased variance for the
//! normalization, unbiased for the running estimate, momentum 0.1), running statistics in eval.
//! Under data-parallel training the statistics can be those of the global batch (synchronized
//! BatchNorm, [`crate::TNet::sync_batch_norm`]).

use std::sync::{Arc, RwLock};

use candle_core::{DType, Device, ModuleT, Result, Tensor, Var};

use crate::params::{ParamStore, Role};
use crate::replicas::{Collective, all_reduce_tensor};

/// The group whose global batch every BatchNorm of one network normalizes over (none: each
/// replica its own batch). One slot is shared by all the network's layers.
pub(crate) type SyncSlot = Arc<RwLock<Option<Arc<dyn Collective>>>>;

pub const BN_EPS: f64 = 1e-5;
pub const BN_MOMENTUM: f64 = 0.1;

#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    weight: Var,
    bias: Var,
    running_mean: Var,
    running_var: Var,
    sync: SyncSlot,
}

impl BatchNorm2d {
    /// gamma 1, beta 0, running mean 0, running variance 1, registered under `prefix.*`.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        channels: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        Self::with_sync(store, prefix, channels, dtype, device, SyncSlot::default())
    }

    pub(crate) fn with_sync(
        store: &mut ParamStore,
        prefix: &str,
        channels: usize,
        dtype: DType,
        device: &Device,
        sync: SyncSlot,
    ) -> Result<Self> {
        let ones = Tensor::ones(channels, dtype, device)?;
        let zeros = Tensor::zeros(channels, dtype, device)?;
        Ok(Self {
            weight: store.insert(format!("{prefix}.weight"), &ones, Role::Trainable)?,
            bias: store.insert(format!("{prefix}.bias"), &zeros, Role::Trainable)?,
            running_mean: store.insert(format!("{prefix}.running_mean"), &zeros, Role::Buffer)?,
            running_var: store.insert(format!("{prefix}.running_var"), &ones, Role::Buffer)?,
            sync,
        })
    }

    /// The group of synchronized BatchNorm, when set.
    fn group(&self) -> Option<Arc<dyn Collective>> {
        self.sync.read().ok().and_then(|g| g.clone())
    }

    fn affine(&self, xhat: &Tensor) -> Result<Tensor> {
        let c = self.weight.dim(0)?;
        xhat.broadcast_mul(&self.weight.reshape((1, c, 1, 1))?)?
            .broadcast_add(&self.bias.reshape((1, c, 1, 1))?)
    }
}

impl BatchNorm2d {
    /// `act(bn(x) [+ residual])`: the fused CPU kernel in training on f32 CPU tensors when
    /// `fast`, candle's ops otherwise (same function, same running-statistics update).
    pub fn forward_act(
        &self,
        x: &Tensor,
        residual: Option<&Tensor>,
        relu: bool,
        train: bool,
        fast: bool,
    ) -> Result<Tensor> {
        let group = self.group();
        if fast && train && group.is_none() && crate::cpu::on_cpu_f32(x) {
            let (b, c, h, w) = x.dims4()?;
            if c != self.weight.dim(0)? {
                candle_core::bail!("BatchNorm2d over {} channels got {c}", self.weight.dim(0)?);
            }
            if b * h * w < 2 {
                candle_core::bail!("BatchNorm2d in training needs more than one value per channel");
            }
            let (y, stats) = crate::cpu::batch_norm_train(
                x,
                self.weight.as_tensor(),
                self.bias.as_tensor(),
                residual,
                relu,
                BN_EPS,
            )?;
            let m = BN_MOMENTUM;
            let rm = ((self.running_mean.as_tensor() * (1.0 - m))? + (stats.get(0)? * m)?)?;
            let rv = ((self.running_var.as_tensor() * (1.0 - m))? + (stats.get(1)? * m)?)?;
            self.running_mean.set(&rm)?;
            self.running_var.set(&rv)?;
            return Ok(y);
        }
        let mut y = self.forward_t(x, train)?;
        if let Some(r) = residual {
            y = (y + r)?;
        }
        if relu { y.relu() } else { Ok(y) }
    }
}

impl ModuleT for BatchNorm2d {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let group = self.group();
        if c != self.weight.dim(0)? {
            candle_core::bail!("BatchNorm2d over {} channels got {c}", self.weight.dim(0)?);
        }
        if !train {
            let scale = (self.running_var.as_tensor() + BN_EPS)?.sqrt()?.recip()?;
            let xhat = x
                .broadcast_sub(&self.running_mean.reshape((1, c, 1, 1))?)?
                .broadcast_mul(&scale.reshape((1, c, 1, 1))?)?;
            return self.affine(&xhat);
        }
        let mut n = (b * h * w) as f64;
        if let Some(group) = &group {
            let mut count = [n];
            group
                .all_reduce_sum_f64(&mut count)
                .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
            n = count[0];
        }
        if n < 2.0 {
            candle_core::bail!("BatchNorm2d in training needs more than one value per channel");
        }
        // Sums over the global batch when synchronized, then the same two-pass statistics.
        let global_sum = |t: Tensor| -> Result<Tensor> {
            match &group {
                Some(g) => all_reduce_tensor(&t, g),
                None => Ok(t),
            }
        };
        let mean = (global_sum(x.sum_keepdim((0, 2, 3))?)? / n)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = (global_sum(centred.sqr()?.sum_keepdim((0, 2, 3))?)? / n)?;
        let xhat = centred.broadcast_div(&(&var + BN_EPS)?.sqrt()?)?;
        let m = BN_MOMENTUM;
        let rm =
            ((self.running_mean.as_tensor() * (1.0 - m))? + (mean.detach().flatten_all()? * m)?)?;
        let rv = ((self.running_var.as_tensor() * (1.0 - m))?
            + (var.detach().flatten_all()? * (m * n / (n - 1.0)))?)?;
        self.running_mean.set(&rm)?;
        self.running_var.set(&rv)?;
        self.affine(&xhat)
    }
}
