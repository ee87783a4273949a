//! The training loop: epochs of steps with a progress bar, validation after each epoch, a JSON
//! lines log, plots, `last` / `best` checkpoints, exact resume, Ctrl-C and non-finite losses.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use serde::Serialize;
use tnet_cpu::workers::on_pool_worker;
use tnet_data::face_loader::{FaceSampleConfig, make_face_batch};
use tnet_data::pose_loader::{
    Augment, EpochLoader, LoaderConfig, OnBadImage, SampleConfig, make_batch,
};
use tnet_hourglass::loss::{pose_loss, segmentation_loss};
use tnet_hourglass::{KernelMode, NetOptions, PartScale, Resolved, TNet};
use tnet_metrics::pckh::PckhReport;
use tnet_metrics::segmentation::SegmentationReport;

use crate::checkpoint::{self, Checkpoint, CheckpointMeta};
use crate::config::{PartLr, TrainConfig};
use crate::data::{RunDataError, TaskData};
use crate::distributed::{
    Collective, ReduceStats, Replicas, SingleProcess, agree_to_stop, average_gradients,
    broadcast_vars, shard_of,
};
use crate::eval::{ValidateOptions, Validation, to_tensor4, validate_replicated};
use crate::optim::Optimizer;
use crate::progress::bar;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Data(#[from] crate::data::RunDataError),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Memory(#[from] tnet_tensor::memory::MemoryError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the loss became {loss} at epoch {epoch}, step {step}: training stopped; the last good checkpoint is kept \
         ({last}). Lower the learning rate (schedule.lr) or check the data."
    )]
    NonFinite {
        loss: f64,
        epoch: usize,
        step: u64,
        last: String,
    },
    #[error("{0}")]
    Resume(String),
    /// Data-parallel training: a collective with the other replicas failed.
    #[error(transparent)]
    Collective(#[from] crate::distributed::CollectiveError),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder: config, log, plots and checkpoints.
    pub run_dir: PathBuf,
    /// Continue from `run_dir/last.safetensors`.
    pub resume: bool,
    /// Start from the model of this checkpoint (fine-tuning, e.g. after `tnet compress`).
    pub init_from: Option<PathBuf>,
    pub quiet: bool,
    /// Set (by Ctrl-C) to stop after the current step with a checkpoint.
    pub stop: Arc<AtomicBool>,
    /// Data-parallel training: the replicas this process is one of (one by default).
    pub replicas: Replicas,
}

/// One line of `log.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub step: u64,
    pub lr: f64,
    pub train_loss: f64,
    /// PCKh@0.5 Mean (pose) or mIoU without background (face parsing).
    pub metric: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pckh: Option<PckhReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<SegmentationReport>,
    pub epoch_seconds: f64,
    pub samples_per_second: f64,
    /// Mean relative change of the reconstructed kernel tensor per step,
    /// `||W_after - W_before|| / ||W_before||`, sampled every [`KERNEL_PROBE_EVERY`] steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_update: Option<f64>,
    /// Data-parallel runs: the gradients' all-reduce, per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allreduce: Option<AllReduceLog>,
}

/// What averaging the gradients cost in an epoch of a data-parallel run.
#[derive(Debug, Clone, Serialize)]
pub struct AllReduceLog {
    /// Bytes each process sent into the all-reduces per step.
    pub bytes_per_step: usize,
    /// All-reduce calls (buckets) per step.
    pub calls_per_step: usize,
    /// The share of the epoch's training time spent packing, reducing and unpacking.
    pub share_of_step: f64,
}

impl EpochLog {
    /// The line with the validation's full report.
    fn with_report(mut self, validation: Validation) -> Self {
        match validation {
            Validation::Pose(r) => self.pckh = Some(r),
            Validation::Face(r) => self.segmentation = Some(r),
        }
        self
    }
}

/// Every this many steps the training loop measures how far one step moves the kernel tensor.
pub const KERNEL_PROBE_EVERY: u64 = 10;

/// `||after - before|| / ||before||`, in f64.
pub fn relative_change(before: &Tensor, after: &Tensor) -> candle_core::Result<f64> {
    let before = before.to_dtype(DType::F64)?;
    let diff = (after.to_dtype(DType::F64)? - &before)?;
    let norm = |t: &Tensor| -> candle_core::Result<f64> { t.sqr()?.sum_all()?.to_scalar::<f64>() };
    Ok((norm(&diff)? / norm(&before)?).sqrt())
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub epochs_done: usize,
    pub steps: u64,
    pub interrupted: bool,
    pub last: Option<EpochLog>,
    pub best_metric: Option<f64>,
    pub train_seconds: f64,
}

/// Learning rate at `epoch` (0-based) and global `step`.
pub fn learning_rate(cfg: &TrainConfig, epoch: usize, step: u64) -> f64 {
    let s = &cfg.schedule;
    let decays = s.decay_epochs.iter().filter(|&&e| epoch >= e).count() as i32;
    let warm = if s.warmup_steps > 0 {
        ((step + 1) as f64 / s.warmup_steps as f64).min(1.0)
    } else {
        1.0
    };
    s.lr * s.gamma.powi(decays) * warm
}

/// Builds the network a configuration describes (fresh initialization from its seed).
pub fn build_network(cfg: &TrainConfig, device: &Device) -> Result<TNet, TrainError> {
    let net_cfg = cfg.network()?;
    if device.is_cpu() {
        tnet_tensor::memory::check_fits(
            &format!(
                "training a network of {} features, {} stack(s) at {} px with batches of {}",
                net_cfg.features, net_cfg.n_stacks, net_cfg.input_size, cfg.batch_size
            ),
            net_cfg.training_bytes(cfg.batch_size),
        )?;
    }
    let mut dropout = [0.0; 8];
    if let Resolved::Tucker { ranks } = &net_cfg.param {
        for k in 0..8 {
            if ranks[k] > 1 {
                dropout[k] = cfg.model.tensor_dropout;
            }
        }
    }
    let opts = NetOptions {
        seed: cfg.seed,
        dtype: DType::F32,
        tensor_dropout: dropout,
        cpu_kernels: true,
        head_init_std: cfg.model.head_init_std,
        conv_dtype: cfg.precision.conv_dtype(),
    };
    Ok(TNet::new(&net_cfg, &opts, device)?)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Configurations equal up to the number of epochs and the learning-rate schedule (a resumed
/// run may be extended, or continued with a lower rate after a divergence).
fn same_run(a: &TrainConfig, b: &TrainConfig) -> bool {
    let mut a = a.clone();
    a.epochs = b.epochs;
    a.schedule = b.schedule.clone();
    &a == b
}

/// The configured optimizer over `net`'s trainable variables, the kernel tensor's parts with
/// the learning rates `model.part_lr` asks for.
pub fn optimizer_for(cfg: &TrainConfig, net: &TNet) -> Result<Optimizer, TrainError> {
    let mut names = Vec::new();
    let mut scales = Vec::new();
    for (name, v, scale) in net.trainable_with_scales()? {
        names.push((name, v));
        scales.push(match cfg.model.part_lr {
            PartLr::Matched => scale,
            PartLr::Shared => PartScale::ONE,
        });
    }
    Ok(Optimizer::with_scales(
        cfg.optimizer.clone(),
        names,
        scales,
    )?)
}

/// Takes the run folder's lock (`run.lock`, an exclusive advisory lock that the system
/// releases when the process ends, however it ends), so that a second training into the same
/// folder is refused instead of interleaving its logs and checkpoints with the first.
fn lock_run_dir(dir: &Path) -> Result<std::fs::File, TrainError> {
    let path = dir.join("run.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(TrainError::Resume(format!(
            "{}: another training is writing into this run folder (its run.lock is held); \
             wait for it or choose another --run-dir",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}

/// Trains `cfg` into `opts.run_dir`.
pub fn train(
    cfg: &TrainConfig,
    device: &Device,
    opts: &RunOptions,
) -> Result<RunSummary, TrainError> {
    let dir = &opts.run_dir;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let _lock = if opts.replicas.group.is_root() {
        Some(lock_run_dir(dir)?)
    } else {
        None
    };
    let mut run = Run::start(cfg, device, opts)?;
    let started = Instant::now();
    let mut summary = RunSummary {
        epochs_done: run.meta.epoch,
        steps: run.meta.step,
        interrupted: false,
        last: None,
        best_metric: run.meta.best_metric,
        train_seconds: 0.0,
    };
    for epoch in run.meta.epoch..cfg.epochs {
        let Some(stats) = run.train_epoch(epoch)? else {
            summary.interrupted = true;
            summary.steps = run.meta.step;
            summary.train_seconds = started.elapsed().as_secs_f64();
            return Ok(summary);
        };
        let line = run.finish_epoch(epoch, stats)?;
        summary.epochs_done = run.meta.epoch;
        summary.steps = run.meta.step;
        summary.best_metric = run.meta.best_metric;
        summary.last = Some(line);
        let stop = agree_to_stop(opts.stop.load(Ordering::SeqCst), run.group())?;
        if stop && run.meta.epoch < cfg.epochs {
            summary.interrupted = true;
            break;
        }
    }
    summary.train_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A run in progress: the network, its optimizer, where it stands, and its data.
struct Run<'a> {
    cfg: &'a TrainConfig,
    device: &'a Device,
    opts: &'a RunOptions,
    net: TNet,
    opt: Optimizer,
    meta: CheckpointMeta,
    data: TaskData,
    steps_per_epoch: usize,
    last_path: PathBuf,
    best_path: PathBuf,
    /// Every trainable variable, in the order the replicas reduce their gradients.
    trainable: Vec<(String, candle_core::Var)>,
    /// BatchNorm's running statistics.
    buffers: Vec<(String, candle_core::Var)>,
}

/// What one epoch's steps measured.
struct EpochStats {
    seconds: f64,
    samples: usize,
    kernel_updates: Vec<f64>,
    /// The gradients' reductions, summed over the epoch's steps.
    reduced: ReduceStats,
    steps: usize,
}

impl<'a> Run<'a> {
    /// A fresh run (the folder's config and an empty log written), or the resumed one.
    fn start(
        cfg: &'a TrainConfig,
        device: &'a Device,
        opts: &'a RunOptions,
    ) -> Result<Self, TrainError> {
        let dir = &opts.run_dir;
        let group = opts.replicas.group.as_ref();
        if !cfg.batch_size.is_multiple_of(group.size()) {
            return Err(TrainError::Resume(format!(
                "batch_size {} does not split evenly over {} processes: choose a batch size that \
                 is a multiple of the process count",
                cfg.batch_size,
                group.size()
            )));
        }
        let net = build_network(cfg, device)?;
        if opts.replicas.sync_bn {
            net.sync_batch_norm(Some(opts.replicas.group.clone()));
        }
        let mut opt = optimizer_for(cfg, &net)?;
        let last_path = dir.join("last.safetensors");
        let meta = if opts.resume {
            resume(cfg, device, &last_path, &net, &mut opt)?
        } else {
            if let Some(init) = &opts.init_from {
                Checkpoint::load(init, device)?.restore_model(&net)?;
            }
            if group.is_root() {
                std::fs::write(dir.join("config.toml"), cfg.to_toml()).map_err(io_err(dir))?;
                std::fs::write(dir.join("log.jsonl"), b"").map_err(io_err(dir))?;
            }
            CheckpointMeta::fresh(cfg)
        };
        let data = load_data_once(cfg, opts.quiet, group)?;
        let n_train = data.n_train();
        let steps_full = n_train / cfg.batch_size;
        if steps_full == 0 {
            return Err(TrainError::Resume(format!(
                "{n_train} training samples are fewer than one batch of {}",
                cfg.batch_size
            )));
        }
        let trainable = net.params().trainable_owned();
        let buffers = net
            .params()
            .all()
            .into_iter()
            .filter(|(_, _, role)| *role == tnet_hourglass::Role::Buffer)
            .map(|(name, v, _)| (name.to_string(), v.clone()))
            .collect();
        Ok(Run {
            trainable,
            buffers,
            steps_per_epoch: cfg
                .max_steps_per_epoch
                .map_or(steps_full, |m| m.min(steps_full)),
            best_path: dir.join("best.safetensors"),
            cfg,
            device,
            opts,
            net,
            opt,
            meta,
            data,
            last_path,
        })
    }

    /// No progress bars or messages: asked for, or a replica other than the first.
    fn quiet(&self) -> bool {
        self.opts.quiet || !self.group().is_root()
    }

    fn group(&self) -> &dyn Collective {
        self.opts.replicas.group.as_ref()
    }

    fn loader_config(&self) -> LoaderConfig {
        LoaderConfig {
            batch_size: self.cfg.batch_size,
            shuffle: true,
            drop_last: true,
            prefetch: 3,
            seed: self.cfg.seed,
            on_bad_image: OnBadImage::Stop,
            shard: shard_of(self.group()),
        }
    }

    /// The task's batch builder for `epoch` (its augmentation draws depend on the epoch).
    fn batch_builder(&self, epoch: u64) -> BuildBatch {
        let (seed, bad) = (self.cfg.seed, OnBadImage::Stop);
        let input_size = self.net.config().input_size;
        let augment = self.cfg.data.augment.then_some(Augment::HOURGLASS);
        match &self.data {
            TaskData::Pose(p) => {
                let ds = p.train.clone();
                let sample = SampleConfig {
                    input_size,
                    stride: 4,
                    sigma: self.cfg.data.sigma,
                    augment,
                };
                Box::new(move |chunk, skipped| {
                    make_batch(&ds, chunk, &sample, seed, epoch, bad, skipped).map(Batch::Pose)
                })
            }
            TaskData::Face(f) => {
                let items = f.train.clone();
                let sample = FaceSampleConfig {
                    size: input_size,
                    augment,
                };
                Box::new(move |chunk, skipped| {
                    make_face_batch(&items, chunk, &sample, seed, epoch, bad, skipped)
                        .map(Batch::Face)
                })
            }
        }
    }

    /// The epoch's remaining steps; `None` when Ctrl-C stopped it (a checkpoint is written).
    fn train_epoch(&mut self, epoch: usize) -> Result<Option<EpochStats>, TrainError> {
        let epoch_start = Instant::now();
        let start_batch = self.meta.batch;
        let pb = bar(
            self.steps_per_epoch as u64,
            self.quiet(),
            &format!(
                "epoch {}/{} {{bar:30}} {{pos}}/{{len}} {{msg}} ETA {{eta}}",
                epoch + 1,
                self.cfg.epochs
            ),
        );
        pb.set_position(start_batch as u64);
        let batches = EpochLoader::with_builder_from(
            self.data.n_train(),
            self.loader_config(),
            epoch as u64,
            start_batch,
            self.batch_builder(epoch as u64),
        )
        .map_err(RunDataError::from)?;
        let mut stats = EpochStats {
            seconds: 0.0,
            samples: 0,
            kernel_updates: Vec::new(),
            reduced: ReduceStats::default(),
            steps: 0,
        };
        for (batch_idx, batch) in (start_batch..self.steps_per_epoch).zip(batches) {
            let batch = step_batch(&batch.map_err(RunDataError::from)?, self.device)?;
            let loss = self.step(epoch, &batch, &mut stats)?;
            stats.samples += batch.len()? * self.group().size();
            let secs = epoch_start.elapsed().as_secs_f64().max(1e-9);
            pb.set_message(format!(
                "loss {:.3e} | {:.1} samples/s",
                loss,
                stats.samples as f64 / secs
            ));
            pb.inc(1);
            let stop = agree_to_stop(self.opts.stop.load(Ordering::SeqCst), self.group())?;
            if stop && batch_idx + 1 < self.steps_per_epoch {
                self.opts.stop.store(true, Ordering::SeqCst);
                self.meta.batch = batch_idx + 1;
                self.save(&self.last_path)?;
                pb.abandon_with_message(format!("interrupted: saved {}", self.last_path.display()));
                return Ok(None);
            }
        }
        pb.finish_and_clear();
        stats.seconds = epoch_start.elapsed().as_secs_f64();
        Ok(Some(stats))
    }

    /// One step at the scheduled rate; returns the epoch's mean loss so far. Every
    /// [`KERNEL_PROBE_EVERY`] steps it records how far the step moved the kernel tensor.
    fn step(
        &mut self,
        epoch: usize,
        batch: &StepBatch,
        stats: &mut EpochStats,
    ) -> Result<f64, TrainError> {
        let group = self.opts.replicas.group.as_ref();
        let meta = &mut self.meta;
        let lr = learning_rate(self.cfg, epoch, meta.step);
        let net = &self.net;
        net.reseed_dropout(self.cfg.seed ^ meta.step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let probe = if meta.step.is_multiple_of(KERNEL_PROBE_EVERY) {
            Some(net.tensor().to_tensor()?.copy()?)
        } else {
            None
        };
        let (loss, reduced) =
            train_step_replicated(net, &mut self.opt, batch, lr, &self.trainable, group)?;
        stats.steps += 1;
        stats.reduced += reduced;
        if let Some(before) = probe {
            stats
                .kernel_updates
                .push(relative_change(&before, &net.tensor().to_tensor()?)?);
        }
        if !loss.is_finite() {
            return Err(TrainError::NonFinite {
                loss,
                epoch: epoch + 1,
                step: meta.step + 1,
                last: if self.last_path.is_file() {
                    self.last_path.display().to_string()
                } else {
                    "none was written yet".into()
                },
            });
        }
        meta.step += 1;
        meta.epoch_loss_sum += loss;
        meta.epoch_loss_count += 1;
        Ok(meta.epoch_loss_sum / meta.epoch_loss_count as f64)
    }

    /// Validates, logs the epoch, and writes `last` (and `best` when the metric improved).
    fn finish_epoch(&mut self, epoch: usize, stats: EpochStats) -> Result<EpochLog, TrainError> {
        let (quiet, group) = (self.quiet(), self.opts.replicas.group.as_ref());
        let (cfg, meta) = (self.cfg, &mut self.meta);
        let train_loss = meta.epoch_loss_sum / meta.epoch_loss_count.max(1) as f64;
        let val_opts = ValidateOptions {
            batch: cfg.batch_size,
            limit: cfg.data.val_limit,
            flip: false,
            sigma: cfg.data.sigma,
            quiet,
        };
        if !self.opts.replicas.sync_bn {
            // The replicas' running statistics differ: validate and save the first one's.
            broadcast_vars(&self.buffers, group)?;
        }
        let validation = validate_replicated(&self.net, &self.data, &val_opts, self.device, group)?;
        let (metric, described) = (validation.metric(), validation.describe());
        let line = EpochLog {
            epoch: epoch + 1,
            step: meta.step,
            lr: learning_rate(cfg, epoch, meta.step.saturating_sub(1)),
            train_loss,
            metric,
            segmentation: None,
            pckh: None,
            epoch_seconds: stats.seconds,
            samples_per_second: stats.samples as f64 / stats.seconds.max(1e-9),
            kernel_update: (!stats.kernel_updates.is_empty()).then(|| {
                stats.kernel_updates.iter().sum::<f64>() / stats.kernel_updates.len() as f64
            }),
            allreduce: (group.size() > 1 && stats.steps > 0).then(|| AllReduceLog {
                bytes_per_step: stats.reduced.bytes / stats.steps,
                calls_per_step: stats.reduced.calls / stats.steps,
                share_of_step: stats.reduced.seconds / stats.seconds.max(1e-9),
            }),
        }
        .with_report(validation);
        let dir = &self.opts.run_dir;
        let root = group.is_root();
        if root {
            append_line(&dir.join("log.jsonl"), &line)?;
        }
        if !quiet {
            eprintln!(
                "epoch {}/{}: loss {train_loss:.4e}, {}, {:.0} s",
                epoch + 1,
                cfg.epochs,
                described,
                stats.seconds
            );
        }
        meta.epoch = epoch + 1;
        meta.batch = 0;
        meta.epoch_loss_sum = 0.0;
        meta.epoch_loss_count = 0;
        meta.metric = Some(metric);
        let improved = meta.best_metric.is_none_or(|b| metric > b || b.is_nan());
        if improved {
            meta.best_metric = Some(metric);
        }
        self.save(&self.last_path)?;
        if improved {
            self.save(&self.best_path)?;
        }
        if root {
            let _ = crate::plot::write_plots(dir);
        }
        Ok(line)
    }

    /// Writes a checkpoint (the first replica only: the others hold the same values).
    fn save(&self, path: &Path) -> Result<(), TrainError> {
        if self.group().is_root() {
            checkpoint::save(path, &self.net, Some(&self.opt), &self.meta)?;
        }
        Ok(())
    }
}

/// Restores `net` and `opt` from the run's `last` checkpoint, which must have been written
/// with `cfg` (up to epochs and schedule) and not have finished it.
fn resume(
    cfg: &TrainConfig,
    device: &Device,
    last_path: &Path,
    net: &TNet,
    opt: &mut Optimizer,
) -> Result<CheckpointMeta, TrainError> {
    let ck = Checkpoint::load(last_path, device)?;
    if !same_run(&ck.meta.config, cfg) {
        return Err(TrainError::Resume(format!(
            "{} was written with another configuration; resume with the run's own config.toml (only epochs and schedule.* may change)",
            last_path.display()
        )));
    }
    ck.restore_model(net)?;
    ck.restore_optimizer(opt)?;
    let mut meta = ck.meta.clone();
    meta.config = cfg.clone();
    if meta.epoch >= cfg.epochs {
        let dir = last_path.parent().unwrap_or(last_path);
        return Err(TrainError::Resume(format!(
            "{} already finished {} of {} epochs: raise epochs to train longer",
            dir.display(),
            meta.epoch,
            cfg.epochs
        )));
    }
    Ok(meta)
}

/// Builds one batch of the epoch from sample indices (counting skipped images).
type BuildBatch = Box<dyn Fn(&[usize], &AtomicUsize) -> Result<Batch, tnet_data::DataError> + Send>;

/// A loader's batch as tensors on `device`.
fn step_batch(batch: &Batch, device: &Device) -> Result<StepBatch, TrainError> {
    Ok(match batch {
        Batch::Pose(b) => {
            let (bs, k) = b.weights.dim();
            StepBatch::Pose {
                images: to_tensor4(&b.images, device)?,
                heatmaps: to_tensor4(&b.heatmaps, device)?,
                weights: Tensor::from_vec(
                    b.weights.iter().copied().collect::<Vec<f32>>(),
                    (bs, k),
                    device,
                )?,
            }
        }
        Batch::Face(b) => {
            let (bs, h, w) = b.labels.dim();
            StepBatch::Face {
                images: to_tensor4(&b.images, device)?,
                labels: Tensor::from_vec(
                    b.labels.iter().map(|&v| v as u32).collect::<Vec<u32>>(),
                    (bs, h, w),
                    device,
                )?,
            }
        }
    })
}

/// One batch on the device.
pub enum StepBatch {
    Pose {
        images: Tensor,
        heatmaps: Tensor,
        weights: Tensor,
    },
    Face {
        images: Tensor,
        labels: Tensor,
    },
}

impl StepBatch {
    pub fn is_empty(&self) -> candle_core::Result<bool> {
        Ok(self.len()? == 0)
    }

    pub fn len(&self) -> candle_core::Result<usize> {
        match self {
            StepBatch::Pose { images, .. } | StepBatch::Face { images, .. } => images.dim(0),
        }
    }
}

/// One training step: kernels reconstructed once, forward, loss, backward, update. Returns the
/// loss; a non-finite loss is returned without touching the parameters (the caller stops).
pub fn train_step(
    net: &TNet,
    opt: &mut Optimizer,
    batch: &StepBatch,
    lr: f64,
) -> Result<f64, TrainError> {
    // Alone, no gradient is reduced: no variables to list.
    Ok(train_step_replicated(net, opt, batch, lr, &[], &SingleProcess)?.0)
}

/// [`train_step`] as one replica of `group`, on its part of the global batch: the loss is the
/// replicas' mean (non-finite on every replica when it is on one, so all skip the update
/// together) and the gradients of `trainable` are averaged before the update.
pub fn train_step_replicated(
    net: &TNet,
    opt: &mut Optimizer,
    batch: &StepBatch,
    lr: f64,
    trainable: &[(String, candle_core::Var)],
    group: &dyn Collective,
) -> Result<(f64, ReduceStats), TrainError> {
    let kernels = net.kernels(KernelMode::Split)?;
    let loss = match batch {
        StepBatch::Pose {
            images,
            heatmaps,
            weights,
        } => pose_loss(
            &net.forward_with(&kernels, images, true)?,
            heatmaps,
            weights,
        )?,
        StepBatch::Face { images, labels } => {
            segmentation_loss(&net.forward_with(&kernels, images, true)?, labels)?
        }
    };
    let mut v = [loss.to_dtype(DType::F64)?.to_scalar::<f64>()?];
    group.all_reduce_sum_f64(&mut v)?;
    let v = v[0] / group.size() as f64;
    if !v.is_finite() {
        return Ok((v, ReduceStats::default()));
    }
    let mut grads = net.backward(&kernels, &loss)?;
    let reduced = average_gradients(trainable, &mut grads, group)?;
    // Element-wise ops only, no collective: on a worker of rayon's pool as the forward and
    // backward passes (`tnet_cpu::workers`).
    if loss.device().is_cpu() {
        on_pool_worker(|| opt.step(&grads, lr))?;
    } else {
        opt.step(&grads, lr)?;
    }
    Ok((v, reduced))
}

/// The data of a run, made (synthetic sets) by the first replica while the others wait, then
/// read by every replica.
fn load_data_once(
    cfg: &TrainConfig,
    quiet: bool,
    group: &dyn Collective,
) -> Result<TaskData, TrainError> {
    let barrier = || {
        group
            .all_reduce_sum_f64(&mut [0.0])
            .map_err(TrainError::from)
    };
    if group.is_root() {
        let data = TaskData::load(cfg, quiet);
        barrier()?;
        return Ok(data?);
    }
    barrier()?;
    Ok(TaskData::load(cfg, true)?)
}

enum Batch {
    Pose(tnet_data::pose_loader::PoseBatch),
    Face(tnet_data::face_loader::FaceBatch),
}

fn append_line(path: &Path, line: &EpochLog) -> Result<(), TrainError> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io_err(path))?;
    let text = serde_json::to_string(line).map_err(|e| TrainError::Resume(e.to_string()))?;
    writeln!(f, "{text}").map_err(io_err(path))
}
