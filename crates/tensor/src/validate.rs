use ndarray::{ArrayViewD, Dimension};

use crate::{Scalar, TensorError};

/// Rejects tensors no decomposition can take: 0-d, empty, or with NaN / infinite entries.
pub fn check_tensor<T: Scalar>(x: &ArrayViewD<'_, T>) -> Result<(), TensorError> {
    if x.ndim() == 0 {
        return Err(TensorError::ZeroOrder);
    }
    if x.is_empty() {
        return Err(TensorError::Empty {
            shape: x.shape().to_vec(),
        });
    }
    check_finite(x)
}

/// [`check_tensor`] and the Frobenius norm in one pass: a NaN or infinite entry makes the sum
/// of squares non-finite, and only then is the tensor scanned for the culprit.
pub fn check_tensor_norm<T: Scalar>(x: &ArrayViewD<'_, T>) -> Result<f64, TensorError> {
    if x.ndim() == 0 {
        return Err(TensorError::ZeroOrder);
    }
    if x.is_empty() {
        return Err(TensorError::Empty {
            shape: x.shape().to_vec(),
        });
    }
    let norm = crate::frobenius_norm(x);
    if !norm.is_finite() {
        check_finite(x)?;
    }
    Ok(norm)
}

/// Errors with the index of the first NaN or infinite entry.
pub fn check_finite<T: Scalar>(x: &ArrayViewD<'_, T>) -> Result<(), TensorError> {
    // Fast path: a single pass that only looks at the sum's finiteness would miss
    // cancelling infinities, so test every entry but stop at the first bad one.
    if let Some(slice) = x.as_slice_memory_order()
        && slice.iter().all(|v| v.is_finite())
    {
        return Ok(());
    }
    for (index, v) in x.indexed_iter() {
        if !v.is_finite() {
            return Err(TensorError::NonFinite {
                index: index.slice().to_vec(),
                value: v.as_f64(),
            });
        }
    }
    Ok(())
}

/// Errors unless `mode < order`.
pub fn check_mode(mode: usize, order: usize) -> Result<(), TensorError> {
    if mode >= order {
        return Err(TensorError::BadMode { mode, order });
    }
    Ok(())
}
