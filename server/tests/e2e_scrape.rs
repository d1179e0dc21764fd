//! End to end through the real `tidemark` binary: scraping real targets on loopback (Debian's
//! node exporter, the Python `prometheus_client` app of seed 000), Kubernetes discovery through
//! the test API server, reload, staleness and backfill.
//!
//! These tests live in the server package because cargo hands a binary's path
//! (`CARGO_BIN_EXE_tidemark`) only to its own package's tests.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{
    form_escape, free_port, http_get, http_request, in_cluster, instant_query, node_exporter,
    python_app, wait_for, Tidemark,
};
use serde_json::Value;

/// Scenario 5 (seed 001): a self-scrape and an exporter from `static_configs`; a reload that
/// removes a job ends its series at once (stale markers), and a bad config is refused while the
/// running one stays.
#[test]
fn static_targets_reload_and_staleness() {
    let (node_exporter, ne_port) = node_exporter();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tidemark\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n  - job_name: node\n    sample_limit: 100000\n    static_configs:\n      - targets: ['127.0.0.1:{ne_port}']\n        labels: {{env: e2e}}\n"
    );
    let t = Tidemark::start_on(port, dir.path(), &config, &[]);
    wait_for("both targets up", Duration::from_secs(30), || {
        let up = t.query("up == 1");
        up.len() == 2
    });
    let cpu = t.query("count(node_cpu_seconds_total{job=\"node\",env=\"e2e\"})");
    assert_eq!(cpu.len(), 1);
    assert!(cpu[0].1.parse::<f64>().unwrap() >= 1.0);
    // Report series exist with the target labels.
    let scraped = t.query("scrape_samples_scraped{job=\"node\"}");
    assert_eq!(scraped[0].0["instance"], format!("127.0.0.1:{ne_port}"));
    assert!(scraped[0].1.parse::<f64>().unwrap() > 100.0);
    // The self-scrape sees its own scrape counters.
    wait_for("self-scrape metrics", Duration::from_secs(10), || {
        !t.query("prometheus_target_scrapes_total").is_empty()
    });

    // A bad config is refused; the running config stays.
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "scrape_configs:\n  - job_name: x\n    scrape_interval: 1s\n    scrape_timeout: 5s\n",
    )
    .unwrap();
    let (status, body) = http_request(port, "POST", "/-/reload", "").unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("scrape timeout greater than scrape interval"),
        "{body}"
    );
    let reload_ok = t.query("prometheus_config_last_reload_successful");
    assert!(reload_ok.is_empty() || reload_ok[0].1 == "0" || reload_ok[0].1 == "1");
    let (_, metrics) = http_get(port, "/metrics").unwrap();
    assert!(metrics.contains("prometheus_config_last_reload_successful 0"));

    // Remove the node job: its series end at once instead of lingering five minutes.
    let only_self = config
        .split("  - job_name: node")
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(dir.path().join("prometheus.yml"), only_self).unwrap();
    let (status, body) = http_request(port, "POST", "/-/reload", "").unwrap();
    assert_eq!(status, 200, "{body}");
    wait_for("node series to go stale", Duration::from_secs(15), || {
        t.query("up{job=\"node\"}").is_empty() && t.query("node_cpu_seconds_total").is_empty()
    });
    assert_eq!(t.query("up{job=\"tidemark\"}").len(), 1);
    drop(node_exporter);
}

/// Scenario 1 (seed 000): `role: endpoints` discovered in-cluster through the test API server,
/// the seed's seven relabel rules verbatim, the seed's Python app scraped; after 3 calls to
/// /foo and 5 to /bar the counters show 3 and 5 with all the labels. A service without the
/// annotation is dropped and never scraped.
#[test]
fn annotated_service_endpoints_are_discovered_and_scraped() {
    let app_port = free_port();
    let _app = python_app(app_port)
        .expect("python3 with prometheus_client must be installed (.ci/run installs it)");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(tidemark_tests::kube_api::KubeApiServer::start("sa-token"));
    let (_sa, env) = in_cluster(&api, "sa-token");

    let svc = |name: &str, annotated: bool| {
        let annotations = if annotated {
            serde_json::json!({"se7entyse7en.prometheus/scrape": "true",
                               "se7entyse7en.prometheus/path": "/metrics",
                               "se7entyse7en.prometheus/port": app_port.to_string()})
        } else {
            serde_json::json!({})
        };
        serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations},
            "spec": {"selector": {"app": name}, "ports": [{"port": 9191, "protocol": "TCP"}]}
        })
    };
    let pod = |name: &str, app: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
            "spec": {"containers": [{"name": "app", "image": "sample-app:latest",
                                     "ports": [{"containerPort": 9191, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1", "hostIP": "127.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True"}]}
        })
    };
    let endpoints = |name: &str, pod_name: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1",
                                        "targetRef": {"kind": "Pod", "name": pod_name, "namespace": "default"}}],
                         "ports": [{"port": 9191, "protocol": "TCP"}]}]
        })
    };
    api.apply_all([
        svc("app", true),
        pod("app-7d4b9c-x1", "app"),
        endpoints("app", "app-7d4b9c-x1"),
        svc("other", false),
        pod("other-0", "other"),
        endpoints("other", "other-0"),
    ]);

    // The seed's configuration, verbatim (in-cluster: no api_server).
    let config = "scrape_configs:
- job_name: 'kubernetes-service-endpoints'
  scrape_interval: 1s
  scrape_timeout: 1s
  kubernetes_sd_configs:
  - role: endpoints
  relabel_configs:
  - source_labels: [__meta_kubernetes_service_annotation_se7entyse7en_prometheus_scrape]
    action: keep
    regex: true
  - source_labels: [__meta_kubernetes_service_annotation_se7entyse7en_prometheus_scheme]
    action: replace
    target_label: __scheme__
    regex: (https?)
  - source_labels: [__meta_kubernetes_service_annotation_se7entyse7en_prometheus_path]
    action: replace
    target_label: __metrics_path__
    regex: (.+)
  - source_labels: [__address__, __meta_kubernetes_service_annotation_se7entyse7en_prometheus_port]
    action: replace
    target_label: __address__
    regex: ([^:]+)(?::\\d+)?;(\\d+)
    replacement: $1:$2
  - source_labels: [__meta_kubernetes_namespace]
    action: replace
    target_label: kubernetes_namespace
  - source_labels: [__meta_kubernetes_service_name]
    action: replace
    target_label: kubernetes_service
  - source_labels: [__meta_kubernetes_pod_name]
    action: replace
    target_label: kubernetes_pod
";
    let dir = tempfile::tempdir().unwrap();
    let t = Tidemark::start(dir.path(), config, &env);
    wait_for("the app's target to be up", Duration::from_secs(30), || {
        t.query("up == 1").len() == 1
    });
    let targets = t.targets();
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 1, "{targets:#}");
    assert_eq!(active[0]["health"], "up");
    assert_eq!(active[0]["labels"]["kubernetes_service"], "app");
    assert_eq!(active[0]["labels"]["kubernetes_pod"], "app-7d4b9c-x1");
    assert_eq!(
        active[0]["scrapeUrl"],
        format!("http://127.0.0.1:{app_port}/metrics")
    );
    let dropped = targets["data"]["droppedTargets"].as_array().unwrap();
    assert!(
        dropped
            .iter()
            .any(|d| d["discoveredLabels"]["__meta_kubernetes_service_name"] == "other"),
        "{targets:#}"
    );

    for _ in 0..3 {
        http_get(app_port, "/foo").unwrap();
    }
    for _ in 0..5 {
        http_get(app_port, "/bar").unwrap();
    }
    wait_for("counters 3 and 5", Duration::from_secs(15), || {
        let r = t.query("requests_count_total");
        let get = |ep: &str| {
            r.iter()
                .find(|(m, _)| m["endpoint"] == ep)
                .map(|(_, v)| v.clone())
        };
        get("/foo").as_deref() == Some("3") && get("/bar").as_deref() == Some("5")
    });
    let r = t.query("requests_count_total{endpoint=\"/foo\"}");
    let m = &r[0].0;
    assert_eq!(m["job"], "kubernetes-service-endpoints");
    assert_eq!(m["kubernetes_namespace"], "default");
    assert_eq!(m["kubernetes_service"], "app");
    assert_eq!(m["kubernetes_pod"], "app-7d4b9c-x1");
    assert_eq!(m["instance"], format!("127.0.0.1:{app_port}"));
    // The Python client's `_created` series is an ordinary gauge here, as in Prometheus 3.5
    // without `--enable-feature=created-timestamp-zero-ingestion`.
    assert_eq!(t.query("requests_count_created").len(), 2);

    // Scenario 3: the pod goes away (endpoints emptied) → the target goes and its series end.
    api.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "app", "namespace": "default"},
        "subsets": []
    }));
    wait_for("the target to be removed", Duration::from_secs(15), || {
        t.targets()["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .is_empty()
    });
    wait_for("its series to go stale", Duration::from_secs(15), || {
        t.query("requests_count_total").is_empty() && t.query("up").is_empty()
    });
    drop(t);
    drop(api);
}

/// `tidemark backfill` writes blocks that the server then serves.
#[test]
fn backfill_then_query() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.om");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = now_s - 3 * 3600;
    let mut body = String::from("# TYPE backfilled gauge\n");
    for i in 0..180 {
        body.push_str(&format!(
            "backfilled{{src=\"file\"}} {i} {}\n",
            start + i * 60
        ));
    }
    body.push_str("# EOF\n");
    std::fs::write(&input, body).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .arg("backfill")
        .arg(&input)
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = Tidemark::start(dir.path(), "scrape_configs: []\n", &[]);
    let end = start + 179 * 60;
    let (status, text) = http_request(
        t.port,
        "POST",
        "/api/v1/query",
        &format!("query=count_over_time(backfilled[4h])&time={end}"),
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "180", "{text}");
    drop(t);
}

/// Flags are Prometheus's; an unknown flag or a bad value exits with code 2.
#[test]
fn bad_flags_exit_with_code_2() {
    for args in [
        vec!["--no.such.flag"],
        vec!["--query.timeout=soon"],
        vec!["--storage.tsdb.retention.size=12kB"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tidemark"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// The `(path, Accept header)` of every request a [`recording_target`] received.
type Recorded = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A loopback target that records the `Accept` header of every request and answers with the
/// `Content-Type` its path names: `/noct` none, `/unknownct` `application/json`, `/badct`
/// `;;;`, anything else the text format. The body parses in both text formats.
fn recording_target() -> (u16, Recorded) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
                let mut accept = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("accept") {
                            accept = v.trim().to_owned();
                        }
                    }
                }
                record.lock().unwrap().push((path.clone(), accept));
                let body = "# TYPE m gauge\nm 1\n# EOF\n";
                let ct = match path.as_str() {
                    "/noct" => String::new(),
                    "/unknownct" => "Content-Type: application/json\r\n".into(),
                    "/badct" => "Content-Type: ;;;\r\n".into(),
                    _ => "Content-Type: text/plain; version=0.0.4\r\n".into(),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (port, seen)
}

/// Prometheus 3.5's scrape negotiation, differentially: both scrape the same recording target
/// with the same jobs; the `Accept` header of each job (built from `scrape_protocols`) and each
/// target's health and `lastError` (the Content-Type strictness and
/// `fallback_scrape_protocol`) must agree. One known difference: Tidemark has no protobuf
/// parser and leaves `PrometheusProto` out of its `Accept` header (the other entries keep
/// 3.5's weights).
#[test]
fn scrape_protocols_and_content_types_match_prometheus_3_5() {
    let (target, seen) = recording_target();
    let job = |name: &str, path: &str, extra: &str| {
        format!("  - job_name: {name}\n    metrics_path: {path}\n{extra}    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n")
    };
    let config = [
        "global:\n  scrape_interval: 1s\nscrape_configs:\n".to_owned(),
        job("default", "/default", ""),
        job("textonly", "/textonly", "    scrape_protocols: [PrometheusText0.0.4]\n"),
        job("custom", "/custom", "    scrape_protocols: [PrometheusText1.0.0, OpenMetricsText0.0.1, PrometheusProto, OpenMetricsText1.0.0, PrometheusText0.0.4]\n"),
        job("underscores", "/underscores", "    metric_name_validation_scheme: legacy\n    metric_name_escaping_scheme: underscores\n"),
        job("noct", "/noct", ""),
        job("unknownct", "/unknownct", ""),
        job("badct", "/badct", ""),
        job("noct_fallback", "/noct", "    fallback_scrape_protocol: PrometheusText0.0.4\n"),
        job("unknownct_fallback", "/unknownct", "    fallback_scrape_protocol: OpenMetricsText1.0.0\n"),
    ]
    .concat();
    let prom = tidemark_tests::prom::PromServer::start_with(&tidemark_tests::prom::PromOptions {
        config_yaml: Some(config.clone()),
        ..Default::default()
    })
    .expect("starting Prometheus 3.5");
    let dir = tempfile::tempdir().unwrap();
    let t = Tidemark::start_on(free_port(), dir.path(), &config, &[]);
    let health = |port: u16| -> std::collections::BTreeMap<String, (String, String)> {
        let (_, body) = http_get(port, "/api/v1/targets").unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["scrapePool"].as_str().unwrap().to_owned(),
                    (
                        t["health"].as_str().unwrap().to_owned(),
                        t["lastError"].as_str().unwrap().to_owned(),
                    ),
                )
            })
            .collect()
    };
    wait_for(
        "every target scraped by both",
        Duration::from_secs(30),
        || {
            [t.port, prom.port()].iter().all(|&p| {
                let h = health(p);
                h.len() == 9 && h.values().all(|(s, _)| s != "unknown")
            })
        },
    );
    let (th, ph) = (health(t.port), health(prom.port()));
    assert_eq!(th, ph, "health and lastError per job");
    assert_eq!(ph["noct"].0, "down");
    assert_eq!(ph["noct_fallback"].0, "up");

    // Accept headers, per path, as each server sent them (requests by Tidemark and by
    // Prometheus are told apart by their User-Agent-free content: compare the sets).
    let seen = seen.lock().unwrap().clone();
    let by_path = |path: &str| -> std::collections::BTreeSet<String> {
        seen.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, a)| a.clone())
            .collect()
    };
    let mut excused = 0;
    for path in ["/default", "/textonly", "/custom", "/underscores", "/noct"] {
        let headers = by_path(path);
        let proto = headers
            .iter()
            .find(|h| h.contains("application/vnd.google.protobuf"));
        let expected: std::collections::BTreeSet<String> = match proto {
            // Known difference: 3.5's header less its protobuf entry is Tidemark's.
            Some(h) => {
                excused += 1;
                let without: Vec<&str> = h
                    .split(',')
                    .filter(|p| !p.starts_with("application/vnd.google.protobuf"))
                    .collect();
                [h.clone(), without.join(",")].into()
            }
            None => headers.iter().take(1).cloned().collect(),
        };
        assert_eq!(headers, expected, "Accept headers sent for {path}");
    }
    println!("Accept headers: {excused} known difference excused (no protobuf parser)");
}

/// A loopback target serving fixed bodies: path → (`Content-Type`, body).
fn body_target(bodies: Vec<(&'static str, &'static str, &'static str)>) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = std::sync::Arc::new(bodies);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let bodies = bodies.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let (ct, body) = bodies
                    .iter()
                    .find(|(p, _, _)| *p == path)
                    .map_or(("text/plain", ""), |(_, ct, b)| (*ct, *b));
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// Issue 10: Prometheus 3.5's quoted UTF-8 names in scraped bodies. The real `tidemark` and
/// Prometheus 3.5 scrape the same loopback target (text format and OpenMetrics bodies with
/// quoted metric and label names, escapes, metadata, and malformed quoted forms); both must
/// store the same series, report the same health per job, and answer `{"my.metric"}` alike.
#[test]
fn quoted_utf8_names_are_scraped_as_prometheus_3_5() {
    const TEXT: &str = "text/plain; version=0.0.4";
    const OM: &str = "application/openmetrics-text; version=1.0.0";
    let bodies = vec![
        (
            "/text",
            TEXT,
            "# HELP \"my.metric\" help me\n# TYPE \"my.metric\" counter\n{\"my.metric\", a=\"b\"} 1\n{\"my.metric\"} 2\nmy_metric{\"some.label\"=\"x\"} 3\n{a=\"c\", \"my.metric\" } 4\n{\"esc\\\"aped\\\\name\\n\"} 5\n",
        ),
        (
            "/om",
            OM,
            "# TYPE \"om.gauge\" gauge\n# UNIT \"om.m_seconds\" seconds\n{\"om.gauge\",\"k.k\"=\"v\"} 1 # {\"t.id\"=\"x\"} 1\n{\"om.m_seconds\",} 2\nom_plain{a=\"b\",} 3\n# EOF\n",
        ),
        ("/text_no_name", TEXT, "{a=\"b\"} 1\n"),
        ("/text_twice", TEXT, "foo{\"bar\"} 1\n"),
        ("/text_empty", TEXT, "{\"\"} 1\n"),
        ("/text_no_equal", TEXT, "{\"m\" a=\"b\"} 1\n"),
        ("/om_exemplar_name", OM, "{\"m\"} 1 # {\"x\"} 1\n# EOF\n"),
        ("/om_blank", OM, "{\"m\", a=\"b\"} 1\n# EOF\n"),
    ];
    let jobs: Vec<(&str, &str)> = bodies
        .iter()
        .map(|(path, ct, _)| {
            (
                &path[1..],
                if *ct == TEXT {
                    "PrometheusText0.0.4"
                } else {
                    "OpenMetricsText1.0.0"
                },
            )
        })
        .collect();
    let target = body_target(bodies);
    let mut config = "global:\n  scrape_interval: 1s\nscrape_configs:\n".to_owned();
    for (name, protocol) in &jobs {
        config.push_str(&format!(
            "  - job_name: q_{name}\n    metrics_path: /{name}\n    scrape_protocols: [{protocol}]\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
        ));
    }
    // Under the legacy validation scheme the same body fails the scrape.
    config.push_str(&format!(
        "  - job_name: q_legacy\n    metrics_path: /text\n    metric_name_validation_scheme: legacy\n    metric_name_escaping_scheme: underscores\n    scrape_protocols: [PrometheusText0.0.4]\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
    ));
    let prom = tidemark_tests::prom::PromServer::start_with(&tidemark_tests::prom::PromOptions {
        config_yaml: Some(config.clone()),
        ..Default::default()
    })
    .expect("starting Prometheus 3.5");
    let dir = tempfile::tempdir().unwrap();
    let t = Tidemark::start_on(free_port(), dir.path(), &config, &[]);
    let health = |port: u16| -> std::collections::BTreeMap<String, String> {
        let (_, body) = http_get(port, "/api/v1/targets").unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["scrapePool"].as_str().unwrap().to_owned(),
                    t["health"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    wait_for(
        "every target scraped by both",
        Duration::from_secs(30),
        || {
            [t.port, prom.port()].iter().all(|&p| {
                let h = health(p);
                h.len() == jobs.len() + 1 && h.values().all(|s| s != "unknown")
            })
        },
    );
    let (th, ph) = (health(t.port), health(prom.port()));
    assert_eq!(th, ph, "health per job");
    assert_eq!(ph["q_text"], "up");
    assert_eq!(ph["q_om"], "up");
    assert_eq!(ph["q_text_no_name"], "down");
    assert_eq!(ph["q_legacy"], "down");

    let series = |port: u16| -> std::collections::BTreeSet<String> {
        let path = format!(
            "/api/v1/series?match[]={}",
            form_escape("{job=~\"q_.*\",__name__!~\"up|scrape_.*\"}")
        );
        let (status, body) = http_get(port, &path).unwrap();
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let (ts, ps) = (series(t.port), series(prom.port()));
    assert_eq!(ts, ps, "stored series");
    assert!(ps.len() >= 8, "{ps:?}");
    assert!(
        ps.iter().any(|s| s.contains("esc\\\"aped\\\\name\\n")),
        "{ps:?}"
    );

    // Metadata keeps quoted names as written (3.5 does not unescape them).
    let metadata = |port: u16| -> Value {
        let (_, body) = http_get(port, "/api/v1/metadata").unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"].clone()
    };
    let (tm, pm) = (metadata(t.port), metadata(prom.port()));
    assert_eq!(tm, pm, "metadata");
    assert_eq!(pm["my.metric"][0]["help"], "help me", "{pm}");

    let query = |port: u16| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = instant_query(port, "{\"my.metric\"}")
            .into_iter()
            .map(|(m, v)| (Value::Object(m).to_string(), v))
            .collect();
        out.sort();
        out
    };
    let (tq, pq) = (query(t.port), query(prom.port()));
    assert_eq!(tq, pq, "{{\"my.metric\"}}");
    assert_eq!(pq.len(), 3, "{pq:?}");
}
