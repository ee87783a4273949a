use ndarray::{Array2, ArrayView2, ArrayViewD};
use tnet_tensor::linalg::{
    gemm, leading_from_gram, matmul, mode_gram, nearly_orthonormal, par_for, svd_flip, thin_svd,
};
use tnet_tensor::{Scalar, TensorError, check_tensor_norm};

use crate::TtTensor;

/// How TT ranks are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum TtRank {
    /// `(1, r, .., r, 1)`, each clamped to what the unfolding allows.
    Max(usize),
    /// All `N + 1` ranks, first and last 1; inner ones clamped as TensorLy does
    /// (`min(r_k, rows, cols)` of the unfolding at that step).
    Ranks(Vec<usize>),
    /// The smallest ranks with `||X - TT|| <= eps ||X||` (Oseledets' TT-SVD: each of the
    /// `N - 1` truncations drops at most `eps ||X|| / sqrt(N - 1)`), optionally capped.
    Accuracy { eps: f64, max_rank: Option<usize> },
    /// At least this compression ratio (`prod(I) / n_params >= ratio`): the ranks of
    /// [`ranks_for_compression`](crate::ranks_for_compression) for the tensor's shape.
    Compression(f64),
}

impl TtRank {
    /// Checked upper bounds on the `N + 1` ranks and the accuracy, if any, for a tensor of
    /// `shape`.
    pub(crate) fn bounds(&self, shape: &[usize]) -> Result<(Vec<usize>, Option<f64>), TensorError> {
        let order = shape.len();
        match self {
            TtRank::Compression(ratio) => {
                Ok((crate::budget::ranks_for_compression(shape, *ratio)?, None))
            }
            TtRank::Max(r) => {
                if *r == 0 {
                    return Err(TensorError::BadRank {
                        mode: 1,
                        rank: 0,
                        allowed: "TT ranks must be at least 1".into(),
                    });
                }
                let mut v = vec![*r; order + 1];
                v[0] = 1;
                v[order] = 1;
                Ok((v, None))
            }
            TtRank::Ranks(v) => {
                if v.len() != order + 1 {
                    return Err(TensorError::RankCount {
                        what: format!("a TT decomposition of a {order}-mode tensor (N + 1 ranks)"),
                        expected: order + 1,
                        got: v.len(),
                    });
                }
                if v[0] != 1 || v[order] != 1 {
                    return Err(TensorError::BadRank {
                        mode: if v[0] != 1 { 0 } else { order },
                        rank: if v[0] != 1 { v[0] } else { v[order] },
                        allowed: "the first and last TT ranks must be 1".into(),
                    });
                }
                if let Some(k) = v.iter().position(|&r| r == 0) {
                    return Err(TensorError::BadRank {
                        mode: k,
                        rank: 0,
                        allowed: "TT ranks must be at least 1".into(),
                    });
                }
                Ok((v.clone(), None))
            }
            TtRank::Accuracy { eps, max_rank } => {
                if !(eps.is_finite() && *eps > 0.0) {
                    return Err(TensorError::Invalid(format!(
                        "TT accuracy eps must be a positive number, got {eps}"
                    )));
                }
                let cap = max_rank.unwrap_or(usize::MAX);
                if cap == 0 {
                    return Err(TensorError::BadRank {
                        mode: 1,
                        rank: 0,
                        allowed: "TT ranks must be at least 1".into(),
                    });
                }
                let mut v = vec![cap; order + 1];
                v[0] = 1;
                v[order] = 1;
                Ok((v, Some(*eps)))
            }
        }
    }
}

/// Smallest `r` (at least 1, at most `cap`) whose discarded tail of squared singular values
/// stays within `delta2`; without `delta2`, just `cap`.
pub(crate) fn truncation_rank<T: Scalar>(s: &[T], cap: usize, delta2: Option<f64>) -> usize {
    let cap = cap.min(s.len()).max(1);
    let Some(delta2) = delta2 else { return cap };
    let mut tail = 0.0f64;
    let mut r = s.len();
    while r > 1 {
        let next = tail + s[r - 1].as_f64().powi(2);
        if next > delta2 {
            break;
        }
        tail = next;
        r -= 1;
    }
    r.min(cap)
}

/// Result of [`tensor_train`]: the train (its ranks reached are `tt.ranks()`) and the error.
#[derive(Debug, Clone)]
pub struct TtFit<T> {
    pub tt: TtTensor<T>,
    /// Relative error `||X - TT|| / ||X||` after each of the `N - 1` truncations (cumulative:
    /// the last entry is the train's error). It is the energy the truncations discarded, so
    /// below about `sqrt(eps)` of the dtype it is rounding noise; `tt.relative_error(x)`
    /// measures it directly.
    pub errors: Vec<f64>,
}

impl<T> TtFit<T> {
    /// The train's relative error (0 for a one-mode tensor, which is its own train).
    pub fn error(&self) -> f64 {
        self.errors.last().copied().unwrap_or(0.0)
    }
}

/// TT-SVD (Oseledets 2011), TensorLy's `tensor_train` plus an accuracy mode.
///
/// Each step needs the leading left singular vectors of a `(r_{k-1} I_k) x rest` matrix:
/// for wide matrices we take them from its Gram matrix (symmetric eigen, far cheaper than an
/// SVD of the wide matrix), then carry `U^T C = S V^T` on with one GEMM.
pub fn tensor_train<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: &TtRank,
) -> Result<TtFit<T>, TensorError> {
    // Run on a worker of the thread pool: each fork-join inside then wakes one thread, not two.
    rayon::scope(|_| tensor_train_impl(x, rank))
}

fn tensor_train_impl<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    rank: &TtRank,
) -> Result<TtFit<T>, TensorError> {
    let norm_x = check_tensor_norm(x)?;
    let order = x.ndim();
    let (caps, eps) = rank.bounds(x.shape())?;
    let x = x.as_standard_layout();
    let shape = x.shape().to_vec();
    let delta2 = eps.map(|e| {
        let d = e * norm_x / ((order.max(2) - 1) as f64).sqrt();
        d * d
    });
    // Gram matrices square the condition number: singular values below sqrt(eps) ||C|| are
    // lost in them. When the asked accuracy reaches that level, use the SVD itself.
    let precise = eps.is_some_and(|e| e < 10.0 * T::epsilon().as_f64().sqrt());
    let mut cores = Vec::with_capacity(order);
    let mut errors = Vec::with_capacity(order.saturating_sub(1));
    // Squared norms: of the matrix being split, and of what the truncations dropped so far.
    let (mut energy, mut dropped) = (norm_x * norm_x, 0.0f64);
    let mut carry: Option<Array2<T>> = None;
    let mut r_prev = 1;
    let total: usize = shape.iter().product();
    for k in 0..order - 1 {
        let rows = r_prev * shape[k];
        let cols = total / shape[..=k].iter().product::<usize>();
        let data = match &carry {
            Some(c) => c.as_slice().expect("carried matrices are contiguous"),
            None => x.as_slice().expect("standard layout"),
        };
        let c = ArrayView2::from_shape((rows, cols), data).expect("sizes");
        let cap = caps[k + 1].min(rows).min(cols);
        let (u, next) = if precise {
            svd_truncate(&c, cap, delta2)?
        } else if rows <= cols {
            let gram = mode_gram(&c.view().insert_axis(ndarray::Axis(0)));
            // With fixed ranks only the first `cap` vectors are kept; an accuracy target
            // needs every singular value to choose the rank.
            let wanted = if delta2.is_some() { rows } else { cap };
            let (u_all, s) = leading_from_gram(&gram.view(), wanted)?;
            let r = truncation_rank(&s, cap, delta2);
            let u = u_all
                .slice(ndarray::s![.., ..r])
                .as_standard_layout()
                .into_owned();
            let mut next = Array2::<T>::zeros((r, cols));
            gemm(
                next.view_mut(),
                false,
                u.t(),
                c,
                T::one(),
                par_for(2.0 * (r * rows * cols) as f64),
            );
            (u, next)
        } else {
            // Tall: right singular vectors from the small Gram C^T C, then U = C V / |C V|
            // (columns of C V are orthogonal) and the carried factor is the projection U^T C.
            let gram = matmul(c.t(), c);
            let wanted = if delta2.is_some() { cols } else { cap };
            let (v_all, s) = leading_from_gram(&gram.view(), wanted)?;
            let r = truncation_rank(&s, cap, delta2);
            let mut u = matmul(c, v_all.slice(ndarray::s![.., ..r]));
            for mut col in u.columns_mut() {
                let norm = col.iter().map(|v| *v * *v).sum::<T>().sqrt();
                if norm > T::zero() {
                    col.mapv_inplace(|v| v / norm);
                }
            }
            if u.columns()
                .into_iter()
                .any(|col| col.iter().all(|v| *v == T::zero()))
                || !nearly_orthonormal(&u)
            {
                // Rank-deficient or ill-conditioned: take the SVD of the tall matrix itself.
                svd_truncate(&c, cap, delta2)?
            } else {
                svd_flip(&mut u, None);
                let next = matmul(u.t(), c);
                (u, next)
            }
        };
        let r = u.ncols();
        cores.push(
            u.into_shape_with_order((r_prev, shape[k], r))
                .expect("sizes"),
        );
        let kept = tnet_tensor::frobenius_norm(&next.view().into_dyn()).powi(2);
        dropped += (energy - kept).max(0.0);
        energy = kept;
        errors.push(if norm_x > 0.0 {
            dropped.sqrt() / norm_x
        } else {
            0.0
        });
        carry = Some(next);
        r_prev = r;
    }
    let last = match carry {
        Some(c) => c,
        None => x
            .view()
            .into_shape_with_order((1, shape[0]))
            .expect("1-d")
            .to_owned(),
    };
    cores.push(
        last.into_shape_with_order((r_prev, shape[order - 1], 1))
            .expect("sizes"),
    );
    Ok(TtFit {
        tt: TtTensor::new(cores)?,
        errors,
    })
}

/// Truncated SVD `C ~ U (S V^T)`: the left factor and the carried right factor.
pub(crate) fn svd_truncate<T: Scalar>(
    c: &ArrayView2<'_, T>,
    cap: usize,
    delta2: Option<f64>,
) -> Result<(Array2<T>, Array2<T>), TensorError> {
    let (u, s, vt) = thin_svd(c)?;
    let r = truncation_rank(&s, cap, delta2);
    let mut next = vt
        .slice(ndarray::s![..r, ..])
        .as_standard_layout()
        .into_owned();
    for (i, mut row) in next.rows_mut().into_iter().enumerate() {
        row.mapv_inplace(|v| v * s[i]);
    }
    Ok((
        u.slice(ndarray::s![.., ..r])
            .as_standard_layout()
            .into_owned(),
        next,
    ))
}
