//! Face parsing: both label layouts on hand-made files, the synthetic set, flips swapping
//! left / right classes, and the errors.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, array};
use tnet_data::face_loader::face_sample_into;
use tnet_data::helen::{LabelSource, N_CLASSES, load_labels, read_face_split, read_split};
use tnet_data::pose_loader::Augment;
use tnet_data::synth_face::write_synth_face;
use tnet_tensor::random::SeededRng;

/// A fresh folder with `images/` and `labels/`, removed when the guard drops.
fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    let d = t.path().to_path_buf();
    std::fs::create_dir_all(d.join("images")).unwrap();
    std::fs::create_dir_all(d.join("labels")).unwrap();
    (t, d)
}

fn png_gray(path: &Path, v: &Array2<u8>) {
    let (h, w) = v.dim();
    image::save_buffer(
        path,
        v.as_slice().unwrap(),
        w as u32,
        h as u32,
        image::ExtendedColorType::L8,
    )
    .unwrap();
}

fn jpg(path: &Path, h: usize, w: usize) {
    image::save_buffer(
        path,
        &vec![128u8; h * w * 3],
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
}

#[test]
fn helen_masks_take_the_argmax_with_ties_to_the_lower_class() {
    let (_d_guard, d) = temp_dir("helen");
    jpg(&d.join("images/a.jpg"), 2, 3);
    std::fs::create_dir_all(d.join("labels/a")).unwrap();
    // Pixel (0,0): background strongest; (0,1): skin 200 > nose 100; (0,2): eye 4 and 5 tie -> 4;
    // (1,*): hair 255 everywhere below, except (1,2) where nothing but background is set.
    let mut masks = vec![Array2::<u8>::zeros((2, 3)); N_CLASSES];
    masks[0] = array![[250, 10, 0], [0, 0, 9]];
    masks[1] = array![[0, 200, 0], [0, 0, 0]];
    masks[6] = array![[0, 100, 0], [0, 0, 0]];
    masks[4] = array![[0, 0, 77], [0, 0, 0]];
    masks[5] = array![[0, 0, 77], [0, 0, 0]];
    masks[10] = array![[0, 0, 0], [255, 255, 0]];
    for (c, m) in masks.iter().enumerate() {
        png_gray(&d.join(format!("labels/a/a_lbl{c:02}.png")), m);
    }
    std::fs::write(d.join("split.txt"), "1 , a\n").unwrap();
    let items = read_face_split(&d, &d.join("split.txt")).unwrap();
    assert!(matches!(items[0].labels, LabelSource::HelenMasks(_)));
    assert_eq!(
        load_labels(&items[0]).unwrap(),
        array![[0, 1, 4], [10, 10, 0]]
    );
    // A missing mask is named.
    std::fs::remove_file(d.join("labels/a/a_lbl07.png")).unwrap();
    let e = read_face_split(&d, &d.join("split.txt"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a_lbl07.png"), "{e}");
}

#[test]
fn label_map_layout_and_bad_ids() {
    let (_d_guard, d) = temp_dir("map");
    jpg(&d.join("images/b.jpg"), 2, 2);
    png_gray(&d.join("labels/b.png"), &array![[0, 3], [10, 7]]);
    std::fs::write(d.join("split.txt"), "b\n\n").unwrap();
    assert_eq!(read_split(&d.join("split.txt")).unwrap(), vec!["b"]);
    let items = read_face_split(&d, &d.join("split.txt")).unwrap();
    assert_eq!(load_labels(&items[0]).unwrap(), array![[0, 3], [10, 7]]);
    png_gray(&d.join("labels/b.png"), &array![[0, 3], [11, 7]]);
    assert!(
        load_labels(&items[0])
            .unwrap_err()
            .to_string()
            .contains("class id 11")
    );
    std::fs::write(d.join("split.txt"), "zzz\n").unwrap();
    assert!(
        read_face_split(&d, &d.join("split.txt"))
            .unwrap_err()
            .to_string()
            .contains("zzz")
    );
}

#[test]
fn flips_mirror_the_map_and_swap_left_and_right() {
    // Image-left half right brow (3), image-right half left brow (2), a skin row at the top.
    let (h, w) = (8, 8);
    let mut labels = Array2::<u8>::from_shape_fn((h, w), |(_, x)| if x < w / 2 { 3 } else { 2 });
    labels.row_mut(0).fill(1);
    let img = Array3::<u8>::zeros((h, w, 3));
    let flip_only = Augment {
        scale_sd: 0.0,
        rotation_prob: 0.0,
        flip_prob: 1.0,
        gain_range: (1.0, 1.0),
        ..Augment::HOURGLASS
    };
    let mut out = Array3::<f32>::zeros((3, h, w));
    let mut lbl = Array2::<u8>::zeros((h, w));
    let mut rng = SeededRng::new(0);
    face_sample_into(
        &img.view(),
        &labels.view(),
        Some(flip_only),
        &mut rng,
        &mut out.view_mut(),
        &mut lbl.view_mut(),
    )
    .unwrap();
    // After the flip the person's right brow is still class 3, now on the image right... as
    // mirrored pixels of class 2 relabelled 3: so the left half stays 3 and the right 2 once
    // more, away from the seam; the skin row stays 1.
    for y in 2..h - 1 {
        assert_eq!(lbl[[y, 1]], 3, "{lbl}");
        assert_eq!(lbl[[y, w - 2]], 2, "{lbl}");
    }
    assert!(lbl.row(0).iter().filter(|&&c| c == 1).count() >= w - 2);
    // No flip: the same map, pixel for pixel.
    let none = Augment {
        flip_prob: 0.0,
        ..flip_only
    };
    face_sample_into(
        &img.view(),
        &labels.view(),
        Some(none),
        &mut rng,
        &mut out.view_mut(),
        &mut lbl.view_mut(),
    )
    .unwrap();
    assert_eq!(lbl, labels);
    // Sizes must agree.
    let small = Array2::<u8>::zeros((4, 4));
    assert!(
        face_sample_into(
            &img.view(),
            &small.view(),
            None,
            &mut rng,
            &mut out.view_mut(),
            &mut lbl.view_mut()
        )
        .is_err()
    );
}

#[test]
fn synthetic_faces_are_written_in_the_helen_layout_with_every_class() {
    let (_d_guard, d) = temp_dir("synth");
    write_synth_face(&d, 6, 3, 1, 96).unwrap();
    let train = read_face_split(&d, &d.join("train.txt")).unwrap();
    let test = read_face_split(&d, &d.join("test.txt")).unwrap();
    assert_eq!((train.len(), test.len()), (6, 3));
    let mut seen = [0usize; N_CLASSES];
    for item in &train {
        let l = load_labels(item).unwrap();
        assert_eq!(l.dim(), (96, 96));
        for &c in l.iter() {
            seen[c as usize] += 1;
        }
    }
    // Every class but possibly the inner mouth (only when the mouth is open) appears.
    for (c, n) in seen.iter().enumerate() {
        if c != 8 {
            assert!(*n > 0, "class {c} never drawn");
        }
    }
    assert!(write_synth_face(&d, 0, 1, 1, 96).is_err());
}

#[test]
fn face_batches_are_deterministic_and_cover_the_epoch() {
    use std::sync::Arc;
    use tnet_data::face_loader::{FaceSampleConfig, face_epoch};
    use tnet_data::pose_loader::{LoaderConfig, OnBadImage, Shard};
    let (_d_guard, d) = temp_dir("batches");
    write_synth_face(&d, 5, 1, 2, 64).unwrap();
    let items = Arc::new(read_face_split(&d, &d.join("train.txt")).unwrap());
    let cfg = LoaderConfig {
        batch_size: 2,
        shuffle: true,
        drop_last: false,
        prefetch: 2,
        seed: 4,
        on_bad_image: OnBadImage::Stop,
        shard: Shard::WHOLE,
    };
    let run = || -> Vec<_> {
        face_epoch(
            items.clone(),
            FaceSampleConfig {
                size: 32,
                augment: Some(Augment::HOURGLASS),
            },
            cfg,
            1,
        )
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
    };
    let a = run();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(run);
    assert_eq!(a.len(), 3); // 2 + 2 + 1: the last partial batch is kept for drop_last = false
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.images, y.images);
        assert_eq!(x.labels, y.labels);
        assert!(x.labels.iter().all(|&c| (c as usize) < N_CLASSES));
    }
    let mut seen: Vec<usize> = a.iter().flat_map(|b| b.indices.clone()).collect();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2, 3, 4]);
}
