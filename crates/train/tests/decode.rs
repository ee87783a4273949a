//! The validation path from heatmaps back to image joints: decoding the training targets
//! themselves must score (nearly) perfectly, and shifted ones must not.

use std::sync::atomic::AtomicUsize;

use ndarray::{Array3, Axis};
use tnet_data::pose_loader::{OnBadImage, SampleConfig, make_batch};
use tnet_metrics::pckh::evaluate;
use tnet_train::TrainConfig;
use tnet_train::data::pose_data;
use tnet_train::eval::{gt_prefix, joints_in_image};

#[test]
fn decoding_the_targets_recovers_the_ground_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = TrainConfig::load(
        None,
        &[
            format!("data.dir={:?}", tmp.path().join("d").display().to_string()),
            "data.synthetic_train=8".into(),
            "data.synthetic_val=12".into(),
            "data.synthetic_size=96".into(),
        ],
    )
    .unwrap();
    let data = pose_data(&cfg, true).unwrap();
    let n = data.val.people.len();
    let sample = SampleConfig {
        input_size: 128,
        stride: 4,
        sigma: 1.0,
        augment: None,
    };
    let idx: Vec<usize> = (0..n).collect();
    let b = make_batch(
        &data.val,
        &idx,
        &sample,
        0,
        0,
        OnBadImage::Stop,
        &AtomicUsize::new(0),
    )
    .unwrap();
    let joints = joints_in_image(&b.heatmaps, &b.transforms, 4).unwrap();
    let mut preds = Array3::<f64>::zeros((n, 16, 2));
    for (row, &i) in b.indices.iter().enumerate() {
        preds
            .index_axis_mut(Axis(0), i)
            .assign(&joints.index_axis(Axis(0), row));
    }
    let r = evaluate(&preds.view(), &gt_prefix(&data.gt, n)).unwrap();
    assert!(r.at_05.mean > 95.0, "{:?}", r.at_05);
    // Moving every prediction by one head size must fail PCKh@0.5.
    let shifted = &preds + 200.0;
    let r = evaluate(&shifted.view(), &gt_prefix(&data.gt, n)).unwrap();
    assert!(r.at_05.mean < 5.0);
}

#[test]
fn synthetic_data_is_never_written_over_a_folder_it_did_not_make() {
    let tmp = tempfile::tempdir().unwrap();
    let mpii = tmp.path().join("mpii");
    std::fs::create_dir_all(mpii.join("annot")).unwrap();
    std::fs::write(mpii.join("annot/train.json"), b"[]").unwrap();
    let cfg = |dir: &std::path::Path| {
        TrainConfig::load(
            None,
            &[
                format!("data.dir={:?}", dir.display().to_string()),
                "data.synthetic_train=4".into(),
                "data.synthetic_val=4".into(),
                "data.synthetic_size=96".into(),
            ],
        )
        .unwrap()
    };
    let err = pose_data(&cfg(&mpii), true).err().expect("refused");
    assert!(err.to_string().contains("did not make"), "{err}");
    assert_eq!(std::fs::read(mpii.join("annot/train.json")).unwrap(), b"[]");
    assert!(!mpii.join("synthetic.json").exists());
    // An empty folder is the generator's to fill, and a folder it stamped its to remake.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(pose_data(&cfg(&empty), true).is_ok());
    let mut other = cfg(&empty);
    other.data.synthetic_val = 6;
    assert_eq!(pose_data(&other, true).unwrap().val.people.len(), 6);
}
