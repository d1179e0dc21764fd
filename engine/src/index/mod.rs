//! The block index file: symbols, series (labels + chunk metas), label index and postings.
//!
//! This module owns the `index` file of a block: [`IndexWriter`] streams it out once during
//! compaction, [`IndexReader`] memory-maps it and answers series and postings lookups. The
//! byte layout is specified in `engine/docs/format/index.md`.
//!
//! Invariants that must stay true:
//! - Series ids are dense `u32`s from 0, in strictly increasing label-set order.
//! - The whole file (everything but the trailing CRC itself) is covered by one CRC32 checked
//!   once by [`IndexReader::open`]; afterwards every read is still bounds-checked and returns
//!   [`crate::Error::Corruption`] (file + offset) instead of panicking, so a file that was
//!   crafted with a valid CRC can produce wrong answers but never a panic or an unbounded
//!   allocation.
//! - Postings returned by the reader only contain ids below [`IndexReader::num_series`].
//! - The writer holds no series entries or chunk metas in memory: only the symbol table, the
//!   page offsets (one per [`SERIES_PER_PAGE`] series) and one roaring bitmap per label pair.

mod reader;
mod writer;

pub use reader::{fuzz_index, IndexReader};
pub use writer::IndexWriter;

/// Magic number at the start and in the footer of an index file: the bytes `TMIX`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"TMIX");
/// The index format version this code writes and reads.
pub const VERSION: u8 = 1;
/// How many consecutive series share one page (one entry of the page table). Series inside a
/// page are found by skipping length-prefixed entries, and their first chunk mint and ref are
/// stored relative to the page's base values.
pub const SERIES_PER_PAGE: u32 = 16;

/// Header: magic (4), version (1), three reserved zero bytes.
pub(crate) const HEADER_LEN: usize = 8;
/// Table of contents: seven u64 section offsets, five u32 counts, two width bytes, two zero
/// bytes.
pub(crate) const TOC_LEN: usize = 80;
/// Footer: magic (4), version (1), three reserved zero bytes, CRC32 (4).
pub(crate) const FOOTER_LEN: usize = 12;
/// Size of one label-name table entry: name symbol ref (u32), value count (u32), value table
/// offset (u64).
pub(crate) const NAME_ENTRY_LEN: usize = 16;
/// Largest series-per-page value a reader accepts (bounds the skipping work per lookup).
pub(crate) const MAX_SERIES_PER_PAGE: u32 = 1024;

/// Where one chunk of a series lives and which time range it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChunkMeta {
    /// Timestamp of the chunk's first sample (ms, inclusive).
    pub mint: i64,
    /// Timestamp of the chunk's last sample (ms, inclusive).
    pub maxt: i64,
    /// Opaque reference to the chunk in the block's chunk segment files.
    pub chunk_ref: u64,
}

/// Summary of a finished index file, returned by [`IndexWriter::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Number of series written.
    pub num_series: u32,
    /// Total number of chunk metas written.
    pub num_chunks: u64,
    /// Number of strings in the symbol table.
    pub num_symbols: u32,
    /// Number of distinct label names.
    pub num_label_names: u32,
    /// Number of distinct `name="value"` pairs (one postings list each).
    pub num_postings: u64,
    /// Smallest chunk `mint`, if any chunk was written.
    pub min_time: Option<i64>,
    /// Largest chunk `maxt`, if any chunk was written.
    pub max_time: Option<i64>,
    /// Final file size in bytes.
    pub size_bytes: u64,
}

#[cfg(test)]
mod tests;
