//! Checkpoints: one safetensors file holding the model (`model.*`), the optimizer state
//! (`optim.*`) and the run position as JSON (`meta`, u8), written atomically (temporary file,
//! fsync, rename) so that an interrupted write never replaces a good checkpoint. A JSON twin
//! (`*.json`) beside it is for people and scripts.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use tnet_hourglass::TNet;

use crate::config::TrainConfig;
use crate::optim::Optimizer;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Epochs completed.
    pub epoch: usize,
    /// Batches completed in the epoch under way (0 at an epoch boundary).
    pub batch: usize,
    /// Training steps completed.
    pub step: u64,
    pub config: TrainConfig,
    /// Validation metric of the last completed epoch (PCKh@0.5 Mean, or mIoU).
    pub metric: Option<f64>,
    pub best_metric: Option<f64>,
    /// Format version.
    pub format: u32,
    /// Training-loss sum and count of the epoch under way (so a resumed epoch logs the same).
    pub epoch_loss_sum: f64,
    pub epoch_loss_count: u64,
}

pub const FORMAT: u32 = 1;

impl CheckpointMeta {
    /// Where a new run of `cfg` stands: nothing trained yet.
    pub fn fresh(cfg: &TrainConfig) -> Self {
        CheckpointMeta {
            epoch: 0,
            batch: 0,
            step: 0,
            config: cfg.clone(),
            metric: None,
            best_metric: None,
            format: FORMAT,
            epoch_loss_sum: 0.0,
            epoch_loss_count: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {msg}")]
    Io { path: PathBuf, msg: String },
    #[error("{path}: not a tnet checkpoint or corrupt: {msg}")]
    Corrupt { path: PathBuf, msg: String },
    #[error("{path}: {msg}")]
    Mismatch { path: PathBuf, msg: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |e| CheckpointError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Writes `path` atomically.
pub fn save(
    path: &Path,
    net: &TNet,
    opt: Option<&Optimizer>,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let mut map: HashMap<String, Tensor> = HashMap::new();
    for (name, t) in net.params().tensors() {
        map.insert(format!("model.{name}"), t);
    }
    if let Some(opt) = opt {
        for (name, t) in opt.state().0 {
            map.insert(format!("optim.{name}"), t.clone());
        }
    }
    let json = serde_json::to_string(meta).map_err(|e| CheckpointError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    let bytes = json.clone().into_bytes();
    let n = bytes.len();
    let meta_t = Tensor::from_vec(bytes, n, &Device::Cpu).map_err(|e| CheckpointError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    map.insert("meta".into(), meta_t);
    let tmp = tmp_path(path);
    candle_core::safetensors::save(&map, &tmp).map_err(|e| CheckpointError::Io {
        path: tmp.clone(),
        msg: e.to_string(),
    })?;
    commit(&tmp, path)?;
    write_atomic(
        &path.with_extension("json"),
        serde_json::to_string_pretty(meta)
            .unwrap_or(json)
            .as_bytes(),
    )
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// fsync the temporary file, rename it over `path`, fsync the folder.
fn commit(tmp: &Path, path: &Path) -> Result<(), CheckpointError> {
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(tmp))?;
    std::fs::rename(tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let tmp = tmp_path(path);
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    drop(f);
    commit(&tmp, path)
}

/// A loaded checkpoint.
pub struct Checkpoint {
    pub path: PathBuf,
    pub meta: CheckpointMeta,
    pub model: HashMap<String, Tensor>,
    pub optim: HashMap<String, Tensor>,
}

/// Whether every value of a float tensor is finite (other dtypes are).
fn all_finite(t: &Tensor) -> candle_core::Result<bool> {
    if !t.dtype().is_float() {
        return Ok(true);
    }
    let values = t
        .flatten_all()?
        .to_dtype(candle_core::DType::F64)?
        .to_vec1::<f64>()?;
    Ok(values.iter().all(|v| v.is_finite()))
}

impl Checkpoint {
    pub fn load(path: &Path, device: &Device) -> Result<Self, CheckpointError> {
        if !path.is_file() {
            return Err(CheckpointError::Io {
                path: path.to_path_buf(),
                msg: "no such checkpoint file".into(),
            });
        }
        let corrupt = |msg: String| CheckpointError::Corrupt {
            path: path.to_path_buf(),
            msg,
        };
        let all =
            candle_core::safetensors::load(path, device).map_err(|e| corrupt(e.to_string()))?;
        let meta_t = all
            .get("meta")
            .ok_or_else(|| corrupt("no 'meta' entry".into()))?;
        let bytes: Vec<u8> = meta_t.to_vec1().map_err(|e| corrupt(e.to_string()))?;
        let meta: CheckpointMeta =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("meta: {e}")))?;
        if meta.format != FORMAT {
            return Err(corrupt(format!(
                "format {} (this tnet reads {FORMAT})",
                meta.format
            )));
        }
        let mut model = HashMap::new();
        let mut optim = HashMap::new();
        for (k, v) in all {
            if let Some(n) = k.strip_prefix("model.") {
                if !all_finite(&v).map_err(|e| corrupt(format!("{k}: {e}")))? {
                    return Err(corrupt(format!(
                        "parameter {n} holds NaN or infinite values (a diverged run?)"
                    )));
                }
                model.insert(n.to_string(), v);
            } else if let Some(n) = k.strip_prefix("optim.") {
                optim.insert(n.to_string(), v);
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            meta,
            model,
            optim,
        })
    }

    /// Sets the network's parameters and buffers; they must match by name and shape.
    pub fn restore_model(&self, net: &TNet) -> Result<(), CheckpointError> {
        net.params()
            .load_from(&self.model)
            .map_err(|e| CheckpointError::Mismatch {
                path: self.path.clone(),
                msg: e.to_string(),
            })
    }

    pub fn restore_optimizer(&self, opt: &mut Optimizer) -> Result<(), CheckpointError> {
        opt.load_state(&self.optim, self.meta.step)
            .map_err(|e| CheckpointError::Mismatch {
                path: self.path.clone(),
                msg: e.to_string(),
            })
    }
}
