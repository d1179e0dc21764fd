//! PromQL for Tidemark: parsing, planning and evaluation of instant and range queries over the
//! engine's querier. (Work in progress: value types and functions first.)

pub mod functions;
pub mod value;

pub use value::{Point, Sample, Series, Value};
