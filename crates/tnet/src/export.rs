//! `tnet export`: a trained checkpoint as an ONNX file (kernel tensor factorized by default).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use prost::Message;
use tnet_export::{OnnxOptions, onnx_model};
use tnet_train::model_io::load_model;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// The inference graph (onnxruntime, TensorRT, OpenVINO).
    Onnx,
    /// A safetensors state dict of the repository's PyTorch network.
    Torch,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A checkpoint of `tnet train` or `tnet compress` (best.safetensors, last.safetensors).
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long, value_enum, default_value = "onnx")]
    format: Format,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    /// Plain conv weights instead of the factorized kernel tensor (a larger file).
    #[arg(long)]
    dense: bool,
    /// ONNX opset (13 or later; ONNX only).
    #[arg(long, default_value_t = 17)]
    opset: i64,
    /// A fixed batch size, or `dynamic`.
    #[arg(long, default_value = "dynamic")]
    batch: String,
    /// Every stack's output (stack0, stack1, ..) instead of the last one (heatmaps).
    #[arg(long)]
    all_stacks: bool,
}

pub fn run(args: &ExportArgs) -> Result<()> {
    let batch = match args.batch.as_str() {
        "dynamic" => None,
        n => match n.parse::<usize>() {
            Ok(b) if b > 0 => Some(b),
            _ => bail!("--batch {n}: a positive number or `dynamic`"),
        },
    };
    let device = candle_core::Device::Cpu;
    let (net, _) = load_model(&args.checkpoint, &device)
        .with_context(|| format!("loading {}", args.checkpoint.display()))?;
    if args.format == Format::Torch {
        return write_torch(args, &net);
    }
    let opts = OnnxOptions {
        dense: args.dense,
        opset: args.opset,
        batch,
        all_stacks: args.all_stacks,
    };
    let model = onnx_model(&net, &opts)
        .with_context(|| format!("exporting {}", args.checkpoint.display()))?;
    let bytes = model.encode_to_vec();
    tnet_train::checkpoint::write_atomic(&args.out, &bytes)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} ({}), {} bytes; input `{}` (batch, 3, {s}, {s})",
        args.out.display(),
        net.config().param,
        if args.dense {
            "plain conv weights"
        } else {
            "kernel tensor factorized"
        },
        bytes.len(),
        tnet_export::INPUT,
        s = net.config().input_size,
    );
    Ok(())
}

fn write_torch(args: &ExportArgs, net: &tnet_hourglass::TNet) -> Result<()> {
    let sd = tnet_export::torch::torch_state_dict(net, args.dense)
        .with_context(|| format!("exporting {}", args.checkpoint.display()))?;
    candle_core::safetensors::save(&sd, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let kept = if sd.contains_key("tensor.core") {
        "Tucker core and factors"
    } else {
        "the dense kernel tensor (tensor.full)"
    };
    println!(
        "{}: {} tensors of the PyTorch network (xtask/yardstick/tnet_torch.py), {kept}",
        args.out.display(),
        sd.len()
    );
    Ok(())
}
