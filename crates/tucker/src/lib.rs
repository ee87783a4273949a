#![doc = include_str!("../README.md")]
//! `tnet-tucker`: Tucker decomposition of dense ndarray tensors (HOSVD, HOOI, partial Tucker).
//!
//! ```
//! use tnet_tensor::random::SeededRng;
//! use tnet_tucker::{random_tucker, tucker, TuckerOptions, TuckerRank};
//!
//! let mut rng = SeededRng::new(0);
//! let x = random_tucker::<f64>(&[20, 30, 10], &[4, 5, 3], &mut rng).unwrap().to_tensor();
//! let fit = tucker(&x.view(), &TuckerRank::Ranks(vec![4, 5, 3]), &TuckerOptions::default()).unwrap();
//! let rel = tnet_tensor::relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap();
//! assert!(rel < 1e-10);
//! assert_eq!(fit.tucker.n_params(), 4 * 5 * 3 + 20 * 4 + 30 * 5 + 10 * 3);
//! ```

mod hooi;
mod random;
mod rank;
mod tucker_tensor;

pub use hooi::{
    PartialTucker, TuckerFit, TuckerInit, TuckerOptions, hosvd, partial_tucker, tucker,
};
pub use random::random_tucker;
pub use rank::{
    TuckerRank, ranks_for_compression, tensorly_fraction_ranks, tucker_flops, tucker_params,
};
pub use tucker_tensor::{TuckerTensor, tucker_to_tensor};

pub use tnet_tensor::TensorError;
