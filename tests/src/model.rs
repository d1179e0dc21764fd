//! A model-based check of the storage engine: a byte string is read as a sequence of
//! operations (append, commit, rollback, delete, compact, reopen, check), applied both to a
//! real database in a temporary directory and to a `BTreeMap` model; after every check the two
//! must hold exactly the same samples (bit for bit), and every accept/reject decision of the
//! engine must agree with the ordering rules.

use std::collections::BTreeMap;

use tidemark_engine::iter::collect_samples;
use tidemark_engine::{labels, AppendError, Db, DbOptions, Labels, MatchType, Matcher};

/// Block range used by the model: small, so compaction happens after a few operations.
const RANGE: i64 = 1000;

const VALUES: [f64; 8] = [
    0.0,
    1.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1.5,
    1e300,
    -7.25,
];

fn value(b: u8) -> f64 {
    match b % 10 {
        8 => f64::from_bits(0x7ff0_0000_0000_0002), // Prometheus's stale marker
        9 => f64::from_bits(0x7ff8_0000_0000_0001 + u64::from(b)),
        i => VALUES[i as usize],
    }
}

fn series(i: u8) -> Labels {
    labels!("__name__" => "f", "s" => (i % 4).to_string())
}

#[derive(Default)]
struct Model {
    data: BTreeMap<u8, BTreeMap<i64, u64>>,
    /// Newest committed sample per series, regardless of deletes (what the engine checks).
    last: BTreeMap<u8, (i64, u64)>,
}

fn opts() -> DbOptions {
    DbOptions {
        block_range: RANGE,
        retention_time: None,
        max_block_range: Some(RANGE * 9),
        wal_segment_size: 4096,
        head_chunk_file_size: 4096,
        ..DbOptions::default()
    }
}

fn check(db: &Db, m: &Model) {
    let sel = Matcher::new(MatchType::Equal, "__name__", "f").expect("matcher");
    let mut got: BTreeMap<u8, BTreeMap<i64, u64>> = BTreeMap::new();
    for s in db
        .querier(i64::MIN, i64::MAX)
        .select(&[sel])
        .expect("select")
    {
        let id: u8 = s
            .labels()
            .get("s")
            .expect("s label")
            .parse()
            .expect("number");
        let samples = collect_samples(&mut s.iter()).expect("iterate");
        if !samples.is_empty() {
            assert!(got
                .insert(
                    id,
                    samples.into_iter().map(|(t, v)| (t, v.to_bits())).collect()
                )
                .is_none());
        }
    }
    let want: BTreeMap<u8, BTreeMap<i64, u64>> = m
        .data
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    assert_eq!(got, want, "engine and model disagree");
}

/// Runs the operations encoded in `data` (see the module docs). Panics on any disagreement.
pub fn fuzz_engine_model(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let mut db = Some(Db::open(dir.path(), opts()).expect("open"));
    let mut m = Model::default();
    let mut pending: Vec<(u8, i64, u64)> = Vec::new();
    let mut app_ops: Vec<(Labels, i64, f64)> = Vec::new();
    let mut now: i64 = -2500;
    let trace = std::env::var_os("TIDEMARK_MODEL_TRACE").is_some();
    let ops = data.chunks(3).take(400);
    for op in ops {
        let a = op.get(1).copied().unwrap_or(0);
        let b = op.get(2).copied().unwrap_or(0);
        let d = db.as_ref().expect("open db");
        if trace {
            eprintln!("op {} a={a} b={b} now={now}", op[0] % 8);
        }
        match op[0] % 8 {
            0..=2 => {
                // Append to the current batch.
                let s = a % 4;
                let t = now + (i64::from(b % 9) - 3) * 100;
                now += 130;
                let v = value((b / 9).wrapping_add(a));
                let mut app = d.appender();
                // Replay the batch so far so the appender carries it (an appender borrows
                // the database, so the batch is kept here between operations).
                for (l, t, v) in &app_ops {
                    let _ = app.append(l, *t, *v);
                }
                let res = app.append(&series(s), t, v);
                app.rollback();
                match res {
                    Ok(_) => {
                        if let Some(&(lt, lb)) = m.last.get(&s) {
                            assert!(
                                t > lt || (t == lt && lb == v.to_bits()),
                                "accepted {t} after {lt}"
                            );
                        }
                        pending.push((s, t, v.to_bits()));
                        app_ops.push((series(s), t, v));
                    }
                    Err(AppendError::OutOfOrder) => {
                        assert!(
                            m.last.get(&s).is_some_and(|&(lt, _)| lt > t),
                            "bad out-of-order for {t}"
                        );
                    }
                    Err(AppendError::Duplicate) => {
                        assert!(m
                            .last
                            .get(&s)
                            .is_some_and(|&(lt, lb)| lt == t && lb != v.to_bits()));
                    }
                    Err(AppendError::OutOfBounds) => {}
                    Err(e) => panic!("unexpected append error {e}"),
                }
            }
            3 => {
                // Commit. A compaction since `append` may have raised the lower bound, so
                // samples the engine now refuses as out of bounds leave the model's batch too.
                let mut app = d.appender();
                let mut batch = Vec::new();
                for ((l, t, v), p) in app_ops.drain(..).zip(pending.drain(..)) {
                    match app.append(&l, t, v) {
                        Ok(_) => batch.push(p),
                        Err(AppendError::OutOfBounds) => {}
                        Err(e) => panic!("append accepted earlier, now {e}"),
                    }
                }
                let st = app.commit().expect("commit");
                let (mut appended, mut ignored, mut rejected) = (0, 0, 0);
                for (s, t, bits) in batch {
                    match m.last.get(&s) {
                        Some(&(lt, lb)) if t < lt || (t == lt && lb != bits) => rejected += 1,
                        Some(&(lt, _)) if t == lt => ignored += 1,
                        _ => {
                            m.last.insert(s, (t, bits));
                            m.data.entry(s).or_default().insert(t, bits);
                            appended += 1;
                        }
                    }
                }
                let eng_rejected: u64 = st.rejected.iter().map(|r| r.1).sum();
                assert_eq!(
                    (st.appended, st.ignored, eng_rejected),
                    (appended, ignored, rejected)
                );
            }
            4 => {
                pending.clear();
                app_ops.clear();
            }
            5 => {
                // Delete. Appends land at `now - 300` or later, so deleting strictly below
                // that only concerns samples committed or pending now.
                let s = a % 4;
                let hi = now - 301 - i64::from(b) * 10;
                let lo = hi - i64::from(a) * 30;
                let ms = [Matcher::new(MatchType::Equal, "s", s.to_string()).expect("matcher")];
                d.delete(&ms, lo, hi).expect("delete");
                if let Some(ser) = m.data.get_mut(&s) {
                    ser.retain(|t, _| *t < lo || *t > hi);
                }
                // Whether a sample committed after a delete into its range is hidden depends on
                // whether the series survived head truncation in between (as in Prometheus),
                // so the model keeps such samples out of the batch altogether.
                let keep: Vec<bool> = pending
                    .iter()
                    .map(|p| !(p.0 == s && p.1 >= lo && p.1 <= hi))
                    .collect();
                let mut k = keep.iter();
                pending.retain(|_| *k.next().unwrap_or(&true));
                let mut k = keep.iter();
                app_ops.retain(|_| *k.next().unwrap_or(&true));
            }
            6 => {
                d.compact().expect("compact");
            }
            _ => {
                if a % 2 == 0 {
                    // Reopen: uncommitted work is lost, as it should be.
                    pending.clear();
                    app_ops.clear();
                    // Close before reopening: the lock file allows one open database.
                    drop(db.take());
                    db = Some(Db::open(dir.path(), opts()).expect("reopen"));
                }
                check(db.as_ref().expect("db"), &m);
            }
        }
    }
    let d = db.as_ref().expect("db");
    check(d, &m);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays the comma-separated operation bytes in the file named by
    /// `TIDEMARK_MODEL_OPS` (for minimizing a failure found by the property test).
    #[test]
    #[ignore = "a debugging aid: needs TIDEMARK_MODEL_OPS"]
    fn replay_ops_from_file() {
        let path = std::env::var("TIDEMARK_MODEL_OPS").expect("TIDEMARK_MODEL_OPS");
        let text = std::fs::read_to_string(path).expect("ops file");
        let ops: Vec<u8> = text
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        fuzz_engine_model(&ops);
    }

    #[test]
    fn simple_sequence() {
        // append ×3, commit, compact, reopen+check.
        fuzz_engine_model(&[0, 0, 3, 0, 1, 3, 0, 2, 4, 3, 0, 0, 6, 0, 0, 7, 0, 0]);
    }
}
