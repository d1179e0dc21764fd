//! PromQL speed, side by side with Debian's Prometheus 3.5 on the same data and machine.
//!
//! Data and queries: [`tidemark_benches::promql`] (10,000 series × 2 h at 15 s), written to
//! Prometheus by remote write and to a Tidemark database. Each query runs as a range query
//! over the 2 h at step 15 s, best of 7 runs on each side, the two sides alternating.
//!
//! Prometheus is asked with `stats=all`, so besides the HTTP wall time (which includes
//! encoding the result as JSON, sending and decoding it: large for `topk`, ~1,400 series) it
//! reports its engine's own timings (`data.stats.timings`). Its `execTotalTime` covers queueing,
//! preparing (reading series) and evaluating the parsed query and sorting the result — the
//! same work `QueryEngine::range` does in-process, plus parsing on our side. Two ratios are
//! printed: against `execTotalTime` (the fair one) and against the HTTP wall time.
//!
//! Usage: `cargo run --release -p tidemark-benches --bin promql-vs-prometheus`
//! (needs `apt-get install -y prometheus`). Exits non-zero if a query is less than 2× faster
//! than Prometheus's `execTotalTime` when `--check` is given.

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tidemark_benches::promql::{self, POINTS, QUERIES, STEP};
use tidemark_engine::{Db, DbOptions};
use tidemark_query::{QueryEngine, Value};
use tidemark_tests::prom::{format_ms_as_seconds, ApiClient, PromServer};

/// Runs of each query on each side; the best counts.
const RUNS: usize = 7;

/// Prometheus's answer to one query: wall time, its engine's timings and the series count.
struct PromRun {
    wall: Duration,
    exec_total: Duration,
    eval_total: Duration,
    inner_eval: Duration,
    prep: Duration,
    series: usize,
    /// `data.stats` as Prometheus sent it.
    stats: Json,
}

fn seconds(timings: &Json, name: &str) -> Result<Duration, String> {
    timings
        .get(name)
        .and_then(Json::as_f64)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("no numeric data.stats.timings.{name} in {timings}"))
}

fn prom_query(api: &ApiClient, q: &str, end: i64) -> Result<PromRun, String> {
    let (start_s, end_s, step_s) = (
        format_ms_as_seconds(0),
        format_ms_as_seconds(end),
        format_ms_as_seconds(STEP),
    );
    let params = [
        ("query", q),
        ("start", start_s.as_str()),
        ("end", end_s.as_str()),
        ("step", step_s.as_str()),
        ("stats", "all"),
    ];
    let t = Instant::now();
    let (status, body) = api.post_form("/api/v1/query_range", &params)?;
    let json: Json =
        serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: not JSON: {e}"))?;
    let wall = t.elapsed();
    if status != 200 {
        return Err(format!("HTTP {status}: {body:.300}"));
    }
    let data = json.get("data").ok_or("no data")?;
    let stats = data.get("stats").cloned().unwrap_or(Json::Null);
    let timings = stats
        .get("timings")
        .ok_or_else(|| format!("no data.stats.timings (stats=all unsupported?): {body:.300}"))?;
    let series = data
        .get("result")
        .and_then(Json::as_array)
        .map_or(0, Vec::len);
    Ok(PromRun {
        wall,
        exec_total: seconds(timings, "execTotalTime")?,
        eval_total: seconds(timings, "evalTotalTime")?,
        inner_eval: seconds(timings, "innerEvalTime")?,
        prep: seconds(timings, "queryPreparationTime")?,
        series,
        stats,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let prom = PromServer::start().unwrap_or_else(|e| panic!("{e}"));
    let input = promql::data();
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
    let t = Instant::now();
    promql::load(&db, &input).expect("load Tidemark");
    eprintln!("loaded Tidemark in {:?}", t.elapsed());
    let engine = QueryEngine::new(Default::default());
    let api = prom.api();
    let end = (POINTS - 1) * STEP;
    println!(
        "| query (range, 2 h at 15 s, 10k series) | Prometheus 3.5 execTotalTime (prep + inner eval) | Prometheus HTTP wall | Tidemark in-process | speed-up vs exec | speed-up vs HTTP |\n|---|---|---|---|---|---|"
    );
    let mut slow = Vec::new();
    for (_, q) in QUERIES {
        // Warm both sides once (page cache, postings, Go's heap).
        let warm = prom_query(&api, q, end).unwrap_or_else(|e| panic!("{q}: {e}"));
        eprintln!("Prometheus data.stats for {q}: {}", warm.stats);
        engine.range(&db, q, 0, end, STEP).expect("tidemark query");
        let mut p_exec = (Duration::MAX, Duration::ZERO, Duration::ZERO);
        let mut p_eval = Duration::MAX;
        let mut p_wall = Duration::MAX;
        let mut n_prom = 0;
        let mut tt = Duration::MAX;
        let mut n_tm = 0;
        // Runs alternate between the two sides, so that load from other processes on the
        // machine falls on both alike; the best run of each side counts.
        for _ in 0..RUNS {
            let r = prom_query(&api, q, end).unwrap_or_else(|e| panic!("{q}: {e}"));
            if r.exec_total < p_exec.0 {
                p_exec = (r.exec_total, r.prep, r.inner_eval);
            }
            p_eval = p_eval.min(r.eval_total);
            p_wall = p_wall.min(r.wall);
            n_prom = r.series;
            let t = Instant::now();
            let r = engine.range(&db, q, 0, end, STEP).expect("tidemark query");
            tt = tt.min(t.elapsed());
            n_tm = match r.value {
                Value::Matrix(m) => m.len(),
                other => panic!("{q}: Tidemark returned {other:?}"),
            };
        }
        // topk over counters with integer increments has many exact ties; Prometheus and
        // Tidemark break them differently (see the differential test), so only the others must
        // return the same series.
        if !q.starts_with("topk") {
            assert_eq!(n_prom, n_tm, "{q}: different series counts");
        }
        let vs_exec = p_exec.0.as_secs_f64() / tt.as_secs_f64();
        if vs_exec < 2.0 {
            slow.push(q);
        }
        println!(
            "| `{q}` | {:.1} ms ({:.1} + {:.1}; evalTotal {:.1}) | {:.1} ms ({n_prom} series) | {:.1} ms ({n_tm} series) | {vs_exec:.2}× | {:.2}× |",
            ms(p_exec.0),
            ms(p_exec.1),
            ms(p_exec.2),
            ms(p_eval),
            ms(p_wall),
            ms(tt),
            p_wall.as_secs_f64() / tt.as_secs_f64()
        );
    }
    if check && !slow.is_empty() {
        eprintln!("less than 2× faster than Prometheus's execTotalTime: {slow:?}");
        std::process::exit(1);
    }
}
