//! `tnet-factorized`: factorized tensors whose reconstruction is part of candle's autograd
//! graph (Tucker, CP, tensor train). So far: the differentiable reconstructions (checked
//! against the ndarray decompositions and against finite differences). Trainable `Var`s through
//! a `VarBuilder`, leading-mode indexing, the SPEC initialization, tensor dropout and conversion
//! from `tnet-tucker` / `tnet-cp` / `tnet-tt` come next (issue 3).

mod dropout;
pub mod init;
mod param;
mod reconstruct;

pub use dropout::tucker_dropout;
pub use param::FactorizedTensor;
pub use reconstruct::{cp_to_tensor, from_ndarray, mode_product, tt_to_tensor, tucker_to_tensor};
