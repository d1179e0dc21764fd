//! `prometheus.yml` loading: the users' seed configurations load unchanged, defaults resolve as
//! Prometheus's do, and errors name their location. The accept/reject table compared with
//! `promtool check config` of Prometheus 3.5 lives in `tests/tests/config_promtool.rs` (it
//! needs `tidemark_tests::peers`).

use std::path::{Path, PathBuf};

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
    assert_eq!(
        auth.credentials.as_ref().map(|c| c.expose()),
        Some("$KUBERNETES_TOKEN")
    );
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
