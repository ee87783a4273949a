//! `tnet-hourglass`: the network of `../shared/SPEC.md` sections 1 and 2.
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

mod batch_norm;
mod config;
pub mod cpu;
mod kernels;
pub mod loss;
mod network;
pub mod ops;
mod params;

pub use batch_norm::{BN_EPS, BN_MOMENTUM, BatchNorm2d};
pub use config::{
    ConfigError, Head, HourglassConfig, MODE_NAMES, Parametrization, Path, Preset, Resolved,
};
pub use kernels::{KernelMode, Kernels};
pub use network::{NetOptions, TNet, init_tensor};
pub use params::{ParamStore, Role, kaiming_conv};
pub use tnet_factorized::FactorizedTensor;
