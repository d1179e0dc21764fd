//! Prometheus's configuration file, `prometheus.yml`, parsed strictly and validated as
//! Prometheus 3.5 does before anything starts.
//!
//! [`Config::load`] / [`Config::parse`] give a fully resolved [`Config`]: every scrape job's
//! interval, timeout and limits already carry the global defaults, relabel rules are compiled,
//! and relative file paths are made absolute against the file's folder. An unknown key, a bad
//! duration, a bad regex or an invalid combination is a [`ConfigError`] that names the line,
//! the job and the field.
//!
//! Every field of Prometheus 3.5's file is known (Debian's build: the cloud discovery
//! mechanisms it omits are unknown fields here too). `rule_files`, `alerting`, `remote_write`,
//! `remote_read`, `storage`, `tracing`, `otlp` and `runtime` are parsed and validated but not
//! acted upon; [`Config::inactive_sections`] lists the ones a file uses. Discovery mechanisms
//! Tidemark does not run are validated and listed per job ([`ScrapeConfig::unimplemented_sd`]);
//! [`Config::warnings`] words both for logs and `tidemark check config`.

mod duration;
pub mod http;
pub mod sd;
mod secret;
mod show;
mod size;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::discovery::dns::DnsSdConfig;
use crate::discovery::http::HttpSdConfig;
use crate::discovery::kubernetes::KubernetesSdConfig;
use crate::discovery::{LabelSet, TargetGroup};
use crate::relabel::RelabelConfig;

pub use duration::{Duration, DurationError};
pub use http::HttpClientConfig;
pub use sd::UnimplementedSd;
pub use secret::{Secret, MASK};
pub use sections::{
    AlertingConfig, AlertmanagerConfig, ExemplarsConfig, MetadataConfig, OtlpConfig, QueueConfig,
    RemoteReadConfig, RemoteWriteConfig, RuntimeConfig, SigV4Config, StorageConfig, TracingConfig,
    TsdbConfig,
};
pub use size::{ByteSize, SizeError};

use http::{default_true, resolve_path};

/// Declares a YAML struct whose HTTP client fields are written inline (Prometheus's
/// `yaml:",inline"`), after its own fields, with `http_client()` gathering them: serde's
/// `flatten` cannot be combined with `deny_unknown_fields`.
macro_rules! http_inline_struct {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$fmeta])* $field: $ty,)*
            #[serde(default)]
            basic_auth: Option<$crate::config::http::BasicAuth>,
            #[serde(default)]
            authorization: Option<$crate::config::http::Authorization>,
            #[serde(default)]
            oauth2: Option<$crate::config::http::OAuth2>,
            #[serde(default)]
            bearer_token: Option<$crate::config::secret::Secret>,
            #[serde(default)]
            bearer_token_file: Option<String>,
            #[serde(default, deserialize_with = "crate::config::null_default")]
            tls_config: $crate::config::http::TlsConfig,
            #[serde(default)]
            proxy_url: Option<String>,
            #[serde(default)]
            no_proxy: Option<String>,
            #[serde(default)]
            proxy_from_environment: bool,
            #[serde(default, deserialize_with = "crate::config::null_default")]
            proxy_connect_header: std::collections::BTreeMap<String, Vec<$crate::config::secret::Secret>>,
            #[serde(default = "crate::config::http::default_true")]
            follow_redirects: bool,
            /// `None` when not written: the owner's default applies (remote write's is false).
            #[serde(default)]
            enable_http2: Option<bool>,
            #[serde(default, deserialize_with = "crate::config::null_default")]
            http_headers: std::collections::BTreeMap<String, $crate::config::http::HeaderSpec>,
        }

        impl $name {
            /// The inline HTTP client fields as one configuration.
            #[allow(dead_code)]
            fn http_client(&self) -> $crate::config::http::HttpClientConfig {
                $crate::config::http::HttpClientConfig {
                    basic_auth: self.basic_auth.clone(),
                    authorization: self.authorization.clone(),
                    oauth2: self.oauth2.clone(),
                    bearer_token: self.bearer_token.clone(),
                    bearer_token_file: self.bearer_token_file.clone(),
                    tls_config: self.tls_config.clone(),
                    proxy_url: self.proxy_url.clone(),
                    no_proxy: self.no_proxy.clone(),
                    proxy_from_environment: self.proxy_from_environment,
                    proxy_connect_header: self.proxy_connect_header.clone(),
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2.unwrap_or(true),
                    http_headers: self.http_headers.clone(),
                }
            }
        }
    };
}
// Declared after the macro so that it is in scope there.
mod sections;

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
    /// The reason, worded as Prometheus 3.5 words it where it has a check of its own.
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
    /// `otlp` (parsed, not active).
    pub otlp: OtlpConfig,
    /// `runtime` (parsed; Tidemark has no Go runtime to tune).
    pub runtime: RuntimeConfig,
    /// `scrape_config_files` (parsed; the files are not read yet).
    pub scrape_config_files: Vec<String>,
}

/// Something a valid configuration uses that Tidemark does not act upon: logged at every load
/// and printed by `tidemark check config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarning {
    /// A section that is parsed and validated but not active.
    InactiveSection(&'static str),
    /// A job (or an Alertmanager entry) uses a discovery mechanism Tidemark does not run: it
    /// discovers no targets.
    UnimplementedDiscovery {
        /// The scrape job (`alerting.alertmanagers[i]` for an Alertmanager entry).
        job: String,
        /// The mechanism, e.g. `ec2`.
        mechanism: String,
        /// How many entries of that mechanism the job has.
        entries: usize,
    },
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigWarning::InactiveSection(s) => {
                write!(f, "{s} is accepted but not active in Tidemark yet")
            }
            ConfigWarning::UnimplementedDiscovery {
                job,
                mechanism,
                entries,
            } => write!(
                f,
                "scrape config {job:?}: {mechanism}_sd_configs ({entries} entr{}) is accepted but \
                 {mechanism} service discovery is not implemented in Tidemark: it discovers no targets",
                if *entries == 1 { "y" } else { "ies" }
            ),
        }
    }
}

/// The metric and label name validation scheme (`metric_name_validation_scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationScheme {
    /// Any non-empty UTF-8 name (3.x's default).
    #[default]
    Utf8,
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels without `:`).
    Legacy,
}

impl ValidationScheme {
    /// The name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationScheme::Utf8 => "utf8",
            ValidationScheme::Legacy => "legacy",
        }
    }
}

/// The escaping schemes of `metric_name_escaping_scheme`.
pub const ESCAPING_SCHEMES: [&str; 4] = ["allow-utf-8", "underscores", "dots", "values"];

/// The scrape protocols Prometheus 3.5 proposes by default, in order.
pub const DEFAULT_SCRAPE_PROTOCOLS: [&str; 4] = [
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
];

/// `global`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalConfig {
    /// `scrape_interval` (default 1m; 0 takes the default).
    pub scrape_interval: Duration,
    /// `scrape_timeout` (default `min(10s, scrape_interval)`).
    pub scrape_timeout: Duration,
    /// `evaluation_interval` (default 1m).
    pub evaluation_interval: Duration,
    /// `external_labels`, with `$VAR` / `${VAR}` expanded from the environment as 3.x does
    /// (`$$` is a `$`); labels whose value ends up empty are left out.
    pub external_labels: LabelSet,
    /// `query_log_file`.
    pub query_log_file: Option<String>,
    /// `scrape_failure_log_file`.
    pub scrape_failure_log_file: Option<String>,
    /// `rule_query_offset` (default 0).
    pub rule_query_offset: Duration,
    /// `scrape_protocols`, when set globally.
    pub scrape_protocols: Option<Vec<String>>,
    /// `metric_name_validation_scheme` (default `utf8`; an unknown value is the default, as in
    /// 3.5).
    pub metric_name_validation_scheme: ValidationScheme,
    /// `metric_name_validation_scheme` as written (empty when unset), for showing the
    /// configuration back as 3.5 does.
    pub metric_name_validation_scheme_written: String,
    /// `metric_name_escaping_scheme` as written (empty: from the validation scheme).
    pub metric_name_escaping_scheme: String,
    /// `always_scrape_classic_histograms`.
    pub always_scrape_classic_histograms: bool,
    /// `convert_classic_histograms_to_nhcb`.
    pub convert_classic_histograms_to_nhcb: bool,
    /// Global scrape limits (each job inherits a value where its own is 0).
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
            scrape_failure_log_file: None,
            rule_query_offset: Duration::ZERO,
            scrape_protocols: None,
            metric_name_validation_scheme: ValidationScheme::Utf8,
            metric_name_validation_scheme_written: String::new(),
            metric_name_escaping_scheme: String::new(),
            always_scrape_classic_histograms: false,
            convert_classic_histograms_to_nhcb: false,
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
    /// `enable_compression` (default true): ask for gzip.
    pub enable_compression: bool,
    /// `scrape_protocols`, resolved: the job's, else the global one, else
    /// [`DEFAULT_SCRAPE_PROTOCOLS`].
    pub scrape_protocols: Vec<String>,
    /// `fallback_scrape_protocol`: the format of a body whose `Content-Type` is missing or
    /// unknown.
    pub fallback_scrape_protocol: Option<String>,
    /// `metric_name_validation_scheme`, resolved from the global one when unset.
    pub metric_name_validation_scheme: ValidationScheme,
    /// `metric_name_escaping_scheme`, resolved (one of [`ESCAPING_SCHEMES`]).
    pub metric_name_escaping_scheme: String,
    /// `scrape_failure_log_file` (default: global).
    pub scrape_failure_log_file: Option<String>,
    /// `always_scrape_classic_histograms` (default: global).
    pub always_scrape_classic_histograms: bool,
    /// `convert_classic_histograms_to_nhcb` (default: global).
    pub convert_classic_histograms_to_nhcb: bool,
    /// `native_histogram_bucket_limit` (0: none).
    pub native_histogram_bucket_limit: u64,
    /// `native_histogram_min_bucket_factor` (0: none).
    pub native_histogram_min_bucket_factor: f64,
    /// `static_configs`.
    pub static_configs: Vec<StaticConfig>,
    /// `file_sd_configs`.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// `kubernetes_sd_configs`.
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// `http_sd_configs`.
    pub http_sd_configs: Vec<HttpSdConfig>,
    /// `dns_sd_configs`.
    pub dns_sd_configs: Vec<DnsSdConfig>,
    /// Entries of discovery mechanisms Tidemark validates but does not run (`ec2_sd_configs`,
    /// `docker_sd_configs`, ...), in file order by mechanism.
    pub unimplemented_sd: Vec<UnimplementedSd>,
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
    /// The discovery mechanisms of this job that Tidemark does not run, each once, with the
    /// number of entries: `[("ec2", 2)]`.
    pub fn unimplemented_mechanisms(&self) -> Vec<(&str, usize)> {
        let mut out: Vec<(&str, usize)> = Vec::new();
        for u in &self.unimplemented_sd {
            match out.iter_mut().find(|(m, _)| *m == u.mechanism) {
                Some((_, n)) => *n += 1,
                None => out.push((u.mechanism.as_str(), 1)),
            }
        }
        out
    }

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

/// A null YAML value is the type's default, as Go's decoder gives zero values.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
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
    scrape_config_files: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    alerting: sections::AlertingYaml,
    #[serde(default, deserialize_with = "null_default")]
    remote_write: Vec<Option<sections::RemoteWriteYaml>>,
    #[serde(default, deserialize_with = "null_default")]
    remote_read: Vec<Option<sections::RemoteReadYaml>>,
    #[serde(default, deserialize_with = "null_default")]
    storage: StorageConfig,
    #[serde(default)]
    tracing: Option<TracingConfig>,
    #[serde(default, deserialize_with = "null_default")]
    otlp: OtlpConfig,
    #[serde(default, deserialize_with = "null_default")]
    runtime: RuntimeConfig,
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
    #[serde(default)]
    scrape_failure_log_file: Option<String>,
    #[serde(default)]
    rule_query_offset: Option<Duration>,
    #[serde(default)]
    scrape_protocols: Option<Vec<String>>,
    #[serde(default)]
    metric_name_validation_scheme: Option<String>,
    #[serde(default)]
    metric_name_escaping_scheme: Option<String>,
    #[serde(default)]
    always_scrape_classic_histograms: bool,
    #[serde(default)]
    convert_classic_histograms_to_nhcb: bool,
    // The global limits, listed here because `flatten` and `deny_unknown_fields` do not
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

http_inline_struct! {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct ScrapeConfigYaml {
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
        #[serde(default)]
        metric_name_escaping_scheme: Option<String>,
        #[serde(default)]
        scrape_failure_log_file: Option<String>,
        #[serde(default)]
        always_scrape_classic_histograms: Option<bool>,
        #[serde(default)]
        convert_classic_histograms_to_nhcb: Option<bool>,
        #[serde(default)]
        native_histogram_bucket_limit: u64,
        #[serde(default)]
        native_histogram_min_bucket_factor: f64,
        #[serde(default, deserialize_with = "null_default")]
        static_configs: Vec<StaticConfig>,
        #[serde(default, deserialize_with = "null_default")]
        file_sd_configs: Vec<FileSdConfig>,
        #[serde(default, deserialize_with = "null_default")]
        kubernetes_sd_configs: Vec<KubernetesSdConfig>,
        #[serde(default, deserialize_with = "null_default")]
        http_sd_configs: Vec<HttpSdConfigYaml>,
        #[serde(default, deserialize_with = "null_default")]
        dns_sd_configs: Vec<DnsSdConfig>,
        #[serde(default, deserialize_with = "null_default")]
        digitalocean_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        docker_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        dockerswarm_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        ec2_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        eureka_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        gce_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        hetzner_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        ionos_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        lightsail_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        linode_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        marathon_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        nerve_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        ovhcloud_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        puppetdb_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        scaleway_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        serverset_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        triton_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        uyuni_sd_configs: Vec<serde_yaml::Value>,
        #[serde(default, deserialize_with = "null_default")]
        vultr_sd_configs: Vec<serde_yaml::Value>,
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
    }
}

http_inline_struct! {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct HttpSdConfigYaml {
        #[serde(default)]
        url: String,
        #[serde(default)]
        refresh_interval: Option<Duration>,
    }
}

impl HttpSdConfigYaml {
    fn resolve(&self) -> HttpSdConfig {
        HttpSdConfig {
            url: self.url.clone(),
            refresh_interval: self
                .refresh_interval
                .unwrap_or(crate::discovery::http::DEFAULT_REFRESH_INTERVAL),
            http_client_config: self.http_client(),
        }
    }
}

impl ScrapeConfigYaml {
    /// The unimplemented discovery lists, by mechanism.
    fn unimplemented_lists(&self) -> Vec<(&'static str, &Vec<serde_yaml::Value>)> {
        vec![
            ("digitalocean", &self.digitalocean_sd_configs),
            ("docker", &self.docker_sd_configs),
            ("dockerswarm", &self.dockerswarm_sd_configs),
            ("ec2", &self.ec2_sd_configs),
            ("eureka", &self.eureka_sd_configs),
            ("gce", &self.gce_sd_configs),
            ("hetzner", &self.hetzner_sd_configs),
            ("ionos", &self.ionos_sd_configs),
            ("lightsail", &self.lightsail_sd_configs),
            ("linode", &self.linode_sd_configs),
            ("marathon", &self.marathon_sd_configs),
            ("nerve", &self.nerve_sd_configs),
            ("ovhcloud", &self.ovhcloud_sd_configs),
            ("puppetdb", &self.puppetdb_sd_configs),
            ("scaleway", &self.scaleway_sd_configs),
            ("serverset", &self.serverset_sd_configs),
            ("triton", &self.triton_sd_configs),
            ("uyuni", &self.uyuni_sd_configs),
            ("vultr", &self.vultr_sd_configs),
        ]
    }
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

/// Where each top-level key of the text is (`remote_write:` at column 0), 1-based.
fn scan_section_lines(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let key = l.split(':').next()?;
            let plain = !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && l.len() > key.len();
            plain.then(|| (key.to_owned(), i + 1))
        })
        .collect()
}

/// Context for turning problems into [`InvalidConfig`]s.
struct Ctx<'a> {
    file: Option<&'a Path>,
    job_lines: Vec<usize>,
    job_count: usize,
    /// The line of each top-level key (`remote_write:` ...), for errors outside the jobs.
    section_lines: Vec<(String, usize)>,
}

impl Ctx<'_> {
    /// The line of the top-level section a field path starts with (`alerting.alertmanagers[0]`
    /// → the `alerting:` line).
    fn section_line(&self, field: &str) -> Option<usize> {
        let section = field.split(['.', '[']).next()?;
        self.section_lines
            .iter()
            .find(|(k, _)| k == section)
            .map(|(_, l)| *l)
    }

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
            line: match job {
                Some((i, _)) => self.job_line(i),
                None => field.and_then(|f| self.section_line(f)),
            },
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
            section_lines: scan_section_lines(text),
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
        let mut raw_jobs = Vec::with_capacity(yaml.scrape_configs.len());
        for (i, sc) in yaml.scrape_configs.into_iter().enumerate() {
            let Some(sc) = sc else {
                return Err(ctx.error("empty or null scrape config section", None, None));
            };
            raw_jobs.push(sc);
            let sc = raw_jobs.last().expect("just pushed");
            check_job(sc).map_err(|(m, f)| ctx.error(m, Some((i, &sc.job_name)), f))?;
        }

        // Sections whose own unmarshalling validates them.
        let mut remote_write = Vec::with_capacity(yaml.remote_write.len());
        for (i, rw) in yaml.remote_write.into_iter().enumerate() {
            let field = format!("remote_write[{i}]");
            let rw = rw.ok_or_else(|| {
                ctx.error(
                    "empty or null remote write config section",
                    None,
                    Some(&field),
                )
            })?;
            remote_write.push(rw.resolve().map_err(|m| ctx.error(m, None, Some(&field)))?);
        }
        let mut remote_read = Vec::with_capacity(yaml.remote_read.len());
        for (i, rr) in yaml.remote_read.into_iter().enumerate() {
            let field = format!("remote_read[{i}]");
            let rr = rr.ok_or_else(|| {
                ctx.error(
                    "empty or null remote read config section",
                    None,
                    Some(&field),
                )
            })?;
            remote_read.push(rr.resolve().map_err(|m| ctx.error(m, None, Some(&field)))?);
        }
        let tracing = match yaml.tracing {
            Some(t) => {
                t.validate()
                    .map_err(|m| ctx.error(m, None, Some("tracing")))?;
                t
            }
            None => TracingConfig::default(),
        };
        let utf8 = global.metric_name_validation_scheme == ValidationScheme::Utf8;

        for rf in &yaml.rule_files {
            if !is_valid_rule_path(rf) {
                return Err(ctx.error(
                    format!("invalid rule file path {rf:?}"),
                    None,
                    Some("rule_files"),
                ));
            }
        }
        for sf in &yaml.scrape_config_files {
            if !is_valid_rule_path(sf) {
                return Err(ctx.error(
                    format!("invalid scrape config file path {sf:?}"),
                    None,
                    Some("scrape_config_files"),
                ));
            }
        }
        let mut jobs = Vec::with_capacity(raw_jobs.len());
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
        let alerting = yaml
            .alerting
            .resolve(&global)
            .map_err(|(m, f)| ctx.error(m, None, Some(&f)))?;
        let mut rw_names = HashSet::new();
        for rw in &remote_write {
            if let Some(name) = rw.name.as_deref().filter(|n| !n.is_empty()) {
                if !rw_names.insert(name.to_owned()) {
                    return Err(ctx.error(
                        format!("found multiple remote write configs with job name {name:?}"),
                        None,
                        Some("remote_write"),
                    ));
                }
            }
        }
        let mut rr_names = HashSet::new();
        for rr in &remote_read {
            if let Some(name) = rr.name.as_deref().filter(|n| !n.is_empty()) {
                if !rr_names.insert(name.to_owned()) {
                    return Err(ctx.error(
                        format!("found multiple remote read configs with job name {name:?}"),
                        None,
                        Some("remote_read"),
                    ));
                }
            }
        }
        yaml.otlp
            .validate(utf8)
            .map_err(|m| ctx.error(m, None, Some("otlp")))?;

        Ok(Config {
            global,
            scrape_configs: jobs,
            rule_files: yaml.rule_files,
            alerting,
            remote_write,
            remote_read,
            storage: yaml.storage,
            tracing,
            otlp: yaml.otlp,
            runtime: yaml.runtime,
            scrape_config_files: yaml.scrape_config_files,
        })
    }

    /// Reads and checks `path` as `promtool check config --syntax-only` does: the same
    /// validation as [`Config::load`], without opening the files the configuration refers to
    /// (rule files, secrets, certificates), which Tidemark never does at load time anyway.
    pub fn check_syntax(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Config::load(path)
    }

    /// What a valid configuration uses that Tidemark does not act upon: inactive sections and
    /// every job's unimplemented discovery mechanisms. The server logs these at every load and
    /// `tidemark check config` prints them.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        let mut out: Vec<ConfigWarning> = self
            .inactive_sections()
            .into_iter()
            .map(ConfigWarning::InactiveSection)
            .collect();
        for job in &self.scrape_configs {
            for (mechanism, entries) in job.unimplemented_mechanisms() {
                out.push(ConfigWarning::UnimplementedDiscovery {
                    job: job.job_name.clone(),
                    mechanism: mechanism.to_owned(),
                    entries,
                });
            }
        }
        for (i, am) in self.alerting.alertmanagers.iter().enumerate() {
            for (mechanism, entries) in am.discovery.unimplemented_mechanisms() {
                out.push(ConfigWarning::UnimplementedDiscovery {
                    job: format!("alerting.alertmanagers[{i}]"),
                    mechanism: mechanism.to_owned(),
                    entries,
                });
            }
        }
        out
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
        if self.otlp != OtlpConfig::default() {
            out.push("otlp");
        }
        if self.runtime != RuntimeConfig::default() {
            out.push("runtime");
        }
        if !self.scrape_config_files.is_empty() {
            out.push("scrape_config_files");
        }
        out
    }

    /// The job named `name`.
    pub fn job(&self, name: &str) -> Option<&ScrapeConfig> {
        self.scrape_configs.iter().find(|j| j.job_name == name)
    }

    fn resolve_paths(&mut self, dir: &Path) {
        let jobs = self.scrape_configs.iter_mut().chain(
            self.alerting
                .alertmanagers
                .iter_mut()
                .map(|a| &mut *a.discovery),
        );
        for job in jobs {
            job.http_client_config.resolve_paths(dir);
            for h in &mut job.http_sd_configs {
                h.http_client_config.resolve_paths(dir);
            }
            resolve_path(&mut job.scrape_failure_log_file, dir);
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
        for rf in self
            .rule_files
            .iter_mut()
            .chain(&mut self.scrape_config_files)
        {
            let mut p = Some(std::mem::take(rf));
            resolve_path(&mut p, dir);
            *rf = p.unwrap_or_default();
        }
        for am in &mut self.alerting.alertmanagers {
            am.http_client_config.resolve_paths(dir);
        }
        for rw in &mut self.remote_write {
            rw.http_client_config.resolve_paths(dir);
        }
        for rr in &mut self.remote_read {
            rr.http_client_config.resolve_paths(dir);
        }
        resolve_path(&mut self.global.query_log_file, dir);
        resolve_path(&mut self.global.scrape_failure_log_file, dir);
    }
}

type Problem = (String, Option<&'static str>);

/// Expands `$VAR` and `${VAR}` from the environment as Go's `os.Expand` does for external
/// labels (`$$` is a `$`; an unset variable is empty).
fn expand_env(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let (name, after) = if let Some(braced) = rest.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], &braced[end + 1..]),
                // Go's os.Expand: a bad `${` syntax eats the `${`.
                None => ("", braced),
            }
        } else if let Some(after) = rest.strip_prefix('$') {
            ("$", after)
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                // A lone `$` followed by something else: Go drops the `$`.
                ("", rest)
            } else {
                (&rest[..end], &rest[end..])
            }
        };
        if name == "$" {
            out.push('$');
        } else if !name.is_empty() {
            out.push_str(&std::env::var(name).unwrap_or_default());
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn check_scrape_protocols(protocols: &[String]) -> Result<(), String> {
    if protocols.is_empty() {
        return Err("scrape_protocols cannot be empty".to_owned());
    }
    let mut seen = HashSet::new();
    for p in protocols {
        if !seen.insert(p.to_lowercase()) {
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                protocols.join(" ")
            ));
        }
        if !SCRAPE_PROTOCOLS.contains(&p.as_str()) {
            return Err(format!(
                "scrape_protocols: unknown scrape protocol {p}, supported: [{}]",
                SCRAPE_PROTOCOLS.join(" ")
            ));
        }
    }
    Ok(())
}

fn resolve_global(g: GlobalYaml) -> Result<GlobalConfig, (String, &'static str)> {
    let limits = g.limits();
    // 3.5 takes an unknown global validation scheme as the default (utf8).
    let metric_name_validation_scheme = match g.metric_name_validation_scheme.as_deref() {
        Some("legacy") => ValidationScheme::Legacy,
        _ => ValidationScheme::Utf8,
    };
    for name in g.external_labels.keys() {
        if name.is_empty() {
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
    if let Some(p) = &g.scrape_protocols {
        check_scrape_protocols(p)
            .map_err(|m| (format!("{m} for global config"), "global.scrape_protocols"))?;
    }
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
            .map(|(k, v)| (k, expand_env(&v)))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        query_log_file: g.query_log_file.filter(|f| !f.is_empty()),
        scrape_failure_log_file: g.scrape_failure_log_file.filter(|f| !f.is_empty()),
        rule_query_offset: g.rule_query_offset.unwrap_or_default(),
        scrape_protocols: g.scrape_protocols,
        metric_name_validation_scheme,
        metric_name_validation_scheme_written: g
            .metric_name_validation_scheme
            .clone()
            .unwrap_or_default(),
        metric_name_escaping_scheme: g.metric_name_escaping_scheme.unwrap_or_default(),
        always_scrape_classic_histograms: g.always_scrape_classic_histograms,
        convert_classic_histograms_to_nhcb: g.convert_classic_histograms_to_nhcb,
        limits,
    })
}

/// The checks Prometheus's `ScrapeConfig.UnmarshalYAML` (and the discovery configs' own
/// unmarshalling) make, in their order.
pub(crate) fn check_job(sc: &ScrapeConfigYaml) -> Result<(), Problem> {
    // Discovery configs are unmarshalled (and checked) while the job is decoded, before the
    // job's own checks.
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
    for h in &sc.http_sd_configs {
        h.resolve()
            .validate()
            .map_err(|m| (m, Some("http_sd_configs")))?;
    }
    for (mechanism, entries) in sc.unimplemented_lists() {
        sd::check_unimplemented(mechanism, entries)
            .map_err(|(m, _)| (m, Some(sd_field_name(mechanism))))?;
    }
    for sc_static in &sc.static_configs {
        if sc_static.labels.keys().any(String::is_empty) {
            return Err((
                "\"\" is not a valid label name".to_owned(),
                Some("static_configs"),
            ));
        }
    }
    if sc.job_name.is_empty() {
        return Err(("job_name is empty".to_owned(), Some("job_name")));
    }
    http_client_of(sc)
        .validate()
        .map_err(|m| (m, Some("http client config")))?;
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
    Ok(())
}

/// `<mechanism>_sd_configs` as a static string (for error fields).
fn sd_field_name(mechanism: &str) -> &'static str {
    const FIELDS: [&str; 23] = [
        "digitalocean_sd_configs",
        "dns_sd_configs",
        "docker_sd_configs",
        "dockerswarm_sd_configs",
        "ec2_sd_configs",
        "eureka_sd_configs",
        "file_sd_configs",
        "gce_sd_configs",
        "hetzner_sd_configs",
        "http_sd_configs",
        "ionos_sd_configs",
        "kubernetes_sd_configs",
        "lightsail_sd_configs",
        "linode_sd_configs",
        "marathon_sd_configs",
        "nerve_sd_configs",
        "ovhcloud_sd_configs",
        "puppetdb_sd_configs",
        "scaleway_sd_configs",
        "serverset_sd_configs",
        "triton_sd_configs",
        "uyuni_sd_configs",
        "vultr_sd_configs",
    ];
    FIELDS
        .iter()
        .find(|f| f.strip_suffix("_sd_configs") == Some(mechanism))
        .copied()
        .unwrap_or("service discovery")
}

fn http_client_of(sc: &ScrapeConfigYaml) -> HttpClientConfig {
    sc.http_client()
}

/// Defaults from `global`, then the checks of Prometheus's `ScrapeConfig.Validate`.
pub(crate) fn resolve_job(
    sc: ScrapeConfigYaml,
    global: &GlobalConfig,
) -> Result<ScrapeConfig, Problem> {
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
    let scrape_protocols = sc
        .scrape_protocols
        .clone()
        .or_else(|| global.scrape_protocols.clone())
        .unwrap_or_else(|| DEFAULT_SCRAPE_PROTOCOLS.map(str::to_owned).to_vec());
    check_scrape_protocols(&scrape_protocols).map_err(|m| {
        (
            format!("{m} for scrape config with job name {:?}", sc.job_name),
            Some("scrape_protocols"),
        )
    })?;
    if let Some(p) = sc
        .fallback_scrape_protocol
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        if !SCRAPE_PROTOCOLS.contains(&p) {
            return Err((
                format!(
                    "invalid fallback_scrape_protocol for scrape config with job name {:?}: unknown scrape protocol {p}, supported: [{}]",
                    sc.job_name,
                    SCRAPE_PROTOCOLS.join(" ")
                ),
                Some("fallback_scrape_protocol"),
            ));
        }
    }
    // Validation and escaping schemes, as 3.5 resolves them.
    let validation = match sc.metric_name_validation_scheme.as_deref() {
        None | Some("") => global.metric_name_validation_scheme,
        Some("legacy") => ValidationScheme::Legacy,
        Some("utf8") => ValidationScheme::Utf8,
        Some(other) => {
            return Err((
                format!("unknown scrape config name validation method specified, must be either 'legacy' or 'utf8', got {other}"),
                Some("metric_name_validation_scheme"),
            ))
        }
    };
    let global_escaping = match global.metric_name_escaping_scheme.as_str() {
        "" => match global.metric_name_validation_scheme {
            ValidationScheme::Legacy => "underscores",
            ValidationScheme::Utf8 => "allow-utf-8",
        },
        e if ESCAPING_SCHEMES.contains(&e) => e,
        _ => {
            // 3.5 names the validation scheme where it means the escaping value.
            return Err((
                format!(
                    "unknown global name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                    global.metric_name_validation_scheme.as_str()
                ),
                Some("metric_name_escaping_scheme"),
            ));
        }
    };
    let escaping = match sc.metric_name_escaping_scheme.as_deref() {
        None | Some("") => global_escaping,
        Some(e) if ESCAPING_SCHEMES.contains(&e) => e,
        Some(_) => {
            return Err((
                format!(
                    "unknown scrape config name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                    validation.as_str()
                ),
                Some("metric_name_escaping_scheme"),
            ));
        }
    };
    // 3.5.3 takes an unset job escaping scheme from the global one even when the job sets its
    // own validation scheme, so a job with `legacy` alone is refused below (promtool agrees).
    if escaping == "allow-utf-8" && validation != ValidationScheme::Utf8 {
        return Err((
            "utf8 metric names requested but validation scheme is not set to UTF8".to_owned(),
            Some("metric_name_escaping_scheme"),
        ));
    }
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
    let mut unimplemented_sd = Vec::new();
    for (mechanism, entries) in sc.unimplemented_lists() {
        let found = sd::check_unimplemented(mechanism, entries)
            .map_err(|(m, _)| (m, Some(sd_field_name(mechanism))))?;
        unimplemented_sd.extend(found);
    }
    let http_sd_configs = sc
        .http_sd_configs
        .iter()
        .map(|h| {
            let mut h = h.resolve();
            h.http_client_config = h.http_client_config.normalized();
            h
        })
        .collect();
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
        scrape_protocols,
        fallback_scrape_protocol: sc.fallback_scrape_protocol.filter(|p| !p.is_empty()),
        metric_name_validation_scheme: validation,
        metric_name_escaping_scheme: escaping.to_owned(),
        scrape_failure_log_file: sc
            .scrape_failure_log_file
            .filter(|f| !f.is_empty())
            .or_else(|| global.scrape_failure_log_file.clone()),
        always_scrape_classic_histograms: sc
            .always_scrape_classic_histograms
            .unwrap_or(global.always_scrape_classic_histograms),
        convert_classic_histograms_to_nhcb: sc
            .convert_classic_histograms_to_nhcb
            .unwrap_or(global.convert_classic_histograms_to_nhcb),
        native_histogram_bucket_limit: sc.native_histogram_bucket_limit,
        native_histogram_min_bucket_factor: sc.native_histogram_min_bucket_factor,
        static_configs: sc.static_configs,
        file_sd_configs: sc.file_sd_configs,
        kubernetes_sd_configs: sc.kubernetes_sd_configs,
        http_sd_configs,
        dns_sd_configs: sc.dns_sd_configs,
        unimplemented_sd,
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
