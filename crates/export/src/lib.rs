//! `tnet-export`: T-Net networks out of the project. [`onnx_model`] writes the inference
//! network as an ONNX graph that keeps the kernel tensor factorized (its parts are the
//! initializers and the reconstruction is a few graph nodes the runtime computes once), or
//! with plain conv weights; every BatchNorm is folded into the conv before it.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use prost::Message;
//! use tnet_hourglass::{HourglassConfig, NetOptions, Preset, TNet};
//! let cfg = HourglassConfig::preset(Preset::Small)?;
//! let net = TNet::new(&cfg, &NetOptions::default(), &candle_core::Device::Cpu)?;
//! let model = tnet_export::onnx_model(&net, &tnet_export::OnnxOptions::default())?;
//! std::fs::write("model.onnx", model.encode_to_vec())?;
//! # Ok(()) }
//! ```

mod graph;
mod kernels;
mod network;
pub mod torch;

/// ONNX's protobuf messages, generated from its published `onnx.proto`.
#[allow(clippy::all, missing_docs)]
pub mod onnx {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use network::{INPUT, onnx_model};

/// What to export.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxOptions {
    /// Plain conv weights instead of the factorized tensor.
    pub dense: bool,
    /// The ONNX opset (13 or later).
    pub opset: i64,
    /// A fixed batch size; `None` leaves the batch dimension dynamic.
    pub batch: Option<usize>,
    /// Every stack's output (`stack0`, `stack1`, ..) instead of the last one (`heatmaps`).
    pub all_stacks: bool,
}

impl Default for OnnxOptions {
    fn default() -> Self {
        Self {
            dense: false,
            opset: 17,
            batch: None,
            all_stacks: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
    #[error("missing tensor {0}")]
    MissingTensor(String),
    #[error("{0}")]
    BadTensor(String),
    #[error("cannot export: {0}")]
    Unsupported(String),
}
