//! Inference on whole images: pose joints with a skeleton drawing, face label maps blended
//! over the image.

use candle_core::{Device, Result};
use ndarray::{Array2, Array3, Array4, Axis};
use tnet_data::raster::{Rgb, capsule, disc, hsv};
use tnet_data::transform::{Affine, warp_bilinear};
use tnet_hourglass::{Kernels, TNet};
use tnet_metrics::decode::decode_heatmaps;

use crate::eval::{predict_heatmaps, to_tensor4};

/// MPII limbs (MPII joint order).
pub const SKELETON: [(usize, usize); 15] = [
    (0, 1),
    (1, 2),
    (2, 6),
    (6, 3),
    (3, 4),
    (4, 5),
    (6, 7),
    (7, 8),
    (8, 9),
    (10, 11),
    (11, 12),
    (12, 7),
    (7, 13),
    (13, 14),
    (14, 15),
];

/// The crop covering the whole image (centered square of its larger side) at `size` px.
fn whole_image_crop(h: usize, w: usize, size: usize) -> Affine {
    let center = [w as f64 / 2.0, h as f64 / 2.0];
    let scale = h.max(w) as f64 / 200.0;
    Affine::crop(center, scale, 0.0, size, size)
}

fn input_of(image: &Array3<u8>, crop: &Affine, size: usize) -> Result<Array4<f32>> {
    let back = crop
        .inverse()
        .ok_or_else(|| candle_core::Error::Msg("degenerate crop".into()))?;
    let mut input = Array4::<f32>::zeros((1, 3, size, size));
    let mut view = input.index_axis_mut(Axis(0), 0);
    warp_bilinear(&image.view(), &back, [1.0; 3], &mut view);
    Ok(input)
}

/// `(16, 2)` joints `(x, y)` in 0-based image pixels and their heatmap peaks, for an image
/// showing one person filling it (the whole image is the crop); `kernels` from
/// `net.kernels(KernelMode::Eval)`, made once for all images.
pub fn predict_pose(
    net: &TNet,
    kernels: &Kernels,
    image: &Array3<u8>,
    flip: bool,
    device: &Device,
) -> Result<(Array2<f64>, Vec<f64>)> {
    let size = net.config().input_size;
    let (h, w, _) = image.dim();
    let crop = whole_image_crop(h, w, size);
    let input = input_of(image, &crop, size)?;
    let heat = predict_heatmaps(net, kernels, &input, flip, device)?;
    let (coords, peaks) = decode_heatmaps(&heat.index_axis(Axis(0), 0));
    let back = crop
        .inverse()
        .ok_or_else(|| candle_core::Error::Msg("degenerate crop".into()))?;
    let stride = (size / heat.dim().2) as f64;
    let mut joints = Array2::<f64>::zeros((coords.nrows(), 2));
    for j in 0..coords.nrows() {
        let p = back.apply([coords[[j, 0]] * stride, coords[[j, 1]] * stride]);
        joints[[j, 0]] = p[0];
        joints[[j, 1]] = p[1];
    }
    Ok((joints, peaks.to_vec()))
}

/// Draws limbs and joints over `image` (in place).
pub fn draw_skeleton(image: &mut Array3<u8>, joints: &Array2<f64>) {
    let (h, w, _) = image.dim();
    let r = (h.max(w) as f64 / 120.0).max(1.5);
    let mut view = image.view_mut();
    for (i, &(a, b)) in SKELETON.iter().enumerate() {
        if a < joints.nrows() && b < joints.nrows() {
            let color = hsv(i as f64 / SKELETON.len() as f64 * 300.0, 0.9, 1.0);
            capsule(
                &mut view,
                [joints[[a, 0]], joints[[a, 1]]],
                [joints[[b, 0]], joints[[b, 1]]],
                r * 0.6,
                color,
            );
        }
    }
    for j in 0..joints.nrows() {
        disc(
            &mut view,
            [joints[[j, 0]], joints[[j, 1]]],
            r,
            [255, 255, 255],
        );
    }
}

/// Per-pixel class labels at the image's own size (the image resized to the input, the
/// predicted map resized back, nearest).
pub fn predict_labels(
    net: &TNet,
    kernels: &Kernels,
    image: &Array3<u8>,
    device: &Device,
) -> Result<Array2<u8>> {
    let size = net.config().input_size;
    let (h, w, _) = image.dim();
    // Stretch the image to the square input (face crops are about square).
    let to_input = Affine([
        [size as f64 / w as f64, 0.0, 0.0],
        [0.0, size as f64 / h as f64, 0.0],
    ]);
    let input = input_of(image, &to_input, size)?;
    let out = net.forward_with(kernels, &to_tensor4(&input, device)?, false)?;
    let logits = out
        .last()
        .ok_or_else(|| candle_core::Error::Msg("network without outputs".into()))?;
    let pred: Vec<u32> = logits.argmax(1)?.flatten_all()?.to_vec1()?;
    let mut labels = Array2::<u8>::zeros((h, w));
    for y in 0..h {
        for x in 0..w {
            let sy = ((y as f64 + 0.5) * size as f64 / h as f64) as usize;
            let sx = ((x as f64 + 0.5) * size as f64 / w as f64) as usize;
            labels[[y, x]] = pred[sy.min(size - 1) * size + sx.min(size - 1)] as u8;
        }
    }
    Ok(labels)
}

/// A colour per class (background black).
pub fn class_color(c: u8) -> Rgb {
    if c == 0 {
        [0, 0, 0]
    } else {
        hsv((c as f64 * 137.5) % 360.0, 0.85, 1.0)
    }
}

/// The label map blended half over the image (background left as it is).
pub fn blend_labels(image: &Array3<u8>, labels: &Array2<u8>) -> Array3<u8> {
    let mut out = image.clone();
    for ((y, x), &c) in labels.indexed_iter() {
        if c == 0 {
            continue;
        }
        let col = class_color(c);
        for ch in 0..3 {
            out[[y, x, ch]] = ((out[[y, x, ch]] as u16 + col[ch] as u16) / 2) as u8;
        }
    }
    out
}

/// Writes an `H x W x 3` image as PNG.
pub fn save_png(path: &std::path::Path, img: &Array3<u8>) -> std::result::Result<(), String> {
    let (h, w, _) = img.dim();
    let data: Vec<u8> = img.iter().copied().collect();
    image::save_buffer(
        path,
        &data,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}
