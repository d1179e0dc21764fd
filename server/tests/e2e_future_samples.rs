//! Far-future samples and `delete_series` without `end`, on the real `tidemark` binary side by
//! side with Prometheus 3.5.3.
//!
//! A remote-written sample in microseconds instead of milliseconds, or a scraped sample with
//! an explicit far-future timestamp, must be refused (Prometheus 3.5: more than 10 minutes
//! after the receiver's clock is "out of bounds: timestamp is too far in the future", HTTP
//! 400) while every ordinary sample keeps being stored, also after a restart. A deletion
//! without `start`/`end` removes what exists and leaves later samples visible, also after
//! `clean_tombstones` and a restart.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{free_port, http_get, http_request, tidemark_command, wait_for, Proc};
use serde_json::Value;
use tidemark_tests::prom::{labels, PromOptions, PromServer, RemoteWriteClient};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A target answering every request with `body` (the exposition text), on a thread.
fn static_target(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                body.len(),
                body
            );
        }
    });
    port
}

fn config(target: u16) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
    )
}

fn start_tidemark(port: u16, dir: &Path, target: u16) -> Proc {
    std::fs::write(dir.join("prometheus.yml"), config(target)).unwrap();
    let child = tidemark_command(port, dir)
        .arg("--web.enable-remote-write-receiver")
        .arg("--web.enable-admin-api")
        .spawn()
        .expect("starting tidemark");
    let p = Proc(child);
    wait_for("tidemark to be ready", Duration::from_secs(30), || {
        http_get(port, "/-/ready").is_some_and(|(s, _)| s == 200)
    });
    p
}

/// Sends one remote-write request of one sample; the HTTP status and the answer's text.
fn write_one(port: u16, name: &str, t: i64, v: f64) -> (u16, String) {
    let client = RemoteWriteClient::new(&format!("http://127.0.0.1:{port}"));
    match client.write_request(&[(labels(&[("__name__", name)]), vec![(t, v)])]) {
        Ok(()) => (204, String::new()),
        Err(e) => {
            // "remote write to URL answered HTTP 400: body"
            let rest = e
                .split_once("answered HTTP ")
                .unwrap_or_else(|| panic!("remote write to :{port} failed: {e}"))
                .1;
            let (code, body) = rest.split_once(": ").unwrap_or((rest, ""));
            (code.parse().unwrap(), body.to_owned())
        }
    }
}

/// The instant vector of `q` at `t_ms`, as (metric name or labels JSON, value) pairs.
fn query_at(port: u16, q: &str, t_ms: i64) -> Vec<(String, String)> {
    let path = format!(
        "/api/v1/query?query={}&time={}.{:03}",
        common::form_escape(q),
        t_ms.div_euclid(1000),
        t_ms.rem_euclid(1000)
    );
    let (status, body) = http_get(port, &path).unwrap_or_else(|| panic!("GET {path}"));
    assert_eq!(status, 200, "{path} on :{port}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"].to_string(),
                r["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn scalar_at(port: u16, q: &str, t_ms: i64) -> Option<f64> {
    query_at(port, q, t_ms)
        .first()
        .map(|(_, v)| v.parse().unwrap())
}

fn post(port: u16, path: &str) -> (u16, String) {
    http_request(port, "POST", path, "").unwrap_or_else(|| panic!("POST {path} on :{port}"))
}

#[test]
fn far_future_samples_are_refused_and_ingestion_goes_on_like_prometheus_3_5() {
    let far = now_ms() * 1000; // microseconds sent as milliseconds
    let target = static_target(format!(
        "# TYPE ordinary gauge\nordinary 1\n# TYPE future gauge\nfuture 2 {far}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let tm_port = free_port();
    let tm = start_tidemark(tm_port, dir.path(), target);
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(config(target)),
        extra_args: vec!["--web.enable-admin-api".into()],
        ..PromOptions::default()
    })
    .expect("starting Prometheus 3.5");
    let servers = [("tidemark", tm_port), ("prometheus", prom.port())];

    // 1. Remote write: far-future and just-past-the-limit samples are refused with 400 and
    //    Prometheus's wording; samples within 10 minutes and ordinary ones are stored.
    let now = now_ms();
    for (who, port) in servers {
        for (name, t) in [("rw_far", far), ("rw_past_limit", now + 11 * 60_000)] {
            let (status, body) = write_one(port, name, t, 1.0);
            println!("{who}: {name}: HTTP {status}: {body}");
            assert_eq!(status, 400, "{who}: {name}: {body}");
            assert!(
                body.starts_with("out of bounds: timestamp is too far in the future"),
                "{who}: {name}: {body}"
            );
        }
        assert_eq!(
            write_one(port, "rw_ahead", now + 9 * 60_000, 1.0).0,
            204,
            "{who}"
        );
        assert_eq!(write_one(port, "rw_ordinary", now, 1.0).0, 204, "{who}");
        assert_eq!(
            write_one(port, "rw_ordinary", now + 1_000, 2.0).0,
            204,
            "{who}"
        );
    }
    for (who, port) in servers {
        assert_eq!(
            scalar_at(port, "rw_ordinary", now + 1_000),
            Some(2.0),
            "{who}"
        );
        assert_eq!(
            scalar_at(port, "rw_ahead", now + 9 * 60_000),
            Some(1.0),
            "{who}"
        );
        assert_eq!(scalar_at(port, "rw_far", far), None, "{who}");
    }

    // 2. Scrape: the far-future sample is refused and counted; the target stays up and its
    //    ordinary samples keep being stored.
    for (who, port) in servers {
        wait_for(
            &format!("{who} to store scraped samples"),
            Duration::from_secs(20),
            || scalar_at(port, "count_over_time(ordinary[1m])", now_ms()).is_some_and(|n| n >= 3.0),
        );
        assert_eq!(scalar_at(port, "up", now_ms()), Some(1.0), "{who}");
        assert_eq!(scalar_at(port, "future", far), None, "{who}");
        let (_, metrics) = http_get(port, "/metrics").unwrap();
        let oob = common::exposed_value(
            &metrics,
            "prometheus_target_scrapes_sample_out_of_bounds_total",
        )
        .unwrap_or_else(|| panic!("{who}: no out-of-bounds counter"));
        assert!(oob >= 1.0, "{who}: out-of-bounds scrape samples {oob}");
    }
    // Remote write still works after all that.
    let later = now_ms();
    for (who, port) in servers {
        assert_eq!(write_one(port, "rw_ordinary", later, 3.0).0, 204, "{who}");
    }

    // 3. Tidemark after a restart: still ingesting from both paths.
    drop(tm);
    let _tm = start_tidemark(tm_port, dir.path(), target);
    let t = now_ms();
    assert_eq!(write_one(tm_port, "rw_ordinary", t, 4.0).0, 204);
    assert_eq!(scalar_at(tm_port, "rw_ordinary", t), Some(4.0));
    let (status, body) = write_one(tm_port, "rw_far", far + 1, 1.0);
    assert_eq!(status, 400, "{body}");
    wait_for("scrapes after restart", Duration::from_secs(20), || {
        scalar_at(tm_port, "count_over_time(ordinary[5s])", now_ms()).is_some_and(|n| n >= 2.0)
    });
}

#[test]
fn delete_series_without_end_keeps_later_samples_visible_like_prometheus_3_5() {
    let target = static_target("# TYPE other gauge\nother 1\n".to_owned());
    let dir = tempfile::tempdir().unwrap();
    let tm_port = free_port();
    let tm = start_tidemark(tm_port, dir.path(), target);
    let prom = PromServer::start_with(&PromOptions {
        config_yaml: Some(config(target)),
        extra_args: vec!["--web.enable-admin-api".into()],
        ..PromOptions::default()
    })
    .expect("starting Prometheus 3.5");
    let servers = [("tidemark", tm_port), ("prometheus", prom.port())];
    let t0 = now_ms() - 60_000;
    for (who, port) in servers {
        for k in 0..5 {
            assert_eq!(
                write_one(port, "doomed", t0 + k * 1_000, k as f64).0,
                204,
                "{who}"
            );
        }
        assert_eq!(
            scalar_at(port, "count_over_time(doomed[5m])", t0 + 5_000),
            Some(5.0)
        );
        // No start, no end.
        let (status, body) = post(port, "/api/v1/admin/tsdb/delete_series?match[]=doomed");
        assert_eq!(status, 204, "{who}: {body}");
        assert_eq!(
            scalar_at(port, "count_over_time(doomed[5m])", t0 + 5_000),
            None,
            "{who}"
        );
        // New samples after the deletion are visible.
        let t1 = now_ms();
        assert_eq!(write_one(port, "doomed", t1, 7.0).0, 204, "{who}");
        assert_eq!(scalar_at(port, "doomed", t1), Some(7.0), "{who}");
        let (status, body) = post(port, "/api/v1/admin/tsdb/clean_tombstones");
        assert_eq!(status, 204, "{who}: {body}");
        assert_eq!(
            scalar_at(port, "doomed", t1),
            Some(7.0),
            "{who} after clean_tombstones"
        );
        assert_eq!(
            scalar_at(port, "count_over_time(doomed[10m])", t1),
            Some(1.0),
            "{who}: the deleted samples stay deleted"
        );
    }
    // Tidemark after a restart: the later sample is still there, the deleted ones are not,
    // and new ones keep arriving.
    drop(tm);
    let _tm = start_tidemark(tm_port, dir.path(), target);
    let t2 = now_ms();
    assert_eq!(write_one(tm_port, "doomed", t2, 8.0).0, 204);
    assert_eq!(
        scalar_at(tm_port, "count_over_time(doomed[10m])", t2),
        Some(2.0)
    );
    assert_eq!(scalar_at(tm_port, "doomed", t2), Some(8.0));
}
