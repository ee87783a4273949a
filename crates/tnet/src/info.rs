//! `tnet info [--preset small|mpii] [--stacks ..] [--features ..] [--param ..] [--ranks ..|--rank R|--compression X] [--json]`

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use tnet_hourglass::{HourglassConfig, Parametrization, Preset};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PresetArg {
    Small,
    Mpii,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ParamArg {
    Dense,
    Tucker,
    Cp,
    Tt,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Network preset: small (1 stack, 32 features, input 128) or mpii (2 stacks, 128, 256).
    #[arg(long, value_enum, default_value = "small")]
    preset: PresetArg,
    /// Override the number of stacks.
    #[arg(long)]
    stacks: Option<usize>,
    /// Override the number of features.
    #[arg(long)]
    features: Option<usize>,
    /// Parametrization of the kernel tensor.
    #[arg(long, value_enum, default_value = "dense")]
    param: ParamArg,
    /// Tucker: 8 ranks; TT: 9 ranks (1, r1, .., r7, 1).
    #[arg(long, value_delimiter = ',')]
    ranks: Option<Vec<usize>>,
    /// CP rank (or one TT rank for every inner bond).
    #[arg(long)]
    rank: Option<usize>,
    /// Tucker: ranks giving at least this compression of the tensor.
    #[arg(long)]
    compression: Option<f64>,
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
    let base = HourglassConfig::preset(match args.preset {
        PresetArg::Small => Preset::Small,
        PresetArg::Mpii => Preset::Mpii,
    })?;
    let cfg = HourglassConfig::new(
        args.stacks.unwrap_or(base.n_stacks),
        base.hg_depth,
        base.b_depth,
        args.features.unwrap_or(base.features),
        base.head,
        base.input_size,
        Parametrization::Dense,
    )
    .context("network configuration")?;
    let param = match (args.param, &args.ranks, args.rank, args.compression) {
        (ParamArg::Dense, None, None, None) => Parametrization::Dense,
        (ParamArg::Dense, ..) => {
            bail!("--ranks, --rank and --compression do not apply to --param dense")
        }
        (ParamArg::Tucker, Some(r), None, None) => Parametrization::Tucker(r.clone()),
        (ParamArg::Tucker, None, None, Some(c)) => Parametrization::TuckerCompression(c),
        (ParamArg::Tucker, ..) => {
            bail!("--param tucker needs exactly one of --ranks r1,..,r8 or --compression X")
        }
        (ParamArg::Cp, None, Some(r), None) => Parametrization::Cp(r),
        (ParamArg::Cp, ..) => bail!("--param cp needs --rank R"),
        (ParamArg::Tt, Some(r), None, None) => Parametrization::Tt(r.clone()),
        (ParamArg::Tt, None, Some(r), None) => {
            Parametrization::Tt([vec![1], vec![r; 7], vec![1]].concat())
        }
        (ParamArg::Tt, ..) => bail!("--param tt needs --ranks 1,r1,..,r7,1 or --rank R"),
    };
    let cfg = cfg.with_param(param).context("parametrization")?;
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
    println!("parametrization      {:?}", cfg.param);
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
