//! `tnet forward`: the network's raw output (last stack, eval mode) on an input array, for
//! comparing with other runtimes (onnxruntime on an exported file, PyTorch).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use ndarray::{ArrayD, IxDyn};
use tnet_tensor::npy::{NpyArray, read_npy, write_npy};
use tnet_train::model_io::load_model;

#[derive(Debug, Args)]
pub struct ForwardArgs {
    /// A checkpoint of `tnet train` or `tnet compress`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Images as a .npy array (batch, 3, size, size), float32 or float64, already normalized as
    /// the network's input is.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the last stack's output as float32 .npy.
    #[arg(long)]
    out: PathBuf,
    /// Also time the forward pass (kernels reconstructed once, as for inference): one warm-up,
    /// then this many timed passes; prints the median and the fastest.
    #[arg(long, default_value_t = 0)]
    repeat: usize,
}

pub fn run(args: &ForwardArgs) -> Result<()> {
    let device = candle_core::Device::Cpu;
    let (net, _) = load_model(&args.checkpoint, &device)
        .with_context(|| format!("loading {}", args.checkpoint.display()))?;
    let file = std::fs::File::open(&args.input)
        .with_context(|| format!("opening {}", args.input.display()))?;
    let x: ArrayD<f32> = match read_npy(std::io::BufReader::new(file))
        .with_context(|| format!("reading {}", args.input.display()))?
    {
        NpyArray::F32(a) => a,
        NpyArray::F64(a) => a.mapv(|v| v as f32),
    };
    let s = net.config().input_size;
    if x.ndim() != 4 || x.shape()[1..] != [3, s, s] || x.shape()[0] == 0 {
        bail!(
            "{}: shape {:?}, the network takes (batch, 3, {s}, {s})",
            args.input.display(),
            x.shape()
        );
    }
    let x = x.as_standard_layout();
    let t = candle_core::Tensor::from_slice(
        x.as_slice().context("contiguous input")?,
        x.shape(),
        &device,
    )?;
    let kernels = net.kernels(tnet_hourglass::KernelMode::Eval)?;
    let outputs = net
        .forward_with(&kernels, &t, false)
        .context("forward pass")?;
    if args.repeat > 0 {
        let mut ms: Vec<f64> = (0..args.repeat)
            .map(|_| {
                let start = std::time::Instant::now();
                net.forward_with(&kernels, &t, false)
                    .map(|_| start.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<candle_core::Result<_>>()?;
        ms.sort_by(f64::total_cmp);
        println!(
            "forward of a batch of {}: median {:.2} ms, fastest {:.2} ms over {} passes",
            x.shape()[0],
            ms[ms.len() / 2],
            ms[0],
            ms.len()
        );
    }
    let last = outputs.last().context("a network without outputs")?;
    let y = ArrayD::from_shape_vec(IxDyn(last.dims()), last.flatten_all()?.to_vec1::<f32>()?)?;
    let f = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    write_npy(std::io::BufWriter::new(f), &y.view())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}: output {:?}", args.out.display(), last.dims());
    Ok(())
}
