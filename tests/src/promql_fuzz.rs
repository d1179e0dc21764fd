//! The PromQL fuzz target's body: any string is parsed and, if it parses, evaluated as
//! instant and range queries over a small fixed data set. Nothing may panic or hang (the
//! engine's timeout and sample limit bound every query).

use std::sync::OnceLock;
use std::time::Duration;

use tidemark_engine::{labels, Db, DbOptions};
use tidemark_query::{EngineOptions, QueryEngine};

struct Fixture {
    db: Db,
    engine: QueryEngine,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // The directory lives as long as the process (the fuzzer runs many inputs).
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("tempdir")));
        let db = Db::open(
            dir.path(),
            DbOptions {
                retention_time: None,
                ..DbOptions::default()
            },
        )
        .expect("open fixture db");
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        for k in 0..60i64 {
            let mut app = db.appender();
            let t = k * 15_000;
            for (job, inst) in [("api", "a:1"), ("api", "a:2"), ("db", "d:1")] {
                let base =
                    labels!("__name__" => "http_requests_total", "job" => job, "instance" => inst);
                app.append(&base, t, (k * 7 + inst.len() as i64) as f64)
                    .expect("append");
                let g = labels!("__name__" => "temp", "job" => job, "instance" => inst);
                app.append(&g, t, if k == 30 { stale } else { (k % 7) as f64 - 3.5 })
                    .expect("append");
                for le in ["0.1", "1", "+Inf"] {
                    let b = labels!("__name__" => "lat_bucket", "job" => job, "le" => le);
                    if inst == "a:1" || job == "db" {
                        let mult = match le {
                            "0.1" => 1,
                            "1" => 3,
                            _ => 4,
                        };
                        app.append(&b, t, (k * mult) as f64).expect("append");
                    }
                }
            }
            app.commit().expect("commit");
        }
        let engine = QueryEngine::new(EngineOptions {
            timeout: Duration::from_secs(2),
            max_samples: 200_000,
            ..EngineOptions::default()
        });
        Fixture { db, engine }
    })
}

/// Parses and evaluates `data` (as UTF-8, lossily) at a few times and as a range query.
pub fn fuzz_promql(data: &[u8]) {
    let f = fixture();
    let q = String::from_utf8_lossy(data);
    if q.len() > 4096 {
        return;
    }
    for t in [0, 450_000, 900_000] {
        let _ = f.engine.instant(&f.db, &q, t);
    }
    let _ = f.engine.range(&f.db, &q, 0, 900_000, 60_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_answers_queries() {
        let f = fixture();
        let r = f
            .engine
            .instant(&f.db, "sum(rate(http_requests_total[5m]))", 900_000)
            .unwrap();
        match r.value {
            tidemark_query::Value::Vector(v) => {
                assert_eq!(v.len(), 1);
                // Each series grows 7 per 15 s.
                assert!((v[0].v - 3.0 * 7.0 / 15.0).abs() < 1e-9, "{}", v[0].v);
            }
            other => panic!("{other:?}"),
        }
    }
}
