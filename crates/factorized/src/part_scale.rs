//! Per-part learning rates and weight decay under which every part of a factorized tensor moves,
//! relative to its own size, as much as a dense tensor of the same shape would.
//!
//! Adam and RMSprop move every entry by about the learning rate whatever its size, so a part's
//! relative change per step is `lr / rms(part)`. A dense Kaiming kernel (entries of size
//! `sigma = sqrt(2 / (f_in h w))`) changes by `lr / sigma` relative; an orthonormal factor
//! (entries of size `1 / sqrt(I)`) by `lr sqrt(I)`, several times less, and the Tucker core,
//! whose entries are `sigma sqrt(numel(W) / numel(core))` in size, by less again the higher the
//! compression. Each part's rate is therefore multiplied by `rms(part) / sigma`, with `rms`
//! known from the initialization ([`crate::init`]): `sqrt(numel(W) / numel(part))` for the
//! part that carries the scale, `1 / (sigma sqrt(max(rows, cols)))` for a semi-orthogonal one (a CP factor's unit columns
//! count as `rows x 1`).
//! docs/model.md ("Training the parts") has the measurements behind this choice.
//!
//! Weight decay: the reconstruction is linear in each part, so decaying the one part that
//! carries the scale (the Tucker core, the CP weights, the last TT core) at the dense rate
//! decays the reconstruction exactly as the dense kernel; the orthonormal parts are not
//! decayed (decaying all `n` parts would shrink the kernel `n` times faster).

use candle_core::Result;

use crate::FactorizedTensor;

/// Multipliers of one part's learning rate and decoupled weight decay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartScale {
    /// The part's learning rate is `lr * self.lr`.
    pub lr: f64,
    /// The part decays by `lr * weight_decay * self.decay` per step (the base rate, not the
    /// part's own, so the reconstruction decays exactly as a dense kernel would).
    pub decay: f64,
}

impl PartScale {
    /// The dense rule: the base learning rate and decay.
    pub const ONE: Self = Self {
        lr: 1.0,
        decay: 1.0,
    };
}

/// Root-mean-square entry of a semi-orthogonal `rows x cols` matrix.
fn orthonormal_rms(rows: usize, cols: usize) -> f64 {
    1.0 / (rows.max(cols) as f64).sqrt()
}

impl FactorizedTensor {
    /// One [`PartScale`] per part, in the order of [`FactorizedTensor::named_vars`], for a
    /// tensor whose dense counterpart has entries of standard deviation `kernel_std` and whose
    /// parts are initialized as [`crate::init`] does (orthonormal parts, the scale in one).
    pub fn part_scales(&self, kernel_std: f64) -> Result<Vec<PartScale>> {
        if !(kernel_std.is_finite() && kernel_std > 0.0) {
            candle_core::bail!("the kernel standard deviation {kernel_std} is not positive");
        }
        let numel: usize = self.shape()?.iter().product();
        let scale_part = |part_numel: usize| PartScale {
            lr: (numel as f64 / part_numel as f64).sqrt(),
            decay: 1.0,
        };
        let orthonormal = |rows: usize, cols: usize| PartScale {
            lr: orthonormal_rms(rows, cols) / kernel_std,
            decay: 0.0,
        };
        match self {
            Self::Dense { .. } => Ok(vec![PartScale::ONE]),
            Self::Tucker { core, factors } => {
                let mut scales = vec![scale_part(core.elem_count())];
                for f in factors {
                    let (rows, cols) = f.dims2()?;
                    scales.push(orthonormal(rows, cols));
                }
                Ok(scales)
            }
            Self::Cp { weights, factors } => {
                // Unit-norm columns: entries of size 1 / sqrt(rows) whatever the rank.
                let mut scales = vec![scale_part(weights.elem_count())];
                for f in factors {
                    scales.push(orthonormal(f.dim(0)?, 1));
                }
                Ok(scales)
            }
            Self::Tt { cores } => {
                let n = cores.len();
                let mut scales = Vec::with_capacity(n);
                for (k, c) in cores.iter().enumerate() {
                    let (ra, i, rb) = c.dims3()?;
                    scales.push(if k + 1 == n {
                        scale_part(c.elem_count())
                    } else {
                        orthonormal(ra * i, rb)
                    });
                }
                Ok(scales)
            }
            Self::Slices { slices, .. } => {
                let mut scales = Vec::new();
                for s in slices {
                    scales.extend(s.part_scales(kernel_std)?);
                }
                Ok(scales)
            }
        }
    }
}
