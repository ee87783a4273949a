//! Seeded random tensors, including exact low-rank Tucker / CP / TT tensors for tests and
//! benchmarks. The generator is our own xoshiro256** so that a seed means the same tensor on
//! every platform and every version of every dependency.

use ndarray::{Array1, Array2, Array3, ArrayD, IxDyn};

use crate::linalg::{matmul, thin_qr};
use crate::{Scalar, contract_modes, khatri_rao};

/// xoshiro256** seeded through splitmix64.
#[derive(Debug, Clone)]
pub struct SeededRng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
            spare_normal: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Marsaglia's polar method).
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.spare_normal.take() {
            return v;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let m = (-2.0 * s.ln() / s).sqrt();
                self.spare_normal = Some(v * m);
                return u * m;
            }
        }
    }
}

/// Tensor of i.i.d. standard normal entries.
pub fn random_normal<T: Scalar>(shape: &[usize], rng: &mut SeededRng) -> ArrayD<T> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || T::from_f64(rng.normal()))
}

/// Matrix of i.i.d. standard normal entries.
pub fn random_matrix<T: Scalar>(rows: usize, cols: usize, rng: &mut SeededRng) -> Array2<T> {
    Array2::from_shape_simple_fn((rows, cols), || T::from_f64(rng.normal()))
}

/// `rows x cols` matrix with orthonormal columns (`cols <= rows`), from QR of a normal matrix.
pub fn random_orthonormal<T: Scalar>(rows: usize, cols: usize, rng: &mut SeededRng) -> Array2<T> {
    let g = random_matrix::<T>(rows, cols, rng);
    thin_qr(&g.view()).0
}

/// Adds Gaussian noise of Frobenius norm `level * ||x||` (so `level = 0.01` is 1 % noise).
pub fn add_noise<T: Scalar>(x: &mut ArrayD<T>, level: f64, rng: &mut SeededRng) {
    let noise = random_normal::<T>(x.shape(), rng);
    let scale = level * crate::frobenius_norm(&x.view())
        / crate::frobenius_norm(&noise.view()).max(f64::MIN_POSITIVE);
    x.zip_mut_with(&noise, |a, &n| *a += n * T::from_f64(scale));
}

/// An exact Tucker tensor: normal core of shape `ranks`, orthonormal factors.
pub struct RandomTucker<T> {
    pub tensor: ArrayD<T>,
    pub core: ArrayD<T>,
    pub factors: Vec<Array2<T>>,
}

/// Exact rank-`ranks` Tucker tensor of `shape` (requires `ranks[k] <= shape[k]`).
pub fn random_tucker<T: Scalar>(
    shape: &[usize],
    ranks: &[usize],
    rng: &mut SeededRng,
) -> RandomTucker<T> {
    assert_eq!(shape.len(), ranks.len(), "one rank per mode");
    let core = random_normal::<T>(ranks, rng);
    let factors: Vec<Array2<T>> = shape
        .iter()
        .zip(ranks)
        .map(|(&i, &r)| random_orthonormal::<T>(i, r, rng))
        .collect();
    let tensor = tucker_dense(&core, &factors);
    RandomTucker {
        tensor,
        core,
        factors,
    }
}

/// Dense tensor of a Tucker model, `core ×_0 U_0 .. ×_{N-1} U_{N-1}` (products ordered to keep
/// intermediates small).
pub fn tucker_dense<T: Scalar>(core: &ArrayD<T>, factors: &[Array2<T>]) -> ArrayD<T> {
    let ops: Vec<_> = factors
        .iter()
        .enumerate()
        .map(|(k, f)| (k, f.t()))
        .collect();
    contract_modes(&core.view(), &ops)
}

/// An exact CP tensor: unit weights and normal factors.
pub struct RandomCp<T> {
    pub tensor: ArrayD<T>,
    pub weights: Array1<T>,
    pub factors: Vec<Array2<T>>,
}

/// Exact rank-`rank` CP tensor of `shape` with normal factors.
pub fn random_cp<T: Scalar>(shape: &[usize], rank: usize, rng: &mut SeededRng) -> RandomCp<T> {
    let factors: Vec<Array2<T>> = shape
        .iter()
        .map(|&i| random_matrix::<T>(i, rank, rng))
        .collect();
    let weights = Array1::from_elem(rank, T::one());
    let tensor = cp_dense(&weights, &factors);
    RandomCp {
        tensor,
        weights,
        factors,
    }
}

/// Dense tensor of a CP model: `X_(0) = U_0 diag(w) khatri_rao(U_1..)^T`.
pub fn cp_dense<T: Scalar>(weights: &Array1<T>, factors: &[Array2<T>]) -> ArrayD<T> {
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

/// An exact TT tensor: normal cores `(r_{k-1}, I_k, r_k)`.
pub struct RandomTt<T> {
    pub tensor: ArrayD<T>,
    pub cores: Vec<Array3<T>>,
}

/// Exact TT tensor with the `shape.len() + 1` ranks given (first and last must be 1).
pub fn random_tt<T: Scalar>(shape: &[usize], ranks: &[usize], rng: &mut SeededRng) -> RandomTt<T> {
    assert_eq!(ranks.len(), shape.len() + 1, "N+1 TT ranks");
    let cores: Vec<Array3<T>> = shape
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let scale = T::from_f64(1.0 / (ranks[k] as f64).sqrt());
            Array3::from_shape_simple_fn((ranks[k], i, ranks[k + 1]), || {
                T::from_f64(rng.normal()) * scale
            })
        })
        .collect();
    let tensor = tt_dense(&cores);
    RandomTt { tensor, cores }
}

/// Dense tensor of a TT model, contracting cores left to right.
pub fn tt_dense<T: Scalar>(cores: &[Array3<T>]) -> ArrayD<T> {
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
