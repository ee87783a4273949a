//! Gaussian heatmap targets (docs/data.md, "Samples").

use ndarray::ArrayViewMut3;

/// Writes one Gaussian per joint into `out` (`K x h x w`, heatmap pixels) and returns the
/// target weights: 1 where the joint is labelled and its Gaussian touches the map, else 0.
///
/// `joints` are in heatmap pixels. Unlike HRNet, the centre is not rounded to the pixel grid:
/// the target peaks at the true sub-pixel position. The Gaussian is cut at `3 sigma`.
pub fn gaussian_targets(
    joints: &[[f64; 2]],
    labelled: &[bool],
    sigma: f64,
    out: &mut ArrayViewMut3<'_, f32>,
) -> Vec<f32> {
    let (k, h, w) = out.dim();
    assert_eq!(joints.len(), k, "one joint per heatmap");
    out.fill(0.0);
    let radius = 3.0 * sigma;
    let mut weights = vec![0.0f32; k];
    for (j, &[cx, cy]) in joints.iter().enumerate() {
        if !labelled[j] || !cx.is_finite() || !cy.is_finite() {
            continue;
        }
        let (x0, x1) = (
            (cx - radius).ceil().max(0.0),
            (cx + radius).floor().min(w as f64 - 1.0),
        );
        let (y0, y1) = (
            (cy - radius).ceil().max(0.0),
            (cy + radius).floor().min(h as f64 - 1.0),
        );
        if x0 > x1 || y0 > y1 {
            continue; // entirely outside the map
        }
        weights[j] = 1.0;
        for y in y0 as usize..=y1 as usize {
            for x in x0 as usize..=x1 as usize {
                let d2 = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2);
                out[[j, y, x]] = (-d2 / (2.0 * sigma * sigma)).exp() as f32;
            }
        }
    }
    weights
}
