//! A small reader and writer of MATLAB MAT v5 files, for numeric arrays.
//!
//! Reads compressed (`miCOMPRESSED`, zlib) and plain `miMATRIX` elements of every numeric
//! class, stored in any numeric data type, as `f64`; other variables (cells, structs, strings,
//! sparse) are skipped and listed by name. Writes uncompressed `double` arrays. MAT arrays are
//! column-major: [`MatArray::to_array`] returns a C-order `ndarray` with the same dimensions.

use std::io::{Read, Write};
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MatError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a MAT v5 file: {0}")]
    Format(String),
    #[error("variable '{name}' is not in the file (numeric variables present: {available:?})")]
    Missing {
        name: String,
        available: Vec<String>,
    },
    #[error("variable '{name}' has dimensions {got:?}, expected {expected}")]
    Dims {
        name: String,
        expected: String,
        got: Vec<usize>,
    },
}

/// A numeric variable: its name, MATLAB dimensions and column-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct MatArray {
    pub name: String,
    pub dims: Vec<usize>,
    /// Column-major (Fortran) order, as MATLAB stores it.
    pub data: Vec<f64>,
}

impl MatArray {
    /// The values as a C-order array of shape `dims`; an error when `dims` do not describe
    /// `data` or are beyond what an array can index.
    pub fn to_array(&self) -> Result<ArrayD<f64>, MatError> {
        let a = ArrayD::from_shape_vec(IxDyn(&self.dims).f(), self.data.clone()).map_err(|e| {
            MatError::Format(format!(
                "variable '{}': dimensions {:?} for {} values: {e}",
                self.name,
                self.dims,
                self.data.len()
            ))
        })?;
        Ok(a.as_standard_layout().into_owned())
    }
}

/// The numeric variables of a MAT file, and the names of those skipped.
#[derive(Debug, Clone, Default)]
pub struct MatFile {
    pub arrays: Vec<MatArray>,
    pub skipped: Vec<String>,
}

impl MatFile {
    /// The variable `name`, or an error listing what the file has.
    pub fn get(&self, name: &str) -> Result<&MatArray, MatError> {
        self.arrays
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| MatError::Missing {
                name: name.to_string(),
                available: self.arrays.iter().map(|a| a.name.clone()).collect(),
            })
    }
}

// Data types (miXXX) and array classes (mxXXX) of the MAT v5 format.
const MI_INT8: u32 = 1;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_DOUBLE: u32 = 9;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MX_DOUBLE: u32 = 6;

/// The most bytes one compressed element may inflate to (1 GiB); a larger variable is refused.
pub const MAX_INFLATED: usize = 1 << 30;

/// Reads every numeric variable of a MAT v5 stream.
pub fn read_mat(mut r: impl Read) -> Result<MatFile, MatError> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    if bytes.len() < 128 {
        return Err(MatError::Format(format!(
            "{} bytes, shorter than the 128-byte header",
            bytes.len()
        )));
    }
    let big_endian = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        other => {
            let hint = if bytes.starts_with(b"\x89HDF")
                || bytes[..128].windows(4).any(|w| w == b"HDF\r")
            {
                " (this looks like a MAT v7.3 / HDF5 file: save it with -v7 or scipy.io.savemat)"
            } else {
                ""
            };
            return Err(MatError::Format(format!(
                "bad endian indicator {other:?}{hint}"
            )));
        }
    };
    let mut file = MatFile::default();
    let mut p = Parser {
        bytes: &bytes[128..],
        pos: 0,
        big_endian,
    };
    while p.pos + 8 <= p.bytes.len() {
        p.element(&mut file)?;
    }
    Ok(file)
}

/// Reads a MAT v5 file.
pub fn read_mat_file(path: &Path) -> Result<MatFile, MatError> {
    read_mat(std::io::BufReader::new(std::fs::File::open(path)?))
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl Parser<'_> {
    fn u32_at(&self, at: usize) -> Result<u32, MatError> {
        let b: [u8; 4] = self
            .bytes
            .get(at..at + 4)
            .ok_or_else(|| MatError::Format("truncated element".into()))?
            .try_into()
            .expect("4 bytes");
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Reads a tag at the cursor: `(type, data range)`, moving past data and padding.
    fn tag(&mut self) -> Result<(u32, std::ops::Range<usize>), MatError> {
        let first = self.u32_at(self.pos)?;
        if first >> 16 != 0 {
            // Small data element: type and size share the first word, data in the next 4 bytes.
            let (ty, n) = (first & 0xFFFF, (first >> 16) as usize);
            if n > 4 {
                return Err(MatError::Format(format!("small data element of {n} bytes")));
            }
            let start = self.pos + 4;
            if start + n > self.bytes.len() {
                return Err(MatError::Format(format!(
                    "small data element at offset {} runs past the end (truncated file?)",
                    self.pos + 128
                )));
            }
            self.pos += 8;
            return Ok((ty, start..start + n));
        }
        let n = self.u32_at(self.pos + 4)? as usize;
        let start = self.pos + 8;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                MatError::Format(format!(
                    "element of {n} bytes at offset {} runs past the end (truncated file?)",
                    self.pos + 128
                ))
            })?;
        // Data is padded to 8 bytes, except compressed elements (the zlib stream ends them).
        self.pos = if first == MI_COMPRESSED {
            end
        } else {
            end.next_multiple_of(8).min(self.bytes.len())
        };
        Ok((first, start..end))
    }

    fn element(&mut self, file: &mut MatFile) -> Result<(), MatError> {
        let (ty, range) = self.tag()?;
        match ty {
            MI_COMPRESSED => {
                let inflated = self.inflate(range)?;
                let mut inner = Parser {
                    bytes: &inflated,
                    pos: 0,
                    big_endian: self.big_endian,
                };
                while inner.pos + 8 <= inner.bytes.len() {
                    inner.element(file)?;
                }
            }
            MI_MATRIX => {
                let mut inner = Parser {
                    bytes: &self.bytes[range],
                    pos: 0,
                    big_endian: self.big_endian,
                };
                inner.matrix(file)?;
            }
            _ => {} // Other top-level elements carry nothing we read.
        }
        Ok(())
    }

    /// Inflates a compressed element: at most the size its inner tag declares, and never more
    /// than [`MAX_INFLATED`] bytes (a small file cannot make the reader allocate gigabytes).
    fn inflate(&self, range: std::ops::Range<usize>) -> Result<Vec<u8>, MatError> {
        let bad = |e: std::io::Error| MatError::Format(format!("bad compressed element: {e}"));
        let mut z = flate2::read::ZlibDecoder::new(&self.bytes[range]);
        let mut inflated = vec![0u8; 8];
        z.read_exact(&mut inflated).map_err(bad)?;
        let head = Parser {
            bytes: &inflated,
            pos: 0,
            big_endian: self.big_endian,
        };
        let first = head.u32_at(0)?;
        let declared = if first >> 16 != 0 {
            0 // a small element: its data is in the 8 bytes already read
        } else {
            head.u32_at(4)? as usize
        };
        if declared > MAX_INFLATED {
            return Err(MatError::Format(format!(
                "a compressed element declares {declared} bytes, more than the reader's ceiling of {MAX_INFLATED}"
            )));
        }
        z.take(declared.next_multiple_of(8) as u64)
            .read_to_end(&mut inflated)
            .map_err(bad)?;
        Ok(inflated)
    }

    fn matrix(&mut self, file: &mut MatFile) -> Result<(), MatError> {
        if self.bytes.is_empty() {
            return Ok(()); // an empty miMATRIX is a valid empty variable
        }
        let (_, flags) = self.tag()?;
        let class = self.u32_at(flags.start)? & 0xFF;
        let complex = self.u32_at(flags.start)? & 0x800 != 0;
        let (dims_ty, dims) = self.tag()?;
        if dims_ty != MI_INT32 {
            return Err(MatError::Format(format!(
                "dimensions stored as type {dims_ty}, expected miINT32"
            )));
        }
        let dims: Vec<usize> = (0..dims.len() / 4)
            .map(|k| {
                let v = self.u32_at(dims.start + 4 * k)? as i32;
                usize::try_from(v)
                    .map_err(|_| MatError::Format(format!("negative dimension {v} in {dims:?}")))
            })
            .collect::<Result<_, _>>()?;
        let (_, name) = self.tag()?;
        let name = String::from_utf8_lossy(&self.bytes[name]).into_owned();
        // The element count, and the product of the non-zero dimensions in bytes within
        // isize (what an array of them needs, even when a zero dimension leaves it empty).
        let nonzero_bytes = dims
            .iter()
            .filter(|&&d| d > 0)
            .try_fold(8usize, |acc, &d| acc.checked_mul(d))
            .filter(|&b| b <= isize::MAX as usize);
        let expected = dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|_| nonzero_bytes.is_some())
            .ok_or_else(|| {
                MatError::Format(format!(
                    "variable '{name}': dimensions {dims:?} overflow the element count"
                ))
            })?;
        // Numeric classes: double, single, (u)int8..64. Others are skipped.
        if !(6..=15).contains(&class) {
            file.skipped.push(name);
            return Ok(());
        }
        let (ty, range) = self.tag()?;
        let data = self.numbers(ty, range)?;
        if data.len() != expected {
            return Err(MatError::Format(format!(
                "variable '{name}' has {} values for dimensions {dims:?}",
                data.len()
            )));
        }
        if complex {
            file.skipped.push(name);
            return Ok(());
        }
        file.arrays.push(MatArray { name, dims, data });
        Ok(())
    }

    fn numbers(&self, ty: u32, range: std::ops::Range<usize>) -> Result<Vec<f64>, MatError> {
        let b = &self.bytes[range];
        let be = self.big_endian;
        macro_rules! conv {
            ($t:ty, $n:expr) => {
                b.chunks_exact($n)
                    .map(|c| {
                        let a: [u8; $n] = c.try_into().expect("exact chunk");
                        (if be {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }) as f64
                    })
                    .collect()
            };
        }
        Ok(match ty {
            1 => conv!(i8, 1),
            2 => conv!(u8, 1),
            3 => conv!(i16, 2),
            4 => conv!(u16, 2),
            5 => conv!(i32, 4),
            6 => conv!(u32, 4),
            7 => conv!(f32, 4),
            9 => conv!(f64, 8),
            12 => conv!(i64, 8),
            13 => conv!(u64, 8),
            other => {
                return Err(MatError::Format(format!(
                    "numeric data of unsupported type {other}"
                )));
            }
        })
    }
}

/// Writes `double` variables as an uncompressed MAT v5 file (readable by MATLAB, Octave and
/// `scipy.io.loadmat`). A 1-d array is written as a `1 x n` row, as scipy does.
pub fn write_mat(
    mut w: impl Write,
    arrays: &[(&str, ArrayViewD<'_, f64>)],
) -> Result<(), MatError> {
    let mut header = b"MATLAB 5.0 MAT-file, written by tnet-data".to_vec();
    header.resize(116, b' ');
    header.extend_from_slice(&[0u8; 8]);
    header.extend_from_slice(&0x0100u16.to_le_bytes());
    header.extend_from_slice(b"IM");
    w.write_all(&header)?;
    for (name, a) in arrays {
        let dims: Vec<usize> = match a.ndim() {
            0 => vec![1, 1],
            1 => vec![1, a.len()],
            _ => a.shape().to_vec(),
        };
        let mut body = Vec::new();
        let mut sub = |ty: u32, data: &[u8]| {
            body.extend_from_slice(&ty.to_le_bytes());
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            body.resize(body.len().next_multiple_of(8), 0);
        };
        let mut flags = MX_DOUBLE.to_le_bytes().to_vec();
        flags.extend_from_slice(&[0u8; 4]);
        sub(MI_UINT32, &flags);
        let dim_bytes: Vec<u8> = dims
            .iter()
            .flat_map(|&d| (d as i32).to_le_bytes())
            .collect();
        sub(MI_INT32, &dim_bytes);
        sub(MI_INT8, name.as_bytes());
        // Column-major: the transpose's logical order.
        let values: Vec<u8> = a.t().iter().flat_map(|v| v.to_le_bytes()).collect();
        sub(MI_DOUBLE, &values);
        w.write_all(&MI_MATRIX.to_le_bytes())?;
        w.write_all(&(body.len() as u32).to_le_bytes())?;
        w.write_all(&body)?;
    }
    Ok(())
}
