use std::fmt::{Debug, Display};
use std::iter::Sum;

/// The real floating-point types the toolkit works with: `f32` and `f64`.
///
/// It joins what ndarray (`LinalgScalar`), faer (`RealField`) and num-traits (`Float`)
/// each need, plus lossless conversion to `f64` for reporting.
pub trait Scalar:
    faer::traits::RealField
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + num_traits::Float
    + num_traits::NumAssign
    + Sum
    + Send
    + Sync
    + Debug
    + Display
    + Default
    + 'static
{
    /// The NumPy / safetensors name of the type: `"f32"` or `"f64"`.
    const DTYPE: &'static str;
    fn from_f64(v: f64) -> Self;
    fn as_f64(self) -> f64;
}

impl Scalar for f32 {
    const DTYPE: &'static str = "f32";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    const DTYPE: &'static str = "f64";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}
