//! The network options shared by `info`, `bench-step` and `check-device`.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use tnet_hourglass::{HourglassConfig, LayerKind, Parametrization, Preset};
use tnet_train::config::Precision;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PresetArg {
    Small,
    Mpii,
}

/// `--precision`: the convolutions' dtype.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PrecisionArg {
    F32,
    Bf16,
    F16,
}

impl PrecisionArg {
    /// The trainer's precision (which knows the dtype and what the CPU refuses).
    pub fn precision(self) -> Precision {
        match self {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::Bf16 => Precision::Bf16,
            PrecisionArg::F16 => Precision::F16,
        }
    }

    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string())
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ParamArg {
    Dense,
    Tucker,
    Cp,
    Tt,
    /// Layer-by-layer baseline: each 3x3 kernel its own Tucker tensor.
    LayerTucker,
    LayerCp,
    LayerTt,
}

#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Network preset: small (1 stack, 32 features, input 128) or mpii (2 stacks, 128, 256).
    #[arg(long, value_enum, default_value = "small")]
    pub preset: PresetArg,
    /// Override the number of stacks.
    #[arg(long)]
    pub stacks: Option<usize>,
    /// Override the number of features.
    #[arg(long)]
    pub features: Option<usize>,
    /// Parametrization of the kernel tensor.
    #[arg(long, value_enum, default_value = "dense")]
    pub param: ParamArg,
    /// Tucker: 8 ranks; TT: 9 ranks (1, r1, .., r7, 1); layer-tucker: 4; layer-tt: 5.
    #[arg(long, value_delimiter = ',')]
    pub ranks: Option<Vec<usize>>,
    /// CP rank (or one TT rank for every inner bond).
    #[arg(long)]
    pub rank: Option<usize>,
    /// Ranks giving at least this compression of the tensor (any parametrization but dense).
    #[arg(long)]
    pub compression: Option<f64>,
}

impl NetArgs {
    /// The checked configuration these options describe.
    pub fn config(&self) -> Result<HourglassConfig> {
        let args = self;
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
            (ParamArg::Cp, None, None, Some(c)) => Parametrization::CpCompression(c),
            (ParamArg::Cp, ..) => {
                bail!("--param cp needs exactly one of --rank R or --compression X")
            }
            (ParamArg::Tt, Some(r), None, None) => Parametrization::Tt(r.clone()),
            (ParamArg::Tt, None, Some(r), None) => Parametrization::Tt(cfg.tt_uniform_ranks(r)),
            (ParamArg::Tt, None, None, Some(c)) => Parametrization::TtCompression(c),
            (ParamArg::Tt, ..) => {
                bail!(
                    "--param tt needs exactly one of --ranks 1,r1,..,r7,1, --rank R or --compression X"
                )
            }
            (ParamArg::LayerTucker, Some(r), None, None) => Parametrization::LayerTucker(r.clone()),
            (ParamArg::LayerCp, None, Some(r), None) => Parametrization::LayerCp(r),
            (ParamArg::LayerTt, Some(r), None, None) => Parametrization::LayerTt(r.clone()),
            (ParamArg::LayerTt, None, Some(r), None) => {
                Parametrization::LayerTt(cfg.layer_tt_uniform_ranks(r))
            }
            (ParamArg::LayerTucker, None, None, Some(c)) => {
                Parametrization::LayerCompression(LayerKind::Tucker, c)
            }
            (ParamArg::LayerCp, None, None, Some(c)) => {
                Parametrization::LayerCompression(LayerKind::Cp, c)
            }
            (ParamArg::LayerTt, None, None, Some(c)) => {
                Parametrization::LayerCompression(LayerKind::Tt, c)
            }
            (ParamArg::LayerTucker | ParamArg::LayerCp | ParamArg::LayerTt, ..) => bail!(
                "--param layer-* needs exactly one of --compression X, --ranks (layer-tucker: 4, layer-tt: 1,r1,r2,r3,1) or --rank R (layer-cp, layer-tt)"
            ),
        };
        let cfg = cfg.with_param(param).context("parametrization")?;
        Ok(cfg)
    }
}
