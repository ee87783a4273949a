//! `tnet train`: train T-Net from a TOML config (or the embedded default) with overrides.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use tnet_train::config::Task;
use tnet_train::distributed::{Collective, Replicas, broadcast_from_root};
use tnet_train::{RunOptions, TrainConfig};

use crate::device::parse_device;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// TOML configuration (the embedded default when absent; see docs/training.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// pose or faceseg.
    #[arg(long)]
    task: Option<String>,
    /// synthetic, mpii or faceparsing.
    #[arg(long)]
    data: Option<String>,
    /// Data folder (MPII in the HRNet layout, or a face-parsing folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// small or mpii.
    #[arg(long)]
    preset: Option<String>,
    /// dense, tucker, cp, tt, or the per-layer baselines layer-tucker, layer-cp, layer-tt.
    #[arg(long)]
    param: Option<String>,
    /// Tucker: 8 ranks; TT: 9.
    #[arg(long, value_delimiter = ',')]
    ranks: Option<Vec<usize>>,
    /// CP rank (or every inner TT rank).
    #[arg(long)]
    rank: Option<usize>,
    /// Target compression of the kernel tensor (any parametrization but dense).
    #[arg(long)]
    compression: Option<f64>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    /// Base learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// rmsprop or adamw.
    #[arg(long)]
    optimizer: Option<String>,
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda or cuda:N.
    #[arg(long)]
    device: Option<String>,
    /// Convolution dtype: f32, bf16 or f16 (mixed precision, for GPUs).
    #[arg(long)]
    precision: Option<String>,
    /// Worker threads (all cores by default).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, help = "Run folder (default runs/<time>-<task>-<param>)")]
    run_dir: Option<PathBuf>,
    /// Continue the run in this folder from its last checkpoint.
    #[arg(long, conflicts_with_all = ["run_dir", "config"])]
    resume: Option<PathBuf>,
    /// Initialize the model from a checkpoint (e.g. one written by `tnet compress`).
    #[arg(long)]
    init_from: Option<PathBuf>,
    #[arg(
        long = "set",
        value_name = "KEY=VALUE",
        help = "Any config key: --set schedule.decay_epochs=[5,8] --set data.sigma=2"
    )]
    set: Vec<String>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// Under MPI: BatchNorm statistics over the global batch (all processes) instead of each
    /// process's part (docs/distributed.md).
    #[arg(long)]
    sync_bn: bool,
}

impl TrainArgs {
    fn overrides(&self) -> Vec<String> {
        let mut o = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                o.push(format!("{k}={v}"));
            }
        };
        let q = |s: &Option<String>| s.as_ref().map(|v| format!("\"{v}\""));
        put("task", q(&self.task));
        put("data.kind", q(&self.data));
        put(
            "data.dir",
            self.data_dir
                .as_ref()
                .map(|p| format!("{:?}", p.display().to_string())),
        );
        put("model.preset", q(&self.preset));
        put("model.param", q(&self.param));
        put("model.ranks", self.ranks.as_ref().map(|r| format!("{r:?}")));
        put("model.rank", self.rank.map(|r| r.to_string()));
        put(
            "model.compression",
            self.compression.map(|c| format!("{c:?}")),
        );
        put("epochs", self.epochs.map(|v| v.to_string()));
        put("batch_size", self.batch_size.map(|v| v.to_string()));
        put("schedule.lr", self.lr.map(|v| format!("{v:?}")));
        put("optimizer.name", q(&self.optimizer));
        put("seed", self.seed.map(|v| v.to_string()));
        put("device", q(&self.device));
        put("precision", q(&self.precision));
        put("threads", self.threads.map(|v| v.to_string()));
        o.extend(self.set.iter().cloned());
        o
    }
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let overrides = args.overrides();
    // Choosing the parametrization or its ranks on the command line replaces the config's.
    let reset = args.param.is_some()
        || args.ranks.is_some()
        || args.rank.is_some()
        || args.compression.is_some();
    if args.param.is_some()
        && args.ranks.is_none()
        && args.rank.is_none()
        && args.compression.is_none()
    {
        bail_if_needs_ranks(args.param.as_deref())?;
    }
    let config_file = match &args.resume {
        Some(dir) => Some(dir.join("config.toml")),
        None => args.config.clone(),
    };
    let cfg = TrainConfig::load_with(config_file.as_deref(), &overrides, reset)
        .context("configuration")?;
    if let Some(t) = cfg.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global();
    }
    let group = crate::world::world()?;
    let device = parse_device(&crate::world::device_of_rank(&cfg.device))?;
    let run_dir = match (&args.resume, &args.run_dir) {
        (Some(d), _) | (None, Some(d)) => d.clone(),
        (None, None) => default_run_dir(&cfg, group.as_ref())?,
    };
    let root = group.is_root();
    if args.resume.is_none() && run_dir.join("last.safetensors").is_file() {
        bail!(
            "{} already holds a run: continue it with --resume {0}, or choose another --run-dir",
            run_dir.display()
        );
    }
    let stop = crate::interrupt::stop_flag();
    let net_cfg = cfg.network()?;
    if group.size() > 1 && root {
        eprintln!(
            "data-parallel over {} processes: {} images per process and step{}",
            group.size(),
            cfg.batch_size / group.size(),
            if args.sync_bn {
                ", BatchNorm over the global batch"
            } else {
                ""
            }
        );
    }
    if root {
        eprintln!(
            "training {} on {} data ({}), {}: {} parameters in the tensor ({:.2}x compression), {} in total; run folder {}",
            cfg.task,
            cfg.data.kind,
            cfg.data_dir().display(),
            net_cfg.param,
            net_cfg.param_count(),
            net_cfg.compression_ratio(),
            net_cfg.total_params(),
            run_dir.display()
        );
    }
    let opts = RunOptions {
        run_dir: run_dir.clone(),
        resume: args.resume.is_some(),
        init_from: args.init_from.clone(),
        quiet: args.quiet,
        stop,
        replicas: Replicas {
            group: group.clone(),
            sync_bn: args.sync_bn,
        },
    };
    let summary = tnet_train::train(&cfg, &device, &opts)
        .with_context(|| format!("training into {}", run_dir.display()))?;
    if !root {
        return Ok(());
    }
    if summary.interrupted {
        eprintln!(
            "stopped after {} steps; continue with: tnet train --resume {}",
            summary.steps,
            run_dir.display()
        );
        return Ok(());
    }
    let Some(last) = &summary.last else {
        return Ok(());
    };
    println!();
    match (cfg.task, &last.pckh, &last.segmentation) {
        (Task::Pose, Some(r), _) => {
            println!(
                "validation PCKh@0.5 after {} epochs ({} people):",
                summary.epochs_done, r.n
            );
            crate::eval_pckh::print_table(r);
        }
        (Task::Faceseg, _, Some(r)) => crate::eval_model::print_segmentation(r),
        _ => {}
    }
    println!(
        "trained {} steps in {:.0} s; run folder {} (log.jsonl, plots, last / best checkpoints)",
        summary.steps,
        summary.train_seconds,
        run_dir.display()
    );
    Ok(())
}

fn bail_if_needs_ranks(param: Option<&str>) -> Result<()> {
    match param {
        Some("tucker") => bail!("--param tucker needs --ranks r1,..,r8 or --compression X"),
        Some("cp") => bail!("--param cp needs --rank R or --compression X"),
        Some("tt") => bail!("--param tt needs --ranks 1,r1,..,r7,1, --rank R or --compression X"),
        Some(p) if p.starts_with("layer-") => {
            bail!("--param {p} needs --compression X, --ranks or --rank")
        }
        _ => Ok(()),
    }
}

/// `runs/<seconds since 1970>-<task>-<param>`, the first process's time for all of a job.
fn default_run_dir(cfg: &TrainConfig, group: &dyn Collective) -> Result<PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut shared = [secs as f64];
    broadcast_from_root(&mut shared, group)?;
    let secs = shared[0] as u64;
    Ok(PathBuf::from("runs").join(format!("{secs}-{}-{}", cfg.task, cfg.model.param)))
}
