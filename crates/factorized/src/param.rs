//! A trainable factorized tensor: the parts are candle [`Var`]s, the reconstruction is part of
//! the autograd graph, and leading modes can be indexed without forming the whole tensor.

use candle_core::{DType, Device, Result, Tensor, Var};
use ndarray::{Array1, Array2, Array3, ArrayD};
use tnet_cp::CpTensor;
use tnet_tensor::random::SeededRng;
use tnet_tt::TtTensor;
use tnet_tucker::TuckerTensor;

use crate::{
    cp_to_tensor, from_ndarray, mode_product, tt_to_tensor, tucker_dropout, tucker_to_tensor,
};

/// One tensor in one of four parametrizations.
#[derive(Debug, Clone)]
pub enum FactorizedTensor {
    /// Every entry is a parameter.
    Dense { full: Var },
    /// Core `(r_1..r_N)` and factors `(I_k, r_k)`.
    Tucker { core: Var, factors: Vec<Var> },
    /// Weights `(R)` and factors `(I_k, R)`.
    Cp { weights: Var, factors: Vec<Var> },
    /// Cores `(r_{k-1}, I_k, r_k)` with `r_0 = r_N = 1`.
    Tt { cores: Vec<Var> },
    /// Independent tensors for the slices along the leading modes `lead` (the layer-by-layer
    /// baseline: one factorized kernel per layer), in C order of the leading index.
    Slices {
        lead: Vec<usize>,
        slices: Vec<FactorizedTensor>,
    },
}

fn var(a: ArrayD<f64>, dtype: DType, device: &Device) -> Result<Var> {
    Var::from_tensor(&from_ndarray(&a.view(), dtype, device)?)
}

fn var2(a: &Array2<f64>, dtype: DType, device: &Device) -> Result<Var> {
    var(a.clone().into_dyn(), dtype, device)
}

impl FactorizedTensor {
    /// A dense tensor holding `full`.
    pub fn dense(full: &ArrayD<f64>, dtype: DType, device: &Device) -> Result<Self> {
        Ok(Self::Dense {
            full: var(full.clone(), dtype, device)?,
        })
    }

    /// The Tucker parts of `t` as trainable variables (e.g. from `tnet_tucker::tucker`).
    pub fn from_tucker(t: &TuckerTensor<f64>, dtype: DType, device: &Device) -> Result<Self> {
        Ok(Self::Tucker {
            core: var(t.core.clone(), dtype, device)?,
            factors: t
                .factors
                .iter()
                .map(|f| var2(f, dtype, device))
                .collect::<Result<_>>()?,
        })
    }

    /// The CP parts of `t` as trainable variables.
    pub fn from_cp(t: &CpTensor<f64>, dtype: DType, device: &Device) -> Result<Self> {
        Ok(Self::Cp {
            weights: var(t.weights.clone().into_dyn(), dtype, device)?,
            factors: t
                .factors
                .iter()
                .map(|f| var2(f, dtype, device))
                .collect::<Result<_>>()?,
        })
    }

    /// The TT cores of `t` as trainable variables.
    pub fn from_tt(t: &TtTensor<f64>, dtype: DType, device: &Device) -> Result<Self> {
        Ok(Self::Tt {
            cores: t
                .cores
                .iter()
                .map(|c| var(c.clone().into_dyn(), dtype, device))
                .collect::<Result<_>>()?,
        })
    }

    /// Parts from raw arrays (the initializers' output).
    pub fn tucker_parts(
        core: ArrayD<f64>,
        factors: Vec<Array2<f64>>,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        Self::from_tucker(&TuckerTensor { core, factors }, dtype, device)
    }

    pub fn cp_parts(
        weights: Array1<f64>,
        factors: Vec<Array2<f64>>,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        Self::from_cp(&CpTensor { weights, factors }, dtype, device)
    }

    pub fn tt_parts(cores: Vec<Array3<f64>>, dtype: DType, device: &Device) -> Result<Self> {
        Self::from_tt(&TtTensor { cores }, dtype, device)
    }

    /// One tensor per slice along the leading modes `lead` (`prod(lead)` of them, C order), all
    /// of the same shape and none of them itself sliced.
    pub fn slices(lead: Vec<usize>, slices: Vec<FactorizedTensor>) -> Result<Self> {
        let count: usize = lead.iter().product();
        if slices.len() != count || count == 0 {
            candle_core::bail!(
                "{} slice tensors for leading modes {lead:?} ({count} slices)",
                slices.len()
            );
        }
        let first = slices[0].shape()?;
        for (l, t) in slices.iter().enumerate() {
            if matches!(t, Self::Slices { .. }) {
                candle_core::bail!("slice {l} is itself sliced");
            }
            if t.shape()? != first {
                candle_core::bail!(
                    "slice {l} has shape {:?}, slice 0 has {first:?}",
                    t.shape()?
                );
            }
        }
        Ok(Self::Slices { lead, slices })
    }

    /// The parts with the names they are saved under (`full`, `core`, `factors.k`, `weights`,
    /// `cores.k`), in a fixed order.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let indexed = |prefix: &str, vs: &[Var]| -> Vec<(String, Var)> {
            vs.iter()
                .enumerate()
                .map(|(k, v)| (format!("{prefix}.{k}"), v.clone()))
                .collect()
        };
        match self {
            Self::Dense { full } => vec![("full".into(), full.clone())],
            Self::Tucker { core, factors } => {
                let mut v = vec![("core".to_string(), core.clone())];
                v.extend(indexed("factors", factors));
                v
            }
            Self::Cp { weights, factors } => {
                let mut v = vec![("weights".to_string(), weights.clone())];
                v.extend(indexed("factors", factors));
                v
            }
            Self::Tt { cores } => indexed("cores", cores),
            Self::Slices { slices, .. } => slices
                .iter()
                .enumerate()
                .flat_map(|(l, t)| {
                    t.named_vars()
                        .into_iter()
                        .map(move |(name, v)| (format!("slices.{l}.{name}"), v))
                })
                .collect(),
        }
    }

    /// Number of trainable entries.
    pub fn param_count(&self) -> usize {
        self.named_vars().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Shape of the full tensor.
    pub fn shape(&self) -> Result<Vec<usize>> {
        match self {
            Self::Dense { full } => Ok(full.dims().to_vec()),
            Self::Tucker { factors, .. } | Self::Cp { factors, .. } => {
                factors.iter().map(|f| f.dim(0)).collect()
            }
            Self::Tt { cores } => cores.iter().map(|c| c.dim(1)).collect(),
            Self::Slices { lead, slices } => Ok([lead.clone(), slices[0].shape()?].concat()),
        }
    }

    /// The full tensor, differentiable in every part.
    pub fn to_tensor(&self) -> Result<Tensor> {
        match self {
            Self::Dense { full } => Ok(full.as_tensor().clone()),
            Self::Tucker { core, factors } => tucker_to_tensor(core, &as_tensors(factors)),
            Self::Cp { weights, factors } => cp_to_tensor(weights, &as_tensors(factors)),
            Self::Tt { cores } => tt_to_tensor(&as_tensors(cores)),
            Self::Slices { slices, .. } => {
                let parts = slices
                    .iter()
                    .map(|t| t.to_tensor())
                    .collect::<Result<Vec<_>>>()?;
                Tensor::stack(&parts, 0)?.reshape(self.shape()?)
            }
        }
    }

    /// The full tensor with Tucker tensor dropout (probability `p[k]` per mode) when `train`;
    /// the other parametrizations have no dropout and reject a non-zero `p`.
    pub fn to_tensor_dropout(&self, p: &[f64], train: bool, rng: &mut SeededRng) -> Result<Tensor> {
        if p.iter().all(|&q| q <= 0.0) {
            return self.to_tensor();
        }
        match self {
            Self::Tucker { core, factors } => {
                let (c, f) = tucker_dropout(core, &as_tensors(factors), p, train, rng)?;
                tucker_to_tensor(&c, &f)
            }
            _ => {
                candle_core::bail!("tensor dropout is defined for the Tucker parametrization only")
            }
        }
    }

    /// `X[idx_0, .., idx_{m-1}, :, .., :]` for the first `m = idx.len()` modes, computed from
    /// the parts without forming the whole tensor (the kernel of one layer, for inference).
    pub fn index_leading(&self, idx: &[usize]) -> Result<Tensor> {
        let shape = self.shape()?;
        let m = idx.len();
        if m > shape.len() || idx.iter().zip(&shape).any(|(&i, &s)| i >= s) {
            candle_core::bail!("index {idx:?} out of range for a tensor of shape {shape:?}");
        }
        let rest = &shape[m..];
        match self {
            Self::Dense { full } => {
                let mut t = full.as_tensor().clone();
                for &i in idx {
                    t = t.get(i)?;
                }
                Ok(t)
            }
            Self::Slices { lead, slices } => {
                if m < lead.len() {
                    // Part of the leading index: the slices it covers, reconstructed.
                    let mut t = self.to_tensor()?;
                    for &i in idx {
                        t = t.get(i)?;
                    }
                    return Ok(t);
                }
                let flat = idx[..lead.len()]
                    .iter()
                    .zip(lead)
                    .fold(0, |acc, (&i, &n)| acc * n + i);
                let inner = &idx[lead.len()..];
                if inner.is_empty() {
                    slices[flat].to_tensor()
                } else {
                    slices[flat].index_leading(inner)
                }
            }
            Self::Tucker { core, factors } => {
                // Contract the leading modes with one row of their factor each, then expand.
                let mut x = core.as_tensor().clone();
                for (k, &i) in idx.iter().enumerate() {
                    x = mode_product(&x, &factors[k].narrow(0, i, 1)?, k)?;
                }
                let lead: Vec<usize> = x.dims()[m..].to_vec();
                let tail: Vec<Tensor> =
                    factors[m..].iter().map(|f| f.as_tensor().clone()).collect();
                tucker_to_tensor(&x.reshape(lead)?, &tail)?.reshape(rest)
            }
            Self::Cp { weights, factors } => {
                let mut w = weights.as_tensor().clone();
                for (k, &i) in idx.iter().enumerate() {
                    w = (w * factors[k].get(i)?)?;
                }
                let tail: Vec<Tensor> =
                    factors[m..].iter().map(|f| f.as_tensor().clone()).collect();
                cp_to_tensor(&w, &tail)
            }
            Self::Tt { cores } => {
                // Row vector (1, r_m) from the indexed cores, folded into core m.
                let mut left = Tensor::ones((1, 1), cores[0].dtype(), cores[0].device())?;
                for (k, &i) in idx.iter().enumerate() {
                    let slice = cores[k].narrow(1, i, 1)?.squeeze(1)?;
                    left = left.matmul(&slice)?;
                }
                if m == cores.len() {
                    return left.reshape(());
                }
                let (ra, i, rb) = cores[m].dims3()?;
                let first = left
                    .matmul(&cores[m].reshape((ra, i * rb))?)?
                    .reshape((1, i, rb))?;
                let mut tail = vec![first];
                tail.extend(cores[m + 1..].iter().map(|c| c.as_tensor().clone()));
                tt_to_tensor(&tail)
            }
        }
    }
}

fn as_tensors(vs: &[Var]) -> Vec<Tensor> {
    vs.iter().map(|v| v.as_tensor().clone()).collect()
}
