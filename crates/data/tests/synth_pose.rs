//! The synthetic pose set: written in the HRNet layout that the real readers parse, seeded and
//! deterministic, and not trivially solvable (mean pose PCKh@0.5 under 20 %).

use std::path::PathBuf;

use tnet_data::mat::read_mat_file;
use tnet_data::mpii::{MpiiLayout, read_hrnet_json};
use tnet_data::synth_pose::write_synth_pose;

/// A path for a new folder (not made yet) inside a temporary one removed when the guard drops.
fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    let d = t.path().join(name);
    (t, d)
}

#[test]
fn written_set_parses_and_is_deterministic() {
    let (_a_guard, a) = temp_dir("a");
    let (_b_guard, b) = temp_dir("b");
    let s = write_synth_pose(&a, 12, 8, 7, 96, &|_| {}).unwrap();
    assert_eq!((s.train, s.val), (12, 8));
    // Another run on a one-thread pool gives the same files.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| write_synth_pose(&b, 12, 8, 7, 96, &|_| {}))
        .unwrap();
    for f in [
        "annot/train.json",
        "annot/valid.json",
        "annot/gt_valid.mat",
        "images/valid_000003.jpg",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let MpiiLayout::Hrnet {
        train,
        valid,
        gt_valid,
        images,
    } = MpiiLayout::detect(&a).unwrap()
    else {
        panic!("HRNet layout expected")
    };
    let train = read_hrnet_json(&train).unwrap();
    let valid = read_hrnet_json(&valid).unwrap();
    assert_eq!((train.len(), valid.len()), (12, 8));
    for p in train.iter().chain(&valid) {
        let img = image::open(images.join(&p.image)).unwrap();
        assert_eq!((img.width(), img.height()), (96, 96));
        let (j, v) = (p.joints_zero_based().unwrap(), p.visible.unwrap());
        for k in 0..16 {
            let inside = j[k][0] >= 0.0 && j[k][1] >= 0.0 && j[k][0] <= 95.0 && j[k][1] <= 95.0;
            assert_eq!(v[k], inside, "{} joint {k}", p.image);
        }
        assert!(p.scale > 0.0);
    }
    let gt = read_mat_file(&gt_valid).unwrap();
    assert_eq!(gt.get("pos_gt_src").unwrap().dims, vec![16, 2, 8]);
    assert_eq!(
        gt.get("pos_gt_src").unwrap().to_array().unwrap()[[9, 1, 2]],
        valid[2].joints.unwrap()[9][1]
    );
    // A different seed gives different people.
    let (_c_guard, c) = temp_dir("c");
    write_synth_pose(&c, 12, 8, 8, 96, &|_| {}).unwrap();
    assert_ne!(
        std::fs::read(a.join("annot/valid.json")).unwrap(),
        std::fs::read(c.join("annot/valid.json")).unwrap()
    );
}

#[test]
fn mean_pose_scores_under_20_percent() {
    let (_d_guard, d) = temp_dir("mean");
    let s = write_synth_pose(&d, 300, 150, 1, 64, &|_| {}).unwrap();
    assert!(
        s.mean_pose_pckh < 20.0,
        "mean pose PCKh@0.5 = {:.1} %",
        s.mean_pose_pckh
    );
    assert!(s.mean_pose_pckh > 0.0);
}

#[test]
fn bad_arguments_are_refused() {
    let (_d_guard, d) = temp_dir("bad");
    assert!(
        write_synth_pose(&d, 0, 5, 1, 64, &|_| {})
            .unwrap_err()
            .to_string()
            .contains("at least one")
    );
    assert!(write_synth_pose(&d, 5, 5, 1, 8, &|_| {}).is_err());
}
