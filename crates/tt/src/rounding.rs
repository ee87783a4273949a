use ndarray::{Array2, Array3};
use tnet_tensor::linalg::{matmul, thin_qr};
use tnet_tensor::{Scalar, TensorError};

use crate::tt_svd::svd_truncate;
use crate::{TtRank, TtTensor};

impl<T: Scalar> TtTensor<T> {
    /// TT rounding (Oseledets 2011, Alg. 2): recompress to lower ranks and/or accuracy
    /// `||self - rounded|| <= eps ||self||`, without forming the full tensor.
    ///
    /// Right-to-left QR makes every core but the first right-orthogonal; then left-to-right
    /// truncated SVDs drop at most `eps ||X|| / sqrt(N - 1)` each.
    pub fn round(&self, rank: &TtRank) -> Result<TtTensor<T>, TensorError> {
        let order = self.cores.len();
        let (caps, eps) = rank.bounds(&self.shape())?;
        let mut cores: Vec<Array3<T>> = self.cores.clone();
        // Right-to-left orthogonalization: G_k = R^T Q^T with Q from QR of G_k^T.
        for k in (1..order).rev() {
            let (ra, i, rb) = cores[k].dim();
            let g = cores[k]
                .view()
                .into_shape_with_order((ra, i * rb))
                .expect("contiguous")
                .to_owned();
            let (q, r) = thin_qr(&g.t());
            let rn = q.ncols();
            cores[k] = q
                .t()
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order((rn, i, rb))
                .expect("sizes");
            let (pa, pi, pb) = cores[k - 1].dim();
            let prev = cores[k - 1]
                .view()
                .into_shape_with_order((pa * pi, pb))
                .expect("contiguous")
                .to_owned();
            cores[k - 1] = matmul(prev.view(), r.t())
                .into_shape_with_order((pa, pi, rn))
                .expect("sizes");
        }
        let norm = cores[0]
            .iter()
            .map(|v| v.as_f64().powi(2))
            .sum::<f64>()
            .sqrt();
        let delta2 = eps.map(|e| {
            let d = e * norm / ((order.max(2) - 1) as f64).sqrt();
            d * d
        });
        // Left-to-right truncation.
        for k in 0..order - 1 {
            let (ra, i, rb) = cores[k].dim();
            let g: Array2<T> = cores[k]
                .view()
                .into_shape_with_order((ra * i, rb))
                .expect("contiguous")
                .to_owned();
            let (u, sv) = svd_truncate(&g.view(), caps[k + 1], delta2)?;
            let r = u.ncols();
            cores[k] = u.into_shape_with_order((ra, i, r)).expect("sizes");
            let (na, ni, nb) = cores[k + 1].dim();
            let next = cores[k + 1]
                .view()
                .into_shape_with_order((na, ni * nb))
                .expect("contiguous")
                .to_owned();
            cores[k + 1] = matmul(sv.view(), next.view())
                .into_shape_with_order((r, ni, nb))
                .expect("sizes");
        }
        TtTensor::new(cores)
    }
}
