//! The pinned TensorLy environment (`target/tensorly-venv`) and the reference fixtures it writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use tnet_tensor::random::{SeededRng, add_noise, random_normal};
use tnet_tucker::random_tucker;

pub const TENSORLY_VERSION: &str = "0.10.0";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Python with `tensorly==0.10.0` and numpy, made once from PyPI.
pub fn ensure_venv() -> Result<PathBuf> {
    let venv = workspace_root().join("target/tensorly-venv");
    let python = venv.join("bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args([
                "-c",
                &format!(
                    "import tensorly, numpy; assert tensorly.__version__ == '{TENSORLY_VERSION}'"
                ),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if ok {
        return Ok(python);
    }
    eprintln!(
        "making {} with tensorly=={TENSORLY_VERSION} (once) ...",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("running python3 -m venv (is python3 installed?)")?;
    if !status.success() {
        bail!("python3 -m venv {} failed", venv.display());
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            &format!("tensorly=={TENSORLY_VERSION}"),
            "numpy",
        ])
        .status()
        .context("running pip")?;
    if !status.success() {
        bail!("pip install tensorly=={TENSORLY_VERSION} numpy failed (is PyPI reachable?)");
    }
    Ok(python)
}

/// Python with one BLAS thread, TensorLy's faster setting on this machine.
pub fn python_command(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    for var in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"] {
        cmd.env(var, "1");
    }
    cmd
}

/// Writes the inputs with our generator, then has TensorLy write its outputs beside them.
pub fn write_fixtures() -> Result<()> {
    let python = ensure_venv()?;
    let dir = workspace_root().join("tests/fixtures/tensorly");
    std::fs::create_dir_all(&dir)?;
    let mut rng = SeededRng::new(2024);
    let write = |name: &str, a: &ndarray::ArrayD<f64>| -> Result<()> {
        let f = std::fs::File::create(dir.join(name))?;
        tnet_tensor::npy::write_npy(std::io::BufWriter::new(f), &a.view())?;
        Ok(())
    };
    write("x345.npy", &random_normal::<f64>(&[3, 4, 5], &mut rng))?;
    write("m_2x4.npy", &random_normal::<f64>(&[2, 4], &mut rng))?;
    write("a_3x2.npy", &random_normal::<f64>(&[3, 2], &mut rng))?;
    write("b_4x2.npy", &random_normal::<f64>(&[4, 2], &mut rng))?;
    write("c_5x2.npy", &random_normal::<f64>(&[5, 2], &mut rng))?;
    let mut t = random_tucker::<f64>(&[10, 12, 8, 6], &[3, 4, 2, 6], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut t, 0.01, &mut rng);
    write("tucker_in.npy", &t)?;
    let mut c = tnet_cp::random_cp::<f64>(&[9, 8, 7], 3, &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut c, 0.01, &mut rng);
    write("cp_in.npy", &c)?;
    let mut tt = tnet_tt::random_tt::<f64>(&[5, 6, 7, 4], &[1, 3, 4, 2, 1], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut tt, 0.01, &mut rng);
    write("tt_in.npy", &tt)?;
    let script = workspace_root().join("xtask/python/tensorly_fixtures.py");
    let status = python_command(&python).arg(&script).arg(&dir).status()?;
    if !status.success() {
        bail!("{} failed", script.display());
    }
    eprintln!("fixtures written to {}", dir.display());
    Ok(())
}

/// Has scipy write the MAT fixtures of `tnet-data`'s tests, and checks that scipy reads a
/// file written by our MAT writer.
pub fn write_mat_fixtures() -> Result<()> {
    let python = ensure_venv()?;
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "scipy"])
        .status()?;
    if !status.success() {
        bail!("pip install scipy failed (is PyPI reachable?)");
    }
    let root = workspace_root();
    let dir = root.join("crates/data/tests/fixtures");
    std::fs::create_dir_all(&dir)?;
    let check = root.join("target/mat-check");
    std::fs::create_dir_all(&check)?;
    let ours = check.join("ours.mat");
    let x = ndarray::ArrayD::from_shape_vec(
        ndarray::IxDyn(&[2, 3, 4]),
        (0..24).map(|v| v as f64).collect(),
    )?;
    let row = ndarray::array![1.0, 2.0, 3.0].into_dyn();
    let f = std::fs::File::create(&ours)?;
    tnet_data::mat::write_mat(
        std::io::BufWriter::new(f),
        &[("x", x.view()), ("row", row.view())],
    )?;
    let script = root.join("xtask/python/mat_fixtures.py");
    let status = python_command(&python)
        .arg(&script)
        .arg(&dir)
        .arg(&ours)
        .status()?;
    if !status.success() {
        bail!("{} failed", script.display());
    }
    eprintln!("MAT fixtures written to {}", dir.display());
    Ok(())
}
