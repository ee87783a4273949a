use std::path::PathBuf;

use thiserror::Error;

/// Data that cannot be read, naming the file and what is wrong with it.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {msg}")]
    Json { path: PathBuf, msg: String },
    #[error("{path}: record {index}: field '{field}' {problem}")]
    Field {
        path: PathBuf,
        index: usize,
        field: String,
        problem: String,
    },
    #[error("{0}")]
    Invalid(String),
}
