//! 2-D convolution (NCHW, square kernel, stride, zero padding, no dilation or groups) as
//! im2col + GEMM per image. Backward: the input gradient of a stride-1 conv is the forward
//! path again (dy convolved with the flipped, transposed kernel), otherwise `col2im(W^T dy)`;
//! the weight gradient is `sum_b dy_b col_b^T` with the column matrix built tap-major from a
//! channel-last copy of the image, so the GEMM reads both operands contiguously (channels of
//! fewer than 8 use plain im2col rows). The column matrix is built and multiplied in bands of
//! output rows that stay in cache between the two. Batches are split over rayon's threads (one
//! image per task, per-thread scratch reused across calls); a batch smaller than the thread
//! count parallelizes the GEMMs instead. The input gradient is only
//! computed when the input needs one (never for the data batch).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use std::mem::MaybeUninit;
use std::ops::Range;

use tnet_cpu::gemm::{gemm_strided, plan, sum_over_tasks};
use tnet_cpu::scratch::{assume_init, uninit, with_scratch};
use tnet_cpu::storage::{f32_slice, on_cpu_f32};

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

    /// Row stride of the im2col matrix: the pixel count, padded off multiples of 4 KiB. With
    /// rows exactly 16 KiB apart (64x64 images) the GEMM's packing of a column block hits the
    /// same cache sets on every row and ran at a fraction of its speed.
    fn ld(&self) -> usize {
        let p = self.p();
        if p >= 256 {
            p.next_multiple_of(16) + 16
        } else {
            p
        }
    }

    /// Output rows per column-matrix block: about [`BLOCK_VALUES`] values of the column matrix,
    /// so a block written by im2col is still in cache when the GEMM packs it.
    fn block_rows(&self) -> usize {
        let px = (BLOCK_VALUES / self.kk()).max(1);
        (px / self.ow.max(1)).clamp(1, self.oh.max(1))
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

/// Target size (f32 values) of one block of the column matrix: a quarter of a 1 MiB L2.
const BLOCK_VALUES: usize = 64 * 1024;

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

/// `col[(c k + ky) k + kx][(oy - y0) ow + ox] = x[c][oy s + ky - pad][ox s + kx - pad]` (0
/// outside) for the output rows `oy` in `rows = y0..y1`, matrix rows `ld` apart.
fn im2col(g: &Geom, x: &[f32], col: &mut [f32], ld: usize, rows: Range<usize>) {
    if g.stride == 1 && g.ow == g.w && g.oh == g.h {
        return im2col_same(g, x, col, ld, rows);
    }
    let (k, s, p) = (g.k, g.stride, g.pad as isize);
    let npx = rows.len() * g.ow;
    let mut row = 0;
    for c in 0..g.cin {
        let xc = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..k {
            for kx in 0..k {
                let dst = &mut col[row * ld..row * ld + npx];
                row += 1;
                let (lo, hi) = valid_cols(g, kx);
                for oy in rows.clone() {
                    let iy = (oy * s + ky) as isize - p;
                    let d = &mut dst[(oy - rows.start) * g.ow..(oy - rows.start + 1) * g.ow];
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
                        gather_strided(&mut d[lo..hi], &xr[first as usize..], s);
                    }
                }
            }
        }
    }
}

/// `dst[o] = src[o s]`: a strided conv's input row picked apart (kept out of line: inlined
/// into im2col, its loop reloaded its bounds from the stack on every element).
#[inline(never)]
fn gather_strided(dst: &mut [f32], src: &[f32], s: usize) {
    if s == 2 {
        // Pairs vectorize (a shuffle); the last value may be a lone remainder.
        let pairs = src.chunks_exact(2);
        let rest = pairs.remainder();
        let mut out = dst.iter_mut();
        // Pairs first: a zip drops the left item it took when the right side runs out.
        for (pair, v) in pairs.zip(&mut out) {
            *v = pair[0];
        }
        if let (Some(v), Some(&r)) = (out.next(), rest.first()) {
            *v = r;
        }
        return;
    }
    for (v, c) in dst.iter_mut().zip(src.chunks(s)) {
        *v = c[0];
    }
}

/// [`im2col`] for a stride-1 "same" convolution (`2 pad = k - 1`): each matrix row of a band is
/// the band's input rows shifted by `kx - pad`, so it is one copy, then zeros written over the
/// columns the shift wrapped in from a neighbouring row and over rows outside the image.
/// (Small images made the per-row copies of the general path call-bound.)
#[inline(never)]
fn im2col_same(g: &Geom, x: &[f32], col: &mut [f32], ld: usize, rows: Range<usize>) {
    let (k, p, h, w) = (g.k, g.pad, g.h, g.w);
    let npx = rows.len() * w;
    let plane = h * w;
    let mut row = 0;
    for c in 0..g.cin {
        let xc = &x[c * plane..(c + 1) * plane];
        for ky in 0..k {
            // Output rows whose input row oy + ky - pad lies inside the image.
            let oy_lo = rows.start.max(p.saturating_sub(ky));
            let oy_hi = rows.end.min((h + p).saturating_sub(ky));
            for kx in 0..k {
                let dst = &mut col[row * ld..row * ld + npx];
                row += 1;
                if oy_lo >= oy_hi {
                    dst.fill(0.0);
                    continue;
                }
                let (d0, d1) = ((oy_lo - rows.start) * w, (oy_hi - rows.start) * w);
                dst[..d0].fill(0.0);
                dst[d1..].fill(0.0);
                // dst[d] = xc[d - d0 + src0] for d in d0..d1, clipped to the plane.
                let src0 = ((oy_lo + ky - p) * w) as isize + kx as isize - p as isize;
                let a = d0 + (-src0).max(0) as usize;
                let b = d1 - ((src0 + (d1 - d0) as isize) - plane as isize).max(0) as usize;
                if a < b {
                    let s = (src0 + (a - d0) as isize) as usize;
                    dst[a..b].copy_from_slice(&xc[s..s + (b - a)]);
                }
                dst[d0..a.min(d1)].fill(0.0);
                dst[b.max(d0)..d1].fill(0.0);
                let (lo, hi) = valid_cols(g, kx);
                if lo > 0 || hi < w {
                    for r in dst[d0..d1].chunks_exact_mut(w) {
                        r[..lo].fill(0.0);
                        r[hi..].fill(0.0);
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`] over the whole image: `x[c][iy][ix] += col[..]` (x zeroed first).
fn col2im(g: &Geom, col: &[f32], x: &mut [f32], ld: usize) {
    x.fill(0.0);
    let (k, s, p) = (g.k, g.stride, g.pad as isize);
    let mut row = 0;
    for c in 0..g.cin {
        let xc = &mut x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ky in 0..k {
            for kx in 0..k {
                let src = &col[row * ld..row * ld + g.p()];
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

/// `xt[q][c] = x[c][q]` for one image of `c` channels of `hw` pixels: the channel-last copy
/// [`im2row`] reads whole pixel rows from. Tiled so both sides stay in cache.
fn to_channels_last(x: &[f32], c: usize, hw: usize, xt: &mut [f32]) {
    const T: usize = 16;
    for c0 in (0..c).step_by(T) {
        let c1 = (c0 + T).min(c);
        for q0 in (0..hw).step_by(T) {
            let q1 = (q0 + T).min(hw);
            for q in q0..q1 {
                let dst = &mut xt[q * c + c0..q * c + c1];
                for (ci, d) in (c0..c1).zip(dst) {
                    *d = x[ci * hw + q];
                }
            }
        }
    }
}

/// The transposed im2col in tap-major order, from the channel-last image `xt`, for the output
/// rows `oy` in `rows = y0..y1`:
/// `colt[(oy - y0) ow + ox][(ky k + kx) cin + c] = x[c][oy s + ky - pad][ox s + kx - pad]` (0
/// outside). Each tap of each pixel is one contiguous copy of `cin` values.
fn im2row(g: &Geom, xt: &[f32], colt: &mut [f32], rows: Range<usize>) {
    let (k, s, p, c) = (g.k, g.stride, g.pad as isize, g.cin);
    let kk = g.kk();
    for oy in rows.clone() {
        for ox in 0..g.ow {
            let q = (oy - rows.start) * g.ow + ox;
            let row = &mut colt[q * kk..(q + 1) * kk];
            for ky in 0..k {
                let iy = (oy * s + ky) as isize - p;
                let taps = &mut row[ky * k * c..(ky + 1) * k * c];
                if iy < 0 || iy >= g.h as isize {
                    taps.fill(0.0);
                    continue;
                }
                let src_row = &xt[iy as usize * g.w * c..(iy as usize + 1) * g.w * c];
                for kx in 0..k {
                    let ix = (ox * s + kx) as isize - p;
                    let d = &mut taps[kx * c..(kx + 1) * c];
                    if ix < 0 || ix >= g.w as isize {
                        d.fill(0.0);
                    } else {
                        d.copy_from_slice(&src_row[ix as usize * c..(ix as usize + 1) * c]);
                    }
                }
            }
        }
    }
}

/// [`gemm_strided`] into a row-major `dst`.
///
/// # Safety
/// As [`gemm_strided`], with `dst` valid for `m n` contiguous values.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_rm(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    accumulate: bool,
    a: &[f32],
    a_strides: (isize, isize),
    b: &[f32],
    b_strides: (isize, isize),
    par: Parallelism,
) {
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        gemm_strided(
            (m, n, k),
            dst,
            (n as isize, 1),
            accumulate,
            (a, a_strides),
            (b, b_strides),
            par,
        )
    }
}

/// `out[b] = W col(x[b])` for every image: `(b, cout, oh, ow)` values.
fn forward_batch(g: &Geom, x: &[f32], w: &[f32]) -> Vec<f32> {
    let mut out = uninit(g.b * g.out_len());
    let (by_image, par) = plan(g.b);
    let rows = g.block_rows();
    let col_len = if g.pointwise() {
        0
    } else {
        g.kk() * rows * g.ow
    };
    let (kk, p) = (g.kk() as isize, g.p() as isize);
    let one = |(bi, o): (usize, &mut [MaybeUninit<f32>])| {
        let xb = &x[bi * g.in_len()..(bi + 1) * g.in_len()];
        if g.pointwise() {
            // SAFETY: `o` holds cout x p values, `w` cout x cin, `xb` cin x p.
            unsafe {
                gemm_rm(
                    g.cout,
                    g.p(),
                    g.kk(),
                    o.as_mut_ptr().cast(),
                    false,
                    w,
                    (kk, 1),
                    xb,
                    (p, 1),
                    par,
                )
            };
            return;
        }
        // Block by block of output rows, so each block of the column matrix is packed by the
        // GEMM while still in cache.
        with_scratch(col_len, 0, |col, _| {
            for y0 in (0..g.oh).step_by(rows) {
                let band = y0..(y0 + rows).min(g.oh);
                let npx = band.len() * g.ow;
                im2col(g, xb, col, npx, band);
                // SAFETY: the block's outputs are the columns y0 ow .. y0 ow + npx of the
                // cout x p image in `o`; `w` is cout x kk and `col` kk x npx.
                unsafe {
                    gemm_strided(
                        (g.cout, npx, g.kk()),
                        o.as_mut_ptr().add(y0 * g.ow).cast(),
                        (p, 1),
                        false,
                        (w, (kk, 1)),
                        (col, (npx as isize, 1)),
                        par,
                    )
                };
            }
        });
    };
    if by_image {
        out.par_chunks_mut(g.out_len()).enumerate().for_each(one);
    } else {
        out.chunks_mut(g.out_len()).enumerate().for_each(one);
    }
    // SAFETY: each image's GEMM wrote all of its cout x p outputs.
    unsafe { assume_init(out) }
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
        let out = forward_batch(&g, x, w);
        Ok((CpuStorage::F32(out), Shape::from((g.b, g.cout, g.oh, g.ow))))
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

/// `wf[c][o][ky][kx] = w[o][c][k-1-ky][k-1-kx]`: the kernel whose stride-1 convolution of the
/// output gradient (padded by `k - 1 - pad`) is the input gradient.
fn flip_transpose(w: &[f32], cout: usize, cin: usize, k: usize) -> Vec<f32> {
    let kk = k * k;
    let mut wf = vec![0f32; w.len()];
    for o in 0..cout {
        for c in 0..cin {
            let src = &w[(o * cin + c) * kk..(o * cin + c + 1) * kk];
            let dst = &mut wf[(c * cout + o) * kk..(c * cout + o + 1) * kk];
            for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *s;
            }
        }
    }
    wf
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
        let shape = Shape::from((b, cin, self.h, self.w));
        if g.stride == 1 && g.pad < k && !g.pointwise() {
            // A stride-1 convolution's input gradient is the "full" convolution of dy with the
            // flipped, transposed kernel: the forward path (im2col + one GEMM with K = cout k k)
            // instead of a GEMM with K = cout and a scatter-add.
            let wf = flip_transpose(w, cout, cin, k);
            let gf = Geom::new(&[b, cout, oh, ow], &[cin, cout, k, k], 1, k - 1 - g.pad)?;
            let dx = forward_batch(&gf, dy, &wf);
            return Ok((CpuStorage::F32(dx), shape));
        }
        let mut dx = vec![0f32; b * g.in_len()];
        let (by_image, par) = plan(b);
        let (kk, p) = (g.kk() as isize, g.p() as isize);
        let col_len = if g.pointwise() { 0 } else { g.kk() * g.ld() };
        let ld = if g.pointwise() { g.p() } else { g.ld() } as isize;
        let one = |(bi, dxb): (usize, &mut [f32])| {
            let dyb = &dy[bi * g.out_len()..(bi + 1) * g.out_len()];
            with_scratch(col_len, 0, |col, _| {
                // W^T (kk x cout) dy_b (cout x p), straight into dx for a pointwise conv.
                let target: &mut [f32] = if g.pointwise() { dxb } else { col };
                // SAFETY: `target` holds kk rows of p values `ld` apart, `w` cout x kk, `dyb`
                // cout x p.
                unsafe {
                    gemm_strided(
                        (g.kk(), g.p(), cout),
                        target.as_mut_ptr(),
                        (ld, 1),
                        false,
                        (w, (1, kk)),
                        (dyb, (p, 1)),
                        par,
                    )
                };
                if !g.pointwise() {
                    col2im(&g, col, dxb, g.ld());
                }
            });
        };
        if by_image {
            dx.par_chunks_mut(g.in_len()).enumerate().for_each(one);
        } else {
            dx.chunks_mut(g.in_len()).enumerate().for_each(one);
        }
        Ok((CpuStorage::F32(dx), shape))
    }
}

/// `dW` from `(x, dy)`.
struct ConvBackwardWeight {
    stride: usize,
    pad: usize,
    k: usize,
}

/// Below this many input channels the tap-major rows are too short to copy quickly and the
/// weight gradient uses the plain im2col.
const CHANNEL_LAST_MIN_CIN: usize = 8;

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
        let (p, kk) = (g.p() as isize, g.kk() as isize);
        let wlen = g.cout * g.kk();
        // The GEMM reduces over pixels. With plain im2col rows both operands run along that
        // axis and the GEMM packs one of them element by element; tap-major rows built from a
        // channel-last copy of the image make it a contiguous operand. The result then comes
        // out as (cout, ky, kx, cin) and is permuted at the end.
        let tap_major = !g.pointwise() && g.cin >= CHANNEL_LAST_MIN_CIN;
        // Tap-major blocks of output rows, several times the forward's: each block's GEMM
        // reads and writes all of dW once.
        let rows = (4 * g.block_rows()).min(g.oh.max(1));
        let (xt_len, col_len) = match (g.pointwise(), tap_major) {
            (true, _) => (0, 0),
            (false, true) => (g.in_len(), g.kk() * rows * g.ow),
            (false, false) => (0, g.kk() * g.ld()),
        };
        // dW (cout x kk) += dy_b (cout x p) col_b^T (p x kk), summed over the batch.
        let add = |acc: &mut [f32], bi: usize, par: Parallelism| {
            let xb = &x[bi * g.in_len()..(bi + 1) * g.in_len()];
            let dyb = &dy[bi * g.out_len()..(bi + 1) * g.out_len()];
            with_scratch(xt_len, col_len, |xt, col| {
                // SAFETY (all GEMMs): `acc` holds cout x kk values, `dyb` cout x p, and the
                // column matrix p x kk (or a block of it) under the strides given.
                if tap_major {
                    to_channels_last(xb, g.cin, g.h * g.w, xt);
                    for y0 in (0..g.oh).step_by(rows) {
                        let band = y0..(y0 + rows).min(g.oh);
                        let npx = band.len() * g.ow;
                        im2row(&g, xt, col, band);
                        // dW^T (kk x cout) += colt^T (kk x npx) dy_b^T (npx x cout), all
                        // three contiguous down their columns.
                        unsafe {
                            gemm_strided(
                                (g.kk(), g.cout, npx),
                                acc.as_mut_ptr(),
                                (1, kk),
                                true,
                                (col, (1, kk)),
                                (&dyb[y0 * g.ow..], (1, p)),
                                par,
                            )
                        };
                    }
                    return;
                }
                let (colm, col_strides): (&[f32], _) = if g.pointwise() {
                    (xb, (1, p))
                } else {
                    im2col(&g, xb, col, g.ld(), 0..g.oh);
                    (col, (1, g.ld() as isize))
                };
                unsafe {
                    gemm_rm(
                        g.cout,
                        g.kk(),
                        g.p(),
                        acc.as_mut_ptr(),
                        true,
                        dyb,
                        (p, 1),
                        colm,
                        col_strides,
                        par,
                    )
                };
            });
        };
        let dw = sum_over_tasks(g.b, wlen, add);
        let dw = if tap_major {
            taps_to_oihw(&dw, g.cout, g.cin, g.k)
        } else {
            dw
        };
        Ok((CpuStorage::F32(dw), Shape::from((g.cout, g.cin, g.k, g.k))))
    }
}

/// `(cout, ky, kx, cin)` to `(cout, cin, ky, kx)`.
fn taps_to_oihw(dw: &[f32], cout: usize, cin: usize, k: usize) -> Vec<f32> {
    let kk = k * k;
    let mut out = vec![0f32; dw.len()];
    for o in 0..cout {
        for t in 0..kk {
            for c in 0..cin {
                out[(o * cin + c) * kk + t] = dw[(o * kk + t) * cin + c];
            }
        }
    }
    out
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
