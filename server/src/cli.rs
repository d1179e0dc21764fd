//! The command line, as written: Prometheus's flag names and defaults. [`crate::settings`]
//! resolves these raw strings into typed settings.

use clap::{Parser, Subcommand};

/// `tidemark`: a Prometheus-compatible monitoring server.
#[derive(Debug, Clone, Parser)]
#[command(name = "tidemark", version, about, long_about = None)]
pub struct Cli {
    /// A subcommand; without one the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Prometheus configuration file path. Without this flag and without the file, a built-in
    /// configuration that scrapes Tidemark itself is used.
    #[arg(long = "config.file")]
    pub config_file: Option<String>,

    /// Base path for metrics storage.
    #[arg(long = "storage.tsdb.path", default_value = "data/")]
    pub storage_path: String,

    /// How long to retain samples in storage (`0` keeps them forever).
    #[arg(long = "storage.tsdb.retention.time", default_value = "15d")]
    pub retention_time: String,

    /// Maximum number of bytes that can be stored for blocks (units: B, KB, MB, GB, TB, PB,
    /// EB). `0` is no limit.
    #[arg(long = "storage.tsdb.retention.size", default_value = "0")]
    pub retention_size: String,

    /// Address to listen on for UI, API, and telemetry.
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:9090")]
    pub listen_address: String,

    /// Path to a configuration file that can enable TLS or authentication (Prometheus's web
    /// config format).
    #[arg(long = "web.config.file", default_value = "")]
    pub web_config_file: String,

    /// The URL under which Tidemark is externally reachable.
    #[arg(long = "web.external-url", default_value = "")]
    pub external_url: String,

    /// Prefix for the internal routes of web endpoints (defaults to the path of
    /// --web.external-url).
    #[arg(long = "web.route-prefix")]
    pub route_prefix: Option<String>,

    /// Enable shutdown and reload via HTTP request.
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,

    /// Enable API endpoints for admin control actions.
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,

    /// Accepted for compatibility: the remote-write receiver is on by default.
    #[arg(long = "web.enable-remote-write-receiver")]
    pub enable_remote_write_receiver: bool,

    /// Turn the remote-write receiver (`POST /api/v1/write`) off.
    #[arg(long = "web.disable-remote-write-receiver")]
    pub disable_remote_write_receiver: bool,

    /// The maximum lookback duration for retrieving metrics during expression evaluations.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub lookback_delta: String,

    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", default_value = "50000000")]
    pub max_samples: String,

    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub query_timeout: String,

    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value = "20")]
    pub max_concurrency: String,

    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,

    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
}

/// Subcommands besides running the server.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Check configuration files, like `promtool check config`.
    Check {
        /// What to check.
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// Import an OpenMetrics or text-format file with timestamps into blocks (like `promtool
    /// tsdb create-blocks-from openmetrics`).
    Backfill {
        /// The input file.
        file: String,
        /// The data directory to write blocks into.
        #[arg(default_value = "data/")]
        output: String,
    },
}

/// `tidemark check ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum CheckCommand {
    /// Validate one or more `prometheus.yml` files.
    Config {
        /// The files.
        #[arg(required = true)]
        files: Vec<String>,
    },
}
