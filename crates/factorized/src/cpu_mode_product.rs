//! The mode product `out[a, i, b] = sum_j u[i, j] x[a, j, b]` of f32 CPU tensors as strided
//! GEMMs on the tensor in place, with its own backward (`dx = dout x_k u^T`,
//! `du[i, j] = sum_{a, b} dout[a, i, b] x[a, j, b]`). candle's path moves the mode last and
//! back with two copies of the tensor each way; this one copies nothing.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use tnet_cpu::SendPtr;
use tnet_cpu::gemm::{for_tasks, gemm_strided, sum_over_tasks};
use tnet_cpu::storage::{f32_slice, on_cpu_f32};

/// `x` seen as `(A, r, B)` around the mode.
#[derive(Debug, Clone, Copy)]
struct Around {
    a: usize,
    r: usize,
    b: usize,
}

impl Around {
    fn new(dims: &[usize], mode: usize) -> Self {
        Self {
            a: dims[..mode].iter().product(),
            r: dims[mode],
            b: dims[mode + 1..].iter().product(),
        }
    }
}

/// `out (A, I, B) = u (I, r) applied to x (A, r, B)`.
fn forward(x: &[f32], u: &[f32], s: Around, i_out: usize) -> Vec<f32> {
    let (a, r, b) = (s.a, s.r, s.b);
    let mut out = vec![0f32; a * i_out * b];
    let o = SendPtr(out.as_mut_ptr());
    let (ib, rb, bi) = ((i_out * b) as isize, (r * b) as isize, b as isize);
    // SAFETY (both arms): every index reached is inside x (A r B), u (I r) or out (A I B).
    if a >= b {
        // One GEMM per trailing index: out[:, :, t] (A x I) = x[:, :, t] (A x r) u^T.
        for_tasks(b, |t, par| unsafe {
            gemm_strided(
                (a, i_out, r),
                o.at(t),
                (ib, bi),
                false,
                (&x[t..], (rb, bi)),
                (u, (1, r as isize)),
                par,
            )
        });
    } else {
        // One GEMM per leading index: out[l] (I x B) = u (I x r) x[l] (r x B).
        for_tasks(a, |l, par| unsafe {
            gemm_strided(
                (i_out, b, r),
                o.at(l * i_out * b),
                (bi, 1),
                false,
                (u, (r as isize, 1)),
                (&x[l * r * b..], (bi, 1)),
                par,
            )
        });
    }
    out
}

/// `du (I, r) = sum over (a, b) of dout[a, :, b] x[a, :, b]^T`.
fn factor_grad(dout: &[f32], x: &[f32], s: Around, i_out: usize) -> Vec<f32> {
    let (a, r, b) = (s.a, s.r, s.b);
    let (ib, rb, bi) = ((i_out * b) as isize, (r * b) as isize, b as isize);
    let tasks = if a >= b { b } else { a };
    sum_over_tasks(tasks, i_out * r, |du, t, par| {
        // SAFETY: indices stay inside dout (A I B), x (A r B) and du (I r).
        unsafe {
            if a >= b {
                // du += dout[:, :, t]^T (I x A) x[:, :, t] (A x r)
                gemm_strided(
                    (i_out, r, a),
                    du.as_mut_ptr(),
                    (r as isize, 1),
                    true,
                    (&dout[t..], (bi, ib)),
                    (&x[t..], (rb, bi)),
                    par,
                )
            } else {
                // du += dout[t] (I x B) x[t]^T (B x r)
                gemm_strided(
                    (i_out, r, b),
                    du.as_mut_ptr(),
                    (r as isize, 1),
                    true,
                    (&dout[t * i_out * b..], (bi, 1)),
                    (&x[t * r * b..], (1, bi)),
                    par,
                )
            }
        }
    })
}

struct ModeProduct {
    mode: usize,
}

impl CustomOp2 for ModeProduct {
    fn name(&self) -> &'static str {
        "tnet-mode-product"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = l1.dims();
        let &[i_out, r] = l2.dims() else {
            candle_core::bail!("mode product: factor of shape {:?}", l2.dims());
        };
        if self.mode >= dims.len() || dims[self.mode] != r {
            candle_core::bail!(
                "mode product: factor {:?} does not fit mode {} of {dims:?}",
                l2.dims(),
                self.mode
            );
        }
        let x = f32_slice(s1, l1, "mode product: tensor")?;
        let u = f32_slice(s2, l2, "mode product: factor")?;
        let out = forward(x, u, Around::new(dims, self.mode), i_out);
        let mut out_dims = dims.to_vec();
        out_dims[self.mode] = i_out;
        Ok((CpuStorage::F32(out), Shape::from(out_dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        u: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dx = if x.track_op() {
            Some(grad.apply_op2_no_bwd(&u.t()?.contiguous()?, &ModeProduct { mode: self.mode })?)
        } else {
            None
        };
        let du = if u.track_op() {
            Some(grad.apply_op2_no_bwd(x, &FactorGrad { mode: self.mode })?)
        } else {
            None
        };
        Ok((dx, du))
    }
}

/// `du` from `(dout, x)`.
struct FactorGrad {
    mode: usize,
}

impl CustomOp2 for FactorGrad {
    fn name(&self) -> &'static str {
        "tnet-mode-product-factor-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (gd, xd) = (l1.dims(), l2.dims());
        let i_out = gd[self.mode];
        let s = Around::new(xd, self.mode);
        let dout = f32_slice(s1, l1, "mode product: output gradient")?;
        let x = f32_slice(s2, l2, "mode product: tensor")?;
        let du = factor_grad(dout, x, s, i_out);
        Ok((CpuStorage::F32(du), Shape::from((i_out, s.r))))
    }
}

/// Whether the GEMM path applies: f32 tensors on the CPU.
pub fn applies(x: &Tensor, u: &Tensor) -> bool {
    on_cpu_f32(x) && on_cpu_f32(u)
}

/// `x ×_mode u` on f32 CPU tensors.
pub fn mode_product(x: &Tensor, u: &Tensor, mode: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&u.contiguous()?, ModeProduct { mode })
}
