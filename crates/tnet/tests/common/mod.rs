//! Helpers shared by the command-line tests (each test file uses a part of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `tnet` binary built for these tests.
pub fn tnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tnet"))
        .args(args)
        .output()
        .expect("tnet runs")
}

/// A fresh folder for one test, removed when the guard drops.
pub fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    let d = t.path().to_path_buf();
    (t, d)
}

/// `tnet study --quick` on a tiny budget (8 features, 24 images, 2 steps per epoch), with the
/// pose and face data under `data`.
pub fn tiny_study(out: &Path, data: &Path) -> Vec<String> {
    let mut a: Vec<String> = [
        "study",
        "--quick",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.join("pose").to_str().unwrap(),
        "--face-data-dir",
        data.join("face").to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for set in [
        "model.features=8",
        "data.synthetic_train=24",
        "data.synthetic_val=6",
        "batch_size=4",
        "max_steps_per_epoch=2",
    ] {
        a.push("--set".into());
        a.push(set.into());
    }
    a
}
