//! Inputs the fuzzers found (fuzz/README.md), kept so the fixes stay.

use std::time::Instant;

/// AFL's `image` target: a JPEG whose frame header was mutated to claim 65285 x 1535 pixels
/// (300 MB of RGB) decoded for over 2 s; the bounded decoder refuses it from the header.
#[test]
fn a_jpeg_claiming_a_huge_frame_is_refused_at_once() {
    let bytes = include_bytes!("fixtures/fuzz-jpeg-65285x1535.jpg");
    let start = Instant::now();
    let e = tnet_data::image_file::decode_image(bytes).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("limit"), "{e}");
    assert!(start.elapsed().as_secs_f64() < 0.5);
}

/// AFL's `mat` target: a variable with a zero dimension among huge ones (no values, so the
/// element count matched) made `to_array` panic; the reader now refuses such dimensions and
/// `to_array` returns an error instead of panicking.
#[test]
fn a_mat_variable_with_huge_empty_dimensions_is_refused() {
    let bytes = include_bytes!("fixtures/fuzz-mat-empty-huge-dims.mat");
    let e = tnet_data::mat::read_mat(&bytes[..]).unwrap_err();
    assert!(e.to_string().contains("overflow"), "{e}");
    // The array form refuses inconsistent dimensions instead of panicking.
    let bad = tnet_data::mat::MatArray {
        name: "x".into(),
        dims: vec![0, 1 << 40, 1 << 40],
        data: vec![],
    };
    assert!(bad.to_array().is_err());
}
