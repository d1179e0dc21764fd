//! Query errors, classified as the Prometheus HTTP API reports them.

use std::fmt;

/// Which kind of failure; maps to the API's `errorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query is malformed or has invalid parameters (`bad_data`, HTTP 400).
    BadData,
    /// The query failed while evaluating (`execution`, HTTP 422).
    Execution,
    /// The query ran longer than its timeout (`timeout`, HTTP 503).
    Timeout,
    /// The query was cancelled (`canceled`).
    Canceled,
    /// Reading from storage failed (`internal`, HTTP 500).
    Internal,
}

impl ErrorKind {
    /// The API's `errorType` string.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A failed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, in Prometheus's words where it has them.
    pub message: String,
}

impl QueryError {
    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadData,
            message: message.into(),
        }
    }
    /// An `execution` error.
    pub fn execution(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Execution,
            message: message.into(),
        }
    }
    /// A storage failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for QueryError {}

impl From<tidemark_engine::Error> for QueryError {
    fn from(e: tidemark_engine::Error) -> Self {
        match e {
            tidemark_engine::Error::InvalidArgument(m) => QueryError::bad_data(m),
            other => QueryError::internal(other.to_string()),
        }
    }
}
