use ndarray::{Array2, ArrayD, ArrayView2, ArrayView3, ArrayViewD, Axis, IxDyn};

use crate::{Scalar, TensorError, check_mode};

/// Zero-copy view of a C-contiguous tensor as `(A, I_mode, B)`, where `A` is the product of
/// the modes before `mode` and `B` of those after it.
///
/// Every mode-wise kernel in the workspace runs on this view: the mode-`n` unfolding is the
/// horizontal concatenation of the `A` slabs `view[a]` (each `I_n x B`), so products and Gram
/// matrices become GEMMs on slabs without moving data.
pub fn mode_view<'a, T: Scalar>(
    x: &'a ArrayViewD<'_, T>,
    mode: usize,
) -> Result<ArrayView3<'a, T>, TensorError> {
    check_mode(mode, x.ndim())?;
    let Some(data) = x.as_slice() else {
        return Err(TensorError::Invalid(
            "mode_view needs a C-contiguous tensor (call .as_standard_layout() first)".into(),
        ));
    };
    let shape = x.shape();
    let a: usize = shape[..mode].iter().product();
    let b: usize = shape[mode + 1..].iter().product();
    ArrayView3::from_shape((a, shape[mode], b), data)
        .map_err(|e| TensorError::Invalid(format!("mode_view: {e}")))
}

/// Mode-`mode` unfolding in C order: `moveaxis(x, mode, 0).reshape(I_mode, -1)` (TensorLy).
pub fn unfold<T: Scalar>(x: &ArrayViewD<'_, T>, mode: usize) -> Result<Array2<T>, TensorError> {
    check_mode(mode, x.ndim())?;
    let x = x.as_standard_layout();
    let xv = x.view();
    let v = mode_view(&xv, mode)?;
    let (a, i, b) = v.dim();
    let mut out = Array2::<T>::zeros((i, a * b));
    for (ai, slab) in v.axis_iter(Axis(0)).enumerate() {
        out.slice_mut(ndarray::s![.., ai * b..(ai + 1) * b])
            .assign(&slab);
    }
    Ok(out)
}

/// Inverse of [`unfold`]: rebuilds the tensor of `shape` from its mode-`mode` unfolding.
pub fn fold<T: Scalar>(
    m: &ArrayView2<'_, T>,
    mode: usize,
    shape: &[usize],
) -> Result<ArrayD<T>, TensorError> {
    check_mode(mode, shape.len())?;
    let a: usize = shape[..mode].iter().product();
    let b: usize = shape[mode + 1..].iter().product();
    if m.dim() != (shape[mode], a * b) {
        return Err(TensorError::Shape {
            what: format!("fold along mode {mode} into {shape:?}"),
            expected: format!("a {} x {} matrix", shape[mode], a * b),
            got: format!("{} x {}", m.nrows(), m.ncols()),
        });
    }
    let mut out = ArrayD::<T>::zeros(IxDyn(shape));
    {
        let flat = out.as_slice_mut().expect("fresh array is contiguous");
        let mut v = ndarray::ArrayViewMut3::from_shape((a, shape[mode], b), flat)
            .expect("shape products match");
        for (ai, mut slab) in v.axis_iter_mut(Axis(0)).enumerate() {
            slab.assign(&m.slice(ndarray::s![.., ai * b..(ai + 1) * b]));
        }
    }
    Ok(out)
}
