//! `tnet eval-pckh --gt gt_valid.mat --pred preds.npy|preds.mat [--json]`

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ndarray::{Array3, Axis, Ix3};
use tnet_data::mat::read_mat_file;
use tnet_metrics::pckh::{N_JOINTS, PckhGroundTruth, evaluate};
use tnet_tensor::npy::{NpyArray, read_npy};

#[derive(Debug, Args)]
pub struct EvalPckhArgs {
    /// MPII ground truth as MAT v5 (`annot/gt_valid.mat`: pos_gt_src, jnt_missing, headboxes_src).
    #[arg(long)]
    gt: PathBuf,
    /// Predictions, an (N, 16, 2) array of (x, y) image coordinates: .npy, or .mat with the
    /// variable `preds` (HRNet's pred.mat).
    #[arg(long)]
    pred: PathBuf,
    /// Whether the predictions are 0- or 1-based. Default: 0 for .npy; 1 for .mat, because
    /// HRNet adds 1 before it writes pred.mat.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    pred_base: Option<u8>,
    /// Print one JSON line instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &EvalPckhArgs) -> Result<()> {
    let gt = read_ground_truth(&args.gt)
        .with_context(|| format!("reading ground truth {}", args.gt.display()))?;
    let mut pred = read_predictions(&args.pred)
        .with_context(|| format!("reading predictions {}", args.pred.display()))?;
    let is_mat = args
        .pred
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mat"));
    if args.pred_base.unwrap_or(u8::from(is_mat)) == 1 {
        pred -= 1.0; // the evaluation takes 0-based predictions
    }
    let n = gt.joints.shape()[0];
    if pred.shape() != [n, N_JOINTS, 2] {
        bail!(
            "predictions {} have shape {:?} but the ground truth {} has {n} samples: expected [{n}, 16, 2]",
            args.pred.display(),
            pred.shape(),
            args.gt.display()
        );
    }
    let report = evaluate(&pred.view(), &gt).context("computing PCKh")?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    print_table(&report);
    Ok(())
}

/// The per-part table: PCKh@0.5 and @0.1 rows, AUC and the sample count.
pub fn print_table(report: &tnet_metrics::pckh::PckhReport) {
    let names: Vec<&str> = report.at_05.entries().iter().map(|(n, _)| *n).collect();
    println!(
        "{:<10} {}",
        "",
        names.iter().map(|n| format!("{n:>9}")).collect::<String>()
    );
    for (label, table) in [("PCKh@0.5", &report.at_05), ("PCKh@0.1", &report.at_01)] {
        let row: String = table
            .entries()
            .iter()
            .map(|(_, v)| format!("{v:>9.2}"))
            .collect();
        println!("{label:<10} {row}");
    }
    println!("AUC (0..0.5) {:.2}   samples {}", report.auc, report.n);
}

fn read_ground_truth(path: &Path) -> Result<PckhGroundTruth> {
    Ok(tnet_data::mpii::read_gt_valid(path)?)
}

fn read_predictions(path: &Path) -> Result<Array3<f64>> {
    let is_mat = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mat"));
    let a = if is_mat {
        read_mat_file(path)?.get("preds")?.to_array()?
    } else {
        match read_npy(BufReader::new(File::open(path)?))? {
            NpyArray::F32(a) => a.mapv(f64::from),
            NpyArray::F64(a) => a,
        }
    };
    if a.ndim() != 3 {
        bail!(
            "predictions must be a 3-d (N, 16, 2) array, got shape {:?}",
            a.shape()
        );
    }
    let a = a.into_dimensionality::<Ix3>()?;
    // HRNet's pred.mat may carry a third column (the heatmap maximum): keep x and y.
    if a.shape()[2] > 2 {
        return Ok(a.slice_axis(Axis(2), ndarray::Slice::from(0..2)).to_owned());
    }
    Ok(a)
}
