//! Criterion benchmarks of the scrape ingest path: parse + metric relabeling + append + commit
//! of one scrape body into a real database (WAL on), as a scrape loop does it every interval
//! (`SeriesCache::append_body`, one appender commit per scrape).
//!
//! Bodies: [`tidemark_benches::exporter`]: a real node-exporter capture (507 samples) and
//! generated node-exporter-like bodies of 1,000 samples whose values change every scrape.
//! The cache is warm (a target scraped before), as in the steady state. Throughput is counted
//! in samples.
//!
//! `cargo bench -p tidemark-benches --bench scrape`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tidemark_benches::exporter::{append_options, exporter_body, NODE_EXPORTER};
use tidemark_engine::{labels, Db, DbOptions};
use tidemark_ingest::exposition::Format;
use tidemark_ingest::scrape::{ScrapeCounts, SeriesCache};

fn scrape(c: &mut Criterion) {
    let opts = append_options();
    let target = labels!("job" => "node", "instance" => "10.0.0.1:9100");
    let generated: Vec<String> = (1..=32).map(|i| exporter_body(1000, i)).collect();
    let cases: Vec<(&str, Vec<&[u8]>)> = vec![
        ("node_exporter_real_507", vec![NODE_EXPORTER]),
        (
            "generated_1000",
            generated.iter().map(|b| b.as_bytes()).collect(),
        ),
    ];
    let mut g = c.benchmark_group("scrape_parse_relabel_append");
    // Every iteration adds a scrape to the head and the WAL: keep the run short.
    g.sample_size(20)
        .measurement_time(std::time::Duration::from_secs(5));
    for (name, bodies) in cases {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        let mut cache = SeriesCache::new();
        let mut t = 1_700_000_000_000i64;
        let mut scrape_once = |i: usize| {
            t += 15_000;
            let mut app = db.appender();
            let mut counts = ScrapeCounts::default();
            cache
                .append_body(
                    &mut app,
                    bodies[i % bodies.len()],
                    Format::Text,
                    t,
                    &target,
                    &opts,
                    &mut counts,
                )
                .unwrap();
            app.commit().unwrap();
            counts.scraped
        };
        // Warm the cache (the first scrape creates the series).
        let samples = scrape_once(0);
        g.throughput(Throughput::Elements(samples));
        let mut i = 1;
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                i += 1;
                scrape_once(i)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, scrape);
criterion_main!(benches);
