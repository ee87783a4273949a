//! The face every factorized tensor shows (Tucker, CP, tensor train), so code that only
//! reports, measures or saves a decomposition need not know which one it holds.

use ndarray::{ArrayD, ArrayViewD};

use crate::{Scalar, TensorError};

/// A tensor kept as a small set of parts whose product is the full tensor.
pub trait Factorized<T: Scalar> {
    /// The decomposition's name: `"tucker"`, `"cp"` or `"tt"`.
    fn method(&self) -> &'static str;
    /// The shape of the full tensor.
    fn full_shape(&self) -> Vec<usize>;
    /// The ranks as the decomposition states them: Tucker one per mode, CP `[R]`, TT the
    /// `N + 1` bond ranks.
    fn rank(&self) -> Vec<usize>;
    /// The full tensor.
    fn reconstruct(&self) -> ArrayD<T>;
    /// Entries of all the parts.
    fn param_count(&self) -> usize;
    /// `prod(shape) / param_count()`: how many times smaller than the full tensor.
    fn compression(&self) -> f64 {
        self.full_shape().iter().map(|&i| i as f64).product::<f64>() / self.param_count() as f64
    }
    /// `||x - reconstruction|| / ||x||`, measured without holding the whole reconstruction.
    fn error_against(&self, x: &ArrayViewD<'_, T>) -> Result<f64, TensorError>;
    /// The parts by name, as files written from them name them (`core`, `weights`,
    /// `factor.k`, `core.k`).
    fn named_parts(&self) -> Vec<(String, ArrayViewD<'_, T>)>;
}
