//! The write-ahead log: every committed append is framed into segment files before the head
//! acknowledges it, so that a restart can rebuild the head.
//!
//! Layout of a WAL directory (format: `engine/docs/format/wal.md`):
//!
//! ```text
//! wal/
//!   checkpoint.00000041/   newest checkpoint: filtered records of segments ..= 41
//!     00000001
//!   00000042               segments after the checkpoint, 8-digit numbers, size-capped
//!   00000043               <- being written by `Wal`
//! ```
//!
//! The module is split by concern:
//! - [`segment`]: framing (`len | crc32 | payload` in numbered segment files), the writer
//!   behind [`Wal`], the reader, damage classification and [`repair`]. Knows nothing about what
//!   a record means.
//! - [`record`]: the typed records (series, samples, tombstones), pure functions over bytes.
//! - [`checkpoint`](mod@checkpoint): folding old segments into a checkpoint directory.
//! - [`replay`]: [`WalReplay`], reading a checkpoint then the segments after it.
//!
//! What must stay true:
//! - A [`Wal::log`] call that returned `Ok` is in the OS page cache as complete frames (and on
//!   disk with [`SyncPolicy::Always`]); one that returned `Err` left no partial frame behind.
//! - A writer only appends to a segment it created. [`Wal::open`] first truncates a torn tail
//!   of the newest existing segment, then starts a new segment after it, so torn bytes never
//!   end up in front of new records.
//! - "Newest published checkpoint + the segments numbered after it" always replays to
//!   everything logged and not deliberately dropped by a checkpoint, whatever crashed when.
//!
//! Recommended startup order: [`WalReplay`] (repairing damage) to rebuild the head, then
//! [`Wal::open`] to continue logging.

pub mod checkpoint;
pub mod record;
pub mod replay;
pub mod segment;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use checkpoint::{
    checkpoint, checkpoint_dir_name, last_checkpoint, parse_checkpoint_name,
    remove_stray_checkpoints, CheckpointStats,
};
pub use record::{
    decode_samples, decode_series, decode_tombstones, encode_samples, encode_series,
    encode_tombstones, record_type, RecordType, RefSample, RefSeries, RefTombstone,
};
pub use replay::{ReplayReport, WalReplay};
pub use segment::{
    list_segments, parse_segment_name, repair, segment_file_name, segment_range, Record,
    RepairReport, ReplayError, SegmentCorruption, SyncPolicy, WalOptions, DEFAULT_SEGMENT_SIZE,
    FRAME_HEADER_LEN, MAX_RECORD_LEN, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_VERSION,
};

use crate::error::{Error, Result};
use crate::fs as efs;
use segment::{SegmentReader, SegmentRef, SegmentWriter};

/// The WAL writer: appends framed records to the newest segment of a WAL directory.
///
/// Not internally synchronized: the head calls it under its own lock, once per commit.
#[derive(Debug)]
pub struct Wal {
    w: SegmentWriter,
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir` for writing.
    ///
    /// Removes unfinished checkpoint directories, truncates a torn tail of the newest existing
    /// segment (with a warning; this re-reads that segment, at most `segment_size` bytes), and
    /// starts a new segment numbered after both the newest segment and the newest checkpoint.
    /// Fails if the newest segment has an unsupported version.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Wal> {
        efs::create_dir_all(dir)?;
        remove_stray_checkpoints(dir)?;
        let last_seg = list_segments(dir)?.last().copied();
        let last_ckpt = last_checkpoint(dir)?;
        if let Some(s) = last_seg {
            if last_ckpt.is_none_or(|c| s > c) {
                repair_torn_tail(dir, s)?;
            }
        }
        let next = match last_seg.max(last_ckpt) {
            None => 1,
            Some(n) => n.checked_add(1).ok_or_else(|| {
                Error::InvalidArgument(format!("WAL {} has no segment numbers left", dir.display()))
            })?,
        };
        let w = SegmentWriter::create(dir, next, opts)?;
        tracing::debug!(dir = %dir.display(), segment = next, "WAL opened for writing");
        Ok(Wal { w })
    }

    /// Appends `records` (each non-empty, each at most [`MAX_RECORD_LEN`] bytes) as frames
    /// with a single write; with [`SyncPolicy::Always`], fsyncs before returning. All records
    /// of one call go into the same segment: if they would push a non-empty segment past the
    /// size cap, a new segment is cut first.
    ///
    /// On a write or fsync error (a full disk, say) the segment is truncated back to its length
    /// before the call, so no partial frame stays, and [`Error::Io`] names the operation and
    /// the segment file. The WAL stays usable: a later call succeeds once space is back.
    pub fn log(&mut self, records: &[&[u8]]) -> Result<()> {
        self.w.log(records)
    }

    /// Fsyncs the current segment (for callers doing periodic fsync with
    /// [`SyncPolicy::Never`]).
    pub fn sync(&mut self) -> Result<()> {
        self.w.sync()
    }

    /// Fsyncs the current segment and starts a new one; returns the new segment's number. If
    /// the new segment cannot be created, logging continues in the current one.
    pub fn cut_segment(&mut self) -> Result<u32> {
        self.w.cut()
    }

    /// The number of the segment being written.
    pub fn current_segment(&self) -> u32 {
        self.w.segment()
    }

    /// Bytes on disk under the WAL directory: all segments, checkpoints and side files.
    /// Walks the directory (a few dozen entries).
    pub fn size_bytes(&self) -> u64 {
        efs::dir_size(self.w.dir())
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        self.w.dir()
    }

    /// Fsyncs the current segment and closes the WAL.
    pub fn close(mut self) -> Result<()> {
        self.w.sync()
    }
}

/// Reads segment `n` of `dir`, the newest, and truncates a torn tail.
fn repair_torn_tail(dir: &Path, n: u32) -> Result<()> {
    let mut r = SegmentReader::new(vec![SegmentRef::new(dir, n, None)], Some(0));
    while let Some(rec) = r.next_record() {
        match rec {
            Ok(_) => {}
            Err(ReplayError::Corrupt(c)) if c.torn_tail => {
                repair(&c)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Feeds arbitrary bytes through every WAL record decoder; must never panic.
pub fn fuzz_wal_record(data: &[u8]) {
    record::fuzz_wal_record(data)
}

/// Writes arbitrary bytes as a segment file in a temporary directory, then replays, repairs
/// and replays again; must never panic.
///
/// `data[0]` picks the scenario: bit 0 clear puts a valid segment after the fuzzed one (so
/// damage is mid-log corruption), set makes the fuzzed segment the newest (torn tail). The
/// rest of `data` is the segment file. Checks that after [`repair`], replay is clean and
/// returns exactly the records returned before the damage, and that [`Wal::open`] works.
pub fn fuzz_wal_segment(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let Ok(tmp) = FuzzDir::new() else { return };
    let dir = tmp.0.as_path();
    if std::fs::write(dir.join(segment_file_name(1)), bytes).is_err() {
        return;
    }
    let mid_log = mode & 1 == 0;
    if mid_log {
        let Ok(mut w) = SegmentWriter::create(dir, 2, WalOptions::default()) else {
            return;
        };
        if w.log(&[b"after"]).is_err() {
            return;
        }
    }

    let Ok(mut replay) = WalReplay::open(dir) else {
        return;
    };
    let mut first: Vec<Vec<u8>> = Vec::new();
    let mut damage = Vec::new();
    while let Some(rec) = replay.next_record() {
        match rec {
            Ok(r) => first.push(r.payload.to_vec()),
            Err(ReplayError::Corrupt(c)) => {
                assert!(c.segment == 1, "only segment 1 was fuzzed: {c}");
                assert!(
                    !(mid_log && c.torn_tail),
                    "damage before the newest segment is not a torn tail"
                );
                damage.push(c);
            }
            Err(ReplayError::Io(_)) => return,
        }
    }
    assert!(
        damage.len() <= 1,
        "one segment has at most one reported damage"
    );
    if mid_log {
        assert_eq!(first.last().map(Vec::as_slice), Some(&b"after"[..]));
    }
    for c in &damage {
        if repair(c).is_err() {
            return;
        }
    }
    let Ok(mut replay) = WalReplay::open(dir) else {
        return;
    };
    let mut second: Vec<Vec<u8>> = Vec::new();
    while let Some(rec) = replay.next_record() {
        match rec {
            Ok(r) => second.push(r.payload.to_vec()),
            Err(ReplayError::Corrupt(c)) => panic!("damage left after repair: {c}"),
            Err(ReplayError::Io(_)) => return,
        }
    }
    assert_eq!(
        first, second,
        "repair changed the records before the damage"
    );
    if let Ok(mut wal) = Wal::open(dir, WalOptions::default()) {
        let _ = wal.log(&[b"new"]);
    }
}

/// A uniquely named temporary directory for [`fuzz_wal_segment`], removed on drop. (The
/// `tempfile` crate is only a dev-dependency.)
struct FuzzDir(PathBuf);

impl FuzzDir {
    fn new() -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("tidemark-fuzz-wal-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
}

impl Drop for FuzzDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
