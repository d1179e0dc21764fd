//! Secrets in `/api/v1/status/config`: the real `tidemark` binary and Prometheus 3.5.3 load the
//! same configuration, with every secret field of the file set to a distinct marker value.
//! Tidemark's answer must hold none of the markers, mask exactly the positions 3.5 masks
//! (`<secret>`), parse as YAML, and otherwise equal 3.5's answer (the loaded configuration
//! re-marshalled with its defaults) except for the narrow list of known differences below.
//! `/api/v1/status/flags`, the `/config` page and the log must not show a marker either.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{http_get, wait_for, Tidemark};
use serde_yaml::Value;
use tidemark_tests::prom::{PromOptions, PromServer};

/// Every secret value of the configuration but the two TLS keys: each appears once in the
/// file. The keys are real PEM keys (Tidemark, unlike 3.5, refuses to start with a key it cannot
/// parse), written in place of `TLS_KEY_1` / `TLS_KEY_2`; their base64 lines are checked too.
const MARKERS: [&str; 15] = [
    "PW_SCRAPE_BASIC",
    "PW_SCRAPE_PROXY_HEADER",
    "PW_SCRAPE_HEADER_SECRET",
    "PW_SCRAPE_BEARER",
    "PW_SCRAPE_AUTHZ",
    "PW_K8S_BASIC",
    "PW_HTTP_SD_AUTHZ",
    "PW_OAUTH2_SECRET",
    "PW_OAUTH2_PROXY_HEADER",
    "PW_EC2_SECRET_KEY",
    "PW_ALERTMANAGER_AUTHZ",
    "PW_REMOTE_WRITE_BEARER",
    "PW_REMOTE_WRITE_SIGV4",
    "PW_REMOTE_READ_BASIC",
    "PW_ALERTMANAGER_SIGV4",
];

const CONFIG: &str = r#"
global:
  scrape_interval: 15s
  external_labels: {site: a}
scrape_configs:
  - job_name: basic
    basic_auth: {username: u1, password: PW_SCRAPE_BASIC}
    proxy_url: http://127.0.0.1:9
    proxy_connect_header: {X-Proxy: [PW_SCRAPE_PROXY_HEADER]}
    http_headers:
      X-Extra: {values: [plain], secrets: [PW_SCRAPE_HEADER_SECRET], files: [/nonexistent]}
    tls_config: {cert: CERT_1, key: TLS_KEY_1}
    static_configs: [{targets: ['127.0.0.1:9']}]
  - job_name: bearer
    bearer_token: PW_SCRAPE_BEARER
    static_configs: [{targets: ['127.0.0.1:9']}]
  - job_name: authz
    authorization: {type: Token, credentials: PW_SCRAPE_AUTHZ}
    kubernetes_sd_configs:
      - role: pod
        api_server: http://127.0.0.1:9
        basic_auth: {username: u2, password: PW_K8S_BASIC}
    http_sd_configs:
      - url: http://127.0.0.1:9/sd
        authorization: {credentials: PW_HTTP_SD_AUTHZ}
  - job_name: oauth
    oauth2:
      client_id: cid
      client_secret: PW_OAUTH2_SECRET
      token_url: http://127.0.0.1:9/token
      proxy_url: http://127.0.0.1:9
      proxy_connect_header: {X-O: [PW_OAUTH2_PROXY_HEADER]}
      tls_config: {cert: CERT_2, key: TLS_KEY_2}
    ec2_sd_configs:
      - region: us-east-1
        access_key: AKID
        secret_key: PW_EC2_SECRET_KEY
alerting:
  alertmanagers:
    - authorization: {credentials: PW_ALERTMANAGER_AUTHZ}
      timeout: 5s
      static_configs: [{targets: ['127.0.0.1:9']}]
    - sigv4: {region: r, access_key: ak, secret_key: PW_ALERTMANAGER_SIGV4}
      static_configs: [{targets: ['127.0.0.1:9']}]
remote_write:
  - url: http://127.0.0.1:9/write
    bearer_token: PW_REMOTE_WRITE_BEARER
    headers: {X-H: h}
  - url: http://127.0.0.1:9/write2
    sigv4: {region: r, access_key: ak, secret_key: PW_REMOTE_WRITE_SIGV4}
remote_read:
  - url: http://127.0.0.1:9/read
    basic_auth: {username: u3, password: PW_REMOTE_READ_BASIC}
"#;

/// Leaf paths where Tidemark's answer differs from 3.5's, each with its reason. A path listed
/// here that no longer differs fails the test, so the list stays honest.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "scrape_configs[3].ec2_sd_configs[0]",
    "ec2 discovery is not run by Tidemark: the entry is shown as written (secrets masked by \
     name), without the defaults 3.5 fills in (endpoint, refresh_interval, port, filters, \
     follow_redirects, enable_http2)",
)];

/// Every leaf of `v` by path (`a.b[0].c`); mappings' keys are YAML scalars.
fn leaves(v: &Value, path: String, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Mapping(m) => {
            if m.is_empty() {
                out.insert(path.clone(), "{}".into());
            }
            for (k, v) in m {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                };
                let p = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                leaves(v, p, out);
            }
        }
        Value::Sequence(s) => {
            if s.is_empty() {
                out.insert(path.clone(), "[]".into());
            }
            for (i, v) in s.iter().enumerate() {
                leaves(v, format!("{path}[{i}]"), out);
            }
        }
        other => {
            let text = serde_yaml::to_string(other).unwrap().trim().to_owned();
            out.insert(path, text);
        }
    }
}

/// Compares Tidemark's and 3.5's `status/config` YAML leaf by leaf: the masked positions must
/// be the same and every other leaf equal, but for `known` (each of which must still differ).
/// Returns the number of masked positions.
fn compare(ours_text: &str, theirs_text: &str, known: &[(&str, &str)]) -> usize {
    let ours: Value = serde_yaml::from_str(ours_text).expect("Tidemark's YAML parses");
    let theirs: Value = serde_yaml::from_str(theirs_text).unwrap();
    let (mut lo, mut lt) = (BTreeMap::new(), BTreeMap::new());
    leaves(&ours, String::new(), &mut lo);
    leaves(&theirs, String::new(), &mut lt);

    // Every secret is masked exactly where 3.5 masks it.
    let (mo, mt) = (masked_paths(&lo), masked_paths(&lt));
    assert_eq!(
        mo, mt,
        "masked positions differ\nTidemark:\n{ours_text}\n3.5:\n{theirs_text}"
    );

    // The rest equals 3.5's answer, but for the known differences.
    let excused = |path: &str| {
        known
            .iter()
            .position(|(p, _)| path == *p || path.starts_with(&format!("{p}.")))
    };
    let mut used = vec![false; known.len()];
    let mut diffs = Vec::new();
    let keys: BTreeSet<&String> = lo.keys().chain(lt.keys()).collect();
    for k in keys {
        let (a, b) = (lo.get(k), lt.get(k));
        if a != b {
            match excused(k) {
                Some(i) => used[i] = true,
                None => diffs.push(format!("{k}: Tidemark {a:?}, 3.5 {b:?}")),
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences from 3.5:\n{}\nTidemark:\n{ours_text}\n3.5:\n{theirs_text}",
        diffs.len(),
        diffs.join("\n")
    );
    for (i, (p, _)) in known.iter().enumerate() {
        assert!(used[i], "known difference {p} no longer differs: remove it");
    }
    println!(
        "status/config equals 3.5's with {} masked secrets; {} known difference(s) excused",
        mt.len(),
        known.len()
    );

    mt.len()
}

fn config_yaml(port: u16) -> String {
    let (status, body) = http_get(port, "/api/v1/status/config").expect("status/config answers");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["yaml"].as_str().expect("data.yaml").to_owned()
}

fn masked_paths(l: &BTreeMap<String, String>) -> BTreeSet<String> {
    l.iter()
        .filter(|(_, v)| v.as_str() == "<secret>")
        .map(|(k, _)| k.clone())
        .collect()
}

/// A self-signed certificate and its key, as PEM.
fn cert_and_key() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

/// The base64 lines of a PEM text (what must not be shown of a key).
fn pem_body(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 8)
        .map(str::to_owned)
        .collect()
}

#[test]
fn status_config_masks_every_secret_as_prometheus_does() {
    for m in MARKERS {
        assert_eq!(CONFIG.matches(m).count(), 1, "{m} must be set exactly once");
    }
    let (cert1, key1) = cert_and_key();
    let (cert2, key2) = cert_and_key();
    let json = |s: &str| serde_json::to_string(s).unwrap();
    let config = CONFIG
        .replace("CERT_1", &json(&cert1))
        .replace("TLS_KEY_1", &json(&key1))
        .replace("CERT_2", &json(&cert2))
        .replace("TLS_KEY_2", &json(&key2));
    let mut secrets: Vec<String> = MARKERS.iter().map(|m| (*m).to_owned()).collect();
    secrets.extend(pem_body(&key1));
    secrets.extend(pem_body(&key2));
    let dir = tempfile::tempdir().unwrap();
    let tidemark = Tidemark::start(dir.path(), &config, &[]);
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(config.clone()),
        ..PromOptions::default()
    })
    .expect("Prometheus 3.5 starts with the configuration");

    let ours_text = config_yaml(tidemark.port);
    let theirs_text = config_yaml(prom.port());
    for m in &secrets {
        assert!(
            !ours_text.contains(m.as_str()),
            "status/config shows {m}:\n{ours_text}"
        );
        assert!(
            !theirs_text.contains(m.as_str()),
            "3.5 shows {m} (bad test config?)"
        );
    }
    let masked = compare(&ours_text, &theirs_text, KNOWN_DIFFERENCES);
    assert_eq!(masked, MARKERS.len() + 2, "3.5 masks every secret");

    // Other places a configuration could leak: flags, the /config page, the log.
    let (_, flags) = http_get(tidemark.port, "/api/v1/status/flags").unwrap();
    let (_, page) = http_get(tidemark.port, "/config").unwrap();
    // Let the discovery and scrape loops fail once, so their errors are in the log.
    wait_for("a scrape attempt", Duration::from_secs(30), || {
        http_get(tidemark.port, "/api/v1/targets")
            .is_some_and(|(_, b)| b.contains("\"lastScrape\":\"2"))
    });
    let log = std::fs::read_to_string(dir.path().join("tidemark.log")).unwrap();
    for m in &secrets {
        let m = m.as_str();
        assert!(!flags.contains(m), "status/flags shows {m}");
        assert!(!page.contains(m), "/config shows {m}");
        assert!(!log.contains(m), "the log shows {m}");
    }
}

#[test]
fn check_config_errors_do_not_echo_secrets() {
    let dir = tempfile::tempdir().unwrap();
    for (i, bad) in [
        "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: PW_ERR_1, password_file: /f}\n",
        "scrape_configs:\n  - job_name: a\n    bearer_token: PW_ERR_2\n    bearer_token_file: /f\n",
        "scrape_configs:\n  - job_name: a\n    authorization: {type: Basic, credentials: PW_ERR_3}\n",
        "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: c, client_secret: PW_ERR_4, client_secret_file: /f, token_url: http://x}\n",
        "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: PW_ERR_5, bogus: 1}\n",
        "remote_write:\n  - url: http://x\n    sigv4: {secret_key: PW_ERR_6}\n",
        "remote_write:\n  - url: http://x\n    sigv4: {access_key: a, secret_key: PW_ERR_7}\n    bearer_token: t\n",
        "alerting:\n  alertmanagers:\n    - sigv4: {secret_key: PW_ERR_8}\n",
    ]
    .iter()
    .enumerate()
    {
        let file = dir.path().join(format!("bad{i}.yml"));
        std::fs::write(&file, bad).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tidemark"))
            .args(["check", "config"])
            .arg(&file)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{bad} must be refused: {text}");
        let marker = format!("PW_ERR_{}", i + 1);
        assert!(!text.contains(&marker), "the error echoes {marker}: {text}");
    }
}

/// The sections without secrets: globals with every limit, relabeling, file and DNS discovery,
/// storage, tracing and OTLP, re-marshalled as 3.5 does.
#[test]
fn status_config_equals_prometheus_for_other_sections() {
    const OTHER: &str = r#"
global:
  scrape_interval: 15s
  rule_query_offset: 1m
  external_labels: {a: b}
  body_size_limit: 10MB
  sample_limit: 5
  target_limit: 6
  label_limit: 7
  label_name_length_limit: 8
  label_value_length_limit: 9
  keep_dropped_targets: 10
  metric_name_validation_scheme: legacy
  metric_name_escaping_scheme: dots
  always_scrape_classic_histograms: true
  convert_classic_histograms_to_nhcb: true
rule_files: [/nonexistent/rules.yml]
scrape_configs:
  - job_name: j
    honor_labels: true
    params: {a: [b]}
    scrape_protocols: [PrometheusText0.0.4]
    fallback_scrape_protocol: PrometheusText0.0.4
    sample_limit: 3
    native_histogram_bucket_limit: 4
    native_histogram_min_bucket_factor: 1.5
    file_sd_configs: [{files: [/nonexistent/x.json]}]
    dns_sd_configs: [{names: [a.invalid], type: A, port: 9}]
    relabel_configs:
      - {source_labels: [a, b], regex: x(.*), target_label: t}
      - {action: hashmod, source_labels: [a], modulus: 4, target_label: h}
    metric_relabel_configs:
      - {action: labeldrop, regex: foo}
  - job_name: k
    body_size_limit: 1536B
    static_configs: [{targets: ['127.0.0.1:9'], labels: {x: y}}]
storage:
  tsdb: {out_of_order_time_window: 1h}
  exemplars: {max_exemplars: 5}
tracing:
  endpoint: 127.0.0.1:9
  headers: {X-T: t}
otlp:
  promote_resource_attributes: [a]
"#;
    let dir = tempfile::tempdir().unwrap();
    let tidemark = Tidemark::start(dir.path(), OTHER, &[]);
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(OTHER.to_owned()),
        ..PromOptions::default()
    })
    .expect("Prometheus 3.5 starts with the configuration");
    let masked = compare(&config_yaml(tidemark.port), &config_yaml(prom.port()), &[]);
    assert_eq!(masked, 0);
}

/// Secrets in files (only the paths are shown), OAuth 2.0 options, Kubernetes namespaces and
/// selectors, Alertmanager, remote write and remote read options, as 3.5 shows them.
#[test]
fn status_config_equals_prometheus_for_file_secrets_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = cert_and_key();
    let ca_file = dir.path().join("ca.pem");
    let pw_file = dir.path().join("password");
    std::fs::write(&ca_file, ca).unwrap();
    std::fs::write(&pw_file, "PW_FROM_FILE").unwrap();
    let config = r#"
global:
  scrape_timeout: 5s
  metric_name_validation_scheme: utf8
scrape_configs:
  - job_name: a
    basic_auth: {username: u, password_file: PW_FILE}
    tls_config: {ca_file: CA_FILE, server_name: x, min_version: TLS12}
    follow_redirects: false
    static_configs: [{targets: ['127.0.0.1:9']}]
  - job_name: b
    authorization: {credentials_file: PW_FILE}
    enable_http2: false
    kubernetes_sd_configs:
      - role: endpoints
        api_server: http://127.0.0.1:9
        namespaces: {names: [x, y]}
        selectors: [{role: pod, label: a=b}]
        attach_metadata: {node: true}
    static_configs: [{targets: ['127.0.0.1:9']}]
  - job_name: c
    oauth2: {client_id: c, client_secret_file: PW_FILE, scopes: [s1, s2], token_url: 'http://127.0.0.1:9/t', endpoint_params: {p: q}}
    static_configs: [{targets: ['127.0.0.1:9']}]
alerting:
  alert_relabel_configs: [{action: labeldrop, regex: x}]
  alertmanagers:
    - path_prefix: /am
      scheme: https
      relabel_configs: [{source_labels: [a], target_label: b}]
      static_configs: [{targets: ['127.0.0.1:9']}]
remote_write:
  - url: http://127.0.0.1:9/w
    name: rw1
    send_exemplars: true
    enable_http2: true
    write_relabel_configs: [{action: drop, source_labels: [x], regex: y}]
    queue_config: {capacity: 5, max_shards: 2, retry_on_http_429: true, sample_age_limit: 1m}
    metadata_config: {send: false}
remote_read:
  - url: http://127.0.0.1:9/r
    read_recent: true
    required_matchers: {a: b}
    headers: {X-A: b}
"#
    .replace("PW_FILE", &pw_file.display().to_string())
    .replace("CA_FILE", &ca_file.display().to_string());
    let tidemark = Tidemark::start(dir.path(), &config, &[]);
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(config.clone()),
        ..PromOptions::default()
    })
    .expect("Prometheus 3.5 starts with the configuration");
    let ours = config_yaml(tidemark.port);
    assert!(!ours.contains("PW_FROM_FILE"));
    let masked = compare(&ours, &config_yaml(prom.port()), &[]);
    assert_eq!(masked, 0);
}
