//! `cargo xtask bench-decomp --vs tensorly`: our decompositions against TensorLy 0.10.0 on
//! the benchmark suite (`tnet_tests::suite`), each tool timing the decomposition call alone in
//! one process, medians over runs; ratios per problem, their geometric mean and worst case per
//! method, and the errors side by side.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;
use tnet_tests::suite::{Method, Precision, Problem, suite};

use crate::tensorly::{ensure_venv, python_command, workspace_root};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The reference to compare with (only `tensorly`).
    #[arg(long, default_value = "tensorly")]
    vs: String,
    /// Timed runs per tool and problem (after one warm-up run each).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Only problems whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

struct Row {
    problem: Problem,
    theirs_ms: f64,
    ours_ms: f64,
    theirs_err: f64,
    ours_err: f64,
}

impl Row {
    fn speedup(&self) -> f64 {
        self.theirs_ms / self.ours_ms
    }

    /// `|ours - theirs| / theirs` of the relative errors.
    fn error_gap(&self) -> f64 {
        (self.ours_err - self.theirs_err).abs() / self.theirs_err.max(f64::MIN_POSITIVE)
    }
}

/// The bars of the issue: geometric mean and worst speed-up per method.
fn bars(m: Method) -> (f64, f64) {
    match m {
        Method::Tucker => (20.0, 10.0),
        Method::Cp | Method::Tt => (10.0, 5.0),
    }
}

/// Largest relative difference of the errors that counts as equal.
const ERROR_GAP: f64 = 1e-6;

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
    let tnet = crate::tnet_bin::build_release()?;
    let python = ensure_venv()?;
    let dir = workspace_root().join("target/bench-decomp");
    std::fs::create_dir_all(&dir)?;
    let mut rows = Vec::new();
    for problem in suite() {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !problem.name.contains(o.as_str()))
        {
            continue;
        }
        let file = tensor_file(&problem, &dir)?;
        eprintln!(
            "{} {:?} rank {} ...",
            problem.name,
            problem.shape,
            problem.rank_arg()
        );
        let (theirs_ms, theirs_err) = run_tensorly(&python, &problem, &file, args.reps)?;
        let (ours_ms, ours_err) = run_ours(&tnet, &problem, &file, args.reps)?;
        rows.push(Row {
            problem,
            theirs_ms,
            ours_ms,
            theirs_err,
            ours_err,
        });
    }
    print_table(&rows, args.reps);
    Ok(())
}

fn print_table(rows: &[Row], reps: usize) {
    println!(
        "\nTensorLy {} (numpy, 1 BLAS thread) against tnet; medians of {reps} runs after a warm-up; \
         Tucker {} HOOI sweeps, CP {} ALS sweeps (tolerance 0)\n",
        crate::tensorly::TENSORLY_VERSION,
        tnet_tests::suite::TUCKER_SWEEPS,
        tnet_tests::suite::CP_SWEEPS
    );
    println!(
        "| problem | shape | rank | data | TensorLy ms | ours ms | speed-up | TensorLy err | ours err | err gap |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let p = &r.problem;
        println!(
            "| {} | {:?} | {} | {:?} | {:.2} | {:.2} | {:.1}x | {:.6e} | {:.6e} | {:.1e} |",
            p.name,
            p.shape,
            p.rank_arg(),
            p.data,
            r.theirs_ms,
            r.ours_ms,
            r.speedup(),
            r.theirs_err,
            r.ours_err,
            r.error_gap()
        );
    }
    println!(
        "\n| method | problems | geometric mean | worst | bars (mean, worst) | errors equal (gap <= {ERROR_GAP:e}) | pass |"
    );
    println!("|---|---:|---:|---:|---|---|---|");
    for m in [Method::Tucker, Method::Cp, Method::Tt] {
        let of: Vec<&Row> = rows.iter().filter(|r| r.problem.method == m).collect();
        if of.is_empty() {
            continue;
        }
        let gm = (of.iter().map(|r| r.speedup().ln()).sum::<f64>() / of.len() as f64).exp();
        let worst = of.iter().map(|r| r.speedup()).fold(f64::INFINITY, f64::min);
        let equal = of.iter().filter(|r| r.error_gap() <= ERROR_GAP).count();
        let (bar_gm, bar_worst) = bars(m);
        let pass = gm >= bar_gm && worst >= bar_worst && equal == of.len();
        println!(
            "| {} | {} | {gm:.1}x | {worst:.1}x | {bar_gm}x, {bar_worst}x | {equal} of {} | {} |",
            m.name(),
            of.len(),
            of.len(),
            if pass { "yes" } else { "NO" }
        );
    }
}

/// Writes (or reuses) the problem's tensor as `.npy` in its precision. The file name holds
/// everything the tensor depends on, so a changed generator never reuses a stale file.
fn tensor_file(p: &Problem, dir: &Path) -> Result<PathBuf> {
    let dims = |v: &[usize]| {
        v.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x")
    };
    let file = dir.join(format!(
        "{}-{}-r{}-{:?}-{}.npy",
        p.name,
        dims(&p.shape),
        dims(&p.rank),
        p.data,
        p.seed
    ));
    if file.exists() {
        return Ok(file);
    }
    let x = p.tensor();
    let f = std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
    let w = std::io::BufWriter::new(f);
    match p.precision {
        Precision::F64 => tnet_tensor::npy::write_npy(w, &x.view())?,
        Precision::F32 => tnet_tensor::npy::write_npy(w, &x.mapv(|v| v as f32).view())?,
    }
    Ok(file)
}

fn run_tensorly(python: &Path, p: &Problem, file: &Path, reps: usize) -> Result<(f64, f64)> {
    let script = workspace_root().join("xtask/python/tensorly_bench.py");
    let mut cmd = python_command(python);
    cmd.arg(&script)
        .arg(p.method.name())
        .arg(file)
        .arg(p.rank_arg())
        .arg((reps + 1).to_string())
        .arg(p.n_iter.max(1).to_string())
        .arg("0");
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
    cmd.args(["decompose", p.method.name()])
        .arg(file)
        .args(["--rank", &p.rank_arg(), "--json"])
        .args(["--repeat", &(reps + 1).to_string()]);
    if p.method != Method::Tt {
        cmd.args(["--n-iter", &p.n_iter.to_string(), "--tol", "0"]);
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
