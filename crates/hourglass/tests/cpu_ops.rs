//! The fast CPU kernels against candle's own ops (outputs and gradients within 1e-4 relative)
//! on odd shapes, strides and batch sizes.

use candle_core::{Device, Tensor, Var};
use tnet_hourglass::cpu;

fn randn(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = tnet_tensor::random::SeededRng::new(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn rel_err(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let d = (a - b)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let n = b
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    (d / n.max(1e-30)).sqrt()
}

#[test]
fn conv2d_matches_candle_with_gradients() {
    // (batch, c_in, h, w, c_out, k, stride, pad)
    let cases = [
        (1, 3, 9, 7, 5, 3, 1, 1),
        (3, 4, 8, 8, 6, 3, 1, 1),
        (2, 3, 13, 11, 4, 7, 2, 3),
        (5, 6, 5, 5, 7, 1, 1, 0),
        (2, 5, 7, 9, 3, 3, 2, 1),
        (4, 2, 6, 6, 3, 3, 1, 0),
        (1, 8, 4, 4, 8, 1, 1, 0),
        // at least 8 input channels: the tap-major weight gradient
        (3, 16, 7, 6, 5, 3, 1, 1),
        (2, 9, 9, 9, 4, 3, 2, 1),
        (1, 12, 5, 5, 3, 3, 1, 0),
        (2, 8, 6, 7, 6, 5, 1, 2),
        (4, 10, 11, 9, 7, 7, 2, 3),
        // 256 pixels or more: padded column-matrix rows
        (2, 8, 16, 17, 5, 3, 1, 1),
        (1, 3, 33, 33, 4, 3, 2, 1),
        // column matrices built in bands of output rows (forward and weight gradient)
        (1, 8, 40, 40, 4, 3, 1, 1),
        (2, 64, 16, 64, 2, 3, 1, 1),
        (1, 16, 24, 40, 3, 5, 1, 2),
    ];
    for (i, &(b, cin, h, w, cout, k, s, p)) in cases.iter().enumerate() {
        let x = Var::from_tensor(&randn(&[b, cin, h, w], i as u64)).unwrap();
        let wt = Var::from_tensor(&randn(&[cout, cin, k, k], 100 + i as u64)).unwrap();
        let probe = randn(
            &[b, cout, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1],
            200,
        );
        let ours = cpu::conv2d(&x, &wt, s, p).unwrap();
        let theirs = x.conv2d(&wt, p, s, 1, 1).unwrap();
        assert!(rel_err(&ours, &theirs) < 1e-5, "case {i} forward");
        let g1 = (&ours * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g2 = (&theirs * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (what, v) in [("input", x.as_tensor()), ("kernel", wt.as_tensor())] {
            let e = rel_err(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(e < 1e-4, "case {i} {what} gradient: {e}");
        }
    }
}

#[test]
fn conv2d_skips_the_input_gradient_of_a_constant() {
    let x = randn(&[2, 3, 6, 6], 1);
    let w = Var::from_tensor(&randn(&[4, 3, 3, 3], 2)).unwrap();
    let y = cpu::conv2d(&x, &w, 1, 1).unwrap();
    let g = y.sum_all().unwrap().backward().unwrap();
    assert!(g.get(&x).is_none());
    assert!(g.get(w.as_tensor()).is_some());
}

#[test]
fn conv2d_rejects_mismatched_shapes() {
    let x = randn(&[2, 3, 6, 6], 1);
    let w = randn(&[4, 5, 3, 3], 2);
    assert!(cpu::conv2d(&x, &w, 1, 1).is_err());
}

/// Fused training BatchNorm (+ residual) (+ ReLU) against candle's ops, with gradients for the
/// input, gamma, beta and the residual, and the unbiased batch variance for running stats.
#[test]
fn batch_norm_matches_candle_with_gradients() {
    for (i, &(b, c, h, w)) in [(2, 3, 5, 4), (3, 5, 1, 7), (1, 2, 3, 3), (4, 6, 8, 8)]
        .iter()
        .enumerate()
    {
        for (residual, relu) in [(false, false), (false, true), (true, true), (true, false)] {
            let x = Var::from_tensor(&randn(&[b, c, h, w], i as u64).affine(2.0, 0.5).unwrap())
                .unwrap();
            let gamma = Var::from_tensor(&randn(&[c], 10 + i as u64)).unwrap();
            let beta = Var::from_tensor(&randn(&[c], 20 + i as u64)).unwrap();
            let r = Var::from_tensor(&randn(&[b, c, h, w], 30 + i as u64)).unwrap();
            let probe = randn(&[b, c, h, w], 40 + i as u64);
            let (ours, stats) = cpu::batch_norm_train(
                &x,
                &gamma,
                &beta,
                residual.then_some(r.as_tensor()),
                relu,
                1e-5,
            )
            .unwrap();
            let mean = x.mean_keepdim((0, 2, 3)).unwrap();
            let xc = x.broadcast_sub(&mean).unwrap();
            let var = xc.sqr().unwrap().mean_keepdim((0, 2, 3)).unwrap();
            let mut theirs = xc
                .broadcast_div(&(&var + 1e-5).unwrap().sqrt().unwrap())
                .unwrap()
                .broadcast_mul(&gamma.reshape((1, c, 1, 1)).unwrap())
                .unwrap()
                .broadcast_add(&beta.reshape((1, c, 1, 1)).unwrap())
                .unwrap();
            if residual {
                theirs = (theirs + r.as_tensor()).unwrap();
            }
            if relu {
                theirs = theirs.relu().unwrap();
            }
            let tag = format!("case {i} residual {residual} relu {relu}");
            assert!(rel_err(&ours, &theirs) < 1e-5, "{tag} forward");
            let n = (b * h * w) as f64;
            let unbiased = (var.flatten_all().unwrap() * (n / (n - 1.0))).unwrap();
            assert!(
                rel_err(&stats.get(1).unwrap(), &unbiased) < 1e-5,
                "{tag} variance"
            );
            assert!(
                rel_err(&stats.get(0).unwrap(), &mean.flatten_all().unwrap()) < 1e-5,
                "{tag} mean"
            );
            let g1 = (&ours * &probe)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g2 = (&theirs * &probe)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let mut vars = vec![("x", &x), ("gamma", &gamma), ("beta", &beta)];
            if residual {
                vars.push(("residual", &r));
            }
            for (what, v) in vars {
                let e = rel_err(
                    g1.get(v.as_tensor()).unwrap(),
                    g2.get(v.as_tensor()).unwrap(),
                );
                assert!(e < 1e-4, "{tag} {what} gradient: {e}");
            }
        }
    }
}

/// Max-pooling and upsampling against candle's ops (random data: no ties), with gradients.
#[test]
fn pooling_and_upsampling_match_candle_with_gradients() {
    for (i, &(b, c, h, w)) in [(2, 3, 8, 6), (1, 2, 5, 7), (3, 4, 2, 2)]
        .iter()
        .enumerate()
    {
        let x = Var::from_tensor(&randn(&[b, c, h, w], 50 + i as u64)).unwrap();
        let ours = cpu::max_pool2(&x).unwrap();
        let theirs = x.max_pool2d(2).unwrap();
        assert!(rel_err(&ours, &theirs) == 0.0, "case {i} pool forward");
        let probe = randn(ours.dims(), 60);
        let g1 = (&ours * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        // By hand: each window's probe value lands on its maximum. (candle 0.11's own max-pool
        // backward does not give this; it is not the reference here.)
        let xv: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        let pv: Vec<f32> = probe.flatten_all().unwrap().to_vec1().unwrap();
        let (oh, ow) = (h / 2, w / 2);
        let mut want = vec![0f32; b * c * h * w];
        for p in 0..b * c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let idx = [
                        (2 * oy, 2 * ox),
                        (2 * oy, 2 * ox + 1),
                        (2 * oy + 1, 2 * ox),
                        (2 * oy + 1, 2 * ox + 1),
                    ]
                    .map(|(y, xx)| p * h * w + y * w + xx);
                    let best = idx
                        .iter()
                        .copied()
                        .fold(idx[0], |m, k| if xv[k] > xv[m] { k } else { m });
                    want[best] = pv[p * oh * ow + oy * ow + ox];
                }
            }
        }
        let got: Vec<f32> = g1
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(got, want, "case {i} pool gradient");

        let ours = cpu::upsample2(&x).unwrap();
        let theirs = tnet_hourglass::ops::upsample_nearest2x(&x).unwrap();
        assert!(rel_err(&ours, &theirs) == 0.0, "case {i} upsample forward");
        let probe = randn(ours.dims(), 70);
        // The upsampled tensor's input also feeds another op: gradients must add up.
        let g1 = ((&ours * &probe).unwrap().sum_all().unwrap() + x.sum_all().unwrap())
            .unwrap()
            .backward()
            .unwrap();
        let g2 = ((&theirs * &probe).unwrap().sum_all().unwrap() + x.sum_all().unwrap())
            .unwrap()
            .backward()
            .unwrap();
        assert!(
            rel_err(g1.get(&x).unwrap(), g2.get(&x).unwrap()) < 1e-6,
            "case {i} upsample gradient"
        );
    }
}

/// Ties (all-zero windows after a ReLU) send the gradient to the first maximum only.
#[test]
fn pooling_ties_go_to_the_first_maximum() {
    let x = Var::from_tensor(
        &Tensor::zeros((1, 1, 2, 2), candle_core::DType::F32, &Device::Cpu).unwrap(),
    )
    .unwrap();
    let y = cpu::max_pool2(&x).unwrap();
    let g = y.sum_all().unwrap().backward().unwrap();
    let gx: Vec<f32> = g.get(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(gx, vec![1.0, 0.0, 0.0, 0.0]);
}

/// The reduction-based pooling (used off the CPU) agrees with the CPU op, values and gradients.
#[test]
fn reduction_pooling_matches_the_cpu_op() {
    for (i, &(b, c, h, w)) in [(2, 3, 8, 6), (1, 2, 5, 7)].iter().enumerate() {
        let x = Var::from_tensor(&randn(&[b, c, h, w], 80 + i as u64)).unwrap();
        let a = cpu::max_pool2(&x).unwrap();
        let r = cpu::max_pool2_by_reduction(&x).unwrap();
        assert!(rel_err(&r, &a) == 0.0, "case {i}");
        let probe = randn(a.dims(), 90);
        let g1 = (&a * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g2 = (&r * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(
            rel_err(g2.get(&x).unwrap(), g1.get(&x).unwrap()) < 1e-6,
            "case {i} gradient"
        );
    }
}

/// The per-channel bias add against candle's broadcast add, with gradients; the input also
/// feeds a second op, so its gradient must be the sum of both paths.
#[test]
fn channel_bias_matches_candle_with_gradients() {
    for (i, &(b, c, h, w)) in [(2, 3, 5, 7), (1, 16, 8, 8), (3, 5, 1, 1)]
        .iter()
        .enumerate()
    {
        let x = Var::from_tensor(&randn(&[b, c, h, w], 80 + i as u64)).unwrap();
        let bias = Var::from_tensor(&randn(&[c], 90 + i as u64)).unwrap();
        let ours = cpu::add_channel_bias(&x, &bias).unwrap();
        let theirs = x
            .broadcast_add(&bias.reshape((1, c, 1, 1)).unwrap())
            .unwrap();
        assert!(rel_err(&ours, &theirs) == 0.0, "case {i} forward");
        let probe = randn(&[b, c, h, w], 95);
        let loss = |y: &Tensor| {
            ((y * &probe).unwrap().sum_all().unwrap() + x.sqr().unwrap().sum_all().unwrap())
                .unwrap()
                .backward()
                .unwrap()
        };
        let (g1, g2) = (loss(&ours), loss(&theirs));
        for (what, v) in [("input", x.as_tensor()), ("bias", bias.as_tensor())] {
            let e = rel_err(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(e < 1e-6, "case {i} {what} gradient: {e}");
        }
    }
}
