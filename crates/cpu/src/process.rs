//! Process-wide settings for binaries that run the project's kernels, to call once at
//! start-up. A library must not change a process-wide setting behind its user's back, so
//! nothing in the libraries calls these.
//!
//! glibc's allocator:
//! The kernels allocate a few buffers of megabytes per iteration. With glibc's default
//! thresholds every such buffer is a fresh `mmap`, whose pages fault in (and are zeroed by the
//! kernel) on first touch: on this project's machines that doubled the time of a CP-ALS sweep.
//! Raising the mmap and trim thresholds keeps freed buffers in the heap for reuse.

/// Keeps buffers up to 256 MiB on the heap and stops returning freed memory to the OS
/// below 512 MiB. No effect outside glibc, or when the environment variable
/// `TNET_DEFAULT_MALLOC` is set (to compare, or to save memory).
pub fn tune_glibc_malloc() {
    if std::env::var_os("TNET_DEFAULT_MALLOC").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator thresholds; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
            libc::mallopt(libc::M_TOP_PAD, 16 << 20);
        }
    }
}

/// Before any thread starts: park candle's element-wise worker threads as soon as an op ends.
/// candle 0.11 lets them spin for 25,000 pause instructions first, and on a machine with as
/// many cores as rayon threads that spinning takes a core from the convolution that follows
/// (the `small` step's fastest times improved by about 10 %). Leaves an explicit
/// `CANDLE_BARRIER_POOL_SPIN_LIMIT` alone.
///
/// # Safety
/// Sets an environment variable: call it while the process has a single thread.
pub unsafe fn park_candle_workers_when_idle() {
    const VAR: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(VAR).is_none() {
        // SAFETY: the caller guarantees no other thread reads the environment concurrently.
        unsafe { std::env::set_var(VAR, "0") };
    }
}

/// Ends the process quietly when its output pipe closes (`tnet ... | head -1`), as command-line
/// tools do, instead of failing on the next print.
pub fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
