use ndarray::IxDyn;
use ndarray::{Array3, ArrayD};
use tnet_tensor::linalg::matmul;
use tnet_tensor::{Scalar, TensorError};

/// The full tensor of a tensor train, contracting the cores `G_k: r_{k-1} x I_k x r_k` left to
/// right; the first and last ranks are 1 and neighbouring ranks match, as [`TtTensor::new`]
/// checks.
pub fn tt_to_tensor<T: Scalar>(cores: &[Array3<T>]) -> ArrayD<T> {
    let shape: Vec<usize> = cores.iter().map(|c| c.dim().1).collect();
    let (r0, i0, r1) = cores[0].dim();
    let mut acc = cores[0]
        .view()
        .into_shape_with_order((r0 * i0, r1))
        .expect("contiguous")
        .to_owned();
    for core in &cores[1..] {
        let (ra, i, rb) = core.dim();
        let cm = core
            .view()
            .into_shape_with_order((ra, i * rb))
            .expect("contiguous");
        let next = matmul(acc.view(), cm);
        let rows = next.nrows() * i;
        acc = next.into_shape_with_order((rows, rb)).expect("sizes");
    }
    acc.into_shape_with_order(IxDyn(&shape))
        .expect("first and last TT ranks are 1")
}

/// A tensor in tensor-train form: cores `G_k: r_{k-1} x I_k x r_k` with `r_0 = r_N = 1`,
/// `X[i_0, .., i_{N-1}] = G_0[:, i_0, :] G_1[:, i_1, :] ... G_{N-1}[:, i_{N-1}, :]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TtTensor<T> {
    pub cores: Vec<Array3<T>>,
}

impl<T: Scalar> TtTensor<T> {
    /// Checks boundary ranks of 1 and matching ranks between neighbouring cores.
    pub fn new(cores: Vec<Array3<T>>) -> Result<Self, TensorError> {
        let (Some(first), Some(last)) = (cores.first(), cores.last()) else {
            return Err(TensorError::Invalid(
                "a TT tensor needs at least one core".into(),
            ));
        };
        if first.dim().0 != 1 || last.dim().2 != 1 {
            return Err(TensorError::Invalid(format!(
                "TT boundary ranks must be 1, got r_0 = {} and r_N = {}",
                first.dim().0,
                last.dim().2
            )));
        }
        for k in 1..cores.len() {
            if cores[k - 1].dim().2 != cores[k].dim().0 {
                return Err(TensorError::Shape {
                    what: format!("TT core {k}"),
                    expected: format!(
                        "left rank {} (right rank of core {})",
                        cores[k - 1].dim().2,
                        k - 1
                    ),
                    got: format!("{:?}", cores[k].dim()),
                });
            }
        }
        Ok(Self { cores })
    }

    pub fn shape(&self) -> Vec<usize> {
        self.cores.iter().map(|c| c.dim().1).collect()
    }

    /// The `N + 1` TT ranks `(1, r_1, .., r_{N-1}, 1)`.
    pub fn ranks(&self) -> Vec<usize> {
        let mut r: Vec<usize> = self.cores.iter().map(|c| c.dim().0).collect();
        r.push(1);
        r
    }

    /// The full tensor.
    pub fn to_tensor(&self) -> ArrayD<T> {
        tt_to_tensor(&self.cores)
    }

    /// `||x - self|| / ||x||`, reconstructing block by block (never the whole tensor at once).
    pub fn relative_error(&self, x: &ndarray::ArrayViewD<'_, T>) -> Result<f64, TensorError> {
        tnet_tensor::relative_error_blockwise(x, &self.shape(), |rows| {
            let mut cores = self.cores.clone();
            cores[0] = self.cores[0].slice(ndarray::s![.., rows, ..]).to_owned();
            tt_to_tensor(&cores)
        })
    }

    /// `sum(r_{k-1} I_k r_k)`.
    pub fn n_params(&self) -> usize {
        self.cores.iter().map(|c| c.len()).sum()
    }
}

tnet_tensor::impl_factorized!(TtTensor, "tt", {
    fn rank(&self) -> Vec<usize> {
        self.ranks()
    }
    fn named_parts(&self) -> Vec<(String, ndarray::ArrayViewD<'_, T>)> {
        self.cores
            .iter()
            .enumerate()
            .map(|(k, c)| (format!("core.{k}"), c.view().into_dyn()))
            .collect()
    }
});
