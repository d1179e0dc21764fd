//! The head: the in-memory, appendable part of the database.
//!
//! It owns the series registry (looked up by label hash and by id, both striped for
//! concurrency), the roaring-bitmap label index, the open chunk of every series, the head
//! chunk files holding full chunks (memory-mapped), and the write-ahead log.
//!
//! What must stay true:
//! - A commit that returns `Ok` is in the WAL before any of its samples is visible in memory;
//!   replaying the WAL at open rebuilds the same head (samples rejected at commit are rejected
//!   the same way at replay, as long as one series is written by one appender at a time).
//! - A series record is in the WAL before any sample that refers to it: each series is logged
//!   by the first commit that carries a sample of it.
//! - Appends below `appendable_min_time()` are rejected as out of bounds: that is the end of
//!   the persisted blocks, or half a block range behind the newest sample in the head.
//! - Appends more than [`MAX_AHEAD_MS`] after the head's clock (the wall clock unless a test
//!   sets one) are rejected as out of bounds too, as Prometheus 3.5's receivers do, and the
//!   newest sample counts for the lower bound only up to that limit: no single series (not
//!   even one written before this check existed) moves the head's time range for the others.
//! - Series ids are `u32`, assigned in increasing order and never reused while the process
//!   runs; WAL replay restores the ids it finds.

mod appender;
mod postings;
mod read;
mod replay;
mod series;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::chunks::HeadChunks;
use crate::error::{AppendError, Error, Result};
use crate::labels::Labels;
use crate::tombstones::Tombstones;
use crate::wal::Wal;

pub use appender::{Appender, CommitStats, SeriesRef};
pub(crate) use postings::MemPostings;
pub use replay::ReplayStats;
pub(crate) use series::{range_start, MemSeries};

const STRIPES: usize = 256;

/// How far ahead of the head's clock a sample may be, in milliseconds (10 minutes, the
/// `maxAheadTime` of Prometheus 3.5's scrape loop and remote-write receiver). Later samples
/// are refused as [`AppendError::OutOfBounds`].
pub const MAX_AHEAD_MS: i64 = 10 * 60_000;

/// The head's clock: milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock in milliseconds since the Unix epoch.
pub fn wall_clock_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Settings of the head.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Block range in milliseconds (chunks never cross a multiple of it).
    pub chunk_range: i64,
    /// Size at which a head chunk file is finished and mapped.
    pub chunk_file_size: u64,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            chunk_range: 2 * 3_600_000,
            chunk_file_size: 128 << 20,
        }
    }
}

/// Counters of the head, readable at any time.
#[derive(Debug, Default)]
pub struct HeadCounters {
    /// Samples appended (committed).
    pub samples_appended: AtomicU64,
    /// Samples rejected because they were older than their series' newest sample.
    pub out_of_order: AtomicU64,
    /// Samples rejected for the same timestamp with a different value.
    pub duplicate: AtomicU64,
    /// Samples rejected for being older than the head accepts.
    pub out_of_bounds: AtomicU64,
    /// Samples rejected for an invalid label set.
    pub invalid_labels: AtomicU64,
    /// Series created.
    pub series_created: AtomicU64,
    /// Series removed by head truncation.
    pub series_removed: AtomicU64,
    /// Commits that failed because the WAL could not be written.
    pub commit_failures: AtomicU64,
}

impl HeadCounters {
    pub(crate) fn count_rejected(&self, e: AppendError, n: u64) {
        let c = match e {
            AppendError::OutOfOrder => &self.out_of_order,
            AppendError::Duplicate => &self.duplicate,
            AppendError::OutOfBounds => &self.out_of_bounds,
            AppendError::InvalidLabels => &self.invalid_labels,
        };
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// One stripe of the id → series map: ids are dense, so slot `id / STRIPES` of stripe
/// `id % STRIPES` holds series `id`.
type IdStripe = RwLock<Vec<Option<Arc<MemSeries>>>>;
/// One stripe of the label-hash → series map. The key already is a good hash.
type HashStripe = RwLock<HashMap<u64, HashSlot, BuildHasherDefault<IdentityHasher>>>;

/// A hasher for keys that are already uniformly distributed 64-bit hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

enum HashSlot {
    One(Arc<MemSeries>),
    Many(Vec<Arc<MemSeries>>),
}

/// The in-memory part of the database. See the module docs.
pub struct Head {
    opts: HeadOptions,
    by_hash: Box<[HashStripe]>,
    by_id: Box<[IdStripe]>,
    postings: RwLock<MemPostings>,
    next_id: AtomicU32,
    num_series: AtomicU64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    min_valid_time: AtomicI64,
    clock: RwLock<Clock>,
    chunks: HeadChunks,
    wal: Option<Mutex<Wal>>,
    tombstones: RwLock<Tombstones>,
    counters: HeadCounters,
    /// Held shared by every commit and exclusively while truncation removes series, so a
    /// commit sees each of its series either alive throughout or already removed.
    commit_gate: RwLock<()>,
}

impl std::fmt::Debug for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head")
            .field("series", &self.num_series())
            .field("min_time", &self.min_time())
            .field("max_time", &self.max_time())
            .finish()
    }
}

impl Head {
    /// Creates an empty head whose full chunks go to `chunks_dir` (cleared first) and whose
    /// commits go to `wal` (none: an ephemeral head, used by tests and backfill).
    pub fn new(opts: HeadOptions, chunks_dir: &Path, wal: Option<Wal>) -> Result<Self> {
        if opts.chunk_range <= 0 {
            return Err(Error::InvalidArgument(
                "block range must be positive".into(),
            ));
        }
        let chunks = HeadChunks::open(chunks_dir, opts.chunk_file_size)?;
        Ok(Self {
            opts,
            by_hash: (0..STRIPES)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
            by_id: (0..STRIPES).map(|_| RwLock::new(Vec::new())).collect(),
            postings: RwLock::new(MemPostings::default()),
            next_id: AtomicU32::new(1),
            num_series: AtomicU64::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            clock: RwLock::new(Arc::new(wall_clock_ms)),
            chunks,
            wal: wal.map(Mutex::new),
            tombstones: RwLock::new(Tombstones::default()),
            counters: HeadCounters::default(),
            commit_gate: RwLock::new(()),
        })
    }

    /// Starts logging commits to `wal` (after replay, before any append).
    pub(crate) fn attach_wal(&mut self, wal: Wal) {
        self.wal = Some(Mutex::new(wal));
    }

    /// The head's options.
    pub fn options(&self) -> &HeadOptions {
        &self.opts
    }

    /// A new appender; see [`Appender`].
    pub fn appender(&self) -> Appender<'_> {
        Appender::new(self)
    }

    /// Number of series in the head.
    pub fn num_series(&self) -> u64 {
        self.num_series.load(Ordering::Relaxed)
    }

    /// Oldest sample time in the head (`i64::MAX` when empty).
    pub fn min_time(&self) -> i64 {
        self.min_time.load(Ordering::Acquire)
    }

    /// Newest sample time in the head (`i64::MIN` when empty).
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    /// True if the head holds no samples.
    pub fn is_empty(&self) -> bool {
        self.max_time() == i64::MIN
    }

    /// The oldest timestamp an append may have now: the end of persisted data, or half a
    /// block range behind the newest sample (counted at most up to
    /// [`Head::appendable_max_time`]).
    pub fn appendable_min_time(&self) -> i64 {
        let floor = self.min_valid_time.load(Ordering::Acquire);
        let max = self.max_time();
        if max == i64::MIN {
            return floor;
        }
        let max = max.min(self.appendable_max_time());
        floor.max(max.saturating_sub(self.opts.chunk_range / 2))
    }

    /// The newest timestamp an append may have now: the clock plus [`MAX_AHEAD_MS`].
    pub fn appendable_max_time(&self) -> i64 {
        self.now_ms().saturating_add(MAX_AHEAD_MS)
    }

    /// The head's clock reading, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let clock = Arc::clone(&self.clock.read());
        clock()
    }

    /// Replaces the head's clock (the wall clock by default), for tests that need to move
    /// time.
    pub fn set_clock(&self, clock: Clock) {
        *self.clock.write() = clock;
    }

    /// The newest sample time that counts for the head's time range: [`Head::max_time`],
    /// but at most [`Head::appendable_max_time`] (samples stored beyond it before the limit
    /// existed do not move the range for other series). `i64::MIN` when empty.
    pub fn effective_max_time(&self) -> i64 {
        let max = self.max_time();
        if max == i64::MIN {
            return max;
        }
        max.min(self.appendable_max_time())
    }

    /// Raises the lower bound for appends (the end of persisted data).
    pub(crate) fn set_min_valid_time(&self, t: i64) {
        self.min_valid_time.fetch_max(t, Ordering::AcqRel);
    }

    /// The head's counters.
    pub fn counters(&self) -> &HeadCounters {
        &self.counters
    }

    /// Bytes in the head chunk files.
    pub fn chunks_size_bytes(&self) -> u64 {
        self.chunks.size_bytes()
    }

    /// Bytes in the WAL (segments and checkpoint).
    pub fn wal_size_bytes(&self) -> u64 {
        self.wal.as_ref().map_or(0, |w| w.lock().size_bytes())
    }

    /// Fsyncs the WAL (for a periodic-sync policy and at shutdown).
    pub fn sync_wal(&self) -> Result<()> {
        match &self.wal {
            Some(w) => w.lock().sync(),
            None => Ok(()),
        }
    }

    pub(crate) fn note_time_range(&self, mint: i64, maxt: i64) {
        self.min_time.fetch_min(mint, Ordering::AcqRel);
        self.max_time.fetch_max(maxt, Ordering::AcqRel);
    }

    fn hash_stripe(&self, hash: u64) -> &HashStripe {
        // Bits 48..56 pick the stripe: the map inside uses the low bits for buckets and the
        // top seven as tags, so the stripe choice must not correlate with either.
        &self.by_hash[((hash >> 48) as usize) % STRIPES]
    }

    fn id_stripe(&self, id: u32) -> &IdStripe {
        &self.by_id[(id as usize) % STRIPES]
    }

    /// Looks up a series by its labels.
    pub(crate) fn get_by_labels(&self, labels: &Labels, hash: u64) -> Option<Arc<MemSeries>> {
        let stripe = self.hash_stripe(hash).read();
        match stripe.get(&hash)? {
            HashSlot::One(s) => (s.labels == *labels).then(|| s.clone()),
            HashSlot::Many(v) => v.iter().find(|s| s.labels == *labels).cloned(),
        }
    }

    /// Looks up a series by id.
    pub(crate) fn get_by_id(&self, id: u32) -> Option<Arc<MemSeries>> {
        self.id_stripe(id)
            .read()
            .get(id as usize / STRIPES)
            .and_then(|s| s.clone())
    }

    /// Returns the series with `labels`, creating it (with a fresh id, or `want_id` during
    /// replay) if needed. The bool is true if it was created.
    pub(crate) fn get_or_create(
        &self,
        labels: &Labels,
        want_id: Option<u32>,
    ) -> (Arc<MemSeries>, bool) {
        let hash = labels.stable_hash();
        if let Some(s) = self.get_by_labels(labels, hash) {
            return (s, false);
        }
        let mut stripe = self.hash_stripe(hash).write();
        // Re-check under the write lock: another appender may have created it.
        let existing = match stripe.get(&hash) {
            Some(HashSlot::One(s)) if s.labels == *labels => Some(s.clone()),
            Some(HashSlot::Many(v)) => v.iter().find(|s| s.labels == *labels).cloned(),
            _ => None,
        };
        if let Some(s) = existing {
            return (s, false);
        }
        let id = match want_id {
            Some(id) => {
                self.next_id
                    .fetch_max(id.saturating_add(1), Ordering::AcqRel);
                id
            }
            None => self.next_id.fetch_add(1, Ordering::AcqRel),
        };
        let s = Arc::new(MemSeries::new(id, labels.clone()));
        match stripe.remove(&hash) {
            None => {
                stripe.insert(hash, HashSlot::One(s.clone()));
            }
            Some(HashSlot::One(other)) => {
                stripe.insert(hash, HashSlot::Many(vec![other, s.clone()]));
            }
            Some(HashSlot::Many(mut v)) => {
                v.push(s.clone());
                stripe.insert(hash, HashSlot::Many(v));
            }
        }
        // Index before releasing the hash stripe so no reader sees the series half-added.
        {
            let mut slots = self.id_stripe(id).write();
            let i = id as usize / STRIPES;
            if slots.len() <= i {
                slots.resize(i + 1, None);
            }
            slots[i] = Some(s.clone());
        }
        self.postings.write().add(id, labels);
        drop(stripe);
        self.num_series.fetch_add(1, Ordering::Relaxed);
        self.counters.series_created.fetch_add(1, Ordering::Relaxed);
        (s, true)
    }

    fn remove_series(&self, s: &MemSeries) {
        let hash = s.labels.stable_hash();
        let mut stripe = self.hash_stripe(hash).write();
        match stripe.remove(&hash) {
            Some(HashSlot::One(o)) if o.id != s.id => {
                stripe.insert(hash, HashSlot::One(o));
            }
            Some(HashSlot::Many(mut v)) => {
                v.retain(|o| o.id != s.id);
                match v.len() {
                    0 => {}
                    1 => {
                        stripe.insert(hash, HashSlot::One(v.remove(0)));
                    }
                    _ => {
                        stripe.insert(hash, HashSlot::Many(v));
                    }
                }
            }
            _ => {}
        }
        if let Some(slot) = self
            .id_stripe(s.id)
            .write()
            .get_mut(s.id as usize / STRIPES)
        {
            *slot = None;
        }
        self.postings.write().remove(s.id, &s.labels);
        drop(stripe);
        self.num_series.fetch_sub(1, Ordering::Relaxed);
        self.counters.series_removed.fetch_add(1, Ordering::Relaxed);
    }

    /// All series, in no particular order.
    pub(crate) fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let mut out = Vec::with_capacity(self.num_series() as usize);
        for stripe in self.by_id.iter() {
            out.extend(stripe.read().iter().flatten().cloned());
        }
        out
    }

    /// Drops every sample before `mint` from memory and the head chunk files, removes series
    /// left empty, and checkpoints the WAL so its segments stop growing. Called after the
    /// range before `mint` was persisted in a block.
    pub fn truncate(&self, mint: i64) -> Result<()> {
        self.set_min_valid_time(mint);
        let mut new_min = i64::MAX;
        let gate = self.commit_gate.write();
        for s in self.all_series() {
            let mut st = s.state.lock();
            let empty = st.truncate_before(mint);
            if empty && (!st.has_samples || st.last_t < mint) {
                // A sample for it still in an appender goes to a successor at commit.
                s.removed.store(true, Ordering::Release);
                drop(st);
                self.remove_series(&s);
                self.tombstones.write().remove(u64::from(s.id));
            } else if let Some(t) = st.min_time() {
                new_min = new_min.min(t);
            }
        }
        drop(gate);
        self.min_time.store(new_min, Ordering::Release);
        if new_min == i64::MAX {
            self.max_time.store(i64::MIN, Ordering::Release);
        }
        self.chunks.truncate_before(mint)?;
        if let Some(wal) = &self.wal {
            let dir = {
                let mut w = wal.lock();
                let cur = w.cut_segment()?;
                (w.dir().to_path_buf(), cur)
            };
            let (dir, cur) = dir;
            if cur > 1 {
                let keep = |r: u64| {
                    u32::try_from(r)
                        .ok()
                        .and_then(|id| self.get_by_id(id))
                        .is_some()
                };
                crate::wal::checkpoint(&dir, cur - 1, &keep, mint)?;
            }
        }
        Ok(())
    }

    /// Adds deleted intervals for series ids (already matched by the caller), logging them to
    /// the WAL first. As in Prometheus, the interval is clamped to the head's current time
    /// range: a deletion covers the samples that exist now, never samples appended later
    /// (`delete_series` without `end` must not hide a series' future samples).
    pub(crate) fn add_tombstones(&self, ids: &[u32], mint: i64, maxt: i64) -> Result<()> {
        let (mint, maxt) = (mint.max(self.min_time()), maxt.min(self.max_time()));
        if ids.is_empty() || mint > maxt {
            return Ok(());
        }
        if let Some(wal) = &self.wal {
            // A series created by an appender that has not committed yet has no series record
            // in the WAL; log it first so replay can resolve the tombstone.
            let mut unlogged = Vec::new();
            let mut series_refs = Vec::new();
            for &id in ids {
                if let Some(s) = self.get_by_id(id) {
                    if !s.logged.load(Ordering::Acquire) {
                        unlogged.push(crate::wal::record::RefSeries {
                            r: u64::from(id),
                            labels: s.labels.clone(),
                        });
                        series_refs.push(s);
                    }
                }
            }
            let stones: Vec<crate::wal::record::RefTombstone> = ids
                .iter()
                .map(|&id| crate::wal::record::RefTombstone {
                    r: u64::from(id),
                    mint,
                    maxt,
                })
                .collect();
            let mut buf = Vec::new();
            crate::wal::record::encode_tombstones(&stones, &mut buf);
            let mut series_buf = Vec::new();
            if unlogged.is_empty() {
                wal.lock().log(&[&buf])?;
            } else {
                crate::wal::record::encode_series(&unlogged, &mut series_buf);
                wal.lock().log(&[&series_buf, &buf])?;
                for s in series_refs {
                    s.logged.store(true, Ordering::Release);
                }
            }
        }
        let mut ts = self.tombstones.write();
        for &id in ids {
            ts.add(u64::from(id), mint, maxt);
        }
        Ok(())
    }

    /// Number of series with deleted intervals in the head.
    pub fn num_tombstones(&self) -> usize {
        self.tombstones.read().len()
    }

    /// Runs `f` with the label index read-locked.
    /// Chunks held by the head's series (full and open), as Prometheus's
    /// `prometheus_tsdb_head_chunks`. Walks every series: for status pages, not hot paths.
    pub fn num_chunks(&self) -> u64 {
        self.all_series()
            .iter()
            .map(|s| {
                let st = s.state.lock();
                st.full.len() as u64 + u64::from(st.open.is_some())
            })
            .sum()
    }

    pub(crate) fn with_postings<R>(&self, f: impl FnOnce(&MemPostings) -> R) -> R {
        f(&self.postings.read())
    }

    /// Flushes buffered head chunk writes.
    pub fn flush_chunks(&self) -> Result<()> {
        self.chunks.flush()
    }
}
