//! A persisted block: an immutable directory `<ULID>/` holding `meta.json`, `index`,
//! `chunks/` and `tombstones`, read through memory maps.
//!
//! What must stay true:
//! - A block directory is only ever published complete (written under a temporary name,
//!   fsync'd, renamed); a directory without a readable `meta.json` is not a block.
//! - Everything read from a block is bounds- and checksum-checked; a block that fails to open
//!   is reported with the file and offset and set aside, never served.
//! - Only the tombstones file changes after a block is written (atomically replaced).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use roaring::RoaringBitmap;

use crate::chunks::ChunkReader;
use crate::error::{Error, Result};
use crate::index::{ChunkMeta, IndexReader};
use crate::labels::Labels;
use crate::meta::BlockMeta;
use crate::postings::IndexLookup;
use crate::series::{ChunkData, ChunkSpec};
use crate::tombstones::{read_tombstones, write_tombstones, Tombstones};

/// File names inside a block directory.
pub(crate) const INDEX_FILE: &str = "index";
pub(crate) const CHUNKS_DIR: &str = "chunks";
pub(crate) const TOMBSTONES_FILE: &str = "tombstones";

/// An open, immutable block.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: RwLock<Arc<Tombstones>>,
    size: u64,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("ulid", &self.meta.ulid.to_string())
            .field("min_time", &self.meta.min_time)
            .field("max_time", &self.meta.max_time)
            .finish()
    }
}

impl Block {
    /// Opens the block in `dir`, checking every file's header and checksum.
    pub fn open(dir: &Path) -> Result<Arc<Block>> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join(INDEX_FILE))?;
        let chunks = ChunkReader::open(&dir.join(CHUNKS_DIR))?;
        let tombstones = read_tombstones(&dir.join(TOMBSTONES_FILE))?;
        let size = crate::fs::dir_size(dir);
        if index.num_series() as u64 != meta.stats.num_series {
            return Err(Error::Corruption(crate::error::Corruption {
                file: dir.join(INDEX_FILE),
                offset: 0,
                cause: format!(
                    "index holds {} series, meta.json says {}",
                    index.num_series(),
                    meta.stats.num_series
                ),
            }));
        }
        Ok(Arc::new(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones: RwLock::new(Arc::new(tombstones)),
            size,
        }))
    }

    /// The block's metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's ULID as a string.
    pub fn ulid(&self) -> String {
        self.meta.ulid.to_string()
    }

    /// The block directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Inclusive minimum time.
    pub fn min_time(&self) -> i64 {
        self.meta.min_time
    }

    /// Exclusive maximum time.
    pub fn max_time(&self) -> i64 {
        self.meta.max_time
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// True if `[mint, maxt]` (inclusive) overlaps the block.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        mint < self.meta.max_time && maxt >= self.meta.min_time
    }

    /// The block's index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// The bytes of chunk `r` (checksum-checked).
    pub fn chunk(&self, r: u64) -> Result<&[u8]> {
        let (_enc, bytes) = self.chunks.chunk(r)?;
        Ok(bytes)
    }

    /// The current tombstones.
    pub fn tombstones(&self) -> Arc<Tombstones> {
        self.tombstones.read().clone()
    }

    /// Adds deleted intervals for the given series ids and persists the tombstones file.
    pub(crate) fn add_tombstones(&self, ids: &RoaringBitmap, mint: i64, maxt: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut guard = self.tombstones.write();
        let mut ts = (**guard).clone();
        for id in ids {
            ts.add(u64::from(id), mint, maxt);
        }
        write_tombstones(&self.dir.join(TOMBSTONES_FILE), &ts)?;
        *guard = Arc::new(ts);
        Ok(())
    }

    /// Labels and chunks overlapping `[mint, maxt]` of series `id`.
    pub(crate) fn series_chunks(
        self: &Arc<Self>,
        id: u32,
        mint: i64,
        maxt: i64,
        priority: u32,
        metas: &mut Vec<ChunkMeta>,
    ) -> Result<(Labels, Vec<ChunkSpec>)> {
        let labels = self.index.series(id, metas)?;
        Ok((labels, self.chunk_specs(id, metas, mint, maxt, priority)))
    }

    /// The chunks among `metas` (series `id`'s, already read from the index) that overlap
    /// `[mint, maxt]` and are not wholly deleted.
    pub(crate) fn chunk_specs(
        self: &Arc<Self>,
        id: u32,
        metas: &[ChunkMeta],
        mint: i64,
        maxt: i64,
        priority: u32,
    ) -> Vec<ChunkSpec> {
        let deleted = self
            .tombstones()
            .get(u64::from(id))
            .map(|iv| Arc::new(iv.clone()));
        metas
            .iter()
            .filter(|m| m.maxt >= mint && m.mint <= maxt)
            .filter(|m| !deleted.as_ref().is_some_and(|d| d.covers(m.mint, m.maxt)))
            .map(|m| ChunkSpec {
                mint: m.mint,
                maxt: m.maxt,
                data: ChunkData::Block {
                    block: self.clone(),
                    r: m.chunk_ref,
                },
                deleted: deleted.clone(),
                priority,
            })
            .collect()
    }
}

impl IndexLookup for Block {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        self.index.all_postings()
    }
    fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap> {
        self.index.postings_for_values(name, values)
    }
    fn postings_matching(
        &self,
        name: &str,
        prefix: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap> {
        self.index.postings_matching(name, prefix, pred)
    }
    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        self.index.label_values(name)
    }
    fn label_names(&self) -> Result<Vec<String>> {
        self.index.label_names()
    }
}
