//! Settings resolved from the command line: typed values the rest of the server consumes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tidemark_ingest::config::{ByteSize, Duration as PromDuration};

use crate::cli::Cli;

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
    /// The address to listen on.
    pub listen_address: SocketAddr,
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
    /// The log level.
    pub log_level: String,
    /// `logfmt` or `json`.
    pub log_format: String,
    /// The flags as given, for `/api/v1/status/flags`.
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

impl Settings {
    /// Resolves and validates the flags.
    pub fn from_cli(cli: &Cli) -> Result<Self, FlagError> {
        let config = match &cli.config_file {
            Some(f) => ConfigSource::File(PathBuf::from(f)),
            None if std::path::Path::new("prometheus.yml").exists() => {
                ConfigSource::File(PathBuf::from("prometheus.yml"))
            }
            None => ConfigSource::BuiltIn,
        };
        let retention_time = match duration("storage.tsdb.retention.time", &cli.retention_time)? {
            d if d.is_zero() => None,
            d => Some(d),
        };
        let retention_size = match ByteSize::parse(&cli.retention_size) {
            Ok(ByteSize(0)) => None,
            Ok(ByteSize(n)) => Some(n),
            Err(e) => {
                return Err(FlagError {
                    flag: "storage.tsdb.retention.size",
                    value: cli.retention_size.clone(),
                    cause: e.to_string(),
                })
            }
        };
        let listen_address = resolve_listen(&cli.listen_address)?;
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
                cause: "must be one of debug, info, warn, error".into(),
            });
        }
        if !matches!(cli.log_format.as_str(), "logfmt" | "json") {
            return Err(FlagError {
                flag: "log.format",
                value: cli.log_format.clone(),
                cause: "must be logfmt or json".into(),
            });
        }
        let max_concurrency: usize = number("query.max-concurrency", &cli.max_concurrency)?;
        let flags = vec![
            (
                "config.file".to_owned(),
                cli.config_file
                    .clone()
                    .unwrap_or_else(|| "prometheus.yml".into()),
            ),
            ("storage.tsdb.path".into(), cli.storage_path.clone()),
            (
                "storage.tsdb.retention.time".into(),
                cli.retention_time.clone(),
            ),
            (
                "storage.tsdb.retention.size".into(),
                cli.retention_size.clone(),
            ),
            ("web.listen-address".into(), cli.listen_address.clone()),
            ("web.config.file".into(), cli.web_config_file.clone()),
            ("web.external-url".into(), cli.external_url.clone()),
            ("web.route-prefix".into(), route_prefix.clone()),
            (
                "web.enable-lifecycle".into(),
                cli.enable_lifecycle.to_string(),
            ),
            (
                "web.enable-admin-api".into(),
                cli.enable_admin_api.to_string(),
            ),
            (
                "web.enable-remote-write-receiver".into(),
                (!cli.disable_remote_write_receiver).to_string(),
            ),
            ("query.lookback-delta".into(), cli.lookback_delta.clone()),
            ("query.max-samples".into(), cli.max_samples.clone()),
            ("query.timeout".into(), cli.query_timeout.clone()),
            ("query.max-concurrency".into(), cli.max_concurrency.clone()),
            ("log.level".into(), cli.log_level.clone()),
            ("log.format".into(), cli.log_format.clone()),
        ];
        Ok(Settings {
            config,
            storage_path: PathBuf::from(&cli.storage_path),
            retention_time,
            retention_size,
            listen_address,
            web_config_file: (!cli.web_config_file.is_empty())
                .then(|| PathBuf::from(&cli.web_config_file)),
            external_url: cli.external_url.clone(),
            route_prefix,
            enable_lifecycle: cli.enable_lifecycle,
            enable_admin_api: cli.enable_admin_api,
            remote_write_receiver: !cli.disable_remote_write_receiver,
            lookback_delta: duration("query.lookback-delta", &cli.lookback_delta)?,
            max_samples: number("query.max-samples", &cli.max_samples)?,
            query_timeout: duration("query.timeout", &cli.query_timeout)?,
            max_concurrency: max_concurrency.max(1),
            log_level: cli.log_level.clone(),
            log_format: cli.log_format.clone(),
            flags,
        })
    }
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
    use clap::Parser;

    #[test]
    fn defaults_are_prometheus_defaults() {
        let cli = Cli::try_parse_from(["tidemark"]).unwrap();
        let s = Settings::from_cli(&cli).unwrap();
        assert_eq!(s.listen_address.port(), 9090);
        assert_eq!(s.retention_time, Some(Duration::from_secs(15 * 86400)));
        assert_eq!(s.lookback_delta, Duration::from_secs(300));
        assert_eq!(s.query_timeout, Duration::from_secs(120));
        assert_eq!(s.max_samples, 50_000_000);
        assert_eq!(s.max_concurrency, 20);
        assert!(s.remote_write_receiver);
        assert_eq!(s.route_prefix, "");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let cli = Cli::try_parse_from(["tidemark", "--query.timeout=5x"]).unwrap();
        let e = Settings::from_cli(&cli).unwrap_err();
        assert!(e.to_string().contains("--query.timeout"), "{e}");
        assert!(Cli::try_parse_from(["tidemark", "--no.such-flag"]).is_err());
    }

    #[test]
    fn route_prefix_from_external_url() {
        let cli = Cli::try_parse_from(["tidemark", "--web.external-url=http://example.org/prom/"])
            .unwrap();
        assert_eq!(Settings::from_cli(&cli).unwrap().route_prefix, "/prom");
    }
}
