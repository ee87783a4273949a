//! `tnet`: the T-Net command line.

mod bench_step;
mod check_device;
mod compress;
mod decompose;
mod device;
mod eval_model;
mod eval_pckh;
mod export;
mod forward;
mod import;
mod info;
mod interrupt;
#[cfg(feature = "mpi")]
mod mpi_world;
mod net_args;
mod predict;
mod study;
mod train;
mod world;

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
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Decompose a tensor stored as .npy (float32 or float64) with Tucker, CP or TT.
    Decompose(decompose::DecomposeArgs),
    /// MPII PCKh (HRNet protocol) of predicted joints against gt_valid.mat.
    EvalPckh(eval_pckh::EvalPckhArgs),
    /// Parameter and FLOP table of a T-Net configuration.
    Info(info::InfoArgs),
    /// Train T-Net (the embedded default: synthetic pose data, small preset, Tucker ~10x, CPU).
    Train(train::TrainArgs),
    /// Validation measures of a trained checkpoint (PCKh or IoU).
    Eval(eval_model::EvalArgs),
    /// Joints (pose) or label maps (face parsing) of images, as JSON and PNG.
    Predict(predict::PredictArgs),
    /// A trained network as an ONNX file (kernel tensor factorized, or --dense) or a PyTorch
    /// state dict.
    Export(export::ExportArgs),
    /// A PyTorch state dict of the repository's PyTorch network as a checkpoint.
    Import(import::ImportArgs),
    /// The network's output (last stack, eval mode) on a .npy batch, written as .npy.
    Forward(forward::ForwardArgs),
    /// Decompose a trained dense network into a Tucker / CP / TT one to fine-tune.
    Compress(compress::CompressArgs),
    /// Time one training step (forward + backward + RMSprop) on a fixed random batch.
    BenchStep(bench_step::BenchStepArgs),
    /// The paper's experiments (per-mode study, methods across compression, face parsing) as
    /// one resumable job writing a Markdown report with plots.
    Study(study::StudyArgs),
    /// One training pass on a device (or in mixed precision) against the CPU: outputs and
    /// every gradient compared.
    CheckDevice(check_device::CheckDeviceArgs),
}

fn main() {
    tnet_cpu::process::tune_glibc_malloc();
    tnet_cpu::process::exit_quietly_on_closed_pipe();
    // SAFETY: first thing in main, before any thread exists.
    unsafe { tnet_cpu::process::park_candle_workers_when_idle() };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decompose(args) => decompose::run(&args),
        Command::EvalPckh(args) => eval_pckh::run(&args),
        Command::Info(args) => info::run(&args),
        Command::BenchStep(args) => bench_step::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Eval(args) => eval_model::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Compress(args) => compress::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Forward(args) => forward::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Study(args) => study::run(&args),
        Command::CheckDevice(args) => check_device::run(&args),
    };
    if let Err(e) = result {
        // candle's errors can carry a backtrace: the message is what comes before it.
        let msg = format!("{e:#}");
        let msg = msg.split("\n   0: ").next().unwrap_or(&msg).trim_end();
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}
