//! The strided GEMM against a hand-written product, in both store orders, accumulating or
//! not, and the task sum against a serial sum.

use tnet_cpu::gemm::{Parallelism, gemm_strided, sum_over_tasks};

/// `a (m x k) b (k x n)`, row-major, by the definition.
fn naive(a: &[f32], b: &[f32], (m, n, k): (usize, usize, usize)) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    c
}

#[test]
fn strided_gemm_matches_the_definition_row_and_column_major() {
    let (m, n, k) = (5, 7, 3);
    let a: Vec<f32> = (0..m * k).map(|v| v as f32 * 0.5 - 3.0).collect();
    let b: Vec<f32> = (0..k * n).map(|v| 2.0 - v as f32 * 0.25).collect();
    let want = naive(&a, &b, (m, n, k));
    // Row-major destination (transposed internally) and column-major destination.
    for dst_strides in [(n as isize, 1), (1, m as isize)] {
        let mut c = vec![1f32; m * n];
        // SAFETY: c holds m x n values under either stride pair; a and b are m x k and k x n.
        unsafe {
            gemm_strided(
                (m, n, k),
                c.as_mut_ptr(),
                dst_strides,
                false,
                (&a, (k as isize, 1)),
                (&b, (n as isize, 1)),
                Parallelism::None,
            )
        };
        for i in 0..m {
            for j in 0..n {
                let got = c[i * dst_strides.0 as usize + j * dst_strides.1 as usize];
                assert!(
                    (got - want[i * n + j]).abs() < 1e-4,
                    "{dst_strides:?} ({i}, {j})"
                );
            }
        }
    }
    // Accumulating adds to what is there.
    let mut c = vec![1f32; m * n];
    // SAFETY: as above, row-major.
    unsafe {
        gemm_strided(
            (m, n, k),
            c.as_mut_ptr(),
            (n as isize, 1),
            true,
            (&a, (k as isize, 1)),
            (&b, (n as isize, 1)),
            Parallelism::None,
        )
    };
    assert!(
        c.iter()
            .zip(&want)
            .all(|(g, w)| (g - (w + 1.0)).abs() < 1e-4)
    );
}

#[test]
fn the_task_sum_equals_the_serial_sum() {
    let add = |acc: &mut [f32], t: usize, _: Parallelism| {
        for (i, v) in acc.iter_mut().enumerate() {
            *v += (t * 10 + i) as f32;
        }
    };
    let got = sum_over_tasks(13, 4, add);
    let want: Vec<f32> = (0..4)
        .map(|i| (0..13).map(|t| (t * 10 + i) as f32).sum())
        .collect();
    assert_eq!(got, want);
    assert_eq!(sum_over_tasks(0, 3, add), vec![0.0; 3]);
}
