//! Appending to the head: samples are buffered in an [`Appender`] and committed as a unit.
//!
//! `append` checks each sample against its series' committed state (rejecting out-of-order,
//! duplicate and out-of-bounds samples early, including samples more than
//! [`super::MAX_AHEAD_MS`] after the head's clock); `commit` writes one WAL write holding the
//! records of series not yet logged plus all samples, then applies the samples. A sample
//! that became invalid between append and commit (another appender wrote the same series) is
//! rejected at commit and counted, as in Prometheus.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{AppendError, Result};
use crate::labels::Labels;
use crate::wal::record::{self, RefSample, RefSeries};

use super::series::{Appended, MemSeries};
use super::Head;

/// A handle to a head series: appending through it ([`Appender::append_ref`]) skips the
/// label lookup, so scrape loops and remote write keep one per series they write, as
/// Prometheus does. It stays valid for the life of the process; once head truncation has
/// removed the series, `append_ref` returns `None` and the caller appends by labels again,
/// getting the handle of the series' successor.
#[derive(Clone)]
pub struct SeriesRef(Arc<MemSeries>);

impl SeriesRef {
    /// The series' id (as in the WAL).
    pub fn id(&self) -> u32 {
        self.0.id
    }

    /// The series' labels.
    pub fn labels(&self) -> &Labels {
        &self.0.labels
    }
}

impl PartialEq for SeriesRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SeriesRef {}

impl std::fmt::Debug for SeriesRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SeriesRef").field(&self.0.id).finish()
    }
}

/// What a commit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Samples now in the head.
    pub appended: u64,
    /// Exact duplicates ignored.
    pub ignored: u64,
    /// Samples rejected at commit, per reason, with the first rejected series for each.
    pub rejected: Vec<(AppendError, u64, Labels)>,
}

impl CommitStats {
    fn reject(&mut self, e: AppendError, labels: &Labels) {
        match self.rejected.iter_mut().find(|(r, _, _)| *r == e) {
            Some(entry) => entry.1 += 1,
            None => self.rejected.push((e, 1, labels.clone())),
        }
    }
}

struct Pending {
    series: Arc<MemSeries>,
    t: i64,
    v: f64,
}

/// A batch of samples committed or rolled back as a unit. Dropping it without `commit` rolls
/// back: nothing is written (series it created stay, empty, and are removed by truncation).
///
/// Head truncation may remove a series between the append of a sample and the commit (the
/// series had no committed sample in range yet); the commit then writes the sample to the
/// series' successor, created under the same labels. Commits and the removal step of
/// truncation exclude each other (the head's commit gate), so a series never disappears in
/// the middle of a commit and each sample's series record is in the WAL.
pub struct Appender<'a> {
    head: &'a Head,
    pending: Vec<Pending>,
    min_t: i64,
    max_t: i64,
}

impl<'a> Appender<'a> {
    pub(super) fn new(head: &'a Head) -> Self {
        Self {
            head,
            pending: Vec::new(),
            min_t: head.appendable_min_time(),
            max_t: head.appendable_max_time(),
        }
    }

    /// The newest timestamp this appender accepts (its head's clock when it was created plus
    /// [`super::MAX_AHEAD_MS`]); later samples are refused as [`AppendError::OutOfBounds`],
    /// which a caller can word as "too far in the future" by comparing with this.
    pub fn max_time(&self) -> i64 {
        self.max_t
    }

    /// The oldest timestamp this appender accepts.
    pub fn min_time(&self) -> i64 {
        self.min_t
    }

    /// Adds a sample for the series with `labels` (creating the series if needed). The label
    /// set must not be empty. Returns the series' handle for later [`Appender::append_ref`].
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            self.head
                .counters
                .count_rejected(AppendError::InvalidLabels, 1);
            return Err(AppendError::InvalidLabels);
        }
        if t < self.min_t || t > self.max_t {
            self.head
                .counters
                .count_rejected(AppendError::OutOfBounds, 1);
            return Err(AppendError::OutOfBounds);
        }
        let (s, _) = self.head.get_or_create(labels, None);
        self.push(&s, t, v)?;
        Ok(SeriesRef(s))
    }

    /// Adds a sample for a series by handle. Returns `None` if head truncation removed the
    /// series: the caller should use [`Appender::append`].
    #[inline]
    pub fn append_ref(&mut self, r: &SeriesRef, t: i64, v: f64) -> Option<Result<(), AppendError>> {
        let s = &r.0;
        if s.removed.load(Ordering::Acquire) {
            return None;
        }
        if t < self.min_t || t > self.max_t {
            self.head
                .counters
                .count_rejected(AppendError::OutOfBounds, 1);
            return Some(Err(AppendError::OutOfBounds));
        }
        Some(self.push(s, t, v))
    }

    #[inline]
    fn push(&mut self, s: &Arc<MemSeries>, t: i64, v: f64) -> Result<(), AppendError> {
        // The common case, a sample newer than the series' last one, needs no lock; anything
        // else is checked under the lock (and everything again at commit).
        if t <= s.last_t_hint.load(Ordering::Acquire) {
            let st = s.state.lock();
            if let Err(e) = st.appendable(t, v) {
                drop(st);
                self.head.counters.count_rejected(e, 1);
                return Err(e);
            }
        }
        self.pending.push(Pending {
            series: Arc::clone(s),
            t,
            v,
        });
        Ok(())
    }

    /// Reserves room for `additional` more samples (a scrape knows roughly how many).
    pub fn reserve(&mut self, additional: usize) {
        self.pending.reserve(additional);
    }

    /// Number of samples buffered.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True if no sample is buffered.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Writes the batch to the WAL (one write) and applies it to memory. On a WAL error
    /// nothing is applied and the error is returned; nothing that was committed earlier is
    /// affected.
    pub fn commit(mut self) -> Result<CommitStats> {
        let head = self.head;
        let mut pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return Ok(CommitStats::default());
        }
        // Truncation cannot remove series until the samples are in memory.
        let _gate = head.commit_gate.read();
        for p in pending.iter_mut() {
            if p.series.removed.load(Ordering::Acquire) {
                p.series = head.get_or_create(&p.series.labels, None).0;
            }
        }
        if let Some(wal) = &head.wal {
            let mut new_series: Vec<RefSeries> = Vec::new();
            for p in &pending {
                if !p.series.logged.load(Ordering::Acquire) {
                    new_series.push(RefSeries {
                        r: u64::from(p.series.id),
                        labels: p.series.labels.clone(),
                    });
                }
            }
            new_series.sort_by_key(|s| s.r);
            new_series.dedup_by_key(|s| s.r);
            let mut series_buf = Vec::new();
            if !new_series.is_empty() {
                record::encode_series(&new_series, &mut series_buf);
            }
            let mut samples_buf = Vec::with_capacity(pending.len() * 12 + 32);
            let samples = pending.iter().map(|p| RefSample {
                r: u64::from(p.series.id),
                t: p.t,
                v: p.v,
            });
            record::encode_samples_iter(samples, &mut samples_buf);
            let res = {
                let mut w = wal.lock();
                if series_buf.is_empty() {
                    w.log(&[&samples_buf])
                } else {
                    w.log(&[&series_buf, &samples_buf])
                }
            };
            if let Err(e) = res {
                head.counters
                    .commit_failures
                    .fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
            if !new_series.is_empty() {
                for p in &pending {
                    p.series.logged.store(true, Ordering::Release);
                }
            }
        }
        Ok(apply(head, &pending))
    }

    /// Discards the batch.
    pub fn rollback(self) {
        // Dropping the pending samples is all there is to do.
    }
}

/// Applies committed samples to memory (under the commit gate).
fn apply(head: &Head, pending: &[Pending]) -> CommitStats {
    let mut stats = CommitStats::default();
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    let range = head.opts.chunk_range;
    for p in pending {
        let series = &p.series;
        let mut st = series.state.lock();
        match st.append(series.id, p.t, p.v, range, &head.chunks) {
            Ok(Appended::Added) => {
                series.last_t_hint.store(p.t, Ordering::Release);
                drop(st);
                stats.appended += 1;
                mint = mint.min(p.t);
                maxt = maxt.max(p.t);
            }
            Ok(Appended::Ignored) => stats.ignored += 1,
            Err(e) => {
                drop(st);
                head.counters.count_rejected(e, 1);
                stats.reject(e, &series.labels);
            }
        }
    }
    if stats.appended > 0 {
        head.note_time_range(mint, maxt);
        head.counters
            .samples_appended
            .fetch_add(stats.appended, Ordering::Relaxed);
    }
    stats
}

impl std::fmt::Debug for Appender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("pending", &self.pending.len())
            .finish()
    }
}
