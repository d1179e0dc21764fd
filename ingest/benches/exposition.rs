//! Parser throughput on a real node-exporter body.
//!
//! Data: `ingest/tests/fixtures/exposition/node_exporter.prom`, the `/metrics` body of
//! Debian's node exporter 1.5 (507 samples on 1073 lines, 57 KB: every family has HELP and
//! TYPE lines, most samples carry one to three short labels such as `cpu`/`mode` or
//! `device`), and `node_exporter.om.txt`, the same series rendered as OpenMetrics.
//!
//! - `parse/*`: the scrape loop's common path (every series already cached): walk all
//!   entries and read each sample's raw series bytes, value and timestamp.
//! - `parse_and_materialise/*`: the cache-miss path: also unescape every sample's labels
//!   into a reused `LabelBuf`.
//!
//! Throughput is in samples. Save a baseline with
//! `cargo bench -p tidemark-ingest --bench exposition -- --save-baseline main` and compare a
//! change with `... -- --baseline main`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tidemark_ingest::exposition::{Entry, Format, LabelBuf, Parser, ParserOptions};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/exposition/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Walks the body like a scrape loop whose cache holds every series.
fn walk(body: &[u8], format: Format) -> (usize, usize) {
    let mut p = Parser::new(body, format, ParserOptions::default());
    let (mut n, mut bytes) = (0, 0);
    while let Some(e) = p.next_entry().expect("fixture parses") {
        if let Entry::Sample(s) = e {
            bytes += s.series().len();
            black_box((s.value(), s.timestamp_ms()));
            n += 1;
        }
    }
    (n, bytes)
}

fn walk_materialise(body: &[u8], format: Format, buf: &mut LabelBuf) -> usize {
    let mut p = Parser::new(body, format, ParserOptions::default());
    let mut n = 0;
    while let Some(e) = p.next_entry().expect("fixture parses") {
        if let Entry::Sample(s) = e {
            s.labels_into(buf).expect("fixture labels are unique");
            black_box(buf.len());
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    for (label, file, format) in [
        ("text", "node_exporter.prom", Format::Text),
        ("openmetrics", "node_exporter.om.txt", Format::OpenMetrics),
    ] {
        let body = fixture(file);
        let samples = walk(&body, format).0 as u64;
        let mut g = c.benchmark_group("parse");
        g.throughput(Throughput::Elements(samples));
        g.bench_function(label, |b| b.iter(|| walk(black_box(&body), format)));
        g.finish();

        let mut g = c.benchmark_group("parse_and_materialise");
        g.throughput(Throughput::Elements(samples));
        let mut buf = LabelBuf::new();
        g.bench_function(label, |b| {
            b.iter(|| walk_materialise(black_box(&body), format, &mut buf))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
