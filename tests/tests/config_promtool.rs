//! `prometheus.yml` accept/reject cases compared with `promtool check config --syntax-only` of
//! Prometheus 3.5.3 (found through `tidemark_tests::peers`): every case must come out the same
//! in Tidemark's [`Config::parse`] and in promtool, with the same message where Prometheus has
//! a check of its own (`Reject`); where the message is a YAML or regex error that Go words its
//! own way (`RejectOwn`) only the verdict is compared. Tidemark's errors must also point at the
//! job and line given in the table. The seed configurations of `ingest/tests/fixtures/config`
//! must be accepted by both.

use std::path::{Path, PathBuf};
use std::process::Command;

use tidemark_ingest::config::Config;
use tidemark_tests::peers::{self, Peer};

fn fixtures() -> PathBuf {
    peers::workspace_root().join("ingest/tests/fixtures/config")
}

/// How a case must come out, here and in `promtool check config --syntax-only` (3.5.3).
#[derive(Debug)]
enum Want {
    /// Both accept.
    Accept,
    /// Both reject, with exactly this message.
    Reject(&'static str),
    /// Both reject; our message is this (3.5 words the YAML or regex error the Go way).
    RejectOwn(&'static str),
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
        ("global_limits", "global:\n  sample_limit: 10\n", Accept, None, None),
        ("scrape_protocols_v3", "scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0]\n", Accept, None, None),
        ("keep_dropped_v3", "scrape_configs:\n  - job_name: a\n    keep_dropped_targets: 5\n    enable_compression: false\n", Accept, None, None),

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
        ("bad_static_label", "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['x:1'], labels: {'a-b': c}}]\n", Accept, None, None),
        ("bad_external_label", "global:\n  external_labels: {'1x': y}\n", Accept, None, None),
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
        ("password_and_file", "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p, password_file: f}\n", Reject("at most one of basic_auth password, password_file & password_ref must be configured"), Some("a"), Some(2)),
        ("authorization_and_bearer", "scrape_configs:\n  - job_name: a\n    bearer_token: x\n    authorization: {credentials: c}\n", Reject("authorization is not compatible with bearer_token & bearer_token_file"), Some("a"), Some(2)),
        ("authorization_two_credentials", "scrape_configs:\n  - job_name: a\n    authorization: {credentials: c, credentials_file: f}\n", Reject("at most one of authorization credentials & credentials_file must be configured"), Some("a"), Some(2)),
        ("authorization_basic", "scrape_configs:\n  - job_name: a\n    authorization: {type: basic, credentials: c}\n", Reject(r#"authorization type cannot be set to "basic", use "basic_auth" instead"#), Some("a"), Some(2)),
        ("authorization_and_basic_auth", "scrape_configs:\n  - job_name: a\n    authorization: {credentials: c}\n    basic_auth: {username: u}\n", Reject("at most one of basic_auth, oauth2 & authorization must be configured"), Some("a"), Some(2)),
        ("tls_ca_twice", "scrape_configs:\n  - job_name: a\n    tls_config: {ca: x, ca_file: y}\n", Reject("at most one of ca, ca_file & ca_ref must be configured"), Some("a"), Some(2)),
        ("tls_cert_without_key", "scrape_configs:\n  - job_name: a\n    tls_config: {cert: x}\n", Reject("exactly one of key or key_file must be configured when a client certificate is configured"), Some("a"), Some(2)),
        ("tls_key_without_cert", "scrape_configs:\n  - job_name: a\n    tls_config: {key: x}\n", Reject("exactly one of cert or cert_file must be configured when a client key is configured"), Some("a"), Some(2)),
        ("no_proxy_v3", "scrape_configs:\n  - job_name: a\n    no_proxy: x\n", Reject("if no_proxy is configured, proxy_url must also be configured"), Some("a"), Some(2)),
        ("bad_scrape_protocol_v3", "scrape_configs:\n  - job_name: a\n    scrape_protocols: [Foo]\n", Reject("scrape_protocols: unknown scrape protocol Foo, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0] for scrape config with job name \"a\""), Some("a"), Some(2)),

        // Relabel rules (model/relabel).
        ("hashmod_no_modulus", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, source_labels: [a], target_label: b}\n", Reject("relabel configuration for hashmod requires non-zero modulus"), Some("a"), Some(4)),
        ("replace_no_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a]}\n", Reject("relabel configuration for replace action requires 'target_label' value"), Some("a"), Some(4)),
        ("lowercase_no_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: lowercase, source_labels: [a]}\n", Reject("relabel configuration for lowercase action requires 'target_label' value"), Some("a"), Some(4)),
        ("keepequal_no_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: keepequal, source_labels: [a]}\n", Reject("relabel configuration for keepequal action requires 'target_label' value"), Some("a"), Some(4)),
        ("replace_bad_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], target_label: 'a-b'}\n", Accept, None, None),
        ("replace_bad_template_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], target_label: '${1}-x'}\n", Accept, None, None),
        ("replace_template_target_ok", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], regex: '(.+)', target_label: 'l_${1}'}\n", Accept, None, None),
        ("uppercase_template_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: uppercase, source_labels: [a], target_label: '$1'}\n", Accept, None, None),
        ("uppercase_bad_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: uppercase, source_labels: [a], target_label: '1x'}\n", Accept, None, None),
        ("hashmod_template_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, source_labels: [a], modulus: 2, target_label: '$1'}\n", Accept, None, None),
        ("tls_cert_file_without_key", "scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: x}\n", Reject("exactly one of key or key_file must be configured when a client certificate is configured"), Some("a"), Some(2)),
        ("tls_key_file_without_cert", "scrape_configs:\n  - job_name: a\n    tls_config: {key_file: x}\n", Reject("exactly one of cert or cert_file must be configured when a client key is configured"), Some("a"), Some(2)),
        ("lowercase_replacement", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: lowercase, source_labels: [a], target_label: b, replacement: x}\n", Reject("'replacement' can not be set for lowercase action"), Some("a"), Some(4)),
        ("labelmap_bad_replacement", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labelmap, regex: '(.*)', replacement: 'a-$1'}\n", Accept, None, None),
        ("hashmod_bad_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, source_labels: [a], modulus: 2, target_label: '1x'}\n", Accept, None, None),
        ("keepequal_with_regex", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: keepequal, source_labels: [a], target_label: b, regex: x}\n", Reject("keepequal action requires only 'source_labels' and `target_label`, and no other fields"), Some("a"), Some(4)),
        ("dropequal_with_separator", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: dropequal, source_labels: [a], target_label: b, separator: ','}\n", Reject("dropequal action requires only 'source_labels' and `target_label`, and no other fields"), Some("a"), Some(4)),
        ("labeldrop_with_source", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labeldrop, source_labels: [a], regex: x}\n", Reject("labeldrop action requires only 'regex', and no other fields"), Some("a"), Some(4)),
        ("labelkeep_with_empty_source", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labelkeep, source_labels: [], regex: x}\n", Reject("labelkeep action requires only 'regex', and no other fields"), Some("a"), Some(4)),
        ("labeldrop_with_target", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labeldrop, target_label: a, regex: x}\n", Reject("labeldrop action requires only 'regex', and no other fields"), Some("a"), Some(4)),
        ("unknown_action", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: Rename, source_labels: [a]}\n", Reject(r#"unknown relabel action "Rename""#), Some("a"), Some(4)),
        ("empty_action", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: '', source_labels: [a]}\n", Reject(r#"unknown relabel action """#), Some("a"), Some(4)),
        ("null_action", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: , source_labels: [a]}\n", Reject("relabel action cannot be empty"), Some("a"), Some(4)),
        ("bad_source_label", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: ['a.b'], target_label: c}\n", Accept, None, None),
        ("bad_regex", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [a], regex: '(abc', action: keep}\n", RejectOwn("error parsing regexp: unclosed group: `^(?s:(abc)$`"), Some("a"), Some(4)),
        ("bad_metric_relabel", "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - {action: hashmod, source_labels: [a], target_label: b}\n", Reject("relabel configuration for hashmod requires non-zero modulus"), Some("a"), Some(4)),
        ("bad_write_relabel", "remote_write:\n  - url: http://x\n    write_relabel_configs:\n      - {action: drop, regex: '[z-a]'}\n", RejectOwn("error parsing regexp: invalid character class range, the start must be <= the end: `^(?s:[z-a])$`"), None, Some(4)),
        ("duplicate_remote_write", "remote_write:\n  - {url: 'http://a', name: x}\n  - {url: 'http://b', name: x}\n", Reject(r#"found multiple remote write configs with job name "x""#), None, None),

        // Kubernetes SD (Debian's 3.5 is built with it).
        ("kubernetes_sd", "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pod, namespaces: {names: [default]}}]\n", Accept, None, None),
        ("kubernetes_bad_role", "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pods}]\n", Reject("unknown Kubernetes SD role \"pods\""), Some("k"), Some(3)),
        // 3.5 fields and sections.
        ("globals_3_5", "global:\n  scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0]\n  rule_query_offset: 30s\n  scrape_failure_log_file: /tmp/f.log\n  metric_name_validation_scheme: utf8\n  metric_name_escaping_scheme: dots\n  always_scrape_classic_histograms: true\n  convert_classic_histograms_to_nhcb: true\n  keep_dropped_targets: 10\nruntime: {gogc: 50}\n", Accept, None, None),
        ("job_fields_3_5", "scrape_configs:\n  - job_name: a\n    fallback_scrape_protocol: PrometheusText0.0.4\n    scrape_failure_log_file: f.log\n    always_scrape_classic_histograms: false\n    convert_classic_histograms_to_nhcb: true\n    native_histogram_bucket_limit: 160\n    native_histogram_min_bucket_factor: 1.1\n    metric_name_validation_scheme: legacy\n    metric_name_escaping_scheme: underscores\n    enable_http2: false\n    track_timestamps_staleness: true\n", Accept, None, None),
        ("scrape_native_histograms_not_in_3_5", "global:\n  scrape_native_histograms: true\n", RejectOwn("unknown field \"scrape_native_histograms\""), None, Some(2)),
        ("bad_global_scrape_protocol", "global:\n  scrape_protocols: [Foo]\n", Reject("scrape_protocols: unknown scrape protocol Foo, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0] for global config"), None, None),
        ("empty_scrape_protocols", "scrape_configs:\n  - job_name: x\n    scrape_protocols: []\n", Reject("scrape_protocols cannot be empty for scrape config with job name \"x\""), Some("x"), Some(2)),
        ("bad_fallback_protocol", "scrape_configs:\n  - job_name: x\n    fallback_scrape_protocol: Foo\n", Reject("invalid fallback_scrape_protocol for scrape config with job name \"x\": unknown scrape protocol Foo, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]"), Some("x"), Some(2)),
        ("legacy_job_with_utf8_escaping", "scrape_configs:\n  - job_name: a\n    metric_name_validation_scheme: legacy\n", Reject("utf8 metric names requested but validation scheme is not set to UTF8"), Some("a"), Some(2)),
        ("bad_job_validation_scheme", "scrape_configs:\n  - job_name: a\n    metric_name_validation_scheme: bogus\n", Reject("unknown scrape config name validation method specified, must be either 'legacy' or 'utf8', got bogus"), Some("a"), Some(2)),
        ("bad_job_escaping_scheme", "scrape_configs:\n  - job_name: a\n    metric_name_escaping_scheme: bogus\n", Reject("unknown scrape config name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got utf8"), Some("a"), Some(2)),
        ("bad_global_escaping_scheme", "global:\n  metric_name_escaping_scheme: bogus\nscrape_configs:\n  - job_name: a\n", Reject("unknown global name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got utf8"), Some("a"), Some(4)),
        ("bad_global_validation_is_default", "global:\n  metric_name_validation_scheme: bogus\n", Accept, None, None),
        ("runtime_unknown_field", "runtime:\n  gogc: 50\n  foo: 1\n", RejectOwn("unknown field \"foo\""), None, Some(3)),
        ("otlp_ok", "otlp:\n  promote_resource_attributes: [service.name, k8s.pod.name]\n  translation_strategy: NoUTF8EscapingWithSuffixes\n  keep_identifying_resource_attributes: true\n  convert_histograms_to_nhcb: true\n", Accept, None, None),
        ("otlp_bad_strategy", "otlp:\n  translation_strategy: Foo\n", Reject("unsupported OTLP translation strategy \"Foo\""), None, None),
        ("otlp_strategy_needs_utf8", "global:\n  metric_name_validation_scheme: legacy\notlp:\n  translation_strategy: NoTranslation\n", Reject("OTLP translation strategy \"NoTranslation\" is not allowed when UTF8 is disabled"), None, None),
        ("otlp_promote_all_and_list", "otlp:\n  promote_all_resource_attributes: true\n  promote_resource_attributes: [a]\n", Reject("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously"), None, None),
        ("otlp_ignore_without_all", "otlp:\n  ignore_resource_attributes: [a]\n", Reject("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true"), None, None),
        ("otlp_duplicate_attribute", "otlp:\n  promote_resource_attributes: [a, a]\n", Reject("invalid 'promote_resource_attributes': duplicated promoted OTel resource attribute \"a\""), None, None),
        ("otlp_scope_metadata_not_in_3_5", "otlp:\n  promote_scope_metadata: true\n", RejectOwn("unknown field \"promote_scope_metadata\""), None, Some(2)),
        ("storage_ooo_window", "storage:\n  tsdb:\n    out_of_order_time_window: 30m\n  exemplars:\n    max_exemplars: 1000\n", Accept, None, None),
        ("storage_retention_not_in_3_5", "storage:\n  tsdb:\n    retention: {time: 1d}\n", RejectOwn("unknown field \"retention\""), None, Some(3)),
        ("tracing_ok", "tracing:\n  endpoint: 'localhost:4317'\n  client_type: http\n  sampling_fraction: 0.1\n  insecure: true\n  headers: {X-A: b}\n  compression: gzip\n  timeout: 5s\n", Accept, None, None),
        ("tracing_bad_client", "tracing:\n  endpoint: x\n  client_type: foo\n", Reject("expected tracing client type to be to be http or grpc, but got foo"), None, None),
        ("tracing_no_endpoint", "tracing:\n  insecure: true\n", Reject("tracing endpoint must be set"), None, None),
        ("tracing_bad_compression", "tracing:\n  endpoint: x\n  compression: br\n", Reject("invalid compression type br provided, valid options: gzip"), None, None),
        ("remote_write_3_5", "remote_write:\n  - url: http://rw/api/v1/push\n    protobuf_message: io.prometheus.write.v2.Request\n    send_native_histograms: true\n    round_robin_dns: true\n    headers: {X-Scope-OrgID: t}\n    queue_config: {capacity: 10, max_shards: 2, sample_age_limit: 5m, retry_on_http_429: true}\n    metadata_config: {send: false, send_interval: 1m}\n    sigv4: {region: eu-west-1}\n", Accept, None, None),
        ("remote_write_bad_protobuf", "remote_write:\n  - url: http://x\n    protobuf_message: foo\n", Reject("invalid protobuf_message value: unknown remote write protobuf message foo, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"), None, None),
        ("remote_write_authorization_header", "remote_write:\n  - url: http://x\n    headers: {Authorization: x}\n", Reject("authorization header must be changed via the basic_auth, authorization, oauth2, or sigv4 parameter"), None, None),
        ("remote_write_reserved_header", "remote_write:\n  - url: http://x\n    headers: {Host: x}\n", Reject("Host is a reserved header. It must not be changed"), None, None),
        ("remote_write_two_auths", "remote_write:\n  - url: http://x\n    sigv4: {region: x}\n    basic_auth: {username: u}\n", Reject("at most one of basic_auth, authorization, oauth2, or sigv4 must be configured. Currently configured: [basic_auth sigv4]"), None, None),
        ("remote_write_no_url", "remote_write:\n  - name: x\n", Reject("url for remote_write is empty"), None, None),
        ("remote_write_azuread_not_in_debian", "remote_write:\n  - url: http://x\n    azuread: {cloud: AzurePublic}\n", RejectOwn("unknown field \"azuread\""), None, Some(3)),
        ("remote_write_max_retries_unknown", "remote_write:\n  - url: http://x\n    queue_config: {max_retries: 3}\n", RejectOwn("unknown field \"max_retries\""), None, Some(3)),
        ("remote_read_duplicate_name", "remote_read:\n  - url: http://x\n    name: a\n  - url: http://y\n    name: a\n", Reject("found multiple remote read configs with job name \"a\""), None, None),
        ("alertmanager_full", "alerting:\n  alertmanagers:\n    - scheme: https\n      path_prefix: /am\n      timeout: 5s\n      api_version: v2\n      oauth2: {client_id: a, client_secret: b, token_url: 'https://t/token'}\n      dns_sd_configs: [{names: [_am._tcp.example.org]}]\n      ec2_sd_configs: [{region: eu-west-1}]\n      relabel_configs: [{source_labels: [__meta_dns_name], target_label: x}]\n", Accept, None, None),
        ("alertmanager_sigv4_unknown_field", "alerting:\n  alertmanagers:\n    - sigv4: {regoin: x}\n", RejectOwn("unknown field \"regoin\""), None, None),
        ("alertmanager_v1", "alerting:\n  alertmanagers:\n    - api_version: v1\n", Reject("expected Alertmanager api version to be one of [v2] but got v1"), None, None),
        ("alertmanager_sigv4_and_basic", "alerting:\n  alertmanagers:\n    - sigv4: {}\n      basic_auth: {username: u}\n", Reject("at most one of basic_auth, authorization, oauth2, & sigv4 must be configured"), None, None),
        ("alertmanager_url_target", "alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['http://x']}]\n", Reject("\"http://x\" is not a valid hostname"), None, None),
        ("alertmanager_null_relabel", "alerting:\n  alertmanagers:\n    - relabel_configs: [null]\n", Reject("empty or null Alertmanager target relabeling rule"), None, None),
        ("alertmanager_consul_not_in_debian", "alerting:\n  alertmanagers:\n    - consul_sd_configs: [{server: 'localhost:8500'}]\n", RejectOwn("unknown field \"consul_sd_configs\""), None, None),
        ("null_alert_relabel", "alerting:\n  alert_relabel_configs: [null]\n", Reject("empty or null alert relabeling rule"), None, None),
        ("scrape_config_files_bad", "scrape_config_files: ['a/*/b.yml']\n", Reject("invalid scrape config file path \"a/*/b.yml\""), None, None),
        ("empty_source_label", "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [''], target_label: c}\n", Reject("\"\" is not a valid label name"), Some("a"), Some(4)),

        // oauth2 and the HTTP client (prometheus/common of 3.5).
        ("oauth2_ok", "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a, client_secret_file: s, token_url: 'http://t/token', scopes: [x], endpoint_params: {audience: y}, tls_config: {insecure_skip_verify: true}, proxy_url: 'http://p:3128'}\n", Accept, None, None),
        ("oauth2_no_client_id", "scrape_configs:\n  - job_name: a\n    oauth2: {token_url: 'http://t'}\n", Reject("oauth2 client_id must be configured"), Some("a"), Some(2)),
        ("oauth2_no_token_url", "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a}\n", Reject("oauth2 token_url must be configured"), Some("a"), Some(2)),
        ("oauth2_two_secrets", "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a, token_url: 'http://x', client_secret: s, client_secret_file: f}\n", Reject("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials"), Some("a"), Some(2)),
        ("oauth2_and_basic_auth", "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a, token_url: 'http://x'}\n    basic_auth: {username: u}\n", Reject("at most one of basic_auth, oauth2 & authorization must be configured"), Some("a"), Some(2)),
        ("oauth2_and_bearer", "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a, token_url: 'http://x'}\n    bearer_token: b\n", Reject("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"), Some("a"), Some(2)),
        ("oauth2_no_proxy_without_url", "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a, token_url: 'http://x', no_proxy: x}\n", Reject("if no_proxy is configured, proxy_url must also be configured"), Some("a"), Some(2)),
        ("oauth2_unknown_field", "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a, token_url: 'http://x', bogus: 1}\n", RejectOwn("unknown field \"bogus\""), Some("a"), Some(3)),
        ("username_twice", "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, username_file: f}\n", Reject("at most one of basic_auth username, username_file & username_ref must be configured"), Some("a"), Some(2)),
        ("secret_refs", "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_ref: p}\n    tls_config: {ca_ref: c}\n", Accept, None, None),
        ("proxy_connect_header_alone", "scrape_configs:\n  - job_name: a\n    proxy_connect_header: {A: [x]}\n", Reject("if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured"), Some("a"), Some(2)),

        // HTTP and DNS service discovery.
        ("http_sd_ok", "scrape_configs:\n  - job_name: a\n    http_sd_configs:\n      - url: 'https://sd.example/targets'\n        refresh_interval: 30s\n        oauth2: {client_id: a, client_secret: b, token_url: 'https://t/token'}\n", Accept, None, None),
        ("http_sd_no_url", "scrape_configs:\n  - job_name: a\n    http_sd_configs: [{refresh_interval: 1m}]\n", Reject("URL is missing"), Some("a"), Some(2)),
        ("http_sd_bad_scheme", "scrape_configs:\n  - job_name: a\n    http_sd_configs: [{url: '/x'}]\n", Reject("URL scheme must be 'http' or 'https'"), Some("a"), Some(2)),
        ("http_sd_no_host", "scrape_configs:\n  - job_name: a\n    http_sd_configs: [{url: 'http://'}]\n", Reject("host is missing in URL"), Some("a"), Some(2)),
        ("http_sd_unknown_field", "scrape_configs:\n  - job_name: a\n    http_sd_configs: [{url: 'http://x', bogus: 1}]\n", RejectOwn("unknown field \"bogus\""), Some("a"), Some(3)),
        ("http_sd_bad_auth", "scrape_configs:\n  - job_name: a\n    http_sd_configs: [{url: 'http://x', bearer_token: a, bearer_token_file: b}]\n", Reject("at most one of bearer_token & bearer_token_file must be configured"), Some("a"), Some(2)),
        ("dns_sd_srv", "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [_prometheus._tcp.example.org], refresh_interval: 10s}]\n", Accept, None, None),
        ("dns_sd_types", "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [a.example], type: A, port: 9100}, {names: [a.example], type: aaaa, port: 9100}, {names: [example], type: MX, port: 25}, {names: [example], type: NS, port: 53}]\n", Accept, None, None),
        ("dns_sd_no_names", "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: []}]\n", Reject("DNS-SD config must contain at least one SRV record name"), Some("a"), Some(3)),
        ("dns_sd_a_without_port", "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [x], type: A}]\n", Reject("a port is required in DNS-SD configs for all record types except SRV"), Some("a"), Some(3)),
        ("dns_sd_mx_without_port", "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [x], type: MX}]\n", Reject("a port is required in DNS-SD configs for all record types except SRV"), Some("a"), Some(3)),
        ("dns_sd_bad_type", "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [x], type: TXT}]\n", Reject("invalid DNS-SD records type TXT"), Some("a"), Some(3)),

        // Discovery Tidemark does not run: accepted with a warning, validated like 3.5.
        ("unimplemented_sd_ok", "scrape_configs:\n  - job_name: cloud\n    ec2_sd_configs: [{region: eu-west-1, port: 9100, filters: [{name: tag:env, values: [prod]}]}]\n    docker_sd_configs: [{host: 'unix:///var/run/docker.sock', refresh_interval: 30s}]\n    dockerswarm_sd_configs: [{host: 'unix:///var/run/docker.sock', role: tasks}]\n    digitalocean_sd_configs: [{port: 9100, oauth2: {client_id: a, token_url: 'https://t'}}]\n    hetzner_sd_configs: [{role: hcloud}]\n    linode_sd_configs: [{}]\n    gce_sd_configs: [{project: p, zone: z}]\n    eureka_sd_configs: [{server: 'http://eureka:8761/eureka'}]\n    puppetdb_sd_configs: [{url: 'https://puppetdb', query: 'resources { type = \"Class\" }'}]\n    scaleway_sd_configs: [{role: instance, project_id: 11111111-1111-1111-1111-111111111111, access_key: SCWXXXXXXXXXXXXXXXXX, secret_key: 11111111-1111-1111-1111-111111111111}]\n    vultr_sd_configs: [{}]\n    triton_sd_configs: [{account: a, dns_suffix: d, endpoint: e, tls_config: {insecure_skip_verify: true}}]\n    uyuni_sd_configs: [{server: 'http://x', username: u, password: p}]\n    ovhcloud_sd_configs: [{application_key: a, application_secret: b, consumer_key: c, service: vps}]\n    nerve_sd_configs: [{servers: [zk], paths: [/n]}]\n    marathon_sd_configs: [{servers: ['http://m']}]\n    ionos_sd_configs: [{datacenter_id: d}]\n    lightsail_sd_configs: [{region: r}]\n", Accept, None, None),
        ("scaleway_without_secret", "scrape_configs:\n  - job_name: a\n    scaleway_sd_configs: [{role: instance, project_id: p}]\n", Reject("one of secret_key & secret_key_file must be configured"), Some("a"), Some(2)),
        ("scaleway_bad_access_key", "scrape_configs:\n  - job_name: a\n    scaleway_sd_configs: [{role: instance, project_id: p, access_key: a, secret_key: s}]\n", Reject("scaleway-sdk-go: invalid access key format 'a', expected SCWXXXXXXXXXXXXXXXXX format"), Some("a"), Some(2)),
        ("scaleway_bad_secret_key", "scrape_configs:\n  - job_name: a\n    scaleway_sd_configs: [{role: instance, project_id: 11111111-1111-1111-1111-111111111111, access_key: SCWXXXXXXXXXXXXXXXXX, secret_key: 'x y'}]\n", Reject("scaleway-sdk-go: invalid secret key format 'x y', expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"), Some("a"), Some(2)),
        ("scaleway_bad_zone", "scrape_configs:\n  - job_name: a\n    scaleway_sd_configs: [{role: instance, project_id: 11111111-1111-1111-1111-111111111111, access_key: SCWXXXXXXXXXXXXXXXXX, secret_key: 11111111-1111-1111-1111-111111111111, zone: 'x y'}]\n", Reject("scaleway-sdk-go: invalid default zone format 'x y', available zones are: fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, nl-ams-3, pl-waw-1, pl-waw-2, pl-waw-3"), Some("a"), Some(2)),
        ("sd_field_types", "scrape_configs:\n  - job_name: a\n    ec2_sd_configs: [{region: r, port: '80'}]\n", RejectOwn("invalid type: a string for port, expected an integer"), Some("a"), Some(2)),
        ("sd_filter_fields", "scrape_configs:\n  - job_name: a\n    docker_sd_configs: [{host: h, filters: [{name: a, values: [b], x: 1}]}]\n", RejectOwn("unknown field \"x\""), Some("a"), Some(2)),
        ("scaleway_bad_role", "scrape_configs:\n  - job_name: a\n    scaleway_sd_configs: [{role: bogus}]\n", Reject("unknown role \"bogus\""), Some("a"), Some(2)),
        ("dockerswarm_bad_role", "scrape_configs:\n  - job_name: a\n    dockerswarm_sd_configs: [{host: x, role: bogus}]\n", Reject("invalid role bogus, expected tasks, services, or nodes"), Some("a"), Some(2)),
        ("dockerswarm_no_role", "scrape_configs:\n  - job_name: a\n    dockerswarm_sd_configs: [{host: x}]\n", Reject("role missing (one of: tasks, services, nodes)"), Some("a"), Some(2)),
        ("eureka_bad_url", "scrape_configs:\n  - job_name: a\n    eureka_sd_configs: [{server: 'x y'}]\n", Reject("eureka_sd: invalid eureka server URL"), Some("a"), Some(2)),
        ("puppetdb_bad_scheme", "scrape_configs:\n  - job_name: a\n    puppetdb_sd_configs: [{url: 'x'}]\n", Reject("URL scheme must be 'http' or 'https'"), Some("a"), Some(2)),
        ("puppetdb_no_query", "scrape_configs:\n  - job_name: a\n    puppetdb_sd_configs: [{url: 'http://x'}]\n", Reject("query missing"), Some("a"), Some(2)),
        ("ovhcloud_no_secret", "scrape_configs:\n  - job_name: a\n    ovhcloud_sd_configs: [{application_key: a}]\n", Reject("application secret can not be empty"), Some("a"), Some(2)),
        ("ovhcloud_no_service", "scrape_configs:\n  - job_name: a\n    ovhcloud_sd_configs: [{application_key: a, application_secret: b, consumer_key: c}]\n", Reject("unknown service: "), Some("a"), Some(2)),
        ("uyuni_no_username", "scrape_configs:\n  - job_name: a\n    uyuni_sd_configs: [{server: 'http://x'}]\n", Reject("Uyuni SD configuration requires a username"), Some("a"), Some(2)),
        ("marathon_two_auths", "scrape_configs:\n  - job_name: a\n    marathon_sd_configs: [{servers: ['http://x'], auth_token: a, basic_auth: {username: u}}]\n", Reject("marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured"), Some("a"), Some(2)),
        ("triton_no_dns_suffix", "scrape_configs:\n  - job_name: a\n    triton_sd_configs: [{account: a}]\n", Reject("triton SD configuration requires a dns_suffix"), Some("a"), Some(2)),
        ("triton_bad_role", "scrape_configs:\n  - job_name: a\n    triton_sd_configs: [{account: a, dns_suffix: d, endpoint: e, role: bogus}]\n", Reject("triton SD configuration requires role to be 'container' or 'cn'"), Some("a"), Some(2)),
        ("nerve_no_paths", "scrape_configs:\n  - job_name: a\n    nerve_sd_configs: [{servers: [a]}]\n", Reject("nerve SD config must contain at least one path"), Some("a"), Some(2)),
        ("nerve_relative_path", "scrape_configs:\n  - job_name: a\n    nerve_sd_configs: [{servers: [a], paths: [b]}]\n", Reject("nerve SD config paths must begin with '/': b"), Some("a"), Some(2)),
        ("gce_no_zone", "scrape_configs:\n  - job_name: a\n    gce_sd_configs: [{project: p}]\n", Reject("GCE SD configuration requires a zone"), Some("a"), Some(2)),
        ("hetzner_bad_role", "scrape_configs:\n  - job_name: a\n    hetzner_sd_configs: [{role: bogus}]\n", Reject("unknown role \"bogus\""), Some("a"), Some(2)),
        ("docker_sd_without_host", "scrape_configs:\n  - job_name: a\n    docker_sd_configs: [{port: 80}]\n", Reject("host missing"), Some("a"), Some(2)),
        ("ec2_sd_without_region", "scrape_configs:\n  - job_name: a\n    ec2_sd_configs: [{port: 80}]\n", Reject("EC2 SD configuration requires a region"), Some("a"), Some(2)),
        ("gce_sd_without_project", "scrape_configs:\n  - job_name: a\n    gce_sd_configs: [{zone: z}]\n", Reject("GCE SD configuration requires a project"), Some("a"), Some(2)),
        ("hetzner_sd_without_role", "scrape_configs:\n  - job_name: a\n    hetzner_sd_configs: [{port: 1}]\n", Reject("role missing (one of: robot, hcloud)"), Some("a"), Some(2)),
        ("gce_sd_with_tls", "scrape_configs:\n  - job_name: a\n    gce_sd_configs: [{project: p, zone: z, tls_config: {}}]\n", RejectOwn("unknown field \"tls_config\""), Some("a"), Some(2)),
        ("ec2_sd_unknown_field", "scrape_configs:\n  - job_name: a\n    ec2_sd_configs: [{region: r, regoin: x}]\n", RejectOwn("unknown field \"regoin\""), Some("a"), Some(2)),
        ("ec2_sd_bad_auth", "scrape_configs:\n  - job_name: a\n    ec2_sd_configs: [{region: r, bearer_token: a, basic_auth: {username: u}}]\n", Reject("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"), Some("a"), Some(2)),
        ("consul_sd_not_in_debian", "scrape_configs:\n  - job_name: a\n    consul_sd_configs: [{server: 'localhost:8500'}]\n", RejectOwn("unknown field \"consul_sd_configs\""), Some("a"), Some(3)),
        ("azure_sd_not_in_debian", "scrape_configs:\n  - job_name: a\n    azure_sd_configs: [{subscription_id: s}]\n", RejectOwn("unknown field \"azure_sd_configs\""), Some("a"), Some(3)),
        ("kuma_sd_not_in_debian", "scrape_configs:\n  - job_name: a\n    kuma_sd_configs: [{server: 'http://kuma:5676'}]\n", RejectOwn("unknown field \"kuma_sd_configs\""), Some("a"), Some(3)),
    ]
}

/// `promtool check config --syntax-only` on `path`: `Ok(())` or the reason after
/// "parsing YAML file X: ".
fn promtool_check(bin: &Path, path: &Path) -> Result<(), String> {
    let out = Command::new(bin)
        .args(["check", "config", "--syntax-only"])
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
    let marker = format!("parsing YAML file {}: ", path.display());
    let reason = match (text.find(&marker), text.find("FAILED: ")) {
        (Some(i), _) => &text[i + marker.len()..],
        (None, Some(i)) => &text[i + "FAILED: ".len()..],
        (None, None) => text.as_str(),
    };
    Err(reason.trim().to_owned())
}

#[test]
fn validation_table_with_locations() {
    let mut failures = Vec::new();
    for (name, yaml, want, job, line) in cases() {
        let got = Config::parse(yaml);
        let ok = match (&want, &got) {
            (Want::Accept, Ok(_)) => true,
            (Want::Reject(msg) | Want::RejectOwn(msg), Err(e)) => {
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
fn agrees_with_promtool_3_5() {
    let bin = peers::require(Peer::Promtool);
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
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
    let (mut accepted, mut same_message, mut rejected_own) = (0, 0, 0);
    for (name, yaml, want) in &all {
        let path = dir.path().join(format!("{name}.yml"));
        std::fs::write(&path, yaml).unwrap();
        let prom = promtool_check(&bin, &path);
        let ok = match (want, &prom) {
            (Want::Accept, Ok(())) => {
                accepted += 1;
                true
            }
            (Want::Reject(msg), Err(e)) => {
                same_message += 1;
                e.trim() == msg.trim()
            }
            (Want::RejectOwn(_), Err(_)) => {
                rejected_own += 1;
                true
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: we expect {want:?}, promtool 3.5 says {prom:?}"
            ));
        }
    }
    println!(
        "{} cases compared with promtool 3.5: {accepted} accepted by both, {same_message} \
         rejected with the same message, {rejected_own} rejected (Go's own YAML/regex wording)",
        all.len()
    );
    assert!(all.len() >= 150, "only {} cases compared", all.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
