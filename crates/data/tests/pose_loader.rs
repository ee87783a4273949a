//! The pose loader: deterministic across thread counts, targets that map back to the joints
//! (flips included), epoch shuffling, partial batches and bad images.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use ndarray::Axis;
use tnet_data::mpii::{FLIP_PAIRS, read_hrnet_json};
use tnet_data::pose_loader::{
    Augment, EpochLoader, LoaderConfig, OnBadImage, PoseDataset, SampleConfig, Shard, epoch_order,
    make_batch,
};
use tnet_data::synth_pose::write_synth_pose;
use tnet_metrics::decode::decode_heatmaps;

/// A synthetic set of `n` training images in a temporary folder (removed with the guard).
fn dataset(name: &str, n: usize) -> (PoseDataset, tempfile::TempDir) {
    let guard = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    let dir = guard.path().join("set");
    write_synth_pose(&dir, n, 2, 3, 96, &|_| {}).unwrap();
    let people = read_hrnet_json(&dir.join("annot/train.json")).unwrap();
    (
        PoseDataset {
            people,
            images: dir.join("images"),
        },
        guard,
    )
}

const TRAIN: SampleConfig = SampleConfig {
    input_size: 64,
    stride: 4,
    sigma: 1.0,
    augment: Some(Augment::HOURGLASS),
};

#[test]
fn batches_do_not_depend_on_the_thread_count() {
    let (ds, _guard) = dataset("threads", 6);
    let idx: Vec<usize> = (0..6).collect();
    let skipped = AtomicUsize::new(0);
    let a = make_batch(&ds, &idx, &TRAIN, 5, 2, OnBadImage::Stop, &skipped).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool
        .install(|| make_batch(&ds, &idx, &TRAIN, 5, 2, OnBadImage::Stop, &skipped))
        .unwrap();
    assert_eq!(a.images, b.images);
    assert_eq!(a.heatmaps, b.heatmaps);
    assert_eq!(a.weights, b.weights);
    // Another epoch draws other augmentations.
    let c = make_batch(&ds, &idx, &TRAIN, 5, 3, OnBadImage::Stop, &skipped).unwrap();
    assert_ne!(a.images, c.images);
    assert_eq!(a.images.dim(), (6, 3, 64, 64));
    assert_eq!(a.heatmaps.dim(), (6, 16, 16, 16));
}

#[test]
fn targets_map_back_to_the_joints_with_flips_swapped() {
    let (ds, _guard) = dataset("targets", 8);
    let idx: Vec<usize> = (0..8).collect();
    let skipped = AtomicUsize::new(0);
    for cfg in [
        SampleConfig {
            augment: None,
            ..TRAIN
        },
        TRAIN,
    ] {
        let batch = make_batch(&ds, &idx, &cfg, 11, 0, OnBadImage::Stop, &skipped).unwrap();
        let mut flipped_seen = 0;
        for (row, &i) in batch.indices.iter().enumerate() {
            let t = batch.transforms[row];
            let m = t.0;
            let flipped = m[0][0] * m[1][1] - m[0][1] * m[1][0] < 0.0;
            flipped_seen += usize::from(flipped);
            let back = t.inverse().unwrap();
            let (coords, _) = decode_heatmaps(&batch.heatmaps.index_axis(Axis(0), row));
            let joints = ds.people[i].joints_zero_based().unwrap();
            for k in 0..16 {
                if batch.weights[[row, k]] == 0.0 {
                    continue;
                }
                // The person's joint shown in map k: its flip partner when the image was flipped.
                let source = if flipped {
                    FLIP_PAIRS
                        .iter()
                        .find_map(|&(a, b)| {
                            if a == k {
                                Some(b)
                            } else if b == k {
                                Some(a)
                            } else {
                                None
                            }
                        })
                        .unwrap_or(k)
                } else {
                    k
                };
                // A joint just off the map still has a target (its Gaussian reaches in), but its
                // peak is clipped at the border: check the joints on the map.
                let hm = t.apply(joints[source]).map(|v| v / 4.0);
                if hm.iter().any(|&v| !(0.0..=15.0).contains(&v)) {
                    continue;
                }
                let p = back.apply([coords[[k, 0]] * 4.0, coords[[k, 1]] * 4.0]);
                let err = ((p[0] - joints[source][0]).powi(2) + (p[1] - joints[source][1]).powi(2))
                    .sqrt();
                // Within a heatmap pixel (4 input px) scaled back to the image.
                let px_to_image = 4.0 / (t.0[0][0].powi(2) + t.0[1][0].powi(2)).sqrt();
                let hm_true = t.apply(joints[source]);
                assert!(
                    err <= px_to_image * 0.5,
                    "sample {i} joint {k}: {err} px (limit {}); decoded {:?} true (heatmap px) {:?}, augment {}",
                    px_to_image * 0.5,
                    (coords[[k, 0]], coords[[k, 1]]),
                    (hm_true[0] / 4.0, hm_true[1] / 4.0),
                    cfg.augment.is_some()
                );
            }
        }
        if cfg.augment.is_none() {
            assert_eq!(flipped_seen, 0);
        } else {
            assert!(
                flipped_seen > 0,
                "no sample was flipped: the flip path went untested"
            );
        }
    }
}

#[test]
fn epochs_shuffle_by_seed_and_partial_batches_follow_the_setting() {
    let order = epoch_order(10, 1, 0, true);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_eq!(order, epoch_order(10, 1, 0, true));
    assert_ne!(order, epoch_order(10, 1, 1, true));
    assert_eq!(epoch_order(4, 1, 0, false), vec![0, 1, 2, 3]);

    let (ds, _guard) = dataset("epochs", 10);
    let ds = Arc::new(ds);
    let cfg = LoaderConfig {
        batch_size: 4,
        shuffle: true,
        drop_last: true,
        prefetch: 2,
        seed: 9,
        on_bad_image: OnBadImage::Stop,
        shard: Shard::WHOLE,
    };
    let sizes: Vec<usize> = EpochLoader::pose(ds.clone(), TRAIN, cfg, 0)
        .unwrap()
        .map(|b| b.unwrap().indices.len())
        .collect();
    assert_eq!(sizes, vec![4, 4]);
    let keep = LoaderConfig {
        drop_last: false,
        ..cfg
    };
    let batches: Vec<_> = EpochLoader::pose(ds.clone(), TRAIN, keep, 0)
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(
        batches.iter().map(|b| b.indices.len()).collect::<Vec<_>>(),
        vec![4, 4, 2]
    );
    let seen: Vec<usize> = batches.iter().flat_map(|b| b.indices.clone()).collect();
    assert_eq!(seen, epoch_order(10, 9, 0, true));
}

/// Replicas of a data-parallel run each take their part of every batch: together they see the
/// single process's batches, sample for sample, with the same augmented pixels.
#[test]
fn shards_of_each_batch_add_up_to_the_whole_batch() {
    let (ds, _guard) = dataset("shards", 10);
    let ds = Arc::new(ds);
    let whole = LoaderConfig {
        batch_size: 4,
        shuffle: true,
        drop_last: true,
        prefetch: 1,
        seed: 5,
        on_bad_image: OnBadImage::Stop,
        shard: Shard::WHOLE,
    };
    let batches = |shard| -> Vec<_> {
        EpochLoader::pose(ds.clone(), TRAIN, LoaderConfig { shard, ..whole }, 2)
            .unwrap()
            .map(|b| b.unwrap())
            .collect()
    };
    let full = batches(Shard::WHOLE);
    let parts: Vec<_> = (0..2)
        .map(|index| batches(Shard { index, count: 2 }))
        .collect();
    assert_eq!(full.len(), 2);
    for (step, b) in full.iter().enumerate() {
        let (p0, p1) = (&parts[0][step], &parts[1][step]);
        assert_eq!([p0.indices.len(), p1.indices.len()], [2, 2]);
        assert_eq!([p0.indices.clone(), p1.indices.clone()].concat(), b.indices);
        let joined = ndarray::concatenate![ndarray::Axis(0), p0.images, p1.images];
        assert_eq!(joined, b.images);
    }
    assert_eq!(Shard { index: 2, count: 3 }.of(&[1, 2, 3, 4, 5]), &[5]);
    assert_eq!(Shard { index: 0, count: 3 }.of(&[1, 2, 3, 4, 5]), &[1, 2]);
}

#[test]
fn bad_images_stop_or_are_skipped_and_counted() {
    let (mut ds, _guard) = dataset("bad", 4);
    std::fs::write(ds.images.join(&ds.people[1].image), b"not a jpeg").unwrap();
    ds.people[2].image = "missing.jpg".into();
    let ds = Arc::new(ds);
    let stop = LoaderConfig {
        batch_size: 4,
        shuffle: false,
        drop_last: false,
        prefetch: 1,
        seed: 0,
        on_bad_image: OnBadImage::Stop,
        shard: Shard::WHOLE,
    };
    let err = EpochLoader::pose(ds.clone(), TRAIN, stop, 0)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train_000001.jpg") || err.contains("missing.jpg"),
        "{err}"
    );
    let mut loader = EpochLoader::pose(
        ds,
        TRAIN,
        LoaderConfig {
            on_bad_image: OnBadImage::Skip,
            ..stop
        },
        0,
    )
    .unwrap();
    let batch = loader.next().unwrap().unwrap();
    assert_eq!(batch.indices, vec![0, 3]);
    assert_eq!(batch.images.dim().0, 2);
    assert_eq!(loader.skipped(), 2);
}
