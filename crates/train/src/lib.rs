//! `tnet-train`: training T-Net. Optimizers with checkpointable state, the learning-rate
//! schedule, the configuration, checkpoints, validation, the training loop and the
//! training-step benchmark.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device_check;
pub mod distributed;
pub mod eval;
pub mod model_io;
pub mod optim;
pub mod plot;
pub mod predict;
mod progress;
pub mod run;
pub mod study;

pub use config::TrainConfig;
pub use optim::{Optimizer, OptimizerConfig};
pub use run::{RunOptions, RunSummary, TrainError, train};
