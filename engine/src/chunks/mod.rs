//! Files that hold encoded chunks: block chunk segments and the head's chunk files.
//!
//! A chunk here is an opaque byte string plus an encoding byte (`1` = XOR, produced by
//! [`crate::chunkenc`]). This module stores and retrieves those bytes; it never decodes them.
//!
//! - [`segment`]: `chunks/000001`, `000002`, ... inside an immutable block directory, written
//!   once by [`ChunkWriter`] and memory-mapped by [`ChunkReader`]. Spec:
//!   `engine/docs/format/chunks.md`.
//! - [`head`]: `chunks_head/000001`, ... where the head writes each full ("cut") chunk so that
//!   its memory per series stays small; finished files are memory-mapped. Spec:
//!   `engine/docs/format/head-chunks.md`.
//!
//! Both kinds of ref are `u64`s of the form `(file_number << 32) | byte_offset_in_file`, with
//! file numbers starting at 1; a ref of 0 is never valid.
//!
//! Invariants that must stay true:
//! - Every read of file bytes is bounds-checked and CRC32-checked; bad bytes or a bad ref are
//!   [`crate::Error::Corruption`] naming the file and the byte offset, never a panic.
//! - Only finished, fsync'd files are memory-mapped; a file still being written is read with
//!   positional reads or from the in-memory write buffer.

pub mod head;
pub mod segment;

pub use head::{fuzz_head_chunk_file, ChunkBytes, HeadChunkMeta, HeadChunks, HeadChunksOptions};
pub use segment::{fuzz_chunk_segment, ChunkReader, ChunkWriter, ChunkWriterStats};

use std::path::{Path, PathBuf};

/// Number of bits the file number is shifted left by in a chunk ref.
const REF_FILE_SHIFT: u32 = 32;

/// Builds a chunk ref from a file number and a byte offset in that file.
pub fn chunk_ref(file_number: u32, offset: u32) -> u64 {
    (u64::from(file_number) << REF_FILE_SHIFT) | u64::from(offset)
}

/// Splits a chunk ref into `(file_number, byte_offset)`.
pub fn split_chunk_ref(r: u64) -> (u32, u32) {
    ((r >> REF_FILE_SHIFT) as u32, r as u32)
}

/// The path of file number `n` in `dir`: six zero-padded decimal digits (more once `n` passes
/// 999999).
pub(crate) fn numbered_file(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{n:06}"))
}

/// Parses a file name made only of ASCII decimal digits into its number.
pub(crate) fn parse_file_number(name: &str) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Makes a unique, not yet existing directory path under the system temp dir for the fuzz
/// entry points (the library cannot depend on `tempfile`).
pub(crate) fn fuzz_scratch_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "tidemark-fuzz-{tag}-{}-{nanos}-{n}",
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_split_and_join() {
        assert_eq!(chunk_ref(3, 17), (3 << 32) | 17);
        assert_eq!(
            split_chunk_ref(chunk_ref(u32::MAX, u32::MAX)),
            (u32::MAX, u32::MAX)
        );
        assert_eq!(split_chunk_ref(0), (0, 0));
    }

    #[test]
    fn file_names() {
        assert_eq!(numbered_file(Path::new("d"), 1), Path::new("d/000001"));
        assert_eq!(
            numbered_file(Path::new("d"), 1234567),
            Path::new("d/1234567")
        );
        assert_eq!(parse_file_number("000042"), Some(42));
        assert_eq!(parse_file_number("000042.tmp"), None);
        assert_eq!(parse_file_number(""), None);
        assert_eq!(parse_file_number("99999999999"), None);
        assert_eq!(parse_file_number("+1"), None);
    }
}
