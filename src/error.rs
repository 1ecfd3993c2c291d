//! The library's one error type.
//!
//! Every error a user can cause (bad flags, a bad spec, a bad input file) is an [`Error`];
//! the binary maps each of them to exit code 2. Undefined metrics are *not* errors: they are
//! data ([`crate::metrics::Value`] with a reason).

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong before a report exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value in the data is unusable. `row` is the 1-based data row (the header is not a row).
    #[error("{path}: row {row}, column '{column}': {msg}", path = path.display())]
    Input {
        /// The data file (`-` for standard input).
        path: PathBuf,
        /// 1-based data row, not counting the header.
        row: u64,
        /// Column name as it appears in the file.
        column: String,
        /// What is wrong with the value.
        msg: String,
    },
    /// The file is unreadable as a whole: malformed CSV, corrupt Parquet, missing column, wrong type.
    #[error("{path}: {msg}", path = path.display())]
    Schema {
        /// The data file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The audit spec or command-line options are inconsistent or malformed.
    #[error("{context}: {msg}")]
    Spec {
        /// Where: a spec file path, `--policy`, or `command line`.
        context: String,
        /// What is wrong.
        msg: String,
    },
    /// An operating-system error on a named file.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A report could not be rendered.
    #[error("rendering {format}: {msg}")]
    Render {
        /// The output format.
        format: &'static str,
        /// What failed.
        msg: String,
    },
}

impl Error {
    /// Shorthand for a [`Error::Spec`].
    pub fn spec(context: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Spec {
            context: context.into(),
            msg: msg.into(),
        }
    }

    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The row an input error points at, for picking the earliest of several.
    pub fn row(&self) -> Option<u64> {
        match self {
            Error::Input { row, .. } => Some(*row),
            _ => None,
        }
    }
}
