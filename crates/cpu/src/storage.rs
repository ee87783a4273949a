//! Access to the f32 data of a CPU storage under a contiguous layout.

use candle_core::{CpuStorage, DType, Layout, Result, Tensor};

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

/// Whether the project's CPU kernels apply: f32 data on the CPU.
pub fn on_cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// `(B, C, H, W)` of a layout, or an error naming the op.
pub fn nchw(l: &Layout, what: &str) -> Result<(usize, usize, usize, usize)> {
    let &[b, c, h, w] = l.dims() else {
        candle_core::bail!("{what}: expected (B, C, H, W), got {:?}", l.dims());
    };
    Ok((b, c, h, w))
}
