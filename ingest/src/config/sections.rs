//! The sections of `prometheus.yml` besides `global` and `scrape_configs`: `alerting`,
//! `remote_write`, `remote_read`, `storage`, `tracing`, `otlp` and `runtime`, with Prometheus
//! 3.5's fields, defaults and checks (messages included). Tidemark parses and validates them;
//! which ones it acts upon is up to the server ([`super::Config::inactive_sections`]).

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::http::{default_true, HttpClientConfig};
use super::{null_default, Duration, ScrapeConfigYaml};
use crate::relabel::RelabelConfig;

/// `alerting`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertingConfig {
    /// `alert_relabel_configs`.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// `alertmanagers`.
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// One `alertmanagers` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerConfig {
    /// `scheme` (default `http`).
    pub scheme: String,
    /// `path_prefix`.
    pub path_prefix: String,
    /// `timeout` (default 10s).
    pub timeout: Duration,
    /// `api_version` (only `v2`).
    pub api_version: String,
    /// `sigv4`.
    pub sigv4: Option<SigV4Config>,
    /// `relabel_configs`.
    pub relabel_configs: Vec<RelabelConfig>,
    /// `alert_relabel_configs`.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// The HTTP client fields.
    pub http_client_config: HttpClientConfig,
    /// The discovery blocks, parsed like a scrape job's (`job_name` unused).
    pub discovery: Box<super::ScrapeConfig>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertingYaml {
    #[serde(default, deserialize_with = "null_default")]
    alert_relabel_configs: Vec<Option<RelabelConfig>>,
    #[serde(default, deserialize_with = "null_default")]
    alertmanagers: Vec<Option<serde_yaml::Value>>,
}

/// The keys of an `alertmanagers` entry that are not discovery or HTTP client fields.
const ALERTMANAGER_OWN_FIELDS: [&str; 7] = [
    "scheme",
    "path_prefix",
    "timeout",
    "api_version",
    "sigv4",
    "relabel_configs",
    "alert_relabel_configs",
];

impl AlertingYaml {
    /// Resolves and validates, as Prometheus's `AlertingConfig`/`AlertmanagerConfig`
    /// unmarshalling; the error is `(message, field)`.
    pub(super) fn resolve(
        self,
        global: &super::GlobalConfig,
    ) -> Result<AlertingConfig, (String, String)> {
        let mut alert_relabel_configs = Vec::new();
        for r in self.alert_relabel_configs {
            match r {
                Some(r) => alert_relabel_configs.push(r),
                None => {
                    return Err((
                        "empty or null alert relabeling rule".to_owned(),
                        "alerting.alert_relabel_configs".to_owned(),
                    ))
                }
            }
        }
        let mut alertmanagers = Vec::new();
        for (i, am) in self.alertmanagers.into_iter().enumerate() {
            let field = format!("alerting.alertmanagers[{i}]");
            let mut map = match am {
                Some(serde_yaml::Value::Mapping(m)) => m,
                None | Some(serde_yaml::Value::Null) => serde_yaml::Mapping::new(),
                Some(_) => return Err(("invalid type: expected a mapping".to_owned(), field)),
            };
            // Split the entry: its own fields here, the rest (HTTP client and discovery)
            // parsed with the scrape job's parser, which knows them all.
            let mut own = serde_yaml::Mapping::new();
            for key in ALERTMANAGER_OWN_FIELDS {
                if let Some(v) = map.remove(key) {
                    own.insert(key.into(), v);
                }
            }
            let own: AlertmanagerOwnYaml = serde_yaml::from_value(serde_yaml::Value::Mapping(own))
                .map_err(|e| (yaml_message(&e), field.clone()))?;
            for key in map.keys() {
                let key = key.as_str().unwrap_or_default();
                let discovery = key == "static_configs"
                    || key
                        .strip_suffix("_sd_configs")
                        .is_some_and(|m| super::sd::KNOWN_SD_MECHANISMS.contains(&m));
                if !discovery && !super::sd::HTTP_CLIENT_FIELDS.contains(&key) {
                    return Err((format!("unknown field {key:?}"), field));
                }
            }
            map.insert("job_name".into(), format!("alertmanagers[{i}]").into());
            let mut as_job: ScrapeConfigYaml =
                serde_yaml::from_value(serde_yaml::Value::Mapping(map))
                    .map_err(|e| (yaml_message(&e), field.clone()))?;
            let relabel_configs = own.relabel_configs.unwrap_or_default();
            if relabel_configs.iter().any(Option::is_none) {
                return Err((
                    "empty or null Alertmanager target relabeling rule".to_owned(),
                    field,
                ));
            }
            // The job checks look for URLs among the static targets only when there are no
            // relabel rules, as Prometheus does for Alertmanager entries too.
            if !relabel_configs.is_empty() {
                as_job.relabel_configs = vec![Some(RelabelConfig::default())];
            }
            super::check_job(&as_job).map_err(|(m, _)| (m, field.clone()))?;
            let http_client_config = as_job.http_client();
            let auth = http_client_config.basic_auth.is_some()
                || http_client_config.authorization.is_some()
                || http_client_config.oauth2.is_some();
            if let Some(sigv4) = &own.sigv4 {
                sigv4.validate().map_err(|m| (m, field.clone()))?;
            }
            if auth && own.sigv4.is_some() {
                return Err((
                    "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured"
                        .to_owned(),
                    field,
                ));
            }
            let alert_relabel = own.alert_relabel_configs.unwrap_or_default();
            if alert_relabel.iter().any(Option::is_none) {
                return Err((
                    "empty or null Alertmanager alert relabeling rule".to_owned(),
                    field,
                ));
            }
            let api_version = own.api_version.unwrap_or_else(|| "v2".to_owned());
            if api_version != "v2" {
                return Err((
                    format!(
                        "expected Alertmanager api version to be one of [v2] but got {api_version}"
                    ),
                    field,
                ));
            }
            as_job.relabel_configs.clear();
            let discovery = super::resolve_job(as_job, global)
                .map_err(|(m, f)| (m, f.map_or(field.clone(), |f| format!("{field}.{f}"))))?;
            alertmanagers.push(AlertmanagerConfig {
                scheme: own.scheme.unwrap_or_else(|| "http".to_owned()),
                path_prefix: own.path_prefix.unwrap_or_default(),
                timeout: own.timeout.unwrap_or(Duration::from_secs(10)),
                api_version,
                sigv4: own.sigv4,
                relabel_configs: relabel_configs.into_iter().flatten().collect(),
                alert_relabel_configs: alert_relabel.into_iter().flatten().collect(),
                http_client_config: http_client_config.normalized(),
                discovery: Box::new(discovery),
            });
        }
        Ok(AlertingConfig {
            alert_relabel_configs,
            alertmanagers,
        })
    }
}

/// A serde_yaml error of a value parsed on its own: without the path prefix, an unknown field
/// worded as elsewhere (`unknown field "x"`).
pub(crate) fn yaml_message(e: &serde_yaml::Error) -> String {
    let m = e.to_string();
    let m = match m.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest.to_owned(),
        _ => m,
    };
    m.strip_prefix("unknown field `")
        .and_then(|r| r.split_once('`'))
        .map_or(m.clone(), |(name, _)| format!("unknown field {name:?}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertmanagerOwnYaml {
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    timeout: Option<Duration>,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    sigv4: Option<SigV4Config>,
    #[serde(default)]
    relabel_configs: Option<Vec<Option<RelabelConfig>>>,
    #[serde(default)]
    alert_relabel_configs: Option<Vec<Option<RelabelConfig>>>,
}

/// `sigv4` (AWS Signature Version 4), as prometheus/sigv4.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigV4Config {
    /// `region`.
    #[serde(default)]
    pub region: Option<String>,
    /// `access_key`.
    #[serde(default)]
    pub access_key: Option<String>,
    /// `secret_key`.
    #[serde(default)]
    pub secret_key: Option<super::Secret>,
    /// `profile`.
    #[serde(default)]
    pub profile: Option<String>,
    /// `role_arn`.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// `use_fips_sts_endpoint`.
    #[serde(default)]
    pub use_fips_sts_endpoint: bool,
    /// `service_name`.
    #[serde(default)]
    pub service_name: Option<String>,
    /// `external_id`.
    #[serde(default)]
    pub external_id: Option<String>,
}

impl SigV4Config {
    /// prometheus/sigv4's check: an access key and a secret key come together. The message
    /// never holds the key.
    pub fn validate(&self) -> Result<(), String> {
        let access = self.access_key.as_deref().unwrap_or("").is_empty();
        let secret = self.secret_key.as_ref().is_none_or(|s| s.is_empty());
        if access != secret {
            return Err("must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config".to_owned());
        }
        Ok(())
    }
}

/// `queue_config` of a remote write entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// `capacity`.
    #[serde(default)]
    pub capacity: Option<i64>,
    /// `max_shards`.
    #[serde(default)]
    pub max_shards: Option<i64>,
    /// `min_shards`.
    #[serde(default)]
    pub min_shards: Option<i64>,
    /// `max_samples_per_send`.
    #[serde(default)]
    pub max_samples_per_send: Option<i64>,
    /// `batch_send_deadline`.
    #[serde(default)]
    pub batch_send_deadline: Option<Duration>,
    /// `min_backoff`.
    #[serde(default)]
    pub min_backoff: Option<Duration>,
    /// `max_backoff`.
    #[serde(default)]
    pub max_backoff: Option<Duration>,
    /// `retry_on_http_429`.
    #[serde(default)]
    pub retry_on_http_429: bool,
    /// `sample_age_limit`.
    #[serde(default)]
    pub sample_age_limit: Option<Duration>,
}

/// `metadata_config` of a remote write entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// `send` (default true).
    #[serde(default = "default_true")]
    pub send: bool,
    /// `send_interval` (default 1m).
    #[serde(default)]
    pub send_interval: Option<Duration>,
    /// `max_samples_per_send`.
    #[serde(default)]
    pub max_samples_per_send: Option<i64>,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: None,
            max_samples_per_send: None,
        }
    }
}

/// One `remote_write` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWriteConfig {
    /// `url` (required).
    pub url: String,
    /// `name`: unique among remote write entries when set.
    pub name: Option<String>,
    /// `remote_timeout` (default 30s).
    pub remote_timeout: Duration,
    /// `headers`.
    pub headers: BTreeMap<String, String>,
    /// `write_relabel_configs`.
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// `send_exemplars`.
    pub send_exemplars: bool,
    /// `send_native_histograms`.
    pub send_native_histograms: bool,
    /// `round_robin_dns`.
    pub round_robin_dns: bool,
    /// `protobuf_message` (`prometheus.WriteRequest` or `io.prometheus.write.v2.Request`).
    pub protobuf_message: String,
    /// `queue_config`.
    pub queue_config: QueueConfig,
    /// `metadata_config`.
    pub metadata_config: MetadataConfig,
    /// `sigv4`.
    pub sigv4: Option<SigV4Config>,
    /// The HTTP client fields.
    pub http_client_config: HttpClientConfig,
}

/// One `remote_read` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteReadConfig {
    /// `url` (required).
    pub url: String,
    /// `name`.
    pub name: Option<String>,
    /// `remote_timeout` (default 1m).
    pub remote_timeout: Duration,
    /// `chunked_read_limit`.
    pub chunked_read_limit: Option<u64>,
    /// `headers`.
    pub headers: BTreeMap<String, String>,
    /// `read_recent`.
    pub read_recent: bool,
    /// `required_matchers`.
    pub required_matchers: BTreeMap<String, String>,
    /// `filter_external_labels` (default true).
    pub filter_external_labels: bool,
    /// The HTTP client fields.
    pub http_client_config: HttpClientConfig,
}

http_inline_struct! {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RemoteWriteYaml {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        remote_timeout: Option<Duration>,
        #[serde(default, deserialize_with = "null_default")]
        headers: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "null_default")]
        write_relabel_configs: Vec<Option<RelabelConfig>>,
        #[serde(default)]
        send_exemplars: bool,
        #[serde(default)]
        send_native_histograms: bool,
        #[serde(default)]
        round_robin_dns: bool,
        #[serde(default)]
        protobuf_message: Option<String>,
        #[serde(default, deserialize_with = "null_default")]
        queue_config: QueueConfig,
        #[serde(default, deserialize_with = "null_default")]
        metadata_config: MetadataConfig,
        #[serde(default)]
        sigv4: Option<SigV4Config>,
    }
}

http_inline_struct! {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RemoteReadYaml {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        remote_timeout: Option<Duration>,
        #[serde(default)]
        chunked_read_limit: Option<u64>,
        #[serde(default, deserialize_with = "null_default")]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        read_recent: bool,
        #[serde(default, deserialize_with = "null_default")]
        required_matchers: BTreeMap<String, String>,
        #[serde(default = "default_true")]
        filter_external_labels: bool,
    }
}

/// Header names remote write/read `headers` may not set (besides `Authorization`).
const RESERVED_REMOTE_HEADERS: [&str; 16] = [
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

fn validate_remote_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    for h in headers.keys() {
        let lower = h.to_ascii_lowercase();
        if lower == "authorization" {
            return Err("authorization header must be changed via the basic_auth, authorization, oauth2, or sigv4 parameter".to_owned());
        }
        if RESERVED_REMOTE_HEADERS.contains(&lower.as_str()) {
            return Err(format!("{h} is a reserved header. It must not be changed"));
        }
    }
    Ok(())
}

impl RemoteWriteYaml {
    pub(super) fn resolve(self) -> Result<RemoteWriteConfig, String> {
        let Some(url) = self.url.clone() else {
            return Err("url for remote_write is empty".to_owned());
        };
        if self.write_relabel_configs.iter().any(Option::is_none) {
            return Err("empty or null relabeling rule in remote write config".to_owned());
        }
        validate_remote_headers(&self.headers)?;
        let protobuf_message = self
            .protobuf_message
            .clone()
            .unwrap_or_else(|| "prometheus.WriteRequest".to_owned());
        if !matches!(
            protobuf_message.as_str(),
            "prometheus.WriteRequest" | "io.prometheus.write.v2.Request"
        ) {
            return Err(format!("invalid protobuf_message value: unknown remote write protobuf message {protobuf_message}, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"));
        }
        let mut http = self.http_client();
        // Prometheus's remote-write client default is HTTP/1.1 only.
        http.enable_http2 = self.enable_http2.unwrap_or(false);
        http.validate()?;
        let mut auths = Vec::new();
        if http.basic_auth.is_some() {
            auths.push("basic_auth");
        }
        // `bearer_token` counts as `authorization`, as 3.5 converts it before this check.
        if http.authorization.is_some() || http.clone().normalized().authorization.is_some() {
            auths.push("authorization");
        }
        if http.oauth2.is_some() {
            auths.push("oauth2");
        }
        if let Some(sigv4) = &self.sigv4 {
            sigv4.validate()?;
            auths.push("sigv4");
        }
        if auths.len() > 1 {
            return Err(format!(
                "at most one of basic_auth, authorization, oauth2, or sigv4 must be configured. Currently configured: [{}]",
                auths.join(" ")
            ));
        }
        Ok(RemoteWriteConfig {
            url,
            name: self.name,
            remote_timeout: self.remote_timeout.unwrap_or(Duration::from_secs(30)),
            headers: self.headers,
            write_relabel_configs: self.write_relabel_configs.into_iter().flatten().collect(),
            send_exemplars: self.send_exemplars,
            send_native_histograms: self.send_native_histograms,
            round_robin_dns: self.round_robin_dns,
            protobuf_message,
            queue_config: self.queue_config,
            metadata_config: self.metadata_config,
            sigv4: self.sigv4,
            http_client_config: http.normalized(),
        })
    }
}

impl RemoteReadYaml {
    pub(super) fn resolve(self) -> Result<RemoteReadConfig, String> {
        let Some(url) = self.url.clone() else {
            return Err("url for remote_read is empty".to_owned());
        };
        validate_remote_headers(&self.headers)?;
        let http = self.http_client();
        http.validate()?;
        Ok(RemoteReadConfig {
            url,
            name: self.name,
            remote_timeout: self.remote_timeout.unwrap_or(Duration::from_secs(60)),
            chunked_read_limit: self.chunked_read_limit,
            headers: self.headers,
            read_recent: self.read_recent,
            required_matchers: self.required_matchers,
            filter_external_labels: self.filter_external_labels,
            http_client_config: http.normalized(),
        })
    }
}

/// `storage`.
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
    /// `out_of_order_time_window`: how far back out-of-order samples are accepted.
    #[serde(default)]
    pub out_of_order_time_window: Option<Duration>,
}

/// `storage.exemplars`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// `max_exemplars` (Prometheus's default 100000; 0 or less disables).
    #[serde(default)]
    pub max_exemplars: Option<i64>,
}

/// `tracing`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingConfig {
    /// `endpoint` (required when the section is present).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `client_type` (`grpc`, the default, or `http`).
    #[serde(default)]
    pub client_type: Option<String>,
    /// `sampling_fraction`.
    #[serde(default)]
    pub sampling_fraction: Option<f64>,
    /// `insecure`.
    #[serde(default)]
    pub insecure: bool,
    /// `headers`.
    #[serde(default, deserialize_with = "null_default")]
    pub headers: BTreeMap<String, String>,
    /// `compression` (only `gzip`).
    #[serde(default)]
    pub compression: Option<String>,
    /// `timeout`.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// `tls_config`.
    #[serde(default)]
    pub tls_config: Option<super::http::TlsConfig>,
}

impl TracingConfig {
    /// Prometheus's checks of a `tracing` section that is present.
    pub(super) fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.client_type {
            if t != "http" && t != "grpc" {
                return Err(format!(
                    "expected tracing client type to be to be http or grpc, but got {t}"
                ));
            }
        }
        for h in self.headers.keys() {
            let lower = h.to_ascii_lowercase();
            if lower == "authorization" {
                return Err(
                    "custom authorization header configuration is not yet supported".to_owned(),
                );
            }
            if RESERVED_REMOTE_HEADERS.contains(&lower.as_str()) {
                return Err(format!("{h} is a reserved header. It must not be changed"));
            }
        }
        if self.endpoint.as_deref().unwrap_or("").is_empty() {
            return Err("tracing endpoint must be set".to_owned());
        }
        if let Some(c) = &self.compression {
            if !c.is_empty() && c != "gzip" {
                return Err(format!(
                    "invalid compression type {c} provided, valid options: gzip"
                ));
            }
        }
        if let Some(tls) = &self.tls_config {
            tls.validate()?;
        }
        Ok(())
    }
}

/// `otlp`: how the OTLP receiver translates metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// `promote_all_resource_attributes`.
    #[serde(default)]
    pub promote_all_resource_attributes: bool,
    /// `promote_resource_attributes`.
    #[serde(default, deserialize_with = "null_default")]
    pub promote_resource_attributes: Vec<String>,
    /// `ignore_resource_attributes`.
    #[serde(default, deserialize_with = "null_default")]
    pub ignore_resource_attributes: Vec<String>,
    /// `translation_strategy` (default `UnderscoreEscapingWithSuffixes`).
    #[serde(default)]
    pub translation_strategy: Option<String>,
    /// `keep_identifying_resource_attributes`.
    #[serde(default)]
    pub keep_identifying_resource_attributes: bool,
    /// `convert_histograms_to_nhcb`.
    #[serde(default)]
    pub convert_histograms_to_nhcb: bool,
}

impl OtlpConfig {
    /// Prometheus's checks; `utf8` tells whether the global validation scheme allows UTF-8.
    pub(super) fn validate(&self, utf8: bool) -> Result<(), String> {
        let check = |attrs: &[String], adjective: &str| -> Result<(), String> {
            let mut seen = HashSet::new();
            for a in attrs {
                let a = a.trim();
                if a.is_empty() {
                    return Err(format!("empty {adjective} OTel resource attribute"));
                }
                if !seen.insert(a) {
                    return Err(format!(
                        "duplicated {adjective} OTel resource attribute {a:?}"
                    ));
                }
            }
            Ok(())
        };
        if self.promote_all_resource_attributes {
            if !self.promote_resource_attributes.is_empty() {
                return Err("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously".to_owned());
            }
            check(&self.ignore_resource_attributes, "ignored")
                .map_err(|e| format!("invalid 'ignore_resource_attributes': {e}"))?;
        } else {
            if !self.ignore_resource_attributes.is_empty() {
                return Err("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true".to_owned());
            }
            check(&self.promote_resource_attributes, "promoted")
                .map_err(|e| format!("invalid 'promote_resource_attributes': {e}"))?;
        }
        match self.translation_strategy.as_deref().unwrap_or("") {
            "" | "UnderscoreEscapingWithSuffixes" | "UnderscoreEscapingWithoutSuffixes" => {}
            s @ ("NoTranslation" | "NoUTF8EscapingWithSuffixes") => {
                if !utf8 {
                    return Err(format!(
                        "OTLP translation strategy {s:?} is not allowed when UTF8 is disabled"
                    ));
                }
            }
            other => return Err(format!("unsupported OTLP translation strategy {other:?}")),
        }
        Ok(())
    }
}

/// `runtime`: Go runtime tuning; `gogc` is accepted (Tidemark has no garbage collector).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// `gogc`.
    #[serde(default)]
    pub gogc: Option<i64>,
}
