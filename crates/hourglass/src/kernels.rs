//! The per-layer kernels of one forward pass, cut out of the single tensor in one split.
//!
//! candle's `narrow` backward pads each slice's gradient to the full tensor, so taking L kernels
//! with L narrows costs L full-size zero tensors and additions in the backward pass. In
//! [`KernelMode::Split`] the network instead runs on detached copies of the slices (leaf
//! variables); after the backward pass their gradients are stacked into `dW` (one
//! concatenation) and pushed into the parts of the factorized tensor by a second, small backward
//! pass through `sum(W * dW)`, whose gradient with respect to every part is exactly the chain
//! rule's `dW`-weighted sum.

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, Var};

/// How the kernels of a pass relate to the tensor's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelMode {
    /// Training: slices are leaves, gradients reach the parts in a second backward pass through
    /// `sum(W * dW)` (the module header).
    Split,
    /// Training through plain autograd (`narrow` per kernel): the reference the split is tested
    /// against; slower for large tensors.
    Attached,
    /// Evaluation: detached slices, no graph; reuse them for every batch of an evaluation.
    Eval,
}

/// The kernels `(f, f, k, k)` of every tensorized layer, in the C order of the first four modes.
#[derive(Debug)]
pub struct Kernels {
    pub(crate) slices: Vec<Tensor>,
    split: Option<SplitGraph>,
}

#[derive(Debug)]
struct SplitGraph {
    full: Tensor,
    leaves: Vec<Var>,
}

impl Kernels {
    /// Cuts `full` (leading modes flattened to `layers`) into per-layer kernels.
    pub(crate) fn new(full: Tensor, layers: usize, mode: KernelMode) -> Result<Self> {
        let dims = full.dims().to_vec();
        let lead: usize = dims[..4].iter().product();
        if lead != layers {
            candle_core::bail!("tensor {dims:?} does not hold {layers} layers");
        }
        let kdims = dims[4..].to_vec();
        let flat_shape = [vec![layers], kdims.clone()].concat();
        match mode {
            KernelMode::Attached => {
                let flat = full.reshape(flat_shape)?;
                let slices = (0..layers)
                    .map(|l| flat.get(l))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Self {
                    slices,
                    split: None,
                })
            }
            KernelMode::Eval | KernelMode::Split => {
                let flat = full.detach().reshape(flat_shape)?.contiguous()?;
                let slices = (0..layers)
                    .map(|l| flat.get(l)?.contiguous())
                    .collect::<Result<Vec<_>>>()?;
                if mode == KernelMode::Eval {
                    return Ok(Self {
                        slices,
                        split: None,
                    });
                }
                let leaves = slices
                    .iter()
                    .map(Var::from_tensor)
                    .collect::<Result<Vec<_>>>()?;
                Ok(Self {
                    slices: leaves.iter().map(|v| v.as_tensor().clone()).collect(),
                    split: Some(SplitGraph { full, leaves }),
                })
            }
        }
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.slices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    /// The kernel of flat layer `l`.
    pub fn get(&self, l: usize) -> &Tensor {
        &self.slices[l]
    }

    /// Completes `grads` (from `loss.backward()`) with the gradients of the tensor's parts:
    /// removes the per-slice leaves and adds `d loss / d part` for every part in `parts`.
    pub(crate) fn finish_backward(&self, grads: &mut GradStore, parts: &[Var]) -> Result<()> {
        let Some(split) = &self.split else {
            return Ok(());
        };
        let mut gs = Vec::with_capacity(split.leaves.len());
        for leaf in &split.leaves {
            let g = match grads.remove(leaf.as_tensor()) {
                Some(g) => g,
                None => leaf.zeros_like()?,
            };
            gs.push(g);
        }
        let dw = Tensor::stack(&gs, 0)?.reshape(split.full.dims())?.detach();
        if let [only] = parts
            && only.as_tensor().id() == split.full.id()
        {
            // Dense: the tensor is the parameter.
            grads.insert(only.as_tensor(), dw);
            return Ok(());
        }
        let surrogate = if crate::cpu::on_cpu_f32(&split.full) && crate::cpu::on_cpu_f32(&dw) {
            // A scalar whose backward hands `dW` to the tensor as it is: no broadcast of the
            // seed and no product with `dW` over the whole tensor.
            split.full.apply_op1(SeedGradient { dw })?
        } else {
            (&split.full * &dw)?.sum_all()?
        };
        let part_grads = surrogate.backward()?;
        for p in parts {
            if let Some(g) = part_grads.get(p.as_tensor()) {
                grads.insert(p.as_tensor(), g.clone());
            }
        }
        Ok(())
    }
}

/// `sum(W * dW)` as far as the backward pass can tell: its gradient with respect to `W` is
/// `dW`. The forward value (0) is never read.
struct SeedGradient {
    dw: Tensor,
}

impl CustomOp1 for SeedGradient {
    fn name(&self) -> &'static str {
        "tnet-seed-gradient"
    }

    fn cpu_fwd(&self, _s: &CpuStorage, _l: &Layout) -> Result<(CpuStorage, Shape)> {
        Ok((CpuStorage::F32(vec![0.0]), Shape::from(())))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // The scalar's own gradient is 1 when this is the root; scale in general.
        let one = grad.to_scalar::<f32>()?;
        if one == 1.0 {
            Ok(Some(self.dw.clone()))
        } else {
            Ok(Some((&self.dw * one as f64)?))
        }
    }
}
