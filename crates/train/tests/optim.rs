//! Optimizer updates worked out by hand, and state round trips.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use tnet_factorized::PartScale;
use tnet_train::{Optimizer, OptimizerConfig};

fn grads_for(p: &Var, g: &[f32]) -> GradStore {
    // d/dp sum(p * g) = g
    let gt = Tensor::new(g, &Device::Cpu).unwrap();
    (p.as_tensor() * gt)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap()
}

fn values(p: &Var) -> Vec<f32> {
    p.as_tensor().to_vec1().unwrap()
}

#[test]
fn rmsprop_two_steps_by_hand() {
    let p = Var::new(&[1.0f32, -2.0], &Device::Cpu).unwrap();
    let mut opt = Optimizer::new(
        OptimizerConfig::Rmsprop {
            alpha: 0.9,
            eps: 1e-8,
        },
        vec![("w".into(), p.clone())],
    )
    .unwrap();
    opt.step(&grads_for(&p, &[0.5, -1.0]), 0.1).unwrap();
    // v = 0.1 g^2 = [0.025, 0.1]; p -= 0.1 g / sqrt(v)
    let v1 = [0.025f64, 0.1];
    let e1 = [
        1.0 - 0.1 * 0.5 / v1[0].sqrt(),
        -2.0 + 0.1 * 1.0 / v1[1].sqrt(),
    ];
    let got = values(&p);
    for k in 0..2 {
        assert!((got[k] as f64 - e1[k]).abs() < 1e-5, "{got:?} vs {e1:?}");
    }
    opt.step(&grads_for(&p, &[0.5, 2.0]), 0.1).unwrap();
    let v2 = [0.9 * v1[0] + 0.1 * 0.25, 0.9 * v1[1] + 0.1 * 4.0];
    let e2 = [
        e1[0] - 0.1 * 0.5 / v2[0].sqrt(),
        e1[1] - 0.1 * 2.0 / v2[1].sqrt(),
    ];
    let got = values(&p);
    for k in 0..2 {
        assert!((got[k] as f64 - e2[k]).abs() < 1e-5, "{got:?} vs {e2:?}");
    }
}

#[test]
fn adamw_first_step_by_hand() {
    let p = Var::new(&[1.0f32, 3.0], &Device::Cpu).unwrap();
    let mut opt = Optimizer::new(
        OptimizerConfig::Adamw {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
        },
        vec![("w".into(), p.clone())],
    )
    .unwrap();
    opt.step(&grads_for(&p, &[0.2, -4.0]), 0.01).unwrap();
    // Bias-corrected first step: m_hat = g, v_hat = g^2, so the update is lr * sign(g);
    // decay first: p *= 1 - lr * wd.
    let e = [1.0 * (1.0 - 0.001) - 0.01, 3.0 * (1.0 - 0.001) + 0.01];
    let got = values(&p);
    for k in 0..2 {
        assert!((got[k] as f64 - e[k]).abs() < 1e-6, "{got:?} vs {e:?}");
    }
}

#[test]
fn part_scales_multiply_the_rate_and_the_decay_by_hand() {
    let adamw = OptimizerConfig::Adamw {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.1,
    };
    let a = Var::new(&[1.0f32, 3.0], &Device::Cpu).unwrap();
    let b = Var::new(&[1.0f32, 3.0], &Device::Cpu).unwrap();
    let mut opt = Optimizer::with_scales(
        adamw,
        vec![("a".into(), a.clone()), ("b".into(), b.clone())],
        vec![
            PartScale {
                lr: 3.0,
                decay: 1.0,
            },
            PartScale {
                lr: 0.5,
                decay: 0.0,
            },
        ],
    )
    .unwrap();
    let ga = grads_for(&a, &[0.2, -4.0]);
    let gb = grads_for(&b, &[0.2, -4.0]);
    let mut grads = ga;
    grads.insert(b.as_tensor(), gb.get(b.as_tensor()).unwrap().clone());
    opt.step(&grads, 0.01).unwrap();
    // a: decay at the base rate (1 - 0.01 * 0.1), then 3 * lr * sign(g).
    let ea = [1.0 * (1.0 - 0.001) - 0.03, 3.0 * (1.0 - 0.001) + 0.03];
    // b: no decay, 0.5 * lr * sign(g).
    let eb = [1.0 - 0.005, 3.0 + 0.005];
    for (p, e) in [(&a, ea), (&b, eb)] {
        let got = values(p);
        for k in 0..2 {
            assert!((got[k] as f64 - e[k]).abs() < 1e-6, "{got:?} vs {e:?}");
        }
    }
    // One scale per parameter, or a clear error.
    let err = Optimizer::with_scales(
        OptimizerConfig::default(),
        vec![("a".into(), a.clone())],
        vec![],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("0 learning-rate scales for 1 parameters")
    );
}

#[test]
fn state_round_trip_continues_identically() {
    let run = |split: bool| -> Vec<f32> {
        let p = Var::new(&[0.3f32, -0.7, 1.1], &Device::Cpu).unwrap();
        let cfg = OptimizerConfig::Adamw {
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.01,
        };
        let mut opt = Optimizer::new(cfg.clone(), vec![("w".into(), p.clone())]).unwrap();
        for s in 0..4 {
            if split && s == 2 {
                let (state, steps) = opt.state();
                let saved: HashMap<String, Tensor> = state.clone().into_iter().collect();
                opt = Optimizer::new(cfg.clone(), vec![("w".into(), p.clone())]).unwrap();
                opt.load_state(&saved, steps).unwrap();
            }
            let g = [0.1 * s as f32, -0.2, 0.05];
            opt.step(&grads_for(&p, &g), 0.01).unwrap();
        }
        values(&p)
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn missing_state_is_an_error() {
    let p = Var::new(&[1.0f32], &Device::Cpu).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::default(), vec![("w".into(), p)]).unwrap();
    assert!(opt.load_state(&HashMap::new(), 3).is_err());
}
