//! `mpirun -np 2 tnet train` (feature `mpi`; Open MPI's `mpirun` on the PATH): the two processes
//! train the single process's network, write one run folder, and a job that loses a process
//! ends (never hangs) with a checkpoint that resumes. Run with
//! `cargo test -p tnet --features mpi --test mpi`.
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{temp_dir, tnet};

fn mpirun(np: usize, args: &[String], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &np.to_string(),
    ])
    .arg(env!("CARGO_BIN_EXE_tnet"))
    .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// `tnet train` on a tiny synthetic set: `steps_per_epoch` batches of 8.
fn train_args(dir: &Path, run: &str, epochs: usize, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "train",
        "--run-dir",
        dir.join(run).to_str().unwrap(),
        "--epochs",
        &epochs.to_string(),
        "--batch-size",
        "8",
        "--threads",
        "1",
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for set in [
        format!("data.dir={:?}", dir.join("data").display().to_string()),
        "data.synthetic_train=48".into(),
        "data.synthetic_val=8".into(),
        "data.synthetic_size=64".into(),
        "model.features=8".into(),
    ] {
        a.push("--set".into());
        a.push(set);
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn ok(o: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    text
}

fn tensors(path: &Path) -> Vec<(String, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<(String, Vec<f32>)> = st
        .tensors()
        .into_iter()
        .filter(|(name, t)| name.starts_with("model.") && t.dtype() == safetensors::Dtype::F32)
        .map(|(name, t)| {
            let data = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, data)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn relative_difference(a: &Path, b: &Path) -> f64 {
    let (a, b) = (tensors(a), tensors(b));
    assert!(!a.is_empty() && a.len() == b.len());
    let (mut diff, mut norm) = (0f64, 0f64);
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        diff += va
            .iter()
            .zip(vb)
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum::<f64>();
        norm += va.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
    }
    (diff / norm).sqrt()
}

#[test]
fn two_processes_train_the_single_process_network() {
    let (_guard, dir) = temp_dir("mpi-equal");
    let one_step = ["--set", "max_steps_per_epoch=1", "--sync-bn"];
    let alone = train_args(&dir, "alone", 1, &one_step);
    let refs: Vec<&str> = alone.iter().map(String::as_str).collect();
    ok(&tnet(&refs));
    let pair = train_args(&dir, "pair", 1, &one_step);
    let text = ok(&mpirun(2, &pair, &[]).output().unwrap());
    assert!(text.contains("data-parallel over 2 processes"), "{text}");
    assert_eq!(
        text.matches("trained 1 steps").count(),
        1,
        "one report: {text}"
    );
    let gap = relative_difference(
        &dir.join("alone/last.safetensors"),
        &dir.join("pair/last.safetensors"),
    );
    let log = std::fs::read_to_string(dir.join("pair/log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1, "one log line per epoch: {log}");
    // Against the control of BatchNorm per process (another training): AdamW's first step
    // moves near-zero gradients (BatchNorm biases) by a whole step whatever their rounding, so
    // float summation order shows; the exact arithmetic is checked in f64 in tnet-train's
    // tests/data_parallel.rs.
    let own = train_args(&dir, "own-bn", 1, &one_step[..2]);
    ok(&mpirun(2, &own, &[]).output().unwrap());
    let own_gap = relative_difference(
        &dir.join("alone/last.safetensors"),
        &dir.join("own-bn/last.safetensors"),
    );
    eprintln!("synchronized BatchNorm {gap:e}, per process {own_gap:e}");
    assert!(gap < 1e-3, "parameters differ by {gap:e}");
    assert!(own_gap > 10.0 * gap, "{own_gap:e} against {gap:e}");
}

/// Waits until `path` exists (at most `limit`).
fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The process of `rank` among those whose command line mentions `marker`.
fn pid_of_rank(marker: &str, rank: usize) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        let has = |hay: &[u8], s: &str| hay.split(|&b| b == 0).any(|p| p == s.as_bytes());
        let names_run = String::from_utf8_lossy(&cmd).contains(marker);
        (names_run && has(&env, &want) && cmd.starts_with(env!("CARGO_BIN_EXE_tnet").as_bytes()))
            .then_some(pid)
    })
}

/// One process killed, or one stopped (hung): the job ends within the collective timeout with
/// a message saying so, and the run resumes from its last checkpoint.
#[test]
fn a_lost_process_ends_the_job_and_the_run_resumes() {
    let (_guard, dir) = temp_dir("mpi-kill");
    for (run, signal) in [("killed", "KILL"), ("hung", "STOP")] {
        let args = train_args(&dir, run, 40, &[]);
        let job = mpirun(2, &args, &[("TNET_COLLECTIVE_TIMEOUT", "5")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(
            &dir.join(run).join("last.safetensors"),
            Duration::from_secs(120),
        );
        let marker = dir.join(run).display().to_string();
        let pid = pid_of_rank(&marker, 1).expect("rank 1 is running");
        let hit = Instant::now();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status();
        assert!(sent.unwrap().success());
        let out = job.wait_with_output().unwrap();
        let took = hit.elapsed();
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "{run}: the job must fail: {text}");
        assert!(
            took < Duration::from_secs(60),
            "{run}: took {took:?}: {text}"
        );
        if signal == "STOP" {
            assert!(text.contains("waited more than 5 s"), "{text}");
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        } else {
            assert!(text.contains("rank 1"), "{text}");
        }
        // The checkpoint the job left resumes (two more epochs than it had finished).
        let done = std::fs::read_to_string(dir.join(run).join("log.jsonl"))
            .unwrap()
            .lines()
            .count();
        let mut resume: Vec<String> = vec![
            "train".into(),
            "--resume".into(),
            dir.join(run).display().to_string(),
            "--epochs".into(),
            (done + 2).to_string(),
            "--quiet".into(),
        ];
        resume.push("--threads".into());
        resume.push("1".into());
        let text = ok(&mpirun(2, &resume, &[]).output().unwrap());
        assert!(
            text.contains(&format!("after {} epochs", done + 2)),
            "{text}"
        );
    }
}

/// `mpirun -np 2 tnet study`: rank i is shard i of 2, both train a share of the runs, and rank 0
/// writes the report (the tables' equality with an unsharded study is checked through
/// `--shard` in study_cli.rs).
#[test]
fn mpirun_spreads_the_study_over_its_ranks() {
    let (_guard, dir) = temp_dir("mpi-study");
    let out = dir.join("out");
    let mut args = common::tiny_study(&out, &dir);
    args.push("--set".into());
    args.push("threads=1".into());
    let text = ok(&mpirun(2, &args, &[]).output().unwrap());
    assert!(text.contains("shard 1 of 2"), "{text}");
    assert!(text.contains("report:"), "{text}");
    let md = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(md.contains("## Table B"));
}
