//! `cargo xtask cuda-build [--cudnn] [--pack]`: the CUDA build of `tnet` with the recipe of
//! `../shared/tools` (a CUDA 13.0 toolchain from PyPI wheels), in `target/cuda`, then the
//! `LD_BIND_NOW` symbol check against the libraries the GPU machine has, and a gzipped copy.
//! `--pack` also fills `.gpu/` (an ignored folder) with what the device run carries: the
//! gzipped binary, `cuda-run.sh`, `xtask/cuda/device-run.sh` and the PyTorch yardstick.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct CudaBuildArgs {
    /// Also build candle's cuDNN convolutions (`--features cudnn`).
    #[arg(long)]
    cudnn: bool,
    /// Fill .gpu/ for the device tool (carry: [".gpu"]).
    #[arg(long)]
    pack: bool,
    /// The shared tools folder (default: ../shared beside the checkout).
    #[arg(long)]
    shared: Option<PathBuf>,
}

fn bash(script: &str, dir: &Path) -> Result<()> {
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .context("running bash")?;
    if !status.success() {
        bail!("failed: {script}");
    }
    Ok(())
}

pub fn run(args: &CudaBuildArgs) -> Result<()> {
    let root = crate::tensorly::workspace_root();
    let shared = args
        .shared
        .clone()
        .unwrap_or_else(|| root.join("..").join("shared"));
    let env_sh = shared.join("tools").join("cuda-env.sh");
    if !env_sh.is_file() {
        bail!(
            "{} not found: pass --shared DIR (the folder with tools/cuda-env.sh)",
            env_sh.display()
        );
    }
    let features = if args.cudnn { "cuda,cudnn" } else { "cuda" };
    let flag = if args.cudnn { " --cudnn" } else { "" };
    // One shell: the toolchain's environment, the build, the symbol check, the gzipped copy.
    let script = format!(
        r#"set -euo pipefail
eval "$(bash '{env}'{flag})"
CARGO_TARGET_DIR=target/cuda cargo build --release -p tnet --features {features}
bin=target/cuda/release/tnet
# Every CUDA symbol resolved at start against the GPU machine's library versions; the stub
# driver then refuses to open a device, which is the expected end here.
out=$(LD_BIND_NOW=1 LD_LIBRARY_PATH="$TNET_CUDA_RUN_LD_LIBRARY_PATH" "$bin" check-device --device cuda 2>&1 || true)
echo "$out" | tail -1
case "$out" in
  *"cannot open CUDA device"*) echo "symbol check passed (LD_BIND_NOW)";;
  *) echo "symbol check FAILED"; exit 1;;
esac
strip -o target/cuda/tnet-stripped "$bin"
gzip -9 -c target/cuda/tnet-stripped > target/cuda/tnet.gz
ls -l "$bin" target/cuda/tnet.gz
"#,
        env = env_sh.display()
    );
    bash(&script, &root)?;
    println!(
        "gzipped binary: {}",
        root.join("target/cuda/tnet.gz").display()
    );
    if args.pack {
        let script = format!(
            r#"set -euo pipefail
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/yardstick
cp target/cuda/tnet.gz .gpu/
cp '{tools}/cuda-run.sh' xtask/cuda/device-run.sh .gpu/
cp '{yard}'/run_torch.sh '{yard}'/tnet_torch.py .gpu/yardstick/
du -sh .gpu
"#,
            tools = shared.join("tools").display(),
            yard = shared.join("yardstick").display()
        );
        bash(&script, &root)?;
        println!(
            "packed .gpu/: run the device tool with carry [\".gpu\"] and the command `bash .gpu/device-run.sh`"
        );
    }
    Ok(())
}
