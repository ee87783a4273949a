//! Parameter counts, reconstruction cost, rank limits and ranks for a compression ratio.

use tnet_tensor::TensorError;

/// TT parameters `sum_k r_{k-1} I_k r_k` for ranks `(1, r_1, .., r_{N-1}, 1)`.
pub fn tt_params(shape: &[usize], ranks: &[usize]) -> usize {
    (0..shape.len())
        .map(|k| ranks[k] * shape[k] * ranks[k + 1])
        .sum()
}

/// FLOPs of a TT reconstruction, contracting the cores left to right.
pub fn tt_flops(shape: &[usize], ranks: &[usize]) -> f64 {
    let mut rows = shape[0] as f64;
    let mut flops = 0.0;
    for k in 1..shape.len() {
        flops += 2.0 * rows * ranks[k] as f64 * shape[k] as f64 * ranks[k + 1] as f64;
        rows *= shape[k] as f64;
    }
    flops
}

/// The largest rank allowed at bond `k` (`1..N`): `min(prod I_{<k}, prod I_{>=k})`.
pub fn max_rank(shape: &[usize], k: usize) -> usize {
    let left: usize = shape[..k].iter().product();
    let right: usize = shape[k..].iter().product();
    left.min(right)
}

/// Ranks `(1, r, .., r, 1)` with each inner rank clamped to what the tensor allows there (as
/// TensorLy clamps).
pub fn uniform_ranks(shape: &[usize], r: usize) -> Vec<usize> {
    let n = shape.len();
    let mut ranks = vec![1; n + 1];
    for (k, rank) in ranks.iter_mut().enumerate().take(n).skip(1) {
        *rank = r.min(max_rank(shape, k));
    }
    ranks
}

/// Ranks whose parameters stay within `prod(I) / ratio`: the largest uniform `(1, r, .., r, 1)`
/// (clamped), then single bonds grown, the smallest first, while the budget allows.
pub fn ranks_for_compression(shape: &[usize], ratio: f64) -> Result<Vec<usize>, TensorError> {
    let (budget, total) = tnet_tensor::compression_budget(shape, ratio)?;
    let fits = |ranks: &[usize]| tt_params(shape, ranks) as f64 <= budget;
    let ones = vec![1; shape.len() + 1];
    if !fits(&ones) {
        return Err(TensorError::Invalid(format!(
            "compression {ratio} is out of reach for shape {shape:?}: TT rank 1 gives {:.2}x",
            total / tt_params(shape, &ones) as f64
        )));
    }
    let largest = (1..shape.len())
        .map(|k| max_rank(shape, k))
        .max()
        .unwrap_or(1);
    let mut r = 1;
    while r < largest && fits(&uniform_ranks(shape, r + 1)) {
        r += 1;
    }
    // The uniform rank moves in big steps on small tensors: grow single bonds after it.
    let mut ranks = uniform_ranks(shape, r);
    loop {
        let mut order: Vec<usize> = (1..shape.len())
            .filter(|&k| ranks[k] < max_rank(shape, k))
            .collect();
        order.sort_by_key(|&k| ranks[k]);
        let grown = order.into_iter().find(|&k| {
            let mut trial = ranks.clone();
            trial[k] += 1;
            fits(&trial)
        });
        match grown {
            Some(k) => ranks[k] += 1,
            None => return Ok(ranks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_limits_by_hand() {
        // (1,2,3,1) on 4 x 5 x 6: 1*4*2 + 2*5*3 + 3*6*1 = 8 + 30 + 18.
        assert_eq!(tt_params(&[4, 5, 6], &[1, 2, 3, 1]), 56);
        assert_eq!(max_rank(&[4, 5, 6], 1), 4);
        assert_eq!(max_rank(&[4, 5, 6], 2), 6);
        assert_eq!(uniform_ranks(&[4, 5, 6], 5), vec![1, 4, 5, 1]);
    }

    #[test]
    fn compression_stays_within_budget_and_is_maximal() {
        let shape = [4, 5, 6, 7];
        for ratio in [1.0, 2.0, 5.0, 20.0] {
            let r = ranks_for_compression(&shape, ratio).unwrap();
            let budget = 840.0 / ratio;
            assert!(tt_params(&shape, &r) as f64 <= budget, "{ratio}: {r:?}");
            // No single bond can grow without leaving the budget.
            for k in 1..shape.len() {
                if r[k] < max_rank(&shape, k) {
                    let mut t = r.clone();
                    t[k] += 1;
                    assert!(tt_params(&shape, &t) as f64 > budget, "{ratio}: {t:?}");
                }
            }
        }
        let e = ranks_for_compression(&shape, 100.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("TT rank 1 gives"), "{e}");
    }
}
