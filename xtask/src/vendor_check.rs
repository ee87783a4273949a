//! `cargo xtask vendor-check`: `vendor/candle-core` must be the published candle-core plus
//! `vendor/candle-core-backprop.patch`, nothing else. Fetches the crate with cargo (into the
//! registry cache), unpacks it, applies the patch to a copy and compares every file of `src/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const CRATE: &str = "candle-core";
const VERSION: &str = "0.11.1";

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed");
    }
    Ok(())
}

/// The published `.crate` file, fetched by cargo into its registry cache.
fn fetch_crate(scratch: &Path) -> Result<PathBuf> {
    let project = scratch.join("fetch");
    std::fs::create_dir_all(project.join("src"))?;
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n{CRATE} = \"={VERSION}\"\n\n[workspace]\n"
        ),
    )?;
    std::fs::write(project.join("src/lib.rs"), "")?;
    run(
        Command::new("cargo").arg("fetch").current_dir(&project),
        "cargo fetch",
    )?;
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let name = format!("{CRATE}-{VERSION}.crate");
    for entry in std::fs::read_dir(home.join("registry/cache"))? {
        let candidate = entry?.path().join(&name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "{name} not found in {}",
        home.join("registry/cache").display()
    )
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn run_check() -> Result<()> {
    let root = crate::tensorly::workspace_root();
    let vendored = root.join("vendor").join(CRATE);
    let patch = root.join("vendor/candle-core-backprop.patch");
    let scratch = std::env::temp_dir().join(format!("tnet-vendor-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let result = (|| -> Result<Vec<String>> {
        let krate = fetch_crate(&scratch)?;
        run(
            Command::new("tar")
                .arg("xzf")
                .arg(&krate)
                .arg("-C")
                .arg(&scratch),
            "tar",
        )?;
        let published = scratch.join(format!("{CRATE}-{VERSION}"));
        run(
            Command::new("patch")
                .args(["--quiet", "-p1", "-d"])
                .arg(&published)
                .arg("-i")
                .arg(&patch),
            "patch",
        )?;
        let (ours, theirs) = (
            files(&vendored.join("src"))?,
            files(&published.join("src"))?,
        );
        let mut diffs = vec![];
        for f in theirs.iter().filter(|f| !ours.contains(f)) {
            diffs.push(format!("missing from vendor: src/{}", f.display()));
        }
        for f in &ours {
            let a = std::fs::read(vendored.join("src").join(f))?;
            match std::fs::read(published.join("src").join(f)) {
                Ok(b) if a == b => {}
                Ok(_) => diffs.push(format!("differs: src/{}", f.display())),
                Err(_) => diffs.push(format!("not in the published crate: src/{}", f.display())),
            }
        }
        Ok(diffs)
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    let diffs = result?;
    if !diffs.is_empty() {
        bail!(
            "vendor/{CRATE} is not {CRATE} {VERSION} plus {}:\n{}",
            patch.display(),
            diffs.join("\n")
        );
    }
    println!(
        "vendor/{CRATE}/src is {CRATE} {VERSION} plus candle-core-backprop.patch, file for file"
    );
    Ok(())
}
