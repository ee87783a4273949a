//! Small network operations with the gradients they should have.

use candle_core::{Result, Tensor};

/// Nearest-neighbour x2 upsampling of `(B, C, H, W)` as reshape + broadcast + reshape.
///
/// candle 0.11's `upsample_nearest2d` backward overwrites instead of accumulating when the
/// upsampled tensor's input has other consumers (the hourglass adds `up + upsample(low)` and
/// `low` feeds other ops); broadcasting has a summing backward, so this one is correct.
pub fn upsample_nearest2x(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.reshape((b, c, h, 1, w, 1))?
        .broadcast_as((b, c, h, 2, w, 2))?
        .reshape((b, c, 2 * h, 2 * w))
}
