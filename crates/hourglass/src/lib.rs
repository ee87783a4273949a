//! `tnet-hourglass`: the network of `../shared/SPEC.md` sections 1 and 2.
//!
//! So far: the configuration ([`HourglassConfig`]) with its presets and checks, the shape of
//! the single 8th-order kernel tensor, the slicing rule, and the parameter and FLOP accounting
//! of every parametrization. The candle modules build on this.
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
