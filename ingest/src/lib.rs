//! Ingest for Tidemark: everything between a target and the engine's appender.
//!
//! In data order:
//! - [`config`]: Prometheus's `prometheus.yml`, parsed strictly and validated as Prometheus
//!   3.5 does before anything starts.
//! - [`discovery`]: target groups from `static_configs`, `file_sd_configs`,
//!   `kubernetes_sd_configs`, `http_sd_configs` and `dns_sd_configs`.
//! - [`relabel`]: `relabel_configs` / `metric_relabel_configs`.
//! - [`scrape`]: the scrape manager and one loop per target.
//! - [`exposition`]: the text format 0.0.4 and OpenMetrics 1.0 parsers.

pub mod backfill;
pub mod client;
pub mod config;
pub mod discovery;
pub mod exposition;
pub mod relabel;
pub mod scrape;
