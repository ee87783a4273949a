//! The standard decomposition problems (issue "Tucker, CP, TT faster than TensorLy"): seeded
//! float64 low-rank tensors plus 1 % noise.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tnet_cp::random_cp;
use tnet_tensor::random::{SeededRng, add_noise};
use tnet_tt::random_tt;
use tnet_tucker::random_tucker;

pub struct Problem {
    pub name: &'static str,
    pub method: &'static str,
    pub shape: Vec<usize>,
    /// Generating rank (Tucker: per mode; CP: one; TT: N+1).
    pub true_rank: Vec<usize>,
    /// `--rank` argument for both tools.
    pub rank_arg: String,
    pub n_iter: Option<usize>,
    pub tol: Option<f64>,
}

fn p(
    name: &'static str,
    method: &'static str,
    shape: &[usize],
    true_rank: &[usize],
    rank_arg: &str,
    n_iter: Option<usize>,
    tol: Option<f64>,
) -> Problem {
    Problem {
        name,
        method,
        shape: shape.to_vec(),
        true_rank: true_rank.to_vec(),
        rank_arg: rank_arg.to_string(),
        n_iter,
        tol,
    }
}

pub fn standard() -> Vec<Problem> {
    let tt10: Vec<usize> = [1, 4, 8, 8, 8, 8, 8, 8, 8, 4, 1].to_vec();
    vec![
        p(
            "tucker 64^3 r16",
            "tucker",
            &[64; 3],
            &[16; 3],
            "16",
            None,
            None,
        ),
        p(
            "tucker 128^3 r32",
            "tucker",
            &[128; 3],
            &[32; 3],
            "32",
            None,
            None,
        ),
        p(
            "tucker 128^3 r32 10 sweeps",
            "tucker",
            &[128; 3],
            &[32; 3],
            "32",
            Some(10),
            Some(0.0),
        ),
        p(
            "tucker (2,4,3,3,32,32,3,3)",
            "tucker",
            &[2, 4, 3, 3, 32, 32, 3, 3],
            &[2, 4, 3, 3, 16, 16, 3, 3],
            "2,4,3,3,16,16,3,3",
            None,
            None,
        ),
        p(
            "cp 64^3 r16",
            "cp",
            &[64; 3],
            &[16],
            "16",
            Some(100),
            Some(0.0),
        ),
        p(
            "cp 128^3 r16",
            "cp",
            &[128; 3],
            &[16],
            "16",
            Some(100),
            Some(0.0),
        ),
        p(
            "tt 64^3 r16",
            "tt",
            &[64; 3],
            &[1, 16, 16, 1],
            "1,16,16,1",
            None,
            None,
        ),
        p("tt 4^10 r8", "tt", &[4; 10], &tt10, "8", None, None),
    ]
}

impl Problem {
    /// Writes (or reuses) the problem's tensor as `.npy` under `dir`.
    pub fn tensor_file(&self, dir: &Path, seed: u64) -> Result<PathBuf> {
        let file = dir.join(format!(
            "{}.npy",
            self.name.replace([' ', '^', '(', ')', ','], "_")
        ));
        if file.exists() {
            return Ok(file);
        }
        let mut rng = SeededRng::new(seed);
        let mut x = match self.method {
            "tucker" => random_tucker::<f64>(&self.shape, &self.true_rank, &mut rng)
                .unwrap()
                .to_tensor(),
            "cp" => random_cp::<f64>(&self.shape, self.true_rank[0], &mut rng)
                .unwrap()
                .to_tensor(),
            _ => random_tt::<f64>(&self.shape, &self.true_rank, &mut rng)
                .unwrap()
                .to_tensor(),
        };
        add_noise(&mut x, 0.01, &mut rng);
        let f =
            std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
        tnet_tensor::npy::write_npy(std::io::BufWriter::new(f), &x.view())?;
        Ok(file)
    }
}
