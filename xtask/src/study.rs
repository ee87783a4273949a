//! `cargo xtask study [ARGS..]`: builds the `tnet` binary (release) and runs `tnet study` (the
//! paper's experiments on the synthetic data by default); every argument is passed on
//! (`--quick`, `--seeds 3`, `--out docs/results/NAME`, `--data mpii --data-dir ..`, ...).

use anyhow::Result;

pub fn run(args: &[String]) -> Result<()> {
    let mut line = vec!["cargo xtask study".to_string()];
    line.extend(args.iter().cloned());
    crate::train::run_tnet("study", args, &[("TNET_COMMAND", line.join(" "))])
}
