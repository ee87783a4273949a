//! Initialization of factorized kernels: the reconstruction has exactly the standard deviation
//! of a Kaiming-normal conv init, the factors are orthonormal and the scale sits in one part.
//!
//! Orthonormal factors with the scale in the core (Tucker), unit-norm factor columns with the
//! scale in the weights (CP) and left-orthonormal cores with the scale in the last core (TT)
//! make every part's size independent of the ranks: a Tucker tensor at full rank is then an
//! orthogonal change of basis of a Kaiming-normal tensor, the same distribution as the dense
//! init. [`crate::PartScale`] relies on these sizes to give each part its learning rate
//! (docs/model.md, "Training the parts"). The scale part is rescaled at the end so that the
//! reconstruction's empirical standard deviation is exactly the target.

use ndarray::{Array1, Array2, Array3, ArrayD, Axis};
use tnet_tensor::linalg::thin_qr;
use tnet_tensor::random::{SeededRng, random_matrix, random_normal};

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

/// A `rows x cols` matrix with orthonormal columns, or orthonormal rows when `cols > rows`
/// (either way its root-mean-square entry is `1 / sqrt(max(rows, cols))`).
pub fn semi_orthogonal(rows: usize, cols: usize, rng: &mut SeededRng) -> Array2<f64> {
    if cols <= rows {
        thin_qr(&random_matrix::<f64>(rows, cols, rng).view()).0
    } else {
        thin_qr(&random_matrix::<f64>(cols, rows, rng).view())
            .0
            .reversed_axes()
            .as_standard_layout()
            .into_owned()
    }
}

fn rescaled<D: ndarray::Dimension>(
    mut a: ndarray::Array<f64, D>,
    s: f64,
) -> ndarray::Array<f64, D> {
    a.mapv_inplace(|v| v * s);
    a
}

/// Tucker core `ranks` (the scale) and orthonormal factors `I_k x r_k`, reconstructing to std
/// `std` exactly.
pub fn init_tucker(
    shape: &[usize],
    ranks: &[usize],
    std: f64,
    seed: u64,
) -> (ArrayD<f64>, Vec<Array2<f64>>) {
    let mut rng = SeededRng::new(seed);
    let factors: Vec<Array2<f64>> = shape
        .iter()
        .zip(ranks)
        .map(|(&i, &r)| semi_orthogonal(i, r, &mut rng))
        .collect();
    let core = random_normal::<f64>(ranks, &mut rng);
    let got = empirical_std(&tnet_tucker::tucker_to_tensor(&core, &factors));
    (rescaled(core, std / got), factors)
}

/// CP weights (the scale) and factors `I_k x R` with unit-norm columns, reconstructing to std
/// `std` exactly.
pub fn init_cp(
    shape: &[usize],
    rank: usize,
    std: f64,
    seed: u64,
) -> (Array1<f64>, Vec<Array2<f64>>) {
    let mut rng = SeededRng::new(seed);
    let factors: Vec<Array2<f64>> = shape
        .iter()
        .map(|&i| {
            let mut f = random_matrix::<f64>(i, rank, &mut rng);
            for mut col in f.axis_iter_mut(Axis(1)) {
                let norm = col.dot(&col).sqrt().max(f64::MIN_POSITIVE);
                col.mapv_inplace(|v| v / norm);
            }
            f
        })
        .collect();
    let ones = Array1::from_elem(rank, 1.0);
    let got = empirical_std(&tnet_cp::cp_to_tensor(&ones, &factors));
    (Array1::from_elem(rank, std / got), factors)
}

/// TT cores `(r_{k-1}, I_k, r_k)`: left-orthonormal (each core, as an `r_{k-1} I_k x r_k`
/// matrix, semi-orthogonal) but the last, which carries the scale; the reconstruction has std
/// `std` exactly.
pub fn init_tt(shape: &[usize], ranks: &[usize], std: f64, seed: u64) -> Vec<Array3<f64>> {
    let mut rng = SeededRng::new(seed);
    let last = shape.len() - 1;
    let mut cores: Vec<Array3<f64>> = shape
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let (ra, rb) = (ranks[k], ranks[k + 1]);
            if k == last {
                Array3::from_shape_simple_fn((ra, i, rb), || rng.normal())
            } else {
                semi_orthogonal(ra * i, rb, &mut rng)
                    .into_shape_with_order((ra, i, rb))
                    .expect("a semi-orthogonal matrix of r_{k-1} I_k x r_k entries")
            }
        })
        .collect();
    let got = empirical_std(&tnet_tt::tt_to_tensor(&cores));
    cores[last] = rescaled(cores[last].clone(), std / got);
    cores
}
