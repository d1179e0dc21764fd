//! Criterion micro-benchmarks of the storage engine.
//!
//! Data: see `tidemark_benches` (Kubernetes-like labels; realistic sample shapes at 15 s with
//! ±5 ms jitter). Compare runs with `cargo bench -p tidemark-benches -- --save-baseline main`
//! and `--baseline main`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tidemark_benches::{realistic_shape, samples, series_labels};
use tidemark_engine::chunkenc::{XorChunk, XorIter};
use tidemark_engine::iter::SampleIterator;
use tidemark_engine::{Db, DbOptions, MatchType, Matcher, SeriesRef};

const SERIES: u64 = 100_000;

fn chunk_codec(c: &mut Criterion) {
    let data: Vec<Vec<(i64, f64)>> = (0..100)
        .map(|i| samples(realistic_shape(i), i, 0, 120))
        .collect();
    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Elements(100 * 120));
    g.bench_function("encode_120_realistic", |b| {
        b.iter(|| {
            let mut n = 0;
            for s in &data {
                let mut ch = XorChunk::new();
                for &(t, v) in s {
                    ch.append(t, v);
                }
                n += ch.bytes().len();
            }
            n
        })
    });
    let encoded: Vec<XorChunk> = data
        .iter()
        .map(|s| {
            let mut ch = XorChunk::new();
            s.iter().for_each(|&(t, v)| ch.append(t, v));
            ch
        })
        .collect();
    g.bench_function("decode_120_realistic", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for ch in &encoded {
                let mut it = XorIter::new(ch.bytes());
                while it.next() {
                    sum += it.at().1;
                }
            }
            sum
        })
    });
    g.finish();
}

fn head(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    let mut refs: Vec<SeriesRef> = Vec::new();
    for chunk in (0..SERIES).collect::<Vec<_>>().chunks(1000) {
        let mut app = db.appender();
        for &i in chunk {
            refs.push(app.append(&series_labels(i), 0, 0.0).unwrap());
        }
        app.commit().unwrap();
    }
    let mut g = c.benchmark_group("head");
    g.throughput(Throughput::Elements(1000));
    let mut t = 0i64;
    let mut off = 0usize;
    g.bench_function("append_1000_by_ref", |b| {
        b.iter_batched(
            || {
                t += 15_000;
                off = (off + 1000) % refs.len();
                (t, off)
            },
            |(t, off)| {
                let mut app = db.appender();
                for r in &refs[off..(off + 1000).min(refs.len())] {
                    app.append_ref(r, t, t as f64).unwrap().unwrap();
                }
                app.commit().unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    let labels: Vec<_> = (0..SERIES).map(series_labels).collect();
    g.bench_function("append_1000_by_labels", |b| {
        b.iter_batched(
            || {
                t += 15_000;
                off = (off + 1000) % labels.len();
                (t, off)
            },
            |(t, off)| {
                let mut app = db.appender();
                for l in &labels[off..(off + 1000).min(labels.len())] {
                    app.append(l, t, t as f64).unwrap();
                }
                app.commit().unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("select");
    let q = db.querier(i64::MIN, i64::MAX);
    let eq = |k: &str, v: &str| Matcher::new(MatchType::Equal, k, v).unwrap();
    let two = [eq("__name__", "metric_75"), eq("pod", "pod-7")];
    g.bench_function("two_equal_matchers", |b| {
        b.iter(|| q.select(&two).unwrap().len())
    });
    let re = [Matcher::new(MatchType::RegexMatch, "pod", "pod-1|pod-2|pod-3").unwrap()];
    g.bench_function("regex_alternation_100k_values", |b| {
        b.iter(|| q.select(&re).unwrap().len())
    });
    let pre = [
        eq("__name__", "metric_75"),
        Matcher::new(MatchType::RegexMatch, "pod", "pod-1.*").unwrap(),
    ];
    g.bench_function("regex_prefix", |b| b.iter(|| q.select(&pre).unwrap().len()));
    g.finish();
}

criterion_group!(benches, chunk_codec, head);
criterion_main!(benches);
