//! Fast CPU kernels as candle custom ops, each with its own backward; the network uses them
//! when its tensors live on the CPU in f32 and falls back to candle's ops otherwise. candle's
//! own ops are the reference they are tested against.

mod batch_norm;
mod bias;
mod conv;
mod pool;

pub use batch_norm::batch_norm_train;
pub use bias::add_channel_bias;
pub use conv::conv2d;
pub use pool::{max_pool2, max_pool2_by_reduction, upsample2};
pub use tnet_cpu::storage::on_cpu_f32;
