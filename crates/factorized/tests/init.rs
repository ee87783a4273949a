//! The initialization: reconstructed kernels with exactly the Kaiming standard deviation.

use tnet_factorized::init::{empirical_std, init_cp, init_tt, init_tucker, kaiming_std};

const SHAPE: [usize; 8] = [1, 4, 3, 2, 32, 32, 3, 3]; // the `small` preset's tensor

#[test]
fn kaiming_std_by_hand() {
    assert!((kaiming_std(32, 3, 3) - (2.0f64 / 288.0).sqrt()).abs() < 1e-15);
}

#[test]
fn every_parametrization_reconstructs_to_the_kaiming_std() {
    let std = kaiming_std(32, 3, 3);
    let (core, factors) = init_tucker(&SHAPE, &[1, 4, 3, 2, 8, 8, 3, 3], std, 7);
    let w = tnet_tucker::tucker_to_tensor(&core, &factors);
    assert!((empirical_std(&w) / std - 1.0).abs() < 1e-12);
    assert!(w.mean().unwrap().abs() < 0.2 * std, "roughly centred");

    let (weights, factors) = init_cp(&SHAPE, 20, std, 8);
    assert!((empirical_std(&tnet_cp::cp_to_tensor(&weights, &factors)) / std - 1.0).abs() < 1e-12);

    let cores = init_tt(&SHAPE, &[1, 1, 4, 6, 6, 16, 9, 3, 1], std, 9);
    assert!((empirical_std(&tnet_tt::tt_to_tensor(&cores)) / std - 1.0).abs() < 1e-12);
    // Seeded: the same seed, the same parts.
    assert_eq!(
        init_tt(&SHAPE, &[1, 1, 4, 6, 6, 16, 9, 3, 1], std, 9),
        cores
    );
}

fn max_abs_off_identity(gram: &ndarray::Array2<f64>) -> f64 {
    let n = gram.nrows();
    let mut worst = 0.0f64;
    for i in 0..n {
        for j in 0..n {
            let want = if i == j { 1.0 } else { 0.0 };
            worst = worst.max((gram[[i, j]] - want).abs());
        }
    }
    worst
}

#[test]
fn factors_are_orthonormal_and_the_scale_sits_in_one_part() {
    let std = kaiming_std(32, 3, 3);
    // Tucker: orthonormal columns, including a full-rank square factor.
    let (core, factors) = init_tucker(&SHAPE, &[1, 4, 3, 2, 32, 8, 3, 3], std, 3);
    for f in &factors {
        assert!(max_abs_off_identity(&f.t().dot(f)) < 1e-12);
    }
    // At full rank the core holds the whole norm: ||W|| = ||G||.
    let full_ranks = SHAPE;
    let (core_full, factors_full) = init_tucker(&SHAPE, &full_ranks, std, 4);
    let w = tnet_tucker::tucker_to_tensor(&core_full, &factors_full);
    let norm = |a: &ndarray::ArrayD<f64>| a.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm(&w) / norm(&core_full) - 1.0).abs() < 1e-12);
    assert_eq!(core.shape(), &[1, 4, 3, 2, 32, 8, 3, 3]);

    // CP: unit-norm factor columns.
    let (_, factors) = init_cp(&SHAPE, 20, std, 5);
    for f in &factors {
        for col in f.columns() {
            assert!((col.dot(&col) - 1.0).abs() < 1e-12);
        }
    }

    // TT: every core but the last left-orthonormal.
    let ranks = [1, 1, 4, 6, 6, 16, 9, 3, 1];
    let cores = init_tt(&SHAPE, &ranks, std, 6);
    for c in &cores[..cores.len() - 1] {
        let (ra, i, rb) = c.dim();
        let m = c.clone().into_shape_with_order((ra * i, rb)).unwrap();
        assert!(max_abs_off_identity(&m.t().dot(&m)) < 1e-12);
    }
}

#[test]
fn semi_orthogonal_wide_matrices_have_orthonormal_rows() {
    let mut rng = tnet_tensor::random::SeededRng::new(2);
    let m = tnet_factorized::init::semi_orthogonal(3, 7, &mut rng);
    assert_eq!(m.dim(), (3, 7));
    assert!(max_abs_off_identity(&m.dot(&m.t())) < 1e-12);
}
