//! The decomposition benchmark suite: problems drawn by a seeded generator, the same for
//! `cargo bench decompositions` and `cargo xtask bench-decomp --vs tensorly`.
//!
//! Orders 3 to 8, cubic and very uneven mode sizes (2 to 512), ranks from 1 to the mode size,
//! low-rank-plus-noise and full-rank (pure noise) tensors, float32 and float64; at most
//! [`MAX_ENTRIES`] entries each. Iteration counts are fixed (tolerance 0) so that both tools
//! do the same work.

use ndarray::ArrayD;
use tnet_tensor::random::{SeededRng, add_noise, random_normal};

/// The generator's seed: the suite is the same on every machine.
pub const SUITE_SEED: u64 = 2026;
/// Problems in the suite (a third per method).
pub const SUITE_SIZE: usize = 24;
/// Entries of the largest tensor (16 MiB of float64).
pub const MAX_ENTRIES: usize = 1 << 21;
/// HOOI sweeps and ALS sweeps of every problem.
pub const TUCKER_SWEEPS: usize = 10;
pub const CP_SWEEPS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Tucker,
    Cp,
    Tt,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Tucker => "tucker",
            Method::Cp => "cp",
            Method::Tt => "tt",
        }
    }
}

/// What the tensor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// An exact tensor of the problem's rank plus 1 % noise.
    LowRankNoisy,
    /// Standard normal entries: no low-rank structure at all.
    FullRank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F32,
    F64,
}

/// One problem of the suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `tucker-3-uneven-f64-07`-style, unique and file-name safe.
    pub name: String,
    pub method: Method,
    pub shape: Vec<usize>,
    /// Tucker: one rank per mode; CP: `[R]`; TT: `N + 1` ranks (first and last 1).
    pub rank: Vec<usize>,
    pub data: Data,
    pub precision: Precision,
    /// Seeds the tensor's values.
    pub seed: u64,
    /// Sweeps (Tucker, CP; TT-SVD has none).
    pub n_iter: usize,
}

impl Problem {
    /// The rank as `tnet decompose --rank` and the TensorLy script take it.
    pub fn rank_arg(&self) -> String {
        self.rank
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The tensor (float64; a float32 problem is this rounded).
    pub fn tensor(&self) -> ArrayD<f64> {
        let mut rng = SeededRng::new(self.seed);
        if self.data == Data::FullRank {
            return random_normal::<f64>(&self.shape, &mut rng);
        }
        let mut x = match self.method {
            Method::Tucker => tnet_tucker::random_tucker::<f64>(&self.shape, &self.rank, &mut rng)
                .map(|t| t.to_tensor()),
            Method::Cp => tnet_cp::random_cp::<f64>(&self.shape, self.rank[0], &mut rng)
                .map(|t| t.to_tensor()),
            Method::Tt => {
                tnet_tt::random_tt::<f64>(&self.shape, &self.rank, &mut rng).map(|t| t.to_tensor())
            }
        }
        .expect("the generator draws valid ranks");
        add_noise(&mut x, 0.01, &mut rng);
        x
    }
}

/// A size in `[lo, hi]`, log-uniform.
fn log_uniform(rng: &mut SeededRng, lo: usize, hi: usize) -> usize {
    let (a, b) = ((lo as f64).ln(), (hi as f64 + 1.0).ln());
    (rng.range(a, b).exp() as usize).clamp(lo, hi)
}

/// Mode sizes of an `order`-mode tensor: all equal (cubic), or one long mode of 256 to 512 and
/// the others drawn log-uniformly over `[2, 512]`, halved at random until the tensor fits in
/// [`MAX_ENTRIES`].
fn draw_shape(rng: &mut SeededRng, order: usize, cubic: bool) -> Vec<usize> {
    if cubic {
        let side = ((MAX_ENTRIES as f64).powf(1.0 / order as f64) as usize).min(512);
        let side = log_uniform(rng, (side / 2).max(2), side);
        return vec![side; order];
    }
    // One long mode (256 to 512), the others anywhere in [2, 512], shrunk (the long one last).
    let long = (rng.next_u64() % order as u64) as usize;
    let mut shape: Vec<usize> = (0..order)
        .map(|k| {
            if k == long {
                log_uniform(rng, 256, 512)
            } else {
                log_uniform(rng, 2, 512)
            }
        })
        .collect();
    while shape.iter().product::<usize>() > MAX_ENTRIES {
        let mut big: Vec<usize> = (0..order).filter(|&k| k != long && shape[k] > 2).collect();
        if big.is_empty() {
            big.push(long);
        }
        let k = big[(rng.next_u64() % big.len() as u64) as usize];
        shape[k] = (shape[k] / 2).max(2);
    }
    shape
}

/// Tucker ranks: per mode 1, the mode's size, or a fraction of it, the core kept below 2^18.
fn draw_tucker_ranks(rng: &mut SeededRng, shape: &[usize]) -> Vec<usize> {
    let mut ranks: Vec<usize> = shape
        .iter()
        .map(|&i| match rng.next_u64() % 6 {
            0 => 1,
            1 => i,
            _ => ((i as f64 * rng.range(0.05, 0.5)).round() as usize).clamp(1, i),
        })
        .collect();
    while ranks.iter().product::<usize>() > 1 << 18 {
        let k = (0..ranks.len()).max_by_key(|&k| ranks[k]).unwrap_or(0);
        ranks[k] = (ranks[k] / 2).max(1);
    }
    ranks
}

/// The suite: [`SUITE_SIZE`] problems from [`SUITE_SEED`].
pub fn suite() -> Vec<Problem> {
    let mut rng = SeededRng::new(SUITE_SEED);
    (0..SUITE_SIZE)
        .map(|i| {
            let method = [Method::Tucker, Method::Cp, Method::Tt][i % 3];
            let order = 3 + (i / 3) % 6;
            let cubic = (i / 3 + i % 3) % 2 == 0;
            let shape = draw_shape(&mut rng, order, cubic);
            let rank = match method {
                Method::Tucker => draw_tucker_ranks(&mut rng, &shape),
                Method::Cp => vec![1 + (rng.next_u64() % 32) as usize],
                Method::Tt => {
                    tnet_tt::budget::uniform_ranks(&shape, 1 + (rng.next_u64() % 16) as usize)
                }
            };
            let data = if rng.next_u64().is_multiple_of(3) {
                Data::FullRank
            } else {
                Data::LowRankNoisy
            };
            let precision = if rng.next_u64().is_multiple_of(3) {
                Precision::F32
            } else {
                Precision::F64
            };
            let name = format!(
                "{}-{order}-{}-{}-{i:02}",
                method.name(),
                if cubic { "cubic" } else { "uneven" },
                match precision {
                    Precision::F32 => "f32",
                    Precision::F64 => "f64",
                }
            );
            Problem {
                name,
                method,
                shape,
                rank,
                data,
                precision,
                seed: SUITE_SEED * 1000 + i as u64,
                n_iter: match method {
                    Method::Tucker => TUCKER_SWEEPS,
                    Method::Cp => CP_SWEEPS,
                    Method::Tt => 0,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_covers_what_it_promises() {
        let s = suite();
        assert_eq!(s.len(), SUITE_SIZE);
        assert_eq!(s, suite(), "seeded");
        for order in 3..=8 {
            assert!(s.iter().any(|p| p.shape.len() == order), "order {order}");
        }
        for p in &s {
            assert!(
                p.shape.iter().product::<usize>() <= MAX_ENTRIES,
                "{}",
                p.name
            );
            assert!(
                p.shape.iter().all(|&i| (2..=512).contains(&i)),
                "{}",
                p.name
            );
        }
        assert!(s.iter().any(|p| p.shape.iter().max() >= Some(&256)));
        assert!(s.iter().any(|p| p.data == Data::FullRank));
        assert!(s.iter().any(|p| p.precision == Precision::F32));
        let tucker = s.iter().filter(|p| p.method == Method::Tucker);
        let ranks: Vec<(usize, usize)> = tucker
            .flat_map(|p| {
                p.shape
                    .iter()
                    .copied()
                    .zip(p.rank.iter().copied())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(ranks.iter().any(|&(_, r)| r == 1));
        assert!(ranks.iter().any(|&(i, r)| r == i && i > 1));
        let names: std::collections::BTreeSet<_> = s.iter().map(|p| &p.name).collect();
        assert_eq!(names.len(), s.len());
    }
}

#[cfg(test)]
mod listing {
    /// `cargo test -p tnet-tests --lib list_the_suite -- --nocapture --ignored` prints it.
    #[test]
    #[ignore]
    fn list_the_suite() {
        for p in super::suite() {
            println!("{} {:?} rank {:?} {:?}", p.name, p.shape, p.rank, p.data);
        }
    }
}
