//! Criterion benchmarks of PromQL evaluation.
//!
//! Data and queries: [`tidemark_benches::promql`]: 10,000 series × 2 h at 15 s (9,000
//! `http_requests_total` counters over 10 namespaces and 900 pods, and 100 histograms × 10
//! buckets). Each query is a range query over the 2 h at step 15 s; throughput is counted in
//! samples read (10,000 × 480 for the whole data set, fewer for selective queries).
//! `promql-vs-prometheus` times the same queries against Prometheus 3.5 and `promql-memory`
//! measures their peak heap.
//!
//! `cargo bench -p tidemark-benches --bench query -- --save-baseline main`, then
//! `--baseline main` to compare a change.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tidemark_benches::promql::{self, POINTS, QUERIES, STEP};
use tidemark_engine::{Db, DbOptions};
use tidemark_query::QueryEngine;

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
    promql::load(&db, &promql::data()).unwrap();
    let engine = QueryEngine::new(Default::default());
    let end = (POINTS - 1) * STEP;
    let mut g = c.benchmark_group("promql_range_2h_15s_10k_series");
    g.sample_size(10);
    for (name, q) in QUERIES {
        let samples = engine
            .range(&db, q, 0, end, STEP)
            .unwrap()
            .stats
            .samples_loaded;
        g.throughput(Throughput::Elements(samples));
        g.bench_function(name, |b| {
            b.iter(|| engine.range(&db, q, 0, end, STEP).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
