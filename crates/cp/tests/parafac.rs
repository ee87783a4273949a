//! CP-ALS against exact low-rank tensors, hand-made cases and the properties ALS must keep.

use ndarray::{Array1, Array2, ArrayD, IxDyn, array};
use tnet_cp::random_cp;
use tnet_cp::{CpInit, CpTensor, ParafacOptions, parafac};
use tnet_tensor::random::{SeededRng, add_noise, random_matrix};
use tnet_tensor::{TensorError, relative_error};

fn opts(n_iter_max: usize, tol: f64) -> ParafacOptions<f64> {
    ParafacOptions {
        n_iter_max,
        tol,
        ..Default::default()
    }
}

#[test]
fn exact_recovery_orders_3_to_8() {
    let shapes: Vec<Vec<usize>> = vec![
        vec![9, 8, 7],
        vec![6, 5, 7, 4],
        vec![5, 4, 6, 3, 4],
        vec![4, 3, 5, 3, 4, 3],
        vec![3, 4, 3, 2, 4, 3, 2],
        vec![2, 4, 3, 2, 16, 16, 3, 3],
    ];
    for (seed, shape) in shapes.into_iter().enumerate() {
        let mut rng = SeededRng::new(100 + seed as u64);
        let x = random_cp::<f64>(&shape, 3, &mut rng).unwrap().to_tensor();
        let fit = parafac(&x.view(), 3, &opts(1000, 0.0)).unwrap();
        let rel = relative_error(&x.view(), &fit.cp.to_tensor().view()).unwrap();
        assert!(
            rel < 1e-9,
            "shape {shape:?}: relative error {rel} after {} sweeps",
            fit.iterations
        );
    }
}

#[test]
fn rank_one_integer_case_by_hand() {
    // x[i, j, k] = a_i b_j c_k; one ALS sweep from any start recovers it exactly.
    let (a, b, c) = ([1.0, 2.0], [1.0, 0.0, 1.0], [3.0, 4.0]);
    let x = ArrayD::from_shape_fn(IxDyn(&[2, 3, 2]), |i| a[i[0]] * b[i[1]] * c[i[2]]);
    let fit = parafac(
        &x.view(),
        1,
        &ParafacOptions {
            normalize_factors: true,
            ..opts(5, 0.0)
        },
    )
    .unwrap();
    // Normalized: weight = ||a|| ||b|| ||c|| = sqrt(5) sqrt(2) 5.
    assert!((fit.cp.weights[0].abs() - 5f64.sqrt() * 2f64.sqrt() * 5.0).abs() < 1e-10);
    let rec = fit.cp.to_tensor();
    assert!(relative_error(&x.view(), &rec.view()).unwrap() < 1e-12);
    assert_eq!(fit.cp.n_params(), 1 + 2 + 3 + 2);
}

#[test]
fn to_tensor_by_hand() {
    // Two components: w = (1, 2), factors with columns (1, 0), (0, 1) on each mode of size 2:
    // x = e0∘e0 + 2 e1∘e1.
    let f = array![[1.0, 0.0], [0.0, 1.0]];
    let cp = CpTensor::new(array![1.0, 2.0], vec![f.clone(), f]).unwrap();
    assert_eq!(cp.to_tensor(), array![[1.0, 0.0], [0.0, 2.0]].into_dyn());
    assert!(CpTensor::new(array![1.0], vec![Array2::<f64>::zeros((3, 2))]).is_err());
}

#[test]
fn als_error_never_increases_and_matches_the_true_error() {
    let mut rng = SeededRng::new(7);
    let mut x = random_cp::<f64>(&[12, 11, 10], 4, &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.1, &mut rng);
    let fit = parafac(&x.view(), 4, &opts(60, 0.0)).unwrap();
    assert_eq!(fit.errors.len(), 60);
    assert!(
        fit.errors.windows(2).all(|w| w[1] <= w[0] + 1e-12),
        "{:?}",
        fit.errors
    );
    let true_err = relative_error(&x.view(), &fit.cp.to_tensor().view()).unwrap();
    assert!((fit.errors.last().unwrap() - true_err).abs() < 1e-9);
    // Random init too.
    let fit = parafac(
        &x.view(),
        4,
        &ParafacOptions {
            init: CpInit::Random { seed: 3 },
            ..opts(60, 0.0)
        },
    )
    .unwrap();
    assert!(fit.errors.windows(2).all(|w| w[1] <= w[0] + 1e-12));
}

#[test]
fn tolerance_stops_early() {
    let mut rng = SeededRng::new(8);
    let mut x = random_cp::<f64>(&[10, 10, 10], 2, &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.01, &mut rng);
    let fit = parafac(&x.view(), 2, &opts(500, 1e-8)).unwrap();
    assert!(fit.converged && fit.iterations < 500);
}

#[test]
fn fixed_modes_are_left_unchanged() {
    let mut rng = SeededRng::new(9);
    let x = random_cp::<f64>(&[8, 7, 6], 3, &mut rng)
        .unwrap()
        .to_tensor();
    let start = CpTensor::new(
        Array1::ones(3),
        vec![
            random_matrix::<f64>(8, 3, &mut rng),
            random_matrix::<f64>(7, 3, &mut rng),
            random_matrix::<f64>(6, 3, &mut rng),
        ],
    )
    .unwrap();
    let o = ParafacOptions {
        init: CpInit::Given(start.clone()),
        fixed_modes: vec![1],
        ..opts(20, 0.0)
    };
    let fit = parafac(&x.view(), 3, &o).unwrap();
    assert_eq!(fit.cp.factors[1], start.factors[1]);
    assert_ne!(fit.cp.factors[0], start.factors[0]);
    assert!(fit.errors.windows(2).all(|w| w[1] <= w[0] + 1e-12));
}

#[test]
fn ridge_shrinks_the_factors() {
    let mut rng = SeededRng::new(10);
    let x = random_cp::<f64>(&[8, 7, 6], 2, &mut rng)
        .unwrap()
        .to_tensor();
    let plain = parafac(&x.view(), 2, &opts(30, 0.0)).unwrap();
    let ridge = parafac(
        &x.view(),
        2,
        &ParafacOptions {
            l2_reg: 10.0,
            ..opts(30, 0.0)
        },
    )
    .unwrap();
    let norm = |cp: &CpTensor<f64>| {
        cp.factors
            .iter()
            .map(|f| f.iter().map(|v| v * v).sum::<f64>())
            .sum::<f64>()
    };
    assert!(norm(&ridge.cp) < norm(&plain.cp));
    assert!(ridge.errors.last().unwrap() > plain.errors.last().unwrap());
}

#[test]
fn line_search_fits_at_least_as_well() {
    let mut rng = SeededRng::new(11);
    let mut x = random_cp::<f64>(&[10, 9, 8], 3, &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.05, &mut rng);
    let plain = parafac(&x.view(), 3, &opts(40, 0.0)).unwrap();
    let ls = parafac(
        &x.view(),
        3,
        &ParafacOptions {
            linesearch: true,
            ..opts(40, 0.0)
        },
    )
    .unwrap();
    let true_err = relative_error(&x.view(), &ls.cp.to_tensor().view()).unwrap();
    assert!((ls.errors.last().unwrap() - true_err).abs() < 1e-9);
    assert!(true_err <= plain.errors.last().unwrap() + 1e-6);
}

#[test]
fn rank_above_mode_sizes_uses_random_columns() {
    let mut rng = SeededRng::new(12);
    let x = random_cp::<f64>(&[3, 4, 5], 2, &mut rng)
        .unwrap()
        .to_tensor();
    let fit = parafac(&x.view(), 6, &opts(50, 0.0)).unwrap();
    assert_eq!(fit.cp.rank(), 6);
    assert!(fit.errors.last().unwrap() < &1e-3);
}

#[test]
fn bad_input_is_refused() {
    let x = ArrayD::<f64>::ones(IxDyn(&[3, 4]));
    assert!(matches!(
        parafac(&x.view(), 0, &opts(5, 0.0)).unwrap_err(),
        TensorError::BadRank { rank: 0, .. }
    ));
    let v = ArrayD::<f64>::ones(IxDyn(&[5]));
    assert!(
        parafac(&v.view(), 1, &opts(5, 0.0))
            .unwrap_err()
            .to_string()
            .contains("at least 2 modes")
    );
    let e = ArrayD::<f64>::ones(IxDyn(&[3, 0]));
    assert!(matches!(
        parafac(&e.view(), 1, &opts(5, 0.0)).unwrap_err(),
        TensorError::Empty { .. }
    ));
    let o = ParafacOptions {
        fixed_modes: vec![2],
        ..opts(5, 0.0)
    };
    assert!(matches!(
        parafac(&x.view(), 1, &o).unwrap_err(),
        TensorError::BadMode { mode: 2, .. }
    ));
}

#[test]
fn works_in_f32() {
    let mut rng = SeededRng::new(13);
    let x = random_cp::<f32>(&[9, 8, 7], 2, &mut rng)
        .unwrap()
        .to_tensor();
    let fit = parafac(
        &x.view(),
        2,
        &ParafacOptions {
            n_iter_max: 300,
            tol: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(relative_error(&x.view(), &fit.cp.to_tensor().view()).unwrap() < 1e-4);
}

#[test]
fn blockwise_error_equals_the_full_error() {
    let mut rng = SeededRng::new(14);
    let mut x = random_cp::<f64>(&[200, 90, 80], 3, &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.2, &mut rng);
    let fit = parafac(&x.view(), 2, &opts(5, 0.0)).unwrap();
    let full = relative_error(&x.view(), &fit.cp.to_tensor().view()).unwrap();
    assert!((full - fit.cp.relative_error(&x.view()).unwrap()).abs() < 1e-12);
}

#[test]
fn random_cp_refuses_an_empty_shape_or_rank_zero() {
    let mut rng = SeededRng::new(0);
    assert!(random_cp::<f64>(&[], 2, &mut rng).is_err());
    assert!(random_cp::<f64>(&[3, 4], 0, &mut rng).is_err());
    assert_eq!(random_cp::<f64>(&[3, 4], 5, &mut rng).unwrap().rank(), 5);
}
