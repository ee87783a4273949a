//! Access to the f32 data of a CPU storage under a contiguous layout.

use candle_core::{CpuStorage, Layout, Result};

/// The contiguous f32 slice a layout describes (custom ops are applied to contiguous tensors).
pub fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("{what}: only f32 is supported by the fast CPU kernels");
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("{what}: expected a contiguous tensor"),
    }
}
