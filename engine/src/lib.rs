//! # tidemark-engine
//!
//! Tidemark's time-series storage engine. It knows nothing about HTTP, PromQL or scraping.
//!
//! Data flows through it in this order:
//! 1. [`labels`] and [`matcher`]: series identity and selection.
//! 2. [`chunkenc`]: the Gorilla/XOR sample codec.
//! 3. [`wal`]: every committed append is framed into write-ahead-log segments first.
//! 4. [`head`]: the in-memory series registry with roaring postings and open chunks; full
//!    chunks are written to [`chunks`] files and memory-mapped.
//! 5. [`block`]: immutable directories with an [`index`], chunk segments and [`tombstones`].
//! 6. [`compact`]: head → block, block merges, retention.
//! 7. [`querier`] and [`db`]: `select(matchers, mint, maxt)` merged over the head and the blocks.
//!
//! On-disk formats are specified byte by byte in `engine/docs/format/`.
//!
//! ```
//! use tidemark_engine::{labels, Db, DbOptions, MatchType, Matcher, SampleIterator};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let db = Db::open(dir.path(), DbOptions::default()).unwrap();
//!
//! // One scrape = one commit: durable in the WAL once `commit` returns Ok.
//! let mut app = db.appender();
//! app.append(&labels!("__name__" => "up", "job" => "node"), 1_000, 1.0).unwrap();
//! app.append(&labels!("__name__" => "up", "job" => "api"), 1_000, 0.0).unwrap();
//! app.commit().unwrap();
//!
//! let m = Matcher::new(MatchType::Equal, "job", "node").unwrap();
//! let series = db.querier(0, 2_000).select(&[m]).unwrap();
//! assert_eq!(series.len(), 1);
//! let mut it = series[0].iter();
//! assert!(it.next());
//! assert_eq!(it.at(), (1_000, 1.0));
//! ```

pub mod block;
pub mod chunkenc;
pub mod chunks;
pub mod compact;
pub mod db;
pub mod encoding;
pub mod error;
pub mod fs;
pub mod head;
pub mod index;
pub mod iter;
pub mod labels;
pub mod matcher;
pub mod meta;
pub mod postings;
pub mod querier;
pub mod series;
pub mod stats;
pub mod tombstones;
pub mod wal;

pub use db::{Db, DbOptions};
pub use error::{AppendError, Corruption, DecodeError, Error, Result};
pub use head::{Appender, CommitStats, SeriesRef};
pub use iter::SampleIterator;
pub use labels::{Label, Labels, LabelsBuilder};
pub use matcher::{MatchType, Matcher};
pub use querier::Querier;
pub use series::{Series, SeriesIterator};
pub use stats::{Cardinality, DbStats};
