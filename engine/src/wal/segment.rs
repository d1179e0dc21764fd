//! WAL framing: numbered segment files of length- and CRC-framed records.
//!
//! This module owns the byte layout of segment files (header, frames), writing frames
//! (`SegmentWriter`), reading and checking them (`SegmentReader`), classifying bad bytes
//! ([`SegmentCorruption`]) and cutting them off ([`repair`]). It knows nothing about what a
//! record means: payloads are opaque bytes (see [`super::record`]).
//!
//! What must stay true:
//! - A segment file is the 8-byte header followed by complete frames
//!   `len u32 LE | crc32 u32 LE | payload`, except for a torn tail in the newest segment after
//!   a crash. A frame is never split across segments, and `len > 0`, so zero-filled bytes
//!   never read as a record.
//! - The writer never leaves a partial frame behind when a write fails: it truncates the
//!   segment back to its last complete frame before returning the error (or, if even that
//!   fails, before its next write).
//! - The writer only ever appends to a segment it created itself; a segment from an earlier
//!   process is never written again, so a torn tail never sits in front of new records.
//! - The reader never trusts a length field: a frame length is checked against the bytes left
//!   in the file before any buffer is sized from it. It checks every CRC, never panics and
//!   stops at the end of each file.
//! - Repair never deletes data silently: a torn tail is truncated with a warning; anything
//!   else is first copied to a `<segment>.corrupt` side file.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::encoding::{Decbuf, Encbuf};
use crate::error::{Corruption, Error, Result};
use crate::fs as efs;

/// Magic number at the start of every segment file (`u32` LE; the bytes spell `TMWL`).
pub const SEGMENT_MAGIC: u32 = 0x4C57_4D54;
/// Version of the segment framing this code reads and writes.
pub const SEGMENT_VERSION: u8 = 1;
/// Length of the segment header: magic (4), version (1), reserved zero bytes (3).
pub const SEGMENT_HEADER_LEN: u64 = 8;
/// Length of a frame header: payload length (4) and CRC32 of the payload (4).
pub const FRAME_HEADER_LEN: u64 = 8;
/// Default segment size cap: 128 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;
/// Largest payload a frame can hold (its length is a `u32`).
pub const MAX_RECORD_LEN: usize = u32::MAX as usize;
/// Largest segment number that still fits the 8-digit file name.
pub const MAX_SEGMENT: u32 = 99_999_999;

/// Read buffer size of a [`SegmentReader`]; grows only for a larger record.
const READ_BUF: usize = 1 << 20;

/// When the WAL fsyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// No fsync per commit: a commit survives a process crash (the data is in the OS page
    /// cache) but not a machine crash. Finished segments are fsynced when they are cut; call
    /// [`super::Wal::sync`] for periodic fsyncs.
    #[default]
    Never,
    /// Fsync after every [`super::Wal::log`] call: a commit survives a machine crash.
    Always,
}

/// Options of a [`super::Wal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// Size cap of one segment file in bytes. A group of records that would push a non-empty
    /// segment past the cap starts a new segment; a group larger than the cap goes alone into
    /// a segment of its own. Default [`DEFAULT_SEGMENT_SIZE`].
    pub segment_size: u64,
    /// When to fsync. Default [`SyncPolicy::Never`].
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            segment_size: DEFAULT_SEGMENT_SIZE,
            sync: SyncPolicy::Never,
        }
    }
}

/// File name of segment `n`: 8 decimal digits.
pub fn segment_file_name(n: u32) -> String {
    format!("{n:08}")
}

/// The segment number of a file name made of exactly 8 decimal digits.
pub fn parse_segment_name(name: &str) -> Option<u32> {
    if name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit()) {
        name.parse().ok()
    } else {
        None
    }
}

/// The segment numbers of the segment files in `dir`, ascending. A missing directory has none.
pub fn list_segments(dir: &Path) -> Result<Vec<u32>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        let Some(n) = entry.file_name().to_str().and_then(parse_segment_name) else {
            continue;
        };
        let ft = entry
            .file_type()
            .map_err(|e| Error::io("stat", entry.path(), e))?;
        if ft.is_file() {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The first and last segment numbers in `dir`, or `None` if it holds no segment.
pub fn segment_range(dir: &Path) -> Result<Option<(u32, u32)>> {
    let segs = list_segments(dir)?;
    Ok(segs.first().zip(segs.last()).map(|(a, b)| (*a, *b)))
}

/// Fails with a [`Corruption`] naming the first missing file if `segs` (ascending) has a gap.
pub(crate) fn check_contiguous(dir: &Path, segs: &[u32]) -> Result<()> {
    for w in segs.windows(2) {
        if w[1] != w[0] + 1 {
            return Err(missing_segment(dir, w[0] + 1));
        }
    }
    Ok(())
}

/// The error for a segment that should exist but does not.
pub(crate) fn missing_segment(dir: &Path, n: u32) -> Error {
    Error::Corruption(Corruption {
        file: dir.join(segment_file_name(n)),
        offset: 0,
        cause: "segment file is missing: the WAL has a gap".into(),
    })
}

fn header_bytes() -> Vec<u8> {
    let mut e = Encbuf::with_capacity(SEGMENT_HEADER_LEN as usize);
    e.put_u32(SEGMENT_MAGIC);
    e.put_u8(SEGMENT_VERSION);
    e.put_bytes(&[0, 0, 0]);
    e.buf
}

/// Appends segment files to one directory. Used by the WAL and by checkpoints.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    dir: PathBuf,
    opts: WalOptions,
    seg: u32,
    path: PathBuf,
    file: File,
    /// Length of the segment up to its last complete frame.
    len: u64,
    /// A write failed and the segment may hold bytes past `len` that could not be cut yet.
    dirty_tail: bool,
    /// Reused buffer for framing one `log` call.
    frame: Vec<u8>,
}

impl SegmentWriter {
    /// Starts writing at a new segment `first` in `dir` (which must exist).
    pub(crate) fn create(dir: &Path, first: u32, opts: WalOptions) -> Result<Self> {
        let (file, path) = create_segment(dir, first)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            opts,
            seg: first,
            path,
            file,
            len: SEGMENT_HEADER_LEN,
            dirty_tail: false,
            frame: Vec::new(),
        })
    }

    pub(crate) fn segment(&self) -> u32 {
        self.seg
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Frames `records` and appends them with one write; see [`super::Wal::log`].
    pub(crate) fn log(&mut self, records: &[&[u8]]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut total = 0u64;
        for r in records {
            if r.is_empty() {
                return Err(Error::InvalidArgument("empty WAL record".into()));
            }
            if r.len() > MAX_RECORD_LEN {
                return Err(Error::InvalidArgument(format!(
                    "WAL record of {} bytes exceeds the {MAX_RECORD_LEN}-byte limit",
                    r.len()
                )));
            }
            total += FRAME_HEADER_LEN + r.len() as u64;
        }
        self.cut_dirty_tail()?;
        if self.len > SEGMENT_HEADER_LEN && self.len + total > self.opts.segment_size {
            self.cut()?;
        }

        // Frame everything first so that the whole group goes out in one write.
        if self.frame.capacity() > 4 * READ_BUF {
            self.frame = Vec::new(); // do not pin the memory of one huge record forever
        }
        self.frame.clear();
        self.frame.reserve(total as usize);
        for r in records {
            self.frame
                .extend_from_slice(&(r.len() as u32).to_le_bytes());
            self.frame
                .extend_from_slice(&crc32fast::hash(r).to_le_bytes());
            self.frame.extend_from_slice(r);
        }
        if let Err(e) = self.file.write_all(&self.frame) {
            self.dirty_tail = true;
            let _ = self.cut_dirty_tail(); // if this fails too, the next call retries it
            return Err(Error::io("write", &self.path, e));
        }
        if self.opts.sync == SyncPolicy::Always {
            if let Err(e) = self.file.sync_data() {
                // The caller will treat this commit as failed, so it must not come back on
                // replay either: drop it from the file.
                self.dirty_tail = true;
                let _ = self.cut_dirty_tail();
                return Err(Error::io("fsync", &self.path, e));
            }
        }
        self.len += total;
        Ok(())
    }

    /// Truncates the segment back to its last complete frame after a failed write.
    fn cut_dirty_tail(&mut self) -> Result<()> {
        if !self.dirty_tail {
            return Ok(());
        }
        self.file
            .set_len(self.len)
            .map_err(|e| Error::io("truncate", &self.path, e))?;
        self.file
            .seek(SeekFrom::Start(self.len))
            .map_err(|e| Error::io("seek", &self.path, e))?;
        self.dirty_tail = false;
        Ok(())
    }

    /// Fsyncs the current segment.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.cut_dirty_tail()?;
        self.file
            .sync_data()
            .map_err(|e| Error::io("fsync", &self.path, e))
    }

    /// Fsyncs the current segment and starts the next one; returns the new number. If the new
    /// segment cannot be created, writing continues in the current one.
    pub(crate) fn cut(&mut self) -> Result<u32> {
        self.sync()?;
        let next = self.seg + 1;
        let (file, path) = create_segment(&self.dir, next)?;
        self.file = file;
        self.path = path;
        self.seg = next;
        self.len = SEGMENT_HEADER_LEN;
        Ok(next)
    }
}

/// Creates segment `n` with its header, fsyncs it and the directory entry.
fn create_segment(dir: &Path, n: u32) -> Result<(File, PathBuf)> {
    if n > MAX_SEGMENT {
        return Err(Error::InvalidArgument(format!(
            "WAL segment number {n} exceeds the 8-digit limit"
        )));
    }
    let path = dir.join(segment_file_name(n));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io("create", &path, e))?;
    let res = file
        .write_all(&header_bytes())
        .map_err(|e| Error::io("write", &path, e))
        .and_then(|()| file.sync_data().map_err(|e| Error::io("fsync", &path, e)))
        .and_then(|()| efs::sync_dir(dir));
    if let Err(e) = res {
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok((file, path))
}

/// One segment file to read.
#[derive(Debug, Clone)]
pub(crate) struct SegmentRef {
    pub(crate) path: PathBuf,
    pub(crate) segment: u32,
    /// The checkpoint holding this segment, `None` for a WAL segment.
    pub(crate) checkpoint: Option<u32>,
}

impl SegmentRef {
    /// Segment `n` of `dir`.
    pub(crate) fn new(dir: &Path, n: u32, checkpoint: Option<u32>) -> Self {
        Self {
            path: dir.join(segment_file_name(n)),
            segment: n,
            checkpoint,
        }
    }
}

/// One record read back from a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The checkpoint the record came from, `None` for a WAL segment.
    pub checkpoint: Option<u32>,
    /// The segment number.
    pub segment: u32,
    /// Byte offset of the record's frame in the segment file; the payload starts
    /// [`FRAME_HEADER_LEN`] bytes later.
    pub offset: u64,
    /// The record's payload, CRC-checked.
    pub payload: &'a [u8],
    /// The segment file.
    pub file: &'a Path,
}

/// Bad bytes in a segment file: where, why, and whether it is a torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCorruption {
    /// The segment file.
    pub file: PathBuf,
    /// The checkpoint holding the segment, `None` for a WAL segment.
    pub checkpoint: Option<u32>,
    /// The segment number.
    pub segment: u32,
    /// Byte offset of the first bad frame (0 for a bad header). Every frame before it is good;
    /// [`repair`] truncates the file here.
    pub offset: u64,
    /// What was wrong.
    pub cause: String,
    /// True if the damage is in the newest WAL segment, where a crash mid-write leaves a
    /// partial frame: expected after a crash, repaired by truncating. False for damage in an
    /// earlier segment or a checkpoint (mid-log corruption), or an unsupported version.
    pub torn_tail: bool,
}

impl fmt::Display for SegmentCorruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.torn_tail {
            "torn tail"
        } else {
            "corruption"
        };
        write!(
            f,
            "{kind} in WAL segment {} at offset {}: {}",
            self.file.display(),
            self.offset,
            self.cause
        )
    }
}

impl std::error::Error for SegmentCorruption {}

impl From<SegmentCorruption> for Corruption {
    fn from(c: SegmentCorruption) -> Self {
        Corruption {
            file: c.file,
            offset: c.offset,
            cause: c.cause,
        }
    }
}

/// An error while reading WAL records.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Bad bytes in a segment. Reading goes on with the next segment (if any) when the caller
    /// asks for the next record; [`repair`] cuts the bad bytes off.
    #[error(transparent)]
    Corrupt(SegmentCorruption),
    /// Reading a file failed. The reader yields nothing more after this.
    #[error(transparent)]
    Io(Error),
}

impl ReplayError {
    /// The corruption, if this is one.
    pub fn corruption(&self) -> Option<&SegmentCorruption> {
        match self {
            ReplayError::Corrupt(c) => Some(c),
            ReplayError::Io(_) => None,
        }
    }
}

impl From<ReplayError> for Error {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::Corrupt(c) => Error::Corruption(c.into()),
            ReplayError::Io(e) => e,
        }
    }
}

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The segment file that was cut.
    pub file: PathBuf,
    /// The segment number.
    pub segment: u32,
    /// Where the file was truncated (the offset of the first bad frame).
    pub truncated_at: u64,
    /// How many bytes were cut off.
    pub bytes_removed: u64,
    /// Where the cut-off bytes were saved (mid-log corruption only).
    pub side_file: Option<PathBuf>,
    /// Whether this was a torn tail.
    pub torn_tail: bool,
}

/// The state of the segment being read.
#[derive(Debug)]
struct Current {
    file: File,
    /// Index into `SegmentReader::list`.
    idx: usize,
    /// File length when it was opened.
    len: u64,
    /// File offset of `buf[start]`.
    pos: u64,
}

/// Reads the frames of a list of segment files in order, checking every CRC.
///
/// Allocation-light: one read buffer (1 MiB, grown only for a larger record) is reused for all
/// segments, and records are returned as slices into it.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    list: Vec<SegmentRef>,
    /// Index in `list` of the newest WAL segment, where damage is a torn tail.
    tail: Option<usize>,
    next: usize,
    cur: Option<Current>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    failed: bool,
}

/// Where the next record sits in the reader's buffer.
struct Found {
    idx: usize,
    offset: u64,
    from: usize,
    to: usize,
}

impl SegmentReader {
    /// A reader over `list`; damage in `list[tail]` is reported as a torn tail.
    pub(crate) fn new(list: Vec<SegmentRef>, tail: Option<usize>) -> Self {
        Self {
            list,
            tail,
            next: 0,
            cur: None,
            buf: Vec::new(),
            start: 0,
            end: 0,
            failed: false,
        }
    }

    /// The next record, or the next problem. After a corruption the rest of that segment is
    /// skipped; after an I/O error nothing more is returned.
    pub(crate) fn next_record(&mut self) -> Option<Result<Record<'_>, ReplayError>> {
        match self.advance()? {
            Ok(f) => {
                let s = &self.list[f.idx];
                Some(Ok(Record {
                    checkpoint: s.checkpoint,
                    segment: s.segment,
                    offset: f.offset,
                    payload: &self.buf[f.from..f.to],
                    file: &s.path,
                }))
            }
            Err(e) => Some(Err(e)),
        }
    }

    fn advance(&mut self) -> Option<Result<Found, ReplayError>> {
        loop {
            if self.failed {
                return None;
            }
            let Some(cur) = &self.cur else {
                if self.next >= self.list.len() {
                    return None;
                }
                self.next += 1;
                match self.open(self.next - 1) {
                    Ok(()) => continue,
                    Err(e) => return Some(Err(e)),
                }
            };
            let (idx, pos) = (cur.idx, cur.pos);
            let left = cur.len - cur.pos;
            if left == 0 {
                self.cur = None;
                continue;
            }
            if left < FRAME_HEADER_LEN {
                return Some(Err(self.corrupt(
                    pos,
                    format!("truncated frame header: {left} bytes left in the file"),
                    None,
                )));
            }
            if let Err(e) = self.fill(FRAME_HEADER_LEN as usize) {
                return Some(Err(e));
            }
            let h = &self.buf[self.start..self.start + FRAME_HEADER_LEN as usize];
            let mut d = Decbuf::new(h);
            let (Ok(len), Ok(crc)) = (d.get_u32(), d.get_u32()) else {
                // Cannot happen: `fill` buffered the header. Reported, not panicked on.
                return Some(Err(self.corrupt(
                    pos,
                    "unreadable frame header".into(),
                    None,
                )));
            };
            if len == 0 {
                return Some(Err(self.corrupt(pos, "frame length is zero".into(), None)));
            }
            let avail = left - FRAME_HEADER_LEN;
            if u64::from(len) > avail {
                return Some(Err(self.corrupt(
                    pos,
                    format!("frame length {len} exceeds the {avail} bytes left in the file"),
                    None,
                )));
            }
            let total = FRAME_HEADER_LEN as usize + len as usize;
            if let Err(e) = self.fill(total) {
                return Some(Err(e));
            }
            let from = self.start + FRAME_HEADER_LEN as usize;
            let to = self.start + total;
            let got = crc32fast::hash(&self.buf[from..to]);
            if got != crc {
                return Some(Err(self.corrupt(
                    pos,
                    format!("CRC32 mismatch: stored {crc:#010x}, computed {got:#010x}"),
                    None,
                )));
            }
            self.start = to;
            if let Some(cur) = &mut self.cur {
                cur.pos += total as u64;
            }
            return Some(Ok(Found {
                idx,
                offset: pos,
                from,
                to,
            }));
        }
    }

    /// Opens `list[idx]` and checks its header.
    fn open(&mut self, idx: usize) -> Result<(), ReplayError> {
        let path = &self.list[idx].path;
        let file = File::open(path).map_err(|e| self.io("open", idx, e))?;
        let len = file.metadata().map_err(|e| self.io("stat", idx, e))?.len();
        if self.buf.len() > 4 * READ_BUF {
            self.buf = Vec::new();
        }
        self.start = 0;
        self.end = 0;
        self.cur = Some(Current {
            file,
            idx,
            len,
            pos: 0,
        });
        if len < SEGMENT_HEADER_LEN {
            return Err(self.corrupt(
                0,
                format!("file is {len} bytes, shorter than the segment header"),
                None,
            ));
        }
        self.fill(SEGMENT_HEADER_LEN as usize)?;
        let mut d = Decbuf::new(&self.buf[self.start..self.start + SEGMENT_HEADER_LEN as usize]);
        let (Ok(magic), Ok(version), Ok(reserved)) = (d.get_u32(), d.get_u8(), d.get_bytes(3))
        else {
            // Cannot happen: `fill` buffered the header. Reported, not panicked on.
            return Err(self.corrupt(0, "unreadable segment header".into(), None));
        };
        if magic != SEGMENT_MAGIC {
            return Err(self.corrupt(0, format!("bad segment magic {magic:#010x}"), None));
        }
        if version != SEGMENT_VERSION {
            // A newer format is not damage from a crash: never call it a torn tail.
            return Err(self.corrupt(
                0,
                format!("unsupported segment version {version}"),
                Some(false),
            ));
        }
        if reserved != [0, 0, 0] {
            return Err(self.corrupt(0, "reserved header bytes are not zero".into(), None));
        }
        self.start += SEGMENT_HEADER_LEN as usize;
        if let Some(cur) = &mut self.cur {
            cur.pos = SEGMENT_HEADER_LEN;
        }
        Ok(())
    }

    /// Makes at least `n` bytes available at `buf[start..]`. `n` was checked against the file
    /// length by the caller, so the buffer never grows past the file's size.
    fn fill(&mut self, n: usize) -> Result<(), ReplayError> {
        if self.end - self.start >= n {
            return Ok(());
        }
        if self.buf.len() - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < n {
                self.buf.resize(n.max(READ_BUF), 0);
            }
        }
        let Some(cur) = &mut self.cur else {
            // Cannot happen: callers fill only while a segment is open.
            self.failed = true;
            let e = io::Error::other("no WAL segment open");
            return Err(ReplayError::Io(Error::io("read", PathBuf::new(), e)));
        };
        while self.end - self.start < n {
            match cur.file.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    let idx = cur.idx;
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "segment shrank while being read",
                    );
                    return Err(self.io("read", idx, e));
                }
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let idx = cur.idx;
                    return Err(self.io("read", idx, e));
                }
            }
        }
        Ok(())
    }

    /// Records an I/O error: nothing more is read.
    fn io(&mut self, op: &'static str, idx: usize, e: io::Error) -> ReplayError {
        self.failed = true;
        self.cur = None;
        ReplayError::Io(Error::io(op, &self.list[idx].path, e))
    }

    /// A corruption at `offset` of the current segment; the rest of the segment is skipped.
    /// `torn` overrides the classification (which is otherwise "in the tail segment").
    fn corrupt(&mut self, offset: u64, cause: String, torn: Option<bool>) -> ReplayError {
        let idx = self.cur.take().map_or(0, |c| c.idx);
        let s = &self.list[idx];
        ReplayError::Corrupt(SegmentCorruption {
            file: s.path.clone(),
            checkpoint: s.checkpoint,
            segment: s.segment,
            offset,
            cause,
            torn_tail: torn.unwrap_or(self.tail == Some(idx)),
        })
    }
}

/// Cuts a damaged segment at the first bad frame so that it reads cleanly.
///
/// - Torn tail: the segment is truncated at `c.offset` (a `tracing::warn!` names the segment
///   and offset).
/// - Mid-log corruption: the bytes from `c.offset` to the end are first copied to a side file
///   `<segment>.corrupt` (or `.corrupt.1`, ... if that exists) next to the segment and
///   fsynced, then the segment is truncated. Nothing is destroyed.
///
/// A bad header (offset 0) is replaced by a fresh one, leaving an empty segment. The segment
/// must not be open for writing. Every frame before `c.offset` stays readable.
pub fn repair(c: &SegmentCorruption) -> Result<RepairReport> {
    let path = &c.file;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    if c.offset > len {
        return Err(Error::InvalidArgument(format!(
            "cannot repair {}: corruption offset {} is past the end of the {len}-byte file",
            path.display(),
            c.offset
        )));
    }
    let side_file = if !c.torn_tail && len > c.offset {
        Some(save_side_file(&mut file, c)?)
    } else {
        None
    };
    if c.offset < SEGMENT_HEADER_LEN {
        file.set_len(0)
            .map_err(|e| Error::io("truncate", path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("seek", path, e))?;
        file.write_all(&header_bytes())
            .map_err(|e| Error::io("write", path, e))?;
    } else {
        file.set_len(c.offset)
            .map_err(|e| Error::io("truncate", path, e))?;
    }
    file.sync_all().map_err(|e| Error::io("fsync", path, e))?;
    if let Some(parent) = path.parent() {
        efs::sync_dir(parent)?;
    }
    let removed = len - c.offset;
    if c.torn_tail {
        tracing::warn!(
            segment = c.segment,
            offset = c.offset,
            bytes_removed = removed,
            file = %path.display(),
            cause = %c.cause,
            "WAL: truncated torn tail of the last segment"
        );
    } else {
        tracing::warn!(
            segment = c.segment,
            checkpoint = ?c.checkpoint,
            offset = c.offset,
            bytes_removed = removed,
            file = %path.display(),
            side_file = ?side_file,
            cause = %c.cause,
            "WAL: truncated corrupt segment; cut-off bytes saved to the side file"
        );
    }
    Ok(RepairReport {
        file: path.clone(),
        segment: c.segment,
        truncated_at: c.offset,
        bytes_removed: removed,
        side_file,
        torn_tail: c.torn_tail,
    })
}

/// Copies `file[c.offset..]` to a new side file and fsyncs it.
fn save_side_file(file: &mut File, c: &SegmentCorruption) -> Result<PathBuf> {
    let name = c
        .file
        .file_name()
        .map_or_else(|| "segment".into(), |n| n.to_string_lossy().into_owned());
    let dir = c.file.parent().unwrap_or(Path::new("."));
    let mut attempt = 0u32;
    let (mut side, side_path) = loop {
        let p = if attempt == 0 {
            dir.join(format!("{name}.corrupt"))
        } else {
            dir.join(format!("{name}.corrupt.{attempt}"))
        };
        match OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => break (f, p),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
            Err(e) => return Err(Error::io("create", &p, e)),
        }
    };
    file.seek(SeekFrom::Start(c.offset))
        .map_err(|e| Error::io("seek", &c.file, e))?;
    io::copy(file, &mut side).map_err(|e| Error::io("copy corrupt bytes to", &side_path, e))?;
    side.sync_all()
        .map_err(|e| Error::io("fsync", &side_path, e))?;
    Ok(side_path)
}
