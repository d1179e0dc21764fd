//! The scrape manager and scrape loops: from target groups to samples in the engine.
//!
//! [`ScrapeManager`] runs one pool per job; a pool turns its discovered groups into
//! [`Target`]s (relabeling) and runs one loop per target. A loop fetches at the target's fixed
//! phase, parses the body, appends samples and the report series (`up`,
//! `scrape_duration_seconds`, …) as one commit, and writes stale markers for series that
//! disappear.

pub mod cache;
mod manager;
pub mod metadata;
mod metrics;
mod pool;
pub mod schedule;
mod scrape_loop;
pub mod target;

pub use cache::{AppendOptions, ScrapeCounts, ScrapeError, SeriesCache, STALE_NAN};
pub use manager::{ApplyError, ManagerOptions, ScrapeManager};
pub use metadata::{MetadataMap, MetricMetadata};
pub use metrics::{Limit, ScrapeMetrics};
pub use pool::{DroppedTarget, PoolSnapshot};
pub use target::{Target, TargetHealth};
