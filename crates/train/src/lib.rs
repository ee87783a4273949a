//! `tnet-train`: training T-Net. Optimizers with checkpointable state, learning-rate
//! schedules, checkpoints, the training loop and the training-step benchmark.

pub mod bench;
pub mod optim;

pub use optim::{Optimizer, OptimizerConfig};
