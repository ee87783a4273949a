use serde::Serialize;
use thiserror::Error;

use crate::budget;
use crate::names::Preset;

/// A configuration that cannot build a network, with what is allowed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    #[error("{what} must be at least 1, got {got}")]
    Zero { what: &'static str, got: usize },
    #[error("features must be even (the stem's first conv has features / 2 channels), got {0}")]
    OddFeatures(usize),
    #[error("input size {size} must be divisible by 4 * 2^depth = {multiple} (depth {depth})")]
    InputSize {
        size: usize,
        depth: usize,
        multiple: usize,
    },
    #[error("rank {rank} of mode {mode} ({name}) is invalid: {allowed}")]
    Rank {
        mode: usize,
        name: &'static str,
        rank: usize,
        allowed: String,
    },
    #[error("{what} needs {expected} ranks, got {got}")]
    RankCount {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{0}")]
    Spec(String),
    #[error("compression {0} cannot be reached: {1}")]
    Compression(f64, String),
    #[error("{what} is {got}, above the largest this implementation takes ({most})")]
    TooLarge {
        what: &'static str,
        got: usize,
        most: usize,
    },
}

/// Size ceilings: far beyond any network that fits in memory, and low enough that every count
/// of parameters, entries and FLOPs stays exact in a `usize`.
pub const MAX_STACKS: usize = 64;
pub const MAX_DEPTH: usize = 16;
pub const MAX_BLOCK_DEPTH: usize = 64;
pub const MAX_FEATURES: usize = 1 << 16;
pub const MAX_INPUT_SIZE: usize = 1 << 16;

/// The three pathways of each hourglass level, in the tensor's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Skip = 0,
    Down = 1,
    Up = 2,
}

/// Output head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Head {
    /// `joints` heatmaps at a quarter of the input resolution.
    Pose { joints: usize },
    /// `classes` logits upsampled to the input resolution.
    Segmentation { classes: usize },
}

impl Head {
    pub fn channels(&self) -> usize {
        match *self {
            Head::Pose { joints } => joints,
            Head::Segmentation { classes } => classes,
        }
    }
}

/// How the kernel tensor is parametrized, as asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Parametrization {
    Dense,
    /// Tucker with one rank per mode (8).
    Tucker(Vec<usize>),
    /// Tucker with ranks giving at least this compression of the tensor.
    TuckerCompression(f64),
    /// CP of this rank (weights counted).
    Cp(usize),
    /// Tensor train with the 9 ranks `(1, r1, .., r7, 1)`.
    Tt(Vec<usize>),
    /// CP with the largest rank within the compression.
    CpCompression(f64),
    /// Tensor train with the largest uniform rank (clamped) within the compression.
    TtCompression(f64),
    /// The layer-by-layer baseline: every 3x3 kernel `(f_out, f_in, h, w)` its own Tucker
    /// tensor with these 4 ranks.
    LayerTucker(Vec<usize>),
    /// Every kernel its own CP tensor of this rank.
    LayerCp(usize),
    /// Every kernel its own tensor train with the 5 ranks `(1, r1, r2, r3, 1)`.
    LayerTt(Vec<usize>),
    /// Every kernel its own tensor of this kind, ranks giving at least this compression of each
    /// kernel (so of the whole tensor).
    LayerCompression(LayerKind, f64),
}

/// The decomposition of each kernel in the layer-by-layer baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LayerKind {
    Tucker,
    Cp,
    Tt,
}

/// The parametrization with its ranks settled and checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Resolved {
    Dense,
    Tucker {
        ranks: [usize; 8],
    },
    Cp {
        rank: usize,
    },
    Tt {
        ranks: [usize; 9],
    },
    /// One Tucker tensor per kernel, ranks of `(f_out, f_in, h, w)`.
    LayerTucker {
        ranks: [usize; 4],
    },
    LayerCp {
        rank: usize,
    },
    LayerTt {
        ranks: [usize; 5],
    },
}

impl Resolved {
    /// The kind of parametrization, without its ranks.
    pub fn name(&self) -> crate::ParamName {
        use crate::ParamName as P;
        match self {
            Resolved::Dense => P::Dense,
            Resolved::Tucker { .. } => P::Tucker,
            Resolved::Cp { .. } => P::Cp,
            Resolved::Tt { .. } => P::Tt,
            Resolved::LayerTucker { .. } => P::LayerTucker,
            Resolved::LayerCp { .. } => P::LayerCp,
            Resolved::LayerTt { .. } => P::LayerTt,
        }
    }

    /// Whether the kernels are factorized one by one (the layer-by-layer baseline) instead of
    /// as one tensor.
    pub fn per_layer(&self) -> bool {
        matches!(
            self,
            Resolved::LayerTucker { .. } | Resolved::LayerCp { .. } | Resolved::LayerTt { .. }
        )
    }
}

/// Names of the 8 tensor modes.
pub const MODE_NAMES: [&str; 8] = [
    "stacks", "depth", "pathways", "b_depth", "f_out", "f_in", "h", "w",
];

/// Everything that sizes the network (docs/model.md).
#[derive(Debug, Clone, PartialEq)]
pub struct HourglassConfig {
    pub n_stacks: usize,
    pub hg_depth: usize,
    pub b_depth: usize,
    pub features: usize,
    /// Kernel height and width of the tensorized convs (3 x 3).
    pub kernel: usize,
    pub head: Head,
    pub input_size: usize,
    pub param: Resolved,
}

impl HourglassConfig {
    /// A checked configuration.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n_stacks: usize,
        hg_depth: usize,
        b_depth: usize,
        features: usize,
        head: Head,
        input_size: usize,
        param: Parametrization,
    ) -> Result<Self, ConfigError> {
        for (what, got) in [
            ("n_stacks", n_stacks),
            ("hg_depth", hg_depth),
            ("b_depth", b_depth),
            ("features", features),
        ] {
            if got == 0 {
                return Err(ConfigError::Zero { what, got });
            }
        }
        if head.channels() == 0 {
            return Err(ConfigError::Zero {
                what: "the number of joints / classes",
                got: 0,
            });
        }
        if features % 2 == 1 {
            return Err(ConfigError::OddFeatures(features));
        }
        for (what, got, most) in [
            ("n_stacks", n_stacks, MAX_STACKS),
            ("hg_depth", hg_depth, MAX_DEPTH),
            ("b_depth", b_depth, MAX_BLOCK_DEPTH),
            ("features", features, MAX_FEATURES),
            ("input_size", input_size, MAX_INPUT_SIZE),
            (
                "the number of joints / classes",
                head.channels(),
                MAX_FEATURES,
            ),
        ] {
            if got > most {
                return Err(ConfigError::TooLarge { what, got, most });
            }
        }
        let multiple = 4usize.checked_shl(hg_depth as u32).unwrap_or(usize::MAX);
        if input_size == 0 || !input_size.is_multiple_of(multiple) {
            return Err(ConfigError::InputSize {
                size: input_size,
                depth: hg_depth,
                multiple,
            });
        }
        let mut cfg = Self {
            n_stacks,
            hg_depth,
            b_depth,
            features,
            kernel: 3,
            head,
            input_size,
            param: Resolved::Dense,
        };
        cfg.param = cfg.resolve(param)?;
        Ok(cfg)
    }

    /// A preset with the dense parametrization.
    pub fn preset(p: Preset) -> Result<Self, ConfigError> {
        match p {
            Preset::Mpii => Self::new(
                2,
                4,
                2,
                128,
                Head::Pose { joints: 16 },
                256,
                Parametrization::Dense,
            ),
            Preset::Small => Self::new(
                1,
                4,
                2,
                32,
                Head::Pose { joints: 16 },
                128,
                Parametrization::Dense,
            ),
        }
    }

    /// The same network with another parametrization.
    pub fn with_param(&self, param: Parametrization) -> Result<Self, ConfigError> {
        let mut cfg = self.clone();
        cfg.param = cfg.resolve(param)?;
        Ok(cfg)
    }

    /// `(n_stacks, hg_depth, 3, b_depth, f, f, k, k)`.
    pub fn tensor_shape(&self) -> [usize; 8] {
        let f = self.features;
        [
            self.n_stacks,
            self.hg_depth,
            3,
            self.b_depth,
            f,
            f,
            self.kernel,
            self.kernel,
        ]
    }

    /// The index of conv `conv` of block `(level, path)` of stack `stack` in the tensor's first
    /// four modes (`W[s, n - 1, path, i]`, levels counted from 1).
    pub fn kernel_index(&self, stack: usize, level: usize, path: Path, conv: usize) -> [usize; 4] {
        assert!(
            stack < self.n_stacks && (1..=self.hg_depth).contains(&level) && conv < self.b_depth
        );
        [stack, level - 1, path as usize, conv]
    }

    /// `(f, f, k, k)`: the shape of one tensorized conv's kernel.
    pub fn layer_shape(&self) -> [usize; 4] {
        let f = self.features;
        [f, f, self.kernel, self.kernel]
    }

    /// TT ranks `(1, r, .., r, 1)` with each inner rank clamped to what the tensor allows there
    /// (`min(r, prod I_{<k}, prod I_{>=k})`, as TensorLy clamps).
    pub fn tt_uniform_ranks(&self, r: usize) -> Vec<usize> {
        tnet_tt::budget::uniform_ranks(&self.tensor_shape(), r)
    }

    /// The same for the 5 ranks of one kernel's tensor train (layer-by-layer baseline).
    pub fn layer_tt_uniform_ranks(&self, r: usize) -> Vec<usize> {
        tnet_tt::budget::uniform_ranks(&self.layer_shape(), r)
    }

    /// Number of tensorized convs (`n_stacks * hg_depth * 3 * b_depth`).
    pub fn layer_count(&self) -> usize {
        self.n_stacks * self.hg_depth * 3 * self.b_depth
    }

    /// The flat index of conv `conv` of block `(level, path)` of stack `stack` among the
    /// [`layer_count`](Self::layer_count) kernels: the C-order position of
    /// [`kernel_index`](Self::kernel_index) in the first four modes.
    pub fn flat_layer(&self, stack: usize, level: usize, path: Path, conv: usize) -> usize {
        let [s, n, p, i] = self.kernel_index(stack, level, path, conv);
        ((s * self.hg_depth + n) * 3 + p) * self.b_depth + i
    }

    fn resolve(&self, p: Parametrization) -> Result<Resolved, ConfigError> {
        let shape = self.tensor_shape();
        let check = |mode: usize, rank: usize, max: usize| -> Result<(), ConfigError> {
            if rank == 0 || rank > max {
                return Err(ConfigError::Rank {
                    mode,
                    name: MODE_NAMES.get(mode).copied().unwrap_or("boundary"),
                    rank,
                    allowed: format!("must be in 1..={max}"),
                });
            }
            Ok(())
        };
        Ok(match p {
            Parametrization::Dense => Resolved::Dense,
            Parametrization::Tucker(r) => {
                let ranks: [usize; 8] =
                    r.as_slice()
                        .try_into()
                        .map_err(|_| ConfigError::RankCount {
                            what: "a Tucker parametrization of the 8th-order tensor",
                            expected: 8,
                            got: r.len(),
                        })?;
                for (mode, (&rank, &size)) in ranks.iter().zip(&shape).enumerate() {
                    check(mode, rank, size)?;
                }
                Resolved::Tucker { ranks }
            }
            Parametrization::TuckerCompression(c) => {
                let r = tnet_tucker::ranks_for_compression(&shape, c)
                    .map_err(|e| ConfigError::Compression(c, e.to_string()))?;
                Resolved::Tucker {
                    ranks: r.try_into().expect("8 modes"),
                }
            }
            Parametrization::Cp(rank) => {
                if rank == 0 {
                    return Err(ConfigError::Rank {
                        mode: 0,
                        name: "cp",
                        rank,
                        allowed: "must be at least 1".into(),
                    });
                }
                Resolved::Cp { rank }
            }
            Parametrization::Tt(r) => {
                let ranks: [usize; 9] =
                    r.as_slice()
                        .try_into()
                        .map_err(|_| ConfigError::RankCount {
                            what: "a tensor train of the 8th-order tensor (1, r1, .., r7, 1)",
                            expected: 9,
                            got: r.len(),
                        })?;
                if ranks[0] != 1 || ranks[8] != 1 {
                    return Err(ConfigError::Rank {
                        mode: 0,
                        name: "boundary",
                        rank: if ranks[0] != 1 { ranks[0] } else { ranks[8] },
                        allowed: "the first and last TT ranks must be 1".into(),
                    });
                }
                for (k, &rank) in ranks.iter().enumerate().take(8).skip(1) {
                    check(k, rank, tnet_tt::budget::max_rank(&shape, k))?;
                }
                Resolved::Tt { ranks }
            }
            Parametrization::CpCompression(c) => Resolved::Cp {
                rank: tnet_cp::rank_for_compression(&shape, c)
                    .map_err(|e| ConfigError::Compression(c, e.to_string()))?,
            },
            Parametrization::TtCompression(c) => {
                let r = tnet_tt::ranks_for_compression(&shape, c)
                    .map_err(|e| ConfigError::Compression(c, e.to_string()))?;
                Resolved::Tt {
                    ranks: r.try_into().expect("9 ranks"),
                }
            }
            Parametrization::LayerTucker(r) => {
                let layer = self.layer_shape();
                let ranks: [usize; 4] =
                    r.as_slice()
                        .try_into()
                        .map_err(|_| ConfigError::RankCount {
                            what: "a per-layer Tucker kernel (f_out, f_in, h, w)",
                            expected: 4,
                            got: r.len(),
                        })?;
                for (k, (&rank, &size)) in ranks.iter().zip(&layer).enumerate() {
                    check(k + 4, rank, size)?;
                }
                Resolved::LayerTucker { ranks }
            }
            Parametrization::LayerCp(rank) => {
                if rank == 0 {
                    return Err(ConfigError::Rank {
                        mode: 0,
                        name: "cp",
                        rank,
                        allowed: "must be at least 1".into(),
                    });
                }
                Resolved::LayerCp { rank }
            }
            Parametrization::LayerTt(r) => {
                let layer = self.layer_shape();
                let ranks: [usize; 5] =
                    r.as_slice()
                        .try_into()
                        .map_err(|_| ConfigError::RankCount {
                            what: "a per-layer tensor train (1, r1, r2, r3, 1)",
                            expected: 5,
                            got: r.len(),
                        })?;
                if ranks[0] != 1 || ranks[4] != 1 {
                    return Err(ConfigError::Rank {
                        mode: 0,
                        name: "boundary",
                        rank: if ranks[0] != 1 { ranks[0] } else { ranks[4] },
                        allowed: "the first and last TT ranks must be 1".into(),
                    });
                }
                for (k, &rank) in ranks.iter().enumerate().take(4).skip(1) {
                    check(k + 4, rank, tnet_tt::budget::max_rank(&layer, k))?;
                }
                Resolved::LayerTt { ranks }
            }
            Parametrization::LayerCompression(kind, c) => {
                let layer = self.layer_shape();
                let err = |e: String| ConfigError::Compression(c, e);
                match kind {
                    LayerKind::Tucker => Resolved::LayerTucker {
                        ranks: budget::tucker2_ranks_for_compression(&layer, c).map_err(err)?,
                    },
                    LayerKind::Cp => Resolved::LayerCp {
                        rank: tnet_cp::rank_for_compression(&layer, c)
                            .map_err(|e| err(e.to_string()))?,
                    },
                    LayerKind::Tt => Resolved::LayerTt {
                        ranks: tnet_tt::ranks_for_compression(&layer, c)
                            .map_err(|e| err(e.to_string()))?
                            .try_into()
                            .expect("5 ranks"),
                    },
                }
            }
        })
    }

    /// Entries of the dense kernel tensor.
    pub fn tensor_params(&self) -> usize {
        self.tensor_shape().iter().product()
    }

    /// Parameters of the parametrization of the tensor (docs/model.md; CP counts its weights).
    pub fn param_count(&self) -> usize {
        let shape = self.tensor_shape();
        match &self.param {
            Resolved::Dense => self.tensor_params(),
            Resolved::Tucker { ranks } => tnet_tucker::tucker_params(&shape, ranks),
            Resolved::Cp { rank } => tnet_cp::cp_params(&shape, *rank),
            Resolved::Tt { ranks } => tnet_tt::tt_params(&shape, ranks),
            Resolved::LayerTucker { ranks } => {
                self.layer_count() * tnet_tucker::tucker_params(&self.layer_shape(), ranks)
            }
            Resolved::LayerCp { rank } => {
                self.layer_count() * tnet_cp::cp_params(&self.layer_shape(), *rank)
            }
            Resolved::LayerTt { ranks } => {
                self.layer_count() * tnet_tt::tt_params(&self.layer_shape(), ranks)
            }
        }
    }

    /// `tensor_params / param_count`.
    pub fn compression_ratio(&self) -> f64 {
        self.tensor_params() as f64 / self.param_count() as f64
    }

    /// Everything outside the tensor: stem, BatchNorm affine parameters, 1x1 convs and heads
    /// (running statistics are buffers, not parameters).
    pub fn other_params(&self) -> usize {
        let (f, k, h) = (self.features, self.kernel, self.head.channels());
        let half = f / 2;
        let stem = 3 * half * 49 + 2 * half + half * f * k * k + 2 * f + f * f * k * k + 2 * f;
        let hourglass_bn = self.hg_depth * 3 * self.b_depth * 2 * f;
        let per_stack = f * f + 2 * f + f * h + h;
        let merges = (f * f + f) + (h * f + f);
        stem + self.n_stacks * (hourglass_bn + per_stack) + (self.n_stacks - 1) * merges
    }

    pub fn total_params(&self) -> usize {
        self.param_count() + self.other_params()
    }

    /// About how many bytes training this network needs with batches of `batch` images in
    /// f32: parameters with their gradients and two optimizer moments, the reconstructed kernel
    /// tensor with its gradient and per-layer copies, and the activations kept for the backward
    /// pass (the stem at half and quarter resolution, each hourglass level's blocks at theirs).
    /// An estimate for refusing what cannot fit (`tnet_tensor::memory::check_fits`).
    pub fn training_bytes(&self, batch: usize) -> f64 {
        let params = self.param_count() as f64 + self.other_params() as f64;
        let kernels = self.tensor_params() as f64;
        let f = self.features as f64;
        let quarter = self.input_size as f64 / 4.0;
        let levels: f64 = (0..self.hg_depth)
            .map(|l| (quarter / 2f64.powi(l as i32)).powi(2))
            .sum();
        let per_image = f
            * (6.0 * (2.0 * quarter).powi(2)
                + self.n_stacks as f64
                    * (levels * 3.0 * self.b_depth as f64 * 4.0 + 8.0 * quarter * quarter));
        4.0 * (4.0 * params + 3.0 * kernels + batch as f64 * per_image)
    }

    /// FLOPs (2 per multiply-add) of one forward pass for one image: all convolutions, plus the
    /// reconstruction of the kernel tensor from its factors (done once per pass). BatchNorm,
    /// ReLU, pooling, additions and upsampling are not counted.
    pub fn forward_flops(&self) -> f64 {
        let (f, k, h) = (
            self.features as f64,
            self.kernel as f64,
            self.head.channels() as f64,
        );
        let s = self.input_size as f64;
        let conv =
            |cin: f64, cout: f64, ksz: f64, res: f64| 2.0 * cin * cout * ksz * ksz * res * res;
        let stem = conv(3.0, f / 2.0, 7.0, s / 2.0)
            + conv(f / 2.0, f, k, s / 2.0)
            + conv(f, f, k, s / 4.0);
        let block = |res: f64| self.b_depth as f64 * conv(f, f, k, res);
        let mut hourglass = 0.0;
        let mut res = s / 4.0;
        for _ in 0..self.hg_depth {
            hourglass += block(res) + 2.0 * block(res / 2.0); // skip at res; down and up at res / 2
            res /= 2.0;
        }
        let q = s / 4.0;
        let per_stack = conv(f, f, 1.0, q) + conv(f, h, 1.0, q);
        let merges = conv(f, f, 1.0, q) + conv(h, f, 1.0, q);
        let n = self.n_stacks as f64;
        stem + n * (hourglass + per_stack) + (n - 1.0) * merges + self.reconstruction_flops()
    }

    /// FLOPs of rebuilding the dense tensor from the parametrization (0 for dense).
    pub fn reconstruction_flops(&self) -> f64 {
        let shape = self.tensor_shape();
        let layer = self.layer_shape();
        let layers = self.layer_count() as f64;
        match &self.param {
            Resolved::Dense => 0.0,
            Resolved::Tucker { ranks } => tnet_tucker::tucker_flops(&shape, ranks),
            Resolved::Cp { rank } => tnet_cp::budget::cp_flops(&shape, *rank),
            Resolved::Tt { ranks } => tnet_tt::budget::tt_flops(&shape, ranks),
            Resolved::LayerTucker { ranks } => layers * tnet_tucker::tucker_flops(&layer, ranks),
            Resolved::LayerCp { rank } => layers * tnet_cp::budget::cp_flops(&layer, *rank),
            Resolved::LayerTt { ranks } => layers * tnet_tt::budget::tt_flops(&layer, ranks),
        }
    }
}

/// `dense`, `tucker ranks 1,4,3,2,32,32,3,3`, `cp rank 12`: the names configs and the command
/// line use, with the ranks as `--ranks` / `--rank` take them.
impl std::fmt::Display for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |r: &[usize]| {
            r.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let name = self.name();
        match self {
            Resolved::Dense => write!(f, "{name}"),
            Resolved::Cp { rank } | Resolved::LayerCp { rank } => write!(f, "{name} rank {rank}"),
            Resolved::Tucker { ranks } => write!(f, "{name} ranks {}", list(ranks)),
            Resolved::Tt { ranks } => write!(f, "{name} ranks {}", list(ranks)),
            Resolved::LayerTucker { ranks } => write!(f, "{name} ranks {}", list(ranks)),
            Resolved::LayerTt { ranks } => write!(f, "{name} ranks {}", list(ranks)),
        }
    }
}
