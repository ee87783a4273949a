//! Networks from checkpoints, and compression of a trained dense network into a factorized one.

use std::path::Path;

use candle_core::{DType, Device};
use ndarray::ArrayD;
use serde::Serialize;
use tnet_hourglass::{FactorizedTensor, NetOptions, Resolved, TNet};

use crate::checkpoint::{self, Checkpoint, CheckpointMeta};
use crate::config::{ParamName, TrainConfig};
use crate::run::{TrainError, build_network};

/// The network a checkpoint holds, with its metadata.
pub fn load_model(path: &Path, device: &Device) -> Result<(TNet, CheckpointMeta), TrainError> {
    let ck = Checkpoint::load(path, device)?;
    let net = build_network(&ck.meta.config, device)?;
    ck.restore_model(&net)?;
    Ok((net, ck.meta))
}

/// The parametrization to compress into.
#[derive(Debug, Clone, PartialEq)]
pub enum CompressTo {
    Tucker(Vec<usize>),
    TuckerCompression(f64),
    Cp(usize),
    Tt(Vec<usize>),
}

/// What compression did.
#[derive(Debug, Clone, Serialize)]
pub struct CompressReport {
    pub relative_error: f64,
    pub tensor_params: usize,
    pub param_count: usize,
    pub compression_ratio: f64,
    pub config: TrainConfig,
}

/// Decomposes the kernel tensor of a dense network (Tucker by HOOI, CP by ALS, TT by TT-SVD)
/// and returns the factorized network holding it, every other parameter and buffer copied.
pub fn compress(
    dense: &TNet,
    meta: &CheckpointMeta,
    to: &CompressTo,
    device: &Device,
) -> Result<(TNet, CompressReport), TrainError> {
    if dense.config().param != Resolved::Dense {
        return Err(TrainError::Resume(format!(
            "compress needs a dense network; this checkpoint is {:?}",
            dense.config().param
        )));
    }
    let shape = dense.config().tensor_shape().to_vec();
    let elem = std::mem::size_of::<f64>();
    let (what, bytes) = match to {
        CompressTo::Cp(r) => ("CP", tnet_tensor::memory::cp_bytes(&shape, *r, elem)),
        CompressTo::Tt(r) => ("TT", tnet_tensor::memory::tt_bytes(&shape, r, elem)),
        CompressTo::Tucker(r) => ("Tucker", tnet_tensor::memory::tucker_bytes(&shape, r, elem)),
        CompressTo::TuckerCompression(_) => (
            "Tucker",
            tnet_tensor::memory::tucker_bytes(&shape, &shape, elem),
        ),
    };
    tnet_tensor::memory::check_fits(
        &format!("{what} decomposition of the kernel tensor {shape:?}"),
        bytes,
    )?;
    let w = dense.tensor().to_tensor()?.to_dtype(DType::F64)?;
    let values: Vec<f64> = w.flatten_all()?.to_vec1()?;
    let x = ArrayD::from_shape_vec(shape.clone(), values)
        .map_err(|e| TrainError::Resume(e.to_string()))?;
    let bad = |e: tnet_tensor::TensorError| TrainError::Resume(format!("decomposition: {e}"));
    let mut cfg = meta.config.clone();
    cfg.model.ranks = None;
    cfg.model.rank = None;
    cfg.model.compression = None;
    let (tensor, rel) = match to {
        CompressTo::Tucker(_) | CompressTo::TuckerCompression(_) => {
            let ranks = match to {
                CompressTo::Tucker(r) => r.clone(),
                CompressTo::TuckerCompression(c) => {
                    tnet_tucker::ranks_for_compression(&shape, *c).map_err(bad)?
                }
                _ => unreachable!("tucker arms only"),
            };
            let fit = tnet_tucker::tucker(
                &x.view(),
                &tnet_tucker::TuckerRank::Ranks(ranks.clone()),
                &tnet_tucker::TuckerOptions::default(),
            )
            .map_err(bad)?;
            cfg.model.param = ParamName::Tucker;
            cfg.model.ranks = Some(ranks);
            let rel = fit.tucker.relative_error(&x.view()).map_err(bad)?;
            (
                FactorizedTensor::from_tucker(&fit.tucker, DType::F32, device)?,
                rel,
            )
        }
        CompressTo::Cp(r) => {
            let fit = tnet_cp::parafac(&x.view(), *r, &tnet_cp::ParafacOptions::default())
                .map_err(bad)?;
            cfg.model.param = ParamName::Cp;
            cfg.model.rank = Some(*r);
            let rel = fit.cp.relative_error(&x.view()).map_err(bad)?;
            (FactorizedTensor::from_cp(&fit.cp, DType::F32, device)?, rel)
        }
        CompressTo::Tt(r) => {
            let tt = tnet_tt::tensor_train(&x.view(), &tnet_tt::TtRank::Ranks(r.clone()))
                .map_err(bad)?
                .tt;
            cfg.model.param = ParamName::Tt;
            cfg.model.ranks = Some(tt.ranks());
            let rel = tt.relative_error(&x.view()).map_err(bad)?;
            (FactorizedTensor::from_tt(&tt, DType::F32, device)?, rel)
        }
    };
    cfg.check()?;
    let net_cfg = cfg.network()?;
    let net = TNet::with_tensor(
        &net_cfg,
        tensor,
        &NetOptions {
            seed: cfg.seed,
            ..NetOptions::default()
        },
        device,
    )?;
    // Everything but the kernel tensor comes from the dense network.
    for (name, v, _) in net.params().all() {
        if name.starts_with("tensor.") {
            continue;
        }
        let src = dense
            .params()
            .get(name)
            .ok_or_else(|| TrainError::Resume(format!("the dense network has no {name}")))?;
        v.set(src.as_tensor())?;
    }
    let report = CompressReport {
        relative_error: rel,
        tensor_params: net_cfg.tensor_params(),
        param_count: net_cfg.param_count(),
        compression_ratio: net_cfg.compression_ratio(),
        config: cfg,
    };
    Ok((net, report))
}

/// Saves a compressed network as a checkpoint `tnet train --init-from` can fine-tune.
pub fn save_compressed(
    path: &Path,
    net: &TNet,
    report: &CompressReport,
    metric: Option<f64>,
) -> Result<(), TrainError> {
    let meta = CheckpointMeta {
        metric,
        best_metric: metric,
        ..CheckpointMeta::fresh(&report.config)
    };
    checkpoint::save(path, net, None, &meta)?;
    Ok(())
}
