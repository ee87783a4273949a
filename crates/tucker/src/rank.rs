use tnet_tensor::TensorError;

/// How the multilinear rank of a Tucker decomposition is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum TuckerRank {
    /// The same rank for every (decomposed) mode.
    Same(usize),
    /// One rank per (decomposed) mode.
    Ranks(Vec<usize>),
    /// TensorLy's fractional rank (`rank=0.25` in TensorLy): keep about this fraction of the
    /// parameters, by TensorLy's rule exactly (see [`tensorly_fraction_ranks`]). Small modes
    /// cannot shrink much, so the achieved compression can fall well short of `1 / fraction`.
    Fraction(f64),
    /// At least this compression ratio (`prod(I) / n_params >= ratio`), as close to it as
    /// integer ranks allow (see [`ranks_for_compression`]).
    Compression(f64),
}

impl TuckerRank {
    /// The per-mode ranks for a tensor (or the decomposed modes of it) of `shape`, checked:
    /// every rank in `1..=I_k`.
    pub fn resolve(&self, shape: &[usize]) -> Result<Vec<usize>, TensorError> {
        let ranks = match self {
            TuckerRank::Same(r) => vec![*r; shape.len()],
            TuckerRank::Ranks(r) => {
                if r.len() != shape.len() {
                    return Err(TensorError::RankCount {
                        what: format!("a Tucker decomposition of {} modes {shape:?}", shape.len()),
                        expected: shape.len(),
                        got: r.len(),
                    });
                }
                r.clone()
            }
            TuckerRank::Fraction(f) => tensorly_fraction_ranks(shape, *f)?,
            TuckerRank::Compression(ratio) => ranks_for_compression(shape, *ratio)?,
        };
        for (mode, (&r, &i)) in ranks.iter().zip(shape).enumerate() {
            if r == 0 || r > i {
                return Err(TensorError::BadRank {
                    mode,
                    rank: r,
                    allowed: format!("mode {mode} has size {i}, so its rank must be in 1..={i}"),
                });
            }
        }
        Ok(ranks)
    }
}

/// TensorLy's fractional-rank rule (`validate_tucker_rank(shape, rank=fraction)`): find `x`
/// with `prod(I) x^N + sum(I_k^2) x = fraction prod(I)` and take `r_k = max(1, round(I_k x))`.
pub fn tensorly_fraction_ranks(shape: &[usize], fraction: f64) -> Result<Vec<usize>, TensorError> {
    if !(fraction.is_finite() && fraction > 0.0) {
        return Err(TensorError::Invalid(format!(
            "the fraction of parameters must be a positive number, got {fraction}"
        )));
    }
    let n = shape.len() as i32;
    let n_param: f64 = shape.iter().map(|&s| s as f64).product();
    let squared: f64 = shape.iter().map(|&s| (s * s) as f64).sum();
    let f = |x: f64| n_param * x.powi(n) + squared * x - fraction * n_param;
    // f is increasing on [0, inf) with f(0) < 0: bisect (TensorLy uses brentq on [0, max(fraction, 1)]).
    let (mut lo, mut hi) = (0.0f64, fraction.max(1.0));
    while f(hi) < 0.0 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let x = 0.5 * (lo + hi);
    Ok(shape
        .iter()
        .map(|&s| ((s as f64 * x).round() as usize).clamp(1, s))
        .collect())
}

/// Tucker parameters `prod(r) + sum(I_k r_k)`.
pub fn tucker_params(shape: &[usize], ranks: &[usize]) -> usize {
    ranks.iter().product::<usize>() + shape.iter().zip(ranks).map(|(i, r)| i * r).sum::<usize>()
}

/// FLOPs of a Tucker reconstruction by mode products from the core, least expanding first (as
/// `tnet-tensor` orders them).
pub fn tucker_flops(shape: &[usize], ranks: &[usize]) -> f64 {
    let shape: Vec<f64> = shape.iter().map(|&v| v as f64).collect();
    let mut cur: Vec<f64> = ranks.iter().map(|&r| r as f64).collect();
    let mut order: Vec<usize> = (0..shape.len()).collect();
    order.sort_by(|&a, &b| (shape[a] / cur[a]).total_cmp(&(shape[b] / cur[b])));
    let mut flops = 0.0;
    for m in order {
        let size: f64 = cur.iter().product();
        flops += 2.0 * size * shape[m];
        cur[m] = shape[m];
    }
    flops
}

/// Ranks for at least the compression `ratio`, as close to it as integer ranks allow: first
/// `r_k = max(1, round(I_k x))` (TensorLy's shape of rule) with the largest common `x` within
/// the parameter budget, then single ranks grown (the one lowest relative to its mode first)
/// while the budget allows. Errors when even rank 1 everywhere is not compressed enough,
/// saying what is reachable.
pub fn ranks_for_compression(shape: &[usize], ratio: f64) -> Result<Vec<usize>, TensorError> {
    let (budget, total) = tnet_tensor::compression_budget(shape, ratio)?;
    let ranks_at = |x: f64| -> Vec<usize> {
        shape
            .iter()
            .map(|&s| ((s as f64 * x).round() as usize).clamp(1, s))
            .collect()
    };
    let ones = vec![1; shape.len()];
    if tucker_params(shape, &ones) as f64 > budget {
        let best = total / tucker_params(shape, &ones) as f64;
        return Err(TensorError::Invalid(format!(
            "compression {ratio} is out of reach for shape {shape:?}: rank 1 everywhere gives {best:.2}x"
        )));
    }
    // The parameter count is a non-decreasing step function of x: bisect for the last x in budget.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if tucker_params(shape, &ranks_at(mid)) as f64 <= budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // The common fraction moves small modes in big steps; then grow single ranks, the one
    // furthest below its share first, while the budget allows.
    let mut ranks = ranks_at(lo);
    loop {
        let mut order: Vec<usize> = (0..shape.len()).filter(|&k| ranks[k] < shape[k]).collect();
        order.sort_by(|&a, &b| {
            let fa = (ranks[a] + 1) as f64 / shape[a] as f64;
            let fb = (ranks[b] + 1) as f64 / shape[b] as f64;
            fa.total_cmp(&fb)
        });
        let grown = order.into_iter().find(|&k| {
            let mut trial = ranks.clone();
            trial[k] += 1;
            tucker_params(shape, &trial) as f64 <= budget
        });
        match grown {
            Some(k) => ranks[k] += 1,
            None => return Ok(ranks),
        }
    }
}
