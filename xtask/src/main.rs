//! Developer workflows: `cargo xtask <command>` (see `cargo xtask --help`).

mod bench_decomp;
mod data;
mod problems;
mod tensorly;

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
    /// Train the T-Net model (the main job; lands with the trainer).
    Train,
    /// Time our decompositions against TensorLy 0.10.0 on the standard problems and print a table.
    BenchDecomp(bench_decomp::BenchArgs),
    /// Write the TensorLy reference fixtures used by the cross-check tests (tests/fixtures/tensorly).
    TensorlyFixtures,
    /// Data sets made by the project (synthetic pose).
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Write the scipy MAT v5 fixtures of tnet-data and check scipy reads our MAT writer's output.
    MatFixtures,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train => {
            eprintln!(
                "`cargo xtask train` is the project's main job, but training is not built yet: the model \
                 (issue 3) and the trainer (issue 5) land next. What works today: the decompositions \
                 (`cargo run --release -p tnet -- decompose --help`, `cargo xtask bench-decomp`), the \
                 data (`cargo xtask data synth-pose`, `cargo xtask data synth-face`) and the measures \
                 (`cargo run --release -p tnet -- eval-pckh --help`)."
            );
            std::process::exit(2);
        }
        Command::BenchDecomp(args) => bench_decomp::run(&args),
        Command::TensorlyFixtures => tensorly::write_fixtures(),
        Command::MatFixtures => tensorly::write_mat_fixtures(),
        Command::Data(cmd) => data::run(&cmd),
    }
}
