//! PyTorch state dicts of the repository's own PyTorch network
//! (`xtask/yardstick/tnet_torch.py`), both ways. Its parameter names are the Rust network's
//! (`stem.0.conv.weight`, `stack.0.hg.level1.skip.bn0.running_var`, `tensor.core`,
//! `tensor.factors.4`, or `tensor.full`), plus PyTorch's `num_batches_tracked` per BatchNorm.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use tnet_factorized::FactorizedTensor;
use tnet_hourglass::TNet;

use crate::ExportError;

const TRACKED: &str = ".num_batches_tracked";

/// The state dict of `net` for the PyTorch network: the Tucker parts when the tensor is Tucker
/// (unless `dense`), otherwise the reconstructed tensor as `tensor.full` (the PyTorch network
/// holds a dense or a Tucker tensor).
pub fn torch_state_dict(net: &TNet, dense: bool) -> Result<HashMap<String, Tensor>, ExportError> {
    let mut out = HashMap::new();
    for (name, var, _) in net.params().all() {
        if name.starts_with("tensor.") {
            continue;
        }
        out.insert(name.to_string(), var.as_tensor().to_dtype(DType::F32)?);
        if let Some(bn) = name.strip_suffix(".running_var") {
            out.insert(format!("{bn}{TRACKED}"), Tensor::new(0i64, &Device::Cpu)?);
        }
    }
    match net.tensor() {
        FactorizedTensor::Tucker { core, factors } if !dense => {
            out.insert("tensor.core".into(), core.as_tensor().to_dtype(DType::F32)?);
            for (k, f) in factors.iter().enumerate() {
                out.insert(
                    format!("tensor.factors.{k}"),
                    f.as_tensor().to_dtype(DType::F32)?,
                );
            }
        }
        t => {
            out.insert("tensor.full".into(), t.to_tensor()?.to_dtype(DType::F32)?);
        }
    }
    Ok(out)
}

/// What a PyTorch state dict says about the network it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchLayout {
    /// `(stacks, depth, 3, b_depth, f, f, 3, 3)`.
    pub tensor_shape: [usize; 8],
    /// Tucker ranks (the core's shape), `None` for a dense tensor.
    pub tucker_ranks: Option<[usize; 8]>,
    /// Output channels of the heads (16 joints, or 11 face classes).
    pub head_channels: usize,
}

fn dims<const N: usize>(
    sd: &HashMap<String, Tensor>,
    name: &str,
) -> Result<Option<[usize; N]>, ExportError> {
    let Some(t) = sd.get(name) else {
        return Ok(None);
    };
    t.dims().try_into().map(Some).map_err(|_| {
        ExportError::BadTensor(format!(
            "{name} has shape {:?}, expected {N} dimensions",
            t.dims()
        ))
    })
}

/// Reads the network's shape from `tensor.full` or `tensor.core` / `tensor.factors.*`, and the
/// heads' channels from `stack.0.head.weight`.
pub fn torch_layout(sd: &HashMap<String, Tensor>) -> Result<TorchLayout, ExportError> {
    let head = dims::<4>(sd, "stack.0.head.weight")?
        .ok_or_else(|| ExportError::MissingTensor("stack.0.head.weight".into()))?;
    if let Some(shape) = dims::<8>(sd, "tensor.full")? {
        return Ok(TorchLayout {
            tensor_shape: shape,
            tucker_ranks: None,
            head_channels: head[0],
        });
    }
    let ranks = dims::<8>(sd, "tensor.core")?.ok_or_else(|| {
        ExportError::MissingTensor("tensor.full (dense) or tensor.core (Tucker)".into())
    })?;
    let mut shape = [0; 8];
    for (k, size) in shape.iter_mut().enumerate() {
        let name = format!("tensor.factors.{k}");
        let [rows, cols] =
            dims::<2>(sd, &name)?.ok_or_else(|| ExportError::MissingTensor(name.clone()))?;
        if cols != ranks[k] {
            return Err(ExportError::BadTensor(format!(
                "{name} has {cols} columns, the core's mode {k} has {}",
                ranks[k]
            )));
        }
        *size = rows;
    }
    Ok(TorchLayout {
        tensor_shape: shape,
        tucker_ranks: Some(ranks),
        head_channels: head[0],
    })
}

/// Sets every parameter and buffer of `net` from `sd`: each must be there with the network's
/// shape, and `sd` may hold nothing else but `num_batches_tracked`.
pub fn load_torch_state_dict(net: &TNet, sd: &HashMap<String, Tensor>) -> Result<(), ExportError> {
    let mut used = 0;
    for (name, var, _) in net.params().all() {
        let t = sd
            .get(name)
            .ok_or_else(|| ExportError::MissingTensor(name.to_string()))?;
        if t.dims() != var.as_tensor().dims() {
            return Err(ExportError::BadTensor(format!(
                "{name} has shape {:?}, the network's is {:?}",
                t.dims(),
                var.as_tensor().dims()
            )));
        }
        var.set(&t.to_dtype(var.dtype())?.to_device(var.device())?)?;
        used += 1;
    }
    let tracked = sd.keys().filter(|k| k.ends_with(TRACKED)).count();
    if used + tracked != sd.len() {
        let names = net.params().all();
        let extra = sd
            .keys()
            .find(|k| !k.ends_with(TRACKED) && !names.iter().any(|(n, _, _)| n == k))
            .cloned()
            .unwrap_or_default();
        return Err(ExportError::BadTensor(format!(
            "{extra} is not a tensor of this network"
        )));
    }
    Ok(())
}
