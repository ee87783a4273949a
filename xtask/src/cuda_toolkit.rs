//! The CUDA toolkit a `--features cuda` build compiles against: the system's when there is one
//! (`CUDA_HOME`, or `nvcc` on the `PATH`), else CUDA 13.0 assembled from NVIDIA's PyPI wheels
//! into a cache folder, as a user without root would: `pip install --target` of the compiler,
//! headers and libraries, a toolkit-shaped root of links, and a link-time stub of the driver
//! library (`libcuda.so.1`, every entry point returning `CUDA_ERROR_STUB_LIBRARY`) generated
//! from `cuda.h`, so the build needs no GPU and no driver.
//!
//! CUDA 13.0 exactly: its nvcc writes PTX ISA 9.0, which a CUDA 13.0 (R580) driver can JIT;
//! the library versions are those PyTorch 2.11's CUDA wheels carry, so a binary built here
//! runs against a PyTorch installation's libraries.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// CUDA 13.0 update 2, as PyPI's `cuda-toolkit==13.0.2` pins its parts.
const RELEASE: &str = "13.0.2";
const WHEELS: [&str; 8] = [
    "nvidia-cuda-nvcc==13.0.88",
    "nvidia-nvvm==13.0.88",
    "nvidia-cuda-crt==13.0.88",
    "nvidia-cuda-cccl==13.0.85",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-nvrtc==13.0.88",
    "nvidia-curand==10.4.0.35",
    "nvidia-cublas==13.1.0.3",
];
const CUDNN_WHEEL: &str = "nvidia-cudnn-cu13==9.19.0.56";
/// The libraries the build links, by their versioned names in the wheels.
const LIBS: [&str; 5] = [
    "libcudart.so.13",
    "libnvrtc.so.13",
    "libcurand.so.10",
    "libcublas.so.13",
    "libcublasLt.so.13",
];

/// A toolkit root and the environment a build needs.
pub struct Toolkit {
    /// `KEY=VALUE` pairs for the build's environment.
    pub env: Vec<(String, String)>,
    /// What to put on `LD_LIBRARY_PATH` to start a CUDA binary here (the stub driver when
    /// the toolkit came from wheels: the binary then falls back to the CPU).
    pub run_library_path: String,
}

/// The system toolkit if there is one, else the wheel-made one (installed once).
pub fn toolkit(cudnn: bool) -> Result<Toolkit> {
    if let Some(root) = system_root() {
        println!("CUDA toolkit: {} (system)", root.display());
        let lib = root.join("lib64");
        return Ok(Toolkit {
            env: vec![("CUDA_HOME".into(), root.display().to_string())],
            run_library_path: format!("{}:{}", lib.display(), lib.join("stubs").display()),
        });
    }
    let cache = cache_dir()?;
    let wheels = cache.join(format!("cu130-{RELEASE}"));
    pip_target(&wheels, &WHEELS)?;
    let cudnn_dir = cache.join("cudnn");
    if cudnn {
        pip_target(&cudnn_dir, &[CUDNN_WHEEL])?;
    }
    let root = cache.join(format!("cuda-{RELEASE}"));
    assemble_root(
        &root,
        &wheels.join("nvidia/cu13"),
        cudnn.then_some(&cudnn_dir),
    )?;
    println!("CUDA toolkit: {} (from PyPI wheels)", root.display());
    let lib = root.join("lib");
    let stubs = lib.join("stubs");
    let path = format!(
        "{}:{}",
        root.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let s = |p: &Path| p.display().to_string();
    Ok(Toolkit {
        env: vec![
            ("PATH".into(), path),
            ("NVCC".into(), s(&root.join("bin/nvcc"))),
            ("CUDA_HOME".into(), s(&root)),
            ("CUDA_ROOT".into(), s(&root)),
            ("CUDA_PATH".into(), s(&root)),
            ("CUDARC_CUDA_VERSION".into(), "13000".into()),
            (
                "CUDA_COMPUTE_CAP".into(),
                std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into()),
            ),
            ("LIBRARY_PATH".into(), format!("{}:{}", s(&lib), s(&stubs))),
            // candle-kernels' nvcc step uses half the cores unless told.
            ("CUDAFORGE_THREADS".into(), threads.to_string()),
        ],
        run_library_path: format!("{}:{}", s(&stubs), s(&lib)),
    })
}

fn system_root() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CUDA_HOME").map(PathBuf::from) {
        return home.join("bin/nvcc").is_file().then_some(home);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nvcc"))
        .find(|n| n.is_file())
        .and_then(|n| n.parent()?.parent().map(Path::to_path_buf))
}

fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TNET_CUDA_CACHE") {
        return Ok(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither TNET_CUDA_CACHE, XDG_CACHE_HOME nor HOME is set")?;
    Ok(base.join("tnet-cuda"))
}

/// `pip install --target dir wheels..`, once: a `.complete` file naming the wheels marks a
/// finished install; a partial one is redone.
fn pip_target(dir: &Path, wheels: &[&str]) -> Result<()> {
    let want = wheels.join(" ");
    let stamp = dir.join(".complete");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(());
    }
    println!("installing {want} into {}", dir.display());
    let tmp = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    let status = Command::new(std::env::var("TNET_CUDA_PYTHON").unwrap_or("python3".into()))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-cache-dir", "--no-deps", "--no-compile", "--target"])
        .arg(&tmp)
        .args(wheels)
        .status()
        .context("running python3 -m pip (python3 with pip is needed for the CUDA wheels)")?;
    if !status.success() {
        bail!("pip could not install {want}");
    }
    std::fs::write(tmp.join(".complete"), &want)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir).with_context(|| format!("moving {} into place", tmp.display()))
}

/// A toolkit-shaped folder over the wheels: `bin`, `include`, `nvvm` linked, `lib` with the
/// unversioned names the linker wants, and `lib/stubs/libcuda.so`.
fn assemble_root(root: &Path, cu: &Path, cudnn: Option<&PathBuf>) -> Result<()> {
    let want = format!("{RELEASE} cudnn={}", cudnn.is_some());
    let stamp = root.join(".complete");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(());
    }
    if !cu.join("bin/nvcc").is_file() {
        bail!("{}: no bin/nvcc in the installed wheels", cu.display());
    }
    let _ = std::fs::remove_dir_all(root);
    let lib = root.join("lib");
    std::fs::create_dir_all(lib.join("stubs"))?;
    let link = |from: &Path, to: &Path| {
        std::os::unix::fs::symlink(from, to)
            .with_context(|| format!("linking {} -> {}", to.display(), from.display()))
    };
    for d in ["bin", "include", "nvvm"] {
        link(&cu.join(d), &root.join(d))?;
    }
    link(Path::new("lib"), &root.join("lib64"))?;
    for l in LIBS {
        link(&cu.join("lib").join(l), &lib.join(l))?;
        link(Path::new(l), &lib.join(unversioned(l)))?;
    }
    link(
        &cu.join("lib/libnvrtc-builtins.so.13.0"),
        &lib.join("libnvrtc-builtins.so.13.0"),
    )?;
    if let Some(dnn) = cudnn {
        for e in std::fs::read_dir(dnn.join("nvidia/cudnn/lib"))? {
            let p = e?.path();
            if let Some(name) = p
                .file_name()
                .filter(|n| n.to_string_lossy().ends_with(".so.9"))
            {
                link(&p, &lib.join(name))?;
            }
        }
        link(Path::new("libcudnn.so.9"), &lib.join("libcudnn.so"))?;
    }
    driver_stub(&cu.join("include/cuda.h"), &lib.join("stubs"))?;
    std::fs::write(stamp, want)?;
    Ok(())
}

fn unversioned(lib: &str) -> &str {
    lib.find(".so.").map_or(lib, |i| &lib[..i + 3])
}

/// Compiles `libcuda.so` (SONAME `libcuda.so.1`) with one function per `CUresult cu*(`
/// declaration of `cuda.h` (current and internal names), each returning 34.
fn driver_stub(cuda_h: &Path, dir: &Path) -> Result<()> {
    let mut names = std::collections::BTreeSet::new();
    for define in [None, Some("-D__CUDA_API_VERSION_INTERNAL")] {
        let mut cmd = Command::new("gcc");
        cmd.args(["-E", "-P", "-x", "c"]).args(define);
        if let Some(inc) = cuda_h.parent() {
            cmd.arg("-I").arg(inc);
        }
        let out = cmd
            .arg(cuda_h)
            .output()
            .context("running gcc (needed to build the driver stub)")?;
        if !out.status.success() {
            bail!("gcc -E {} failed", cuda_h.display());
        }
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        for piece in text.split("CUresult").skip(1) {
            let name: String = piece
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let rest = piece.trim_start()[name.len()..].trim_start();
            if name.starts_with("cu") && rest.starts_with('(') {
                names.insert(name);
            }
        }
    }
    if names.len() < 400 {
        bail!(
            "{}: only {} driver functions found",
            cuda_h.display(),
            names.len()
        );
    }
    let c: String = names
        .iter()
        .map(|n| format!("int {n}(void) {{ return 34; }}\n"))
        .collect();
    let src = dir.join("cuda_stub.c");
    std::fs::write(&src, c)?;
    let so = dir.join("libcuda.so");
    let status = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O0", "-Wl,-soname,libcuda.so.1", "-o"])
        .arg(&so)
        .arg(&src)
        .status()
        .context("running gcc")?;
    if !status.success() {
        bail!("gcc could not build {}", so.display());
    }
    std::os::unix::fs::symlink("libcuda.so", dir.join("libcuda.so.1"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unversioned;

    #[test]
    fn link_names_drop_the_version() {
        assert_eq!(unversioned("libcublasLt.so.13"), "libcublasLt.so");
        assert_eq!(unversioned("libcurand.so.10"), "libcurand.so");
        assert_eq!(unversioned("libfoo.so"), "libfoo.so");
    }
}
