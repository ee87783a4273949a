//! `tnet`: the T-Net command line.

mod bench_step;
mod decompose;
mod device;
mod eval_pckh;
mod info;
mod net_args;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tnet",
    version,
    about = "T-Net: fully convolutional nets parametrized by one high-order tensor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decompose a tensor stored as .npy (float32 or float64) with Tucker, CP or TT.
    Decompose(decompose::DecomposeArgs),
    /// MPII PCKh (HRNet protocol) of predicted joints against gt_valid.mat.
    EvalPckh(eval_pckh::EvalPckhArgs),
    /// Parameter and FLOP table of a T-Net configuration.
    Info(info::InfoArgs),
    /// Time one training step (forward + backward + RMSprop) on a fixed random batch.
    BenchStep(bench_step::BenchStepArgs),
}

fn main() {
    tnet_tensor::malloc::tune_glibc_malloc();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decompose(args) => decompose::run(&args),
        Command::EvalPckh(args) => eval_pckh::run(&args),
        Command::Info(args) => info::run(&args),
        Command::BenchStep(args) => bench_step::run(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
