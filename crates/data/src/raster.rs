//! Minimal filled shapes on an `H x W x 3` `u8` image, for the synthetic data.

use ndarray::ArrayViewMut3;

pub type Rgb = [u8; 3];

/// Fills the capsule of radius `r` around the segment `a`-`b` (a thick limb with round ends).
pub fn capsule(img: &mut ArrayViewMut3<'_, u8>, a: [f64; 2], b: [f64; 2], r: f64, color: Rgb) {
    let (h, w, _) = img.dim();
    let (x0, x1) = (
        (a[0].min(b[0]) - r).floor().max(0.0) as usize,
        ((a[0].max(b[0]) + r).ceil().max(0.0) as usize).min(w),
    );
    let (y0, y1) = (
        (a[1].min(b[1]) - r).floor().max(0.0) as usize,
        ((a[1].max(b[1]) + r).ceil().max(0.0) as usize).min(h),
    );
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = (dx * dx + dy * dy).max(1e-12);
    for y in y0..y1 {
        for x in x0..x1 {
            let (px, py) = (x as f64 - a[0], y as f64 - a[1]);
            let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
            let (qx, qy) = (px - t * dx, py - t * dy);
            if qx * qx + qy * qy <= r * r {
                set(img, y, x, color);
            }
        }
    }
}

/// Fills a disc.
pub fn disc(img: &mut ArrayViewMut3<'_, u8>, c: [f64; 2], r: f64, color: Rgb) {
    capsule(img, c, c, r, color);
}

/// Fills an axis-aligned rectangle `[x0, x1) x [y0, y1)` (clipped).
pub fn rect(img: &mut ArrayViewMut3<'_, u8>, x0: f64, y0: f64, x1: f64, y1: f64, color: Rgb) {
    let (h, w, _) = img.dim();
    let clip = |v: f64, hi: usize| (v.max(0.0) as usize).min(hi);
    for y in clip(y0, h)..clip(y1, h) {
        for x in clip(x0, w)..clip(x1, w) {
            set(img, y, x, color);
        }
    }
}

/// Sets one pixel.
#[inline]
pub fn set(img: &mut ArrayViewMut3<'_, u8>, y: usize, x: usize, c: Rgb) {
    for (ch, v) in c.iter().enumerate() {
        img[[y, x, ch]] = *v;
    }
}

/// An HSV colour (hue in degrees, saturation and value in 0..1) as RGB.
pub fn hsv(h: f64, s: f64, v: f64) -> Rgb {
    let h = h.rem_euclid(360.0) / 60.0;
    let c = v * s;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [
        ((r + m) * 255.0) as u8,
        ((g + m) * 255.0) as u8,
        ((b + m) * 255.0) as u8,
    ]
}
