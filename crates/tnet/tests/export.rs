//! `tnet export` / `tnet import` end to end: five parametrizations of the small network (real
//! input size, a few training steps so BatchNorm statistics are not the defaults) exported to
//! ONNX and run by onnxruntime against `tnet forward`; the PyTorch state dict loaded by the
//! repository's PyTorch network; the round trip torch -> import -> export; and the errors.
//!
//! onnxruntime comes from a venv this test makes once (`target/onnx-venv`, from PyPI); PyTorch
//! from `TNET_TORCH_PYTHON` (a Python with torch and safetensors, as `cargo xtask bench-train`
//! makes under `~/.cache/tnet-torch`). Without them those parts are skipped with a message.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{temp_dir, tnet};

const ORT_PINS: [&str; 2] = ["onnxruntime==1.32.0", "numpy==2.4.6"];

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .to_path_buf()
}

/// Python with onnxruntime and numpy, or why there is none.
fn ort_python() -> Result<PathBuf, String> {
    let venv = target_dir().join("onnx-venv");
    let python = venv.join("bin/python");
    let works = |p: &Path| {
        Command::new(p)
            .args(["-c", "import onnxruntime, numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !made.status.success() {
        return Err(format!(
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&made.stderr).trim()
        ));
    }
    let pip = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet"])
        .args(ORT_PINS)
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.status.success() || !works(&python) {
        return Err(format!(
            "pip install {} failed: {}",
            ORT_PINS.join(" "),
            String::from_utf8_lossy(&pip.stderr).trim()
        ));
    }
    Ok(python)
}

/// The relative difference a check script prints as `{"rel": ..}`.
fn python_rel(python: &Path, script: &str, args: &[&Path]) -> f64 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let o = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let out = ok(&o);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["rel"].as_f64().unwrap()
}

/// A checkpoint of the small network with `param` after two training steps.
fn checkpoint(dir: &Path, data: &Path, param: &str) -> PathBuf {
    let run = dir.join(param);
    let mut args = vec![
        "train".to_string(),
        "--quiet".into(),
        "--run-dir".into(),
        run.to_str().unwrap().into(),
        "--data-dir".into(),
        data.to_str().unwrap().into(),
        "--param".into(),
        param.into(),
        "--epochs".into(),
        "1".into(),
    ];
    if param != "dense" {
        args.extend(["--compression".into(), "4".into()]);
    }
    for set in [
        "data.synthetic_train=8",
        "data.synthetic_val=4",
        "batch_size=4",
        "max_steps_per_epoch=2",
    ] {
        args.extend(["--set".into(), set.into()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&tnet(&refs));
    run.join("last.safetensors")
}

/// Four images of the network's real input size, written as .npy by `tnet` itself (f32).
fn inputs(dir: &Path) -> PathBuf {
    let path = dir.join("x.npy");
    let mut rng = tnet_tensor::random::SeededRng::new(7);
    let x = tnet_tensor::random::random_normal::<f32>(&[4, 3, 128, 128], &mut rng);
    let f = std::fs::File::create(&path).unwrap();
    tnet_tensor::npy::write_npy(std::io::BufWriter::new(f), &x.view()).unwrap();
    path
}

fn forward(ck: &Path, x: &Path, out: &Path) {
    ok(&tnet(&[
        "forward",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
}

fn export(ck: &Path, format: &str, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "export",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--format",
        format,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&tnet(&args))
}

#[test]
fn exports_match_tnet_in_onnxruntime_and_pytorch_and_round_trip() {
    let (_guard, dir) = temp_dir("export");
    let data = dir.join("data");
    let x = inputs(&dir);
    let ort = ort_python();
    if let Err(why) = &ort {
        eprintln!("onnxruntime checks skipped: {why}");
    }
    let torch = std::env::var_os("TNET_TORCH_PYTHON").map(PathBuf::from);
    if torch.is_none() {
        eprintln!(
            "PyTorch checks skipped: set TNET_TORCH_PYTHON to a Python with torch and safetensors"
        );
    }
    for param in ["dense", "tucker", "cp", "tt", "layer-tucker"] {
        let ck = checkpoint(&dir, &data, param);
        let reference = dir.join(format!("{param}-ref.npy"));
        forward(&ck, &x, &reference);
        let onnx = dir.join(format!("{param}.onnx"));
        export(&ck, "onnx", &onnx, &[]);
        let plain = dir.join(format!("{param}-dense.onnx"));
        export(&ck, "onnx", &plain, &["--dense", "--batch", "4"]);
        if let Ok(python) = &ort {
            for file in [&onnx, &plain] {
                let rel = python_rel(python, "ort_check.py", &[file, &x, &reference]);
                assert!(rel < 1e-4, "{}: relative difference {rel}", file.display());
            }
        }
        let state = dir.join(format!("{param}-torch.safetensors"));
        export(&ck, "torch", &state, &[]);
        if let Some(python) = &torch {
            let rel = python_rel(python, "torch_check.py", &[&state, &x, &reference]);
            assert!(rel < 1e-4, "{param} in PyTorch: relative difference {rel}");
        }
        if param == "tucker" {
            round_trip(&dir, &state, &x, &reference);
        }
    }
}

/// torch -> import -> export gives the same tensors, bit for bit, and the same outputs.
fn round_trip(dir: &Path, state: &Path, x: &Path, reference: &Path) {
    let imported = dir.join("imported.safetensors");
    ok(&tnet(&[
        "import",
        state.to_str().unwrap(),
        "--out",
        imported.to_str().unwrap(),
    ]));
    let again = dir.join("again.safetensors");
    export(&imported, "torch", &again, &[]);
    let a = candle_core::safetensors::load(state, &candle_core::Device::Cpu).unwrap();
    let b = candle_core::safetensors::load(&again, &candle_core::Device::Cpu).unwrap();
    assert_eq!(a.len(), b.len());
    for (name, t) in &a {
        let u = &b[name];
        assert_eq!(t.dims(), u.dims(), "{name}");
        let bytes = |t: &candle_core::Tensor| {
            t.flatten_all()
                .unwrap()
                .to_dtype(candle_core::DType::F64)
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
        };
        assert_eq!(bytes(t), bytes(u), "{name}");
    }
    let out = dir.join("imported-ref.npy");
    forward(&imported, x, &out);
    assert_eq!(
        std::fs::read(out).unwrap(),
        std::fs::read(reference).unwrap()
    );
}

#[test]
fn bad_state_dicts_and_checkpoints_are_refused_naming_the_tensor() {
    let (_guard, dir) = temp_dir("export-bad");
    let data = dir.join("data");
    let ck = checkpoint(&dir, &data, "tucker");
    let state = dir.join("torch.safetensors");
    export(&ck, "torch", &state, &[]);
    let mut sd = candle_core::safetensors::load(&state, &candle_core::Device::Cpu).unwrap();
    let import = |sd: &std::collections::HashMap<String, candle_core::Tensor>, name: &str| {
        let path = dir.join(name);
        candle_core::safetensors::save(sd, &path).unwrap();
        let out = dir.join("out.safetensors");
        tnet(&[
            "import",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let missing = "stack.0.hg.level2.up.bn1.running_var";
    let kept = sd.remove(missing).unwrap();
    let o = import(&sd, "missing.safetensors");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(missing), "{err}");
    sd.insert(missing.into(), kept);
    let wrong = "stem.1.conv.weight";
    sd.insert(
        wrong.into(),
        candle_core::Tensor::zeros(
            (3, 3, 3, 3),
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        )
        .unwrap(),
    );
    let o = import(&sd, "misshaped.safetensors");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(wrong) && err.contains("[3, 3, 3, 3]"), "{err}");
    // A safetensors file that is not a tnet checkpoint.
    let o = tnet(&[
        "export",
        "--checkpoint",
        state.to_str().unwrap(),
        "--out",
        dir.join("x.onnx").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("torch.safetensors"), "{err}");
}
