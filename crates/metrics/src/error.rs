use thiserror::Error;

/// Bad input to a measure: the message names what is wrong and where.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MetricsError {
    #[error("shape mismatch: {what} should be {expected}, got {got}")]
    Shape {
        what: String,
        expected: String,
        got: String,
    },
    #[error(
        "sample {sample} has a zero-size head box ({x0}, {y0}) - ({x1}, {y1}): PCKh cannot normalize by it"
    )]
    ZeroHeadBox {
        sample: usize,
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
    },
    #[error("{what} holds a non-finite value at {index:?}")]
    NonFinite { what: String, index: Vec<usize> },
    #[error("class id {class} at pixel {pixel} is outside 0..{n_classes} in the {which} map")]
    BadClass {
        which: &'static str,
        class: usize,
        pixel: usize,
        n_classes: usize,
    },
    #[error("invalid argument: {0}")]
    Invalid(String),
}
