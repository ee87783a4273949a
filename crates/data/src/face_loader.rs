//! Face-parsing samples and batches: an item's image and labels cropped, augmented (scale,
//! rotation, flip with the left / right classes swapped, colour gain) and batched in parallel.

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3};
use rayon::prelude::*;
use tnet_tensor::random::SeededRng;

use crate::DataError;
use crate::helen::{FLIP_CLASS_PAIRS, FaceItem, load_labels};
use crate::pose_loader::Augment;
use crate::transform::{Affine, warp_bilinear};

/// Builds a face sample: the whole image (square crop around its centre, augmented when asked)
/// into `image_out` (`3 x S x S`) and the labels, nearest-neighbour, into `labels_out` (`S x S`);
/// outside the image is background. A flip swaps the left / right classes.
pub fn face_sample_into(
    image: &ArrayView3<'_, u8>,
    labels: &ArrayView2<'_, u8>,
    augment: Option<Augment>,
    rng: &mut SeededRng,
    image_out: &mut ArrayViewMut3<'_, f32>,
    labels_out: &mut ArrayViewMut2<'_, u8>,
) -> Result<Affine, DataError> {
    let (h, w, _) = image.dim();
    if labels.dim() != (h, w) {
        return Err(DataError::Invalid(format!(
            "labels are {:?} but the image is {:?}",
            labels.dim(),
            (h, w)
        )));
    }
    let size = image_out.dim().1;
    // With the crop centre at (w / 2, h / 2), as the output's, an unaugmented sample of an
    // image already at the input size maps pixels onto themselves.
    let mut center = [w as f64 / 2.0, h as f64 / 2.0];
    let mut scale = w.max(h) as f64 / 200.0;
    let (mut rotation, mut gain, mut flip, mut flipped) =
        (0.0, [1.0f32; 3], Affine::IDENTITY, false);
    if let Some(a) = augment {
        scale *= (1.0 + rng.normal() * a.scale_sd).clamp(a.scale_range.0, a.scale_range.1);
        if rng.uniform() < a.rotation_prob {
            rotation = (rng.normal() * a.rotation_sd).clamp(-a.rotation_max, a.rotation_max);
        }
        if rng.uniform() < a.flip_prob {
            flip = Affine::flip_x(w);
            center = flip.apply(center);
            flipped = true;
        }
        for g in &mut gain {
            *g = a.gain_range.0 + (a.gain_range.1 - a.gain_range.0) * rng.uniform() as f32;
        }
    }
    let to_input = Affine::crop(center, scale, rotation, size, size).after(&flip);
    let to_image = to_input
        .inverse()
        .ok_or_else(|| DataError::Invalid("degenerate face crop".into()))?;
    warp_bilinear(image, &to_image, gain, image_out);
    let mut swap = [0u8; 256];
    for (k, s) in swap.iter_mut().enumerate() {
        *s = k as u8;
    }
    if flipped {
        for (a, b) in FLIP_CLASS_PAIRS {
            swap.swap(a as usize, b as usize);
        }
    }
    for ((y, x), out) in labels_out.indexed_iter_mut() {
        let [sx, sy] = to_image.apply([x as f64, y as f64]);
        let (ix, iy) = (sx.round(), sy.round());
        *out = if ix < 0.0 || iy < 0.0 || ix >= w as f64 || iy >= h as f64 {
            0
        } else {
            swap[labels[[iy as usize, ix as usize]] as usize]
        };
    }
    Ok(to_input)
}

/// How to build a face sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceSampleConfig {
    /// Side of the square network input.
    pub size: usize,
    /// `None` for evaluation.
    pub augment: Option<Augment>,
}

/// A batch of face-parsing samples.
#[derive(Debug, Clone)]
pub struct FaceBatch {
    /// `B x 3 x S x S`, values in [0, 1] times the colour gain.
    pub images: ndarray::Array4<f32>,
    /// `B x S x S` class ids.
    pub labels: ndarray::Array3<u8>,
    /// Dataset index of each sample.
    pub indices: Vec<usize>,
}

/// Builds a face batch on the rayon pool; each sample's augmentation is seeded by
/// `(seed, epoch, index)`, so the batch does not depend on the thread count.
pub fn make_face_batch(
    items: &[FaceItem],
    indices: &[usize],
    sample: &FaceSampleConfig,
    seed: u64,
    epoch: u64,
    on_bad_image: crate::pose_loader::OnBadImage,
    skipped: &std::sync::atomic::AtomicUsize,
) -> Result<FaceBatch, DataError> {
    use ndarray::Axis;
    let (b, size) = (indices.len(), sample.size);
    let mut images = ndarray::Array4::<f32>::zeros((b, 3, size, size));
    let mut labels = ndarray::Array3::<u8>::zeros((b, size, size));
    let ok: Vec<bool> = images
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(labels.axis_iter_mut(Axis(0)).into_par_iter())
        .zip(indices.par_iter())
        .map(|((mut img_out, mut lbl_out), &index)| {
            let item = &items[index];
            let loaded = crate::pose_loader::decode_rgb(&item.image)
                .and_then(|img| Ok((img, load_labels(item)?)));
            let (img, lbl) = match loaded {
                Ok(pair) => pair,
                Err(e) if on_bad_image == crate::pose_loader::OnBadImage::Skip => {
                    eprintln!("warning: skipping face {}: {e}", item.id);
                    skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            let mut rng = SeededRng::new(crate::pose_loader::sample_seed(seed, epoch, index));
            face_sample_into(
                &img.view(),
                &lbl.view(),
                sample.augment,
                &mut rng,
                &mut img_out,
                &mut lbl_out,
            )
            .map_err(|e| DataError::Invalid(format!("{}: {e}", item.image.display())))?;
            Ok(true)
        })
        .collect::<Result<_, DataError>>()?;
    let keep: Vec<usize> = (0..b).filter(|&k| ok[k]).collect();
    if keep.len() < b {
        images = images.select(Axis(0), &keep);
        labels = labels.select(Axis(0), &keep);
    }
    Ok(FaceBatch {
        images,
        labels,
        indices: keep.iter().map(|&k| indices[k]).collect(),
    })
}

/// Face-parsing batches of one epoch (see [`crate::pose_loader::EpochLoader`]).
pub fn face_epoch(
    items: std::sync::Arc<Vec<FaceItem>>,
    sample: FaceSampleConfig,
    cfg: crate::pose_loader::LoaderConfig,
    epoch: u64,
) -> Result<crate::pose_loader::EpochLoader<FaceBatch>, DataError> {
    let n = items.len();
    crate::pose_loader::EpochLoader::with_builder(n, cfg, epoch, move |chunk, skipped| {
        make_face_batch(
            &items,
            chunk,
            &sample,
            cfg.seed,
            epoch,
            cfg.on_bad_image,
            skipped,
        )
    })
}
