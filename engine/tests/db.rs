//! Database behaviour on real files: append and query, reopen (WAL replay), ordering rules,
//! compaction into blocks and merges, retention, deletes, and the lock file.

use tidemark_engine::iter::collect_samples;
use tidemark_engine::{labels, AppendError, Db, DbOptions, Error, Labels, MatchType, Matcher};

const H: i64 = 3_600_000;

fn opts() -> DbOptions {
    DbOptions {
        block_range: 2 * H,
        retention_time: None,
        ..DbOptions::default()
    }
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchType::Equal, name, value).unwrap()
}

fn series(i: usize) -> Labels {
    labels!("__name__" => "m", "i" => i.to_string(), "job" => if i.is_multiple_of(2) { "even" } else { "odd" })
}

/// Appends samples at `ts` for series 0..n with value `t/1000 + i`.
fn fill(db: &Db, n: usize, ts: impl IntoIterator<Item = i64>) {
    for t in ts {
        let mut app = db.appender();
        for i in 0..n {
            app.append(&series(i), t, (t / 1000) as f64 + i as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

/// Every selected series' labels and samples.
type Dump = Vec<(Labels, Vec<(i64, f64)>)>;

fn query(db: &Db, ms: &[Matcher], mint: i64, maxt: i64) -> Dump {
    db.querier(mint, maxt)
        .select(ms)
        .unwrap()
        .iter()
        .map(|s| (s.labels().clone(), collect_samples(&mut s.iter()).unwrap()))
        .collect()
}

#[test]
fn append_query_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        fill(&db, 10, (0..300).map(|k| k * 15_000));
        let r = query(&db, &[eq("job", "even")], i64::MIN, i64::MAX);
        assert_eq!(r.len(), 5);
        assert_eq!(r[0].0, series(0));
        assert_eq!(r[0].1.len(), 300);
        assert_eq!(r[0].1[299], (299 * 15_000, 299.0 * 15.0));
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.replay_stats().samples, 3000);
    let r = query(&db, &[eq("__name__", "m")], 15_000, 30_000);
    assert_eq!(r.len(), 10);
    assert!(r.iter().all(|(_, s)| s.len() == 2));
    // Appends continue after replay.
    fill(&db, 10, [300 * 15_000]);
    assert_eq!(query(&db, &[eq("i", "3")], 0, i64::MAX)[0].1.len(), 301);
}

#[test]
fn ordering_rules_and_special_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let l = labels!("__name__" => "x");
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let mut app = db.appender();
    app.append(&l, 1000, 1.0).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    assert_eq!(app.append(&l, 999, 1.0), Err(AppendError::OutOfOrder));
    assert_eq!(app.append(&l, 1000, 2.0), Err(AppendError::Duplicate));
    app.append(&l, 1000, 1.0).unwrap(); // exact duplicate: accepted, ignored
    app.append(&l, 2000, stale).unwrap();
    app.append(&l, 3000, -0.0).unwrap();
    app.append(&l, 4000, f64::INFINITY).unwrap();
    let st = app.commit().unwrap();
    assert_eq!(st.appended, 3);
    assert_eq!(st.ignored, 1);
    let s = &query(&db, &[eq("__name__", "x")], 0, 10_000)[0].1;
    let bits: Vec<u64> = s.iter().map(|(_, v)| v.to_bits()).collect();
    assert_eq!(
        bits,
        vec![
            1f64.to_bits(),
            stale.to_bits(),
            (-0.0f64).to_bits(),
            f64::INFINITY.to_bits()
        ]
    );
    let stats = db.stats();
    assert_eq!(stats.rejected[0], ("out_of_order", 1));
    assert_eq!(stats.rejected[1], ("duplicate", 1));
    assert!(matches!(
        db.appender().append(&Labels::empty(), 1, 1.0),
        Err(AppendError::InvalidLabels)
    ));
}

#[test]
fn old_timestamps_and_late_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    // Samples from 1970 and before are fine in an empty head.
    let mut app = db.appender();
    app.append(&labels!("__name__" => "old"), -5_000, 1.0)
        .unwrap();
    app.commit().unwrap();
    // A new series may start up to half a block range behind the newest sample.
    fill(&db, 1, [10 * H]);
    let mut app = db.appender();
    app.append(&labels!("__name__" => "late"), 10 * H - H + 1, 1.0)
        .unwrap();
    assert_eq!(
        app.append(&labels!("__name__" => "later"), 10 * H - H - 1, 1.0),
        Err(AppendError::OutOfBounds)
    );
    app.commit().unwrap();
}

#[test]
fn series_handles_append_and_survive_head_truncation() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        let (old, kept) = (series(0), series(1));
        let mut app = db.appender();
        let h_old = app.append(&old, 0, 1.0).unwrap();
        let h_kept = app.append(&kept, 0, 1.0).unwrap();
        assert_eq!(h_old.labels(), &old);
        app.commit().unwrap();
        // Handles append without a lookup; the ordering rules still hold.
        let mut app = db.appender();
        assert_eq!(app.append_ref(&h_kept, 3 * H, 2.0), Some(Ok(())));
        app.commit().unwrap();
        assert_eq!(
            db.appender().append_ref(&h_kept, 2 * H + 1000, 2.0),
            Some(Err(AppendError::OutOfOrder))
        );
        // A rolled-back appender writes nothing.
        let mut app = db.appender();
        assert_eq!(app.append_ref(&h_kept, 4 * H, 9.0), Some(Ok(())));
        app.rollback();

        // `old` has no sample after 2h; a sample for it is pending while truncation runs.
        let mut app = db.appender();
        assert_eq!(app.append_ref(&h_old, 3 * H, 5.0), Some(Ok(())));
        db.head().truncate(2 * H).unwrap();
        // The removed series' handle is refused: the caller appends by labels again.
        assert_eq!(db.appender().append_ref(&h_old, 4 * H, 6.0), None);
        assert_eq!(db.appender().append_ref(&h_kept, 4 * H, 6.0), Some(Ok(())));
        // The pending sample lands in the series' successor, with its labels.
        assert_eq!(app.commit().unwrap().appended, 1);
        let r = query(&db, &[eq("i", "0")], 0, i64::MAX);
        assert_eq!(r, vec![(old.clone(), vec![(3 * H, 5.0)])]);
        let mut app = db.appender();
        let h_new = app.append(&old, 4 * H, 6.0).unwrap();
        assert_ne!(h_new, h_old);
        app.commit().unwrap();
        db.close().unwrap();
    }
    // The WAL holds the successor's series record before its samples.
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        query(&db, &[eq("i", "0")], 0, i64::MAX),
        vec![(series(0), vec![(3 * H, 5.0), (4 * H, 6.0)])]
    );
    assert_eq!(
        query(&db, &[eq("i", "1")], 0, i64::MAX)[0].1,
        vec![(3 * H, 2.0)]
    );
}

#[test]
fn commits_racing_head_truncation_lose_nothing() {
    // A writer appends by handle (re-resolving handles of removed series) while another
    // thread truncates the head behind it; series written only now and then are removed and
    // come back. Whatever the interleaving, every committed sample at or after the last
    // truncation point is in memory and survives a reopen (WAL replay).
    let dir = tempfile::tempdir().unwrap();
    let step = 1000;
    let rounds = 400i64;
    let want = {
        let db = Db::open(dir.path(), opts()).unwrap();
        let last_mint = std::sync::atomic::AtomicI64::new(i64::MIN);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut handles: Vec<Option<tidemark_engine::SeriesRef>> = vec![None; 20];
                for k in 1..=rounds {
                    let mut app = db.appender();
                    for (i, h) in handles.iter_mut().enumerate() {
                        // Series i is written every (i % 5 + 1)-th round.
                        if k % (i as i64 % 5 + 1) != 0 {
                            continue;
                        }
                        let (t, v) = (k * step, (k * 100 + i as i64) as f64);
                        let by_ref = h.as_ref().and_then(|r| app.append_ref(r, t, v));
                        match by_ref {
                            Some(r) => r.unwrap(),
                            None => *h = Some(app.append(&series(i), t, v).unwrap()),
                        }
                    }
                    // Truncation often runs while the batch is pending.
                    std::thread::sleep(std::time::Duration::from_micros(300));
                    app.commit().unwrap();
                }
                done.store(true, std::sync::atomic::Ordering::Release);
            });
            s.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let max = db.head().max_time();
                    if max > 3 * step {
                        let mint = max - 3 * step;
                        db.head().truncate(mint).unwrap();
                        last_mint.store(mint, std::sync::atomic::Ordering::Release);
                    }
                    std::thread::sleep(std::time::Duration::from_micros(500));
                }
            });
        });
        let mint = last_mint.load(std::sync::atomic::Ordering::Acquire);
        assert!(mint > i64::MIN, "no truncation ran");
        assert!(
            db.head()
                .counters()
                .series_removed
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
        let got = query(&db, &[eq("__name__", "m")], mint, i64::MAX);
        // Every sample the writer committed from `mint` on, and nothing else.
        let mut want: Dump = (0..20)
            .map(|i| {
                let every = i as i64 % 5 + 1;
                let samples = (1..=rounds)
                    .filter(|k| k % every == 0 && k * step >= mint)
                    .map(|k| (k * step, (k * 100 + i as i64) as f64))
                    .collect();
                (series(i), samples)
            })
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want);
        db.close().unwrap();
        (mint, want)
    };
    let (mint, want) = want;
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(query(&db, &[eq("__name__", "m")], mint, i64::MAX), want);
}

#[test]
fn compaction_persists_blocks_and_queries_span_head_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let step = 60_000;
    let n = 20;
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        // 7 hours of data: the head spans > 3h, so the oldest 2h ranges become blocks.
        fill(&db, n, (0..7 * 60).map(|k| k * step));
        let rep = db.compact().unwrap();
        assert_eq!(rep.head_blocks.len(), 2, "{rep:?}");
        let blocks = db.blocks();
        assert_eq!(blocks.len(), 2);
        assert_eq!((blocks[0].min_time(), blocks[0].max_time()), (0, 2 * H));
        assert_eq!(blocks[0].meta().stats.num_samples, (n * 120) as u64);
        assert!(db.head().min_time() >= 4 * H);
        let r = query(&db, &[eq("i", "7")], 0, i64::MAX);
        assert_eq!(r[0].1.len(), 420);
        for (k, (t, v)) in r[0].1.iter().enumerate() {
            assert_eq!(*t, k as i64 * step);
            assert_eq!(*v, (t / 1000) as f64 + 7.0);
        }
        // Appending into the persisted range is rejected.
        assert_eq!(
            db.appender().append(&series(7), H, 1.0),
            Err(AppendError::OutOfBounds)
        );
        db.close().unwrap();
    }
    // Reopen: blocks + replayed head give the same data, nothing duplicated.
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.blocks().len(), 2);
    let r = query(&db, &[eq("__name__", "m")], 0, i64::MAX);
    assert_eq!(r.len(), n);
    assert!(r.iter().all(|(_, s)| s.len() == 420));
    // More data, more compaction: three 2h blocks in [0,6h) merge into one 6h block once
    // the window is complete.
    fill(&db, n, (7 * 60..10 * 60).map(|k| k * step));
    let rep = db.compact().unwrap();
    assert!(!rep.merged_blocks.is_empty(), "{rep:?}");
    let b = db.blocks();
    assert_eq!((b[0].min_time(), b[0].max_time()), (0, 6 * H));
    assert_eq!(b[0].meta().compaction.level, 2);
    let r = query(&db, &[eq("__name__", "m")], 0, i64::MAX);
    assert!(r.iter().all(|(_, s)| s.len() == 600));
    assert_eq!(
        db.querier(0, i64::MAX).label_values("job", &[]).unwrap(),
        vec!["even", "odd"]
    );
    assert_eq!(
        db.querier(0, i64::MAX)
            .label_names(&[eq("i", "1")])
            .unwrap(),
        vec!["__name__", "i", "job"]
    );
}

#[test]
fn deletes_hide_at_once_and_compaction_removes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let step = 60_000;
    fill(&db, 4, (0..5 * 60).map(|k| k * step));
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    // Delete [30m, 3h] of series 1: spans the block and the head.
    db.delete(&[eq("i", "1")], 30 * step, 3 * H).unwrap();
    let r = query(&db, &[eq("i", "1")], 0, i64::MAX);
    assert!(r[0].1.iter().all(|(t, _)| *t < 30 * step || *t > 3 * H));
    assert_eq!(r[0].1.len(), 300 - 151);
    let other = query(&db, &[eq("i", "2")], 0, i64::MAX);
    assert_eq!(other[0].1.len(), 300);
    // Survives a restart (block tombstones file, WAL tombstone records).
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(query(&db, &[eq("i", "1")], 0, i64::MAX)[0].1.len(), 149);
    // Physically removed by clean_tombstones.
    let before = db.blocks()[0].meta().stats.num_samples;
    db.clean_tombstones().unwrap();
    let after = db.blocks()[0].meta().stats.num_samples;
    assert_eq!(before - after, 90);
    assert!(db.blocks()[0].tombstones().is_empty());
    assert_eq!(query(&db, &[eq("i", "1")], 0, i64::MAX)[0].1.len(), 149);
}

#[test]
fn retention_by_time_is_measured_from_the_newest_sample() {
    let dir = tempfile::tempdir().unwrap();
    let o = DbOptions {
        retention_time: Some(4 * H),
        max_block_range: Some(2 * H),
        ..opts()
    };
    let db = Db::open(dir.path(), o).unwrap();
    // Data from 1970: far older than "now - 4h", but retention counts from the newest sample.
    fill(&db, 2, (0..9 * 60).map(|k| k * 60_000));
    db.compact().unwrap();
    // Head spans [6h, 9h); blocks [0,2) [2,4) [4,6); newest sample 9h → cutoff 5h.
    let kept: Vec<(i64, i64)> = db
        .blocks()
        .iter()
        .map(|b| (b.min_time(), b.max_time()))
        .collect();
    assert_eq!(kept, vec![(4 * H, 6 * H)]);
    assert_eq!(db.stats().retention_deletions, 2);
}

#[test]
fn retention_by_size_deletes_oldest_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let o = DbOptions {
        retention_size: Some(1),
        max_block_range: Some(2 * H),
        ..opts()
    };
    let db = Db::open(dir.path(), o).unwrap();
    fill(&db, 2, (0..9 * 60).map(|k| k * 60_000));
    db.compact().unwrap();
    assert!(db.blocks().is_empty());
    // The head is untouched.
    assert_eq!(query(&db, &[eq("i", "0")], 0, i64::MAX)[0].1.len(), 3 * 60);
}

#[test]
fn second_open_is_refused_by_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Db::open(dir.path(), opts()).unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("locked"));
}

#[test]
fn regex_and_negative_matchers_select_like_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    fill(&db, 12, [0]);
    let mut app = db.appender();
    app.append(&labels!("__name__" => "m", "extra" => "x"), 0, 0.0)
        .unwrap();
    app.commit().unwrap();
    let count = |ms: &[Matcher]| query(&db, ms, 0, 0).len();
    let re = |n: &str, v: &str| Matcher::new(MatchType::RegexMatch, n, v).unwrap();
    assert_eq!(count(&[re("i", "1|2|3")]), 3);
    assert_eq!(count(&[re("i", "1.*")]), 3); // 1, 10, 11
    assert_eq!(count(&[eq("__name__", "m"), eq("extra", "")]), 12);
    assert_eq!(
        count(&[Matcher::new(MatchType::NotEqual, "extra", "").unwrap()]),
        1
    );
    assert_eq!(
        count(&[
            eq("__name__", "m"),
            Matcher::new(MatchType::RegexNoMatch, "job", "even|odd").unwrap()
        ]),
        1
    );
}

/// Copies a block directory (as a backfill tool would drop one in).
fn copy_block(src: &std::path::Path, dst_dir: &std::path::Path) {
    let dst = dst_dir.join(src.file_name().unwrap());
    std::fs::create_dir_all(dst.join("chunks")).unwrap();
    for f in ["meta.json", "index", "tombstones"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    for e in std::fs::read_dir(src.join("chunks")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join("chunks").join(e.file_name())).unwrap();
    }
}

#[test]
fn overlapping_blocks_are_deduplicated_when_read_and_merged_by_compaction() {
    let step = 60_000;
    // Block A: series 0..4 over [0, 2h); block B: series 2..6 over [1h, 3h), with different
    // values where they overlap in time, as an out-of-band backfill would produce.
    let make = |ids: std::ops::Range<usize>, from: i64, to: i64, bias: f64| {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        for k in from..to {
            let mut app = db.appender();
            for i in ids.clone() {
                app.append(&series(i), k * step, k as f64 + bias).unwrap();
            }
            app.commit().unwrap();
        }
        let out = tempfile::tempdir().unwrap();
        let b = tidemark_engine::compact::write_head_block(
            db.head(),
            out.path(),
            from * step,
            to * step,
        )
        .unwrap()
        .unwrap();
        (out, b.dir)
    };
    let (_a_dir, a) = make(0..4, 0, 120, 0.0);
    let (_b_dir, b) = make(2..6, 60, 180, 0.5);
    let dir = tempfile::tempdir().unwrap();
    copy_block(&a, dir.path());
    copy_block(&b, dir.path());
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.blocks().len(), 2);
    let check = |db: &Db| {
        let r = query(db, &[eq("__name__", "m")], 0, i64::MAX);
        assert_eq!(r.len(), 6);
        for (l, samples) in &r {
            let i: usize = l.get("i").unwrap().parse().unwrap();
            let (lo, hi) = match i {
                0 | 1 => (0, 120),
                2 | 3 => (0, 180),
                _ => (60, 180),
            };
            let ts: Vec<i64> = samples.iter().map(|s| s.0 / step).collect();
            assert_eq!(
                ts,
                (lo..hi).collect::<Vec<_>>(),
                "series {i}: one sample per timestamp"
            );
            for (t, v) in samples {
                let k = t / step;
                // Where both blocks have the series, the newer block (B) wins.
                let want = if (2..6).contains(&i) && k >= 60 {
                    k as f64 + 0.5
                } else {
                    k as f64
                };
                assert_eq!(*v, want, "series {i} at {k}");
            }
        }
    };
    check(&db);
    let rep = db.compact().unwrap();
    assert_eq!(rep.merged_blocks.len(), 1, "{rep:?}");
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (blocks[0].min_time(), blocks[0].max_time()),
        (0, 180 * step)
    );
    assert_eq!(blocks[0].meta().compaction.parents.len(), 2);
    check(&db);
    drop(db);
    check(&Db::open(dir.path(), opts()).unwrap());
}

#[test]
fn stats_and_cardinality() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    fill(&db, 6, (0..10).map(|k| k * 15_000));
    let mut app = db.appender();
    app.append(&labels!("__name__" => "other", "job" => "odd"), 0, 1.0)
        .unwrap();
    app.commit().unwrap();
    let st = db.stats();
    assert_eq!(st.head_series, 7);
    assert_eq!(st.samples_appended, 61);
    assert_eq!(st.head_time_range, Some((0, 135_000)));
    assert!(st.wal_bytes > 0);
    let c = db.cardinality(2);
    assert_eq!(
        c.series_count_by_metric_name,
        vec![("m".to_owned(), 6), ("other".to_owned(), 1)]
    );
    assert_eq!(
        c.series_count_by_label_value_pair[0],
        ("__name__=m".to_owned(), 6)
    );
    assert_eq!(c.label_value_count_by_label_name[0], ("i".to_owned(), 6));
    assert_eq!(c.label_value_count_by_label_name.len(), 2);
}

/// A fixed "now" for the clock-dependent tests (2023-11-14).
const NOW: i64 = 1_700_000_000_000;

fn fixed_clock(db: &Db, now: i64) {
    db.head().set_clock(std::sync::Arc::new(move || now));
}

#[test]
fn far_future_samples_are_refused_and_ingestion_goes_on() {
    use tidemark_engine::head::MAX_AHEAD_MS;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    fixed_clock(&db, NOW);
    fill(&db, 3, (0..10).map(|k| NOW - 600_000 + k * 60_000));
    let far = series(100);
    let mut app = db.appender();
    assert_eq!(app.max_time(), NOW + MAX_AHEAD_MS);
    // Microseconds instead of milliseconds: refused, as Prometheus 3.5 refuses it.
    assert_eq!(
        app.append(&far, NOW * 1000, 1.0).map(|_| ()),
        Err(AppendError::OutOfBounds)
    );
    // The limit is inclusive: now + 10m is accepted, one millisecond more is not.
    let r = app.append(&series(50), NOW + MAX_AHEAD_MS, 1.0).unwrap();
    assert_eq!(
        app.append(&series(51), NOW + MAX_AHEAD_MS + 1, 1.0)
            .map(|_| ()),
        Err(AppendError::OutOfBounds)
    );
    assert_eq!(
        app.append_ref(&r, NOW + MAX_AHEAD_MS + 1, 1.0),
        Some(Err(AppendError::OutOfBounds))
    );
    let st = app.commit().unwrap();
    assert_eq!(st.appended, 1);
    assert_eq!(
        db.head()
            .counters()
            .out_of_bounds
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    // Ordinary samples of every series carry on.
    fill(&db, 3, [NOW + 15_000]);
    assert!(query(&db, &[eq("i", "100")], i64::MIN, i64::MAX).is_empty());
    // When the clock has moved on, the same timestamp is fine.
    fixed_clock(&db, NOW + 60_000);
    let mut app = db.appender();
    app.append(&series(51), NOW + MAX_AHEAD_MS + 1, 1.0)
        .unwrap();
    app.commit().unwrap();
    // And after a restart.
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    fixed_clock(&db, NOW + 60_000);
    fill(&db, 1, [NOW + 30_000]);
    let s0 = query(&db, &[eq("i", "0")], i64::MIN, i64::MAX);
    assert_eq!(s0[0].1.len(), 10 + 1 + 1, "{s0:?}");
    assert!(query(&db, &[eq("i", "100")], i64::MIN, i64::MAX).is_empty());
}

#[test]
fn a_stored_far_future_sample_moves_nothing_for_other_series() {
    // A sample stored while the clock was far ahead (as a database written before the limit
    // existed holds it): neither appends, compaction, retention nor a restart may let it
    // close the head to ordinary samples.
    let far_t = NOW * 1000;
    let dir = tempfile::tempdir().unwrap();
    let o = DbOptions {
        retention_time: Some(15 * 24 * H),
        ..opts()
    };
    {
        let db = Db::open(dir.path(), o.clone()).unwrap();
        fixed_clock(&db, NOW);
        fill(&db, 2, (0..8 * 60).map(|k| NOW - 8 * H + k * 60_000));
        fixed_clock(&db, far_t);
        let mut app = db.appender();
        app.append(&series(100), far_t, 1.0).unwrap();
        app.commit().unwrap();
        fixed_clock(&db, NOW);
        assert_eq!(db.head().max_time(), far_t);
        assert!(db.head().appendable_min_time() < NOW);
        fill(&db, 2, [NOW + 1_000]);
        let report = db.compact().unwrap();
        assert!(!report.head_blocks.is_empty(), "{report:?}");
        assert_eq!(
            db.counters()
                .retention_deletions
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
        assert_eq!(
            query(&db, &[eq("i", "0")], i64::MIN, i64::MAX)[0].1.len(),
            8 * 60 + 1
        );
        assert!(db.head().appendable_min_time() <= NOW);
        fill(&db, 2, [NOW + 2_000]);
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), o).unwrap();
    fixed_clock(&db, NOW);
    assert!(db.head().appendable_min_time() <= NOW);
    fill(&db, 2, [NOW + 3_000]);
    let r = query(&db, &[eq("i", "0")], NOW, i64::MAX);
    assert_eq!(
        r[0].1.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![NOW + 1_000, NOW + 2_000, NOW + 3_000]
    );
    // Deleting the stray series with the admin API's defaults removes it.
    db.delete(&[eq("i", "100")], i64::MIN, i64::MAX).unwrap();
    assert!(query(&db, &[eq("i", "100")], i64::MIN, i64::MAX)
        .iter()
        .all(|s| s.1.is_empty()));
}

#[test]
fn delete_without_end_keeps_later_samples_visible() {
    let dir = tempfile::tempdir().unwrap();
    let step = 60_000;
    let visible = |db: &Db| -> Vec<i64> {
        query(db, &[eq("i", "1")], i64::MIN, i64::MAX)
            .into_iter()
            .flat_map(|s| s.1.into_iter().map(|p| p.0))
            .collect()
    };
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        fill(&db, 3, (0..5 * 60).map(|k| k * step));
        db.compact().unwrap();
        assert_eq!(db.blocks().len(), 1);
        // `delete_series` without start and end: everything so far, in blocks and head.
        db.delete(&[eq("i", "1")], i64::MIN, i64::MAX).unwrap();
        assert!(visible(&db).is_empty());
        // Samples appended afterwards stay visible.
        fill(&db, 3, (5 * 60..5 * 60 + 10).map(|k| k * step));
        assert_eq!(visible(&db).len(), 10);
        db.clean_tombstones().unwrap();
        assert_eq!(visible(&db).len(), 10);
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        visible(&db),
        (5 * 60..5 * 60 + 10).map(|k| k * step).collect::<Vec<_>>()
    );
    fill(&db, 3, [400 * step]);
    assert_eq!(visible(&db).len(), 11);
    db.clean_tombstones().unwrap();
    db.compact().unwrap();
    assert_eq!(visible(&db).len(), 11);
    assert_eq!(
        query(&db, &[eq("i", "2")], i64::MIN, i64::MAX)[0].1.len(),
        311
    );
}
