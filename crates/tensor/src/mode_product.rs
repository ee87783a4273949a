use faer::Par;
use ndarray::{
    Array2, ArrayD, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut2, ArrayViewMut3, Axis,
    CowArray, Ix2, IxDyn, Zip,
};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use crate::linalg::{PIECE_COLS, gemm_overwrite, par_for};
use crate::{Scalar, TensorError, check_mode};

/// How `mode_dot` reads its matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// The matrix is `J x I_mode` (TensorLy's default): `out[.., j, ..] = sum_i M[j, i] x[.., i, ..]`.
    No,
    /// The matrix is `I_mode x J` and its transpose is applied (`transpose=True` in TensorLy).
    Yes,
}

/// Mode-`mode` product `x ×_mode M` (TensorLy's `mode_dot`).
pub fn mode_dot<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    m: &ArrayView2<'_, T>,
    mode: usize,
    transpose: Transpose,
) -> Result<ArrayD<T>, TensorError> {
    multi_mode_dot(x, &[m.view()], Some(&[mode]), None, transpose)
}

/// Product of `x` with one matrix per listed mode (TensorLy's `multi_mode_dot`).
///
/// `modes` defaults to `0..matrices.len()`; `skip` is an index into `matrices` to leave out.
/// The products are applied in the order that shrinks the tensor fastest, which gives the same
/// result (they commute) with the least work.
pub fn multi_mode_dot<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    matrices: &[ArrayView2<'_, T>],
    modes: Option<&[usize]>,
    skip: Option<usize>,
    transpose: Transpose,
) -> Result<ArrayD<T>, TensorError> {
    let default_modes: Vec<usize> = (0..matrices.len()).collect();
    let modes = modes.unwrap_or(&default_modes);
    if modes.len() != matrices.len() {
        return Err(TensorError::Invalid(format!(
            "multi_mode_dot got {} matrices for {} modes",
            matrices.len(),
            modes.len()
        )));
    }
    let mut seen = vec![false; x.ndim()];
    let mut ops = Vec::with_capacity(modes.len());
    for (k, (&mode, m)) in modes.iter().zip(matrices).enumerate() {
        check_mode(mode, x.ndim())?;
        if std::mem::replace(&mut seen[mode], true) {
            return Err(TensorError::Invalid(format!(
                "mode {mode} listed twice in multi_mode_dot"
            )));
        }
        if Some(k) == skip {
            continue;
        }
        // Internally every op is `w: I_mode x J`.
        let w = match transpose {
            Transpose::No => m.t(),
            Transpose::Yes => m.view(),
        };
        if w.nrows() != x.shape()[mode] {
            return Err(TensorError::Shape {
                what: format!("matrix for mode {mode} in a mode product"),
                expected: format!("{} entries along the contracted side", x.shape()[mode]),
                got: format!("a {} x {} matrix", m.nrows(), m.ncols()),
            });
        }
        ops.push((mode, w));
    }
    Ok(contract_modes(x, &ops))
}

/// Applies `x ×_mode w^T` for every `(mode, w)` with `w: I_mode x J` (no shape checks: the
/// decomposition crates call it with shapes they built). Orders the products by how much
/// each shrinks the tensor.
pub fn contract_modes<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    ops: &[(usize, ArrayView2<'_, T>)],
) -> ArrayD<T> {
    let spans = fused_spans(ops);
    // Contracting a span costs (entries now) x J and shrinks the tensor by rho = J / I; an
    // exchange argument gives the cheapest order: ascending J / (1 - rho), spans that do not
    // shrink last (by ratio).
    let key = |s: &Span<'_, T>| {
        let (i, r) = (s.w.nrows() as f64, s.w.ncols() as f64);
        let rho = r / i;
        if rho < 1.0 {
            (0, r / (1.0 - rho))
        } else {
            (1, rho)
        }
    };
    let mut order: Vec<&Span<'_, T>> = spans.iter().collect();
    order.sort_by(|p, q| {
        let (kp, kq) = (key(p), key(q));
        kp.0.cmp(&kq.0).then(kp.1.total_cmp(&kq.1))
    });
    let mut current: Option<ArrayD<T>> = None;
    for span in order {
        let next = match &current {
            None => contract_span(&x.as_standard_layout().view(), span),
            Some(c) => contract_span(&c.view(), span),
        };
        current = Some(next);
    }
    current.unwrap_or_else(|| x.as_standard_layout().into_owned())
}

/// Consecutive modes contracted together: `w` is the Kronecker product of their matrices
/// (`prod I x prod J`, indices in C order), `sizes` each mode's new size.
struct Span<'a, T> {
    first: usize,
    sizes: Vec<usize>,
    w: CowArray<'a, T, Ix2>,
}

/// Largest `prod I` of adjacent tiny modes fused into one pass over the tensor.
const FUSED_ROWS: usize = 16;

/// Adjacent small modes (at most `SMALL_SIDE` rows and columns each) are fused while the
/// Kronecker matrix stays within `SMALL_FUSED_ROWS x SMALL_SIDE`.
const SMALL_SIDE: usize = 16;
const SMALL_FUSED_ROWS: usize = 256;

/// ... and while the product costs at most this many times the multiply-adds of the
/// separate products (two `10 -> 4` modes: 2.9 times the work, and the 10^5 Tucker problem
/// that has them 2.4-2.7 -> 1.8 ms).
const SMALL_FUSED_WORK: f64 = 4.0;

/// The ops as spans: runs of adjacent modes that are contracted together, with the Kronecker
/// product of their matrices. Tiny matrices (`I x J <= SMALL_MODE`) with `prod I` within
/// `FUSED_ROWS` make one pass of the one-pass kernel instead of one per mode (for `2 -> 1`
/// modes that is where the time goes). Small ones (`I, J <= 16`) up to a `256 x 16` product
/// make one GEMM of reasonable shape instead of several of `J` columns over short strided rows,
/// which cost more in calls and packing than the extra multiply-adds of the product (bounded
/// by `SMALL_FUSED_WORK`).
/// Every other op is a span of its own.
fn fused_spans<'a, T: Scalar>(ops: &'a [(usize, ArrayView2<'a, T>)]) -> Vec<Span<'a, T>> {
    let tiny = |w: &ArrayView2<'_, T>| w.len() <= SMALL_MODE;
    let small = |w: &ArrayView2<'_, T>| w.nrows() <= SMALL_SIDE && w.ncols() <= SMALL_SIDE;
    let mut sorted: Vec<&(usize, ArrayView2<'a, T>)> = ops.iter().collect();
    sorted.sort_by_key(|(m, _)| *m);
    let mut spans: Vec<Span<'a, T>> = Vec::with_capacity(ops.len());
    // Whether every matrix of the last span is tiny / small.
    let (mut all_tiny, mut all_small) = (false, false);
    for (mode, w) in sorted {
        if let Some(prev) = spans.last_mut()
            && prev.first + prev.sizes.len() == *mode
        {
            let (rows, cols) = (prev.w.nrows() * w.nrows(), prev.w.ncols() * w.ncols());
            let fuse_tiny = all_tiny && tiny(w) && rows <= FUSED_ROWS;
            // Multiply-adds per input entry: the product at once, or the span then `w`.
            let (jp, ip) = (prev.w.ncols() as f64, prev.w.nrows() as f64);
            let (fused, apart) = (jp * w.ncols() as f64, jp + jp / ip * w.ncols() as f64);
            let fuse_small = all_small
                && small(w)
                && rows <= SMALL_FUSED_ROWS
                && cols <= SMALL_SIDE
                && fused <= SMALL_FUSED_WORK * apart;
            if fuse_tiny || fuse_small {
                prev.w = CowArray::from(kron(&prev.w.view(), w));
                prev.sizes.push(w.ncols());
                all_tiny &= tiny(w);
                continue;
            }
        }
        (all_tiny, all_small) = (tiny(w), small(w));
        spans.push(Span {
            first: *mode,
            sizes: vec![w.ncols()],
            w: CowArray::from(w.view()),
        });
    }
    spans
}

/// Kronecker product `a ⊗ b`: `out[ia * Ib + ib, ja * Jb + jb] = a[ia, ja] b[ib, jb]`.
fn kron<T: Scalar>(a: &ArrayView2<'_, T>, b: &ArrayView2<'_, T>) -> Array2<T> {
    let (ib, jb) = b.dim();
    Array2::from_shape_fn((a.nrows() * ib, a.ncols() * jb), |(r, c)| {
        a[[r / ib, c / jb]] * b[[r % ib, c % jb]]
    })
}

/// `x` contracted on the span's modes with its matrix, for a C-contiguous `x`.
fn contract_span<T: Scalar>(x: &ArrayViewD<'_, T>, span: &Span<'_, T>) -> ArrayD<T> {
    let end = span.first + span.sizes.len();
    let shape = x.shape();
    let a: usize = shape[..span.first].iter().product();
    let i: usize = shape[span.first..end].iter().product();
    let b: usize = shape[end..].iter().product();
    let mut out_shape = shape.to_vec();
    out_shape.splice(span.first..end, span.sizes.iter().copied());
    let mut out = ArrayD::<T>::uninit(IxDyn(&out_shape));
    {
        let data = x
            .as_slice()
            .expect("contract_span takes C-contiguous tensors");
        let v = ArrayView3::from_shape((a, i, b), data).expect("sizes match");
        let flat = out.as_slice_mut().expect("fresh array is contiguous");
        let o = ArrayViewMut3::from_shape((a, span.w.ncols(), b), flat).expect("sizes match");
        overwrite_with_product(&v, &span.w.view(), o);
    }
    // SAFETY: `overwrite_with_product` writes every entry of its output.
    unsafe { out.assume_init() }
}

/// `out (A, J, B) = view (A, I, B) ×_1 w^T` with `w: I x J`: GEMMs on slabs, no copies.
pub fn mode_product_into<T: Scalar>(
    view: &ArrayView3<'_, T>,
    w: &ArrayView2<'_, T>,
    mut out: ArrayViewMut3<'_, T>,
) {
    let raw = out.raw_view_mut().cast::<MaybeUninit<T>>();
    // SAFETY: the view covers `out`'s memory, shape and strides while `out` stays borrowed
    // here; `MaybeUninit<T>` has `T`'s layout, and every entry is written an initialized value.
    let uninit = unsafe { raw.deref_into_view_mut() };
    overwrite_with_product(view, w, uninit);
}

/// [`mode_product_into`] on an output whose entries need not be initialized: writes every
/// entry of `out` (never reading one before writing it).
fn overwrite_with_product<T: Scalar>(
    view: &ArrayView3<'_, T>,
    w: &ArrayView2<'_, T>,
    mut out: ArrayViewMut3<'_, MaybeUninit<T>>,
) {
    let (a, i, b) = view.dim();
    let j = w.ncols();
    if (1..=SMALL_MODE).contains(&(i * j))
        && a > 1
        && view.is_standard_layout()
        && out.is_standard_layout()
    {
        return small_mode_product(view, w, out);
    }
    let flops = 2.0 * (a * i * b * j) as f64;
    let threads = rayon::current_num_threads();
    if a == 1 || b == 1 {
        // One GEMM over the whole tensor: cut its long side into pieces of at most PIECE_COLS
        // (bounded packing buffers), one sequential GEMM per piece, pieces shared by the
        // threads in a single fork-join (cheaper than the GEMM's own parallel schedule here).
        let (mut o, v, long) = if a == 1 {
            (
                out.index_axis_mut(Axis(0), 0),
                view.index_axis(Axis(0), 0),
                1,
            )
        } else {
            (
                out.index_axis_mut(Axis(2), 0),
                view.index_axis(Axis(2), 0),
                0,
            )
        };
        let run = |o: ArrayViewMut2<'_, MaybeUninit<T>>, v: ArrayView2<'_, T>, par: Par| {
            if a == 1 {
                gemm_overwrite(o, w.t(), v, par)
            } else {
                gemm_overwrite(o, v, w.view(), par)
            }
        };
        if v.len_of(Axis(long)) <= PIECE_COLS {
            run(o, v, par_for(flops));
        } else if flops < 2.0e6 || threads == 1 {
            o.axis_chunks_iter_mut(Axis(long), PIECE_COLS)
                .zip(v.axis_chunks_iter(Axis(long), PIECE_COLS))
                .for_each(|(o, v)| run(o, v, Par::Seq));
        } else {
            o.axis_chunks_iter_mut(Axis(long), PIECE_COLS)
                .into_par_iter()
                .zip(v.axis_chunks_iter(Axis(long), PIECE_COLS).into_par_iter())
                .for_each(|(o, v)| run(o, v, Par::Seq));
        }
    } else if b >= 32 || b >= a {
        if a >= 2 * threads && flops >= 2.0e6 {
            Zip::from(out.axis_iter_mut(Axis(0)))
                .and(view.axis_iter(Axis(0)))
                .par_for_each(|o, v| gemm_overwrite(o, w.t(), v, Par::Seq));
        } else {
            let par = par_for(flops / a as f64);
            for (o, v) in out.axis_iter_mut(Axis(0)).zip(view.axis_iter(Axis(0))) {
                gemm_overwrite(o, w.t(), v, par);
            }
        }
    } else {
        let par = par_for(flops / b as f64);
        for (o, v) in out.axis_iter_mut(Axis(2)).zip(view.axis_iter(Axis(2))) {
            gemm_overwrite(o, v, w.view(), par);
        }
    }
}

/// Modes with at most this many entries in their matrix (`i x j`) skip GEMM.
const SMALL_MODE: usize = 16;

/// Below this many trailing entries (`b`) a slab's rows are too short to vectorize along.
const SHORT_ROWS: usize = 8;

/// One slab `o (J x b) = w^T x (I x b)` with short rows: a sum of `I` products per entry.
fn short_rows_product<T: Scalar>(
    o: &mut [MaybeUninit<T>],
    x: &[T],
    ws: &[T],
    (i, j, b): (usize, usize, usize),
) {
    for jj in 0..j {
        for bb in 0..b {
            let mut acc = T::zero();
            for ii in 0..i {
                acc = x[ii * b + bb].mul_add(ws[ii * j + jj], acc);
            }
            o[jj * b + bb].write(acc);
        }
    }
}

/// Slabs summed side by side in [`short_rows_slabs`]: independent sums hide the latency of
/// each entry's chain of `I` multiply-adds.
const ROW_GROUP: usize = 8;

/// Slabs with short rows (`b < SHORT_ROWS`, `b = 1` for the last mode): each `J x b` output
/// slab is `w^T` times its `I x b` input slab, summed for a few slabs side by side.
#[inline(always)]
fn short_rows_slabs<T: Scalar>(
    o: &mut [MaybeUninit<T>],
    x: &[T],
    ws: &[T],
    (i, j, b): (usize, usize, usize),
) {
    let (in_len, out_len) = (i * b, j * b);
    let mut groups_o = o.chunks_exact_mut(ROW_GROUP * out_len);
    let mut groups_x = x.chunks_exact(ROW_GROUP * in_len);
    for (og, xg) in (&mut groups_o).zip(&mut groups_x) {
        for jj in 0..j {
            for bb in 0..b {
                let mut acc = [T::zero(); ROW_GROUP];
                for ii in 0..i {
                    let w = ws[ii * j + jj];
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = xg[r * in_len + ii * b + bb].mul_add(w, *a);
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    og[r * out_len + jj * b + bb].write(*a);
                }
            }
        }
    }
    let (o_rest, x_rest) = (groups_o.into_remainder(), groups_x.remainder());
    for (oa, xa) in o_rest
        .chunks_exact_mut(out_len)
        .zip(x_rest.chunks_exact(in_len))
    {
        short_rows_product(oa, xa, ws, (i, j, b));
    }
}

/// Entries of a row summed at once in [`long_rows_product`] (a register-sized accumulator).
const ROW_BLOCK: usize = 64;

/// One slab `o (J x b) = w^T x (I x b)`, vectorized along the rows of `b` entries.
fn long_rows_product<T: Scalar>(
    o: &mut [MaybeUninit<T>],
    x: &[T],
    ws: &[T],
    (i, j, b): (usize, usize, usize),
) {
    let mut acc = [T::zero(); ROW_BLOCK];
    for (jj, dst) in o.chunks_exact_mut(b).enumerate() {
        for lo in (0..b).step_by(ROW_BLOCK) {
            let len = ROW_BLOCK.min(b - lo);
            let acc = &mut acc[..len];
            let w0 = ws[jj];
            for (d, &v) in acc.iter_mut().zip(&x[lo..lo + len]) {
                *d = v * w0;
            }
            for ii in 1..i {
                let wi = ws[ii * j + jj];
                let row = &x[ii * b + lo..ii * b + lo + len];
                for (d, &v) in acc.iter_mut().zip(row) {
                    *d = v.mul_add(wi, *d);
                }
            }
            for (d, &v) in dst[lo..lo + len].iter_mut().zip(acc.iter()) {
                d.write(v);
            }
        }
    }
}

/// The product for a tiny mode (a few rows and columns of `w`) in one pass over the tensor:
/// `out[a, :, :] = w^T x[a, :, :]`. As GEMMs these are matrix-vector products over 2-row
/// slabs, strided, each pass reading every cache line of the tensor.
fn small_mode_product<T: Scalar>(
    view: &ArrayView3<'_, T>,
    w: &ArrayView2<'_, T>,
    mut out: ArrayViewMut3<'_, MaybeUninit<T>>,
) {
    let (_, i, b) = view.dim();
    let j = w.ncols();
    let w = w.as_standard_layout();
    let ws = w.as_slice().expect("standard layout");
    let xs = view.as_slice().expect("checked: standard layout");
    let os = out.as_slice_mut().expect("checked: standard layout");
    let kernel = |(o, x): (&mut [MaybeUninit<T>], &[T])| {
        if b == 1 {
            // A copy of the loop specialized to b = 1 (the last mode), which the compiler
            // vectorizes far better.
            return short_rows_slabs(o, x, ws, (i, j, 1));
        }
        if b < SHORT_ROWS {
            return short_rows_slabs(o, x, ws, (i, j, b));
        }
        for (oa, xa) in o.chunks_exact_mut(j * b).zip(x.chunks_exact(i * b)) {
            long_rows_product(oa, xa, ws, (i, j, b));
        }
    };
    // Tasks of about 32K input entries, whole rows of `a`.
    let rows = (1usize << 15).div_ceil(i * b).max(1);
    if xs.len() >= 1 << 16 && rayon::current_num_threads() > 1 {
        os.par_chunks_mut(rows * j * b)
            .zip(xs.par_chunks(rows * i * b))
            .for_each(kernel);
    } else {
        kernel((os, xs));
    }
}
