//! Tucker decompositions against exact low-rank tensors, hand-made cases and TensorLy's rules.

use ndarray::{Array2, ArrayD, IxDyn, array};
use tnet_tensor::Factorized;
use tnet_tensor::linalg::{leading_mode_vectors, matmul};
use tnet_tensor::random::{SeededRng, add_noise, random_normal, random_orthonormal};
use tnet_tensor::{TensorError, Transpose, mode_view, multi_mode_dot, relative_error};
use tnet_tucker::random_tucker;
use tnet_tucker::{
    TuckerInit, TuckerOptions, TuckerRank, TuckerTensor, hosvd, partial_tucker,
    ranks_for_compression, tensorly_fraction_ranks, tucker, tucker_params,
};

fn assert_orthonormal(u: &Array2<f64>) {
    let g = matmul(u.t(), u.view());
    for ((i, j), v) in g.indexed_iter() {
        let want = if i == j { 1.0 } else { 0.0 };
        assert!((v - want).abs() < 1e-10, "U^T U [{i},{j}] = {v}");
    }
}

#[test]
fn exact_recovery_orders_3_to_8() {
    let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![10, 12, 8], vec![3, 4, 2]),
        (vec![6, 7, 5, 4], vec![2, 3, 2, 4]),
        (vec![5, 4, 6, 3, 4], vec![2, 2, 3, 3, 2]),
        (vec![4, 3, 5, 3, 4, 3], vec![2, 2, 2, 3, 2, 1]),
        (vec![3, 4, 3, 2, 4, 3, 2], vec![2, 2, 2, 2, 3, 2, 2]),
        (vec![2, 4, 3, 2, 16, 16, 3, 3], vec![2, 3, 2, 2, 6, 5, 3, 2]),
    ];
    for (seed, (shape, ranks)) in cases.into_iter().enumerate() {
        let mut rng = SeededRng::new(seed as u64);
        let x = random_tucker::<f64>(&shape, &ranks, &mut rng)
            .unwrap()
            .to_tensor();
        let fit = tucker(
            &x.view(),
            &TuckerRank::Ranks(ranks.clone()),
            &TuckerOptions::default(),
        )
        .unwrap();
        let rel = relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap();
        assert!(rel < 1e-9, "shape {shape:?}: relative error {rel}");
        assert_eq!(fit.tucker.ranks(), ranks);
        fit.tucker.factors.iter().for_each(assert_orthonormal);
        let h = hosvd(&x.view(), &TuckerRank::Ranks(ranks)).unwrap();
        assert!(relative_error(&x.view(), &h.tucker.to_tensor().view()).unwrap() < 1e-9);
    }
}

#[test]
fn full_rank_tucker_reproduces_its_input() {
    let mut rng = SeededRng::new(11);
    let x = random_normal::<f64>(&[4, 5, 3], &mut rng);
    let fit = tucker(
        &x.view(),
        &TuckerRank::Ranks(vec![4, 5, 3]),
        &TuckerOptions::default(),
    )
    .unwrap();
    assert!(relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap() < 1e-13);
    fit.tucker.factors.iter().for_each(assert_orthonormal);
}

#[test]
fn rank_one_integer_case_by_hand() {
    // x = a ∘ b ∘ c with a = (1, 2), b = (1, 0, 1), c = (3, 4): rank (1, 1, 1).
    // Its Tucker form: core = ||a|| ||b|| ||c|| = sqrt(5) sqrt(2) 5, factors a/||a||, b/||b||, c/||c||
    // (signs: largest entry positive, as svd_flip).
    let (a, b, c) = ([1.0, 2.0], [1.0, 0.0, 1.0], [3.0, 4.0]);
    let x = ArrayD::from_shape_fn(IxDyn(&[2, 3, 2]), |i| a[i[0]] * b[i[1]] * c[i[2]]);
    let fit = tucker(&x.view(), &TuckerRank::Same(1), &TuckerOptions::default()).unwrap();
    let t = &fit.tucker;
    assert!((t.core[[0, 0, 0]] - 5f64.sqrt() * 2f64.sqrt() * 5.0).abs() < 1e-12);
    let s5 = 5f64.sqrt();
    let s2 = 2f64.sqrt();
    assert!(
        (&t.factors[0] - &array![[1.0 / s5], [2.0 / s5]])
            .iter()
            .all(|v| v.abs() < 1e-12)
    );
    assert!(
        (&t.factors[1] - &array![[1.0 / s2], [0.0], [1.0 / s2]])
            .iter()
            .all(|v| v.abs() < 1e-12)
    );
    assert!(
        (&t.factors[2] - &array![[0.6], [0.8]])
            .iter()
            .all(|v| v.abs() < 1e-12)
    );
    assert_eq!(t.n_params(), 1 + 2 + 3 + 2);
    assert!((t.compression_ratio() - 12.0 / 8.0).abs() < 1e-15);
}

#[test]
fn hooi_error_history_matches_true_error_and_settles() {
    let mut rng = SeededRng::new(12);
    let mut x = random_tucker::<f64>(&[20, 18, 16], &[4, 4, 4], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.05, &mut rng);
    let opts = TuckerOptions {
        tol: 0.0,
        n_iter_max: 6,
        ..Default::default()
    };
    let fit = tucker(&x.view(), &TuckerRank::Same(4), &opts).unwrap();
    assert_eq!((fit.iterations, fit.errors.len()), (6, 6));
    let true_err = relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap();
    assert!(
        (fit.errors[5] - true_err).abs() < 1e-10,
        "{} vs {true_err}",
        fit.errors[5]
    );
    // HOOI does not increase the error.
    assert!(
        fit.errors.windows(2).all(|w| w[1] <= w[0] + 1e-12),
        "{:?}",
        fit.errors
    );
    // With the default tol it stops early (TensorLy's rule: from the third sweep on).
    let fit = tucker(&x.view(), &TuckerRank::Same(4), &TuckerOptions::default()).unwrap();
    assert!(fit.converged && fit.iterations >= 3 && fit.iterations < 100);
}

#[test]
fn random_init_reaches_the_same_fit() {
    let mut rng = SeededRng::new(13);
    let x = random_tucker::<f64>(&[9, 8, 7], &[3, 3, 3], &mut rng)
        .unwrap()
        .to_tensor();
    let opts = TuckerOptions {
        init: TuckerInit::Random { seed: 5 },
        tol: 1e-12,
        ..Default::default()
    };
    let fit = tucker(&x.view(), &TuckerRank::Same(3), &opts).unwrap();
    assert!(relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap() < 1e-9);
}

#[test]
fn fixed_factors_are_left_unchanged() {
    let mut rng = SeededRng::new(14);
    let mut x = random_tucker::<f64>(&[10, 9, 8], &[3, 3, 3], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.1, &mut rng);
    let given: Vec<Array2<f64>> = [10, 9, 8]
        .iter()
        .map(|&i| random_orthonormal::<f64>(i, 3, &mut rng))
        .collect();
    let opts = TuckerOptions {
        init: TuckerInit::Factors(given.clone()),
        fixed_factors: vec![1],
        n_iter_max: 5,
        tol: 0.0,
    };
    let fit = tucker(&x.view(), &TuckerRank::Same(3), &opts).unwrap();
    assert_eq!(fit.tucker.factors[1], given[1]);
    assert_ne!(fit.tucker.factors[0], given[0]);
    // The core is the projection on the final factors, so the error formula still holds.
    let true_err = relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap();
    assert!((fit.errors.last().unwrap() - true_err).abs() < 1e-10);
    // A non-orthonormal fixed factor is refused with the reason.
    let mut bad = given.clone();
    bad[1] *= 2.0;
    let opts = TuckerOptions {
        init: TuckerInit::Factors(bad),
        fixed_factors: vec![1],
        ..Default::default()
    };
    let err = tucker(&x.view(), &TuckerRank::Same(3), &opts).unwrap_err();
    assert!(err.to_string().contains("orthonormal"), "{err}");
}

#[test]
fn partial_tucker_leaves_other_modes_whole() {
    let mut rng = SeededRng::new(15);
    let x = random_tucker::<f64>(&[6, 12, 10, 5], &[6, 3, 4, 5], &mut rng)
        .unwrap()
        .to_tensor();
    let p = partial_tucker(
        &x.view(),
        &[1, 2],
        &TuckerRank::Ranks(vec![3, 4]),
        &TuckerOptions::default(),
    )
    .unwrap();
    assert_eq!(p.core.shape(), &[6, 3, 4, 5]);
    assert_eq!(p.factors.len(), 2);
    let ops: Vec<_> = p
        .modes
        .iter()
        .zip(&p.factors)
        .map(|(&m, f)| (m, f.t()))
        .collect();
    let rec = tnet_tensor::contract_modes(&p.core.view(), &ops);
    assert!(relative_error(&x.view(), &rec.view()).unwrap() < 1e-9);
}

#[test]
fn bad_ranks_are_refused_with_what_is_allowed() {
    let x = ArrayD::<f64>::ones(IxDyn(&[4, 5, 6]));
    let err = tucker(
        &x.view(),
        &TuckerRank::Ranks(vec![2, 6, 2]),
        &TuckerOptions::default(),
    )
    .unwrap_err();
    match &err {
        TensorError::BadRank {
            mode: 1,
            rank: 6,
            allowed,
        } => assert!(allowed.contains("1..=5"), "{allowed}"),
        e => panic!("unexpected {e}"),
    }
    assert!(matches!(
        tucker(&x.view(), &TuckerRank::Same(0), &TuckerOptions::default()).unwrap_err(),
        TensorError::BadRank { rank: 0, .. }
    ));
    assert!(matches!(
        tucker(
            &x.view(),
            &TuckerRank::Ranks(vec![2, 2]),
            &TuckerOptions::default()
        )
        .unwrap_err(),
        TensorError::RankCount {
            expected: 3,
            got: 2,
            ..
        }
    ));
    let mut y = x.clone();
    y[[0, 1, 2]] = f64::NAN;
    assert!(matches!(
        tucker(&y.view(), &TuckerRank::Same(2), &TuckerOptions::default()).unwrap_err(),
        TensorError::NonFinite { .. }
    ));
}

#[test]
fn fraction_rule_matches_tensorly() {
    // Printed by TensorLy 0.10.0: validate_tucker_rank(shape, rank=fraction).
    assert_eq!(
        tensorly_fraction_ranks(&[10, 10, 10], 0.5).unwrap(),
        vec![7, 7, 7]
    );
    let shape = [2, 4, 3, 2, 128, 128, 3, 3];
    assert_eq!(
        tensorly_fraction_ranks(&shape, 0.5).unwrap(),
        vec![2, 4, 3, 2, 117, 117, 3, 3]
    );
    assert_eq!(
        tensorly_fraction_ranks(&shape, 0.25).unwrap(),
        vec![2, 3, 3, 2, 107, 107, 3, 3]
    );
    assert_eq!(
        tensorly_fraction_ranks(&shape, 0.1).unwrap(),
        vec![1, 3, 2, 1, 96, 96, 2, 2]
    );
    assert!(tensorly_fraction_ranks(&[4, 4], 0.0).is_err());
}

#[test]
fn compression_target_is_reached_closely() {
    let shape = [2, 4, 3, 2, 128, 128, 3, 3];
    let total = shape.iter().product::<usize>() as f64;
    for ratio in [2.0, 4.0, 10.0, 30.0] {
        let r = ranks_for_compression(&shape, ratio).unwrap();
        let got = total / tucker_params(&shape, &r) as f64;
        assert!(
            got >= ratio && got < ratio * 1.6,
            "ratio {ratio}: ranks {r:?} give {got}"
        );
        let fit_rank = TuckerRank::Compression(ratio).resolve(&shape).unwrap();
        assert_eq!(fit_rank, r);
    }
    let err = ranks_for_compression(&[4, 4], 3.0).unwrap_err();
    assert!(err.to_string().contains("out of reach"), "{err}");
    let t = TuckerTensor::<f64>::new(
        ArrayD::zeros(IxDyn(&[2, 2])),
        vec![Array2::zeros((4, 2)), Array2::zeros((4, 2))],
    )
    .unwrap();
    assert_eq!(t.n_params(), 4 + 8 + 8);
    assert_eq!(tucker_params(&[4, 4], &[2, 2]), 20);
}

#[test]
fn works_in_f32() {
    let mut rng = SeededRng::new(16);
    let x = random_tucker::<f32>(&[12, 10, 8], &[3, 3, 2], &mut rng)
        .unwrap()
        .to_tensor();
    let fit = tucker(
        &x.view(),
        &TuckerRank::Ranks(vec![3, 3, 2]),
        &TuckerOptions::default(),
    )
    .unwrap();
    assert!(relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap() < 1e-5);
}

#[test]
fn blockwise_error_equals_the_full_error() {
    // 300 x 70 x 60 entries: more than one block of the blockwise measurement.
    let mut rng = SeededRng::new(17);
    let mut x = random_tucker::<f64>(&[300, 70, 60], &[5, 5, 5], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.2, &mut rng);
    let fit = tucker(&x.view(), &TuckerRank::Same(3), &TuckerOptions::default()).unwrap();
    let full = relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap();
    let blockwise = fit.tucker.relative_error(&x.view()).unwrap();
    assert!((full - blockwise).abs() < 1e-12, "{full} vs {blockwise}");
    let other = ArrayD::<f64>::zeros(IxDyn(&[300, 70, 59]));
    let err = fit.tucker.relative_error(&other.view()).unwrap_err();
    assert!(matches!(err, TensorError::Shape { .. }), "{err}");
}

#[test]
fn fixed_first_mode_with_svd_init_and_a_full_rank_mode() {
    // Active modes 0 and 1 (mode 2 at full rank), mode 0 fixed at its SVD init: the first
    // updated mode is then in the second half of the sweep, so every factor it needs exists.
    let mut rng = SeededRng::new(18);
    let mut x = random_tucker::<f64>(&[9, 8, 4], &[3, 3, 4], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.05, &mut rng);
    let opts = TuckerOptions {
        fixed_factors: vec![0],
        n_iter_max: 4,
        tol: 0.0,
        ..Default::default()
    };
    let fit = tucker(&x.view(), &TuckerRank::Ranks(vec![3, 3, 4]), &opts).unwrap();
    let hosvd_u0 = hosvd(&x.view(), &TuckerRank::Ranks(vec![3, 3, 4]))
        .unwrap()
        .tucker
        .factors[0]
        .clone();
    assert!(
        (&fit.tucker.factors[0] - &hosvd_u0)
            .iter()
            .all(|v| v.abs() < 1e-12)
    );
    let true_err = relative_error(&x.view(), &fit.tucker.to_tensor().view()).unwrap();
    assert!((fit.errors.last().unwrap() - true_err).abs() < 1e-10);
    // Same fit as without skipping anything: compare with a run from the given HOSVD factors.
    let h = hosvd(&x.view(), &TuckerRank::Ranks(vec![3, 3, 4]))
        .unwrap()
        .tucker;
    let given = TuckerOptions {
        init: TuckerInit::Factors(h.factors.clone()),
        ..opts.clone()
    };
    let again = tucker(&x.view(), &TuckerRank::Ranks(vec![3, 3, 4]), &given).unwrap();
    assert!((again.errors.last().unwrap() - fit.errors.last().unwrap()).abs() < 1e-12);
}

#[test]
fn random_tucker_refuses_ranks_its_factors_cannot_have() {
    let mut rng = SeededRng::new(0);
    assert!(random_tucker::<f64>(&[3, 4], &[4, 2], &mut rng).is_err());
    assert!(random_tucker::<f64>(&[3, 4], &[0, 2], &mut rng).is_err());
    assert!(random_tucker::<f64>(&[3, 4], &[2], &mut rng).is_err());
    let t = random_tucker::<f64>(&[3, 4], &[2, 3], &mut rng).unwrap();
    assert_eq!((t.shape(), t.ranks()), (vec![3, 4], vec![2, 3]));
}

/// `max |V V^T - W W^T|` over the first `k` columns of each.
fn projector_gap(v: &Array2<f64>, w: &Array2<f64>, k: usize) -> f64 {
    let v = v.slice(ndarray::s![.., ..k]);
    let w = w.slice(ndarray::s![.., ..k]);
    let d = matmul(v, v.t()) - matmul(w, w.t());
    d.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// A rank above the product of the other modes' ranks (and sizes of modes left whole) is
/// fitted at that product and completed: the same fit as HOOI from the full HOSVD start.
#[test]
fn a_rank_above_what_the_other_modes_leave_fits_as_from_the_full_start() {
    let mut rng = SeededRng::new(31);
    let mut x = random_tucker::<f64>(&[3, 4, 5, 60], &[3, 2, 2, 12], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.05, &mut rng);
    let opts = TuckerOptions {
        tol: 0.0,
        n_iter_max: 10,
        ..Default::default()
    };
    // Full Tucker at ranks (3, 2, 2, 40): mode 3 can use 3 * 2 * 2 = 12 directions.
    // Partial Tucker of modes 1..3 at (2, 2, 40), mode 0 (size 3) left whole: again 12.
    let cases: [(&[usize], &[usize]); 2] =
        [(&[0, 1, 2, 3], &[3, 2, 2, 40]), (&[1, 2, 3], &[2, 2, 40])];
    for (modes, ranks) in cases {
        let rank = TuckerRank::Ranks(ranks.to_vec());
        let fit = partial_tucker(&x.view(), modes, &rank, &opts).unwrap();
        // The reference starts from every factor of the full HOSVD (so nothing is cut).
        let xv = x.view();
        let start: Vec<Array2<f64>> = modes
            .iter()
            .zip(ranks)
            .map(|(&m, &r)| {
                leading_mode_vectors(&mode_view(&xv, m).unwrap(), r)
                    .unwrap()
                    .0
            })
            .collect();
        let reference = partial_tucker(
            &x.view(),
            modes,
            &rank,
            &TuckerOptions {
                init: TuckerInit::Factors(start),
                ..opts.clone()
            },
        )
        .unwrap();
        let (got, want) = (
            *fit.errors.last().unwrap(),
            *reference.errors.last().unwrap(),
        );
        assert!(
            (got - want).abs() <= 1e-9 * want,
            "{modes:?}: error {got} vs {want}"
        );
        let last = fit.factors.len() - 1;
        let u = &fit.factors[last];
        assert_eq!(u.dim(), (60, 40));
        assert_orthonormal(u);
        assert!(projector_gap(u, &reference.factors[last], 12) < 1e-8);
        // The completed directions hold nothing of the core.
        let core = &fit.core;
        assert_eq!(core.shape()[3], 40);
        let tail = core.slice_axis(ndarray::Axis(3), ndarray::Slice::from(12..));
        assert!(tail.iter().all(|&v| v == 0.0));
        // The reported error is the true one.
        let factors: Vec<_> = fit.factors.iter().map(|f| f.view()).collect();
        let approx =
            multi_mode_dot(&core.view(), &factors, Some(modes), None, Transpose::No).unwrap();
        let true_err = relative_error(&x.view(), &approx.view()).unwrap();
        assert!((got - true_err).abs() < 1e-10, "{got} vs {true_err}");
    }
}
