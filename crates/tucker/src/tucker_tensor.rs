use ndarray::{Array2, ArrayD};
use tnet_tensor::{Scalar, TensorError, contract_modes};

/// The full tensor of a Tucker model, `core ×_0 U_0 .. ×_{N-1} U_{N-1}` (products ordered to
/// keep intermediates small); one factor `U_k: I_k x r_k` per core mode, as
/// [`TuckerTensor::new`] checks.
pub fn tucker_to_tensor<T: Scalar>(core: &ArrayD<T>, factors: &[Array2<T>]) -> ArrayD<T> {
    let ops: Vec<_> = factors
        .iter()
        .enumerate()
        .map(|(k, f)| (k, f.t()))
        .collect();
    contract_modes(&core.view(), &ops)
}

/// A tensor in Tucker form, `X = core ×_0 U_0 ×_1 U_1 ... ×_{N-1} U_{N-1}`, with
/// `core: r_0 x .. x r_{N-1}` and `U_k: I_k x r_k`.
#[derive(Debug, Clone, PartialEq)]
pub struct TuckerTensor<T> {
    pub core: ArrayD<T>,
    pub factors: Vec<Array2<T>>,
}

impl<T: Scalar> TuckerTensor<T> {
    /// Checks that there is one factor per core mode and that each has `r_k` columns.
    pub fn new(core: ArrayD<T>, factors: Vec<Array2<T>>) -> Result<Self, TensorError> {
        if core.ndim() != factors.len() {
            return Err(TensorError::RankCount {
                what: "a Tucker tensor (one factor per core mode)".into(),
                expected: core.ndim(),
                got: factors.len(),
            });
        }
        for (k, f) in factors.iter().enumerate() {
            if f.ncols() != core.shape()[k] {
                return Err(TensorError::Shape {
                    what: format!("Tucker factor {k}"),
                    expected: format!("{} columns (core size along mode {k})", core.shape()[k]),
                    got: format!("{} x {}", f.nrows(), f.ncols()),
                });
            }
        }
        Ok(Self { core, factors })
    }

    /// Shape of the full tensor, `(I_0, .., I_{N-1})`.
    pub fn shape(&self) -> Vec<usize> {
        self.factors.iter().map(|f| f.nrows()).collect()
    }

    /// Multilinear rank, `(r_0, .., r_{N-1})`.
    pub fn ranks(&self) -> Vec<usize> {
        self.core.shape().to_vec()
    }

    /// The full tensor (products ordered to keep intermediates small).
    pub fn to_tensor(&self) -> ArrayD<T> {
        tucker_to_tensor(&self.core, &self.factors)
    }

    /// `||x - self|| / ||x||`, reconstructing block by block (never the whole tensor at once).
    pub fn relative_error(&self, x: &ndarray::ArrayViewD<'_, T>) -> Result<f64, TensorError> {
        tnet_tensor::relative_error_blockwise(x, &self.shape(), |rows| {
            let mut ops: Vec<_> = self
                .factors
                .iter()
                .enumerate()
                .map(|(k, f)| (k, f.t()))
                .collect();
            let u0 = self.factors[0].slice(ndarray::s![rows, ..]);
            ops[0].1 = u0.t();
            contract_modes(&self.core.view(), &ops)
        })
    }

    /// `prod(r_k) + sum(I_k r_k)`.
    pub fn n_params(&self) -> usize {
        self.core.len() + self.factors.iter().map(|f| f.len()).sum::<usize>()
    }
}

tnet_tensor::impl_factorized!(TuckerTensor, "tucker", {
    fn rank(&self) -> Vec<usize> {
        self.ranks()
    }
    fn named_parts(&self) -> Vec<(String, ndarray::ArrayViewD<'_, T>)> {
        std::iter::once(("core".to_string(), self.core.view()))
            .chain(tnet_tensor::named_matrices("factor", &self.factors))
            .collect()
    }
});
