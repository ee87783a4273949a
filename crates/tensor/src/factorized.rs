//! The face every factorized tensor shows (Tucker, CP, tensor train), so code that only
//! reports, measures or saves a decomposition need not know which one it holds.

use ndarray::{ArrayD, ArrayViewD};

use crate::{Scalar, TensorError};

/// A tensor kept as a small set of parts whose product is the full tensor.
pub trait Factorized<T: Scalar> {
    /// The decomposition's name: `"tucker"`, `"cp"` or `"tt"`.
    fn method(&self) -> &'static str;
    /// The shape of the full tensor.
    fn shape(&self) -> Vec<usize>;
    /// The ranks as the decomposition states them: Tucker one per mode, CP `[R]`, TT the
    /// `N + 1` bond ranks.
    fn rank(&self) -> Vec<usize>;
    /// The full tensor.
    fn to_tensor(&self) -> ArrayD<T>;
    /// Entries of all the parts.
    fn n_params(&self) -> usize;
    /// `prod(shape) / n_params()`: how many times smaller than the full tensor.
    fn compression_ratio(&self) -> f64 {
        self.shape().iter().map(|&i| i as f64).product::<f64>() / self.n_params() as f64
    }
    /// `||x - reconstruction|| / ||x||`, measured without holding the whole reconstruction.
    fn relative_error(&self, x: &ArrayViewD<'_, T>) -> Result<f64, TensorError>;
    /// The parts by name, as files written from them name them (`core`, `weights`,
    /// `factor.k`, `core.k`).
    fn named_parts(&self) -> Vec<(String, ArrayViewD<'_, T>)>;
}

/// The parameter budget `prod(shape) / ratio` of a compression `ratio` (a number >= 1), and
/// `prod(shape)`.
pub fn compression_budget(shape: &[usize], ratio: f64) -> Result<(f64, f64), TensorError> {
    if !(ratio.is_finite() && ratio >= 1.0) {
        return Err(TensorError::Invalid(format!(
            "compression ratio must be a number >= 1, got {ratio}"
        )));
    }
    let total: f64 = shape.iter().map(|&s| s as f64).product();
    Ok((total / ratio, total))
}

/// The parts `prefix.0`, `prefix.1`, .. of a list of matrices, for [`Factorized::named_parts`].
pub fn named_matrices<'a, T>(
    prefix: &'a str,
    parts: &'a [ndarray::Array2<T>],
) -> impl Iterator<Item = (String, ArrayViewD<'a, T>)> + 'a {
    parts
        .iter()
        .enumerate()
        .map(move |(k, m)| (format!("{prefix}.{k}"), m.view().into_dyn()))
}

/// Implements [`Factorized`] for a type whose inherent `shape`, `to_tensor`, `n_params` and
/// `relative_error` it forwards to, given its method name and its `rank` and `named_parts`
/// items.
#[macro_export]
macro_rules! impl_factorized {
    ($ty:ident, $name:literal, { $($items:tt)* }) => {
        impl<T: $crate::Scalar> $crate::Factorized<T> for $ty<T> {
            fn method(&self) -> &'static str {
                $name
            }
            fn shape(&self) -> Vec<usize> {
                $ty::shape(self)
            }
            fn to_tensor(&self) -> ndarray::ArrayD<T> {
                $ty::to_tensor(self)
            }
            fn n_params(&self) -> usize {
                $ty::n_params(self)
            }
            fn relative_error(
                &self,
                x: &ndarray::ArrayViewD<'_, T>,
            ) -> Result<f64, $crate::TensorError> {
                $ty::relative_error(self, x)
            }
            $($items)*
        }
    };
}
