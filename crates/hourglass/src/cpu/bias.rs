//! Per-channel bias addition `y[b][c] = x[b][c] + bias[c]` with a backward that sums each
//! channel's gradient plane in lanes (candle's broadcast backward reduces over the batch and
//! pixel axes with a strided sum).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::batch_norm::{channel_sum, dims4};
use tnet_cpu::scratch::{assume_init, uninit};
use tnet_cpu::storage::{f32_slice, nchw, on_cpu_f32};

struct AddChannelBias;

impl CustomOp2 for AddChannelBias {
    fn name(&self) -> &'static str {
        "tnet-add-channel-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (_, c, h, w) = nchw(l1, "bias add")?;
        if l2.dims() != [c] {
            candle_core::bail!("bias add: bias {:?} for {c} channels", l2.dims());
        }
        let x = f32_slice(s1, l1, "bias add input")?;
        let bias = f32_slice(s2, l2, "bias")?;
        let hw = (h * w).max(1);
        let mut y = uninit(x.len());
        y.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .enumerate()
            .for_each(|(i, (out, xin))| {
                let bc = bias[i % c];
                for (o, &v) in out.iter_mut().zip(xin) {
                    o.write(v + bc);
                }
            });
        // SAFETY: the planes cover y and every value was written.
        let y = unsafe { assume_init(y) };
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let db = grad.apply_op1_no_bwd(&ChannelSums)?;
        Ok((Some(grad), Some(db)))
    }
}

/// `(B, C, H, W)` to the `(C,)` sums over batch and pixels.
struct ChannelSums;

impl CustomOp1 for ChannelSums {
    fn name(&self) -> &'static str {
        "tnet-channel-sums"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = dims4(l)?;
        let g = f32_slice(s, l, "channel sums input")?;
        let sums: Vec<f32> = (0..dims.1)
            .into_par_iter()
            .map(|c| channel_sum(g, dims, c, |v| v) as f32)
            .collect();
        Ok((CpuStorage::F32(sums), Shape::from(dims.1)))
    }
}

/// `x + bias` broadcast over `(B, ·, H, W)`: the project's op for f32 on the CPU, candle's
/// broadcast add otherwise.
pub fn add_channel_bias(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if on_cpu_f32(x) && on_cpu_f32(bias) && x.rank() == 4 {
        return x
            .contiguous()?
            .apply_op2(&bias.contiguous()?, AddChannelBias);
    }
    x.broadcast_add(&bias.reshape((1, bias.dim(0)?, 1, 1))?)
}
