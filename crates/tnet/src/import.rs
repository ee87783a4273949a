//! `tnet import`: a PyTorch state dict of the repository's PyTorch network as a tnet
//! checkpoint, to evaluate, export or fine-tune here (`tnet train --init-from`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use tnet_export::torch::{load_torch_state_dict, torch_layout};
use tnet_hourglass::Preset;
use tnet_train::checkpoint::{self, CheckpointMeta};
use tnet_train::config::TrainConfig;
use tnet_train::run::build_network;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ImportFormat {
    /// A safetensors state dict of xtask/yardstick/tnet_torch.py's network.
    Torch,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The state dict (.safetensors).
    input: PathBuf,
    #[arg(long, value_enum, default_value = "torch")]
    format: ImportFormat,
    /// The checkpoint to write.
    #[arg(long)]
    out: PathBuf,
    /// The preset whose input size, depth and block depth the network has (the stacks,
    /// features and ranks come from the tensors).
    #[arg(long, value_enum, default_value = "small")]
    preset: Preset,
    /// Any training config key for the checkpoint's configuration (data.dir=..., task=...).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let ImportFormat::Torch = args.format;
    let device = candle_core::Device::Cpu;
    let sd = candle_core::safetensors::load(&args.input, &device)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let layout = torch_layout(&sd).with_context(|| format!("{}", args.input.display()))?;
    let [stacks, _, _, _, features, _, _, _] = layout.tensor_shape;
    let mut overrides = vec![
        format!("model.preset=\"{}\"", args.preset),
        format!("model.stacks={stacks}"),
        format!("model.features={features}"),
    ];
    match layout.tucker_ranks {
        Some(r) => {
            overrides.push("model.param=\"tucker\"".into());
            overrides.push(format!("model.ranks={r:?}"));
        }
        None => overrides.push("model.param=\"dense\"".into()),
    }
    if layout.head_channels == tnet_data::helen::N_CLASSES {
        overrides.push("task=\"faceseg\"".into());
    }
    overrides.extend(args.set.iter().cloned());
    let cfg =
        TrainConfig::load_with(None, &overrides, true).context("the network's configuration")?;
    let net = build_network(&cfg, &device)?;
    if net.config().tensor_shape() != layout.tensor_shape {
        bail!(
            "{}: kernel tensor {:?}, but preset {} with these stacks and features has {:?} (pick the --preset the network was made with)",
            args.input.display(),
            layout.tensor_shape,
            args.preset,
            net.config().tensor_shape()
        );
    }
    load_torch_state_dict(&net, &sd).with_context(|| format!("{}", args.input.display()))?;
    checkpoint::save(&args.out, &net, None, &CheckpointMeta::fresh(&cfg))
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} ({} stack(s), {} features) from {}",
        args.out.display(),
        net.config().param,
        stacks,
        features,
        args.input.display()
    );
    Ok(())
}
