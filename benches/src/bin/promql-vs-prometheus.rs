//! PromQL speed, side by side with Debian's Prometheus 2.42 on the same data and machine.
//!
//! Data: 10,000 series × 2 h at 15 s: 9,000 `http_requests_total` counters (10 namespaces,
//! 900 pods, 10 series per pod) and 1,000 `req_duration_seconds_bucket` series (100 histograms
//! × 10 buckets), written to Prometheus by remote write and to a Tidemark database.
//! Each query runs as a range query over the 2 h at step 15 s, best of 5 runs on each side.
//! Prometheus is timed through its HTTP API (it has no other interface); Tidemark in-process,
//! so the ratio favours Tidemark by the HTTP/JSON cost (a few ms per query at most).
//!
//! Usage: `cargo run --release -p tidemark-benches --bin promql-vs-prometheus`
//! (needs `apt-get install -y prometheus`).

use std::time::{Duration, Instant};

use tidemark_engine::{Db, DbOptions, Labels};
use tidemark_query::{QueryEngine, Value};
use tidemark_tests::prom::{InputSeries, PromResult, PromServer};

const STEP: i64 = 15_000;
const POINTS: i64 = 480;

fn data() -> Vec<InputSeries> {
    let mut r = tidemark_benches::Rng::new(7);
    let mut out: Vec<InputSeries> = Vec::new();
    for i in 0..9000u64 {
        let pod = i / 10;
        let labels = vec![
            ("__name__".to_owned(), "http_requests_total".to_owned()),
            ("namespace".to_owned(), format!("ns-{}", pod % 10)),
            ("pod".to_owned(), format!("pod-{pod}")),
            ("code".to_owned(), format!("{}", 200 + (i % 10))),
        ];
        let mut v = r.below(1000) as f64;
        let s = (0..POINTS)
            .map(|k| {
                v += r.below(20) as f64;
                (k * STEP, v)
            })
            .collect();
        out.push((labels, s));
    }
    let bounds = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];
    for h in 0..100u64 {
        let mut counts = [0f64; 10];
        let mut series: Vec<Vec<(i64, f64)>> = (0..10)
            .map(|_| Vec::with_capacity(POINTS as usize))
            .collect();
        for k in 0..POINTS {
            for (b, c) in counts.iter_mut().enumerate() {
                *c += (r.below(5) * (b as u64 + 1)) as f64;
                series[b].push((k * STEP, *c));
            }
        }
        for (b, s) in series.into_iter().enumerate() {
            out.push((
                vec![
                    (
                        "__name__".to_owned(),
                        "req_duration_seconds_bucket".to_owned(),
                    ),
                    ("handler".to_owned(), format!("/h{h}")),
                    ("le".to_owned(), bounds[b].to_owned()),
                ],
                s,
            ));
        }
    }
    out
}

fn best<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.expect("ran at least once"))
}

fn main() {
    let prom = PromServer::start().unwrap_or_else(|e| panic!("{e}"));
    let input = data();
    let t = Instant::now();
    prom.remote_write().write(&input).expect("remote write");
    eprintln!("loaded Prometheus in {:?}", t.elapsed());
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .expect("open");
    let labels: Vec<Labels> = input
        .iter()
        .map(|(l, _)| Labels::from_pairs(l.clone()).expect("labels"))
        .collect();
    let t = Instant::now();
    for k in 0..POINTS as usize {
        let mut app = db.appender();
        for (i, (_, s)) in input.iter().enumerate() {
            app.append(&labels[i], s[k].0, s[k].1).expect("append");
        }
        app.commit().expect("commit");
    }
    eprintln!("loaded Tidemark in {:?}", t.elapsed());
    let engine = QueryEngine::new(Default::default());
    let api = prom.api();
    let end = (POINTS - 1) * STEP;
    println!("| query (range, 2 h at 15 s, 10k series) | Prometheus 2.42 | Tidemark | speed-up |\n|---|---|---|---|");
    for q in [
        "sum by (namespace) (rate(http_requests_total[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(req_duration_seconds_bucket[5m])))",
        "topk(10, rate(http_requests_total[5m]))",
        "sum(rate(http_requests_total{pod=~\"pod-1.*\"}[5m]))",
    ] {
        let (tp, pr) = best(5, || {
            api.query_range(q, 0, end, STEP).expect("prometheus query")
        });
        let (tt, tr) = best(5, || {
            engine.range(&db, q, 0, end, STEP).expect("tidemark query")
        });
        let n_prom = match pr.result {
            PromResult::Matrix(m) => m.len(),
            other => panic!("{q}: Prometheus returned {other:?}"),
        };
        let n_tm = match tr.value {
            Value::Matrix(m) => m.len(),
            other => panic!("{q}: Tidemark returned {other:?}"),
        };
        // topk over counters with integer increments has many exact ties; Prometheus and
        // Tidemark break them differently (see the differential test), so only the others must
        // return the same series.
        if !q.starts_with("topk") {
            assert_eq!(n_prom, n_tm, "{q}: different series counts");
        }
        println!(
            "| `{q}` | {:.1} ms ({n_prom} series) | {:.1} ms ({n_tm} series) | {:.2}× |",
            tp.as_secs_f64() * 1e3,
            tt.as_secs_f64() * 1e3,
            tp.as_secs_f64() / tt.as_secs_f64()
        );
    }
}
