//! PCKh, heatmap decoding and IoU / F1 on cases worked out by hand.

use ndarray::{Array2, Array3};
use tnet_metrics::MetricsError;
use tnet_metrics::decode::decode_heatmaps;
use tnet_metrics::pckh::{N_JOINTS, PckhGroundTruth, evaluate};
use tnet_metrics::segmentation::ConfusionMatrix;

/// `n` samples, every joint at (101, 101) (1-based), head box (0, 0)-(30, 40): head size
/// 0.6 * 50 = 30 px.
fn ground_truth(n: usize) -> PckhGroundTruth {
    let mut headboxes = Array3::<f64>::zeros((n, 2, 2));
    for s in 0..n {
        headboxes[[s, 1, 0]] = 30.0;
        headboxes[[s, 1, 1]] = 40.0;
    }
    PckhGroundTruth {
        joints: Array3::from_elem((n, N_JOINTS, 2), 101.0),
        missing: Array2::from_elem((n, N_JOINTS), false),
        headboxes,
    }
}

/// Predictions (0-based) at (100, 100) moved right by `dx[j]` px for joint j.
fn predictions(n: usize, dx: impl Fn(usize, usize) -> f64) -> Array3<f64> {
    let mut p = Array3::from_elem((n, N_JOINTS, 2), 100.0);
    for s in 0..n {
        for j in 0..N_JOINTS {
            p[[s, j, 0]] += dx(s, j);
        }
    }
    p
}

#[test]
fn perfect_predictions_score_100_and_the_plus_one_convention_holds() {
    let gt = ground_truth(3);
    let r = evaluate(&predictions(3, |_, _| 0.0).view(), &gt).unwrap();
    assert_eq!(r.at_05.mean, 100.0);
    assert_eq!(r.at_01.mean, 100.0);
    assert_eq!(r.auc, 100.0);
    assert_eq!(r.n, 3);
    // Predictions given 1-based by mistake are off by one pixel on each axis: sqrt(2)/30 =
    // 0.047 of the head size, wrong at PCKh@0.01..0.04.
    let shifted = predictions(3, |_, _| 0.0) + 1.0;
    let r = evaluate(&shifted.view(), &gt).unwrap();
    assert_eq!(r.at_05.mean, 100.0);
    assert!(r.auc < 100.0);
}

#[test]
fn boundary_counts_as_correct_and_parts_average_left_and_right() {
    let gt = ground_truth(2);
    // Sample 0: every joint exactly 15 px off (= 0.5 head sizes): correct at 0.5.
    // Sample 1: joints off by 15 px, except the left wrist (15) off by 16 px: wrong.
    let pred = predictions(2, |s, j| if s == 1 && j == 15 { 16.0 } else { 15.0 });
    let r = evaluate(&pred.view(), &gt).unwrap();
    assert_eq!(r.per_joint_05[15], 50.0);
    assert_eq!(r.per_joint_05[10], 100.0);
    assert_eq!(r.at_05.wrist, 75.0); // (100 + 50) / 2
    assert_eq!(r.at_05.head, 100.0);
    // Mean: 14 counted joints x 2 samples = 28, one wrong: 27 / 28.
    assert!((r.at_05.mean - 100.0 * 27.0 / 28.0).abs() < 1e-12);
    // At 0.1 (3 px) every joint is wrong.
    assert_eq!(r.at_01.mean, 0.0);
    // AUC over 51 thresholds: correct only at t = 0.5 (and at 0.5 only 27/28).
    assert!(
        (r.auc - 100.0 * 27.0 / 28.0 / 51.0).abs() < 1e-9,
        "{}",
        r.auc
    );
}

#[test]
fn missing_joints_are_ignored_and_pelvis_thorax_left_out_of_mean() {
    let mut gt = ground_truth(2);
    // Sample 1's right ankle is missing: it must not count even though it is far off.
    gt.missing[[1, 0]] = true;
    // Pelvis (6) and thorax (7) far off everywhere: they do not enter the Mean.
    let pred = predictions(2, |s, j| match (s, j) {
        (1, 0) => 500.0,
        (_, 6) | (_, 7) => 500.0,
        _ => 0.0,
    });
    let r = evaluate(&pred.view(), &gt).unwrap();
    assert_eq!(r.joint_counts[0], 1);
    assert_eq!(r.per_joint_05[0], 100.0);
    assert_eq!(r.per_joint_05[6], 0.0);
    assert_eq!(r.at_05.mean, 100.0);
    // A joint missing in every sample has no PCKh and no weight.
    gt.missing.column_mut(9).fill(true);
    let r = evaluate(&pred.view(), &gt).unwrap();
    assert!(r.at_05.head.is_nan());
    assert_eq!(r.at_05.mean, 100.0);
}

#[test]
fn mean_weights_joints_by_their_counts() {
    let mut gt = ground_truth(4);
    // Right ankle annotated only in sample 0 and wrong there; everything else right.
    for s in 1..4 {
        gt.missing[[s, 0]] = true;
    }
    let pred = predictions(4, |s, j| if s == 0 && j == 0 { 100.0 } else { 0.0 });
    let r = evaluate(&pred.view(), &gt).unwrap();
    // 13 joints x 4 + 1 = 53 counted, 52 correct.
    assert!((r.at_05.mean - 100.0 * 52.0 / 53.0).abs() < 1e-12);
    // Ankle part: (0 + 100) / 2.
    assert_eq!(r.at_05.ankle, 50.0);
}

#[test]
fn bad_input_is_named() {
    let mut gt = ground_truth(2);
    let pred = predictions(2, |_, _| 0.0);
    let wrong = Array3::<f64>::zeros((2, 15, 2));
    assert!(matches!(
        evaluate(&wrong.view(), &gt).unwrap_err(),
        MetricsError::Shape { .. }
    ));
    gt.headboxes[[1, 1, 0]] = 0.0;
    gt.headboxes[[1, 1, 1]] = 0.0;
    match evaluate(&pred.view(), &gt).unwrap_err() {
        MetricsError::ZeroHeadBox { sample, .. } => assert_eq!(sample, 1),
        e => panic!("{e}"),
    }
    let gt = ground_truth(2);
    let mut nan = pred.clone();
    nan[[0, 3, 1]] = f64::NAN;
    assert!(
        evaluate(&nan.view(), &gt)
            .unwrap_err()
            .to_string()
            .contains("[0, 3, 1]")
    );
}

#[test]
fn decoding_recovers_subpixel_peaks_within_a_quarter_pixel() {
    // A Gaussian peak at (x, y) = (5.3, 3.8) on a 12 x 9 map.
    let (h, w) = (9, 12);
    let peaks = [(5.3, 3.8), (0.0, 0.0), (7.6, 2.45), (11.0, 8.0)];
    let mut maps = Array3::<f32>::zeros((peaks.len(), h, w));
    for (k, &(cx, cy)) in peaks.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                let d2 = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2);
                maps[[k, y, x]] = (-d2 / 2.0).exp() as f32;
            }
        }
    }
    let (coords, vals) = decode_heatmaps(&maps.view());
    for (k, &(cx, cy)) in peaks.iter().enumerate() {
        assert!(
            (coords[[k, 0]] - cx).abs() <= 0.25 + 1e-9,
            "peak {k}: x {}",
            coords[[k, 0]]
        );
        assert!(
            (coords[[k, 1]] - cy).abs() <= 0.25 + 1e-9,
            "peak {k}: y {}",
            coords[[k, 1]]
        );
        assert!(vals[k] > 0.5);
    }
    // By hand: argmax (5, 4) for (5.3, 3.8); right neighbour larger -> 5.25; upper larger -> 3.75.
    assert_eq!((coords[[0, 0]], coords[[0, 1]]), (5.25, 3.75));
    // At the border there is no shift.
    assert_eq!((coords[[3, 0]], coords[[3, 1]]), (11.0, 8.0));
}

#[test]
fn iou_and_f1_from_a_hand_made_confusion_matrix() {
    // 3 classes. gt:   0 0 0 1 1 2 2 2 255
    //            pred: 0 0 1 1 1 2 0 2 1
    let gt = [0u8, 0, 0, 1, 1, 2, 2, 2, 255];
    let pred = [0u8, 0, 1, 1, 1, 2, 0, 2, 1];
    let mut cm = ConfusionMatrix::new(3, Some(255)).unwrap();
    cm.add(&pred, &gt).unwrap();
    // class 0: TP 2, FN 1, FP 1 -> IoU 2/4, F1 4/6
    // class 1: TP 2, FN 0, FP 1 -> IoU 2/3, F1 4/5
    // class 2: TP 2, FN 1, FP 0 -> IoU 2/3, F1 4/5
    let r = cm.report();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(r.iou[0], 0.5) && close(r.iou[1], 2.0 / 3.0) && close(r.iou[2], 2.0 / 3.0));
    assert!(close(r.f1[0], 4.0 / 6.0) && close(r.f1[1], 0.8) && close(r.f1[2], 0.8));
    assert!(close(r.mean_iou, (0.5 + 4.0 / 3.0) / 3.0));
    assert!(close(r.mean_iou_no_background, 2.0 / 3.0));
    assert!(close(r.mean_f1_no_background, 0.8));
    assert!(close(r.pixel_accuracy, 6.0 / 8.0));
    // Merging a second copy doubles counts but keeps the ratios.
    let mut twice = cm.clone();
    twice.merge(&cm).unwrap();
    assert_eq!(twice.counts()[[0, 0]], 4);
    assert!(close(twice.report().mean_iou, r.mean_iou));
}

#[test]
fn absent_classes_and_bad_ids() {
    let mut cm = ConfusionMatrix::new(4, None).unwrap();
    cm.add(&[0usize, 1, 1], &[0usize, 1, 0]).unwrap();
    let r = cm.report();
    assert!(r.iou[3].is_nan() && r.iou[2].is_nan());
    // Means skip the absent classes: (1/2 + 1/2) / 2.
    assert!((r.mean_iou - 0.5).abs() < 1e-12);
    let err = cm.add(&[0usize, 5], &[0usize, 1]).unwrap_err();
    assert!(
        matches!(
            err,
            MetricsError::BadClass {
                which: "predicted",
                class: 5,
                pixel: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(cm.add(&[0usize], &[0usize, 1]).is_err());
    assert!(ConfusionMatrix::new(0, None).is_err());
}

#[test]
fn nothing_to_score_is_an_error_not_a_nan_table() {
    // No people at all.
    let gt = ground_truth(0);
    let err = evaluate(&predictions(0, |_, _| 0.0).view(), &gt).unwrap_err();
    assert!(err.to_string().contains("no people"), "{err}");
    // Every joint missing.
    let mut gt = ground_truth(2);
    gt.missing.fill(true);
    let err = evaluate(&predictions(2, |_, _| 0.0).view(), &gt).unwrap_err();
    assert!(err.to_string().contains("marked missing"), "{err}");
    // A NaN in a counted ground-truth joint is named; in a missing one it is ignored.
    let mut gt = ground_truth(2);
    gt.joints[[1, 3, 0]] = f64::NAN;
    match evaluate(&predictions(2, |_, _| 0.0).view(), &gt).unwrap_err() {
        MetricsError::NonFinite { what, index } => {
            assert!(what.contains("ground-truth"));
            assert_eq!(index, vec![1, 3, 0]);
        }
        other => panic!("{other}"),
    }
    gt.missing[[1, 3]] = true;
    let r = evaluate(&predictions(2, |_, _| 0.0).view(), &gt).unwrap();
    assert!(r.at_05.mean.is_finite());
}
