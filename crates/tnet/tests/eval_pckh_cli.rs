//! `tnet eval-pckh` end to end on a ground truth written as MAT v5 and predictions as .npy / .mat.

mod common;
use common::{temp_dir, tnet};

use std::path::PathBuf;

use ndarray::{Array2, Array3};
use tnet_data::mat::write_mat;
use tnet_tensor::npy::write_npy;

/// N = 2 samples; all joints at (101, 101) 1-based; head boxes (0,0)-(30,40): head size 30.
fn write_gt(dir: &std::path::Path, n: usize) -> PathBuf {
    let pos = Array3::<f64>::from_elem((16, 2, n), 101.0);
    let missing = Array2::<f64>::zeros((16, n));
    let mut boxes = Array3::<f64>::zeros((2, 2, n));
    for s in 0..n {
        boxes[[1, 0, s]] = 30.0;
        boxes[[1, 1, s]] = 40.0;
    }
    let path = dir.join("gt_valid.mat");
    let f = std::fs::File::create(&path).unwrap();
    write_mat(
        f,
        &[
            ("pos_gt_src", pos.view().into_dyn()),
            ("jnt_missing", missing.view().into_dyn()),
            ("headboxes_src", boxes.view().into_dyn()),
        ],
    )
    .unwrap();
    path
}

#[test]
fn json_line_with_the_hand_computed_values() {
    let (_dir_guard, dir) = temp_dir("json");
    let gt = write_gt(&dir, 2);
    // 0-based predictions at (100, 100): perfect, except sample 1's left wrist 16 px off (> 0.5).
    let mut pred = Array3::<f64>::from_elem((2, 16, 2), 100.0);
    pred[[1, 15, 0]] += 16.0;
    let npy = dir.join("pred.npy");
    write_npy(
        std::fs::File::create(&npy).unwrap(),
        &pred.view().into_dyn(),
    )
    .unwrap();
    let out = tnet(&[
        "eval-pckh",
        "--gt",
        gt.to_str().unwrap(),
        "--pred",
        npy.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 2);
    assert_eq!(v["pckh@0.5"]["Wrist"], 75.0);
    assert_eq!(v["pckh@0.5"]["Head"], 100.0);
    let mean = v["pckh@0.5"]["Mean"].as_f64().unwrap();
    assert!((mean - 100.0 * 27.0 / 28.0).abs() < 1e-9);
    assert!(v["pckh@0.1"]["Mean"].as_f64().unwrap() < 100.0);
    assert!(v["auc"].as_f64().is_some());
    // The same predictions as HRNet writes pred.mat (1-based: it adds 1 first) give the same
    // numbers; 0-based ones in a .mat need --pred-base 0.
    let mat = dir.join("pred.mat");
    let one_based = &pred + 1.0;
    write_mat(
        std::fs::File::create(&mat).unwrap(),
        &[("preds", one_based.view().into_dyn())],
    )
    .unwrap();
    let out2 = tnet(&[
        "eval-pckh",
        "--gt",
        gt.to_str().unwrap(),
        "--pred",
        mat.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.stdout, out2.stdout);
    let mat0 = dir.join("pred0.mat");
    write_mat(
        std::fs::File::create(&mat0).unwrap(),
        &[("preds", pred.view().into_dyn())],
    )
    .unwrap();
    let args = [
        "eval-pckh",
        "--gt",
        gt.to_str().unwrap(),
        "--pred",
        mat0.to_str().unwrap(),
        "--json",
        "--pred-base",
        "0",
    ];
    assert_eq!(out.stdout, tnet(&args).stdout);
    // The table form.
    let out = tnet(&[
        "eval-pckh",
        "--gt",
        gt.to_str().unwrap(),
        "--pred",
        npy.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("PCKh@0.5") && text.contains("Wrist") && text.contains("75.00"),
        "{text}"
    );
}

#[test]
fn wrong_shapes_and_files_are_named() {
    let (_dir_guard, dir) = temp_dir("errors");
    let gt = write_gt(&dir, 2);
    let pred = Array3::<f64>::zeros((3, 16, 2));
    let npy = dir.join("three.npy");
    write_npy(
        std::fs::File::create(&npy).unwrap(),
        &pred.view().into_dyn(),
    )
    .unwrap();
    let out = tnet(&[
        "eval-pckh",
        "--gt",
        gt.to_str().unwrap(),
        "--pred",
        npy.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("three.npy") && e.contains("[2, 16, 2]"),
        "{e}"
    );
    let out = tnet(&[
        "eval-pckh",
        "--gt",
        npy.to_str().unwrap(),
        "--pred",
        npy.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("ground truth") && e.contains("MAT"),
        "{e}"
    );
    let bad_gt = dir.join("bad.mat");
    write_mat(
        std::fs::File::create(&bad_gt).unwrap(),
        &[("pos_gt_src", pred.view().into_dyn())],
    )
    .unwrap();
    let out = tnet(&[
        "eval-pckh",
        "--gt",
        bad_gt.to_str().unwrap(),
        "--pred",
        npy.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("'jnt_missing' is not in the file"),
        "{e}"
    );
    let missing = Array2::<f64>::zeros((16, 3));
    let boxes = Array3::<f64>::ones((2, 2, 3));
    write_mat(
        std::fs::File::create(&bad_gt).unwrap(),
        &[
            ("pos_gt_src", pred.view().into_dyn()),
            ("jnt_missing", missing.view().into_dyn()),
            ("headboxes_src", boxes.view().into_dyn()),
        ],
    )
    .unwrap();
    let out = tnet(&[
        "eval-pckh",
        "--gt",
        bad_gt.to_str().unwrap(),
        "--pred",
        npy.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("expected 16 x 2 x N"),
        "{e}"
    );
}
