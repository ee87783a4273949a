//! The crop / scale / rotate / flip geometry of docs/data.md, bilinear warping into a
//! preallocated buffer, and the joint bookkeeping of flips.
//!
//! Conventions follow HRNet's `get_affine_transform`: the source square of side `200 * scale`
//! centred on `center`, rotated by `rotation` degrees, maps onto the output with the crop
//! centre at `(w / 2, h / 2)`; points are continuous pixel coordinates.

use ndarray::{ArrayView3, ArrayViewMut3};

use crate::mpii::{FLIP_PAIRS, Joints};

/// A 2-D affine map `p -> A p + b`, stored as the rows `[a11, a12, b1]`, `[a21, a22, b2]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [[f64; 3]; 2]);

impl Affine {
    pub const IDENTITY: Affine = Affine([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);

    /// Image -> crop: the square of side `200 * scale` around `center`, rotated by `rotation`
    /// degrees (counter-clockwise in image coordinates, as HRNet), onto `out_w x out_h` pixels.
    pub fn crop(center: [f64; 2], scale: f64, rotation: f64, out_w: usize, out_h: usize) -> Affine {
        let k = out_w as f64 / (200.0 * scale);
        let (s, c) = rotation.to_radians().sin_cos();
        // dst = k R(-rot) (src - center) + dst_center
        let a = [[k * c, k * s], [-k * s, k * c]];
        let (dx, dy) = (out_w as f64 * 0.5, out_h as f64 * 0.5);
        Affine([
            [
                a[0][0],
                a[0][1],
                dx - a[0][0] * center[0] - a[0][1] * center[1],
            ],
            [
                a[1][0],
                a[1][1],
                dy - a[1][0] * center[0] - a[1][1] * center[1],
            ],
        ])
    }

    /// Mirror `x -> width - 1 - x` (the pixel grid flipped onto itself).
    pub fn flip_x(width: usize) -> Affine {
        Affine([[-1.0, 0.0, width as f64 - 1.0], [0.0, 1.0, 0.0]])
    }

    /// Uniform scaling, for example from crop to heatmap resolution (`1 / stride`).
    pub fn scaling(factor: f64) -> Affine {
        Affine([[factor, 0.0, 0.0], [0.0, factor, 0.0]])
    }

    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let m = &self.0;
        [
            m[0][0] * p[0] + m[0][1] * p[1] + m[0][2],
            m[1][0] * p[0] + m[1][1] * p[1] + m[1][2],
        ]
    }

    /// `self` after `first`: `p -> self(first(p))`.
    pub fn after(&self, first: &Affine) -> Affine {
        let (a, b) = (&self.0, &first.0);
        let mut m = [[0.0; 3]; 2];
        for i in 0..2 {
            for j in 0..3 {
                m[i][j] =
                    a[i][0] * b[0][j] + a[i][1] * b[1][j] + if j == 2 { a[i][2] } else { 0.0 };
            }
        }
        Affine(m)
    }

    /// The inverse map (`None` when singular).
    pub fn inverse(&self) -> Option<Affine> {
        let m = &self.0;
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        if det.abs() < 1e-300 || !det.is_finite() {
            return None;
        }
        let (a, b, c, d) = (m[1][1] / det, -m[0][1] / det, -m[1][0] / det, m[0][0] / det);
        Some(Affine([
            [a, b, -(a * m[0][2] + b * m[1][2])],
            [c, d, -(c * m[0][2] + d * m[1][2])],
        ]))
    }
}

/// Warps an `H x W x 3` `u8` image into the `3 x h x w` `f32` buffer `out` (values in [0, 1]
/// times the per-channel `gain`), where `to_src` maps output pixels to image pixels (the
/// inverse of the crop). Bilinear sampling; outside the image is 0, as OpenCV's constant border.
pub fn warp_bilinear(
    image: &ArrayView3<'_, u8>,
    to_src: &Affine,
    gain: [f32; 3],
    out: &mut ArrayViewMut3<'_, f32>,
) {
    let (ih, iw, _) = image.dim();
    let (_, oh, ow) = out.dim();
    let px = |y: isize, x: isize, ch: usize| -> f32 {
        if y < 0 || x < 0 || y >= ih as isize || x >= iw as isize {
            0.0
        } else {
            image[[y as usize, x as usize, ch]] as f32
        }
    };
    for y in 0..oh {
        for x in 0..ow {
            let [sx, sy] = to_src.apply([x as f64, y as f64]);
            let (sx, sy) = (beyond_border(sx, iw), beyond_border(sy, ih));
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for ch in 0..3 {
                let top = px(y0, x0, ch) * (1.0 - fx) + px(y0, x0 + 1, ch) * fx;
                let bottom = px(y0 + 1, x0, ch) * (1.0 - fx) + px(y0 + 1, x0 + 1, ch) * fx;
                out[[ch, y, x]] = (top * (1.0 - fy) + bottom * fy) * (gain[ch] / 255.0);
            }
        }
    }
}

/// A source coordinate clamped to two pixels beyond the image on either side: every tap out
/// there reads the zero border anyway, and the integer arithmetic stays in range for any input
/// (a person centre of 1e300, a NaN, which maps outside).
fn beyond_border(v: f64, size: usize) -> f64 {
    if v.is_nan() {
        -2.0
    } else {
        v.clamp(-2.0, size as f64 + 1.0)
    }
}

/// Joints after a horizontal flip of an image `width` pixels wide: x mirrored and left / right
/// joints swapped (so index 0 stays the right ankle of the flipped person).
pub fn flip_joints(joints: &Joints, visible: &[bool; 16], width: usize) -> (Joints, [bool; 16]) {
    let mirror = Affine::flip_x(width);
    let mut j2 = joints.map(|p| mirror.apply(p));
    let mut v2 = *visible;
    for (a, b) in FLIP_PAIRS {
        j2.swap(a, b);
        v2.swap(a, b);
    }
    (j2, v2)
}
