//! 2x2 max-pooling (stride 2) and nearest x2 upsampling on `(B, C, H, W)` f32 CPU tensors, each
//! a single pass with a single-pass backward. Pooling's gradient goes to the first maximum of
//! each window in row-major order (PyTorch's rule; candle's own backward splits ties).

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use tnet_cpu::storage::{f32_slice, nchw, on_cpu_f32};

/// Index (0..4) of the first maximum of a 2x2 window.
#[inline]
fn first_max(a: f32, b: f32, c: f32, d: f32) -> usize {
    let mut k = 0;
    let mut m = a;
    if b > m {
        (k, m) = (1, b);
    }
    if c > m {
        (k, m) = (2, c);
    }
    if d > m {
        k = 3;
    }
    k
}

struct MaxPool2;

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "tnet-max-pool-2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = nchw(l, "max-pool")?;
        let x = f32_slice(s, l, "max-pool input")?;
        let (oh, ow) = (h / 2, w / 2);
        let mut out = vec![0f32; b * c * oh * ow];
        if oh > 0 && ow > 0 {
            out.par_chunks_mut(oh * ow).enumerate().for_each(|(p, o)| {
                let xp = &x[p * h * w..(p + 1) * h * w];
                for oy in 0..oh {
                    let (r0, r1) = (&xp[2 * oy * w..], &xp[(2 * oy + 1) * w..]);
                    for ox in 0..ow {
                        let (a, bb, cc, d) =
                            (r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]);
                        o[oy * ow + ox] = a.max(bb).max(cc).max(d);
                    }
                }
            });
        }
        Ok((CpuStorage::F32(out), Shape::from((b, c, oh, ow))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        if !arg.track_op() {
            return Ok(None);
        }
        // Pack (x, dy) into one op: the backward needs both.
        let g = grad.contiguous()?;
        Ok(Some(arg.apply_op2_no_bwd(&g, &MaxPool2Backward)?))
    }
}

struct MaxPool2Backward;

impl candle_core::CustomOp2 for MaxPool2Backward {
    fn name(&self) -> &'static str {
        "tnet-max-pool-2x2-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = nchw(l1, "max-pool backward")?;
        let (oh, ow) = (h / 2, w / 2);
        if l2.dims() != [b, c, oh, ow] {
            candle_core::bail!(
                "max-pool backward: gradient {:?} for input {:?}",
                l2.dims(),
                l1.dims()
            );
        }
        let x = f32_slice(s1, l1, "max-pool input")?;
        let g = f32_slice(s2, l2, "max-pool output gradient")?;
        let mut dx = vec![0f32; b * c * h * w];
        dx.par_chunks_mut(h * w).enumerate().for_each(|(p, d)| {
            let xp = &x[p * h * w..(p + 1) * h * w];
            let gp = &g[p * oh * ow..(p + 1) * oh * ow];
            for oy in 0..oh {
                for ox in 0..ow {
                    let (i0, i1) = (2 * oy * w + 2 * ox, (2 * oy + 1) * w + 2 * ox);
                    let k = first_max(xp[i0], xp[i0 + 1], xp[i1], xp[i1 + 1]);
                    let at = [i0, i0 + 1, i1, i1 + 1][k];
                    d[at] = gp[oy * ow + ox];
                }
            }
        });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

struct Upsample2;

impl CustomOp1 for Upsample2 {
    fn name(&self) -> &'static str {
        "tnet-upsample-nearest-x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = nchw(l, "upsample")?;
        let x = f32_slice(s, l, "upsample input")?;
        let (oh, ow) = (2 * h, 2 * w);
        let mut out = vec![0f32; b * c * oh * ow];
        out.par_chunks_mut(oh * ow).enumerate().for_each(|(p, o)| {
            let xp = &x[p * h * w..(p + 1) * h * w];
            for y in 0..h {
                let row = &xp[y * w..(y + 1) * w];
                let (top, bottom) = o[2 * y * ow..(2 * y + 2) * ow].split_at_mut(ow);
                for (x2, &v) in row.iter().enumerate() {
                    top[2 * x2] = v;
                    top[2 * x2 + 1] = v;
                }
                bottom.copy_from_slice(top);
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((b, c, oh, ow))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        if !arg.track_op() {
            return Ok(None);
        }
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&SumPool2)?))
    }
}

/// The upsampling's adjoint: the sum of each 2x2 block.
struct SumPool2;

impl CustomOp1 for SumPool2 {
    fn name(&self) -> &'static str {
        "tnet-sum-pool-2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = nchw(l, "upsample backward")?;
        let g = f32_slice(s, l, "upsample output gradient")?;
        let (oh, ow) = (h / 2, w / 2);
        let mut out = vec![0f32; b * c * oh * ow];
        out.par_chunks_mut(oh * ow).enumerate().for_each(|(p, o)| {
            let gp = &g[p * h * w..(p + 1) * h * w];
            for oy in 0..oh {
                let (r0, r1) = (&gp[2 * oy * w..], &gp[(2 * oy + 1) * w..]);
                for ox in 0..ow {
                    o[oy * ow + ox] = r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1];
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((b, c, oh, ow))))
    }
}

/// 2x2 max-pooling, stride 2 (odd trailing rows / columns dropped, as PyTorch).
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    if !(on_cpu_f32(x) && x.rank() == 4) {
        return max_pool2_by_reduction(x);
    }
    x.contiguous()?.apply_op1(MaxPool2)
}

/// 2x2 max-pooling from candle's reductions, for other devices: candle 0.11's own
/// `max_pool2d` backward is wrong (see docs/model.md); a `max` reduction's backward sends the
/// gradient to the maximum (to every one of tied maxima).
pub fn max_pool2_by_reduction(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let (oh, ow) = (h / 2, w / 2);
    let x = if (2 * oh, 2 * ow) != (h, w) {
        x.narrow(2, 0, 2 * oh)?.narrow(3, 0, 2 * ow)?
    } else {
        x.clone()
    };
    x.contiguous()?
        .reshape((b, c, oh, 2, ow, 2))?
        .max(5)?
        .max(3)
}

/// Nearest-neighbour x2 upsampling.
pub fn upsample2(x: &Tensor) -> Result<Tensor> {
    if !(on_cpu_f32(x) && x.rank() == 4) {
        return crate::ops::upsample_nearest2x(x);
    }
    x.contiguous()?.apply_op1(Upsample2)
}
