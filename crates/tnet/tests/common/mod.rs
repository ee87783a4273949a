//! Helpers shared by the command-line tests (each test file uses a part of them).
#![allow(dead_code)]

use std::path::PathBuf;
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
