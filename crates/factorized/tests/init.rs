//! The SPEC initialization: reconstructed kernels with exactly the Kaiming standard deviation.

use tnet_factorized::init::{empirical_std, init_cp, init_tt, init_tucker, kaiming_std};
use tnet_tensor::random::{cp_dense, tt_dense, tucker_dense};

const SHAPE: [usize; 8] = [1, 4, 3, 2, 32, 32, 3, 3]; // the `small` preset's tensor

#[test]
fn kaiming_std_by_hand() {
    assert!((kaiming_std(32, 3, 3) - (2.0f64 / 288.0).sqrt()).abs() < 1e-15);
}

#[test]
fn every_parametrization_reconstructs_to_the_kaiming_std() {
    let std = kaiming_std(32, 3, 3);
    let (core, factors) = init_tucker(&SHAPE, &[1, 4, 3, 2, 8, 8, 3, 3], std, 7);
    let w = tucker_dense(&core, &factors);
    assert!((empirical_std(&w) / std - 1.0).abs() < 1e-12);
    assert!(w.mean().unwrap().abs() < 0.2 * std, "roughly centred");

    let (weights, factors) = init_cp(&SHAPE, 20, std, 8);
    assert!((empirical_std(&cp_dense(&weights, &factors)) / std - 1.0).abs() < 1e-12);

    let cores = init_tt(&SHAPE, &[1, 1, 4, 6, 6, 16, 9, 3, 1], std, 9);
    assert!((empirical_std(&tt_dense(&cores)) / std - 1.0).abs() < 1e-12);
    // Seeded: the same seed, the same parts.
    assert_eq!(
        init_tt(&SHAPE, &[1, 1, 4, 6, 6, 16, 9, 3, 1], std, 9),
        cores
    );
}
