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
