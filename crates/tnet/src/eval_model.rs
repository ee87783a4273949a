//! `tnet eval --checkpoint CKPT`: the validation measures of a trained network.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tnet_metrics::segmentation::{HELEN_CLASSES, SegmentationReport};
use tnet_train::data::TaskData;
use tnet_train::eval::{ValidateOptions, Validation, validate};
use tnet_train::model_io::load_model;

use crate::device::parse_device;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A checkpoint written by `tnet train` (RUN/best.safetensors, RUN/last.safetensors).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Evaluate on this data folder instead of the one the run was trained with.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Test-time flip averaging (pose).
    #[arg(long)]
    flip: bool,
    /// Only the first N validation samples.
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// One JSON line.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &EvalArgs) -> Result<()> {
    let device = parse_device(&args.device)?;
    let (net, meta) = load_model(&args.checkpoint, &device)
        .with_context(|| format!("loading {}", args.checkpoint.display()))?;
    let mut cfg = meta.config.clone();
    if let Some(d) = &args.data_dir {
        cfg.data.dir = Some(d.clone());
    }
    if args.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    let data = TaskData::load(&cfg, args.json).context("validation data")?;
    let opts = ValidateOptions {
        batch: args.batch_size,
        limit: args.limit,
        flip: args.flip,
        sigma: cfg.data.sigma,
        quiet: args.json,
    };
    match validate(&net, &data, &opts, &device)? {
        Validation::Pose(report) if args.json => println!("{}", serde_json::to_string(&report)?),
        Validation::Pose(report) => crate::eval_pckh::print_table(&report),
        Validation::Face(report) if args.json => println!("{}", serde_json::to_string(&report)?),
        Validation::Face(report) => print_segmentation(&report),
    }
    Ok(())
}

/// Per-class IoU / F1 and the means with and without background.
pub fn print_segmentation(r: &SegmentationReport) {
    println!("{:<12} {:>8} {:>8}", "class", "IoU", "F1");
    for (c, (iou, f1)) in r.iou.iter().zip(&r.f1).enumerate() {
        let name = HELEN_CLASSES.get(c).copied().unwrap_or("?");
        println!("{name:<12} {:>8.4} {:>8.4}", iou, f1);
    }
    println!(
        "mean IoU {:.4} (without background {:.4}); mean F1 {:.4} (without background {:.4}); pixel accuracy {:.4}",
        r.mean_iou, r.mean_iou_no_background, r.mean_f1, r.mean_f1_no_background, r.pixel_accuracy
    );
}
