//! Macro benchmark harness for the storage engine: measures what criterion cannot
//! (process RSS per series, bytes per sample on disk, WAL replay rate) and the headline
//! throughput/latency figures, printing one markdown table.
//!
//! Usage: `cargo run --release -p tidemark-benches --bin engine-harness -- [SERIES]`
//! (default 1,000,000 series). Data shapes are described in `tidemark_benches`.

use std::time::Instant;

use tidemark_benches::{realistic_shape, rss_bytes, samples, series_labels, Shape};
use tidemark_engine::compact::write_head_block;
use tidemark_engine::{Db, DbOptions, MatchType, Matcher, SeriesRef};

fn opts() -> DbOptions {
    DbOptions {
        retention_time: None,
        ..DbOptions::default()
    }
}

fn row(name: &str, value: String, target: &str) {
    println!("| {name} | {value} | {target} |");
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    println!("| measure | Tidemark | target |\n|---|---|---|");

    // --- Append + memory: n series × 120 samples in the head. -----------------------------
    let dir = tempfile::tempdir().expect("tempdir");
    let rss0 = rss_bytes().unwrap_or(0);
    let db = Db::open(dir.path(), opts()).expect("open");
    let mut refs: Vec<SeriesRef> = Vec::with_capacity(n as usize);
    let t0 = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut app = db.appender();
        for &i in chunk {
            refs.push(app.append(&series_labels(i), 0, i as f64).expect("append"));
        }
        app.commit().expect("commit");
    }
    let create = t0.elapsed();
    let t1 = Instant::now();
    let mut appended = 0u64;
    for k in 1..120i64 {
        for (c, chunk) in refs.chunks(1000).enumerate() {
            let mut app = db.appender();
            for (j, r) in chunk.iter().enumerate() {
                let v = (k * 7 + (c * 1000 + j) as i64 % 13) as f64;
                app.append_ref(r, k * 15_000, v)
                    .expect("series exists")
                    .expect("append");
            }
            app.commit().expect("commit");
            appended += chunk.len() as u64;
        }
    }
    let append_secs = t1.elapsed().as_secs_f64();
    row(
        &format!("append, {n} series, batches of 1000 by ref, WAL on, no fsync"),
        format!("{:.2} M samples/s", appended as f64 / append_secs / 1e6),
        "≥ 3 M/s",
    );
    row(
        &format!("create {n} series (append by labels, first sample)"),
        format!("{:.2} M series/s", n as f64 / create.as_secs_f64() / 1e6),
        "—",
    );
    let rss1 = rss_bytes().unwrap_or(0);
    row(
        &format!("RSS per active series ({n} × 120 samples in head)"),
        format!("{:.0} bytes", (rss1.saturating_sub(rss0)) as f64 / n as f64),
        "≤ 1024 bytes",
    );

    // --- Select latency over the n-series head. -----------------------------------------
    let q = db.querier(i64::MIN, i64::MAX);
    let eq = |k: &str, v: &str| Matcher::new(MatchType::Equal, k, v).expect("matcher");
    let two_eq = [eq("__name__", "metric_75"), eq("pod", "pod-7")];
    let re = [Matcher::new(MatchType::RegexMatch, "pod", "pod-1|pod-2|pod-3").expect("matcher")];
    for (name, ms, target) in [
        ("select, two = matchers", &two_eq[..], "≤ 1 ms"),
        ("select, pod=~\"a|b|c\" (100k values)", &re[..], "≤ 5 ms"),
    ] {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..50 {
            let t = Instant::now();
            found = q.select(ms).expect("select").len();
            times.push(t.elapsed());
        }
        times.sort();
        row(
            &format!("{name} over {n} series ({found} found), median"),
            format!("{:?}", times[times.len() / 2]),
            target,
        );
    }
    drop(q);
    db.close().expect("close");

    // --- WAL replay. -------------------------------------------------------------------
    // First only read + CRC + decode, to separate the log's cost from applying samples.
    let t = Instant::now();
    let mut replay = tidemark_engine::wal::WalReplay::open(&dir.path().join("wal")).expect("wal");
    let (mut decoded, mut buf) = (0u64, Vec::new());
    while let Some(rec) = replay.next_record() {
        let rec = rec.expect("record");
        if let Ok(tidemark_engine::wal::record::RecordType::Samples) =
            tidemark_engine::wal::record::record_type(rec.payload)
        {
            buf.clear();
            tidemark_engine::wal::record::decode_samples(rec.payload, &mut buf).expect("decode");
            decoded += buf.len() as u64;
        }
    }
    row(
        "WAL read + CRC + decode only",
        format!(
            "{:.1} M samples/s",
            decoded as f64 / t.elapsed().as_secs_f64() / 1e6
        ),
        "—",
    );
    let t = Instant::now();
    let db = Db::open(dir.path(), opts()).expect("reopen");
    let st = db.replay_stats().clone();
    row(
        &format!(
            "WAL replay at open ({} samples, {} series)",
            st.samples, st.series
        ),
        format!(
            "{:.1} M samples/s ({:.2} s total open)",
            st.samples as f64 / st.duration.as_secs_f64() / 1e6,
            t.elapsed().as_secs_f64()
        ),
        "≥ 10 M/s",
    );
    drop(db);
    drop(dir);

    // --- Disk: bytes per sample in a 2h block. -----------------------------------------
    for (name, shape_of, target) in [
        (
            "realistic mix",
            realistic_shape as fn(u64) -> Shape,
            "≤ 1.1",
        ),
        (
            "constant series",
            (|_| Shape::Constant) as fn(u64) -> Shape,
            "≤ 0.15",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), opts()).expect("open");
        let series = 10_000u64;
        let per = 480; // 2h at 15s
        let data: Vec<Vec<(i64, f64)>> = (0..series)
            .map(|i| samples(shape_of(i), i, 1_000, per))
            .collect();
        for k in 0..per {
            let mut app = db.appender();
            for (i, s) in data.iter().enumerate() {
                app.append(&series_labels(i as u64), s[k].0, s[k].1)
                    .expect("append");
            }
            app.commit().expect("commit");
        }
        let out = tempfile::tempdir().expect("tempdir");
        let b = write_head_block(db.head(), out.path(), 0, 7_200_000 + 10_000)
            .expect("write")
            .expect("block");
        let bytes = tidemark_engine::fs::dir_size(&b.dir);
        let total = b.meta.stats.num_samples;
        let chunk_bytes = tidemark_engine::fs::dir_size(&b.dir.join("chunks"));
        row(
            &format!("disk, {name}: 10k series × 480 samples, one block"),
            format!(
                "{:.3} bytes/sample (chunks alone {:.3})",
                bytes as f64 / total as f64,
                chunk_bytes as f64 / total as f64
            ),
            target,
        );
    }
}
