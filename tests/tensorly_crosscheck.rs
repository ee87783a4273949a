//! Our results against files TensorLy 0.10.0 wrote (`cargo xtask tensorly-fixtures`): the
//! conventions (unfolding order, Khatri-Rao order, signs of singular vectors) and the
//! decompositions themselves, one to one.

use ndarray::Ix2;
use tnet_tensor::{Transpose, khatri_rao, mttkrp, multi_mode_dot, unfold};
use tnet_tests::{load_f64, max_abs_diff};
use tnet_tucker::{TuckerOptions, TuckerRank, tucker};

fn m2(name: &str) -> ndarray::Array2<f64> {
    load_f64(name).into_dimensionality::<Ix2>().unwrap()
}

#[test]
fn unfold_mode_dot_khatri_rao_and_mttkrp_match_tensorly() {
    let x = load_f64("x345.npy");
    for mode in 0..3 {
        let ours = unfold(&x.view(), mode).unwrap().into_dyn();
        assert!(
            max_abs_diff(&ours, &load_f64(&format!("unfold_{mode}.npy"))) < 1e-15,
            "unfold {mode}"
        );
    }
    let m = m2("m_2x4.npy");
    let ours = tnet_tensor::mode_dot(&x.view(), &m.view(), 1, Transpose::No).unwrap();
    assert!(max_abs_diff(&ours, &load_f64("mode_dot_1.npy")) < 1e-13);
    let (a, b, c) = (m2("a_3x2.npy"), m2("b_4x2.npy"), m2("c_5x2.npy"));
    let views = [a.view(), b.view(), c.view()];
    let kr = khatri_rao(&views, None).unwrap().into_dyn();
    assert!(max_abs_diff(&kr, &load_f64("khatri_rao_abc.npy")) < 1e-14);
    let mmd = multi_mode_dot(&x.view(), &views, None, None, Transpose::Yes).unwrap();
    assert!(max_abs_diff(&mmd, &load_f64("multi_mode_dot_t.npy")) < 1e-13);
    for mode in 0..3 {
        let ours = mttkrp(&x.view(), &views, mode).unwrap().into_dyn();
        assert!(
            max_abs_diff(&ours, &load_f64(&format!("mttkrp_{mode}.npy"))) < 1e-13,
            "mttkrp {mode}"
        );
    }
}

#[test]
fn tucker_factors_and_core_match_tensorly_one_to_one() {
    // Ranks (3, 4, 2, 6) of a (10, 12, 8, 6) tensor: mode 3 is at full rank, where TensorLy's
    // factor is the singular basis of the projected unfolding; signs follow svd_flip.
    let x = load_f64("tucker_in.npy");
    let opts = TuckerOptions {
        tol: 1e-10,
        n_iter_max: 50,
        ..Default::default()
    };
    let fit = tucker(&x.view(), &TuckerRank::Ranks(vec![3, 4, 2, 6]), &opts).unwrap();
    for (k, f) in fit.tucker.factors.iter().enumerate() {
        let theirs = load_f64(&format!("tucker_factor_{k}.npy"));
        let d = max_abs_diff(&f.clone().into_dyn(), &theirs);
        assert!(d < 1e-7, "factor {k} differs by {d}");
    }
    let d = max_abs_diff(&fit.tucker.core, &load_f64("tucker_core.npy"));
    assert!(d < 1e-6, "core differs by {d}");
}

#[test]
fn cp_fit_matches_tensorly() {
    let x = load_f64("cp_in.npy");
    let opts = tnet_cp::ParafacOptions {
        n_iter_max: 200,
        tol: 0.0,
        ..Default::default()
    };
    let fit = tnet_cp::parafac(&x.view(), 3, &opts).unwrap();
    let ours = tnet_tensor::relative_error(&x.view(), &fit.cp.to_tensor().view()).unwrap();
    let theirs = load_f64("cp_rel_error.npy")[[0]];
    assert!(
        (ours - theirs).abs() < 1e-8,
        "ours {ours}, TensorLy {theirs}"
    );
}

#[test]
fn tt_cores_match_tensorly_one_to_one() {
    let x = load_f64("tt_in.npy");
    let tt = tnet_tt::tensor_train(&x.view(), &tnet_tt::TtRank::Ranks(vec![1, 3, 4, 2, 1]))
        .unwrap()
        .tt;
    for (k, core) in tt.cores.iter().enumerate() {
        let theirs = load_f64(&format!("tt_core_{k}.npy"));
        let d = max_abs_diff(&core.clone().into_dyn(), &theirs);
        assert!(d < 1e-9, "core {k} differs by {d}");
    }
}

#[test]
fn seeded_cp_starts_match_tensorly_random_state() {
    // TensorLy draws the SVD init's extra columns (rank 10 above every mode size of a 9x8x7
    // tensor) and the random init from NumPy's RandomState(seed): the same seed must give the
    // same fit after 20 sweeps, which differs visibly from any other start.
    let x = load_f64("cp_in.npy");
    let svd_seed_0 = tnet_cp::ParafacOptions {
        seed: 0,
        ..Default::default()
    };
    let random_seed_3 = tnet_cp::ParafacOptions {
        init: tnet_cp::CpInit::Random { seed: 3 },
        ..Default::default()
    };
    for (file, rank, start) in [
        ("cp_svd_rank10_seed0.npy", 10, svd_seed_0),
        ("cp_random_rank4_seed3.npy", 4, random_seed_3),
    ] {
        let opts = tnet_cp::ParafacOptions {
            n_iter_max: 20,
            tol: 0.0,
            ..start
        };
        let fit = tnet_cp::parafac(&x.view(), rank, &opts).unwrap();
        let theirs = load_f64(file);
        let gap = tnet_tensor::relative_error(&theirs.view(), &fit.cp.to_tensor().view()).unwrap();
        assert!(gap < 1e-9, "{file}: reconstructions differ by {gap:e}");
    }
}
