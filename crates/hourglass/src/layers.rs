//! The network's layers outside the kernel tensor (convs with their BatchNorm), how they run
//! (`Exec`), and the builder that creates their parameters under named paths.

use candle_core::{DType, Device, Result, Tensor};
use tnet_tensor::random::SeededRng;

use crate::batch_norm::{BatchNorm2d, SyncSlot};
use crate::params::{ParamStore, Role, kaiming_conv};

/// Creates parameters into a store under a name prefix (as candle's `VarBuilder::pp`), drawing
/// initial values from one seeded generator: the order of the calls fixes the network's
/// initialization.
pub(crate) struct Builder<'a> {
    pub(crate) store: &'a mut ParamStore,
    pub(crate) rng: &'a mut SeededRng,
    pub(crate) dtype: DType,
    pub(crate) device: &'a Device,
    /// Shared by every BatchNorm the builder makes.
    pub(crate) bn_sync: SyncSlot,
    prefix: String,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(
        store: &'a mut ParamStore,
        rng: &'a mut SeededRng,
        dtype: DType,
        device: &'a Device,
    ) -> Self {
        Builder {
            store,
            rng,
            dtype,
            device,
            bn_sync: SyncSlot::default(),
            prefix: String::new(),
        }
    }

    /// A builder for the names under `name` (`stack.0` then `hg.level3` gives
    /// `stack.0.hg.level3.*`).
    pub(crate) fn pp(&mut self, name: impl std::fmt::Display) -> Builder<'_> {
        Builder {
            prefix: self.path(&name.to_string()),
            store: self.store,
            rng: self.rng,
            dtype: self.dtype,
            device: self.device,
            bn_sync: self.bn_sync.clone(),
        }
    }

    /// The full name of `name` under this builder's prefix.
    pub(crate) fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// `name.weight` (Kaiming normal) and, with `bias`, `name.bias` (zeros).
    pub(crate) fn conv(
        &mut self,
        name: &str,
        (c_in, c_out): (usize, usize),
        k: usize,
        stride: usize,
        bias: bool,
    ) -> Result<Conv> {
        let (dtype, device) = (self.dtype, self.device);
        let w = kaiming_conv(c_out, c_in, k, self.rng, dtype, device)?;
        let weight = self
            .store
            .insert(self.path(&format!("{name}.weight")), &w, Role::Trainable)?
            .as_tensor()
            .clone();
        let bias = if bias {
            let z = Tensor::zeros(c_out, dtype, device)?;
            let var = self
                .store
                .insert(self.path(&format!("{name}.bias")), &z, Role::Trainable)?;
            Some(var.as_tensor().clone())
        } else {
            None
        };
        Ok(Conv {
            weight,
            bias,
            stride,
            padding: k / 2,
        })
    }

    /// `name.weight` / `name.bias` / running statistics of a BatchNorm over `channels`.
    pub(crate) fn batch_norm(&mut self, name: &str, channels: usize) -> Result<BatchNorm2d> {
        let path = self.path(name);
        let sync = self.bn_sync.clone();
        BatchNorm2d::with_sync(self.store, &path, channels, self.dtype, self.device, sync)
    }

    /// `name.conv` (no bias) and `name.bn`.
    pub(crate) fn conv_bn(
        &mut self,
        name: &str,
        channels: (usize, usize),
        k: usize,
        stride: usize,
    ) -> Result<ConvBnRelu> {
        Ok(ConvBnRelu {
            conv: self.conv(&format!("{name}.conv"), channels, k, stride, false)?,
            bn: self.batch_norm(&format!("{name}.bn"), channels.1)?,
        })
    }
}

/// A conv (any size) with optional bias.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
}

impl Conv {
    pub(crate) fn forward(&self, x: &Tensor, ex: Exec) -> Result<Tensor> {
        let y = ex.conv(x, &self.weight, self.stride, self.padding)?;
        match &self.bias {
            Some(b) => ex.add_bias(&y, b),
            None => Ok(y),
        }
    }
}

/// A conv, its BatchNorm and a ReLU.
#[derive(Debug, Clone)]
pub(crate) struct ConvBnRelu {
    conv: Conv,
    bn: BatchNorm2d,
}

impl ConvBnRelu {
    pub(crate) fn forward_t(&self, x: &Tensor, train: bool, ex: Exec) -> Result<Tensor> {
        self.bn
            .forward_act(&self.conv.forward(x, ex)?, None, true, train, ex.fast)
    }
}

/// How convolutions run: the project's CPU kernels, and the mixed-precision dtype.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exec {
    /// The project's CPU kernels for f32 CPU tensors.
    pub(crate) fast: bool,
    /// The convolutions' dtype under mixed precision.
    pub(crate) half: Option<DType>,
}

impl Exec {
    pub(crate) fn conv(
        &self,
        x: &Tensor,
        w: &Tensor,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        match self.half {
            Some(dt) if dt != x.dtype() => x
                .to_dtype(dt)?
                .conv2d(&w.to_dtype(dt)?, padding, stride, 1, 1)?
                .to_dtype(x.dtype()),
            _ if self.fast => crate::cpu::conv2d(x, w, stride, padding),
            _ => x.conv2d(w, padding, stride, 1, 1),
        }
    }

    /// `y + bias` per channel.
    pub(crate) fn add_bias(&self, y: &Tensor, bias: &Tensor) -> Result<Tensor> {
        if self.fast {
            crate::cpu::add_channel_bias(y, bias)
        } else {
            y.broadcast_add(&bias.reshape((1, bias.dim(0)?, 1, 1))?)
        }
    }
}
