//! `tnet decompose` end to end: the JSON line, the safetensors file and the errors users meet.

mod common;
use common::{temp_dir, tnet};

use std::path::Path;
use std::process::Output;

use ndarray::ArrayD;
use tnet_cp::random_cp;
use tnet_tensor::npy::{header_bytes, write_npy};
use tnet_tensor::random::SeededRng;
use tnet_tt::random_tt;
use tnet_tucker::random_tucker;

fn save<T: tnet_tensor::Scalar>(path: &Path, x: &ArrayD<T>) {
    write_npy(std::fs::File::create(path).unwrap(), &x.view()).unwrap();
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one line: {text}");
    serde_json::from_str(&text).unwrap()
}

fn stderr(out: &Output) -> String {
    assert!(!out.status.success(), "should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tucker_json_and_safetensors() {
    let (_dir_guard, dir) = temp_dir("tucker");
    let mut rng = SeededRng::new(1);
    let x = random_tucker::<f64>(&[10, 9, 8], &[3, 4, 2], &mut rng)
        .unwrap()
        .to_tensor();
    let input = dir.join("x.npy");
    save(&input, &x);
    let output = dir.join("f.safetensors");
    let v = json(&tnet(&[
        "decompose",
        "tucker",
        input.to_str().unwrap(),
        "--rank",
        "3,4,2",
        "--output",
        output.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["method"], "tucker");
    assert_eq!(v["shape"], serde_json::json!([10, 9, 8]));
    assert_eq!(v["rank"], serde_json::json!([3, 4, 2]));
    assert!(v["rel_error"].as_f64().unwrap() < 1e-9);
    let n_params = 3 * 4 * 2 + 10 * 3 + 9 * 4 + 8 * 2;
    assert_eq!(v["n_params"], n_params);
    assert!((v["compression_ratio"].as_f64().unwrap() - 720.0 / n_params as f64).abs() < 1e-12);
    assert!(v["iterations"].as_u64().unwrap() >= 1);
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    let bytes = std::fs::read(&output).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(names, ["core", "factor.0", "factor.1", "factor.2"]);
    assert_eq!(st.tensor("factor.1").unwrap().shape(), &[9, 4]);
    assert_eq!(st.tensor("core").unwrap().dtype(), safetensors::Dtype::F64);
    assert!(!dir.join("f.safetensors.tmp").exists());
}

#[test]
fn cp_and_tt_in_f32() {
    let (_dir_guard, dir) = temp_dir("cptt");
    let mut rng = SeededRng::new(2);
    let x = random_cp::<f32>(&[8, 7, 6], 2, &mut rng)
        .unwrap()
        .to_tensor();
    let input = dir.join("x.npy");
    save(&input, &x);
    let output = dir.join("cp.safetensors");
    let v = json(&tnet(&[
        "decompose",
        "cp",
        input.to_str().unwrap(),
        "--rank",
        "2",
        "--n-iter",
        "300",
        "--tol",
        "0",
        "--json",
        "--output",
        output.to_str().unwrap(),
    ]));
    assert_eq!(v["rank"], serde_json::json!([2]));
    assert_eq!(v["iterations"], 300);
    assert!(v["rel_error"].as_f64().unwrap() < 1e-3);
    let bytes = std::fs::read(&output).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("weights").unwrap().shape(), &[2]);
    assert_eq!(
        st.tensor("factor.2").unwrap().dtype(),
        safetensors::Dtype::F32
    );

    let y = random_tt::<f32>(&[5, 6, 7], &[1, 2, 3, 1], &mut rng)
        .unwrap()
        .to_tensor();
    let input = dir.join("y.npy");
    save(&input, &y);
    let output = dir.join("tt.safetensors");
    let v = json(&tnet(&[
        "decompose",
        "tt",
        input.to_str().unwrap(),
        "--eps",
        "1e-4",
        "--json",
        "--output",
        output.to_str().unwrap(),
    ]));
    assert_eq!(v["rank"], serde_json::json!([1, 2, 3, 1]));
    let bytes = std::fs::read(&output).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("core.1").unwrap().shape(), &[2, 6, 3]);
    let v = json(&tnet(&[
        "decompose",
        "tt",
        input.to_str().unwrap(),
        "--rank",
        "1,2,2,1",
        "--json",
    ]));
    assert_eq!(v["rank"], serde_json::json!([1, 2, 2, 1]));
}

/// CP and TT take a compression ratio as Tucker does: the largest ranks within
/// `prod(I) / ratio` parameters, here worked out by hand for a 10 x 12 x 14 tensor (1680).
#[test]
fn cp_and_tt_reach_a_compression() {
    let (_dir_guard, dir) = temp_dir("compression");
    let mut rng = SeededRng::new(4);
    let x = random_tucker::<f64>(&[10, 12, 14], &[3, 3, 3], &mut rng)
        .unwrap()
        .to_tensor();
    let input = dir.join("x.npy");
    save(&input, &x);
    let run = |method: &str| {
        json(&tnet(&[
            "decompose",
            method,
            input.to_str().unwrap(),
            "--compression",
            "10",
            "--json",
        ]))
    };
    // CP: one rank costs 1 + 36 parameters; 168 / 37 -> rank 4.
    let v = run("cp");
    assert_eq!(v["rank"], serde_json::json!([4]));
    assert!(v["compression_ratio"].as_f64().unwrap() >= 10.0);
    // TT: (1,r1,r2,1) costs 10 r1 + 12 r1 r2 + 14 r2 <= 168. Uniform 3 costs 180, uniform 2
    // 96; then single bonds, the smallest first: r1 = 3 (130), r2 = 3 (180, no), r1 = 4
    // (164), then neither r2 = 3 (226) nor r1 = 5 (198) fits.
    let v = run("tt");
    let ranks: Vec<usize> = serde_json::from_value(v["rank"].clone()).unwrap();
    let params = 10 * ranks[1] + 12 * ranks[1] * ranks[2] + 14 * ranks[2];
    assert!(params <= 168, "{ranks:?}");
    assert_eq!(ranks, vec![1, 4, 2, 1]);
    assert!(v["compression_ratio"].as_f64().unwrap() >= 10.0);
    let e = stderr(&tnet(&[
        "decompose",
        "cp",
        input.to_str().unwrap(),
        "--compression",
        "100",
    ]));
    assert!(
        e.contains("out of reach") && e.contains("CP rank 1 gives"),
        "{e}"
    );
}

#[test]
fn fortran_ordered_input_gives_the_same_result() {
    let (_dir_guard, dir) = temp_dir("fortran");
    let mut rng = SeededRng::new(3);
    let x = random_tucker::<f64>(&[6, 5, 4], &[2, 2, 2], &mut rng)
        .unwrap()
        .to_tensor();
    let c_path = dir.join("c.npy");
    save(&c_path, &x);
    // The same array stored Fortran-ordered, as numpy.asfortranarray would write it.
    let mut bytes = header_bytes("<f8", true, &[6, 5, 4]);
    for v in x.t().as_standard_layout().iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let f_path = dir.join("f.npy");
    std::fs::write(&f_path, bytes).unwrap();
    let a = json(&tnet(&[
        "decompose",
        "tucker",
        c_path.to_str().unwrap(),
        "--rank",
        "2",
        "--json",
    ]));
    let b = json(&tnet(&[
        "decompose",
        "tucker",
        f_path.to_str().unwrap(),
        "--rank",
        "2",
        "--json",
    ]));
    assert_eq!(a["rel_error"], b["rel_error"]);
    assert!(b["rel_error"].as_f64().unwrap() < 1e-9);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let (_dir_guard, dir) = temp_dir("errors");
    let mut rng = SeededRng::new(4);
    let x = random_tucker::<f64>(&[6, 5, 4], &[2, 2, 2], &mut rng)
        .unwrap()
        .to_tensor();
    let input = dir.join("x.npy");
    save(&input, &x);
    let p = input.to_str().unwrap();
    let e = stderr(&tnet(&["decompose", "tucker", p, "--rank", "0"]));
    assert!(
        e.contains("rank 0 for mode 0") && e.contains("1..=6"),
        "{e}"
    );
    let e = stderr(&tnet(&["decompose", "tucker", p, "--rank", "2,9,2"]));
    assert!(
        e.contains("mode 1 has size 5") && e.contains("1..=5"),
        "{e}"
    );
    let e = stderr(&tnet(&["decompose", "tucker", p, "--rank", "2,2"]));
    assert!(e.contains("expects 3 ranks, got 2"), "{e}");
    let e = stderr(&tnet(&["decompose", "cp", p, "--rank", "2,2"]));
    assert!(e.contains("one integer"), "{e}");
    let e = stderr(&tnet(&["decompose", "tt", p, "--rank", "1,2,1"]));
    assert!(e.contains("expects 4 ranks, got 3"), "{e}");
    // A CP rank whose Gram matrices alone need petabytes: refused with the numbers, before
    // anything is allocated.
    let e = stderr(&tnet(&["decompose", "cp", p, "--rank", "100000000"]));
    assert!(
        e.contains("needs about") && e.contains("more than this machine"),
        "{e}"
    );
    let e = stderr(&tnet(&["decompose", "tt", p, "--eps", "2"]));
    assert!(
        e.contains("--eps is a relative error in [0, 1), got 2"),
        "{e}"
    );
    let e = stderr(&tnet(&["decompose", "tucker", p, "--rank", "x"]));
    assert!(e.contains("not a non-negative integer"), "{e}");

    let mut nan = x.clone();
    nan[[1, 2, 3]] = f64::NAN;
    let nan_path = dir.join("nan.npy");
    save(&nan_path, &nan);
    let e = stderr(&tnet(&[
        "decompose",
        "tucker",
        nan_path.to_str().unwrap(),
        "--rank",
        "2",
    ]));
    assert!(
        e.contains("non-finite") && e.contains("[1, 2, 3]") && e.contains("nan.npy"),
        "{e}"
    );

    let empty_path = dir.join("empty.npy");
    save(&empty_path, &ArrayD::<f64>::zeros(ndarray::IxDyn(&[3, 0])));
    let e = stderr(&tnet(&[
        "decompose",
        "cp",
        empty_path.to_str().unwrap(),
        "--rank",
        "2",
    ]));
    assert!(e.contains("empty"), "{e}");
    let scalar_path = dir.join("scalar.npy");
    save(&scalar_path, &ArrayD::<f64>::zeros(ndarray::IxDyn(&[])));
    let e = stderr(&tnet(&[
        "decompose",
        "tt",
        scalar_path.to_str().unwrap(),
        "--rank",
        "2",
    ]));
    assert!(e.contains("0-dimensional"), "{e}");

    let corrupt = dir.join("corrupt.npy");
    std::fs::write(&corrupt, b"\x93NUMPY garbage").unwrap();
    let e = stderr(&tnet(&[
        "decompose",
        "tucker",
        corrupt.to_str().unwrap(),
        "--rank",
        "2",
    ]));
    assert!(
        e.contains("corrupt.npy") && e.contains("not a .npy file"),
        "{e}"
    );
    let truncated = dir.join("truncated.npy");
    let full = std::fs::read(&input).unwrap();
    std::fs::write(&truncated, &full[..full.len() - 8]).unwrap();
    let e = stderr(&tnet(&[
        "decompose",
        "tucker",
        truncated.to_str().unwrap(),
        "--rank",
        "2",
    ]));
    assert!(e.contains("truncated"), "{e}");
    let ints = dir.join("ints.npy");
    let mut bytes = header_bytes("<i8", false, &[2]);
    bytes.extend_from_slice(&[0u8; 16]);
    std::fs::write(&ints, bytes).unwrap();
    let e = stderr(&tnet(&[
        "decompose",
        "tucker",
        ints.to_str().unwrap(),
        "--rank",
        "1",
    ]));
    assert!(e.contains("unsupported dtype \"<i8\""), "{e}");
    let e = stderr(&tnet(&[
        "decompose",
        "tucker",
        dir.join("missing.npy").to_str().unwrap(),
        "--rank",
        "1",
    ]));
    assert!(
        e.contains("cannot open") && e.contains("missing.npy"),
        "{e}"
    );

    let e = stderr(&tnet(&[
        "decompose",
        "tucker",
        p,
        "--rank",
        "2",
        "--output",
        "/nonexistent-dir/out.safetensors",
    ]));
    assert!(
        e.contains("/nonexistent-dir") && e.contains("does not exist"),
        "{e}"
    );
    let e = stderr(&tnet(&[
        "decompose",
        "tucker",
        p,
        "--rank",
        "2",
        "--output",
        dir.to_str().unwrap(),
    ]));
    assert!(e.contains("is a folder"), "{e}");
}
