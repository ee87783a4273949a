//! Pose samples and batches: decode, augment (docs/data.md), warp into preallocated buffers,
//! Gaussian targets; a parallel loader with seeded epoch shuffling and a bounded prefetch queue.
//!
//! Every sample draws its augmentation from a generator seeded by `(seed, epoch, index)`, so a
//! batch is the same whatever the number of threads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array2, Array4, ArrayView3, ArrayViewMut3, Axis};
use rayon::prelude::*;
use tnet_tensor::random::SeededRng;

use crate::DataError;
use crate::heatmap::gaussian_targets;
use crate::mpii::{MpiiPerson, N_JOINTS};
use crate::transform::{Affine, flip_joints, warp_bilinear};

/// Training augmentation of the stacked-hourglass recipe (docs/data.md, "Samples").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Scale factor `clamp(1 + N(0, scale_sd), lo, hi)`.
    pub scale_sd: f64,
    pub scale_range: (f64, f64),
    /// Rotation `clamp(N(0, rotation_sd), -rotation_max, rotation_max)` degrees, with probability `rotation_prob`.
    pub rotation_sd: f64,
    pub rotation_max: f64,
    pub rotation_prob: f64,
    /// Horizontal flip probability (joint pairs swapped).
    pub flip_prob: f64,
    /// Per-channel colour gain `U(lo, hi)`.
    pub gain_range: (f32, f32),
}

impl Augment {
    /// The hourglass defaults: scale N(0, .25) in [.75, 1.25], rotation N(0, 30) in [-60, 60]
    /// with p = 0.6, flip p = 0.5, colour gain U(0.8, 1.2).
    pub const HOURGLASS: Augment = Augment {
        scale_sd: 0.25,
        scale_range: (0.75, 1.25),
        rotation_sd: 30.0,
        rotation_max: 60.0,
        rotation_prob: 0.6,
        flip_prob: 0.5,
        gain_range: (0.8, 1.2),
    };
}

/// How to build a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleConfig {
    /// Side of the square network input (256 for MPII).
    pub input_size: usize,
    /// Input pixels per heatmap pixel (4).
    pub stride: usize,
    /// Gaussian sigma in heatmap pixels (1 by default; HRNet uses 2).
    pub sigma: f64,
    /// `None` for evaluation.
    pub augment: Option<Augment>,
}

impl SampleConfig {
    pub fn heatmap_size(&self) -> usize {
        self.input_size / self.stride
    }
}

/// What to do with an image that is missing or cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBadImage {
    /// Stop with an error naming the file.
    Stop,
    /// Leave the sample out of its batch, print a warning and count it.
    Skip,
}

/// People and the folder of their images.
#[derive(Debug, Clone)]
pub struct PoseDataset {
    pub people: Vec<MpiiPerson>,
    pub images: PathBuf,
}

/// The image -> network-input transform of a sample, to map predictions back.
pub type CropTransform = Affine;

impl PoseDataset {
    /// Decodes the image of person `index` as `H x W x 3` RGB.
    pub fn decode(&self, index: usize) -> Result<ndarray::Array3<u8>, DataError> {
        let path = self.images.join(&self.people[index].image);
        decode_rgb(&path)
    }

    /// Builds sample `index` into `image_out` (`3 x S x S`) and `heatmaps_out` (`16 x S/4 x S/4`);
    /// returns the target weights and the image -> input transform.
    pub fn sample_into(
        &self,
        index: usize,
        image: &ArrayView3<'_, u8>,
        cfg: &SampleConfig,
        rng: &mut SeededRng,
        image_out: &mut ArrayViewMut3<'_, f32>,
        heatmaps_out: &mut ArrayViewMut3<'_, f32>,
    ) -> Result<(Vec<f32>, CropTransform), DataError> {
        let person = &self.people[index];
        let (mut center, mut scale) = person.hrnet_crop();
        let mut joints = person
            .joints_zero_based()
            .unwrap_or([[f64::NAN; 2]; N_JOINTS]);
        let mut labelled = person.visible.unwrap_or([false; N_JOINTS]);
        let mut rotation = 0.0;
        let mut gain = [1.0f32; 3];
        let mut flip = Affine::IDENTITY;
        if let Some(a) = cfg.augment {
            scale *= (1.0 + rng.normal() * a.scale_sd).clamp(a.scale_range.0, a.scale_range.1);
            if rng.uniform() < a.rotation_prob {
                rotation = (rng.normal() * a.rotation_sd).clamp(-a.rotation_max, a.rotation_max);
            }
            if rng.uniform() < a.flip_prob {
                let width = image.dim().1;
                flip = Affine::flip_x(width);
                center = flip.apply(center);
                (joints, labelled) = flip_joints(&joints, &labelled, width);
            }
            for g in &mut gain {
                *g = a.gain_range.0 + (a.gain_range.1 - a.gain_range.0) * rng.uniform() as f32;
            }
        }
        let crop = Affine::crop(center, scale, rotation, cfg.input_size, cfg.input_size);
        let to_input = crop.after(&flip);
        let to_image = to_input.inverse().ok_or_else(|| {
            DataError::Invalid(format!("{}: degenerate crop (scale {scale})", person.image))
        })?;
        warp_bilinear(image, &to_image, gain, image_out);
        let to_heatmap = Affine::scaling(1.0 / cfg.stride as f64).after(&crop);
        let hm_joints: Vec<[f64; 2]> = joints.iter().map(|&p| to_heatmap.apply(p)).collect();
        let weights = gaussian_targets(&hm_joints, &labelled, cfg.sigma, heatmaps_out);
        Ok((weights, to_input))
    }
}

/// Decodes an image file to RGB, naming the file on failure.
pub fn decode_rgb(path: &Path) -> Result<ndarray::Array3<u8>, DataError> {
    let img = crate::image_file::open_image(path)?.into_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    ndarray::Array3::from_shape_vec((h, w, 3), img.into_raw())
        .map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))
}

/// A batch of samples, batch axis first.
#[derive(Debug, Clone)]
pub struct PoseBatch {
    /// `B x 3 x S x S`, values in [0, 1] times the colour gain.
    pub images: Array4<f32>,
    /// `B x 16 x S/4 x S/4`.
    pub heatmaps: Array4<f32>,
    /// `B x 16`: 1 where the joint is labelled and on the heatmap.
    pub weights: Array2<f32>,
    /// Dataset index of each sample.
    pub indices: Vec<usize>,
    /// Image -> input transform of each sample.
    pub transforms: Vec<CropTransform>,
}

/// Loader settings.
#[derive(Debug, Clone, Copy)]
pub struct LoaderConfig {
    pub batch_size: usize,
    pub shuffle: bool,
    /// Drop the last partial batch (training) or keep it, smaller (evaluation).
    pub drop_last: bool,
    /// Batches prepared ahead of the consumer.
    pub prefetch: usize,
    pub seed: u64,
    pub on_bad_image: OnBadImage,
    /// Data-parallel training: this process's part of every batch.
    pub shard: Shard,
}

/// Part `index` of `count` of some work: of each batch in data-parallel training (replica
/// `index` takes the `index`-th equal, contiguous part, so the replicas together see exactly
/// the batches of a single process), or of a list of jobs (every `count`-th one). The whole is
/// `Shard::WHOLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Part `index` of `items` (split as evenly as possible, earlier parts one longer).
    pub fn of<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let count = self.count.max(1);
        let index = self.index.min(count - 1);
        let n = items.len();
        let start = index * (n / count) + index.min(n % count);
        let len = n / count + usize::from(index < n % count);
        &items[start..start + len]
    }

    /// Whether job `k` of a list dealt round-robin is this shard's.
    pub fn owns(&self, k: usize) -> bool {
        k % self.count.max(1) == self.index
    }
}

/// The sample order of an epoch: `0..n`, shuffled by a generator seeded from `(seed, epoch)`.
pub fn epoch_order(n: usize, seed: u64, epoch: u64, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        let mut rng = SeededRng::new(seed ^ epoch.wrapping_mul(0xA076_1D64_78BD_642F));
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }
    order
}

/// Seed of one sample's augmentation: independent of batching and thread count.
pub(crate) fn sample_seed(seed: u64, epoch: u64, index: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ epoch.wrapping_mul(0xE703_7ED1_A0B4_28DB)
        ^ (index as u64).wrapping_mul(0x8EBC_6AF0_9C88_C6E3)
}

/// Builds one batch from dataset indices, decoding and augmenting on the rayon pool.
pub fn make_batch(
    dataset: &PoseDataset,
    indices: &[usize],
    cfg: &SampleConfig,
    seed: u64,
    epoch: u64,
    on_bad_image: OnBadImage,
    skipped: &AtomicUsize,
) -> Result<PoseBatch, DataError> {
    let (s, h) = (cfg.input_size, cfg.heatmap_size());
    let b = indices.len();
    let mut images = Array4::<f32>::zeros((b, 3, s, s));
    let mut heatmaps = Array4::<f32>::zeros((b, N_JOINTS, h, h));
    let results: Vec<Option<(Vec<f32>, CropTransform)>> = images
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(heatmaps.axis_iter_mut(Axis(0)).into_par_iter())
        .zip(indices.par_iter())
        .map(|((mut img_out, mut hm_out), &index)| {
            let image = match dataset.decode(index) {
                Ok(image) => image,
                Err(e) if on_bad_image == OnBadImage::Skip => {
                    eprintln!("warning: skipping sample {index}: {e}");
                    skipped.fetch_add(1, Ordering::Relaxed);
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let mut rng = SeededRng::new(sample_seed(seed, epoch, index));
            dataset
                .sample_into(
                    index,
                    &image.view(),
                    cfg,
                    &mut rng,
                    &mut img_out,
                    &mut hm_out,
                )
                .map(Some)
        })
        .collect::<Result<_, DataError>>()?;
    let keep: Vec<usize> = (0..b).filter(|&k| results[k].is_some()).collect();
    let mut weights = Array2::<f32>::zeros((keep.len(), N_JOINTS));
    let mut transforms = Vec::with_capacity(keep.len());
    for (row, &k) in keep.iter().enumerate() {
        let (w, t) = results[k].as_ref().expect("kept");
        weights
            .row_mut(row)
            .assign(&ndarray::ArrayView1::from(w.as_slice()));
        transforms.push(*t);
    }
    let (images, heatmaps) = if keep.len() == b {
        (images, heatmaps)
    } else {
        (
            images.select(Axis(0), &keep),
            heatmaps.select(Axis(0), &keep),
        )
    };
    Ok(PoseBatch {
        images,
        heatmaps,
        weights,
        indices: keep.iter().map(|&k| indices[k]).collect(),
        transforms,
    })
}

/// Batches of one epoch, prepared `prefetch` ahead on a background thread (bounded queue).
/// Generic over the batch type: [`EpochLoader::pose`] builds pose batches, and
/// `tnet_data::face_loader::face_epoch` face-parsing ones.
pub struct EpochLoader<B> {
    receiver: std::sync::mpsc::Receiver<Result<B, DataError>>,
    worker: Option<std::thread::JoinHandle<()>>,
    skipped: Arc<AtomicUsize>,
}

impl<B: Send + 'static> EpochLoader<B> {
    /// Runs `build(indices, skipped)` for each batch of the epoch's order over `0..n`.
    pub fn with_builder(
        n: usize,
        cfg: LoaderConfig,
        epoch: u64,
        build: impl Fn(&[usize], &AtomicUsize) -> Result<B, DataError> + Send + 'static,
    ) -> Result<Self, DataError> {
        Self::with_builder_from(n, cfg, epoch, 0, build)
    }

    /// As [`EpochLoader::with_builder`], starting at batch `start` of the epoch (resuming a
    /// run interrupted mid-epoch: the same batches follow as in an uninterrupted run).
    pub fn with_builder_from(
        n: usize,
        cfg: LoaderConfig,
        epoch: u64,
        start: usize,
        build: impl Fn(&[usize], &AtomicUsize) -> Result<B, DataError> + Send + 'static,
    ) -> Result<Self, DataError> {
        if cfg.batch_size == 0 {
            return Err(DataError::Invalid("batch size must be at least 1".into()));
        }
        let order = epoch_order(n, cfg.seed, epoch, cfg.shuffle);
        let (tx, rx) = std::sync::mpsc::sync_channel(cfg.prefetch.max(1));
        let skipped = Arc::new(AtomicUsize::new(0));
        let counter = skipped.clone();
        let worker = std::thread::spawn(move || {
            for chunk in order.chunks(cfg.batch_size).skip(start) {
                if cfg.drop_last && chunk.len() < cfg.batch_size {
                    break;
                }
                let batch = build(cfg.shard.of(chunk), &counter);
                let stop = batch.is_err();
                if tx.send(batch).is_err() || stop {
                    break; // consumer gone, or an error was delivered
                }
            }
        });
        Ok(Self {
            receiver: rx,
            worker: Some(worker),
            skipped,
        })
    }

    /// Samples skipped so far (with `OnBadImage::Skip`).
    pub fn skipped(&self) -> usize {
        self.skipped.load(Ordering::Relaxed)
    }
}

impl EpochLoader<PoseBatch> {
    /// Pose batches of one epoch.
    pub fn pose(
        dataset: Arc<PoseDataset>,
        sample: SampleConfig,
        cfg: LoaderConfig,
        epoch: u64,
    ) -> Result<Self, DataError> {
        let n = dataset.people.len();
        Self::with_builder(n, cfg, epoch, move |chunk, skipped| {
            make_batch(
                &dataset,
                chunk,
                &sample,
                cfg.seed,
                epoch,
                cfg.on_bad_image,
                skipped,
            )
        })
    }
}

impl<B> Iterator for EpochLoader<B> {
    type Item = Result<B, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.receiver.recv() {
            Ok(b) => Some(b),
            Err(_) => {
                if let Some(w) = self.worker.take() {
                    let _ = w.join();
                }
                None
            }
        }
    }
}
