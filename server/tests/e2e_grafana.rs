//! The requests Grafana's Prometheus data source sends, in its methods (POST form-encoded for
//! query, query_range, series and labels; GET for label values, metadata, rules, buildinfo,
//! targets, alerts), against the real binary scraping itself; then a SIGTERM and a restart
//! on the same data directory, which must lose nothing that was acknowledged.

mod common;

use std::time::Duration;

use common::{form_escape, http_get, http_request, wait_for, Tidemark};
use serde_json::Value;

fn json(status_and_body: Option<(u16, String)>) -> (u16, Value) {
    let (status, body) = status_and_body.expect("an HTTP answer");
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, v)
}

fn post(port: u16, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let body: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
        .collect();
    json(http_request(port, "POST", path, &body.join("&")))
}

fn get(port: u16, path: &str) -> (u16, Value) {
    json(http_get(port, path))
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn grafana_data_source_calls_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tidemark\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    let t = Tidemark::start_on(port, dir.path(), &config, &[]);
    wait_for("a few self-scrapes", Duration::from_secs(30), || {
        t.query("count_over_time(up[1m]) >= 3").len() == 1
    });

    // "Save & test": 1+1 at time=4.
    let (status, v) = post(port, "/api/v1/query", &[("query", "1+1"), ("time", "4")]);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "scalar");
    assert_eq!(v["data"]["result"], serde_json::json!([4, "2"]));

    // Build info: a semver version and no `features` (Grafana would take us for Mimir).
    let (status, v) = get(port, "/api/v1/status/buildinfo");
    assert_eq!(status, 200);
    let version = v["data"]["version"].as_str().unwrap();
    assert_eq!(version.split('.').count(), 3, "{version}");
    assert!(
        version.split('.').all(|p| p.parse::<u64>().is_ok()),
        "{version}"
    );
    assert!(v["data"].get("features").is_none(), "{v}");

    // Metric browser.
    let end = now_s().floor();
    let start = end - 3600.0;
    let (start_s, end_s) = (format!("{start}"), format!("{end}"));
    let (status, v) = get(
        port,
        &format!("/api/v1/label/__name__/values?start={start_s}&end={end_s}"),
    );
    assert_eq!(status, 200, "{v}");
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"up") && names.contains(&"scrape_duration_seconds"),
        "{names:?}"
    );
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted: {names:?}");
    let (status, v) = post(
        port,
        "/api/v1/labels",
        &[("match[]", "up"), ("start", &start_s), ("end", &end_s)],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["data"],
        serde_json::json!(["__name__", "instance", "job"])
    );
    let (status, v) = post(
        port,
        "/api/v1/series",
        &[("match[]", "up"), ("start", &start_s), ("end", &end_s)],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["data"][0]["job"], "tidemark");
    let (status, v) = get(port, "/api/v1/label/job/values?match[]=up");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"], serde_json::json!(["tidemark"]));
    let (status, v) = get(port, "/api/v1/metadata");
    assert_eq!(status, 200, "{v}");
    assert!(v["data"].is_object(), "{v}");
    wait_for("scraped metadata", Duration::from_secs(10), || {
        get(
            port,
            "/api/v1/metadata?metric=prometheus_http_requests_total",
        )
        .1["data"]["prometheus_http_requests_total"][0]["type"]
            == "counter"
    });

    // A range panel: Grafana floors start and end to the step.
    // Several samples of the HTTP counter, so that `rate` has two at the floored end too.
    wait_for(
        "samples of the HTTP counter",
        Duration::from_secs(20),
        || {
            !t.query("count_over_time(prometheus_http_requests_total[1m]) >= 6")
                .is_empty()
        },
    );
    let end = now_s().floor();
    let step = 2.0;
    let (rs, re) = (
        ((end - 120.0) / step).floor() * step,
        (end / step).floor() * step,
    );
    let (status, v) = post(
        port,
        "/api/v1/query_range",
        &[
            (
                "query",
                "sum by (job) (rate(prometheus_http_requests_total[1m]))",
            ),
            ("start", &format!("{rs}")),
            ("end", &format!("{re}")),
            ("step", &format!("{step}")),
        ],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["resultType"], "matrix");
    let series = v["data"]["result"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{v}");
    assert_eq!(series[0]["metric"], serde_json::json!({"job": "tidemark"}));
    for p in series[0]["values"].as_array().unwrap() {
        assert!(p[0].is_number() && p[1].is_string(), "{p}");
    }

    // Other GETs Grafana makes.
    for path in [
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/targets",
        "/api/v1/query_exemplars?query=up&start=0&end=10",
    ] {
        let (status, v) = get(port, path);
        assert_eq!(
            (status, &v["status"]),
            (200, &Value::from("success")),
            "{path}: {v}"
        );
    }
    // A bad query is `bad_data` with the parameter named, not a 500.
    let (status, v) = post(port, "/api/v1/query", &[("query", "sum(")]);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["errorType"], "bad_data");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"query\": 1:5: parse error:"),
        "{v}"
    );

    // Restart: everything acknowledged before SIGTERM is still there.
    let q = format!("count_over_time(up[1h] @ {end})");
    let before = t.query(&q);
    assert_eq!(before.len(), 1);
    let before: f64 = before[0].1.parse().unwrap();
    let status = t.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let t = Tidemark::start_on(port, dir.path(), &config, &[]);
    let after: f64 = t.query(&q)[0].1.parse().unwrap();
    assert_eq!(
        after, before,
        "samples up to {end} before and after the restart"
    );
}
