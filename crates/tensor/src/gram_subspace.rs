//! The leading eigenpairs of a Gram matrix by subspace iteration, when its spectrum has a gap.
//!
//! A Gram matrix `G = M M^T` of data that is low rank plus noise has a few large eigenvalues
//! and a bulk far below them. Its `k` leading eigenvectors are then reached by a few products
//! `G V` with a block `V` of `k + p` columns (subspace iteration; the error shrinks by
//! `lambda_{k+p+1} / lambda_k` a step), far cheaper than reducing `G` to tridiagonal form
//! (`4/3 n^3` flops). The answer is accepted only when the Ritz pairs' residual
//! `||G U - U diag(theta)||_F` is below `100 eps ||G||_F`, the standard of the warm-started
//! HOOI updates; when the residual does not fall fast enough to get there within a few steps
//! (no gap at `k`), the caller takes the exact path. `G` must be positive semi-definite:
//! subspace iteration finds the eigenvalues largest in magnitude, which are then the largest.
//!
//! The start is a fixed pseudo-random block, so results repeat run to run. As with any
//! randomized range finder, a start nearly orthogonal to a leading eigenvector would delay it;
//! the oversampling makes that a probability far below rounding's effects.

use ndarray::{Array2, ArrayView2, s};

use crate::Scalar;
use crate::linalg::{matmul, sym_eigen, thin_qr};
use crate::norm::sum_of_squares;
use crate::random::{SeededRng, random_orthonormal};

/// Columns beyond `k` in the iterated block (at least this many, or `k / 4`).
const OVERSAMPLING: usize = 8;

/// Products `G V` at most; beyond, the exact solver is cheaper.
const MAX_STEPS: usize = 8;

/// Seed of the start block.
const START_SEED: u64 = 0x5EED_6A3E;

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
    let g_norm = match gram.as_slice() {
        Some(all) => sum_of_squares(all),
        None => gram.iter().map(|v| v.as_f64() * v.as_f64()).sum(),
    }
    .sqrt();
    let tol = (100.0 * T::epsilon().as_f64()).max(1e-12) * g_norm;
    let mut v = random_orthonormal::<T>(n, p, &mut SeededRng::new(START_SEED));
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
        let res = match r.as_slice() {
            Some(all) => sum_of_squares(all),
            None => r.iter().map(|v| v.as_f64() * v.as_f64()).sum(),
        }
        .sqrt();
        if res <= tol {
            return Some((theta[..k].to_vec(), u));
        }
        // Linear convergence at the rate seen so far must reach the bound in the steps left.
        let left = (MAX_STEPS - step - 1) as i32;
        let projected = res * (res / last).powi(left);
        if step >= 1 && (projected.is_nan() || projected > tol) {
            return None;
        }
        last = res;
        v = thin_qr(&w.view()).0;
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
