use ndarray::{ArrayViewD, Zip};

use crate::{Scalar, TensorError};

/// Frobenius norm, accumulated in `f64` so that `f32` tensors of millions of entries keep
/// their digits.
pub fn frobenius_norm<T: Scalar>(x: &ArrayViewD<'_, T>) -> f64 {
    let sum: f64 = match x.as_slice_memory_order() {
        Some(s) => sum_of_squares(s),
        None => x.iter().map(|v| v.as_f64() * v.as_f64()).sum(),
    };
    sum.sqrt()
}

/// `sum v^2` in `f64` with eight independent partial sums: one running sum waits on each
/// addition in turn (a fifth of the speed).
pub(crate) fn sum_of_squares<T: Scalar>(s: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = s.chunks_exact(8);
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|v| v.as_f64() * v.as_f64())
        .sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            let v = v.as_f64();
            *a = v.mul_add(v, *a);
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Inner product `<a, b>` in `f64`.
pub fn inner<T: Scalar>(a: &ArrayViewD<'_, T>, b: &ArrayViewD<'_, T>) -> Result<f64, TensorError> {
    if a.shape() != b.shape() {
        return Err(TensorError::Shape {
            what: "inner product".into(),
            expected: format!("{:?}", a.shape()),
            got: format!("{:?}", b.shape()),
        });
    }
    let mut acc = 0.0f64;
    Zip::from(a)
        .and(b)
        .for_each(|x, y| acc += x.as_f64() * y.as_f64());
    Ok(acc)
}

/// Relative error `||x - approx||_F / ||x||_F`. A zero `x` gives the
/// absolute error instead of dividing by zero.
pub fn relative_error<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    approx: &ArrayViewD<'_, T>,
) -> Result<f64, TensorError> {
    if x.shape() != approx.shape() {
        return Err(TensorError::Shape {
            what: "relative error".into(),
            expected: format!("{:?}", x.shape()),
            got: format!("{:?}", approx.shape()),
        });
    }
    let mut diff = 0.0f64;
    let mut norm = 0.0f64;
    Zip::from(x).and(approx).for_each(|a, b| {
        let (a, b) = (a.as_f64(), b.as_f64());
        diff += (a - b) * (a - b);
        norm += a * a;
    });
    Ok(if norm > 0.0 {
        (diff / norm).sqrt()
    } else {
        diff.sqrt()
    })
}

/// `||x - approx|| / ||x||` where the approximation is produced block by block along mode 0
/// (`block(lo..hi)` returns the approximation of `x[lo..hi, ..]`), so that a decomposition's
/// error is measured without materializing the whole reconstructed tensor.
///
/// `model_shape` is the shape the model reconstructs; a different `x` is an error naming both.
pub fn relative_error_blockwise<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    model_shape: &[usize],
    mut block: impl FnMut(std::ops::Range<usize>) -> ndarray::ArrayD<T>,
) -> Result<f64, TensorError> {
    if x.shape() != model_shape {
        return Err(TensorError::Shape {
            what: "the tensor compared with a decomposition".into(),
            expected: format!("{model_shape:?}"),
            got: format!("{:?}", x.shape()),
        });
    }
    if x.ndim() == 0 {
        return Err(TensorError::ZeroOrder);
    }
    let rows = x.shape()[0];
    let per_row: usize = x.shape()[1..].iter().product::<usize>().max(1);
    // About 1 Mi entries per block (8 MiB in f64).
    let step = (1usize << 20).div_ceil(per_row).clamp(1, rows.max(1));
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    let mut lo = 0;
    while lo < rows {
        let hi = (lo + step).min(rows);
        let approx = block(lo..hi);
        let xs = x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(lo..hi));
        if approx.shape() != xs.shape() {
            return Err(TensorError::Shape {
                what: "blockwise relative error".into(),
                expected: format!("{:?}", xs.shape()),
                got: format!("{:?}", approx.shape()),
            });
        }
        Zip::from(&xs).and(&approx).for_each(|a, b| {
            let (a, b) = (a.as_f64(), b.as_f64());
            diff += (a - b) * (a - b);
            norm += a * a;
        });
        lo = hi;
    }
    Ok(if norm > 0.0 {
        (diff / norm).sqrt()
    } else {
        diff.sqrt()
    })
}
