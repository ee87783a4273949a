//! TT-SVD and TT rounding against exact TT tensors, hand-made cases and the accuracy bound.

use ndarray::{Array3, ArrayD, IxDyn, array};
use tnet_tensor::random::{SeededRng, add_noise, random_normal};
use tnet_tensor::{TensorError, relative_error};
use tnet_tt::random_tt;
use tnet_tt::{TtRank, TtTensor, tensor_train};

#[test]
fn exact_recovery_orders_3_to_8() {
    let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![9, 8, 7], vec![1, 3, 4, 1]),
        (vec![6, 5, 7, 4], vec![1, 3, 4, 2, 1]),
        (vec![5, 4, 6, 3, 4], vec![1, 2, 3, 3, 2, 1]),
        (vec![4, 3, 5, 3, 4, 3], vec![1, 2, 3, 3, 3, 2, 1]),
        (vec![3, 4, 3, 2, 4, 3, 2], vec![1, 2, 3, 2, 3, 3, 2, 1]),
        (
            vec![2, 4, 3, 2, 16, 16, 3, 3],
            vec![1, 2, 4, 4, 5, 5, 3, 2, 1],
        ),
    ];
    for (seed, (shape, ranks)) in cases.into_iter().enumerate() {
        let mut rng = SeededRng::new(200 + seed as u64);
        let x = random_tt::<f64>(&shape, &ranks, &mut rng)
            .unwrap()
            .to_tensor();
        let tt = tensor_train(&x.view(), &TtRank::Ranks(ranks.clone()))
            .unwrap()
            .tt;
        let rel = relative_error(&x.view(), &tt.to_tensor().view()).unwrap();
        assert!(rel < 1e-9, "shape {shape:?}: {rel}");
        assert_eq!(tt.ranks(), ranks);
        // Accuracy mode finds the same ranks on its own.
        let tt = tensor_train(
            &x.view(),
            &TtRank::Accuracy {
                eps: 1e-10,
                max_rank: None,
            },
        )
        .unwrap()
        .tt;
        assert_eq!(tt.ranks(), ranks, "shape {shape:?}");
    }
}

#[test]
fn hand_case_rank_one() {
    // x = a ∘ b with a = (3, 4), b = (1, 2): one left core a/|a| (sign: largest entry positive)
    // and the right core |a| b.
    let x = array![[3.0f64, 6.0], [4.0, 8.0]].into_dyn();
    let tt = tensor_train(&x.view(), &TtRank::Max(1)).unwrap().tt;
    assert_eq!(tt.ranks(), vec![1, 1, 1]);
    let g0 = &tt.cores[0];
    let g1 = &tt.cores[1];
    assert!((g0[[0, 0, 0]] - 0.6).abs() < 1e-12 && (g0[[0, 1, 0]] - 0.8).abs() < 1e-12);
    assert!((g1[[0, 0, 0]] - 5.0).abs() < 1e-12 && (g1[[0, 1, 0]] - 10.0).abs() < 1e-12);
    assert_eq!(tt.n_params(), 4);
}

#[test]
fn ranks_are_clamped_like_tensorly() {
    let mut rng = SeededRng::new(3);
    let x = random_normal::<f64>(&[3, 4, 5], &mut rng);
    // Rank 10 everywhere: TensorLy's rule clamps r_1 to min(3, 20) = 3 and r_2 to min(12, 5) = 5.
    let tt = tensor_train(&x.view(), &TtRank::Max(10)).unwrap().tt;
    assert_eq!(tt.ranks(), vec![1, 3, 5, 1]);
    assert!(relative_error(&x.view(), &tt.to_tensor().view()).unwrap() < 1e-13);
    let err = tensor_train(&x.view(), &TtRank::Ranks(vec![1, 2, 1])).unwrap_err();
    assert!(matches!(
        err,
        TensorError::RankCount {
            expected: 4,
            got: 3,
            ..
        }
    ));
    let err = tensor_train(&x.view(), &TtRank::Ranks(vec![2, 2, 2, 1])).unwrap_err();
    assert!(
        err.to_string()
            .contains("first and last TT ranks must be 1"),
        "{err}"
    );
    assert!(tensor_train(&x.view(), &TtRank::Max(0)).is_err());
    assert!(
        tensor_train(
            &x.view(),
            &TtRank::Accuracy {
                eps: -1.0,
                max_rank: None
            }
        )
        .is_err()
    );
}

#[test]
fn accuracy_mode_meets_epsilon_on_noisy_tensors() {
    let mut rng = SeededRng::new(4);
    let mut x = random_tt::<f64>(&[6, 7, 8, 5, 4], &[1, 3, 4, 4, 3, 1], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.05, &mut rng);
    for eps in [0.2, 0.06, 0.01] {
        let tt = tensor_train(
            &x.view(),
            &TtRank::Accuracy {
                eps,
                max_rank: None,
            },
        )
        .unwrap()
        .tt;
        let rel = relative_error(&x.view(), &tt.to_tensor().view()).unwrap();
        assert!(
            rel <= eps,
            "eps {eps}: error {rel} with ranks {:?}",
            tt.ranks()
        );
    }
}

#[test]
fn rounding_recompresses_within_epsilon() {
    let mut rng = SeededRng::new(5);
    let shape = [5, 6, 7, 4];
    let a = random_tt::<f64>(&shape, &[1, 2, 3, 2, 1], &mut rng).unwrap();
    let b = random_tt::<f64>(&shape, &[1, 2, 2, 2, 1], &mut rng).unwrap();
    // The exact sum a + b as a TT with block-diagonal cores of ranks (1, 4, 5, 4, 1).
    let sum_cores: Vec<Array3<f64>> = (0..4)
        .map(|k| {
            let (ga, gb) = (&a.cores[k], &b.cores[k]);
            let (ra0, n, ra1) = ga.dim();
            let (rb0, _, rb1) = gb.dim();
            let r0 = if k == 0 { 1 } else { ra0 + rb0 };
            let r1 = if k == 3 { 1 } else { ra1 + rb1 };
            let mut g = Array3::<f64>::zeros((r0, n, r1));
            for i in 0..n {
                for p in 0..ra0 {
                    for q in 0..ra1 {
                        g[[p, i, q]] = ga[[p, i, q]];
                    }
                }
                for p in 0..rb0 {
                    for q in 0..rb1 {
                        let pp = if k == 0 { p } else { ra0 + p };
                        let qq = if k == 3 { q } else { ra1 + q };
                        g[[pp, i, qq]] = gb[[p, i, q]];
                    }
                }
            }
            g
        })
        .collect();
    let sum = TtTensor::new(sum_cores).unwrap();
    let dense = &a.to_tensor() + &b.to_tensor();
    assert!(relative_error(&dense.view(), &sum.to_tensor().view()).unwrap() < 1e-12);
    assert_eq!(sum.ranks(), vec![1, 4, 5, 4, 1]);
    // Exact rounding keeps it exact and cannot need more than the TT-SVD ranks.
    let exact = sum
        .round(&TtRank::Accuracy {
            eps: 1e-12,
            max_rank: None,
        })
        .unwrap();
    assert!(relative_error(&dense.view(), &exact.to_tensor().view()).unwrap() < 1e-10);
    let svd = tensor_train(
        &dense.view(),
        &TtRank::Accuracy {
            eps: 1e-12,
            max_rank: None,
        },
    )
    .unwrap()
    .tt;
    assert_eq!(exact.ranks(), svd.ranks());
    // Lossy rounding stays within its epsilon.
    for eps in [0.3, 0.1, 0.03] {
        let r = sum
            .round(&TtRank::Accuracy {
                eps,
                max_rank: None,
            })
            .unwrap();
        let rel = relative_error(&dense.view(), &r.to_tensor().view()).unwrap();
        assert!(rel <= eps, "eps {eps}: {rel}");
    }
    // Rank caps.
    let capped = sum.round(&TtRank::Max(2)).unwrap();
    assert!(capped.ranks().iter().all(|&r| r <= 2));
}

#[test]
fn bad_input_is_refused() {
    let e = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    assert!(matches!(
        tensor_train(&e.view(), &TtRank::Max(2)).unwrap_err(),
        TensorError::Empty { .. }
    ));
    let mut x = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    x[[0, 0]] = f64::INFINITY;
    assert!(matches!(
        tensor_train(&x.view(), &TtRank::Max(2)).unwrap_err(),
        TensorError::NonFinite { .. }
    ));
    assert!(TtTensor::new(vec![Array3::<f64>::zeros((2, 3, 1))]).is_err());
}

#[test]
fn one_dimensional_and_f32() {
    let v = array![1.0f32, 2.0, 3.0].into_dyn();
    let tt = tensor_train(&v.view(), &TtRank::Max(3)).unwrap().tt;
    assert_eq!(tt.to_tensor(), v);
    let mut rng = SeededRng::new(6);
    let x = random_tt::<f32>(&[5, 6, 7], &[1, 2, 3, 1], &mut rng)
        .unwrap()
        .to_tensor();
    let tt = tensor_train(&x.view(), &TtRank::Ranks(vec![1, 2, 3, 1]))
        .unwrap()
        .tt;
    assert!(relative_error(&x.view(), &tt.to_tensor().view()).unwrap() < 1e-5);
}

#[test]
fn blockwise_error_equals_the_full_error() {
    let mut rng = SeededRng::new(7);
    let mut x = random_tt::<f64>(&[200, 90, 80], &[1, 4, 4, 1], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.2, &mut rng);
    let tt = tensor_train(&x.view(), &TtRank::Max(2)).unwrap().tt;
    let full = relative_error(&x.view(), &tt.to_tensor().view()).unwrap();
    assert!((full - tt.relative_error(&x.view()).unwrap()).abs() < 1e-12);
}

#[test]
fn the_fit_reports_the_error_the_train_has() {
    let mut rng = SeededRng::new(11);
    let mut x = random_tt::<f64>(&[6, 5, 7, 4], &[1, 3, 4, 2, 1], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.05, &mut rng);
    let fit = tensor_train(&x.view(), &TtRank::Ranks(vec![1, 2, 3, 2, 1])).unwrap();
    assert_eq!(fit.errors.len(), 3, "one error per truncation");
    assert!(
        fit.errors.windows(2).all(|w| w[0] <= w[1] + 1e-15),
        "{:?}",
        fit.errors
    );
    let measured = fit.tt.relative_error(&x.view()).unwrap();
    assert!(measured > 0.01, "the ranks truncate: {measured}");
    assert!(
        (fit.error() - measured).abs() < 1e-10,
        "{} vs {measured}",
        fit.error()
    );
}

#[test]
fn random_tt_refuses_a_wrong_rank_count_or_boundary() {
    let mut rng = SeededRng::new(0);
    assert!(random_tt::<f64>(&[3, 4], &[1, 2], &mut rng).is_err());
    assert!(random_tt::<f64>(&[3, 4], &[2, 2, 1], &mut rng).is_err());
    assert!(random_tt::<f64>(&[3, 4], &[1, 0, 1], &mut rng).is_err());
    assert_eq!(
        random_tt::<f64>(&[3, 4], &[1, 2, 1], &mut rng)
            .unwrap()
            .ranks(),
        vec![1, 2, 1]
    );
}
