//! `cargo xtask cuda-build [--cudnn] [--pack]`: the CUDA build of `tnet` in `target/cuda`
//! against the system's CUDA toolkit or one made from PyPI wheels ([`crate::cuda_toolkit`]),
//! then the `LD_BIND_NOW` symbol check and a gzipped copy. `--pack` also fills `.gpu/` (an
//! ignored folder) with what a run on a GPU machine carries: the gzipped binary,
//! `xtask/cuda/with-torch-libs.sh`, `xtask/cuda/device-run.sh` and the PyTorch reference.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct CudaBuildArgs {
    /// Also build candle's cuDNN convolutions (`--features cudnn`).
    #[arg(long)]
    cudnn: bool,
    /// Only install (once) the toolkit and print its build environment as `export` lines.
    #[arg(long)]
    env: bool,
    /// Fill .gpu/ for the device tool (carry: [".gpu"]).
    #[arg(long)]
    pack: bool,
}

fn bash(script: &str, dir: &Path, env: &[(String, String)]) -> Result<()> {
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status()
        .context("running bash")?;
    if !status.success() {
        bail!("failed: {script}");
    }
    Ok(())
}

pub fn run(args: &CudaBuildArgs) -> Result<()> {
    let root = crate::tensorly::workspace_root();
    let kit = crate::cuda_toolkit::toolkit(args.cudnn)?;
    if args.env {
        for (k, v) in &kit.env {
            println!("export {k}='{v}'");
        }
        println!(
            "export TNET_CUDA_RUN_LD_LIBRARY_PATH='{}'",
            kit.run_library_path
        );
        return Ok(());
    }
    let features = if args.cudnn { "cuda,cudnn" } else { "cuda" };
    // One shell: the build, the symbol check, the gzipped copy.
    let script = format!(
        r#"set -euo pipefail
CARGO_TARGET_DIR=target/cuda cargo build --release -p tnet --features {features}
bin=target/cuda/release/tnet
# Every CUDA symbol resolved at start (LD_BIND_NOW) against the toolkit's libraries; with the
# stub driver the binary then cannot open a device, which is the expected end here.
out=$(LD_BIND_NOW=1 LD_LIBRARY_PATH='{run_lib}' "$bin" check-device --device cuda 2>&1 || true)
echo "$out" | tail -1
case "$out" in
  *"cannot open CUDA device"*) echo "symbol check passed (LD_BIND_NOW)";;
  *) echo "symbol check FAILED"; exit 1;;
esac
strip -o target/cuda/tnet-stripped "$bin"
gzip -9 -c target/cuda/tnet-stripped > target/cuda/tnet.gz
ls -l "$bin" target/cuda/tnet.gz
"#,
        run_lib = kit.run_library_path
    );
    bash(&script, &root, &kit.env)?;
    println!(
        "gzipped binary: {}",
        root.join("target/cuda/tnet.gz").display()
    );
    if args.pack {
        let script = r#"set -euo pipefail
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/yardstick
cp target/cuda/tnet.gz xtask/cuda/with-torch-libs.sh xtask/cuda/device-run.sh .gpu/
cp xtask/yardstick/run_torch.sh xtask/yardstick/tnet_torch.py .gpu/yardstick/
du -sh .gpu
"#;
        bash(script, &root, &[])?;
        println!(
            "packed .gpu/: run the device tool with carry [\".gpu\"] and the command `bash .gpu/device-run.sh`"
        );
    }
    Ok(())
}
