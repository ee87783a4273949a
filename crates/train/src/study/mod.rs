//! The paper's experiments as one resumable job: a grid of training runs (Tables A, B, C),
//! each in its own run folder under `<out>/runs/`, and a Markdown report with plots written
//! from those folders' logs. See docs/study.md.

pub mod grid;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use tnet_data::pose_loader::Shard;

pub use grid::{Planned, RunKind, Split, Table};
pub use report::{RunResult, write_report};

use crate::checkpoint::Checkpoint;
use crate::config::{DataKind, Task, TrainConfig};
use crate::model_io::{CompressTo, compress, load_model, save_compressed};
use crate::progress::bar;
use crate::run::{RunOptions, TrainError, train};

/// How much training each run gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub seeds: Vec<u64>,
    pub epochs: usize,
    /// Epochs after which the learning rate drops 10x.
    pub decay_epochs: Vec<usize>,
    /// Steps per epoch cap (quick runs).
    pub max_steps_per_epoch: Option<usize>,
    /// Fine-tuning epochs of the compress-then-fine-tune row.
    pub finetune_epochs: usize,
    /// The learning rates each method's sweep tries on the tuning split (first seed only).
    pub lrs: Vec<f64>,
    /// Epochs of a sweep run (the rate drops before the last).
    pub tune_epochs: usize,
    /// Training images of the data-scarce setting (Table D; at most the main set's).
    pub scarce_train: usize,
    /// Epochs of a data-scarce run (the rate drops after 75 % and 90 % of them).
    pub scarce_epochs: usize,
}

/// The learning-rate drop of a run of `epochs` epochs: before the last one (none for one epoch).
pub fn decay_before_last(epochs: usize) -> Vec<usize> {
    if epochs > 1 { vec![epochs - 1] } else { vec![] }
}

/// The learning-rate drops of a run of `epochs` epochs: 10x after 75 % of them and again
/// after 90 % (epochs 15 and 18 of 20), each at least one epoch before the end; one drop for
/// short runs, none for one epoch.
pub fn decay_at_75_and_90_percent(epochs: usize) -> Vec<usize> {
    if epochs < 2 {
        return vec![];
    }
    let mut drops: Vec<usize> = [75, 90]
        .iter()
        .map(|p| ((epochs * p) / 100).clamp(1, epochs - 1))
        .collect();
    drops.dedup();
    drops
}

impl Budget {
    /// The full study: 3 seeds, 20 epochs of the whole synthetic training set (the rate drops
    /// 10x after epochs 15 and 18: the dense network's validation curve climbs until the first
    /// drop and is flat within 0.5 point over the last 3 epochs), sweeps of 4 epochs over 2e-3,
    /// 4e-3 and 8e-3, 400 images for 30 epochs in the data-scarce setting (drops after 22 and
    /// 27).
    pub fn full(seeds: usize) -> Self {
        Self {
            seeds: (0..seeds as u64).collect(),
            epochs: 20,
            decay_epochs: decay_at_75_and_90_percent(20),
            max_steps_per_epoch: None,
            finetune_epochs: 3,
            lrs: vec![2e-3, 4e-3, 8e-3],
            tune_epochs: 4,
            scarce_train: 400,
            scarce_epochs: 30,
        }
    }

    /// `--quick`: 1 seed, one epoch of 60 steps per run, two rates per sweep.
    pub fn quick(seeds: usize) -> Self {
        Self {
            seeds: (0..seeds as u64).collect(),
            epochs: 1,
            decay_epochs: vec![],
            max_steps_per_epoch: Some(60),
            finetune_epochs: 1,
            lrs: vec![4e-3, 8e-3],
            tune_epochs: 1,
            scarce_train: 400,
            scarce_epochs: 2,
        }
    }
}

/// Everything that decides the study's numbers (saved as `study.json`; a resumed study must
/// match it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySettings {
    /// The task of Tables A and B (Table C is always face parsing).
    pub task: Task,
    pub data: DataKind,
    pub data_dir: Option<PathBuf>,
    /// Table C's face data: synthetic (made into `face_data_dir`, default
    /// `datasets/synth-face`) or a Helen-style folder.
    pub face_data: DataKind,
    pub face_data_dir: Option<PathBuf>,
    pub device: String,
    pub budget: Budget,
    /// Extra `key=value` overrides for every run (before the run's own model settings).
    pub sets: Vec<String>,
}

/// How to run the study.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    pub out: PathBuf,
    pub settings: StudySettings,
    pub quiet: bool,
    /// Set (by Ctrl-C) to stop after the current step; the study resumes where it stopped.
    pub stop: Arc<AtomicBool>,
    /// The command line and the commit, for the report.
    pub command: String,
    pub commit: String,
    /// This process's share of the runs (`tnet study --shard i/N`, or the MPI rank): it trains
    /// every N-th run and reads the others back once their process has finished them, so
    /// every shard ends with all results; shard 0 writes the report.
    pub shard: Shard,
}

#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("{0}")]
    Settings(String),
}

fn file_err(path: &Path) -> impl Fn(String) -> StudyError + '_ {
    move |msg| StudyError::File {
        path: path.to_path_buf(),
        msg,
    }
}

/// What the study did.
#[derive(Debug, Clone)]
pub struct StudySummary {
    pub runs_total: usize,
    pub runs_trained: usize,
    pub runs_skipped_done: usize,
    /// Configurations out of reach at this network size (reported, not trained).
    pub runs_unreachable: usize,
    pub interrupted: bool,
    pub report: Option<PathBuf>,
}

fn quoted(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// The seed of the tuning split's synthetic set (the main set's seed is 0 by default).
pub const TUNING_DATA_SEED: u64 = 1000;

/// The configuration of one planned run for one seed, at learning rate `lr` (the configured
/// one when `None`).
pub fn run_config(
    settings: &StudySettings,
    planned: &Planned,
    seed: u64,
    lr: Option<f64>,
) -> Result<TrainConfig, crate::config::ConfigError> {
    let b = &settings.budget;
    let mut o = vec![format!("task=\"{}\"", planned.task)];
    let (kind, dir) = if planned.task == settings.task.to_string() {
        (settings.data, &settings.data_dir)
    } else {
        (settings.face_data, &settings.face_data_dir)
    };
    o.push(format!("data.kind=\"{kind}\""));
    if let Some(d) = dir {
        o.push(format!("data.dir={}", quoted(d)));
    }
    o.push(format!("device=\"{}\"", settings.device));
    let (epochs, decay) = match planned.split {
        Split::Main => (b.epochs, b.decay_epochs.clone()),
        Split::Tuning => (b.tune_epochs, decay_before_last(b.tune_epochs)),
        Split::Scarce => (b.scarce_epochs, decay_at_75_and_90_percent(b.scarce_epochs)),
    };
    o.push(format!("epochs={epochs}"));
    o.push(format!("schedule.decay_epochs={decay:?}"));
    o.push(format!("seed={seed}"));
    if let Some(m) = b.max_steps_per_epoch {
        o.push(format!("max_steps_per_epoch={m}"));
    }
    o.extend(settings.sets.iter().cloned());
    o.extend(planned.model.iter().cloned());
    if let Some(lr) = lr {
        o.push(format!("schedule.lr={lr:?}"));
    }
    let cfg = TrainConfig::load_with(None, &o, true)?;
    if planned.split == Split::Main {
        return Ok(cfg);
    }
    // The tuning and data-scarce sets are synthetic sets of their own, in folders beside the
    // main one.
    if cfg.data.kind != DataKind::Synthetic {
        return Err(crate::config::ConfigError::Invalid(format!(
            "the {:?} split is made from synthetic data; with {} data it is not run",
            planned.split, cfg.data.kind
        )));
    }
    let main_dir = cfg.data_dir();
    let name = main_dir.file_name().map_or_else(
        || "synthetic".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (suffix, extra) = match planned.split {
        Split::Tuning => ("tune", format!("data.synthetic_seed={TUNING_DATA_SEED}")),
        _ => (
            "scarce",
            format!(
                "data.synthetic_train={}",
                b.scarce_train.min(cfg.data.synthetic_train)
            ),
        ),
    };
    o.push(format!(
        "data.dir={}",
        quoted(&main_dir.with_file_name(format!("{name}-{suffix}")))
    ));
    o.push(extra);
    TrainConfig::load_with(None, &o, true)
}

/// The run folder of `planned` for `seed`.
pub fn run_dir(out: &Path, planned: &Planned, seed: u64) -> PathBuf {
    out.join("runs").join(format!("{}-s{seed}", planned.id))
}

/// Epochs a run folder's log has finished.
fn epochs_logged(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

/// Runs the grid (skipping finished runs, resuming a partial one) and writes the report:
/// the learning-rate sweeps first, then every table at the rates they chose.
pub fn run_study(opts: &StudyOptions, device: &Device) -> Result<StudySummary, StudyError> {
    let out = &opts.out;
    std::fs::create_dir_all(out.join("runs")).map_err(|e| file_err(out)(e.to_string()))?;
    check_settings(out, &opts.settings)?;
    let s = &opts.settings;
    let task = s.task.to_string();
    // Tables A, B and D need the tensor's shape: the main task's network.
    let probe = run_config(s, &grid::dense(Table::B, &task), 0, None)
        .map_err(|e| StudyError::Settings(format!("study configuration: {e}")))?;
    let shape = probe.network().map_err(TrainError::from)?.tensor_shape();
    let lrs = &s.budget.lrs;
    let tune = if s.data == DataKind::Synthetic {
        grid::tuning(&task, lrs)
    } else {
        vec![]
    };
    let (b, d, a) = (
        grid::table_b(&task, &shape),
        grid::table_d(&task, &shape),
        grid::table_a(&task, &shape),
    );
    let seeds = s.budget.seeds.clone();
    let first_seed = [seeds[0]];
    // Table C trains 3 face-parsing rows (one seed) for a pose study; a face-parsing study
    // reads them from Table B.
    let c_runs = if s.task == Task::Pose { 3 } else { 0 };
    let finetune_sweep = if tune.is_empty() { 0 } else { lrs.len() };
    let planned_total =
        tune.len() + finetune_sweep + (b.len() + d.len()) * seeds.len() + a.len() + c_runs;
    let mut runner = Runner {
        opts,
        device,
        pb: bar(
            planned_total as u64,
            opts.quiet,
            "study {bar:30} {pos}/{len} runs, {elapsed_precise} elapsed, ETA {eta} {msg}",
        ),
        summary: StudySummary {
            runs_total: planned_total,
            runs_trained: 0,
            runs_skipped_done: 0,
            runs_unreachable: 0,
            interrupted: false,
            report: None,
        },
        results: vec![],
        met: 0,
    };
    if !runner.run(&tune, &first_seed)? {
        return Ok(runner.interrupted());
    }
    if let Some(dense_lr) = report::tuned_rates(&runner.results).get("dense") {
        let from = grid::tuning(&task, &[*dense_lr])[0].id.clone();
        if !runner.run(&grid::tuning_finetune(&task, &from, lrs), &first_seed)? {
            return Ok(runner.interrupted());
        }
    }
    for table in [&b, &d] {
        if !runner.run(table, &seeds)? {
            return Ok(runner.interrupted());
        }
    }
    // Table A looks for the redundant modes; one seed per row (its differences are read
    // against Table B's seed spread).
    if !runner.run(&a, &first_seed)? {
        return Ok(runner.interrupted());
    }
    // Table C: face parsing with dense and the two best compressed rows of Table B.
    if s.task == Task::Pose {
        let best = report::best_of_b(&runner.results, 2);
        let best_planned: Vec<&Planned> = best
            .iter()
            .filter_map(|id| b.iter().find(|p| &p.id == id))
            .collect();
        if !runner.run(&grid::table_c(&best_planned), &first_seed)? {
            return Ok(runner.interrupted());
        }
    }
    runner.pb.finish_and_clear();
    let mut summary = runner.summary;
    if opts.shard.index != 0 {
        return Ok(summary); // shard 0 writes the report
    }
    log_invocation(out, opts, &summary)?;
    let path = write_report(out, opts, &runner.results).map_err(file_err(out))?;
    summary.report = Some(path);
    Ok(summary)
}

/// Trains the planned runs in order, collecting their results and counts.
struct Runner<'a> {
    opts: &'a StudyOptions,
    device: &'a Device,
    pb: indicatif::ProgressBar,
    summary: StudySummary,
    results: Vec<RunResult>,
    /// Runs met so far, in the grid's order (which shard trains a run).
    met: usize,
}

impl Runner<'_> {
    /// Trains (or reads back) `list` for each of `seeds`, every run at its planned rate or its
    /// method's tuned one; `false` when interrupted.
    fn run(&mut self, list: &[Planned], seeds: &[u64]) -> Result<bool, StudyError> {
        let rates = report::tuned_rates(&self.results);
        for planned in list {
            let lr = planned
                .lr
                .or_else(|| planned.family.as_ref().and_then(|f| rates.get(f).copied()));
            for &seed in seeds {
                self.pb.set_message(format!("{}-s{seed}", planned.id));
                let started = Instant::now();
                let mine = self.opts.shard.owns(self.met);
                self.met += 1;
                let (result, trained) = if mine {
                    run_one(self.opts, planned, seed, lr, self.device)?
                } else {
                    (wait_for_other_shard(self.opts, planned, seed, lr)?, false)
                };
                match (&result, trained) {
                    (_, true) => self.summary.runs_trained += 1,
                    (Some(r), false) if r.skipped.is_some() => self.summary.runs_unreachable += 1,
                    _ => self.summary.runs_skipped_done += 1,
                }
                self.pb.inc(1);
                let Some(result) = result else {
                    self.summary.interrupted = true;
                    return Ok(false);
                };
                if trained {
                    self.log(&format!(
                        "{}-s{seed}: {} in {:.0} s",
                        planned.id,
                        result.headline(),
                        started.elapsed().as_secs_f64()
                    ));
                }
                self.results.push(result);
            }
        }
        Ok(true)
    }

    fn log(&self, line: &str) {
        // A hidden bar (not a terminal) prints nothing: keep a plain log then.
        if self.pb.is_hidden() {
            if !self.opts.quiet {
                eprintln!("{line}");
            }
        } else {
            self.pb.println(line);
        }
    }

    fn interrupted(self) -> StudySummary {
        self.pb.abandon();
        self.summary
    }
}

/// How often a shard looks whether another shard has finished a run it needs.
const SHARD_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits until another shard has finished the run (or Ctrl-C: `None`), and reads it back.
fn wait_for_other_shard(
    opts: &StudyOptions,
    planned: &Planned,
    seed: u64,
    lr: Option<f64>,
) -> Result<Option<RunResult>, StudyError> {
    loop {
        if let Probe::Finished(result) = probe_run(opts, planned, seed, lr)? {
            return Ok(Some(result));
        }
        if opts.stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        std::thread::sleep(SHARD_POLL);
    }
}

/// A run's state on disk.
enum Probe {
    /// Done, or out of reach (a row that says why).
    Finished(RunResult),
    /// To train (or to continue), with its configuration (`None`: a fine-tuning row, whose
    /// configuration comes from its compressed checkpoint).
    ToTrain(Option<TrainConfig>),
}

fn probe_run(
    opts: &StudyOptions,
    planned: &Planned,
    seed: u64,
    lr: Option<f64>,
) -> Result<Probe, StudyError> {
    let dir = run_dir(&opts.out, planned, seed);
    let s = &opts.settings;
    // A configuration out of reach at this size (e.g. 30x per layer on a very small network),
    // or a split the data cannot give: a row that says why instead of a failed study.
    let train_cfg = match &planned.kind {
        RunKind::Train => match run_config(s, planned, seed, lr) {
            Ok(cfg) => Some(cfg),
            Err(e) => {
                return Ok(Probe::Finished(RunResult::skipped(
                    planned,
                    seed,
                    e.to_string(),
                )));
            }
        },
        RunKind::CompressFinetune { .. } => None,
    };
    let target_epochs = train_cfg
        .as_ref()
        .map_or(s.budget.finetune_epochs, |c| c.epochs);
    if epochs_logged(&dir) >= target_epochs {
        return Ok(Probe::Finished(RunResult::load(planned, seed, &dir)?));
    }
    Ok(Probe::ToTrain(train_cfg))
}

/// Trains (or resumes, or finds finished) one run at learning rate `lr` (the configured one
/// when `None`); `None` when interrupted. The flag says whether any training happened in this
/// call.
fn run_one(
    opts: &StudyOptions,
    planned: &Planned,
    seed: u64,
    lr: Option<f64>,
    device: &Device,
) -> Result<(Option<RunResult>, bool), StudyError> {
    let dir = run_dir(&opts.out, planned, seed);
    let s = &opts.settings;
    let train_cfg = match probe_run(opts, planned, seed, lr)? {
        Probe::Finished(result) => return Ok((Some(result), false)),
        Probe::ToTrain(cfg) => cfg,
    };
    let (cfg, init_from) = match (train_cfg, &planned.kind) {
        (Some(cfg), _) => (cfg, None),
        (None, RunKind::CompressFinetune { from, compression }) => {
            let from_dir = opts.out.join("runs").join(format!("{from}-s{seed}"));
            let compressed = dir.join("compressed.safetensors");
            let cfg = finetune_config(s, &from_dir, &compressed, *compression, lr, device)?;
            (cfg, Some(compressed))
        }
        (None, RunKind::Train) => unreachable!("a training run has its configuration"),
    };
    let resume = dir.join("last.safetensors").is_file();
    let run_opts = RunOptions {
        run_dir: dir.clone(),
        resume,
        init_from: if resume { None } else { init_from },
        quiet: true,
        stop: opts.stop.clone(),
        replicas: Default::default(),
    };
    let summary = train(&cfg, device, &run_opts)?;
    if summary.interrupted {
        return Ok((None, true));
    }
    Ok((Some(RunResult::load(planned, seed, &dir)?), true))
}

/// The fine-tuning configuration of a compress-then-fine-tune row: the dense run is
/// decomposed once into the compressed checkpoint (with `compress.json`, the decomposition's
/// relative error); its configuration is read back from that checkpoint afterwards.
fn finetune_config(
    s: &StudySettings,
    from_dir: &Path,
    compressed: &Path,
    compression: f64,
    lr: Option<f64>,
    device: &Device,
) -> Result<TrainConfig, StudyError> {
    if !compressed.is_file() {
        let dense_last = from_dir.join("last.safetensors");
        let (dense, meta) = load_model(&dense_last, device)?;
        let (net, rep) = compress(
            &dense,
            &meta,
            &CompressTo::TuckerCompression(compression),
            device,
        )?;
        if let Some(dir) = compressed.parent() {
            std::fs::create_dir_all(dir).map_err(|e| file_err(dir)(e.to_string()))?;
        }
        save_compressed(compressed, &net, &rep, None)?;
        let json = serde_json::json!({
            "from": dense_last.display().to_string(),
            "relative_error": rep.relative_error,
            "param_count": rep.param_count,
            "compression_ratio": rep.compression_ratio,
        });
        let path = compressed.with_file_name("compress.json");
        std::fs::write(&path, json.to_string()).map_err(|e| file_err(&path)(e.to_string()))?;
    }
    let mut cfg = Checkpoint::load(compressed, device)
        .map_err(TrainError::from)?
        .meta
        .config;
    cfg.epochs = s.budget.finetune_epochs;
    cfg.schedule.decay_epochs = decay_before_last(s.budget.finetune_epochs);
    if let Some(lr) = lr {
        cfg.schedule.lr = lr;
    }
    Ok(cfg)
}

/// Appends this invocation (commit, command, runs trained) to `invocations.jsonl`: a study
/// resumed across commits says which commit trained what.
fn log_invocation(
    out: &Path,
    opts: &StudyOptions,
    summary: &StudySummary,
) -> Result<(), StudyError> {
    use std::io::Write as _;
    let path = out.join("invocations.jsonl");
    let line = serde_json::json!({
        "commit": opts.commit,
        "command": opts.command,
        "runs_trained": summary.runs_trained,
        "runs_found_finished": summary.runs_skipped_done,
    });
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"))
        .map_err(|e| file_err(&path)(e.to_string()))
}

/// Refuses to mix two studies in one folder.
fn check_settings(out: &Path, settings: &StudySettings) -> Result<(), StudyError> {
    let path = out.join("study.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let old: StudySettings =
            serde_json::from_str(&text).map_err(|e| file_err(&path)(e.to_string()))?;
        if &old != settings {
            let (a, b) = (
                serde_json::to_value(&old).unwrap_or_default(),
                serde_json::to_value(settings).unwrap_or_default(),
            );
            let differ: Vec<String> = b
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| a.get(k.as_str()) != Some(v))
                        .map(|(k, v)| {
                            format!(
                                "{k} was {} now {v}",
                                a.get(k.as_str()).unwrap_or(&serde_json::Value::Null)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Err(StudyError::Settings(format!(
                "{} holds a study with other settings ({}); use another --out, or delete the folder to start over",
                out.display(),
                differ.join("; ")
            )));
        }
        return Ok(());
    }
    let json =
        serde_json::to_string_pretty(settings).map_err(|e| file_err(&path)(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| file_err(&path)(e.to_string()))
}
