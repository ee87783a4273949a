//! The training losses of the heads (docs/model.md).

use candle_core::{D, DType, Result, Tensor};

/// Pose: per stack, the mean over all `B*K*h*w` entries of `w_bk (heat - target)^2` (HRNet's
/// target weight: 1 where the joint is labelled), summed over stacks.
pub fn pose_loss(outputs: &[Tensor], target: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let (b, k, _, _) = target.dims4()?;
    if weight.dims() != [b, k] {
        candle_core::bail!(
            "target weights have shape {:?}, expected [{b}, {k}]",
            weight.dims()
        );
    }
    let w = weight.reshape((b, k, 1, 1))?;
    let mut total: Option<Tensor> = None;
    for heat in outputs {
        if heat.dims() != target.dims() {
            candle_core::bail!(
                "heatmaps {:?} and targets {:?} differ in shape",
                heat.dims(),
                target.dims()
            );
        }
        let l = (heat - target)?.sqr()?.broadcast_mul(&w)?.mean_all()?;
        total = Some(match total {
            None => l,
            Some(t) => (t + l)?,
        });
    }
    total.ok_or_else(|| candle_core::Error::Msg("no outputs to take a loss of".into()))
}

/// Segmentation: per stack, the mean per-pixel cross-entropy of `(B, C, H, W)` logits against
/// `(B, H, W)` class indices, summed over stacks.
pub fn segmentation_loss(outputs: &[Tensor], labels: &Tensor) -> Result<Tensor> {
    let labels = labels.to_dtype(DType::U32)?.flatten_all()?;
    let mut total: Option<Tensor> = None;
    for logits in outputs {
        let (b, c, h, w) = logits.dims4()?;
        if labels.dim(0)? != b * h * w {
            candle_core::bail!(
                "{} labels for logits of shape {:?}",
                labels.dim(0)?,
                logits.dims()
            );
        }
        let flat = logits.permute((0, 2, 3, 1))?.reshape((b * h * w, c))?;
        let logp = candle_nn::ops::log_softmax(&flat, D::Minus1)?;
        let picked = logp.gather(&labels.unsqueeze(1)?, 1)?;
        let l = picked.mean_all()?.neg()?;
        total = Some(match total {
            None => l,
            Some(t) => (t + l)?,
        });
    }
    total.ok_or_else(|| candle_core::Error::Msg("no outputs to take a loss of".into()))
}
