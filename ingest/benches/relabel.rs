//! Metric relabeling per sample (`metric_relabel_configs`), the hot path of a scrape.
//!
//! Data: series shaped like a Kubernetes pod's scrape after the target labels are merged:
//! `__name__` from a pool of 50 names (`http_requests_total`, `go_gc_duration_seconds`, …),
//! `job`, `instance`, `namespace`, `pod`, plus 2–4 metric labels (`code`, `method`, `le`,
//! `quantile`). Rules are the common production ones: drop `go_*` series, keep only a name
//! allow-list, drop a high-cardinality label, rename a label by `replace`, and `labelmap`.
//! Throughput is counted in samples. Compare runs with `--save-baseline main` /
//! `--baseline main`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use tidemark_ingest::discovery::LabelSet;
use tidemark_ingest::relabel::{process, RelabelConfig, SortedLabels};

const RULES: &str = r#"
- {source_labels: [__name__], regex: 'go_.*', action: drop}
- {source_labels: [__name__], regex: '(http|process|node|kube)_.+|up', action: keep}
- {action: labeldrop, regex: 'request_id'}
- {source_labels: [code], regex: '(\d)..', target_label: code_class, replacement: '${1}xx'}
- {action: labelmap, regex: 'pod_label_(.+)'}
"#;

fn series(n: usize) -> Vec<Vec<(String, String)>> {
    let prefixes = ["http", "process", "node", "kube", "go"];
    (0..n)
        .map(|i| {
            let mut l = vec![
                (
                    "__name__".to_owned(),
                    format!("{}_metric_{}_total", prefixes[i % 5], i % 10),
                ),
                ("job".to_owned(), "kubernetes-pods".to_owned()),
                (
                    "instance".to_owned(),
                    format!("10.0.{}.{}:8080", i % 7, i % 250),
                ),
                ("namespace".to_owned(), "default".to_owned()),
                ("pod".to_owned(), format!("web-{}", i % 30)),
                ("code".to_owned(), ["200", "404", "500"][i % 3].to_owned()),
                ("method".to_owned(), ["GET", "POST"][i % 2].to_owned()),
            ];
            if i % 4 == 0 {
                l.push(("request_id".to_owned(), format!("r{i}")));
            }
            if i % 5 == 1 {
                l.push(("pod_label_app".to_owned(), "web".to_owned()));
            }
            l
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules: Vec<RelabelConfig> = serde_yaml::from_str(RULES).expect("rules");
    let data = series(1000);
    let mut group = c.benchmark_group("metric_relabel");
    group.throughput(Throughput::Elements(data.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("sorted_vec", data.len()),
        &data,
        |b, data| {
            b.iter(|| {
                let mut kept = 0;
                for s in data {
                    let mut l = SortedLabels::from_pairs(s.iter().cloned());
                    kept += usize::from(process(&rules, &mut l));
                }
                black_box(kept)
            })
        },
    );
    group.bench_with_input(
        BenchmarkId::new("btreemap", data.len()),
        &data,
        |b, data| {
            b.iter(|| {
                let mut kept = 0;
                for s in data {
                    let mut l: LabelSet = s.iter().cloned().collect();
                    kept += usize::from(process(&rules, &mut l));
                }
                black_box(kept)
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
