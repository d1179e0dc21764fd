//! Series as the querier returns them: a label set plus references to the chunks holding its
//! samples, from any mix of the head and blocks, and an iterator that merges them.
//!
//! What must stay true:
//! - A [`Series`] owns (reference-counted) everything its chunks live in, so it stays valid
//!   after the head truncates or a block is deleted; memory is one decoded chunk at a time
//!   plus, for chunks that overlap in time, the samples of that overlapping run.
//! - Samples outside `[mint, maxt]` or inside a deleted interval of their source are skipped.
//! - When sources overlap (overlapping blocks, head and block), samples with the same timestamp
//!   are deduplicated: the chunk from the later source in query order (newer block, then head)
//!   wins.

use std::sync::{Arc, OnceLock};

use crate::block::Block;
use crate::chunkenc::XorIter;
use crate::chunks::ChunkBytes;
use crate::error::DecodeError;
use crate::head::Head;
use crate::iter::SampleIterator;
use crate::labels::Labels;
use crate::tombstones::Intervals;

/// Where a chunk's bytes live.
#[derive(Clone)]
pub(crate) enum ChunkData {
    /// In a block's chunk segments.
    Block { block: Arc<Block>, r: u64 },
    /// In one of the head's chunk files, read on first use (a query that selects many series
    /// but reads few pays nothing for the rest).
    HeadFile {
        head: Arc<Head>,
        r: u64,
        bytes: Arc<OnceLock<ChunkBytes>>,
    },
    /// A copy of an open head chunk, or a full chunk kept in memory.
    Mem(Arc<[u8]>),
}

impl ChunkData {
    pub(crate) fn bytes(&self) -> Result<&[u8], DecodeError> {
        match self {
            ChunkData::Block { block, r } => block
                .chunk(*r)
                .map_err(|e| DecodeError::new(0, format!("block {}: {e}", block.ulid()))),
            ChunkData::HeadFile { head, r, bytes } => {
                if let Some(b) = bytes.get() {
                    return Ok(b);
                }
                let b = head
                    .read_chunk(*r)
                    .map_err(|e| DecodeError::new(0, format!("head chunk: {e}")))?;
                Ok(bytes.get_or_init(|| b))
            }
            ChunkData::Mem(b) => Ok(b),
        }
    }
}

/// One chunk of a series as seen by a query.
#[derive(Clone)]
pub(crate) struct ChunkSpec {
    pub mint: i64,
    pub maxt: i64,
    pub data: ChunkData,
    /// Deleted intervals of the source this chunk comes from.
    pub deleted: Option<Arc<Intervals>>,
    /// Source order: higher wins on duplicate timestamps.
    pub priority: u32,
}

/// A series selected by a query: labels plus lazily decoded chunks.
#[derive(Clone)]
pub struct Series {
    labels: Labels,
    chunks: Vec<ChunkSpec>,
    mint: i64,
    maxt: i64,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("labels", &self.labels)
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

impl Series {
    pub(crate) fn new(labels: Labels, mut chunks: Vec<ChunkSpec>, mint: i64, maxt: i64) -> Self {
        chunks.sort_by_key(|c| (c.mint, c.priority));
        Self {
            labels,
            chunks,
            mint,
            maxt,
        }
    }

    pub(crate) fn merge_from(&mut self, other: Series) {
        self.chunks.extend(other.chunks);
        self.chunks.sort_by_key(|c| (c.mint, c.priority));
    }

    /// The series' labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The chunks, sorted by start time.
    pub(crate) fn chunks(&self) -> &[ChunkSpec] {
        &self.chunks
    }

    /// Number of chunks that may hold samples in the query range.
    pub fn num_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// An iterator over the samples in the query's time range.
    pub fn iter(&self) -> SeriesIterator<'_> {
        SeriesIterator::new(self)
    }
}

/// A group of consecutive chunks; more than one chunk only when their time ranges overlap.
struct Run {
    first: usize,
    last: usize,
    maxt: i64,
}

enum Cursor<'a> {
    None,
    Stream {
        it: XorIter<'a>,
        spec: usize,
    },
    Merged {
        samples: Vec<(i64, f64)>,
        pos: usize,
    },
}

/// Iterates a [`Series`]'s samples in time order; see the module docs.
pub struct SeriesIterator<'a> {
    series: &'a Series,
    runs: Vec<Run>,
    next_run: usize,
    cursor: Cursor<'a>,
    cur: (i64, f64),
    err: Option<DecodeError>,
    done: bool,
}

impl<'a> SeriesIterator<'a> {
    fn new(series: &'a Series) -> Self {
        let mut runs: Vec<Run> = Vec::new();
        for (i, c) in series.chunks.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if c.mint <= r.maxt => {
                    r.last = i;
                    r.maxt = r.maxt.max(c.maxt);
                }
                _ => runs.push(Run {
                    first: i,
                    last: i,
                    maxt: c.maxt,
                }),
            }
        }
        Self {
            series,
            runs,
            next_run: 0,
            cursor: Cursor::None,
            cur: (0, 0.0),
            err: None,
            done: false,
        }
    }

    fn fail(&mut self, e: DecodeError) -> bool {
        self.err = Some(e);
        self.done = true;
        self.cursor = Cursor::None;
        false
    }

    /// Opens run `i` as the cursor.
    fn open_run(&mut self, i: usize) -> Result<(), DecodeError> {
        let run = &self.runs[i];
        let chunks = &self.series.chunks;
        if run.first == run.last {
            let bytes = chunks[run.first].data.bytes()?;
            self.cursor = Cursor::Stream {
                it: XorIter::new(bytes),
                spec: run.first,
            };
            return Ok(());
        }
        // Overlapping chunks: decode them, later priority wins on equal timestamps.
        let mut all: Vec<(i64, u32, f64)> = Vec::new();
        for spec in &chunks[run.first..=run.last] {
            let mut it = XorIter::new(spec.data.bytes()?);
            while it.next() {
                let (t, v) = it.at();
                if !is_deleted(spec, t) {
                    all.push((t, spec.priority, v));
                }
            }
            if let Some(e) = it.err() {
                return Err(e);
            }
        }
        all.sort_by_key(|&(t, p, _)| (t, p));
        let mut samples: Vec<(i64, f64)> = Vec::with_capacity(all.len());
        for (t, _, v) in all {
            match samples.last_mut() {
                Some(last) if last.0 == t => last.1 = v,
                _ => samples.push((t, v)),
            }
        }
        self.cursor = Cursor::Merged { samples, pos: 0 };
        Ok(())
    }

    /// Advances within the current cursor to the next sample at or after `min_t` that is in
    /// range and not deleted. Returns `Some(true)` on a sample, `Some(false)` when the cursor
    /// is exhausted, and `None` after an error.
    fn advance_cursor(&mut self, min_t: Option<i64>) -> Option<bool> {
        let (mint, maxt) = (self.series.mint, self.series.maxt);
        match &mut self.cursor {
            Cursor::None => Some(false),
            Cursor::Stream { it, spec } => {
                let spec = &self.series.chunks[*spec];
                let mut ok = match min_t {
                    Some(t) => it.seek(t.max(mint)),
                    None => it.next(),
                };
                loop {
                    if !ok {
                        if let Some(e) = it.err() {
                            self.fail(e);
                            return None;
                        }
                        return Some(false);
                    }
                    let (t, v) = it.at();
                    if t > maxt {
                        return Some(false);
                    }
                    if t >= mint && !is_deleted(spec, t) {
                        self.cur = (t, v);
                        return Some(true);
                    }
                    ok = if t < mint { it.seek(mint) } else { it.next() };
                }
            }
            Cursor::Merged { samples, pos } => {
                if let Some(t) = min_t {
                    while *pos < samples.len() && samples[*pos].0 < t {
                        *pos += 1;
                    }
                }
                while *pos < samples.len() {
                    let s = samples[*pos];
                    *pos += 1;
                    if s.0 > maxt {
                        return Some(false);
                    }
                    if s.0 >= mint {
                        self.cur = s;
                        return Some(true);
                    }
                }
                Some(false)
            }
        }
    }

    fn step(&mut self, min_t: Option<i64>) -> bool {
        if self.done {
            return false;
        }
        loop {
            match self.advance_cursor(min_t) {
                None => return false,
                Some(true) => return true,
                Some(false) => {}
            }
            // Next run, skipping runs that end before the seek target or the query range.
            loop {
                if self.next_run >= self.runs.len() {
                    self.done = true;
                    self.cursor = Cursor::None;
                    return false;
                }
                let r = &self.runs[self.next_run];
                let lo = min_t.unwrap_or(i64::MIN).max(self.series.mint);
                if r.maxt < lo {
                    self.next_run += 1;
                    continue;
                }
                if self.series.chunks[r.first].mint > self.series.maxt {
                    self.done = true;
                    self.cursor = Cursor::None;
                    return false;
                }
                break;
            }
            let i = self.next_run;
            self.next_run += 1;
            if let Err(e) = self.open_run(i) {
                return self.fail(e);
            }
            if let Cursor::Stream { .. } = self.cursor {
                // A fresh stream cursor positions itself with `seek`/`next` in advance_cursor.
            }
        }
    }
}

fn is_deleted(spec: &ChunkSpec, t: i64) -> bool {
    spec.deleted.as_ref().is_some_and(|d| d.contains(t))
}

impl SampleIterator for SeriesIterator<'_> {
    fn next(&mut self) -> bool {
        self.step(None)
    }

    fn seek(&mut self, t: i64) -> bool {
        if self.done {
            return false;
        }
        // Already positioned at or after t: stay.
        let positioned = !matches!(self.cursor, Cursor::None);
        if positioned && self.cur.0 >= t {
            return true;
        }
        self.step(Some(t))
    }

    fn at(&self) -> (i64, f64) {
        self.cur
    }

    fn err(&self) -> Option<DecodeError> {
        self.err.clone()
    }
}
