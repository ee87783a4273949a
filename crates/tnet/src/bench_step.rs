//! `tnet bench-step`: time one training step (forward + backward + RMSprop) on a fixed batch.

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use crate::device::parse_device;
use crate::net_args::NetArgs;
use tnet_train::config::Precision;

#[derive(Debug, Args)]
pub struct BenchStepArgs {
    #[command(flatten)]
    net: NetArgs,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Convolution dtype: f32, or bf16 / f16 (mixed precision, for GPUs; slow on the CPU).
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// One JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Line {
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    gflops: f64,
    loss_first: f64,
    loss_last: f64,
}

pub fn run(args: &BenchStepArgs) -> Result<()> {
    if args.batch < 2 || args.steps == 0 {
        bail!("--batch must be at least 2 (BatchNorm) and --steps at least 1");
    }
    let cfg = args.net.config()?;
    let device = parse_device(&args.device)?;
    let r = tnet_train::bench::bench_step(
        &cfg,
        args.batch,
        args.steps,
        args.warmup,
        args.precision.conv_dtype(),
        &device,
    )
    .context("benchmarking the training step")?;
    if args.json {
        let line = Line {
            median_ms: r.step.median_ms,
            min_ms: r.step.min_ms,
            max_ms: r.step.max_ms,
            gflops: r.gflops,
            loss_first: r.loss_first,
            loss_last: r.loss_last,
        };
        println!("{}", serde_json::to_string(&line)?);
        return Ok(());
    }
    println!(
        "{} {}, batch {}, {} steps after {} warm-up",
        args.net.preset, cfg.param, args.batch, args.steps, args.warmup
    );
    println!("phase                 median ms   min ms   max ms");
    for (name, s) in [
        ("reconstruct + split", r.reconstruct),
        ("forward + loss", r.forward),
        ("backward", r.backward),
        ("tensor backward", r.tensor_backward),
        ("optimizer update", r.update),
        ("whole step", r.step),
    ] {
        println!(
            "{name:<20} {:>10.2} {:>8.2} {:>8.2}",
            s.median_ms, s.min_ms, s.max_ms
        );
    }
    println!(
        "{:.1} effective GFLOP/s; loss {:.5} -> {:.5}",
        r.gflops, r.loss_first, r.loss_last
    );
    Ok(())
}
