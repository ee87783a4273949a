use tnet_tensor::TensorError;

/// How the multilinear rank of a Tucker decomposition is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum TuckerRank {
    /// The same rank for every (decomposed) mode.
    Same(usize),
    /// One rank per (decomposed) mode.
    Ranks(Vec<usize>),
    /// Ranks that shrink the parameter count by about this factor (TensorLy's fractional
    /// rank rule with `rank = 1 / ratio`), see [`ranks_for_compression`].
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

/// TensorLy's fractional-rank rule (`validate_tucker_rank(shape, rank=1/ratio)`): find the
/// fraction `x` with `prod(I) x^N + sum(I_k^2) x = prod(I) / ratio` and take
/// `r_k = max(1, round(I_k x))` (at most `I_k`). The achieved ratio is close to, not exactly,
/// `ratio`: ranks are integers.
pub fn ranks_for_compression(shape: &[usize], ratio: f64) -> Result<Vec<usize>, TensorError> {
    if !(ratio.is_finite() && ratio > 0.0) {
        return Err(TensorError::Invalid(format!("compression ratio must be a positive number, got {ratio}")));
    }
    let n = shape.len() as i32;
    let n_param: f64 = shape.iter().map(|&s| s as f64).product();
    let squared: f64 = shape.iter().map(|&s| (s * s) as f64).sum();
    let target = n_param / ratio;
    let f = |x: f64| n_param * x.powi(n) + squared * x - target;
    // f is increasing on [0, inf), f(0) < 0; bracket and bisect (TensorLy uses brentq).
    let (mut lo, mut hi) = (0.0f64, (1.0 / ratio).max(1.0));
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
    Ok(shape.iter().map(|&s| ((s as f64 * x).round() as usize).clamp(1, s)).collect())
}
