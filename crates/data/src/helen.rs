//! Face parsing data in the Helen layout (11 classes, docs/data.md): one mask image per class,
//! or a single label map per image, listed by split files.
//!
//! "Left" and "right" classes are the person's: on a face looking at the camera, the left eye
//! is on the image right. A horizontal flip swaps them.

use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::DataError;

/// Number of face-parsing classes (background included).
pub const N_CLASSES: usize = 11;

/// Class pairs a horizontal flip swaps: brows (2, 3) and eyes (4, 5).
pub const FLIP_CLASS_PAIRS: [(u8, u8); 2] = [(2, 3), (4, 5)];

/// Where an item's labels are stored.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelSource {
    /// Helen: one grayscale mask per class, `labels/ID/ID_lbl00.png` .. `ID_lbl10.png`;
    /// the label of a pixel is the class of the largest mask value (ties: lowest class).
    HelenMasks(Vec<PathBuf>),
    /// One PNG whose pixel values are class ids.
    LabelMap(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaceItem {
    pub id: String,
    pub image: PathBuf,
    pub labels: LabelSource,
}

/// Reads the ids of a split file: one per line, either `ID` or Helen's `N , ID`.
pub fn read_split(path: &Path) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|l| l.rsplit(',').next().unwrap_or("").trim().to_string())
        .filter(|id| !id.is_empty())
        .collect())
}

/// The items of `split_file` under `data_dir` (`images/ID.jpg|png` and `labels/...`), in the
/// Helen layout when `labels/ID/` exists, else the label-map layout (`labels/ID.png`).
pub fn read_face_split(data_dir: &Path, split_file: &Path) -> Result<Vec<FaceItem>, DataError> {
    read_split(split_file)?
        .into_iter()
        .map(|id| {
            let image = ["jpg", "png", "jpeg"]
                .iter()
                .map(|ext| data_dir.join("images").join(format!("{id}.{ext}")))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    DataError::Invalid(format!("{}: no image images/{id}.jpg (or .png) for id '{id}'", split_file.display()))
                })?;
            let helen = data_dir.join("labels").join(&id);
            let labels = if helen.is_dir() {
                let masks: Vec<PathBuf> = (0..N_CLASSES).map(|c| helen.join(format!("{id}_lbl{c:02}.png"))).collect();
                if let Some(missing) = masks.iter().find(|m| !m.is_file()) {
                    return Err(DataError::Invalid(format!("{}: mask {} is missing", split_file.display(), missing.display())));
                }
                LabelSource::HelenMasks(masks)
            } else {
                let map = data_dir.join("labels").join(format!("{id}.png"));
                if !map.is_file() {
                    return Err(DataError::Invalid(format!(
                        "{}: no labels for '{id}': expected labels/{id}/{id}_lbl00.png .. (Helen) or labels/{id}.png",
                        split_file.display()
                    )));
                }
                LabelSource::LabelMap(map)
            };
            Ok(FaceItem { id, image, labels })
        })
        .collect()
}

fn gray(path: &Path) -> Result<Array2<u8>, DataError> {
    let img = crate::image_file::open_image(path)?.into_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    Array2::from_shape_vec((h, w), img.into_raw())
        .map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))
}

/// The `H x W` class map of an item; checks sizes and class ids.
pub fn load_labels(item: &FaceItem) -> Result<Array2<u8>, DataError> {
    match &item.labels {
        LabelSource::LabelMap(p) => {
            let map = gray(p)?;
            if let Some(bad) = map.iter().find(|&&v| v as usize >= N_CLASSES) {
                return Err(DataError::Invalid(format!(
                    "{}: class id {bad} outside 0..{N_CLASSES}",
                    p.display()
                )));
            }
            Ok(map)
        }
        LabelSource::HelenMasks(masks) => {
            let mut best: Option<(Array2<u8>, Array2<u8>)> = None; // (labels, best value)
            for (c, p) in masks.iter().enumerate() {
                let m = gray(p)?;
                let (labels, value) =
                    best.get_or_insert_with(|| (Array2::zeros(m.dim()), Array2::zeros(m.dim())));
                if m.dim() != labels.dim() {
                    return Err(DataError::Invalid(format!(
                        "{}: mask is {:?}, the others {:?}",
                        p.display(),
                        m.dim(),
                        labels.dim()
                    )));
                }
                ndarray::Zip::from(labels)
                    .and(value)
                    .and(&m)
                    .for_each(|l, v, &x| {
                        if c == 0 || x > *v {
                            *l = c as u8;
                            *v = x;
                        }
                    });
            }
            Ok(best.expect("11 masks").0)
        }
    }
}
