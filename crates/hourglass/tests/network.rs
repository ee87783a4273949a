//! The candle network: the slicing rule, equivalences, gradients, shapes, and that it learns.

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, IndexOp, Tensor, Var};
use candle_nn::Optimizer;
use ndarray::{Array2, ArrayD};
use tnet_hourglass::loss::{pose_loss, segmentation_loss};
use tnet_hourglass::{
    FactorizedTensor, Head, HourglassConfig, KernelMode, NetOptions, Parametrization, Path, TNet,
};

fn tiny(stacks: usize, head: Head, param: Parametrization) -> HourglassConfig {
    HourglassConfig::new(stacks, 2, 2, 4, head, 16, param).unwrap()
}

fn input(b: usize, s: usize, seed: u64) -> Tensor {
    let mut rng = tnet_tensor::random::SeededRng::new(seed);
    let v: Vec<f32> = (0..b * 3 * s * s).map(|_| rng.normal() as f32).collect();
    Tensor::from_vec(v, (b, 3, s, s), &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn max_abs(a: &Tensor) -> f32 {
    a.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn pose_targets(cfg: &HourglassConfig, b: usize, seed: u64) -> (Tensor, Tensor) {
    let k = cfg.head.channels();
    let h = cfg.input_size / 4;
    let mut rng = tnet_tensor::random::SeededRng::new(seed);
    let mut t = vec![0f32; b * k * h * h];
    for bk in 0..b * k {
        let (cy, cx) = (rng.uniform() * h as f64, rng.uniform() * h as f64);
        for y in 0..h {
            for x in 0..h {
                let d2 = (y as f64 - cy).powi(2) + (x as f64 - cx).powi(2);
                t[bk * h * h + y * h + x] = (-d2 / 2.0).exp() as f32;
            }
        }
    }
    let mut w = vec![1f32; b * k];
    w[0] = 0.0; // one unlabelled joint
    (
        Tensor::from_vec(t, (b, k, h, h), &Device::Cpu).unwrap(),
        Tensor::from_vec(w, (b, k), &Device::Cpu).unwrap(),
    )
}

fn step_grads(
    net: &TNet,
    mode: KernelMode,
    x: &Tensor,
    t: &Tensor,
    w: &Tensor,
) -> (f32, GradStore) {
    let k = net.kernels(mode).unwrap();
    let out = net.forward_with(&k, x, true).unwrap();
    let loss = pose_loss(&out, t, w).unwrap();
    let grads = net.backward(&k, &loss).unwrap();
    (loss.to_scalar::<f32>().unwrap(), grads)
}

/// Dense network and a full-rank Tucker network with core = the dense tensor and identity
/// factors compute the same function, and the core's gradient is the dense tensor's.
#[test]
fn dense_equals_full_rank_tucker_with_identity_factors() {
    let pose = Head::Pose { joints: 3 };
    let dense_cfg = tiny(2, pose, Parametrization::Dense);
    let shape = dense_cfg.tensor_shape();
    let opts = NetOptions {
        seed: 7,
        ..NetOptions::default()
    };
    let dense = TNet::new(&dense_cfg, &opts, &Device::Cpu).unwrap();
    let full: ArrayD<f64> = {
        let t = dense
            .tensor()
            .to_tensor()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        ArrayD::from_shape_vec(shape.to_vec(), t.flatten_all().unwrap().to_vec1().unwrap()).unwrap()
    };
    let eye: Vec<Array2<f64>> = shape.iter().map(|&n| Array2::eye(n)).collect();
    let tucker_cfg = dense_cfg
        .with_param(Parametrization::Tucker(shape.to_vec()))
        .unwrap();
    let tensor = FactorizedTensor::tucker_parts(full, eye, DType::F32, &Device::Cpu).unwrap();
    let tucker = TNet::with_tensor(&tucker_cfg, tensor, &opts, &Device::Cpu).unwrap();

    let x = input(2, 16, 1);
    let (t, w) = pose_targets(&dense_cfg, 2, 2);
    for train in [false, true] {
        let a = dense.forward_t(&x, train).unwrap();
        let b = tucker.forward_t(&x, train).unwrap();
        assert_eq!(a.len(), 2);
        for (a, b) in a.iter().zip(&b) {
            assert!(
                max_abs_diff(a, b) < 1e-5 * (1.0 + max_abs(a)),
                "train {train}"
            );
        }
    }
    let (la, ga) = step_grads(&dense, KernelMode::Split, &x, &t, &w);
    let (lb, gb) = step_grads(&tucker, KernelMode::Split, &x, &t, &w);
    assert!((la - lb).abs() < 1e-5 * la.abs());
    let gw = ga
        .get(dense.params().get("tensor.full").unwrap().as_tensor())
        .unwrap();
    let gc = gb
        .get(tucker.params().get("tensor.core").unwrap().as_tensor())
        .unwrap();
    assert!(max_abs(gw) > 0.0);
    assert!(max_abs_diff(gw, gc) < 1e-4 * max_abs(gw));
    for (name, v) in dense.params().trainable() {
        if name.starts_with("tensor.") {
            continue;
        }
        let other = tucker.params().get(name).unwrap();
        let (g1, g2) = (
            ga.get(v.as_tensor()).unwrap(),
            gb.get(other.as_tensor()).unwrap(),
        );
        assert!(
            max_abs_diff(g1, g2) <= 1e-4 * (max_abs(g1) + 1e-6),
            "{name}"
        );
    }
    // Identity factors still get gradients (they are trained too).
    let gf = gb
        .get(tucker.params().get("tensor.factors.4").unwrap().as_tensor())
        .unwrap();
    assert!(max_abs(gf) > 0.0);
}

/// The split backward (leaf slices + one concatenation + surrogate pass) gives the gradients
/// plain autograd gives through per-kernel indexing, for every parametrization.
#[test]
fn split_backward_equals_plain_autograd() {
    let pose = Head::Pose { joints: 3 };
    for param in [
        Parametrization::Dense,
        Parametrization::Tucker(vec![1, 2, 2, 2, 3, 3, 2, 2]),
        Parametrization::Cp(5),
        Parametrization::Tt(vec![1, 1, 2, 3, 2, 3, 3, 2, 1]),
        Parametrization::LayerTucker(vec![2, 3, 3, 2]),
        Parametrization::LayerCp(3),
        Parametrization::LayerTt(vec![1, 2, 3, 2, 1]),
    ] {
        let cfg = tiny(1, pose, param.clone());
        let net = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu).unwrap();
        let x = input(2, 16, 3);
        let (t, w) = pose_targets(&cfg, 2, 4);
        let (la, ga) = step_grads(&net, KernelMode::Attached, &x, &t, &w);
        let (lb, gb) = step_grads(&net, KernelMode::Split, &x, &t, &w);
        assert!((la - lb).abs() <= 1e-6 * la.abs(), "{param:?}");
        for (name, v) in net.params().trainable() {
            let g1 = ga
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("{name} {param:?}"));
            let g2 = gb
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("{name} {param:?}"));
            assert!(
                max_abs_diff(g1, g2) <= 1e-4 * (max_abs(g1) + 1e-7),
                "{name} {param:?}: {} vs {}",
                max_abs_diff(g1, g2),
                max_abs(g1)
            );
        }
    }
}

/// Each layer's kernel is `W[s, n-1, path, i]`: the pass uses the slice that leading-mode
/// indexing (from the parts, without the full tensor) gives, and the full reconstruction agrees.
#[test]
fn layers_take_the_spec_slice() {
    let pose = Head::Pose { joints: 3 };
    for param in [
        Parametrization::Dense,
        Parametrization::Tucker(vec![2, 2, 2, 2, 3, 3, 2, 2]),
        Parametrization::Cp(4),
        Parametrization::Tt(vec![1, 2, 2, 3, 2, 3, 3, 2, 1]),
        Parametrization::LayerTucker(vec![2, 2, 3, 3]),
        Parametrization::LayerCp(3),
        Parametrization::LayerTt(vec![1, 2, 3, 2, 1]),
    ] {
        let cfg = tiny(2, pose, param.clone());
        let net = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu).unwrap();
        let full = net.tensor().to_tensor().unwrap();
        let kernels = net.kernels(KernelMode::Eval).unwrap();
        for s in 0..2 {
            for n in 1..=2 {
                for path in [Path::Skip, Path::Down, Path::Up] {
                    for i in 0..2 {
                        let idx = cfg.kernel_index(s, n, path, i);
                        assert_eq!(idx, [s, n - 1, path as usize, i]);
                        let by_parts = net.tensor().index_leading(&idx).unwrap();
                        let by_full = full.i((s, n - 1, path as usize, i)).unwrap();
                        let used = kernels.get(cfg.flat_layer(s, n, path, i));
                        assert_eq!(by_parts.dims(), [4, 4, 3, 3]);
                        assert!(max_abs_diff(&by_parts, &by_full) < 1e-6, "{param:?}");
                        assert!(max_abs_diff(used, &by_full) == 0.0, "{param:?}");
                        if let FactorizedTensor::Slices { slices, .. } = net.tensor() {
                            // Layer by layer: the kernel is its own tensor's reconstruction.
                            let own = slices[cfg.flat_layer(s, n, path, i)].to_tensor().unwrap();
                            assert!(max_abs_diff(&own, &by_full) == 0.0, "{param:?}");
                        }
                    }
                }
            }
        }
    }
}

/// An independent forward pass written from docs/model.md with kernels fetched by
/// `W[s, n-1, path, i]` (eval mode: BN with running stats 0 / 1 is `gamma x / sqrt(1 + eps) + beta`).
#[test]
fn forward_matches_a_reference_written_from_the_spec() {
    let cfg = tiny(2, Head::Pose { joints: 3 }, Parametrization::Cp(6));
    let net = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu).unwrap();
    let p = |name: &str| net.params().get(name).unwrap().as_tensor().clone();
    let bn = |x: &Tensor| (x / (1.0f64 + 1e-5).sqrt()).unwrap();
    let kernel = |s: usize, n: usize, path: usize, i: usize| {
        net.tensor().index_leading(&[s, n - 1, path, i]).unwrap()
    };
    let block = |s: usize, n: usize, path: usize, x: &Tensor| {
        let y = bn(&x.conv2d(&kernel(s, n, path, 0), 1, 1, 1, 1).unwrap())
            .relu()
            .unwrap();
        let y = bn(&y.conv2d(&kernel(s, n, path, 1), 1, 1, 1, 1).unwrap());
        (x + y).unwrap().relu().unwrap()
    };
    fn hg(
        n: usize,
        s: usize,
        x: &Tensor,
        block: &dyn Fn(usize, usize, usize, &Tensor) -> Tensor,
    ) -> Tensor {
        let up = block(s, n, 0, x);
        let mut low = block(s, n, 1, &x.max_pool2d(2).unwrap());
        if n > 1 {
            low = hg(n - 1, s, &low, block);
        }
        low = block(s, n, 2, &low);
        let (b, c, h, w) = low.dims4().unwrap();
        let upsampled = low
            .upsample_nearest2d(2 * h, 2 * w)
            .unwrap()
            .reshape((b, c, 2 * h, 2 * w))
            .unwrap();
        (up + upsampled).unwrap()
    }
    let conv1 = |x: &Tensor, name: &str, bias: bool| {
        let y = x.conv2d(&p(&format!("{name}.weight")), 0, 1, 1, 1).unwrap();
        if bias {
            let b = p(&format!("{name}.bias"));
            y.broadcast_add(&b.reshape((1, (), 1, 1)).unwrap()).unwrap()
        } else {
            y
        }
    };
    let x = input(2, 16, 9);
    let mut h = bn(&x.conv2d(&p("stem.0.conv.weight"), 3, 2, 1, 1).unwrap())
        .relu()
        .unwrap();
    h = bn(&h.conv2d(&p("stem.1.conv.weight"), 1, 1, 1, 1).unwrap())
        .relu()
        .unwrap();
    h = h.max_pool2d(2).unwrap();
    h = bn(&h.conv2d(&p("stem.2.conv.weight"), 1, 1, 1, 1).unwrap())
        .relu()
        .unwrap();
    let mut expected = vec![];
    for s in 0..2 {
        let f = hg(2, s, &h, &block);
        let feat = bn(&conv1(&f, &format!("stack.{s}.feat.conv"), false))
            .relu()
            .unwrap();
        let heat = conv1(&feat, &format!("stack.{s}.head"), true);
        if s == 0 {
            h = ((&h + conv1(&feat, "stack.0.merge_feat", true)).unwrap()
                + conv1(&heat, "stack.0.merge_heat", true))
            .unwrap();
        }
        expected.push(heat);
    }
    let got = net.forward_t(&x, false).unwrap();
    for (e, g) in expected.iter().zip(&got) {
        assert!(max_abs(e) > 1e-3);
        assert!(max_abs_diff(e, g) < 1e-5 * (1.0 + max_abs(e)));
    }
}

#[test]
fn parameter_counts_match_the_config_formulas() {
    let pose = Head::Pose { joints: 16 };
    for param in [
        Parametrization::Dense,
        Parametrization::Tucker(vec![1, 2, 2, 2, 8, 8, 2, 3]),
        Parametrization::Cp(7),
        Parametrization::Tt(vec![1, 2, 4, 4, 8, 8, 6, 3, 1]),
        Parametrization::LayerTucker(vec![4, 5, 3, 2]),
        Parametrization::LayerCp(5),
        Parametrization::LayerTt(vec![1, 3, 6, 3, 1]),
    ] {
        let cfg = HourglassConfig::new(2, 2, 2, 16, pose, 16, param.clone()).unwrap();
        let net = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu).unwrap();
        assert_eq!(net.tensor().param_count(), cfg.param_count(), "{param:?}");
        assert_eq!(
            net.params().trainable_count(),
            cfg.total_params(),
            "{param:?}"
        );
    }
    // The mpii dense tensor holds 2*4*3*2*128*128*3*3 entries.
    let mpii = HourglassConfig::preset(tnet_hourglass::Preset::Mpii).unwrap();
    assert_eq!(mpii.tensor_params(), 7_077_888);
    assert_eq!(mpii.layer_count(), 48);
    assert_eq!(
        mpii.flat_layer(1, 3, Path::Up, 1),
        ((4 + 2) * 3 + 2) * 2 + 1
    );
}

#[test]
fn output_shapes_for_pose_and_segmentation() {
    let pose = HourglassConfig::new(
        2,
        2,
        1,
        6,
        Head::Pose { joints: 5 },
        32,
        Parametrization::Dense,
    )
    .unwrap();
    let net = TNet::new(&pose, &NetOptions::default(), &Device::Cpu).unwrap();
    let out = net.forward_t(&input(3, 32, 0), true).unwrap();
    assert_eq!(out.len(), 2);
    for o in &out {
        assert_eq!(o.dims(), [3, 5, 8, 8]);
    }
    let seg = pose.clone();
    let seg = HourglassConfig {
        head: Head::Segmentation { classes: 11 },
        ..seg
    };
    let net = TNet::new(&seg, &NetOptions::default(), &Device::Cpu).unwrap();
    let out = net.forward_t(&input(2, 32, 0), false).unwrap();
    for o in &out {
        assert_eq!(o.dims(), [2, 11, 32, 32]);
    }
    // Wrong input sizes are errors, not panics.
    assert!(net.forward_t(&input(2, 16, 0), false).is_err());
}

#[test]
fn tensor_dropout_only_in_training() {
    let cfg = tiny(
        1,
        Head::Pose { joints: 3 },
        Parametrization::Tucker(vec![1, 2, 3, 2, 4, 4, 3, 3]),
    );
    let opts = NetOptions {
        tensor_dropout: [0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0],
        ..NetOptions::default()
    };
    let net = TNet::new(&cfg, &opts, &Device::Cpu).unwrap();
    let full = net.tensor().to_tensor().unwrap();
    let e1 = net.kernels(KernelMode::Eval).unwrap();
    let e2 = net.kernels(KernelMode::Eval).unwrap();
    let t1 = net.kernels(KernelMode::Split).unwrap();
    let t2 = net.kernels(KernelMode::Split).unwrap();
    let mut train_differs = false;
    for l in 0..e1.len() {
        assert_eq!(
            max_abs_diff(e1.get(l), &full.i((0, l / 6, (l / 2) % 3, l % 2)).unwrap()),
            0.0
        );
        assert_eq!(max_abs_diff(e1.get(l), e2.get(l)), 0.0);
        train_differs |= max_abs_diff(t1.get(l), t2.get(l)) > 0.0;
    }
    assert!(train_differs, "dropout never changed a training pass");
    // Dropout on a non-Tucker tensor is refused.
    let cp = tiny(1, Head::Pose { joints: 3 }, Parametrization::Cp(3));
    assert!(TNet::new(&cp, &opts, &Device::Cpu).is_err());
}

fn overfit(cfg: &HourglassConfig, steps: usize) -> (f32, f32) {
    let net = TNet::new(cfg, &NetOptions::default(), &Device::Cpu).unwrap();
    let vars: Vec<Var> = net
        .params()
        .trainable()
        .into_iter()
        .map(|(_, v)| v.clone())
        .collect();
    let mut opt = candle_nn::AdamW::new(
        vars,
        candle_nn::ParamsAdamW {
            lr: 1e-2,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    let x = input(2, cfg.input_size, 5);
    let (t, w) = pose_targets(cfg, 2, 6);
    let labels = {
        let s = cfg.input_size;
        // Constant on the 4x4 cells the nearest-upsampled logits can express.
        let v: Vec<u32> = (0..2 * s * s)
            .map(|i| {
                let (b, y, x) = (i / (s * s), (i / s) % s, i % s);
                ((b + y / 4 * 2 + x / 4 * 5) % 3) as u32
            })
            .collect();
        Tensor::from_vec(v, (2, s, s), &Device::Cpu).unwrap()
    };
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..steps {
        let k = net.kernels(KernelMode::Split).unwrap();
        let out = net.forward_with(&k, &x, true).unwrap();
        let loss = match cfg.head {
            Head::Pose { .. } => pose_loss(&out, &t, &w).unwrap(),
            Head::Segmentation { .. } => segmentation_loss(&out, &labels).unwrap(),
        };
        last = loss.to_scalar::<f32>().unwrap();
        first.get_or_insert(last);
        let grads = net.backward(&k, &loss).unwrap();
        opt.step(&grads).unwrap();
    }
    (first.unwrap(), last)
}

/// A tiny network drives the loss on one fixed batch down by 10x, in every parametrization.
#[test]
fn tiny_network_overfits_one_batch() {
    for param in [
        Parametrization::Dense,
        Parametrization::Tucker(vec![1, 2, 3, 2, 6, 6, 3, 3]),
        Parametrization::Cp(12),
        Parametrization::Tt(vec![1, 1, 2, 3, 6, 12, 6, 3, 1]),
        Parametrization::LayerTucker(vec![4, 4, 3, 3]),
    ] {
        let cfg =
            HourglassConfig::new(1, 2, 2, 8, Head::Pose { joints: 2 }, 16, param.clone()).unwrap();
        let (first, last) = overfit(&cfg, 150);
        assert!(last < first / 10.0, "{param:?}: loss {first} -> {last}");
    }
    let seg = HourglassConfig::new(
        1,
        2,
        2,
        8,
        Head::Segmentation { classes: 3 },
        16,
        Parametrization::Dense,
    )
    .unwrap();
    let (first, last) = overfit(&seg, 150);
    assert!(last < first / 10.0, "segmentation: loss {first} -> {last}");
}

/// BatchNorm keeps PyTorch's running statistics: momentum 0.1, unbiased variance.
#[test]
fn batch_norm_running_statistics_follow_pytorch() {
    let cfg = tiny(1, Head::Pose { joints: 3 }, Parametrization::Dense);
    let net = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu).unwrap();
    let x = input(2, 16, 11);
    // The first BN sees the stem's first conv output; compute its batch statistics by hand.
    let w = net
        .params()
        .get("stem.0.conv.weight")
        .unwrap()
        .as_tensor()
        .clone();
    let y = x.conv2d(&w, 3, 2, 1, 1).unwrap(); // (2, 2, 8, 8)
    let v: Vec<f32> = y
        .i((.., 0))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let n = v.len() as f64;
    let mean = v.iter().map(|&a| a as f64).sum::<f64>() / n;
    let var_unbiased = v.iter().map(|&a| (a as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    net.forward_t(&x, true).unwrap();
    let rm: Vec<f32> = net
        .params()
        .get("stem.0.bn.running_mean")
        .unwrap()
        .to_vec1()
        .unwrap();
    let rv: Vec<f32> = net
        .params()
        .get("stem.0.bn.running_var")
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!((rm[0] as f64 - 0.1 * mean).abs() < 1e-5);
    assert!((rv[0] as f64 - (0.9 + 0.1 * var_unbiased)).abs() < 1e-4);
    // Eval does not touch them.
    net.forward_t(&x, false).unwrap();
    let rm2: Vec<f32> = net
        .params()
        .get("stem.0.bn.running_mean")
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(rm, rm2);
}

/// The fast CPU kernels and candle's ops give the same network: outputs and every gradient.
#[test]
fn fast_cpu_kernels_equal_candle_ops_in_a_whole_step() {
    let cfg = HourglassConfig::new(
        2,
        2,
        2,
        6,
        Head::Pose { joints: 3 },
        32,
        Parametrization::Tucker(vec![2, 2, 3, 2, 4, 5, 3, 2]),
    )
    .unwrap();
    let fast = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu).unwrap();
    let slow = TNet::new(
        &cfg,
        &NetOptions {
            cpu_kernels: false,
            ..NetOptions::default()
        },
        &Device::Cpu,
    )
    .unwrap();
    let x = input(3, 32, 21);
    let (t, w) = pose_targets(&cfg, 3, 22);
    let (la, ga) = step_grads(&fast, KernelMode::Split, &x, &t, &w);
    let (lb, gb) = step_grads(&slow, KernelMode::Split, &x, &t, &w);
    assert!((la - lb).abs() <= 1e-5 * la.abs(), "{la} vs {lb}");
    for ((name, v), (name2, v2)) in fast
        .params()
        .trainable()
        .into_iter()
        .zip(slow.params().trainable())
    {
        assert_eq!(name, name2);
        let (g1, g2) = (
            ga.get(v.as_tensor()).unwrap(),
            gb.get(v2.as_tensor()).unwrap(),
        );
        assert!(
            max_abs_diff(g1, g2) <= 1e-4 * (max_abs(g2) + 1e-6),
            "{name}: {} vs {}",
            max_abs_diff(g1, g2),
            max_abs(g2)
        );
    }
    for (name, v, _) in fast.params().all() {
        if name.ends_with("running_var") || name.ends_with("running_mean") {
            let other = slow.params().get(name).unwrap();
            assert!(
                max_abs_diff(v.as_tensor(), other.as_tensor()) < 1e-5,
                "{name}"
            );
        }
    }
}

/// The candle-nn view shares the network's variables: a write through it is seen by the
/// network, and its names are the network's.
#[test]
fn varmap_view_shares_the_variables() {
    let cfg = tiny(
        1,
        Head::Pose { joints: 3 },
        Parametrization::Tucker(vec![1, 2, 3, 2, 4, 4, 3, 3]),
    );
    let net = TNet::new(&cfg, &NetOptions::default(), &Device::Cpu).unwrap();
    let map = net.params().to_varmap();
    assert_eq!(map.all_vars().len(), net.params().all().len());
    let core = map
        .data()
        .lock()
        .unwrap()
        .get("tensor.core")
        .unwrap()
        .clone();
    core.set(&core.zeros_like().unwrap()).unwrap();
    let k = net.kernels(KernelMode::Eval).unwrap();
    assert_eq!(max_abs(k.get(0)), 0.0);
}
