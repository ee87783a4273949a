//! Procedurally rendered people in MPII joint order, written in the HRNet layout so that the
//! real loader and evaluator are the ones exercised (`cargo xtask data synth-pose`).
//!
//! Each image holds one articulated figure: plausible limb-length ratios, joint-angle limits,
//! thick limbs, a head with eyes (front) or hair (back), right limbs in warm and left limbs in
//! cool colours (so left and right can be told apart), a random drawing order of the two sides
//! (self-occlusion), random scale / rotation / position, a textured background with clutter and
//! sometimes occluders in front. Joints outside the image are marked unlabelled.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, ArrayView3};
use rayon::prelude::*;
use tnet_tensor::random::SeededRng;

use crate::DataError;
use crate::mpii::{Joints, MpiiPerson, N_JOINTS};
use crate::raster::{Rgb, capsule, disc, hsv, rect};
use crate::transform::Affine;

/// One rendered sample (coordinates 0-based pixels).
#[derive(Debug, Clone)]
pub struct SynthPerson {
    /// `H x W x 3` RGB.
    pub image: Array3<u8>,
    pub joints: Joints,
    /// Labelled (inside the image).
    pub visible: [bool; N_JOINTS],
    /// Head box corners `[top-left, bottom-right]`.
    pub headbox: [[f64; 2]; 2],
    pub center: [f64; 2],
    /// Person height / 200.
    pub scale: f64,
}

fn rot(v: [f64; 2], deg: f64) -> [f64; 2] {
    let (s, c) = deg.to_radians().sin_cos();
    [v[0] * c - v[1] * s, v[0] * s + v[1] * c]
}

fn add(a: [f64; 2], v: [f64; 2], k: f64) -> [f64; 2] {
    [a[0] + k * v[0], a[1] + k * v[1]]
}

fn clamp_normal(rng: &mut SeededRng, sd: f64, limit: f64) -> f64 {
    (rng.normal() * sd).clamp(-limit, limit)
}

/// Renders one person on a `size x size` image.
pub fn render_person(rng: &mut SeededRng, size: usize) -> SynthPerson {
    render_person_wh(rng, size, size)
}

/// Renders one person on a `width x height` image.
pub fn render_person_wh(rng: &mut SeededRng, width: usize, height_px: usize) -> SynthPerson {
    let (sw, sh) = (width as f64, height_px as f64);
    let s = sw.min(sh);
    let height = rng.range(0.45, 0.85) * s;
    let tilt = clamp_normal(rng, 30.0, 70.0) + clamp_normal(rng, 10.0, 25.0);
    let up = rot([0.0, -1.0], tilt);
    let down = [-up[0], -up[1]];
    let perp = [-up[1], up[0]]; // image-right when upright
    let front = rng.uniform() < 0.6;
    // Facing the camera, the person's right side is on the image left.
    let right_sign = if front { -1.0 } else { 1.0 };
    let right = [perp[0] * right_sign, perp[1] * right_sign];
    let pelvis = [rng.range(0.3, 0.7) * sw, rng.range(0.45, 0.7) * sh];

    let mut j = [[0.0f64; 2]; N_JOINTS];
    j[6] = pelvis;
    j[7] = add(pelvis, up, 0.30 * height);
    j[8] = add(j[7], rot(up, clamp_normal(rng, 10.0, 25.0)), 0.07 * height);
    j[9] = add(j[8], rot(up, clamp_normal(rng, 15.0, 35.0)), 0.13 * height);
    j[2] = add(pelvis, right, 0.055 * height);
    j[3] = add(pelvis, right, -0.055 * height);
    j[12] = add(j[7], right, 0.10 * height);
    j[13] = add(j[7], right, -0.10 * height);
    // Legs: hip (2, 3) -> knee (1, 4) -> ankle (0, 5).
    for (hip, knee, ankle) in [(2, 1, 0), (3, 4, 5)] {
        let thigh = rot(down, rng.range(-55.0, 55.0));
        let bend = rng.range(0.0, 120.0) * if rng.uniform() < 0.5 { 1.0 } else { -1.0 };
        j[knee] = add(j[hip], thigh, 0.245 * height);
        j[ankle] = add(j[knee], rot(thigh, bend), 0.245 * height);
    }
    // Arms: shoulder (12, 13) -> elbow (11, 14) -> wrist (10, 15).
    for (shoulder, elbow, wrist, side) in [(12, 11, 10, 1.0), (13, 14, 15, -1.0)] {
        let swing = rng.range(-40.0, 170.0) * side * right_sign;
        let upper = rot(down, swing);
        let bend = rng.range(0.0, 140.0) * if rng.uniform() < 0.5 { 1.0 } else { -1.0 };
        j[elbow] = add(j[shoulder], upper, 0.18 * height);
        j[wrist] = add(j[elbow], rot(upper, bend), 0.15 * height);
    }

    let mut image = background(rng, width, height_px);
    let mut img = image.view_mut();
    let limb_r = 0.035 * height;
    let warm = rng.range(-20.0, 50.0);
    let cool = rng.range(170.0, 260.0);
    let right_colors = [hsv(warm, 0.8, 0.9), hsv(warm + 15.0, 0.9, 0.6)];
    let left_colors = [hsv(cool, 0.8, 0.9), hsv(cool + 15.0, 0.9, 0.6)];
    let draw_side = |img: &mut ndarray::ArrayViewMut3<'_, u8>, is_right: bool| {
        let (c, legs, arms) = if is_right {
            (right_colors, (2, 1, 0), (12, 11, 10))
        } else {
            (left_colors, (3, 4, 5), (13, 14, 15))
        };
        for (a, b, cc) in [
            (legs.0, legs.1, c[0]),
            (legs.1, legs.2, c[1]),
            (arms.0, arms.1, c[0]),
            (arms.1, arms.2, c[1]),
        ] {
            capsule(img, j[a], j[b], limb_r, cc);
        }
    };
    let right_first = rng.uniform() < 0.5;
    draw_side(&mut img, !right_first);
    let torso_color = hsv(
        rng.range(0.0, 360.0),
        rng.range(0.2, 0.7),
        rng.range(0.3, 0.8),
    );
    capsule(&mut img, j[6], j[7], 0.09 * height, torso_color);
    capsule(&mut img, j[2], j[3], limb_r, torso_color);
    capsule(&mut img, j[12], j[13], limb_r, torso_color);
    capsule(&mut img, j[7], j[8], 0.03 * height, hsv(25.0, 0.4, 0.8));
    let head_c = [(j[8][0] + j[9][0]) / 2.0, (j[8][1] + j[9][1]) / 2.0];
    disc(
        &mut img,
        head_c,
        0.065 * height,
        hsv(rng.range(15.0, 35.0), 0.45, rng.range(0.5, 0.95)),
    );
    if front {
        for side in [-1.0, 1.0] {
            disc(
                &mut img,
                add(add(head_c, perp, side * 0.025 * height), up, 0.01 * height),
                0.01 * height,
                [20, 20, 20],
            );
        }
    } else {
        disc(
            &mut img,
            add(head_c, up, 0.01 * height),
            0.055 * height,
            hsv(rng.range(0.0, 40.0), 0.6, 0.25),
        );
    }
    draw_side(&mut img, right_first);
    // Occluders in front of the person, sometimes.
    if rng.uniform() < 0.3 {
        let (cx, cy) = (rng.range(0.0, sw), rng.range(0.0, sh));
        let (w, h) = (rng.range(0.05, 0.25) * s, rng.range(0.05, 0.25) * s);
        rect(
            &mut img,
            cx,
            cy,
            cx + w,
            cy + h,
            hsv(rng.range(0.0, 360.0), 0.5, 0.6),
        );
    }

    let inside = |p: [f64; 2]| p[0] >= 0.0 && p[1] >= 0.0 && p[0] <= sw - 1.0 && p[1] <= sh - 1.0;
    let visible = j.map(inside);
    let head_len = ((j[9][0] - j[8][0]).powi(2) + (j[9][1] - j[8][1]).powi(2)).sqrt();
    let half = 0.5 * head_len;
    let headbox = [
        [head_c[0] - half, head_c[1] - half],
        [head_c[0] + half, head_c[1] + half],
    ];
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in &j {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let center = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    SynthPerson {
        image,
        joints: j,
        visible,
        headbox,
        center,
        scale: extent / 200.0,
    }
}

/// Colour gradient, pixel noise and clutter (including limb-like strokes).
fn background(rng: &mut SeededRng, width: usize, height: usize) -> Array3<u8> {
    let c0 = hsv(
        rng.range(0.0, 360.0),
        rng.range(0.0, 0.6),
        rng.range(0.2, 0.9),
    );
    let c1 = hsv(
        rng.range(0.0, 360.0),
        rng.range(0.0, 0.6),
        rng.range(0.2, 0.9),
    );
    let mut img = Array3::<u8>::zeros((height, width, 3));
    let noise_seed = rng.next_u64();
    let mut noise = SeededRng::new(noise_seed);
    for y in 0..height {
        let t = y as f64 / height as f64;
        for x in 0..width {
            let n = (noise.uniform() - 0.5) * 24.0;
            for ch in 0..3 {
                let v = c0[ch] as f64 * (1.0 - t) + c1[ch] as f64 * t + n;
                img[[y, x, ch]] = v.clamp(0.0, 255.0) as u8;
            }
        }
    }
    let (sw, sh) = (width as f64, height as f64);
    let s = sw.min(sh);
    let mut view = img.view_mut();
    for _ in 0..(4 + (rng.uniform() * 8.0) as usize) {
        let color: Rgb = hsv(
            rng.range(0.0, 360.0),
            rng.range(0.2, 0.9),
            rng.range(0.2, 0.9),
        );
        match (rng.uniform() * 3.0) as u32 {
            0 => {
                let (x, y) = (rng.range(-0.1, 1.0) * sw, rng.range(-0.1, 1.0) * sh);
                rect(
                    &mut view,
                    x,
                    y,
                    x + rng.range(0.03, 0.3) * s,
                    y + rng.range(0.03, 0.3) * s,
                    color,
                );
            }
            1 => disc(
                &mut view,
                [rng.range(0.0, s), rng.range(0.0, s)],
                rng.range(0.01, 0.08) * s,
                color,
            ),
            _ => {
                let a = [rng.range(0.0, sw), rng.range(0.0, sh)];
                let b = add(
                    a,
                    rot([1.0, 0.0], rng.range(0.0, 360.0)),
                    rng.range(0.05, 0.3) * s,
                );
                capsule(&mut view, a, b, rng.range(0.005, 0.03) * s, color);
            }
        }
    }
    img
}

/// Seed of sample `index` of a split, so samples are the same whatever the thread count.
fn sample_seed(seed: u64, split: u64, index: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (split << 56)
        ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// What [`write_synth_pose`] produced.
#[derive(Debug, Clone)]
pub struct SynthPoseSummary {
    pub dir: PathBuf,
    pub train: usize,
    pub val: usize,
    /// PCKh@0.5 (Mean) on the validation set of always predicting the training set's mean
    /// pose (in crop coordinates): the floor a model must beat.
    pub mean_pose_pckh: f64,
}

/// Writes `n_train + n_val` rendered people to `dir` in the HRNet / mmpose layout:
/// `images/*.jpg`, `annot/train.json`, `annot/valid.json`, `annot/gt_valid.mat`.
/// `progress` is called with the number of images written so far (from any thread).
pub fn write_synth_pose(
    dir: &Path,
    n_train: usize,
    n_val: usize,
    seed: u64,
    image_size: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<SynthPoseSummary, DataError> {
    if n_train == 0 || n_val == 0 || image_size < 32 {
        return Err(DataError::Invalid(format!(
            "synthetic pose data needs at least one training and one validation image of at least 32 px \
             (got {n_train}, {n_val}, {image_size} px)"
        )));
    }
    let images = dir.join("images");
    let annot = dir.join("annot");
    for d in [&images, &annot] {
        std::fs::create_dir_all(d).map_err(|source| DataError::Io {
            path: d.clone(),
            source,
        })?;
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut splits: Vec<Vec<MpiiPerson>> = Vec::new();
    let mut val_boxes = Vec::new();
    for (split, n, name) in [(0u64, n_train, "train"), (1u64, n_val, "valid")] {
        let people = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut rng = SeededRng::new(sample_seed(seed, split, i));
                let p = render_person(&mut rng, image_size);
                let file = format!("{name}_{i:06}.jpg");
                save_jpeg(&images.join(&file), &p.image.view())?;
                progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                // Stored 1-based, as MPII and HRNet do.
                let person = MpiiPerson {
                    image: file,
                    center: [p.center[0] + 1.0, p.center[1] + 1.0],
                    scale: p.scale,
                    joints: Some(p.joints.map(|[x, y]| [x + 1.0, y + 1.0])),
                    visible: Some(p.visible),
                    is_validation: Some(split == 1),
                    others: Vec::new(),
                };
                let hb = p.headbox.map(|[x, y]| [x + 1.0, y + 1.0]);
                Ok((person, hb))
            })
            .collect::<Result<Vec<_>, DataError>>()?;
        let (people, boxes): (Vec<MpiiPerson>, Vec<[[f64; 2]; 2]>) = people.into_iter().unzip();
        write_hrnet_json(&annot.join(format!("{name}.json")), &people)?;
        splits.push(people);
        val_boxes = boxes; // the last split is the validation set
    }
    let gt = ground_truth(&splits[1], &val_boxes);
    write_gt_valid(&annot.join("gt_valid.mat"), &gt)?;
    let mean_pose_pckh = mean_pose_baseline(&splits[0], &splits[1], &gt)?;
    Ok(SynthPoseSummary {
        dir: dir.to_path_buf(),
        train: n_train,
        val: n_val,
        mean_pose_pckh,
    })
}

pub fn save_jpeg(path: &Path, img: &ArrayView3<'_, u8>) -> Result<(), DataError> {
    let (h, w, _) = img.dim();
    let data: Vec<u8> = img.iter().copied().collect();
    let file = std::fs::File::create(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer = std::io::BufWriter::new(file);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut writer, 92)
        .encode(&data, w as u32, h as u32, image::ExtendedColorType::Rgb8)
        .map_err(|e| {
            DataError::Invalid(format!("{}: JPEG encoding failed: {e}", path.display()))
        })?;
    writer.flush().map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes people as HRNet's `train.json` / `valid.json` (1-based coordinates).
pub fn write_hrnet_json(path: &Path, people: &[MpiiPerson]) -> Result<(), DataError> {
    let records: Vec<serde_json::Value> = people
        .iter()
        .map(|p| {
            let mut r = serde_json::json!({"image": p.image, "center": p.center, "scale": p.scale});
            if let (Some(j), Some(v)) = (p.joints, p.visible) {
                r["joints"] = serde_json::json!(j);
                r["joints_vis"] = serde_json::json!(v.map(u8::from));
            }
            r
        })
        .collect();
    let text = serde_json::to_string(&records).map_err(|e| DataError::Invalid(e.to_string()))?;
    std::fs::write(path, text).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The PCKh ground truth of validation people (1-based joints and head boxes).
fn ground_truth(
    val: &[MpiiPerson],
    boxes: &[[[f64; 2]; 2]],
) -> tnet_metrics::pckh::PckhGroundTruth {
    let n = val.len();
    let mut joints = Array3::<f64>::zeros((n, N_JOINTS, 2));
    let mut missing = Array2::<bool>::from_elem((n, N_JOINTS), true);
    let mut headboxes = Array3::<f64>::zeros((n, 2, 2));
    for (s, (p, hb)) in val.iter().zip(boxes).enumerate() {
        let (Some(j), Some(v)) = (p.joints, p.visible) else {
            continue;
        };
        for k in 0..N_JOINTS {
            joints[[s, k, 0]] = j[k][0];
            joints[[s, k, 1]] = j[k][1];
            missing[[s, k]] = !v[k];
        }
        for c in 0..2 {
            headboxes[[s, c, 0]] = hb[c][0];
            headboxes[[s, c, 1]] = hb[c][1];
        }
    }
    tnet_metrics::pckh::PckhGroundTruth {
        joints,
        missing,
        headboxes,
    }
}

/// `gt_valid.mat` as MPII / HRNet ship it: `pos_gt_src` 16 x 2 x N, `jnt_missing` 16 x N,
/// `headboxes_src` 2 x 2 x N (1-based), and `pos_pred_src` (zeros, for the shape).
fn write_gt_valid(path: &Path, gt: &tnet_metrics::pckh::PckhGroundTruth) -> Result<(), DataError> {
    let pos = gt
        .joints
        .view()
        .permuted_axes([1, 2, 0])
        .as_standard_layout()
        .into_owned();
    let missing = gt.missing.t().mapv(|m| if m { 1.0 } else { 0.0 });
    let boxes = gt
        .headboxes
        .view()
        .permuted_axes([1, 2, 0])
        .as_standard_layout()
        .into_owned();
    let zeros = Array3::<f64>::zeros(pos.dim());
    let file = std::fs::File::create(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    crate::mat::write_mat(
        std::io::BufWriter::new(file),
        &[
            ("pos_gt_src", pos.view().into_dyn()),
            ("pos_pred_src", zeros.view().into_dyn()),
            ("jnt_missing", missing.view().into_dyn()),
            ("headboxes_src", boxes.view().into_dyn()),
        ],
    )
    .map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))
}

/// PCKh@0.5 of predicting, for every validation person, the training set's mean pose in the
/// normalized crop (HRNet's crop of each person), mapped back to the image.
pub fn mean_pose_baseline(
    train: &[MpiiPerson],
    val: &[MpiiPerson],
    gt: &tnet_metrics::pckh::PckhGroundTruth,
) -> Result<f64, DataError> {
    let crop = |p: &MpiiPerson| {
        let (c, s) = p.hrnet_crop();
        Affine::crop(c, s, 0.0, 256, 256)
    };
    let mut sum = [[0.0f64; 2]; N_JOINTS];
    let mut count = [0usize; N_JOINTS];
    for p in train {
        let (Some(j), Some(v)) = (p.joints_zero_based(), p.visible) else {
            continue;
        };
        let t = crop(p);
        for k in (0..N_JOINTS).filter(|&k| v[k]) {
            let q = t.apply(j[k]);
            sum[k][0] += q[0];
            sum[k][1] += q[1];
            count[k] += 1;
        }
    }
    let mean: Joints = std::array::from_fn(|k| {
        let n = count[k].max(1) as f64;
        [sum[k][0] / n, sum[k][1] / n]
    });
    let mut preds = Array3::<f64>::zeros((val.len(), N_JOINTS, 2));
    for (s, p) in val.iter().enumerate() {
        let back = crop(p)
            .inverse()
            .ok_or_else(|| DataError::Invalid(format!("degenerate crop of {}", p.image)))?;
        for k in 0..N_JOINTS {
            let q = back.apply(mean[k]);
            preds[[s, k, 0]] = q[0];
            preds[[s, k, 1]] = q[1];
        }
    }
    let report = tnet_metrics::pckh::evaluate(&preds.view(), gt)
        .map_err(|e| DataError::Invalid(e.to_string()))?;
    Ok(report.at_05.mean)
}
