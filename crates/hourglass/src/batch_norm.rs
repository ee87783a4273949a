//! BatchNorm2d with PyTorch's semantics: batch statistics in training (biased variance for the
//! normalization, unbiased for the running estimate, momentum 0.1), running statistics in eval.

use candle_core::{DType, Device, ModuleT, Result, Tensor, Var};

use crate::params::{ParamStore, Role};

pub const BN_EPS: f64 = 1e-5;
pub const BN_MOMENTUM: f64 = 0.1;

#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    weight: Var,
    bias: Var,
    running_mean: Var,
    running_var: Var,
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
        let ones = Tensor::ones(channels, dtype, device)?;
        let zeros = Tensor::zeros(channels, dtype, device)?;
        Ok(Self {
            weight: store.insert(format!("{prefix}.weight"), &ones, Role::Trainable)?,
            bias: store.insert(format!("{prefix}.bias"), &zeros, Role::Trainable)?,
            running_mean: store.insert(format!("{prefix}.running_mean"), &zeros, Role::Buffer)?,
            running_var: store.insert(format!("{prefix}.running_var"), &ones, Role::Buffer)?,
        })
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
        if fast && train && crate::cpu::on_cpu_f32(x) {
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
        let n = (b * h * w) as f64;
        if n < 2.0 {
            candle_core::bail!("BatchNorm2d in training needs more than one value per channel");
        }
        let mean = x.mean_keepdim((0, 2, 3))?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim((0, 2, 3))?;
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
