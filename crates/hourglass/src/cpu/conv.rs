//! 2-D convolution (NCHW, square kernel, stride, zero padding, no dilation or groups) as
//! im2col + GEMM per image, with both backward passes as GEMMs:
//! `dx = col2im(W^T dy)` and `dW = sum_b dy_b col_b^T`. Batches are split over rayon's
//! threads (one GEMM per image); a batch smaller than the thread count parallelizes the GEMM.
//! The input gradient is only computed when the input needs one (never for the data batch).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use super::storage::{f32_slice, on_cpu_f32};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geom {
    b: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
    stride: usize,
    pad: usize,
    oh: usize,
    ow: usize,
}

impl Geom {
    fn new(x: &[usize], w: &[usize], stride: usize, pad: usize) -> Result<Self> {
        let (&[b, cin, h, wd], &[cout, cin2, k, k2]) = (x, w) else {
            candle_core::bail!("conv2d: expected 4-d input and kernel, got {x:?} and {w:?}");
        };
        if cin != cin2 || k != k2 || stride == 0 {
            candle_core::bail!(
                "conv2d: input {x:?} and kernel {w:?} do not match (stride {stride})"
            );
        }
        if h + 2 * pad < k || wd + 2 * pad < k {
            candle_core::bail!("conv2d: kernel {k} larger than the padded input {x:?}");
        }
        Ok(Self {
            b,
            cin,
            h,
            w: wd,
            cout,
            k,
            stride,
            pad,
            oh: (h + 2 * pad - k) / stride + 1,
            ow: (wd + 2 * pad - k) / stride + 1,
        })
    }

    /// Rows of the im2col matrix (`cin k k`).
    fn kk(&self) -> usize {
        self.cin * self.k * self.k
    }

    /// Output pixels per image.
    fn p(&self) -> usize {
        self.oh * self.ow
    }

    /// A 1x1 stride-1 unpadded conv needs no im2col: the image is the column matrix.
    fn pointwise(&self) -> bool {
        self.k == 1 && self.stride == 1 && self.pad == 0
    }

    fn in_len(&self) -> usize {
        self.cin * self.h * self.w
    }

    fn out_len(&self) -> usize {
        self.cout * self.p()
    }
}

/// The output columns `ox` whose input column `ox s + kx - pad` lies inside `0..w`.
fn valid_cols(g: &Geom, kx: usize) -> (usize, usize) {
    let (s, p) = (g.stride as isize, g.pad as isize);
    let kx = kx as isize;
    // ox s + kx - p >= 0  <=>  ox >= ceil((p - kx) / s)
    let lo = if p - kx <= 0 {
        0
    } else {
        ((p - kx) + s - 1) / s
    };
    // ox s + kx - p <= w - 1  <=>  ox <= floor((w - 1 + p - kx) / s)
    let top = g.w as isize - 1 + p - kx;
    let hi = if top < 0 { 0 } else { top / s + 1 };
    (
        lo.clamp(0, g.ow as isize) as usize,
        hi.clamp(0, g.ow as isize) as usize,
    )
}

/// `col[(c k + ky) k + kx][oy ow + ox] = x[c][oy s + ky - pad][ox s + kx - pad]` (0 outside).
fn im2col(g: &Geom, x: &[f32], col: &mut [f32]) {
    let (k, s, p) = (g.k, g.stride, g.pad as isize);
    let mut row = 0;
    for c in 0..g.cin {
        let xc = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..k {
            for kx in 0..k {
                let dst = &mut col[row * g.p()..(row + 1) * g.p()];
                row += 1;
                let (lo, hi) = valid_cols(g, kx);
                for oy in 0..g.oh {
                    let iy = (oy * s + ky) as isize - p;
                    let d = &mut dst[oy * g.ow..(oy + 1) * g.ow];
                    if iy < 0 || iy >= g.h as isize || lo >= hi {
                        d.fill(0.0);
                        continue;
                    }
                    let xr = &xc[iy as usize * g.w..(iy as usize + 1) * g.w];
                    d[..lo].fill(0.0);
                    d[hi..].fill(0.0);
                    let first = (lo * s + kx) as isize - p;
                    if s == 1 {
                        d[lo..hi].copy_from_slice(&xr[first as usize..first as usize + (hi - lo)]);
                    } else {
                        for (o, v) in d[lo..hi].iter_mut().enumerate() {
                            *v = xr[first as usize + o * s];
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `x[c][iy][ix] += col[..]` (x zeroed first).
fn col2im(g: &Geom, col: &[f32], x: &mut [f32]) {
    x.fill(0.0);
    let (k, s, p) = (g.k, g.stride, g.pad as isize);
    let mut row = 0;
    for c in 0..g.cin {
        let xc = &mut x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..k {
            for kx in 0..k {
                let src = &col[row * g.p()..(row + 1) * g.p()];
                row += 1;
                let (lo, hi) = valid_cols(g, kx);
                if lo >= hi {
                    continue;
                }
                for oy in 0..g.oh {
                    let iy = (oy * s + ky) as isize - p;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let xr = &mut xc[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let sr = &src[oy * g.ow + lo..oy * g.ow + hi];
                    let first = ((lo * s + kx) as isize - p) as usize;
                    if s == 1 {
                        for (d, &v) in xr[first..first + (hi - lo)].iter_mut().zip(sr) {
                            *d += v;
                        }
                    } else {
                        for (o, &v) in sr.iter().enumerate() {
                            xr[first + o * s] += v;
                        }
                    }
                }
            }
        }
    }
}

/// Row-major `dst (m x n) = (accumulate ? dst : 0) + a (m x k) b (k x n)` where `a` and `b` are
/// given with explicit (row, column) strides.
#[allow(clippy::too_many_arguments)]
fn gemm_rm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_strides: (isize, isize),
    b: &[f32],
    b_strides: (isize, isize),
    par: Parallelism,
) {
    debug_assert!(dst.len() >= m * n);
    // SAFETY: the slices hold every element the strides reach (checked by the callers' shapes:
    // a spans m x k, b spans k x n, dst m x n, all in bounds by construction).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_strides.1,
            a_strides.0,
            b.as_ptr(),
            b_strides.1,
            b_strides.0,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Split the batch over threads, or (small batch) give the threads to each GEMM.
fn plan(b: usize) -> (bool, Parallelism) {
    let threads = rayon::current_num_threads();
    if b >= threads || threads == 1 {
        (true, Parallelism::None)
    } else {
        (false, Parallelism::Rayon(threads))
    }
}

fn storage_f32(v: Vec<f32>) -> CpuStorage {
    CpuStorage::F32(v)
}

struct ConvForward {
    stride: usize,
    pad: usize,
}

impl CustomOp2 for ConvForward {
    fn name(&self) -> &'static str {
        "tnet-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geom::new(l1.dims(), l2.dims(), self.stride, self.pad)?;
        let x = f32_slice(s1, l1, "conv2d input")?;
        let w = f32_slice(s2, l2, "conv2d kernel")?;
        let mut out = vec![0f32; g.b * g.out_len()];
        let (by_image, par) = plan(g.b);
        let one = |col: &mut Vec<f32>, (bi, o): (usize, &mut [f32])| {
            let xb = &x[bi * g.in_len()..(bi + 1) * g.in_len()];
            let colm: &[f32] = if g.pointwise() {
                xb
            } else {
                im2col(&g, xb, col);
                col
            };
            let (kk, p) = (g.kk() as isize, g.p() as isize);
            gemm_rm(
                g.cout,
                g.p(),
                g.kk(),
                o,
                false,
                w,
                (kk, 1),
                colm,
                (p, 1),
                par,
            );
        };
        let col_len = if g.pointwise() { 0 } else { g.kk() * g.p() };
        if by_image {
            out.par_chunks_mut(g.out_len())
                .enumerate()
                .for_each_init(|| vec![0f32; col_len], one);
        } else {
            let mut col = vec![0f32; col_len];
            out.chunks_mut(g.out_len())
                .enumerate()
                .for_each(|item| one(&mut col, item));
        }
        Ok((storage_f32(out), Shape::from((g.b, g.cout, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (_, _, h, wd) = x.dims4()?;
        let dx = if x.track_op() {
            Some(grad.apply_op2_no_bwd(
                w,
                &ConvBackwardInput {
                    stride: self.stride,
                    pad: self.pad,
                    h,
                    w: wd,
                },
            )?)
        } else {
            None
        };
        let dw = if w.track_op() {
            Some(x.apply_op2_no_bwd(
                &grad,
                &ConvBackwardWeight {
                    stride: self.stride,
                    pad: self.pad,
                    k: w.dim(2)?,
                },
            )?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

/// `dx` from `(dy, W)`.
struct ConvBackwardInput {
    stride: usize,
    pad: usize,
    h: usize,
    w: usize,
}

impl CustomOp2 for ConvBackwardInput {
    fn name(&self) -> &'static str {
        "tnet-conv2d-backward-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (&[b, cout, oh, ow], &[cout2, cin, k, _]) = (l1.dims(), l2.dims()) else {
            candle_core::bail!(
                "conv2d backward: bad shapes {:?} {:?}",
                l1.dims(),
                l2.dims()
            );
        };
        let g = Geom::new(&[b, cin, self.h, self.w], l2.dims(), self.stride, self.pad)?;
        if cout != cout2 || (g.oh, g.ow) != (oh, ow) || k != g.k {
            candle_core::bail!(
                "conv2d backward: gradient {:?} does not fit {g:?}",
                l1.dims()
            );
        }
        let dy = f32_slice(s1, l1, "conv2d output gradient")?;
        let w = f32_slice(s2, l2, "conv2d kernel")?;
        let mut dx = vec![0f32; b * g.in_len()];
        let (by_image, par) = plan(b);
        let (kk, p) = (g.kk() as isize, g.p() as isize);
        let one = |col: &mut Vec<f32>, (bi, dxb): (usize, &mut [f32])| {
            let dyb = &dy[bi * g.out_len()..(bi + 1) * g.out_len()];
            // W^T (kk x cout) dy_b (cout x p)
            if g.pointwise() {
                gemm_rm(
                    g.kk(),
                    g.p(),
                    cout,
                    dxb,
                    false,
                    w,
                    (1, kk),
                    dyb,
                    (p, 1),
                    par,
                );
            } else {
                gemm_rm(
                    g.kk(),
                    g.p(),
                    cout,
                    col,
                    false,
                    w,
                    (1, kk),
                    dyb,
                    (p, 1),
                    par,
                );
                col2im(&g, col, dxb);
            }
        };
        let col_len = if g.pointwise() { 0 } else { g.kk() * g.p() };
        if by_image {
            dx.par_chunks_mut(g.in_len())
                .enumerate()
                .for_each_init(|| vec![0f32; col_len], one);
        } else {
            let mut col = vec![0f32; col_len];
            dx.chunks_mut(g.in_len())
                .enumerate()
                .for_each(|item| one(&mut col, item));
        }
        Ok((storage_f32(dx), Shape::from((b, cin, self.h, self.w))))
    }
}

/// `dW` from `(x, dy)`.
struct ConvBackwardWeight {
    stride: usize,
    pad: usize,
    k: usize,
}

impl CustomOp2 for ConvBackwardWeight {
    fn name(&self) -> &'static str {
        "tnet-conv2d-backward-weight"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (&[_, cin, _, _], &[_, cout, _, _]) = (l1.dims(), l2.dims()) else {
            candle_core::bail!(
                "conv2d backward: bad shapes {:?} {:?}",
                l1.dims(),
                l2.dims()
            );
        };
        let g = Geom::new(
            l1.dims(),
            &[cout, cin, self.k, self.k],
            self.stride,
            self.pad,
        )?;
        if l2.dims() != [g.b, g.cout, g.oh, g.ow] {
            candle_core::bail!(
                "conv2d backward: gradient {:?} does not fit {g:?}",
                l2.dims()
            );
        }
        let x = f32_slice(s1, l1, "conv2d input")?;
        let dy = f32_slice(s2, l2, "conv2d output gradient")?;
        let p = g.p() as isize;
        let wlen = g.cout * g.kk();
        let col_len = if g.pointwise() { 0 } else { g.kk() * g.p() };
        let (by_image, par) = plan(g.b);
        // dW (cout x kk) += dy_b (cout x p) col_b^T (p x kk)
        let add = |acc: &mut Vec<f32>, col: &mut Vec<f32>, bi: usize| {
            let xb = &x[bi * g.in_len()..(bi + 1) * g.in_len()];
            let dyb = &dy[bi * g.out_len()..(bi + 1) * g.out_len()];
            let colm: &[f32] = if g.pointwise() {
                xb
            } else {
                im2col(&g, xb, col);
                col
            };
            gemm_rm(
                g.cout,
                g.kk(),
                g.p(),
                acc,
                true,
                dyb,
                (p, 1),
                colm,
                (1, p),
                par,
            );
        };
        // Fixed chunks summed in order: the result does not depend on work stealing, so runs
        // (and resumed runs) are bit-identical on a machine.
        let dw = if by_image {
            let threads = rayon::current_num_threads().max(1);
            let per = g.b.div_ceil(threads);
            let partials: Vec<Vec<f32>> = (0..g.b.div_ceil(per))
                .into_par_iter()
                .map(|chunk| {
                    let mut acc = vec![0f32; wlen];
                    let mut col = vec![0f32; col_len];
                    for bi in chunk * per..((chunk + 1) * per).min(g.b) {
                        add(&mut acc, &mut col, bi);
                    }
                    acc
                })
                .collect();
            let mut it = partials.into_iter();
            let mut total = it.next().unwrap_or_else(|| vec![0f32; wlen]);
            for part in it {
                total.iter_mut().zip(&part).for_each(|(x, y)| *x += y);
            }
            total
        } else {
            let mut acc = vec![0f32; wlen];
            let mut col = vec![0f32; col_len];
            for bi in 0..g.b {
                add(&mut acc, &mut col, bi);
            }
            acc
        };
        Ok((storage_f32(dw), Shape::from((g.cout, g.cin, g.k, g.k))))
    }
}

/// `conv2d(x, w)` with square kernel, `stride` and zero `padding`: the fast kernels for f32 on
/// the CPU, candle's conv otherwise.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    if !on_cpu_f32(x) || !on_cpu_f32(w) {
        return x.conv2d(w, padding, stride, 1, 1);
    }
    x.contiguous()?.apply_op2(
        &w.contiguous()?,
        ConvForward {
            stride,
            pad: padding,
        },
    )
}
