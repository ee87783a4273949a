use ndarray::IxDyn;
use ndarray::{Array1, Array2, ArrayD};
use tnet_tensor::linalg::matmul;
use tnet_tensor::{Scalar, TensorError, khatri_rao};

/// The full tensor of a CP model, `X_(0) = U_0 diag(w) khatri_rao(U_1, ..)^T`; every factor
/// `U_k: I_k x R` with `R = weights.len()`, as [`CpTensor::new`] checks.
pub fn cp_to_tensor<T: Scalar>(weights: &Array1<T>, factors: &[Array2<T>]) -> ArrayD<T> {
    let shape: Vec<usize> = factors.iter().map(|f| f.nrows()).collect();
    let first = &factors[0] * &weights.view().insert_axis(ndarray::Axis(0));
    let flat = if factors.len() == 1 {
        first
            .sum_axis(ndarray::Axis(1))
            .insert_axis(ndarray::Axis(1))
    } else {
        let views: Vec<_> = factors[1..].iter().map(|f| f.view()).collect();
        let kr = khatri_rao(&views, None).expect("factors share the rank");
        matmul(first.view(), kr.t())
    };
    flat.into_shape_with_order(IxDyn(&shape)).expect("sizes")
}

/// A tensor in CP form, `X = sum_r w_r  U_0[:, r] ∘ U_1[:, r] ∘ ... ∘ U_{N-1}[:, r]`,
/// with `weights: R` and `U_k: I_k x R`.
#[derive(Debug, Clone, PartialEq)]
pub struct CpTensor<T> {
    pub weights: Array1<T>,
    pub factors: Vec<Array2<T>>,
}

impl<T: Scalar> CpTensor<T> {
    /// Checks that every factor has `R = weights.len()` columns.
    pub fn new(weights: Array1<T>, factors: Vec<Array2<T>>) -> Result<Self, TensorError> {
        if factors.is_empty() {
            return Err(TensorError::Invalid(
                "a CP tensor needs at least one factor".into(),
            ));
        }
        for (k, f) in factors.iter().enumerate() {
            if f.ncols() != weights.len() {
                return Err(TensorError::Shape {
                    what: format!("CP factor {k}"),
                    expected: format!("{} columns (the rank)", weights.len()),
                    got: format!("{} x {}", f.nrows(), f.ncols()),
                });
            }
        }
        Ok(Self { weights, factors })
    }

    pub fn rank(&self) -> usize {
        self.weights.len()
    }

    pub fn shape(&self) -> Vec<usize> {
        self.factors.iter().map(|f| f.nrows()).collect()
    }

    /// The full tensor.
    pub fn to_tensor(&self) -> ArrayD<T> {
        cp_to_tensor(&self.weights, &self.factors)
    }

    /// `||x - self|| / ||x||`, reconstructing block by block (never the whole tensor at once).
    pub fn relative_error(&self, x: &ndarray::ArrayViewD<'_, T>) -> Result<f64, TensorError> {
        tnet_tensor::relative_error_blockwise(x, &self.shape(), |rows| {
            let mut factors = self.factors.clone();
            factors[0] = self.factors[0].slice(ndarray::s![rows, ..]).to_owned();
            cp_to_tensor(&self.weights, &factors)
        })
    }

    /// `R + R * sum(I_k)`: the weights are counted (either convention is in use; we count
    /// what we store).
    pub fn n_params(&self) -> usize {
        self.rank() + self.factors.iter().map(|f| f.len()).sum::<usize>()
    }

    /// Moves the column norms of every factor into the weights (TensorLy's `cp_normalize`);
    /// zero columns keep weight 0 and are left as they are.
    pub fn normalize(&mut self) {
        for f in &mut self.factors {
            for (r, mut col) in f.columns_mut().into_iter().enumerate() {
                let norm = col.iter().map(|v| *v * *v).sum::<T>().sqrt();
                if norm > T::zero() {
                    col.mapv_inplace(|v| v / norm);
                    self.weights[r] *= norm;
                }
            }
        }
    }
}

tnet_tensor::impl_factorized!(CpTensor, "cp", {
    fn rank(&self) -> Vec<usize> {
        vec![CpTensor::rank(self)]
    }
    fn named_parts(&self) -> Vec<(String, ndarray::ArrayViewD<'_, T>)> {
        std::iter::once(("weights".to_string(), self.weights.view().into_dyn()))
            .chain(tnet_tensor::named_matrices("factor", &self.factors))
            .collect()
    }
});
