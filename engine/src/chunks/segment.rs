//! Block chunk segments: the numbered files in a block's `chunks/` directory.
//!
//! Owns writing chunks into segment files ([`ChunkWriter`]) and reading them back from
//! memory-mapped segments ([`ChunkReader`]). The byte layout is specified in
//! `engine/docs/format/chunks.md`:
//!
//! ```text
//! segment = magic u32 "TMCK" | version u8 (1) | 3 reserved zero bytes | entry*
//! entry   = len uvarint | encoding u8 | data (len bytes) | crc32 u32 (over encoding, data)
//! ```
//!
//! Invariants that must stay true:
//! - A chunk ref is `(segment_number << 32) | offset_of_entry`; segment numbers start at 1
//!   and are contiguous, so every offset fits in 32 bits and a segment never exceeds
//!   `u32::MAX` bytes unless it holds a single oversized chunk at offset 8.
//! - A chunk is never split across segments; entries follow each other with no padding.
//! - Segments are written once (through a `BufWriter`), fsync'd, and never modified; only then
//!   does a [`ChunkReader`] map them.
//! - [`ChunkReader::chunk`] is on the query hot path: on success it neither allocates nor
//!   makes system calls; it only bounds-checks and CRC-checks bytes in the map.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::encoding::{Decbuf, Encbuf};
use crate::error::{Corruption, DecodeError, Error, Result};
use crate::fs::{self, MappedFile};

use super::{chunk_ref, numbered_file, parse_file_number, split_chunk_ref};

/// Magic number at the start of every block chunk segment: the bytes `"TMCK"` read as a
/// little-endian u32.
pub const SEGMENT_MAGIC: u32 = u32::from_le_bytes(*b"TMCK");
/// Format version written after the magic number.
pub const SEGMENT_VERSION: u8 = 1;
/// Length of the segment header (magic, version, 3 reserved bytes).
pub const SEGMENT_HEADER_LEN: usize = 8;
/// Default cap on a segment's size (512 MiB); a chunk is never split, so a segment holding a
/// single chunk larger than the cap may exceed it.
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 << 20;
/// Largest allowed segment cap: every entry offset must fit in the low 32 bits of a ref.
pub const MAX_SEGMENT_SIZE: u64 = u32::MAX as u64;
/// Smallest allowed segment cap: the header plus the smallest possible entry.
pub const MIN_SEGMENT_SIZE: u64 = SEGMENT_HEADER_LEN as u64 + MIN_ENTRY_LEN as u64;

/// An entry with empty data: 1-byte length, encoding byte, CRC32.
const MIN_ENTRY_LEN: usize = 1 + 1 + 4;

/// Writes the segment header into `e`.
fn encode_header(e: &mut Encbuf) {
    e.put_u32(SEGMENT_MAGIC);
    e.put_u8(SEGMENT_VERSION);
    e.put_bytes(&[0, 0, 0]);
}

/// Checks a segment's header; offsets in the error are file offsets.
fn check_header(b: &[u8]) -> Result<(), DecodeError> {
    let Some(h) = b.get(..SEGMENT_HEADER_LEN) else {
        return Err(DecodeError::new(
            0,
            format!("segment of {} bytes is shorter than its header", b.len()),
        ));
    };
    let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    if magic != SEGMENT_MAGIC {
        return Err(DecodeError::new(
            0,
            format!("bad magic {magic:#010x}, want {SEGMENT_MAGIC:#010x} (\"TMCK\")"),
        ));
    }
    if h[4] != SEGMENT_VERSION {
        return Err(DecodeError::new(
            4,
            format!(
                "unsupported segment version {}, want {SEGMENT_VERSION}",
                h[4]
            ),
        ));
    }
    if h[5..] != [0, 0, 0] {
        return Err(DecodeError::new(5, "reserved header bytes are not zero"));
    }
    Ok(())
}

/// The unsigned LEB128 encoding of `v` in a stack buffer, and its length.
fn uvarint(mut v: u64) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        out[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    out[n] = v as u8;
    (out, n + 1)
}

/// Decodes the entry at the start of `b` (which runs to the end of the segment).
///
/// Returns `(encoding, data, entry_len)`. Offsets in the error are relative to the start of
/// the entry; a CRC mismatch is reported at offset 0 (the whole entry is suspect). Allocates
/// only on error.
fn decode_entry(b: &[u8]) -> Result<(u8, &[u8], usize), DecodeError> {
    let mut d = Decbuf::new(b);
    let len = d.get_uvarint()?;
    let body_start = d.offset();
    let avail = d.remaining();
    // The body is the encoding byte plus `len` data bytes, followed by a 4-byte CRC; compare
    // in u64 so that a huge `len` cannot overflow.
    if (avail as u64) < 5 || len > (avail - 5) as u64 {
        return Err(DecodeError::new(
            0,
            format!(
                "chunk entry with {len} data bytes runs past the end of the segment \
                 ({avail} bytes left after the length)"
            ),
        ));
    }
    let body_end = body_start + 1 + len as usize;
    let body = &b[body_start..body_end];
    let stored = u32::from_le_bytes([
        b[body_end],
        b[body_end + 1],
        b[body_end + 2],
        b[body_end + 3],
    ]);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(DecodeError::new(
            0,
            format!(
                "chunk CRC32 mismatch: stored {stored:#010x}, computed {computed:#010x} over \
                 {} bytes",
                body.len()
            ),
        ));
    }
    Ok((body[0], &body[1..], body_end + 4))
}

/// What a finished [`ChunkWriter`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkWriterStats {
    /// Number of segment files written.
    pub segments: u32,
    /// Number of chunks written.
    pub chunks: u64,
    /// Total bytes of all segment files, headers included.
    pub bytes: u64,
}

/// The segment currently being appended to.
#[derive(Debug)]
struct OpenSegment {
    number: u32,
    path: PathBuf,
    w: BufWriter<File>,
    /// Bytes written to this segment so far (buffered or not), header included.
    len: u64,
}

impl OpenSegment {
    /// Flushes the buffer and fsyncs the file.
    fn finish(mut self) -> Result<()> {
        self.w
            .flush()
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io("fsync", &self.path, e))
    }
}

/// Writes chunks into the segment files of one block's `chunks/` directory.
///
/// Chunks are buffered; [`ChunkWriter::finish`] flushes and fsyncs every segment and the
/// directory. Segments are created lazily, so a writer that receives no chunk leaves an empty
/// directory. After any error the writer is unusable (every later call fails): the block being
/// written must be abandoned, and its temporary directory removed by the caller.
#[derive(Debug)]
pub struct ChunkWriter {
    dir: PathBuf,
    max_segment_size: u64,
    current: Option<OpenSegment>,
    stats: ChunkWriterStats,
    failed: bool,
}

impl ChunkWriter {
    /// A writer for `dir` (created if missing) with the default 512 MiB segment cap.
    pub fn create(dir: &Path) -> Result<Self> {
        Self::with_segment_size(dir, DEFAULT_SEGMENT_SIZE)
    }

    /// A writer for `dir` (created if missing) whose segments are cut before they would exceed
    /// `max` bytes. `max` must be in `MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE`.
    ///
    /// Segment files are created with `create_new`: if `dir` already holds a segment with the
    /// same number, writing fails rather than overwriting it.
    pub fn with_segment_size(dir: &Path, max: u64) -> Result<Self> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&max) {
            return Err(Error::InvalidArgument(format!(
                "chunk segment size {max} is outside {MIN_SEGMENT_SIZE}..={MAX_SEGMENT_SIZE}"
            )));
        }
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            max_segment_size: max,
            current: None,
            stats: ChunkWriterStats::default(),
            failed: false,
        })
    }

    /// The directory being written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one chunk and returns its ref. The bytes are buffered, not yet durable.
    pub fn write(&mut self, encoding: u8, data: &[u8]) -> Result<u64> {
        if self.failed {
            return Err(self.failed_error());
        }
        let r = self.write_inner(encoding, data);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn write_inner(&mut self, encoding: u8, data: &[u8]) -> Result<u64> {
        let (len_bytes, len_n) = uvarint(data.len() as u64);
        let entry_len = (len_n + 1 + data.len() + 4) as u64;
        let needs_cut = match &self.current {
            None => true,
            Some(s) => {
                s.len > SEGMENT_HEADER_LEN as u64 && s.len + entry_len > self.max_segment_size
            }
        };
        if needs_cut {
            self.cut()?;
        }
        let Some(seg) = self.current.as_mut() else {
            return Err(Error::InvalidArgument(
                "chunk writer has no open segment".into(),
            ));
        };
        // Holds because every entry but a segment's first starts below the cap, and the cap
        // fits in 32 bits.
        let offset = u32::try_from(seg.len).map_err(|_| {
            Error::InvalidArgument(format!("chunk offset {} does not fit in a ref", seg.len))
        })?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[encoding]);
        crc.update(data);
        let write = |w: &mut BufWriter<File>| -> std::io::Result<()> {
            w.write_all(&len_bytes[..len_n])?;
            w.write_all(&[encoding])?;
            w.write_all(data)?;
            w.write_all(&crc.finalize().to_le_bytes())
        };
        write(&mut seg.w).map_err(|e| Error::io("write", &seg.path, e))?;
        seg.len += entry_len;
        self.stats.chunks += 1;
        self.stats.bytes += entry_len;
        Ok(chunk_ref(seg.number, offset))
    }

    /// Finishes the current segment (if any) and opens the next one.
    fn cut(&mut self) -> Result<()> {
        let number = match &self.current {
            None => 1,
            Some(s) => s
                .number
                .checked_add(1)
                .ok_or_else(|| Error::InvalidArgument("chunk segment numbers exhausted".into()))?,
        };
        if let Some(s) = self.current.take() {
            s.finish()?;
        }
        let path = numbered_file(&self.dir, number);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut h = Encbuf::with_capacity(SEGMENT_HEADER_LEN);
        encode_header(&mut h);
        w.write_all(&h.buf)
            .map_err(|e| Error::io("write", &path, e))?;
        self.current = Some(OpenSegment {
            number,
            path,
            w,
            len: SEGMENT_HEADER_LEN as u64,
        });
        self.stats.segments += 1;
        self.stats.bytes += SEGMENT_HEADER_LEN as u64;
        Ok(())
    }

    /// Flushes and fsyncs the last segment and fsyncs the directory (earlier segments were
    /// fsync'd when they were cut). Returns what was written.
    pub fn finish(mut self) -> Result<ChunkWriterStats> {
        if self.failed {
            return Err(self.failed_error());
        }
        if let Some(s) = self.current.take() {
            s.finish()?;
        }
        fs::sync_dir(&self.dir)?;
        Ok(self.stats)
    }

    fn failed_error(&self) -> Error {
        Error::Closed(format!(
            "chunk writer for {} failed earlier; the block must be abandoned",
            self.dir.display()
        ))
    }
}

/// Reads chunks from the memory-mapped segments of one block's `chunks/` directory.
#[derive(Debug)]
pub struct ChunkReader {
    dir: PathBuf,
    /// Segment `n` is at index `n - 1`.
    segments: Vec<MappedFile>,
    size: u64,
}

impl ChunkReader {
    /// Maps every segment in `dir` and checks their headers.
    ///
    /// Files whose names are not all decimal digits are ignored (with a warning). Segment
    /// numbers must run from 1 without gaps; a missing segment or a bad header is
    /// [`Error::Corruption`] naming the file and offset.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut numbered = Vec::new();
        let rd = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
            let name = entry.file_name();
            match name.to_str().and_then(parse_file_number) {
                Some(n) => numbered.push((n, entry.path())),
                None => tracing::warn!(
                    dir = %dir.display(),
                    file = ?name,
                    "ignoring a file that is not a chunk segment"
                ),
            }
        }
        numbered.sort_unstable_by_key(|(n, _)| *n);
        let mut segments = Vec::with_capacity(numbered.len());
        let mut size = 0u64;
        for (i, (n, path)) in numbered.into_iter().enumerate() {
            let want = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if n != want {
                return Err(Corruption {
                    file: numbered_file(dir, want),
                    offset: 0,
                    cause: format!("chunk segment {want:06} is missing (next segment is {n:06})"),
                }
                .into());
            }
            let map = MappedFile::open(&path)?;
            check_header(map.bytes()).map_err(|e| e.in_file(&path, 0))?;
            size += map.len() as u64;
            segments.push(map);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            segments,
            size,
        })
    }

    /// The chunk at ref `r`: its encoding byte and data, borrowed from the map.
    ///
    /// A ref that names no segment, points outside the segment or at bytes that are not a
    /// valid entry with a matching CRC32 is [`Error::Corruption`] naming the segment file and
    /// the offset. The success path neither allocates nor makes system calls.
    pub fn chunk(&self, r: u64) -> Result<(u8, &[u8])> {
        let (number, offset) = split_chunk_ref(r);
        let Some(seg) = (number as usize)
            .checked_sub(1)
            .and_then(|i| self.segments.get(i))
        else {
            return Err(self.bad_ref(number, offset, r));
        };
        let b = seg.bytes();
        let off = offset as usize;
        if off < SEGMENT_HEADER_LEN || off >= b.len() {
            return Err(Corruption {
                file: seg.path().to_path_buf(),
                offset: u64::from(offset),
                cause: format!(
                    "chunk ref {r:#x} points outside the entries of a {}-byte segment",
                    b.len()
                ),
            }
            .into());
        }
        match decode_entry(&b[off..]) {
            Ok((encoding, data, _)) => Ok((encoding, data)),
            Err(e) => Err(e.in_file(seg.path(), u64::from(offset)).into()),
        }
    }

    #[cold]
    fn bad_ref(&self, number: u32, offset: u32, r: u64) -> Error {
        Corruption {
            file: numbered_file(&self.dir, number),
            offset: u64::from(offset),
            cause: format!(
                "chunk ref {r:#x} names segment {number}, but the block has {} segment(s)",
                self.segments.len()
            ),
        }
        .into()
    }

    /// Every chunk in segment order as `(ref, encoding, data)`. Iteration stops after the
    /// first error, which is yielded. Used to verify a whole block.
    pub fn iter(&self) -> impl Iterator<Item = Result<(u64, u8, &[u8])>> + '_ {
        let mut seg_idx = 0usize;
        let mut off = SEGMENT_HEADER_LEN;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            loop {
                let seg = self.segments.get(seg_idx)?;
                let b = seg.bytes();
                if off >= b.len() {
                    seg_idx += 1;
                    off = SEGMENT_HEADER_LEN;
                    continue;
                }
                let number = u32::try_from(seg_idx + 1).unwrap_or(u32::MAX);
                let at = off;
                return match decode_entry(&b[off..]) {
                    Ok((encoding, data, n)) => {
                        off += n;
                        // Offsets beyond 32 bits only occur in a segment longer than any
                        // writer produces; report them instead of returning a wrong ref.
                        match u32::try_from(at) {
                            Ok(o) => Some(Ok((chunk_ref(number, o), encoding, data))),
                            Err(_) => {
                                done = true;
                                Some(Err(Corruption {
                                    file: seg.path().to_path_buf(),
                                    offset: at as u64,
                                    cause: "chunk entry beyond the 4 GiB ref limit".into(),
                                }
                                .into()))
                            }
                        }
                    }
                    Err(e) => {
                        done = true;
                        Some(Err(e.in_file(seg.path(), at as u64).into()))
                    }
                };
            }
        })
    }

    /// Reads every chunk and checks its CRC; returns the number of chunks.
    pub fn verify(&self) -> Result<u64> {
        let mut n = 0;
        for c in self.iter() {
            c?;
            n += 1;
        }
        Ok(n)
    }

    /// Total size of all segment files in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Fuzz entry point: writes `data` as segment `000001` of a scratch directory, opens it, reads
/// every entry and refs derived from the data. Must never panic.
pub fn fuzz_chunk_segment(data: &[u8]) {
    let dir = super::fuzz_scratch_dir("chunk-segment");
    if fs::create_dir_all(&dir).is_err() {
        return;
    }
    if fs::write_file_synced(&numbered_file(&dir, 1), data).is_ok() {
        if let Ok(r) = ChunkReader::open(&dir) {
            let _ = r.verify();
            let _ = r.size_bytes();
            // Every small offset in the first segments, plus every 8-byte window read as a
            // raw ref (which covers segment numbers that do not exist).
            let max_off = data.len().min(4096) as u32 + 2;
            for number in 0..3 {
                for off in 0..max_off {
                    let _ = r.chunk(chunk_ref(number, off));
                }
            }
            for w in data.windows(8).take(4096) {
                let mut a = [0u8; 8];
                a.copy_from_slice(w);
                let _ = r.chunk(u64::from_le_bytes(a));
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunk_data(i: usize) -> Vec<u8> {
        // Sizes from 0 to ~300 bytes, contents depending on the index.
        let n = (i * 37) % 301;
        (0..n).map(|j| (i * 7 + j * 13) as u8).collect()
    }

    fn write_all(dir: &Path, max: u64, chunks: &[(u8, Vec<u8>)]) -> (Vec<u64>, ChunkWriterStats) {
        let mut w = ChunkWriter::with_segment_size(dir, max).unwrap();
        let refs = chunks
            .iter()
            .map(|(e, d)| w.write(*e, d).unwrap())
            .collect();
        (refs, w.finish().unwrap())
    }

    fn corruption(e: Error) -> Corruption {
        match e {
            Error::Corruption(c) => c,
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_across_segments() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("chunks");
        let chunks: Vec<(u8, Vec<u8>)> = (0..500).map(|i| ((i % 3) as u8, chunk_data(i))).collect();
        let (refs, stats) = write_all(&dir, 4096, &chunks);
        assert!(stats.segments > 10, "{stats:?}");
        assert_eq!(stats.chunks, 500);
        assert_eq!(stats.bytes, crate::fs::dir_size(&dir));

        let r = ChunkReader::open(&dir).unwrap();
        assert_eq!(r.segment_count(), stats.segments as usize);
        assert_eq!(r.size_bytes(), stats.bytes);
        for (i, (want, r_)) in chunks.iter().zip(&refs).enumerate() {
            let (enc, data) = r.chunk(*r_).unwrap();
            assert_eq!((enc, data), (want.0, &want.1[..]), "chunk {i}");
        }
        // Segments respect the cap and are numbered from 1.
        for n in 1..=stats.segments {
            let len = std::fs::metadata(numbered_file(&dir, n)).unwrap().len();
            assert!(len <= 4096, "segment {n} has {len} bytes");
        }
        // Iteration sees exactly the written refs, in order.
        let seen: Vec<u64> = r.iter().map(|c| c.unwrap().0).collect();
        assert_eq!(seen, refs);
        assert_eq!(r.verify().unwrap(), 500);

        // Refs are stable: a second reader gives the same answers.
        drop(r);
        let r = ChunkReader::open(&dir).unwrap();
        for ((e, d), r_) in chunks.iter().zip(&refs) {
            assert_eq!(r.chunk(*r_).unwrap(), (*e, &d[..]));
        }
    }

    #[test]
    fn refs_encode_segment_and_offset() {
        let tmp = tempfile::tempdir().unwrap();
        let (refs, _) = write_all(
            tmp.path(),
            64,
            &[(1, vec![1; 20]), (1, vec![2; 20]), (1, vec![3; 20])],
        );
        // Entry = 1 + 1 + 20 + 4 = 26 bytes; two fit below 64 with the 8-byte header.
        assert_eq!(
            refs,
            vec![chunk_ref(1, 8), chunk_ref(1, 34), chunk_ref(2, 8)]
        );
    }

    #[test]
    fn oversized_chunk_gets_its_own_segment() {
        let tmp = tempfile::tempdir().unwrap();
        let big = vec![9u8; 1000];
        let (refs, stats) = write_all(
            tmp.path(),
            100,
            &[(1, vec![1]), (1, big.clone()), (1, vec![2])],
        );
        assert_eq!(
            refs,
            vec![chunk_ref(1, 8), chunk_ref(2, 8), chunk_ref(3, 8)]
        );
        assert_eq!(stats.segments, 3);
        let r = ChunkReader::open(tmp.path()).unwrap();
        assert_eq!(r.chunk(refs[1]).unwrap(), (1, &big[..]));
    }

    #[test]
    fn empty_writer_leaves_empty_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/chunks");
        let stats = ChunkWriter::create(&dir).unwrap().finish().unwrap();
        assert_eq!(stats, ChunkWriterStats::default());
        let r = ChunkReader::open(&dir).unwrap();
        assert_eq!((r.segment_count(), r.size_bytes()), (0, 0));
        let c = corruption(r.chunk(chunk_ref(1, 8)).unwrap_err());
        assert_eq!(c.file, dir.join("000001"));
    }

    #[test]
    fn rejects_bad_segment_sizes() {
        let tmp = tempfile::tempdir().unwrap();
        for max in [0, MIN_SEGMENT_SIZE - 1, MAX_SEGMENT_SIZE + 1] {
            assert!(matches!(
                ChunkWriter::with_segment_size(tmp.path(), max),
                Err(Error::InvalidArgument(_))
            ));
        }
        ChunkWriter::with_segment_size(tmp.path(), MIN_SEGMENT_SIZE).unwrap();
    }

    #[test]
    fn does_not_overwrite_existing_segments() {
        let tmp = tempfile::tempdir().unwrap();
        write_all(tmp.path(), 4096, &[(1, vec![1, 2, 3])]);
        let mut w = ChunkWriter::create(tmp.path()).unwrap();
        let e = w.write(1, b"x").unwrap_err();
        assert!(matches!(e, Error::Io { op: "create", .. }), "{e}");
        // The writer is unusable after an error.
        assert!(matches!(w.write(1, b"x"), Err(Error::Closed(_))));
        assert!(matches!(w.finish(), Err(Error::Closed(_))));
    }

    #[test]
    fn bad_refs_are_corruption_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (refs, _) = write_all(tmp.path(), 4096, &[(1, vec![5; 10]), (1, vec![6; 10])]);
        let r = ChunkReader::open(tmp.path()).unwrap();
        let seg1 = tmp.path().join("000001");
        for (bad, file, offset) in [
            (0u64, tmp.path().join("000000"), 0u64),
            (chunk_ref(2, 8), tmp.path().join("000002"), 8),
            (chunk_ref(1, 0), seg1.clone(), 0),
            (chunk_ref(1, 7), seg1.clone(), 7),
            (chunk_ref(1, 1000), seg1.clone(), 1000),
            // Into the middle of the first entry: its data bytes (5) parse as a length that
            // runs past the end, or the CRC does not match.
            (refs[0] + 3, seg1.clone(), 11),
        ] {
            let c = corruption(r.chunk(bad).unwrap_err());
            assert_eq!(
                (c.file, c.offset),
                (file, offset),
                "ref {bad:#x}: {}",
                c.cause
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let tmp = tempfile::tempdir().unwrap();
        let chunks: Vec<(u8, Vec<u8>)> = (0..6)
            .map(|i| (1, chunk_data(i + 1)[..20].to_vec()))
            .collect();
        let (refs, _) = write_all(tmp.path(), 4096, &chunks);
        let path = tmp.path().join("000001");
        let good = std::fs::read(&path).unwrap();
        for pos in 0..good.len() {
            let mut bad = good.clone();
            bad[pos] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            let c = match ChunkReader::open(tmp.path()) {
                Err(e) => {
                    let c = corruption(e);
                    assert!(
                        pos < SEGMENT_HEADER_LEN,
                        "open failed for a flip at {pos}: {c}"
                    );
                    c
                }
                Ok(r) => {
                    assert!(pos >= SEGMENT_HEADER_LEN);
                    // The entry holding `pos` must fail; every other entry still reads.
                    let owner = refs
                        .iter()
                        .rposition(|r_| (*r_ as u32 as usize) <= pos)
                        .unwrap();
                    for (i, r_) in refs.iter().enumerate() {
                        if i != owner {
                            assert_eq!(r.chunk(*r_).unwrap(), (1, &chunks[i].1[..]));
                        }
                    }
                    assert!(r.verify().is_err());
                    let c = corruption(r.chunk(refs[owner]).unwrap_err());
                    assert_eq!(c.offset, u64::from(refs[owner] as u32), "flip at {pos}");
                    c
                }
            };
            assert_eq!(c.file, path);
        }
    }

    #[test]
    fn truncated_segment_gives_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (refs, _) = write_all(tmp.path(), 4096, &[(1, vec![1; 50]), (1, vec![2; 50])]);
        let path = tmp.path().join("000001");
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 10]).unwrap();
        let r = ChunkReader::open(tmp.path()).unwrap();
        assert_eq!(r.chunk(refs[0]).unwrap(), (1, &[1u8; 50][..]));
        let c = corruption(r.chunk(refs[1]).unwrap_err());
        assert_eq!(
            (c.file.as_path(), c.offset),
            (path.as_path(), u64::from(refs[1] as u32))
        );
        assert!(c.cause.contains("runs past the end"), "{}", c.cause);
        let v = corruption(r.verify().unwrap_err());
        assert_eq!(v.offset, c.offset);

        // Shorter than the header: opening fails.
        std::fs::write(&path, &full[..5]).unwrap();
        let c = corruption(ChunkReader::open(tmp.path()).unwrap_err());
        assert_eq!((c.file, c.offset), (path, 0));
        assert!(c.cause.contains("shorter than its header"), "{}", c.cause);
    }

    #[test]
    fn missing_segment_and_stray_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (refs, stats) = write_all(
            tmp.path(),
            64,
            &[(1, vec![1; 30]), (1, vec![2; 30]), (1, vec![3; 30])],
        );
        assert_eq!(stats.segments, 3);
        std::fs::write(tmp.path().join("notes.txt"), b"hello").unwrap();
        let r = ChunkReader::open(tmp.path()).unwrap();
        assert_eq!(r.verify().unwrap(), 3);
        assert_eq!(r.chunk(refs[2]).unwrap(), (1, &[3u8; 30][..]));
        drop(r);
        std::fs::remove_file(tmp.path().join("000002")).unwrap();
        let c = corruption(ChunkReader::open(tmp.path()).unwrap_err());
        assert_eq!(c.file, tmp.path().join("000002"));
    }

    #[test]
    fn missing_dir_is_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        let e = ChunkReader::open(&tmp.path().join("nope")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Io {
                    op: "read directory",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn fuzz_seeds_do_not_panic() {
        fuzz_chunk_segment(b"");
        fuzz_chunk_segment(b"TMCK\x01\0\0\0");
        fuzz_chunk_segment(b"TMCK\x01\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
        fuzz_chunk_segment(b"TMCK\x01\0\0\0\x03\x01abc\0\0\0\0");
    }

    /// Replays the fuzz seeds; the valid seed (written by an independent script) must read back.
    #[test]
    fn fuzz_corpus_replays() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/chunk_segment");
        let mut n = 0;
        for entry in std::fs::read_dir(&corpus).unwrap() {
            let path = entry.unwrap().path();
            fuzz_chunk_segment(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n >= 5);
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(corpus.join("valid_four_chunks"), tmp.path().join("000001")).unwrap();
        let r = ChunkReader::open(tmp.path()).unwrap();
        let chunks: Vec<(u64, u8, Vec<u8>)> = r
            .iter()
            .map(|c| c.map(|(r_, e, d)| (r_, e, d.to_vec())).unwrap())
            .collect();
        assert_eq!(chunks.len(), 4);
        assert_eq!(
            chunks[0],
            (chunk_ref(1, 8), 1, (0..20).collect::<Vec<u8>>())
        );
        assert_eq!((chunks[2].1, chunks[2].2.len()), (7, 0));
    }

    /// Rough throughput figures; run with `--ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure_throughput() {
        let tmp = tempfile::tempdir().unwrap();
        let data = vec![0x5a; 150];
        let n = 200_000;
        let t = std::time::Instant::now();
        let mut w = ChunkWriter::with_segment_size(tmp.path(), 8 << 20).unwrap();
        let refs: Vec<u64> = (0..n).map(|_| w.write(1, &data).unwrap()).collect();
        let stats = w.finish().unwrap();
        let write = t.elapsed();
        let r = ChunkReader::open(tmp.path()).unwrap();
        let t = std::time::Instant::now();
        let mut sum = 0usize;
        for r_ in &refs {
            sum += r.chunk(*r_).unwrap().1.len();
        }
        let read = t.elapsed();
        assert_eq!(sum, n * 150);
        eprintln!(
            "segments: wrote {n} chunks ({} segments, {} bytes) in {write:?}; read all in {read:?} \
             ({:.0} ns/chunk)",
            stats.segments,
            stats.bytes,
            read.as_nanos() as f64 / n as f64
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_round_trip(
            chunks in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200)), 0..60),
            max in MIN_SEGMENT_SIZE..2000,
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let (refs, stats) = write_all(tmp.path(), max, &chunks);
            let r = ChunkReader::open(tmp.path()).unwrap();
            prop_assert_eq!(r.size_bytes(), stats.bytes);
            for ((e, d), r_) in chunks.iter().zip(&refs) {
                prop_assert_eq!(r.chunk(*r_).unwrap(), (*e, &d[..]));
            }
            prop_assert_eq!(r.verify().unwrap(), chunks.len() as u64);
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            fuzz_chunk_segment(&data);
            let mut with_header = b"TMCK\x01\0\0\0".to_vec();
            with_header.extend_from_slice(&data);
            fuzz_chunk_segment(&with_header);
        }

        #[test]
        fn prop_mutated_segments_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let chunks: Vec<(u8, Vec<u8>)> = (0..8).map(|i| (1, chunk_data(i))).collect();
            write_all(tmp.path(), 1 << 20, &chunks);
            let mut bytes = std::fs::read(tmp.path().join("000001")).unwrap();
            for (pos, x) in flips {
                let n = bytes.len();
                bytes[pos % n] ^= x;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            fuzz_chunk_segment(&bytes);
        }
    }
}
