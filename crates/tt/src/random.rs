//! Exact low-rank tensor trains for tests and benchmarks.

use ndarray::Array3;
use tnet_tensor::random::SeededRng;
use tnet_tensor::{Scalar, TensorError};

use crate::TtTensor;

/// A tensor train of `shape` with the `shape.len() + 1` ranks given (first and last 1): cores of
/// normal entries scaled by `1 / sqrt(r_{k-1})`, so the entries of the full tensor stay of
/// order one (TensorLy's `random_tt`, scaled).
pub fn random_tt<T: Scalar>(
    shape: &[usize],
    ranks: &[usize],
    rng: &mut SeededRng,
) -> Result<TtTensor<T>, TensorError> {
    if ranks.len() != shape.len() + 1 {
        return Err(TensorError::RankCount {
            what: "random_tt (N + 1 ranks for N modes)".into(),
            expected: shape.len() + 1,
            got: ranks.len(),
        });
    }
    if ranks.contains(&0) {
        return Err(TensorError::Invalid(format!(
            "random_tt: every rank must be at least 1 (got {ranks:?})"
        )));
    }
    let cores = shape
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let scale = T::from_f64(1.0 / (ranks[k] as f64).sqrt());
            Array3::from_shape_simple_fn((ranks[k], i, ranks[k + 1]), || {
                T::from_f64(rng.normal()) * scale
            })
        })
        .collect();
    TtTensor::new(cores)
}
