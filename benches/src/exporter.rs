//! Exporter bodies for the scrape benchmarks: a real node-exporter capture and a generated
//! body of any size with node-exporter-like families, whose values change every scrape.

use std::fmt::Write;
use std::sync::Arc;

use tidemark_ingest::config::Config;
use tidemark_ingest::scrape::AppendOptions;

/// One scrape of Debian's `prometheus-node-exporter` 1.5 on the benchmark machine (text
/// format 0.0.4, 507 samples; collectors that need hardware this machine lacks are absent).
pub const NODE_EXPORTER: &[u8] = include_bytes!("../data/node-exporter.prom");

/// Label shapes of the generated families: (metric name, type, help, label names).
const FAMILIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "node_cpu_seconds_total",
        "counter",
        "Seconds the CPUs spent in each mode.",
        &["cpu", "mode"],
    ),
    (
        "node_disk_read_bytes_total",
        "counter",
        "The total number of bytes read successfully.",
        &["device"],
    ),
    (
        "node_filesystem_avail_bytes",
        "gauge",
        "Filesystem space available to non-root users in bytes.",
        &["device", "fstype", "mountpoint"],
    ),
    (
        "node_network_receive_bytes_total",
        "counter",
        "Network device statistic receive_bytes.",
        &["device"],
    ),
    (
        "node_memory_info_bytes",
        "gauge",
        "Memory information field.",
        &["field"],
    ),
];

/// A text-format body of `series` samples spread over node-exporter-like families (ten
/// series per family), with `# HELP`/`# TYPE` lines; scrape number `scrape` changes the
/// values as a real exporter's would (counters grow, gauges move).
pub fn exporter_body(series: usize, scrape: u64) -> String {
    let mut out = String::with_capacity(series * 90);
    let families = series.div_ceil(10);
    let mut left = series;
    for f in 0..families {
        let (base, kind, help, labels) = FAMILIES[f % FAMILIES.len()];
        let name = if f < FAMILIES.len() {
            base.to_owned()
        } else {
            format!("{base}_{}", f / FAMILIES.len())
        };
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in 0..left.min(10) {
            out.push_str(&name);
            out.push('{');
            for (i, l) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{l}=\"{l}{}\"", (s + i) % 10);
            }
            let seed = (f * 10 + s) as u64;
            let value = if kind == "counter" {
                (scrape * (seed % 17 + 1)) as f64 * 1.25
            } else {
                1e9 + ((scrape.wrapping_mul(2_654_435_761) ^ seed) % 4096) as f64 * 4096.0
            };
            let _ = writeln!(out, "}} {value}");
        }
        left = left.saturating_sub(10);
    }
    out
}

/// The metric relabeling of a typical job: drop a family, rewrite a label.
const JOB_CONFIG: &str = r#"
scrape_configs:
  - job_name: node
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_gc_.*
        action: drop
      - source_labels: [device]
        regex: (sd[a-z]+)[0-9]*
        target_label: disk
        replacement: $1
"#;

/// The append options the scrape benchmarks use: honoured timestamps and the metric
/// relabeling of a typical job.
pub fn append_options() -> AppendOptions {
    let cfg = Config::parse(JOB_CONFIG).expect("the benchmark's job config is valid");
    AppendOptions {
        honor_timestamps: true,
        metric_relabel: Arc::new(cfg.scrape_configs[0].metric_relabel_configs.clone()),
        ..AppendOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_bodies_have_the_asked_size_and_change() {
        let a = exporter_body(1000, 1);
        let samples = a.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, 1000);
        assert_ne!(a, exporter_body(1000, 2));
        let names: std::collections::HashSet<&str> = a
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('{').next().unwrap())
            .collect();
        assert_eq!(names.len(), 100);
        assert!(std::str::from_utf8(NODE_EXPORTER)
            .unwrap()
            .contains("node_cpu_seconds_total"));
    }
}
