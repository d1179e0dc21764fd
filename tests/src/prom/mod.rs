//! A reference Prometheus for differential testing.
//!
//! Runs Debian's real Prometheus 3.5 (unpacked by `scripts/reference-peers.sh`, found through
//! [`crate::peers`]) on loopback with a temporary TSDB, writes samples to it with remote write, queries
//! it over the HTTP API, and compares query results. The same client and comparison code work
//! against any server that speaks the Prometheus API (Tidemark included), so one data set can be
//! written to both and every query's answer compared.
//!
//! ```no_run
//! use tidemark_tests::prom::{compare, labels, PromServer};
//!
//! let prom = PromServer::start().expect("start Prometheus");
//! let series = vec![(labels(&[("__name__", "x"), ("job", "a")]), vec![(0, 1.0), (60_000, 2.0)])];
//! prom.remote_write().write(&series).expect("write");
//! let got = prom.api().query("x", 60_000).expect("query");
//! compare(&got.result, &got.result, 1e-6).expect("equal to itself");
//! ```
//!
//! # Which timestamps Prometheus 3.5 accepts
//!
//! Remote-written samples are appended to the TSDB head, which (with no out-of-order window
//! configured, the default) accepts a sample only if
//! - its timestamp is ≥ the head's *appendable minimum*: `max(newest timestamp in the head − 1h,
//!   max time of the newest persisted block)` (1h = half of the 2h minimum block duration),
//!   otherwise the write fails with HTTP 400 `out of bounds`; an **empty** TSDB accepts any first
//!   timestamp (0 and negative ones included), and within that first request everything ≥ the
//!   first appended sample − 1h;
//! - it is newer than the series' last sample (`out of order sample`), or has the same timestamp
//!   and the same value bits (silently ignored; a different value is `duplicate sample for
//!   timestamp`).
//!
//! There is no check against the wall clock, and time-based retention counts from the newest
//! block, not from "now", so data starting at timestamp 0 works. [`RemoteWriteClient::write`]
//! therefore sends all samples in timestamp order across series, in batches. Data spanning more
//! than 3h makes the head compact into 2h blocks in the background (during or just after the
//! writes); the data stays queryable, but from then on the block's max time is a floor for new
//! writes too, so write each data set in one go, in timestamp order, into a fresh server.
//! `tests/tests/prometheus_reference.rs` checks the 1h bound and the compaction.
//!
//! # Prometheus 3.5 windows are left-open
//!
//! An instant selector at `t` sees samples in `(t − lookback, t]` and a range selector `[d]`
//! sees `(t − d, t]`: a sample exactly 5m old is no longer returned, and
//! `count_over_time(x[5m])` over 60 s samples at an aligned `t` counts 5 (Prometheus 2.x
//! included the left edge; `tests/tests/prometheus_reference.rs` checks the 3.5 rule). The
//! edges are well defined, so differential tests may put samples exactly on them.

mod api;
mod compare;
mod process;
mod remote_write;

pub use api::{
    format_ms_as_seconds, parse_prom_float, parse_response, ApiClient, InstantSample, Labels,
    Point, PromResult, QueryResponse, RangeSeries,
};
pub use compare::{compare, compare_ordered, compare_with, format_labels, CompareOptions};
pub use process::{PromOptions, PromServer, PROMETHEUS_BIN_ENV};
pub use remote_write::{
    encode_write_request, labels, stale_nan, InputSeries, RemoteWriteClient, STALE_NAN_BITS,
};
