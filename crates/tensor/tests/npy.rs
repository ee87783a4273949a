//! `.npy` reading and writing, including the files users get wrong.

use std::io::Cursor;

use ndarray::{ArrayD, IxDyn, array};
use tnet_tensor::npy::{NpyArray, NpyError, header_bytes, read_npy, write_npy};

#[test]
fn round_trip_f32_and_f64() {
    let a = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24).map(|v| v as f64 * 0.5).collect())
        .unwrap();
    let mut buf = Vec::new();
    write_npy(&mut buf, &a.view()).unwrap();
    assert_eq!(
        read_npy(Cursor::new(&buf)).unwrap(),
        NpyArray::F64(a.clone())
    );
    let b = a.mapv(|v| v as f32);
    let mut buf = Vec::new();
    write_npy(&mut buf, &b.view()).unwrap();
    assert_eq!(read_npy(Cursor::new(&buf)).unwrap(), NpyArray::F32(b));
}

#[test]
fn fortran_order_is_read_correctly() {
    // numpy: np.asfortranarray([[1, 2, 3], [4, 5, 6]]) stores 1 4 2 5 3 6.
    let mut f = header_bytes("<f8", true, &[2, 3]);
    for v in [1.0f64, 4., 2., 5., 3., 6.] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(
        read_npy(Cursor::new(f)).unwrap(),
        NpyArray::F64(array![[1., 2., 3.], [4., 5., 6.]].into_dyn())
    );
}

#[test]
fn big_endian_is_read() {
    let mut f = header_bytes(">f4", false, &[2]);
    for v in [1.5f32, -2.0] {
        f.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(
        read_npy(Cursor::new(f)).unwrap(),
        NpyArray::F32(array![1.5f32, -2.0].into_dyn())
    );
}

#[test]
fn other_dtypes_corrupt_and_truncated_files_are_named() {
    let f = header_bytes("<i8", false, &[2]);
    assert!(matches!(read_npy(Cursor::new(f)), Err(NpyError::DType(d)) if d == "<i8"));
    assert!(matches!(
        read_npy(Cursor::new(b"not a numpy file".to_vec())),
        Err(NpyError::Format(_))
    ));
    let mut f = header_bytes("<f8", false, &[4]);
    f.extend_from_slice(&1.0f64.to_le_bytes());
    match read_npy(Cursor::new(f)) {
        Err(NpyError::Truncated { expected, got, .. }) => assert_eq!((expected, got), (32, 8)),
        other => panic!("{other:?}"),
    }
    let f = header_bytes("<f8", false, &[2]);
    let f = String::from_utf8_lossy(&f)
        .replace("(2,)", "(x,)")
        .into_bytes();
    assert!(matches!(read_npy(Cursor::new(f)), Err(NpyError::Format(_))));
}

#[test]
fn a_header_claiming_more_than_the_file_holds_allocates_nothing_big() {
    // 10^12 float32 elements claimed, 16 bytes present: a truncation error, not a 4 TB
    // allocation that aborts the process.
    let mut f = header_bytes("<f4", false, &[1_000_000_000_000]);
    f.extend_from_slice(&[0u8; 16]);
    match read_npy(Cursor::new(f)) {
        Err(NpyError::Truncated { expected, got, .. }) => {
            assert_eq!((expected, got), (4_000_000_000_000, 16));
        }
        other => panic!("{other:?}"),
    }
    // A shape whose element count overflows: named, not a capacity-overflow panic or a
    // wrapped product.
    let f = header_bytes("<f8", false, &[2_000_000_000, 2_000_000_000, 2_000_000_000]);
    match read_npy(Cursor::new(f)) {
        Err(NpyError::Format(msg)) => assert!(msg.contains("more elements"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
