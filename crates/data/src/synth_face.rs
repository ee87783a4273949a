//! Synthetic faces with their 11-class labels, written in the Helen layout
//! (`cargo xtask data synth-face`): learnable data for the default run and the tests.

use std::path::Path;

use ndarray::{Array2, Array3};
use rayon::prelude::*;
use tnet_tensor::random::SeededRng;

use crate::DataError;
use crate::helen::N_CLASSES;
use crate::raster::{Rgb, hsv};

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
