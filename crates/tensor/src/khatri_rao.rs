use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, IxDyn, Zip};
use rayon::prelude::*;

use crate::{Scalar, TensorError, check_mode, mode_product_into, mode_view};

/// Column-wise Khatri-Rao product in C order (TensorLy): for `A: I x R`, `B: J x R` the row
/// `i * J + j` of the result is `A[i, :] * B[j, :]`. `skip` leaves one matrix out.
pub fn khatri_rao<T: Scalar>(
    matrices: &[ArrayView2<'_, T>],
    skip: Option<usize>,
) -> Result<Array2<T>, TensorError> {
    let used: Vec<&ArrayView2<'_, T>> = matrices
        .iter()
        .enumerate()
        .filter(|(k, _)| Some(*k) != skip)
        .map(|(_, m)| m)
        .collect();
    let Some(first) = used.first() else {
        return Err(TensorError::Invalid(
            "khatri_rao needs at least one matrix".into(),
        ));
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
                Zip::from(&mut row)
                    .and(out.row(i))
                    .and(m.row(j))
                    .for_each(|o, &a, &b| *o = a * b);
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
    /// sharing the rank index (see [`RankContractionPlan`], which this runs once).
    pub fn contract(
        x: ArrayViewD<'_, T>,
        axes: &[Axis],
        modes: &[usize],
        factors: &[ArrayView2<'_, T>],
    ) -> RankContraction<T> {
        let rank = factors.first().map_or(1, |f| f.ncols());
        let mut plan = RankContractionPlan::new(x.shape(), axes, modes, rank);
        let data = plan.run(x.view(), factors).to_owned();
        RankContraction {
            data,
            axes: plan.axes().to_vec(),
        }
    }

    /// The `I_mode x R` matrix once only `mode` and the rank axis remain.
    pub fn into_matrix(self) -> Array2<T> {
        rank_matrix(&self.data.view(), &self.axes)
    }
}

/// The `I_mode x R` matrix of a contraction where only one mode and the rank axis remain.
pub fn rank_matrix<T: Scalar>(data: &ArrayViewD<'_, T>, axes: &[Axis]) -> Array2<T> {
    assert_eq!(
        axes.len(),
        2,
        "exactly one mode and the rank axis must remain"
    );
    let m = data
        .view()
        .into_dimensionality::<ndarray::Ix2>()
        .expect("2 axes");
    if axes[0] == Axis::Rank {
        m.t().as_standard_layout().into_owned()
    } else {
        m.to_owned()
    }
}

#[derive(Debug, Clone)]
enum StepKind {
    /// Plain mode product with the factor: the rank axis takes the mode's place.
    Gemm { pos: usize },
    /// Rank-shared contraction of `axis` while the rank sits at `rank_pos`.
    Shared { rank_pos: usize, axis: usize },
}

#[derive(Debug, Clone)]
struct Step<T> {
    mode: usize,
    kind: StepKind,
    out: ArrayD<T>,
}

/// A fixed sequence of rank-shared contractions with its buffers, run again and again without
/// allocating (CP-ALS runs the same contractions every sweep).
///
/// Starting from the plain tensor, the first contraction is one GEMM on the largest listed mode
/// (the rank axis takes its place); the rest are rank-shared, memory-bound passes, largest mode
/// first, so no Khatri-Rao matrix is ever formed.
#[derive(Debug, Clone)]
pub struct RankContractionPlan<T> {
    steps: Vec<Step<T>>,
    axes: Vec<Axis>,
    shape: Vec<usize>,
}

impl<T: Scalar> RankContractionPlan<T> {
    /// Plans the contraction of `modes` out of a tensor of `shape` whose axes are `axes`.
    pub fn new(shape: &[usize], axes: &[Axis], modes: &[usize], rank: usize) -> Self {
        let mut shape = shape.to_vec();
        let mut axes = axes.to_vec();
        let pos_of = |axes: &[Axis], m: usize| {
            axes.iter()
                .position(|a| *a == Axis::Mode(m))
                .expect("mode present")
        };
        let mut todo = modes.to_vec();
        // Largest first. Among equal sizes, at a rank of a vector or more the later axis, so
        // the GEMM puts the rank axis after the axes still to contract and their passes run
        // over contiguous rank rows; at a smaller rank the earlier one, so the passes run
        // over the longer rows of the trailing modes.
        let rank_rows = rank >= 8;
        todo.sort_by_key(|&m| {
            let pos = pos_of(&axes, m);
            let tie = if rank_rows { usize::MAX - pos } else { pos };
            (std::cmp::Reverse(shape[pos]), tie)
        });
        let mut steps = Vec::with_capacity(todo.len());
        for mode in todo {
            let pos = pos_of(&axes, mode);
            let kind = match axes.iter().position(|a| *a == Axis::Rank) {
                None => {
                    axes[pos] = Axis::Rank;
                    shape[pos] = rank;
                    StepKind::Gemm { pos }
                }
                Some(rank_pos) => {
                    axes.remove(pos);
                    shape.remove(pos);
                    StepKind::Shared {
                        rank_pos,
                        axis: pos,
                    }
                }
            };
            steps.push(Step {
                mode,
                kind,
                out: ArrayD::zeros(IxDyn(&shape)),
            });
        }
        Self { steps, axes, shape }
    }

    /// Shape of the result.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Axes of the result.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// Runs the plan on `x` (C-contiguous, of the planned shape); returns a view of the result
    /// (`x` itself when there is nothing to contract).
    pub fn run<'a>(
        &'a mut self,
        x: ArrayViewD<'a, T>,
        factors: &[ArrayView2<'_, T>],
    ) -> ArrayViewD<'a, T> {
        for k in 0..self.steps.len() {
            let (done, rest) = self.steps.split_at_mut(k);
            let input = if k == 0 {
                x.view()
            } else {
                done[k - 1].out.view()
            };
            let step = &mut rest[0];
            let u = &factors[step.mode];
            match step.kind {
                StepKind::Gemm { pos } => {
                    let v = mode_view(&input, pos).expect("plans run on C-contiguous tensors");
                    let (a, _, b) = v.dim();
                    let flat = step
                        .out
                        .as_slice_mut()
                        .expect("plan buffers are contiguous");
                    let o = ndarray::ArrayViewMut3::from_shape((a, u.ncols(), b), flat)
                        .expect("planned sizes");
                    mode_product_into(&v, u, o);
                }
                StepKind::Shared { rank_pos, axis } => {
                    contract_shared_rank_into(
                        &input,
                        rank_pos,
                        axis,
                        u,
                        step.out.as_slice_mut().expect("contiguous"),
                    );
                }
            }
        }
        match self.steps.last() {
            Some(s) => s.out.view(),
            None => x,
        }
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
    let mut out_shape = z.shape().to_vec();
    out_shape.remove(axis);
    let mut out = ArrayD::<T>::zeros(IxDyn(&out_shape));
    contract_shared_rank_into(
        z,
        rank_pos,
        axis,
        u,
        out.as_slice_mut().expect("fresh array"),
    );
    out
}

/// [`contract_shared_rank`] into a given C-order buffer (overwritten).
pub fn contract_shared_rank_into<T: Scalar>(
    z: &ArrayViewD<'_, T>,
    rank_pos: usize,
    axis: usize,
    u: &ArrayView2<'_, T>,
    od: &mut [T],
) {
    let shape = z.shape();
    let prod = |r: std::ops::Range<usize>| shape[r].iter().product::<usize>();
    let r = shape[rank_pos];
    let n_i = shape[axis];
    let zd = z.as_slice().expect("C-contiguous");
    let u = u.as_standard_layout();
    let us = u.as_slice().expect("standard layout");
    od.fill(T::zero());
    // Each output chunk is summed by one thread in a fixed order (the same result either way);
    // from about 64K entries splitting pays (CP on 24^4 at rank 30: 15 % faster on 2 cores).
    let parallel = zd.len() >= 1 << 16;
    if axis < rank_pos {
        // z: (A, I, B, R, C) -> out (A, B, R, C)
        let (b, c) = (prod(axis + 1..rank_pos), prod(rank_pos + 1..shape.len()));
        let rc = r * c;
        let kernel = |(o, zs): (&mut [T], &[T])| {
            for i in 0..n_i {
                let ui = &us[i * r..(i + 1) * r];
                for bi in 0..b {
                    let src = &zs[(i * b + bi) * rc..(i * b + bi + 1) * rc];
                    let dst = &mut o[bi * rc..(bi + 1) * rc];
                    if c == 1 {
                        fma_into(dst, src, ui);
                    } else {
                        for ((dc, sc), &w) in
                            dst.chunks_exact_mut(c).zip(src.chunks_exact(c)).zip(ui)
                        {
                            axpy_into(dc, sc, w);
                        }
                    }
                }
            }
        };
        if parallel {
            od.par_chunks_mut(b * rc)
                .zip(zd.par_chunks(n_i * b * rc))
                .for_each(kernel);
        } else {
            od.chunks_mut(b * rc)
                .zip(zd.chunks(n_i * b * rc))
                .for_each(kernel);
        }
    } else {
        // z: (A, R, B, I, C) -> out (A, R, B, C)
        let (b, c) = (prod(rank_pos + 1..axis), prod(axis + 1..shape.len()));
        let kernel = |(k, (o, zs)): (usize, (&mut [T], &[T]))| {
            let ri = k % r;
            for bi in 0..b {
                let dst = &mut o[bi * c..(bi + 1) * c];
                for i in 0..n_i {
                    let w = us[i * r + ri];
                    let src = &zs[(bi * n_i + i) * c..(bi * n_i + i + 1) * c];
                    axpy_into(dst, src, w);
                }
            }
        };
        if parallel {
            od.par_chunks_mut(b * c)
                .zip(zd.par_chunks(b * n_i * c))
                .enumerate()
                .for_each(kernel);
        } else {
            od.chunks_mut(b * c)
                .zip(zd.chunks(b * n_i * c))
                .enumerate()
                .for_each(kernel);
        }
    }
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
        return Err(TensorError::RankCount {
            what: "mttkrp (factors)".into(),
            expected: n,
            got: factors.len(),
        });
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

/// `dst[j] += src[j] * w[j]` on equal-length slices (lengths checked once so the loop vectorizes).
#[inline(always)]
fn fma_into<T: Scalar>(dst: &mut [T], src: &[T], w: &[T]) {
    let n = dst.len();
    let (src, w) = (&src[..n], &w[..n]);
    for j in 0..n {
        dst[j] = src[j].mul_add(w[j], dst[j]);
    }
}

/// `dst[j] += src[j] * w`.
#[inline(always)]
fn axpy_into<T: Scalar>(dst: &mut [T], src: &[T], w: T) {
    let n = dst.len();
    let src = &src[..n];
    for j in 0..n {
        dst[j] = src[j].mul_add(w, dst[j]);
    }
}
