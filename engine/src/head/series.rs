//! In-memory series: the open chunk, the references of full chunks already written to the
//! head chunk files, and the per-series ordering rules.
//!
//! What must stay true:
//! - Samples inside a series are strictly increasing in time; an older timestamp is
//!   [`AppendError::OutOfOrder`], the same timestamp with different value bits is
//!   [`AppendError::Duplicate`], and an exact duplicate is ignored.
//! - A chunk never spans a block-range boundary, so compaction can move whole chunks.
//! - Full chunks are written to the head chunk files and dropped from the heap; a chunk
//!   whose write failed (e.g. disk full) stays in memory and is still served.

use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::chunkenc::{XorChunk, ENCODING_XOR};
use crate::chunks::HeadChunks;
use crate::error::AppendError;
use crate::labels::Labels;

/// Target number of samples per chunk (as in Prometheus).
pub(crate) const SAMPLES_PER_CHUNK: usize = 120;

/// Initial byte capacity of a new open chunk.
const OPEN_CHUNK_CAPACITY: usize = 128;

/// A full chunk, on disk (mapped) or kept in memory after a failed write.
#[derive(Debug)]
pub(crate) enum FullChunk {
    File {
        mint: i64,
        maxt: i64,
        r: u64,
    },
    Mem {
        mint: i64,
        maxt: i64,
        bytes: Arc<[u8]>,
    },
}

impl FullChunk {
    pub fn mint(&self) -> i64 {
        match self {
            FullChunk::File { mint, .. } | FullChunk::Mem { mint, .. } => *mint,
        }
    }
    pub fn maxt(&self) -> i64 {
        match self {
            FullChunk::File { maxt, .. } | FullChunk::Mem { maxt, .. } => *maxt,
        }
    }
}

/// Mutable state of a series, behind its mutex.
#[derive(Debug, Default)]
pub(crate) struct SeriesState {
    pub full: Vec<FullChunk>,
    pub open: Option<XorChunk>,
    /// Exclusive end of the block range the open chunk belongs to.
    pub open_range_end: i64,
    /// Newest sample; `last_t == i64::MIN && !has_samples` for a new series.
    pub last_t: i64,
    pub last_v_bits: u64,
    pub has_samples: bool,
}

/// A series in the head.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub id: u32,
    pub labels: Labels,
    /// True once a series record for it is in the WAL.
    pub logged: AtomicBool,
    /// Set (under the state lock and the head's commit gate) when head truncation removed
    /// the series; holders of its handle then re-resolve it by labels.
    pub removed: AtomicBool,
    /// The newest committed sample time as of the last append (`i64::MIN` before any),
    /// readable without the lock: a sample after it is appendable without taking the lock.
    /// Only written under the `state` lock; a stale value only moves checks to commit time.
    pub last_t_hint: AtomicI64,
    pub state: Mutex<SeriesState>,
}

/// The result of appending one sample to a series.
pub(crate) enum Appended {
    Added,
    /// Exact duplicate of the newest sample: nothing to do.
    Ignored,
}

impl MemSeries {
    pub fn new(id: u32, labels: Labels) -> Self {
        Self {
            id,
            labels,
            logged: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            last_t_hint: AtomicI64::new(i64::MIN),
            state: Mutex::new(SeriesState::default()),
        }
    }
}

impl SeriesState {
    /// Checks whether `(t, v)` may be appended, without changing anything.
    pub fn appendable(&self, t: i64, v: f64) -> Result<Appended, AppendError> {
        if !self.has_samples || t > self.last_t {
            return Ok(Appended::Added);
        }
        if t < self.last_t {
            return Err(AppendError::OutOfOrder);
        }
        if v.to_bits() == self.last_v_bits {
            Ok(Appended::Ignored)
        } else {
            Err(AppendError::Duplicate)
        }
    }

    /// Appends a sample, cutting the open chunk when it is full or `t` enters a new block
    /// range. `chunk_range` is the block range in ms.
    pub fn append(
        &mut self,
        series_id: u32,
        t: i64,
        v: f64,
        chunk_range: i64,
        files: &HeadChunks,
    ) -> Result<Appended, AppendError> {
        let res = self.appendable(t, v)?;
        if let Appended::Ignored = res {
            return Ok(res);
        }
        let needs_cut = match &self.open {
            None => true,
            Some(c) => c.num_samples() >= SAMPLES_PER_CHUNK || t >= self.open_range_end,
        };
        if needs_cut {
            self.cut(series_id, files);
            // ~1 byte per sample on typical data: sized so a chunk rarely reallocates.
            self.open = Some(XorChunk::with_capacity(OPEN_CHUNK_CAPACITY));
            self.open_range_end = range_end(t, chunk_range);
        }
        if let Some(c) = self.open.as_mut() {
            c.append(t, v);
        }
        self.last_t = t;
        self.last_v_bits = v.to_bits();
        self.has_samples = true;
        Ok(Appended::Added)
    }

    /// Moves the open chunk (if any) to the full chunks, writing it to the head chunk files.
    pub fn cut(&mut self, series_id: u32, files: &HeadChunks) {
        let Some(mut c) = self.open.take() else {
            return;
        };
        let (Some(mint), Some(maxt)) = (c.first_time(), c.last_time()) else {
            return;
        };
        match files.write(u64::from(series_id), mint, maxt, ENCODING_XOR, c.bytes()) {
            Ok(r) => self.full.push(FullChunk::File { mint, maxt, r }),
            Err(e) => {
                tracing::warn!(series = series_id, error = %e, "keeping chunk in memory: head chunk write failed");
                c.shrink_to_fit();
                self.full.push(FullChunk::Mem {
                    mint,
                    maxt,
                    bytes: Arc::from(c.bytes()),
                });
            }
        }
    }

    /// Minimum time of any sample held, if any.
    pub fn min_time(&self) -> Option<i64> {
        self.full
            .first()
            .map(|c| c.mint())
            .or_else(|| self.open.as_ref().and_then(|c| c.first_time()))
    }

    /// Drops full chunks entirely before `mint`, and the open chunk if it ends before `mint`.
    /// Returns true if the series holds no samples afterwards.
    pub fn truncate_before(&mut self, mint: i64) -> bool {
        self.full.retain(|c| c.maxt() >= mint);
        if self
            .open
            .as_ref()
            .and_then(|c| c.last_time())
            .is_some_and(|t| t < mint)
        {
            self.open = None;
        }
        self.full.is_empty() && self.open.is_none()
    }
}

/// Exclusive end of the block range holding `t` (ranges are aligned to multiples of
/// `range` from the Unix epoch; works for negative times).
pub(crate) fn range_end(t: i64, range: i64) -> i64 {
    range_start(t, range).saturating_add(range)
}

/// Start of the block range holding `t`.
pub(crate) fn range_start(t: i64, range: i64) -> i64 {
    // Saturates at i64::MIN: the first range is open-ended towards the past.
    t.div_euclid(range).checked_mul(range).unwrap_or(i64::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_align_for_negative_times() {
        assert_eq!(range_start(-1, 10), -10);
        assert_eq!(range_end(-1, 10), 0);
        assert_eq!(range_start(0, 10), 0);
        assert_eq!(range_end(9, 10), 10);
        assert_eq!(range_start(i64::MIN, 7_200_000), i64::MIN);
        assert_eq!(range_end(i64::MAX, 7_200_000), i64::MAX);
    }
}
