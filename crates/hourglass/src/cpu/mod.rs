//! Fast CPU kernels as candle custom ops, each with its own backward; the network uses them
//! when its tensors live on the CPU in f32 and falls back to candle's ops otherwise. candle's
//! own ops are the reference they are tested against.

mod batch_norm;
mod bias;
mod conv;
mod pool;
mod scratch;
mod storage;

pub use batch_norm::batch_norm_train;
pub use bias::add_channel_bias;
pub use conv::conv2d;
pub use pool::{max_pool2, max_pool2_by_reduction, upsample2};
pub use storage::on_cpu_f32;

/// For binaries, before any thread starts: park candle's element-wise worker threads as soon
/// as an op ends. candle 0.11 lets them spin for 25,000 pause instructions first, and on a
/// machine with as many cores as rayon threads that spinning takes a core from the
/// convolution that follows (the `small` step's fastest times improved by about 10 %).
/// Leaves an explicit `CANDLE_BARRIER_POOL_SPIN_LIMIT` alone.
///
/// # Safety
/// Sets an environment variable: call it while the process has a single thread.
pub unsafe fn park_candle_workers_when_idle() {
    const VAR: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(VAR).is_none() {
        // SAFETY: the caller guarantees no other thread reads the environment concurrently.
        unsafe { std::env::set_var(VAR, "0") };
    }
}
