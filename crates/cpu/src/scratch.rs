//! Per-thread scratch buffers and output buffers that skip the zero fill.
//!
//! The convolution's column matrices are tens of megabytes per image; allocating them per call
//! costs page faults and a memset each time. Each rayon thread keeps its own and reuses it.

use std::cell::RefCell;
use std::mem::MaybeUninit;

thread_local! {
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Runs `f` on two scratch slices of lengths `a` and `b` whose contents are unspecified (the
/// caller writes before it reads). Reuses this thread's buffers; a nested call on the same
/// thread gets fresh ones.
pub fn with_scratch<R>(a: usize, b: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bufs) => {
            let [x, y] = &mut *bufs;
            if x.len() < a {
                x.resize(a, 0.0);
            }
            if y.len() < b {
                y.resize(b, 0.0);
            }
            f(&mut x[..a], &mut y[..b])
        }
        Err(_) => f(&mut vec![0.0; a], &mut vec![0.0; b]),
    })
}

/// An output buffer of `n` values, not zeroed: every value must be written before
/// [`assume_init`].
pub fn uninit(n: usize) -> Vec<MaybeUninit<f32>> {
    let mut v = Vec::with_capacity(n);
    // SAFETY: MaybeUninit needs no initialization.
    unsafe { v.set_len(n) };
    v
}

/// The buffer of [`uninit`] once every value has been written.
///
/// # Safety
/// Every element of `v` must have been initialized.
pub unsafe fn assume_init(v: Vec<MaybeUninit<f32>>) -> Vec<f32> {
    let mut v = std::mem::ManuallyDrop::new(v);
    // SAFETY: same allocation, length and capacity; MaybeUninit<f32> has f32's layout and the
    // caller guarantees every element is initialized.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<f32>(), v.len(), v.capacity()) }
}
