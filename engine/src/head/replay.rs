//! Rebuilding the head from the write-ahead log at open.
//!
//! Records are applied in WAL order: series records (re)create series with the ids they were
//! logged with, samples go straight into the series (not logged again), tombstones are
//! re-added. Samples older than the persisted blocks (already compacted) are skipped, and
//! samples referring to a series id never seen are counted and skipped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::Arc;

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::wal::record::{self, RecordType, RefSample, RefSeries, RefTombstone};
use crate::wal::{repair, ReplayError, WalReplay};

use super::series::{Appended, MemSeries};
use super::Head;

/// What a WAL replay did.
#[derive(Debug, Clone, Default)]
pub struct ReplayStats {
    /// Records read.
    pub records: u64,
    /// Series records applied.
    pub series: u64,
    /// Samples restored into the head.
    pub samples: u64,
    /// Samples skipped because they are already in blocks.
    pub skipped_persisted: u64,
    /// Samples rejected (out of order or duplicate), as they were at commit time.
    pub rejected: u64,
    /// Samples or tombstones referring to a series id with no series record.
    pub unknown_refs: u64,
    /// Tombstone intervals restored.
    pub tombstones: u64,
    /// Corruption found and repaired (segment, offset, what), logged as warnings.
    pub corruptions: Vec<String>,
    /// Wall time of the replay.
    pub duration: Duration,
}

/// Series refs are dense; each worker sees every `workers`-th ref, so slot `r / workers` of
/// its vector holds ref `r` (refs too large for that fall back to a map).
const DENSE_LIMIT: u64 = 1 << 26;

/// A worker's ref → series map.
struct RefMap {
    stride: u64,
    dense: Vec<Option<Arc<MemSeries>>>,
    sparse: HashMap<u64, Arc<MemSeries>>,
}

impl RefMap {
    fn new(stride: u64) -> Self {
        Self {
            stride,
            dense: Vec::new(),
            sparse: HashMap::new(),
        }
    }
    fn insert(&mut self, r: u64, s: Arc<MemSeries>) {
        if r < DENSE_LIMIT {
            let i = (r / self.stride) as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, None);
            }
            self.dense[i] = Some(s);
        } else {
            self.sparse.insert(r, s);
        }
    }
    fn get(&self, r: u64) -> Option<&Arc<MemSeries>> {
        if r < DENSE_LIMIT {
            self.dense
                .get((r / self.stride) as usize)
                .and_then(|s| s.as_ref())
        } else {
            self.sparse.get(&r)
        }
    }
}

/// One decoded WAL entry, routed to the worker owning its series ref.
enum Item {
    Series(RefSeries),
    Sample(RefSample),
    Stone(RefTombstone),
}

/// What one replay worker did.
struct WorkerStats {
    series: u64,
    samples: u64,
    skipped_persisted: u64,
    rejected: u64,
    unknown_refs: u64,
    tombstones: u64,
    mint: i64,
    maxt: i64,
}

/// Items per batch handed to a worker.
const BATCH: usize = 4096;

impl Head {
    /// Replays the WAL in `dir` into this (empty) head.
    ///
    /// The calling thread reads, checks and decodes records; worker threads apply them,
    /// sharded by series ref. Each worker receives the series, sample and tombstone entries of
    /// its refs in WAL order, so a series exists before its samples and tombstones arrive, and
    /// each series' samples are applied in order.
    pub(crate) fn replay_wal(&self, dir: &Path) -> Result<ReplayStats> {
        let start = Instant::now();
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8);
        let floor = self.min_valid_time.load(Ordering::Acquire);
        let mut stats = ReplayStats::default();
        let worker_stats = std::thread::scope(|scope| -> Result<Vec<WorkerStats>> {
            let mut txs = Vec::with_capacity(workers);
            let mut handles = Vec::with_capacity(workers);
            // Emptied batches come back for reuse, so the reader does not allocate what the
            // workers free (cross-thread frees are slow in glibc).
            let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<Item>>();
            for _ in 0..workers {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Item>>(8);
                txs.push(tx);
                let back = back_tx.clone();
                handles
                    .push(scope.spawn(move || self.replay_worker(rx, back, workers as u64, floor)));
            }
            drop(back_tx);
            let res = self.replay_records(dir, &txs, &back_rx, &mut stats);
            drop(txs);
            let mut out = Vec::with_capacity(workers);
            for h in handles {
                out.push(h.join().map_err(|_| {
                    crate::error::Error::InvalidArgument("a WAL replay worker panicked".into())
                })?);
            }
            res.map(|()| out)
        })?;
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        for w in worker_stats {
            stats.series += w.series;
            stats.samples += w.samples;
            stats.skipped_persisted += w.skipped_persisted;
            stats.rejected += w.rejected;
            stats.unknown_refs += w.unknown_refs;
            stats.tombstones += w.tombstones;
            if w.samples > 0 {
                mint = mint.min(w.mint);
                maxt = maxt.max(w.maxt);
            }
        }
        if stats.samples > 0 {
            self.note_time_range(mint, maxt);
        }
        self.counters
            .samples_appended
            .fetch_add(stats.samples, Ordering::Relaxed);
        stats.duration = start.elapsed();
        Ok(stats)
    }

    /// The reading side of [`Head::replay_wal`].
    fn replay_records(
        &self,
        dir: &Path,
        txs: &[SyncSender<Vec<Item>>],
        back: &Receiver<Vec<Item>>,
        stats: &mut ReplayStats,
    ) -> Result<()> {
        let n = txs.len() as u64;
        let mut batches: Vec<Vec<Item>> = (0..n).map(|_| Vec::with_capacity(BATCH)).collect();
        let route = |r: u64, item: Item, batches: &mut Vec<Vec<Item>>| {
            let i = (r % n) as usize;
            batches[i].push(item);
            if batches[i].len() >= BATCH {
                let fresh = back
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                let full = std::mem::replace(&mut batches[i], fresh);
                // A worker only stops early by panicking, which the caller reports.
                let _ = txs[i].send(full);
            }
        };
        let mut series_buf: Vec<RefSeries> = Vec::new();
        let mut samples_buf: Vec<RefSample> = Vec::new();
        let mut stones_buf: Vec<RefTombstone> = Vec::new();
        let mut replay = WalReplay::open(dir)?;
        while let Some(next) = replay.next_record() {
            let rec = match next {
                Ok(rec) => rec.payload,
                Err(ReplayError::Corrupt(c)) => {
                    // Keep everything before the damage; cut it out (saving the bytes aside
                    // for mid-log corruption) and go on with what follows.
                    let what = c.to_string();
                    let rep = repair(&c)?;
                    tracing::warn!(wal = %dir.display(), bytes_removed = rep.bytes_removed, "{what}; repaired");
                    stats.corruptions.push(match &rep.side_file {
                        Some(side) => format!("{what} (cut bytes saved to {})", side.display()),
                        None => what,
                    });
                    continue;
                }
                Err(ReplayError::Io(e)) => return Err(e),
            };
            stats.records += 1;
            let decoded = match record::record_type(rec) {
                Ok(RecordType::Series) => {
                    series_buf.clear();
                    let res = record::decode_series(rec, &mut series_buf);
                    for s in series_buf.drain(..) {
                        route(s.r, Item::Series(s), &mut batches);
                    }
                    res
                }
                Ok(RecordType::Samples) => {
                    samples_buf.clear();
                    let res = record::decode_samples(rec, &mut samples_buf);
                    for s in samples_buf.drain(..) {
                        route(s.r, Item::Sample(s), &mut batches);
                    }
                    res
                }
                Ok(RecordType::Tombstones) => {
                    stones_buf.clear();
                    let res = record::decode_tombstones(rec, &mut stones_buf);
                    for s in stones_buf.drain(..) {
                        route(s.r, Item::Stone(s), &mut batches);
                    }
                    res
                }
                Err(e) => Err(e),
            };
            if let Err(e) = decoded {
                // The frame's CRC matched, so the bytes are what was written: a record this
                // version cannot decode. Report it and go on with the next record.
                let msg = format!("undecodable WAL record #{}: {e}", stats.records);
                tracing::warn!(wal = %dir.display(), "{msg}");
                stats.corruptions.push(msg);
            }
        }
        for (i, b) in batches.into_iter().enumerate() {
            if !b.is_empty() {
                let _ = txs[i].send(b);
            }
        }
        Ok(())
    }

    /// Applies batches until the channel closes.
    fn replay_worker(
        &self,
        rx: Receiver<Vec<Item>>,
        back: Sender<Vec<Item>>,
        stride: u64,
        floor: i64,
    ) -> WorkerStats {
        let range = self.opts.chunk_range;
        let mut refs = RefMap::new(stride);
        let mut w = WorkerStats {
            series: 0,
            samples: 0,
            skipped_persisted: 0,
            rejected: 0,
            unknown_refs: 0,
            tombstones: 0,
            mint: i64::MAX,
            maxt: i64::MIN,
        };
        while let Ok(mut batch) = rx.recv() {
            for item in batch.drain(..) {
                match item {
                    Item::Series(s) => {
                        // The same labels may come back under a newer ref (a series removed
                        // by truncation and re-created before the next checkpoint): both refs
                        // then lead to one series.
                        let want = u32::try_from(s.r).ok();
                        let (series, _) = self.get_or_create(&s.labels, want);
                        series.logged.store(true, Ordering::Release);
                        refs.insert(s.r, series);
                        w.series += 1;
                    }
                    Item::Sample(smp) => {
                        let Some(series) = refs.get(smp.r) else {
                            w.unknown_refs += 1;
                            continue;
                        };
                        if smp.t < floor {
                            w.skipped_persisted += 1;
                            continue;
                        }
                        let mut st = series.state.lock();
                        match st.append(series.id, smp.t, smp.v, range, &self.chunks) {
                            Ok(Appended::Added) => {
                                series.last_t_hint.store(smp.t, Ordering::Release);
                                w.samples += 1;
                                w.mint = w.mint.min(smp.t);
                                w.maxt = w.maxt.max(smp.t);
                            }
                            Ok(Appended::Ignored) => {}
                            Err(_) => w.rejected += 1,
                        }
                    }
                    Item::Stone(st) => match refs.get(st.r) {
                        Some(s) => {
                            // Deletions cover samples that existed when they were made; a
                            // WAL written before deletions were clamped may hold an open end
                            // (`i64::MAX`), which must not hide the series' later samples.
                            let newest = {
                                let state = s.state.lock();
                                state.has_samples.then_some(state.last_t)
                            };
                            if let Some(newest) = newest {
                                let maxt = st.maxt.min(newest);
                                if st.mint <= maxt {
                                    self.tombstones.write().add(u64::from(s.id), st.mint, maxt);
                                }
                            }
                            w.tombstones += 1;
                        }
                        None => w.unknown_refs += 1,
                    },
                }
            }
            // The reader may be done already; then the buffer is simply freed.
            let _ = back.send(batch);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use crate::iter::collect_samples;
    use crate::wal::record::{encode_tombstones, RefTombstone};
    use crate::wal::{Wal, WalOptions};
    use crate::{labels, Db, DbOptions, Matcher};

    fn times(db: &Db) -> Vec<i64> {
        db.querier(i64::MIN, i64::MAX)
            .select(&[Matcher::equal("__name__", "x")])
            .unwrap()
            .iter()
            .flat_map(|s| collect_samples(&mut s.iter()).unwrap())
            .map(|(t, _)| t)
            .collect()
    }

    /// A WAL written before deletions were clamped holds open-ended tombstones; replaying it
    /// must hide only the samples that existed then, not the series' later ones.
    #[test]
    fn open_ended_wal_tombstones_do_not_hide_later_samples() {
        let dir = tempfile::tempdir().unwrap();
        let l = labels!("__name__" => "x");
        let id = {
            let db = Db::open(dir.path(), DbOptions::default()).unwrap();
            let mut app = db.appender();
            let r = app.append(&l, 1_000, 1.0).unwrap();
            app.append_ref(&r, 2_000, 2.0).unwrap().unwrap();
            app.commit().unwrap();
            db.close().unwrap();
            r.id()
        };
        {
            let mut wal = Wal::open(&dir.path().join("wal"), WalOptions::default()).unwrap();
            let mut buf = Vec::new();
            let stone = RefTombstone {
                r: u64::from(id),
                mint: i64::MIN,
                maxt: i64::MAX,
            };
            encode_tombstones(&[stone], &mut buf);
            wal.log(&[&buf]).unwrap();
            wal.close().unwrap();
        }
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        assert_eq!(db.replay_stats().tombstones, 1);
        assert!(times(&db).is_empty());
        let mut app = db.appender();
        app.append(&l, 3_000, 3.0).unwrap();
        app.commit().unwrap();
        assert_eq!(times(&db), vec![3_000]);
        drop(db);
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        assert_eq!(times(&db), vec![3_000]);
    }
}
