//! Validation: PCKh of decoded heatmaps (pose) and the confusion matrix (face parsing), with the
//! kernels reconstructed once for the whole pass.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use candle_core::{Device, Result, Tensor};
use ndarray::{Array3, Array4, Axis, s};
use tnet_data::face_loader::{FaceSampleConfig, make_face_batch};
use tnet_data::helen::FaceItem;
use tnet_data::mpii::FLIP_PAIRS;
use tnet_data::pose_loader::{
    EpochLoader, LoaderConfig, OnBadImage, PoseDataset, SampleConfig, make_batch,
};
use tnet_hourglass::{KernelMode, TNet};
use tnet_metrics::decode::decode_heatmaps;
use tnet_metrics::pckh::{PckhGroundTruth, PckhReport, evaluate};
use tnet_metrics::segmentation::{ConfusionMatrix, SegmentationReport};

use crate::data::TaskData;
use crate::distributed::{Collective, SingleProcess, shard_of};
use crate::progress::bar;

/// How a validation pass runs.
#[derive(Debug, Clone, Copy)]
pub struct ValidateOptions {
    /// Images per forward pass.
    pub batch: usize,
    /// Validate on at most this many samples (all when `None`).
    pub limit: Option<usize>,
    /// Pose: average the heatmaps with those of the mirrored image.
    pub flip: bool,
    /// Gaussian sigma of the pose targets (heatmap pixels).
    pub sigma: f64,
    /// No progress bar.
    pub quiet: bool,
}

/// A validation's report, whichever the task.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one value per validation pass
pub enum Validation {
    Pose(PckhReport),
    Face(SegmentationReport),
}

impl Validation {
    /// The run's metric: PCKh@0.5 Mean in % (pose), mIoU without background in [0, 1] (faces).
    pub fn metric(&self) -> f64 {
        match self {
            Validation::Pose(r) => r.at_05.mean,
            Validation::Face(r) => r.mean_iou_no_background,
        }
    }

    /// The metric with its name, for a person: `PCKh@0.5 81.02 %`, `mIoU (no bg) 45.10 %`.
    pub fn describe(&self) -> String {
        match self {
            Validation::Pose(r) => format!("PCKh@0.5 {:.2} %", r.at_05.mean),
            Validation::Face(r) => {
                format!("mIoU (no bg) {:.2} %", 100.0 * r.mean_iou_no_background)
            }
        }
    }
}

/// Validates `net` on the validation set of `data`: the one entry point of training, `tnet eval`
/// and `tnet compress`.
pub fn validate(
    net: &TNet,
    data: &TaskData,
    opts: &ValidateOptions,
    device: &Device,
) -> Result<Validation> {
    validate_replicated(net, data, opts, device, &SingleProcess)
}

/// [`validate`] shared by the replicas of `group`: each predicts its part of every batch and
/// the parts are gathered exactly, so every replica gets the report of the whole set.
pub fn validate_replicated(
    net: &TNet,
    data: &TaskData,
    opts: &ValidateOptions,
    device: &Device,
    group: &dyn Collective,
) -> Result<Validation> {
    Ok(match data {
        TaskData::Pose(p) => {
            let (report, _) = validate_pose(net, &p.val, &p.gt, opts, device, group)?;
            Validation::Pose(report)
        }
        TaskData::Face(f) => Validation::Face(validate_faces(net, &f.val, opts, device, group)?),
    })
}

fn err(e: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

pub fn to_tensor4(a: &Array4<f32>, device: &Device) -> Result<Tensor> {
    let shape = a.dim();
    let data: Vec<f32> = match a.as_slice() {
        Some(s) => s.to_vec(),
        None => a.iter().copied().collect(),
    };
    Tensor::from_vec(data, (shape.0, shape.1, shape.2, shape.3), device)
}

fn to_array4(t: &Tensor) -> Result<Array4<f32>> {
    let (b, c, h, w) = t.dims4()?;
    let v: Vec<f32> = t.flatten_all()?.to_vec1()?;
    Array4::from_shape_vec((b, c, h, w), v).map_err(err)
}

/// Heatmaps of the last stack for `images`, optionally averaged with those of the mirrored
/// images (mirrored back, left/right joints swapped, shifted by one pixel as HRNet does).
pub fn predict_heatmaps(
    net: &TNet,
    kernels: &tnet_hourglass::Kernels,
    images: &Array4<f32>,
    flip: bool,
    device: &Device,
) -> Result<Array4<f32>> {
    let run = |imgs: &Array4<f32>| -> Result<Array4<f32>> {
        let out = net.forward_with(kernels, &to_tensor4(imgs, device)?, false)?;
        to_array4(out.last().ok_or_else(|| err("network without outputs"))?)
    };
    let mut heat = run(images)?;
    if flip {
        let mirrored = images.slice(s![.., .., .., ..;-1]).to_owned();
        let back = run(&mirrored)?;
        let mut back = back.slice(s![.., .., .., ..;-1]).to_owned();
        for &(a, b) in &FLIP_PAIRS {
            let ca = back.index_axis(Axis(1), a).to_owned();
            let cb = back.index_axis(Axis(1), b).to_owned();
            back.index_axis_mut(Axis(1), a).assign(&cb);
            back.index_axis_mut(Axis(1), b).assign(&ca);
        }
        let w = back.dim().3;
        let shifted = back.slice(s![.., .., .., 0..w - 1]).to_owned();
        back.slice_mut(s![.., .., .., 1..w]).assign(&shifted);
        heat = (heat + back) * 0.5;
    }
    Ok(heat)
}

/// Decoded joints `(B, K, 2)` in 0-based image coordinates from `(B, K, h, w)` heatmaps whose
/// inputs were made with `transforms` (image -> input) at heatmap `stride`.
pub fn joints_in_image(
    heat: &Array4<f32>,
    transforms: &[tnet_data::pose_loader::CropTransform],
    stride: usize,
) -> Result<Array3<f64>> {
    let (b, k, _, _) = heat.dim();
    let mut out = Array3::<f64>::zeros((b, k, 2));
    for row in 0..b {
        let (coords, _) = decode_heatmaps(&heat.index_axis(Axis(0), row));
        let back = transforms[row]
            .inverse()
            .ok_or_else(|| err("degenerate crop"))?;
        for j in 0..k {
            let p = back.apply([
                coords[[j, 0]] * stride as f64,
                coords[[j, 1]] * stride as f64,
            ]);
            out[[row, j, 0]] = p[0];
            out[[row, j, 1]] = p[1];
        }
    }
    Ok(out)
}

/// The first `n` validation people of the ground truth.
pub fn gt_prefix(gt: &PckhGroundTruth, n: usize) -> PckhGroundTruth {
    PckhGroundTruth {
        joints: gt.joints.slice(s![..n, .., ..]).to_owned(),
        missing: gt.missing.slice(s![..n, ..]).to_owned(),
        headboxes: gt.headboxes.slice(s![..n, .., ..]).to_owned(),
    }
}

/// Predicted joints `(N, 16, 2)` (0-based image coordinates) of the first `limit` people and
/// their PCKh report (the replicas of `group` each predicting their part).
pub fn validate_pose(
    net: &TNet,
    val: &Arc<PoseDataset>,
    gt: &PckhGroundTruth,
    opts: &ValidateOptions,
    device: &Device,
    group: &dyn Collective,
) -> Result<(PckhReport, Array3<f64>)> {
    let ValidateOptions {
        batch,
        limit,
        flip,
        sigma,
        quiet,
    } = *opts;
    let cfg = net.config();
    let n = limit.unwrap_or(usize::MAX).min(val.people.len());
    let sample = SampleConfig {
        input_size: cfg.input_size,
        stride: 4,
        sigma,
        augment: None,
    };
    let loader_cfg = LoaderConfig {
        batch_size: batch,
        shuffle: false,
        drop_last: false,
        prefetch: 2,
        seed: 0,
        on_bad_image: OnBadImage::Stop,
        shard: shard_of(group),
    };
    let ds = val.clone();
    let loader =
        EpochLoader::with_builder(n, loader_cfg, 0, move |chunk, skipped: &AtomicUsize| {
            make_batch(&ds, chunk, &sample, 0, 0, OnBadImage::Stop, skipped)
        })
        .map_err(err)?;
    let kernels = net.kernels(KernelMode::Eval)?;
    let mut preds = Array3::<f64>::zeros((n, 16, 2));
    let pb = bar(
        n as u64,
        quiet,
        "  validating {bar:30} {pos}/{len} {per_sec}",
    );
    for b in loader {
        let b = b.map_err(err)?;
        if b.indices.is_empty() {
            continue; // a last batch smaller than the group
        }
        let heat = predict_heatmaps(net, &kernels, &b.images, flip, device)?;
        let joints = joints_in_image(&heat, &b.transforms, 4)?;
        for (row, &idx) in b.indices.iter().enumerate() {
            preds
                .index_axis_mut(Axis(0), idx)
                .assign(&joints.index_axis(Axis(0), row));
        }
        pb.inc((b.indices.len() * group.size()) as u64);
    }
    pb.finish_and_clear();
    // Every person was predicted by exactly one replica; the others hold zeros there.
    let flat = preds
        .as_slice_mut()
        .ok_or_else(|| err("predictions not contiguous"))?;
    group.all_reduce_sum_f64(flat).map_err(err)?;
    let report = evaluate(&preds.view(), &gt_prefix(gt, n)).map_err(err)?;
    Ok((report, preds))
}

/// Confusion-matrix report of the last stack's per-pixel argmax on the first `limit` items
/// (the replicas of `group` each counting their part).
pub fn validate_faces(
    net: &TNet,
    val: &Arc<Vec<FaceItem>>,
    opts: &ValidateOptions,
    device: &Device,
    group: &dyn Collective,
) -> Result<SegmentationReport> {
    let ValidateOptions {
        batch,
        limit,
        quiet,
        ..
    } = *opts;
    let cfg = net.config();
    let classes = cfg.head.channels();
    let n = limit.unwrap_or(usize::MAX).min(val.len());
    let sample = FaceSampleConfig {
        size: cfg.input_size,
        augment: None,
    };
    let kernels = net.kernels(KernelMode::Eval)?;
    let mut cm = ConfusionMatrix::new(classes, None).map_err(err)?;
    let skipped = AtomicUsize::new(0);
    let order: Vec<usize> = (0..n).collect();
    let pb = bar(
        n as u64,
        quiet,
        "  validating {bar:30} {pos}/{len} {per_sec}",
    );
    for whole in order.chunks(batch) {
        let chunk = shard_of(group).of(whole);
        pb.inc(whole.len() as u64);
        if chunk.is_empty() {
            continue;
        }
        let b =
            make_face_batch(val, chunk, &sample, 0, 0, OnBadImage::Stop, &skipped).map_err(err)?;
        let out = net.forward_with(&kernels, &to_tensor4(&b.images, device)?, false)?;
        let logits = out.last().ok_or_else(|| err("network without outputs"))?;
        let pred: Vec<u32> = logits.argmax(1)?.flatten_all()?.to_vec1()?;
        let gt: Vec<u32> = b.labels.iter().map(|&v| v as u32).collect();
        cm.add(&pred, &gt).map_err(err)?;
    }
    pb.finish_and_clear();
    if group.size() == 1 {
        return Ok(cm.report());
    }
    // Every replica's counts summed (exact in f64 up to 2^53 pixels).
    let mut counts: Vec<f64> = cm.counts().iter().map(|&c| c as f64).collect();
    group.all_reduce_sum_f64(&mut counts).map_err(err)?;
    let total = ndarray::Array2::from_shape_vec(cm.counts().dim(), counts)
        .map_err(err)?
        .mapv(|c| c as u64);
    let mut all = ConfusionMatrix::new(classes, None).map_err(err)?;
    all.add_counts(&total).map_err(err)?;
    Ok(all.report())
}
