//! Compaction: persisting a head range as a block, merging blocks into larger ones, and the
//! pure planning functions that decide what to merge.
//!
//! What must stay true:
//! - A block is written in `<data>/<ULID>.tmp`, fsync'd and renamed; a crash leaves at most a
//!   `.tmp` directory, which the database removes at open.
//! - Series are streamed one at a time in label order: memory is proportional to the number of
//!   series (labels and postings), never to the number of samples.
//! - Chunks are copied byte for byte when they need no change; they are re-encoded only where
//!   sources overlap in time, a chunk sticks out of the block's range, tombstones delete some
//!   of its samples (deleted samples are physically removed here), or neighbouring chunks are
//!   so small that merging them saves more than it costs (constant series).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::block::{Block, CHUNKS_DIR, INDEX_FILE, TOMBSTONES_FILE};
use crate::chunkenc::{num_samples_in, XorChunk, XorIter, ENCODING_XOR};
use crate::chunks::ChunkWriter;
use crate::error::{Error, Result};
use crate::head::Head;
use crate::index::{ChunkMeta, IndexWriter};
use crate::iter::SampleIterator;
use crate::labels::Labels;
use crate::meta::{BlockCompaction, BlockDesc, BlockMeta, BlockStats, META_VERSION};
use crate::series::{ChunkSpec, Series};
use crate::tombstones::{write_tombstones, Tombstones};

/// Samples per chunk when chunks are re-encoded.
const REENCODE_SAMPLES: usize = 120;

/// Neighbouring chunks of a series are merged while together they stay within these bounds
/// (a chunk of 1,024 samples still decodes in a few microseconds).
const MERGE_MAX_BYTES: usize = 256;
const MERGE_MAX_SAMPLES: usize = 1024;

/// The ranges of compaction levels: `block_range × 3^k`, capped at `max_range`.
pub fn compaction_ranges(block_range: i64, max_range: i64) -> Vec<i64> {
    let mut out = vec![block_range];
    let mut r = block_range;
    while let Some(next) = r.checked_mul(3) {
        if next > max_range {
            break;
        }
        out.push(next);
        r = next;
    }
    out
}

/// A block's time range, for planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanBlock {
    /// Inclusive minimum time.
    pub min_time: i64,
    /// Exclusive maximum time.
    pub max_time: i64,
}

/// Chooses the next set of blocks to merge, as indices into `blocks` (sorted by min time):
/// first any blocks that overlap in time; then, level by level, two or more blocks that lie
/// in one aligned window of the next range, when the window is complete or entirely older
/// than the newest block (the newest block itself is never merged by level, so the head can
/// still be persisted next to it).
pub fn plan_compaction(blocks: &[PlanBlock], ranges: &[i64]) -> Option<Vec<usize>> {
    // Overlaps first.
    let mut i = 0;
    while i < blocks.len() {
        let mut group = vec![i];
        let mut maxt = blocks[i].max_time;
        let mut j = i + 1;
        while j < blocks.len() && blocks[j].min_time < maxt {
            group.push(j);
            maxt = maxt.max(blocks[j].max_time);
            j += 1;
        }
        if group.len() > 1 {
            return Some(group);
        }
        i = j;
    }
    if blocks.len() < 2 {
        return None;
    }
    let newest = blocks[blocks.len() - 1];
    let candidates = &blocks[..blocks.len() - 1];
    for &r in ranges.iter().skip(1) {
        let mut start = 0;
        while start < candidates.len() {
            let w0 = crate::head::range_start(candidates[start].min_time, r);
            let w1 = w0.saturating_add(r);
            let mut end = start;
            while end < candidates.len()
                && candidates[end].min_time >= w0
                && candidates[end].max_time <= w1
            {
                end += 1;
            }
            if end == start {
                // This block is larger than the window: it is already at a higher level.
                start += 1;
                continue;
            }
            if end - start >= 2 {
                let g = &candidates[start..end];
                let full = g[0].min_time == w0 && g[g.len() - 1].max_time == w1;
                if full || w1 <= newest.min_time {
                    return Some((start..end).collect());
                }
            }
            start = end;
        }
    }
    None
}

/// Blocks to delete for retention: those ending at or before `newest - retention`, then the
/// oldest while the total size is over `max_bytes`. `blocks` is sorted by min time; returns
/// indices.
pub fn plan_retention(
    blocks: &[(PlanBlock, u64)],
    newest: i64,
    retention: Option<i64>,
    max_bytes: Option<u64>,
    other_bytes: u64,
) -> Vec<usize> {
    let mut out = Vec::new();
    if let Some(ret) = retention {
        let cutoff = newest.saturating_sub(ret);
        for (i, (b, _)) in blocks.iter().enumerate() {
            if b.max_time <= cutoff {
                out.push(i);
            }
        }
    }
    if let Some(limit) = max_bytes {
        let mut total: u64 = other_bytes
            + blocks
                .iter()
                .enumerate()
                .filter(|(i, _)| !out.contains(i))
                .map(|(_, b)| b.1)
                .sum::<u64>();
        for (i, (_, size)) in blocks.iter().enumerate() {
            if total <= limit {
                break;
            }
            if !out.contains(&i) {
                out.push(i);
                total -= size;
            }
        }
    }
    out.sort_unstable();
    out
}

/// What a written block holds.
#[derive(Debug, Clone)]
pub struct WrittenBlock {
    /// Its metadata (as in `meta.json`).
    pub meta: BlockMeta,
    /// Its directory.
    pub dir: PathBuf,
}

/// Writes series, given in label order, into a new block directory.
struct BlockWriter {
    tmp: PathBuf,
    chunks: ChunkWriter,
    index: IndexWriter,
    mint: i64,
    maxt: i64,
    stats: BlockStats,
    metas: Vec<ChunkMeta>,
}

impl BlockWriter {
    fn create(
        tmp: &Path,
        symbols: impl IntoIterator<Item = String>,
        mint: i64,
        maxt: i64,
    ) -> Result<Self> {
        crate::fs::remove_dir_all(tmp)?;
        crate::fs::create_dir_all(tmp)?;
        let chunks = ChunkWriter::create(&tmp.join(CHUNKS_DIR))?;
        let index = IndexWriter::create(&tmp.join(INDEX_FILE), symbols)?;
        Ok(Self {
            tmp: tmp.to_path_buf(),
            chunks,
            index,
            mint,
            maxt,
            stats: BlockStats::default(),
            metas: Vec::new(),
        })
    }

    /// Adds one series; `series` carries the chunks of every source and the deletions.
    fn add(&mut self, series: &Series) -> Result<()> {
        self.metas.clear();
        let (mint, maxt) = (self.mint, self.maxt - 1);
        // Series keeps its chunks sorted by start time.
        let sorted: Vec<&ChunkSpec> = series.chunks().iter().collect();
        let overlapping = sorted.windows(2).any(|w| w[1].mint <= w[0].maxt);
        let copyable = !overlapping
            && sorted.iter().all(|c| {
                c.mint >= mint
                    && c.maxt <= maxt
                    && !c
                        .deleted
                        .as_ref()
                        .is_some_and(|d| d.iter().any(|(a, b)| a <= c.maxt && b >= c.mint))
            });
        if copyable {
            // Copy chunks byte for byte, except that runs of small neighbours (constant or
            // slow series) are merged into one chunk: each chunk costs a header, framing and
            // an index entry, which dominate when its samples compress to a few bytes.
            let mut group: Vec<(&ChunkSpec, &[u8], usize)> = Vec::new();
            let (mut group_bytes, mut group_samples) = (0usize, 0usize);
            for c in sorted {
                let bytes = c.data.bytes().map_err(|e| {
                    Error::InvalidArgument(format!("reading chunk of {}: {e}", series.labels()))
                })?;
                let n = num_samples_in(bytes).map_err(|e| {
                    Error::InvalidArgument(format!("chunk of {}: {e}", series.labels()))
                })?;
                if !group.is_empty()
                    && (group_bytes + bytes.len() > MERGE_MAX_BYTES
                        || group_samples + n > MERGE_MAX_SAMPLES)
                {
                    self.write_group(&group, series)?;
                    group.clear();
                    (group_bytes, group_samples) = (0, 0);
                }
                group.push((c, bytes, n));
                group_bytes += bytes.len();
                group_samples += n;
            }
            self.write_group(&group, series)?;
        } else {
            let mut it = series.iter();
            let mut cur = XorChunk::new();
            while it.next() {
                let (t, v) = it.at();
                if cur.num_samples() >= REENCODE_SAMPLES {
                    self.flush_chunk(&mut cur)?;
                }
                cur.append(t, v);
            }
            if let Some(e) = it.err() {
                return Err(Error::InvalidArgument(format!(
                    "reading samples of {}: {e}",
                    series.labels()
                )));
            }
            self.flush_chunk(&mut cur)?;
        }
        if self.metas.is_empty() {
            return Ok(());
        }
        self.index.add_series(series.labels(), &self.metas)?;
        self.stats.num_series += 1;
        self.stats.num_chunks += self.metas.len() as u64;
        Ok(())
    }

    /// Writes consecutive, non-overlapping chunks of one series: a single chunk as it is,
    /// several as one re-encoded chunk.
    fn write_group(&mut self, group: &[(&ChunkSpec, &[u8], usize)], series: &Series) -> Result<()> {
        match group {
            [] => Ok(()),
            [(c, bytes, n)] => {
                let r = self.chunks.write(ENCODING_XOR, bytes)?;
                self.metas.push(ChunkMeta {
                    mint: c.mint,
                    maxt: c.maxt,
                    chunk_ref: r,
                });
                self.stats.num_samples += *n as u64;
                Ok(())
            }
            _ => {
                let mut merged = XorChunk::with_capacity(MERGE_MAX_BYTES);
                for (_, bytes, _) in group {
                    let mut it = XorIter::new(bytes);
                    while it.next() {
                        let (t, v) = it.at();
                        merged.append(t, v);
                    }
                    if let Some(e) = it.err() {
                        return Err(Error::InvalidArgument(format!(
                            "decoding chunk of {}: {e}",
                            series.labels()
                        )));
                    }
                }
                self.flush_chunk(&mut merged)
            }
        }
    }

    fn flush_chunk(&mut self, cur: &mut XorChunk) -> Result<()> {
        if cur.num_samples() == 0 {
            return Ok(());
        }
        let (Some(a), Some(b)) = (cur.first_time(), cur.last_time()) else {
            return Ok(());
        };
        let r = self.chunks.write(ENCODING_XOR, cur.bytes())?;
        self.metas.push(ChunkMeta {
            mint: a,
            maxt: b,
            chunk_ref: r,
        });
        self.stats.num_samples += cur.num_samples() as u64;
        *cur = XorChunk::new();
        Ok(())
    }

    /// Finishes the files and publishes the directory as `<parent>/<ulid>`. Returns `None` if
    /// no series was written (the temporary directory is removed).
    fn finish(self, ulid: ulid::Ulid, compaction: BlockCompaction) -> Result<Option<WrittenBlock>> {
        self.chunks.finish()?;
        self.index.finish()?;
        if self.stats.num_series == 0 {
            crate::fs::remove_dir_all(&self.tmp)?;
            return Ok(None);
        }
        write_tombstones(&self.tmp.join(TOMBSTONES_FILE), &Tombstones::default())?;
        let meta = BlockMeta {
            ulid,
            min_time: self.mint,
            max_time: self.maxt,
            stats: self.stats,
            compaction,
            version: META_VERSION,
        };
        meta.write(&self.tmp)?;
        let parent = self.tmp.parent().map(Path::to_path_buf).unwrap_or_default();
        let dst = parent.join(ulid.to_string());
        crate::fs::publish_dir(&self.tmp, &dst)?;
        Ok(Some(WrittenBlock { meta, dir: dst }))
    }
}

fn tmp_dir(data_dir: &Path, ulid: ulid::Ulid) -> PathBuf {
    data_dir.join(format!("{ulid}.tmp"))
}

/// Persists the head's samples in `[mint, maxt)` as a level-1 block under `data_dir`.
/// Returns `None` if the range holds no samples.
pub fn write_head_block(
    head: &Arc<Head>,
    data_dir: &Path,
    mint: i64,
    maxt: i64,
) -> Result<Option<WrittenBlock>> {
    let ulid = ulid::Ulid::new();
    let tmp = tmp_dir(data_dir, ulid);
    let symbols = head.with_postings(|p| p.symbols());
    let mut series: Vec<(Labels, u32)> = head
        .all_series()
        .into_iter()
        .map(|s| (s.labels.clone(), s.id))
        .collect();
    series.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut w = BlockWriter::create(&tmp, symbols, mint, maxt)?;
    let res = (|| {
        for (_, id) in &series {
            if let Some((labels, specs)) = head.series_chunks(*id, mint, maxt - 1, 0)? {
                if specs.is_empty() {
                    continue;
                }
                w.add(&Series::new(labels, specs, mint, maxt - 1))?;
            }
        }
        Ok::<_, Error>(())
    })();
    if let Err(e) = res {
        let _ = crate::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let compaction = BlockCompaction {
        level: 1,
        sources: vec![ulid],
        ..Default::default()
    };
    w.finish(ulid, compaction).inspect_err(|_| {
        let _ = crate::fs::remove_dir_all(&tmp);
    })
}

/// Merges `blocks` (sorted by min time) into one block under `data_dir`, removing samples
/// deleted by tombstones and deduplicating overlaps.
pub fn merge_blocks(blocks: &[Arc<Block>], data_dir: &Path) -> Result<Option<WrittenBlock>> {
    let ulid = ulid::Ulid::new();
    let tmp = tmp_dir(data_dir, ulid);
    let mint = blocks.iter().map(|b| b.min_time()).min().unwrap_or(0);
    let maxt = blocks.iter().map(|b| b.max_time()).max().unwrap_or(0);
    let mut symbols: BTreeSet<String> = BTreeSet::new();
    for b in blocks {
        for s in b.index().symbols() {
            symbols.insert(s?.to_owned());
        }
    }
    let mut w = BlockWriter::create(&tmp, symbols, mint, maxt)?;
    let res = (|| {
        // k-way merge over each block's series, which are sorted by labels (id order).
        let mut cursors: Vec<(u32, u32)> =
            blocks.iter().map(|b| (0, b.index().num_series())).collect();
        // Each cursor holds its current series, decoded once: labels and chunk metas.
        let mut heads: Vec<Option<(Labels, Vec<ChunkMeta>)>> = vec![None; blocks.len()];
        loop {
            for (i, b) in blocks.iter().enumerate() {
                if heads[i].is_none() && cursors[i].0 < cursors[i].1 {
                    let mut metas = Vec::new();
                    let labels = b.index().series(cursors[i].0, &mut metas)?;
                    heads[i] = Some((labels, metas));
                }
            }
            let Some(min) = heads.iter().flatten().map(|h| &h.0).min().cloned() else {
                break;
            };
            let mut specs: Vec<ChunkSpec> = Vec::new();
            for (i, b) in blocks.iter().enumerate() {
                if heads[i].as_ref().is_some_and(|h| h.0 == min) {
                    if let Some((_, metas)) = heads[i].take() {
                        specs.extend(b.chunk_specs(cursors[i].0, &metas, mint, maxt - 1, i as u32));
                    }
                    cursors[i].0 += 1;
                }
            }
            if specs.is_empty() {
                continue;
            }
            w.add(&Series::new(min, specs, mint, maxt - 1))?;
        }
        Ok::<_, Error>(())
    })();
    if let Err(e) = res {
        let _ = crate::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let mut sources: Vec<ulid::Ulid> = blocks
        .iter()
        .flat_map(|b| b.meta().compaction.sources.clone())
        .collect();
    sources.sort();
    sources.dedup();
    let level = blocks
        .iter()
        .map(|b| b.meta().compaction.level)
        .max()
        .unwrap_or(0)
        + 1;
    let parents = blocks
        .iter()
        .map(|b| BlockDesc {
            ulid: b.meta().ulid,
            min_time: b.min_time(),
            max_time: b.max_time(),
        })
        .collect();
    let compaction = BlockCompaction {
        level,
        sources,
        parents,
        ..Default::default()
    };
    w.finish(ulid, compaction).inspect_err(|_| {
        let _ = crate::fs::remove_dir_all(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(min_time: i64, max_time: i64) -> PlanBlock {
        PlanBlock { min_time, max_time }
    }

    #[test]
    fn ranges_grow_by_three_and_cap() {
        assert_eq!(compaction_ranges(2, 100), vec![2, 6, 18, 54]);
        assert_eq!(compaction_ranges(2, 2), vec![2]);
    }

    #[test]
    fn plans_overlaps_first() {
        let bs = [b(0, 10), b(5, 20), b(20, 30)];
        assert_eq!(plan_compaction(&bs, &[10, 30]), Some(vec![0, 1]));
    }

    #[test]
    fn plans_complete_windows_and_keeps_newest() {
        let r = [2, 6, 18];
        // Three 2h blocks filling [0,6) and a newest block: merge the three.
        let bs = [b(0, 2), b(2, 4), b(4, 6), b(6, 8)];
        assert_eq!(plan_compaction(&bs, &r), Some(vec![0, 1, 2]));
        // An incomplete window that still may get data (newest block is inside it): wait.
        let bs = [b(0, 2), b(2, 4)];
        assert_eq!(plan_compaction(&bs, &r), None);
        // An incomplete window entirely older than the newest block: merge.
        let bs = [b(0, 2), b(2, 4), b(8, 10)];
        assert_eq!(plan_compaction(&bs, &r), Some(vec![0, 1]));
        // Already merged: nothing to do at 6, next level waits for a full window.
        let bs = [b(0, 6), b(6, 12), b(12, 14)];
        assert_eq!(plan_compaction(&bs, &r), None);
        let bs = [b(0, 6), b(6, 12), b(12, 18), b(18, 20)];
        assert_eq!(plan_compaction(&bs, &r), Some(vec![0, 1, 2]));
    }

    #[test]
    fn retention_by_time_and_size() {
        let bs = [(b(0, 10), 100), (b(10, 20), 100), (b(20, 30), 100)];
        assert_eq!(plan_retention(&bs, 35, Some(20), None, 0), vec![0]);
        assert_eq!(plan_retention(&bs, 35, None, Some(250), 0), vec![0]);
        assert_eq!(plan_retention(&bs, 35, None, Some(250), 100), vec![0, 1]);
        assert_eq!(
            plan_retention(&bs, 35, Some(20), Some(250), 100),
            vec![0, 1]
        );
        assert!(plan_retention(&bs, 35, None, None, 0).is_empty());
    }
}
