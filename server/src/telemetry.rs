//! Tidemark's own metrics, served on `GET /metrics` in the text format 0.0.4 under Prometheus's
//! metric names where Prometheus has one: HTTP requests by handler, queries by phase,
//! storage-engine and WAL/compaction figures, scrape totals, configuration reloads and the
//! process (CPU, memory, file descriptors). Built with the `prometheus` crate; the
//! engine's and the scrape manager's own counters are read when `/metrics` is asked.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use tidemark_query::QueryStats;

use crate::state::AppState;

/// The process-wide instruments (like the Go client's default registry).
pub struct Telemetry {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    http_response_size: HistogramVec,
    query_duration: HistogramVec,
    query_samples: IntCounterVec,
    queries_running: IntGauge,
}

static TELEMETRY: LazyLock<Telemetry> = LazyLock::new(Telemetry::new);

/// The process's instruments.
pub fn global() -> &'static Telemetry {
    &TELEMETRY
}

impl Telemetry {
    fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "prometheus_http_requests_total",
                "Counter of HTTP requests.",
            ),
            &["code", "handler"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "prometheus_http_request_duration_seconds",
                "Histogram of latencies for HTTP requests.",
            )
            .buckets(vec![0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0]),
            &["handler"],
        )
        .expect("valid metric");
        let http_response_size = HistogramVec::new(
            HistogramOpts::new(
                "prometheus_http_response_size_bytes",
                "Histogram of response size for HTTP requests.",
            )
            .buckets(prometheus::exponential_buckets(100.0, 10.0, 8).expect("buckets")),
            &["handler"],
        )
        .expect("valid metric");
        let query_duration = HistogramVec::new(
            HistogramOpts::new(
                "prometheus_engine_query_duration_seconds",
                "Query timings by phase (queue_time, prepare_time i.e. parsing, inner_eval).",
            )
            .buckets(prometheus::exponential_buckets(0.0001, 4.0, 10).expect("buckets")),
            &["slice"],
        )
        .expect("valid metric");
        let query_samples = IntCounterVec::new(
            Opts::new(
                "prometheus_engine_query_samples_total",
                "The total number of samples loaded by all queries.",
            ),
            &[],
        )
        .expect("valid metric");
        let queries_running = IntGauge::new(
            "prometheus_engine_queries",
            "The current number of queries being executed or waiting.",
        )
        .expect("valid metric");
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(http_response_size.clone()),
            Box::new(query_duration.clone()),
            Box::new(query_samples.clone()),
            Box::new(queries_running.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            registry.register(c).expect("unique metric names");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            http_response_size,
            query_duration,
            query_samples,
            queries_running,
        }
    }

    /// Records a finished query's phases and samples.
    pub fn observe_query(&self, stats: &QueryStats) {
        for (slice, d) in [
            ("queue_time", stats.queue_time),
            ("prepare_time", stats.parse_time),
            ("inner_eval", stats.eval_time),
        ] {
            self.query_duration
                .with_label_values(&[slice])
                .observe(d.as_secs_f64());
        }
        self.query_samples
            .with_label_values(&[] as &[&str])
            .inc_by(stats.samples_loaded);
    }

    /// Marks a query as running until the guard is dropped.
    pub fn query_running(&self) -> RunningQuery {
        self.queries_running.inc();
        RunningQuery(self.queries_running.clone())
    }
}

/// Decrements the running-queries gauge on drop.
pub struct RunningQuery(IntGauge);

impl Drop for RunningQuery {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware: counts and times every request by its route pattern (e.g.
/// `/api/v1/label/{name}/values`), so label values stay bounded.
pub async fn track(req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".to_owned());
    let started = Instant::now();
    let resp = next.run(req).await;
    let t = global();
    t.http_duration
        .with_label_values(&[&handler])
        .observe(started.elapsed().as_secs_f64());
    t.http_requests
        .with_label_values(&[resp.status().as_str(), &handler])
        .inc();
    if let Some(len) = axum::body::HttpBody::size_hint(resp.body()).exact() {
        t.http_response_size
            .with_label_values(&[&handler])
            .observe(len as f64);
    }
    resp
}

fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, v) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

/// The whole `/metrics` page.
pub fn render(st: &AppState) -> String {
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&global().registry.gather(), &mut buf);
    let mut out = String::from_utf8(buf).unwrap_or_default();

    st.scrape.metrics().expose(&mut out);
    family(
        &mut out,
        "prometheus_config_last_reload_successful",
        "gauge",
        "Whether the last configuration reload attempt was successful.",
        &[(
            "",
            f64::from(u8::from(st.last_reload_ok.load(Ordering::Relaxed))),
        )],
    );
    family(
        &mut out,
        "prometheus_config_last_reload_success_timestamp_seconds",
        "gauge",
        "Timestamp of the last successful configuration reload.",
        &[(
            "",
            st.last_reload_success_time.load(Ordering::Relaxed) as f64,
        )],
    );
    family(
        &mut out,
        "prometheus_ready",
        "gauge",
        "Whether the server is ready to serve queries.",
        &[("", f64::from(u8::from(st.ready.load(Ordering::Relaxed))))],
    );

    let rw = &st.remote_write;
    for (name, help, c) in [
        (
            "tidemark_remote_write_requests_total",
            "Remote-write requests received.",
            &rw.requests,
        ),
        (
            "tidemark_remote_write_requests_malformed_total",
            "Remote-write requests refused as undecodable.",
            &rw.requests_malformed,
        ),
        (
            "tidemark_remote_write_samples_appended_total",
            "Samples committed from remote-write requests.",
            &rw.samples_appended,
        ),
        (
            "tidemark_remote_write_samples_rejected_total",
            "Samples from remote-write requests the head refused.",
            &rw.samples_rejected,
        ),
    ] {
        family(
            &mut out,
            name,
            "counter",
            help,
            &[("", c.load(Ordering::Relaxed) as f64)],
        );
    }

    let s = st.db.stats();
    let (mint, maxt) = s.head_time_range.unwrap_or((i64::MAX, i64::MIN));
    let gauges: [(&str, &str, f64); 8] = [
        (
            "prometheus_tsdb_head_series",
            "Total number of series in the head block.",
            s.head_series as f64,
        ),
        (
            "prometheus_tsdb_head_min_time",
            "Minimum time bound of the head block (ms).",
            mint as f64,
        ),
        (
            "prometheus_tsdb_head_max_time",
            "Maximum timestamp of the head block (ms).",
            maxt as f64,
        ),
        (
            "prometheus_tsdb_wal_storage_size_bytes",
            "Size of the write log directory.",
            s.wal_bytes as f64,
        ),
        (
            "prometheus_tsdb_head_chunks_storage_size_bytes",
            "Size of the chunks_head directory.",
            s.head_chunks_bytes as f64,
        ),
        (
            "prometheus_tsdb_blocks_loaded",
            "Number of currently loaded data blocks.",
            s.blocks.len() as f64,
        ),
        (
            "prometheus_tsdb_storage_blocks_bytes",
            "The number of bytes that are currently used for local storage by all blocks.",
            s.blocks.iter().map(|b| b.bytes).sum::<u64>() as f64,
        ),
        (
            "prometheus_tsdb_data_replay_duration_seconds",
            "Time taken to replay the data on disk.",
            s.wal_replay_seconds,
        ),
    ];
    for (name, help, v) in gauges {
        family(&mut out, name, "gauge", help, &[("", v)]);
    }
    let counters: [(&str, &str, f64); 9] = [
        ("prometheus_tsdb_head_samples_appended_total", "Total number of appended samples.", s.samples_appended as f64),
        ("prometheus_tsdb_head_series_created_total", "Total number of series created in the head.", s.series_created as f64),
        ("prometheus_tsdb_head_series_removed_total", "Total number of series removed in the head.", s.series_removed as f64),
        ("prometheus_tsdb_wal_writes_failed_total", "Total number of WAL writes that failed.", s.commit_failures as f64),
        ("prometheus_tsdb_compactions_total", "Total number of compactions that were executed for the partition.", (s.head_compactions + s.block_compactions) as f64),
        ("prometheus_tsdb_compactions_failed_total", "Total number of compactions that failed for the partition.", s.compaction_failures as f64),
        ("tidemark_tsdb_compaction_seconds_total", "Seconds spent compacting.", s.compaction_seconds),
        ("prometheus_tsdb_time_retentions_total", "The number of times that blocks were deleted because the maximum time limit was exceeded.", s.retention_deletions as f64),
        ("tidemark_tsdb_corrupt_blocks", "Blocks set aside as corrupt at open.", s.corrupt_blocks as f64),
    ];
    for (name, help, v) in counters {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        family(&mut out, name, kind, help, &[("", v)]);
    }
    let rejected: Vec<(String, f64)> = s
        .rejected
        .iter()
        .map(|(reason, n)| (format!("reason=\"{reason}\""), *n as f64))
        .collect();
    let rejected: Vec<(&str, f64)> = rejected.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    family(
        &mut out,
        "tidemark_tsdb_head_samples_rejected_total",
        "counter",
        "Samples the head rejected, by reason.",
        &rejected,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_phases_are_recorded() {
        let t = global();
        let before = t
            .query_duration
            .with_label_values(&["inner_eval"])
            .get_sample_count();
        t.observe_query(&QueryStats {
            samples_loaded: 7,
            ..QueryStats::default()
        });
        assert_eq!(
            t.query_duration
                .with_label_values(&["inner_eval"])
                .get_sample_count(),
            before + 1
        );
        {
            let _q = t.query_running();
            assert!(t.queries_running.get() >= 1);
        }
    }
}
