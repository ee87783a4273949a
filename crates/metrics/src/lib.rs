//! `tnet-metrics`: the measures (PCKh, IoU; docs/data.md), on plain `ndarray` data.
//!
//! - [`pckh`]: PCKh per part, at 0.5 and 0.1, and its AUC over thresholds 0..0.5, exactly as
//!   the MPII evaluation code of the HRNet / mmpose family computes it;
//! - [`decode`]: keypoints from heatmaps (argmax plus the quarter-pixel shift);
//! - [`segmentation`]: confusion matrix, per-class IoU and F1, means with and without background.

pub mod decode;
mod error;
pub mod pckh;
pub mod segmentation;

pub use error::MetricsError;
