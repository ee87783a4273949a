//! `tnet-cpu`: what the project's CPU kernels (candle custom ops in `tnet-factorized` and
//! `tnet-hourglass`) share: strided f32 GEMMs and how to spread independent ones over threads
//! (`gemm`), the f32 data of a CPU storage (`storage`), per-thread scratch buffers
//! (`scratch`), a pointer for disjoint parallel writes (`SendPtr`), the process-wide
//! settings binaries apply at start-up (`process`), and where a stretch of work should start
//! (`workers`).

pub mod gemm;
pub mod process;
pub mod scratch;
mod send_ptr;
pub mod storage;
pub mod workers;

pub use send_ptr::SendPtr;
