//! `cargo xtask data synth-pose --out DIR --train N --val M --seed S [--size PX]`

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Render the synthetic pose set in the HRNet / MPII layout.
    SynthPose(SynthPoseArgs),
    /// Render the synthetic face-parsing set in the Helen layout (11 classes).
    SynthFace(SynthFaceArgs),
}

#[derive(Debug, Args)]
pub struct SynthFaceArgs {
    #[arg(long, default_value = "datasets/synth-face")]
    out: PathBuf,
    #[arg(long, default_value_t = 2000)]
    train: usize,
    #[arg(long, default_value_t = 300)]
    test: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Image side in pixels.
    #[arg(long, default_value_t = 256)]
    size: usize,
}

#[derive(Debug, Args)]
pub struct SynthPoseArgs {
    #[arg(long, default_value = "datasets/synth-pose")]
    out: PathBuf,
    #[arg(long, default_value_t = 2000)]
    train: usize,
    #[arg(long, default_value_t = 500)]
    val: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Image side in pixels.
    #[arg(long, default_value_t = 256)]
    size: usize,
}

pub fn run(cmd: &DataCommand) -> Result<()> {
    match cmd {
        DataCommand::SynthPose(a) => {
            let total = (a.train + a.val) as u64;
            let bar = indicatif::ProgressBar::new(total).with_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} {bar:40} {pos}/{len} images, {per_sec}, ETA {eta}",
                )
                .expect("valid template"),
            );
            bar.set_message("rendering");
            let summary = tnet_data::synth_pose::write_synth_pose(
                &a.out,
                a.train,
                a.val,
                a.seed,
                a.size,
                &|done| bar.set_position(done as u64),
            )
            .with_context(|| format!("writing {}", a.out.display()))?;
            bar.finish();
            println!(
                "wrote {} training and {} validation images to {} (HRNet layout: images/, annot/train.json, \
                 annot/valid.json, annot/gt_valid.mat)",
                summary.train,
                summary.val,
                summary.dir.display()
            );
            println!(
                "mean-pose baseline: PCKh@0.5 Mean = {:.2} % on the validation set",
                summary.mean_pose_pckh
            );
            Ok(())
        }
        DataCommand::SynthFace(a) => {
            eprintln!("rendering {} + {} faces ...", a.train, a.test);
            tnet_data::synth_face::write_synth_face(&a.out, a.train, a.test, a.seed, a.size)
                .with_context(|| format!("writing {}", a.out.display()))?;
            println!(
                "wrote {} training and {} test faces to {} (Helen layout: images/, labels/ID/ID_lblNN.png, \
                 train.txt, test.txt)",
                a.train,
                a.test,
                a.out.display()
            );
            Ok(())
        }
    }
}
