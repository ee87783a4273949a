//! One optimizer step on small factorized tensors, initialized as the network initializes its
//! kernel tensor, against the same step on a dense tensor of the same shape: with the per-part
//! learning rates every part moves, relative to its size, as much as the dense tensor does, and
//! the reconstruction moves within a small factor of the dense one.

use candle_core::{DType, Device, Tensor};
use tnet_factorized::FactorizedTensor;
use tnet_factorized::init::{init_cp, init_tt, init_tucker, kaiming_std};
use tnet_tensor::random::{SeededRng, random_normal};
use tnet_train::{Optimizer, OptimizerConfig};

const SHAPE: [usize; 8] = [1, 2, 3, 2, 8, 8, 3, 3];
const LR: f64 = 1e-3;

fn std() -> f64 {
    kaiming_std(8, 3, 3)
}

fn optimizers() -> [OptimizerConfig; 2] {
    [
        OptimizerConfig::default(),
        OptimizerConfig::Adamw {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        },
    ]
}

fn rel(before: &Tensor, after: &Tensor) -> f64 {
    tnet_train::run::relative_change(before, after).unwrap()
}

/// One step of `cfg` on the loss `sum(W * G)` for a fixed random `G`: the relative change of
/// the reconstruction and of each part.
fn one_step(t: &FactorizedTensor, cfg: &OptimizerConfig, matched: bool) -> (f64, Vec<f64>) {
    let dev = Device::Cpu;
    let g = random_normal::<f64>(&t.shape().unwrap(), &mut SeededRng::new(99));
    let g = tnet_factorized::from_ndarray(&g.view(), DType::F64, &dev).unwrap();
    let vars = t.named_vars();
    let parts: Vec<Tensor> = vars
        .iter()
        .map(|(_, v)| v.as_tensor().copy().unwrap())
        .collect();
    let w0 = t.to_tensor().unwrap().copy().unwrap();
    let grads = (t.to_tensor().unwrap() * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let scales = if matched {
        t.part_scales(std()).unwrap()
    } else {
        vec![tnet_factorized::PartScale::ONE; vars.len()]
    };
    let mut opt = Optimizer::with_scales(cfg.clone(), vars.clone(), scales).unwrap();
    opt.step(&grads, LR).unwrap();
    let part_changes = vars
        .iter()
        .zip(&parts)
        .map(|((_, v), p)| rel(p, v.as_tensor()))
        .collect();
    (rel(&w0, &t.to_tensor().unwrap()), part_changes)
}

fn dense() -> FactorizedTensor {
    let mut w = random_normal::<f64>(&SHAPE, &mut SeededRng::new(1));
    w.mapv_inplace(|v| v * std());
    FactorizedTensor::dense(&w, DType::F64, &Device::Cpu).unwrap()
}

fn tucker(ranks: &[usize]) -> FactorizedTensor {
    let (core, factors) = init_tucker(&SHAPE, ranks, std(), 2);
    FactorizedTensor::tucker_parts(core, factors, DType::F64, &Device::Cpu).unwrap()
}

fn factorized() -> Vec<(&'static str, FactorizedTensor)> {
    let dev = Device::Cpu;
    let (w, f) = init_cp(&SHAPE, 40, std(), 3);
    let cp = FactorizedTensor::cp_parts(w, f, DType::F64, &dev).unwrap();
    let tt_ranks = [1, 1, 2, 6, 12, 32, 24, 3, 1];
    let tt =
        FactorizedTensor::tt_parts(init_tt(&SHAPE, &tt_ranks, std(), 4), DType::F64, &dev).unwrap();
    let layers = (0..12)
        .map(|l| {
            let (core, factors) = init_tucker(&[8, 8, 3, 3], &[4, 4, 3, 3], std(), 10 + l);
            FactorizedTensor::tucker_parts(core, factors, DType::F64, &dev).unwrap()
        })
        .collect();
    let per_layer = FactorizedTensor::slices(vec![1, 2, 3, 2], layers).unwrap();
    vec![
        ("tucker full rank", tucker(&SHAPE)),
        ("tucker compressed", tucker(&[1, 2, 2, 1, 6, 6, 2, 2])),
        ("cp", cp),
        ("tt", tt),
        ("layer tucker", per_layer),
    ]
}

#[test]
fn every_part_moves_relatively_as_much_as_the_dense_kernel() {
    for cfg in optimizers() {
        let (dense_change, _) = one_step(&dense(), &cfg, true);
        assert!(dense_change > 0.0);
        for (name, t) in factorized() {
            let (whole, parts) = one_step(&t, &cfg, true);
            for ((part, _), change) in t.named_vars().iter().zip(&parts) {
                let ratio = change / dense_change;
                assert!(
                    (0.9..1.1).contains(&ratio),
                    "{name} {part} under {cfg:?}: relative change {change:.3e}, dense {dense_change:.3e}"
                );
            }
            // The parts' moves add up: the reconstruction moves 2.7x (Tucker) to 5.3x (CP) as
            // far as the dense kernel in one step.
            let ratio = whole / dense_change;
            assert!(
                (1.5..6.0).contains(&ratio),
                "{name} under {cfg:?}: reconstruction moved {whole:.3e}, dense {dense_change:.3e}"
            );
        }
    }
}

#[test]
fn without_the_part_rates_the_compressed_core_lags_the_dense_kernel() {
    // The control: one rate for every part leaves a compressed Tucker core moving several
    // times less than a dense kernel (what the part rates correct).
    let cfg = OptimizerConfig::default();
    let (dense_change, _) = one_step(&dense(), &cfg, false);
    let (_, parts) = one_step(&tucker(&[1, 2, 2, 1, 6, 6, 2, 2]), &cfg, false);
    let core = parts[0] / dense_change;
    assert!(core < 0.5, "core ratio {core}");
}
