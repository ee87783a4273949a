//! Builds the `tnet` binary (release) and asks cargo where it went, so that a
//! `CARGO_TARGET_DIR` or a `build.target-dir` setting is honoured.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// `cargo build --release -p tnet` in the workspace root; the built executable's path, as
/// cargo reports it (`--message-format=json`).
pub fn build_release() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(&cargo)
        .current_dir(crate::tensorly::workspace_root())
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "tnet",
            "--message-format=json-render-diagnostics",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo build")?;
    let stdout = child.stdout.take().context("cargo build's output")?;
    let mut exe = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.context("reading cargo build's output")?;
        exe = exe.or_else(|| tnet_executable(&line));
    }
    if !child.wait().context("waiting for cargo build")?.success() {
        bail!("building tnet failed");
    }
    exe.context("cargo build did not report the tnet executable")
}

/// The `tnet` executable named by one line of cargo's JSON messages, if it names one.
fn tnet_executable(line: &str) -> Option<PathBuf> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    (v["reason"] == "compiler-artifact" && v["target"]["name"] == "tnet")
        .then(|| v["executable"].as_str().map(PathBuf::from))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::tnet_executable;

    #[test]
    fn the_executable_is_read_from_cargos_artifact_message() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"tnet","kind":["bin"]},"executable":"/elsewhere/release/tnet","fresh":true}"#;
        assert_eq!(
            tnet_executable(line),
            Some("/elsewhere/release/tnet".into())
        );
        let lib =
            r#"{"reason":"compiler-artifact","target":{"name":"tnet-train"},"executable":null}"#;
        assert_eq!(tnet_executable(lib), None);
        assert_eq!(
            tnet_executable(r#"{"reason":"build-finished","success":true}"#),
            None
        );
        assert_eq!(tnet_executable("not json"), None);
    }
}
