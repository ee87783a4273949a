//! The named parameters and buffers of a network, in a fixed order (checkpoints write them
//! through `tensors()` and restore them with `load_from`).

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var};
use tnet_tensor::random::SeededRng;

/// Whether a named entry is trained or is a buffer (BatchNorm running statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Trainable,
    Buffer,
}

/// Name -> variable, sorted by name so that iteration (and so the optimizer) is deterministic.
#[derive(Debug, Clone, Default)]
pub struct ParamStore {
    entries: BTreeMap<String, (Var, Role)>,
}

impl ParamStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `value` under `name` and returns the variable's tensor.
    pub fn insert(&mut self, name: impl Into<String>, value: &Tensor, role: Role) -> Result<Var> {
        let name = name.into();
        if self.entries.contains_key(&name) {
            candle_core::bail!("parameter {name} registered twice");
        }
        let v = Var::from_tensor(value)?;
        self.entries.insert(name, (v.clone(), role));
        Ok(v)
    }

    /// Registers an existing variable (the parts of a factorized tensor).
    pub fn insert_var(&mut self, name: impl Into<String>, v: &Var, role: Role) -> Result<()> {
        let name = name.into();
        if self
            .entries
            .insert(name.clone(), (v.clone(), role))
            .is_some()
        {
            candle_core::bail!("parameter {name} registered twice");
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Var> {
        self.entries.get(name).map(|(v, _)| v)
    }

    /// Trainable variables with their names, sorted by name.
    pub fn trainable(&self) -> Vec<(&str, &Var)> {
        self.entries
            .iter()
            .filter(|(_, (_, r))| *r == Role::Trainable)
            .map(|(n, (v, _))| (n.as_str(), v))
            .collect()
    }

    /// Trainable variables with owned names (what an optimizer is built from).
    pub fn trainable_owned(&self) -> Vec<(String, Var)> {
        self.trainable()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }

    /// A candle-nn `VarMap` sharing these variables (same names, same storage): for candle-nn's
    /// optimizers (`AdamW::new(map.all_vars(), ..)`) and `VarMap::save / load`. Buffers are
    /// included; they never get gradients, so optimizers leave them alone.
    pub fn to_varmap(&self) -> candle_nn::VarMap {
        let map = candle_nn::VarMap::new();
        if let Ok(mut data) = map.data().lock() {
            for (name, (v, _)) in &self.entries {
                data.insert(name.clone(), v.clone());
            }
        }
        map
    }

    /// Every entry (parameters and buffers), sorted by name.
    pub fn all(&self) -> Vec<(&str, &Var, Role)> {
        self.entries
            .iter()
            .map(|(n, (v, r))| (n.as_str(), v, *r))
            .collect()
    }

    /// Number of trainable entries.
    pub fn trainable_count(&self) -> usize {
        self.trainable().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// All entries as plain tensors (for safetensors).
    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        self.entries
            .iter()
            .map(|(n, (v, _))| (n.clone(), v.as_tensor().clone()))
            .collect()
    }

    /// Sets every entry from `tensors`, which must hold exactly the same names and shapes.
    pub fn load_from(&self, tensors: &std::collections::HashMap<String, Tensor>) -> Result<()> {
        for name in tensors.keys() {
            if !self.entries.contains_key(name) {
                candle_core::bail!(
                    "the checkpoint has a tensor {name} that this network does not have (another configuration?)"
                );
            }
        }
        for (name, (v, _)) in &self.entries {
            let t = tensors.get(name).ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "the checkpoint lacks {name} (saved from another configuration?)"
                ))
            })?;
            if t.dims() != v.dims() {
                candle_core::bail!(
                    "{name} has shape {:?} in the checkpoint but {:?} in this network (another configuration?)",
                    t.dims(),
                    v.dims()
                );
            }
            v.set(&t.to_dtype(v.dtype())?.to_device(v.device())?)?;
        }
        Ok(())
    }
}

/// Kaiming-normal (fan-in) conv weights `(c_out, c_in, k, k)` from our seeded generator.
pub fn kaiming_conv(
    c_out: usize,
    c_in: usize,
    k: usize,
    rng: &mut SeededRng,
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    let std = (2.0 / (c_in * k * k) as f64).sqrt();
    let data: Vec<f32> = (0..c_out * c_in * k * k)
        .map(|_| (rng.normal() * std) as f32)
        .collect();
    Tensor::from_vec(data, (c_out, c_in, k, k), device)?.to_dtype(dtype)
}
