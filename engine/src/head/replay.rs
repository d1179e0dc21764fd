//! Rebuilding the head from the write-ahead log at open.
//!
//! Records are applied in WAL order: series records (re)create series with the ids they were
//! logged with, samples go straight into the series (not logged again), tombstones are
//! re-added. Samples older than the persisted blocks (already compacted) are skipped, and
//! samples referring to a series id never seen are counted and skipped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
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

/// Series ids are dense, so most lookups hit the vector.
const DENSE_LIMIT: u64 = 1 << 26;

#[derive(Default)]
struct RefMap {
    dense: Vec<Option<Arc<MemSeries>>>,
    sparse: HashMap<u64, Arc<MemSeries>>,
}

impl RefMap {
    fn insert(&mut self, r: u64, s: Arc<MemSeries>) {
        if r < DENSE_LIMIT {
            let i = r as usize;
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
            self.dense.get(r as usize).and_then(|s| s.as_ref())
        } else {
            self.sparse.get(&r)
        }
    }
}

impl Head {
    /// Replays the WAL in `dir` into this (empty) head.
    pub(crate) fn replay_wal(&self, dir: &Path) -> Result<ReplayStats> {
        let start = Instant::now();
        let mut stats = ReplayStats::default();
        let mut refs = RefMap::default();
        let floor = self.min_valid_time.load(Ordering::Acquire);
        let range = self.opts.chunk_range;
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
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
                    record::decode_series(rec, &mut series_buf).map(|_| {
                        for s in series_buf.drain(..) {
                            let want = u32::try_from(s.r).ok();
                            let (series, _) = self.get_or_create(&s.labels, want);
                            series.logged.store(true, Ordering::Release);
                            refs.insert(s.r, series);
                            stats.series += 1;
                        }
                    })
                }
                Ok(RecordType::Samples) => {
                    samples_buf.clear();
                    record::decode_samples(rec, &mut samples_buf).map(|_| {
                        for smp in &samples_buf {
                            let Some(series) = refs.get(smp.r) else {
                                stats.unknown_refs += 1;
                                continue;
                            };
                            if smp.t < floor {
                                stats.skipped_persisted += 1;
                                continue;
                            }
                            let mut st = series.state.lock();
                            match st.append(series.id, smp.t, smp.v, range, &self.chunks) {
                                Ok(Appended::Added) => {
                                    stats.samples += 1;
                                    mint = mint.min(smp.t);
                                    maxt = maxt.max(smp.t);
                                }
                                Ok(Appended::Ignored) => {}
                                Err(_) => stats.rejected += 1,
                            }
                        }
                    })
                }
                Ok(RecordType::Tombstones) => {
                    stones_buf.clear();
                    record::decode_tombstones(rec, &mut stones_buf).map(|_| {
                        let mut ts = self.tombstones.write();
                        for st in &stones_buf {
                            match refs.get(st.r) {
                                Some(s) => {
                                    ts.add(u64::from(s.id), st.mint, st.maxt);
                                    stats.tombstones += 1;
                                }
                                None => stats.unknown_refs += 1,
                            }
                        }
                    })
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
        if stats.samples > 0 {
            self.note_time_range(mint, maxt);
        }
        self.counters
            .samples_appended
            .fetch_add(stats.samples, Ordering::Relaxed);
        stats.duration = start.elapsed();
        Ok(stats)
    }
}
