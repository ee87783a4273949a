//! Linear-algebra helpers against their definitions.

use tnet_tensor::linalg::{
    complete_orthonormal, leading_from_gram, leading_mode_vectors_few_columns, mode_gram,
};
use tnet_tensor::random::{SeededRng, random_normal};

#[test]
fn few_column_unfoldings_give_the_gram_path_subspace_and_a_completed_basis() {
    let mut rng = SeededRng::new(3);
    // (A, I, B) = (2, 40, 3): a 40 x 6 unfolding.
    let x = random_normal::<f64>(&[2, 40, 3], &mut rng)
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap();
    let ours = leading_mode_vectors_few_columns(&x.view(), 4)
        .unwrap()
        .unwrap();
    let (gram, _) = leading_from_gram(&mode_gram(&x.view()).view(), 4).unwrap();
    for j in 0..4 {
        let d: f64 = ours.column(j).dot(&gram.column(j));
        assert!(
            (d - 1.0).abs() < 1e-10,
            "column {j}: {d} (same vector, same sign)"
        );
    }
    // More vectors than the unfolding's rank (6): the first 6 span its range, the others
    // complete an orthonormal basis outside it.
    let u = leading_mode_vectors_few_columns(&x.view(), 10)
        .unwrap()
        .unwrap();
    let g = u.t().dot(&u);
    for ((r, c), v) in g.indexed_iter() {
        assert!(
            (v - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12,
            "({r}, {c}) {v}"
        );
    }
    let (six, _) = leading_from_gram(&mode_gram(&x.view()).view(), 6).unwrap();
    let overlap = six.t().dot(&u.slice(ndarray::s![.., 6..]));
    assert!(
        overlap.iter().all(|v| v.abs() < 1e-10),
        "completion orthogonal to the range"
    );
}

#[test]
fn completing_orthonormal_columns_keeps_them_and_adds_orthonormal_ones() {
    let mut rng = SeededRng::new(4);
    let a = random_normal::<f64>(&[30, 3], &mut rng)
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    let (u, _) = tnet_tensor::linalg::thin_qr(&a.view());
    let full = complete_orthonormal(&u.view(), 10).unwrap();
    assert_eq!(full.dim(), (30, 10));
    assert_eq!(full.slice(ndarray::s![.., ..3]), u);
    let g = full.t().dot(&full);
    for ((i, j), v) in g.indexed_iter() {
        let want = if i == j { 1.0 } else { 0.0 };
        assert!((v - want).abs() < 1e-12, "U^T U [{i},{j}] = {v}");
    }
    assert_eq!(complete_orthonormal(&u.view(), 3).unwrap(), u);
    assert!(complete_orthonormal(&u.view(), 2).is_err());
    assert!(complete_orthonormal(&u.view(), 31).is_err());
}
