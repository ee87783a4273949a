use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, IxDyn, Zip};
use rayon::prelude::*;

use crate::{check_mode, contract_modes, Scalar, TensorError};

/// Column-wise Khatri-Rao product in C order (TensorLy): for `A: I x R`, `B: J x R` the row
/// `i * J + j` of the result is `A[i, :] * B[j, :]`. `skip` leaves one matrix out.
pub fn khatri_rao<T: Scalar>(matrices: &[ArrayView2<'_, T>], skip: Option<usize>) -> Result<Array2<T>, TensorError> {
    let used: Vec<&ArrayView2<'_, T>> =
        matrices.iter().enumerate().filter(|(k, _)| Some(*k) != skip).map(|(_, m)| m).collect();
    let Some(first) = used.first() else {
        return Err(TensorError::Invalid("khatri_rao needs at least one matrix".into()));
    };
    let r = first.ncols();
    if let Some(bad) = used.iter().find(|m| m.ncols() != r) {
        return Err(TensorError::Shape {
            what: "khatri_rao".into(),
            expected: format!("{r} columns in every matrix"),
            got: format!("a matrix with {} columns", bad.ncols()),
        });
    }
    let mut out: Array2<T> = first.view().to_owned();
    for m in &used[1..] {
        let (p, q) = (out.nrows(), m.nrows());
        let mut next = Array2::<T>::zeros((p * q, r));
        for i in 0..p {
            for j in 0..q {
                let mut row = next.row_mut(i * q + j);
                Zip::from(&mut row).and(out.row(i)).and(m.row(j)).for_each(|o, &a, &b| *o = a * b);
            }
        }
        out = next;
    }
    Ok(out)
}

/// A label of an axis of a partially contracted tensor in CP computations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Mode `k` of the original tensor.
    Mode(usize),
    /// The rank index shared by all CP factors.
    Rank,
}

/// A tensor partly contracted with CP factors: its axes are some original modes and, after
/// the first contraction, the shared rank axis.
#[derive(Debug, Clone)]
pub struct RankContraction<T> {
    pub data: ArrayD<T>,
    pub axes: Vec<Axis>,
}

impl<T: Scalar> RankContraction<T> {
    /// Contracts every mode in `modes` with its factor `factors[mode]` (`I_mode x R`),
    /// sharing the rank index: `out[.., r] = sum_i z[.., i, .., r] factors[mode][i, r]`.
    ///
    /// Starting from the plain tensor (`axes` all modes), the first contraction is one GEMM on
    /// the largest listed mode (the rank axis takes its place); the rest are rank-shared,
    /// memory-bound passes, largest mode first, so no Khatri-Rao matrix is ever formed.
    pub fn contract(
        x: ArrayViewD<'_, T>,
        axes: &[Axis],
        modes: &[usize],
        factors: &[ArrayView2<'_, T>],
    ) -> RankContraction<T> {
        let mut todo: Vec<usize> = modes.to_vec();
        let size = |axes: &[Axis], shape: &[usize], m: usize| {
            shape[axes.iter().position(|a| *a == Axis::Mode(m)).expect("mode present")]
        };
        todo.sort_by_key(|&m| std::cmp::Reverse(size(axes, x.shape(), m)));
        let mut axes = axes.to_vec();
        let mut data: Option<ArrayD<T>> = None;
        for m in todo {
            let cur = data.as_ref().map(|d| d.view()).unwrap_or_else(|| x.view());
            let pos = axes.iter().position(|a| *a == Axis::Mode(m)).expect("mode present");
            let next = match axes.iter().position(|a| *a == Axis::Rank) {
                None => {
                    axes[pos] = Axis::Rank;
                    contract_modes(&cur, &[(pos, factors[m].view())])
                }
                Some(rank_pos) => {
                    axes.remove(pos);
                    contract_shared_rank(&cur.as_standard_layout().view(), rank_pos, pos, &factors[m])
                }
            };
            data = Some(next);
        }
        RankContraction { data: data.unwrap_or_else(|| x.to_owned()), axes }
    }

    /// The `I_mode x R` matrix once only `mode` and the rank axis remain.
    pub fn into_matrix(self) -> Array2<T> {
        assert_eq!(self.axes.len(), 2, "exactly one mode and the rank axis must remain");
        let (d0, d1) = (self.data.shape()[0], self.data.shape()[1]);
        let m = self.data.into_shape_with_order((d0, d1)).expect("2 axes");
        if self.axes[0] == Axis::Rank { m.t().as_standard_layout().into_owned() } else { m }
    }
}

/// Contracts axis `axis` of the C-contiguous `z` with `u: I x R`, sharing the rank index at
/// axis `rank_pos` of `z`. Returns `z` without `axis`.
pub fn contract_shared_rank<T: Scalar>(
    z: &ArrayViewD<'_, T>,
    rank_pos: usize,
    axis: usize,
    u: &ArrayView2<'_, T>,
) -> ArrayD<T> {
    let shape = z.shape();
    let prod = |r: std::ops::Range<usize>| shape[r].iter().product::<usize>();
    let r = shape[rank_pos];
    let n_i = shape[axis];
    let mut out_shape = shape.to_vec();
    out_shape.remove(axis);
    let mut out = ArrayD::<T>::zeros(IxDyn(&out_shape));
    let zd = z.as_slice().expect("C-contiguous");
    let od = out.as_slice_mut().expect("fresh array");
    if axis < rank_pos {
        // z: (A, I, B, R, C) -> out (A, B, R, C)
        let (a, b, c) = (prod(0..axis), prod(axis + 1..rank_pos), prod(rank_pos + 1..shape.len()));
        let in_a = n_i * b * r * c;
        let out_a = b * r * c;
        let kernel = |(o, zs): (&mut [T], &[T])| {
            for i in 0..n_i {
                let ui = u.row(i);
                for bi in 0..b {
                    let src = &zs[(i * b + bi) * r * c..(i * b + bi + 1) * r * c];
                    let dst = &mut o[bi * r * c..(bi + 1) * r * c];
                    if c == 1 {
                        for ((d, &s), &w) in dst.iter_mut().zip(src).zip(ui.iter()) {
                            *d += s * w;
                        }
                    } else {
                        for (ri, &w) in ui.iter().enumerate() {
                            for (d, &s) in dst[ri * c..(ri + 1) * c].iter_mut().zip(&src[ri * c..(ri + 1) * c]) {
                                *d += s * w;
                            }
                        }
                    }
                }
            }
        };
        if a > 1 && zd.len() >= 1 << 18 {
            od.par_chunks_mut(out_a).zip(zd.par_chunks(in_a)).for_each(kernel);
        } else {
            od.chunks_mut(out_a).zip(zd.chunks(in_a)).for_each(kernel);
        }
    } else {
        // z: (A, R, B, I, C) -> out (A, R, B, C)
        let (a, b, c) = (prod(0..rank_pos), prod(rank_pos + 1..axis), prod(axis + 1..shape.len()));
        let in_ar = b * n_i * c;
        let out_ar = b * c;
        let kernel = |(k, (o, zs)): (usize, (&mut [T], &[T]))| {
            let ri = k % r;
            for bi in 0..b {
                let dst = &mut o[bi * c..(bi + 1) * c];
                for i in 0..n_i {
                    let w = u[[i, ri]];
                    let src = &zs[(bi * n_i + i) * c..(bi * n_i + i + 1) * c];
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += s * w;
                    }
                }
            }
        };
        if a * r > 1 && zd.len() >= 1 << 18 {
            od.par_chunks_mut(out_ar).zip(zd.par_chunks(in_ar)).enumerate().for_each(kernel);
        } else {
            od.chunks_mut(out_ar).zip(zd.chunks(in_ar)).enumerate().for_each(kernel);
        }
    }
    out
}

/// Matricized tensor times Khatri-Rao product, `X_(mode) @ khatri_rao(factors, skip=mode)`
/// (TensorLy's `unfolding_dot_khatri_rao` without weights), computed by [`RankContraction`]:
/// one GEMM and rank-shared passes, never forming the Khatri-Rao matrix.
///
/// `factors[k]` is `I_k x R`; the entry at `mode` is not read.
pub fn mttkrp<T: Scalar>(
    x: &ArrayViewD<'_, T>,
    factors: &[ArrayView2<'_, T>],
    mode: usize,
) -> Result<Array2<T>, TensorError> {
    let n = x.ndim();
    check_mode(mode, n)?;
    if factors.len() != n {
        return Err(TensorError::RankCount { what: "mttkrp (factors)".into(), expected: n, got: factors.len() });
    }
    let r = factors[0].ncols();
    for (k, f) in factors.iter().enumerate() {
        if f.ncols() != r || (k != mode && f.nrows() != x.shape()[k]) {
            return Err(TensorError::Shape {
                what: format!("factor {k} in mttkrp"),
                expected: format!("{} x {r}", x.shape()[k]),
                got: format!("{} x {}", f.nrows(), f.ncols()),
            });
        }
    }
    if n == 1 {
        return Ok(Array2::from_shape_fn((x.shape()[0], r), |(i, _)| x[[i]]));
    }
    let axes: Vec<Axis> = (0..n).map(Axis::Mode).collect();
    let others: Vec<usize> = (0..n).filter(|&k| k != mode).collect();
    let x = x.as_standard_layout();
    Ok(RankContraction::contract(x.view(), &axes, &others, factors).into_matrix())
}
