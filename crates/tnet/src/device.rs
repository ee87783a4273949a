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
            Ok(Device::new_cuda(ordinal)?)
        }
        _ => bail!("unknown device {s:?}: use cpu, cuda or cuda:N"),
    }
}
