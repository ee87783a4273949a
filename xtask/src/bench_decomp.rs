//! `cargo xtask bench-decomp --vs tensorly`: our decompositions against TensorLy 0.10.0 on
//! the standard problems, each tool timing the decomposition call alone, medians over runs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::problems::{Problem, standard};
use crate::tensorly::{ensure_venv, python_command, workspace_root};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The reference to compare with (only `tensorly`).
    #[arg(long, default_value = "tensorly")]
    vs: String,
    /// Timed runs per tool and problem (after one warm-up run each).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Only problems whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

struct Row {
    name: &'static str,
    theirs_ms: f64,
    ours_ms: f64,
    theirs_err: f64,
    ours_err: f64,
    bar: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.vs != "tensorly" {
        bail!("--vs {}: only tensorly is supported", args.vs);
    }
    if args.reps == 0 {
        bail!("--reps must be at least 1");
    }
    let root = workspace_root();
    let tnet = crate::tnet_bin::build_release()?;
    let python = ensure_venv()?;
    let dir = root.join("target/bench-decomp");
    std::fs::create_dir_all(&dir)?;
    let mut rows = Vec::new();
    for (i, problem) in standard().into_iter().enumerate() {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !problem.name.contains(o.as_str()))
        {
            continue;
        }
        let file = problem.tensor_file(&dir, 1000 + i as u64)?;
        eprintln!("{} ...", problem.name);
        let (theirs_ms, theirs_err) = run_tensorly(&python, &problem, &file, args.reps)?;
        let (ours_ms, ours_err) = run_ours(&tnet, &problem, &file, args.reps)?;
        let bar = if problem.method == "tucker" {
            10.0
        } else {
            5.0
        };
        rows.push(Row {
            name: problem.name,
            theirs_ms,
            ours_ms,
            theirs_err,
            ours_err,
            bar,
        });
    }
    println!(
        "\nfloat64, low rank + 1 % noise; TensorLy {} with 1 BLAS thread; medians of {} runs",
        crate::tensorly::TENSORLY_VERSION,
        args.reps
    );
    println!(
        "| {:<28} | {:>12} | {:>9} | {:>7} | {:>6} | {:>13} | {:>13} | {:<4} |",
        "problem", "TensorLy ms", "ours ms", "speedup", "bar", "TensorLy err", "ours err", "pass"
    );
    println!(
        "|{:-<30}|{:->14}|{:->11}|{:->9}|{:->8}|{:->15}|{:->15}|{:-<6}|",
        "", "", "", "", "", "", "", ""
    );
    let mut all_pass = true;
    for r in &rows {
        let speedup = r.theirs_ms / r.ours_ms;
        let pass = speedup >= r.bar && r.ours_err <= r.theirs_err + 1e-4;
        all_pass &= pass;
        println!(
            "| {:<28} | {:>12.2} | {:>9.2} | {:>6.1}x | {:>5.0}x | {:>13.6e} | {:>13.6e} | {:<4} |",
            r.name,
            r.theirs_ms,
            r.ours_ms,
            speedup,
            r.bar,
            r.theirs_err,
            r.ours_err,
            if pass { "yes" } else { "NO" }
        );
    }
    println!(
        "\npass = speedup >= bar and our error <= TensorLy's + 1e-4: {}",
        if all_pass { "all pass" } else { "SOME FAIL" }
    );
    Ok(())
}

fn run_tensorly(python: &Path, p: &Problem, file: &Path, reps: usize) -> Result<(f64, f64)> {
    let script = workspace_root().join("xtask/python/tensorly_bench.py");
    let mut cmd = python_command(python);
    cmd.arg(&script)
        .arg(p.method)
        .arg(file)
        .arg(&p.rank_arg)
        .arg((reps + 1).to_string());
    cmd.arg(p.n_iter.unwrap_or(100).to_string());
    if let Some(tol) = p.tol {
        cmd.arg(tol.to_string());
    }
    let out = cmd
        .output()
        .context("running the TensorLy benchmark script")?;
    if !out.status.success() {
        bail!(
            "TensorLy on {} failed: {}",
            p.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing TensorLy's JSON")?;
    let ms: Vec<f64> = v["ms"]
        .as_array()
        .context("ms")?
        .iter()
        .skip(1)
        .filter_map(|t| t.as_f64())
        .collect();
    Ok((median(ms), v["rel_error"].as_f64().context("rel_error")?))
}

fn run_ours(tnet: &Path, p: &Problem, file: &Path, reps: usize) -> Result<(f64, f64)> {
    // One process, a warm-up run, then the median of `reps` runs (tnet's --repeat): the same
    // protocol as the TensorLy side.
    let mut cmd = Command::new(tnet);
    cmd.args(["decompose", p.method])
        .arg(file)
        .args(["--rank", &p.rank_arg, "--json"])
        .args(["--repeat", &(reps + 1).to_string()]);
    if let Some(n) = p.n_iter {
        cmd.args(["--n-iter", &n.to_string()]);
    }
    if let Some(t) = p.tol {
        cmd.args(["--tol", &t.to_string()]);
    }
    let out = cmd.output()?;
    if !out.status.success() {
        bail!(
            "tnet on {} failed: {}",
            p.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing tnet's JSON")?;
    let ms = v["seconds"].as_f64().context("seconds")? * 1e3;
    Ok((ms, v["rel_error"].as_f64().context("rel_error")?))
}
