//! Parameter counts, reconstruction cost and the rank for a compression ratio.

use tnet_tensor::TensorError;

/// CP parameters: `R` weights plus `R * sum(I_k)` factor entries.
pub fn cp_params(shape: &[usize], rank: usize) -> usize {
    rank + rank * shape.iter().sum::<usize>()
}

/// FLOPs of a CP reconstruction (one rank-one term per rank over the whole tensor).
pub fn cp_flops(shape: &[usize], rank: usize) -> f64 {
    2.0 * rank as f64 * shape.iter().map(|&v| v as f64).product::<f64>()
}

/// The largest CP rank whose parameters stay within `prod(I) / ratio` (so the compression is
/// at least `ratio`); an error says what rank 1 reaches when even that is too large.
pub fn rank_for_compression(shape: &[usize], ratio: f64) -> Result<usize, TensorError> {
    let (budget, total) = tnet_tensor::compression_budget(shape, ratio)?;
    let per_rank = cp_params(shape, 1) as f64;
    let rank = (budget / per_rank).floor();
    if rank < 1.0 {
        return Err(TensorError::Invalid(format!(
            "compression {ratio} is out of reach for shape {shape:?}: CP rank 1 gives {:.2}x",
            total / per_rank
        )));
    }
    Ok(rank as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_budget_by_hand() {
        // 4 x 5 x 6 = 120 entries; one rank costs 1 + 15 = 16 parameters.
        assert_eq!(cp_params(&[4, 5, 6], 3), 48);
        assert_eq!(rank_for_compression(&[4, 5, 6], 2.0).unwrap(), 3); // 60 / 16
        assert_eq!(rank_for_compression(&[4, 5, 6], 7.5).unwrap(), 1); // 16 / 16
        let e = rank_for_compression(&[4, 5, 6], 8.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("7.50x"), "{e}");
        assert!(rank_for_compression(&[4, 5, 6], 0.5).is_err());
        assert_eq!(cp_flops(&[4, 5, 6], 2), 480.0);
    }
}
