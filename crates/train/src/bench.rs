//! The training-step benchmark: forward + backward + RMSprop update on a fixed random batch,
//! timed per phase (as the yardsticks time theirs).

use std::time::Instant;
use tnet_cpu::workers::on_pool_worker;

use candle_core::{Device, Result, Tensor};
use serde::Serialize;
use tnet_hourglass::loss::pose_loss;
use tnet_hourglass::{HourglassConfig, KernelMode, NetOptions, TNet};
use tnet_tensor::random::SeededRng;

use crate::optim::{Optimizer, OptimizerConfig};

/// Median / min / max of one phase, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

impl Spread {
    pub fn of(samples: &[f64]) -> Self {
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        };
        Self {
            median_ms: median,
            min_ms: v.first().copied().unwrap_or(f64::NAN),
            max_ms: v.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Result of [`bench_step`].
#[derive(Debug, Clone, Serialize)]
pub struct StepBench {
    pub step: Spread,
    /// Rebuilding the kernel tensor from its parts and cutting the layers.
    pub reconstruct: Spread,
    pub forward: Spread,
    pub backward: Spread,
    /// Pushing `dW` into the tensor's parts (concatenation + surrogate backward).
    pub tensor_backward: Spread,
    pub update: Spread,
    /// Effective GFLOP/s of the step (3 x forward FLOPs x batch / median time).
    pub gflops: f64,
    /// Effective GFLOP/s of the forward pass with the loss (forward FLOPs x batch / median).
    pub forward_gflops: f64,
    /// Effective GFLOP/s of the backward pass (2 x forward FLOPs x batch / median).
    pub backward_gflops: f64,
    pub loss_first: f64,
    pub loss_last: f64,
}

/// Times `steps` training steps after `warmup` untimed ones (`conv_dtype`: mixed precision).
pub fn bench_step(
    cfg: &HourglassConfig,
    batch: usize,
    steps: usize,
    warmup: usize,
    conv_dtype: Option<candle_core::DType>,
    device: &Device,
) -> Result<StepBench> {
    // As training does (`train_step`): the step's work on a worker of rayon's pool.
    let run = || -> Result<StepBench> {
        let opts = NetOptions {
            conv_dtype,
            ..NetOptions::default()
        };
        let net = TNet::new(cfg, &opts, device)?;
        let params = net.params().trainable_owned();
        let mut opt = Optimizer::new(OptimizerConfig::default(), params)?;
        let (x, target, weight) = random_pose_batch(cfg, batch, 0, device)?;
        let mut phases: [Vec<f64>; 6] = Default::default();
        let (mut first, mut last) = (f64::NAN, f64::NAN);
        for i in 0..warmup + steps {
            let t0 = Instant::now();
            let k = net.kernels(KernelMode::Split)?;
            sync(device)?;
            let t1 = Instant::now();
            let out = net.forward_with(&k, &x, true)?;
            let loss = pose_loss(&out, &target, &weight)?;
            let loss_v = loss.to_scalar::<f32>()? as f64;
            let t2 = Instant::now();
            let mut grads = loss.backward()?;
            sync(device)?;
            let t3 = Instant::now();
            net.finish_backward(&k, &mut grads)?;
            sync(device)?;
            let t4 = Instant::now();
            opt.step(&grads, 2.5e-4)?;
            sync(device)?;
            let t5 = Instant::now();
            if i == 0 {
                first = loss_v;
            }
            last = loss_v;
            if i >= warmup {
                let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
                phases[0].push(ms(t0, t5));
                phases[1].push(ms(t0, t1));
                phases[2].push(ms(t1, t2));
                phases[3].push(ms(t2, t3));
                phases[4].push(ms(t3, t4));
                phases[5].push(ms(t4, t5));
            }
        }
        let (step, forward, backward) = (
            Spread::of(&phases[0]),
            Spread::of(&phases[2]),
            Spread::of(&phases[3]),
        );
        let flops = cfg.forward_flops() * batch as f64;
        Ok(StepBench {
            step,
            reconstruct: Spread::of(&phases[1]),
            forward,
            backward,
            tensor_backward: Spread::of(&phases[4]),
            update: Spread::of(&phases[5]),
            gflops: 3.0 * flops / step.median_ms / 1e6,
            forward_gflops: flops / forward.median_ms / 1e6,
            backward_gflops: 2.0 * flops / backward.median_ms / 1e6,
            loss_first: first,
            loss_last: last,
        })
    };
    if device.is_cpu() {
        on_pool_worker(run)
    } else {
        run()
    }
}

fn sync(device: &Device) -> Result<()> {
    device.synchronize()
}

/// A fixed random batch: normal images, uniform heatmaps in [0, 1), all joints labelled.
pub fn random_pose_batch(
    cfg: &HourglassConfig,
    batch: usize,
    seed: u64,
    device: &Device,
) -> Result<(Tensor, Tensor, Tensor)> {
    let mut rng = SeededRng::new(seed);
    let s = cfg.input_size;
    let k = cfg.head.channels();
    let h = s / 4;
    let x: Vec<f32> = (0..batch * 3 * s * s)
        .map(|_| rng.normal() as f32)
        .collect();
    let t: Vec<f32> = (0..batch * k * h * h)
        .map(|_| rng.uniform() as f32)
        .collect();
    Ok((
        Tensor::from_vec(x, (batch, 3, s, s), device)?,
        Tensor::from_vec(t, (batch, k, h, h), device)?,
        Tensor::ones((batch, k), candle_core::DType::F32, device)?,
    ))
}
