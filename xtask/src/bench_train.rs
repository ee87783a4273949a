//! `cargo xtask bench-train --vs yardstick`: our training step against PyTorch eager (the
//! project's own reference network, `xtask/yardstick/tnet_torch.py`) and, given `--jax DIR`,
//! a JAX script with the same arguments (`DIR/run.sh`), on the same configurations,
//! alternating in one run, and a ratio table.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    /// What to compare against (only `yardstick`).
    #[arg(long, default_value = "yardstick")]
    vs: String,
    /// Configurations: small, small-tucker, mpii, mpii-tucker.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "small,small-tucker,mpii,mpii-tucker"
    )]
    configs: Vec<String>,
    /// Rounds: each round runs ours, PyTorch and JAX once per configuration.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Timed steps per run (the mpii configs use at most 5).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Skip a side: --skip torch.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// A folder whose `run.sh` runs a JAX implementation with tnet_torch.py's arguments and
    /// JSON line (no JAX column without it).
    #[arg(long)]
    jax: Option<PathBuf>,
}

struct Config {
    name: &'static str,
    preset: &'static str,
    param: &'static str,
    ranks: Option<&'static str>,
    yard: &'static [&'static str],
}

/// The yardstick's arguments for our presets.
const SMALL: &[&str] = &[
    "--stacks",
    "1",
    "--depth",
    "4",
    "--b-depth",
    "2",
    "--features",
    "32",
    "--joints",
    "16",
    "--size",
    "128",
];
const MPII: &[&str] = &[
    "--stacks",
    "2",
    "--depth",
    "4",
    "--b-depth",
    "2",
    "--features",
    "128",
    "--joints",
    "16",
    "--size",
    "256",
];

const CONFIGS: [Config; 4] = [
    Config {
        name: "small",
        preset: "small",
        param: "dense",
        ranks: None,
        yard: SMALL,
    },
    Config {
        name: "small-tucker",
        preset: "small",
        param: "tucker",
        ranks: Some("1,4,3,2,16,16,3,3"),
        yard: SMALL,
    },
    Config {
        name: "mpii",
        preset: "mpii",
        param: "dense",
        ranks: None,
        yard: MPII,
    },
    Config {
        name: "mpii-tucker",
        preset: "mpii",
        param: "tucker",
        ranks: Some("2,4,3,2,64,64,3,3"),
        yard: MPII,
    },
];

fn json_of(out: &std::process::Output, what: &str) -> Result<serde_json::Value> {
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("{what}: no JSON line"))?;
    serde_json::from_str(line).with_context(|| format!("{what}: bad JSON"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

pub fn run(args: &BenchTrainArgs) -> Result<()> {
    if args.vs != "yardstick" {
        bail!("--vs {}: only `yardstick` is known", args.vs);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let torch_script = root.join("xtask").join("yardstick").join("run_torch.sh");
    let jax_script = match &args.jax {
        Some(dir) => {
            let script = dir.join("run.sh");
            if !script.is_file() {
                bail!("--jax {}: no run.sh there", dir.display());
            }
            Some(script)
        }
        None => None,
    };
    let tnet = crate::tnet_bin::build_release()?;
    let chosen: Vec<&Config> = args
        .configs
        .iter()
        .map(|c| {
            CONFIGS
                .iter()
                .find(|k| k.name == c)
                .with_context(|| format!("unknown config {c}"))
        })
        .collect::<Result<_>>()?;
    // Per config: our, torch and jax medians over rounds; our GFLOP/s.
    let mut ours: Vec<Vec<f64>> = vec![vec![]; chosen.len()];
    let mut torch: Vec<Vec<f64>> = vec![vec![]; chosen.len()];
    let mut jax: Vec<Vec<f64>> = vec![vec![]; chosen.len()];
    let mut gflops: Vec<Vec<f64>> = vec![vec![]; chosen.len()];
    for round in 0..args.rounds {
        for (i, c) in chosen.iter().enumerate() {
            let steps = if c.preset == "mpii" {
                args.steps.min(5)
            } else {
                args.steps
            };
            let warmup = if c.preset == "mpii" {
                args.warmup.min(2)
            } else {
                args.warmup
            };
            let (s, w, b) = (
                steps.to_string(),
                warmup.to_string(),
                args.batch.to_string(),
            );
            let mut cmd = Command::new(&tnet);
            cmd.args([
                "bench-step",
                "--preset",
                c.preset,
                "--param",
                c.param,
                "--batch",
                &b,
                "--steps",
                &s,
                "--warmup",
                &w,
                "--json",
            ]);
            if let Some(r) = c.ranks {
                cmd.args(["--ranks", r]);
            }
            let v = json_of(&cmd.output()?, "tnet bench-step")?;
            ours[i].push(v["median_ms"].as_f64().unwrap_or(f64::NAN));
            gflops[i].push(v["gflops"].as_f64().unwrap_or(f64::NAN));
            eprintln!(
                "round {} {}: ours {:.1} ms",
                round + 1,
                c.name,
                ours[i].last().unwrap()
            );
            for (side, script, store) in [
                ("torch", Some(&torch_script), &mut torch),
                ("jax", jax_script.as_ref(), &mut jax),
            ] {
                let Some(script) = script.filter(|_| !args.skip.iter().any(|k| k == side)) else {
                    continue;
                };
                let mut cmd = Command::new("bash");
                cmd.arg(script).args(c.yard).args([
                    "--batch", &b, "--param", c.param, "--steps", &s, "--warmup", &w,
                ]);
                if let Some(r) = c.ranks {
                    cmd.args(["--ranks", r]);
                }
                let v = json_of(&cmd.output()?, side)?;
                let ms = v["train_step_ms"]["median"].as_f64().unwrap_or(f64::NAN);
                store[i].push(ms);
                eprintln!("round {} {}: {side} {:.1} ms", round + 1, c.name, ms);
            }
        }
    }
    println!("| config | ours ms | PyTorch ms | JAX ms | ours / faster | our GFLOP/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, c) in chosen.iter().enumerate() {
        let (o, t, j, g) = (
            median(&mut ours[i]),
            median(&mut torch[i]),
            median(&mut jax[i]),
            median(&mut gflops[i]),
        );
        let faster = t.min(j);
        let faster = if faster.is_nan() {
            if t.is_nan() { j } else { t }
        } else {
            faster
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} |",
            c.name,
            o,
            t,
            j,
            o / faster,
            g
        );
    }
    Ok(())
}
