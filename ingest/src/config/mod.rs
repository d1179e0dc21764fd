//! Prometheus's configuration file, `prometheus.yml`, parsed strictly and validated as
//! Prometheus 2.42 does before anything starts.
//!
//! [`Config::load`] / [`Config::parse`] give a fully resolved [`Config`]: every scrape job's
//! interval, timeout and limits already carry the global defaults, relabel rules are compiled,
//! and relative file paths are made absolute against the file's folder. An unknown key, a bad
//! duration, a bad regex or an invalid combination is a [`ConfigError`] that names the line,
//! the job and the field.
//!
//! Where Prometheus v3 added fields (global scrape limits, `scrape_protocols`,
//! `keep_dropped_targets`, `enable_compression`, …) they are accepted as well; 2.42 would
//! reject them as unknown. `rule_files`, `alerting`, `remote_write`, `remote_read`, `storage`
//! and `tracing` are parsed and validated but not acted upon; [`Config::inactive_sections`]
//! lists the ones a file uses.

mod duration;
pub mod http;
mod size;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::discovery::kubernetes::KubernetesSdConfig;
use crate::discovery::{LabelSet, TargetGroup};
use crate::relabel::{is_valid_label_name, RelabelConfig};

pub use duration::{Duration, DurationError};
pub use http::HttpClientConfig;
pub use size::{ByteSize, SizeError};

use http::{default_true, resolve_path, Authorization, BasicAuth, TlsConfig};

/// Prometheus's default `scrape_interval`.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
/// Prometheus's default `scrape_timeout`.
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Prometheus's default `evaluation_interval`.
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);
/// The default `file_sd_configs` `refresh_interval`.
pub const DEFAULT_FILE_SD_REFRESH: Duration = Duration::from_secs(300);

/// Why a configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The YAML is malformed or its content invalid.
    #[error("{0}")]
    Invalid(Box<InvalidConfig>),
}

impl ConfigError {
    /// The details of an invalid configuration (`None` for I/O errors).
    pub fn invalid(&self) -> Option<&InvalidConfig> {
        match self {
            ConfigError::Invalid(i) => Some(i),
            ConfigError::Io { .. } => None,
        }
    }
}

/// An invalid configuration: Prometheus's message plus where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidConfig {
    /// The reason, worded as Prometheus 2.42 words it where it has a check of its own.
    pub message: String,
    /// The file, when loaded from one.
    pub file: Option<PathBuf>,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The 1-based column, when known.
    pub column: Option<usize>,
    /// The scrape job concerned, if any.
    pub job: Option<String>,
    /// The YAML path of the field concerned (e.g. `relabel_configs[2]`), if known.
    pub field: Option<String>,
}

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            wrote = true;
        }
        if let Some(line) = self.line {
            if wrote {
                f.write_str(":")?;
            }
            write!(f, "line {line}")?;
            if let Some(c) = self.column {
                write!(f, " column {c}")?;
            }
            wrote = true;
        }
        if let Some(job) = &self.job {
            if wrote {
                f.write_str(": ")?;
            }
            write!(f, "scrape config {job:?}")?;
            wrote = true;
        }
        if let Some(field) = &self.field {
            if wrote {
                f.write_str(": ")?;
            }
            write!(f, "field {field}")?;
            wrote = true;
        }
        if wrote {
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// A loaded, validated and resolved `prometheus.yml`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// `global`.
    pub global: GlobalConfig,
    /// `scrape_configs`, with defaults resolved from `global`.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `rule_files` (parsed, not evaluated).
    pub rule_files: Vec<String>,
    /// `alerting` (parsed, not active).
    pub alerting: AlertingConfig,
    /// `remote_write` (parsed, not active).
    pub remote_write: Vec<RemoteWriteConfig>,
    /// `remote_read` (parsed, not active).
    pub remote_read: Vec<RemoteReadConfig>,
    /// `storage` (parsed, not active).
    pub storage: StorageConfig,
    /// `tracing` (parsed, not active).
    pub tracing: TracingConfig,
}

/// `global`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalConfig {
    /// `scrape_interval` (default 1m; 0 takes the default).
    pub scrape_interval: Duration,
    /// `scrape_timeout` (default `min(10s, scrape_interval)`).
    pub scrape_timeout: Duration,
    /// `evaluation_interval` (default 1m).
    pub evaluation_interval: Duration,
    /// `external_labels`. 2.42 does not expand `$VAR` in them (only behind a feature flag),
    /// so they are kept verbatim.
    pub external_labels: LabelSet,
    /// `query_log_file`.
    pub query_log_file: Option<String>,
    /// Global scrape limits (a v3 feature; each job inherits a value where its own is 0).
    pub limits: ScrapeLimits,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            scrape_timeout: DEFAULT_SCRAPE_TIMEOUT,
            evaluation_interval: DEFAULT_EVALUATION_INTERVAL,
            external_labels: LabelSet::new(),
            query_log_file: None,
            limits: ScrapeLimits::default(),
        }
    }
}

/// Per-scrape limits; 0 means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScrapeLimits {
    /// `sample_limit`: samples per scrape after metric relabeling.
    pub sample_limit: u64,
    /// `label_limit`: labels per series.
    pub label_limit: u64,
    /// `label_name_length_limit`, in bytes.
    pub label_name_length_limit: u64,
    /// `label_value_length_limit`, in bytes.
    pub label_value_length_limit: u64,
    /// `target_limit`: active targets per job.
    pub target_limit: u64,
    /// `body_size_limit`: uncompressed body bytes.
    pub body_size_limit: ByteSize,
    /// `keep_dropped_targets`: dropped targets kept for the UI (v3).
    pub keep_dropped_targets: u64,
}

impl ScrapeLimits {
    /// Each limit that is 0 here takes `global`'s value.
    fn inherit(self, global: &ScrapeLimits) -> ScrapeLimits {
        let pick = |own: u64, g: u64| if own == 0 { g } else { own };
        ScrapeLimits {
            sample_limit: pick(self.sample_limit, global.sample_limit),
            label_limit: pick(self.label_limit, global.label_limit),
            label_name_length_limit: pick(
                self.label_name_length_limit,
                global.label_name_length_limit,
            ),
            label_value_length_limit: pick(
                self.label_value_length_limit,
                global.label_value_length_limit,
            ),
            target_limit: pick(self.target_limit, global.target_limit),
            body_size_limit: ByteSize(pick(self.body_size_limit.0, global.body_size_limit.0)),
            keep_dropped_targets: pick(self.keep_dropped_targets, global.keep_dropped_targets),
        }
    }
}

/// One `static_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `targets`: each becomes a target with `__address__` set to it.
    #[serde(default, deserialize_with = "null_default")]
    pub targets: Vec<String>,
    /// `labels`: group labels.
    #[serde(default, deserialize_with = "null_default")]
    pub labels: LabelSet,
}

/// One `file_sd_configs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// `files`: paths or globs (`*` in the last path element only) of `.json`/`.yml`/`.yaml`
    /// files.
    pub files: Vec<String>,
    /// `refresh_interval` (default 5m).
    #[serde(default = "default_file_sd_refresh")]
    pub refresh_interval: Duration,
}

fn default_file_sd_refresh() -> Duration {
    DEFAULT_FILE_SD_REFRESH
}

/// One scrape job, with every default resolved. Equality tells whether a reload must restart
/// the job.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeConfig {
    /// `job_name`: unique, non-empty; the default `job` label.
    pub job_name: String,
    /// `scrape_interval` (default: global).
    pub scrape_interval: Duration,
    /// `scrape_timeout` (default: `min(global timeout, scrape_interval)`).
    pub scrape_timeout: Duration,
    /// `metrics_path` (default `/metrics`).
    pub metrics_path: String,
    /// `scheme` (default `http`).
    pub scheme: String,
    /// `params`: URL query parameters.
    pub params: BTreeMap<String, Vec<String>>,
    /// `honor_labels` (default false).
    pub honor_labels: bool,
    /// `honor_timestamps` (default true).
    pub honor_timestamps: bool,
    /// `track_timestamps_staleness` (v3, default false).
    pub track_timestamps_staleness: bool,
    /// `enable_compression` (v3, default true): ask for gzip.
    pub enable_compression: bool,
    /// `scrape_protocols` (v3); empty means the default list.
    pub scrape_protocols: Vec<String>,
    /// `fallback_scrape_protocol` (v3).
    pub fallback_scrape_protocol: Option<String>,
    /// `static_configs`.
    pub static_configs: Vec<StaticConfig>,
    /// `file_sd_configs`.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// `kubernetes_sd_configs`.
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// `relabel_configs`: target relabeling.
    pub relabel_configs: Vec<RelabelConfig>,
    /// `metric_relabel_configs`: per-sample relabeling.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// The limits, global values already inherited.
    pub limits: ScrapeLimits,
    /// The inline HTTP client fields, validated and normalised (`bearer_token` →
    /// `authorization`).
    pub http_client_config: HttpClientConfig,
}

impl ScrapeConfig {
    /// The `static_configs` as target groups, with sources `0`, `1`, … as Prometheus names
    /// them.
    pub fn static_target_groups(&self) -> Vec<TargetGroup> {
        self.static_configs
            .iter()
            .enumerate()
            .map(|(i, sc)| TargetGroup {
                source: i.to_string(),
                targets: sc
                    .targets
                    .iter()
                    .map(|t| LabelSet::from([("__address__".to_owned(), t.clone())]))
                    .collect(),
                labels: sc.labels.clone(),
            })
            .collect()
    }
}

/// `alerting` (parsed, not active).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// `alert_relabel_configs` (validated like any relabel rule).
    #[serde(default, deserialize_with = "null_default")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// `alertmanagers`, kept as YAML.
    #[serde(default, deserialize_with = "null_default")]
    pub alertmanagers: Vec<serde_yaml::Mapping>,
}

/// One `remote_write` entry (parsed, not active).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RemoteWriteConfig {
    /// `url` (required).
    pub url: String,
    /// `name`: unique among remote write entries when set.
    #[serde(default)]
    pub name: Option<String>,
    /// `remote_timeout`.
    #[serde(default)]
    pub remote_timeout: Option<Duration>,
    /// `write_relabel_configs` (validated).
    #[serde(default, deserialize_with = "null_default")]
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// Every other field, kept as YAML.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_yaml::Value>,
}

/// One `remote_read` entry (parsed, not active).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RemoteReadConfig {
    /// `url` (required).
    pub url: String,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `remote_timeout`.
    #[serde(default)]
    pub remote_timeout: Option<Duration>,
    /// Every other field, kept as YAML.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_yaml::Value>,
}

/// `storage` (parsed, not active).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `tsdb`.
    #[serde(default)]
    pub tsdb: Option<TsdbConfig>,
    /// `exemplars`.
    #[serde(default)]
    pub exemplars: Option<ExemplarsConfig>,
}

/// `storage.tsdb`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// `out_of_order_time_window`.
    #[serde(default)]
    pub out_of_order_time_window: Option<Duration>,
}

/// `storage.exemplars`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// `max_exemplars`.
    #[serde(default)]
    pub max_exemplars: Option<i64>,
}

/// `tracing` (parsed, not active).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingConfig {
    /// `endpoint`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `client_type` (`grpc` or `http`).
    #[serde(default)]
    pub client_type: Option<String>,
    /// `sampling_fraction`.
    #[serde(default)]
    pub sampling_fraction: Option<f64>,
    /// `insecure`.
    #[serde(default)]
    pub insecure: bool,
    /// `headers`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `compression`.
    #[serde(default)]
    pub compression: Option<String>,
    /// `timeout`.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// `tls_config`.
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
}

/// A null YAML value is the type's default, as Go's decoder gives zero values.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigYaml {
    #[serde(default)]
    global: Option<GlobalYaml>,
    #[serde(default, deserialize_with = "null_default")]
    scrape_configs: Vec<Option<ScrapeConfigYaml>>,
    #[serde(default, deserialize_with = "null_default")]
    rule_files: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    alerting: AlertingConfig,
    #[serde(default, deserialize_with = "null_default")]
    remote_write: Vec<RemoteWriteConfig>,
    #[serde(default, deserialize_with = "null_default")]
    remote_read: Vec<RemoteReadConfig>,
    #[serde(default, deserialize_with = "null_default")]
    storage: StorageConfig,
    #[serde(default, deserialize_with = "null_default")]
    tracing: TracingConfig,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GlobalYaml {
    #[serde(default)]
    scrape_interval: Option<Duration>,
    #[serde(default)]
    scrape_timeout: Option<Duration>,
    #[serde(default)]
    evaluation_interval: Option<Duration>,
    #[serde(default, deserialize_with = "null_default")]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    query_log_file: Option<String>,
    // The v3 global limits, listed here because `flatten` and `deny_unknown_fields` do not
    // combine.
    #[serde(default)]
    sample_limit: u64,
    #[serde(default)]
    label_limit: u64,
    #[serde(default)]
    label_name_length_limit: u64,
    #[serde(default)]
    label_value_length_limit: u64,
    #[serde(default)]
    target_limit: u64,
    #[serde(default)]
    body_size_limit: ByteSize,
    #[serde(default)]
    keep_dropped_targets: u64,
}

impl GlobalYaml {
    fn limits(&self) -> ScrapeLimits {
        ScrapeLimits {
            sample_limit: self.sample_limit,
            label_limit: self.label_limit,
            label_name_length_limit: self.label_name_length_limit,
            label_value_length_limit: self.label_value_length_limit,
            target_limit: self.target_limit,
            body_size_limit: self.body_size_limit,
            keep_dropped_targets: self.keep_dropped_targets,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfigYaml {
    #[serde(default, deserialize_with = "null_default")]
    job_name: String,
    #[serde(default)]
    scrape_interval: Option<Duration>,
    #[serde(default)]
    scrape_timeout: Option<Duration>,
    #[serde(default)]
    metrics_path: Option<String>,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    honor_labels: bool,
    #[serde(default = "default_true")]
    honor_timestamps: bool,
    #[serde(default)]
    track_timestamps_staleness: bool,
    #[serde(default = "default_true")]
    enable_compression: bool,
    #[serde(default)]
    scrape_protocols: Option<Vec<String>>,
    #[serde(default)]
    fallback_scrape_protocol: Option<String>,
    #[serde(default)]
    metric_name_validation_scheme: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    static_configs: Vec<StaticConfig>,
    #[serde(default, deserialize_with = "null_default")]
    file_sd_configs: Vec<FileSdConfig>,
    #[serde(default, deserialize_with = "null_default")]
    kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    #[serde(default, deserialize_with = "null_default")]
    relabel_configs: Vec<Option<RelabelConfig>>,
    #[serde(default, deserialize_with = "null_default")]
    metric_relabel_configs: Vec<Option<RelabelConfig>>,
    #[serde(default)]
    sample_limit: u64,
    #[serde(default)]
    label_limit: u64,
    #[serde(default)]
    label_name_length_limit: u64,
    #[serde(default)]
    label_value_length_limit: u64,
    #[serde(default)]
    target_limit: u64,
    #[serde(default)]
    body_size_limit: ByteSize,
    #[serde(default)]
    keep_dropped_targets: u64,

    // The HTTP client fields, inline as in Prometheus.
    #[serde(default)]
    basic_auth: Option<BasicAuth>,
    #[serde(default)]
    authorization: Option<Authorization>,
    #[serde(default)]
    oauth2: Option<serde_yaml::Value>,
    #[serde(default)]
    bearer_token: Option<String>,
    #[serde(default)]
    bearer_token_file: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    tls_config: TlsConfig,
    #[serde(default)]
    proxy_url: Option<String>,
    #[serde(default)]
    no_proxy: Option<String>,
    #[serde(default)]
    proxy_from_environment: bool,
    #[serde(default, deserialize_with = "null_default")]
    proxy_connect_header: BTreeMap<String, Vec<String>>,
    #[serde(default = "default_true")]
    follow_redirects: bool,
    #[serde(default = "default_true")]
    enable_http2: bool,
    #[serde(default, deserialize_with = "null_default")]
    http_headers: BTreeMap<String, serde_yaml::Value>,
}

/// The scrape protocols Prometheus knows (case-sensitive).
const SCRAPE_PROTOCOLS: [&str; 5] = [
    "OpenMetricsText0.0.1",
    "OpenMetricsText1.0.0",
    "PrometheusProto",
    "PrometheusText0.0.4",
    "PrometheusText1.0.0",
];

/// Where each `job_name:` of the text is, in order: the pre-scan that gives semantic errors a
/// line (serde_yaml keeps no positions for values that deserialised fine).
fn scan_job_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            let t = t.strip_prefix('-').map_or(t, str::trim_start);
            let t = t
                .strip_prefix("job_name")
                .or_else(|| t.strip_prefix("\"job_name\""))
                .or_else(|| t.strip_prefix("'job_name'"));
            t.is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// Context for turning problems into [`InvalidConfig`]s.
struct Ctx<'a> {
    file: Option<&'a Path>,
    job_lines: Vec<usize>,
    job_count: usize,
}

impl Ctx<'_> {
    fn job_line(&self, index: usize) -> Option<usize> {
        // Trust the scan only when it found exactly one `job_name` per job.
        (self.job_lines.len() == self.job_count)
            .then(|| self.job_lines.get(index).copied())
            .flatten()
    }

    fn error(
        &self,
        message: impl Into<String>,
        job: Option<(usize, &str)>,
        field: Option<&str>,
    ) -> ConfigError {
        ConfigError::Invalid(Box::new(InvalidConfig {
            message: message.into(),
            file: self.file.map(Path::to_path_buf),
            line: job.and_then(|(i, _)| self.job_line(i)),
            column: None,
            job: job
                .map(|(_, name)| name.to_owned())
                .filter(|n| !n.is_empty()),
            field: field.map(str::to_owned),
        }))
    }

    /// A serde_yaml error: its message without the path prefix and location suffix, which
    /// become `field` and `line`/`column`; a path into `scrape_configs[i]` names job `i`.
    fn yaml_error(&self, e: &serde_yaml::Error, text: &str) -> ConfigError {
        let mut message = e.to_string();
        let location = e.location();
        if let Some(loc) = &location {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_owned();
            }
        }
        let mut field = None;
        if let Some((path, rest)) = message.split_once(": ") {
            if !path.contains(' ') && path.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                field = Some(path.to_owned());
                message = rest.to_owned();
            }
        }
        if let Some(unknown) = message.strip_prefix("unknown field `") {
            if let Some((name, _)) = unknown.split_once('`') {
                message = format!("unknown field {name:?}");
            }
        }
        let mut job = None;
        if let Some(index) = field
            .as_deref()
            .and_then(|f| f.strip_prefix("scrape_configs["))
            .and_then(|f| f.split_once(']'))
            .and_then(|(n, _)| n.parse::<usize>().ok())
        {
            job = job_name_at(text, index);
            let rest = field
                .as_deref()
                .and_then(|f| f.split_once("].").map(|(_, r)| r.to_owned()));
            field = rest;
        }
        ConfigError::Invalid(Box::new(InvalidConfig {
            message,
            file: self.file.map(Path::to_path_buf),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            job,
            field,
        }))
    }
}

/// The `job_name` of the `index`-th scrape config, read loosely from the YAML (used only to
/// name the job in an error).
fn job_name_at(text: &str, index: usize) -> Option<String> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    value
        .get("scrape_configs")?
        .get(index)?
        .get("job_name")?
        .as_str()
        .map(str::to_owned)
}

impl Config {
    /// Reads and parses `path`; relative file paths in it are resolved against its folder.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Config::parse_inner(&text, Some(path))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        cfg.resolve_paths(dir);
        Ok(cfg)
    }

    /// Parses and validates configuration text (relative paths stay as written).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_inner(text, None)
    }

    fn parse_inner(text: &str, file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut ctx = Ctx {
            file,
            job_lines: scan_job_lines(text),
            job_count: 0,
        };
        // An empty file (or only comments) is a valid, empty configuration.
        let yaml: ConfigYaml = if text.trim().is_empty()
            || serde_yaml::from_str::<serde_yaml::Value>(text).is_ok_and(|v| v.is_null())
        {
            ConfigYaml::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| ctx.yaml_error(&e, text))?
        };
        ctx.job_count = yaml.scrape_configs.len();

        let global = resolve_global(yaml.global.unwrap_or_default())
            .map_err(|(m, f)| ctx.error(m, None, Some(f)))?;

        // Per-job checks first, in file order, as Prometheus unmarshals each job before the
        // cross-job checks.
        let mut jobs = Vec::with_capacity(yaml.scrape_configs.len());
        let mut raw_jobs = Vec::with_capacity(yaml.scrape_configs.len());
        for (i, sc) in yaml.scrape_configs.into_iter().enumerate() {
            let Some(sc) = sc else {
                return Err(ctx.error("empty or null scrape config section", None, None));
            };
            raw_jobs.push(sc);
            let sc = raw_jobs.last().expect("just pushed");
            check_job(sc).map_err(|(m, f)| ctx.error(m, Some((i, &sc.job_name)), f))?;
        }
        let mut names = HashSet::new();
        for (i, sc) in raw_jobs.into_iter().enumerate() {
            let name = sc.job_name.clone();
            let job =
                resolve_job(sc, &global).map_err(|(m, f)| ctx.error(m, Some((i, &name)), f))?;
            if !names.insert(job.job_name.clone()) {
                return Err(ctx.error(
                    format!("found multiple scrape configs with job name {name:?}"),
                    Some((i, &name)),
                    Some("job_name"),
                ));
            }
            jobs.push(job);
        }

        for rf in &yaml.rule_files {
            if !is_valid_rule_path(rf) {
                return Err(ctx.error(
                    format!("invalid rule file path {rf:?}"),
                    None,
                    Some("rule_files"),
                ));
            }
        }
        let mut rw_names = HashSet::new();
        for rw in &yaml.remote_write {
            if let Some(name) = rw.name.as_deref().filter(|n| !n.is_empty()) {
                if !rw_names.insert(name.to_owned()) {
                    return Err(ctx.error(
                        format!("found multiple remote write configs with job name {name:?}"),
                        None,
                        Some("remote_write"),
                    ));
                }
            }
            if rw.url.is_empty() {
                return Err(ctx.error("url for remote_write is empty", None, Some("remote_write")));
            }
        }
        for rr in &yaml.remote_read {
            if rr.url.is_empty() {
                return Err(ctx.error("url for remote_read is empty", None, Some("remote_read")));
            }
        }

        Ok(Config {
            global,
            scrape_configs: jobs,
            rule_files: yaml.rule_files,
            alerting: yaml.alerting,
            remote_write: yaml.remote_write,
            remote_read: yaml.remote_read,
            storage: yaml.storage,
            tracing: yaml.tracing,
        })
    }

    /// The sections present in the file that Tidemark parses but does not act upon, for a
    /// start-up warning.
    pub fn inactive_sections(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.rule_files.is_empty() {
            out.push("rule_files");
        }
        if self.alerting != AlertingConfig::default() {
            out.push("alerting");
        }
        if !self.remote_write.is_empty() {
            out.push("remote_write");
        }
        if !self.remote_read.is_empty() {
            out.push("remote_read");
        }
        if self.storage != StorageConfig::default() {
            out.push("storage");
        }
        if self.tracing != TracingConfig::default() {
            out.push("tracing");
        }
        out
    }

    /// The job named `name`.
    pub fn job(&self, name: &str) -> Option<&ScrapeConfig> {
        self.scrape_configs.iter().find(|j| j.job_name == name)
    }

    fn resolve_paths(&mut self, dir: &Path) {
        for job in &mut self.scrape_configs {
            job.http_client_config.resolve_paths(dir);
            for fsd in &mut job.file_sd_configs {
                for f in &mut fsd.files {
                    let mut p = Some(std::mem::take(f));
                    resolve_path(&mut p, dir);
                    *f = p.unwrap_or_default();
                }
            }
            for k in &mut job.kubernetes_sd_configs {
                resolve_path(&mut k.kubeconfig_file, dir);
                resolve_path(&mut k.bearer_token_file, dir);
                resolve_path(&mut k.tls_config.ca_file, dir);
                resolve_path(&mut k.tls_config.cert_file, dir);
                resolve_path(&mut k.tls_config.key_file, dir);
                if let Some(a) = &mut k.authorization {
                    resolve_path(&mut a.credentials_file, dir);
                }
                if let Some(b) = &mut k.basic_auth {
                    resolve_path(&mut b.password_file, dir);
                    resolve_path(&mut b.username_file, dir);
                }
            }
        }
        for rf in &mut self.rule_files {
            let mut p = Some(std::mem::take(rf));
            resolve_path(&mut p, dir);
            *rf = p.unwrap_or_default();
        }
    }
}

type Problem = (String, Option<&'static str>);

fn resolve_global(g: GlobalYaml) -> Result<GlobalConfig, (String, &'static str)> {
    let limits = g.limits();
    for name in g.external_labels.keys() {
        if !is_valid_label_name(name) {
            return Err((
                format!("{name:?} is not a valid label name"),
                "global.external_labels",
            ));
        }
    }
    let scrape_interval = g
        .scrape_interval
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_SCRAPE_INTERVAL);
    let timeout = g.scrape_timeout.unwrap_or_default();
    if timeout > scrape_interval {
        return Err((
            "global scrape timeout greater than scrape interval".to_owned(),
            "global.scrape_timeout",
        ));
    }
    let scrape_timeout = if timeout.is_zero() {
        DEFAULT_SCRAPE_TIMEOUT.min(scrape_interval)
    } else {
        timeout
    };
    Ok(GlobalConfig {
        scrape_interval,
        scrape_timeout,
        evaluation_interval: g
            .evaluation_interval
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_EVALUATION_INTERVAL),
        external_labels: g
            .external_labels
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        query_log_file: g.query_log_file,
        limits,
    })
}

/// The checks Prometheus's `ScrapeConfig.UnmarshalYAML` makes, in its order.
fn check_job(sc: &ScrapeConfigYaml) -> Result<(), Problem> {
    if sc.job_name.is_empty() {
        return Err(("job_name is empty".to_owned(), Some("job_name")));
    }
    if sc.oauth2.is_some() {
        return Err((
            "oauth2 is not supported by Tidemark".to_owned(),
            Some("oauth2"),
        ));
    }
    http_client_of(sc)
        .validate()
        .map_err(|m| (m, Some("http client config")))?;
    for fsd in &sc.file_sd_configs {
        if fsd.files.is_empty() {
            return Err((
                "file service discovery config must contain at least one path name".to_owned(),
                Some("file_sd_configs"),
            ));
        }
        for f in &fsd.files {
            if !is_valid_file_sd_path(f) {
                return Err((
                    format!("path name {f:?} is not valid for file discovery"),
                    Some("file_sd_configs"),
                ));
            }
        }
    }
    for sc_static in &sc.static_configs {
        for l in sc_static.labels.keys() {
            if !is_valid_label_name(l) {
                return Err((
                    format!("{l:?} is not a valid label name"),
                    Some("static_configs"),
                ));
            }
        }
    }
    // Catch URLs written as targets, unless relabeling may rewrite `__address__`.
    if sc.relabel_configs.is_empty() {
        for t in sc.static_configs.iter().flat_map(|s| &s.targets) {
            if t.contains('/') {
                return Err((
                    format!("{t:?} is not a valid hostname"),
                    Some("static_configs"),
                ));
            }
        }
    }
    if sc.relabel_configs.iter().any(Option::is_none) {
        return Err((
            "empty or null target relabeling rule in scrape config".to_owned(),
            Some("relabel_configs"),
        ));
    }
    if sc.metric_relabel_configs.iter().any(Option::is_none) {
        return Err((
            "empty or null metric relabeling rule in scrape config".to_owned(),
            Some("metric_relabel_configs"),
        ));
    }
    if let Some(protocols) = &sc.scrape_protocols {
        if protocols.is_empty() {
            return Err((
                "scrape_protocols cannot be empty".to_owned(),
                Some("scrape_protocols"),
            ));
        }
        let mut seen = HashSet::new();
        for p in protocols {
            if !SCRAPE_PROTOCOLS.contains(&p.as_str()) {
                return Err((
                    format!("unknown scrape protocol {p}, supported: {SCRAPE_PROTOCOLS:?}"),
                    Some("scrape_protocols"),
                ));
            }
            if !seen.insert(p.to_lowercase()) {
                return Err((
                    format!("duplicated protocol in scrape_protocols, got {protocols:?}"),
                    Some("scrape_protocols"),
                ));
            }
        }
    }
    if let Some(p) = &sc.fallback_scrape_protocol {
        if !SCRAPE_PROTOCOLS.contains(&p.as_str()) {
            return Err((
                format!(
                    "invalid fallback_scrape_protocol for scrape config with job name {:?}: unknown scrape protocol {p}, supported: {SCRAPE_PROTOCOLS:?}",
                    sc.job_name
                ),
                Some("fallback_scrape_protocol"),
            ));
        }
    }
    match sc.metric_name_validation_scheme.as_deref() {
        None | Some("") | Some("legacy") => {}
        Some("utf8") => {
            return Err((
                "metric_name_validation_scheme utf8 is not supported: Tidemark validates names as Prometheus 2.42 does (legacy)".to_owned(),
                Some("metric_name_validation_scheme"),
            ))
        }
        Some(other) => {
            return Err((
                format!("unknown scrape config name validation method specified, must be either '', 'legacy' or 'utf8', got {other}"),
                Some("metric_name_validation_scheme"),
            ))
        }
    }
    Ok(())
}

fn http_client_of(sc: &ScrapeConfigYaml) -> HttpClientConfig {
    HttpClientConfig {
        basic_auth: sc.basic_auth.clone(),
        authorization: sc.authorization.clone(),
        bearer_token: sc.bearer_token.clone(),
        bearer_token_file: sc.bearer_token_file.clone(),
        tls_config: sc.tls_config.clone(),
        proxy_url: sc.proxy_url.clone(),
        no_proxy: sc.no_proxy.clone(),
        proxy_from_environment: sc.proxy_from_environment,
        proxy_connect_header: sc.proxy_connect_header.clone(),
        follow_redirects: sc.follow_redirects,
        enable_http2: sc.enable_http2,
        http_headers: sc.http_headers.clone(),
    }
}

/// Defaults from `global`, then the interval/timeout check (Prometheus's `Config` unmarshal).
fn resolve_job(sc: ScrapeConfigYaml, global: &GlobalConfig) -> Result<ScrapeConfig, Problem> {
    let scrape_interval = sc
        .scrape_interval
        .filter(|d| !d.is_zero())
        .unwrap_or(global.scrape_interval);
    let timeout = sc.scrape_timeout.unwrap_or_default();
    if timeout > scrape_interval {
        return Err((
            format!(
                "scrape timeout greater than scrape interval for scrape config with job name {:?}",
                sc.job_name
            ),
            Some("scrape_timeout"),
        ));
    }
    let scrape_timeout = if timeout.is_zero() {
        global.scrape_timeout.min(scrape_interval)
    } else {
        timeout
    };
    let http_client_config = http_client_of(&sc).normalized();
    let limits = ScrapeLimits {
        sample_limit: sc.sample_limit,
        label_limit: sc.label_limit,
        label_name_length_limit: sc.label_name_length_limit,
        label_value_length_limit: sc.label_value_length_limit,
        target_limit: sc.target_limit,
        body_size_limit: sc.body_size_limit,
        keep_dropped_targets: sc.keep_dropped_targets,
    }
    .inherit(&global.limits);
    Ok(ScrapeConfig {
        job_name: sc.job_name,
        scrape_interval,
        scrape_timeout,
        metrics_path: sc.metrics_path.unwrap_or_else(|| "/metrics".to_owned()),
        scheme: sc.scheme.unwrap_or_else(|| "http".to_owned()),
        params: sc.params,
        honor_labels: sc.honor_labels,
        honor_timestamps: sc.honor_timestamps,
        track_timestamps_staleness: sc.track_timestamps_staleness,
        enable_compression: sc.enable_compression,
        scrape_protocols: sc.scrape_protocols.unwrap_or_default(),
        fallback_scrape_protocol: sc.fallback_scrape_protocol,
        static_configs: sc.static_configs,
        file_sd_configs: sc.file_sd_configs,
        kubernetes_sd_configs: sc.kubernetes_sd_configs,
        relabel_configs: sc.relabel_configs.into_iter().flatten().collect(),
        metric_relabel_configs: sc.metric_relabel_configs.into_iter().flatten().collect(),
        limits,
        http_client_config,
    })
}

/// Prometheus's `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`.
fn is_valid_file_sd_path(p: &str) -> bool {
    let Some((stem, ext)) = p.rsplit_once('.') else {
        return false;
    };
    if !matches!(ext, "json" | "yml" | "yaml" | "JSON" | "YML" | "YAML") {
        return false;
    }
    is_valid_rule_path(stem)
}

/// Prometheus's `^[^*]*(\*[^/]*)?$`: at most one `*`, and no `/` after it.
fn is_valid_rule_path(p: &str) -> bool {
    match p.split_once('*') {
        None => true,
        Some((_, after)) => !after.contains('*') && !after.contains('/'),
    }
}

#[cfg(test)]
mod tests;
