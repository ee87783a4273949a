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
    forward_gflops: f64,
    backward_gflops: f64,
    /// One large GEMM's rate on the same threads (CPU only).
    peak_gflops: Option<f64>,
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
    let peak = device
        .is_cpu()
        .then(|| tnet_cpu::workers::on_pool_worker(|| tnet_cpu::gemm::gemm_peak_gflops(PEAK_N, 5)));
    if args.json {
        let line = Line {
            median_ms: r.step.median_ms,
            min_ms: r.step.min_ms,
            max_ms: r.step.max_ms,
            gflops: r.gflops,
            forward_gflops: r.forward_gflops,
            backward_gflops: r.backward_gflops,
            peak_gflops: peak,
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
    println!("phase                 median ms   min ms   max ms   GFLOP/s  of peak");
    for (name, s, rate) in [
        ("reconstruct + split", r.reconstruct, None),
        ("forward + loss", r.forward, Some(r.forward_gflops)),
        ("backward", r.backward, Some(r.backward_gflops)),
        ("tensor backward", r.tensor_backward, None),
        ("optimizer update", r.update, None),
        ("whole step", r.step, Some(r.gflops)),
    ] {
        let rate_cols = match (rate, peak) {
            (Some(g), Some(p)) => format!(" {g:>9.1} {:>7.0} %", 100.0 * g / p),
            (Some(g), None) => format!(" {g:>9.1}"),
            _ => String::new(),
        };
        println!(
            "{name:<20} {:>10.2} {:>8.2} {:>8.2}{rate_cols}",
            s.median_ms, s.min_ms, s.max_ms
        );
    }
    if let Some(p) = peak {
        println!("peak: one {PEAK_N}^3 f32 GEMM on the same threads, {p:.1} GFLOP/s");
    }
    println!("loss {:.5} -> {:.5}", r.loss_first, r.loss_last);
    Ok(())
}

/// Size of the square GEMM whose rate is reported as the peak (about 2 GFLOP a product).
const PEAK_N: usize = 1024;
