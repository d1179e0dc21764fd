//! WAL replay: every record of a WAL directory in order, newest checkpoint first.
//!
//! This module owns the choice of what to replay: the newest published checkpoint (if any),
//! then the WAL segments numbered after it. Damage is classified here: only the newest WAL
//! segment can hold a torn tail; everything else is mid-log corruption.
//!
//! What must stay true:
//! - Records come out in the order they were logged, checkpoint records first.
//! - A damaged segment never hides the records before the damage, and never stops the caller
//!   from reading the segments after it.
//! - Opening removes unfinished `checkpoint.<N>.tmp` directories (a crash while
//!   checkpointing) and nothing else.

use std::path::{Path, PathBuf};

use super::checkpoint::{checkpoint_segments, last_checkpoint, remove_stray_checkpoints};
use super::segment::{
    check_contiguous, list_segments, missing_segment, repair, Record, RepairReport, ReplayError,
    SegmentReader, SegmentRef,
};
use crate::error::Result;

/// Reads every record of a WAL directory: the newest checkpoint, then the segments after it.
///
/// ```no_run
/// # use tidemark_engine::wal::{WalReplay, ReplayError, repair};
/// # fn apply(_: &[u8]) {}
/// # fn main() -> tidemark_engine::Result<()> {
/// let mut replay = WalReplay::open(std::path::Path::new("data/wal"))?;
/// while let Some(rec) = replay.next_record() {
///     match rec {
///         Ok(rec) => apply(rec.payload),
///         // Expected after a crash; records before it were all returned. Nothing follows.
///         Err(ReplayError::Corrupt(c)) if c.torn_tail => { repair(&c)?; }
///         // Damage in an earlier segment: the caller decides. Here: keep the bad bytes in a
///         // side file, cut the segment, and go on with the next segment.
///         Err(ReplayError::Corrupt(c)) => { repair(&c)?; }
///         Err(e) => return Err(e.into()),
///     }
/// }
/// # Ok(()) }
/// ```
///
/// How damage is surfaced: [`next_record`](Self::next_record) yields a
/// [`ReplayError::Corrupt`] naming the segment file, its number, the byte offset of the first
/// bad frame and the cause, with `torn_tail` set when it is in the newest WAL segment. Every
/// record before that offset has already been returned. The next call continues with the
/// following segment (for a torn tail there is none). Nothing is changed on disk until the
/// caller calls [`repair`] (or uses [`WalReplay::replay_repairing`]).
#[derive(Debug)]
pub struct WalReplay {
    dir: PathBuf,
    checkpoint: Option<u32>,
    segments: Option<(u32, u32)>,
    reader: SegmentReader,
}

impl WalReplay {
    /// Opens the WAL in `dir` for reading (a missing directory replays nothing). Removes
    /// unfinished checkpoint directories. Fails if a segment is missing between the
    /// checkpoint and the newest segment (a gap means lost data, which needs an operator).
    pub fn open(dir: &Path) -> Result<WalReplay> {
        remove_stray_checkpoints(dir)?;
        let checkpoint = last_checkpoint(dir)?;
        let mut list = match checkpoint {
            Some(n) => checkpoint_segments(dir, n)?,
            None => Vec::new(),
        };
        let segs: Vec<u32> = list_segments(dir)?
            .into_iter()
            .filter(|&s| checkpoint.is_none_or(|c| s > c))
            .collect();
        if let (Some(c), Some(&first)) = (checkpoint, segs.first()) {
            if first != c + 1 {
                return Err(missing_segment(dir, c + 1));
            }
        }
        check_contiguous(dir, &segs)?;
        let tail = if segs.is_empty() {
            None
        } else {
            Some(list.len() + segs.len() - 1)
        };
        list.extend(segs.iter().map(|&s| SegmentRef::new(dir, s, None)));
        Ok(WalReplay {
            dir: dir.to_path_buf(),
            checkpoint,
            segments: segs.first().copied().zip(segs.last().copied()),
            reader: SegmentReader::new(list, tail),
        })
    }

    /// The next record, or the next problem (see the type's docs); `None` at the end.
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, ReplayError>> {
        self.reader.next_record()
    }

    /// The checkpoint being replayed, if any.
    pub fn checkpoint(&self) -> Option<u32> {
        self.checkpoint
    }

    /// The first and last WAL segments replayed after the checkpoint, if any.
    pub fn segments(&self) -> Option<(u32, u32)> {
        self.segments
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replays the whole WAL in `dir`, passing each record to `f`, and repairs damage as it
    /// goes: a torn tail is truncated; mid-log corruption is cut off into a side file and
    /// replay continues with the next segment. Returns what was repaired; the caller should
    /// at least log mid-log repairs loudly, since records were lost. Stops at the first error
    /// from `f` or an I/O error.
    pub fn replay_repairing(
        dir: &Path,
        mut f: impl FnMut(&Record<'_>) -> Result<()>,
    ) -> Result<ReplayReport> {
        let mut replay = WalReplay::open(dir)?;
        let mut report = ReplayReport {
            checkpoint: replay.checkpoint,
            segments: replay.segments,
            ..Default::default()
        };
        while let Some(rec) = replay.next_record() {
            match rec {
                Ok(rec) => {
                    report.records += 1;
                    f(&rec)?;
                }
                Err(ReplayError::Corrupt(c)) => report.repairs.push(repair(&c)?),
                Err(ReplayError::Io(e)) => return Err(e),
            }
        }
        Ok(report)
    }
}

/// What [`WalReplay::replay_repairing`] read and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// The checkpoint replayed, if any.
    pub checkpoint: Option<u32>,
    /// The WAL segments replayed after it.
    pub segments: Option<(u32, u32)>,
    /// Records passed to the callback.
    pub records: u64,
    /// Repairs made, in order. A `torn_tail: false` entry means records were lost.
    pub repairs: Vec<RepairReport>,
}
