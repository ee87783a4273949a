//! The linear algebra the decompositions need, through `faer` on zero-copy ndarray views.
//!
//! Thin SVDs of wide unfoldings are the classic bottleneck of Tucker and TT; where only the
//! leading left singular vectors are wanted we use the Gram matrix `X X^T` and a symmetric
//! eigensolver instead (4-10x faster at these sizes). Signs always follow TensorLy's
//! `svd_flip` so factors compare one to one.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd;
use faer::linalg::matmul::triangular::BlockStructure;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatRef, Par, Side};
use faer_ext::{IntoFaer, IntoNdarray};
use ndarray::{Array2, ArrayView2, ArrayView3, ArrayViewMut2, Axis};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use crate::{Scalar, TensorError};

/// Work below this many flops runs on one thread: spawning costs more than it saves.
const PARALLEL_FLOPS: f64 = 2.0e6;

/// Parallelism for a kernel of `flops` floating-point operations.
pub fn par_for(flops: f64) -> Par {
    if flops >= PARALLEL_FLOPS && rayon::current_num_threads() > 1 {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// `c = alpha * a @ b + (c if accumulate)`, any strides, no copies.
pub fn gemm<T: Scalar>(
    c: ArrayViewMut2<'_, T>,
    accumulate: bool,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    alpha: T,
    par: Par,
) {
    debug_assert_eq!(c.dim(), (a.nrows(), b.ncols()));
    debug_assert_eq!(a.ncols(), b.nrows());
    let beta = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    faer::linalg::matmul::matmul(
        c.into_faer(),
        beta,
        a.into_faer(),
        b.into_faer(),
        alpha,
        par,
    );
}

/// `c = a @ b` into a matrix whose entries are not initialized yet: every entry is written
/// (never read), so the caller may `assume_init` it afterwards.
pub(crate) fn gemm_overwrite<T: Scalar>(
    mut c: ArrayViewMut2<'_, MaybeUninit<T>>,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    par: Par,
) {
    debug_assert_eq!(c.dim(), (a.nrows(), b.ncols()));
    debug_assert_eq!(a.ncols(), b.nrows());
    let (rows, cols) = c.dim();
    let strides = c.strides();
    let (rs, cs) = (strides[0], strides[1]);
    // SAFETY: the pointer, shape and strides are those of the live, exclusively borrowed view
    // `c`; `MaybeUninit<T>` has `T`'s layout; faer reaches the entries through raw pointers and
    // with `Accum::Replace` writes each one without reading it.
    let dst =
        unsafe { faer::MatMut::from_raw_parts_mut(c.as_mut_ptr().cast::<T>(), rows, cols, rs, cs) };
    faer::linalg::matmul::matmul(
        dst,
        Accum::Replace,
        a.into_faer(),
        b.into_faer(),
        T::one(),
        par,
    );
}

/// `a @ b` into a new matrix.
pub fn matmul<T: Scalar>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Array2<T> {
    let mut c = Array2::<T>::zeros((a.nrows(), b.ncols()));
    let flops = 2.0 * (a.nrows() * a.ncols() * b.ncols()) as f64;
    gemm(c.view_mut(), false, a, b, T::one(), par_for(flops));
    c
}

/// Lower triangle of `c += a @ a^T` (half the flops of a full product).
fn syrk_lower<T: Scalar>(c: ArrayViewMut2<'_, T>, a: ArrayView2<'_, T>, par: Par) {
    faer::linalg::matmul::triangular::matmul(
        c.into_faer(),
        BlockStructure::TriangularLower,
        Accum::Add,
        a.into_faer(),
        BlockStructure::Rectangular,
        a.t().into_faer(),
        BlockStructure::Rectangular,
        T::one(),
        par,
    );
}

fn mirror_lower<T: Scalar>(g: &mut Array2<T>) {
    let n = g.nrows();
    for i in 0..n {
        for j in i + 1..n {
            g[[i, j]] = g[[j, i]];
        }
    }
}

/// Columns per GEMM piece: bounds the GEMM's packing buffers (which otherwise grow with the
/// operand, tens of MiB for a 128^3 tensor) and gives the threads pieces to share.
pub(crate) const PIECE_COLS: usize = 2048;

/// Gram matrix `X_(n) X_(n)^T` of the mode-`n` unfolding, from the `(A, I, B)` mode view.
///
/// Sums syrk updates over pieces of the unfolding's columns (at most `PIECE_COLS`, about the
/// same number per thread, one accumulator per thread). With long rows (`b`) a piece is a
/// column block of one slab `view[a]`; with `b = 1` a block of `view[:, :, 0]^T`; in between
/// a block of whole slabs gathered into a contiguous `I x cols` buffer, read once in memory
/// order (syrk on `b`-column slabs would update the whole `I x I` accumulator for a handful of
/// columns, and on strided `view[:, :, b]` slabs it would read every cache line once per `b`).
/// At most one block of the tensor is copied at a time.
pub fn mode_gram<T: Scalar>(view: &ArrayView3<'_, T>) -> Array2<T> {
    let (a, i, b) = view.dim();
    let flops = (a * i * i * b) as f64;
    let threads = if flops < PARALLEL_FLOPS {
        1
    } else {
        rayon::current_num_threads().max(1)
    };
    let layout = if b >= PACKED_COLS / 4 {
        GramLayout::Slabs
    } else if b == 1 {
        GramLayout::Transposed
    } else {
        GramLayout::Gathered
    };
    let pieces = gram_pieces(a, b, layout, threads);
    // Each piece is (start, columns) as `gram_pieces` describes for the layout.
    let accumulate = |g: &mut Array2<T>, buf: &mut Vec<T>, (k, n): (usize, usize)| match layout {
        GramLayout::Slabs => {
            let (slab, lo) = (k / b, k % b);
            let m = view.index_axis(Axis(0), slab);
            syrk_lower(
                g.view_mut(),
                m.slice_move(ndarray::s![.., lo..lo + n]),
                Par::Seq,
            );
        }
        GramLayout::Transposed => {
            let m = view.index_axis(Axis(2), 0).reversed_axes();
            syrk_lower(
                g.view_mut(),
                m.slice_move(ndarray::s![.., k..k + n]),
                Par::Seq,
            );
        }
        GramLayout::Gathered => {
            // Every entry of the block is written below: only its length needs setting.
            buf.resize(i * n, T::zero());
            for (s, slab) in view.outer_iter().skip(k).take(n / b).enumerate() {
                for (row, src) in slab.outer_iter().enumerate() {
                    let dst = &mut buf[row * n + s * b..row * n + (s + 1) * b];
                    ndarray::ArrayViewMut1::from(dst).assign(&src);
                }
            }
            let m = ArrayView2::from_shape((i, n), &buf[..]).expect("sizes match");
            syrk_lower(g.view_mut(), m, Par::Seq);
        }
    };
    let mut g = pieces
        .par_chunks(pieces.len().div_ceil(threads).max(1))
        .map(|ps| {
            let mut g = Array2::<T>::zeros((i, i));
            let mut buf = Vec::new();
            for &p in ps {
                accumulate(&mut g, &mut buf, p);
            }
            g
        })
        .reduce(|| Array2::<T>::zeros((i, i)), |x, y| x + y);
    mirror_lower(&mut g);
    g
}

/// Columns of a gathered block of thin slabs in [`mode_gram`].
const PACKED_COLS: usize = 512;

/// Where [`mode_gram`] reads its pieces of the unfolding.
#[derive(Clone, Copy)]
enum GramLayout {
    /// Column blocks of one slab `view[a]` (`I x b`, rows of `b` contiguous entries).
    Slabs,
    /// Column blocks of `view[:, :, 0]^T` (`b = 1`: columns contiguous).
    Transposed,
    /// Whole slabs gathered into a contiguous buffer.
    Gathered,
}

/// [`mode_gram`]'s pieces as (start, columns): for `Slabs` the start is `slab * b + column`
/// and a piece stays within its slab; for `Transposed` the first column; for `Gathered` the
/// first slab and `columns` a multiple of `b`. At most `PIECE_COLS` (`PACKED_COLS` gathered)
/// columns each, split evenly so that every thread gets about the same work.
fn gram_pieces(a: usize, b: usize, layout: GramLayout, threads: usize) -> Vec<(usize, usize)> {
    let even = |total: usize, unit: usize, most: usize| {
        // Pieces of whole units, as many as the threads (or a multiple) and at most `most` wide.
        let units = total / unit;
        let per_thread = units.div_ceil(threads);
        let per_piece = per_thread.div_ceil(per_thread.div_ceil((most / unit).max(1)));
        (0..units)
            .step_by(per_piece.max(1))
            .map(move |u| (u * unit, per_piece.min(units - u) * unit))
    };
    match layout {
        GramLayout::Slabs => (0..a)
            .flat_map(|k| {
                (0..b)
                    .step_by(PIECE_COLS)
                    .map(move |lo| (k * b + lo, PIECE_COLS.min(b - lo)))
            })
            .collect(),
        GramLayout::Transposed => even(a, 1, PIECE_COLS).collect(),
        GramLayout::Gathered => even(a * b, b, PACKED_COLS)
            .map(|(start, n)| (start / b, n))
            .collect(),
    }
}

/// Flips signs as TensorLy's `svd_flip(u, v, u_based_decision=True)`: the largest-magnitude
/// entry of every column of `u` becomes positive; rows of `vt` follow.
pub fn svd_flip<T: Scalar>(u: &mut Array2<T>, mut vt: Option<&mut Array2<T>>) {
    for j in 0..u.ncols() {
        let col = u.column(j);
        let mut best = T::zero();
        let mut sign_negative = false;
        for &v in col.iter() {
            if v.abs() > best {
                best = v.abs();
                sign_negative = v < T::zero();
            }
        }
        if sign_negative {
            u.column_mut(j).mapv_inplace(|v| -v);
            if let Some(vt) = vt.as_deref_mut() {
                vt.row_mut(j).mapv_inplace(|v| -v);
            }
        }
    }
}

/// Symmetric eigendecomposition `s = V diag(w) V^T`, eigenvalues in DEcreasing order.
pub fn sym_eigen<T: Scalar>(s: &ArrayView2<'_, T>) -> Result<(Vec<T>, Array2<T>), TensorError> {
    let n = s.nrows();
    if s.ncols() != n {
        return Err(TensorError::Shape {
            what: "symmetric eigendecomposition".into(),
            expected: "a square matrix".into(),
            got: format!("{} x {}", n, s.ncols()),
        });
    }
    // faer's default would fork-join inside every small eigensolver; below a few MFLOP that
    // costs more than it saves (TT-SVD of a 5^7 tensor: 1.3 ms sequential, 1.5-1.9 ms forked).
    let par = par_for(9.0 * (n * n * n) as f64);
    let mut evec = Mat::<T>::zeros(n, n);
    let mut eval = Diag::<T>::zeros(n);
    let scratch = evd::self_adjoint_evd_scratch::<T>(
        n,
        evd::ComputeEigenvectors::Yes,
        par,
        Default::default(),
    );
    evd::self_adjoint_evd(
        s.into_faer(),
        eval.as_mut(),
        Some(evec.as_mut()),
        par,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    )
    .map_err(|e| TensorError::Linalg {
        what: "symmetric eigendecomposition".into(),
        reason: format!("{e:?}"),
    })?;
    let u = evec.as_ref().into_ndarray();
    let w = eval.column_vector();
    // faer sorts ascending; reverse to the SVD's order.
    let values: Vec<T> = (0..n).rev().map(|k| w[k]).collect();
    let mut vectors = Array2::<T>::zeros((n, n));
    for (dst, src) in (0..n).rev().enumerate() {
        vectors.column_mut(dst).assign(&u.column(src));
    }
    Ok((values, vectors))
}

/// Gram matrices from this size try subspace iteration first, when at most this fraction of
/// the vectors is wanted: on a spectrum without a gap at `k` the attempt stops after its first
/// Ritz step, which adds 18-21 % to the exact solver at `n` from 128 to 512 within these bounds
/// (Grams of random matrices), more for smaller or wider requests.
const SUBSPACE_MIN_SIZE: usize = 128;
const SUBSPACE_MAX_FRACTION: usize = 16;

/// Leading `k` left singular vectors of a matrix given by its Gram matrix `G = M M^T`, and
/// the matching singular values `sqrt(max(eig, 0))`, signs as `svd_flip`.
pub fn leading_from_gram<T: Scalar>(
    gram: &ArrayView2<'_, T>,
    k: usize,
) -> Result<(Array2<T>, Vec<T>), TensorError> {
    let n = gram.nrows();
    if k == 0 || k > n {
        return Err(TensorError::Invalid(format!(
            "asked for {k} singular vectors of a {n}-row matrix (1..={n} allowed)"
        )));
    }
    let by_subspace = if n >= SUBSPACE_MIN_SIZE && k <= n / SUBSPACE_MAX_FRACTION {
        crate::gram_subspace::gram_leading_by_subspace(gram, k)
    } else {
        None
    };
    let (w, v) = match by_subspace {
        Some(found) => found,
        None => crate::leading_eigen::sym_eigen_leading(gram, k)?,
    };
    let mut u = v.as_standard_layout().into_owned();
    svd_flip(&mut u, None);
    let s = w[..k].iter().map(|&x| x.max(T::zero()).sqrt()).collect();
    Ok((u, s))
}

/// Leading `k` left singular vectors of the mode-`n` unfolding (Gram + eigen).
pub fn leading_mode_vectors<T: Scalar>(
    view: &ArrayView3<'_, T>,
    k: usize,
) -> Result<(Array2<T>, Vec<T>), TensorError> {
    let g = mode_gram(view);
    leading_from_gram(&g.view(), k)
}

/// Whether `U^T U` is the identity to within `sqrt(eps)` (columns computed as `C V / s` lose
/// orthogonality when `C` is ill-conditioned).
pub fn nearly_orthonormal<T: Scalar>(u: &Array2<T>) -> bool {
    let g = matmul(u.t(), u.view());
    let tol = T::epsilon().as_f64().sqrt();
    g.indexed_iter()
        .all(|((i, j), v)| (v.as_f64() - if i == j { 1.0 } else { 0.0 }).abs() <= tol)
}

/// Leading `k` left singular vectors of the mode unfolding of `view` `(A, I, B)` (an `I x AB`
/// matrix) when it has fewer columns than rows: from the eigenvectors `V` of the small Gram of
/// its columns, `U = Y V / s`; when `k` exceeds the unfolding's rank, completed with the next
/// columns of the full orthogonal `Q` of `U`'s Householder QR (as LAPACK's full SVD completes
/// its `U`; those directions carry nothing of the tensor). Costs `O(I (AB)^2 + I^2 AB)` where
/// the `I x I` Gram and its eigensolver cost `O(I^2 AB + I^3)`. `None` when the columns come
/// out less than orthonormal (ill-conditioned): the caller then takes the `I x I` path.
pub fn leading_mode_vectors_few_columns<T: Scalar>(
    view: &ArrayView3<'_, T>,
    k: usize,
) -> Result<Option<Array2<T>>, TensorError> {
    let (a, i, b) = view.dim();
    let c = a * b;
    if k == 0 || k > i {
        return Err(TensorError::Invalid(format!(
            "asked for {k} singular vectors of a {i}-row matrix (1..={i} allowed)"
        )));
    }
    let y = view
        .view()
        .permuted_axes([1, 0, 2])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((i, c))
        .expect("contiguous");
    let (w, v) = sym_eigen(&matmul(y.t(), y.view()).view())?;
    let top = w.first().map_or(0.0, |x| x.as_f64()).max(0.0);
    let floor = top * T::epsilon().as_f64() * c as f64;
    let keep = w
        .iter()
        .take(k.min(c))
        .take_while(|x| x.as_f64() > floor)
        .count();
    if keep == 0 {
        return Ok(None);
    }
    let mut lead = matmul(y.view(), v.slice(ndarray::s![.., ..keep]));
    for (j, mut col) in lead.columns_mut().into_iter().enumerate() {
        let inv = T::from_f64(1.0 / w[j].as_f64().sqrt());
        col.mapv_inplace(|x| x * inv);
    }
    if !nearly_orthonormal(&lead) {
        return Ok(None);
    }
    svd_flip(&mut lead, None);
    Ok(Some(complete_orthonormal(&lead.view(), k)?))
}

/// `u` (`n x m`, orthonormal columns) followed by `k - m` more orthonormal columns, the next
/// columns of the full orthogonal `Q` of `u`'s Householder QR (as LAPACK's full SVD completes
/// its `U`), for `m <= k <= n`.
pub fn complete_orthonormal<T: Scalar>(
    u: &ArrayView2<'_, T>,
    k: usize,
) -> Result<Array2<T>, TensorError> {
    let (n, m) = u.dim();
    if k < m || k > n {
        return Err(TensorError::Invalid(format!(
            "cannot complete {m} columns of length {n} to {k} orthonormal columns \
             ({m}..={n} allowed)"
        )));
    }
    if k == m {
        return Ok(u.to_owned());
    }
    let q = leading_q_columns(u.into_faer().to_owned(), k);
    let q = q.as_ref().into_ndarray();
    let mut out = Array2::<T>::zeros((n, k));
    out.slice_mut(ndarray::s![.., ..m]).assign(u);
    out.slice_mut(ndarray::s![.., m..])
        .assign(&q.slice(ndarray::s![.., m..k]));
    Ok(out)
}

/// The first `k` columns (`m <= k <= n`) of the full orthogonal `Q` of the Householder QR of
/// `x` (`n x m`): the reflectors applied to the first `k` unit vectors. The factorization runs
/// on one thread (a few hundred rows by tens of columns here); applying the reflectors forks
/// when it is large enough.
pub(crate) fn leading_q_columns<T: Scalar>(mut x: Mat<T>, k: usize) -> Mat<T> {
    let (n, m) = (x.nrows(), x.ncols());
    let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<T>(n, m);
    let mut coeff = Mat::<T>::zeros(bs, m);
    let mut q = Mat::<T>::identity(n, k);
    let mut buf = MemBuffer::new(faer::dyn_stack::StackReq::any_of(&[
        faer::linalg::qr::no_pivoting::factor::qr_in_place_scratch::<T>(
            n,
            m,
            bs,
            Par::Seq,
            Default::default(),
        ),
        faer::linalg::householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(
            n, bs, k,
        ),
    ]));
    faer::linalg::qr::no_pivoting::factor::qr_in_place(
        x.as_mut(),
        coeff.as_mut(),
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    );
    faer::linalg::householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        x.as_ref(),
        coeff.as_ref(),
        faer::Conj::No,
        q.as_mut(),
        par_for(4.0 * (n * k * m) as f64),
        MemStack::new(&mut buf),
    );
    q
}

/// `(U, singular values, Vt)` of a thin SVD.
pub type Svd<T> = (Array2<T>, Vec<T>, Array2<T>);

/// Thin SVD `a = U diag(s) Vt` with `U: m x p`, `Vt: p x n`, `p = min(m, n)`, singular values
/// decreasing, signs as `svd_flip`.
pub fn thin_svd<T: Scalar>(a: &ArrayView2<'_, T>) -> Result<Svd<T>, TensorError> {
    let svd = a.into_faer().thin_svd().map_err(|e| TensorError::Linalg {
        what: format!("thin SVD of a {} x {} matrix", a.nrows(), a.ncols()),
        reason: format!("{e:?}"),
    })?;
    let mut u = svd.U().into_ndarray().as_standard_layout().into_owned();
    let s = svd.S().column_vector();
    let s: Vec<T> = (0..s.nrows()).map(|k| s[k]).collect();
    let mut vt = svd.V().into_ndarray().t().as_standard_layout().into_owned();
    svd_flip(&mut u, Some(&mut vt));
    Ok((u, s, vt))
}

/// Thin QR `a = Q R`, `Q: m x p` with orthonormal columns, `R: p x n`, `p = min(m, n)`.
pub fn thin_qr<T: Scalar>(a: &ArrayView2<'_, T>) -> (Array2<T>, Array2<T>) {
    let qr = a.into_faer().qr();
    let q = qr
        .compute_thin_Q()
        .as_ref()
        .into_ndarray()
        .as_standard_layout()
        .into_owned();
    let r = qr.thin_R().into_ndarray().as_standard_layout().into_owned();
    (q, r)
}

/// Solves `X V = B` for `X` with `V` symmetric positive semi-definite (`B: m x r`, `V: r x r`),
/// as CP-ALS needs. Cholesky first; if `V` is singular, falls back to the pseudo-inverse.
pub fn solve_sym_right<T: Scalar>(
    b: &ArrayView2<'_, T>,
    v: &ArrayView2<'_, T>,
) -> Result<Array2<T>, TensorError> {
    let r = v.nrows();
    if v.ncols() != r || b.ncols() != r {
        return Err(TensorError::Shape {
            what: "symmetric solve".into(),
            expected: format!("V {r} x {r} and B with {r} columns"),
            got: format!(
                "V {} x {}, B {} x {}",
                v.nrows(),
                v.ncols(),
                b.nrows(),
                b.ncols()
            ),
        });
    }
    // X V = B  <=>  V X^T = B^T (V symmetric).
    let mut rhs: Mat<T> = b.t().into_faer().to_owned();
    if let Ok(llt) = v.into_faer().llt(Side::Lower) {
        llt.solve_in_place(rhs.as_mut());
        let x = rhs
            .as_ref()
            .into_ndarray()
            .t()
            .as_standard_layout()
            .into_owned();
        if x.iter().all(|e| e.is_finite()) {
            return Ok(x);
        }
    }
    let pinv = pseudo_inverse_sym(v)?;
    let pinv_ref: MatRef<'_, T> = pinv.view().into_faer();
    let mut out = Mat::<T>::zeros(r, b.nrows());
    faer::linalg::matmul::matmul(
        out.as_mut(),
        Accum::Replace,
        pinv_ref,
        b.t().into_faer(),
        T::one(),
        Par::Seq,
    );
    Ok(out
        .as_ref()
        .into_ndarray()
        .t()
        .as_standard_layout()
        .into_owned())
}

fn pseudo_inverse_sym<T: Scalar>(v: &ArrayView2<'_, T>) -> Result<Array2<T>, TensorError> {
    let (w, q) = sym_eigen(v)?;
    let wmax = w.iter().fold(T::zero(), |m, &x| m.max(x.abs()));
    let cutoff = wmax * T::epsilon() * T::from_f64(v.nrows() as f64);
    let r = v.nrows();
    let mut out = Array2::<T>::zeros((r, r));
    for (k, &wk) in w.iter().enumerate() {
        if wk.abs() > cutoff {
            let col = q.column(k);
            for i in 0..r {
                for j in 0..r {
                    out[[i, j]] += col[i] * col[j] / wk;
                }
            }
        }
    }
    Ok(out)
}

/// Leading `k` eigenvectors of the PSD matrix `gram`, warm-started from an orthonormal guess
/// `prev` (`n x k`): subspace iteration with Rayleigh-Ritz until the invariant-subspace
/// residual `||G U - U (U^T G U)||_F` is below `100 eps ||G||_F` (at most 8 steps), else the
/// full eigendecomposition. Singular values and signs as [`leading_from_gram`].
///
/// HOOI calls this every sweep with the previous factor: the subspace barely moves, so two or
/// three products `G U` replace an `n x n` eigendecomposition (the dominant cost at n ~ 100).
pub fn leading_from_gram_warm<T: Scalar>(
    gram: &ArrayView2<'_, T>,
    k: usize,
    prev: &ArrayView2<'_, T>,
) -> Result<(Array2<T>, Vec<T>), TensorError> {
    let n = gram.nrows();
    if prev.dim() != (n, k) || k == 0 || k >= n {
        return leading_from_gram(gram, k);
    }
    let g_norm = gram
        .iter()
        .map(|v| v.as_f64() * v.as_f64())
        .sum::<f64>()
        .sqrt();
    let tol = (100.0 * T::epsilon().as_f64()).max(1e-12) * g_norm;
    let mut u = prev.as_standard_layout().into_owned();
    for _ in 0..8 {
        let w = matmul(gram.view(), u.view());
        let h = matmul(u.t(), w.view());
        let mut residual = w.clone();
        gemm(
            residual.view_mut(),
            true,
            u.view(),
            h.view(),
            -T::one(),
            Par::Seq,
        );
        let res = residual
            .iter()
            .map(|v| v.as_f64() * v.as_f64())
            .sum::<f64>()
            .sqrt();
        if res <= tol {
            // Rayleigh-Ritz: rotate to the eigenvectors of the projected matrix.
            let (vals, q) = sym_eigen(&h.view())?;
            let mut out = matmul(u.view(), q.view());
            svd_flip(&mut out, None);
            let s = vals.iter().map(|&x| x.max(T::zero()).sqrt()).collect();
            return Ok((out, s));
        }
        u = thin_qr(&w.view()).0;
    }
    leading_from_gram(gram, k)
}
