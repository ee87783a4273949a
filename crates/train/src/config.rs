//! The training configuration: a TOML file (or the embedded defaults) plus `key=value`
//! overrides, deserialized strictly: unknown keys and bad values are errors that name the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tnet_hourglass::{Head, HourglassConfig, Parametrization, RankSpec};

use crate::optim::OptimizerConfig;

/// What is learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Pose,
    Faceseg,
}

/// Where the data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    /// Made by the project into `data.dir` (default `datasets/synth-pose` / `datasets/synth-face`)
    /// when absent.
    Synthetic,
    /// HRNet / mmpose layout under `data.dir` (`images/`, `annot/train.json`, `annot/valid.json`,
    /// `annot/gt_valid.mat`).
    Mpii,
    /// Helen-style face parsing under `data.dir` (`images/`, `labels/`, `train.txt`, `test.txt`).
    Faceparsing,
}

tnet_hourglass::named_enum!(Task, "task", { Pose => "pose", Faceseg => "faceseg" });
tnet_hourglass::named_enum!(DataKind, "data kind", {
    Synthetic => "synthetic",
    Mpii => "mpii",
    Faceparsing => "faceparsing",
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub kind: DataKind,
    /// Data folder (for synthetic data: the cache it is made into).
    pub dir: Option<PathBuf>,
    /// Synthetic data: images made for training and validation, their seed and side.
    pub synthetic_train: usize,
    pub synthetic_val: usize,
    pub synthetic_seed: u64,
    pub synthetic_size: usize,
    /// Gaussian sigma of the pose targets, in heatmap pixels.
    pub sigma: f64,
    /// Training augmentation (HG: scale, rotation, flip, colour gain).
    pub augment: bool,
    /// Evaluate on at most this many validation samples (all when absent).
    pub val_limit: Option<usize>,
}

/// The dtype of the convolutions (mixed precision); parameters, BatchNorm, losses and
/// gradients stay f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    F16,
}

tnet_hourglass::named_enum!(Precision, "precision", { F32 => "f32", Bf16 => "bf16", F16 => "f16" });

impl Precision {
    /// Why this precision cannot run on the CPU, if it cannot.
    pub fn cpu_refusal(self) -> Option<&'static str> {
        (self == Precision::Bf16).then_some(
            "bf16 needs a cuda device (candle's CPU matmul has no bf16; f16 runs on the CPU, slowly, to check the path)",
        )
    }

    /// The convolutions' dtype when it differs from f32.
    pub fn conv_dtype(self) -> Option<candle_core::DType> {
        match self {
            Precision::F32 => None,
            Precision::Bf16 => Some(candle_core::DType::BF16),
            Precision::F16 => Some(candle_core::DType::F16),
        }
    }
}

pub use tnet_hourglass::{ParamName, Preset};

/// How the optimizer treats the parts of a factorized kernel tensor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartLr {
    /// Each part's learning rate and decay scaled so that the reconstruction moves as a dense
    /// kernel would (`tnet_factorized::PartScale`).
    #[default]
    Matched,
    /// Every part at the base learning rate and decay (the control).
    Shared,
}

impl std::fmt::Display for PartLr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Matched => "matched",
            Self::Shared => "shared",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub preset: Preset,
    pub stacks: Option<usize>,
    pub features: Option<usize>,
    pub param: ParamName,
    /// Tucker: 8 ranks; TT: 9 (1, r1, .., r7, 1); layer-tucker: 4; layer-tt: 5 (1, r1, r2, r3, 1).
    pub ranks: Option<Vec<usize>>,
    /// CP rank (whole tensor or per layer), or one TT rank for every inner bond.
    pub rank: Option<usize>,
    /// Ranks reaching at least this compression of the tensor (every parametrization but dense).
    pub compression: Option<f64>,
    /// Tucker tensor dropout probability, applied to every mode of rank > 1.
    pub tensor_dropout: f64,
    /// Standard deviation of the heads' weights at initialization (absent: Kaiming).
    pub head_init_std: Option<f64>,
    /// Learning rates of the kernel tensor's parts: `matched` (the default) or `shared`.
    #[serde(default)]
    pub part_lr: PartLr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub lr: f64,
    /// Epochs after which the learning rate is multiplied by `gamma`.
    pub decay_epochs: Vec<usize>,
    pub gamma: f64,
    /// Linear warm-up over this many steps.
    pub warmup_steps: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub task: Task,
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    /// `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// `f32`, or `bf16` / `f16` convolutions (mixed precision, for GPUs).
    #[serde(default)]
    pub precision: Precision,
    /// Worker threads (rayon); all cores when absent.
    pub threads: Option<usize>,
    /// Stop each epoch after this many steps (quick runs and tests).
    pub max_steps_per_epoch: Option<usize>,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub optimizer: OptimizerConfig,
    pub schedule: ScheduleConfig,
}

/// The embedded default: synthetic pose data, the small preset, Tucker at ~10x compression,
/// CPU. (`cargo xtask train` runs exactly this.)
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// What `task = "faceseg"` changes in the defaults (before the file and the overrides).
pub const FACESEG_TOML: &str = include_str!("default_faceseg.toml");

/// A configuration that cannot be used, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("override '{0}': expected key=value (for example epochs=3 or model.param=tucker)")]
    Override(String),
    #[error("{0}")]
    Invalid(String),
}

impl TrainConfig {
    /// The defaults, then the file (if any), then the overrides, each `dotted.key=value` with a
    /// TOML value (strings may be bare).
    pub fn load(file: Option<&Path>, overrides: &[String]) -> Result<Self, ConfigError> {
        Self::load_with(file, overrides, false)
    }

    /// As [`TrainConfig::load`]; `reset_ranks` first removes `model.ranks`, `model.rank` and
    /// `model.compression` (a command line that picks the parametrization replaces them).
    pub fn load_with(
        file: Option<&Path>,
        overrides: &[String],
        reset_ranks: bool,
    ) -> Result<Self, ConfigError> {
        let user = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    path: path.to_path_buf(),
                    msg: e.to_string(),
                })?;
                Some(text.parse::<toml::Table>().map_err(|e| ConfigError::File {
                    path: path.to_path_buf(),
                    msg: one_line(&e.to_string()),
                })?)
            }
            None => None,
        };
        // Face parsing starts from its own defaults (an overlay on the pose ones) when the file
        // or the overrides choose it.
        let first = Self::build(user.clone(), overrides, reset_ranks, false)?;
        if first.get("task").and_then(|t| t.as_str()) == Some("faceseg") {
            return Self::finish(Self::build(user, overrides, reset_ranks, true)?);
        }
        Self::finish(first)
    }

    fn finish(value: toml::Table) -> Result<Self, ConfigError> {
        let cfg: TrainConfig = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(one_line(&e.to_string())))?;
        cfg.check()?;
        Ok(cfg)
    }

    fn build(
        user: Option<toml::Table>,
        overrides: &[String],
        reset_ranks: bool,
        face: bool,
    ) -> Result<toml::Table, ConfigError> {
        let mut value: toml::Table = DEFAULT_TOML
            .parse()
            .map_err(|e| ConfigError::Invalid(format!("embedded default config: {e}")))?;
        if face {
            let overlay: toml::Table = FACESEG_TOML
                .parse()
                .map_err(|e| ConfigError::Invalid(format!("embedded faceseg config: {e}")))?;
            merge(&mut value, overlay);
        }
        if let Some(user) = user {
            // A file that gives ranks, or picks another parametrization, brings its own: the
            // defaults' belong to the default parametrization.
            let model_key =
                |t: &toml::Table, k: &str| t.get("model").and_then(|m| m.get(k)).cloned();
            let own_ranks = RANK_KEYS.iter().any(|k| model_key(&user, k).is_some());
            let other_param =
                model_key(&user, "param").is_some_and(|p| Some(p) != model_key(&value, "param"));
            if own_ranks || other_param {
                remove_rank_keys(&mut value);
            }
            merge(&mut value, user);
        }
        if reset_ranks {
            remove_rank_keys(&mut value);
        }
        for o in overrides {
            let (key, raw) = o
                .split_once('=')
                .ok_or_else(|| ConfigError::Override(o.clone()))?;
            let parsed = parse_value(raw.trim());
            if key.trim() == "optimizer.name" {
                // Another optimizer: its own defaults, not the previous one's settings.
                value.insert("optimizer".into(), toml::Value::Table(toml::Table::new()));
            }
            set_dotted(&mut value, key.trim(), parsed)
                .map_err(|m| ConfigError::Invalid(format!("override '{o}': {m}")))?;
        }
        Ok(value)
    }

    /// Values serde cannot check.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: &str| Err(ConfigError::Invalid(format!("{key}: {msg}")));
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.batch_size < 2 {
            return bad("batch_size", "must be at least 2 (BatchNorm needs a batch)");
        }
        if !(self.schedule.lr > 0.0 && self.schedule.lr.is_finite()) {
            return bad("schedule.lr", "must be a positive number");
        }
        if !(self.schedule.gamma > 0.0 && self.schedule.gamma <= 1.0) {
            return bad(
                "schedule.gamma",
                "must be in (0, 1] (the factor of each drop)",
            );
        }
        self.optimizer.check().map_err(ConfigError::Invalid)?;
        if !(0.0..1.0).contains(&self.model.tensor_dropout) {
            return bad("model.tensor_dropout", "must be in [0, 1)");
        }
        if self.model.tensor_dropout > 0.0 && self.model.param != ParamName::Tucker {
            return bad("model.tensor_dropout", "needs model.param = \"tucker\"");
        }
        if !(self.data.sigma > 0.0 && self.data.sigma.is_finite()) {
            return bad("data.sigma", "must be a positive number");
        }
        if self.data.kind == DataKind::Synthetic && self.data.synthetic_val == 0 {
            return bad(
                "data.synthetic_val",
                "must be at least 1 (validation needs people)",
            );
        }
        if self.data.val_limit == Some(0) {
            return bad("data.val_limit", "must be at least 1 (or absent for all)");
        }
        if let Some(std) = self.model.head_init_std
            && !(std > 0.0 && std.is_finite())
        {
            return bad("model.head_init_std", "must be a positive number");
        }
        if self.data.kind != DataKind::Synthetic && self.data.dir.is_none() {
            return bad(
                "data.dir",
                "is needed for mpii and faceparsing data (--data-dir DIR)",
            );
        }
        match (self.task, self.data.kind) {
            (Task::Pose, DataKind::Faceparsing) => {
                return bad("data.kind", "faceparsing data is for task = \"faceseg\"");
            }
            (Task::Faceseg, DataKind::Mpii) => {
                return bad("data.kind", "mpii data is for task = \"pose\"");
            }
            _ => {}
        }
        if self.max_steps_per_epoch == Some(0) {
            return bad("max_steps_per_epoch", "must be at least 1");
        }
        if let (Some(why), "cpu") = (self.precision.cpu_refusal(), self.device.as_str()) {
            return bad("precision", why);
        }
        if self.threads == Some(0) {
            return bad("threads", "must be at least 1");
        }
        self.network().map(|_| ())
    }

    /// The network this configuration trains.
    pub fn network(&self) -> Result<HourglassConfig, ConfigError> {
        let m = &self.model;
        let model_err =
            |e: tnet_hourglass::ConfigError| ConfigError::Invalid(format!("model: {e}"));
        let base = HourglassConfig::preset(m.preset)
            .map_err(|e| ConfigError::Invalid(format!("model.preset: {e}")))?;
        let head = match self.task {
            Task::Pose => base.head,
            Task::Faceseg => Head::Segmentation {
                classes: tnet_data::helen::N_CLASSES,
            },
        };
        let dense = HourglassConfig::new(
            m.stacks.unwrap_or(base.n_stacks),
            base.hg_depth,
            base.b_depth,
            m.features.unwrap_or(base.features),
            head,
            base.input_size,
            Parametrization::Dense,
        )
        .map_err(model_err)?;
        let spec = RankSpec {
            ranks: m.ranks.clone(),
            rank: m.rank,
            compression: m.compression,
        };
        let param = m.param.parametrization(&spec, &dense).map_err(|e| {
            ConfigError::Invalid(format!(
                "model.param with model.ranks / model.rank / model.compression: {e}"
            ))
        })?;
        dense.with_param(param).map_err(model_err)
    }

    /// The configuration as TOML (written into each run folder).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"))
    }

    /// The data folder: `data.dir`, or the synthetic cache's default.
    pub fn data_dir(&self) -> PathBuf {
        self.data.dir.clone().unwrap_or_else(|| {
            PathBuf::from(match self.task {
                Task::Pose => "datasets/synth-pose",
                Task::Faceseg => "datasets/synth-face",
            })
        })
    }
}

/// toml's messages span lines (with a source excerpt): keep them to one.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '|' || c == ' ')
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The keys that size a parametrization.
const RANK_KEYS: [&str; 3] = ["ranks", "rank", "compression"];

/// Removes `model.ranks`, `model.rank` and `model.compression`.
fn remove_rank_keys(value: &mut toml::Table) {
    if let Some(toml::Value::Table(m)) = value.get_mut("model") {
        for k in RANK_KEYS {
            m.remove(k);
        }
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// A TOML value, or the raw text as a string when it is not one (`device=cuda:0`).
fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("empty key".into());
    }
    let mut cur = table;
    for p in &parts[..parts.len() - 1] {
        cur = match cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        {
            toml::Value::Table(t) => t,
            _ => return Err(format!("'{p}' is not a section")),
        };
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}
