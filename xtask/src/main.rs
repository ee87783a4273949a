//! Developer workflows: `cargo xtask <command>` (see `cargo xtask --help`).

mod bench_decomp;
mod bench_train;
mod cuda;
mod cuda_toolkit;
mod data;
mod study;
mod tensorly;
mod tnet_bin;
mod train;
mod vendor_check;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "T-Net developer workflows")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train T-Net: the embedded default (synthetic pose, small preset, Tucker ~10x, CPU);
    /// arguments pass through to `tnet train` (e.g. --task faceseg, --epochs 3).
    Train {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The paper's experiments as one resumable job with a Markdown report: arguments pass
    /// through to `tnet study` (--quick, --seeds N, --out docs/results/NAME, --data ..).
    Study {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The CUDA build of tnet (the system's CUDA toolkit, or one made from PyPI wheels), symbol
    /// check, gzipped binary; --pack fills .gpu/ for a GPU machine (docs/cuda.md).
    CudaBuild(cuda::CudaBuildArgs),
    /// Time our decompositions against TensorLy 0.10.0 on the standard problems and print a table.
    BenchDecomp(bench_decomp::BenchArgs),
    /// Our training step against PyTorch eager (and JAX with --jax DIR), alternating, as a ratio table.
    BenchTrain(bench_train::BenchTrainArgs),
    /// Write the TensorLy reference fixtures used by the cross-check tests (tests/fixtures/tensorly).
    TensorlyFixtures,
    /// Data sets made by the project (synthetic pose, synthetic faces).
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Write the scipy MAT v5 fixtures of tnet-data and check scipy reads our MAT writer's output.
    MatFixtures,
    /// Check that vendor/candle-core is the published candle-core plus its patch, file for file.
    VendorCheck,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train { args } => train::run(&args),
        Command::Study { args } => study::run(&args),
        Command::CudaBuild(args) => cuda::run(&args),
        Command::BenchDecomp(args) => bench_decomp::run(&args),
        Command::BenchTrain(args) => bench_train::run(&args),
        Command::TensorlyFixtures => tensorly::write_fixtures(),
        Command::MatFixtures => tensorly::write_mat_fixtures(),
        Command::Data(cmd) => data::run(&cmd),
        Command::VendorCheck => vendor_check::run_check(),
    }
}
