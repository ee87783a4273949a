#![doc = include_str!("../README.md")]
//! `tnet-tt`: tensor-train (TT / MPS) decomposition of dense ndarray tensors: TT-SVD with
//! maximal ranks or a target accuracy, and TT rounding.
//!
//! ```
//! use tnet_tensor::random::SeededRng;
//! use tnet_tt::{random_tt, tensor_train, TtRank};
//!
//! let mut rng = SeededRng::new(2);
//! let x = random_tt::<f64>(&[6, 7, 8, 5], &[1, 3, 4, 2, 1], &mut rng).unwrap().to_tensor();
//! let fit = tensor_train(&x.view(), &TtRank::Accuracy { eps: 1e-10, max_rank: None }).unwrap();
//! assert_eq!(fit.tt.ranks(), vec![1, 3, 4, 2, 1]);
//! let rel = tnet_tensor::relative_error(&x.view(), &fit.tt.to_tensor().view()).unwrap();
//! assert!(rel < 1e-10 && fit.error() < 1e-6);
//! ```

pub mod budget;
mod random;
mod rounding;
mod tt_svd;
mod tt_tensor;

pub use budget::{ranks_for_compression, tt_params};
pub use random::random_tt;
pub use tt_svd::{TtFit, TtRank, tensor_train};
pub use tt_tensor::{TtTensor, tt_to_tensor};

pub use tnet_tensor::TensorError;
