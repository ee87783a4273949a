//! Segmentation measures (docs/data.md, "Measures"): one confusion matrix over the whole test set, then
//! per-class IoU = TP / (TP + FP + FN) and F1 = 2 TP / (2 TP + FP + FN), and their means with
//! and without the background class (class 0).

use ndarray::Array2;
use serde::Serialize;

use crate::MetricsError;

/// Face-parsing classes in Helen order (docs/data.md, "Face parsing").
pub const HELEN_CLASSES: [&str; 11] = [
    "background",
    "skin",
    "left brow",
    "right brow",
    "left eye",
    "right eye",
    "nose",
    "upper lip",
    "inner mouth",
    "lower lip",
    "hair",
];

/// Counts of (ground truth, prediction) pairs: rows are the true class, columns the predicted.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionMatrix {
    counts: Array2<u64>,
    ignore: Option<usize>,
}

/// Per-class and mean IoU / F1. A class absent from both ground truth and predictions has NaN
/// IoU and F1 and is left out of the means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentationReport {
    pub iou: Vec<f64>,
    pub f1: Vec<f64>,
    pub mean_iou: f64,
    pub mean_f1: f64,
    pub mean_iou_no_background: f64,
    pub mean_f1_no_background: f64,
    pub pixel_accuracy: f64,
}

impl ConfusionMatrix {
    /// `n_classes` classes; ground-truth pixels equal to `ignore` (for example 255) are skipped.
    pub fn new(n_classes: usize, ignore: Option<usize>) -> Result<Self, MetricsError> {
        if n_classes == 0 {
            return Err(MetricsError::Invalid(
                "a confusion matrix needs at least one class".into(),
            ));
        }
        Ok(Self {
            counts: Array2::zeros((n_classes, n_classes)),
            ignore,
        })
    }

    pub fn n_classes(&self) -> usize {
        self.counts.nrows()
    }

    /// The counts, `[true class, predicted class]`.
    pub fn counts(&self) -> &Array2<u64> {
        &self.counts
    }

    /// Adds counts `[true class, predicted class]` gathered elsewhere (another process's part
    /// of the images).
    pub fn add_counts(&mut self, counts: &Array2<u64>) -> Result<(), MetricsError> {
        if counts.dim() != self.counts.dim() {
            return Err(MetricsError::Shape {
                what: "confusion counts to add".into(),
                expected: format!("{:?}", self.counts.dim()),
                got: format!("{:?}", counts.dim()),
            });
        }
        self.counts += counts;
        Ok(())
    }

    /// Adds one image (or batch): `pred` and `gt` are class ids of the same pixels.
    pub fn add<P, G>(&mut self, pred: &[P], gt: &[G]) -> Result<(), MetricsError>
    where
        P: Copy + TryInto<usize>,
        G: Copy + TryInto<usize>,
    {
        if pred.len() != gt.len() {
            return Err(MetricsError::Shape {
                what: "prediction map".into(),
                expected: format!("{} pixels (as the ground truth)", gt.len()),
                got: format!("{} pixels", pred.len()),
            });
        }
        let n = self.n_classes();
        for (pixel, (&p, &g)) in pred.iter().zip(gt).enumerate() {
            let g: usize = g.try_into().unwrap_or(usize::MAX);
            if Some(g) == self.ignore {
                continue;
            }
            let p: usize = p.try_into().unwrap_or(usize::MAX);
            if g >= n {
                return Err(MetricsError::BadClass {
                    which: "ground-truth",
                    class: g,
                    pixel,
                    n_classes: n,
                });
            }
            if p >= n {
                return Err(MetricsError::BadClass {
                    which: "predicted",
                    class: p,
                    pixel,
                    n_classes: n,
                });
            }
            self.counts[[g, p]] += 1;
        }
        Ok(())
    }

    /// Adds another matrix (for example one accumulated by another thread).
    pub fn merge(&mut self, other: &ConfusionMatrix) -> Result<(), MetricsError> {
        if other.n_classes() != self.n_classes() {
            return Err(MetricsError::Shape {
                what: "confusion matrix to merge".into(),
                expected: format!("{} classes", self.n_classes()),
                got: format!("{} classes", other.n_classes()),
            });
        }
        self.counts += &other.counts;
        Ok(())
    }

    /// IoU and F1 per class and their means.
    pub fn report(&self) -> SegmentationReport {
        let n = self.n_classes();
        let mut iou = vec![f64::NAN; n];
        let mut f1 = vec![f64::NAN; n];
        for c in 0..n {
            let tp = self.counts[[c, c]] as f64;
            let fn_ = self.counts.row(c).sum() as f64 - tp;
            let fp = self.counts.column(c).sum() as f64 - tp;
            if tp + fp + fn_ > 0.0 {
                iou[c] = tp / (tp + fp + fn_);
                f1[c] = 2.0 * tp / (2.0 * tp + fp + fn_);
            }
        }
        let nan_mean = |v: &[f64]| {
            let kept: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            if kept.is_empty() {
                f64::NAN
            } else {
                kept.iter().sum::<f64>() / kept.len() as f64
            }
        };
        let total = self.counts.sum() as f64;
        let correct: f64 = (0..n).map(|c| self.counts[[c, c]] as f64).sum();
        SegmentationReport {
            mean_iou: nan_mean(&iou),
            mean_f1: nan_mean(&f1),
            mean_iou_no_background: nan_mean(&iou[1.min(n)..]),
            mean_f1_no_background: nan_mean(&f1[1.min(n)..]),
            pixel_accuracy: if total > 0.0 {
                correct / total
            } else {
                f64::NAN
            },
            iou,
            f1,
        }
    }
}
