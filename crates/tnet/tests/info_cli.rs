//! `tnet info`: the parameter table of presets and parametrizations.

mod common;
use common::tnet;

#[test]
fn json_keys_and_hand_checked_values() {
    let out = tnet(&["info", "--preset", "mpii", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["tensor_shape"],
        serde_json::json!([2, 4, 3, 2, 128, 128, 3, 3])
    );
    assert_eq!(v["tensor_params"], 7_077_888);
    assert_eq!(v["param_count"], 7_077_888);
    assert_eq!(v["compression_ratio"], 1.0);
    assert_eq!(
        v["total_params"].as_u64().unwrap(),
        7_077_888 + v["other_params"].as_u64().unwrap()
    );
    assert!(v["forward_gflops"].as_f64().unwrap() > 1.0);
    let out = tnet(&["info", "--param", "cp", "--rank", "10", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["param_count"],
        10 + 10 * (1 + 4 + 3 + 2 + 32 + 32 + 3 + 3)
    );
    let out = tnet(&["info", "--param", "tucker", "--compression", "10", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["compression_ratio"].as_f64().unwrap() >= 10.0);
}

#[test]
fn bad_configurations_are_refused_clearly() {
    let e = tnet(&["info", "--param", "tucker", "--ranks", "1,2,3,2,5,6,3,99"]);
    let msg = String::from_utf8_lossy(&e.stderr);
    assert!(
        !e.status.success() && msg.contains("mode 7 (w)") && msg.contains("1..=3"),
        "{msg}"
    );
    let e = tnet(&["info", "--features", "33"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("features must be even"));
    // Sizes beyond the ceilings are refused, not printed as wrapped counts.
    let e = tnet(&["info", "--features", "10000000000"]);
    let msg = String::from_utf8_lossy(&e.stderr);
    assert!(
        !e.status.success() && msg.contains("above the largest"),
        "{msg}"
    );
    let e = tnet(&["info", "--param", "cp"]);
    let msg = String::from_utf8_lossy(&e.stderr);
    assert!(
        !e.status.success() && msg.contains("cp takes exactly one of rank or compression"),
        "{msg}"
    );
    let e = tnet(&["info", "--param", "layer_tucker"]);
    let msg = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success() && msg.contains("layer-tucker"), "{msg}");
}
