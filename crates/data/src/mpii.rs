//! MPII annotations in the two layouts of docs/data.md, "Annotation layouts".
//!
//! - HRNet / mmpose: `annot/{train,valid}.json`, an array of
//!   `{"image", "center": [x, y], "scale", "joints": [[x, y] x 16], "joints_vis": [16]}`
//!   (`test.json` has no joints);
//! - the PyTorch hourglass ports: one `mpii_annotations.json` array of
//!   `{"img_paths", "objpos", "joint_self": [[x, y, vis] x 16], "scale_provided",
//!   "isValidation", "objpos_other", "joint_others", "scale_provided_other", ..}` where the
//!   `_other` fields are a single value for one other person and an array for several.
//!
//! Coordinates are kept as stored, 1-based (MPII's Matlab convention);
//! [`MpiiPerson::joints_zero_based`] and [`MpiiPerson::hrnet_crop`] give the 0-based values
//! the pipeline uses.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::DataError;

/// Number of MPII joints.
pub const N_JOINTS: usize = 16;

/// 16 joint positions `[x, y]`.
pub type Joints = [[f64; 2]; N_JOINTS];

/// Left/right joint pairs swapped by a horizontal flip (docs/data.md, "Joints").
pub const FLIP_PAIRS: [(usize, usize); 6] = [(0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)];

/// Another annotated person in the same image (hourglass layout only).
#[derive(Debug, Clone, PartialEq)]
pub struct OtherPerson {
    pub center: [f64; 2],
    pub scale: f64,
    pub joints: Option<[[f64; 2]; N_JOINTS]>,
}

/// One annotated person.
#[derive(Debug, Clone, PartialEq)]
pub struct MpiiPerson {
    /// Image file name, relative to the images folder.
    pub image: String,
    /// Person center, 1-based pixels.
    pub center: [f64; 2],
    /// Person scale: the person is about `200 * scale` pixels tall.
    pub scale: f64,
    /// Joint positions, 1-based pixels (absent in test annotations).
    pub joints: Option<[[f64; 2]; N_JOINTS]>,
    /// Whether each joint is labelled (`joints_vis` / the third value of `joint_self`).
    pub visible: Option<[bool; N_JOINTS]>,
    /// `isValidation` of the hourglass layout.
    pub is_validation: Option<bool>,
    pub others: Vec<OtherPerson>,
}

impl MpiiPerson {
    /// Joints in 0-based pixels.
    pub fn joints_zero_based(&self) -> Option<[[f64; 2]; N_JOINTS]> {
        self.joints.map(|j| j.map(|[x, y]| [x - 1.0, y - 1.0]))
    }

    /// HRNet's crop: center made 0-based and moved down by `15 scale`, scale times 1.25
    /// (`(center, scale)`, the crop being a square of side `200 * scale`).
    pub fn hrnet_crop(&self) -> ([f64; 2], f64) {
        let [x, y] = self.center;
        if x == -1.0 {
            return (self.center, self.scale);
        }
        ([x - 1.0, y + 15.0 * self.scale - 1.0], self.scale * 1.25)
    }
}

fn read_json_array(path: &Path) -> Result<Vec<Value>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(_) => Err(DataError::Json {
            path: path.to_path_buf(),
            msg: "the top level is not an array".into(),
        }),
        Err(e) => Err(DataError::Json {
            path: path.to_path_buf(),
            msg: e.to_string(),
        }),
    }
}

/// Field access that names the file, the record and the field in its errors.
struct Rec<'a> {
    path: &'a Path,
    index: usize,
    obj: &'a serde_json::Map<String, Value>,
}

impl<'a> Rec<'a> {
    fn err(&self, field: &str, problem: impl Into<String>) -> DataError {
        DataError::Field {
            path: self.path.to_path_buf(),
            index: self.index,
            field: field.into(),
            problem: problem.into(),
        }
    }

    fn get(&self, field: &str) -> Result<&'a Value, DataError> {
        self.obj
            .get(field)
            .ok_or_else(|| self.err(field, "is missing"))
    }

    fn number(&self, field: &str, v: &Value) -> Result<f64, DataError> {
        v.as_f64()
            .ok_or_else(|| self.err(field, format!("should be a number, got {v}")))
    }

    fn string(&self, field: &str) -> Result<String, DataError> {
        let v = self.get(field)?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.err(field, format!("should be a string, got {v}")))
    }

    fn point(&self, field: &str, v: &Value) -> Result<[f64; 2], DataError> {
        match v.as_array().map(Vec::as_slice) {
            Some([x, y, ..]) => Ok([self.number(field, x)?, self.number(field, y)?]),
            _ => Err(self.err(field, format!("should be an [x, y] pair, got {v}"))),
        }
    }

    /// 16 rows of `[x, y]` or `[x, y, vis]`.
    fn joints(
        &self,
        field: &str,
        v: &Value,
    ) -> Result<(Joints, Option<[bool; N_JOINTS]>), DataError> {
        let rows = v
            .as_array()
            .ok_or_else(|| self.err(field, "should be an array of 16 joints"))?;
        if rows.len() != N_JOINTS {
            return Err(self.err(
                field,
                format!("has {} joints, expected {N_JOINTS}", rows.len()),
            ));
        }
        let mut joints = [[0.0; 2]; N_JOINTS];
        let mut vis = [false; N_JOINTS];
        let mut has_vis = true;
        for (j, row) in rows.iter().enumerate() {
            joints[j] = self.point(field, row)?;
            match row.as_array().and_then(|r| r.get(2)) {
                Some(v) => vis[j] = self.number(field, v)? != 0.0,
                None => has_vis = false,
            }
        }
        Ok((joints, has_vis.then_some(vis)))
    }
}

/// Applies `f` to every record (JSON object) of the array in `path`, naming non-objects.
fn map_records<T>(
    path: &Path,
    f: impl Fn(&Rec<'_>) -> Result<T, DataError>,
) -> Result<Vec<T>, DataError> {
    read_json_array(path)?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let obj = item.as_object().ok_or_else(|| DataError::Field {
                path: path.to_path_buf(),
                index,
                field: "(record)".into(),
                problem: "is not an object".into(),
            })?;
            f(&Rec { path, index, obj })
        })
        .collect()
}

/// Reads an HRNet / mmpose annotation file (`annot/train.json`, `valid.json` or `test.json`).
pub fn read_hrnet_json(path: &Path) -> Result<Vec<MpiiPerson>, DataError> {
    map_records(path, |r| {
        let obj = r.obj;
        let joints = match obj.get("joints") {
            Some(v) => Some(r.joints("joints", v)?.0),
            None => None,
        };
        let visible = match obj.get("joints_vis") {
            Some(v) => {
                let flags = v
                    .as_array()
                    .ok_or_else(|| r.err("joints_vis", "should be an array"))?;
                if flags.len() != N_JOINTS {
                    return Err(r.err(
                        "joints_vis",
                        format!("has {} entries, expected {N_JOINTS}", flags.len()),
                    ));
                }
                let mut vis = [false; N_JOINTS];
                for (j, f) in flags.iter().enumerate() {
                    vis[j] = r.number("joints_vis", f)? != 0.0;
                }
                Some(vis)
            }
            None => None,
        };
        Ok(MpiiPerson {
            image: r.string("image")?,
            center: r.point("center", r.get("center")?)?,
            scale: r.number("scale", r.get("scale")?)?,
            joints,
            visible,
            is_validation: None,
            others: Vec::new(),
        })
    })
}

/// Reads the `mpii_annotations.json` of the PyTorch hourglass ports.
pub fn read_hourglass_json(path: &Path) -> Result<Vec<MpiiPerson>, DataError> {
    map_records(path, |r| {
        let obj = r.obj;
        let (joints, visible) = r.joints("joint_self", r.get("joint_self")?)?;
        let is_validation = match obj.get("isValidation") {
            Some(v) => Some(r.number("isValidation", v)? != 0.0),
            None => None,
        };
        Ok(MpiiPerson {
            image: r.string("img_paths")?,
            center: r.point("objpos", r.get("objpos")?)?,
            scale: r.number("scale_provided", r.get("scale_provided")?)?,
            joints: Some(joints),
            visible,
            is_validation,
            others: others(r)?,
        })
    })
}

/// The `_other` fields: absent or 0 for nobody, single values for one person, arrays for more.
fn others(r: &Rec<'_>) -> Result<Vec<OtherPerson>, DataError> {
    let count = match r.obj.get("numOtherPeople") {
        Some(v) => r.number("numOtherPeople", v)? as usize,
        None => match r.obj.get("scale_provided_other") {
            None => 0,
            Some(Value::Array(a)) => a.len(),
            Some(_) => 1,
        },
    };
    if count == 0 {
        return Ok(Vec::new());
    }
    let scales: Vec<f64> = match r.get("scale_provided_other")? {
        Value::Array(a) => a
            .iter()
            .map(|v| r.number("scale_provided_other", v))
            .collect::<Result<_, _>>()?,
        v => vec![r.number("scale_provided_other", v)?],
    };
    let centers: Vec<[f64; 2]> = match r.get("objpos_other")? {
        // One person: [x, y]; several: [[x, y], ...].
        Value::Array(a) if a.first().is_some_and(Value::is_number) => {
            vec![r.point("objpos_other", &Value::Array(a.clone()))?]
        }
        Value::Array(a) => a
            .iter()
            .map(|v| r.point("objpos_other", v))
            .collect::<Result<_, _>>()?,
        v => {
            return Err(r.err(
                "objpos_other",
                format!("should be [x, y] or a list of them, got {v}"),
            ));
        }
    };
    let joints: Vec<Option<[[f64; 2]; N_JOINTS]>> = match r.obj.get("joint_others") {
        None => vec![None; count],
        // One person: 16 joints of [x, y, v]; several: a list of such lists.
        Some(Value::Array(a))
            if a.len() == N_JOINTS
                && a.first()
                    .and_then(|j| j.as_array())
                    .is_some_and(|j| j.first().is_some_and(Value::is_number)) =>
        {
            vec![Some(r.joints("joint_others", &Value::Array(a.clone()))?.0)]
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| Ok(Some(r.joints("joint_others", v)?.0)))
            .collect::<Result<_, DataError>>()?,
        Some(v) => {
            return Err(r.err(
                "joint_others",
                format!("should be joints or a list of them, got {v}"),
            ));
        }
    };
    if scales.len() != count || centers.len() != count || joints.len() != count {
        return Err(r.err(
            "numOtherPeople",
            format!(
                "says {count} other people but scale_provided_other has {}, objpos_other {} and joint_others {}",
                scales.len(),
                centers.len(),
                joints.len()
            ),
        ));
    }
    Ok((0..count)
        .map(|k| OtherPerson {
            center: centers[k],
            scale: scales[k],
            joints: joints[k],
        })
        .collect())
}

/// The files of an MPII folder in either layout, found under `data_dir`.
#[derive(Debug, Clone, PartialEq)]
pub enum MpiiLayout {
    /// `annot/train.json`, `annot/valid.json`, `annot/gt_valid.mat`, `images/`.
    Hrnet {
        train: PathBuf,
        valid: PathBuf,
        gt_valid: PathBuf,
        images: PathBuf,
    },
    /// `mpii_annotations.json` (beside or in `annot/`) and `images/`.
    Hourglass {
        annotations: PathBuf,
        images: PathBuf,
    },
}

impl MpiiLayout {
    /// Detects the layout, or says what was looked for.
    pub fn detect(data_dir: &Path) -> Result<Self, DataError> {
        let images = data_dir.join("images");
        let annot = data_dir.join("annot");
        if annot.join("train.json").is_file() {
            return Ok(MpiiLayout::Hrnet {
                train: annot.join("train.json"),
                valid: annot.join("valid.json"),
                gt_valid: annot.join("gt_valid.mat"),
                images,
            });
        }
        for candidate in [
            data_dir.join("mpii_annotations.json"),
            annot.join("mpii_annotations.json"),
        ] {
            if candidate.is_file() {
                return Ok(MpiiLayout::Hourglass {
                    annotations: candidate,
                    images,
                });
            }
        }
        Err(DataError::Invalid(format!(
            "{} holds no MPII annotations: expected annot/train.json (HRNet layout) or mpii_annotations.json \
             (PyTorch hourglass layout); see datasets/README.md",
            data_dir.display()
        )))
    }
}

/// Reads MPII's `gt_valid.mat` (HRNet layout: `pos_gt_src` 16x2xN, `jnt_missing` 16xN,
/// `headboxes_src` 2x2xN, 1-based) into the sample-first ground truth of the PCKh measure.
pub fn read_gt_valid(path: &Path) -> Result<tnet_metrics::pckh::PckhGroundTruth, DataError> {
    let bad = |msg: String| DataError::Invalid(format!("{}: {msg}", path.display()));
    let mat = crate::mat::read_mat_file(path).map_err(|e| bad(e.to_string()))?;
    let take = |name: &str, rank: usize| -> Result<ndarray::ArrayD<f64>, DataError> {
        let a = mat.get(name).map_err(|e| bad(e.to_string()))?;
        if a.dims.len() != rank {
            return Err(bad(format!(
                "variable '{name}' has dimensions {:?}, expected {rank} of them",
                a.dims
            )));
        }
        a.to_array().map_err(|e| bad(e.to_string()))
    };
    let pos = take("pos_gt_src", 3)?; // 16 x 2 x N
    let missing = take("jnt_missing", 2)?; // 16 x N
    let boxes = take("headboxes_src", 3)?; // 2 x 2 x N
    let n = pos.shape()[2];
    if pos.shape() != [N_JOINTS, 2, n] {
        return Err(bad(format!(
            "pos_gt_src has dimensions {:?}, expected 16 x 2 x N",
            pos.shape()
        )));
    }
    if missing.shape() != [N_JOINTS, n] {
        return Err(bad(format!(
            "jnt_missing has dimensions {:?}, expected 16 x {n}",
            missing.shape()
        )));
    }
    if boxes.shape() != [2, 2, n] {
        return Err(bad(format!(
            "headboxes_src has dimensions {:?}, expected 2 x 2 x {n}",
            boxes.shape()
        )));
    }
    Ok(tnet_metrics::pckh::PckhGroundTruth {
        joints: pos
            .permuted_axes(vec![2, 0, 1])
            .into_dimensionality::<ndarray::Ix3>()
            .map_err(|e| bad(e.to_string()))?
            .as_standard_layout()
            .into_owned(),
        missing: missing
            .t()
            .mapv(|v| v != 0.0)
            .into_dimensionality()
            .map_err(|e| bad(e.to_string()))?,
        headboxes: boxes
            .permuted_axes(vec![2, 0, 1])
            .into_dimensionality::<ndarray::Ix3>()
            .map_err(|e| bad(e.to_string()))?
            .as_standard_layout()
            .into_owned(),
    })
}

/// Why a training record cannot be trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unusable {
    /// The scale is not a positive number (the crop would be empty or flipped).
    Scale,
    /// The centre is not a finite point.
    Center,
    /// No joint is labelled with a position inside the image's positive quadrant (MPII marks
    /// unlabelled joints with -1): the record has no target to learn.
    NoJoint,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Scale => "scale not positive",
            Self::Center => "centre not finite",
            Self::NoJoint => "no labelled joint",
        })
    }
}

impl MpiiPerson {
    /// Why this record cannot be trained on, if it cannot.
    pub fn unusable(&self) -> Option<Unusable> {
        if !(self.scale > 0.0 && self.scale.is_finite()) {
            return Some(Unusable::Scale);
        }
        if !self.center.iter().all(|v| v.is_finite()) {
            return Some(Unusable::Center);
        }
        let labelled = |j: usize| {
            let p = self.joints.map(|js| js[j]);
            let vis = self.visible.is_none_or(|v| v[j]);
            vis && p.is_some_and(|[x, y]| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite())
        };
        if !(0..N_JOINTS).any(labelled) {
            return Some(Unusable::NoJoint);
        }
        None
    }
}

/// The training records that can be trained on, and how many of the others there were for
/// each reason (in the order of [`Unusable`]).
pub fn usable_for_training(people: Vec<MpiiPerson>) -> (Vec<MpiiPerson>, Vec<(Unusable, usize)>) {
    let mut counts = std::collections::BTreeMap::new();
    let kept = people
        .into_iter()
        .filter(|p| match p.unusable() {
            Some(why) => {
                *counts.entry(why).or_insert(0) += 1;
                false
            }
            None => true,
        })
        .collect();
    (kept, counts.into_iter().collect())
}
