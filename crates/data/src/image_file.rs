//! Image files as the loaders read them, decoded with bounds: a header claiming a huge image
//! is refused before any pixel is decoded, so a hostile file cannot take gigabytes or minutes.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageReader, Limits};

use crate::DataError;

/// The largest width or height accepted (far above any photo in the supported data sets).
pub const MAX_IMAGE_SIDE: u32 = 16384;
/// The most memory one decode may allocate.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// Decodes an image held in memory (format guessed from its bytes) within the bounds above.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage, image::ImageError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_BYTES);
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits);
    reader.decode()
}

/// Reads and decodes an image file, naming the file on failure.
pub fn open_image(path: &Path) -> Result<DynamicImage, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_image(&bytes)
        .map_err(|e| DataError::Invalid(format!("{}: cannot decode image: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_claiming_a_huge_image_is_refused_at_once() {
        // A valid 8 x 8 PNG whose IHDR then claims 100000 x 8 pixels.
        let mut png = vec![];
        image::GrayImage::new(8, 8)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(decode_image(&png).is_ok());
        // IHDR data starts at byte 16: width (4 bytes, big endian), then height; its CRC
        // (over the chunk type and data, bytes 12..29) follows at 29.
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        let start = std::time::Instant::now();
        let e = decode_image(&png).unwrap_err().to_string();
        assert!(e.to_lowercase().contains("limit"), "{e}");
        assert!(start.elapsed().as_secs_f64() < 1.0);
    }
}
