//! PromQL for Tidemark: parsing (our own parser, [`parser`], producing the `promql-parser`
//! crate's AST), evaluation of instant and
//! range queries over the engine's querier, and the functions, aggregations and operators of
//! Prometheus 3.5 for float samples (experimental ones behind [`Features`]).
//!
//! Evaluation is step-vectorized: each expression node is evaluated for every step of a range
//! query at once, so each selected series is read from storage once per query.

mod aggregate;
mod binary;
#[cfg(test)]
mod deep_tests;
pub mod engine;
pub mod error;
mod eval;
pub mod features;
pub mod functions;
mod parse;
pub mod parser;
pub mod value;

pub use engine::{EngineOptions, QueryEngine, QueryResult, QueryStats, Queryable};
pub use error::{ErrorKind, QueryError};
pub use features::Features;
pub use value::{Point, Sample, Series, Value};
