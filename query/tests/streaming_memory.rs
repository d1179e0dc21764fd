//! Peak heap of queries whose intermediate results stream: bounded by the result plus about
//! one chunk per series read, not by series × steps.
//!
//! This file holds one test on purpose: the counting allocator sees every thread of the
//! process, so no other test may run beside it.

use peak_alloc::PeakAlloc;
use tidemark_engine::{labels, Db, DbOptions};
use tidemark_query::{QueryEngine, Value};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

const SERIES: i64 = 2_000;
const POINTS: i64 = 480;
const STEP: i64 = 15_000;

#[test]
fn aggregations_over_functions_over_selectors_do_not_hold_the_intermediate_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    for k in 0..POINTS {
        let mut app = db.appender();
        for i in 0..SERIES {
            let l = labels!("__name__" => "m", "g" => (i % 4).to_string(), "i" => i.to_string());
            app.append(&l, k * STEP, (k * (i % 7 + 1)) as f64).unwrap();
        }
        app.commit().unwrap();
    }
    let engine = QueryEngine::new(Default::default());
    let end = (POINTS - 1) * STEP;
    // One series' values over all steps, materialised for every series, is what the
    // intermediate matrix of the old evaluation held (16 bytes per `Option<f64>`).
    let matrix = (SERIES * POINTS * 16) as usize;
    for q in [
        "sum by (g) (rate(m[5m]))",
        "avg(abs(increase(m[5m]) * 2))",
        "topk(3, rate(m[5m]))",
        "count_values(\"v\", clamp_max(m, 1))",
        "max(max_over_time(rate(m[5m])[10m:1m]))",
    ] {
        // Once to warm lazily built state, then measured.
        engine.range(&db, q, 0, end, STEP).unwrap();
        let before = ALLOC.current_usage();
        ALLOC.reset_peak_usage();
        let r = engine.range(&db, q, 0, end, STEP).unwrap();
        let peak = ALLOC.peak_usage().saturating_sub(before);
        let Value::Matrix(m) = &r.value else {
            panic!("{q}: {:?}", r.value)
        };
        assert!(!m.is_empty(), "{q}");
        // About 1 KB per selected series (its chunk references and the copied open head
        // chunk) plus small per-group state; well under a third of the matrix.
        assert!(
            peak < matrix / 3,
            "{q}: peak heap {peak} bytes, intermediate matrix {matrix} bytes"
        );
    }
}
