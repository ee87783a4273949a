//! `tnet predict --checkpoint CKPT IMAGE...`: joints as JSON and a skeleton PNG (pose), or a
//! label map blended over the image (face parsing).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use tnet_train::config::Task;
use tnet_train::model_io::load_model;
use tnet_train::predict::{blend_labels, draw_skeleton, predict_labels, predict_pose, save_png};

use tnet_metrics::pckh::JOINT_NAMES;

use crate::device::parse_device;

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    /// Images (JPEG or PNG); for pose, each shows one person filling the image.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Output folder (IMAGE_STEM.json and IMAGE_STEM.png per image).
    #[arg(long, default_value = "predictions")]
    out: PathBuf,
    /// Test-time flip averaging (pose).
    #[arg(long)]
    flip: bool,
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Serialize)]
struct Joint {
    name: &'static str,
    x: f64,
    y: f64,
    score: f64,
}

#[derive(Serialize)]
struct PosePrediction {
    image: String,
    width: usize,
    height: usize,
    /// 0-based pixel coordinates.
    joints: Vec<Joint>,
}

#[derive(Serialize)]
struct FacePrediction {
    image: String,
    width: usize,
    height: usize,
    /// Pixels per class, Helen order.
    class_pixels: Vec<u64>,
    label_png: String,
}

pub fn run(args: &PredictArgs) -> Result<()> {
    let device = parse_device(&args.device)?;
    let (net, meta) = load_model(&args.checkpoint, &device)
        .with_context(|| format!("loading {}", args.checkpoint.display()))?;
    // The kernel tensor is rebuilt once for all images.
    let kernels = net.kernels(tnet_hourglass::KernelMode::Eval)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for path in &args.images {
        let image = tnet_data::pose_loader::decode_rgb(path)
            .with_context(|| format!("{}: not a readable JPEG or PNG image", path.display()))?;
        let (h, w, _) = image.dim();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "image".into());
        let (json_path, png_path) = (
            args.out.join(format!("{stem}.json")),
            args.out.join(format!("{stem}.png")),
        );
        let json = match meta.config.task {
            Task::Pose => {
                let (joints, scores) = predict_pose(&net, &kernels, &image, args.flip, &device)?;
                let mut drawn = image.clone();
                draw_skeleton(&mut drawn, &joints);
                save_png(&png_path, &drawn).map_err(anyhow::Error::msg)?;
                serde_json::to_string_pretty(&PosePrediction {
                    image: path.display().to_string(),
                    width: w,
                    height: h,
                    joints: (0..joints.nrows())
                        .map(|j| Joint {
                            name: JOINT_NAMES.get(j).copied().unwrap_or("joint"),
                            x: joints[[j, 0]],
                            y: joints[[j, 1]],
                            score: scores[j],
                        })
                        .collect(),
                })?
            }
            Task::Faceseg => {
                let labels = predict_labels(&net, &kernels, &image, &device)?;
                save_png(&png_path, &blend_labels(&image, &labels)).map_err(anyhow::Error::msg)?;
                let mut counts = vec![0u64; net.config().head.channels()];
                for &c in labels.iter() {
                    if let Some(n) = counts.get_mut(c as usize) {
                        *n += 1;
                    }
                }
                serde_json::to_string_pretty(&FacePrediction {
                    image: path.display().to_string(),
                    width: w,
                    height: h,
                    class_pixels: counts,
                    label_png: png_path.display().to_string(),
                })?
            }
        };
        std::fs::write(&json_path, json + "\n")
            .with_context(|| format!("writing {}", json_path.display()))?;
        println!(
            "{} -> {}, {}",
            path.display(),
            json_path.display(),
            png_path.display()
        );
    }
    Ok(())
}
