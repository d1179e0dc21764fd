//! Unit tests of the configuration helpers (the file-level tests are in `ingest/tests/`).
use super::*;

#[test]
fn job_lines_are_found_in_block_and_flow_styles() {
    let text = "scrape_configs:\n  - job_name: a\n  # job_name: commented\n  -   job_name : 'b'\n  - {\"job_name\": c}\n";
    assert_eq!(scan_job_lines(text), vec![2, 4]);
    assert_eq!(scan_job_lines("- 'job_name': x\n"), vec![1]);
}

#[test]
fn file_sd_and_rule_paths_follow_prometheus_patterns() {
    for ok in ["a.json", "/x/*.yml", "x/a*b.YAML", "*.yaml"] {
        assert!(is_valid_file_sd_path(ok), "{ok}");
    }
    for bad in ["a.txt", "*/a.json", "a*b*c.json", "json"] {
        assert!(!is_valid_file_sd_path(bad), "{bad}");
    }
    assert!(is_valid_rule_path("rules/*.rules"));
    assert!(!is_valid_rule_path("r/*/x"));
}

#[test]
fn static_configs_become_target_groups() {
    let cfg = Config::parse(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - {targets: ['h:1', 'h:2'], labels: {env: prod}}\n      - {targets: ['h:3']}\n",
    )
    .unwrap();
    let groups = cfg.scrape_configs[0].static_target_groups();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].source, "0");
    assert_eq!(groups[0].targets[1]["__address__"], "h:2");
    assert_eq!(groups[0].labels["env"], "prod");
    assert!(groups[1].labels.is_empty());
}

#[test]
fn oauth2_is_parsed_and_validated() {
    let e = Config::parse("scrape_configs:\n  - job_name: a\n    oauth2: {client_id: x}\n")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("oauth2 token_url must be configured"),
        "{e}"
    );
    let c = Config::parse(
        "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: x, client_secret: s, token_url: 'http://t/token', scopes: [a, b]}\n",
    )
    .unwrap();
    let o = c.scrape_configs[0]
        .http_client_config
        .oauth2
        .as_ref()
        .unwrap();
    assert_eq!(o.scopes, ["a", "b"]);
}

#[test]
fn unimplemented_discovery_loads_with_a_warning() {
    let c = Config::parse(
        "scrape_configs:\n  - job_name: cloud\n    ec2_sd_configs: [{region: eu-west-1}, {region: us-east-1}]\n    docker_sd_configs: [{host: 'unix:///var/run/docker.sock'}]\n",
    )
    .unwrap();
    assert_eq!(
        c.scrape_configs[0].unimplemented_mechanisms(),
        vec![("docker", 1), ("ec2", 2)]
    );
    let w: Vec<String> = c.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[1].contains("\"cloud\"")
            && w[1].contains("ec2_sd_configs (2 entries)")
            && w[1].contains("not implemented"),
        "{w:?}"
    );
    let e = Config::parse("scrape_configs:\n  - job_name: a\n    consul_sd_configs: [{}]\n")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown field \"consul_sd_configs\""),
        "{e}"
    );
}

#[test]
fn global_fields_of_3_5_resolve_into_jobs() {
    std::env::set_var("TIDEMARK_TEST_REGION", "eu");
    let c = Config::parse(
        "global:\n  scrape_protocols: [PrometheusText0.0.4]\n  rule_query_offset: 1m\n  always_scrape_classic_histograms: true\n  metric_name_validation_scheme: legacy\n  external_labels: {region: '${TIDEMARK_TEST_REGION}', cost: '$$5', gone: '$TIDEMARK_TEST_UNSET'}\nruntime: {gogc: 50}\notlp: {translation_strategy: UnderscoreEscapingWithoutSuffixes}\nstorage: {tsdb: {out_of_order_time_window: 30m}, exemplars: {max_exemplars: 10}}\nscrape_configs:\n  - job_name: a\n    fallback_scrape_protocol: PrometheusText1.0.0\n",
    )
    .unwrap();
    let j = &c.scrape_configs[0];
    assert_eq!(j.scrape_protocols, ["PrometheusText0.0.4"]);
    assert_eq!(
        j.fallback_scrape_protocol.as_deref(),
        Some("PrometheusText1.0.0")
    );
    assert!(j.always_scrape_classic_histograms);
    assert_eq!(j.metric_name_validation_scheme, ValidationScheme::Legacy);
    assert_eq!(j.metric_name_escaping_scheme, "underscores");
    assert_eq!(c.global.rule_query_offset, Duration::from_secs(60));
    assert_eq!(
        c.global.external_labels.get("region").map(String::as_str),
        Some("eu")
    );
    assert_eq!(
        c.global.external_labels.get("cost").map(String::as_str),
        Some("$5")
    );
    assert!(!c.global.external_labels.contains_key("gone"));
    assert_eq!(c.runtime.gogc, Some(50));
    let default = Config::parse("scrape_configs:\n  - job_name: a\n").unwrap();
    assert_eq!(
        default.scrape_configs[0].scrape_protocols,
        DEFAULT_SCRAPE_PROTOCOLS
    );
    assert_eq!(
        default.scrape_configs[0].metric_name_escaping_scheme,
        "allow-utf-8"
    );
}

#[test]
fn errors_outside_jobs_name_their_section_line() {
    let e = Config::parse("global:\n  scrape_interval: 1m\n\nremote_write:\n  - url: http://x\n    headers: {Host: h}\n")
        .unwrap_err();
    let inv = e.invalid().unwrap();
    assert_eq!(inv.line, Some(4), "{e}");
    assert_eq!(inv.field.as_deref(), Some("remote_write[0]"));
    assert_eq!(
        e.to_string(),
        "line 4: field remote_write[0]: Host is a reserved header. It must not be changed"
    );
    assert_eq!(
        scan_section_lines("a: 1\n  b: 2\nc_d:\n# e: 3\n"),
        vec![("a".to_owned(), 1), ("c_d".to_owned(), 3)]
    );
}
