//! `tnet compress --checkpoint DENSE --param tucker --ranks ..|--compression X`: decompose a
//! trained dense network's kernel tensor into a factorized network ready for fine-tuning.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use tnet_hourglass::{HourglassConfig, ParamName, Parametrization, RankSpec};
use tnet_train::data::TaskData;
use tnet_train::eval::{ValidateOptions, Validation, validate};
use tnet_train::model_io::{CompressTo, compress, load_model, save_compressed};

use crate::device::parse_device;

#[derive(Debug, Args)]
pub struct CompressArgs {
    /// A dense run's checkpoint (RUN/best.safetensors) or the run folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// tucker, cp or tt.
    #[arg(long, value_enum)]
    param: ParamName,
    /// Tucker: 8 ranks; TT: 9 (1, r1, .., r7, 1).
    #[arg(long, value_delimiter = ',')]
    ranks: Option<Vec<usize>>,
    /// CP rank (or one TT rank for every inner bond, clamped).
    #[arg(long)]
    rank: Option<usize>,
    /// Ranks reaching at least this compression of the tensor.
    #[arg(long)]
    compression: Option<f64>,
    /// Output checkpoint (default: beside the input, compressed-<param>.safetensors).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the validation before fine-tuning.
    #[arg(long)]
    no_eval: bool,
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// What the dense tensor is decomposed into: `--param` with its ranks, sized by the network.
fn target(args: &CompressArgs, cfg: &HourglassConfig) -> Result<CompressTo> {
    let spec = RankSpec {
        ranks: args.ranks.clone(),
        rank: args.rank,
        compression: args.compression,
    };
    let shape = cfg.tensor_shape();
    let param = args
        .param
        .parametrization(&spec, cfg)
        .context("--param with --ranks / --rank / --compression")?;
    Ok(match param {
        Parametrization::Tucker(r) => CompressTo::Tucker(r),
        Parametrization::TuckerCompression(c) => CompressTo::TuckerCompression(c),
        Parametrization::Cp(r) => CompressTo::Cp(r),
        Parametrization::CpCompression(c) => CompressTo::Cp(
            tnet_cp::rank_for_compression(&shape, c).context("choosing the CP rank")?,
        ),
        Parametrization::Tt(r) => CompressTo::Tt(r),
        Parametrization::TtCompression(c) => CompressTo::Tt(
            tnet_tt::ranks_for_compression(&shape, c).context("choosing the TT ranks")?,
        ),
        _ => bail!(
            "--param {}: a dense network's tensor is compressed into tucker, cp or tt",
            args.param
        ),
    })
}

pub fn run(args: &CompressArgs) -> Result<()> {
    let device = parse_device(&args.device)?;
    let ckpt = if args.checkpoint.is_dir() {
        args.checkpoint.join("best.safetensors")
    } else {
        args.checkpoint.clone()
    };
    let (dense, meta) =
        load_model(&ckpt, &device).with_context(|| format!("loading {}", ckpt.display()))?;
    let to = target(args, dense.config())?;
    let (net, report) = compress(&dense, &meta, &to, &device).context("compressing")?;
    println!(
        "{}: {} -> {} parameters in the tensor ({:.2}x compression); relative error of the tensor {:.4}",
        net.config().param,
        report.tensor_params,
        report.param_count,
        report.compression_ratio,
        report.relative_error
    );
    let metric = if args.no_eval {
        None
    } else {
        let cfg = &report.config;
        let data = TaskData::load(cfg, false).context("validation data")?;
        let opts = ValidateOptions {
            batch: cfg.batch_size,
            limit: cfg.data.val_limit,
            flip: false,
            sigma: cfg.data.sigma,
            quiet: false,
        };
        let v = validate(&net, &data, &opts, &device)?;
        let dense = meta.metric.map_or("?".into(), |m| match &v {
            Validation::Pose(_) => format!("{m:.2} %"),
            Validation::Face(_) => format!("{:.2} %", 100.0 * m),
        });
        println!(
            "validation {} before fine-tuning (dense: {dense})",
            v.describe()
        );
        Some(v.metric())
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| ckpt.with_file_name(format!("compressed-{}.safetensors", args.param)));
    save_compressed(&out, &net, &report, metric)
        .with_context(|| format!("writing {}", out.display()))?;
    let m = &report.config.model;
    let rank_args = match (&m.ranks, m.rank) {
        (Some(r), _) => format!(
            "--ranks {}",
            r.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        (None, Some(r)) => format!("--rank {r}"),
        _ => String::new(),
    };
    println!(
        "wrote {}; fine-tune it with: tnet train --param {} {rank_args} --init-from {}",
        out.display(),
        m.param,
        out.display()
    );
    Ok(())
}
