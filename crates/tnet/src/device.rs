//! `--device cpu|cuda[:N]`.

use anyhow::{Result, bail};
use candle_core::Device;

pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        _ if s == "cuda" || s.starts_with("cuda:") => {
            let ordinal: usize = match s.strip_prefix("cuda:") {
                None => 0,
                Some(n) => n
                    .parse()
                    .map_err(|_| anyhow::anyhow!("bad device {s:?}: expected cuda:N"))?,
            };
            if !candle_core::utils::cuda_is_available() {
                bail!(
                    "--device {s}: this tnet was built without CUDA; build it with `cargo build --release --features cuda` (see docs/cuda.md) or use --device cpu"
                );
            }
            Device::new_cuda(ordinal).map_err(|e| {
                // candle's CUDA errors carry a backtrace: keep the message line.
                let msg = e.to_string();
                let first = msg.lines().next().unwrap_or("unknown error").to_string();
                anyhow::anyhow!("cannot open CUDA device {ordinal}: {first}")
            })
        }
        _ => bail!("unknown device {s:?}: use cpu, cuda or cuda:N"),
    }
}
