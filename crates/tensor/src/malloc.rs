//! Opt-in tuning of glibc's allocator for binaries that run these kernels.
//!
//! The kernels allocate a few buffers of megabytes per iteration. With glibc's default
//! thresholds every such buffer is a fresh `mmap`, whose pages fault in (and are zeroed by the
//! kernel) on first touch: on this project's machines that doubled the time of a CP-ALS sweep.
//! Raising the mmap and trim thresholds keeps freed buffers in the heap for reuse. A library
//! must not change a process-wide setting behind its user's back, so binaries call this.

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
