//! Peak heap and time of the PromQL benchmark queries, in-process, without Prometheus.
//!
//! Data and queries: [`tidemark_benches::promql`] (10,000 series × 2 h at 15 s; range queries
//! over the 2 h at step 15 s). Every allocation goes through a counting global allocator; for
//! each query the peak of live heap bytes while it runs, minus the bytes live before it
//! started, is what the query needed at most (its result included). Time is the best of 5.
//!
//! Usage: `cargo run --release -p tidemark-benches --bin promql-memory -- [NAME [RUNS]]`: all
//! queries, or only the one named (e.g. `topk`) run RUNS times (default 5), e.g. under a
//! profiler.

use std::time::{Duration, Instant};

use peak_alloc::PeakAlloc;
use tidemark_benches::promql::{self, POINTS, QUERIES, STEP};
use tidemark_engine::{Db, DbOptions};
use tidemark_query::{QueryEngine, Value};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Bytes the result's points and series headers take (a lower bound for any evaluator).
fn result_bytes(v: &Value) -> usize {
    match v {
        Value::Matrix(m) => m
            .iter()
            .map(|s| {
                std::mem::size_of::<tidemark_query::Series>()
                    + s.points.len() * std::mem::size_of::<tidemark_query::Point>()
            })
            .sum(),
        _ => 0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = args.first().cloned();
    let runs: usize = match args.get(1).map(|r| r.parse()) {
        None => 5,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: promql-memory [NAME [RUNS]] (RUNS a positive integer)");
            std::process::exit(2);
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .expect("open");
    promql::load(&db, &promql::data()).expect("load");
    let engine = QueryEngine::new(Default::default());
    let end = (POINTS - 1) * STEP;
    println!("| query | peak heap | result | time (best of {runs}) |\n|---|---|---|---|");
    for (name, q) in QUERIES {
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        // Warm up once so lazily built state (postings caches, ...) is not counted.
        engine.range(&db, q, 0, end, STEP).expect("query");
        let mut best = Duration::MAX;
        let mut peak = 0usize;
        let mut result = 0usize;
        for _ in 0..runs {
            let before = ALLOC.current_usage();
            ALLOC.reset_peak_usage();
            let t = Instant::now();
            let r = engine.range(&db, q, 0, end, STEP).expect("query");
            best = best.min(t.elapsed());
            peak = peak.max(ALLOC.peak_usage().saturating_sub(before));
            result = result_bytes(&r.value);
        }
        println!(
            "| {name} `{q}` | {:.2} MB | {:.2} MB | {:.1} ms |",
            peak as f64 / 1e6,
            result as f64 / 1e6,
            best.as_secs_f64() * 1e3
        );
    }
}
