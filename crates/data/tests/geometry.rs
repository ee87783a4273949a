//! Crop geometry, warping, flips and heatmap targets against hand-worked cases and identities.

use ndarray::{Array3, Axis};
use tnet_data::heatmap::gaussian_targets;
use tnet_data::mpii::FLIP_PAIRS;
use tnet_data::transform::{Affine, flip_joints, warp_bilinear};
use tnet_metrics::decode::decode_heatmaps;

fn close(a: [f64; 2], b: [f64; 2]) -> bool {
    (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9
}

#[test]
fn crop_by_hand_and_inverse_round_trip() {
    // Center (300, 200), scale 1 (a 200 px square) onto 100 x 100: factor 0.5.
    let t = Affine::crop([300.0, 200.0], 1.0, 0.0, 100, 100);
    assert!(close(t.apply([300.0, 200.0]), [50.0, 50.0]));
    assert!(close(t.apply([200.0, 100.0]), [0.0, 0.0]));
    assert!(close(t.apply([400.0, 300.0]), [100.0, 100.0]));
    // HRNet's defining pair: center + get_dir((0, -s/2), rot) maps to dst_center + (0, -w/2),
    // with get_dir(p, r) = (p.x cos r - p.y sin r, p.x sin r + p.y cos r). At 90 degrees the
    // source point is center + (100, 0) and lands at the top middle of the crop ...
    let r = Affine::crop([300.0, 200.0], 1.0, 90.0, 100, 100);
    assert!(
        close(r.apply([400.0, 200.0]), [50.0, 0.0]),
        "{:?}",
        r.apply([400.0, 200.0])
    );
    // ... so the point above the centre lands at the left middle.
    assert!(close(r.apply([300.0, 100.0]), [0.0, 50.0]));
    let r30 = Affine::crop([10.0, 20.0], 2.0, 30.0, 64, 64);
    let (sn, cs) = 30f64.to_radians().sin_cos();
    let dir = [-(-200.0) * sn, -200.0 * cs]; // get_dir((0, -200), 30 deg)
    assert!(close(
        r30.apply([10.0 + dir[0], 20.0 + dir[1]]),
        [32.0, 0.0]
    ));
    // Any crop composed with its inverse is the identity, on many points.
    for (rot, scale) in [(0.0, 1.3), (37.0, 0.8), (-60.0, 2.5)] {
        let t = Affine::crop([123.4, 456.7], scale, rot, 256, 256);
        let inv = t.inverse().unwrap();
        for p in [[0.0, 0.0], [17.5, 233.25], [255.0, 1.0], [-40.0, 600.0]] {
            assert!(close(inv.apply(t.apply(p)), p));
            assert!(close(t.after(&inv).apply(p), p));
        }
    }
    assert!(Affine([[0.0; 3]; 2]).inverse().is_none());
}

#[test]
fn flipping_twice_is_the_identity_with_joints_swapped_back() {
    let joints: [[f64; 2]; 16] = std::array::from_fn(|j| [10.0 + 3.0 * j as f64, 50.0 - j as f64]);
    let visible: [bool; 16] = std::array::from_fn(|j| j % 3 != 0);
    let (once, vis_once) = flip_joints(&joints, &visible, 64);
    // The right ankle of the flipped person is the mirrored left ankle.
    assert!(close(once[0], [63.0 - joints[5][0], joints[5][1]]));
    assert_eq!(vis_once[0], visible[5]);
    for (a, b) in FLIP_PAIRS {
        assert_eq!(vis_once[a], visible[b]);
    }
    let (twice, vis_twice) = flip_joints(&once, &vis_once, 64);
    for j in 0..16 {
        assert!(close(twice[j], joints[j]), "joint {j}");
    }
    assert_eq!(vis_twice, visible);
}

#[test]
fn warp_samples_bilinearly_and_maps_points_consistently() {
    // A 40 x 60 image with a bright pixel at (x, y) = (30, 10).
    let mut img = Array3::<u8>::zeros((40, 60, 3));
    img[[10, 30, 0]] = 255;
    img[[10, 30, 1]] = 255;
    img[[10, 30, 2]] = 255;
    let crop = Affine::crop([30.0, 20.0], 0.2, 25.0, 32, 32);
    let mut out = Array3::<f32>::zeros((3, 32, 32));
    warp_bilinear(
        &img.view(),
        &crop.inverse().unwrap(),
        [1.0, 0.5, 1.0],
        &mut out.view_mut(),
    );
    // The brightest output pixel is where the crop maps the bright pixel (within a pixel).
    let (coords, _) = decode_heatmaps(&out.index_axis(Axis(0), 0).insert_axis(Axis(0)));
    let want = crop.apply([30.0, 10.0]);
    assert!(
        (coords[[0, 0]] - want[0]).abs() <= 1.0 && (coords[[0, 1]] - want[1]).abs() <= 1.0,
        "{coords} vs {want:?}"
    );
    // Channel gain: channel 1 is half of channel 0 everywhere.
    let (c0, c1) = (out.index_axis(Axis(0), 0), out.index_axis(Axis(0), 1));
    assert!(
        c0.iter()
            .zip(c1.iter())
            .all(|(a, b)| (a * 0.5 - b).abs() < 1e-6)
    );
    // Identity warp reproduces the image exactly (values / 255).
    let mut same = Array3::<f32>::zeros((3, 40, 60));
    warp_bilinear(
        &img.view(),
        &Affine::IDENTITY,
        [1.0; 3],
        &mut same.view_mut(),
    );
    assert_eq!(same[[2, 10, 30]], 1.0);
    assert_eq!(same.sum(), 3.0);
    // Half-pixel shift: bilinear weights 0.5 / 0.5.
    let shift = Affine([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]);
    warp_bilinear(&img.view(), &shift, [1.0; 3], &mut same.view_mut());
    assert!((same[[0, 10, 29]] - 0.5).abs() < 1e-6 && (same[[0, 10, 30]] - 0.5).abs() < 1e-6);
}

#[test]
fn heatmap_targets_peak_at_the_joint_and_decode_back() {
    let mut maps = Array3::<f32>::zeros((3, 64, 48));
    let joints = [[20.3, 33.7], [-10.0, 5.0], [47.0, 63.0]];
    let w = gaussian_targets(&joints, &[true, true, false], 1.0, &mut maps.view_mut());
    assert_eq!(w, vec![1.0, 0.0, 0.0]); // off the map; unlabelled
    assert!(maps.index_axis(Axis(0), 1).iter().all(|&v| v == 0.0));
    assert!(maps.index_axis(Axis(0), 2).iter().all(|&v| v == 0.0));
    // Value at a pixel by hand: exp(-((20 - 20.3)^2 + (34 - 33.7)^2) / 2).
    let want = (-(0.09f64 + 0.09) / 2.0).exp() as f32;
    assert!((maps[[0, 34, 20]] - want).abs() < 1e-6);
    let (coords, _) = decode_heatmaps(&maps.view());
    assert!((coords[[0, 0]] - 20.3).abs() <= 0.25 && (coords[[0, 1]] - 33.7).abs() <= 0.25);
}

#[test]
fn warping_from_far_outside_the_image_reads_the_zero_border() {
    let image = Array3::<u8>::from_elem((8, 8, 3), 200);
    let mut out = Array3::<f32>::from_elem((3, 4, 4), 1.0);
    for t in [1e300, -1e300, f64::NAN, f64::INFINITY] {
        let far = Affine([[1.0, 0.0, t], [0.0, 1.0, t]]);
        warp_bilinear(&image.view(), &far, [1.0; 3], &mut out.view_mut());
        assert!(out.iter().all(|&v| v == 0.0), "offset {t}");
    }
    // Inside, the same call samples the image.
    warp_bilinear(
        &image.view(),
        &Affine::IDENTITY,
        [1.0; 3],
        &mut out.view_mut(),
    );
    assert!(out.iter().all(|&v| (v - 200.0 / 255.0).abs() < 1e-6));
}
