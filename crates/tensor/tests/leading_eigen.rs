//! The partial symmetric eigensolver against exact spectra and the full eigendecomposition.

use ndarray::{Array2, Axis};
use tnet_tensor::leading_eigen::{sym_eigen_leading, tridiagonal_leading};
use tnet_tensor::linalg::{matmul, sym_eigen};
use tnet_tensor::random::{SeededRng, random_matrix, random_orthonormal};

/// `max |V V^T - W W^T|`: how far apart the spans of two orthonormal bases are.
fn projector_gap(v: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let pv = matmul(v.view(), v.t());
    let pw = matmul(w.view(), w.t());
    (&pv - &pw).iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

fn orthonormality_gap(v: &Array2<f64>) -> f64 {
    let g = matmul(v.t(), v.view());
    g.indexed_iter().fold(0.0f64, |m, ((i, j), x)| {
        m.max((x - if i == j { 1.0 } else { 0.0 }).abs())
    })
}

#[test]
fn second_difference_matrix_has_its_known_spectrum() {
    // T = tridiag(-1, 2, -1) of size n: eigenvalues 2 - 2 cos(j pi / (n + 1)), eigenvectors
    // sin(i j pi / (n + 1)); the top ones are close together (a cluster for inverse iteration).
    // Up to half the values come from bisection, more from QL: both are checked.
    let n = 150;
    for k in [1, 12, n / 2, n / 2 + 1, n] {
        second_difference_leading(n, k);
    }
}

fn second_difference_leading(n: usize, k: usize) {
    let diag = vec![2.0; n];
    let off = vec![-1.0; n - 1];
    let (values, vectors) = tridiagonal_leading(&diag, &off, k).expect("converges");
    assert_eq!(values.len(), k);
    let h = std::f64::consts::PI / (n + 1) as f64;
    for (c, &lambda) in values.iter().enumerate() {
        let j = (n - c) as f64;
        let want = 2.0 - 2.0 * (j * h).cos();
        assert!(
            (lambda - want).abs() < 1e-13,
            "k = {k}, value {c}: {lambda} vs {want}"
        );
        let exact: Vec<f64> = (1..=n).map(|i| (i as f64 * j * h).sin()).collect();
        let norm = exact.iter().map(|x| x * x).sum::<f64>().sqrt();
        let cosine: f64 = vectors
            .column(c)
            .iter()
            .zip(&exact)
            .map(|(a, b)| a * b / norm)
            .sum();
        assert!(
            (cosine.abs() - 1.0).abs() < 1e-10,
            "k = {k}, vector {c}: |cos| {cosine}"
        );
    }
    assert!(orthonormality_gap(&vectors) < 1e-12);
}

#[test]
fn leading_pairs_equal_the_full_decomposition_on_random_matrices() {
    let mut rng = SeededRng::new(21);
    for (n, k) in [(64, 1), (120, 10), (200, 50), (97, 24)] {
        let m = random_matrix::<f64>(n, n + 30, &mut rng);
        let s = matmul(m.view(), m.t());
        let (values, vectors) = sym_eigen_leading(&s.view(), k).unwrap();
        let (all, full) = sym_eigen(&s.view()).unwrap();
        let full = full.slice(ndarray::s![.., ..k]).to_owned();
        assert_eq!(vectors.dim(), (n, k));
        for (a, b) in values.iter().zip(&all) {
            assert!((a - b).abs() <= 1e-12 * all[0], "n {n} k {k}: {a} vs {b}");
        }
        assert!(orthonormality_gap(&vectors) < 1e-12, "n {n} k {k}");
        let gap = projector_gap(&vectors, &full);
        assert!(gap < 1e-9, "n {n} k {k}: projector gap {gap:e}");
        // Each column is an eigenvector of s for its value.
        let residual = &matmul(s.view(), vectors.view())
            - &(&vectors * &ndarray::Array1::from(values.clone()));
        let worst = residual.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(worst < 1e-10 * all[0], "n {n} k {k}: residual {worst:e}");
    }
}

#[test]
fn repeated_eigenvalues_give_a_basis_of_their_eigenspace() {
    // s = Q diag(5, 5, 5, 5, 3, 3, 1, 1, ...) Q^T: the leading 4 span Q's first 4 columns
    // whatever basis of that eigenspace comes out.
    let n = 80;
    let mut rng = SeededRng::new(4);
    let q = random_orthonormal::<f64>(n, n, &mut rng);
    let spectrum: Vec<f64> = (0..n)
        .map(|i| match i {
            0..4 => 5.0,
            4..6 => 3.0,
            _ => 1.0 / (i as f64),
        })
        .collect();
    let scaled = &q * &ndarray::Array1::from(spectrum).insert_axis(Axis(0));
    let s = matmul(scaled.view(), q.t());
    let (values, vectors) = sym_eigen_leading(&s.view(), 4).unwrap();
    for v in &values {
        assert!((v - 5.0).abs() < 1e-12, "{values:?}");
    }
    let want = q.slice(ndarray::s![.., ..4]).to_owned();
    assert!(projector_gap(&vectors, &want) < 1e-10);
    assert!(orthonormality_gap(&vectors) < 1e-12);
}

#[test]
fn diagonal_and_zero_matrices() {
    let n = 64;
    let diag: Vec<f64> = (0..n).map(|i| ((i * 37) % n) as f64).collect();
    let s = Array2::from_diag(&ndarray::Array1::from(diag));
    let (values, vectors) = sym_eigen_leading(&s.view(), 3).unwrap();
    assert_eq!(values, vec![63.0, 62.0, 61.0]);
    for (c, row) in [(0, 63usize), (1, 62), (2, 61)] {
        let at = (0..n).find(|&i| (i * 37) % n == row).unwrap();
        assert!((vectors[[at, c]].abs() - 1.0).abs() < 1e-14);
    }
    let zero = Array2::<f64>::zeros((n, n));
    let (values, vectors) = sym_eigen_leading(&zero.view(), 5).unwrap();
    assert_eq!(values, vec![0.0; 5]);
    assert!(orthonormality_gap(&vectors) < 1e-14);
}

#[test]
fn bad_requests_are_errors() {
    let s = Array2::<f64>::eye(50);
    assert!(sym_eigen_leading(&s.view(), 0).is_err());
    assert!(sym_eigen_leading(&s.view(), 51).is_err());
    let wide = Array2::<f64>::zeros((50, 49));
    assert!(sym_eigen_leading(&wide.view(), 2).is_err());
    assert!(tridiagonal_leading(&[1.0, 2.0], &[0.5, 0.5], 1).is_none());
}
