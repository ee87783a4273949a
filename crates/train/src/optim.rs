//! Optimizers with PyTorch's update rules and state that can be saved and restored exactly
//! (candle-nn has no RMSprop and its optimizers' state cannot be checkpointed).

use std::collections::{BTreeMap, HashMap};

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use serde::{Deserialize, Serialize};
use tnet_factorized::PartScale;

/// Which optimizer, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// `v = a v + (1 - a) g^2; p -= lr g / (sqrt(v) + eps)` (PyTorch, no momentum).
    Rmsprop {
        #[serde(default = "default_alpha")]
        alpha: f64,
        #[serde(default = "default_eps")]
        eps: f64,
    },
    /// Adam with decoupled weight decay (PyTorch's AdamW).
    Adamw {
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_adam_eps")]
        eps: f64,
        #[serde(default = "default_wd")]
        weight_decay: f64,
    },
}

fn default_alpha() -> f64 {
    0.99
}
fn default_eps() -> f64 {
    1e-8
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_adam_eps() -> f64 {
    1e-8
}
fn default_wd() -> f64 {
    0.01
}

impl OptimizerConfig {
    /// The hyper-parameters in their ranges (PyTorch's own checks); the error names the key.
    pub fn check(&self) -> std::result::Result<(), String> {
        let unit = |v: f64| (0.0..1.0).contains(&v);
        let positive = |v: f64| v > 0.0 && v.is_finite();
        let checks = match *self {
            Self::Rmsprop { alpha, eps } => vec![
                ("alpha", unit(alpha), "in [0, 1)"),
                ("eps", positive(eps), "a positive number"),
            ],
            Self::Adamw {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => vec![
                ("beta1", unit(beta1), "in [0, 1)"),
                ("beta2", unit(beta2), "in [0, 1)"),
                ("eps", positive(eps), "a positive number"),
                (
                    "weight_decay",
                    weight_decay >= 0.0 && weight_decay.is_finite(),
                    "a non-negative number",
                ),
            ],
        };
        match checks.into_iter().find(|(_, ok, _)| !ok) {
            Some((name, _, range)) => Err(format!("optimizer.{name}: must be {range}")),
            None => Ok(()),
        }
    }
}

impl Default for OptimizerConfig {
    /// The hourglass default: RMSprop, alpha 0.99, eps 1e-8.
    fn default() -> Self {
        Self::Rmsprop {
            alpha: default_alpha(),
            eps: default_eps(),
        }
    }
}

/// An optimizer over named variables. State tensors are named `<slot>.<param>`.
#[derive(Debug)]
pub struct Optimizer {
    config: OptimizerConfig,
    params: Vec<(String, Var)>,
    /// Per parameter, the multipliers of its learning rate and weight decay.
    scales: Vec<PartScale>,
    /// Per parameter: `v` (RMSprop), or `m` and `v` (AdamW).
    state: BTreeMap<String, Tensor>,
    steps: u64,
}

impl Optimizer {
    /// `params`: the trainable variables with the names they are checkpointed under, each
    /// trained at the base learning rate and weight decay.
    pub fn new(config: OptimizerConfig, params: Vec<(String, Var)>) -> Result<Self> {
        let scales = vec![PartScale::ONE; params.len()];
        Self::with_scales(config, params, scales)
    }

    /// As [`Optimizer::new`], with each parameter's learning rate and decay multiplied by its
    /// [`PartScale`] (the parts of a factorized tensor).
    pub fn with_scales(
        config: OptimizerConfig,
        params: Vec<(String, Var)>,
        scales: Vec<PartScale>,
    ) -> Result<Self> {
        if scales.len() != params.len() {
            candle_core::bail!(
                "{} learning-rate scales for {} parameters",
                scales.len(),
                params.len()
            );
        }
        let mut state = BTreeMap::new();
        for (name, v) in &params {
            let zeros = v.zeros_like()?;
            state.insert(format!("v.{name}"), zeros.clone());
            if matches!(config, OptimizerConfig::Adamw { .. }) {
                state.insert(format!("m.{name}"), zeros);
            }
        }
        Ok(Self {
            config,
            params,
            scales,
            state,
            steps: 0,
        })
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update with learning rate `lr`; parameters without a gradient are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.steps += 1;
        let t = self.steps as i32;
        for ((name, p), scale) in self.params.iter().zip(&self.scales) {
            let Some(g) = grads.get(p.as_tensor()) else {
                continue;
            };
            let part_lr = lr * scale.lr;
            let vkey = format!("v.{name}");
            match self.config {
                OptimizerConfig::Rmsprop { alpha, eps } => {
                    let v = &self.state[&vkey];
                    let v = ((v * alpha)? + (g.sqr()? * (1.0 - alpha))?)?;
                    let upd = (g / (v.sqrt()? + eps)?)?;
                    p.set(&(p.as_tensor() - (upd * part_lr)?)?)?;
                    self.state.insert(vkey, v);
                }
                OptimizerConfig::Adamw {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => {
                    let mkey = format!("m.{name}");
                    let m = ((&self.state[&mkey] * beta1)? + (g * (1.0 - beta1))?)?;
                    let v = ((&self.state[&vkey] * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
                    let mhat = (&m / (1.0 - beta1.powi(t)))?;
                    let vhat = (&v / (1.0 - beta2.powi(t)))?;
                    let decayed = (p.as_tensor() * (1.0 - lr * weight_decay * scale.decay))?;
                    let upd = (mhat / (vhat.sqrt()? + eps)?)?;
                    p.set(&(decayed - (upd * part_lr)?)?)?;
                    self.state.insert(mkey, m);
                    self.state.insert(vkey, v);
                }
            }
        }
        Ok(())
    }

    /// The state tensors (names `v.<param>`, `m.<param>`) and the step count.
    pub fn state(&self) -> (&BTreeMap<String, Tensor>, u64) {
        (&self.state, self.steps)
    }

    /// Restores state saved by [`Optimizer::state`]; names and shapes must match.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, steps: u64) -> Result<()> {
        for (name, cur) in self.state.iter_mut() {
            let t = tensors.get(name).ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "the optimizer state lacks {name} (another optimizer or network?)"
                ))
            })?;
            if t.dims() != cur.dims() {
                candle_core::bail!(
                    "optimizer state {name} has shape {:?}, expected {:?}",
                    t.dims(),
                    cur.dims()
                );
            }
            *cur = t.to_dtype(cur.dtype())?.to_device(cur.device())?;
        }
        self.steps = steps;
        Ok(())
    }
}
