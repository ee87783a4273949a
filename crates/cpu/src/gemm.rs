//! Strided f32 GEMMs on the `gemm` crate and the task plans around them: shared by the
//! project's CPU kernels (the convolution in `tnet-hourglass`, the mode products in
//! `tnet-factorized`).

pub use gemm::Parallelism;
use rayon::prelude::*;

/// A strided matrix operand: data and (row, column) strides.
pub type Strided<'a> = (&'a [f32], (isize, isize));

/// `dst (m x n) = (accumulate ? dst : 0) + a (m x k) b (k x n)`, every matrix with explicit
/// (row, column) strides. gemm's micro-kernel stores 16-row columns of `dst`, so a row-major
/// `dst` is computed as `dst^T = b^T a^T` (a row-major store ran at a fraction of the speed);
/// it is fastest when the (then) left operand is contiguous down its columns.
///
/// # Safety
/// `dst` must be valid for the `m x n` writes its strides reach (and reads when
/// `accumulate`); `a` must hold every element its strides reach for `m x k`, `b` for `k x n`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_strided(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    dst_strides: (isize, isize),
    accumulate: bool,
    a: Strided<'_>,
    b: Strided<'_>,
    par: Parallelism,
) {
    if dst_strides.0 != 1 && dst_strides.1 == 1 {
        // SAFETY: the same products, transposed.
        return unsafe {
            gemm_strided(
                (n, m, k),
                dst,
                (1, dst_strides.0),
                accumulate,
                (b.0, (b.1.1, b.1.0)),
                (a.0, (a.1.1, a.1.0)),
                par,
            )
        };
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_strides.1,
            dst_strides.0,
            accumulate,
            a.0.as_ptr(),
            a.1.1,
            a.1.0,
            b.0.as_ptr(),
            b.1.1,
            b.1.0,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Whether to run `tasks` independent GEMMs in parallel over the tasks (one thread each), or
/// (fewer tasks than threads) one after the other with the threads inside each GEMM.
pub fn plan(tasks: usize) -> (bool, Parallelism) {
    let threads = rayon::current_num_threads();
    if tasks >= threads || threads == 1 {
        (true, Parallelism::None)
    } else {
        (false, Parallelism::Rayon(threads))
    }
}

/// Runs `n` independent GEMM tasks as [`plan`] says: across the threads, or one after the
/// other with the threads inside each.
pub fn for_tasks(n: usize, f: impl Fn(usize, Parallelism) + Sync) {
    match plan(n) {
        (true, par) => (0..n).into_par_iter().for_each(|t| f(t, par)),
        (false, par) => (0..n).for_each(|t| f(t, par)),
    }
}

/// `sum over tasks t of add(t)` into a vector of `len` values, where `add(acc, t, par)` adds
/// task `t`'s contribution into `acc` (running its GEMMs with `par`). Tasks are cut into fixed
/// contiguous runs, one per thread, summed in order: the result does not depend on work
/// stealing, so runs (and resumed runs) are bit-identical on a machine.
pub fn sum_over_tasks(
    tasks: usize,
    len: usize,
    add: impl Fn(&mut [f32], usize, Parallelism) + Sync,
) -> Vec<f32> {
    let (across, par) = plan(tasks);
    if !across {
        let mut acc = vec![0f32; len];
        (0..tasks).for_each(|t| add(&mut acc, t, par));
        return acc;
    }
    let threads = rayon::current_num_threads().max(1);
    let per = tasks.div_ceil(threads);
    let partials: Vec<Vec<f32>> = (0..tasks.div_ceil(per))
        .into_par_iter()
        .map(|chunk| {
            let mut acc = vec![0f32; len];
            for t in chunk * per..((chunk + 1) * per).min(tasks) {
                add(&mut acc, t, par);
            }
            acc
        })
        .collect();
    let mut it = partials.into_iter();
    let mut total = it.next().unwrap_or_else(|| vec![0f32; len]);
    for part in it {
        total.iter_mut().zip(&part).for_each(|(x, y)| *x += y);
    }
    total
}

/// The rate of one large square f32 GEMM on all of rayon's threads, best of `reps` after a
/// warm-up, in GFLOP/s (`2 n^3` flops a product): the machine's practical peak for the
/// convolutions' GEMMs, against which a step's phases are reported. `n` is at least 1.
pub fn gemm_peak_gflops(n: usize, reps: usize) -> f64 {
    let n = n.max(1);
    let a = vec![1.0f32; n * n];
    let b = vec![0.5f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let ld = n as isize;
    let mut best = f64::INFINITY;
    for rep in 0..=reps.max(1) {
        let t = std::time::Instant::now();
        // SAFETY: `c`, `a` and `b` each hold the n x n values their row-major strides reach.
        unsafe {
            gemm_strided(
                (n, n, n),
                c.as_mut_ptr(),
                (ld, 1),
                false,
                (&a, (ld, 1)),
                (&b, (ld, 1)),
                Parallelism::Rayon(0),
            )
        };
        if rep > 0 {
            best = best.min(t.elapsed().as_secs_f64());
        }
    }
    std::hint::black_box(&c);
    2.0 * (n as f64).powi(3) / best / 1e9
}
