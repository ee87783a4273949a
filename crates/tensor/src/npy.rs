//! Minimal `.npy` (NumPy format v1-v3) reading and writing for `f32` / `f64` arrays.
//!
//! Reads straight into the array's buffer (one allocation of the data size), accepts either
//! byte order and Fortran order (converted to C order, which costs one copy), and says
//! exactly what is wrong with a file it cannot take.

use std::io::{Read, Write};

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use thiserror::Error;

use crate::Scalar;

#[derive(Debug, Error)]
pub enum NpyError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a .npy file: {0}")]
    Format(String),
    #[error("unsupported dtype {0:?}: only float32 ('<f4') and float64 ('<f8') arrays are read")]
    DType(String),
    #[error(
        "the file holds {expected} bytes of data for shape {shape:?} but only {got} are present (truncated?)"
    )]
    Truncated {
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
}

/// A float array read from a `.npy` file, in its stored precision.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyArray {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

impl NpyArray {
    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F32(a) => a.shape(),
            NpyArray::F64(a) => a.shape(),
        }
    }
}

/// Parsed header: dtype (`f4`/`f8`), byte order, Fortran order, shape.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyHeader {
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads the header of a `.npy` stream, leaving the reader at the start of the data.
pub fn read_header(r: &mut impl Read) -> Result<NpyHeader, NpyError> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .map_err(|_| NpyError::Format("file shorter than the .npy magic string".into()))?;
    if &magic[..6] != MAGIC {
        return Err(NpyError::Format(
            "missing the \\x93NUMPY magic string".into(),
        ));
    }
    let header_len = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            u32::from_le_bytes(b) as usize
        }
        v => return Err(NpyError::Format(format!("unknown format version {v}"))),
    };
    if header_len > 1 << 20 {
        return Err(NpyError::Format(format!(
            "header length {header_len} is implausible"
        )));
    }
    let mut text = vec![0u8; header_len];
    r.read_exact(&mut text)
        .map_err(|_| NpyError::Format("header is truncated".into()))?;
    let text = String::from_utf8_lossy(&text);
    parse_header_dict(&text)
}

fn dict_value<'a>(text: &'a str, key: &str) -> Result<&'a str, NpyError> {
    let pat = format!("'{key}':");
    let start = text
        .find(&pat)
        .ok_or_else(|| NpyError::Format(format!("header has no '{key}' field")))?
        + pat.len();
    Ok(text[start..].trim_start())
}

fn parse_header_dict(text: &str) -> Result<NpyHeader, NpyError> {
    let descr_v = dict_value(text, "descr")?;
    let descr = descr_v
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| NpyError::Format("the 'descr' field is not a string".into()))?
        .to_string();
    let fortran_v = dict_value(text, "fortran_order")?;
    let fortran_order = if fortran_v.starts_with("True") {
        true
    } else if fortran_v.starts_with("False") {
        false
    } else {
        return Err(NpyError::Format(
            "the 'fortran_order' field is neither True nor False".into(),
        ));
    };
    let shape_v = dict_value(text, "shape")?;
    let inner = shape_v
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| NpyError::Format("the 'shape' field is not a tuple".into()))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NpyError::Format(format!("bad shape entry in ({inner}): {e}")))?;
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape,
    })
}

/// Reads a float32 or float64 `.npy` into a C-order array.
pub fn read_npy(mut r: impl Read) -> Result<NpyArray, NpyError> {
    let h = read_header(&mut r)?;
    let (little, width) = match h.descr.as_str() {
        "<f4" | "=f4" => (true, 4),
        ">f4" => (false, 4),
        "<f8" | "=f8" => (true, 8),
        ">f8" => (false, 8),
        other => return Err(NpyError::DType(other.to_string())),
    };
    if width == 4 {
        Ok(NpyArray::F32(read_data::<f32, 4>(
            &mut r,
            &h,
            little,
            f32::from_le_bytes,
            f32::from_be_bytes,
        )?))
    } else {
        Ok(NpyArray::F64(read_data::<f64, 8>(
            &mut r,
            &h,
            little,
            f64::from_le_bytes,
            f64::from_be_bytes,
        )?))
    }
}

fn read_data<T: Scalar, const W: usize>(
    r: &mut impl Read,
    h: &NpyHeader,
    little: bool,
    from_le: fn([u8; W]) -> T,
    from_be: fn([u8; W]) -> T,
) -> Result<ArrayD<T>, NpyError> {
    let n = h
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|n| n.checked_mul(W).is_some())
        .ok_or_else(|| {
            NpyError::Format(format!(
                "shape {:?} has more elements than memory can address",
                h.shape
            ))
        })?;
    // The buffer grows with the data actually read, so a header that claims more elements than
    // the file holds costs no memory before the truncation is found.
    let mut data: Vec<T> = Vec::with_capacity(n.min(1 << 20));
    let mut buf = vec![0u8; 1 << 16];
    while data.len() < n {
        let want = ((n - data.len()) * W).min(buf.len());
        let mut got = 0;
        while got < want {
            let k = r.read(&mut buf[got..want])?;
            if k == 0 {
                return Err(NpyError::Truncated {
                    shape: h.shape.clone(),
                    expected: n * W,
                    got: data.len() * W + got,
                });
            }
            got += k;
        }
        data.extend(buf[..want].chunks_exact(W).map(|chunk| {
            let bytes: [u8; W] = chunk.try_into().expect("exact chunk");
            if little {
                from_le(bytes)
            } else {
                from_be(bytes)
            }
        }));
    }
    let shape = IxDyn(&h.shape);
    let arr = if h.fortran_order {
        let f =
            ArrayD::from_shape_vec(shape.f(), data).map_err(|e| NpyError::Format(e.to_string()))?;
        f.as_standard_layout().into_owned()
    } else {
        ArrayD::from_shape_vec(shape, data).map_err(|e| NpyError::Format(e.to_string()))?
    };
    Ok(arr)
}

/// The bytes of a format-1.0 `.npy` header (magic, version, length, padded dict) for the
/// given dtype string (`"<f8"`, ..), order and shape; the data follows it.
pub fn header_bytes(descr: &str, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
    let shape = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran_order { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    // Pad so that the data starts on a 64-byte boundary, ending with a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// Writes a C-order little-endian `.npy` (format 1.0).
pub fn write_npy<T: Scalar>(
    mut w: impl Write,
    a: &ndarray::ArrayViewD<'_, T>,
) -> Result<(), NpyError> {
    let descr = if T::DTYPE == "f32" { "<f4" } else { "<f8" };
    w.write_all(&header_bytes(descr, false, a.shape()))?;
    let a = a.as_standard_layout();
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in a.as_slice().expect("standard layout").chunks(8192) {
        buf.clear();
        for v in chunk {
            if T::DTYPE == "f32" {
                buf.extend_from_slice(&(v.as_f64() as f32).to_le_bytes());
            } else {
                buf.extend_from_slice(&v.as_f64().to_le_bytes());
            }
        }
        w.write_all(&buf)?;
    }
    Ok(())
}
