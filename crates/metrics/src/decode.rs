//! Keypoints from heatmaps (docs/data.md, "Samples").

use ndarray::{Array1, Array2, ArrayView3};

/// Decodes `(K, h, w)` heatmaps into `(K, 2)` coordinates `(x, y)` in heatmap pixels and the
/// `K` peak values: the argmax of each map, then a quarter pixel toward the larger neighbour
/// on each axis where both neighbours exist (the classic hourglass / HRNet refinement).
/// Ties keep the first maximum in row-major order.
pub fn decode_heatmaps<T: Copy + Into<f64>>(
    maps: &ArrayView3<'_, T>,
) -> (Array2<f64>, Array1<f64>) {
    let (k, h, w) = maps.dim();
    let mut coords = Array2::<f64>::zeros((k, 2));
    let mut peaks = Array1::<f64>::zeros(k);
    for j in 0..k {
        let m = maps.index_axis(ndarray::Axis(0), j);
        let (mut best, mut bx, mut by) = (f64::NEG_INFINITY, 0usize, 0usize);
        for ((y, x), v) in m.indexed_iter() {
            let v: f64 = (*v).into();
            if v > best {
                (best, bx, by) = (v, x, y);
            }
        }
        let at = |y: usize, x: usize| -> f64 { m[[y, x]].into() };
        let toward = |below: f64, above: f64| match above.partial_cmp(&below) {
            Some(std::cmp::Ordering::Greater) => 0.25,
            Some(std::cmp::Ordering::Less) => -0.25,
            _ => 0.0,
        };
        let mut px = bx as f64;
        let mut py = by as f64;
        if bx > 0 && bx + 1 < w {
            px += toward(at(by, bx - 1), at(by, bx + 1));
        }
        if by > 0 && by + 1 < h {
            py += toward(at(by - 1, bx), at(by + 1, bx));
        }
        coords[[j, 0]] = px;
        coords[[j, 1]] = py;
        peaks[j] = best;
    }
    (coords, peaks)
}
