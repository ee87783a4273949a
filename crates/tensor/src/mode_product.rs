use faer::Par;
use ndarray::{
    ArrayD, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut2, ArrayViewMut3, Axis, IxDyn, Zip,
};
use rayon::prelude::*;

use crate::linalg::{PIECE_COLS, gemm, par_for};
use crate::{Scalar, TensorError, check_mode, mode_view};

/// How `mode_dot` reads its matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// The matrix is `J x I_mode` (TensorLy's default): `out[.., j, ..] = sum_i M[j, i] x[.., i, ..]`.
    No,
    /// The matrix is `I_mode x J` and its transpose is applied (`transpose=True` in TensorLy).
    Yes,
}

/// Mode-`mode` product `x ×_mode M` (TensorLy's `mode_dot`).
pub fn mode_dot<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    m: &ArrayView2<'_, T>,
    mode: usize,
    transpose: Transpose,
) -> Result<ArrayD<T>, TensorError> {
    multi_mode_dot(x, &[m.view()], Some(&[mode]), None, transpose)
}

/// Product of `x` with one matrix per listed mode (TensorLy's `multi_mode_dot`).
///
/// `modes` defaults to `0..matrices.len()`; `skip` is an index into `matrices` to leave out.
/// The products are applied in the order that shrinks the tensor fastest, which gives the same
/// result (they commute) with the least work.
pub fn multi_mode_dot<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    matrices: &[ArrayView2<'_, T>],
    modes: Option<&[usize]>,
    skip: Option<usize>,
    transpose: Transpose,
) -> Result<ArrayD<T>, TensorError> {
    let default_modes: Vec<usize> = (0..matrices.len()).collect();
    let modes = modes.unwrap_or(&default_modes);
    if modes.len() != matrices.len() {
        return Err(TensorError::Invalid(format!(
            "multi_mode_dot got {} matrices for {} modes",
            matrices.len(),
            modes.len()
        )));
    }
    let mut seen = vec![false; x.ndim()];
    let mut ops = Vec::with_capacity(modes.len());
    for (k, (&mode, m)) in modes.iter().zip(matrices).enumerate() {
        check_mode(mode, x.ndim())?;
        if std::mem::replace(&mut seen[mode], true) {
            return Err(TensorError::Invalid(format!(
                "mode {mode} listed twice in multi_mode_dot"
            )));
        }
        if Some(k) == skip {
            continue;
        }
        // Internally every op is `w: I_mode x J`.
        let w = match transpose {
            Transpose::No => m.t(),
            Transpose::Yes => m.view(),
        };
        if w.nrows() != x.shape()[mode] {
            return Err(TensorError::Shape {
                what: format!("matrix for mode {mode} in a mode product"),
                expected: format!("{} entries along the contracted side", x.shape()[mode]),
                got: format!("a {} x {} matrix", m.nrows(), m.ncols()),
            });
        }
        ops.push((mode, w));
    }
    Ok(contract_modes(x, &ops))
}

/// Applies `x ×_mode w^T` for every `(mode, w)` with `w: I_mode x J` (no shape checks: the
/// decomposition crates call it with shapes they built). Orders the products by how much
/// each shrinks the tensor.
pub fn contract_modes<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    ops: &[(usize, ArrayView2<'_, T>)],
) -> ArrayD<T> {
    // Contracting mode k costs (entries now) x r_k and shrinks the tensor by rho_k = r_k / I_k;
    // an exchange argument gives the cheapest order: ascending r_k / (1 - rho_k), modes that
    // do not shrink last (by ratio).
    let key = |p: usize| {
        let (i, r) = (ops[p].1.nrows() as f64, ops[p].1.ncols() as f64);
        let rho = r / i;
        if rho < 1.0 {
            (0, r / (1.0 - rho))
        } else {
            (1, rho)
        }
    };
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by(|&p, &q| {
        let (kp, kq) = (key(p), key(q));
        kp.0.cmp(&kq.0).then(kp.1.total_cmp(&kq.1))
    });
    let mut current: Option<ArrayD<T>> = None;
    for k in order {
        let (mode, w) = &ops[k];
        let next = match &current {
            None => contract_one(&x.as_standard_layout().view(), *mode, w),
            Some(c) => contract_one(&c.view(), *mode, w),
        };
        current = Some(next);
    }
    current.unwrap_or_else(|| x.as_standard_layout().into_owned())
}

/// `x ×_mode w^T` for a C-contiguous `x` and `w: I_mode x J`.
pub(crate) fn contract_one<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    mode: usize,
    w: &ArrayView2<'_, T>,
) -> ArrayD<T> {
    let mut shape = x.shape().to_vec();
    shape[mode] = w.ncols();
    let mut out = ArrayD::<T>::zeros(IxDyn(&shape));
    {
        let v = mode_view(x, mode).expect("contract_one takes C-contiguous tensors");
        let (a, _, b) = v.dim();
        let flat = out.as_slice_mut().expect("fresh array is contiguous");
        let o = ArrayViewMut3::from_shape((a, w.ncols(), b), flat).expect("sizes match");
        mode_product_into(&v, w, o);
    }
    out
}

/// `out (A, J, B) = view (A, I, B) ×_1 w^T` with `w: I x J`: GEMMs on slabs, no copies.
pub fn mode_product_into<T: Scalar>(
    view: &ArrayView3<'_, T>,
    w: &ArrayView2<'_, T>,
    mut out: ArrayViewMut3<'_, T>,
) {
    let (a, i, b) = view.dim();
    let j = w.ncols();
    if (1..=SMALL_MODE).contains(&(i * j))
        && a > 1
        && b > 1
        && view.is_standard_layout()
        && out.is_standard_layout()
    {
        return small_mode_product(view, w, out);
    }
    let flops = 2.0 * (a * i * b * j) as f64;
    let threads = rayon::current_num_threads();
    if a == 1 || b == 1 {
        // One GEMM over the whole tensor: cut its long side into pieces of at most PIECE_COLS
        // (bounded packing buffers), one sequential GEMM per piece, pieces shared by the
        // threads in a single fork-join (cheaper than the GEMM's own parallel schedule here).
        let (mut o, v, long) = if a == 1 {
            (
                out.index_axis_mut(Axis(0), 0),
                view.index_axis(Axis(0), 0),
                1,
            )
        } else {
            (
                out.index_axis_mut(Axis(2), 0),
                view.index_axis(Axis(2), 0),
                0,
            )
        };
        let run = |o: ArrayViewMut2<'_, T>, v: ArrayView2<'_, T>, par: Par| {
            if a == 1 {
                gemm(o, false, w.t(), v, T::one(), par)
            } else {
                gemm(o, false, v, w.view(), T::one(), par)
            }
        };
        if v.len_of(Axis(long)) <= PIECE_COLS {
            run(o, v, par_for(flops));
        } else if flops < 2.0e6 || threads == 1 {
            o.axis_chunks_iter_mut(Axis(long), PIECE_COLS)
                .zip(v.axis_chunks_iter(Axis(long), PIECE_COLS))
                .for_each(|(o, v)| run(o, v, Par::Seq));
        } else {
            o.axis_chunks_iter_mut(Axis(long), PIECE_COLS)
                .into_par_iter()
                .zip(v.axis_chunks_iter(Axis(long), PIECE_COLS).into_par_iter())
                .for_each(|(o, v)| run(o, v, Par::Seq));
        }
    } else if b >= 32 || b >= a {
        if a >= 2 * threads && flops >= 2.0e6 {
            Zip::from(out.axis_iter_mut(Axis(0)))
                .and(view.axis_iter(Axis(0)))
                .par_for_each(|o, v| gemm(o, false, w.t(), v, T::one(), Par::Seq));
        } else {
            let par = par_for(flops / a as f64);
            for (o, v) in out.axis_iter_mut(Axis(0)).zip(view.axis_iter(Axis(0))) {
                gemm(o, false, w.t(), v, T::one(), par);
            }
        }
    } else {
        let par = par_for(flops / b as f64);
        for (o, v) in out.axis_iter_mut(Axis(2)).zip(view.axis_iter(Axis(2))) {
            gemm(o, false, v, w.view(), T::one(), par);
        }
    }
}

/// Modes with at most this many entries in their matrix (`i x j`) skip GEMM.
const SMALL_MODE: usize = 16;

/// The product for a tiny mode (a few rows and columns of `w`) in one pass over the tensor:
/// `out[a, :, :] = w^T x[a, :, :]`, vectorized along `b`. As GEMMs these are matrix-vector
/// products over 2-row slabs, strided, each pass reading every cache line of the tensor.
fn small_mode_product<T: Scalar>(
    view: &ArrayView3<'_, T>,
    w: &ArrayView2<'_, T>,
    mut out: ArrayViewMut3<'_, T>,
) {
    let (_, i, b) = view.dim();
    let j = w.ncols();
    let w = w.as_standard_layout();
    let ws = w.as_slice().expect("standard layout");
    let xs = view.as_slice().expect("checked: standard layout");
    let os = out.as_slice_mut().expect("checked: standard layout");
    let kernel = |(o, x): (&mut [T], &[T])| {
        for (oa, xa) in o.chunks_exact_mut(j * b).zip(x.chunks_exact(i * b)) {
            for (jj, dst) in oa.chunks_exact_mut(b).enumerate() {
                let w0 = ws[jj];
                for (d, &v) in dst.iter_mut().zip(&xa[..b]) {
                    *d = v * w0;
                }
                for ii in 1..i {
                    let wi = ws[ii * j + jj];
                    for (d, &v) in dst.iter_mut().zip(&xa[ii * b..(ii + 1) * b]) {
                        *d = v.mul_add(wi, *d);
                    }
                }
            }
        }
    };
    // Tasks of about 32K input entries, whole rows of `a`.
    let rows = (1usize << 15).div_ceil(i * b).max(1);
    if xs.len() >= 1 << 16 && rayon::current_num_threads() > 1 {
        os.par_chunks_mut(rows * j * b)
            .zip(xs.par_chunks(rows * i * b))
            .for_each(kernel);
    } else {
        kernel((os, xs));
    }
}
