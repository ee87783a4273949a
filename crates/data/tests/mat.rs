//! MAT v5 reading against files scipy wrote (`cargo xtask mat-fixtures`), and writing.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, array};
use tnet_data::mat::{MatError, read_mat, read_mat_file, write_mat};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn reads_scipy_files_compressed_and_plain() {
    let want = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24).map(|v| v as f64 * 0.5).collect())
        .unwrap();
    for name in ["scipy_compressed.mat", "scipy_plain.mat"] {
        let f = read_mat_file(&fixture(name)).unwrap();
        assert_eq!(f.get("a").unwrap().to_array().unwrap(), want, "{name}");
        assert_eq!(
            f.get("ints").unwrap().to_array().unwrap(),
            array![[1., -2., 3.], [4., 5., -600.]].into_dyn()
        );
        assert_eq!(
            f.get("flags").unwrap().to_array().unwrap(),
            array![[1., 0.], [0., 1.]].into_dyn()
        );
        // Strings and cells are skipped, by name.
        assert!(
            f.skipped.contains(&"label".to_string()) && f.skipped.contains(&"cells".to_string()),
            "{:?}",
            f.skipped
        );
        match f.get("nope").unwrap_err() {
            MatError::Missing { available, .. } => assert!(available.contains(&"a".to_string())),
            e => panic!("{e}"),
        }
    }
}

#[test]
fn reads_an_mpii_like_ground_truth() {
    let f = read_mat_file(&fixture("gt_like.mat")).unwrap();
    let pos = f.get("pos_gt_src").unwrap();
    assert_eq!(pos.dims, vec![16, 2, 3]);
    assert_eq!(pos.to_array().unwrap()[[4, 1, 2]], 30.0);
    let missing = f.get("jnt_missing").unwrap().to_array().unwrap();
    assert_eq!(missing[[0, 1]], 1.0);
    assert_eq!(missing.sum(), 1.0);
    let boxes = f.get("headboxes_src").unwrap().to_array().unwrap();
    assert_eq!((boxes[[1, 0, 2]], boxes[[1, 1, 2]]), (30.0, 40.0));
}

#[test]
fn writes_what_it_reads_back() {
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24).map(|v| v as f64).collect()).unwrap();
    let row = array![1.0, 2.0, 3.0].into_dyn();
    let mut buf = Vec::new();
    write_mat(&mut buf, &[("x", x.view()), ("row", row.view())]).unwrap();
    let f = read_mat(buf.as_slice()).unwrap();
    assert_eq!(f.get("x").unwrap().to_array().unwrap(), x);
    assert_eq!(f.get("row").unwrap().dims, vec![1, 3]);
    // `cargo xtask mat-fixtures` checks the same file loads in scipy with these values.
}

#[test]
fn corrupt_files_are_named() {
    assert!(matches!(
        read_mat(&b"short"[..]).unwrap_err(),
        MatError::Format(_)
    ));
    let mut bad = vec![b' '; 128];
    bad[126..128].copy_from_slice(b"XX");
    assert!(
        read_mat(bad.as_slice())
            .unwrap_err()
            .to_string()
            .contains("endian")
    );
    let good = std::fs::read(fixture("scipy_plain.mat")).unwrap();
    let err = read_mat(&good[..good.len() - 20]).unwrap_err();
    assert!(
        err.to_string().contains("truncated") || err.to_string().contains("runs past"),
        "{err}"
    );
}

/// A MAT v5 header followed by `body`.
fn mat_with(body: &[u8]) -> Vec<u8> {
    let mut f = vec![b' '; 128];
    f[124..126].copy_from_slice(&0x0100u16.to_le_bytes());
    f[126..128].copy_from_slice(b"IM");
    f.extend_from_slice(body);
    f
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// An miMATRIX element holding `content`.
fn matrix(content: &[u8]) -> Vec<u8> {
    let mut m = words(&[14, content.len() as u32]);
    m.extend_from_slice(content);
    m
}

#[test]
fn a_small_element_cut_off_at_the_end_of_a_matrix_is_an_error_not_a_panic() {
    // flags (miUINT32, double class), dims (miINT32, 1 x 1), then a small-format name tag
    // claiming 4 bytes with no bytes left in the matrix.
    let content = words(&[6, 8, 6, 0, 5, 8, 1, 1, (4 << 16) | 1]);
    let err = read_mat(mat_with(&matrix(&content)).as_slice()).unwrap_err();
    assert!(err.to_string().contains("runs past the end"), "{err}");
}

#[test]
fn negative_dimensions_are_refused() {
    // dims (-1, 1), a 1-byte name, one double.
    let mut content = words(&[
        6,
        8,
        6,
        0,
        5,
        8,
        u32::MAX,
        1,
        (1 << 16) | 1,
        u32::from(b'x'),
    ]);
    content.extend(words(&[9, 8]));
    content.extend(1.0f64.to_le_bytes());
    let err = read_mat(mat_with(&matrix(&content)).as_slice()).unwrap_err();
    assert!(err.to_string().contains("negative dimension -1"), "{err}");
}

fn compressed(inner: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(inner).unwrap();
    let data = z.finish().unwrap();
    let mut e = words(&[15, data.len() as u32]);
    e.extend_from_slice(&data);
    e
}

#[test]
fn compressed_elements_inflate_no_further_than_they_declare() {
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let mut plain = Vec::new();
    write_mat(&mut plain, &[("x", x.view())]).unwrap();
    // The variable, then 64 MB of zeros in the same zlib stream: read as the variable alone.
    let mut inner = plain[128..].to_vec();
    inner.resize(inner.len() + (64 << 20), 0);
    let f = read_mat(mat_with(&compressed(&inner)).as_slice()).unwrap();
    assert_eq!(f.get("x").unwrap().to_array().unwrap(), x);
    // A matrix declaring more than the ceiling is refused before inflating it.
    let bomb = words(&[14, (tnet_data::mat::MAX_INFLATED + 8) as u32, 0, 0]);
    let err = read_mat(mat_with(&compressed(&bomb)).as_slice()).unwrap_err();
    assert!(err.to_string().contains("ceiling"), "{err}");
}
