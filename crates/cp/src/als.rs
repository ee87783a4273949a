use ndarray::{Array1, Array2, ArrayView2, ArrayViewD};
use rayon::prelude::*;
use tnet_tensor::linalg::{leading_mode_vectors, matmul, solve_sym_right};
use tnet_tensor::numpy_random::NumpyRandomState;
use tnet_tensor::{
    RankAxis, RankContractionPlan, Scalar, TensorError, check_tensor_norm, mode_view, mttkrp,
    rank_matrix,
};

use crate::CpTensor;

/// Where CP-ALS starts.
#[derive(Debug, Clone)]
pub enum CpInit<T> {
    /// Leading left singular vectors of each unfolding, the first scaled by the singular
    /// values; columns beyond `I_k` uniform random from [`ParafacOptions::seed`] (TensorLy's
    /// `init='svd'`).
    Svd,
    /// Uniform `[0, 1)` factors from this seed (TensorLy's `init='random'`; the same factors as
    /// its `random_state=seed`).
    Random { seed: u64 },
    /// This CP tensor (its rank must match).
    Given(CpTensor<T>),
}

/// Options of [`parafac`]; defaults are TensorLy's.
#[derive(Debug, Clone)]
pub struct ParafacOptions<T> {
    pub init: CpInit<T>,
    /// Maximum number of ALS sweeps (100).
    pub n_iter_max: usize,
    /// Stop when the relative error changes by less than this between sweeps (1e-8);
    /// 0 runs all sweeps.
    pub tol: f64,
    /// Ridge term added to every normal equation (0).
    pub l2_reg: f64,
    /// Keep unit-norm factor columns with the scale in the weights (false).
    pub normalize_factors: bool,
    /// Modes whose factor keeps its initial value.
    pub fixed_modes: Vec<usize>,
    /// Extrapolation line search (Bro), as TensorLy's `linesearch=True` (false).
    pub linesearch: bool,
    /// Seed for the random columns of the SVD init when the rank exceeds a mode's size. The
    /// draws are NumPy's `RandomState(seed).random_sample`, as TensorLy's `random_state=seed`
    /// makes them: the same seed starts both tools from the same factors.
    pub seed: u64,
}

impl<T> Default for ParafacOptions<T> {
    fn default() -> Self {
        Self {
            init: CpInit::Svd,
            n_iter_max: 100,
            tol: 1e-8,
            l2_reg: 0.0,
            normalize_factors: false,
            fixed_modes: Vec::new(),
            linesearch: false,
            seed: 0,
        }
    }
}

/// Result of [`parafac`].
#[derive(Debug, Clone)]
pub struct CpFit<T> {
    pub cp: CpTensor<T>,
    /// Relative error after each sweep.
    pub errors: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// CP decomposition by alternating least squares (TensorLy's `parafac`).
///
/// Each sweep costs two GEMMs over the tensor (a two-level dimension tree: the modes of one
/// half share the tensor contracted with the other half's factors), and the error comes from
/// the last MTTKRP without rebuilding the tensor.
pub fn parafac<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: usize,
    opts: &ParafacOptions<T>,
) -> Result<CpFit<T>, TensorError> {
    // Run on a worker of the thread pool: each fork-join inside then wakes one thread, not two.
    rayon::scope(|_| parafac_impl(x, rank, opts))
}

fn parafac_impl<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: usize,
    opts: &ParafacOptions<T>,
) -> Result<CpFit<T>, TensorError> {
    let norm_x = check_tensor_norm(x)?;
    let order = x.ndim();
    if order < 2 {
        return Err(TensorError::Invalid(
            "CP decomposition needs a tensor of at least 2 modes (a vector is its own rank-1 CP)"
                .into(),
        ));
    }
    if rank == 0 {
        return Err(TensorError::BadRank {
            mode: 0,
            rank,
            allowed: "the CP rank must be at least 1".into(),
        });
    }
    if opts.tol.is_nan() || opts.tol < 0.0 || opts.l2_reg.is_nan() || opts.l2_reg < 0.0 {
        return Err(TensorError::Invalid(format!(
            "tol and l2_reg must be >= 0, got {} and {}",
            opts.tol, opts.l2_reg
        )));
    }
    let mut fixed = vec![false; order];
    for &m in &opts.fixed_modes {
        tnet_tensor::check_mode(m, order)?;
        fixed[m] = true;
    }
    let x = x.as_standard_layout();
    let xv = x.view();

    let (mut weights, mut factors) = initialize(&xv, rank, opts)?;
    let mut grams: Vec<Array2<T>> = factors.iter().map(|f| matmul(f.t(), f.view())).collect();
    let all_axes: Vec<RankAxis> = (0..order).map(RankAxis::Mode).collect();
    let half = order.div_ceil(2);
    let (left, right): (Vec<usize>, Vec<usize>) = ((0..half).collect(), (half..order).collect());
    // Contraction plans (with their buffers) made once: the same contractions run every sweep.
    let sides = [(&left, &right), (&right, &left)];
    let mut outer: Vec<RankContractionPlan<T>> = sides
        .iter()
        .map(|(_, other)| RankContractionPlan::new(xv.shape(), &all_axes, other, rank))
        .collect();
    let mut inner: Vec<Vec<RankContractionPlan<T>>> = sides
        .iter()
        .zip(&outer)
        .map(|((side, _), plan)| {
            side.iter()
                .map(|&k| {
                    let rest: Vec<usize> = side.iter().copied().filter(|&j| j != k).collect();
                    RankContractionPlan::new(plan.shape(), plan.axes(), &rest, rank)
                })
                .collect()
        })
        .collect();
    let l2 = T::from_f64(opts.l2_reg);

    let mut errors: Vec<f64> = Vec::new();
    let mut iterations = 0;
    let mut converged = false;
    let mut acc_pow = 2.0f64;
    let mut acc_fail = 0;
    let mut last_state: Option<(Array1<T>, Vec<Array2<T>>)> = None;
    if fixed.iter().all(|&f| f) || opts.n_iter_max == 0 {
        let m = mttkrp(&xv, &views(&factors), order - 1)?;
        errors.push(error_from_mttkrp(
            norm_x,
            &weights,
            &factors,
            &grams,
            order - 1,
            &m,
        ));
    }
    for it in 0..opts.n_iter_max {
        if fixed.iter().all(|&f| f) {
            break;
        }
        if opts.linesearch && it % 2 == 0 {
            last_state = Some((weights.clone(), factors.clone()));
        }
        let mut last: Option<(usize, Array2<T>)> = None;
        for (s, (side, _)) in sides.iter().enumerate() {
            if side.iter().all(|&k| fixed[k]) {
                continue;
            }
            let partial = outer[s].run(xv.view(), &views(&factors));
            for (j, &k) in side.iter().enumerate() {
                if fixed[k] {
                    continue;
                }
                let plan = &mut inner[s][j];
                let axes = plan.axes().to_vec();
                let m = rank_matrix(&plan.run(partial.view(), &views(&factors)), &axes);
                let mut v = hadamard_except(&grams, k, rank);
                for r in 0..rank {
                    v[[r, r]] += l2;
                }
                let b = solve_sym_right(&m.view(), &v.view())?;
                let (w, u) = split_scale(b, opts.normalize_factors);
                weights = w;
                grams[k] = matmul(u.t(), u.view());
                factors[k] = u;
                last = Some((k, m));
            }
        }
        let (k, m) = last.expect("a mode was updated");
        let mut err = error_from_mttkrp(norm_x, &weights, &factors, &grams, k, &m);
        if opts.linesearch && it % 2 == 0 && it > 5 {
            let (w_last, f_last) = last_state.as_ref().expect("saved on even sweeps");
            let jump = T::from_f64((it as f64).powf(1.0 / acc_pow));
            let w_new = w_last + &((&weights - w_last) * jump);
            let f_new: Vec<Array2<T>> = f_last
                .iter()
                .zip(&factors)
                .map(|(a, b)| a + &((b - a) * jump))
                .collect();
            let g_new: Vec<Array2<T>> = f_new.iter().map(|f| matmul(f.t(), f.view())).collect();
            let m_new = mttkrp(&xv, &views(&f_new), k)?;
            let err_new = error_from_mttkrp(norm_x, &w_new, &f_new, &g_new, k, &m_new);
            if errors.last().is_some_and(|&prev| err_new < prev) {
                (weights, factors, grams, err) = (w_new, f_new, g_new, err_new);
                acc_fail = 0;
            } else {
                acc_fail += 1;
                if acc_fail == 4 {
                    acc_pow += 1.0;
                    acc_fail = 0;
                }
            }
        }
        errors.push(err);
        iterations = it + 1;
        let n = errors.len();
        if opts.tol > 0.0 && n >= 2 && (errors[n - 2] - errors[n - 1]).abs() < opts.tol {
            converged = true;
            break;
        }
    }
    let mut cp = CpTensor::new(weights, factors)?;
    if opts.normalize_factors {
        cp.normalize();
    }
    Ok(CpFit {
        cp,
        errors,
        iterations,
        converged,
    })
}

fn views<T: Scalar>(factors: &[Array2<T>]) -> Vec<ArrayView2<'_, T>> {
    factors.iter().map(|f| f.view()).collect()
}

fn initialize<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: usize,
    opts: &ParafacOptions<T>,
) -> Result<(Array1<T>, Vec<Array2<T>>), TensorError> {
    let shape = x.shape();
    match &opts.init {
        CpInit::Svd => {
            let mut rng = NumpyRandomState::new(opts.seed);
            let mut factors = Vec::with_capacity(shape.len());
            // The modes' eigenproblems are independent: solve them side by side.
            let leading: Vec<(Array2<T>, Vec<T>)> = (0..shape.len())
                .into_par_iter()
                .map(|m| leading_mode_vectors(&mode_view(x, m)?, rank.min(shape[m])))
                .collect::<Result<_, TensorError>>()?;
            for ((m, &size), (u, s)) in shape.iter().enumerate().zip(leading) {
                let k = rank.min(size);
                let mut f = Array2::<T>::zeros((size, rank));
                f.slice_mut(ndarray::s![.., ..k]).assign(&u);
                if m == 0 {
                    // Same scale as the tensor, as TensorLy does.
                    for (r, &sr) in s.iter().enumerate() {
                        f.column_mut(r).mapv_inplace(|v| v * sr);
                    }
                }
                // Row by row, as NumPy fills its `(I_k, rank - I_k)` sample.
                for mut row in f.rows_mut() {
                    for v in row.iter_mut().skip(k) {
                        *v = T::from_f64(rng.random_sample());
                    }
                }
                factors.push(f);
            }
            Ok((Array1::from_elem(rank, T::one()), factors))
        }
        CpInit::Random { seed } => {
            let mut rng = NumpyRandomState::new(*seed);
            let factors = shape
                .iter()
                .map(|&i| {
                    Array2::from_shape_simple_fn((i, rank), || T::from_f64(rng.random_sample()))
                })
                .collect();
            Ok((Array1::from_elem(rank, T::one()), factors))
        }
        CpInit::Given(cp) => {
            if cp.rank() != rank || cp.shape() != shape {
                return Err(TensorError::Shape {
                    what: "initial CP tensor".into(),
                    expected: format!("rank {rank}, shape {shape:?}"),
                    got: format!("rank {}, shape {:?}", cp.rank(), cp.shape()),
                });
            }
            Ok((cp.weights.clone(), cp.factors.clone()))
        }
    }
}

/// Hadamard product of all Gram matrices but `skip`'s.
fn hadamard_except<T: Scalar>(grams: &[Array2<T>], skip: usize, rank: usize) -> Array2<T> {
    let mut v = Array2::<T>::from_elem((rank, rank), T::one());
    for (k, g) in grams.iter().enumerate() {
        if k != skip {
            v *= g;
        }
    }
    v
}

/// Splits the solved `U_k diag(w)` into weights and factor.
fn split_scale<T: Scalar>(mut b: Array2<T>, normalize: bool) -> (Array1<T>, Array2<T>) {
    let rank = b.ncols();
    let mut w = Array1::from_elem(rank, T::one());
    if normalize {
        for (r, mut col) in b.columns_mut().into_iter().enumerate() {
            let norm = col.iter().map(|v| *v * *v).sum::<T>().sqrt();
            if norm > T::zero() {
                col.mapv_inplace(|v| v / norm);
                w[r] = norm;
            }
        }
    }
    (w, b)
}

/// `||X - X_hat|| / ||X||` from `M = mttkrp(X, factors, k)`:
/// `||X||^2 - 2 <X, X_hat> + ||X_hat||^2` with `<X, X_hat> = sum_r w_r (M ∘ U_k)[:, r]` and
/// `||X_hat||^2 = w^T (∘_j G_j) w`.
fn error_from_mttkrp<T: Scalar>(
    norm_x: f64,
    weights: &Array1<T>,
    factors: &[Array2<T>],
    grams: &[Array2<T>],
    k: usize,
    m: &Array2<T>,
) -> f64 {
    let rank = weights.len();
    let mut iprod = 0.0f64;
    for r in 0..rank {
        let col: f64 = m
            .column(r)
            .iter()
            .zip(factors[k].column(r))
            .map(|(a, b)| a.as_f64() * b.as_f64())
            .sum();
        iprod += weights[r].as_f64() * col;
    }
    let mut norm_hat = 0.0f64;
    for r in 0..rank {
        for s in 0..rank {
            let g: f64 = grams.iter().map(|gj| gj[[r, s]].as_f64()).product();
            norm_hat += weights[r].as_f64() * weights[s].as_f64() * g;
        }
    }
    let err2 = norm_x * norm_x - 2.0 * iprod + norm_hat;
    if norm_x == 0.0 {
        err2.max(0.0).sqrt()
    } else {
        err2.max(0.0).sqrt() / norm_x
    }
}
