//! Settings resolved from the command line: typed values the rest of the server consumes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tidemark_ingest::config::{ByteSize, Duration as PromDuration};

use crate::cli::{GivenFlag, Parsed, ACTIVE_BOOL_FLAGS};

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file (given with `--config.file`, or `prometheus.yml` when it exists).
    File(PathBuf),
    /// The built-in self-scrape configuration.
    BuiltIn,
}

/// Everything the server needs from its flags.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration's source.
    pub config: ConfigSource,
    /// The data directory.
    pub storage_path: PathBuf,
    /// Time retention; `None` keeps everything.
    pub retention_time: Option<Duration>,
    /// Size retention in bytes; `None` is no limit.
    pub retention_size: Option<u64>,
    /// The first address to listen on (`--web.listen-address`).
    pub listen_address: SocketAddr,
    /// Every address to listen on (the flag can be repeated), the first one first.
    pub listen_addresses: Vec<SocketAddr>,
    /// `--web.config.file`, if given.
    pub web_config_file: Option<PathBuf>,
    /// The externally reachable URL (may be empty).
    pub external_url: String,
    /// The prefix of every route, without a trailing slash (`""` for none).
    pub route_prefix: String,
    /// `/-/reload` and `/-/quit` are enabled.
    pub enable_lifecycle: bool,
    /// The admin API is enabled.
    pub enable_admin_api: bool,
    /// `POST /api/v1/write` is enabled.
    pub remote_write_receiver: bool,
    /// The lookback delta.
    pub lookback_delta: Duration,
    /// The per-query sample limit.
    pub max_samples: u64,
    /// The query timeout.
    pub query_timeout: Duration,
    /// The number of queries evaluated at once.
    pub max_concurrency: usize,
    /// `--web.max-connections` (`0`: no limit).
    pub max_connections: usize,
    /// `--web.cors.origin`, compiled fully anchored.
    pub cors_origin: tidemark_ingest::relabel::Regex,
    /// The `--enable-feature` values Prometheus 3.5 knows, as given.
    pub features: Vec<String>,
    /// Feature names Prometheus 3.5 does not know (logged as a warning at start).
    pub unknown_features: Vec<String>,
    /// `--enable-feature=promql-experimental-functions`.
    pub promql_experimental_functions: bool,
    /// `--enable-feature=promql-duration-expr`.
    pub promql_duration_expr: bool,
    /// `--enable-feature=promql-delayed-name-removal`.
    pub promql_delayed_name_removal: bool,
    /// `--storage.tsdb.min-block-duration` in milliseconds.
    pub min_block_duration: i64,
    /// `--storage.tsdb.max-block-duration` in milliseconds, if given.
    pub max_block_duration: Option<i64>,
    /// `--storage.tsdb.wal-segment-size` in bytes; `None` for the default.
    pub wal_segment_size: Option<u64>,
    /// Inactive flags given on the command line (logged once at start).
    pub inactive_given: Vec<GivenFlag>,
    /// The log level.
    pub log_level: String,
    /// `logfmt` or `json`.
    pub log_format: String,
    /// Every flag with its value, sorted by name, for `/api/v1/status/flags`.
    pub flags: Vec<(String, String)>,
}

/// A flag value is invalid.
#[derive(Debug, thiserror::Error)]
#[error("invalid value {value:?} for flag --{flag}: {cause}")]
pub struct FlagError {
    /// The flag.
    pub flag: &'static str,
    /// The value.
    pub value: String,
    /// Why.
    pub cause: String,
}

fn duration(flag: &'static str, value: &str) -> Result<Duration, FlagError> {
    PromDuration::parse(value)
        .map(PromDuration::to_std)
        .map_err(|e| FlagError {
            flag,
            value: value.to_owned(),
            cause: e.to_string(),
        })
}

fn number<T: std::str::FromStr>(flag: &'static str, value: &str) -> Result<T, FlagError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| FlagError {
        flag,
        value: value.to_owned(),
        cause: e.to_string(),
    })
}

/// `--enable-feature` names Prometheus 3.5 knows (others are logged as unknown, as it does).
pub const KNOWN_FEATURES: &[&str] = &[
    "exemplar-storage",
    "memory-snapshot-on-shutdown",
    "extra-scrape-metrics",
    "metadata-wal-records",
    "promql-per-step-stats",
    "promql-experimental-functions",
    "native-histograms",
    "created-timestamp-zero-ingestion",
    "delayed-compaction",
    "promql-delayed-name-removal",
    "promql-duration-expr",
    "auto-reload-config",
    "concurrent-rule-eval",
    "type-and-unit-labels",
    "use-uncached-io",
    "ooo-native-histograms",
];

/// The features Tidemark acts on; the other known ones are accepted and logged as inactive.
pub const ACTIVE_FEATURES: &[&str] = &[
    "promql-experimental-functions",
    "promql-duration-expr",
    "promql-delayed-name-removal",
];

fn byte_size(flag: &'static str, value: &str) -> Result<u64, FlagError> {
    let err = |cause: String| FlagError {
        flag,
        value: value.to_owned(),
        cause,
    };
    // Prometheus 3.5 requires a unit (`units: unknown unit  in 100`).
    if value.bytes().last().is_some_and(|b| b.is_ascii_digit()) {
        return Err(err(format!("units: unknown unit  in {value}")));
    }
    ByteSize::parse(value)
        .map(|ByteSize(n)| n)
        .map_err(|e| err(e.to_string()))
}

impl Settings {
    /// The PromQL features `--enable-feature` turned on, for the engine and every endpoint
    /// that parses a query.
    pub fn promql_features(&self) -> tidemark_query::Features {
        tidemark_query::Features {
            experimental_functions: self.promql_experimental_functions,
            duration_expressions: self.promql_duration_expr,
            delayed_name_removal: self.promql_delayed_name_removal,
        }
    }

    /// Resolves and validates the flags.
    pub fn from_cli(parsed: &Parsed) -> Result<Self, FlagError> {
        let cli = &parsed.cli;
        let config = match &cli.config_file {
            Some(f) => ConfigSource::File(PathBuf::from(f)),
            None if std::path::Path::new("prometheus.yml").exists() => {
                ConfigSource::File(PathBuf::from("prometheus.yml"))
            }
            None => ConfigSource::BuiltIn,
        };
        let retention_size = match &cli.retention_size {
            Some(v) => match byte_size("storage.tsdb.retention.size", v)? {
                0 => None,
                n => Some(n),
            },
            None => None,
        };
        // As Prometheus 3.5: when neither a time nor a size retention is set (unset or 0),
        // time retention is 15d; with only a size, there is no time limit.
        let given_time = match &cli.retention_time {
            Some(t) => duration("storage.tsdb.retention.time", t)?,
            None => Duration::ZERO,
        };
        let (retention_time, retention_time_text) = if !given_time.is_zero() {
            (
                Some(given_time),
                canonical_duration(cli.retention_time.as_deref().unwrap_or_default()),
            )
        } else if retention_size.is_none() {
            (Some(Duration::from_secs(15 * 86_400)), "15d".to_owned())
        } else {
            (None, "0s".to_owned())
        };
        if cli.listen_address.is_empty() {
            return Err(FlagError {
                flag: "web.listen-address",
                value: String::new(),
                cause: "at least one address is needed".into(),
            });
        }
        let listen_addresses = cli
            .listen_address
            .iter()
            .map(|a| resolve_listen(a))
            .collect::<Result<Vec<_>, _>>()?;
        let route_prefix = match &cli.route_prefix {
            Some(p) => p.clone(),
            None => external_path(&cli.external_url),
        };
        let route_prefix = route_prefix.trim_end_matches('/').to_owned();
        let route_prefix = if route_prefix.is_empty() || route_prefix.starts_with('/') {
            route_prefix
        } else {
            format!("/{route_prefix}")
        };
        if !matches!(cli.log_level.as_str(), "debug" | "info" | "warn" | "error") {
            return Err(FlagError {
                flag: "log.level",
                value: cli.log_level.clone(),
                cause: format!("unrecognized log level {}", cli.log_level),
            });
        }
        if !matches!(cli.log_format.as_str(), "logfmt" | "json") {
            return Err(FlagError {
                flag: "log.format",
                value: cli.log_format.clone(),
                cause: format!("unrecognized log format {}", cli.log_format),
            });
        }
        let cors_origin =
            tidemark_ingest::relabel::Regex::new(&cli.cors_origin).map_err(|cause| FlagError {
                flag: "web.cors.origin",
                value: cli.cors_origin.clone(),
                cause,
            })?;
        let mut features = Vec::new();
        let mut unknown_features = Vec::new();
        for f in cli
            .enable_feature
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
        {
            if KNOWN_FEATURES.contains(&f) {
                features.push(f.to_owned());
            } else {
                unknown_features.push(f.to_owned());
            }
        }
        let has = |name: &str| features.iter().any(|f| f == name);
        let min_block_duration =
            duration("storage.tsdb.min-block-duration", &cli.min_block_duration)?.as_millis()
                as i64;
        let max_block_duration = match &cli.max_block_duration {
            Some(v) => Some(duration("storage.tsdb.max-block-duration", v)?.as_millis() as i64),
            None => None,
        };
        let wal_segment_size =
            match byte_size("storage.tsdb.wal-segment-size", &cli.wal_segment_size)? {
                0 => None,
                n => Some(n),
            };
        let max_concurrency: usize = number("query.max-concurrency", &cli.max_concurrency)?;
        let max_connections: usize = number("web.max-connections", &cli.max_connections)?;
        let bool_flag = |yes: bool, no: bool| (yes && !no).to_string();
        let mut flags = vec![
            (
                "config.file".to_owned(),
                cli.config_file
                    .clone()
                    .unwrap_or_else(|| "prometheus.yml".into()),
            ),
            ("storage.tsdb.path".into(), cli.storage_path.clone()),
            (
                "storage.tsdb.retention.time".into(),
                retention_time_text.clone(),
            ),
            (
                "storage.tsdb.retention.size".into(),
                crate::api::base2_bytes(retention_size.unwrap_or(0)),
            ),
            (
                "storage.tsdb.min-block-duration".into(),
                canonical_duration(&cli.min_block_duration),
            ),
            (
                "storage.tsdb.max-block-duration".into(),
                match &cli.max_block_duration {
                    Some(v) => canonical_duration(v),
                    None => default_max_block_duration(retention_time),
                },
            ),
            (
                "storage.tsdb.wal-segment-size".into(),
                crate::api::base2_bytes(wal_segment_size.unwrap_or(0)),
            ),
            ("web.listen-address".into(), cli.listen_address.join(",")),
            ("web.config.file".into(), cli.web_config_file.clone()),
            ("web.external-url".into(), cli.external_url.clone()),
            (
                "web.route-prefix".into(),
                if route_prefix.is_empty() {
                    "/".to_owned()
                } else {
                    route_prefix.clone()
                },
            ),
            ("web.cors.origin".into(), cli.cors_origin.clone()),
            ("web.max-connections".into(), cli.max_connections.clone()),
            (
                "web.enable-lifecycle".into(),
                bool_flag(cli.enable_lifecycle, cli.no_enable_lifecycle),
            ),
            (
                "web.enable-admin-api".into(),
                bool_flag(cli.enable_admin_api, cli.no_enable_admin_api),
            ),
            (
                "web.enable-remote-write-receiver".into(),
                bool_flag(
                    cli.enable_remote_write_receiver,
                    cli.no_enable_remote_write_receiver,
                ),
            ),
            (
                "query.lookback-delta".into(),
                canonical_duration(&cli.lookback_delta),
            ),
            ("query.max-samples".into(), cli.max_samples.clone()),
            (
                "query.timeout".into(),
                canonical_duration(&cli.query_timeout),
            ),
            ("query.max-concurrency".into(), cli.max_concurrency.clone()),
            ("enable-feature".into(), cli.enable_feature.join(",")),
            ("log.level".into(), cli.log_level.clone()),
            ("log.format".into(), cli.log_format.clone()),
        ];
        debug_assert_eq!(ACTIVE_BOOL_FLAGS.len(), 3);
        flags.extend(
            parsed
                .inactive
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone())),
        );
        flags.sort();
        Ok(Settings {
            config,
            storage_path: PathBuf::from(&cli.storage_path),
            retention_time,
            retention_size,
            listen_address: listen_addresses[0],
            listen_addresses,
            web_config_file: (!cli.web_config_file.is_empty())
                .then(|| PathBuf::from(&cli.web_config_file)),
            external_url: cli.external_url.clone(),
            route_prefix,
            enable_lifecycle: cli.enable_lifecycle && !cli.no_enable_lifecycle,
            enable_admin_api: cli.enable_admin_api && !cli.no_enable_admin_api,
            remote_write_receiver: cli.enable_remote_write_receiver
                && !cli.no_enable_remote_write_receiver,
            lookback_delta: duration("query.lookback-delta", &cli.lookback_delta)?,
            max_samples: number("query.max-samples", &cli.max_samples)?,
            query_timeout: duration("query.timeout", &cli.query_timeout)?,
            max_concurrency: max_concurrency.max(1),
            cors_origin,
            max_connections,
            promql_experimental_functions: has("promql-experimental-functions"),
            promql_duration_expr: has("promql-duration-expr"),
            promql_delayed_name_removal: has("promql-delayed-name-removal"),
            features,
            unknown_features,
            min_block_duration,
            max_block_duration,
            wal_segment_size,
            inactive_given: parsed.given.clone(),
            log_level: cli.log_level.clone(),
            log_format: cli.log_format.clone(),
            flags,
        })
    }

    /// Logs, once at start, every flag and feature given that Tidemark does not act on.
    pub fn log_inactive(&self) {
        for f in &self.inactive_given {
            tracing::warn!(flag = f.name, value = %f.value, reason = f.why, "flag accepted but has no effect in Tidemark");
        }
        for f in &self.unknown_features {
            tracing::warn!(option = %f, "Unknown option for --enable-feature");
        }
        for f in &self.features {
            if !ACTIVE_FEATURES.contains(&f.as_str()) {
                tracing::warn!(feature = %f, "--enable-feature accepted but has no effect in Tidemark");
            } else {
                tracing::info!(feature = %f, "feature enabled");
            }
        }
    }
}

/// A duration as Prometheus prints it back (`120s` → `2m`, `24h` → `1d`); the text itself if
/// it does not parse (it was validated already where that matters).
fn canonical_duration(text: &str) -> String {
    PromDuration::parse(text).map_or_else(|_| text.to_owned(), |d| d.to_string())
}

/// Prometheus's default `--storage.tsdb.max-block-duration`, as `/api/v1/status/flags` shows
/// it: a tenth of the time retention, at most 31d (the engine computes the same).
fn default_max_block_duration(retention: Option<Duration>) -> String {
    let cap = 31 * 86_400_000u64;
    let ms = retention.map_or(cap, |r| (r.as_millis() as u64 / 10).min(cap));
    PromDuration::from_millis(ms).to_string()
}

/// `host:port`, where an empty host means all interfaces (as Go's `net.Listen`).
fn resolve_listen(value: &str) -> Result<SocketAddr, FlagError> {
    use std::net::ToSocketAddrs;
    let err = |cause: String| FlagError {
        flag: "web.listen-address",
        value: value.to_owned(),
        cause,
    };
    let addr = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    addr.to_socket_addrs()
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("no address".into()))
}

/// The path part of an external URL (`http://host/prefix` → `/prefix`).
fn external_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Parsed;

    #[test]
    fn defaults_are_prometheus_defaults() {
        let cli = Parsed::try_parse_from(["tidemark"]).unwrap();
        let s = Settings::from_cli(&cli).unwrap();
        assert_eq!(s.listen_address.port(), 9090);
        assert_eq!(s.retention_time, Some(Duration::from_secs(15 * 86400)));
        assert_eq!(s.lookback_delta, Duration::from_secs(300));
        assert_eq!(s.query_timeout, Duration::from_secs(120));
        assert_eq!(s.max_samples, 50_000_000);
        assert_eq!(s.max_concurrency, 20);
        assert!(!s.remote_write_receiver);
        assert_eq!(s.listen_addresses.len(), 1);
        assert_eq!(s.route_prefix, "");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let cli = Parsed::try_parse_from(["tidemark", "--query.timeout=5x"]).unwrap();
        let e = Settings::from_cli(&cli).unwrap_err();
        assert!(e.to_string().contains("--query.timeout"), "{e}");
        assert!(Parsed::try_parse_from(["tidemark", "--no.such-flag"]).is_err());
    }

    #[test]
    fn route_prefix_from_external_url() {
        let cli =
            Parsed::try_parse_from(["tidemark", "--web.external-url=http://example.org/prom/"])
                .unwrap();
        assert_eq!(Settings::from_cli(&cli).unwrap().route_prefix, "/prom");
    }

    #[test]
    fn retention_defaults_as_prometheus_3() {
        let s = |args: &[&str]| {
            let mut all = vec!["tidemark"];
            all.extend_from_slice(args);
            Settings::from_cli(&Parsed::try_parse_from(all).unwrap())
        };
        let only_size = s(&["--storage.tsdb.retention.size=512MB"]).unwrap();
        assert_eq!(only_size.retention_time, None);
        assert_eq!(only_size.retention_size, Some(512 << 20));
        let zero = s(&[
            "--storage.tsdb.retention.time=0s",
            "--storage.tsdb.retention.size=0B",
        ])
        .unwrap();
        assert_eq!(zero.retention_time, Some(Duration::from_secs(15 * 86400)));
        let e = s(&["--storage.tsdb.retention.size=100"]).unwrap_err();
        assert!(e.to_string().contains("unknown unit"), "{e}");
        let both = s(&[
            "--storage.tsdb.retention.size=1GB",
            "--storage.tsdb.retention.time=2d",
        ])
        .unwrap();
        assert_eq!(both.retention_time, Some(Duration::from_secs(2 * 86400)));
    }

    #[test]
    fn features_and_listen_addresses() {
        let cli = Parsed::try_parse_from([
            "tidemark",
            "--enable-feature=promql-duration-expr,bogus",
            "--enable-feature=native-histograms",
            "--web.listen-address=127.0.0.1:1",
            "--web.listen-address=127.0.0.1:2",
        ])
        .unwrap();
        let s = Settings::from_cli(&cli).unwrap();
        assert!(s.promql_duration_expr && !s.promql_experimental_functions);
        assert_eq!(s.features, ["promql-duration-expr", "native-histograms"]);
        assert_eq!(s.unknown_features, ["bogus"]);
        assert_eq!(s.listen_addresses.len(), 2);
        let flags: std::collections::BTreeMap<_, _> = s.flags.iter().cloned().collect();
        assert_eq!(flags["web.listen-address"], "127.0.0.1:1,127.0.0.1:2");
        assert_eq!(flags["auto-gomemlimit.ratio"], "0.9");
        let p = Parsed::try_parse_from(["tidemark", "--query.timeout=120s"]).unwrap();
        let s = Settings::from_cli(&p).unwrap();
        let flags: std::collections::BTreeMap<_, _> = s.flags.iter().cloned().collect();
        assert_eq!(flags["query.timeout"], "2m");
        let p = Parsed::try_parse_from([
            "tidemark",
            "--storage.tsdb.retention.size=512MB",
            "--storage.tsdb.retention.time=24h",
        ])
        .unwrap();
        let s = Settings::from_cli(&p).unwrap();
        let flags: std::collections::BTreeMap<_, _> = s.flags.iter().cloned().collect();
        assert_eq!(flags["storage.tsdb.retention.size"], "512MiB");
        assert_eq!(flags["storage.tsdb.retention.time"], "1d");
        assert_eq!(flags["storage.tsdb.max-block-duration"], "2h24m");
        assert_eq!(flags.len(), 66, "{flags:?}");
    }
}
