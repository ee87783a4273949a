//! `tnet-data`: data I/O for T-Net. So far: MAT v5 files, the format of MPII's
//! `annot/gt_valid.mat` and of HRNet's `pred.mat`.

pub mod mat;
