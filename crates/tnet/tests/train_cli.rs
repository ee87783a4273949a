//! `tnet train / eval / predict / compress / bench-step` end to end on a tiny run, and their
//! one-line errors for bad input.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{temp_dir, tnet};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn tiny_args(data: &Path) -> Vec<String> {
    [
        "--set",
        &format!("data.dir={:?}", data.display().to_string()),
        "--set",
        "data.synthetic_train=16",
        "--set",
        "data.synthetic_val=4",
        "--set",
        "data.synthetic_size=64",
        "--set",
        "model.features=8",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--set",
        "max_steps_per_epoch=2",
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One tiny dense run shared by the tests of this file: (run folder, data folder), in cargo's
/// scratch folder for integration tests (it outlives each test, and is remade every run).
fn dense_run() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("train-cli-dense-run");
        let _ = std::fs::remove_dir_all(&dir);
        let data = dir.join("data");
        let run = dir.join("run");
        let mut args: Vec<String> = vec![
            "train".into(),
            "--param".into(),
            "dense".into(),
            "--run-dir".into(),
            run.display().to_string(),
        ];
        args.extend(tiny_args(&data));
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let o = tnet(&refs);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("PCKh@0.5"), "{}", stdout(&o));
        (run, data)
    })
}

#[test]
fn a_run_folder_holds_config_log_and_checkpoints() {
    let (run, _) = dense_run();
    for f in [
        "config.toml",
        "log.jsonl",
        "last.safetensors",
        "last.json",
        "best.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f}");
    }
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert!(line["pckh"]["pckh@0.5"]["Mean"].is_number());
    // The same folder again without --resume is refused.
    let o = tnet(&["train", "--run-dir", &run.display().to_string(), "--quiet"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
}

#[test]
fn eval_prints_the_table_and_json() {
    let (run, _) = dense_run();
    let ck = run.join("best.safetensors");
    let o = tnet(&["eval", "--checkpoint", &ck.display().to_string(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["n"], 4);
    let o = tnet(&["eval", "--checkpoint", &ck.display().to_string(), "--flip"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Ankle"));
}

#[test]
fn predict_writes_json_and_a_png_of_the_input_size() {
    let (run, data) = dense_run();
    let (_out_guard, out) = temp_dir("predict");
    let img = data.join("images").join("valid_000000.jpg");
    assert!(img.is_file());
    let o = tnet(&[
        "predict",
        "--checkpoint",
        &run.join("best.safetensors").display().to_string(),
        "--out",
        &out.display().to_string(),
        &img.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("valid_000000.json")).unwrap())
            .unwrap();
    assert_eq!(json["joints"].as_array().unwrap().len(), 16);
    assert!(json["joints"][9]["x"].is_number());
    let png = image::open(out.join("valid_000000.png")).unwrap();
    assert_eq!((png.width() as usize, png.height() as usize), (64, 64));
    // An undecodable image: one line naming it.
    let bad = out.join("broken.jpg");
    std::fs::write(&bad, b"not an image").unwrap();
    let o = tnet(&[
        "predict",
        "--checkpoint",
        &run.join("best.safetensors").display().to_string(),
        "--out",
        &out.display().to_string(),
        &bad.display().to_string(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("broken.jpg") && e.lines().count() == 1, "{e}");
}

#[test]
fn compress_then_fine_tune() {
    let (run, data) = dense_run();
    let (_out_guard, out) = temp_dir("compress");
    let out = out.join("tucker.safetensors");
    let o = tnet(&[
        "compress",
        "--checkpoint",
        &run.display().to_string(),
        "--param",
        "tucker",
        "--ranks",
        "1,4,3,2,8,8,3,3",
        "--out",
        &out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Full rank on every mode: the decomposition is exact.
    let text = stdout(&o);
    let err: f64 = text
        .split("relative error of the tensor ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(err < 1e-3, "{text}");
    let (_ft_guard, ft) = temp_dir("finetune");
    let ft = ft.join("run");
    let _ = std::fs::remove_dir_all(&ft);
    let mut args: Vec<String> = vec![
        "train".into(),
        "--param".into(),
        "tucker".into(),
        "--ranks".into(),
        "1,4,3,2,8,8,3,3".into(),
        "--init-from".into(),
        out.display().to_string(),
        "--run-dir".into(),
        ft.display().to_string(),
    ];
    args.extend(tiny_args(data));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let o = tnet(&refs);
    assert!(o.status.success(), "{}", stderr(&o));
    // A checkpoint of another network cannot initialize this one.
    let (_ft2_guard, ft2) = temp_dir("finetune2");
    let mut args: Vec<String> = vec![
        "train".into(),
        "--param".into(),
        "tucker".into(),
        "--ranks".into(),
        "1,2,3,2,8,8,3,3".into(),
        "--init-from".into(),
        out.display().to_string(),
        "--run-dir".into(),
        ft2.join("run").display().to_string(),
    ];
    args.extend(tiny_args(data));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let o = tnet(&refs);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("another configuration"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_input_gets_one_line_errors() {
    let one_line = |o: &std::process::Output, needle: &str| {
        assert!(!o.status.success());
        let e = stderr(o);
        assert!(e.contains(needle), "expected '{needle}' in: {e}");
        // The error is one line, the last one (a banner line about the run may precede it).
        let errors: Vec<&str> = e
            .trim()
            .lines()
            .filter(|l| l.starts_with("error"))
            .collect();
        assert_eq!(errors.len(), 1, "{e}");
        assert!(e.trim().lines().last().unwrap().starts_with("error"), "{e}");
        assert!(!e.contains("panicked"), "{e}");
    };
    let (_dir_guard, dir) = temp_dir("bad-input");
    // Missing data folder.
    one_line(
        &tnet(&[
            "train",
            "--data",
            "mpii",
            "--data-dir",
            &dir.join("nope").display().to_string(),
            "--run-dir",
            &dir.join("r1").display().to_string(),
            "--quiet",
        ]),
        "does not exist",
    );
    // An evaluation batch of 0 images.
    let (run, _) = dense_run();
    one_line(
        &tnet(&[
            "eval",
            "--checkpoint",
            &run.join("best.safetensors").display().to_string(),
            "--batch-size",
            "0",
        ]),
        "--batch-size must be at least 1",
    );
    // Corrupt checkpoint.
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"garbage").unwrap();
    one_line(
        &tnet(&["eval", "--checkpoint", &bad.display().to_string()]),
        "bad.safetensors",
    );
    // Missing checkpoint.
    one_line(
        &tnet(&[
            "eval",
            "--checkpoint",
            &dir.join("none.safetensors").display().to_string(),
        ]),
        "none.safetensors",
    );
    // CUDA in a CPU build.
    one_line(
        &tnet(&["bench-step", "--device", "cuda", "--steps", "1"]),
        "without CUDA",
    );
    // Unknown config key and bad value name the key.
    one_line(
        &tnet(&[
            "train",
            "--set",
            "model.featurez=3",
            "--run-dir",
            &dir.join("r2").display().to_string(),
        ]),
        "featurez",
    );
    one_line(
        &tnet(&[
            "train",
            "--set",
            "batch_size=1",
            "--run-dir",
            &dir.join("r3").display().to_string(),
        ]),
        "batch_size",
    );
    one_line(
        &tnet(&[
            "train",
            "--param",
            "tucker",
            "--run-dir",
            &dir.join("r4").display().to_string(),
        ]),
        "--ranks",
    );
}

#[test]
fn bench_step_prints_one_json_line() {
    let o = tnet(&[
        "bench-step",
        "--features",
        "8",
        "--batch",
        "2",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    for k in [
        "median_ms",
        "min_ms",
        "max_ms",
        "gflops",
        "forward_gflops",
        "backward_gflops",
        "peak_gflops",
        "loss_first",
        "loss_last",
    ] {
        assert!(v[k].is_number(), "{k}");
    }
    // A network of 8 features runs far below one large GEMM's rate.
    let (step, peak) = (
        v["gflops"].as_f64().unwrap(),
        v["peak_gflops"].as_f64().unwrap(),
    );
    assert!(
        0.0 < step && step < peak,
        "step {step} GFLOP/s, peak {peak}"
    );
}
