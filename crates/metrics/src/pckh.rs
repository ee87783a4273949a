//! PCKh, the MPII pose measure, as the HRNet / mmpose evaluation code computes it (docs/data.md, "Measures").
//!
//! Predictions are 0-based image coordinates and the ground truth 1-based (MPII's Matlab
//! convention), so 1 is added to every prediction before comparing. A joint counts wherever it
//! is not missing (occluded joints count). The head size is `0.6 * ||headbox[1] - headbox[0]||`
//! and a joint is correct when `distance / head size <= t` (the boundary counts as correct).

use ndarray::{Array1, ArrayView2, ArrayView3};
use serde::Serialize;

use crate::MetricsError;

/// Number of MPII joints.
pub const N_JOINTS: usize = 16;

/// MPII joint order (docs/data.md, "Joints").
pub const JOINT_NAMES: [&str; N_JOINTS] = [
    "r_ankle",
    "r_knee",
    "r_hip",
    "l_hip",
    "l_knee",
    "l_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "r_wrist",
    "r_elbow",
    "r_shoulder",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
];

/// The reported parts and their joints (left and right averaged, as HRNet does).
pub const PARTS: [(&str, &[usize]); 7] = [
    ("Head", &[9]),
    ("Shoulder", &[12, 13]),
    ("Elbow", &[11, 14]),
    ("Wrist", &[10, 15]),
    ("Hip", &[2, 3]),
    ("Knee", &[1, 4]),
    ("Ankle", &[0, 5]),
];

/// Pelvis and thorax: left out of the Mean (HRNet masks joints 6 and 7).
pub const EXCLUDED_FROM_MEAN: [usize; 2] = [6, 7];

/// Scale of the head box diagonal that makes the head size.
pub const SC_BIAS: f64 = 0.6;

/// The MPII validation ground truth, as `gt_valid.mat` holds it, with the sample axis first.
#[derive(Debug, Clone)]
pub struct PckhGroundTruth {
    /// `(N, 16, 2)` joint positions `(x, y)`, 1-based.
    pub joints: ndarray::Array3<f64>,
    /// `(N, 16)`: true where the joint is not annotated.
    pub missing: ndarray::Array2<bool>,
    /// `(N, 2, 2)`: `[sample, corner, (x, y)]`, corner 0 top-left, 1 bottom-right.
    pub headboxes: ndarray::Array3<f64>,
}

/// One row of the per-part table, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PartTable {
    #[serde(rename = "Head")]
    pub head: f64,
    #[serde(rename = "Shoulder")]
    pub shoulder: f64,
    #[serde(rename = "Elbow")]
    pub elbow: f64,
    #[serde(rename = "Wrist")]
    pub wrist: f64,
    #[serde(rename = "Hip")]
    pub hip: f64,
    #[serde(rename = "Knee")]
    pub knee: f64,
    #[serde(rename = "Ankle")]
    pub ankle: f64,
    #[serde(rename = "Mean")]
    pub mean: f64,
}

impl PartTable {
    /// `(name, value)` in the printed order.
    pub fn entries(&self) -> [(&'static str, f64); 8] {
        [
            ("Head", self.head),
            ("Shoulder", self.shoulder),
            ("Elbow", self.elbow),
            ("Wrist", self.wrist),
            ("Hip", self.hip),
            ("Knee", self.knee),
            ("Ankle", self.ankle),
            ("Mean", self.mean),
        ]
    }
}

/// PCKh results. Values are percentages; a joint never annotated has NaN PCKh and weight 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PckhReport {
    #[serde(rename = "pckh@0.5")]
    pub at_05: PartTable,
    #[serde(rename = "pckh@0.1")]
    pub at_01: PartTable,
    /// Mean over the 51 thresholds 0, 0.01, .., 0.5 of the Mean PCKh (percent).
    pub auc: f64,
    /// Number of samples.
    pub n: usize,
    /// Per-joint PCKh@0.5 in MPII order.
    #[serde(skip)]
    pub per_joint_05: [f64; N_JOINTS],
    /// Per-joint number of annotated (counted) joints.
    #[serde(skip)]
    pub joint_counts: [usize; N_JOINTS],
}

/// Scaled errors `distance / head size` per sample and joint (NaN where missing).
fn scaled_errors(
    pred: &ArrayView3<'_, f64>,
    gt: &PckhGroundTruth,
) -> Result<ndarray::Array2<f64>, MetricsError> {
    let n = gt.joints.shape()[0];
    let expect = |what: &str, got: &[usize], want: &[usize]| -> Result<(), MetricsError> {
        if got != want {
            return Err(MetricsError::Shape {
                what: what.to_string(),
                expected: format!("{want:?}"),
                got: format!("{got:?}"),
            });
        }
        Ok(())
    };
    expect("ground-truth joints", gt.joints.shape(), &[n, N_JOINTS, 2])?;
    expect("missing-joint flags", gt.missing.shape(), &[n, N_JOINTS])?;
    expect("head boxes", gt.headboxes.shape(), &[n, 2, 2])?;
    expect("predictions (N, 16, 2)", pred.shape(), &[n, N_JOINTS, 2])?;
    if n == 0 {
        return Err(MetricsError::Invalid(
            "no people to score: PCKh needs at least one".into(),
        ));
    }
    if let Some((index, _)) = pred.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(MetricsError::NonFinite {
            what: "predictions".into(),
            index: vec![index.0, index.1, index.2],
        });
    }
    let counted_nan = gt
        .joints
        .indexed_iter()
        .find(|((s, j, _), v)| !gt.missing[[*s, *j]] && !v.is_finite());
    if let Some((index, _)) = counted_nan {
        return Err(MetricsError::NonFinite {
            what: "ground-truth joints (not marked missing)".into(),
            index: vec![index.0, index.1, index.2],
        });
    }
    if gt.missing.iter().all(|&m| m) {
        return Err(MetricsError::Invalid(format!(
            "every ground-truth joint of the {n} people is marked missing: nothing to score"
        )));
    }
    let mut out = ndarray::Array2::<f64>::from_elem((n, N_JOINTS), f64::NAN);
    for s in 0..n {
        let hb = gt.headboxes.index_axis(ndarray::Axis(0), s);
        let head = SC_BIAS
            * ((hb[[1, 0]] - hb[[0, 0]]).powi(2) + (hb[[1, 1]] - hb[[0, 1]]).powi(2)).sqrt();
        let any_counted = (0..N_JOINTS).any(|j| !gt.missing[[s, j]]);
        if any_counted && !(head > 0.0 && head.is_finite()) {
            return Err(MetricsError::ZeroHeadBox {
                sample: s,
                x0: hb[[0, 0]],
                y0: hb[[0, 1]],
                x1: hb[[1, 0]],
                y1: hb[[1, 1]],
            });
        }
        for j in 0..N_JOINTS {
            if gt.missing[[s, j]] {
                continue;
            }
            let dx = pred[[s, j, 0]] + 1.0 - gt.joints[[s, j, 0]];
            let dy = pred[[s, j, 1]] + 1.0 - gt.joints[[s, j, 1]];
            out[[s, j]] = (dx * dx + dy * dy).sqrt() / head;
        }
    }
    Ok(out)
}

/// Per-joint PCKh (percent, NaN where no joint counts) at threshold `t`, and the counts.
fn per_joint(scaled: &ArrayView2<'_, f64>, t: f64) -> ([f64; N_JOINTS], [usize; N_JOINTS]) {
    let mut pck = [f64::NAN; N_JOINTS];
    let mut counts = [0usize; N_JOINTS];
    for j in 0..N_JOINTS {
        let col = scaled.column(j);
        let counted = col.iter().filter(|v| !v.is_nan()).count();
        let correct = col.iter().filter(|v| !v.is_nan() && **v <= t).count();
        counts[j] = counted;
        if counted > 0 {
            pck[j] = 100.0 * correct as f64 / counted as f64;
        }
    }
    (pck, counts)
}

/// Mean over all joints but pelvis and thorax, weighted by their counts.
fn weighted_mean(pck: &[f64; N_JOINTS], counts: &[usize; N_JOINTS]) -> f64 {
    let (mut num, mut den) = (0.0, 0usize);
    for j in (0..N_JOINTS).filter(|j| !EXCLUDED_FROM_MEAN.contains(j)) {
        if counts[j] > 0 {
            num += pck[j] * counts[j] as f64;
            den += counts[j];
        }
    }
    if den == 0 { f64::NAN } else { num / den as f64 }
}

fn table(pck: &[f64; N_JOINTS], counts: &[usize; N_JOINTS]) -> PartTable {
    let part = |k: usize| {
        let joints = PARTS[k].1;
        joints.iter().map(|&j| pck[j]).sum::<f64>() / joints.len() as f64
    };
    PartTable {
        head: part(0),
        shoulder: part(1),
        elbow: part(2),
        wrist: part(3),
        hip: part(4),
        knee: part(5),
        ankle: part(6),
        mean: weighted_mean(pck, counts),
    }
}

/// PCKh of `pred` (`(N, 16, 2)`, 0-based `(x, y)` image coordinates) against `gt`.
pub fn evaluate(
    pred: &ArrayView3<'_, f64>,
    gt: &PckhGroundTruth,
) -> Result<PckhReport, MetricsError> {
    let scaled = scaled_errors(pred, gt)?;
    let sv = scaled.view();
    let (p05, counts) = per_joint(&sv, 0.5);
    let (p01, _) = per_joint(&sv, 0.1);
    let thresholds = Array1::from_iter((0..=50).map(|k| k as f64 * 0.01));
    let auc = thresholds
        .iter()
        .map(|&t| weighted_mean(&per_joint(&sv, t).0, &counts))
        .sum::<f64>()
        / thresholds.len() as f64;
    Ok(PckhReport {
        at_05: table(&p05, &counts),
        at_01: table(&p01, &counts),
        auc,
        n: gt.joints.shape()[0],
        per_joint_05: p05,
        joint_counts: counts,
    })
}
