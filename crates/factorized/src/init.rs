//! SPEC section 2 initialization: factorized kernels whose reconstruction has exactly the
//! standard deviation of a Kaiming-normal conv init.
//!
//! Parts are drawn from normals whose product has about the right variance, then one part (the
//! Tucker core, the CP weights, the last TT core) is rescaled so that the reconstructed tensor's
//! empirical standard deviation is exactly the target: one draw can be off by 50 % at these sizes.

use ndarray::{Array1, Array2, Array3, ArrayD};
use tnet_tensor::Scalar;
use tnet_tensor::random::{
    SeededRng, cp_dense, random_matrix, random_normal, tt_dense, tucker_dense,
};

/// `sqrt(2 / (f_in h w))`, the standard deviation of a Kaiming-normal (fan-in) conv kernel.
pub fn kaiming_std(f_in: usize, h: usize, w: usize) -> f64 {
    (2.0 / (f_in * h * w) as f64).sqrt()
}

/// Empirical standard deviation (population, around the mean).
pub fn empirical_std(x: &ArrayD<f64>) -> f64 {
    let n = x.len() as f64;
    let mean = x.sum() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

fn scaled<T: Scalar>(mut a: ArrayD<T>, s: f64) -> ArrayD<T> {
    a.mapv_inplace(|v| v * T::from_f64(s));
    a
}

/// Tucker core `ranks` and factors `I_k x r_k`, reconstructing to std `std` exactly.
pub fn init_tucker(
    shape: &[usize],
    ranks: &[usize],
    std: f64,
    seed: u64,
) -> (ArrayD<f64>, Vec<Array2<f64>>) {
    let mut rng = SeededRng::new(seed);
    let order = shape.len() as f64;
    let s =
        (std / ranks.iter().map(|&r| (r as f64).sqrt()).product::<f64>()).powf(1.0 / (order + 1.0));
    let core = scaled(random_normal::<f64>(ranks, &mut rng), s);
    let factors: Vec<Array2<f64>> = shape
        .iter()
        .zip(ranks)
        .map(|(&i, &r)| random_matrix::<f64>(i, r, &mut rng) * s)
        .collect();
    let got = empirical_std(&tucker_dense(&core, &factors));
    (scaled(core, std / got), factors)
}

/// CP weights (rescaled) and factors `I_k x R`, reconstructing to std `std` exactly.
pub fn init_cp(
    shape: &[usize],
    rank: usize,
    std: f64,
    seed: u64,
) -> (Array1<f64>, Vec<Array2<f64>>) {
    let mut rng = SeededRng::new(seed);
    let s = (std / (rank as f64).sqrt()).powf(1.0 / shape.len() as f64);
    let factors: Vec<Array2<f64>> = shape
        .iter()
        .map(|&i| random_matrix::<f64>(i, rank, &mut rng) * s)
        .collect();
    let ones = Array1::from_elem(rank, 1.0);
    let got = empirical_std(&cp_dense(&ones, &factors));
    (Array1::from_elem(rank, std / got), factors)
}

/// TT cores `(r_{k-1}, I_k, r_k)` (the last one rescaled), reconstructing to std `std` exactly.
pub fn init_tt(shape: &[usize], ranks: &[usize], std: f64, seed: u64) -> Vec<Array3<f64>> {
    let mut rng = SeededRng::new(seed);
    let inner: f64 = ranks[1..ranks.len() - 1]
        .iter()
        .map(|&r| (r as f64).sqrt())
        .product();
    let s = (std / inner).powf(1.0 / shape.len() as f64);
    let mut cores: Vec<Array3<f64>> = shape
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            Array3::from_shape_simple_fn((ranks[k], i, ranks[k + 1]), || rng.normal() * s)
        })
        .collect();
    let got = empirical_std(&tt_dense(&cores));
    if let Some(last) = cores.last_mut() {
        last.mapv_inplace(|v| v * std / got);
    }
    cores
}
