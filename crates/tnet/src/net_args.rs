//! The network options shared by `info`, `bench-step` and `check-device`.

use anyhow::{Context, Result};
use clap::Args;
use tnet_hourglass::{HourglassConfig, ParamName, Parametrization, Preset, RankSpec};

#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Network preset: small (1 stack, 32 features, input 128) or mpii (2 stacks, 128, 256).
    #[arg(long, value_enum, default_value = "small")]
    pub preset: Preset,
    /// Override the number of stacks.
    #[arg(long)]
    pub stacks: Option<usize>,
    /// Override the number of features.
    #[arg(long)]
    pub features: Option<usize>,
    /// Parametrization of the kernel tensor (layer-*: the layer-by-layer baseline, each 3x3
    /// kernel its own tensor).
    #[arg(long, value_enum, default_value = "dense")]
    pub param: ParamName,
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
        let base = HourglassConfig::preset(args.preset)?;
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
        let spec = RankSpec {
            ranks: args.ranks.clone(),
            rank: args.rank,
            compression: args.compression,
        };
        let param = args
            .param
            .parametrization(&spec, &cfg)
            .context("--param with --ranks / --rank / --compression")?;
        let cfg = cfg.with_param(param).context("parametrization")?;
        Ok(cfg)
    }
}
