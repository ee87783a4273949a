//! The T-Net stacked hourglass (docs/model.md) on candle, its 3x3 `f -> f` kernels all cut
//! from one factorized 8th-order tensor (docs/model.md).

use std::sync::{Arc, Mutex};
use tnet_cpu::workers::on_pool_worker;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Result, Tensor, Var};
use tnet_factorized::init::{init_cp, init_tt, init_tucker, kaiming_std};
use tnet_factorized::{FactorizedTensor, PartScale};
use tnet_tensor::random::{SeededRng, random_normal};

use crate::batch_norm::{BatchNorm2d, SyncSlot};
use crate::config::{Head, HourglassConfig, Path, Resolved};
use crate::kernels::{KernelMode, Kernels};
use crate::layers::{Builder, Conv, ConvBnRelu, Exec};
use crate::params::{ParamStore, Role, kaiming_conv};
use crate::replicas::Collective;

/// Construction options beyond the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NetOptions {
    /// Seeds every initial value (our own generator: the same seed gives the same network on
    /// every machine and device).
    pub seed: u64,
    pub dtype: DType,
    /// Tucker tensor dropout probability per mode (all 0 = off).
    pub tensor_dropout: [f64; 8],
    /// Use the project's fast CPU kernels (conv, fused BatchNorm) for f32 CPU tensors; off runs
    /// candle's own ops (the reference).
    pub cpu_kernels: bool,
    /// Standard deviation of the heads' 1x1 conv weights; `None` keeps the
    /// Kaiming-normal init.
    pub head_init_std: Option<f64>,
    /// Mixed precision: every convolution runs in this dtype (bf16 / f16 on a GPU) on inputs
    /// and weights cast from `dtype`, its output cast back; parameters, BatchNorm, losses and
    /// gradients stay in `dtype`. `None` runs everything in `dtype`.
    pub conv_dtype: Option<DType>,
}

impl Default for NetOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            dtype: DType::F32,
            tensor_dropout: [0.0; 8],
            cpu_kernels: true,
            head_init_std: None,
            conv_dtype: None,
        }
    }
}

/// The BatchNorms of one basic block (its convs come from the tensor).
#[derive(Debug, Clone)]
struct Block {
    bns: Vec<BatchNorm2d>,
    /// Flat layer index of each conv in the kernel tensor.
    layers: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Level {
    skip: Block,
    down: Block,
    up: Block,
}

#[derive(Debug, Clone)]
struct Stack {
    /// `levels[n - 1]` is level `n`.
    levels: Vec<Level>,
    feat: ConvBnRelu,
    head: Conv,
    /// `(conv1x1 f -> f, conv1x1 K -> f)` for every stack but the last.
    merge: Option<(Conv, Conv)>,
}

impl Stack {
    /// Stack `s`'s hourglass BatchNorms, feature conv, head and (but for the last stack) the
    /// merge convs, under `b`'s prefix (`stack.{s}`).
    fn build(b: &mut Builder, cfg: &HourglassConfig, s: usize, opts: &NetOptions) -> Result<Self> {
        let f = cfg.features;
        let joints = cfg.head.channels();
        let levels = (1..=cfg.hg_depth)
            .map(|n| Level::build(&mut b.pp(format!("hg.level{n}")), cfg, s, n))
            .collect::<Result<Vec<_>>>()?;
        let feat = b.conv_bn("feat", (f, f), 1, 1)?;
        let head = b.conv("head", (f, joints), 1, 1, true)?;
        if let Some(std) = opts.head_init_std {
            // HRNet's choice for the final layer: small outputs at the start, so the first
            // steps learn where the joints are instead of shrinking the output.
            let w = (kaiming_conv(joints, f, 1, b.rng, b.dtype, b.device)?
                * (std / (2.0 / f as f64).sqrt()))?;
            let name = b.path("head.weight");
            b.store
                .get(&name)
                .ok_or_else(|| candle_core::Error::Msg(format!("no parameter {name}")))?
                .set(&w)?;
        }
        let merge = if s + 1 < cfg.n_stacks {
            Some((
                b.conv("merge_feat", (f, f), 1, 1, true)?,
                b.conv("merge_heat", (joints, f), 1, 1, true)?,
            ))
        } else {
            None
        };
        Ok(Stack {
            levels,
            feat,
            head,
            merge,
        })
    }
}

impl Level {
    /// Level `n` of stack `s`: the BatchNorms of its three pathways' blocks.
    fn build(b: &mut Builder, cfg: &HourglassConfig, s: usize, n: usize) -> Result<Self> {
        let mut block = |path: Path, name: &str| -> Result<Block> {
            let mut b = b.pp(name);
            Ok(Block {
                bns: (0..cfg.b_depth)
                    .map(|i| b.batch_norm(&format!("bn{i}"), cfg.features))
                    .collect::<Result<_>>()?,
                layers: (0..cfg.b_depth)
                    .map(|i| cfg.flat_layer(s, n, path, i))
                    .collect(),
            })
        };
        Ok(Level {
            skip: block(Path::Skip, "skip")?,
            down: block(Path::Down, "down")?,
            up: block(Path::Up, "up")?,
        })
    }
}

/// The network and its named parameters.
#[derive(Debug)]
pub struct TNet {
    cfg: HourglassConfig,
    store: ParamStore,
    tensor: FactorizedTensor,
    stem: [ConvBnRelu; 3],
    stacks: Vec<Stack>,
    dropout: [f64; 8],
    dropout_rng: Mutex<SeededRng>,
    ex: Exec,
    bn_sync: SyncSlot,
}

impl TNet {
    /// A freshly initialized network (Kaiming-normal convs, reconstructed kernels with
    /// Kaiming std exactly, BN gamma 1 / beta 0).
    pub fn new(cfg: &HourglassConfig, opts: &NetOptions, device: &Device) -> Result<Self> {
        let tensor = init_tensor(cfg, opts.seed, opts.dtype, device)?;
        Self::with_tensor(cfg, tensor, opts, device)
    }

    /// A network whose kernel tensor is `tensor` (for example a decomposition of a trained dense
    /// network's kernels); everything else initialized as in [`TNet::new`].
    pub fn with_tensor(
        cfg: &HourglassConfig,
        tensor: FactorizedTensor,
        opts: &NetOptions,
        device: &Device,
    ) -> Result<Self> {
        let shape = cfg.tensor_shape();
        if tensor.shape()? != shape {
            candle_core::bail!(
                "kernel tensor of shape {:?} for a network needing {shape:?}",
                tensor.shape()?
            );
        }
        if opts.tensor_dropout.iter().any(|&p| p > 0.0) {
            if !matches!(tensor, FactorizedTensor::Tucker { .. }) {
                candle_core::bail!("tensor dropout needs the Tucker parametrization");
            }
            if let Some(p) = opts
                .tensor_dropout
                .iter()
                .find(|p| !(0.0..1.0).contains(*p))
            {
                candle_core::bail!("tensor dropout probability {p} is not in [0, 1)");
            }
        }
        let mut rng = SeededRng::new(opts.seed ^ 0x5eed_c0de);
        let mut store = ParamStore::new();
        for (name, v) in tensor.named_vars() {
            store.insert_var(format!("tensor.{name}"), &v, Role::Trainable)?;
        }
        let mut b = Builder::new(&mut store, &mut rng, opts.dtype, device);
        let bn_sync = b.bn_sync.clone();
        let (f, k) = (cfg.features, cfg.kernel);
        let stem = [
            b.conv_bn("stem.0", (3, f / 2), 7, 2)?,
            b.conv_bn("stem.1", (f / 2, f), k, 1)?,
            b.conv_bn("stem.2", (f, f), k, 1)?,
        ];
        let stacks = (0..cfg.n_stacks)
            .map(|s| Stack::build(&mut b.pp(format!("stack.{s}")), cfg, s, opts))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            cfg: cfg.clone(),
            store,
            tensor,
            stem,
            stacks,
            dropout: opts.tensor_dropout,
            dropout_rng: Mutex::new(SeededRng::new(opts.seed ^ 0x0d20_f0a7)),
            ex: Exec {
                fast: opts.cpu_kernels,
                half: opts.conv_dtype,
            },
            bn_sync,
        })
    }

    /// Synchronized BatchNorm: in training, every BatchNorm normalizes over the global batch
    /// of `group` (its statistics summed over the members, forward and backward); `None` goes
    /// back to each replica's own batch. Runs candle's BatchNorm ops instead of the fused CPU
    /// kernel while set.
    pub fn sync_batch_norm(&self, group: Option<Arc<dyn Collective>>) {
        if let Ok(mut slot) = self.bn_sync.write() {
            *slot = group;
        }
    }

    /// Restarts the tensor-dropout generator from `seed` (the trainer reseeds it every step,
    /// so a resumed run draws the same masks as an uninterrupted one).
    pub fn reseed_dropout(&self, seed: u64) {
        if let Ok(mut rng) = self.dropout_rng.lock() {
            *rng = SeededRng::new(seed);
        }
    }

    pub fn config(&self) -> &HourglassConfig {
        &self.cfg
    }

    /// The named parameters and buffers.
    pub fn params(&self) -> &ParamStore {
        &self.store
    }

    /// The factorized kernel tensor.
    pub fn tensor(&self) -> &FactorizedTensor {
        &self.tensor
    }

    /// The trainable variables (as [`ParamStore::trainable_owned`]) with the multipliers of
    /// their learning rate and weight decay: the kernel tensor's parts scaled so that the
    /// reconstruction moves as a dense kernel would ([`FactorizedTensor::part_scales`]), every
    /// other parameter at the base rate.
    pub fn trainable_with_scales(&self) -> Result<Vec<(String, Var, PartScale)>> {
        let std = kaiming_std(self.cfg.features, self.cfg.kernel, self.cfg.kernel);
        let by_name: std::collections::HashMap<String, PartScale> = self
            .tensor
            .named_vars()
            .into_iter()
            .map(|(name, _)| format!("tensor.{name}"))
            .zip(self.tensor.part_scales(std)?)
            .collect();
        Ok(self
            .store
            .trainable_owned()
            .into_iter()
            .map(|(name, v)| {
                let scale = by_name.get(&name).copied().unwrap_or(PartScale::ONE);
                (name, v, scale)
            })
            .collect())
    }

    /// Reconstructs the kernel tensor once (with tensor dropout when `mode` is a training mode)
    /// and cuts it into the per-layer kernels.
    pub fn kernels(&self, mode: KernelMode) -> Result<Kernels> {
        let train = mode != KernelMode::Eval;
        let full = if train && self.dropout.iter().any(|&p| p > 0.0) {
            let mut rng = self
                .dropout_rng
                .lock()
                .map_err(|_| candle_core::Error::Msg("dropout generator poisoned".into()))?;
            self.tensor
                .to_tensor_dropout(&self.dropout, true, &mut rng)?
        } else {
            self.tensor.to_tensor()?
        };
        Kernels::new(full, self.cfg.layer_count(), mode)
    }

    /// One output per stack: `(B, K, S/4, S/4)` heatmaps for pose, `(B, C, S, S)` logits for
    /// segmentation. Reconstructs the kernels (use [`TNet::forward_with`] to reuse them).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>> {
        let mode = if train {
            KernelMode::Attached
        } else {
            KernelMode::Eval
        };
        self.forward_with(&self.kernels(mode)?, x, train)
    }

    /// The forward pass with given kernels. On the CPU it runs on a worker of rayon's pool
    /// ([`tnet_cpu::workers`]), unless BatchNorm is synchronized across replicas.
    pub fn forward_with(&self, kernels: &Kernels, x: &Tensor, train: bool) -> Result<Vec<Tensor>> {
        self.on_workers(x.device(), || self.forward_here(kernels, x, train))
    }

    /// Runs `f` on a worker of rayon's pool when the work is on the CPU
    /// ([`tnet_cpu::workers`]), except while BatchNorm is synchronized with other replicas: its
    /// collectives block, and a blocked worker can hold up the very replica it waits for (a
    /// worker waiting on a fork may have taken that replica's job onto its own stack).
    fn on_workers<R: Send>(&self, device: &Device, f: impl FnOnce() -> R + Send) -> R {
        let synced = self.bn_sync.read().map_or(true, |g| g.is_some());
        if device.is_cpu() && !synced {
            on_pool_worker(f)
        } else {
            f()
        }
    }

    fn forward_here(&self, kernels: &Kernels, x: &Tensor, train: bool) -> Result<Vec<Tensor>> {
        let s = self.cfg.input_size;
        let dims = x.dims();
        if dims.len() != 4 || dims[1] != 3 || dims[2] != s || dims[3] != s {
            candle_core::bail!("input of shape {dims:?}, expected (batch, 3, {s}, {s})");
        }
        if kernels.len() != self.cfg.layer_count() {
            candle_core::bail!(
                "{} kernels for a network with {} tensorized layers",
                kernels.len(),
                self.cfg.layer_count()
            );
        }
        let mut h = self.stem[0].forward_t(x, train, self.ex)?;
        h = self.stem[1].forward_t(&h, train, self.ex)?;
        h = self.pool(&h)?;
        h = self.stem[2].forward_t(&h, train, self.ex)?;
        let mut outputs = Vec::with_capacity(self.stacks.len());
        for stack in &self.stacks {
            let hg = self.hourglass(stack, self.cfg.hg_depth, &h, kernels, train)?;
            let feat = stack.feat.forward_t(&hg, train, self.ex)?;
            let heat = stack.head.forward(&feat, self.ex)?;
            if let Some((mf, mh)) = &stack.merge {
                h = ((h + mf.forward(&feat, self.ex)?)? + mh.forward(&heat, self.ex)?)?;
            }
            outputs.push(match self.cfg.head {
                Head::Pose { .. } => heat,
                Head::Segmentation { .. } => self.upsample(&self.upsample(&heat)?)?,
            });
        }
        Ok(outputs)
    }

    fn hourglass(
        &self,
        stack: &Stack,
        n: usize,
        x: &Tensor,
        k: &Kernels,
        train: bool,
    ) -> Result<Tensor> {
        let level = &stack.levels[n - 1];
        let up = self.block(&level.skip, x, k, train)?;
        let mut low = self.block(&level.down, &self.pool(x)?, k, train)?;
        if n > 1 {
            low = self.hourglass(stack, n - 1, &low, k, train)?;
        }
        low = self.block(&level.up, &low, k, train)?;
        up + self.upsample(&low)?
    }

    /// Pooling and upsampling use the project's ops on the CPU in both modes: candle 0.11's
    /// max-pool backward does not route each window's gradient to its maximum (checked by hand
    /// in tests/cpu_ops.rs), and the broadcast upsampling is the reference elsewhere.
    fn pool(&self, x: &Tensor) -> Result<Tensor> {
        crate::cpu::max_pool2(x)
    }

    fn upsample(&self, x: &Tensor) -> Result<Tensor> {
        crate::cpu::upsample2(x)
    }

    fn block(&self, block: &Block, x: &Tensor, k: &Kernels, train: bool) -> Result<Tensor> {
        let last = block.bns.len() - 1;
        let mut y = x.clone();
        for (i, (bn, &l)) in block.bns.iter().zip(&block.layers).enumerate() {
            y = self.ex.conv(&y, k.get(l), 1, 1)?;
            // Every conv is followed by BN; the last one adds the shortcut before its ReLU.
            let residual = if i == last { Some(x) } else { None };
            y = bn.forward_act(&y, residual, true, train, self.ex.fast)?;
        }
        Ok(y)
    }

    /// `loss.backward()` completed with the gradients of the tensor's parts when `kernels` came
    /// from [`KernelMode::Split`]. The store is keyed by the trainable variables.
    /// On the CPU it runs on a worker of rayon's pool ([`tnet_cpu::workers`]), unless
    /// BatchNorm is synchronized across replicas.
    pub fn backward(&self, kernels: &Kernels, loss: &Tensor) -> Result<GradStore> {
        let here = || {
            let mut grads = loss.backward()?;
            self.finish_backward(kernels, &mut grads)?;
            Ok(grads)
        };
        self.on_workers(loss.device(), here)
    }

    /// The second half of [`TNet::backward`]: replaces the per-layer kernel gradients in
    /// `grads` (from `loss.backward()`) by the gradients of the tensor's parts.
    pub fn finish_backward(&self, kernels: &Kernels, grads: &mut GradStore) -> Result<()> {
        let parts: Vec<Var> = self
            .tensor
            .named_vars()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        kernels.finish_backward(grads, &parts)
    }
}

/// The initialization of the kernel tensor in the configured parametrization.
pub fn init_tensor(
    cfg: &HourglassConfig,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> Result<FactorizedTensor> {
    let shape = cfg.tensor_shape();
    let std = kaiming_std(cfg.features, cfg.kernel, cfg.kernel);
    if !cfg.param.per_layer() {
        return init_form(&shape, &cfg.param, std, seed, dtype, device);
    }
    // The layer-by-layer baseline: each kernel drawn on its own, to the Kaiming std exactly.
    let slices = (0..cfg.layer_count())
        .map(|l| {
            let seed = seed ^ (l as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            init_form(&cfg.layer_shape(), &cfg.param, std, seed, dtype, device)
        })
        .collect::<Result<Vec<_>>>()?;
    FactorizedTensor::slices(shape[..4].to_vec(), slices)
}

/// One tensor of `shape` in the form (dense, Tucker, CP or TT) of `param`, whole or per layer.
fn init_form(
    shape: &[usize],
    param: &Resolved,
    std: f64,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> Result<FactorizedTensor> {
    // The whole-tensor and per-layer forms hold their ranks in different types.
    let tucker = |ranks: &[usize]| {
        let (core, factors) = init_tucker(shape, ranks, std, seed);
        FactorizedTensor::tucker_parts(core, factors, dtype, device)
    };
    let tt = |ranks: &[usize]| {
        FactorizedTensor::tt_parts(init_tt(shape, ranks, std, seed), dtype, device)
    };
    match param {
        Resolved::Dense => {
            let mut rng = SeededRng::new(seed);
            let mut full = random_normal::<f64>(shape, &mut rng);
            full.mapv_inplace(|v| v * std);
            FactorizedTensor::dense(&full, dtype, device)
        }
        Resolved::Tucker { ranks } => tucker(ranks),
        Resolved::LayerTucker { ranks } => tucker(ranks),
        Resolved::Cp { rank } | Resolved::LayerCp { rank } => {
            let (w, factors) = init_cp(shape, *rank, std, seed);
            FactorizedTensor::cp_parts(w, factors, dtype, device)
        }
        Resolved::Tt { ranks } => tt(ranks),
        Resolved::LayerTt { ranks } => tt(ranks),
    }
}
