//! The dense-tensor toolkit against cases worked out by hand and against identities.

use ndarray::{Array2, ArrayD, IxDyn, array};
use tnet_tensor::linalg::{
    leading_from_gram, leading_from_gram_warm, matmul, mode_gram, solve_sym_right, svd_flip,
    sym_eigen, thin_qr, thin_svd,
};
use tnet_tensor::random::{SeededRng, random_matrix, random_normal, random_orthonormal};
use tnet_tensor::{
    TensorError, Transpose, check_tensor, fold, frobenius_norm, khatri_rao, mode_dot, mode_view,
    mttkrp, multi_mode_dot, relative_error, unfold,
};

fn arange(shape: &[usize]) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|v| v as f64).collect()).unwrap()
}

#[test]
fn unfold_matches_hand_computed_c_order() {
    // x[i, j, k] = 6 i + 2 j + k for shape (2, 3, 2).
    let x = arange(&[2, 3, 2]);
    assert_eq!(
        unfold(&x.view(), 0).unwrap(),
        array![[0., 1., 2., 3., 4., 5.], [6., 7., 8., 9., 10., 11.]]
    );
    assert_eq!(
        unfold(&x.view(), 1).unwrap(),
        array![[0., 1., 6., 7.], [2., 3., 8., 9.], [4., 5., 10., 11.]]
    );
    assert_eq!(
        unfold(&x.view(), 2).unwrap(),
        array![[0., 2., 4., 6., 8., 10.], [1., 3., 5., 7., 9., 11.]]
    );
}

#[test]
fn fold_inverts_unfold_for_every_mode_and_non_contiguous_input() {
    let x = arange(&[3, 4, 5, 2]);
    let xt = x.clone().reversed_axes(); // non-contiguous view, shape (2, 5, 4, 3)
    for t in [x.view(), xt.view()] {
        for mode in 0..4 {
            let m = unfold(&t, mode).unwrap();
            assert_eq!(fold(&m.view(), mode, t.shape()).unwrap(), t.to_owned());
        }
    }
}

#[test]
fn fold_rejects_wrong_shape() {
    let m = Array2::<f64>::zeros((3, 5));
    let err = fold(&m.view(), 1, &[2, 3, 2]).unwrap_err();
    assert!(matches!(err, TensorError::Shape { .. }), "{err}");
    assert!(matches!(
        fold(&m.view(), 3, &[2, 3, 2]).unwrap_err(),
        TensorError::BadMode { mode: 3, order: 3 }
    ));
}

#[test]
fn mode_dot_small_case_by_hand() {
    // x (2, 2): [[1, 2], [3, 4]]; M (1 x 2) = [[1, 10]] on mode 0 gives [[31, 42]].
    let x = array![[1., 2.], [3., 4.]].into_dyn();
    let m = array![[1., 10.]];
    assert_eq!(
        mode_dot(&x.view(), &m.view(), 0, Transpose::No).unwrap(),
        array![[31., 42.]].into_dyn()
    );
    // On mode 1: rows dotted with (1, 10): [21, 43].
    assert_eq!(
        mode_dot(&x.view(), &m.view(), 1, Transpose::No).unwrap(),
        array![[21.], [43.]].into_dyn()
    );
    // Transposed: M^T given as a 2 x 1 matrix.
    let mt = array![[1.], [10.]];
    assert_eq!(
        mode_dot(&x.view(), &mt.view(), 0, Transpose::Yes).unwrap(),
        array![[31., 42.]].into_dyn()
    );
}

#[test]
fn mode_dot_equals_fold_of_matrix_product_on_every_mode() {
    let mut rng = SeededRng::new(3);
    let shape = [4, 5, 6, 3];
    let x = random_normal::<f64>(&shape, &mut rng);
    for mode in 0..4 {
        let m = random_matrix::<f64>(7, shape[mode], &mut rng);
        let got = mode_dot(&x.view(), &m.view(), mode, Transpose::No).unwrap();
        let mut out_shape = shape.to_vec();
        out_shape[mode] = 7;
        let want = fold(
            &matmul(m.view(), unfold(&x.view(), mode).unwrap().view()).view(),
            mode,
            &out_shape,
        )
        .unwrap();
        assert!(
            relative_error(&want.view(), &got.view()).unwrap() < 1e-14,
            "mode {mode}"
        );
    }
}

#[test]
fn mode_dot_on_tiny_modes_equals_fold_of_matrix_product() {
    // Modes of 2-4 entries mapped to 1-4 (the one-pass path), on tensors large enough for the
    // threads to split them, and with the mode first, inside and last.
    let mut rng = SeededRng::new(5);
    for (shape, rank) in [
        (vec![3, 2, 4, 2], 1),
        (vec![2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 1),
        (vec![64, 4, 37, 3, 9], 4),
    ] {
        let x = random_normal::<f64>(&shape, &mut rng);
        for mode in 0..shape.len() {
            let m = random_matrix::<f64>(rank, shape[mode], &mut rng);
            let got = mode_dot(&x.view(), &m.view(), mode, Transpose::No).unwrap();
            let mut out_shape = shape.clone();
            out_shape[mode] = rank;
            let want = fold(
                &matmul(m.view(), unfold(&x.view(), mode).unwrap().view()).view(),
                mode,
                &out_shape,
            )
            .unwrap();
            let err = relative_error(&want.view(), &got.view()).unwrap();
            assert!(err < 1e-14, "shape {shape:?} mode {mode}: {err:e}");
        }
    }
}

/// `x ×_mode m` through the unfolding: the matrix product the fused passes must equal.
fn mode_dot_by_unfolding(x: &ArrayD<f64>, m: &Array2<f64>, mode: usize) -> ArrayD<f64> {
    let mut shape = x.shape().to_vec();
    shape[mode] = m.nrows();
    fold(
        &matmul(m.view(), unfold(&x.view(), mode).unwrap().view()).view(),
        mode,
        &shape,
    )
    .unwrap()
}

#[test]
fn adjacent_tiny_modes_contracted_together_equal_one_product_per_mode() {
    // Runs of adjacent tiny modes (one pass over the tensor for the whole run) at the start,
    // in the middle and at the end (rows of 1-4 entries after them), next to a large mode,
    // with ranks below and equal to the mode sizes; runs of small modes (one GEMM).
    let mut rng = SeededRng::new(8);
    for (shape, ranks) in [
        (vec![300, 2, 2, 2], vec![0, 1, 1, 1]),
        (vec![2, 2, 2, 300], vec![1, 2, 1, 0]),
        (vec![30, 2, 3, 2, 40], vec![0, 1, 2, 2, 0]),
        (
            vec![28, 3, 4, 39, 2, 2, 2, 2],
            vec![12, 0, 0, 7, 2, 1, 1, 1],
        ),
        (vec![5, 4, 4, 2, 3], vec![0, 2, 3, 1, 2]),
        // small (not tiny) neighbours: 10 -> 4 twice as one 100 x 16 product, then a third
        // that would pass 16 columns; 12 -> 5 pairs that would pass 16 columns at once
        (vec![7, 10, 10, 9], vec![0, 4, 4, 3]),
        (vec![3, 12, 12, 12, 5], vec![0, 5, 5, 5, 0]),
        (vec![10, 10, 10, 10, 10], vec![3, 1, 1, 4, 4]),
        // a product that would cost 7.7 times the separate work stays two products
        (vec![5, 16, 16, 7], vec![0, 1, 15, 0]),
    ] {
        let x = random_normal::<f64>(&shape, &mut rng);
        let mut want = x.clone();
        let mut ms = Vec::new();
        let mut modes = Vec::new();
        for (mode, (&size, &rank)) in shape.iter().zip(&ranks).enumerate() {
            if rank == 0 {
                continue;
            }
            let m = random_matrix::<f64>(rank, size, &mut rng);
            want = mode_dot_by_unfolding(&want, &m, mode);
            ms.push(m);
            modes.push(mode);
        }
        let views: Vec<_> = ms.iter().map(|m| m.view()).collect();
        let got = multi_mode_dot(&x.view(), &views, Some(&modes), None, Transpose::No).unwrap();
        assert_eq!(got.shape(), want.shape(), "shape {shape:?}");
        let err = relative_error(&want.view(), &got.view()).unwrap();
        assert!(err < 1e-13, "shape {shape:?} ranks {ranks:?}: {err:e}");
    }
}

#[test]
fn a_product_over_an_empty_mode_is_zero() {
    // Nothing to sum: every output entry is written as 0, none left unset.
    let x = ArrayD::<f64>::zeros(IxDyn(&[2, 0, 3]));
    let m = Array2::<f64>::zeros((4, 0));
    let y = mode_dot(&x.view(), &m.view(), 1, Transpose::No).unwrap();
    assert_eq!(y.shape(), &[2, 4, 3]);
    assert!(y.iter().all(|&v| v == 0.0));
}

#[test]
fn multi_mode_dot_skip_and_order_independence() {
    let mut rng = SeededRng::new(4);
    let x = random_normal::<f64>(&[4, 5, 6], &mut rng);
    let ms: Vec<Array2<f64>> = [4, 5, 6]
        .iter()
        .map(|&i| random_matrix::<f64>(2, i, &mut rng))
        .collect();
    let views: Vec<_> = ms.iter().map(|m| m.view()).collect();
    let all = multi_mode_dot(&x.view(), &views, None, None, Transpose::No).unwrap();
    let mut seq = x.clone();
    for (k, m) in ms.iter().enumerate() {
        seq = mode_dot(&seq.view(), &m.view(), k, Transpose::No).unwrap();
    }
    assert!(relative_error(&seq.view(), &all.view()).unwrap() < 1e-14);
    let skipped = multi_mode_dot(&x.view(), &views, None, Some(1), Transpose::No).unwrap();
    assert_eq!(skipped.shape(), &[2, 5, 2]);
    let err =
        multi_mode_dot(&x.view(), &views[..2], Some(&[0, 0]), None, Transpose::No).unwrap_err();
    assert!(err.to_string().contains("listed twice"), "{err}");
    let err = mode_dot(&x.view(), &ms[0].view(), 1, Transpose::No).unwrap_err();
    assert!(matches!(err, TensorError::Shape { .. }));
}

#[test]
fn khatri_rao_by_hand() {
    let a = array![[1., 2.], [3., 4.]];
    let b = array![[5., 6.], [7., 8.], [9., 10.]];
    let kr = khatri_rao(&[a.view(), b.view()], None).unwrap();
    // Row i * 3 + j = a[i] * b[j].
    let want = array![
        [5., 12.],
        [7., 16.],
        [9., 20.],
        [15., 24.],
        [21., 32.],
        [27., 40.]
    ];
    assert_eq!(kr, want);
    assert_eq!(khatri_rao(&[a.view(), b.view()], Some(0)).unwrap(), b);
    assert!(khatri_rao(&[a.view(), array![[1.]].view()], None).is_err());
}

#[test]
fn mttkrp_equals_unfolding_times_khatri_rao_for_orders_2_to_5() {
    let mut rng = SeededRng::new(5);
    for shape in [
        vec![7, 6],
        vec![4, 5, 6],
        vec![3, 4, 2, 5],
        vec![2, 3, 4, 3, 2],
    ] {
        let x = random_normal::<f64>(&shape, &mut rng);
        let fs: Vec<Array2<f64>> = shape
            .iter()
            .map(|&i| random_matrix::<f64>(i, 3, &mut rng))
            .collect();
        let views: Vec<_> = fs.iter().map(|f| f.view()).collect();
        for mode in 0..shape.len() {
            let got = mttkrp(&x.view(), &views, mode).unwrap();
            let kr = khatri_rao(&views, Some(mode)).unwrap();
            let want = matmul(unfold(&x.view(), mode).unwrap().view(), kr.view());
            let err = relative_error(&want.into_dyn().view(), &got.into_dyn().view()).unwrap();
            assert!(err < 1e-13, "shape {shape:?} mode {mode}: {err}");
        }
    }
}

#[test]
fn norms_and_relative_error_by_hand() {
    let x = array![[3., 4.], [0., 0.]].into_dyn();
    assert_eq!(frobenius_norm(&x.view()), 5.0);
    let y = array![[3., 4.], [0., 5.]].into_dyn();
    assert!((relative_error(&x.view(), &y.view()).unwrap() - 1.0).abs() < 1e-15);
}

#[test]
fn check_tensor_names_the_problem() {
    let empty = ArrayD::<f64>::zeros(IxDyn(&[3, 0, 2]));
    assert!(matches!(
        check_tensor(&empty.view()).unwrap_err(),
        TensorError::Empty { .. }
    ));
    let scalar = ArrayD::<f64>::zeros(IxDyn(&[]));
    assert_eq!(
        check_tensor(&scalar.view()).unwrap_err(),
        TensorError::ZeroOrder
    );
    let mut x = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    x[[1, 2]] = f32::NAN;
    match check_tensor(&x.view()).unwrap_err() {
        TensorError::NonFinite { index, .. } => assert_eq!(index, vec![1, 2]),
        e => panic!("unexpected {e}"),
    }
    x[[1, 2]] = f32::INFINITY;
    assert!(
        check_tensor(&x.view())
            .unwrap_err()
            .to_string()
            .contains("inf")
    );
}

#[test]
fn svd_flip_makes_largest_entry_positive() {
    let mut u = array![[0.1, -0.9], [-0.5, 0.2]];
    let mut vt = array![[1., 2.], [3., 4.]];
    svd_flip(&mut u, Some(&mut vt));
    assert_eq!(u, array![[-0.1, 0.9], [0.5, -0.2]]);
    assert_eq!(vt, array![[-1., -2.], [-3., -4.]]);
}

#[test]
fn thin_svd_reconstructs_and_is_orthonormal() {
    let mut rng = SeededRng::new(6);
    for (m, n) in [(7, 4), (4, 7), (5, 5)] {
        let a = random_matrix::<f64>(m, n, &mut rng);
        let (u, s, vt) = thin_svd(&a.view()).unwrap();
        let p = m.min(n);
        assert_eq!((u.dim(), s.len(), vt.dim()), ((m, p), p, (p, n)));
        assert!(s.windows(2).all(|w| w[0] >= w[1]));
        let mut us = u.clone();
        for (j, mut c) in us.columns_mut().into_iter().enumerate() {
            c *= s[j];
        }
        let rec = matmul(us.view(), vt.view());
        assert!(relative_error(&a.into_dyn().view(), &rec.into_dyn().view()).unwrap() < 1e-13);
        let g = matmul(u.t(), u.view());
        assert!(
            (&g - &Array2::<f64>::eye(p))
                .iter()
                .all(|v| v.abs() < 1e-13)
        );
    }
}

#[test]
fn gram_eigen_agrees_with_svd_one_to_one() {
    // Same vectors and signs as the SVD (svd_flip), from the Gram matrix of the unfolding.
    let mut rng = SeededRng::new(7);
    let x = random_normal::<f64>(&[6, 5, 7], &mut rng);
    for mode in 0..3 {
        let xm = unfold(&x.view(), mode).unwrap();
        let (u_svd, s_svd, _) = thin_svd(&xm.view()).unwrap();
        let g = mode_gram(&mode_view(&x.view(), mode).unwrap());
        let g_direct = matmul(xm.view(), xm.t());
        assert!(
            (&g - &g_direct).iter().all(|v| v.abs() < 1e-12),
            "gram mode {mode}"
        );
        let k = 3;
        let (u, s) = leading_from_gram(&g.view(), k).unwrap();
        for j in 0..k {
            assert!((s[j] - s_svd[j]).abs() < 1e-10);
            for i in 0..u.nrows() {
                assert!(
                    (u[[i, j]] - u_svd[[i, j]]).abs() < 1e-8,
                    "mode {mode} vector {j}"
                );
            }
        }
    }
}

#[test]
fn mode_gram_equals_the_unfolding_times_its_transpose_on_every_layout() {
    // (shape, mode): long rows cut into pieces, the last mode (b = 1) split over threads,
    // short rows gathered in blocks of slabs (with a remainder), sequential and parallel.
    let mut rng = SeededRng::new(12);
    for (shape, mode) in [
        (vec![3, 40, 2100], 1),
        (vec![2600, 30], 1),
        (vec![37, 25, 24], 1),
        (vec![300, 40, 20], 1),
        (vec![5, 7, 3, 2], 2),
        (vec![9, 1, 11], 1),
    ] {
        let x = random_normal::<f64>(&shape, &mut rng);
        let xm = unfold(&x.view(), mode).unwrap();
        let want = matmul(xm.view(), xm.t());
        let got = mode_gram(&mode_view(&x.view(), mode).unwrap());
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = (&got - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            worst <= 1e-12 * scale,
            "shape {shape:?} mode {mode}: {worst:e}"
        );
    }
    // A strided view (rows of the gathered layout not contiguous) gives the same Gram.
    let x = random_normal::<f64>(&[37, 25, 24], &mut rng);
    let strided: ndarray::ArrayView3<'_, f64> = x
        .view()
        .permuted_axes(vec![2, 1, 0])
        .into_dimensionality()
        .unwrap();
    let contiguous = strided.as_standard_layout().into_owned();
    let want = mode_gram(&contiguous.view());
    let got = mode_gram(&strided);
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!((&got - &want).iter().all(|v| v.abs() <= 1e-12 * scale));
}

#[test]
fn warm_start_converges_to_the_same_vectors() {
    let mut rng = SeededRng::new(8);
    // A Gram matrix with a clear gap after 4 values.
    let q = random_orthonormal::<f64>(20, 20, &mut rng);
    let vals: Vec<f64> = (0..20)
        .map(|i| {
            if i < 4 {
                100.0 - i as f64
            } else {
                0.5 / (i as f64)
            }
        })
        .collect();
    let mut qd = q.clone();
    for (j, mut c) in qd.columns_mut().into_iter().enumerate() {
        c *= vals[j];
    }
    let g = matmul(qd.view(), q.t());
    let (u_full, s_full) = leading_from_gram(&g.view(), 4).unwrap();
    // Start from a perturbed basis.
    let noisy = &u_full + &(random_matrix::<f64>(20, 4, &mut rng) * 0.05);
    let start = thin_qr(&noisy.view()).0;
    let (u, s) = leading_from_gram_warm(&g.view(), 4, &start.view()).unwrap();
    for j in 0..4 {
        assert!((s[j] - s_full[j]).abs() < 1e-9);
    }
    assert!((&u - &u_full).iter().all(|v| v.abs() < 1e-8));
}

#[test]
fn sym_eigen_is_decreasing_and_reconstructs() {
    let mut rng = SeededRng::new(9);
    let a = random_matrix::<f64>(6, 6, &mut rng);
    let s = &a + &a.t();
    let (w, v) = sym_eigen(&s.view()).unwrap();
    assert!(w.windows(2).all(|p| p[0] >= p[1]));
    let mut vw = v.clone();
    for (j, mut c) in vw.columns_mut().into_iter().enumerate() {
        c *= w[j];
    }
    let rec = matmul(vw.view(), v.t());
    assert!((&rec - &s).iter().all(|x| x.abs() < 1e-12));
}

#[test]
fn symmetric_solve_handles_singular_systems() {
    let mut rng = SeededRng::new(10);
    let a = random_matrix::<f64>(8, 3, &mut rng);
    let v = matmul(a.t(), a.view());
    let x = random_matrix::<f64>(4, 3, &mut rng);
    let b = matmul(x.view(), v.view());
    let got = solve_sym_right(&b.view(), &v.view()).unwrap();
    assert!((&got - &x).iter().all(|e| e.abs() < 1e-10));
    // Singular V (rank 1): the pseudo-inverse solution still satisfies X V = B.
    let w: Array2<f64> = array![[1., 1.], [1., 1.]];
    let b: Array2<f64> = array![[2., 2.]];
    let got = solve_sym_right(&b.view(), &w.view()).unwrap();
    let back = matmul(got.view(), w.view());
    assert!((&back - &b).iter().all(|e| e.abs() < 1e-12), "{got}");
}

#[test]
fn memory_budgets_refuse_what_cannot_fit_and_pass_what_can() {
    use tnet_tensor::memory::{check_fits, cp_bytes, machine_memory, tt_bytes, tucker_bytes};
    // By hand: CP of a 10 x 20 matrix at rank 3 in f64:
    // 8 * (2*200 + 2*3*30 + (2+2)*9) = 8 * 616.
    assert_eq!(cp_bytes(&[10, 20], 3, 8), 8.0 * 616.0);
    // Tucker of 4 x 5 at ranks 2, 3: 4 * (3*20 + 6 + (8 + 15) + (16 + 25)).
    assert_eq!(tucker_bytes(&[4, 5], &[2, 3], 4), 4.0 * 130.0);
    assert_eq!(tt_bytes(&[4, 5], &[1, 2, 1], 8), 8.0 * (80.0 + 8.0 + 10.0));
    if machine_memory().is_some() {
        // `decompose cp --rank 100000` on a small tensor: 80 GB of Gram matrices, refused
        // with the numbers; a small rank passes.
        let err = check_fits("CP at rank 1e7", cp_bytes(&[32, 32, 9], 10_000_000, 8)).unwrap_err();
        assert!(
            err.to_string().contains("CP at rank 1e7 needs about"),
            "{err}"
        );
        assert!(check_fits("CP at rank 16", cp_bytes(&[32, 32, 9], 16, 8)).is_ok());
        assert!(check_fits("overflowing", f64::INFINITY).is_err());
        assert!(check_fits("NaN", f64::NAN).is_err());
    }
}
