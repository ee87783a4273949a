//! `tnet-factorized`: factorized tensors whose reconstruction is part of candle's autograd
//! graph (Tucker, CP, tensor train): [`FactorizedTensor`] holds the parts as trainable `Var`s,
//! reconstructs the full tensor, indexes leading modes without forming it, and converts from
//! the `tnet-tucker` / `tnet-cp` / `tnet-tt` results; [`init`] draws orthonormal parts whose
//! reconstruction has exactly the Kaiming std; [`PartScale`] gives each part the learning rate
//! that makes the reconstruction move as a dense kernel would; [`tucker_dropout`] is tensor
//! dropout.

mod cpu_mode_product;
mod dropout;
pub mod init;
mod param;
mod part_scale;
mod reconstruct;

pub use dropout::tucker_dropout;
pub use param::FactorizedTensor;
pub use part_scale::PartScale;
pub use reconstruct::{
    cp_to_tensor, from_ndarray, mode_product, mode_product_moved, tt_to_tensor, tucker_to_tensor,
};
