/// A pointer that may cross threads, for parallel tasks that each write their own disjoint
/// part of one buffer.
#[derive(Clone, Copy)]
pub struct SendPtr(pub *mut f32);

// SAFETY: the tasks sharing it write disjoint elements, and the buffer outlives them (the
// contract of every `at` call).
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer `i` values on (a method, so closures capture the wrapper, not the raw
    /// pointer).
    ///
    /// # Safety
    /// `i` must stay inside the allocation.
    pub unsafe fn at(self, i: usize) -> *mut f32 {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.add(i) }
    }
}
