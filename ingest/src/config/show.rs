//! The loaded configuration written back as YAML, as Prometheus 3.5's
//! `/api/v1/status/config` shows it: every section re-marshalled from the resolved structs
//! (defaults filled in, 3.5's key order, zero values left out where 3.5 leaves them out) and
//! every secret printed as [`MASK`](super::MASK).
//!
//! What must stay true: nothing here reads the file's text, and no secret value is ever put into
//! the output; [`Secret`] values are serialized, which writes the mask. Entries of discovery
//! mechanisms Tidemark does not run are kept as written, so their secret fields are masked by
//! name ([`SECRET_KEYS`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_yaml::{Mapping, Value};

use super::http::{Authorization, BasicAuth, HttpClientConfig, OAuth2, TlsConfig};
use super::sections::{AlertmanagerConfig, RemoteReadConfig, RemoteWriteConfig, SigV4Config};
use super::{ByteSize, Config, Duration, ScrapeConfig, MASK};
use crate::discovery::dns::RecordType;
use crate::relabel::RelabelConfig;

/// Keys whose value is a secret in Prometheus 3.5's configuration types (prometheus/common's
/// `Secret` fields and the discovery mechanisms' own), used for entries kept as written.
pub const SECRET_KEYS: [&str; 8] = [
    "password",
    "credentials",
    "client_secret",
    "bearer_token",
    "secret_key",
    "key",
    "auth_token",
    "application_credential_secret",
];

/// An ordered YAML mapping under construction.
#[derive(Default)]
struct Map(Mapping);

impl Map {
    fn put(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(Value::from(key), value.into());
        self
    }

    /// Serializes `value` (a [`super::Secret`] writes the mask).
    fn ser(&mut self, key: &str, value: &impl Serialize) -> &mut Self {
        let v = serde_yaml::to_value(value).unwrap_or(Value::Null);
        self.put(key, v)
    }

    fn opt_str(&mut self, key: &str, value: &Option<String>) -> &mut Self {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            self.put(key, v);
        }
        self
    }

    fn nonempty(&mut self, key: &str, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.put(key, value);
        }
        self
    }

    fn nonzero(&mut self, key: &str, value: u64) -> &mut Self {
        if value != 0 {
            self.put(key, value);
        }
        self
    }

    fn truthy(&mut self, key: &str, value: bool) -> &mut Self {
        if value {
            self.put(key, true);
        }
        self
    }

    fn duration(&mut self, key: &str, value: Duration) -> &mut Self {
        self.put(key, value.to_string())
    }

    fn list(&mut self, key: &str, values: &[String]) -> &mut Self {
        if !values.is_empty() {
            self.ser(key, &values);
        }
        self
    }

    fn done(self) -> Value {
        Value::Mapping(self.0)
    }
}

/// A byte size as Prometheus's `units.Base2Bytes` prints it: each unit from the largest, with
/// what is left over (`10MiB`, `1KiB512B`).
fn bytes(size: ByteSize) -> String {
    if size.0 == 0 {
        return "0B".to_owned();
    }
    let mut out = String::new();
    let mut left = size.0;
    for (unit, shift) in [
        ("EiB", 60),
        ("PiB", 50),
        ("TiB", 40),
        ("GiB", 30),
        ("MiB", 20),
        ("KiB", 10),
        ("B", 0),
    ] {
        let n = left >> shift;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            left -= n << shift;
        }
    }
    out
}

impl Config {
    /// The configuration as Prometheus 3.5's `/api/v1/status/config` shows it: YAML written
    /// from the loaded structs, every secret masked.
    pub fn to_masked_yaml(&self) -> String {
        serde_yaml::to_string(&self.to_masked_value()).unwrap_or_default()
    }

    /// [`Config::to_masked_yaml`] as a YAML value.
    pub fn to_masked_value(&self) -> Value {
        let mut m = Map::default();
        m.put("global", global(self));
        let mut runtime = Map::default();
        runtime.put("gogc", self.runtime.gogc.unwrap_or(75));
        m.put("runtime", runtime.done());
        m.list("rule_files", &self.rule_files);
        m.list("scrape_config_files", &self.scrape_config_files);
        let alerting = &self.alerting;
        if !alerting.alertmanagers.is_empty() || !alerting.alert_relabel_configs.is_empty() {
            let mut a = Map::default();
            relabels(
                &mut a,
                "alert_relabel_configs",
                &alerting.alert_relabel_configs,
            );
            if !alerting.alertmanagers.is_empty() {
                let ams: Vec<Value> = alerting.alertmanagers.iter().map(alertmanager).collect();
                a.put("alertmanagers", ams);
            }
            m.put("alerting", a.done());
        }
        if !self.scrape_configs.is_empty() {
            let jobs: Vec<Value> = self.scrape_configs.iter().map(scrape_config).collect();
            m.put("scrape_configs", jobs);
        }
        if !self.remote_write.is_empty() {
            let rw: Vec<Value> = self.remote_write.iter().map(remote_write).collect();
            m.put("remote_write", rw);
        }
        if !self.remote_read.is_empty() {
            let rr: Vec<Value> = self.remote_read.iter().map(remote_read).collect();
            m.put("remote_read", rr);
        }
        if self.storage.tsdb.is_some() || self.storage.exemplars.is_some() {
            let mut s = Map::default();
            if let Some(t) = &self.storage.tsdb {
                let mut tsdb = Map::default();
                if let Some(w) = t.out_of_order_time_window {
                    // 3.5 writes the window twice: once as the untagged Go field in
                    // milliseconds, once under its YAML name.
                    tsdb.put("outofordertimewindow", w.as_millis());
                    tsdb.duration("out_of_order_time_window", w);
                }
                s.put("tsdb", tsdb.done());
            }
            if let Some(e) = &self.storage.exemplars {
                let mut ex = Map::default();
                ex.put("max_exemplars", e.max_exemplars.unwrap_or(100_000));
                s.put("exemplars", ex.done());
            }
            m.put("storage", s.done());
        }
        if self.tracing.endpoint.is_some() {
            let t = &self.tracing;
            let mut tr = Map::default();
            tr.put("client_type", t.client_type.as_deref().unwrap_or("grpc"));
            tr.opt_str("endpoint", &t.endpoint);
            if let Some(f) = t.sampling_fraction.filter(|f| *f != 0.0) {
                tr.put("sampling_fraction", f);
            }
            tr.truthy("insecure", t.insecure);
            if !t.headers.is_empty() {
                tr.ser("headers", &t.headers);
            }
            tr.opt_str("compression", &t.compression);
            if let Some(d) = t.timeout {
                tr.duration("timeout", d);
            }
            if let Some(tls) = t
                .tls_config
                .as_ref()
                .filter(|t| **t != TlsConfig::default())
            {
                tr.put("tls_config", tls_config(tls));
            }
            m.put("tracing", tr.done());
        }
        let o = &self.otlp;
        let mut otlp = Map::default();
        otlp.truthy(
            "promote_all_resource_attributes",
            o.promote_all_resource_attributes,
        );
        otlp.list(
            "promote_resource_attributes",
            &o.promote_resource_attributes,
        );
        otlp.list("ignore_resource_attributes", &o.ignore_resource_attributes);
        otlp.put(
            "translation_strategy",
            o.translation_strategy
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("UnderscoreEscapingWithSuffixes"),
        );
        otlp.truthy(
            "keep_identifying_resource_attributes",
            o.keep_identifying_resource_attributes,
        );
        otlp.truthy("convert_histograms_to_nhcb", o.convert_histograms_to_nhcb);
        m.put("otlp", otlp.done());
        m.done()
    }
}

fn global(c: &Config) -> Value {
    let g = &c.global;
    let mut m = Map::default();
    m.duration("scrape_interval", g.scrape_interval);
    m.duration("scrape_timeout", g.scrape_timeout);
    let protocols: Vec<String> = match &g.scrape_protocols {
        Some(p) => p.clone(),
        None => super::DEFAULT_SCRAPE_PROTOCOLS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    };
    m.list("scrape_protocols", &protocols);
    m.duration("evaluation_interval", g.evaluation_interval);
    if g.rule_query_offset != Duration::ZERO {
        m.duration("rule_query_offset", g.rule_query_offset);
    }
    m.opt_str("query_log_file", &g.query_log_file);
    m.opt_str("scrape_failure_log_file", &g.scrape_failure_log_file);
    if !g.external_labels.is_empty() {
        m.ser("external_labels", &g.external_labels);
    }
    limits(&mut m, &g.limits, None);
    // 3.5 writes the global scheme only when the file sets it, as written.
    m.nonempty(
        "metric_name_validation_scheme",
        &g.metric_name_validation_scheme_written,
    );
    m.nonempty(
        "metric_name_escaping_scheme",
        &g.metric_name_escaping_scheme,
    );
    m.truthy(
        "convert_classic_histograms_to_nhcb",
        g.convert_classic_histograms_to_nhcb,
    );
    m.truthy(
        "always_scrape_classic_histograms",
        g.always_scrape_classic_histograms,
    );
    m.done()
}

/// The limits in 3.5's order; a job puts its native-histogram limits between them.
fn limits(m: &mut Map, l: &super::ScrapeLimits, job: Option<&ScrapeConfig>) {
    if l.body_size_limit.0 != 0 {
        m.put("body_size_limit", bytes(l.body_size_limit));
    }
    m.nonzero("sample_limit", l.sample_limit);
    m.nonzero("target_limit", l.target_limit);
    m.nonzero("label_limit", l.label_limit);
    m.nonzero("label_name_length_limit", l.label_name_length_limit);
    m.nonzero("label_value_length_limit", l.label_value_length_limit);
    if let Some(j) = job {
        m.nonzero(
            "native_histogram_bucket_limit",
            j.native_histogram_bucket_limit,
        );
        if j.native_histogram_min_bucket_factor != 0.0 {
            m.put(
                "native_histogram_min_bucket_factor",
                j.native_histogram_min_bucket_factor,
            );
        }
    }
    m.nonzero("keep_dropped_targets", l.keep_dropped_targets);
}

fn scrape_config(j: &ScrapeConfig) -> Value {
    let mut m = Map::default();
    m.put("job_name", j.job_name.as_str());
    m.truthy("honor_labels", j.honor_labels);
    m.put("honor_timestamps", j.honor_timestamps);
    m.put("track_timestamps_staleness", j.track_timestamps_staleness);
    if !j.params.is_empty() {
        m.ser("params", &j.params);
    }
    m.duration("scrape_interval", j.scrape_interval);
    m.duration("scrape_timeout", j.scrape_timeout);
    m.list("scrape_protocols", &j.scrape_protocols);
    m.opt_str("fallback_scrape_protocol", &j.fallback_scrape_protocol);
    m.put(
        "always_scrape_classic_histograms",
        j.always_scrape_classic_histograms,
    );
    m.put(
        "convert_classic_histograms_to_nhcb",
        j.convert_classic_histograms_to_nhcb,
    );
    m.opt_str("scrape_failure_log_file", &j.scrape_failure_log_file);
    m.put("metrics_path", j.metrics_path.as_str());
    m.put("scheme", j.scheme.as_str());
    m.put("enable_compression", j.enable_compression);
    limits(&mut m, &j.limits, Some(j));
    m.put(
        "metric_name_validation_scheme",
        j.metric_name_validation_scheme.as_str(),
    );
    m.nonempty(
        "metric_name_escaping_scheme",
        &j.metric_name_escaping_scheme,
    );
    http_client(&mut m, &j.http_client_config);
    relabels(&mut m, "relabel_configs", &j.relabel_configs);
    relabels(&mut m, "metric_relabel_configs", &j.metric_relabel_configs);
    discovery(&mut m, j);
    m.done()
}

/// The discovery blocks, by mechanism name as 3.5 orders them, `static_configs` last.
fn discovery(m: &mut Map, j: &ScrapeConfig) {
    let mut blocks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for d in &j.dns_sd_configs {
        let mut e = Map::default();
        e.ser("names", &d.names);
        e.put("refresh_interval", d.refresh_interval.to_string());
        e.put(
            "type",
            match d.record_type {
                RecordType::Srv => "SRV",
                RecordType::A => "A",
                RecordType::Aaaa => "AAAA",
                RecordType::Mx => "MX",
                RecordType::Ns => "NS",
            },
        );
        if d.port != 0 {
            e.put("port", d.port);
        }
        blocks.entry("dns".into()).or_default().push(e.done());
    }
    for f in &j.file_sd_configs {
        let mut e = Map::default();
        e.ser("files", &f.files);
        e.duration("refresh_interval", f.refresh_interval);
        blocks.entry("file".into()).or_default().push(e.done());
    }
    for h in &j.http_sd_configs {
        let mut e = Map::default();
        http_client(&mut e, &h.http_client_config);
        e.put("refresh_interval", h.refresh_interval.to_string());
        e.put("url", h.url.as_str());
        blocks.entry("http".into()).or_default().push(e.done());
    }
    for k in &j.kubernetes_sd_configs {
        let mut e = Map::default();
        e.opt_str("api_server", &k.api_server);
        e.put("role", k.role.as_str());
        e.put(
            "kubeconfig_file",
            k.kubeconfig_file.as_deref().unwrap_or(""),
        );
        http_client(&mut e, &k.http_client_config().normalized());
        if k.namespaces.own_namespace || !k.namespaces.names.is_empty() {
            let mut ns = Map::default();
            ns.put("own_namespace", k.namespaces.own_namespace);
            ns.ser("names", &k.namespaces.names);
            e.put("namespaces", ns.done());
        }
        if !k.selectors.is_empty() {
            let sels: Vec<Value> = k
                .selectors
                .iter()
                .map(|s| {
                    let mut sm = Map::default();
                    sm.put("role", s.role.as_str());
                    sm.opt_str("label", &s.label);
                    sm.opt_str("field", &s.field);
                    sm.done()
                })
                .collect();
            e.put("selectors", sels);
        }
        if k.attach_metadata.node {
            let mut am = Map::default();
            am.put("node", true);
            e.put("attach_metadata", am.done());
        }
        blocks
            .entry("kubernetes".into())
            .or_default()
            .push(e.done());
    }
    for u in &j.unimplemented_sd {
        blocks
            .entry(u.mechanism.clone())
            .or_default()
            .push(mask_by_name(&Value::Mapping(u.config.clone())));
    }
    for (mechanism, entries) in blocks {
        m.put(&format!("{mechanism}_sd_configs"), entries);
    }
    if !j.static_configs.is_empty() {
        let groups: Vec<Value> = j
            .static_configs
            .iter()
            .map(|s| {
                let mut e = Map::default();
                e.ser("targets", &s.targets);
                if !s.labels.is_empty() {
                    e.ser("labels", &s.labels);
                }
                e.done()
            })
            .collect();
        m.put("static_configs", groups);
    }
}

/// A discovery entry kept as written, with the values of [`SECRET_KEYS`] (and the secret lists
/// of `proxy_connect_header` and `http_headers`) replaced by the mask.
pub(crate) fn mask_by_name(v: &Value) -> Value {
    match v {
        Value::Mapping(map) => {
            let mut out = Mapping::new();
            for (k, v) in map {
                let key = k.as_str().unwrap_or_default();
                let masked = if SECRET_KEYS.contains(&key) && !v.is_null() {
                    Value::from(MASK)
                } else if key == "proxy_connect_header" || key == "secrets" {
                    mask_leaves(v)
                } else {
                    mask_by_name(v)
                };
                out.insert(k.clone(), masked);
            }
            Value::Mapping(out)
        }
        Value::Sequence(s) => Value::Sequence(s.iter().map(mask_by_name).collect()),
        other => other.clone(),
    }
}

/// An `http_headers` entry with its `secrets` masked.
pub(crate) fn mask_secret_lists(v: &Value) -> Value {
    match v {
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| {
                    let v = if k.as_str() == Some("secrets") {
                        mask_leaves(v)
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every scalar under `v` replaced by the mask.
fn mask_leaves(v: &Value) -> Value {
    match v {
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_leaves(v)))
                .collect(),
        ),
        Value::Sequence(s) => Value::Sequence(s.iter().map(mask_leaves).collect()),
        Value::Null => Value::Null,
        _ => Value::from(MASK),
    }
}

fn relabels(m: &mut Map, key: &str, rules: &[RelabelConfig]) {
    if rules.is_empty() {
        return;
    }
    let list: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut e = Map::default();
            if !r.source_labels.is_empty() {
                e.ser("source_labels", &r.source_labels);
            }
            e.put("separator", r.separator.as_str());
            if !(r.regex.is_default() || r.regex.as_str() == "(.*)") {
                e.put("regex", r.regex.as_str());
            }
            e.nonzero("modulus", r.modulus);
            e.nonempty("target_label", &r.target_label);
            e.put("replacement", r.replacement.as_str());
            e.put("action", r.action.as_str());
            e.done()
        })
        .collect();
    m.put(key, list);
}

fn tls_config(t: &TlsConfig) -> Value {
    let mut m = Map::default();
    m.opt_str("ca", &t.ca);
    m.opt_str("cert", &t.cert);
    if let Some(k) = t.key.as_ref().filter(|k| !k.is_empty()) {
        m.ser("key", k);
    }
    m.opt_str("ca_file", &t.ca_file);
    m.opt_str("cert_file", &t.cert_file);
    m.opt_str("key_file", &t.key_file);
    m.opt_str("ca_ref", &t.ca_ref);
    m.opt_str("cert_ref", &t.cert_ref);
    m.opt_str("key_ref", &t.key_ref);
    m.opt_str("server_name", &t.server_name);
    m.put("insecure_skip_verify", t.insecure_skip_verify);
    m.opt_str("min_version", &t.min_version);
    m.opt_str("max_version", &t.max_version);
    m.done()
}

fn basic_auth(b: &BasicAuth) -> Value {
    let mut m = Map::default();
    m.nonempty("username", &b.username);
    if let Some(p) = b.password.as_ref().filter(|p| !p.is_empty()) {
        m.ser("password", p);
    }
    m.opt_str("username_file", &b.username_file);
    m.opt_str("password_file", &b.password_file);
    m.opt_str("username_ref", &b.username_ref);
    m.opt_str("password_ref", &b.password_ref);
    m.done()
}

fn authorization(a: &Authorization) -> Value {
    let mut m = Map::default();
    m.opt_str("type", &a.kind);
    if let Some(c) = a.credentials.as_ref().filter(|c| !c.is_empty()) {
        m.ser("credentials", c);
    }
    m.opt_str("credentials_ref", &a.credentials_ref);
    m.opt_str("credentials_file", &a.credentials_file);
    m.done()
}

fn proxy(
    m: &mut Map,
    url: &Option<String>,
    no_proxy: &Option<String>,
    from_env: bool,
    header: &BTreeMap<String, Vec<super::Secret>>,
) {
    m.opt_str("proxy_url", url);
    m.opt_str("no_proxy", no_proxy);
    m.truthy("proxy_from_environment", from_env);
    if !header.is_empty() {
        m.ser("proxy_connect_header", header);
    }
}

fn oauth2(o: &OAuth2) -> Value {
    let mut m = Map::default();
    m.put("client_id", o.client_id.as_str());
    if let Some(s) = o.client_secret.as_ref().filter(|s| !s.is_empty()) {
        m.ser("client_secret", s);
    }
    m.opt_str("client_secret_file", &o.client_secret_file);
    m.opt_str("client_secret_ref", &o.client_secret_ref);
    m.list("scopes", &o.scopes);
    m.put("token_url", o.token_url.as_str());
    if !o.endpoint_params.is_empty() {
        m.ser("endpoint_params", &o.endpoint_params);
    }
    if o.tls_config != TlsConfig::default() {
        m.put("tls_config", tls_config(&o.tls_config));
    }
    proxy(
        &mut m,
        &o.proxy_url,
        &o.no_proxy,
        o.proxy_from_environment,
        &o.proxy_connect_header,
    );
    m.done()
}

/// prometheus/common's `HTTPClientConfig`, inline in its owner.
fn http_client(m: &mut Map, h: &HttpClientConfig) {
    if let Some(b) = &h.basic_auth {
        m.put("basic_auth", basic_auth(b));
    }
    if let Some(a) = &h.authorization {
        m.put("authorization", authorization(a));
    }
    if let Some(o) = &h.oauth2 {
        m.put("oauth2", oauth2(o));
    }
    // Left by a configuration that was not normalised: still masked.
    if let Some(t) = h.bearer_token.as_ref().filter(|t| !t.is_empty()) {
        m.ser("bearer_token", t);
    }
    m.opt_str("bearer_token_file", &h.bearer_token_file);
    if h.tls_config != TlsConfig::default() {
        m.put("tls_config", tls_config(&h.tls_config));
    }
    m.put("follow_redirects", h.follow_redirects);
    m.put("enable_http2", h.enable_http2);
    proxy(
        m,
        &h.proxy_url,
        &h.no_proxy,
        h.proxy_from_environment,
        &h.proxy_connect_header,
    );
    if !h.http_headers.is_empty() {
        let mut headers = Map::default();
        for (name, spec) in &h.http_headers {
            let mut e = Map::default();
            if let Some(map) = spec.expose().as_mapping() {
                for key in ["values", "secrets", "files"] {
                    if let Some(v) = map.get(key).filter(|v| !v.is_null()) {
                        let v = if key == "secrets" {
                            mask_leaves(v)
                        } else {
                            v.clone()
                        };
                        e.put(key, v);
                    }
                }
            }
            headers.put(name, e.done());
        }
        m.put("http_headers", headers.done());
    }
}

fn sigv4(s: &SigV4Config) -> Value {
    let mut m = Map::default();
    m.opt_str("region", &s.region);
    m.opt_str("access_key", &s.access_key);
    if let Some(k) = s.secret_key.as_ref().filter(|k| !k.is_empty()) {
        m.ser("secret_key", k);
    }
    m.opt_str("profile", &s.profile);
    m.opt_str("role_arn", &s.role_arn);
    m.truthy("use_fips_sts_endpoint", s.use_fips_sts_endpoint);
    m.opt_str("service_name", &s.service_name);
    m.opt_str("external_id", &s.external_id);
    m.done()
}

fn alertmanager(a: &AlertmanagerConfig) -> Value {
    let mut m = Map::default();
    http_client(&mut m, &a.http_client_config);
    if let Some(s) = &a.sigv4 {
        m.put("sigv4", sigv4(s));
    }
    m.put("scheme", a.scheme.as_str());
    m.nonempty("path_prefix", &a.path_prefix);
    m.duration("timeout", a.timeout);
    m.put("api_version", a.api_version.as_str());
    relabels(&mut m, "relabel_configs", &a.relabel_configs);
    relabels(&mut m, "alert_relabel_configs", &a.alert_relabel_configs);
    discovery(&mut m, &a.discovery);
    m.done()
}

fn remote_write(r: &RemoteWriteConfig) -> Value {
    let mut m = Map::default();
    m.put("url", r.url.as_str());
    m.duration("remote_timeout", r.remote_timeout);
    if !r.headers.is_empty() {
        m.ser("headers", &r.headers);
    }
    relabels(&mut m, "write_relabel_configs", &r.write_relabel_configs);
    m.opt_str("name", &r.name);
    m.truthy("send_exemplars", r.send_exemplars);
    m.truthy("send_native_histograms", r.send_native_histograms);
    m.truthy("round_robin_dns", r.round_robin_dns);
    m.put("protobuf_message", r.protobuf_message.as_str());
    http_client(&mut m, &r.http_client_config);
    let q = &r.queue_config;
    let mut qm = Map::default();
    qm.put("capacity", q.capacity.unwrap_or(10_000));
    qm.put("max_shards", q.max_shards.unwrap_or(50));
    qm.put("min_shards", q.min_shards.unwrap_or(1));
    qm.put(
        "max_samples_per_send",
        q.max_samples_per_send.unwrap_or(2000),
    );
    qm.duration(
        "batch_send_deadline",
        q.batch_send_deadline.unwrap_or(Duration::from_secs(5)),
    );
    qm.duration(
        "min_backoff",
        q.min_backoff.unwrap_or(Duration::from_millis(30)),
    );
    qm.duration(
        "max_backoff",
        q.max_backoff.unwrap_or(Duration::from_secs(5)),
    );
    qm.truthy("retry_on_http_429", q.retry_on_http_429);
    if let Some(a) = q.sample_age_limit.filter(|a| *a != Duration::ZERO) {
        qm.duration("sample_age_limit", a);
    }
    m.put("queue_config", qm.done());
    let md = &r.metadata_config;
    let mut mm = Map::default();
    mm.put("send", md.send);
    mm.duration(
        "send_interval",
        md.send_interval.unwrap_or(Duration::from_secs(60)),
    );
    mm.put(
        "max_samples_per_send",
        md.max_samples_per_send.unwrap_or(2000),
    );
    m.put("metadata_config", mm.done());
    if let Some(s) = &r.sigv4 {
        m.put("sigv4", sigv4(s));
    }
    m.done()
}

fn remote_read(r: &RemoteReadConfig) -> Value {
    let mut m = Map::default();
    m.put("url", r.url.as_str());
    m.duration("remote_timeout", r.remote_timeout);
    m.put(
        "chunked_read_limit",
        r.chunked_read_limit.unwrap_or(50_000_000),
    );
    if !r.headers.is_empty() {
        m.ser("headers", &r.headers);
    }
    m.truthy("read_recent", r.read_recent);
    m.opt_str("name", &r.name);
    http_client(&mut m, &r.http_client_config);
    if !r.required_matchers.is_empty() {
        m.ser("required_matchers", &r.required_matchers);
    }
    m.put("filter_external_labels", r.filter_external_labels);
    m.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration with every secret field of the file set to a value holding `SECRET`.
    const ALL_SECRETS: &str = r#"
scrape_configs:
  - job_name: a
    basic_auth: {username: u, password: SECRET_1}
    proxy_url: http://127.0.0.1:9
    proxy_connect_header: {X-P: [SECRET_2]}
    http_headers: {X-A: {values: [v], secrets: [SECRET_3]}}
    tls_config: {cert: C, key: SECRET_4}
    static_configs: [{targets: ['127.0.0.1:9']}]
  - job_name: b
    bearer_token: SECRET_5
    kubernetes_sd_configs:
      - {role: pod, api_server: 'http://127.0.0.1:9', authorization: {credentials: SECRET_6}}
    http_sd_configs:
      - {url: 'http://127.0.0.1:9/sd', basic_auth: {username: u, password: SECRET_7}}
  - job_name: c
    oauth2:
      client_id: c
      client_secret: SECRET_8
      token_url: http://127.0.0.1:9/t
      proxy_url: http://127.0.0.1:9
      proxy_connect_header: {X-O: [SECRET_9]}
      tls_config: {cert: C, key: SECRET_10}
    ec2_sd_configs: [{region: r, access_key: a, secret_key: SECRET_11}]
alerting:
  alertmanagers:
    - authorization: {credentials: SECRET_12}
      static_configs: [{targets: ['127.0.0.1:9']}]
    - sigv4: {region: r, access_key: a, secret_key: SECRET_13}
remote_write:
  - {url: 'http://127.0.0.1:9/w', bearer_token: SECRET_14}
  - {url: 'http://127.0.0.1:9/w', sigv4: {region: r, access_key: a, secret_key: SECRET_15}}
remote_read:
  - {url: 'http://127.0.0.1:9/r', oauth2: {client_id: c, client_secret: SECRET_16, token_url: 'http://127.0.0.1:9/t'}}
"#;

    #[test]
    fn every_secret_is_masked_in_yaml_and_debug() {
        let cfg = Config::parse(ALL_SECRETS).unwrap();
        let yaml = cfg.to_masked_yaml();
        let debug = format!("{cfg:?}");
        for text in [&yaml, &debug] {
            assert!(!text.contains("SECRET_"), "{text}");
        }
        assert_eq!(yaml.matches(MASK).count(), 16, "{yaml}");
        let v: Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(
            v["scrape_configs"][1]["authorization"]["credentials"].as_str(),
            Some(MASK)
        );
        assert_eq!(
            v["scrape_configs"][1]["authorization"]["type"].as_str(),
            Some("Bearer")
        );
        // The values are still there for the clients.
        let job = &cfg.scrape_configs[0].http_client_config;
        let password = job.basic_auth.as_ref().unwrap().password.as_ref().unwrap();
        assert_eq!(password.expose(), "SECRET_1");
    }

    #[test]
    fn entries_kept_as_written_are_masked_by_name() {
        let v: Value = serde_yaml::from_str(
            "{secret_key: s, password: p, tls_config: {key: k, cert: c}, \
             http_headers: {X: {secrets: [a], values: [b]}}, region: r}",
        )
        .unwrap();
        let m = mask_by_name(&v);
        assert_eq!(m["secret_key"].as_str(), Some(MASK));
        assert_eq!(m["password"].as_str(), Some(MASK));
        assert_eq!(m["tls_config"]["key"].as_str(), Some(MASK));
        assert_eq!(m["tls_config"]["cert"].as_str(), Some("c"));
        assert_eq!(m["http_headers"]["X"]["secrets"][0].as_str(), Some(MASK));
        assert_eq!(m["http_headers"]["X"]["values"][0].as_str(), Some("b"));
        assert_eq!(m["region"].as_str(), Some("r"));
    }

    #[test]
    fn byte_sizes_print_as_prometheus_does() {
        assert_eq!(bytes(ByteSize(10 << 20)), "10MiB");
        assert_eq!(bytes(ByteSize(1536)), "1KiB512B");
        assert_eq!(bytes(ByteSize(0)), "0B");
    }
}
