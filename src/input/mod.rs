//! Input: reading a customer file into records and mapping columns to fields.
//!
//! Owns everything between the bytes on disk and a [`Customer`](crate::customer::Customer)
//! with raw (untrimmed) text values. Offline by construction: nothing here
//! touches the network or the uploader.

pub mod mapping;
pub mod reader;

use std::path::PathBuf;

/// A file-level input problem: the run stops before anything is sent (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The input file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no header row.
    #[error(
        "{path}: the file is empty; it needs a header row naming the columns (e.g. CustomerCode,Name,...)"
    )]
    NoHeader {
        /// The input file.
        path: PathBuf,
    },
    /// The CSV itself is broken at a line (e.g. bytes that are not text).
    #[error("{path}: line {line}: {message}")]
    Csv {
        /// The input file.
        path: PathBuf,
        /// Physical line (1-based) where the problem was found.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// The header has no column that maps to CustomerCode.
    #[error(
        "{path}: no CustomerCode column (found: {found}); rename the column with the customer code to CustomerCode"
    )]
    NoCustomerCode {
        /// The input file.
        path: PathBuf,
        /// The header as found, comma-separated.
        found: String,
    },
    /// Two columns claim the same field.
    #[error(
        "{path}: columns {first_column} and {second_column} (columns {first} and {second}) both map to {field}; rename or remove one of them"
    )]
    AmbiguousColumn {
        /// The input file.
        path: PathBuf,
        /// The field claimed twice.
        field: crate::fields::Field,
        /// 1-based column number of the first claimant.
        first: usize,
        /// Header text of the first claimant.
        first_column: String,
        /// 1-based column number of the second claimant.
        second: usize,
        /// Header text of the second claimant.
        second_column: String,
    },
}
