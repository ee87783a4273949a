//! `tnet study`: the paper's experiments (Tables A, B, C) as one resumable job with a report.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};
use clap::Args;
use tnet_data::pose_loader::Shard;
use tnet_train::config::{DataKind, Task};
use tnet_train::distributed::shard_of;
use tnet_train::study::{Budget, StudyOptions, StudySettings, run_study};

use crate::device::parse_device;

#[derive(Debug, Args)]
pub struct StudyArgs {
    /// One seed and one short epoch per run (7 minutes on this 2-core machine).
    #[arg(long)]
    quick: bool,
    /// Task of Tables A and B (Table C is face parsing).
    #[arg(long, value_enum, default_value = "pose")]
    task: Task,
    #[arg(long, value_enum, default_value = "synthetic")]
    data: DataKind,
    /// Data folder (MPII in the HRNet layout, a face-parsing folder, or where synthetic data is
    /// made; default datasets/synth-pose or datasets/synth-face).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Table C's face data: synthetic or faceparsing (a Helen-style folder).
    #[arg(long, value_enum, default_value = "synthetic")]
    face_data: DataKind,
    /// Table C's data folder (for synthetic faces: where they are made, default datasets/synth-face).
    #[arg(long)]
    face_data_dir: Option<PathBuf>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seeds per configuration (default 3, or 1 with --quick).
    #[arg(long)]
    seeds: Option<usize>,
    /// Epochs per run (default 20, or 1 with --quick); the rate drops 10x after 75 % and 90 % of them.
    #[arg(long)]
    epochs: Option<usize>,
    /// Output folder: the report (README.md), plots and run folders.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Any training config key for every run: --set model.preset=mpii --set batch_size=8.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Train only every N-th run, starting at run I (0-based): `--shard I/N`, one process per
    /// shard started together (a Slurm job array, several hosts on one shared folder). Each
    /// shard reads the others' runs back when it needs them; shard 0 writes the report. Under
    /// `mpirun` (feature `mpi`) the rank and the number of processes are the default.
    #[arg(long, value_parser = parse_shard, value_name = "I/N")]
    shard: Option<Shard>,
}

fn parse_shard(text: &str) -> std::result::Result<Shard, String> {
    let bad = || format!("{text:?}: expected I/N with 0 <= I < N, for example 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count) = (
        i.trim().parse::<usize>().map_err(|_| bad())?,
        n.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// The commit the study runs from (`-dirty` with uncommitted changes), or "unknown".
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{hash}-dirty") } else { hash }
        }
        None => "unknown".into(),
    }
}

pub fn run(args: &StudyArgs) -> Result<()> {
    let seeds = args.seeds.unwrap_or(if args.quick { 1 } else { 3 });
    if seeds == 0 {
        anyhow::bail!("--seeds must be at least 1");
    }
    let mut budget = if args.quick {
        Budget::quick(seeds)
    } else {
        Budget::full(seeds)
    };
    if let Some(e) = args.epochs {
        if e == 0 {
            anyhow::bail!("--epochs must be at least 1");
        }
        budget.epochs = e;
        budget.decay_epochs = tnet_train::study::decay_at_75_and_90_percent(e);
    }
    let (task, data) = (args.task, args.data);
    let settings = StudySettings {
        task,
        data,
        data_dir: args.data_dir.clone(),
        face_data: args.face_data,
        face_data_dir: args.face_data_dir.clone(),
        device: args.device.clone(),
        budget,
        sets: args.set.clone(),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(if args.quick { "study-quick" } else { "study" })
    });
    let device = parse_device(&args.device)?;
    let stop = crate::interrupt::stop_flag();
    // `cargo xtask study` passes its own command line, which is what a reader would rerun.
    let command = std::env::var("TNET_COMMAND").unwrap_or_else(|_| {
        let mut a: Vec<String> = std::env::args().collect();
        if let Some(first) = a.first_mut() {
            *first = "tnet".into();
        }
        a.join(" ")
    });
    let opts = StudyOptions {
        out: out.clone(),
        settings,
        quiet: args.quiet,
        stop,
        command,
        commit: commit(),
        shard: match args.shard {
            Some(shard) => shard,
            None => shard_of(crate::world::world()?.as_ref()),
        },
    };
    if opts.shard.count > 1 {
        eprintln!(
            "study into {}, shard {} of {}: every {}th run from run {} (finished runs there are reused)",
            out.display(),
            opts.shard.index,
            opts.shard.count,
            opts.shard.count,
            opts.shard.index
        );
    } else {
        eprintln!(
            "study into {} (finished runs there are reused)",
            out.display()
        );
    }
    let summary =
        run_study(&opts, &device).with_context(|| format!("study in {}", out.display()))?;
    if summary.interrupted {
        eprintln!(
            "stopped: {} of {} runs done; run the same command again to continue",
            (summary.runs_trained + summary.runs_skipped_done + summary.runs_unreachable)
                .saturating_sub(1),
            summary.runs_total
        );
        return Ok(());
    }
    if opts.shard.index != 0 {
        println!(
            "shard {} of {}: {} runs trained; shard 0 writes the report",
            opts.shard.index, opts.shard.count, summary.runs_trained
        );
    }
    if let Some(report) = summary.report {
        println!(
            "{} runs: {} trained now, {} found finished, {} out of reach at this size; report: {}",
            summary.runs_total,
            summary.runs_trained,
            summary.runs_skipped_done,
            summary.runs_unreachable,
            report.display()
        );
    }
    Ok(())
}
