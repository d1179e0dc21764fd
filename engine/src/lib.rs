//! # tidemark-engine
//!
//! Tidemark's time-series storage engine. It knows nothing about HTTP, PromQL or scraping.
//!
//! Data flows through it in this order:
//! 1. [`labels`] and [`matcher`]: series identity and selection.
//! 2. [`chunkenc`]: the Gorilla/XOR sample codec.
//! 3. [`wal`]: every committed append is framed into write-ahead-log segments first.
//! 4. `head`: the in-memory series registry with roaring postings and open chunks; full
//!    chunks are written to [`chunks`] files and memory-mapped.
//! 5. `block`: immutable directories with an [`index`], chunk segments and [`tombstones`].
//! 6. `compact`: head → block, block merges, retention.
//! 7. `querier`: `select(matchers, mint, maxt)` merged over the head and the blocks.
//!
//! On-disk formats are specified byte by byte in `engine/docs/format/`.

pub mod chunkenc;
pub mod chunks;
pub mod encoding;
pub mod error;
pub mod fs;
pub mod index;
pub mod iter;
pub mod labels;
pub mod matcher;
pub mod meta;
pub mod postings;
pub mod tombstones;
pub mod wal;

pub use error::{AppendError, Corruption, DecodeError, Error, Result};
pub use iter::SampleIterator;
pub use labels::{Label, Labels, LabelsBuilder};
