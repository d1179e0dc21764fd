//! Crash consistency: a child process commits batches and is SIGKILLed at random points;
//! after reopening, every batch it reported committed is there in full, and no batch is
//! half-there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tidemark_engine::iter::collect_samples;
use tidemark_engine::{Db, DbOptions, MatchType, Matcher};

const SERIES: u64 = 50;

/// Runs the writer from `first`, kills it after `after`, returns the last batch it reported.
fn run_and_kill(dir: &std::path::Path, first: u64, after: Duration, fsync: bool) -> Option<u64> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crash-writer"));
    cmd.arg(dir).arg(first.to_string()).arg(SERIES.to_string());
    if fsync {
        cmd.arg("fsync");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut last = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(b) = line.strip_prefix("committed ") {
                last = b.parse::<u64>().ok();
            }
        }
        last
    });
    let start = Instant::now();
    while start.elapsed() < after {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("writer exited early: {st}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

/// Checks the database holds exactly batches `0..=last` or `0..=last+1`; returns the number
/// of batches present.
fn check(dir: &std::path::Path, last: Option<u64>) -> u64 {
    let db = Db::open(
        dir,
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    let m = Matcher::new(MatchType::Equal, "__name__", "crash").unwrap();
    let series = db.querier(i64::MIN, i64::MAX).select(&[m]).unwrap();
    let mut counts = Vec::new();
    for s in &series {
        let i: u64 = s.labels().get("i").unwrap().parse().unwrap();
        let samples = collect_samples(&mut s.iter()).unwrap();
        for (k, (t, v)) in samples.iter().enumerate() {
            assert_eq!(
                *t,
                k as i64 * 1000,
                "series {i}: gap or duplicate at sample {k}"
            );
            assert_eq!(*v, (k as u64 * 1_000_000 + i) as f64);
        }
        counts.push(samples.len() as u64);
    }
    let present = counts.first().copied().unwrap_or(0);
    if present > 0 {
        assert_eq!(series.len() as u64, SERIES);
    }
    assert!(
        counts.iter().all(|&c| c == present),
        "a batch is half-there: {counts:?}"
    );
    if let Some(last) = last {
        assert!(
            present == last + 1 || present == last + 2,
            "reported {last} committed, found {present} batches"
        );
    }
    present
}

fn crash_loop(fsync: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut next = 0u64;
    // Deterministic pseudo-random kill delays.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..6 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_millis(150 + x % 400);
        let last = run_and_kill(dir.path(), next, delay, fsync);
        let present = check(dir.path(), last.or(next.checked_sub(1)));
        assert!(
            present >= next,
            "round {round}: lost batches that an earlier round saw"
        );
        next = present;
    }
    assert!(next > 0, "the writer never committed anything");
}

#[test]
fn sigkill_loses_nothing_committed() {
    crash_loop(false);
}

#[test]
fn sigkill_with_fsync_per_commit() {
    crash_loop(true);
}
