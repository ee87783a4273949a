//! Shared helpers of the workspace's end-to-end tests and benchmarks.

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use tnet_tensor::npy::{NpyArray, read_npy};

/// `tests/fixtures/tensorly`, written by `cargo xtask tensorly-fixtures` (TensorLy 0.10.0).
pub fn tensorly_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tensorly")
}

/// Reads a float64 fixture, panicking with the file name if it is missing or not float64.
pub fn load_f64(name: &str) -> ArrayD<f64> {
    let path = tensorly_fixtures().join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match read_npy(std::io::BufReader::new(file)) {
        Ok(NpyArray::F64(a)) => a,
        other => panic!("{}: expected float64, got {other:?}", path.display()),
    }
}

/// Largest absolute difference, asserting equal shapes.
pub fn max_abs_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
pub mod suite;
