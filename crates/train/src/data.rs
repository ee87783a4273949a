//! The data of a run: synthetic data made once into a cache folder, or real folders.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tnet_data::helen::{FaceItem, read_face_split};
use tnet_data::mpii::{MpiiLayout, read_gt_valid, read_hrnet_json};
use tnet_data::pose_loader::PoseDataset;
use tnet_metrics::pckh::PckhGroundTruth;

use crate::config::{DataKind, Task, TrainConfig};
use crate::progress::bar;

#[derive(Debug, thiserror::Error)]
pub enum RunDataError {
    #[error(transparent)]
    Data(#[from] tnet_data::DataError),
    #[error("{0}")]
    Missing(String),
}

/// Pose training and validation sets with the validation ground truth.
pub struct PoseData {
    pub train: Arc<PoseDataset>,
    pub val: Arc<PoseDataset>,
    pub gt: PckhGroundTruth,
}

/// Face parsing training and test items.
pub struct FaceData {
    pub train: Arc<Vec<FaceItem>>,
    pub val: Arc<Vec<FaceItem>>,
}

/// The data of a run, whichever its task.
#[allow(clippy::large_enum_variant)] // one value per run: boxing would buy nothing
pub enum TaskData {
    Pose(PoseData),
    Face(FaceData),
}

impl TaskData {
    /// The data `cfg`'s task trains and validates on (synthetic data made first when absent).
    pub fn load(cfg: &TrainConfig, quiet: bool) -> Result<Self, RunDataError> {
        Ok(match cfg.task {
            Task::Pose => TaskData::Pose(pose_data(cfg, quiet)?),
            Task::Faceseg => TaskData::Face(face_data(cfg, quiet)?),
        })
    }

    /// Training samples (people for pose, images for face parsing).
    pub fn n_train(&self) -> usize {
        match self {
            TaskData::Pose(p) => p.train.people.len(),
            TaskData::Face(f) => f.train.len(),
        }
    }
}

/// Version of the synthetic generators (3: face-centred synthetic faces with thicker parts).
const GENERATOR_VERSION: u32 = 3;

/// What a synthetic cache was made with (a cache made with other settings is remade).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SynthStamp {
    /// Bumped when a generator changes what it draws.
    generator: u32,
    task: Task,
    train: usize,
    val: usize,
    seed: u64,
    size: usize,
    /// False while the set is being made: an interrupted run leaves a folder that is still the
    /// generator's (and is remade), never one that looks finished.
    complete: bool,
}

fn stamp_ok(dir: &Path, stamp: &SynthStamp) -> bool {
    std::fs::read(dir.join("synthetic.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<SynthStamp>(&b).ok())
        .is_some_and(|s| &s == stamp)
}

/// Refuses a folder the synthetic generator did not make: it may write only into one that is
/// absent, empty, or stamped by itself (`synthetic.json`, whatever its settings), never over a
/// user's data set.
fn check_generator_owns(dir: &Path) -> Result<(), RunDataError> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(tnet_data::DataError::Io {
                path: dir.to_path_buf(),
                source,
            }
            .into());
        }
    };
    if entries.next().is_none() {
        return Ok(());
    }
    let stamped = std::fs::read(dir.join("synthetic.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("generator").is_some());
    if stamped {
        return Ok(());
    }
    Err(RunDataError::Missing(format!(
        "{}: the folder holds files the synthetic generator did not make (no synthetic.json): \
         refusing to write synthetic data there; set data.dir to an empty or new folder, or \
         data.kind to the data set's kind",
        dir.display()
    )))
}

/// Makes the synthetic data set of `cfg` under its data folder unless it is already there.
pub fn ensure_synthetic(cfg: &TrainConfig, quiet: bool) -> Result<(), RunDataError> {
    let dir = cfg.data_dir();
    let d = &cfg.data;
    let stamp = SynthStamp {
        generator: GENERATOR_VERSION,
        task: cfg.task,
        train: d.synthetic_train,
        val: d.synthetic_val,
        seed: d.synthetic_seed,
        size: d.synthetic_size,
        complete: true,
    };
    if stamp_ok(&dir, &stamp) {
        return Ok(());
    }
    check_generator_owns(&dir)?;
    write_stamp(
        &dir,
        &SynthStamp {
            complete: false,
            ..stamp.clone()
        },
    )?;
    let total = (d.synthetic_train + d.synthetic_val) as u64;
    let pb = bar(
        total,
        quiet,
        "making synthetic data {bar:30} {pos}/{len} images, {per_sec}, ETA {eta}",
    );
    match cfg.task {
        Task::Pose => {
            let s = tnet_data::synth_pose::write_synth_pose(
                &dir,
                d.synthetic_train,
                d.synthetic_val,
                d.synthetic_seed,
                d.synthetic_size,
                &|n| pb.set_position(n as u64),
            )?;
            pb.finish_and_clear();
            if !quiet {
                eprintln!(
                    "synthetic pose data in {}: {} train, {} val; mean-pose baseline PCKh@0.5 = {:.2} %",
                    dir.display(),
                    s.train,
                    s.val,
                    s.mean_pose_pckh
                );
            }
        }
        Task::Faceseg => {
            tnet_data::synth_face::write_synth_face(
                &dir,
                d.synthetic_train,
                d.synthetic_val,
                d.synthetic_seed,
                d.synthetic_size,
            )?;
            pb.finish_and_clear();
        }
    }
    write_stamp(&dir, &stamp)
}

fn write_stamp(dir: &Path, stamp: &SynthStamp) -> Result<(), RunDataError> {
    let io = |source| tnet_data::DataError::Io {
        path: dir.join("synthetic.json"),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let json = serde_json::to_vec_pretty(stamp).unwrap_or_default();
    std::fs::write(dir.join("synthetic.json"), json).map_err(io)?;
    Ok(())
}

/// The share of unusable training records above which a data set is refused rather than
/// trained on without them.
pub const MAX_UNUSABLE_SHARE: f64 = 0.1;

/// The training records of `path` that can be trained on; the others are counted by reason
/// and reported, and refused when they are more than [`MAX_UNUSABLE_SHARE`] of the file.
fn usable_training_people(
    path: &Path,
    quiet: bool,
) -> Result<Vec<tnet_data::mpii::MpiiPerson>, RunDataError> {
    let all = read_hrnet_json(path)?;
    let total = all.len();
    let (kept, dropped) = tnet_data::mpii::usable_for_training(all);
    if dropped.is_empty() {
        return Ok(kept);
    }
    let n_dropped = total - kept.len();
    let reasons = dropped
        .iter()
        .map(|(why, n)| format!("{n} with {why}"))
        .collect::<Vec<_>>()
        .join(", ");
    if n_dropped as f64 > MAX_UNUSABLE_SHARE * total as f64 {
        return Err(RunDataError::Missing(format!(
            "{}: {n_dropped} of {total} records cannot be trained on ({reasons}), more than {} %: is this the right file?",
            path.display(),
            MAX_UNUSABLE_SHARE * 100.0
        )));
    }
    if !quiet {
        eprintln!(
            "{}: skipping {n_dropped} of {total} records that cannot be trained on ({reasons})",
            path.display()
        );
    }
    Ok(kept)
}

/// Pose data of `cfg` (made first when synthetic).
pub fn pose_data(cfg: &TrainConfig, quiet: bool) -> Result<PoseData, RunDataError> {
    if cfg.data.kind == DataKind::Synthetic {
        ensure_synthetic(cfg, quiet)?;
    }
    let dir = cfg.data_dir();
    if !dir.is_dir() {
        return Err(RunDataError::Missing(format!(
            "data folder {} does not exist: pass --data-dir with an MPII folder in the HRNet layout (see datasets/README.md)",
            dir.display()
        )));
    }
    match MpiiLayout::detect(&dir)? {
        MpiiLayout::Hrnet {
            train,
            valid,
            gt_valid,
            images,
        } => {
            let gt = read_gt_valid(&gt_valid)?;
            let val_people = read_hrnet_json(&valid)?;
            if val_people.len() != gt.joints.shape()[0] {
                return Err(RunDataError::Missing(format!(
                    "{} has {} people but {} has {}: they must list the same validation people",
                    valid.display(),
                    val_people.len(),
                    gt_valid.display(),
                    gt.joints.shape()[0]
                )));
            }
            let people = usable_training_people(&train, quiet)?;
            Ok(PoseData {
                train: Arc::new(PoseDataset {
                    people,
                    images: images.clone(),
                }),
                val: Arc::new(PoseDataset {
                    people: val_people,
                    images,
                }),
                gt,
            })
        }
        MpiiLayout::Hourglass { annotations, .. } => Err(RunDataError::Missing(format!(
            "{}: training with validation needs the HRNet layout (annot/train.json, annot/valid.json, annot/gt_valid.mat \
             with head boxes); the hourglass layout has no head boxes for PCKh",
            annotations.display()
        ))),
    }
}

/// Face-parsing data of `cfg` (made first when synthetic).
pub fn face_data(cfg: &TrainConfig, quiet: bool) -> Result<FaceData, RunDataError> {
    if cfg.data.kind == DataKind::Synthetic {
        ensure_synthetic(cfg, quiet)?;
    }
    let dir = cfg.data_dir();
    for f in ["train.txt", "test.txt"] {
        if !dir.join(f).is_file() {
            return Err(RunDataError::Missing(format!(
                "{} has no {f}: a face-parsing folder holds images/, labels/, train.txt and test.txt (see datasets/README.md)",
                dir.display()
            )));
        }
    }
    Ok(FaceData {
        train: Arc::new(read_face_split(&dir, &dir.join("train.txt"))?),
        val: Arc::new(read_face_split(&dir, &dir.join("test.txt"))?),
    })
}
