//! Error types shared across the engine.
//!
//! Each operation family has its own documented enum; [`Error`] is what the public `Db`
//! operations return. Corruption always carries the file, the byte offset and the cause.

use std::io;
use std::path::PathBuf;

/// A short-lived decoding failure inside a buffer, before the caller knows which file it
/// came from. [`DecodeError::in_file`] turns it into a [`Corruption`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {what}")]
pub struct DecodeError {
    /// Byte offset inside the decoded buffer where decoding failed.
    pub offset: u64,
    /// What was wrong.
    pub what: String,
}

impl DecodeError {
    /// A decode error at `offset`.
    pub fn new(offset: u64, what: impl Into<String>) -> Self {
        Self {
            offset,
            what: what.into(),
        }
    }

    /// Attaches the file this buffer was read from; `base` is the buffer's offset in the file.
    pub fn in_file(self, file: impl Into<PathBuf>, base: u64) -> Corruption {
        Corruption {
            file: file.into(),
            offset: base + self.offset,
            cause: self.what,
        }
    }
}

/// Bytes on disk that are not what the format says they must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corruption in {} at offset {offset}: {cause}", file.display())]
pub struct Corruption {
    /// The file holding the bad bytes.
    pub file: PathBuf,
    /// Byte offset in that file.
    pub offset: u64,
    /// What was wrong.
    pub cause: String,
}

/// Why a sample was not appended. Each variant is counted in the engine's stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The sample is older than the newest sample of its series.
    #[error("out of order sample")]
    OutOfOrder,
    /// Same timestamp as the newest sample of its series, with a different value.
    #[error("duplicate sample for timestamp")]
    Duplicate,
    /// The sample is too old for the head (before the head's lower bound).
    #[error("out of bounds")]
    OutOfBounds,
    /// The label set is not valid (empty, duplicate or unsorted names, empty name or value).
    #[error("invalid label set")]
    InvalidLabels,
}

impl AppendError {
    /// A stable name for metrics (`reason` label).
    pub fn reason(&self) -> &'static str {
        match self {
            AppendError::OutOfOrder => "out_of_order",
            AppendError::Duplicate => "duplicate",
            AppendError::OutOfBounds => "out_of_bounds",
            AppendError::InvalidLabels => "invalid_labels",
        }
    }
}

/// Errors of the database's public operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on a file or directory failed (including a full disk).
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "write", "fsync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Data on disk is corrupt.
    #[error(transparent)]
    Corruption(#[from] Corruption),
    /// Another process holds the data directory's lock file.
    #[error("data directory {} is locked by another process (lock file {})", dir.display(), lock.display())]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// A sample was rejected.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// A caller passed something invalid (bad matcher regex, bad time range, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The database was closed, or a previous write error made it read-only.
    #[error("database is closed or read-only: {0}")]
    Closed(String),
}

impl Error {
    /// Helper to wrap an I/O error with the operation and path it concerns.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
