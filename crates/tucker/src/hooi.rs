use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Axis, CowArray, IxDyn, Slice};
use rayon::prelude::*;
use tnet_tensor::linalg::{
    complete_orthonormal, leading_from_gram, leading_from_gram_warm, leading_mode_vectors,
    leading_mode_vectors_few_columns, matmul, mode_gram,
};
use tnet_tensor::random::{SeededRng, random_orthonormal};
use tnet_tensor::{
    Scalar, TensorError, check_mode, check_tensor_norm, contract_modes, frobenius_norm, mode_view,
};

use crate::{TuckerRank, TuckerTensor};

/// Where HOOI starts.
#[derive(Debug, Clone)]
pub enum TuckerInit<T> {
    /// Leading left singular vectors of each unfolding (HOSVD), TensorLy's `init='svd'`.
    Svd,
    /// Random orthonormal factors from this seed.
    Random { seed: u64 },
    /// These factors, one per decomposed mode (`I_k x r_k`, orthonormal columns).
    Factors(Vec<Array2<T>>),
}

/// Options of [`tucker`] and [`partial_tucker`]; defaults are TensorLy's.
#[derive(Debug, Clone)]
pub struct TuckerOptions<T> {
    pub init: TuckerInit<T>,
    /// Maximum number of HOOI sweeps (100).
    pub n_iter_max: usize,
    /// Stop when the relative error changes by less than this between sweeps (1e-4);
    /// 0 runs all `n_iter_max` sweeps.
    pub tol: f64,
    /// Modes whose factor keeps its initial value.
    pub fixed_factors: Vec<usize>,
}

impl<T> Default for TuckerOptions<T> {
    fn default() -> Self {
        Self {
            init: TuckerInit::Svd,
            n_iter_max: 100,
            tol: 1e-4,
            fixed_factors: Vec::new(),
        }
    }
}

/// Result of [`tucker`] / [`hosvd`].
#[derive(Debug, Clone)]
pub struct TuckerFit<T> {
    pub tucker: TuckerTensor<T>,
    /// Relative error after each sweep (one entry for HOSVD).
    pub errors: Vec<f64>,
    /// HOOI sweeps run (0 for HOSVD).
    pub iterations: usize,
    /// Whether the error settled within `tol` before `n_iter_max`.
    pub converged: bool,
}

/// Result of [`partial_tucker`]: the core keeps the full size on the modes not decomposed.
#[derive(Debug, Clone)]
pub struct PartialTucker<T> {
    pub core: ArrayD<T>,
    pub modes: Vec<usize>,
    pub factors: Vec<Array2<T>>,
    pub errors: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// Tucker decomposition by higher-order orthogonal iteration (HOOI), as TensorLy's `tucker`.
pub fn tucker<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: &TuckerRank,
    opts: &TuckerOptions<T>,
) -> Result<TuckerFit<T>, TensorError> {
    let modes: Vec<usize> = (0..x.ndim()).collect();
    let p = partial_tucker(x, &modes, rank, opts)?;
    Ok(TuckerFit {
        tucker: TuckerTensor::new(p.core, p.factors)?,
        errors: p.errors,
        iterations: p.iterations,
        converged: p.converged,
    })
}

/// Truncated higher-order SVD: the leading left singular vectors of every unfolding and the
/// projected core, no iteration.
pub fn hosvd<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: &TuckerRank,
) -> Result<TuckerFit<T>, TensorError> {
    rayon::scope(|_| hosvd_impl(x, rank))
}

fn hosvd_impl<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: &TuckerRank,
) -> Result<TuckerFit<T>, TensorError> {
    let norm_x = check_tensor_norm(x)?;
    let ranks = rank.resolve(x.shape())?;
    let x = x.as_standard_layout();
    let xv = x.view();
    let factors = (0..xv.ndim())
        .into_par_iter()
        .map(|m| Ok(leading_mode_vectors(&mode_view(&xv, m)?, ranks[m])?.0))
        .collect::<Result<Vec<_>, TensorError>>()?;
    let ops: Vec<_> = factors
        .iter()
        .enumerate()
        .map(|(m, f)| (m, f.view()))
        .collect();
    let core = contract_modes(&xv, &ops);
    let errors = vec![error_from_core(norm_x, &core)];
    Ok(TuckerFit {
        tucker: TuckerTensor::new(core, factors)?,
        errors,
        iterations: 0,
        converged: true,
    })
}

/// Tucker decomposition of the listed `modes` only (TensorLy's `partial_tucker`).
pub fn partial_tucker<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    modes: &[usize],
    rank: &TuckerRank,
    opts: &TuckerOptions<T>,
) -> Result<PartialTucker<T>, TensorError> {
    // Run on a worker of the thread pool: each fork-join inside then wakes one thread, not two.
    rayon::scope(|_| partial_tucker_impl(x, modes, rank, opts))
}

fn partial_tucker_impl<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    modes: &[usize],
    rank: &TuckerRank,
    opts: &TuckerOptions<T>,
) -> Result<PartialTucker<T>, TensorError> {
    let norm_x = check_tensor_norm(x)?;
    let order = x.ndim();
    let mut listed = vec![false; order];
    for &m in modes {
        check_mode(m, order)?;
        if std::mem::replace(&mut listed[m], true) {
            return Err(TensorError::Invalid(format!("mode {m} is listed twice")));
        }
    }
    let sizes: Vec<usize> = modes.iter().map(|&m| x.shape()[m]).collect();
    let ranks = rank.resolve(&sizes)?;
    let mut fixed = vec![false; modes.len()];
    for &f in &opts.fixed_factors {
        let Some(k) = modes.iter().position(|&m| m == f) else {
            return Err(TensorError::Invalid(format!(
                "fixed factor for mode {f}, which is not among the decomposed modes {modes:?}"
            )));
        };
        fixed[k] = true;
    }
    if opts.tol.is_nan() || opts.tol < 0.0 {
        return Err(TensorError::Invalid(format!(
            "tol must be >= 0, got {}",
            opts.tol
        )));
    }

    let x = x.as_standard_layout();
    let xv = x.view();
    let asked_ranks = ranks.clone();
    let ranks = if matches!(opts.init, TuckerInit::Svd) && opts.n_iter_max > 0 {
        let reducible: Vec<bool> = (0..modes.len())
            .map(|k| !fixed[k] && ranks[k] < sizes[k])
            .collect();
        usable_ranks(xv.shape(), modes, &ranks, &reducible)
    } else {
        ranks
    };

    // Modes at full rank are not contracted while iterating (any orthonormal basis of the
    // whole space projects identically); their factor is set once at the end.
    let active: Vec<usize> = (0..modes.len())
        .filter(|&k| asked_ranks[k] < sizes[k])
        .collect();
    let mut factors: Vec<Option<Array2<T>>> = vec![None; modes.len()];
    match &opts.init {
        TuckerInit::Svd => {
            // The first mode HOOI updates never reads its initial factor (its first update
            // contracts only the other modes), so that one is not computed.
            // (It must sit in the half updated first, whose products never involve it.)
            let first_half = &active[..active.len().div_ceil(2)];
            let first_updated = first_half
                .iter()
                .copied()
                .find(|&k| !fixed[k])
                .filter(|_| opts.n_iter_max > 0);
            // Independent per mode: the eigensolvers (sequential) run side by side.
            let found: Vec<(usize, Array2<T>)> = active
                .par_iter()
                .filter(|&&k| Some(k) != first_updated)
                .map(|&k| {
                    Ok((
                        k,
                        leading_mode_vectors(&mode_view(&xv, modes[k])?, ranks[k])?.0,
                    ))
                })
                .collect::<Result<_, TensorError>>()?;
            for (k, u) in found {
                factors[k] = Some(u);
            }
        }
        TuckerInit::Random { seed } => {
            let mut rng = SeededRng::new(*seed);
            for &k in &active {
                factors[k] = Some(random_orthonormal::<T>(sizes[k], ranks[k], &mut rng));
            }
        }
        TuckerInit::Factors(given) => {
            if given.len() != modes.len() {
                return Err(TensorError::RankCount {
                    what: "initial Tucker factors (one per decomposed mode)".into(),
                    expected: modes.len(),
                    got: given.len(),
                });
            }
            for (k, f) in given.iter().enumerate() {
                if f.dim() != (sizes[k], ranks[k]) {
                    return Err(TensorError::Shape {
                        what: format!("initial factor for mode {}", modes[k]),
                        expected: format!("{} x {}", sizes[k], ranks[k]),
                        got: format!("{} x {}", f.nrows(), f.ncols()),
                    });
                }
                factors[k] = Some(f.clone());
            }
        }
    }
    for k in (0..modes.len()).filter(|&k| fixed[k]) {
        let f = factors[k].clone().ok_or_else(|| {
            TensorError::Invalid(format!(
                "mode {} is fixed at full rank without a given factor: pass TuckerInit::Factors",
                modes[k]
            ))
        })?;
        check_orthonormal(&f.view(), modes[k])?;
        factors[k] = Some(f);
    }

    let mut errors = Vec::new();
    let mut iterations = 0;
    let mut converged = false;
    let updated: Vec<usize> = active.iter().copied().filter(|&k| !fixed[k]).collect();
    let mut core = if opts.n_iter_max == 0 || updated.is_empty() {
        let core = project(xv.view(), &active, modes, &factors, None).into_owned();
        errors.push(error_from_core(norm_x, &core));
        converged = true;
        core
    } else {
        // Two-level dimension tree: while the left half of the active modes is updated, the
        // right half is fixed, so `X` contracted with the right factors is computed once per
        // sweep (and vice versa): two products of the full tensor per sweep instead of one
        // per mode.
        let half = active.len().div_ceil(2);
        let (left, right) = active.split_at(half);
        let last_updated = *updated.last().expect("at least one mode is updated");
        let mut core = ArrayD::<T>::zeros(IxDyn(&[]));
        for sweep in 0..opts.n_iter_max {
            for (side, others) in [(left, right), (right, left)] {
                let partial = project(xv.view(), others, modes, &factors, None);
                for &k in side {
                    if fixed[k] {
                        continue;
                    }
                    let y = project(partial.view(), side, modes, &factors, Some(k));
                    let u = factor_update(&y.view(), modes[k], ranks[k], factors[k].as_ref())?;
                    if k == last_updated {
                        // Every other active mode is contracted in y with its current factor
                        // (the fixed ones after k included), so this is the sweep's core.
                        core = contract_modes(&y.view(), &[(modes[k], u.view())]);
                    }
                    factors[k] = Some(u);
                }
            }
            errors.push(error_from_core(norm_x, &core));
            iterations = sweep + 1;
            let n = errors.len();
            // TensorLy's rule: compare from the third sweep on.
            if sweep > 1 && opts.tol > 0.0 && (errors[n - 2] - errors[n - 1]).abs() < opts.tol {
                converged = true;
                break;
            }
        }
        core
    };

    // Modes computed at a lower usable rank: completed to the asked rank.
    for k in (0..modes.len()).filter(|&k| ranks[k] < asked_ranks[k]) {
        let u = factors[k].as_ref().expect("active factors are set");
        let u = complete_orthonormal(&u.view(), asked_ranks[k])?;
        core = pad_with_zeros(&core, modes[k], asked_ranks[k]);
        factors[k] = Some(u);
    }
    let ranks = asked_ranks;

    // Full-rank modes: TensorLy's factor there is the singular basis of the projected
    // unfolding, which is the eigenbasis of the core's Gram along that mode.
    for k in (0..modes.len()).filter(|&k| ranks[k] == sizes[k]) {
        let u = match &factors[k] {
            Some(f) if fixed[k] => f.clone(),
            _ => leading_mode_vectors(&mode_view(&core.view(), modes[k])?, ranks[k])?.0,
        };
        core = contract_modes(&core.view(), &[(modes[k], u.view())]);
        factors[k] = Some(u);
    }
    let factors: Vec<Array2<T>> = factors
        .into_iter()
        .map(|f| f.expect("every factor is set"))
        .collect();
    Ok(PartialTucker {
        core,
        modes: modes.to_vec(),
        factors,
        errors,
        iterations,
        converged,
    })
}

/// The ranks HOOI can use. Every product HOOI forms meets mode `k`'s factor only through
/// the `R_k` directions left by the other modes (the product of their ranks, or sizes for
/// modes not decomposed), so at most `R_k` of its columns carry anything of the fit: a larger
/// rank's other columns are an arbitrary orthonormal completion (as in TensorLy, whose SVD
/// completes them). Such a `reducible` mode is cut to `R_k`; the fit is computed at these ranks
/// and the factor completed after. At most one mode can exceed its `R_k` (two such modes `a`,
/// `b` would need `r_a > r_b r_rest >= r_b > r_a r_rest`), and cutting it leaves every other
/// `R_j >= r_j`, since the cut rank still holds `r_j` as a factor.
fn usable_ranks(
    shape: &[usize],
    modes: &[usize],
    ranks: &[usize],
    reducible: &[bool],
) -> Vec<usize> {
    let mut usable = ranks.to_vec();
    let total = shape
        .iter()
        .enumerate()
        .map(|(m, &size)| match modes.iter().position(|&d| d == m) {
            Some(k) => ranks[k],
            None => size,
        })
        .fold(1u128, |acc, r| acc.saturating_mul(r as u128));
    for k in (0..modes.len()).filter(|&k| reducible[k]) {
        // `total` is at most the tensor's element count: exact, and ranks are at least 1.
        let others = total / ranks[k] as u128;
        if others < ranks[k] as u128 {
            usable[k] = others as usize;
        }
    }
    usable
}

/// `core` with mode `mode` extended to `len` entries, the new ones zero.
fn pad_with_zeros<T: Scalar>(core: &ArrayD<T>, mode: usize, len: usize) -> ArrayD<T> {
    let mut shape = core.shape().to_vec();
    let old = shape[mode];
    shape[mode] = len;
    let mut out = ArrayD::<T>::zeros(IxDyn(&shape));
    out.slice_axis_mut(Axis(mode), Slice::from(..old))
        .assign(core);
    out
}

/// The new factor of `mode`: the leading `rank` left singular vectors of `y`'s unfolding,
/// from its few columns when it has at most half as many as rows, else from the `I x I` Gram
/// (warm-started from the previous factor when there is one).
fn factor_update<T: Scalar>(
    y: &ArrayViewD<'_, T>,
    mode: usize,
    rank: usize,
    prev: Option<&Array2<T>>,
) -> Result<Array2<T>, TensorError> {
    let view = mode_view(y, mode)?;
    let (a, i, b) = view.dim();
    // Far fewer columns than rows: the small Gram is much cheaper than the warm-started
    // I x I one (with nearly as many columns it is not: its eigensolver starts cold).
    if 2 * a * b <= i
        && let Some(u) = leading_mode_vectors_few_columns(&view, rank)?
    {
        return Ok(u);
    }
    let gram = mode_gram(&view);
    Ok(match prev {
        Some(prev) => leading_from_gram_warm(&gram.view(), rank, &prev.view())?.0,
        None => leading_from_gram(&gram.view(), rank)?.0,
    })
}

/// `base` contracted with `U_k^T` on every listed mode `k in set` except `skip`; borrows
/// `base` when there is nothing to contract.
fn project<'a, T: Scalar>(
    base: ArrayViewD<'a, T>,
    set: &[usize],
    modes: &[usize],
    factors: &[Option<Array2<T>>],
    skip: Option<usize>,
) -> CowArray<'a, T, IxDyn> {
    let ops: Vec<(usize, ArrayView2<'_, T>)> = set
        .iter()
        .filter(|&&k| Some(k) != skip)
        .map(|&k| {
            (
                modes[k],
                factors[k].as_ref().expect("active factors are set").view(),
            )
        })
        .collect();
    if ops.is_empty() {
        CowArray::from(base)
    } else {
        CowArray::from(contract_modes(&base, &ops))
    }
}

/// `||X - X_hat|| / ||X||` for orthonormal factors: `sqrt(||X||^2 - ||core||^2) / ||X||`.
fn error_from_core<T: Scalar>(norm_x: f64, core: &ArrayD<T>) -> f64 {
    if norm_x == 0.0 {
        return 0.0;
    }
    let nc = frobenius_norm(&core.view());
    ((norm_x * norm_x - nc * nc).abs()).sqrt() / norm_x
}

fn check_orthonormal<T: Scalar>(u: &ArrayView2<'_, T>, mode: usize) -> Result<(), TensorError> {
    let g = matmul(u.t(), u.view());
    let tol = (T::epsilon().as_f64()).sqrt() * 10.0;
    for ((i, j), v) in g.indexed_iter() {
        let target = if i == j { 1.0 } else { 0.0 };
        if (v.as_f64() - target).abs() > tol {
            return Err(TensorError::Invalid(format!(
                "the fixed factor of mode {mode} must have orthonormal columns (U^T U = I), \
                 but entry ({i}, {j}) of U^T U is {v}"
            )));
        }
    }
    Ok(())
}
