//! `tnet-hourglass`: the T-Net network and its kernel tensor (docs/model.md).
//!
//! The configuration ([`HourglassConfig`]) with its presets and checks, the shape of the single
//! 8th-order kernel tensor, the slicing rule and the parameter / FLOP accounting; the network
//! ([`TNet`]: stem, basic blocks, recursive hourglass, stacks, pose and segmentation heads)
//! whose 3x3 kernels are cut from one [`FactorizedTensor`] in a single split per pass; the
//! losses; and fast CPU kernels ([`cpu`]) as candle custom ops. See docs/model.md.
//!
//! ```
//! use tnet_hourglass::{HourglassConfig, Parametrization, Preset};
//! let cfg = HourglassConfig::preset(Preset::Mpii).unwrap();
//! assert_eq!(cfg.tensor_shape(), [2, 4, 3, 2, 128, 128, 3, 3]);
//! assert_eq!(cfg.tensor_params(), 7_077_888);
//! let tucker = cfg.with_param(Parametrization::TuckerCompression(10.0)).unwrap();
//! assert!(tucker.compression_ratio() >= 10.0);
//! ```
//!
//! One training step's gradients (the kernel tensor is reconstructed once, the layers take
//! their slices, and the backward pass reaches the Tucker core and factors):
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use tnet_hourglass::loss::pose_loss;
//! use tnet_hourglass::{Head, HourglassConfig, KernelMode, NetOptions, Parametrization, TNet};
//! # fn main() -> candle_core::Result<()> {
//! let cfg = HourglassConfig::new(1, 2, 2, 8, Head::Pose { joints: 16 }, 32, Parametrization::Dense)
//!     .map_err(|e| candle_core::Error::Msg(e.to_string()))?
//!     .with_param(Parametrization::TuckerCompression(3.0))
//!     .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
//! let net = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu)?;
//! let x = Tensor::randn(0f32, 1.0, (2, 3, 32, 32), &Device::Cpu)?;
//! let kernels = net.kernels(KernelMode::Split)?;
//! let heat = net.forward_with(&kernels, &x, true)?;
//! assert_eq!(heat[0].dims(), [2, 16, 8, 8]);
//! let weight = Tensor::ones((2, 16), DType::F32, &Device::Cpu)?;
//! let loss = pose_loss(&heat, &heat[0].zeros_like()?, &weight)?;
//! let grads = net.backward(&kernels, &loss)?;
//! let core = net.params().get("tensor.core").expect("a Tucker core");
//! assert!(grads.get(core.as_tensor()).is_some());
//! # Ok(())
//! # }
//! ```

mod batch_norm;
pub mod budget;
mod config;
pub mod cpu;
mod kernels;
mod layers;
pub mod loss;
mod names;
mod network;
pub mod ops;
mod params;
pub mod replicas;

pub use batch_norm::{BN_EPS, BN_MOMENTUM, BatchNorm2d};
pub use config::{
    ConfigError, Head, HourglassConfig, LayerKind, MODE_NAMES, Parametrization, Path, Resolved,
};
pub use kernels::{KernelMode, Kernels};
pub use names::{ParamName, Preset, RankSpec};
pub use network::{NetOptions, TNet, init_tensor};
pub use params::{ParamStore, Role, kaiming_conv};
pub use tnet_factorized::{FactorizedTensor, PartScale};
