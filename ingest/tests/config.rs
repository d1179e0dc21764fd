//! `prometheus.yml` loading: the users' seed configurations load unchanged, every validation
//! error is reported with Prometheus's message and a location, and accept/reject (and the
//! message, where Prometheus has its own check) agree with `promtool check config` of
//! Prometheus 2.42 (Debian's `prometheus` package) on every case that 2.42 can read.

use std::path::{Path, PathBuf};
use std::process::Command;

use tidemark_ingest::config::{ByteSize, Config, Duration};
use tidemark_ingest::relabel::Action;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

#[test]
fn every_seed_configuration_loads() {
    let mut n = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("seed-") {
            continue;
        }
        let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!cfg.scrape_configs.is_empty(), "{name}");
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn seed_000_resolves_as_prometheus_does() {
    let cfg = Config::load(fixtures().join("seed-000-service-endpoints.yml")).unwrap();
    let job = &cfg.scrape_configs[0];
    assert_eq!(job.job_name, "kubernetes-service-endpoints");
    assert_eq!(job.scrape_interval, Duration::from_secs(1));
    assert_eq!(job.scrape_timeout, Duration::from_secs(1));
    assert_eq!(job.metrics_path, "/metrics");
    assert_eq!(job.scheme, "http");
    assert!(job.honor_timestamps);
    assert_eq!(job.kubernetes_sd_configs.len(), 1);
    assert_eq!(job.relabel_configs.len(), 7);
    // `regex: true` is a YAML boolean; Prometheus reads it as the text "true".
    assert_eq!(job.relabel_configs[0].action, Action::Keep);
    assert_eq!(job.relabel_configs[0].regex.as_str(), "true");
    assert_eq!(job.relabel_configs[3].replacement, "$1:$2");
    assert!(job.relabel_configs[4].regex.is_default());
}

#[test]
fn seed_002_keeps_its_bearer_token_and_empty_address_rule() {
    let cfg = Config::load(fixtures().join("seed-002-out-of-cluster.yml")).unwrap();
    let job = &cfg.scrape_configs[0];
    assert_eq!(job.scheme, "https");
    let auth = job.http_client_config.authorization.as_ref().unwrap();
    assert_eq!(auth.kind.as_deref(), Some("Bearer"));
    assert_eq!(auth.credentials.as_deref(), Some("$KUBERNETES_TOKEN"));
    assert_eq!(
        job.http_client_config.tls_config.ca_file.as_deref(),
        Some("/etc/prometheus/tls/certs/kubernetes.crt")
    );
    assert_eq!(job.relabel_configs[1].replacement, "");
    assert_eq!(job.relabel_configs[3].action, Action::LabelMap);
}

#[test]
fn defaults_come_from_global() {
    let cfg = Config::parse(
        "global:\n  scrape_interval: 5s\n  external_labels: {region: eu}\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 1m\n  - job_name: c\n    scrape_interval: 2s\n",
    )
    .unwrap();
    assert_eq!(cfg.global.scrape_interval, Duration::from_secs(5));
    assert_eq!(cfg.global.scrape_timeout, Duration::from_secs(5));
    assert_eq!(cfg.global.evaluation_interval, Duration::from_secs(60));
    let [a, b, c] = &cfg.scrape_configs[..] else {
        panic!()
    };
    assert_eq!(
        (a.scrape_interval, a.scrape_timeout),
        (Duration::from_secs(5), Duration::from_secs(5))
    );
    assert_eq!(
        (b.scrape_interval, b.scrape_timeout),
        (Duration::from_secs(60), Duration::from_secs(5))
    );
    assert_eq!(
        (c.scrape_interval, c.scrape_timeout),
        (Duration::from_secs(2), Duration::from_secs(2))
    );
    assert_eq!(cfg.global.external_labels["region"], "eu");

    let empty = Config::parse("").unwrap();
    assert_eq!(empty.global.scrape_interval, Duration::from_secs(60));
    assert_eq!(empty.global.scrape_timeout, Duration::from_secs(10));
    assert!(Config::parse("# only a comment\n")
        .unwrap()
        .scrape_configs
        .is_empty());
    assert_eq!(Config::parse("global:\n").unwrap().global, empty.global);
}

#[test]
fn limits_sizes_and_v3_inheritance() {
    let cfg = Config::parse(
        "global:\n  sample_limit: 100\n  body_size_limit: 10MB\nscrape_configs:\n  - job_name: a\n    label_limit: 5\n  - job_name: b\n    sample_limit: 7\n    body_size_limit: 1KiB\n",
    )
    .unwrap();
    let a = &cfg.scrape_configs[0].limits;
    assert_eq!(
        (a.sample_limit, a.label_limit, a.body_size_limit),
        (100, 5, ByteSize(10 << 20))
    );
    let b = &cfg.scrape_configs[1].limits;
    assert_eq!((b.sample_limit, b.body_size_limit), (7, ByteSize(1024)));
}

#[test]
fn reload_detects_which_jobs_changed() {
    let before = Config::parse("scrape_configs:\n  - job_name: a\n  - job_name: b\n").unwrap();
    let after = Config::parse(
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n    relabel_configs: [{action: drop, source_labels: [x]}]\n",
    )
    .unwrap();
    assert_eq!(before.scrape_configs[0], after.scrape_configs[0]);
    assert_ne!(before.scrape_configs[1], after.scrape_configs[1]);
}

#[test]
fn other_sections_parse_and_are_reported_inactive() {
    let cfg = Config::parse(
        r#"
rule_files: [rules/*.yml]
alerting:
  alert_relabel_configs: [{action: labeldrop, regex: replica}]
  alertmanagers: [{static_configs: [{targets: ['am:9093']}]}]
remote_write:
  - url: http://rw/api/v1/write
    name: one
    queue_config: {capacity: 100}
    write_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]
remote_read: [{url: http://rr/read, read_recent: true}]
storage: {tsdb: {out_of_order_time_window: 10m}, exemplars: {max_exemplars: 10}}
tracing: {endpoint: 'otel:4317', client_type: grpc, sampling_fraction: 0.5}
"#,
    )
    .unwrap();
    assert_eq!(
        cfg.inactive_sections(),
        [
            "rule_files",
            "alerting",
            "remote_write",
            "remote_read",
            "storage",
            "tracing"
        ]
    );
    assert_eq!(cfg.remote_write[0].write_relabel_configs.len(), 1);
    assert!(Config::parse("").unwrap().inactive_sections().is_empty());
}

#[test]
fn load_resolves_relative_paths_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        "scrape_configs:\n  - job_name: a\n    bearer_token_file: token\n    file_sd_configs: [{files: ['sd/*.json']}]\n",
    )
    .unwrap();
    let cfg = Config::load(&path).unwrap();
    let job = &cfg.scrape_configs[0];
    let auth = job.http_client_config.authorization.as_ref().unwrap();
    assert_eq!(
        auth.credentials_file.as_deref(),
        Some(dir.path().join("token").to_str().unwrap())
    );
    assert_eq!(
        job.file_sd_configs[0].files[0],
        dir.path().join("sd/*.json").to_str().unwrap()
    );
    assert_eq!(
        job.file_sd_configs[0].refresh_interval,
        Duration::from_secs(300)
    );

    let err = Config::load(dir.path().join("missing.yml")).unwrap_err();
    assert!(err.to_string().contains("missing.yml"), "{err}");
}

/// How a case must come out, here and in `promtool check config` (2.42).
#[derive(Debug)]
enum Want {
    /// Both accept.
    Accept,
    /// Both reject, with exactly this message.
    Reject(&'static str),
    /// Both reject; our message is this (2.42 words the YAML or regex error its own way).
    RejectOwn(&'static str),
    /// Tidemark accepts a Prometheus v3 field that 2.42 rejects as unknown.
    AcceptV3,
    /// Tidemark rejects with this message; not comparable with 2.42 (v3-only field, or
    /// Kubernetes SD, which Debian's build lacks).
    RejectNoPromtool(&'static str),
}

/// `(name, yaml, expected, job, line)`: `job`/`line` are where the error must point.
type Case = (
    &'static str,
    &'static str,
    Want,
    Option<&'static str>,
    Option<usize>,
);

fn cases() -> Vec<Case> {
    use Want::*;
    vec![
        ("minimal", "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1'], labels: {x: y}}]\n", Accept, None, None),
        ("all_job_fields", r#"scrape_configs:
  - job_name: full
    scrape_interval: 30s
    scrape_timeout: 30s
    metrics_path: /m
    scheme: https
    params: {module: [http_2xx], x: [a, b]}
    honor_labels: true
    honor_timestamps: false
    static_configs: [{targets: ['a:1', 'b:2']}]
    file_sd_configs: [{files: ['x/*.json', y.yml], refresh_interval: 1m}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {action: hashmod, source_labels: [__address__], modulus: 4, target_label: __tmp_shard}
      - {action: keep, source_labels: [__tmp_shard], regex: '0|1'}
      - {action: lowercase, source_labels: [a], target_label: b}
      - {action: keepequal, source_labels: [a], target_label: b}
      - {action: dropequal, source_labels: [a], target_label: c}
      - {action: labelmap, regex: 'l_(.+)', replacement: 'm_$1'}
      - {action: labeldrop, regex: 'tmp.*'}
      - {action: LabelKeep, regex: '.+'}
    metric_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]
    sample_limit: 1000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 1000
    target_limit: 10
    body_size_limit: 100MB
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true, server_name: s, min_version: TLS12}
    proxy_url: http://proxy:3128
    follow_redirects: false
    enable_http2: false
"#, Accept, None, None),
        ("authorization", "scrape_configs:\n  - job_name: a\n    authorization: {type: Token, credentials: abc}\n", Accept, None, None),
        ("regex_as_bool_and_number", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], regex: true, action: keep}\n      - {source_labels: [a], regex: 200, action: drop}\n", Accept, None, None),
        ("null_regex_is_empty", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], regex: , action: keep}\n", Accept, None, None),
        ("empty_separator", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a, b], separator: '', target_label: c}\n", Accept, None, None),
        ("url_target_with_relabel", "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://x/y']}]\n    relabel_configs: [{source_labels: [__address__], regex: 'http://([^/]+)/.*', target_label: __address__}]\n", Accept, None, None),
        ("timeout_equal_interval", "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 5s\n", Accept, None, None),
        ("empty_global", "global:\nscrape_configs:\n  - job_name: a\n", Accept, None, None),
        ("zero_interval_takes_global", "global: {scrape_interval: 0}\nscrape_configs:\n  - job_name: a\n    scrape_interval: 0\n", Accept, None, None),
        ("duration_units", "global: {scrape_interval: 1h, evaluation_interval: 1m30s, scrape_timeout: 500ms}\n", Accept, None, None),
        ("rule_files_glob", "rule_files: ['rules/*.yml']\n", Accept, None, None),
        ("global_limits_v3", "global:\n  sample_limit: 10\n", AcceptV3, None, None),
        ("scrape_protocols_v3", "scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0]\n", AcceptV3, None, None),
        ("keep_dropped_v3", "scrape_configs:\n  - job_name: a\n    keep_dropped_targets: 5\n    enable_compression: false\n", AcceptV3, None, None),

        // config/config.go checks.
        ("duplicate_job", "scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n", Reject(r#"found multiple scrape configs with job name "a""#), Some("a"), Some(4)),
        ("empty_job_name", "scrape_configs:\n  - job_name: ''\n", Reject("job_name is empty"), None, Some(2)),
        ("missing_job_name", "scrape_configs:\n  - scrape_interval: 1s\n", Reject("job_name is empty"), None, None),
        ("null_scrape_config", "scrape_configs:\n  -\n", Reject("empty or null scrape config section"), None, None),
        ("null_relabel_rule", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      -\n", Reject("empty or null target relabeling rule in scrape config"), Some("a"), Some(2)),
        ("null_metric_relabel_rule", "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      -\n", Reject("empty or null metric relabeling rule in scrape config"), Some("a"), Some(2)),
        ("timeout_above_interval", "scrape_configs:\n  - job_name: x\n    scrape_interval: 5s\n    scrape_timeout: 10s\n", Reject(r#"scrape timeout greater than scrape interval for scrape config with job name "x""#), Some("x"), Some(2)),
        ("timeout_above_global_interval", "global: {scrape_interval: 5s}\nscrape_configs:\n  - job_name: x\n    scrape_timeout: 6s\n", Reject(r#"scrape timeout greater than scrape interval for scrape config with job name "x""#), Some("x"), Some(3)),
        ("global_timeout_above_interval", "global: {scrape_interval: 5s, scrape_timeout: 6s}\n", Reject("global scrape timeout greater than scrape interval"), None, None),
        ("url_as_target", "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://x:9090']}]\n", Reject(r#""http://x:9090" is not a valid hostname"#), Some("a"), Some(2)),
        ("bad_static_label", "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['x:1'], labels: {'a-b': c}}]\n", Reject(r#""a-b" is not a valid label name"#), Some("a"), Some(2)),
        ("bad_external_label", "global:\n  external_labels: {'1x': y}\n", Reject(r#""1x" is not a valid label name"#), None, None),
        ("file_sd_no_files", "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: []}]\n", Reject("file service discovery config must contain at least one path name"), Some("a"), Some(2)),
        ("file_sd_bad_ext", "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [targets.txt]}]\n", Reject(r#"path name "targets.txt" is not valid for file discovery"#), Some("a"), Some(2)),
        ("file_sd_glob_in_dir", "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: ['*/x.json']}]\n", Reject(r#"path name "*/x.json" is not valid for file discovery"#), Some("a"), Some(2)),
        ("bad_rule_file", "rule_files: ['a/*/b.yml']\n", Reject(r#"invalid rule file path "a/*/b.yml""#), None, None),

        // Durations and sizes.
        ("bad_duration_order", "scrape_configs:\n  - job_name: a\n    scrape_interval: 30s1m\n", Reject(r#"not a valid duration string: "30s1m""#), Some("a"), Some(2)),
        ("bare_number_duration", "global:\n  scrape_interval: 15\n", Reject(r#"not a valid duration string: "15""#), None, Some(2)),
        ("bad_size_unit", "scrape_configs:\n  - job_name: a\n    body_size_limit: 1kB\n", Reject("units: unknown unit kB in 1kB"), Some("a"), Some(2)),

        // Unknown fields and wrong types (2.42 words these as Go YAML errors).
        ("unknown_job_field", "scrape_configs:\n  - job_name: a\n    scrape_intervall: 1m\n", RejectOwn(r#"unknown field "scrape_intervall""#), Some("a"), Some(3)),
        ("unknown_top_field", "scrape_config:\n  - job_name: a\n", RejectOwn(r#"unknown field "scrape_config""#), None, Some(1)),
        ("unknown_relabel_field", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_label: [a], action: keep}\n", RejectOwn(r#"unknown field "source_label""#), Some("a"), Some(4)),
        ("unknown_static_field", "scrape_configs:\n  - job_name: a\n    static_configs: [{target: ['x:1']}]\n", RejectOwn(r#"unknown field "target""#), Some("a"), Some(3)),
        ("unknown_tls_field", "scrape_configs:\n  - job_name: a\n    tls_config: {ca_path: x}\n", RejectOwn(r#"unknown field "ca_path""#), Some("a"), Some(3)),
        ("unknown_global_field", "global:\n  scrape_intervals: 1m\n", RejectOwn(r#"unknown field "scrape_intervals""#), None, Some(2)),
        ("params_not_a_list", "scrape_configs:\n  - job_name: a\n    params: {module: http_2xx}\n", RejectOwn("invalid type: string \"http_2xx\", expected a sequence"), Some("a"), Some(3)),
        ("bad_yaml", "scrape_configs:\n  - job_name: a\n   scrape_interval: 1m\n", RejectOwn("did not find expected '-' indicator at line 3 column 4, while parsing a block collection at line 2 column 3"), None, Some(3)),
        ("bad_bool", "scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n", RejectOwn("invalid type: string \"maybe\", expected a boolean"), Some("a"), Some(3)),

        // HTTP client (prometheus/common).
        ("bearer_and_file", "scrape_configs:\n  - job_name: a\n    bearer_token: x\n    bearer_token_file: y\n", Reject("at most one of bearer_token & bearer_token_file must be configured"), Some("a"), Some(2)),
        ("basic_and_bearer", "scrape_configs:\n  - job_name: a\n    bearer_token: x\n    basic_auth: {username: u}\n", Reject("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"), Some("a"), Some(2)),
        ("password_and_file", "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p, password_file: f}\n", Reject("at most one of basic_auth password & password_file must be configured"), Some("a"), Some(2)),
        ("authorization_and_bearer", "scrape_configs:\n  - job_name: a\n    bearer_token: x\n    authorization: {credentials: c}\n", Reject("authorization is not compatible with bearer_token & bearer_token_file"), Some("a"), Some(2)),
        ("authorization_two_credentials", "scrape_configs:\n  - job_name: a\n    authorization: {credentials: c, credentials_file: f}\n", Reject("at most one of authorization credentials & credentials_file must be configured"), Some("a"), Some(2)),
        ("authorization_basic", "scrape_configs:\n  - job_name: a\n    authorization: {type: basic, credentials: c}\n", Reject(r#"authorization type cannot be set to "basic", use "basic_auth" instead"#), Some("a"), Some(2)),
        ("authorization_and_basic_auth", "scrape_configs:\n  - job_name: a\n    authorization: {credentials: c}\n    basic_auth: {username: u}\n", Reject("at most one of basic_auth, oauth2 & authorization must be configured"), Some("a"), Some(2)),
        ("tls_ca_twice", "scrape_configs:\n  - job_name: a\n    tls_config: {ca: x, ca_file: y}\n", RejectNoPromtool("at most one of ca and ca_file must be configured"), Some("a"), Some(2)),
        ("tls_cert_without_key", "scrape_configs:\n  - job_name: a\n    tls_config: {cert: x}\n", RejectNoPromtool("exactly one of key or key_file must be configured when a client certificate is configured"), Some("a"), Some(2)),
        ("tls_key_without_cert", "scrape_configs:\n  - job_name: a\n    tls_config: {key: x}\n", RejectNoPromtool("exactly one of cert or cert_file must be configured when a client key is configured"), Some("a"), Some(2)),
        ("no_proxy_v3", "scrape_configs:\n  - job_name: a\n    no_proxy: x\n", RejectNoPromtool("if no_proxy is configured, proxy_url must also be configured"), Some("a"), Some(2)),
        ("bad_scrape_protocol_v3", "scrape_configs:\n  - job_name: a\n    scrape_protocols: [Foo]\n", RejectNoPromtool("unknown scrape protocol Foo, supported: [\"OpenMetricsText0.0.1\", \"OpenMetricsText1.0.0\", \"PrometheusProto\", \"PrometheusText0.0.4\", \"PrometheusText1.0.0\"]"), Some("a"), Some(2)),

        // Relabel rules (model/relabel).
        ("hashmod_no_modulus", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, source_labels: [a], target_label: b}\n", Reject("relabel configuration for hashmod requires non-zero modulus"), Some("a"), Some(4)),
        ("replace_no_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a]}\n", Reject("relabel configuration for replace action requires 'target_label' value"), Some("a"), Some(4)),
        ("lowercase_no_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: lowercase, source_labels: [a]}\n", Reject("relabel configuration for lowercase action requires 'target_label' value"), Some("a"), Some(4)),
        ("keepequal_no_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: keepequal, source_labels: [a]}\n", Reject("relabel configuration for keepequal action requires 'target_label' value"), Some("a"), Some(4)),
        ("replace_bad_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], target_label: 'a-b'}\n", Reject(r#""a-b" is invalid 'target_label' for replace action"#), Some("a"), Some(4)),
        ("replace_bad_template_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], target_label: '${1}-x'}\n", Reject(r#""${1}-x" is invalid 'target_label' for replace action"#), Some("a"), Some(4)),
        ("replace_template_target_ok", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], regex: '(.+)', target_label: 'l_${1}'}\n", Accept, None, None),
        ("uppercase_template_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: uppercase, source_labels: [a], target_label: '$1'}\n", Accept, None, None),
        ("uppercase_bad_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: uppercase, source_labels: [a], target_label: '1x'}\n", Reject(r#""1x" is invalid 'target_label' for uppercase action"#), Some("a"), Some(4)),
        ("hashmod_template_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, source_labels: [a], modulus: 2, target_label: '$1'}\n", Reject(r#""$1" is invalid 'target_label' for hashmod action"#), Some("a"), Some(4)),
        ("tls_cert_file_without_key", "scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: x}\n", Reject(r#"client cert file "x" specified without client key file"#), Some("a"), Some(2)),
        ("tls_key_file_without_cert", "scrape_configs:\n  - job_name: a\n    tls_config: {key_file: x}\n", Reject(r#"client key file "x" specified without client cert file"#), Some("a"), Some(2)),
        ("lowercase_replacement", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: lowercase, source_labels: [a], target_label: b, replacement: x}\n", Reject("'replacement' can not be set for lowercase action"), Some("a"), Some(4)),
        ("labelmap_bad_replacement", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labelmap, regex: '(.*)', replacement: 'a-$1'}\n", Reject(r#""a-$1" is invalid 'replacement' for labelmap action"#), Some("a"), Some(4)),
        ("hashmod_bad_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, source_labels: [a], modulus: 2, target_label: '1x'}\n", Reject(r#""1x" is invalid 'target_label' for hashmod action"#), Some("a"), Some(4)),
        ("keepequal_with_regex", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: keepequal, source_labels: [a], target_label: b, regex: x}\n", Reject("keepequal action requires only 'source_labels' and `target_label`, and no other fields"), Some("a"), Some(4)),
        ("dropequal_with_separator", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: dropequal, source_labels: [a], target_label: b, separator: ','}\n", Reject("dropequal action requires only 'source_labels' and `target_label`, and no other fields"), Some("a"), Some(4)),
        ("labeldrop_with_source", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labeldrop, source_labels: [a], regex: x}\n", Reject("labeldrop action requires only 'regex', and no other fields"), Some("a"), Some(4)),
        ("labelkeep_with_empty_source", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labelkeep, source_labels: [], regex: x}\n", Reject("labelkeep action requires only 'regex', and no other fields"), Some("a"), Some(4)),
        ("labeldrop_with_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labeldrop, target_label: a, regex: x}\n", Reject("labeldrop action requires only 'regex', and no other fields"), Some("a"), Some(4)),
        ("unknown_action", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: Rename, source_labels: [a]}\n", Reject(r#"unknown relabel action "Rename""#), Some("a"), Some(4)),
        ("empty_action", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: '', source_labels: [a]}\n", Reject(r#"unknown relabel action """#), Some("a"), Some(4)),
        ("null_action", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: , source_labels: [a]}\n", Reject("relabel action cannot be empty"), Some("a"), Some(4)),
        ("bad_source_label", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: ['a.b'], target_label: c}\n", Reject(r#""a.b" is not a valid label name"#), Some("a"), Some(4)),
        ("bad_regex", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], regex: '(abc', action: keep}\n", RejectOwn("error parsing regexp: unclosed group: `^(?:(abc)$`"), Some("a"), Some(4)),
        ("bad_metric_relabel", "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - {action: hashmod, source_labels: [a], target_label: b}\n", Reject("relabel configuration for hashmod requires non-zero modulus"), Some("a"), Some(4)),
        ("bad_write_relabel", "remote_write:\n  - url: http://x\n    write_relabel_configs:\n      - {action: drop, regex: '[z-a]'}\n", RejectOwn("error parsing regexp: invalid character class range, the start must be <= the end: `^(?:[z-a])$`"), None, Some(4)),
        ("duplicate_remote_write", "remote_write:\n  - {url: 'http://a', name: x}\n  - {url: 'http://b', name: x}\n", Reject(r#"found multiple remote write configs with job name "x""#), None, None),

        // Kubernetes SD (Debian's 2.42 is built without it).
        ("kubernetes_sd", "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pod, namespaces: {names: [default]}}]\n", Accept, None, None),
        ("kubernetes_bad_role", "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pods}]\n", RejectNoPromtool("unknown Kubernetes SD role \"pods\""), Some("k"), Some(3)),
    ]
}

fn promtool() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/promtool");
    p.is_file().then_some(p)
}

/// `promtool check config` on `path`: `Ok(())` or the reason after "parsing YAML file X: ".
fn promtool_check(bin: &Path, path: &Path) -> Result<(), String> {
    let out = Command::new(bin)
        .arg("check")
        .arg("config")
        .arg(path)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        return Ok(());
    }
    // Relative paths come back resolved against the file's folder; compare them as written.
    let dir = format!("{}/", path.parent().unwrap().display());
    let marker = format!("parsing YAML file {}: ", path.display());
    let reason = match (text.find(&marker), text.find("FAILED: ")) {
        (Some(i), _) => &text[i + marker.len()..],
        (None, Some(i)) => &text[i + "FAILED: ".len()..],
        (None, None) => text.as_str(),
    };
    Err(reason.trim().replace(&dir, ""))
}

fn uses_kubernetes(yaml: &str) -> bool {
    yaml.contains("kubernetes_sd_configs")
}

#[test]
fn validation_table_with_locations() {
    let mut failures = Vec::new();
    for (name, yaml, want, job, line) in cases() {
        let got = Config::parse(yaml);
        let ok = match (&want, &got) {
            (Want::Accept | Want::AcceptV3, Ok(_)) => true,
            (Want::Reject(msg) | Want::RejectOwn(msg) | Want::RejectNoPromtool(msg), Err(e)) => {
                let inv = e.invalid().expect("an invalid-config error");
                let mut ok = inv.message == *msg;
                if let Some(j) = job {
                    ok &= inv.job.as_deref() == Some(j);
                }
                if let Some(l) = line {
                    ok &= inv.line == Some(l);
                }
                ok
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: want {want:?} (job {job:?}, line {line:?}), got {:?}",
                got.as_ref().map(|_| ()).map_err(|e| e.invalid().cloned())
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_display_names_line_job_and_field() {
    let err = Config::parse(
        "scrape_configs:\n  - job_name: a\n  - job_name: web\n    relabel_configs:\n      - {action: hashmod, source_labels: [a], target_label: b}\n",
    )
    .unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        "line 5 column 7: scrape config \"web\": field relabel_configs: relabel configuration for hashmod requires non-zero modulus"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yml");
    std::fs::write(
        &path,
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
    )
    .unwrap();
    let text = Config::load(&path).unwrap_err().to_string();
    assert!(
        text.starts_with(&format!(
            "{}:line 2: scrape config \"a\": field scrape_timeout: ",
            path.display()
        )),
        "{text}"
    );
}

#[test]
fn agrees_with_promtool_2_42() {
    let Some(bin) = promtool() else {
        eprintln!("SKIPPED: /usr/bin/promtool not installed (apt-get install -y prometheus)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut seeds: Vec<(String, String)> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_str().unwrap().to_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    seeds.sort();
    let mut all: Vec<(String, String, Want)> = cases()
        .into_iter()
        .map(|(n, y, w, _, _)| (n.to_owned(), y.to_owned(), w))
        .collect();
    all.extend(seeds.into_iter().map(|(n, y)| (n, y, Want::Accept)));
    for (name, yaml, want) in all {
        if uses_kubernetes(&yaml) || matches!(want, Want::RejectNoPromtool(_)) {
            continue;
        }
        let path = dir.path().join(format!("{name}.yml"));
        std::fs::write(&path, &yaml).unwrap();
        let prom = promtool_check(&bin, &path);
        compared += 1;
        let ok = match (&want, &prom) {
            (Want::Accept, Ok(())) => true,
            (Want::AcceptV3, Err(e)) => e.contains("not found in type"),
            (Want::Reject(msg), Err(e)) => e == msg,
            (Want::RejectOwn(_), Err(_)) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: we expect {want:?}, promtool 2.42 says {prom:?}"
            ));
        }
    }
    assert!(compared >= 60, "only {compared} cases compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
