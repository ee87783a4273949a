//! `tnet check-device` on the CPU: the project's kernels pass against the f64 truth, the JSON
//! line has what the device run reads, and bf16 on the CPU is a one-line error.

mod common;

use common::tnet;

#[test]
fn check_device_on_the_cpu() {
    let o = tnet(&[
        "check-device",
        "--features",
        "8",
        "--param",
        "tucker",
        "--compression",
        "3",
        "--json",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["precision"], "f32");
    let grads = v["tested"]["grads"].as_array().unwrap();
    // Every trainable tensor, the Tucker core and 8 factors among them.
    assert!(grads.iter().any(|g| g["name"] == "grad.tensor.core"));
    assert!(grads.iter().any(|g| g["name"] == "grad.tensor.factors.7"));
    let loss_truth = v["loss_truth"].as_f64().unwrap();
    let loss = v["loss_tested"].as_f64().unwrap();
    assert!((loss - loss_truth).abs() < 1e-5 * loss_truth);

    let o = tnet(&["check-device", "--precision", "bf16"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("bf16") && err.contains("cuda"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
