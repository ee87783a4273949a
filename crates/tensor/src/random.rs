//! Seeded random tensors for tests and benchmarks (the exact low-rank ones are `random_tucker`,
//! `random_cp` and `random_tt` in the decomposition crates). The generator is our own xoshiro256** so that a seed means the same tensor on
//! every platform and every version of every dependency.

use ndarray::{Array2, ArrayD, IxDyn};

use crate::Scalar;
use crate::linalg::thin_qr;

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
