//! The leading eigenpairs of a Gram matrix by subspace iteration, when its spectrum has a gap.
//!
//! A Gram matrix `G = M M^T` of data that is low rank plus noise has a few large eigenvalues
//! and a bulk far below them. Its `k` leading eigenvectors are then reached by a few products
//! `G V` with a block `V` of `p = k + max(8, k / 4)` columns (subspace iteration; the error
//! shrinks by `lambda_{p+1} / lambda_k` a step), far cheaper than reducing `G` to tridiagonal form
//! (`4/3 n^3` flops). The answer is accepted only when the Ritz pairs' residual
//! `||G U - U diag(theta)||_F` is below `100 eps ||G||_F`, the standard of the warm-started
//! HOOI updates. The attempt stops, and the caller takes the exact path, as soon as the bound
//! is out of reach within a few steps: at the first Ritz step from a bound on the rate (the
//! trace left beyond the first `k` Ritz values, spread over the next `p - k + 1` eigenvalues,
//! over `theta_k`), later from the residual's observed decrease. `G` must be positive
//! semi-definite: subspace iteration finds the eigenvalues largest in magnitude, which are then
//! the largest.
//!
//! The start is a fixed dense pseudo-random block, so results repeat run to run. As with any
//! randomized range finder, a start with no component along a leading eigenvector would miss
//! it; a dense pseudo-random block has such components for all but a measure-zero set of
//! matrices.

use ndarray::{Array2, ArrayView2, s};

use faer_ext::{IntoFaer, IntoNdarray};

use crate::linalg::{leading_q_columns, matmul, sym_eigen};
use crate::random::SeededRng;
use crate::{Scalar, frobenius_norm};

/// Columns beyond `k` in the iterated block (at least this many, or `k / 4`).
const OVERSAMPLING: usize = 8;

/// Products `G V` at most; beyond, the exact solver is cheaper.
const MAX_STEPS: usize = 8;

/// Seed of the start block.
const START_SEED: u64 = 0x5EED_6A3E;

/// A fixed block of uniform pseudo-random entries in `[-1/2, 1/2)`: any block with components
/// along every eigenvector serves (uniform draws skip the normal draws' logarithms).
fn start_block<T: Scalar>(n: usize, p: usize) -> Array2<T> {
    let mut rng = SeededRng::new(START_SEED);
    Array2::from_shape_simple_fn((n, p), || T::from_f64(rng.range(-0.5, 0.5)))
}

/// The `Q` of a thin Householder QR (`leading_q_columns`: factored on one thread, as the
/// tridiagonal solver's blocks).
fn orthonormal_columns<T: Scalar>(x: &Array2<T>) -> Array2<T> {
    let q = leading_q_columns(x.view().into_faer().to_owned(), x.ncols());
    q.as_ref().into_ndarray().to_owned()
}

/// The `k` leading eigenpairs (values decreasing, vectors `n x k` orthonormal) of the positive
/// semi-definite `gram`, or `None` when subspace iteration does not reach the residual bound
/// (then nothing is lost but the steps taken, which stop early once the observed rate shows
/// the bound out of reach).
pub(crate) fn gram_leading_by_subspace<T: Scalar>(
    gram: &ArrayView2<'_, T>,
    k: usize,
) -> Option<(Vec<T>, Array2<T>)> {
    let n = gram.nrows();
    let p = (k + OVERSAMPLING.max(k / 4)).min(n);
    if k == 0 || k >= p {
        return None;
    }
    let g_norm = frobenius_norm(&gram.view().into_dyn());
    let tol = (100.0 * T::epsilon().as_f64()).max(1e-12) * g_norm;
    let trace: f64 = (0..n).map(|i| gram[[i, i]].as_f64()).sum();
    // One product before the first Ritz step: its values then already show a gap if there is one.
    let mut v = orthonormal_columns(&matmul(gram.view(), start_block::<T>(n, p).view()));
    let mut last = f64::INFINITY;
    for step in 0..MAX_STEPS {
        let w = matmul(gram.view(), v.view());
        let (theta, q) = sym_eigen(&matmul(v.t(), w.view()).view()).ok()?;
        let qk = q.slice(s![.., ..k]);
        let u = matmul(v.view(), qk);
        let mut r = matmul(w.view(), qk);
        for (j, mut col) in r.columns_mut().into_iter().enumerate() {
            col.scaled_add(-theta[j], &u.column(j));
        }
        let res = frobenius_norm(&r.view().into_dyn());
        if res <= tol {
            return Some((theta[..k].to_vec(), u));
        }
        let rate = if step == 0 {
            // Ritz values are below the eigenvalues, so the mass left beyond the first `k`,
            // spread over the next `p - k + 1`, bounds `lambda_{p+1}` from above.
            let beyond = trace - theta[..k].iter().map(|t| t.as_f64()).sum::<f64>();
            beyond / ((p - k + 1) as f64 * theta[k - 1].as_f64())
        } else {
            res / last
        };
        // Linear convergence at that rate must reach the bound in the steps left.
        let projected = res * rate.powi((MAX_STEPS - step - 1) as i32);
        if projected.is_nan() || projected > tol {
            return None;
        }
        last = res;
        v = orthonormal_columns(&w);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::random_matrix;

    /// `M M^T` with `M = L R + noise * E`: a rank-`signal` Gram and a bulk far below it.
    fn low_rank_gram(n: usize, signal: usize, noise: f64, seed: u64) -> Array2<f64> {
        let mut rng = SeededRng::new(seed);
        let cols = n + 10;
        let mut m = matmul(
            random_matrix::<f64>(n, signal, &mut rng).view(),
            random_matrix::<f64>(signal, cols, &mut rng).view(),
        );
        m.scaled_add(noise, &random_matrix::<f64>(n, cols, &mut rng));
        matmul(m.view(), m.t())
    }

    fn projector_gap(v: &Array2<f64>, w: &Array2<f64>) -> f64 {
        let d = matmul(v.view(), v.t()) - matmul(w.view(), w.t());
        d.iter().fold(0.0f64, |m, x| m.max(x.abs()))
    }

    #[test]
    fn a_gapped_gram_gives_the_exact_leading_pairs() {
        for (n, k) in [(200, 1), (150, 12), (120, 30)] {
            let g = low_rank_gram(n, k, 1e-3, n as u64);
            let (values, vectors) = gram_leading_by_subspace(&g.view(), k).expect("converges");
            let (all, exact) = sym_eigen(&g.view()).unwrap();
            for (got, want) in values.iter().zip(&all) {
                assert!(
                    (got - want).abs() <= 1e-12 * all[0],
                    "{n} {k}: {got} vs {want}"
                );
            }
            let exact = exact.slice(s![.., ..k]).to_owned();
            assert!(projector_gap(&vectors, &exact) < 1e-9, "{n} {k}");
        }
    }

    #[test]
    fn no_gap_at_k_is_left_to_the_exact_solver() {
        // A Gram of pure noise: its eigenvalues crowd together, subspace iteration crawls.
        let g = low_rank_gram(160, 1, 1.0, 7);
        assert!(gram_leading_by_subspace(&g.view(), 20).is_none());
    }
}
