//! Face parsing data (Helen's 11 classes, docs/data.md): readers for the Helen layout (one
//! mask image per class) and the single label-map layout, a face sample pipeline, and a
//! synthetic face set written in the Helen layout (`cargo xtask data synth-face`).
//!
//! "Left" and "right" classes are the person's: on a face looking at the camera, the left eye
//! is on the image right. A horizontal flip swaps them.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3};
use rayon::prelude::*;
use tnet_tensor::random::SeededRng;

use crate::DataError;
use crate::pose_loader::Augment;
use crate::raster::{Rgb, hsv};
use crate::transform::{Affine, warp_bilinear};

/// Number of face-parsing classes (background included).
pub const N_CLASSES: usize = 11;

/// Class pairs a horizontal flip swaps: brows (2, 3) and eyes (4, 5).
pub const FLIP_CLASS_PAIRS: [(u8, u8); 2] = [(2, 3), (4, 5)];

/// Where an item's labels are stored.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelSource {
    /// Helen: one grayscale mask per class, `labels/ID/ID_lbl00.png` .. `ID_lbl10.png`;
    /// the label of a pixel is the class of the largest mask value (ties: lowest class).
    HelenMasks(Vec<PathBuf>),
    /// One PNG whose pixel values are class ids.
    LabelMap(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaceItem {
    pub id: String,
    pub image: PathBuf,
    pub labels: LabelSource,
}

/// Reads the ids of a split file: one per line, either `ID` or Helen's `N , ID`.
pub fn read_split(path: &Path) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|l| l.rsplit(',').next().unwrap_or("").trim().to_string())
        .filter(|id| !id.is_empty())
        .collect())
}

/// The items of `split_file` under `data_dir` (`images/ID.jpg|png` and `labels/...`), in the
/// Helen layout when `labels/ID/` exists, else the label-map layout (`labels/ID.png`).
pub fn read_face_split(data_dir: &Path, split_file: &Path) -> Result<Vec<FaceItem>, DataError> {
    read_split(split_file)?
        .into_iter()
        .map(|id| {
            let image = ["jpg", "png", "jpeg"]
                .iter()
                .map(|ext| data_dir.join("images").join(format!("{id}.{ext}")))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    DataError::Invalid(format!("{}: no image images/{id}.jpg (or .png) for id '{id}'", split_file.display()))
                })?;
            let helen = data_dir.join("labels").join(&id);
            let labels = if helen.is_dir() {
                let masks: Vec<PathBuf> = (0..N_CLASSES).map(|c| helen.join(format!("{id}_lbl{c:02}.png"))).collect();
                if let Some(missing) = masks.iter().find(|m| !m.is_file()) {
                    return Err(DataError::Invalid(format!("{}: mask {} is missing", split_file.display(), missing.display())));
                }
                LabelSource::HelenMasks(masks)
            } else {
                let map = data_dir.join("labels").join(format!("{id}.png"));
                if !map.is_file() {
                    return Err(DataError::Invalid(format!(
                        "{}: no labels for '{id}': expected labels/{id}/{id}_lbl00.png .. (Helen) or labels/{id}.png",
                        split_file.display()
                    )));
                }
                LabelSource::LabelMap(map)
            };
            Ok(FaceItem { id, image, labels })
        })
        .collect()
}

fn gray(path: &Path) -> Result<Array2<u8>, DataError> {
    let img = crate::image_file::open_image(path)?.into_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    Array2::from_shape_vec((h, w), img.into_raw())
        .map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))
}

/// The `H x W` class map of an item; checks sizes and class ids.
pub fn load_labels(item: &FaceItem) -> Result<Array2<u8>, DataError> {
    match &item.labels {
        LabelSource::LabelMap(p) => {
            let map = gray(p)?;
            if let Some(bad) = map.iter().find(|&&v| v as usize >= N_CLASSES) {
                return Err(DataError::Invalid(format!(
                    "{}: class id {bad} outside 0..{N_CLASSES}",
                    p.display()
                )));
            }
            Ok(map)
        }
        LabelSource::HelenMasks(masks) => {
            let mut best: Option<(Array2<u8>, Array2<u8>)> = None; // (labels, best value)
            for (c, p) in masks.iter().enumerate() {
                let m = gray(p)?;
                let (labels, value) =
                    best.get_or_insert_with(|| (Array2::zeros(m.dim()), Array2::zeros(m.dim())));
                if m.dim() != labels.dim() {
                    return Err(DataError::Invalid(format!(
                        "{}: mask is {:?}, the others {:?}",
                        p.display(),
                        m.dim(),
                        labels.dim()
                    )));
                }
                ndarray::Zip::from(labels)
                    .and(value)
                    .and(&m)
                    .for_each(|l, v, &x| {
                        if c == 0 || x > *v {
                            *l = c as u8;
                            *v = x;
                        }
                    });
            }
            Ok(best.expect("11 masks").0)
        }
    }
}

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

/// Image and label map painted together.
struct Canvas {
    img: Array3<u8>,
    lbl: Array2<u8>,
}

impl Canvas {
    /// Fills the points where `inside(x, y)` holds within the box, on both.
    fn fill(
        &mut self,
        bbox: [f64; 4],
        color: Rgb,
        class: Option<u8>,
        inside: impl Fn(f64, f64) -> bool,
    ) {
        let (h, w) = self.lbl.dim();
        let clip = |v: f64, hi: usize| (v.max(0.0) as usize).min(hi);
        for y in clip(bbox[1].floor(), h)..clip(bbox[3].ceil() + 1.0, h) {
            for x in clip(bbox[0].floor(), w)..clip(bbox[2].ceil() + 1.0, w) {
                if inside(x as f64, y as f64) {
                    crate::raster::set(&mut self.img.view_mut(), y, x, color);
                    if let Some(c) = class {
                        self.lbl[[y, x]] = c;
                    }
                }
            }
        }
    }

    fn ellipse(
        &mut self,
        c: [f64; 2],
        rx: f64,
        ry: f64,
        angle: f64,
        color: Rgb,
        class: Option<u8>,
    ) {
        let (s, co) = angle.to_radians().sin_cos();
        let r = rx.max(ry);
        self.fill(
            [c[0] - r, c[1] - r, c[0] + r, c[1] + r],
            color,
            class,
            |x, y| {
                let (dx, dy) = (x - c[0], y - c[1]);
                let (u, v) = (dx * co + dy * s, -dx * s + dy * co);
                (u / rx).powi(2) + (v / ry).powi(2) <= 1.0
            },
        );
    }
}

/// Renders one synthetic face on a `size x size` image with its class map.
pub fn render_face(rng: &mut SeededRng, size: usize) -> (Array3<u8>, Array2<u8>) {
    let s = size as f64;
    let mut cv = Canvas {
        img: Array3::zeros((size, size, 3)),
        lbl: Array2::zeros((size, size)),
    };
    // Background: two-colour gradient with noise, then clutter (background class).
    let (c0, c1) = (
        hsv(rng.range(0.0, 360.0), 0.4, 0.7),
        hsv(rng.range(0.0, 360.0), 0.4, 0.4),
    );
    let mut noise = SeededRng::new(rng.next_u64());
    for y in 0..size {
        for x in 0..size {
            let t = y as f64 / s;
            let n = (noise.uniform() - 0.5) * 20.0;
            for ch in 0..3 {
                cv.img[[y, x, ch]] =
                    (c0[ch] as f64 * (1.0 - t) + c1[ch] as f64 * t + n).clamp(0.0, 255.0) as u8;
            }
        }
    }
    for _ in 0..(3 + (rng.uniform() * 6.0) as usize) {
        let c = [rng.range(0.0, s), rng.range(0.0, s)];
        let color = hsv(
            rng.range(0.0, 360.0),
            rng.range(0.2, 0.8),
            rng.range(0.2, 0.9),
        );
        cv.ellipse(
            c,
            rng.range(0.02, 0.15) * s,
            rng.range(0.02, 0.15) * s,
            rng.range(0.0, 180.0),
            color,
            Some(0),
        );
    }
    // The face: a frame rotated by `tilt` around its centre, sizes relative to the face width.
    // Face-parsing sets (Helen and its ports) are face-centred crops: the face fills most of
    // the image. Parts are drawn thick enough (brows, lips at least ~1/10 of the face) to span
    // a few cells of the network's quarter-resolution output at the 128 px default input.
    let fw = rng.range(0.45, 0.65) * s;
    let center = [rng.range(0.42, 0.58) * s, rng.range(0.45, 0.58) * s];
    let tilt = (rng.normal() * 15.0).clamp(-40.0, 40.0);
    let yaw = rng.range(-0.15, 0.15); // shifts the features sideways
    let (sn, cs) = tilt.to_radians().sin_cos();
    let at = |u: f64, v: f64| {
        [
            center[0] + fw * ((u + yaw) * cs - v * sn),
            center[1] + fw * ((u + yaw) * sn + v * cs),
        ]
    };
    let skin = hsv(
        rng.range(15.0, 35.0),
        rng.range(0.25, 0.6),
        rng.range(0.45, 0.95),
    );
    let hair = hsv(
        rng.range(0.0, 45.0),
        rng.range(0.3, 0.8),
        rng.range(0.1, 0.6),
    );
    let hair_c = [center[0] + fw * 0.25 * sn, center[1] - fw * 0.25 * cs];
    cv.ellipse(
        hair_c,
        fw * rng.range(0.6, 0.75),
        fw * rng.range(0.6, 0.8),
        tilt,
        hair,
        Some(10),
    );
    cv.ellipse(center, fw * 0.5, fw * 0.65, tilt, skin, Some(1));
    let brow = hsv(rng.range(0.0, 40.0), 0.5, rng.range(0.1, 0.35));
    let eye_white = [235, 235, 230];
    // Person's right = image left (u < 0).
    for (side, brow_class, eye_class) in [(-1.0, 3u8, 5u8), (1.0, 2u8, 4u8)] {
        cv.ellipse(
            at(side * 0.22, -0.26),
            fw * 0.13,
            fw * 0.05,
            tilt + side * rng.range(-10.0, 10.0),
            brow,
            Some(brow_class),
        );
        cv.ellipse(
            at(side * 0.22, -0.1),
            fw * 0.11,
            fw * 0.065,
            tilt,
            eye_white,
            Some(eye_class),
        );
        cv.ellipse(
            at(side * 0.22, -0.1),
            fw * 0.04,
            fw * 0.04,
            0.0,
            [30, 30, 40],
            Some(eye_class),
        );
    }
    let nose = [
        (skin[0] as f64 * 0.85) as u8,
        (skin[1] as f64 * 0.8) as u8,
        (skin[2] as f64 * 0.8) as u8,
    ];
    cv.ellipse(at(0.0, 0.08), fw * 0.09, fw * 0.15, tilt, nose, Some(6));
    let lip = hsv(
        rng.range(340.0, 370.0),
        rng.range(0.4, 0.8),
        rng.range(0.4, 0.8),
    );
    let open = rng.range(0.0, 0.1);
    cv.ellipse(
        at(0.0, 0.37 + open),
        fw * 0.18,
        fw * 0.06,
        tilt,
        lip,
        Some(9),
    );
    if open > 0.02 {
        cv.ellipse(
            at(0.0, 0.33 + open / 2.0),
            fw * 0.14,
            fw * open * 0.8 + fw * 0.01,
            tilt,
            [60, 20, 25],
            Some(8),
        );
    }
    cv.ellipse(at(0.0, 0.29), fw * 0.17, fw * 0.055, tilt, lip, Some(7));
    (cv.img, cv.lbl)
}

/// Writes `n_train + n_test` synthetic faces in the Helen layout under `dir`: `images/ID.jpg`,
/// `labels/ID/ID_lblNN.png` (255 on the class, 0 elsewhere), `train.txt`, `test.txt`.
pub fn write_synth_face(
    dir: &Path,
    n_train: usize,
    n_test: usize,
    seed: u64,
    size: usize,
) -> Result<(), DataError> {
    if n_train == 0 || n_test == 0 || size < 32 {
        return Err(DataError::Invalid(format!(
            "synthetic faces need at least one training and one test image of at least 32 px (got {n_train}, {n_test}, {size} px)"
        )));
    }
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DataError::Io {
            path: p.clone(),
            source,
        }
    };
    for sub in ["images", "labels"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(io(&dir.join(sub)))?;
    }
    for (split, n, name) in [(0u64, n_train, "train"), (1u64, n_test, "test")] {
        let ids: Vec<String> = (0..n).map(|i| format!("{name}_{i:05}")).collect();
        ids.par_iter()
            .enumerate()
            .try_for_each(|(i, id)| -> Result<(), DataError> {
                let mut rng = SeededRng::new(
                    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (split << 60) ^ i as u64,
                );
                let (img, lbl) = render_face(&mut rng, size);
                crate::synth_pose::save_jpeg(
                    &dir.join("images").join(format!("{id}.jpg")),
                    &img.view(),
                )?;
                let mask_dir = dir.join("labels").join(id);
                std::fs::create_dir_all(&mask_dir).map_err(io(&mask_dir))?;
                for c in 0..N_CLASSES {
                    let mask: Vec<u8> = lbl
                        .iter()
                        .map(|&l| if l as usize == c { 255 } else { 0 })
                        .collect();
                    let path = mask_dir.join(format!("{id}_lbl{c:02}.png"));
                    image::save_buffer(
                        &path,
                        &mask,
                        size as u32,
                        size as u32,
                        image::ExtendedColorType::L8,
                    )
                    .map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))?;
                }
                Ok(())
            })?;
        let list = dir.join(format!("{name}.txt"));
        std::fs::write(&list, ids.join("\n") + "\n").map_err(io(&list))?;
    }
    Ok(())
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
