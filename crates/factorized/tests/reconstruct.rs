//! candle reconstructions against the ndarray ones, and their gradients against finite
//! differences (float64 on the CPU).

use candle_core::{DType, Device, Tensor, Var};
use tnet_cp::random_cp;
use tnet_factorized::{
    cp_to_tensor, from_ndarray, mode_product, mode_product_moved, tt_to_tensor, tucker_to_tensor,
};
use tnet_tensor::random::{SeededRng, random_normal};
use tnet_tt::random_tt;
use tnet_tucker::random_tucker;

fn to_vec(t: &Tensor) -> Vec<f64> {
    t.flatten_all().unwrap().to_vec1::<f64>().unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn reconstructions_match_the_ndarray_decompositions() {
    let dev = Device::Cpu;
    let mut rng = SeededRng::new(1);
    let t = random_tucker::<f64>(&[3, 4, 2, 5], &[2, 3, 2, 2], &mut rng).unwrap();
    let core = from_ndarray(&t.core.view(), DType::F64, &dev).unwrap();
    let factors: Vec<Tensor> = t
        .factors
        .iter()
        .map(|f| from_ndarray(&f.view().into_dyn(), DType::F64, &dev).unwrap())
        .collect();
    let got = tucker_to_tensor(&core, &factors).unwrap();
    assert_eq!(got.dims(), &[3, 4, 2, 5]);
    assert!(max_diff(&to_vec(&got), t.to_tensor().as_slice().unwrap()) < 1e-12);

    let c = random_cp::<f64>(&[3, 4, 5], 3, &mut rng).unwrap();
    let w = from_ndarray(&c.weights.view().into_dyn(), DType::F64, &dev).unwrap();
    let fs: Vec<Tensor> = c
        .factors
        .iter()
        .map(|f| from_ndarray(&f.view().into_dyn(), DType::F64, &dev).unwrap())
        .collect();
    assert!(
        max_diff(
            &to_vec(&cp_to_tensor(&w, &fs).unwrap()),
            c.to_tensor().as_slice().unwrap()
        ) < 1e-12
    );

    let tt = random_tt::<f64>(&[3, 4, 2, 3], &[1, 2, 3, 2, 1], &mut rng).unwrap();
    let cores: Vec<Tensor> = tt
        .cores
        .iter()
        .map(|g| from_ndarray(&g.view().into_dyn(), DType::F64, &dev).unwrap())
        .collect();
    assert!(
        max_diff(
            &to_vec(&tt_to_tensor(&cores).unwrap()),
            tt.to_tensor().as_slice().unwrap()
        ) < 1e-12
    );
}

#[test]
fn full_rank_tucker_with_identity_factors_is_its_core() {
    let dev = Device::Cpu;
    let mut rng = SeededRng::new(2);
    let w = random_normal::<f64>(&[2, 3, 2, 2, 4, 4, 3, 3], &mut rng);
    let core = from_ndarray(&w.view(), DType::F64, &dev).unwrap();
    let eyes: Vec<Tensor> = w
        .shape()
        .iter()
        .map(|&n| Tensor::eye(n, DType::F64, &dev).unwrap())
        .collect();
    let got = tucker_to_tensor(&core, &eyes).unwrap();
    assert!(max_diff(&to_vec(&got), w.as_slice().unwrap()) < 1e-15);
}

/// Checks d(sum(W * M))/dp of every parameter tensor against central differences on a few
/// entries each.
fn check_gradients(params: &[Var], rebuild: impl Fn(&[Tensor]) -> Tensor, weights: &Tensor) {
    let loss = |ts: &[Tensor]| rebuild(ts).mul(weights).unwrap().sum_all().unwrap();
    let tensors: Vec<Tensor> = params.iter().map(|v| v.as_tensor().clone()).collect();
    let grads = loss(&tensors).backward().unwrap();
    let h = 1e-6;
    for (p, var) in params.iter().enumerate() {
        let g = to_vec(grads.get(var.as_tensor()).expect("gradient present"));
        let base = to_vec(var.as_tensor());
        for idx in (0..base.len()).step_by((base.len() / 5).max(1)) {
            let eval = |delta: f64| {
                let mut v = base.clone();
                v[idx] += delta;
                let mut ts = tensors.clone();
                ts[p] = Tensor::from_vec(v, var.as_tensor().dims(), &Device::Cpu).unwrap();
                loss(&ts).to_scalar::<f64>().unwrap()
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h);
            assert!(
                (fd - g[idx]).abs() <= 1e-6 * (1.0 + fd.abs()),
                "param {p} entry {idx}: autograd {} vs FD {fd}",
                g[idx]
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let dev = Device::Cpu;
    let mut rng = SeededRng::new(3);
    let var = |shape: &[usize], rng: &mut SeededRng| {
        Var::from_tensor(
            &from_ndarray(&random_normal::<f64>(shape, rng).view(), DType::F64, &dev).unwrap(),
        )
        .unwrap()
    };
    let shape = [3, 4, 2, 5];
    let weights = from_ndarray(
        &random_normal::<f64>(&shape, &mut rng).view(),
        DType::F64,
        &dev,
    )
    .unwrap();

    let mut tucker = vec![var(&[2, 3, 2, 2], &mut rng)];
    for (&i, r) in shape.iter().zip([2, 3, 2, 2]) {
        tucker.push(var(&[i, r], &mut rng));
    }
    check_gradients(
        &tucker,
        |ts| tucker_to_tensor(&ts[0], &ts[1..]).unwrap(),
        &weights,
    );

    let mut cp = vec![var(&[3], &mut rng)];
    for &i in &shape {
        cp.push(var(&[i, 3], &mut rng));
    }
    check_gradients(&cp, |ts| cp_to_tensor(&ts[0], &ts[1..]).unwrap(), &weights);

    let ranks = [1, 2, 3, 2, 1];
    let tt: Vec<Var> = (0..4)
        .map(|k| var(&[ranks[k], shape[k], ranks[k + 1]], &mut rng))
        .collect();
    check_gradients(&tt, |ts| tt_to_tensor(ts).unwrap(), &weights);
}

/// The f32 CPU mode product (strided GEMMs, own backward) against candle's moved-mode matmul:
/// every mode of an odd-sized 4th-order tensor, expanding and shrinking factors, both loop
/// orders (leading dimension larger or smaller than the trailing one), outputs and gradients.
#[test]
fn cpu_mode_product_matches_candle_with_gradients() {
    let dims = [3usize, 5, 2, 7];
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, &dims[..], &dev).unwrap()).unwrap();
    for (mode, &size) in dims.iter().enumerate() {
        for i_out in [1, size + 3] {
            let u =
                Var::from_tensor(&Tensor::randn(0f32, 1.0, (i_out, size), &dev).unwrap()).unwrap();
            let ours = mode_product(&x, &u, mode).unwrap();
            let theirs = mode_product_moved(&x, &u, mode).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            let (a, b) = (
                to_vec(&ours.to_dtype(DType::F64).unwrap()),
                to_vec(&theirs.to_dtype(DType::F64).unwrap()),
            );
            assert!(max_diff(&a, &b) < 1e-5, "mode {mode} forward");
            let probe = Tensor::randn(0f32, 1.0, ours.dims(), &dev).unwrap();
            let grads = |y: &Tensor| {
                ((y * &probe).unwrap().sum_all().unwrap() + x.sqr().unwrap().sum_all().unwrap())
                    .unwrap()
                    .backward()
                    .unwrap()
            };
            let (g1, g2) = (grads(&ours), grads(&theirs));
            for (what, v) in [("tensor", x.as_tensor()), ("factor", u.as_tensor())] {
                let f64s = |g: &Tensor| to_vec(&g.to_dtype(DType::F64).unwrap());
                let (a, b) = (f64s(g1.get(v).unwrap()), f64s(g2.get(v).unwrap()));
                assert!(
                    max_diff(&a, &b) < 1e-4,
                    "mode {mode} I={i_out} {what} gradient"
                );
            }
        }
    }
}
