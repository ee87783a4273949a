//! `tnet decompose <tucker|cp|tt> INPUT.npy --rank ...`

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ndarray::{ArrayD, ArrayViewD};
use safetensors::tensor::{Dtype, TensorView};
use serde::Serialize;
use tnet_tensor::npy::{NpyArray, read_npy};
use tnet_tensor::{Factorized, Scalar};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Method {
    Tucker,
    Cp,
    Tt,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Init {
    Svd,
    Random,
}

#[derive(Debug, Args)]
pub struct DecomposeArgs {
    /// Decomposition: tucker (HOOI), cp (ALS) or tt (TT-SVD).
    #[arg(value_enum)]
    method: Method,
    /// Input tensor: a C- or Fortran-ordered float32 / float64 .npy file.
    input: PathBuf,
    /// Rank: one integer (every mode; for tt the maximal TT rank) or a comma-separated list
    /// (tucker: one per mode; tt: the N+1 TT ranks, first and last 1).
    #[arg(long, value_parser = parse_rank)]
    rank: Option<RankList>,
    /// Choose the ranks for at least this compression ratio instead of --rank (tucker, cp, tt).
    #[arg(long, conflicts_with = "rank")]
    compression: Option<f64>,
    /// tt only: relative accuracy; ranks are the smallest that reach it (--rank caps them).
    #[arg(long)]
    eps: Option<f64>,
    /// Maximum iterations (tucker: HOOI sweeps, default 100; cp: ALS sweeps, default 100).
    #[arg(long)]
    n_iter: Option<usize>,
    /// Convergence tolerance on the change of relative error (tucker 1e-4, cp 1e-8; 0 runs all iterations).
    #[arg(long)]
    tol: Option<f64>,
    /// Initialization of tucker / cp.
    #[arg(long, value_enum, default_value = "svd")]
    init: Init,
    /// Seed of the random initialization.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the factors here (safetensors).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
    /// Benchmarking: run the decomposition this many times in this process and report the
    /// median time of the runs after the first (which warms the thread pool and allocator).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
}

/// `R` or `r1,r2,...` as given to `--rank`.
#[derive(Debug, Clone)]
pub struct RankList(Vec<usize>);

impl std::ops::Deref for RankList {
    type Target = Vec<usize>;
    fn deref(&self) -> &Vec<usize> {
        &self.0
    }
}

fn parse_rank(s: &str) -> Result<RankList, String> {
    let ranks = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .map_err(|e| format!("'{p}' is not a non-negative integer ({e})"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ranks.is_empty() {
        return Err("empty rank".into());
    }
    Ok(RankList(ranks))
}

/// The one-line JSON report (`--json`).
#[derive(Debug, Serialize)]
struct Report {
    method: &'static str,
    shape: Vec<usize>,
    rank: Vec<usize>,
    rel_error: f64,
    n_params: usize,
    compression_ratio: f64,
    iterations: usize,
    seconds: f64,
}

pub fn run(args: &DecomposeArgs) -> Result<()> {
    check_args(args)?;
    // Fail on an unwritable output before spending time on the decomposition.
    if let Some(out) = &args.output {
        check_writable(out)?;
    }
    let file =
        File::open(&args.input).with_context(|| format!("cannot open {}", args.input.display()))?;
    let array = read_npy(BufReader::new(file))
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    check_memory(
        args,
        array.shape(),
        if matches!(array, NpyArray::F32(_)) {
            4
        } else {
            8
        },
    )?;
    let report = match array {
        NpyArray::F32(x) => decompose(x, args),
        NpyArray::F64(x) => decompose(x, args),
    }
    .with_context(|| format!("decomposing {}", args.input.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} of shape {:?}: rank {:?}, relative error {:.3e}, {} parameters ({:.2}x compression), {} iterations, {:.3} s",
            report.method,
            report.shape,
            report.rank,
            report.rel_error,
            report.n_params,
            report.compression_ratio,
            report.iterations,
            report.seconds
        );
        if let Some(out) = &args.output {
            println!("factors written to {}", out.display());
        }
    }
    Ok(())
}

fn check_args(args: &DecomposeArgs) -> Result<()> {
    match args.method {
        Method::Tucker => {
            if args.rank.is_none() && args.compression.is_none() {
                bail!("tucker needs --rank R, --rank r1,r2,.. (one per mode) or --compression X");
            }
            if args.eps.is_some() {
                bail!("--eps applies to tt only");
            }
        }
        Method::Cp => {
            match (&args.rank, args.compression) {
                (None, None) => bail!("cp needs --rank R or --compression X"),
                (Some(r), None) if r.len() != 1 => {
                    bail!("the CP rank is one integer, got the list {r:?}")
                }
                _ => {}
            }
            if args.eps.is_some() {
                bail!("--eps applies to tt only");
            }
        }
        Method::Tt => {
            if args.rank.is_none() && args.eps.is_none() && args.compression.is_none() {
                bail!(
                    "tt needs --rank R, --rank 1,r1,..,1 (N+1 ranks), --eps E or --compression X"
                );
            }
            if args.compression.is_some() && args.eps.is_some() {
                bail!("give tt either --eps or --compression, not both");
            }
            if args.eps.is_some() && args.rank.as_ref().is_some_and(|r| r.len() != 1) {
                bail!("with --eps, --rank is one integer (the largest TT rank allowed)");
            }
        }
    }
    if let Some(eps) = args.eps
        && !(0.0..1.0).contains(&eps)
    {
        bail!("--eps is a relative error in [0, 1), got {eps}");
    }
    if let Some(tol) = args.tol
        && (tol.is_nan() || tol < 0.0)
    {
        bail!("--tol must be >= 0, got {tol}");
    }
    Ok(())
}

/// Refuses explicit ranks whose decomposition cannot fit in the machine's memory (ranks
/// chosen by --compression or --eps stay within the tensor's own size).
fn check_memory(args: &DecomposeArgs, shape: &[usize], elem: usize) -> Result<()> {
    use tnet_tensor::memory::{check_fits, cp_bytes, tt_bytes, tucker_bytes};
    let Some(rank) = &args.rank else {
        return Ok(());
    };
    let per_mode = |n: usize| -> Vec<usize> {
        if rank.len() == 1 {
            vec![rank[0]; n]
        } else {
            rank.to_vec()
        }
    };
    let (what, bytes) = match args.method {
        Method::Cp => ("CP", cp_bytes(shape, rank[0], elem)),
        Method::Tucker => ("Tucker", tucker_bytes(shape, &per_mode(shape.len()), elem)),
        Method::Tt => ("TT", tt_bytes(shape, &per_mode(shape.len() + 1), elem)),
    };
    check_fits(
        &format!(
            "{what} of a tensor of shape {shape:?} at rank {:?}",
            rank.as_slice()
        ),
        bytes,
    )?;
    Ok(())
}

fn check_writable(out: &Path) -> Result<()> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: folder {} does not exist",
            out.display(),
            dir.display()
        );
    }
    if out.is_dir() {
        bail!("cannot write {}: it is a folder", out.display());
    }
    let probe = tmp_path(out);
    File::create(&probe)
        .with_context(|| format!("cannot write {} (folder not writable?)", out.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn tmp_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    out.with_file_name(name)
}

/// A fitted model of any of the three kinds.
type Model<T> = Box<dyn Factorized<T>>;

fn decompose<T: Scalar>(x: ArrayD<T>, args: &DecomposeArgs) -> Result<Report> {
    let xv = x.view();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..args.repeat {
        let start = Instant::now();
        let fitted = decompose_once(&xv, args)?;
        times.push(start.elapsed().as_secs_f64());
        last = Some(fitted);
    }
    let (model, iterations) = last.expect("--repeat is at least 1");
    if times.len() > 1 {
        times.remove(0);
    }
    times.sort_by(f64::total_cmp);
    let report = Report {
        method: model.method(),
        shape: x.shape().to_vec(),
        rank: model.rank(),
        rel_error: model.relative_error(&xv)?,
        n_params: model.n_params(),
        compression_ratio: model.compression_ratio(),
        iterations,
        seconds: times[times.len() / 2],
    };
    if let Some(out) = &args.output {
        write_safetensors(out, &model.named_parts(), &report)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(report)
}

/// One decomposition: the fitted model and its iteration count.
fn decompose_once<T: Scalar>(
    xv: &ArrayViewD<'_, T>,
    args: &DecomposeArgs,
) -> Result<(Model<T>, usize)> {
    let seed = args.seed;
    Ok(match args.method {
        Method::Tucker => {
            let rank = match (&args.rank, args.compression) {
                (_, Some(c)) => tnet_tucker::TuckerRank::Compression(c),
                (Some(r), None) if r.len() == 1 => tnet_tucker::TuckerRank::Same(r[0]),
                (Some(r), None) => tnet_tucker::TuckerRank::Ranks(r.to_vec()),
                (None, None) => bail!("tucker needs --rank or --compression"),
            };
            let mut opts = tnet_tucker::TuckerOptions::<T>::default();
            opts.init = match args.init {
                Init::Svd => tnet_tucker::TuckerInit::Svd,
                Init::Random => tnet_tucker::TuckerInit::Random { seed },
            };
            opts.n_iter_max = args.n_iter.unwrap_or(opts.n_iter_max);
            opts.tol = args.tol.unwrap_or(opts.tol);
            let fit = tnet_tucker::tucker(xv, &rank, &opts).context("Tucker decomposition")?;
            (Box::new(fit.tucker) as Model<T>, fit.iterations)
        }
        Method::Cp => {
            let rank = match (args.rank.as_ref().map(|r| r.as_slice()), args.compression) {
                (_, Some(c)) => {
                    tnet_cp::rank_for_compression(xv.shape(), c).context("choosing the CP rank")?
                }
                (Some(&[rank]), None) => rank,
                _ => bail!("cp needs --rank R (one integer) or --compression X"),
            };
            let mut opts = tnet_cp::ParafacOptions::<T> {
                seed,
                ..Default::default()
            };
            opts.init = match args.init {
                Init::Svd => tnet_cp::CpInit::Svd,
                Init::Random => tnet_cp::CpInit::Random { seed },
            };
            opts.n_iter_max = args.n_iter.unwrap_or(opts.n_iter_max);
            opts.tol = args.tol.unwrap_or(opts.tol);
            let fit = tnet_cp::parafac(xv, rank, &opts).context("CP decomposition")?;
            (Box::new(fit.cp) as Model<T>, fit.iterations)
        }
        Method::Tt => {
            let rank = match (&args.rank, args.eps, args.compression) {
                (_, _, Some(c)) => tnet_tt::TtRank::Compression(c),
                (r, Some(eps), None) => tnet_tt::TtRank::Accuracy {
                    eps,
                    max_rank: r.as_ref().map(|r| r[0]),
                },
                (Some(r), None, None) if r.len() == 1 => tnet_tt::TtRank::Max(r[0]),
                (Some(r), None, None) => tnet_tt::TtRank::Ranks(r.to_vec()),
                (None, None, None) => bail!("tt needs --rank, --eps or --compression"),
            };
            (
                Box::new(
                    tnet_tt::tensor_train(xv, &rank)
                        .context("TT decomposition")?
                        .tt,
                ) as Model<T>,
                0,
            )
        }
    })
}

fn write_safetensors<T: Scalar>(
    out: &Path,
    named: &[(String, ArrayViewD<'_, T>)],
    report: &Report,
) -> Result<()> {
    let dtype = if T::DTYPE == "f32" {
        Dtype::F32
    } else {
        Dtype::F64
    };
    let bytes: Vec<Vec<u8>> = named
        .iter()
        .map(|(_, a)| {
            let mut b = Vec::with_capacity(a.len() * std::mem::size_of::<T>());
            // Iteration is in logical (C) order whatever the memory layout.
            for v in a.iter() {
                if T::DTYPE == "f32" {
                    b.extend_from_slice(&(v.as_f64() as f32).to_le_bytes());
                } else {
                    b.extend_from_slice(&v.as_f64().to_le_bytes());
                }
            }
            b
        })
        .collect();
    let views = named
        .iter()
        .zip(&bytes)
        .map(|((name, a), b)| Ok((name.clone(), TensorView::new(dtype, a.shape().to_vec(), b)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut meta = HashMap::new();
    meta.insert("method".to_string(), report.method.to_string());
    meta.insert("shape".to_string(), serde_json::to_string(&report.shape)?);
    meta.insert("rank".to_string(), serde_json::to_string(&report.rank)?);
    meta.insert("rel_error".to_string(), report.rel_error.to_string());
    let tmp = tmp_path(out);
    safetensors::tensor::serialize_to_file(views, Some(meta), &tmp)?;
    std::fs::rename(&tmp, out)?;
    Ok(())
}
