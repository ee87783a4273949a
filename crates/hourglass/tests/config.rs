//! Configuration checks and the parameter / FLOP accounting, by hand.

use tnet_hourglass::{ConfigError, Head, HourglassConfig, Parametrization, Path, Preset, Resolved};

#[test]
fn preset_counts_by_hand() {
    let mpii = HourglassConfig::preset(Preset::Mpii).unwrap();
    assert_eq!(mpii.tensor_shape(), [2, 4, 3, 2, 128, 128, 3, 3]);
    assert_eq!(mpii.tensor_params(), 7_077_888);
    assert_eq!(mpii.param_count(), 7_077_888);
    // Stem 9408 + 128 + 73728 + 256 + 147456 + 256 = 231232; per stack: hourglass BN
    // 4*3*2*2*128 = 6144, feat conv + BN 16384 + 256, head 128*16 + 16; merges
    // (16384 + 128) + (16*128 + 128) once.
    assert_eq!(
        mpii.other_params(),
        231_232 + 2 * (6144 + 16_384 + 256 + 2048 + 16) + 16_512 + 2176
    );
    let small = HourglassConfig::preset(Preset::Small).unwrap();
    assert_eq!(small.tensor_params(), 4 * 3 * 2 * 32 * 32 * 9);
    // Stem 2352 + 32 + 4608 + 64 + 9216 + 64, BN 1536, feat 1024 + 64, head 512 + 16.
    assert_eq!(small.other_params(), 16_336 + 1536 + 1088 + 528);
    assert_eq!(small.total_params(), 221_184 + 19_488);
}

#[test]
fn parametrization_counts() {
    let mpii = HourglassConfig::preset(Preset::Mpii).unwrap();
    let t = mpii
        .with_param(Parametrization::Tucker(vec![2, 4, 3, 2, 64, 64, 3, 3]))
        .unwrap();
    let core = 2 * 4 * 3 * 2 * 64 * 64 * 3 * 3;
    let factors = 2 * 2 + 4 * 4 + 3 * 3 + 2 * 2 + 128 * 64 * 2 + 3 * 3 * 2;
    assert_eq!(t.param_count(), core + factors);
    assert!((t.compression_ratio() - 7_077_888.0 / (core + factors) as f64).abs() < 1e-12);
    let cp = mpii.with_param(Parametrization::Cp(100)).unwrap();
    assert_eq!(
        cp.param_count(),
        100 + 100 * (2 + 4 + 3 + 2 + 128 + 128 + 3 + 3)
    );
    let tt = mpii
        .with_param(Parametrization::Tt(vec![1, 2, 8, 24, 48, 64, 9, 3, 1]))
        .unwrap();
    let want = 2 * 2
        + 2 * 4 * 8
        + 8 * 3 * 24
        + 24 * 2 * 48
        + 48 * 128 * 64
        + 64 * 128 * 9
        + 9 * 3 * 3
        + 3 * 3;
    assert_eq!(tt.param_count(), want);
    let c10 = mpii
        .with_param(Parametrization::TuckerCompression(10.0))
        .unwrap();
    assert!(
        c10.compression_ratio() >= 10.0 && c10.compression_ratio() < 16.0,
        "{}",
        c10.compression_ratio()
    );
    assert!(matches!(c10.param, Resolved::Tucker { .. }));
}

#[test]
fn slicing_follows_the_spec_index() {
    let mpii = HourglassConfig::preset(Preset::Mpii).unwrap();
    assert_eq!(mpii.kernel_index(0, 1, Path::Skip, 0), [0, 0, 0, 0]);
    assert_eq!(mpii.kernel_index(1, 4, Path::Up, 1), [1, 3, 2, 1]);
    assert_eq!(mpii.kernel_index(1, 2, Path::Down, 0), [1, 1, 1, 0]);
}

#[test]
fn flops_of_a_tiny_network_by_hand() {
    // 1 stack, depth 1, b_depth 1, 2 features, 1 joint, input 8:
    // stem 2*3*1*49*4^2 + 2*1*2*9*4^2 + 2*2*2*9*2^2 = 4704 + 576 + 288; hourglass: skip block at
    // 2x2 (288), down and up at 1x1 (72 each); 1x1 convs at 2x2: 32 + 16.
    let c = HourglassConfig::new(
        1,
        1,
        1,
        2,
        Head::Pose { joints: 1 },
        8,
        Parametrization::Dense,
    )
    .unwrap();
    assert_eq!(c.forward_flops(), 6048.0);
    // A factorized tensor adds its reconstruction: rebuilding the (1,1,3,1,2,2,3,3) tensor
    // (108 entries) from a rank-1 CP costs 2 * 1 * 108 = 216.
    let cp = c.with_param(Parametrization::Cp(1)).unwrap();
    assert_eq!(cp.forward_flops() - c.forward_flops(), 216.0);
    let mpii = HourglassConfig::preset(Preset::Mpii).unwrap();
    let g = mpii.forward_flops() / 1e9;
    assert!(g > 5.0 && g < 60.0, "{g} GFLOPs");
}

#[test]
fn bad_configurations_say_what_is_allowed() {
    let pose = Head::Pose { joints: 16 };
    let e = HourglassConfig::new(2, 4, 2, 127, pose, 256, Parametrization::Dense).unwrap_err();
    assert_eq!(e, ConfigError::OddFeatures(127));
    let e = HourglassConfig::new(2, 4, 2, 128, pose, 200, Parametrization::Dense).unwrap_err();
    assert!(
        e.to_string().contains("divisible by 4 * 2^depth = 64"),
        "{e}"
    );
    assert!(matches!(
        HourglassConfig::new(0, 4, 2, 128, pose, 256, Parametrization::Dense).unwrap_err(),
        ConfigError::Zero {
            what: "n_stacks",
            ..
        }
    ));
    let mpii = HourglassConfig::preset(Preset::Mpii).unwrap();
    let e = mpii
        .with_param(Parametrization::Tucker(vec![2, 4, 3, 2, 129, 64, 3, 3]))
        .unwrap_err();
    assert!(
        e.to_string().contains("mode 4 (f_out)") && e.to_string().contains("1..=128"),
        "{e}"
    );
    let e = mpii
        .with_param(Parametrization::Tucker(vec![2, 0, 3, 2, 64, 64, 3, 3]))
        .unwrap_err();
    assert!(e.to_string().contains("mode 1 (depth)"), "{e}");
    let e = mpii
        .with_param(Parametrization::Tucker(vec![2, 4]))
        .unwrap_err();
    assert!(matches!(
        e,
        ConfigError::RankCount {
            expected: 8,
            got: 2,
            ..
        }
    ));
    assert!(mpii.with_param(Parametrization::Cp(0)).is_err());
    let e = mpii
        .with_param(Parametrization::Tt(vec![1, 3, 1, 1, 1, 1, 1, 1, 1]))
        .unwrap_err();
    assert!(e.to_string().contains("1..=2"), "{e}"); // r1 <= min(2, rest)
    assert!(
        mpii.with_param(Parametrization::Tt(vec![2, 1, 1, 1, 1, 1, 1, 1, 1]))
            .is_err()
    );
    assert!(
        mpii.with_param(Parametrization::TuckerCompression(1e12))
            .is_err()
    );
}

/// The layer-by-layer baseline's counts by hand, and the budget rules: the compression asked
/// for is reached, as closely as the next rank up would overshoot.
#[test]
fn per_layer_counts_and_budgets() {
    let small = HourglassConfig::preset(Preset::Small).unwrap();
    assert_eq!(small.layer_shape(), [32, 32, 3, 3]);
    let lt = small
        .with_param(Parametrization::LayerTucker(vec![7, 7, 3, 3]))
        .unwrap();
    // Per kernel: core 7*7*3*3 = 441, factors 32*7*2 + 3*3*2 = 466; 24 kernels.
    assert_eq!(lt.param_count(), 24 * (441 + 466));
    let lc = small.with_param(Parametrization::LayerCp(12)).unwrap();
    assert_eq!(lc.param_count(), 24 * (12 + 12 * (32 + 32 + 3 + 3)));
    let ltt = small
        .with_param(Parametrization::LayerTt(vec![1, 5, 4, 3, 1]))
        .unwrap();
    assert_eq!(
        ltt.param_count(),
        24 * (32 * 5 + 5 * 32 * 4 + 4 * 3 * 3 + 3 * 3)
    );
    for c in [2.0, 4.0, 10.0, 30.0] {
        let layer = |kind| {
            small
                .with_param(Parametrization::LayerCompression(kind, c))
                .unwrap()
        };
        let tucker = layer(tnet_hourglass::LayerKind::Tucker);
        match tucker.param {
            // Tucker-2: whole spatial modes, one channel rank; one more would break the budget.
            Resolved::LayerTucker {
                ranks: [a, b, 3, 3],
            } => {
                assert_eq!(a, b);
                let next = (a + 1) * (a + 1) * 9 + 2 * 32 * (a + 1) + 18;
                assert!(
                    24.0 * next as f64 > 221_184.0 / c,
                    "{c}: rank {a} not the largest"
                );
            }
            other => panic!("{other:?}"),
        }
        let cp = layer(tnet_hourglass::LayerKind::Cp);
        let tt = layer(tnet_hourglass::LayerKind::Tt);
        let whole_cp = small.with_param(Parametrization::CpCompression(c)).unwrap();
        let whole_tt = small.with_param(Parametrization::TtCompression(c)).unwrap();
        for cfg in [&tucker, &cp, &tt, &whole_cp, &whole_tt] {
            assert!(cfg.compression_ratio() >= c, "{:?} at {c}", cfg.param);
            // Within 1.5x of the target: the budget is used, not wasted.
            assert!(cfg.compression_ratio() < 1.5 * c, "{:?} at {c}", cfg.param);
        }
        if let Resolved::Cp { rank } = whole_cp.param {
            // One more rank would cost 1 + sum(I) = 1 + 80 parameters over the budget.
            assert!(((rank + 1) * 81) as f64 > 221_184.0 / c);
        }
    }
    // Bad per-layer ranks name the mode.
    let err = small
        .with_param(Parametrization::LayerTucker(vec![7, 7, 4, 3]))
        .unwrap_err();
    assert!(err.to_string().contains("mode 6 (h)"), "{err}");
    let err = small
        .with_param(Parametrization::LayerTt(vec![2, 5, 4, 3, 1]))
        .unwrap_err();
    assert!(err.to_string().contains("first and last"), "{err}");
    let err = small
        .with_param(Parametrization::LayerTucker(vec![7, 7, 3]))
        .unwrap_err();
    assert!(err.to_string().contains("needs 4 ranks"), "{err}");
    let err = small
        .with_param(Parametrization::LayerCompression(
            tnet_hourglass::LayerKind::Tucker,
            1000.0,
        ))
        .unwrap_err();
    assert!(err.to_string().contains("out of reach"), "{err}");
}

#[test]
fn a_parametrization_is_shown_as_the_command_line_spells_it() {
    let t = Resolved::Tucker {
        ranks: [1, 4, 3, 2, 32, 32, 3, 3],
    };
    assert_eq!(t.to_string(), "tucker ranks 1,4,3,2,32,32,3,3");
    assert_eq!(
        Resolved::LayerCp { rank: 12 }.to_string(),
        "layer-cp rank 12"
    );
    assert_eq!(Resolved::Dense.to_string(), "dense");
}
