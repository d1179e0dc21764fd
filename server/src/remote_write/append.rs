//! Appending a decoded request: every sample through one appender, one commit per request.
//!
//! A sample the head refuses (out of order, duplicate, too old, more than 10 minutes in the
//! future, bad labels) is skipped and reported with its series and timestamp; the rest of the request is still committed, so a
//! sender's retry cannot be blocked forever by one bad sample. Prometheus 3.5 (remote-write
//! 1.0) answers 400 too but rolls the whole request back on the first refused sample
//! (checked against the 3.5.3 binary in `server/tests/e2e_api.rs`): a known difference.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use tidemark_engine::{AppendError, Db, Labels, SeriesRef};

use super::WriteRequest;

/// At most this many rejected samples are described in the answer; the rest are counted.
const MAX_REPORTED: usize = 10;

/// Counters of the receiver, for self-monitoring.
#[derive(Debug, Default)]
pub struct RemoteWriteCounters {
    /// Requests received (decodable or not).
    pub requests: AtomicU64,
    /// Samples committed.
    pub samples_appended: AtomicU64,
    /// Samples refused by the head.
    pub samples_rejected: AtomicU64,
    /// Requests refused as undecodable.
    pub requests_malformed: AtomicU64,
}

/// What appending one request did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Samples committed.
    pub appended: u64,
    /// Samples refused.
    pub rejected: u64,
    /// Descriptions of the first refused samples: reason, series and timestamp.
    pub errors: Vec<String>,
}

/// Appends every sample of `req` and commits once. Refused samples are skipped and described
/// in the outcome; an `Err` means the commit itself failed and nothing was stored.
pub fn append(
    db: &Db,
    req: &WriteRequest,
    counters: &RemoteWriteCounters,
) -> tidemark_engine::Result<AppendOutcome> {
    let mut app = db.appender();
    let mut out = AppendOutcome::default();
    // The head checks against committed samples only; within one request we keep each
    // series' last accepted sample ourselves, so the request's own order is checked too.
    let mut last: HashMap<Labels, (i64, u64)> = HashMap::new();
    let reject = |out: &mut AppendOutcome, reason: String| {
        out.rejected += 1;
        if out.errors.len() < MAX_REPORTED {
            out.errors.push(reason);
        }
    };
    for ts in &req.timeseries {
        let labels = match ts.label_set() {
            Ok(l) => l,
            Err(why) => {
                for _ in &ts.samples {
                    reject(
                        &mut out,
                        format!("invalid labels for series {}: {why}", ts.display_labels()),
                    );
                }
                continue;
            }
        };
        let mut sref: Option<SeriesRef> = None;
        for s in &ts.samples {
            let prev = last.get(&labels).copied();
            let local = match prev {
                Some((t, _)) if s.timestamp < t => Err(AppendError::OutOfOrder),
                Some((t, bits)) if s.timestamp == t && bits != s.value.to_bits() => {
                    Err(AppendError::Duplicate)
                }
                // The same sample twice is not an error; it is stored once.
                Some((t, _)) if s.timestamp == t => continue,
                _ => Ok(()),
            };
            let res = local.and_then(|()| {
                match sref
                    .as_ref()
                    .and_then(|r| app.append_ref(r, s.timestamp, s.value))
                {
                    Some(res) => res,
                    None => app
                        .append(&labels, s.timestamp, s.value)
                        .map(|r| sref = Some(r)),
                }
            });
            match res {
                Ok(()) => {
                    last.insert(labels.clone(), (s.timestamp, s.value.to_bits()));
                }
                Err(e) => {
                    // Prometheus 3.5 words a sample past its 10-minute limit this way.
                    let why = if e == AppendError::OutOfBounds && s.timestamp > app.max_time() {
                        format!("{e}: timestamp is too far in the future")
                    } else {
                        e.to_string()
                    };
                    reject(
                        &mut out,
                        format!(
                            "{why} for series {} at timestamp {}",
                            ts.display_labels(),
                            s.timestamp
                        ),
                    )
                }
            }
        }
    }
    let pending = app.len() as u64;
    app.commit()?;
    out.appended = pending;
    counters
        .samples_appended
        .fetch_add(out.appended, Ordering::Relaxed);
    counters
        .samples_rejected
        .fetch_add(out.rejected, Ordering::Relaxed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tidemark_engine::head::MAX_AHEAD_MS;
    use tidemark_engine::DbOptions;

    use super::super::test_support::series;
    use super::*;

    #[test]
    fn far_future_samples_are_refused_with_prometheus_wording() {
        const NOW: i64 = 1_700_000_000_000;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        db.head().set_clock(Arc::new(|| NOW));
        let req = WriteRequest {
            timeseries: vec![
                series(&[("__name__", "micros")], &[(NOW * 1000, 1.0)]),
                series(&[("__name__", "edge")], &[(NOW + MAX_AHEAD_MS, 1.0)]),
                series(&[("__name__", "ok")], &[(NOW, 1.0), (NOW + 1, 2.0)]),
            ],
        };
        let out = append(&db, &req, &RemoteWriteCounters::default()).unwrap();
        assert_eq!((out.appended, out.rejected), (3, 1), "{out:?}");
        assert_eq!(
            out.errors,
            vec![format!(
                "out of bounds: timestamp is too far in the future for series {{__name__=\"micros\"}} at timestamp {}",
                NOW * 1000
            )]
        );
        // The next ordinary request is stored.
        let req = WriteRequest {
            timeseries: vec![series(&[("__name__", "ok")], &[(NOW + 2, 3.0)])],
        };
        let out = append(&db, &req, &RemoteWriteCounters::default()).unwrap();
        assert_eq!((out.appended, out.rejected), (1, 0), "{out:?}");
    }
}
