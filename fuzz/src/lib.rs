//! One function per reader of a user's file: each takes arbitrary bytes and must return
//! (an error is fine) without panicking, hanging or allocating beyond reason. The AFL targets
//! in `src/bin/` call them; `replay` runs them on files (a corpus or a crash) without AFL.

pub mod mutate;

use std::io::Cursor;
use std::path::{Path, PathBuf};

/// The bytes as a file of this process (for the readers that take a path).
fn as_file(data: &[u8], name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tnet-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    let _ = std::fs::write(&path, data);
    path
}

pub fn npy(data: &[u8]) {
    let _ = tnet_tensor::npy::read_npy(Cursor::new(data));
}

pub fn mat(data: &[u8]) {
    if let Ok(f) = tnet_data::mat::read_mat(data) {
        for a in &f.arrays {
            let _ = a.to_array();
        }
    }
}

pub fn hrnet_json(data: &[u8]) {
    let _ = tnet_data::mpii::read_hrnet_json(&as_file(data, "train.json"));
}

pub fn hourglass_json(data: &[u8]) {
    let _ = tnet_data::mpii::read_hourglass_json(&as_file(data, "mpii_annotations.json"));
}

pub fn gt_valid(data: &[u8]) {
    let _ = tnet_data::mpii::read_gt_valid(&as_file(data, "gt_valid.mat"));
}

pub fn label_map(data: &[u8]) {
    let path = as_file(data, "labels.png");
    let item = tnet_data::helen::FaceItem {
        id: "x".into(),
        image: path.clone(),
        labels: tnet_data::helen::LabelSource::LabelMap(path),
    };
    let _ = tnet_data::helen::load_labels(&item);
}

pub fn config_toml(data: &[u8]) {
    let _ = tnet_train::TrainConfig::load(Some(&as_file(data, "config.toml")), &[]);
}

pub fn checkpoint(data: &[u8]) {
    let path = as_file(data, "last.safetensors");
    let _ = tnet_train::checkpoint::Checkpoint::load(&path, &candle_core::Device::Cpu);
}

pub fn image(data: &[u8]) {
    let _ = tnet_data::image_file::decode_image(data);
}

/// Every target by name.
pub const TARGETS: [(&str, fn(&[u8])); 9] = [
    ("npy", npy),
    ("mat", mat),
    ("hrnet_json", hrnet_json),
    ("hourglass_json", hourglass_json),
    ("gt_valid", gt_valid),
    ("label_map", label_map),
    ("config_toml", config_toml),
    ("checkpoint", checkpoint),
    ("image", image),
];

/// Runs target `name` on every file under `paths` (files or folders); the number run.
pub fn replay(name: &str, paths: &[PathBuf]) -> Result<usize, String> {
    let f = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .ok_or_else(|| format!("no target {name}"))?;
    let mut n = 0;
    for p in paths {
        for file in files(p) {
            let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            f(&data);
            n += 1;
        }
    }
    Ok(n)
}

fn files(p: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(p) {
        Ok(entries) => {
            let mut v: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            v.sort();
            v.into_iter().filter(|f| f.is_file()).collect()
        }
        Err(_) => vec![p.to_path_buf()],
    }
}
