//! `tnet-data`: data I/O for T-Net, with no deep-learning dependency: MPII annotations in both
//! common layouts, MAT v5 files (`gt_valid.mat`, `pred.mat`), Helen-style face parsing, image
//! decoding, augmentation and warping, Gaussian heatmap targets, the parallel seeded epoch
//! loader, and the synthetic pose and face generators (docs/data.md).

mod error;
pub mod face_loader;
pub mod heatmap;
pub mod helen;
pub mod image_file;
pub mod mat;
pub mod mpii;
pub mod pose_loader;
pub mod raster;
pub mod synth_face;
pub mod synth_pose;
pub mod transform;

pub use error::DataError;
