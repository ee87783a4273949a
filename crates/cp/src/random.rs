//! Exact low-rank CP tensors for tests and benchmarks.

use ndarray::Array1;
use tnet_tensor::random::{SeededRng, random_matrix};
use tnet_tensor::{Scalar, TensorError};

use crate::CpTensor;

/// A CP tensor of `shape` and rank `rank`: unit weights and standard normal factors
/// (TensorLy's `random_cp`). Needs at least one mode and `rank >= 1`.
pub fn random_cp<T: Scalar>(
    shape: &[usize],
    rank: usize,
    rng: &mut SeededRng,
) -> Result<CpTensor<T>, TensorError> {
    if shape.is_empty() || rank == 0 {
        return Err(TensorError::Invalid(format!(
            "random_cp: needs at least one mode and a rank of at least 1 (got shape {shape:?}, rank {rank})"
        )));
    }
    let factors = shape
        .iter()
        .map(|&i| random_matrix::<T>(i, rank, rng))
        .collect();
    CpTensor::new(Array1::from_elem(rank, T::one()), factors)
}
