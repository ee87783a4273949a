//! `cargo xtask train [ARGS..]`: builds the `tnet` binary (release) and runs `tnet train` with
//! the embedded default (synthetic pose data, small preset, Tucker ~10x, CPU); every argument
//! is passed on (`cargo xtask train --task faceseg`, `--epochs 3`, `--set key=value`, ...).

use std::process::Command;

use anyhow::{Context, Result};

pub fn run(args: &[String]) -> Result<()> {
    run_tnet("train", args, &[])
}

/// Builds `tnet` (release) and runs `tnet <command> <args..>` in the workspace root with the
/// extra environment `env`, exiting with its status.
pub fn run_tnet(command: &str, args: &[String], env: &[(&str, String)]) -> Result<()> {
    let root = crate::tensorly::workspace_root();
    let exe = crate::tnet_bin::build_release()?;
    let status = Command::new(&exe)
        .current_dir(&root)
        .arg(command)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .with_context(|| format!("running {}", exe.display()))?;
    std::process::exit(status.code().unwrap_or(1));
}
