//! The leading eigenpairs of a symmetric matrix without the whole eigendecomposition.
//!
//! Tucker's HOSVD and TT-SVD want the `k` leading eigenvectors of an `n x n` Gram matrix, often
//! with `k` well below `n` (a 512-row mode at rank 32). A full eigendecomposition spends most
//! of its time on the `n - k` vectors nobody reads: the divide-and-conquer on the tridiagonal
//! matrix and the back-transformation of all `n` vectors. Here the matrix is reduced to
//! tridiagonal form (faer), the `k` leading eigenvalues of the tridiagonal come from bisection
//! on Sturm counts (`O(n k)`, sixteen values in step; for `k > n / 2` all values from implicit
//! QL, `O(n^2)`), the `k` wanted vectors from inverse iteration (`O(n k)`, clusters of
//! close eigenvalues kept orthogonal as LAPACK's `dstein` does, here by a block QR), and only
//! those `k` vectors are transformed back (`2 n^2 k` flops instead of `2 n^3`). A final residual and orthogonality
//! check falls back to the full eigendecomposition if inverse iteration did not converge.
//!
//! ```
//! use ndarray::Array2;
//! use tnet_tensor::leading_eigen::sym_eigen_leading;
//! // diag(0, 1, .., 99): the 3 leading eigenpairs are 99, 98, 97 and the last unit vectors.
//! let s = Array2::from_diag(&ndarray::Array1::from_iter((0..100).map(|v| v as f64)));
//! let (values, vectors) = sym_eigen_leading(&s.view(), 3).unwrap();
//! assert_eq!(values, vec![99.0, 98.0, 97.0]);
//! assert!((vectors[[99, 0]].abs() - 1.0).abs() < 1e-12);
//! ```

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::evd::tridiag;
use faer::linalg::householder;
use faer::{Conj, Mat};
use faer_ext::{IntoFaer, IntoNdarray};
use ndarray::{Array2, ArrayView2};

use crate::linalg::{leading_q_columns, par_for, sym_eigen};
use crate::norm::sum_of_squares;
use crate::{Scalar, TensorError};

/// The `k` largest eigenvalues of the symmetric `s` (decreasing) and their eigenvectors
/// (`n x k`, orthonormal columns), for `1 <= k <= n`. Same contract as the first `k` of
/// [`sym_eigen`], which it calls when `k` is too close to `n` for a partial solve to pay.
pub fn sym_eigen_leading<T: Scalar>(
    s: &ArrayView2<'_, T>,
    k: usize,
) -> Result<(Vec<T>, Array2<T>), TensorError> {
    let n = s.nrows();
    if s.ncols() != n || k == 0 || k > n {
        return Err(TensorError::Invalid(format!(
            "asked for the {k} leading eigenpairs of a {} x {} matrix (square, 1..=n allowed)",
            n,
            s.ncols()
        )));
    }
    if n < PARTIAL_MIN_SIZE || k > n / PARTIAL_MAX_FRACTION {
        return full_leading(s, k);
    }
    match partial_leading(s, k) {
        Some(found) => Ok(found),
        None => full_leading(s, k),
    }
}

/// Below this size the full eigendecomposition is as fast.
const PARTIAL_MIN_SIZE: usize = 48;

/// The partial solve pays for `k <= n / 2` (timed on Grams of random matrices, medians of 15:
/// `n = 408` at `k = 24` 4.8 ms, at
/// `k = 142` 9.6 ms, at `k = 204` 12.4 ms, against 15-17 ms for faer's full decomposition on two
/// threads; `n = 200, k = 100` 2.6 against 3.0 ms).
const PARTIAL_MAX_FRACTION: usize = 2;

fn full_leading<T: Scalar>(
    s: &ArrayView2<'_, T>,
    k: usize,
) -> Result<(Vec<T>, Array2<T>), TensorError> {
    let (mut w, v) = sym_eigen(s)?;
    w.truncate(k);
    Ok((w, v.slice(ndarray::s![.., ..k]).to_owned()))
}

/// Tridiagonalize, solve for the `k` leading pairs of the tridiagonal, transform back.
/// `None` when inverse iteration did not deliver an accurate, orthonormal set.
fn partial_leading<T: Scalar>(s: &ArrayView2<'_, T>, k: usize) -> Option<(Vec<T>, Array2<T>)> {
    let n = s.nrows();
    // faer's parallel tridiagonalization is slower than its sequential one at these sizes.
    let par = faer::Par::Seq;
    let mut trid = Mat::<T>::zeros(n, n);
    trid.copy_from_triangular_lower(s.into_faer());
    let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<T>(n, n);
    let mut reflectors = Mat::<T>::zeros(bs, n - 1);
    let mut buf = MemBuffer::new(StackReq::any_of(&[
        tridiag::tridiag_in_place_scratch::<T>(n, par, Default::default()),
        householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(
            n - 1,
            bs,
            k,
        ),
    ]));
    tridiag::tridiag_in_place(
        trid.as_mut(),
        reflectors.as_mut(),
        par,
        MemStack::new(&mut buf),
        Default::default(),
    );
    let diag: Vec<f64> = (0..n).map(|i| trid[(i, i)].as_f64()).collect();
    let off: Vec<f64> = (0..n - 1).map(|i| trid[(i + 1, i)].as_f64()).collect();
    let (values, z) = tridiagonal_leading(&diag, &off, k)?;

    // Back-transform: the eigenvectors of `s` are Q [z], Q the product of the reflectors
    // acting on rows 1..n (faer's `self_adjoint_evd` does the same for all n vectors).
    let mut u = Mat::<T>::from_fn(n, k, |i, j| T::from_f64(z[[i, j]]));
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        trid.as_ref().submatrix(1, 0, n - 1, n - 1),
        reflectors.as_ref(),
        Conj::No,
        u.as_mut().subrows_mut(1, n - 1),
        par_for(2.0 * (n * n * k) as f64),
        MemStack::new(&mut buf),
    );
    let vectors = u.as_ref().into_ndarray().to_owned();
    Some((values.iter().map(|&v| T::from_f64(v)).collect(), vectors))
}

/// The `k` largest eigenvalues (decreasing) and eigenvectors (`n x k`, orthonormal columns) of
/// the symmetric tridiagonal matrix with diagonal `diag` (`n`) and off-diagonal `off`
/// (`n - 1`), for `1 <= k <= n`; `None` if QL or inverse iteration did not converge to within
/// the residual and orthogonality checks, or the sizes do not fit.
pub fn tridiagonal_leading(diag: &[f64], off: &[f64], k: usize) -> Option<(Vec<f64>, Array2<f64>)> {
    let n = diag.len();
    if n == 0 || off.len() + 1 != n || k == 0 || k > n {
        return None;
    }
    // Work on the matrix scaled to unit max-norm: pivots and growth stay far from overflow.
    let scale = diag.iter().chain(off).fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        let values = vec![0.0; k];
        let vectors = Array2::from_shape_fn((n, k), |(i, j)| if i == j { 1.0 } else { 0.0 });
        return scale.is_finite().then_some((values, vectors));
    }
    let d: Vec<f64> = diag.iter().map(|v| v / scale).collect();
    let e: Vec<f64> = off.iter().map(|v| v / scale).collect();
    let wanted = if k <= n / 2 {
        leading_eigenvalues_by_bisection(&d, &e, k)
    } else {
        let mut all = tridiagonal_eigenvalues(&d, &e)?;
        all.sort_by(|a, b| b.total_cmp(a));
        all.truncate(k);
        all
    };
    let vectors = inverse_iteration(&d, &e, &wanted);
    if !accurate(&d, &e, &wanted, &vectors) {
        return None;
    }
    Some((wanted.iter().map(|v| v * scale).collect(), vectors))
}

/// Eigenvalues bisected side by side: the Sturm recurrence is a chain of dependent divisions,
/// so one eigenvalue at a time waits on each division's latency; this many run in step.
const BISECTION_LANES: usize = 16;

/// Halvings of the Gershgorin interval (width at most 4 for a matrix of unit max-norm) down
/// to the spacing of doubles near 1: the absolute accuracy QL reaches.
const BISECTION_STEPS: usize = 56;

/// The `k` largest eigenvalues (decreasing) of the tridiagonal `(diag, off)` of unit
/// max-norm, each by bisection on its Sturm count (LAPACK `dstebz`'s method). Costs
/// `O(k n)` where QL for all values costs `O(n^2)` with a longer chain per step.
fn leading_eigenvalues_by_bisection(diag: &[f64], off: &[f64], k: usize) -> Vec<f64> {
    let n = diag.len();
    let off2: Vec<f64> = off.iter().map(|v| v * v).collect();
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        let radius =
            if i > 0 { off[i - 1].abs() } else { 0.0 } + off.get(i).map_or(0.0, |v| v.abs());
        low = low.min(diag[i] - radius);
        high = high.max(diag[i] + radius);
    }
    // Room for the rounding of the recurrence at the ends.
    let pad = 4.0 * f64::EPSILON * (high - low).max(1.0);
    let (low, high) = (low - pad, high + pad);
    let mut values = Vec::with_capacity(k);
    for first in (0..k).step_by(BISECTION_LANES) {
        // Lane j finds the eigenvalue with `n - 1 - (first + j)` values below it.
        let mut index = [0usize; BISECTION_LANES];
        for (j, slot) in index.iter_mut().enumerate() {
            *slot = n - 1 - (first + j).min(k - 1);
        }
        let mut lo = [low; BISECTION_LANES];
        let mut hi = [high; BISECTION_LANES];
        for _ in 0..BISECTION_STEPS {
            let mut mid = [0.0; BISECTION_LANES];
            for j in 0..BISECTION_LANES {
                mid[j] = 0.5 * (lo[j] + hi[j]);
            }
            let below = sturm_counts(diag, &off2, &mid);
            for j in 0..BISECTION_LANES {
                if below[j] > index[j] {
                    hi[j] = mid[j];
                } else {
                    lo[j] = mid[j];
                }
            }
        }
        let lanes = BISECTION_LANES.min(k - first);
        // `hi` is the smallest point reached whose count includes the eigenvalue: an exactly
        // representable eigenvalue (a diagonal entry) comes back exactly.
        values.extend(hi.iter().take(lanes));
    }
    values
}

/// For each shift, the number of eigenvalues below it: the negative pivots of the `LDL^T` of
/// `T - shift I` (a zero pivot is replaced by a tiny negative one, as LAPACK does).
fn sturm_counts(
    diag: &[f64],
    off2: &[f64],
    shifts: &[f64; BISECTION_LANES],
) -> [usize; BISECTION_LANES] {
    const PIVMIN: f64 = f64::MIN_POSITIVE / f64::EPSILON;
    let pivot = |v: f64| if v.abs() < PIVMIN { -PIVMIN } else { v };
    let Some((&d0, rest)) = diag.split_first() else {
        return [0; BISECTION_LANES];
    };
    let mut q = shifts.map(|s| pivot(d0 - s));
    let mut below = q.map(|v| usize::from(v < 0.0));
    for (&d, &coupling) in rest.iter().zip(off2) {
        for j in 0..BISECTION_LANES {
            let next = pivot(d - shifts[j] - coupling / q[j]);
            below[j] += usize::from(next < 0.0);
            q[j] = next;
        }
    }
    below
}

/// All eigenvalues of a symmetric tridiagonal matrix (any order) by implicit QL with
/// Wilkinson shifts, no vectors; `None` if an eigenvalue takes more than 60 iterations.
fn tridiagonal_eigenvalues(diag: &[f64], off: &[f64]) -> Option<Vec<f64>> {
    let n = diag.len();
    let mut d = diag.to_vec();
    // e[i] couples i and i + 1; e[n - 1] = 0 closes the recurrence.
    let mut e = off.to_vec();
    e.push(0.0);
    for l in 0..n {
        let mut iterations = 0;
        loop {
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iterations += 1;
            if iterations > 60 {
                return None;
            }
            ql_step(&mut d, &mut e, l, m);
        }
    }
    Some(d)
}

/// One implicit QL step on the unreduced block `l..=m` (Numerical Recipes' `tqli`).
fn ql_step(d: &mut [f64], e: &mut [f64], l: usize, m: usize) {
    let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
    // The matrix is scaled to unit norm: plain square roots cannot overflow here.
    let mut r = (g * g + 1.0).sqrt();
    g = d[m] - d[l] + e[l] / (g + r.copysign(g));
    let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
    for i in (l..m).rev() {
        let f = s * e[i];
        let b = c * e[i];
        r = (f * f + g * g).sqrt();
        e[i + 1] = r;
        if r == 0.0 {
            // Underflow: the block splits here.
            d[i + 1] -= p;
            e[m] = 0.0;
            return;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
    }
    d[l] -= p;
    e[l] = g;
    e[m] = 0.0;
}

/// Eigenvectors for `values` (decreasing) by inverse iteration. Values closer than `1e-3` of
/// the norm form a cluster (LAPACK `dstein`'s rule) whose vectors are iterated as a block: each
/// column solved with its own shift, then the block orthonormalized by a Householder QR (the
/// Gram-Schmidt of `dstein` in one BLAS-3 step). Equal values are separated by a few ulps so
/// that each solve has its own shift.
fn inverse_iteration(d: &[f64], e: &[f64], values: &[f64]) -> Array2<f64> {
    let n = d.len();
    let k = values.len();
    let norm = d
        .iter()
        .zip(e.iter().chain(std::iter::once(&0.0)))
        .fold(0.0f64, |m, (a, b)| m.max(a.abs() + 2.0 * b.abs()));
    let cluster_gap = 1e-3 * norm;
    let separation = 10.0 * f64::EPSILON * norm;
    let mut shifts = values.to_vec();
    for j in 1..k {
        if shifts[j - 1] - shifts[j] < separation && values[j - 1] - values[j] <= cluster_gap {
            shifts[j] = shifts[j - 1] - separation;
        }
    }
    let mut vectors = Array2::<f64>::zeros((n, k));
    let mut start = 0;
    while start < k {
        let mut end = start + 1;
        while end < k && values[end - 1] - values[end] <= cluster_gap {
            end += 1;
        }
        let block = cluster_vectors(d, e, &shifts[start..end], separation, start);
        vectors
            .slice_mut(ndarray::s![.., start..end])
            .assign(&block.as_ref().into_ndarray());
        start = end;
    }
    vectors
}

/// Orthonormal vectors for one cluster of `shifts` by block inverse iteration.
fn cluster_vectors(d: &[f64], e: &[f64], shifts: &[f64], tiny: f64, seed: usize) -> Mat<f64> {
    let n = d.len();
    let m = shifts.len();
    let mut x = Mat::<f64>::zeros(n, m);
    for c in 0..m {
        start_vector(x.col_as_slice_mut(c), seed + c);
    }
    let lus: Vec<ShiftedLu> = shifts
        .iter()
        .map(|&s| ShiftedLu::new(d, e, s, tiny))
        .collect();
    for _ in 0..INVERSE_STEPS {
        for (c, lu) in lus.iter().enumerate() {
            let col = x.col_as_slice_mut(c);
            lu.solve(col);
            // Keep the block's scale bounded before the QR.
            let nrm = sum_of_squares(col).sqrt();
            if nrm > 0.0 && nrm.is_finite() {
                col.iter_mut().for_each(|v| *v /= nrm);
            }
        }
        x = orthonormal_columns(x);
    }
    x
}

/// The Q of a thin Householder QR.
fn orthonormal_columns(x: Mat<f64>) -> Mat<f64> {
    let m = x.ncols();
    if m == 1 {
        return x;
    }
    leading_q_columns(x, m)
}

/// Solves per eigenvector: one usually suffices when the shift is an accurate eigenvalue;
/// the others refine the vector and its orthogonality within a cluster.
const INVERSE_STEPS: usize = 2;

/// A deterministic start with components in every direction (a fixed pseudo-random sequence).
fn start_vector(x: &mut [f64], seed: usize) {
    let mut state = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    for v in x.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *v = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    }
}

/// LU factors with partial pivoting of the tridiagonal `T - shift I` (LAPACK's `dlagtf`):
/// `U` has two superdiagonals; zero pivots are replaced by `tiny`.
struct ShiftedLu {
    u0: Vec<f64>,
    u1: Vec<f64>,
    u2: Vec<f64>,
    multiplier: Vec<f64>,
    swapped: Vec<bool>,
}

impl ShiftedLu {
    fn new(d: &[f64], e: &[f64], shift: f64, tiny: f64) -> Self {
        let n = d.len();
        let mut lu = ShiftedLu {
            u0: vec![0.0; n],
            u1: vec![0.0; n],
            u2: vec![0.0; n],
            multiplier: vec![0.0; n],
            swapped: vec![false; n],
        };
        let mut diag = d[0] - shift;
        let mut sup = e.first().copied().unwrap_or(0.0);
        for i in 0..n - 1 {
            let below = e[i];
            let next_diag = d[i + 1] - shift;
            let next_sup = e.get(i + 1).copied().unwrap_or(0.0);
            if diag.abs() >= below.abs() {
                let m = if diag == 0.0 { 0.0 } else { below / diag };
                (lu.u0[i], lu.u1[i], lu.u2[i]) = (diag, sup, 0.0);
                lu.multiplier[i] = m;
                diag = next_diag - m * sup;
                sup = next_sup;
            } else {
                let m = diag / below;
                (lu.u0[i], lu.u1[i], lu.u2[i]) = (below, next_diag, next_sup);
                lu.multiplier[i] = m;
                lu.swapped[i] = true;
                diag = sup - m * next_diag;
                sup = -m * next_sup;
            }
        }
        lu.u0[n - 1] = diag;
        for p in lu.u0.iter_mut() {
            if p.abs() < tiny {
                *p = if *p < 0.0 { -tiny } else { tiny };
            }
        }
        lu
    }

    /// `x <- (T - shift I)^{-1} x`.
    fn solve(&self, x: &mut [f64]) {
        let n = x.len();
        for i in 0..n - 1 {
            if self.swapped[i] {
                x.swap(i, i + 1);
            }
            x[i + 1] -= self.multiplier[i] * x[i];
        }
        for i in (0..n).rev() {
            let mut v = x[i];
            if i + 1 < n {
                v -= self.u1[i] * x[i + 1];
            }
            if i + 2 < n {
                v -= self.u2[i] * x[i + 2];
            }
            x[i] = v / self.u0[i];
        }
    }
}

/// Whether `vectors` are orthonormal and `T v = lambda v` to within `sqrt(n) * 1e3 eps` of
/// the (unit) norm: what a backward-stable full solver would deliver, with margin.
fn accurate(d: &[f64], e: &[f64], values: &[f64], vectors: &Array2<f64>) -> bool {
    let n = d.len();
    let tol = 1e3 * f64::EPSILON * (n as f64).sqrt();
    for (j, &lambda) in values.iter().enumerate() {
        let v = vectors.column(j);
        let mut residual = 0.0;
        for i in 0..n {
            let mut tv = d[i] * v[i];
            if i > 0 {
                tv += e[i - 1] * v[i - 1];
            }
            if i + 1 < n {
                tv += e[i] * v[i + 1];
            }
            residual += (tv - lambda * v[i]).powi(2);
        }
        if residual.sqrt() > tol {
            return false;
        }
    }
    let gram = vectors.t().dot(vectors);
    gram.indexed_iter()
        .all(|((i, j), &g)| (g - if i == j { 1.0 } else { 0.0 }).abs() <= tol)
}
