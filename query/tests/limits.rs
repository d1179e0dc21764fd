//! Query limits: a query over a limit fails with a clear error and the engine stays usable.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tidemark_engine::{labels, Db, DbOptions};
use tidemark_query::{EngineOptions, ErrorKind, QueryEngine, Value};

fn db_with_data(dir: &std::path::Path) -> Db {
    let db = Db::open(
        dir,
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    for k in 0..200i64 {
        let mut app = db.appender();
        for i in 0..50 {
            app.append(
                &labels!("__name__" => "m", "i" => i.to_string()),
                k * 15_000,
                k as f64,
            )
            .unwrap();
        }
        app.commit().unwrap();
    }
    db
}

#[test]
fn sample_limit_timeout_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_data(dir.path());
    let small = QueryEngine::new(EngineOptions {
        max_samples: 1000,
        ..EngineOptions::default()
    });
    let e = small
        .range(&db, "sum(rate(m[5m]))", 0, 3_000_000, 15_000)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Execution, "{e}");
    assert!(e.message.contains("too many samples"), "{e}");
    // The engine is still usable for small queries.
    assert!(small.instant(&db, "m{i=\"1\"}", 0).is_ok());

    let hurried = QueryEngine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..EngineOptions::default()
    });
    let e = hurried.instant(&db, "sum(m)", 100_000).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");

    let engine = QueryEngine::new(EngineOptions::default());
    let cancel = AtomicBool::new(true);
    let e = engine
        .instant_cancellable(&db, "sum(m)", 100_000, &cancel)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Canceled, "{e}");
    let go = AtomicBool::new(false);
    let r = engine
        .range_cancellable(&db, "sum(m)", (0, 60_000, 15_000), &go)
        .unwrap();
    assert!(matches!(r.value, Value::Matrix(ref m) if m.len() == 1));
    assert!(r.stats.samples_loaded > 0 && r.stats.series_touched == 50);
}

#[test]
fn range_parameters_are_validated_like_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_data(dir.path());
    let engine = QueryEngine::new(EngineOptions::default());
    for (s, e, st) in [(10, 0, 1), (0, 10, 0), (0, 10, -5), (0, 11_001_000, 1_000)] {
        let err = engine.range(&db, "m", s, e, st).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadData, "{s} {e} {st}: {err}");
    }
    // 11,000 points is the most allowed.
    assert!(engine.range(&db, "vector(1)", 0, 11_000_000, 1_000).is_ok());
    // Any time is valid, including negative Unix times.
    assert!(engine.instant(&db, "vector(1)", -86_400_000_000).is_ok());
}

#[test]
fn concurrent_queries_above_the_limit_wait_for_a_slot() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_data(dir.path());
    let engine = QueryEngine::new(EngineOptions {
        max_concurrency: 1,
        ..EngineOptions::default()
    });
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    engine
                        .range(&db, "sum(rate(m[5m]))", 0, 2_985_000, 15_000)
                        .map(|_| ())
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    });
}
