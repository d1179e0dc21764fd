//! Values PromQL expressions evaluate to, as the HTTP API returns them.

use tidemark_engine::Labels;

/// One float sample: timestamp in milliseconds and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Timestamp (ms since the Unix epoch).
    pub t: i64,
    /// Value.
    pub v: f64,
}

/// A series with its points (an element of a range vector / matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels of the series.
    pub labels: Labels,
    /// Points in increasing time order.
    pub points: Vec<Point>,
}

/// An element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Labels of the series.
    pub labels: Labels,
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub v: f64,
}

/// The result of evaluating an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar at a time.
    Scalar {
        /// Timestamp (ms).
        t: i64,
        /// Value.
        v: f64,
    },
    /// A string at a time.
    String {
        /// Timestamp (ms).
        t: i64,
        /// The string.
        s: String,
    },
    /// An instant vector, in evaluation order.
    Vector(Vec<Sample>),
    /// A range vector or the result of a range query, sorted by labels.
    Matrix(Vec<Series>),
}
