//! HTTP and DNS service discovery and OAuth 2.0 client credentials, end to end through the real
//! `tidemark` binary, against loopback stand-ins from `tidemark_tests::sd_stub`: an HTTP SD
//! endpoint whose answer the test changes, an OAuth 2.0 token endpoint, `/metrics` pages and a
//! small DNS server (Tidemark's DNS SD is pointed at it with `TIDEMARK_DNS_SD_NAMESERVER`).
//!
//! Prometheus 3.5 runs against the same HTTP SD endpoint and token endpoint, and both must show
//! the same discovered and final labels and be up. DNS SD cannot be compared: Prometheus reads
//! its nameservers from `/etc/resolv.conf`, which a test on a shared machine must not change.

mod common;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{wait_for, Tidemark};
use serde_json::Value;
use tidemark_tests::prom::{PromOptions, PromServer};
use tidemark_tests::sd_stub::{
    DnsRecord, DnsServer, HttpStub, StubResponse, Zone, TYPE_A, TYPE_AAAA, TYPE_MX, TYPE_NS,
    TYPE_SRV,
};

const METRICS: &str = "# TYPE demo_up gauge\ndemo_up 1\n";
const TEXT: &str = "text/plain; version=0.0.4";

/// `(scrapePool, discoveredLabels, labels, health)` of every active target, sorted.
type TargetView = Vec<(
    String,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    String,
)>;

fn label_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                // Prometheus drops empty labels; compare without them on both sides.
                .filter(|(_, v)| !v.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn view(targets: &Value) -> TargetView {
    let mut out: TargetView = targets["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| {
            (
                t["scrapePool"].as_str().unwrap_or_default().to_owned(),
                label_map(&t["discoveredLabels"]),
                label_map(&t["labels"]),
                t["health"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn prom_targets(prom: &PromServer) -> Value {
    let url = format!("{}/api/v1/targets", prom.url());
    ureq_get_json(&url)
}

fn ureq_get_json(url: &str) -> Value {
    let (host_port, path) = url
        .trim_start_matches("http://")
        .split_once('/')
        .expect("url with a path");
    let (host, port) = host_port.split_once(':').expect("host:port");
    let (_, body) = common::http_get_host(host, port.parse().unwrap(), &format!("/{path}"))
        .expect("GET answered");
    serde_json::from_str(&body).expect("JSON")
}

/// One HTTP SD group: its targets and its labels.
type SdGroup<'a> = (&'a [String], &'a [(&'a str, &'a str)]);

fn sd_body(groups: &[SdGroup<'_>]) -> String {
    let groups: Vec<Value> = groups
        .iter()
        .map(|(targets, labels)| {
            serde_json::json!({
                "targets": targets,
                "labels": labels.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    Value::from(groups).to_string()
}

#[test]
fn http_sd_targets_follow_the_endpoint_and_match_prometheus() {
    let stub = HttpStub::start();
    stub.route("/metrics", |_| StubResponse::ok(TEXT, METRICS));
    let port = stub.port();
    let body = Arc::new(Mutex::new(sd_body(&[(
        &[format!("127.0.0.1:{port}")],
        &[("env", "prod"), ("__meta_custom", "x")],
    )])));
    // 0: JSON; 1: HTTP 500; 2: wrong content type.
    let mode = Arc::new(AtomicUsize::new(0));
    {
        let (body, mode) = (body.clone(), mode.clone());
        stub.route("/sd", move |_| match mode.load(Ordering::SeqCst) {
            0 => StubResponse::ok("application/json", body.lock().unwrap().clone()),
            1 => StubResponse::status(500),
            _ => StubResponse::ok("text/plain", "[]"),
        });
    }
    let sd_url = stub.url("/sd");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: http-sd\n    http_sd_configs:\n      - url: '{sd_url}'\n        refresh_interval: 1s\n    relabel_configs:\n      - {{source_labels: [__meta_custom], target_label: custom}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let tidemark = Tidemark::start(dir.path(), &config, &[]);
    wait_for(
        "the HTTP SD target to be up",
        Duration::from_secs(30),
        || {
            view(&tidemark.targets())
                .iter()
                .any(|(_, _, _, h)| h == "up")
        },
    );
    let ours = view(&tidemark.targets());
    assert_eq!(ours.len(), 1, "{ours:?}");
    let (pool, discovered, labels, _) = &ours[0];
    assert_eq!(pool, "http-sd");
    assert_eq!(discovered["__meta_url"], sd_url);
    assert_eq!(discovered["env"], "prod");
    assert_eq!(labels["custom"], "x");
    assert_eq!(labels["env"], "prod");
    wait_for("demo_up scraped", Duration::from_secs(20), || {
        !tidemark.query("demo_up{job=\"http-sd\"}").is_empty()
    });
    // The discoverer sends Prometheus's headers.
    let asked = stub.requests_to("/sd");
    let first = asked.first().expect("an SD request");
    assert_eq!(first.header("accept"), Some("application/json"));
    assert_eq!(
        first.header("x-prometheus-refresh-interval-seconds"),
        Some("1")
    );

    // Prometheus 3.5 against the same endpoint: same labels, now and after every change.
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(config.clone()),
        ..PromOptions::default()
    })
    .unwrap_or_else(|e| panic!("Prometheus 3.5 did not start: {e}"));
    wait_for(
        "Prometheus's HTTP SD target",
        Duration::from_secs(60),
        || {
            view(&prom_targets(&prom))
                .iter()
                .any(|(_, _, _, h)| h == "up")
        },
    );
    let theirs = view(&prom_targets(&prom));
    assert_eq!(ours, theirs, "Tidemark vs Prometheus 3.5 HTTP SD targets");
    // Labels only (a new target's health is "unknown" until its first scrape).
    let labels_only =
        |v: TargetView| -> Vec<_> { v.into_iter().map(|(p, d, l, _)| (p, d, l)).collect() };
    let agree = |what: &str, n: usize| {
        wait_for(what, Duration::from_secs(40), || {
            let (t, p) = (
                labels_only(view(&tidemark.targets())),
                labels_only(view(&prom_targets(&prom))),
            );
            t.len() == n && t == p
        });
    };
    let mut compared = 1;

    // A second group appears.
    *body.lock().unwrap() = sd_body(&[
        (&[format!("127.0.0.1:{port}")], &[("env", "prod")]),
        (&[format!("localhost:{port}")], &[("env", "dev")]),
    ]);
    agree("two HTTP SD targets on both sides", 2);
    compared += 2;
    // Failing refreshes keep the last good targets, on both sides.
    mode.store(1, Ordering::SeqCst);
    let failing_from = stub.requests_to("/sd").len();
    wait_for("failed refreshes", Duration::from_secs(20), || {
        stub.requests_to("/sd").len() >= failing_from + 4
    });
    agree("targets kept after HTTP 500", 2);
    compared += 2;
    mode.store(2, Ordering::SeqCst);
    let failing_from = stub.requests_to("/sd").len();
    wait_for(
        "refreshes with the wrong content type",
        Duration::from_secs(20),
        || stub.requests_to("/sd").len() >= failing_from + 4,
    );
    agree("targets kept after text/plain", 2);
    compared += 2;
    let log = std::fs::read_to_string(dir.path().join("tidemark.log")).unwrap_or_default();
    assert!(
        log.contains("unsupported content type"),
        "the refresh error is logged"
    );
    // An empty list removes every target, on both sides.
    *body.lock().unwrap() = "[]".to_owned();
    mode.store(0, Ordering::SeqCst);
    agree("no HTTP SD targets", 0);
    println!(
        "HTTP SD: Tidemark and Prometheus 3.5 agree on {compared} targets over 5 states \
         (initial, grown, HTTP 500, wrong content type, emptied)"
    );
}

#[test]
fn oauth2_client_credentials_for_scrapes_and_http_sd() {
    let stub = HttpStub::start();
    let port = stub.port();
    let issued = Arc::new(AtomicUsize::new(0));
    {
        let issued = issued.clone();
        stub.route("/token", move |r| {
            // client_id "metrics reader" and secret "s3cret/+" URL-encoded, then basic auth.
            let want = "Basic bWV0cmljcytyZWFkZXI6czNjcmV0JTJGJTJC";
            let form_ok = r.body.contains("grant_type=client_credentials")
                && r.body.contains("scope=read+write")
                && r.body.contains("audience=tidemark");
            if r.method != "POST" || r.header("authorization") != Some(want) || !form_ok {
                return StubResponse::status(401);
            }
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            StubResponse::ok(
                "application/json",
                format!(r#"{{"access_token":"tok-{n}","token_type":"bearer","expires_in":3600}}"#),
            )
        });
    }
    let authorized = |r: &tidemark_tests::sd_stub::StubRequest| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer tok-"))
    };
    stub.route("/metrics", move |r| {
        if authorized(r) {
            StubResponse::ok(TEXT, METRICS)
        } else {
            StubResponse::status(401)
        }
    });
    let target = format!("127.0.0.1:{port}");
    stub.route("/sd", move |r| {
        if authorized(r) {
            StubResponse::ok(
                "application/json",
                format!(r#"[{{"targets": ["{target}"], "labels": {{"via": "sd"}}}}]"#),
            )
        } else {
            StubResponse::status(401)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "s3cret/+\n").unwrap();
    let oauth = format!(
        "{{client_id: 'metrics reader', client_secret_file: '{}', token_url: '{}', scopes: [read, write], endpoint_params: {{audience: tidemark}}}}",
        dir.path().join("secret").display(),
        stub.url("/token")
    );
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: oauth\n    oauth2: {oauth}\n    http_sd_configs:\n      - url: '{}'\n        refresh_interval: 1s\n        oauth2: {oauth}\n",
        stub.url("/sd")
    );
    let tidemark = Tidemark::start(dir.path(), &config, &[]);
    wait_for(
        "the OAuth 2.0 target to be up",
        Duration::from_secs(30),
        || {
            view(&tidemark.targets())
                .iter()
                .any(|(_, d, _, h)| h == "up" && d.get("via").is_some_and(|v| v == "sd"))
        },
    );
    let scrapes_before = stub.requests_to("/metrics").len();
    wait_for("three more scrapes", Duration::from_secs(20), || {
        stub.requests_to("/metrics").len() >= scrapes_before + 3
    });
    // One token for the scrape client, one for the SD client; cached since (expires in 1h).
    let tokens = issued.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&tokens),
        "{tokens} tokens fetched: the token must be cached"
    );
    assert!(!tidemark.query("demo_up{job=\"oauth\"}").is_empty());
    drop(tidemark);

    // Prometheus 3.5 gets in with the same configuration against the same endpoints.
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(config),
        ..PromOptions::default()
    })
    .unwrap_or_else(|e| panic!("Prometheus 3.5 did not start: {e}"));
    wait_for(
        "Prometheus's OAuth 2.0 target",
        Duration::from_secs(60),
        || {
            view(&prom_targets(&prom))
                .iter()
                .any(|(_, _, _, h)| h == "up")
        },
    );
}

#[test]
fn dns_sd_records_become_targets() {
    let stub = HttpStub::start();
    stub.route("/metrics", |_| StubResponse::ok(TEXT, METRICS));
    let port = stub.port();
    let mut zone = Zone::new();
    zone.insert(
        ("_metrics._tcp.tidemark.test.".into(), TYPE_SRV),
        vec![DnsRecord::Srv {
            port,
            target: "127.0.0.1.".into(),
        }],
    );
    zone.insert(
        ("a.tidemark.test.".into(), TYPE_A),
        vec![
            DnsRecord::Cname("alias.tidemark.test.".into()),
            DnsRecord::A(Ipv4Addr::LOCALHOST),
        ],
    );
    zone.insert(
        ("v6.tidemark.test.".into(), TYPE_AAAA),
        vec![DnsRecord::Aaaa(Ipv6Addr::LOCALHOST)],
    );
    zone.insert(
        ("tidemark.test.".into(), TYPE_MX),
        vec![DnsRecord::Mx("127.0.0.1.".into())],
    );
    zone.insert(
        ("tidemark.test.".into(), TYPE_NS),
        vec![DnsRecord::Ns("ns1.tidemark.test.".into())],
    );
    let dns = DnsServer::start(zone);
    let jobs = [
        "  - job_name: dns-srv\n    dns_sd_configs: [{names: ['_metrics._tcp.tidemark.test'], refresh_interval: 1s}]".to_owned(),
        format!("  - job_name: dns-a\n    dns_sd_configs: [{{names: ['a.tidemark.test', 'gone.tidemark.test'], type: A, port: {port}, refresh_interval: 1s}}]"),
        format!("  - job_name: dns-aaaa\n    dns_sd_configs: [{{names: ['v6.tidemark.test'], type: AAAA, port: {port}, refresh_interval: 1s}}]"),
        format!("  - job_name: dns-mx\n    dns_sd_configs: [{{names: ['tidemark.test'], type: MX, port: {port}, refresh_interval: 1s}}]"),
        "  - job_name: dns-ns\n    dns_sd_configs: [{names: ['tidemark.test'], type: NS, port: 9, refresh_interval: 1s}]".to_owned(),
    ];
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}\n",
        jobs.join("\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let tidemark = Tidemark::start(
        dir.path(),
        &config,
        &[("TIDEMARK_DNS_SD_NAMESERVER", dns.addr().to_string())],
    );
    wait_for("five DNS SD targets", Duration::from_secs(30), || {
        view(&tidemark.targets()).len() == 5
    });
    let by_job = |job: &str| -> (BTreeMap<String, String>, String) {
        let v = view(&tidemark.targets());
        let (_, d, _, h) = v
            .into_iter()
            .find(|(p, ..)| p == job)
            .unwrap_or_else(|| panic!("no target for {job}"));
        (d, h)
    };
    let (srv, _) = by_job("dns-srv");
    assert_eq!(srv["__address__"], format!("127.0.0.1:{port}"));
    assert_eq!(srv["__meta_dns_name"], "_metrics._tcp.tidemark.test");
    assert_eq!(srv["__meta_dns_srv_record_target"], "127.0.0.1.");
    assert_eq!(srv["__meta_dns_srv_record_port"], port.to_string());
    let (a, _) = by_job("dns-a");
    assert_eq!(a["__address__"], format!("127.0.0.1:{port}"));
    assert_eq!(a["__meta_dns_name"], "a.tidemark.test");
    assert!(!a.contains_key("__meta_dns_srv_record_target"), "{a:?}");
    let (v6, _) = by_job("dns-aaaa");
    assert_eq!(v6["__address__"], format!("[::1]:{port}"));
    let (mx, _) = by_job("dns-mx");
    assert_eq!(mx["__address__"], format!("127.0.0.1:{port}"));
    assert_eq!(mx["__meta_dns_mx_record_target"], "127.0.0.1.");
    let (ns, _) = by_job("dns-ns");
    assert_eq!(ns["__address__"], "ns1.tidemark.test:9");
    assert_eq!(ns["__meta_dns_ns_record_target"], "ns1.tidemark.test.");
    for job in ["dns-srv", "dns-a", "dns-mx"] {
        wait_for(&format!("{job} up"), Duration::from_secs(20), || {
            by_job(job).1 == "up"
        });
    }
    assert!(dns
        .queries()
        .contains(&("gone.tidemark.test.".to_owned(), TYPE_A)));

    // The A record goes away (NXDOMAIN): its target goes too.
    dns.set("a.tidemark.test.", TYPE_A, Vec::new());
    wait_for("the dns-a target to go", Duration::from_secs(20), || {
        !view(&tidemark.targets()).iter().any(|(p, ..)| p == "dns-a")
    });
}

#[test]
fn unimplemented_discovery_is_reported_at_check_and_every_load() {
    let dir = tempfile::tempdir().unwrap();
    let config = "scrape_configs:\n  - job_name: cloud\n    ec2_sd_configs: [{region: eu-west-1, port: 9100}]\n    docker_sd_configs: [{host: 'unix:///var/run/docker.sock'}, {host: 'tcp://127.0.0.1:2375'}]\n  - job_name: plain\n    static_configs: [{targets: ['127.0.0.1:9']}]\n";
    let path = dir.path().join("check.yml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .args(["check", "config", "--syntax-only"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let want_ec2 = "scrape config \"cloud\": ec2_sd_configs (1 entry) is accepted but ec2 service discovery is not implemented in Tidemark: it discovers no targets";
    let want_docker = "scrape config \"cloud\": docker_sd_configs (2 entries) is accepted but docker service discovery is not implemented in Tidemark";
    assert!(stdout.contains(&format!("WARNING: {want_ec2}")), "{stdout}");
    assert!(stdout.contains(want_docker), "{stdout}");
    assert!(!stdout.contains("\"plain\""), "{stdout}");

    // The server warns at start and again at every reload.
    let tidemark = Tidemark::start(dir.path(), config, &[]);
    let count = || {
        std::fs::read_to_string(dir.path().join("tidemark.log"))
            .unwrap_or_default()
            .matches(want_ec2)
            .count()
    };
    wait_for("the start-up warning", Duration::from_secs(10), || {
        count() == 1
    });
    let (status, _) = common::http_request(tidemark.port, "POST", "/-/reload", "").unwrap();
    assert_eq!(status, 200);
    wait_for("the reload warning", Duration::from_secs(10), || {
        count() == 2
    });

    // The API marks the job.
    let targets = tidemark.targets();
    let marked = targets["data"]["notImplementedDiscovery"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(marked.len(), 1, "{targets}");
    assert_eq!(marked[0]["scrapePool"], "cloud");
    assert_eq!(
        marked[0]["mechanisms"],
        serde_json::json!(["docker_sd_configs", "ec2_sd_configs"])
    );
}

#[test]
fn oauth2_token_is_fetched_again_when_it_expires() {
    let stub = HttpStub::start();
    let issued = Arc::new(AtomicUsize::new(0));
    {
        let issued = issued.clone();
        // `expires_in: 11`: usable for 1 s, as Go's oauth2 (and Tidemark) stop 10 s early.
        stub.route("/token", move |_| {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            StubResponse::ok(
                "application/json",
                format!(r#"{{"access_token":"tok-{n}","token_type":"Bearer","expires_in":11}}"#),
            )
        });
    }
    {
        // Only the newest token is accepted: a client that keeps an expired one fails.
        let issued = issued.clone();
        stub.route("/metrics", move |r| {
            let newest = format!("Bearer tok-{}", issued.load(Ordering::SeqCst));
            if r.header("authorization") == Some(newest.as_str()) {
                StubResponse::ok(TEXT, METRICS)
            } else {
                StubResponse::status(401)
            }
        });
    }
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: expiring\n    oauth2: {{client_id: c, client_secret: s, token_url: '{}'}}\n    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
        stub.url("/token"),
        stub.port()
    );
    let dir = tempfile::tempdir().unwrap();
    let tidemark = Tidemark::start(dir.path(), &config, &[]);
    wait_for("three tokens", Duration::from_secs(30), || {
        issued.load(Ordering::SeqCst) >= 3
    });
    wait_for(
        "a scrape with a fresh token",
        Duration::from_secs(20),
        || {
            view(&tidemark.targets())
                .iter()
                .any(|(_, _, _, h)| h == "up")
        },
    );
    let scrapes = stub.requests_to("/metrics").len();
    let tokens = issued.load(Ordering::SeqCst);
    assert!(
        tokens <= scrapes + 1,
        "{tokens} tokens for {scrapes} scrapes: one per expiry at most"
    );
}
