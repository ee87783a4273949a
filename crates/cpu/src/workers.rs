//! Where a stretch of CPU work starts: on a worker of rayon's global pool.
//!
//! The kernels fork onto rayon's global pool (GEMM blocks, per-image loops). From a thread
//! outside the pool every fork injects a job, wakes a worker and puts the caller to sleep until
//! the job ends: two context switches per parallel op, hundreds per training step. From a
//! worker, a fork is a push onto its own queue that the other workers steal from. On the
//! `small` network's training step (two cores) that was 37-48 ms against 32-39 ms.

/// Runs `f` on a worker of rayon's global pool (inline when the caller is a worker already)
/// and returns its result; the calling thread waits. `f` must not wait on another thread that
/// may itself need the pool (a collective with replicas running as threads, say): a worker
/// waiting on a fork can take other queued jobs onto its own stack, so such a wait can deadlock.
pub fn on_pool_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_runs_on_a_pool_worker_and_its_result_comes_back() {
        assert!(
            rayon::current_thread_index().is_none(),
            "tests run outside the pool"
        );
        let (index, value) = on_pool_worker(|| (rayon::current_thread_index(), 6 * 7));
        assert!(index.is_some());
        assert_eq!(value, 42);
        // From a worker it runs where it is called.
        let (outer, inner) = on_pool_worker(|| {
            let here = std::thread::current().id();
            (here, on_pool_worker(|| std::thread::current().id()))
        });
        assert_eq!(outer, inner);
    }
}
