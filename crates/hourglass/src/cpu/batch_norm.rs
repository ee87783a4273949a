//! Training-mode BatchNorm fused with the optional residual add and ReLU that follow it:
//! `y = act(gamma (z - mean) / sqrt(var + eps) + beta [+ r])`, batch statistics over
//! `(batch, h, w)` per channel, with a one-pass backward per channel:
//! `dz = gamma invstd / N (N g - sum g - xhat sum(g xhat))` where `g` is the output gradient
//! masked by the ReLU; the residual's gradient is `g`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use std::mem::MaybeUninit;

use rayon::prelude::*;

use tnet_cpu::scratch::{assume_init, uninit};

use tnet_cpu::storage::{f32_slice, nchw};

/// Sum of `f(v)` over a slice in 8 f32 lanes (vectorizes), returned in f64.
#[inline]
fn lane_sum(s: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0f32; 8];
    let chunks = s.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += f(c[i]);
        }
    }
    let mut total: f64 = acc.iter().map(|&a| a as f64).sum();
    for &v in rest {
        total += f(v) as f64;
    }
    total
}

/// Sum of `f(v)` over channel `c` of `(B, C, H * W)` data: lanes in f32 over one image's
/// plane, planes summed in f64.
pub(super) fn channel_sum(
    x: &[f32],
    (b, ch, hw): (usize, usize, usize),
    c: usize,
    f: impl Fn(f32) -> f32 + Copy,
) -> f64 {
    (0..b)
        .map(|bi| lane_sum(&x[(bi * ch + c) * hw..(bi * ch + c + 1) * hw], f))
        .sum()
}

/// Per-channel mean and biased variance of `(B, C, H * W)` data (two passes).
fn channel_stats(x: &[f32], dims: (usize, usize, usize), c: usize) -> (f64, f64) {
    let n = (dims.0 * dims.2) as f64;
    let mean = channel_sum(x, dims, c, |v| v) / n;
    let m = mean as f32;
    (mean, channel_sum(x, dims, c, |v| (v - m) * (v - m)) / n)
}

/// Channel planes per parallel task: small planes (the 4x4 levels of an hourglass) are grouped
/// so a task is worth a thread hand-off.
fn planes_per_task(hw: usize) -> usize {
    (8192 / hw.max(1)).max(1)
}

/// `(B, C, H * W)`: channel planes are contiguous runs of `H * W` values.
pub(super) fn dims4(l: &Layout) -> Result<(usize, usize, usize)> {
    let (b, c, h, w) = nchw(l, "batch norm")?;
    Ok((b, c, h * w))
}

#[derive(Debug, Clone, Copy)]
struct BnAct {
    eps: f64,
    relu: bool,
}

impl BnAct {
    /// Forward over all channels (in parallel); `gb` holds the rows gamma, beta, batch mean and
    /// biased batch variance (the statistics are computed once, by [`ChannelStats`]).
    fn forward(
        &self,
        z: &[f32],
        dims: (usize, usize, usize),
        gb: &[f32],
        r: Option<&[f32]>,
    ) -> Vec<f32> {
        let (_, ch, hw) = dims;
        let mut y = uninit(z.len());
        y.par_chunks_mut(hw)
            .enumerate()
            .with_min_len(planes_per_task(hw))
            .for_each(|(i, out)| {
                let c = i % ch;
                let (mean, var) = (gb[2 * ch + c] as f64, gb[3 * ch + c] as f64);
                let invstd = 1.0 / (var + self.eps).sqrt();
                let scale = (gb[c] as f64 * invstd) as f32;
                let shift = (gb[ch + c] as f64 - mean * gb[c] as f64 * invstd) as f32;
                let zin = &z[i * hw..(i + 1) * hw];
                match r {
                    Some(r) => {
                        let rin = &r[i * hw..(i + 1) * hw];
                        for ((o, &v), &rv) in out.iter_mut().zip(zin).zip(rin) {
                            let t = v * scale + shift + rv;
                            o.write(if self.relu { t.max(0.0) } else { t });
                        }
                    }
                    None => {
                        for (o, &v) in out.iter_mut().zip(zin) {
                            let t = v * scale + shift;
                            o.write(if self.relu { t.max(0.0) } else { t });
                        }
                    }
                }
            });
        // SAFETY: the planes cover y and every value of each plane was written.
        unsafe { assume_init(y) }
    }
}

impl CustomOp2 for BnAct {
    fn name(&self) -> &'static str {
        "tnet-batch-norm-act"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = dims4(l1)?;
        let z = f32_slice(s1, l1, "batch norm input")?;
        let gb = f32_slice(s2, l2, "batch norm gamma/beta")?;
        check_gb(l2, dims.1)?;
        Ok((
            CpuStorage::F32(self.forward(z, dims, gb, None)),
            l1.shape().clone(),
        ))
    }

    fn bwd(
        &self,
        z: &Tensor,
        gb: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dz, dgb, _) = backward(self, z, gb, res, grad, false)?;
        Ok((Some(dz), Some(dgb)))
    }
}

impl CustomOp3 for BnAct {
    fn name(&self) -> &'static str {
        "tnet-batch-norm-add-act"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = dims4(l1)?;
        if l3.dims() != l1.dims() {
            candle_core::bail!(
                "batch norm: residual {:?} differs from input {:?}",
                l3.dims(),
                l1.dims()
            );
        }
        let z = f32_slice(s1, l1, "batch norm input")?;
        let gb = f32_slice(s2, l2, "batch norm gamma/beta")?;
        let r = f32_slice(s3, l3, "batch norm residual")?;
        check_gb(l2, dims.1)?;
        Ok((
            CpuStorage::F32(self.forward(z, dims, gb, Some(r))),
            l1.shape().clone(),
        ))
    }

    fn bwd(
        &self,
        z: &Tensor,
        gb: &Tensor,
        _r: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dz, dgb, dr) = backward(self, z, gb, res, grad, true)?;
        Ok((Some(dz), Some(dgb), dr))
    }
}

fn check_gb(l: &Layout, c: usize) -> Result<()> {
    if l.dims() != [4, c] {
        candle_core::bail!(
            "batch norm: gamma/beta/mean/variance of shape {:?}, expected [4, {c}]",
            l.dims()
        );
    }
    Ok(())
}

/// Computes `(dz, d[gamma; beta], dr)` with one custom op returning them packed.
fn backward(
    op: &BnAct,
    z: &Tensor,
    gb: &Tensor,
    res: &Tensor,
    grad: &Tensor,
    residual: bool,
) -> Result<(Tensor, Tensor, Option<Tensor>)> {
    let n = z.elem_count();
    let c = gb.dim(1)?;
    let grad = grad.contiguous()?;
    // Pack (z, y, g) side by side so one CustomOp3 sees all three.
    let packed = z.apply_op3_no_bwd(
        &res.contiguous()?,
        &grad,
        &BnBackward {
            eps: op.eps,
            relu: op.relu,
            gb: gb.clone(),
            residual,
        },
    )?;
    let dz = packed.narrow(0, 0, n)?.reshape(z.dims())?;
    let dgb = packed.narrow(0, n, 4 * c)?.reshape((4, c))?;
    let dr = if residual {
        Some(packed.narrow(0, n + 4 * c, n)?.reshape(z.dims())?)
    } else {
        None
    };
    Ok((dz, dgb, dr))
}

struct BnBackward {
    eps: f64,
    relu: bool,
    gb: Tensor,
    residual: bool,
}

/// The output gradient behind the ReLU (`RELU`): zero where the output was clamped (`y` not
/// positive). A bit mask rather than a branch, so the loops around it vectorize.
#[inline(always)]
fn masked<const RELU: bool>(y: f32, g: f32) -> f32 {
    if RELU {
        let keep = ((y > 0.0) as u32).wrapping_neg();
        f32::from_bits(g.to_bits() & keep)
    } else {
        g
    }
}

/// Sums over one plane of the masked gradient and of it times `xhat = (z - m) is`, returned
/// in f64: in AVX2 lanes where the build targets them (LLVM left the portable lane loop scalar
/// and branchy; it was 12 % of the `small` step), in 8 portable f32 lanes otherwise.
#[inline(never)]
fn masked_sums<const RELU: bool>(
    zs: &[f32],
    ys: &[f32],
    gs: &[f32],
    m: f32,
    is: f32,
) -> (f64, f64) {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma"
    ))]
    return masked_sums_avx2::<RELU>(zs, ys, gs, m, is);
    #[cfg(not(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma"
    )))]
    masked_sums_lanes::<RELU>(zs, ys, gs, m, is)
}

#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma"
))]
fn masked_sums_avx2<const RELU: bool>(
    zs: &[f32],
    ys: &[f32],
    gs: &[f32],
    m: f32,
    is: f32,
) -> (f64, f64) {
    let n = zs.len().min(ys.len()).min(gs.len());
    let (zs, ys, gs) = (&zs[..n], &ys[..n], &gs[..n]);
    use std::arch::x86_64::*;
    let full = n / 8 * 8;
    // SAFETY: AVX2 and FMA are enabled at compile time (cfg above); every load reads
    // 8 values at j < full <= n of slices cut to length n.
    let (a, ax) = unsafe {
        let (mv, isv, zero) = (_mm256_set1_ps(m), _mm256_set1_ps(is), _mm256_setzero_ps());
        let (mut a, mut ax) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for j in (0..full).step_by(8) {
            let z = _mm256_loadu_ps(zs.as_ptr().add(j));
            let g = _mm256_loadu_ps(gs.as_ptr().add(j));
            let gm = if RELU {
                let y = _mm256_loadu_ps(ys.as_ptr().add(j));
                _mm256_and_ps(g, _mm256_cmp_ps::<_CMP_GT_OQ>(y, zero))
            } else {
                g
            };
            a = _mm256_add_ps(a, gm);
            ax = _mm256_fmadd_ps(gm, _mm256_mul_ps(_mm256_sub_ps(z, mv), isv), ax);
        }
        let (mut la, mut lax) = ([0f32; 8], [0f32; 8]);
        _mm256_storeu_ps(la.as_mut_ptr(), a);
        _mm256_storeu_ps(lax.as_mut_ptr(), ax);
        (la, lax)
    };
    let mut sa: f64 = a.iter().map(|&v| v as f64).sum();
    let mut sax: f64 = ax.iter().map(|&v| v as f64).sum();
    for j in full..n {
        let gm = masked::<RELU>(ys[j], gs[j]);
        sa += gm as f64;
        sax += (gm * (zs[j] - m) * is) as f64;
    }
    (sa, sax)
}

/// The portable version of [`masked_sums`] (the reference the AVX2 one is tested against).
#[cfg_attr(
    all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma"
    ),
    allow(dead_code)
)]
fn masked_sums_lanes<const RELU: bool>(
    zs: &[f32],
    ys: &[f32],
    gs: &[f32],
    m: f32,
    is: f32,
) -> (f64, f64) {
    let (mut a, mut ax) = ([0f32; 8], [0f32; 8]);
    let (z8, y8, g8) = (zs.chunks_exact(8), ys.chunks_exact(8), gs.chunks_exact(8));
    let tail = (z8.remainder(), y8.remainder(), g8.remainder());
    for ((zc, yc), gc) in z8.zip(y8).zip(g8) {
        for l in 0..8 {
            let gm = masked::<RELU>(yc[l], gc[l]);
            a[l] += gm;
            ax[l] += gm * (zc[l] - m) * is;
        }
    }
    for ((&zv, &yv), &gv) in tail.0.iter().zip(tail.1).zip(tail.2) {
        let gm = masked::<RELU>(yv, gv);
        a[0] += gm;
        ax[0] += gm * (zv - m) * is;
    }
    (
        a.iter().map(|&v| v as f64).sum(),
        ax.iter().map(|&v| v as f64).sum(),
    )
}

/// `dz = k (n gm - sg - xhat sgx)` over one plane, and `dr = gm` when given.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn plane_grads<const RELU: bool>(
    d: &mut [MaybeUninit<f32>],
    r: Option<&mut [MaybeUninit<f32>]>,
    (zs, ys, gs): (&[f32], &[f32], &[f32]),
    (k, nn, m, is, sg, sgx): (f32, f32, f32, f32, f32, f32),
) {
    let dz_of = |zv: f32, gm: f32| k * (nn * gm - sg - (zv - m) * is * sgx);
    match r {
        Some(r) => {
            for ((((dv, rv), &zv), &yv), &gv) in
                d.iter_mut().zip(r.iter_mut()).zip(zs).zip(ys).zip(gs)
            {
                let gm = masked::<RELU>(yv, gv);
                rv.write(gm);
                dv.write(dz_of(zv, gm));
            }
        }
        None => {
            for (((dv, &zv), &yv), &gv) in d.iter_mut().zip(zs).zip(ys).zip(gs) {
                dv.write(dz_of(zv, masked::<RELU>(yv, gv)));
            }
        }
    }
}

impl CustomOp3 for BnBackward {
    fn name(&self) -> &'static str {
        "tnet-batch-norm-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = dims4(l1)?;
        let (b, ch, hw) = dims;
        let z = f32_slice(s1, l1, "batch norm input")?;
        let y = f32_slice(s2, l2, "batch norm output")?;
        let g = f32_slice(s3, l3, "batch norm output gradient")?;
        let gb: Vec<f32> = self.gb.flatten_all()?.to_vec1()?;
        let len = z.len();
        let nf = (b * hw) as f64;
        // Per channel: stats, sums of masked gradient and of masked gradient times xhat.
        let per: Vec<(f64, f64, f64, f64)> = (0..ch)
            .into_par_iter()
            .map(|c| {
                let (mean, var) = (gb[2 * ch + c] as f64, gb[3 * ch + c] as f64);
                let invstd = 1.0 / (var + self.eps).sqrt();
                let (m, is) = (mean as f32, invstd as f32);
                let (mut sg, mut sgx) = (0.0f64, 0.0f64);
                for bi in 0..b {
                    let o = (bi * ch + c) * hw;
                    let (zs, ys, gs) = (&z[o..o + hw], &y[o..o + hw], &g[o..o + hw]);
                    let (psg, psgx) = if self.relu {
                        masked_sums::<true>(zs, ys, gs, m, is)
                    } else {
                        masked_sums::<false>(zs, ys, gs, m, is)
                    };
                    sg += psg;
                    sgx += psgx;
                }
                (mean, invstd, sg, sgx)
            })
            .collect();
        let extra = if self.residual { len } else { 0 };
        let mut out = uninit(len + 4 * ch + extra);
        let (dz, rest) = out.split_at_mut(len);
        let (dgb, dr) = rest.split_at_mut(4 * ch);
        for (c, &(_, _, sg, sgx)) in per.iter().enumerate() {
            dgb[c].write(sgx as f32);
            dgb[ch + c].write(sg as f32);
        }
        // The statistics' rows get a zero gradient (they are detached inputs).
        for v in &mut dgb[2 * ch..] {
            v.write(0.0);
        }
        // dz and (with a residual) dr = the masked gradient, in one pass over each plane.
        let plane = hw.max(1);
        let dr_planes: Vec<Option<&mut [MaybeUninit<f32>]>> = if self.residual {
            dr.chunks_mut(plane).map(Some).collect()
        } else {
            (0..len / plane).map(|_| None).collect()
        };
        dz.par_chunks_mut(plane)
            .zip(dr_planes)
            .enumerate()
            .with_min_len(planes_per_task(plane))
            .for_each(|(i, (d, r))| {
                let c = i % ch;
                let (mean, invstd, sg, sgx) = per[c];
                let k = (gb[c] as f64 * invstd / nf) as f32;
                let (m, is, nn, sg, sgx) =
                    (mean as f32, invstd as f32, nf as f32, sg as f32, sgx as f32);
                let o = i * hw;
                let (zs, ys, gs) = (&z[o..o + hw], &y[o..o + hw], &g[o..o + hw]);
                let consts = (k, nn, m, is, sg, sgx);
                if self.relu {
                    plane_grads::<true>(d, r, (zs, ys, gs), consts);
                } else {
                    plane_grads::<false>(d, r, (zs, ys, gs), consts);
                }
            });
        // SAFETY: dz and dr are written plane by plane over their whole length, and all 4 ch
        // values of the d[gamma; beta] block above.
        let out = unsafe { assume_init(out) };
        Ok((CpuStorage::F32(out), Shape::from(len + 4 * ch + extra)))
    }
}

/// Per-channel `(mean, biased variance)` of `(B, C, H, W)` data as a `(2, C)` tensor (no
/// gradient), computed once per BatchNorm pass and shared by its forward and backward.
struct ChannelStats;

impl CustomOp1 for ChannelStats {
    fn name(&self) -> &'static str {
        "tnet-channel-stats"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = dims4(l)?;
        let x = f32_slice(s, l, "batch norm input")?;
        let stats: Vec<(f64, f64)> = (0..dims.1)
            .into_par_iter()
            .map(|c| channel_stats(x, dims, c))
            .collect();
        let mut out: Vec<f32> = stats.iter().map(|s| s.0 as f32).collect();
        out.extend(stats.iter().map(|s| s.1 as f32));
        Ok((CpuStorage::F32(out), Shape::from((2, dims.1))))
    }
}

/// Training-mode BatchNorm (+ residual) (+ ReLU) on f32 CPU tensors. Returns the output and the
/// batch's `(2, C)` mean and unbiased variance for the running statistics.
pub fn batch_norm_train(
    z: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    residual: Option<&Tensor>,
    relu: bool,
    eps: f64,
) -> Result<(Tensor, Tensor)> {
    let z = z.contiguous()?;
    let (b, _, h, w) = z.dims4()?;
    let stats = z.detach().apply_op1_no_bwd(&ChannelStats)?;
    // gamma, beta (trained) and the detached statistics in one (4, C) block.
    let params = Tensor::cat(&[&Tensor::stack(&[gamma, beta], 0)?, &stats], 0)?;
    let op = BnAct { eps, relu };
    let y = match residual {
        Some(r) => z.apply_op3(&params, &r.contiguous()?, op)?,
        None => z.apply_op2(&params, op)?,
    };
    let n = (b * h * w) as f64;
    let unbiased = Tensor::stack(&[stats.get(0)?, (stats.get(1)? * (n / (n - 1.0)))?], 0)?;
    Ok((y, unbiased))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plane sums BatchNorm's backward uses, against the portable lanes and against f64
    /// sums by hand: with and without the ReLU mask, on a plane whose length is not a multiple
    /// of 8 and with about half the outputs clamped.
    #[test]
    fn masked_sums_match_the_portable_lanes_and_f64() {
        let n = 1003;
        let v = |i: usize, k: f32| ((i as f32 * k).sin() * 3.0).round() / 4.0;
        let zs: Vec<f32> = (0..n).map(|i| v(i, 0.37) + 1.0).collect();
        let ys: Vec<f32> = (0..n).map(|i| v(i, 0.91)).collect();
        let gs: Vec<f32> = (0..n).map(|i| v(i, 1.73) + 0.5).collect();
        let (m, is) = (0.125f32, 2.0f32);
        for relu in [true, false] {
            let (got, lanes) = if relu {
                (
                    masked_sums::<true>(&zs, &ys, &gs, m, is),
                    masked_sums_lanes::<true>(&zs, &ys, &gs, m, is),
                )
            } else {
                (
                    masked_sums::<false>(&zs, &ys, &gs, m, is),
                    masked_sums_lanes::<false>(&zs, &ys, &gs, m, is),
                )
            };
            let (mut sg, mut sgx) = (0f64, 0f64);
            for i in 0..n {
                let g = if relu && ys[i] <= 0.0 {
                    0.0
                } else {
                    gs[i] as f64
                };
                sg += g;
                sgx += g * (zs[i] as f64 - m as f64) * is as f64;
            }
            assert!(sg.abs() > 1.0 && sgx.abs() > 1.0, "a degenerate plane");
            for (what, a, b) in [("sum", got.0, sg), ("sum x", got.1, sgx)] {
                assert!((a - b).abs() < 1e-4, "relu {relu} {what}: {a} vs {b}");
            }
            for (what, a, b) in [("sum", got.0, lanes.0), ("sum x", got.1, lanes.1)] {
                assert!((a - b).abs() < 1e-4, "relu {relu} {what} lanes: {a} vs {b}");
            }
        }
    }
}
