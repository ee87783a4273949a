//! `tnet-tensor`: the dense-tensor toolkit shared by the Tucker, CP and TT crates.
//!
//! Everything works on `ndarray::ArrayD` of `f32` or `f64` and follows TensorLy's
//! conventions so that results compare one to one:
//! - unfolding is C-order: `unfold(X, n) == moveaxis(X, n, 0).reshape(I_n, -1)`;
//! - `mode_dot(X, M, n)` contracts mode `n` of `X` with the columns of `M` (`M: J x I_n`);
//! - singular vectors follow `svd_flip` (largest-magnitude entry of each left vector positive).
//!
//! ```
//! use ndarray::{array, ArrayD, IxDyn};
//! use tnet_tensor::{unfold, fold};
//! let x = ArrayD::from_shape_vec(IxDyn(&[2, 3, 2]), (0..12).map(|v| v as f64).collect()).unwrap();
//! let m = unfold(&x.view(), 1).unwrap();
//! assert_eq!(m, array![[0., 1., 6., 7.], [2., 3., 8., 9.], [4., 5., 10., 11.]]);
//! assert_eq!(fold(&m.view(), 1, &[2, 3, 2]).unwrap(), x);
//! ```

mod error;
mod factorized;
mod gram_subspace;
mod khatri_rao;
pub mod leading_eigen;
pub mod linalg;
pub mod memory;
mod mode_product;
mod norm;
pub mod npy;
pub mod numpy_random;
pub mod random;
mod scalar;
mod unfold;
mod validate;

pub use error::TensorError;
pub use factorized::{Factorized, compression_budget, named_matrices};
pub use khatri_rao::{
    Axis as RankAxis, RankContraction, RankContractionPlan, contract_shared_rank,
    contract_shared_rank_into, khatri_rao, mttkrp, rank_matrix,
};
pub use mode_product::{Transpose, contract_modes, mode_dot, mode_product_into, multi_mode_dot};
pub use norm::{frobenius_norm, inner, relative_error, relative_error_blockwise};
pub use scalar::Scalar;
pub use unfold::{fold, mode_view, unfold};
pub use validate::{check_finite, check_mode, check_tensor, check_tensor_norm};

/// Result type of this crate.
pub type Result<T, E = TensorError> = std::result::Result<T, E>;
