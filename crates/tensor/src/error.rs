use thiserror::Error;

/// Everything that can go wrong when a tensor operation is given bad input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TensorError {
    #[error("the tensor is empty (shape {shape:?}): every mode needs at least one entry")]
    Empty { shape: Vec<usize> },
    #[error("the tensor is 0-dimensional (a scalar): decompositions need at least one mode")]
    ZeroOrder,
    #[error("the tensor has a non-finite entry ({value}) at index {index:?}")]
    NonFinite { index: Vec<usize>, value: f64 },
    #[error("mode {mode} does not exist: the tensor has {order} modes (0..{order})")]
    BadMode { mode: usize, order: usize },
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        what: String,
        expected: String,
        got: String,
    },
    #[error("rank {rank} for mode {mode} is invalid: {allowed}")]
    BadRank {
        mode: usize,
        rank: usize,
        allowed: String,
    },
    #[error("{what} expects {expected} ranks, got {got}")]
    RankCount {
        what: String,
        expected: usize,
        got: usize,
    },
    #[error("linear algebra failed in {what}: {reason}")]
    Linalg { what: String, reason: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
}
