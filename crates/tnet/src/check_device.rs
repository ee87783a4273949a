//! `tnet check-device`: one training pass on a device (or in mixed precision, or with the fast
//! CPU kernels) against a reference, outputs and every gradient compared.

use anyhow::{Context, Result, bail};
use candle_core::Device;
use clap::Args;
use tnet_hourglass::NetOptions;
use tnet_train::device_check::{Agreement, check_device};

use crate::device::parse_device;
use crate::net_args::NetArgs;
use tnet_train::config::Precision;

#[derive(Debug, Args)]
pub struct CheckDeviceArgs {
    #[command(flatten)]
    net: NetArgs,
    #[arg(
        long,
        default_value = "cpu",
        help = "The device checked (cuda[:N], or cpu for the project's CPU kernels / a precision)"
    )]
    device: String,
    /// Convolution dtype on the checked side.
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// Images in the batch (BatchNorm statistics of the deepest level come from batch x 2 x 2
    /// values at 128 px: small batches make its gradients ill-conditioned).
    #[arg(long, default_value_t = 4)]
    batch: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Relative L2 distance to the f64 truth every tensor may have (default 1e-3 for f32, 5e-2
    /// for f16, 1e-1 for bf16; a wrong gradient is off by order 1); a tensor up to 3x the CPU
    /// f32 path's own distance passes too.
    #[arg(long)]
    tol: Option<f64>,
    /// One JSON line.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &CheckDeviceArgs) -> Result<()> {
    if args.batch < 2 {
        bail!("--batch must be at least 2 (BatchNorm needs a batch)");
    }
    let cfg = args.net.config()?;
    let device = parse_device(&args.device)?;
    if let (Some(why), true) = (args.precision.cpu_refusal(), device.is_cpu()) {
        bail!("--precision {}: {why}", args.precision.name());
    }
    let tol = args.tol.unwrap_or(match args.precision {
        Precision::F32 => 1e-3,
        Precision::F16 => 5e-2,
        Precision::Bf16 => 1e-1,
    });
    let fast = NetOptions {
        seed: args.seed,
        ..NetOptions::default()
    };
    let tested = NetOptions {
        conv_dtype: args.precision.conv_dtype(),
        ..fast.clone()
    };
    // Both against the f64 truth: the checked side, and the CPU's f32 path as the baseline of
    // what f32 rounding alone does to this network's gradients.
    let checks = check_device(
        &cfg,
        args.batch,
        args.seed,
        &[(&device, &tested), (&Device::Cpu, &fast)],
    )
    .context("one training pass on each side")?;
    let (t, base) = (&checks[0], &checks[1]);
    let rows: Vec<(&Agreement, &Agreement)> = t
        .outputs
        .iter()
        .chain(&t.grads)
        .zip(base.outputs.iter().chain(&base.grads))
        .collect();
    // A tensor passes when it is within tol of the truth, or no more than 3x as far from it as
    // the CPU's f32 path is.
    let failing: Vec<&(&Agreement, &Agreement)> = rows
        .iter()
        .filter(|(a, b)| a.rel > tol.max(3.0 * b.rel))
        .collect();
    let ok = failing.is_empty();
    let worst = rows
        .iter()
        .max_by(|x, y| x.0.rel.total_cmp(&y.0.rel))
        .map(|(a, b)| (a.name.clone(), a.rel, b.rel));
    if args.json {
        let line = serde_json::json!({
            "device": args.device,
            "precision": args.precision.name(),
            "param": cfg.param.to_string(),
            "loss_truth": t.loss_reference,
            "loss_tested": t.loss_tested,
            "loss_cpu_f32": base.loss_tested,
            "worst": worst.as_ref().map(|w| serde_json::json!({"name": w.0, "rel": w.1, "cpu_f32_rel": w.2})),
            "tol": tol,
            "ok": ok,
            "tested": {"outputs": t.outputs, "grads": t.grads},
            "cpu_f32": {"outputs": base.outputs, "grads": base.grads},
        });
        println!("{line}");
    } else {
        println!(
            "{} {}, {}: relative L2 distance to the f64 truth (CPU, candle's ops)",
            args.device,
            args.precision.name(),
            cfg.param
        );
        println!(
            "loss: truth {:.6e}, checked {:.6e}, CPU f32 {:.6e}",
            t.loss_reference, t.loss_tested, base.loss_tested
        );
        let mut sorted = rows.clone();
        sorted.sort_by(|x, y| y.0.rel.total_cmp(&x.0.rel));
        println!(
            "{:<50} {:>10} {:>10}",
            format!("largest (of {})", rows.len()),
            "checked",
            "CPU f32"
        );
        for (a, b) in sorted.iter().take(8) {
            println!("{:<50} {:>10.2e} {:>10.2e}", a.name, a.rel, b.rel);
        }
    }
    match failing.first() {
        Some((a, b)) => bail!(
            "{} of {} tensors disagree with the truth; worst {}: {:.2e} (CPU f32 {:.2e}, tolerance {tol:.1e})",
            failing.len(),
            rows.len(),
            a.name,
            a.rel,
            b.rel
        ),
        None => Ok(()),
    }
}
