//! Memory budgets: what a job will need, estimated before anything is allocated and compared
//! with the machine's memory, so that a size from a user (a rank, a feature count) that cannot
//! fit is refused with the numbers instead of aborting the process.
//!
//! Estimates are in bytes as `f64` (no overflow whatever the sizes) and count the large
//! buffers a job holds at once; they are meant to separate "fits" from "cannot possibly fit",
//! not to predict peak memory to the megabyte.

use thiserror::Error;

/// A job that would need more memory than the machine has.
#[derive(Debug, Clone, PartialEq, Error)]
#[error(
    "{what} needs about {} of memory, more than this machine's {}",
    gib(*needed),
    gib(*available as f64)
)]
pub struct MemoryError {
    pub what: String,
    pub needed: f64,
    pub available: u64,
}

fn gib(bytes: f64) -> String {
    if bytes >= 1e15 {
        format!("{bytes:.2e} bytes")
    } else {
        format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
    }
}

/// The machine's physical memory in bytes (`MemTotal` of `/proc/meminfo`), `None` where it
/// cannot be read (then nothing is refused).
pub fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Refuses `what` when `needed` bytes exceed the machine's memory.
pub fn check_fits(what: &str, needed: f64) -> Result<(), MemoryError> {
    match machine_memory() {
        Some(available) if needed.is_nan() || needed > available as f64 => Err(MemoryError {
            what: what.to_string(),
            needed,
            available,
        }),
        _ => Ok(()),
    }
}

fn numel(shape: &[usize]) -> f64 {
    shape.iter().map(|&i| i as f64).product()
}

/// CP-ALS of a tensor of `shape` at rank `rank`, `elem` bytes per value: the tensor, a working
/// copy, the factors with their updates, and the `R x R` Gram matrices of every mode.
pub fn cp_bytes(shape: &[usize], rank: usize, elem: usize) -> f64 {
    let r = rank as f64;
    let factors: f64 = shape.iter().map(|&i| i as f64 * r).sum();
    elem as f64 * (2.0 * numel(shape) + 2.0 * factors + (shape.len() as f64 + 2.0) * r * r)
}

/// Tucker (HOSVD / HOOI) of a tensor of `shape` at `ranks`: the tensor, an unfolding and a
/// partial product, the core, the factors and each mode's `I x I` Gram matrix.
pub fn tucker_bytes(shape: &[usize], ranks: &[usize], elem: usize) -> f64 {
    let core: f64 = ranks.iter().map(|&r| r as f64).product();
    let factors: f64 = shape.iter().zip(ranks).map(|(&i, &r)| (i * r) as f64).sum();
    let grams: f64 = shape.iter().map(|&i| (i as f64).powi(2)).sum();
    elem as f64 * (3.0 * numel(shape) + core + factors + grams)
}

/// TT-SVD of a tensor of `shape` with TT ranks `ranks` (`N + 1` of them): the tensor, the
/// matrix being split and its SVD, and the cores.
pub fn tt_bytes(shape: &[usize], ranks: &[usize], elem: usize) -> f64 {
    let cores: f64 = shape
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let left = ranks.get(k).copied().unwrap_or(1) as f64;
            let right = ranks.get(k + 1).copied().unwrap_or(1) as f64;
            left * i as f64 * right
        })
        .sum();
    elem as f64 * (4.0 * numel(shape) + cores)
}
