//! `tnet-data`: data I/O for T-Net. So far: MPII annotations in both common layouts and MAT v5
//! files (MPII's `gt_valid.mat`, HRNet's `pred.mat`). Image loading, augmentation, the parallel
//! loader and the synthetic generators follow.

mod error;
pub mod faceparsing;
pub mod heatmap;
pub mod mat;
pub mod mpii;
pub mod pose_loader;
pub mod raster;
pub mod synth_pose;
pub mod transform;

pub use error::DataError;
