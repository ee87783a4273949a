#![doc = include_str!("../README.md")]
//! `tnet-cp`: CP (CANDECOMP/PARAFAC) decomposition of dense ndarray tensors by ALS.
//!
//! ```
//! use tnet_tensor::random::SeededRng;
//! use tnet_cp::{parafac, random_cp, ParafacOptions};
//!
//! let mut rng = SeededRng::new(1);
//! let x = random_cp::<f64>(&[12, 10, 8], 3, &mut rng).unwrap().to_tensor();
//! let fit = parafac(&x.view(), 3, &ParafacOptions { n_iter_max: 500, tol: 1e-14, ..Default::default() }).unwrap();
//! assert!(fit.errors.last().unwrap() < &1e-6);
//! assert_eq!(fit.cp.n_params(), 3 + 3 * (12 + 10 + 8));
//! ```

mod als;
pub mod budget;
mod cp_tensor;
mod random;

pub use als::{CpFit, CpInit, ParafacOptions, parafac};
pub use budget::{cp_params, rank_for_compression};
pub use cp_tensor::{CpTensor, cp_to_tensor};
pub use random::random_cp;

pub use tnet_tensor::TensorError;
