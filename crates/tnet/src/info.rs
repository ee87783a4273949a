//! `tnet info [--preset small|mpii] [--stacks ..] [--features ..] [--param ..] [--ranks ..|--rank R|--compression X] [--json]`

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::net_args::NetArgs;

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    net: NetArgs,
    /// One JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Info {
    tensor_shape: [usize; 8],
    tensor_params: usize,
    param_count: usize,
    compression_ratio: f64,
    other_params: usize,
    total_params: usize,
    forward_gflops: f64,
}

pub fn run(args: &InfoArgs) -> Result<()> {
    let cfg = args.net.config()?;
    let info = Info {
        tensor_shape: cfg.tensor_shape(),
        tensor_params: cfg.tensor_params(),
        param_count: cfg.param_count(),
        compression_ratio: cfg.compression_ratio(),
        other_params: cfg.other_params(),
        total_params: cfg.total_params(),
        forward_gflops: cfg.forward_flops() / 1e9,
    };
    if args.json {
        println!("{}", serde_json::to_string(&info)?);
        return Ok(());
    }
    println!(
        "kernel tensor        {:?} = {} entries",
        info.tensor_shape, info.tensor_params
    );
    println!("parametrization      {}", cfg.param);
    println!(
        "  its parameters     {} ({:.2}x compression of the tensor)",
        info.param_count, info.compression_ratio
    );
    println!(
        "other parameters     {} (stem, BatchNorm, 1x1 convs, heads)",
        info.other_params
    );
    println!("total parameters     {}", info.total_params);
    println!(
        "forward pass         {:.3} GFLOPs per {}x{} image",
        info.forward_gflops, cfg.input_size, cfg.input_size
    );
    Ok(())
}
