//! Criterion benchmarks of PromQL evaluation.
//!
//! Data: 10,000 series × 2 h at 15 s: 9,000 `http_requests_total` counters (10 namespaces, 900
//! pods) and 1,000 histogram bucket series (100 histograms × 10 buckets). Each query is a range
//! query over the 2 h at step 15 s. `promql-vs-prometheus` times the same queries against
//! Prometheus 2.42.

use criterion::{criterion_group, criterion_main, Criterion};
use tidemark_benches::Rng;
use tidemark_engine::{Db, DbOptions, Labels, LabelsBuilder};
use tidemark_query::QueryEngine;

const STEP: i64 = 15_000;
const POINTS: i64 = 480;

fn load(db: &Db) {
    let mut r = Rng::new(7);
    let mut series: Vec<(Labels, f64)> = Vec::new();
    for i in 0..9000u64 {
        let mut b = LabelsBuilder::new();
        b.set("__name__", "http_requests_total")
            .set("namespace", &format!("ns-{}", (i / 10) % 10))
            .set("pod", &format!("pod-{}", i / 10))
            .set("code", &format!("{}", 200 + i % 10));
        series.push((b.build().unwrap(), r.below(1000) as f64));
    }
    let bounds = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];
    for h in 0..100 {
        for le in bounds {
            let mut b = LabelsBuilder::new();
            b.set("__name__", "req_duration_seconds_bucket")
                .set("handler", &format!("/h{h}"))
                .set("le", le);
            series.push((b.build().unwrap(), 0.0));
        }
    }
    for k in 0..POINTS {
        let mut app = db.appender();
        for (i, (l, v)) in series.iter_mut().enumerate() {
            *v += if i < 9000 {
                r.below(20) as f64
            } else {
                (r.below(5) * ((i % 10) as u64 + 1)) as f64
            };
            app.append(l, k * STEP, *v).unwrap();
        }
        app.commit().unwrap();
    }
}

fn queries(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    load(&db);
    let engine = QueryEngine::new(Default::default());
    let end = (POINTS - 1) * STEP;
    let mut g = c.benchmark_group("promql_range_2h_15s_10k_series");
    g.sample_size(10);
    for (name, q) in [
        (
            "sum_by_rate",
            "sum by (namespace) (rate(http_requests_total[5m]))",
        ),
        (
            "histogram_quantile",
            "histogram_quantile(0.99, sum by (le) (rate(req_duration_seconds_bucket[5m])))",
        ),
        ("topk", "topk(10, rate(http_requests_total[5m]))"),
        (
            "regex_selection",
            "sum(rate(http_requests_total{pod=~\"pod-1.*\"}[5m]))",
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| engine.range(&db, q, 0, end, STEP).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
