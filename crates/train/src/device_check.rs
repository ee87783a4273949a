//! Does a device (or a mixed precision, or the fast CPU kernels) compute the right training
//! step? The same network (same seed, so the same initial values on every device) takes one
//! forward and backward pass on the same batch in f64 on the CPU with candle's ops (the truth)
//! and on each side checked; the outputs, the loss and every parameter's gradient are compared
//! with the truth. Some gradients (BatchNorm biases early in the network) are sums with heavy
//! cancellation, so even two f32 implementations differ by a percent there: the fair question
//! is whether a device is as close to the truth as the CPU's f32 path, which is what `tnet
//! check-device` asks.

use candle_core::{DType, Device, Result, Tensor};
use serde::Serialize;
use tnet_hourglass::loss::pose_loss;
use tnet_hourglass::{HourglassConfig, KernelMode, NetOptions, TNet};

use crate::bench::random_pose_batch;

/// One compared tensor: `||a - b|| / max(||a||, sqrt(n) * floor)`, the relative L2 error
/// against the reference, with gradients floored at a tenth of the median gradient RMS (a
/// gradient that is zero up to rounding, such as a BatchNorm bias feeding a later BatchNorm,
/// has no relative error to speak of).
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub name: String,
    pub rel: f64,
    /// RMS of the reference tensor.
    pub rms: f64,
}

/// What [`check_device`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceCheck {
    pub loss_reference: f64,
    pub loss_tested: f64,
    /// Each stack's output, then the loss.
    pub outputs: Vec<Agreement>,
    /// Every trainable parameter's gradient, by name.
    pub grads: Vec<Agreement>,
}

struct Pass {
    outputs: Vec<Vec<f64>>,
    loss: f64,
    grads: Vec<(String, Vec<f64>)>,
}

fn host(t: &Tensor) -> Result<Vec<f64>> {
    t.to_device(&Device::Cpu)?
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1()
}

fn one_pass(
    cfg: &HourglassConfig,
    batch: usize,
    seed: u64,
    device: &Device,
    opts: &NetOptions,
) -> Result<Pass> {
    let net = TNet::new(cfg, opts, device)?;
    // The batch is drawn on the CPU and copied, so both sides see the same numbers.
    let (x, t, w) = random_pose_batch(cfg, batch, seed, &Device::Cpu)?;
    let on = |v: Tensor| v.to_dtype(opts.dtype)?.to_device(device);
    let (x, t, w) = (on(x)?, on(t)?, on(w)?);
    let k = net.kernels(KernelMode::Split)?;
    let out = net.forward_with(&k, &x, true)?;
    let loss = pose_loss(&out, &t, &w)?;
    let grads = net.backward(&k, &loss)?;
    let mut named = vec![];
    for (name, v) in net.params().trainable() {
        let g = grads
            .get(v.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg(format!("no gradient for {name}")))?;
        named.push((name.to_string(), host(g)?));
    }
    Ok(Pass {
        outputs: out.iter().map(host).collect::<Result<_>>()?,
        loss: loss.to_dtype(DType::F64)?.to_scalar::<f64>()?,
        grads: named,
    })
}

fn rms(a: &[f64]) -> f64 {
    (a.iter().map(|v| v.powi(2)).sum::<f64>() / a.len().max(1) as f64).sqrt()
}

fn rel(a: &[f64], b: &[f64], floor_rms: f64) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let norm = a
        .iter()
        .map(|v| v.powi(2))
        .sum::<f64>()
        .sqrt()
        .max((a.len() as f64).sqrt() * floor_rms);
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 { diff } else { diff / norm }
}

/// One training pass of `cfg` in f64 on the CPU with candle's ops (the truth), and on each of
/// `sides` (a device with options), every side compared with the truth.
pub fn check_device(
    cfg: &HourglassConfig,
    batch: usize,
    seed: u64,
    sides: &[(&Device, &NetOptions)],
) -> Result<Vec<DeviceCheck>> {
    // The network of the first side (its seed and head init) in f64 with candle's ops; `seed`
    // draws the batch.
    let truth_opts = NetOptions {
        dtype: DType::F64,
        cpu_kernels: false,
        conv_dtype: None,
        ..sides.first().map(|s| s.1.clone()).unwrap_or_default()
    };
    let a = one_pass(cfg, batch, seed, &Device::Cpu, &truth_opts)?;
    let mut rmss: Vec<f64> = a.grads.iter().map(|(_, g)| rms(g)).collect();
    rmss.sort_by(f64::total_cmp);
    let floor = 0.1 * rmss.get(rmss.len() / 2).copied().unwrap_or(0.0);
    let mut checks = vec![];
    for (device, opts) in sides {
        let b = one_pass(cfg, batch, seed, device, opts)?;
        let mut outputs: Vec<Agreement> = a
            .outputs
            .iter()
            .zip(&b.outputs)
            .enumerate()
            .map(|(s, (x, y))| Agreement {
                name: format!("output.stack{s}"),
                rel: rel(x, y, 0.0),
                rms: rms(x),
            })
            .collect();
        outputs.push(Agreement {
            name: "loss".into(),
            rel: (a.loss - b.loss).abs() / a.loss.abs().max(1e-30),
            rms: a.loss.abs(),
        });
        let grads = a
            .grads
            .iter()
            .zip(&b.grads)
            .map(|((name, x), (_, y))| Agreement {
                name: format!("grad.{name}"),
                rel: rel(x, y, floor),
                rms: rms(x),
            })
            .collect();
        checks.push(DeviceCheck {
            loss_reference: a.loss,
            loss_tested: b.loss,
            outputs,
            grads,
        });
    }
    Ok(checks)
}
