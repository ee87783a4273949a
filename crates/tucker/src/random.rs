//! Exact low-rank Tucker tensors for tests and benchmarks.

use tnet_tensor::random::{SeededRng, random_normal, random_orthonormal};
use tnet_tensor::{Scalar, TensorError};

use crate::TuckerTensor;

/// A Tucker tensor of `shape` and multilinear rank `ranks`: a standard normal core and
/// orthonormal factors (TensorLy's `random_tucker(..., orthogonal=True)`). Needs one rank per
/// mode with `1 <= ranks[k] <= shape[k]`.
pub fn random_tucker<T: Scalar>(
    shape: &[usize],
    ranks: &[usize],
    rng: &mut SeededRng,
) -> Result<TuckerTensor<T>, TensorError> {
    if shape.len() != ranks.len() {
        return Err(TensorError::RankCount {
            what: "random_tucker (one rank per mode)".into(),
            expected: shape.len(),
            got: ranks.len(),
        });
    }
    if let Some(k) = (0..shape.len()).find(|&k| ranks[k] == 0 || ranks[k] > shape[k]) {
        return Err(TensorError::Invalid(format!(
            "random_tucker: rank {} of mode {k} must be between 1 and the mode's size {}",
            ranks[k], shape[k]
        )));
    }
    let core = random_normal::<T>(ranks, rng);
    let factors = shape
        .iter()
        .zip(ranks)
        .map(|(&i, &r)| random_orthonormal::<T>(i, r, rng))
        .collect();
    TuckerTensor::new(core, factors)
}
