//! Both MPII annotation layouts, from files written here in those exact formats.

use std::path::PathBuf;

use serde_json::json;
use tnet_data::DataError;
use tnet_data::mpii::{MpiiLayout, read_hourglass_json, read_hrnet_json};

/// A fresh folder with `annot/`, removed when the guard drops.
fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    let d = t.path().to_path_buf();
    std::fs::create_dir_all(d.join("annot")).unwrap();
    (t, d)
}

fn joints16(base: f64) -> Vec<Vec<f64>> {
    (0..16)
        .map(|j| vec![base + j as f64, base + 2.0 * j as f64])
        .collect()
}

fn joints16_vis(base: f64) -> Vec<Vec<f64>> {
    (0..16)
        .map(|j| vec![base + j as f64, base + 2.0 * j as f64, (j % 2) as f64])
        .collect()
}

#[test]
fn hrnet_layout_parses_with_its_conventions() {
    let (_dir_guard, dir) = temp_dir("hrnet");
    // A record as HRNet's valid.json writes it, and one from test.json (no joints).
    let valid = json!([
        {"joints_vis": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,0,1], "joints": joints16(100.0),
         "image": "005808361.jpg", "scale": 4.718488, "center": [966.0, 340.0]},
        {"image": "test.jpg", "scale": 2.0, "center": [10.0, 20.0]}
    ]);
    let path = dir.join("annot/train.json");
    std::fs::write(&path, valid.to_string()).unwrap();
    let people = read_hrnet_json(&path).unwrap();
    assert_eq!(people.len(), 2);
    let p = &people[0];
    assert_eq!(p.image, "005808361.jpg");
    assert_eq!(p.joints.unwrap()[3], [103.0, 106.0]);
    assert_eq!(p.joints_zero_based().unwrap()[3], [102.0, 105.0]);
    assert!(!p.visible.unwrap()[14] && p.visible.unwrap()[15]);
    // HRNet: center.y += 15 scale, scale *= 1.25, then 0-based.
    let (c, s) = p.hrnet_crop();
    assert!((c[0] - 965.0).abs() < 1e-9 && (c[1] - (340.0 + 15.0 * 4.718488 - 1.0)).abs() < 1e-9);
    assert!((s - 4.718488 * 1.25).abs() < 1e-12);
    assert!(people[1].joints.is_none());
    assert!(matches!(
        MpiiLayout::detect(&dir).unwrap(),
        MpiiLayout::Hrnet { .. }
    ));
}

#[test]
fn hourglass_layout_parses_scalar_and_array_other_fields() {
    let (_dir_guard, dir) = temp_dir("hourglass");
    let records = json!([
        // Nobody else in the image.
        {"dataset": "MPI", "isValidation": 0.0, "img_paths": "a.jpg", "objpos": [500.0, 300.0],
         "joint_self": joints16_vis(50.0), "scale_provided": 3.0, "numOtherPeople": 0.0},
        // One other person: scalar scale, a single [x, y], one 16-joint list.
        {"dataset": "MPI", "isValidation": 1.0, "img_paths": "b.jpg", "objpos": [400.0, 200.0],
         "joint_self": joints16_vis(10.0), "scale_provided": 2.5, "numOtherPeople": 1.0,
         "scale_provided_other": 1.5, "objpos_other": [100.0, 120.0], "joint_others": joints16_vis(200.0)},
        // Two other people: arrays of each.
        {"dataset": "MPI", "isValidation": 0.0, "img_paths": "c.jpg", "objpos": [300.0, 100.0],
         "joint_self": joints16_vis(20.0), "scale_provided": 1.0, "numOtherPeople": 2.0,
         "scale_provided_other": [1.1, 2.2], "objpos_other": [[1.0, 2.0], [3.0, 4.0]],
         "joint_others": [joints16_vis(300.0), joints16_vis(400.0)]}
    ]);
    let path = dir.join("mpii_annotations.json");
    std::fs::write(&path, records.to_string()).unwrap();
    let people = read_hourglass_json(&path).unwrap();
    assert_eq!(people.len(), 3);
    assert!(people[0].others.is_empty());
    assert_eq!(people[1].is_validation, Some(true));
    assert_eq!(people[1].others.len(), 1);
    assert_eq!(people[1].others[0].scale, 1.5);
    assert_eq!(people[1].others[0].center, [100.0, 120.0]);
    assert_eq!(people[1].others[0].joints.unwrap()[1], [201.0, 202.0]);
    assert_eq!(people[2].others.len(), 2);
    assert_eq!(people[2].others[1].center, [3.0, 4.0]);
    assert_eq!(people[2].others[1].scale, 2.2);
    assert_eq!(people[2].others[1].joints.unwrap()[0], [400.0, 400.0]);
    assert!(people[0].visible.unwrap()[1]);
    assert!(!people[0].visible.unwrap()[0]);
    assert!(matches!(
        MpiiLayout::detect(&dir).unwrap(),
        MpiiLayout::Hourglass { .. }
    ));
}

#[test]
fn bad_annotations_name_file_record_and_field() {
    let (_dir_guard, dir) = temp_dir("bad");
    let path = dir.join("annot/valid.json");
    let cases = [
        (
            json!([{"image": "x.jpg", "scale": 1.0}]),
            "field 'center' is missing",
        ),
        (
            json!([{"image": "x.jpg", "scale": "big", "center": [1.0, 2.0]}]),
            "field 'scale' should be a number",
        ),
        (
            json!([{"image": "x.jpg", "scale": 1.0, "center": [1.0, 2.0], "joints": [[1.0, 2.0]]}]),
            "has 1 joints, expected 16",
        ),
        (json!({"not": "an array"}), "not an array"),
    ];
    for (value, want) in cases {
        std::fs::write(&path, value.to_string()).unwrap();
        let e = read_hrnet_json(&path).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains("valid.json"), "{e}");
    }
    std::fs::write(&path, "{ not json").unwrap();
    assert!(matches!(
        read_hrnet_json(&path).unwrap_err(),
        DataError::Json { .. }
    ));
    assert!(matches!(
        read_hrnet_json(&dir.join("absent.json")).unwrap_err(),
        DataError::Io { .. }
    ));
    let bad = json!([{"img_paths": "b.jpg", "objpos": [1.0, 2.0], "joint_self": joints16_vis(0.0), "scale_provided": 1.0,
                      "numOtherPeople": 2.0, "scale_provided_other": 1.5, "objpos_other": [1.0, 2.0]}]);
    let hg = dir.join("mpii_annotations.json");
    std::fs::write(&hg, bad.to_string()).unwrap();
    let e = read_hourglass_json(&hg).unwrap_err().to_string();
    assert!(e.contains("says 2 other people"), "{e}");
    let empty_guard = tempfile::tempdir().unwrap();
    let empty = empty_guard.path();
    assert!(
        MpiiLayout::detect(empty)
            .unwrap_err()
            .to_string()
            .contains("datasets/README.md")
    );
}

#[test]
fn records_that_cannot_be_trained_on_are_counted_by_reason() {
    use tnet_data::mpii::{MpiiPerson, Unusable, usable_for_training};
    let good = MpiiPerson {
        image: "a.jpg".into(),
        center: [100.0, 120.0],
        scale: 1.5,
        joints: Some([[50.0, 60.0]; 16]),
        visible: Some([true; 16]),
        is_validation: None,
        others: Vec::new(),
    };
    assert_eq!(good.unusable(), None);
    let with = |f: &dyn Fn(&mut MpiiPerson)| {
        let mut p = good.clone();
        f(&mut p);
        p
    };
    let negative_scale = with(&|p| p.scale = -1.0);
    let nan_center = with(&|p| p.center[0] = f64::NAN);
    let invisible = with(&|p| p.visible = Some([false; 16]));
    let unlabelled = with(&|p| p.joints = Some([[-1.0, -1.0]; 16]));
    // One labelled joint is enough to learn from.
    let one_joint = with(&|p| {
        let mut v = [false; 16];
        v[9] = true;
        p.visible = Some(v);
    });
    assert_eq!(negative_scale.unusable(), Some(Unusable::Scale));
    assert_eq!(nan_center.unusable(), Some(Unusable::Center));
    assert_eq!(invisible.unusable(), Some(Unusable::NoJoint));
    assert_eq!(unlabelled.unusable(), Some(Unusable::NoJoint));
    assert_eq!(one_joint.unusable(), None);
    let (kept, dropped) = usable_for_training(vec![
        good.clone(),
        negative_scale,
        invisible,
        unlabelled,
        one_joint,
    ]);
    assert_eq!(kept.len(), 2);
    assert_eq!(dropped, vec![(Unusable::Scale, 1), (Unusable::NoJoint, 2)]);
}
