//! `kill -9` at 20 random moments of a short training: whatever was written, the `last` and
//! `best` checkpoints load, and resuming finishes with exactly the parameters of a training
//! that was never interrupted.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use candle_core::Device;
use common::temp_dir;
use tnet_tensor::random::SeededRng;
use tnet_train::checkpoint::Checkpoint;

/// `tnet train` into `run`, or resuming the run there.
fn train_args(run: &Path, data: &Path, resume: bool) -> Vec<String> {
    let flag = if resume { "--resume" } else { "--run-dir" };
    let mut a: Vec<String> = vec!["train".into(), flag.into(), run.display().to_string()];
    for set in [
        format!("data.dir={:?}", data.display().to_string()),
        "data.synthetic_train=16".into(),
        "data.synthetic_val=4".into(),
        "data.synthetic_size=64".into(),
        "model.features=8".into(),
        "max_steps_per_epoch=3".into(),
        "threads=1".into(),
    ] {
        a.push("--set".into());
        a.push(set);
    }
    a.extend(["--batch-size", "4", "--epochs", "3", "--quiet"].map(String::from));
    a
}

fn tnet(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tnet"))
        .args(args)
        .output()
        .expect("tnet runs")
}

/// The trained parameters of a checkpoint, by name, as raw values.
fn params(path: &Path) -> Vec<(String, Vec<f32>)> {
    let ck = Checkpoint::load(path, &Device::Cpu).expect("the checkpoint loads");
    let mut v: Vec<(String, Vec<f32>)> = ck
        .model
        .iter()
        .map(|(name, t)| {
            let values = t
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap_or_default();
            (name.clone(), values)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn kill_9_never_corrupts_checkpoints_and_resume_is_bit_identical() {
    let (_dir_guard, dir) = temp_dir("kill");
    let data = dir.join("data");
    // The uninterrupted reference (it also makes the data set, so the trials only train).
    let reference = dir.join("reference");
    let started = Instant::now();
    let o = tnet(&train_args(&reference, &data, false));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let span = started.elapsed();
    let want = params(&reference.join("last.safetensors"));

    let mut rng = SeededRng::new(9);
    for trial in 0..20 {
        let run = dir.join(format!("trial-{trial}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tnet"))
            .args(train_args(&run, &data, false))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tnet starts");
        std::thread::sleep(Duration::from_secs_f64(rng.uniform() * span.as_secs_f64()));
        let _ = child.kill(); // SIGKILL: no handler runs
        let _ = child.wait();
        for name in ["last.safetensors", "best.safetensors"] {
            let path = run.join(name);
            if path.exists() {
                params(&path); // panics with the reason if it does not load
            }
        }
        // Finish: resume from `last` when there is one (unless it is already the end), else
        // start again.
        let last = run.join("last.safetensors");
        let finished = last.is_file()
            && Checkpoint::load(&last, &Device::Cpu).is_ok_and(|c| c.meta.epoch == 3);
        if !finished {
            let o = tnet(&train_args(&run, &data, last.is_file()));
            assert!(
                o.status.success(),
                "trial {trial}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        assert!(
            params(&run.join("last.safetensors")) == want,
            "trial {trial}: resumed parameters differ from the uninterrupted run"
        );
    }
}
