//! Head chunk files: the numbered files in `chunks_head/` that hold the head's full chunks.
//!
//! The head keeps only the open chunk of each series in memory; when a chunk is cut it is
//! written here with [`HeadChunks::write`], and the head keeps just the returned ref. The byte
//! layout is specified in `engine/docs/format/head-chunks.md`:
//!
//! ```text
//! file  = magic u32 "TMHC" | version u8 (1) | 3 reserved zero bytes | entry*
//! entry = series_ref u64 | mint i64 | maxt i64 | encoding u8 | len uvarint | data
//!         | crc32 u32 (over every entry byte before it)
//! ```
//!
//! Life of a file: the *active* file is appended to through an in-memory buffer (positional
//! writes at known offsets). When the next entry would take it past the cap it is *finished*:
//! the buffer is written out, the file leaves the active slot, and, outside the writers' lock,
//! it is fsync'd and memory-mapped read-only. Until the map is in place (or if fsync/mmap
//! failed) reads of a finished file use positional reads.
//!
//! Invariants that must stay true:
//! - The active file's logical content is `disk[0..disk_len] ++ buf`, and `disk_len` is always
//!   an entry boundary: it only advances when the whole buffer was written. A failed write
//!   (a full disk) leaves every acknowledged chunk readable, in the buffer or on disk, and the
//!   next flush rewrites the buffer from `disk_len` over whatever part was written.
//! - Only finished files, never written again, are mapped.
//! - Lock order: `active` before `finished`. Nothing takes `active` while holding `finished`.
//! - A read holds an `Arc` of the file it reads, so a file removed by
//!   [`HeadChunks::truncate_before`] stays readable through handles already taken.
//!
//! The files are not replayed after a restart: [`HeadChunks::open`] deletes them, since the
//! head is rebuilt from the WAL.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::ops::{Deref, Range};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::encoding::{Decbuf, Encbuf};
use crate::error::{Corruption, DecodeError, Error, Result};
use crate::fs::{self, MappedFile};

use super::{chunk_ref, numbered_file, parse_file_number, split_chunk_ref};

/// Magic number at the start of every head chunk file: the bytes `"TMHC"` read as a
/// little-endian u32.
pub const HEAD_CHUNKS_MAGIC: u32 = u32::from_le_bytes(*b"TMHC");
/// Format version written after the magic number.
pub const HEAD_CHUNKS_VERSION: u8 = 1;
/// Length of the file header (magic, version, 3 reserved bytes).
pub const HEAD_CHUNKS_HEADER_LEN: usize = 8;
/// Default cap on a head chunk file's size (128 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 128 << 20;
/// Default size of the write buffer in front of the active file (1 MiB).
pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 1 << 20;
/// Largest allowed file cap: every entry offset must fit in the low 32 bits of a ref.
pub const MAX_FILE_SIZE: u64 = u32::MAX as u64;
/// Smallest allowed file cap: the header plus the smallest possible entry.
pub const MIN_FILE_SIZE: u64 = (HEAD_CHUNKS_HEADER_LEN + ENTRY_FIXED_LEN + 1 + 4) as u64;

/// series_ref, mint, maxt, encoding.
const ENTRY_FIXED_LEN: usize = 8 + 8 + 8 + 1;
/// The fixed fields plus the longest uvarint length.
const MAX_ENTRY_PREFIX: usize = ENTRY_FIXED_LEN + 10;

/// What the head stored alongside a chunk's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadChunkMeta {
    /// The series the chunk belongs to (the head's series ref).
    pub series_ref: u64,
    /// Timestamp of the chunk's first sample.
    pub mint: i64,
    /// Timestamp of the chunk's last sample.
    pub maxt: i64,
    /// The chunk encoding (`1` = XOR).
    pub encoding: u8,
}

/// Encodes an entry's fields up to and including the data length.
fn encode_prefix(meta: &HeadChunkMeta, data_len: usize) -> ([u8; MAX_ENTRY_PREFIX], usize) {
    let mut e = Encbuf::with_capacity(MAX_ENTRY_PREFIX);
    e.put_u64(meta.series_ref);
    e.put_i64(meta.mint);
    e.put_i64(meta.maxt);
    e.put_u8(meta.encoding);
    e.put_uvarint(data_len as u64);
    let mut out = [0u8; MAX_ENTRY_PREFIX];
    let n = e.len().min(MAX_ENTRY_PREFIX);
    out[..n].copy_from_slice(&e.buf[..n]);
    (out, n)
}

/// Decodes an entry's fields up to the data length from the start of `b`; returns the fields,
/// the prefix length and the data length.
///
/// Every error is reported at offset 0 (the entry's start, which is what a ref names), with the
/// position inside the entry in the message.
fn decode_prefix(b: &[u8]) -> Result<(HeadChunkMeta, usize, u64), DecodeError> {
    let mut d = Decbuf::new(b);
    let fields = (|| {
        let series_ref = d.get_u64()?;
        let mint = d.get_i64()?;
        let maxt = d.get_i64()?;
        let encoding = d.get_u8()?;
        let len = d.get_uvarint()?;
        Ok((
            HeadChunkMeta {
                series_ref,
                mint,
                maxt,
                encoding,
            },
            d.offset(),
            len,
        ))
    })();
    fields.map_err(|e: DecodeError| {
        DecodeError::new(
            0,
            format!(
                "bad head chunk entry: {} (at byte {} of the entry)",
                e.what, e.offset
            ),
        )
    })
}

/// Decodes and CRC-checks the entry at the start of `b` (which may run on past the entry).
/// Returns the fields, the data's range in `b` and the entry's total length. Offsets in the
/// error are relative to `b`; a CRC mismatch is reported at offset 0.
fn decode_entry(b: &[u8]) -> Result<(HeadChunkMeta, Range<usize>, usize), DecodeError> {
    let (meta, prefix_len, len) = decode_prefix(b)?;
    let avail = b.len() - prefix_len;
    if avail < 4 || len > (avail - 4) as u64 {
        return Err(DecodeError::new(
            0,
            format!(
                "head chunk entry with {len} data bytes runs past the end of the file \
                 ({avail} bytes left after its length)"
            ),
        ));
    }
    let data_end = prefix_len + len as usize;
    let stored = u32::from_le_bytes([
        b[data_end],
        b[data_end + 1],
        b[data_end + 2],
        b[data_end + 3],
    ]);
    let computed = crc32fast::hash(&b[..data_end]);
    if stored != computed {
        return Err(DecodeError::new(
            0,
            format!("head chunk CRC32 mismatch: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    Ok((meta, prefix_len..data_end, data_end + 4))
}

/// The file header bytes.
fn header_bytes() -> Vec<u8> {
    let mut e = Encbuf::with_capacity(HEAD_CHUNKS_HEADER_LEN);
    e.put_u32(HEAD_CHUNKS_MAGIC);
    e.put_u8(HEAD_CHUNKS_VERSION);
    e.put_bytes(&[0, 0, 0]);
    e.buf
}

/// Checks a head chunk file's header (used by the fuzz entry point and tests; live files are
/// only read at refs this process handed out).
fn check_header(b: &[u8]) -> Result<(), DecodeError> {
    let Some(h) = b.get(..HEAD_CHUNKS_HEADER_LEN) else {
        return Err(DecodeError::new(0, "file is shorter than its header"));
    };
    if h[..4] != HEAD_CHUNKS_MAGIC.to_le_bytes() {
        return Err(DecodeError::new(0, "bad magic, want \"TMHC\""));
    }
    if h[4] != HEAD_CHUNKS_VERSION {
        return Err(DecodeError::new(
            4,
            format!("unsupported head chunks version {}", h[4]),
        ));
    }
    if h[5..] != [0, 0, 0] {
        return Err(DecodeError::new(5, "reserved header bytes are not zero"));
    }
    Ok(())
}

/// Reads and checks the entry at `offset` of a file whose first `end` bytes are complete,
/// with positional reads. Returns the fields and a copy of the data.
fn read_entry_at(
    file: &File,
    path: &Path,
    end: u64,
    offset: u64,
) -> Result<(HeadChunkMeta, Arc<[u8]>)> {
    let avail = end.saturating_sub(offset);
    let mut prefix = [0u8; MAX_ENTRY_PREFIX];
    let n = avail.min(MAX_ENTRY_PREFIX as u64) as usize;
    file.read_exact_at(&mut prefix[..n], offset)
        .map_err(|e| Error::io("read", path, e))?;
    let (_, prefix_len, len) = decode_prefix(&prefix[..n]).map_err(|e| e.in_file(path, offset))?;
    // Checked against the bytes that exist before allocating.
    let total = (prefix_len as u64).saturating_add(len).saturating_add(4);
    if total > avail {
        return Err(Corruption {
            file: path.to_path_buf(),
            offset,
            cause: format!(
                "head chunk entry of {total} bytes runs past the end of the file \
                 ({avail} bytes left)"
            ),
        }
        .into());
    }
    let mut entry = vec![0u8; total as usize];
    file.read_exact_at(&mut entry, offset)
        .map_err(|e| Error::io("read", path, e))?;
    let (meta, data, _) = decode_entry(&entry).map_err(|e| e.in_file(path, offset))?;
    Ok((meta, Arc::from(&entry[data])))
}

/// Settings of a [`HeadChunks`] directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadChunksOptions {
    /// A file is finished before an entry would take it past this many bytes (a single entry
    /// larger than the cap gets a file of its own). Must be in
    /// `MIN_FILE_SIZE..=MAX_FILE_SIZE`. Default [`DEFAULT_MAX_FILE_SIZE`].
    pub max_file_size: u64,
    /// Bytes buffered in memory before they are written to the active file. Default
    /// [`DEFAULT_WRITE_BUFFER_SIZE`].
    pub write_buffer_size: usize,
}

impl Default for HeadChunksOptions {
    fn default() -> Self {
        Self {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
        }
    }
}

/// The bytes of one chunk read from the head chunk files, with the fields stored beside them.
///
/// Derefs to the chunk's data. It is either a shared handle on a memory-mapped finished file
/// plus a range (no copy) or an owned copy (for chunks of the active file, or of a finished
/// file not yet mapped). Cloning is cheap (an `Arc` clone), and the handle keeps a mapped file
/// alive even after [`HeadChunks::truncate_before`] deleted it.
#[derive(Clone)]
pub struct ChunkBytes {
    meta: HeadChunkMeta,
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Mapped {
        file: Arc<MappedFile>,
        range: Range<usize>,
    },
    Owned(Arc<[u8]>),
}

impl ChunkBytes {
    /// The chunk encoding byte (`1` = XOR).
    pub fn encoding(&self) -> u8 {
        self.meta.encoding
    }

    /// All fields stored with the chunk.
    pub fn meta(&self) -> HeadChunkMeta {
        self.meta
    }

    /// The chunk's data.
    pub fn bytes(&self) -> &[u8] {
        match &self.repr {
            // The range was checked against the map when this handle was made.
            Repr::Mapped { file, range } => file.bytes().get(range.clone()).unwrap_or(&[]),
            Repr::Owned(b) => b,
        }
    }

    /// True if the bytes are served from a memory-mapped file rather than a copy.
    pub fn is_mapped(&self) -> bool {
        matches!(self.repr, Repr::Mapped { .. })
    }
}

impl Deref for ChunkBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes()
    }
}

impl AsRef<[u8]> for ChunkBytes {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

impl fmt::Debug for ChunkBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkBytes")
            .field("meta", &self.meta)
            .field("len", &self.bytes().len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

/// The file currently appended to. Guarded by `HeadChunks::active`.
struct Active {
    number: u32,
    path: PathBuf,
    file: Arc<File>,
    /// Length of the prefix of the file known to be written; always an entry boundary.
    disk_len: u64,
    /// Bytes after `disk_len` not yet written: the header of a new file and whole entries.
    buf: Vec<u8>,
    max_maxt: i64,
}

impl Active {
    fn logical_len(&self) -> u64 {
        self.disk_len + self.buf.len() as u64
    }

    /// Writes the whole buffer at `disk_len`. On error nothing changes: the buffer is kept and
    /// the next flush writes it again at the same offset, over any part already written.
    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.buf, self.disk_len)
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.disk_len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// A file that will never be written again.
struct Finished {
    path: PathBuf,
    /// Bytes of entries (the file is never longer, except after a crash of this process,
    /// which `open` cleans up).
    len: u64,
    /// Largest `maxt` of the file's chunks (`i64::MIN` for none).
    max_maxt: i64,
    data: FinishedData,
}

enum FinishedData {
    /// Not (yet) mapped: fsync and mmap are still running, or failed.
    Sealing(Arc<File>),
    Mapped(Arc<MappedFile>),
}

impl Finished {
    fn read(&self, offset: u64) -> Result<ChunkBytes> {
        match &self.data {
            FinishedData::Sealing(file) => {
                let (meta, data) = read_entry_at(file, &self.path, self.len, offset)?;
                Ok(ChunkBytes {
                    meta,
                    repr: Repr::Owned(data),
                })
            }
            FinishedData::Mapped(map) => {
                let b = map.bytes();
                let b = &b[..b.len().min(self.len as usize)];
                let off = offset as usize;
                if off >= b.len() {
                    return Err(past_end(&self.path, offset, b.len() as u64));
                }
                let (meta, data, _) =
                    decode_entry(&b[off..]).map_err(|e| e.in_file(&self.path, offset))?;
                let range = off + data.start..off + data.end;
                Ok(ChunkBytes {
                    meta,
                    repr: Repr::Mapped {
                        file: Arc::clone(map),
                        range,
                    },
                })
            }
        }
    }
}

#[cold]
fn past_end(path: &Path, offset: u64, len: u64) -> Error {
    Corruption {
        file: path.to_path_buf(),
        offset,
        cause: format!("head chunk ref points past the end of the file ({len} bytes)"),
    }
    .into()
}

/// The head's chunk files: write cut chunks, read them back by ref, drop old files.
///
/// All methods take `&self` and may be called from many threads. Writers serialize on one
/// short critical section (copy into the buffer; a buffer write when it is full; a file
/// creation when a file is finished). Reads of finished files take a read lock only long
/// enough to clone an `Arc`.
///
/// Failed writes (for example a full disk) return [`Error::Io`] naming the file; the chunk is
/// not stored (the caller keeps it in memory) and the writer stays usable: every chunk
/// acknowledged earlier stays readable, and writing succeeds again once the disk has room.
pub struct HeadChunks {
    dir: PathBuf,
    opts: HeadChunksOptions,
    active: Mutex<Active>,
    finished: RwLock<BTreeMap<u32, Arc<Finished>>>,
}

impl fmt::Debug for HeadChunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeadChunks")
            .field("dir", &self.dir)
            .field("opts", &self.opts)
            .finish()
    }
}

impl HeadChunks {
    /// Opens `dir` (created if missing) with files capped at `max_file_size` bytes and the
    /// default write buffer. **Deletes every file already in `dir`**: the head is rebuilt from
    /// the WAL, so old chunk files are never read.
    pub fn open(dir: &Path, max_file_size: u64) -> Result<Self> {
        Self::open_with_options(
            dir,
            HeadChunksOptions {
                max_file_size,
                ..Default::default()
            },
        )
    }

    /// Like [`HeadChunks::open`] with every setting given.
    pub fn open_with_options(dir: &Path, opts: HeadChunksOptions) -> Result<Self> {
        if !(MIN_FILE_SIZE..=MAX_FILE_SIZE).contains(&opts.max_file_size) {
            return Err(Error::InvalidArgument(format!(
                "head chunk file size {} is outside {MIN_FILE_SIZE}..={MAX_FILE_SIZE}",
                opts.max_file_size
            )));
        }
        fs::create_dir_all(dir)?;
        remove_old_files(dir)?;
        let path = numbered_file(dir, 1);
        let file = create_file(&path)?;
        let active = Active {
            number: 1,
            path,
            file: Arc::new(file),
            disk_len: 0,
            buf: header_bytes(),
            max_maxt: i64::MIN,
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            opts,
            active: Mutex::new(active),
            finished: RwLock::new(BTreeMap::new()),
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The settings in use.
    pub fn options(&self) -> HeadChunksOptions {
        self.opts
    }

    /// Stores one cut chunk of series `series_ref` covering `[mint, maxt]` and returns its ref.
    ///
    /// The chunk is buffered (readable at once, not durable). On error nothing was stored and
    /// the caller should keep the chunk in memory; see the type's docs.
    pub fn write(
        &self,
        series_ref: u64,
        mint: i64,
        maxt: i64,
        encoding: u8,
        data: &[u8],
    ) -> Result<u64> {
        let meta = HeadChunkMeta {
            series_ref,
            mint,
            maxt,
            encoding,
        };
        // Encode and checksum outside the lock.
        let (prefix, prefix_len) = encode_prefix(&meta, data.len());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&prefix[..prefix_len]);
        crc.update(data);
        let crc = crc.finalize().to_le_bytes();
        let entry_len = (prefix_len + data.len() + 4) as u64;

        let mut finished_number = None;
        let result = (|| {
            let mut a = self.active.lock();
            let len = a.logical_len();
            if len > HEAD_CHUNKS_HEADER_LEN as u64 && len + entry_len > self.opts.max_file_size {
                finished_number = Some(self.finish_active(&mut a)?);
            }
            if !a.buf.is_empty()
                && a.buf.len() as u64 + entry_len > self.opts.write_buffer_size as u64
            {
                a.flush()?;
            }
            // Below the cap (<= u32::MAX) unless the file holds only its header.
            let offset = u32::try_from(a.logical_len()).map_err(|_| {
                Error::InvalidArgument(format!(
                    "head chunk offset {} exceeds 32 bits",
                    a.logical_len()
                ))
            })?;
            a.buf.extend_from_slice(&prefix[..prefix_len]);
            a.buf.extend_from_slice(data);
            a.buf.extend_from_slice(&crc);
            a.max_maxt = a.max_maxt.max(maxt);
            Ok(chunk_ref(a.number, offset))
        })();
        if let Some(n) = finished_number {
            self.seal(n);
        }
        result
    }

    /// Moves the active file to the finished set and starts the next one. Called with the
    /// `active` lock held; on error the active file is unchanged. Returns the finished file's
    /// number, which the caller passes to [`HeadChunks::seal`] after releasing the lock.
    fn finish_active(&self, a: &mut Active) -> Result<u32> {
        a.flush()?;
        let number = a
            .number
            .checked_add(1)
            .ok_or_else(|| Error::InvalidArgument("head chunk file numbers exhausted".into()))?;
        let path = numbered_file(&self.dir, number);
        let file = Arc::new(create_file(&path)?);
        let old_number = a.number;
        let old = std::mem::replace(
            a,
            Active {
                number,
                path,
                file,
                disk_len: 0,
                buf: Vec::new(),
                max_maxt: i64::MIN,
            },
        );
        // Reuse the old buffer's allocation (it was just flushed, so it is empty).
        a.buf = old.buf;
        a.buf.extend_from_slice(&header_bytes());
        let finished = Finished {
            path: old.path,
            len: old.disk_len,
            max_maxt: old.max_maxt,
            data: FinishedData::Sealing(old.file),
        };
        self.finished.write().insert(old_number, Arc::new(finished));
        Ok(old_number)
    }

    /// Fsyncs and maps finished file `number`, then swaps the map in. Runs without the
    /// `active` lock. On failure the file stays readable with positional reads.
    fn seal(&self, number: u32) {
        let Some(f) = self.finished.read().get(&number).cloned() else {
            return; // already truncated
        };
        let FinishedData::Sealing(file) = &f.data else {
            return;
        };
        if let Err(e) = file.sync_all() {
            tracing::warn!(file = %f.path.display(), error = %e,
                "fsync of a finished head chunk file failed; serving it with positional reads");
            return;
        }
        let map = match MappedFile::open(&f.path) {
            Ok(m) if m.len() as u64 >= f.len => m,
            Ok(m) => {
                tracing::warn!(file = %f.path.display(), mapped = m.len(), want = f.len,
                    "finished head chunk file is shorter than written; not mapping it");
                return;
            }
            Err(e) => {
                // A concurrent truncate_before may have removed it; that is not a problem.
                if self.finished.read().contains_key(&number) {
                    tracing::warn!(error = %e,
                        "mapping a finished head chunk file failed; serving it with positional reads");
                }
                return;
            }
        };
        let mut w = self.finished.write();
        if let Some(cur) = w.get(&number) {
            if Arc::ptr_eq(cur, &f) {
                let mapped = Finished {
                    path: f.path.clone(),
                    len: f.len,
                    max_maxt: f.max_maxt,
                    data: FinishedData::Mapped(Arc::new(map)),
                };
                w.insert(number, Arc::new(mapped));
            }
        }
    }

    /// Reads the chunk at ref `r`: its bytes, encoding and stored fields (see [`ChunkBytes`]).
    ///
    /// A ref that names no file, points outside a file, or at bytes that fail their CRC32 is
    /// [`Error::Corruption`] naming the file and offset; so is a ref into a file already
    /// removed by [`HeadChunks::truncate_before`]. Reading from the active file may fail with
    /// [`Error::Io`].
    pub fn read(&self, r: u64) -> Result<ChunkBytes> {
        let (number, offset) = split_chunk_ref(r);
        let offset = u64::from(offset);
        if offset < HEAD_CHUNKS_HEADER_LEN as u64 {
            return Err(Corruption {
                file: numbered_file(&self.dir, number),
                offset,
                cause: format!("head chunk ref {r:#x} points into the file header"),
            }
            .into());
        }
        let f = self.finished.read().get(&number).cloned();
        if let Some(f) = f {
            return f.read(offset);
        }
        let a = self.active.lock();
        if a.number == number {
            if offset >= a.disk_len {
                // Still in the buffer: copy it out under the lock.
                let start = (offset - a.disk_len) as usize;
                if start >= a.buf.len() {
                    return Err(past_end(&a.path, offset, a.logical_len()));
                }
                let (meta, data, _) =
                    decode_entry(&a.buf[start..]).map_err(|e| e.in_file(&a.path, offset))?;
                let data = Arc::from(&a.buf[start + data.start..start + data.end]);
                return Ok(ChunkBytes {
                    meta,
                    repr: Repr::Owned(data),
                });
            }
            // On disk: the bytes below `disk_len` never change, so read them without the lock.
            let file = Arc::clone(&a.file);
            let disk_len = a.disk_len;
            drop(a);
            let path = numbered_file(&self.dir, number);
            let (meta, data) = read_entry_at(&file, &path, disk_len, offset)?;
            return Ok(ChunkBytes {
                meta,
                repr: Repr::Owned(data),
            });
        }
        // The file may have been finished between the two lookups; finishing happens under the
        // `active` lock we hold, so this second lookup is conclusive.
        let active_number = a.number;
        let f = self.finished.read().get(&number).cloned();
        drop(a);
        match f {
            Some(f) => f.read(offset),
            None => Err(Corruption {
                file: numbered_file(&self.dir, number),
                offset,
                cause: if number != 0 && number < active_number {
                    "head chunk file was removed by truncation".into()
                } else {
                    format!("head chunk ref {r:#x} names a file that does not exist")
                },
            }
            .into()),
        }
    }

    /// Deletes finished files all of whose chunks have `maxt < mint`; never the active file.
    /// Returns the number of files removed. Chunk handles already read stay valid.
    pub fn truncate_before(&self, mint: i64) -> Result<usize> {
        let victims: Vec<u32> = self
            .finished
            .read()
            .iter()
            .filter(|(_, f)| f.max_maxt < mint)
            .map(|(n, _)| *n)
            .collect();
        let mut removed = 0;
        for n in victims {
            // Unlisting first makes new reads fail cleanly; reads in flight hold their Arc,
            // and on Linux a mapped or open file stays readable after it is unlinked.
            let Some(f) = self.finished.write().remove(&n) else {
                continue; // a concurrent truncation got it
            };
            match std::fs::remove_file(&f.path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => removed += 1,
                Err(e) => {
                    let path = f.path.clone();
                    self.finished.write().insert(n, f);
                    return Err(Error::io("remove", path, e));
                }
            }
        }
        Ok(removed)
    }

    /// Total bytes of all files, including the active file's buffered bytes.
    pub fn size_bytes(&self) -> u64 {
        let active = self.active.lock().logical_len();
        active + self.finished.read().values().map(|f| f.len).sum::<u64>()
    }

    /// Number of files, the active one included.
    pub fn file_count(&self) -> usize {
        1 + self.finished.read().len()
    }

    /// Writes the buffered bytes to the active file (without fsync: the files are not read
    /// after a restart, so durability buys nothing).
    pub fn flush(&self) -> Result<()> {
        self.active.lock().flush()
    }
}

/// Creates (or empties) a file for reading and positional writing.
fn create_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))
}

/// Deletes every file in `dir` (subdirectories are left alone, with a warning).
fn remove_old_files(dir: &Path) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
    let mut removed = 0usize;
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| Error::io("stat", &path, e))?;
        if ft.is_dir() {
            tracing::warn!(dir = %path.display(), "leaving a directory inside chunks_head alone");
            continue;
        }
        if entry
            .file_name()
            .to_str()
            .and_then(parse_file_number)
            .is_none()
        {
            tracing::warn!(file = %path.display(), "removing a stray file from chunks_head");
        }
        std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        removed += 1;
    }
    if removed > 0 {
        tracing::info!(dir = %dir.display(), files = removed,
            "removed old head chunk files; the head is rebuilt from the WAL");
    }
    Ok(())
}

/// Fuzz entry point: treats `data` as a head chunk file. Checks the header, walks the entries
/// and decodes at every small offset, both from memory and with positional reads of a scratch
/// file. Must never panic.
pub fn fuzz_head_chunk_file(data: &[u8]) {
    let _ = check_header(data);
    let mut off = HEAD_CHUNKS_HEADER_LEN;
    while let Some(rest) = data.get(off..).filter(|r| !r.is_empty()) {
        match decode_entry(rest) {
            Ok((_, _, n)) => off += n,
            Err(_) => break,
        }
    }
    let max_off = data.len().min(4096);
    for off in 0..max_off {
        let _ = decode_entry(&data[off..]);
    }
    let dir = super::fuzz_scratch_dir("head-chunks");
    if fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join("000001");
    if fs::write_file_synced(&path, data).is_ok() {
        if let Ok(file) = File::open(&path) {
            for off in (0..max_off as u64 + 2).step_by(7) {
                let _ = read_entry_at(&file, &path, data.len() as u64, off);
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write as _;

    fn opts(max_file_size: u64, write_buffer_size: usize) -> HeadChunksOptions {
        HeadChunksOptions {
            max_file_size,
            write_buffer_size,
        }
    }

    fn data_for(series: u64, i: i64) -> Vec<u8> {
        let n = ((series as usize * 31 + i as usize * 17) % 150) + 1;
        (0..n)
            .map(|j| (series as usize + i as usize * 3 + j) as u8)
            .collect()
    }

    fn corruption(e: Error) -> Corruption {
        match e {
            Error::Corruption(c) => c,
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    fn check(h: &HeadChunks, r: u64, series: u64, i: i64) -> ChunkBytes {
        let c = h.read(r).unwrap_or_else(|e| panic!("ref {r:#x}: {e}"));
        assert_eq!(
            c.meta(),
            HeadChunkMeta {
                series_ref: series,
                mint: i * 1000,
                maxt: i * 1000 + 999,
                encoding: 1
            }
        );
        assert_eq!(&*c, &data_for(series, i)[..]);
        c
    }

    fn put(h: &HeadChunks, series: u64, i: i64) -> u64 {
        h.write(series, i * 1000, i * 1000 + 999, 1, &data_for(series, i))
            .unwrap()
    }

    #[test]
    fn chunk_bytes_is_send_sync() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<ChunkBytes>();
        fn assert_send_sync2<T: Send + Sync>() {}
        assert_send_sync2::<HeadChunks>();
    }

    #[test]
    fn reads_from_buffer_active_file_and_mapped_files() {
        let tmp = tempfile::tempdir().unwrap();
        let h = HeadChunks::open_with_options(tmp.path(), opts(2048, 1 << 20)).unwrap();
        let r0 = put(&h, 7, 0);
        assert_eq!(r0, chunk_ref(1, 8));
        // In the buffer: nothing written to disk yet.
        assert_eq!(
            std::fs::metadata(tmp.path().join("000001")).unwrap().len(),
            0
        );
        assert!(!check(&h, r0, 7, 0).is_mapped());
        // In the active file, read with a positional read.
        h.flush().unwrap();
        assert!(std::fs::metadata(tmp.path().join("000001")).unwrap().len() > 8);
        assert!(!check(&h, r0, 7, 0).is_mapped());
        // Fill past the cap: file 1 is finished and mapped.
        let mut refs = vec![(r0, 0)];
        for i in 1..40 {
            refs.push((put(&h, 7, i), i));
        }
        assert!(h.file_count() > 2);
        for (r, i) in &refs {
            let c = check(&h, *r, 7, *i);
            let (number, _) = split_chunk_ref(*r);
            assert_eq!(c.is_mapped(), number < h.file_count() as u32, "ref {r:#x}");
        }
        for n in 1..h.file_count() as u32 {
            let len = std::fs::metadata(numbered_file(tmp.path(), n))
                .unwrap()
                .len();
            assert!(len <= 2048 && len > 1000, "file {n}: {len}");
        }
        let on_disk = crate::fs::dir_size(tmp.path());
        h.flush().unwrap();
        assert_eq!(h.size_bytes(), crate::fs::dir_size(tmp.path()));
        assert!(on_disk <= h.size_bytes());
    }

    #[test]
    fn small_write_buffer_flushes_as_it_goes() {
        let tmp = tempfile::tempdir().unwrap();
        let h = HeadChunks::open_with_options(tmp.path(), opts(1 << 20, 0)).unwrap();
        let refs: Vec<u64> = (0..50).map(|i| put(&h, 3, i)).collect();
        // With a zero-size buffer every write flushes the previous entry.
        assert!(std::fs::metadata(tmp.path().join("000001")).unwrap().len() > 1000);
        for (i, r) in refs.iter().enumerate() {
            check(&h, *r, 3, i as i64);
        }
    }

    #[test]
    fn oversized_chunk_gets_its_own_file() {
        let tmp = tempfile::tempdir().unwrap();
        let h = HeadChunks::open_with_options(tmp.path(), opts(MIN_FILE_SIZE, 64)).unwrap();
        let big = vec![0xab; 5000];
        let r1 = h.write(1, 0, 1, 1, b"x").unwrap();
        let r2 = h.write(1, 2, 3, 1, &big).unwrap();
        let r3 = h.write(1, 4, 5, 1, b"y").unwrap();
        assert_eq!([r1, r2, r3].map(split_chunk_ref), [(1, 8), (2, 8), (3, 8)]);
        assert_eq!(&*h.read(r2).unwrap(), &big[..]);
        assert!(h.read(r2).unwrap().is_mapped());
        assert_eq!(&*h.read(r3).unwrap(), b"y");
    }

    #[test]
    fn open_removes_old_files_and_validates_options() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let h = HeadChunks::open_with_options(tmp.path(), opts(256, 16)).unwrap();
            for i in 0..20 {
                put(&h, 1, i);
            }
            h.flush().unwrap();
        }
        std::fs::write(tmp.path().join("junk.tmp"), b"x").unwrap();
        assert!(std::fs::read_dir(tmp.path()).unwrap().count() > 3);
        let h = HeadChunks::open(tmp.path(), 256).unwrap();
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["000001"]);
        assert_eq!(h.size_bytes(), 8);
        for bad in [0, MIN_FILE_SIZE - 1, MAX_FILE_SIZE + 1] {
            assert!(matches!(
                HeadChunks::open(tmp.path(), bad),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn bad_refs_are_corruption_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let h = HeadChunks::open_with_options(tmp.path(), opts(512, 1 << 20)).unwrap();
        let refs: Vec<u64> = (0..20).map(|i| put(&h, 9, i)).collect();
        let active = h.file_count() as u32;
        assert!(active > 2);
        let f = |n| numbered_file(tmp.path(), n);
        let (_, last_off) = split_chunk_ref(*refs.last().unwrap());
        for (bad, file, offset) in [
            (0u64, f(0), 0u64),
            (chunk_ref(1, 3), f(1), 3),
            (chunk_ref(1, 600), f(1), 600), // mapped file, past its end
            (refs[0] + 5, f(1), 13),        // mapped file, inside an entry
            (chunk_ref(active + 1, 8), f(active + 1), 8),
            (
                chunk_ref(active, last_off + 2),
                f(active),
                u64::from(last_off) + 2,
            ), // buffer
            (chunk_ref(active, 5000), f(active), 5000),
        ] {
            let c = corruption(h.read(bad).unwrap_err());
            assert_eq!(
                (c.file, c.offset),
                (file, offset),
                "ref {bad:#x}: {}",
                c.cause
            );
        }
        // Inside an entry of the active file once it is on disk (positional read).
        h.flush().unwrap();
        let c = corruption(h.read(chunk_ref(active, last_off + 2)).unwrap_err());
        assert_eq!((c.file, c.offset), (f(active), u64::from(last_off) + 2));
    }

    #[test]
    fn flipped_bytes_are_detected_in_mapped_and_active_files() {
        let tmp = tempfile::tempdir().unwrap();
        let h = HeadChunks::open_with_options(tmp.path(), opts(1024, 1 << 20)).unwrap();
        let refs: Vec<u64> = (0..30).map(|i| put(&h, 4, i)).collect();
        h.flush().unwrap();
        let active = h.file_count() as u32;
        let first_active = refs
            .iter()
            .position(|r| split_chunk_ref(*r).0 == active)
            .unwrap();
        // One chunk in a mapped file (1) and one in the active file, flipped on disk. Writing
        // into a mapped file breaks the "never modified" rule on purpose: it simulates bad
        // media, and the map sees the change.
        for idx in [2usize, first_active] {
            let (number, off) = split_chunk_ref(refs[idx]);
            let path = numbered_file(tmp.path(), number);
            let file = OpenOptions::new().write(true).open(&path).unwrap();
            for delta in [0u64, 3, 8, 16, 24, 25, 30] {
                let pos = u64::from(off) + delta;
                let mut b = [0u8];
                File::open(&path)
                    .unwrap()
                    .read_exact_at(&mut b, pos)
                    .unwrap();
                file.write_all_at(&[b[0] ^ 0x40], pos).unwrap();
                let c = corruption(h.read(refs[idx]).unwrap_err());
                assert_eq!(
                    (c.file.as_path(), c.offset),
                    (path.as_path(), u64::from(off)),
                    "{}",
                    c.cause
                );
                file.write_all_at(&b, pos).unwrap();
                check(&h, refs[idx], 4, idx as i64);
            }
        }
        for (i, r) in refs.iter().enumerate() {
            check(&h, *r, 4, i as i64);
        }
    }

    #[test]
    fn truncate_before_removes_exactly_the_old_files() {
        let tmp = tempfile::tempdir().unwrap();
        let h = HeadChunks::open_with_options(tmp.path(), opts(1024, 256)).unwrap();
        // Two series with interleaved times; a file's max maxt is the max over both.
        let mut written = Vec::new();
        for i in 0..200 {
            written.push((put(&h, 1, i), 1, i));
            written.push((put(&h, 2, i / 2), 2, i / 2));
        }
        let files = h.file_count() as u32;
        assert!(files > 5);
        let max_maxt = |n: u32| {
            written
                .iter()
                .filter(|(r, _, _)| split_chunk_ref(*r).0 == n)
                .map(|(_, _, i)| i * 1000 + 999)
                .max()
                .unwrap()
        };
        let cut = max_maxt(files / 2) + 1; // files 1..=files/2 have maxt < cut
        let held = h.read(written[0].0).unwrap();
        assert!(held.is_mapped());
        assert_eq!(h.truncate_before(cut).unwrap(), (files / 2) as usize);
        assert_eq!(h.truncate_before(cut).unwrap(), 0);
        for n in 1..=files {
            assert_eq!(
                numbered_file(tmp.path(), n).exists(),
                n > files / 2,
                "file {n}"
            );
        }
        for (r, s, i) in &written {
            if split_chunk_ref(*r).0 <= files / 2 {
                let c = corruption(h.read(*r).unwrap_err());
                assert!(c.cause.contains("removed by truncation"), "{}", c.cause);
            } else {
                check(&h, *r, *s, *i);
            }
        }
        // A handle taken before the truncation still reads the (unlinked) map.
        assert_eq!(&*held, &data_for(1, 0)[..]);
        // The active file is never removed, even when all its chunks are old.
        assert_eq!(
            h.truncate_before(i64::MAX).unwrap(),
            (files - files / 2 - 1) as usize
        );
        assert_eq!(h.file_count(), 1);
        assert!(numbered_file(tmp.path(), files).exists());
        let last = written.last().unwrap();
        check(&h, last.0, last.1, last.2);
        // Writing continues after truncation.
        let r = put(&h, 5, 5);
        check(&h, r, 5, 5);
    }

    #[test]
    fn concurrent_writers_and_readers() {
        let tmp = tempfile::tempdir().unwrap();
        let h = Arc::new(HeadChunks::open_with_options(tmp.path(), opts(8192, 1024)).unwrap());
        let threads = 4u64;
        let per_thread = 400i64;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    let mut refs = Vec::new();
                    for i in 0..per_thread {
                        let r = put(&h, t, i);
                        refs.push((r, i));
                        // Read back a recent and an old chunk while others write and files
                        // get finished and mapped.
                        check(&h, r, t, i);
                        let (old, oi) = refs[(i as usize) / 2];
                        check(&h, old, t, oi);
                    }
                    refs
                })
            })
            .collect();
        let all: Vec<Vec<(u64, i64)>> = handles.into_iter().map(|j| j.join().unwrap()).collect();
        let mut seen = std::collections::HashSet::new();
        let (mut mapped, mut owned) = (0, 0);
        for (t, refs) in all.iter().enumerate() {
            for (r, i) in refs {
                assert!(seen.insert(*r), "duplicate ref {r:#x}");
                if check(&h, *r, t as u64, *i).is_mapped() {
                    mapped += 1;
                } else {
                    owned += 1;
                }
            }
        }
        assert_eq!(seen.len(), (threads as usize) * per_thread as usize);
        assert!(mapped > 0 && owned > 0, "mapped {mapped}, owned {owned}");
        h.flush().unwrap();
        assert_eq!(h.size_bytes(), crate::fs::dir_size(tmp.path()));
    }

    #[test]
    fn reads_racing_truncation_never_crash() {
        let tmp = tempfile::tempdir().unwrap();
        let h = Arc::new(HeadChunks::open_with_options(tmp.path(), opts(1024, 128)).unwrap());
        let refs: Vec<(u64, i64)> = (0..300).map(|i| (put(&h, 1, i), i)).collect();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (h, refs, stop) = (Arc::clone(&h), refs.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut ok = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        for (r, i) in &refs {
                            match h.read(*r) {
                                Ok(c) => {
                                    assert_eq!(&*c, &data_for(1, *i)[..]);
                                    ok += 1;
                                }
                                Err(Error::Corruption(c)) => {
                                    assert!(c.cause.contains("removed by truncation"), "{c}")
                                }
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    ok
                })
            })
            .collect();
        for i in 0..300 {
            // Keep writing (finishing files) while truncating older ones.
            put(&h, 2, 300 + i);
            if i % 20 == 0 {
                h.truncate_before(i * 1000).unwrap();
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    }

    /// Unmounts the tmpfs when dropped, even if the test panics.
    struct Tmpfs(PathBuf);
    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let ok = std::process::Command::new("umount")
                .arg(&self.0)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(&self.0)
                    .status();
            }
        }
    }

    #[test]
    fn disk_full_fails_cleanly_and_recovers() {
        let tmp = tempfile::tempdir().unwrap();
        let mnt = tmp.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&mnt)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                eprintln!(
                    "skipping the disk-full test: mount failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                return;
            }
            Err(e) => {
                eprintln!("skipping the disk-full test: cannot run mount: {e}");
                return;
            }
        }
        let _guard = Tmpfs(mnt.clone());
        // Reserve space that the test frees later to simulate the disk getting room again.
        let filler = mnt.join("filler");
        std::fs::File::create(&filler)
            .unwrap()
            .write_all(&[7u8; 24 << 10])
            .unwrap();

        let dir = mnt.join("chunks_head");
        let h = HeadChunks::open_with_options(&dir, opts(8 << 10, 1 << 10)).unwrap();
        let mut written = Vec::new();
        let err = loop {
            assert!(written.len() < 10_000, "the disk never filled up");
            let i = written.len() as i64;
            match h.write(1, i * 1000, i * 1000 + 999, 1, &data_for(1, i)) {
                Ok(r) => written.push((r, i)),
                Err(e) => break e,
            }
        };
        match &err {
            Error::Io { op, path, source } => {
                assert!(path.starts_with(&dir), "{err}");
                assert_eq!(source.raw_os_error(), Some(28), "want ENOSPC: {err}"); // ENOSPC
                assert!(matches!(*op, "write" | "create"), "{err}");
            }
            other => panic!("expected an Io error, got {other:?}"),
        }
        assert!(written.len() > 20, "only {} chunks fit", written.len());
        // Every acknowledged chunk is still readable, and further writes keep failing cleanly.
        for (r, i) in &written {
            check(&h, *r, 1, *i);
        }
        let i = written.len() as i64;
        assert!(matches!(
            h.write(1, i * 1000, i * 1000 + 999, 1, &data_for(1, i)),
            Err(Error::Io { .. })
        ));
        assert!(matches!(h.flush(), Err(Error::Io { .. })));
        for (r, i) in &written {
            check(&h, *r, 1, *i);
        }

        // Space returns: writing works again and nothing was lost.
        std::fs::remove_file(&filler).unwrap();
        for _ in 0..30 {
            let i = written.len() as i64;
            written.push((put(&h, 1, i), i));
        }
        h.flush().unwrap();
        for (r, i) in &written {
            check(&h, *r, 1, *i);
        }
        drop(h);
    }

    #[test]
    fn fuzz_seeds_do_not_panic() {
        fuzz_head_chunk_file(b"");
        fuzz_head_chunk_file(b"TMHC\x01\0\0\0");
        let mut good = header_bytes();
        let (p, n) = encode_prefix(
            &HeadChunkMeta {
                series_ref: 1,
                mint: 2,
                maxt: 3,
                encoding: 1,
            },
            3,
        );
        good.extend_from_slice(&p[..n]);
        good.extend_from_slice(b"abc");
        let crc = crc32fast::hash(&good[8..]);
        good.extend_from_slice(&crc.to_le_bytes());
        fuzz_head_chunk_file(&good);
        assert!(check_header(&good).is_ok());
        let (meta, data, len) = decode_entry(&good[8..]).unwrap();
        assert_eq!(
            (meta.maxt, &good[8..][data], len),
            (3, &b"abc"[..], good.len() - 8)
        );
    }

    /// Rough throughput figures; run with `--ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure_throughput() {
        let tmp = tempfile::tempdir().unwrap();
        let h = Arc::new(HeadChunks::open(tmp.path(), 16 << 20).unwrap());
        let data = vec![0x5a; 150];
        let (threads, per_thread) = (4u64, 50_000i64);
        let t = std::time::Instant::now();
        let refs: Vec<u64> = (0..threads)
            .map(|s| {
                let (h, data) = (Arc::clone(&h), data.clone());
                std::thread::spawn(move || {
                    (0..per_thread)
                        .map(|i| h.write(s, i, i, 1, &data).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|j| j.join().unwrap())
            .collect();
        let write = t.elapsed();
        let t = std::time::Instant::now();
        let mut mapped = 0;
        for r in &refs {
            let c = h.read(*r).unwrap();
            mapped += usize::from(c.is_mapped());
            assert_eq!(c.len(), 150);
        }
        let read = t.elapsed();
        let n = refs.len();
        eprintln!(
            "head chunks: {threads} threads wrote {n} chunks ({} files) in {write:?} \
             ({:.0} ns/chunk); read all ({mapped} mapped) in {read:?} ({:.0} ns/chunk)",
            h.file_count(),
            write.as_nanos() as f64 / n as f64,
            read.as_nanos() as f64 / n as f64
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_entries_round_trip(
            series_ref in any::<u64>(), mint in any::<i64>(), maxt in any::<i64>(),
            encoding in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let meta = HeadChunkMeta { series_ref, mint, maxt, encoding };
            let (p, n) = encode_prefix(&meta, data.len());
            let mut e = p[..n].to_vec();
            e.extend_from_slice(&data);
            let crc = crc32fast::hash(&e);
            e.extend_from_slice(&crc.to_le_bytes());
            e.extend_from_slice(b"trailing");
            let (m, range, len) = decode_entry(&e).unwrap();
            prop_assert_eq!(m, meta);
            prop_assert_eq!(&e[range], &data[..]);
            prop_assert_eq!(len, e.len() - 8);
        }

        #[test]
        fn prop_written_chunks_read_back(
            chunks in proptest::collection::vec(
                (any::<u64>(), any::<i64>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200)),
                1..40),
            max in MIN_FILE_SIZE..1500,
            buf in 0usize..600,
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let h = HeadChunks::open_with_options(tmp.path(), opts(max, buf)).unwrap();
            let refs: Vec<u64> = chunks
                .iter()
                .map(|(s, t, e, d)| h.write(*s, *t, t.saturating_add(1), *e, d).unwrap())
                .collect();
            for ((s, t, e, d), r) in chunks.iter().zip(&refs) {
                let c = h.read(*r).unwrap();
                prop_assert_eq!(c.meta(), HeadChunkMeta { series_ref: *s, mint: *t, maxt: t.saturating_add(1), encoding: *e });
                prop_assert_eq!(&*c, &d[..]);
            }
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            fuzz_head_chunk_file(&data);
            let mut with_header = header_bytes();
            with_header.extend_from_slice(&data);
            fuzz_head_chunk_file(&with_header);
        }
    }
}
