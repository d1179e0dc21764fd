//! Streaming writer for the block index file.
//!
//! Series entries go straight to a `BufWriter` as they are added; what stays in memory is the
//! symbol table (needed to resolve label strings), one offset per page of series, and one
//! roaring bitmap per distinct label pair. Label names, label-name sets and, per name, label
//! values get small ids in order of first appearance, so a series entry names its label names
//! with one set id and each value with one short varint; the label index written by
//! [`IndexWriter::finish`] maps those ids back to symbols and postings, plus a sorted
//! permutation of each name's values for binary search.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use super::{ChunkMeta, IndexStats, FOOTER_LEN, HEADER_LEN, MAGIC, SERIES_PER_PAGE, VERSION};
use crate::encoding::Encbuf;
use crate::error::{Error, Result};
use crate::labels::Labels;

/// A `Write` that counts bytes and folds them into a running CRC32 on their way to the file.
struct CrcWriter {
    inner: BufWriter<File>,
    crc: crc32fast::Hasher,
    pos: u64,
}

impl Write for CrcWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The distinct values seen so far for one label name.
struct NameBuilder {
    /// Index of the name in the symbol table.
    sym: u32,
    /// Symbol index of a value → value id (order of first appearance).
    ids: HashMap<u32, u32>,
    /// Symbol index of each value, by value id.
    values: Vec<u32>,
    /// Postings of each value, by value id.
    postings: Vec<RoaringBitmap>,
}

/// Writes one index file. See the module docs and `engine/docs/format/index.md`.
///
/// An [`Error::InvalidArgument`] from [`IndexWriter::add_series`] leaves the writer usable
/// (nothing was written). After an I/O error the file is incomplete: drop the writer and
/// discard the file (compaction writes into a temporary directory for this reason). A writer
/// dropped without [`IndexWriter::finish`] leaves an incomplete file that
/// [`super::IndexReader::open`] rejects.
pub struct IndexWriter {
    path: PathBuf,
    out: CrcWriter,
    /// All symbols concatenated; symbol `i` is `sym_text[sym_starts[i]..sym_starts[i + 1]]`.
    sym_text: String,
    sym_starts: Vec<usize>,
    /// Offset of each symbol's entry inside the symbols section (its symbol ref).
    sym_refs: Vec<u32>,
    series_off: u64,
    num_series: u32,
    num_chunks: u64,
    min_time: Option<i64>,
    max_time: Option<i64>,
    /// Offset of each page relative to the series section.
    page_offsets: Vec<u64>,
    page_base: PageBase,
    prev: Option<Labels>,
    /// (name id, value id) of each label of `prev`, in label order.
    prev_ids: Vec<(u32, u32)>,
    cur_ids: Vec<(u32, u32)>,
    names: Vec<NameBuilder>,
    /// Symbol index of a name → name id.
    name_ids: HashMap<u32, u32>,
    /// Label name sets (name ids in label order) → set id (order of first appearance).
    name_sets: HashMap<Vec<u32>, u32>,
    /// Set id of `prev`.
    prev_set: u32,
    scratch: Encbuf,
    /// Tests only: use 8-byte page and postings offsets even for small files.
    #[cfg(test)]
    pub(crate) force_wide: bool,
}

impl std::fmt::Debug for IndexWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexWriter")
            .field("path", &self.path)
            .field("num_series", &self.num_series)
            .finish_non_exhaustive()
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

fn uvarint_len(mut v: u64) -> u64 {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

impl IndexWriter {
    /// Creates (or truncates) the index file at `path` and writes the header and the symbol
    /// table. `symbols` must contain every string used by the series' labels, sorted and
    /// unique; otherwise [`Error::InvalidArgument`].
    pub fn create(path: &Path, symbols: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
        let mut w = IndexWriter {
            path: path.to_path_buf(),
            out: CrcWriter {
                inner: BufWriter::with_capacity(1 << 16, file),
                crc: crc32fast::Hasher::new(),
                pos: 0,
            },
            sym_text: String::new(),
            sym_starts: vec![0],
            sym_refs: Vec::new(),
            series_off: 0,
            num_series: 0,
            num_chunks: 0,
            min_time: None,
            max_time: None,
            page_offsets: Vec::new(),
            page_base: PageBase::default(),
            prev: None,
            prev_ids: Vec::new(),
            cur_ids: Vec::new(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            name_sets: HashMap::new(),
            prev_set: 0,
            scratch: Encbuf::with_capacity(256),
            #[cfg(test)]
            force_wide: false,
        };
        let mut header = Encbuf::with_capacity(HEADER_LEN);
        header.put_u32(MAGIC);
        header.put_u8(VERSION);
        header.put_bytes(&[0; 3]);
        w.write(&header.buf)?;

        let mut section_len: u64 = 0;
        let mut enc = Encbuf::new();
        for s in symbols {
            let s = s.as_ref();
            let n = w.sym_refs.len();
            if n > 0 && w.symbol(n - 1) >= s {
                return Err(invalid(format!(
                    "index symbols must be sorted and unique: {s:?} after {:?}",
                    w.symbol(n - 1)
                )));
            }
            let sym_ref = u32::try_from(section_len)
                .map_err(|_| invalid("index symbol table exceeds 4 GiB"))?;
            if w.sym_refs.len() == u32::MAX as usize {
                return Err(invalid("too many index symbols"));
            }
            w.sym_refs.push(sym_ref);
            w.sym_text.push_str(s);
            w.sym_starts.push(w.sym_text.len());
            enc.buf.clear();
            enc.put_uvarint_str(s);
            w.write_scratch(&enc)?;
            section_len += uvarint_len(s.len() as u64) + s.len() as u64;
        }
        w.series_off = w.out.pos;
        Ok(w)
    }

    fn wide(&self) -> bool {
        #[cfg(test)]
        return self.force_wide;
        #[cfg(not(test))]
        false
    }

    fn symbol(&self, i: usize) -> &str {
        &self.sym_text[self.sym_starts[i]..self.sym_starts[i + 1]]
    }

    fn find_symbol(&self, s: &str) -> Result<u32> {
        let (mut lo, mut hi) = (0usize, self.sym_refs.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.symbol(mid).cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid as u32),
            }
        }
        Err(invalid(format!(
            "label string {s:?} is missing from the index symbols"
        )))
    }

    fn write(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .map_err(|e| Error::io("write", &self.path, e))
    }

    fn write_scratch(&mut self, e: &Encbuf) -> Result<()> {
        self.write(&e.buf)
    }

    /// (name id, value id) of one label, registering both if new.
    fn label_ids(&mut self, name: &str, value: &str) -> Result<(u32, u32)> {
        let name_sym = self.find_symbol(name)?;
        let value_sym = self.find_symbol(value)?;
        let name_id = match self.name_ids.get(&name_sym) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(NameBuilder {
                    sym: name_sym,
                    ids: HashMap::new(),
                    values: Vec::new(),
                    postings: Vec::new(),
                });
                self.name_ids.insert(name_sym, id);
                id
            }
        };
        let nb = &mut self.names[name_id as usize];
        let value_id = match nb.ids.get(&value_sym) {
            Some(&id) => id,
            None => {
                let id = nb.values.len() as u32;
                nb.values.push(value_sym);
                nb.postings.push(RoaringBitmap::new());
                nb.ids.insert(value_sym, id);
                id
            }
        };
        Ok((name_id, value_id))
    }

    fn resolve_ids(
        &mut self,
        labels: &Labels,
        prev: Option<&Labels>,
        prev_ids: &[(u32, u32)],
        out: &mut Vec<(u32, u32)>,
    ) -> Result<()> {
        let mut prev_iter = prev
            .into_iter()
            .flat_map(|p| p.iter())
            .zip(prev_ids)
            .peekable();
        for l in labels.iter() {
            while prev_iter.peek().is_some_and(|(p, _)| p.name < l.name) {
                prev_iter.next();
            }
            let ids = match prev_iter.peek() {
                Some((p, &ids)) if p.name == l.name && p.value == l.value => ids,
                _ => self.label_ids(l.name, l.value)?,
            };
            out.push(ids);
        }
        Ok(())
    }

    /// Appends a series. Series must come in strictly increasing label order and every label
    /// string must be in the symbol table; chunk metas must have `mint <= maxt` and be sorted
    /// by `mint`. Returns the new series' id (0, 1, 2, ...).
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<u32> {
        if labels.is_empty() {
            return Err(invalid("index series must have at least one label"));
        }
        if let Some(prev) = &self.prev {
            if labels <= prev {
                return Err(invalid(format!(
                    "index series out of order: {labels} after {prev}"
                )));
            }
        }
        if self.num_series == u32::MAX {
            return Err(invalid("too many series for one index"));
        }
        for (i, c) in chunks.iter().enumerate() {
            if c.mint > c.maxt {
                return Err(invalid(format!(
                    "chunk meta of {labels} has mint {} > maxt {}",
                    c.mint, c.maxt
                )));
            }
            if i > 0 && chunks[i - 1].mint > c.mint {
                return Err(invalid(format!(
                    "chunk metas of {labels} are not sorted by mint"
                )));
            }
        }

        // Resolve label ids, reusing those of the previous series where the labels repeat
        // (series arrive sorted, so most labels repeat).
        let prev_labels = self.prev.take();
        let prev_ids = std::mem::take(&mut self.prev_ids);
        let mut cur = std::mem::take(&mut self.cur_ids);
        cur.clear();
        let res = self.resolve_ids(labels, prev_labels.as_ref(), &prev_ids, &mut cur);
        self.prev = prev_labels;
        self.prev_ids = prev_ids;
        if let Err(e) = res {
            self.cur_ids = cur;
            return Err(e);
        }

        // Most series have the same label names as the previous one.
        let same_names = self.prev.is_some()
            && cur.len() == self.prev_ids.len()
            && cur.iter().zip(&self.prev_ids).all(|(a, b)| a.0 == b.0);
        let set_id = if same_names {
            self.prev_set
        } else {
            let names: Vec<u32> = cur.iter().map(|&(n, _)| n).collect();
            let next = self.name_sets.len() as u32;
            *self.name_sets.entry(names).or_insert(next)
        };

        let id = self.num_series;
        if id.is_multiple_of(SERIES_PER_PAGE) {
            self.page_offsets.push(self.out.pos - self.series_off);
            self.page_base = PageBase::of(chunks);
            let mut e = Encbuf::with_capacity(40);
            self.page_base.encode(&mut e);
            self.write_scratch(&e)?;
        }

        let mut e = std::mem::take(&mut self.scratch);
        e.buf.clear();
        encode_entry(&mut e, set_id, &cur, chunks, &self.page_base);
        let mut len = Encbuf::with_capacity(5);
        len.put_uvarint(e.len() as u64);
        let res = self.write(&len.buf).and_then(|_| self.write(&e.buf));
        self.scratch = e;
        res?;

        for &(name_id, value_id) in &cur {
            // Ids arrive in increasing order, so `try_push` appends; `insert` is a fallback
            // that is never taken.
            let bm = &mut self.names[name_id as usize].postings[value_id as usize];
            if bm.try_push(id).is_err() {
                bm.insert(id);
            }
        }
        if let (Some(first), Some(last)) = (chunks.first(), chunks.iter().map(|c| c.maxt).max()) {
            self.min_time = Some(self.min_time.map_or(first.mint, |m| m.min(first.mint)));
            self.max_time = Some(self.max_time.map_or(last, |m| m.max(last)));
        }
        self.num_chunks += chunks.len() as u64;
        self.num_series += 1;
        self.prev = Some(labels.clone());
        self.prev_set = set_id;
        self.cur_ids = std::mem::replace(&mut self.prev_ids, cur);
        Ok(id)
    }

    /// Writes the page table, postings, label index, table of contents and footer, then
    /// flushes and fsyncs the file.
    pub fn finish(mut self) -> Result<IndexStats> {
        let page_table_off = self.out.pos;
        let series_len = page_table_off - self.series_off;
        let page_width: u8 = if series_len > u64::from(u32::MAX) || self.wide() {
            8
        } else {
            4
        };
        let mut e = Encbuf::with_capacity(self.page_offsets.len() * page_width as usize);
        for &off in &self.page_offsets {
            put_width(&mut e, off, page_width);
        }
        self.write_scratch(&e)?;

        // Postings, one serialized roaring bitmap per (name, value), in id order.
        let postings_off = self.out.pos;
        let mut names = std::mem::take(&mut self.names);
        let mut postings_offsets: Vec<Vec<u64>> = Vec::with_capacity(names.len());
        let mut num_postings = 0u64;
        for nb in &mut names {
            let mut offs = Vec::with_capacity(nb.postings.len());
            for mut bm in std::mem::take(&mut nb.postings) {
                offs.push(self.out.pos - postings_off);
                bm.optimize();
                bm.serialize_into(&mut self.out)
                    .map_err(|e| Error::io("write", &self.path, e))?;
                num_postings += 1;
            }
            postings_offsets.push(offs);
        }
        let values_off = self.out.pos;
        let postings_width: u8 = if values_off - postings_off > u64::from(u32::MAX) || self.wide() {
            8
        } else {
            4
        };

        // Per name: value entries by id, then the sorted permutation.
        let mut value_table_offs = Vec::with_capacity(names.len());
        for (nb, offs) in names.iter_mut().zip(&postings_offsets) {
            value_table_offs.push(self.out.pos - values_off);
            let mut e = Encbuf::with_capacity(nb.values.len() * (8 + postings_width as usize));
            for (&sym, &off) in nb.values.iter().zip(offs) {
                e.put_u32(self.sym_refs[sym as usize]);
                put_width(&mut e, off, postings_width);
            }
            let mut order: Vec<u32> = (0..nb.values.len() as u32).collect();
            // Symbol indexes sort like the strings themselves.
            order.sort_unstable_by_key(|&id| nb.values[id as usize]);
            for id in order {
                e.put_u32(id);
            }
            self.write_scratch(&e)?;
            nb.ids = HashMap::new();
        }

        let names_off = self.out.pos;
        let mut e = Encbuf::with_capacity(names.len() * super::NAME_ENTRY_LEN);
        for (nb, &off) in names.iter().zip(&value_table_offs) {
            e.put_u32(self.sym_refs[nb.sym as usize]);
            e.put_u32(nb.values.len() as u32);
            e.put_u64(off);
        }
        self.write_scratch(&e)?;

        let sets_off = self.out.pos;
        let mut sets: Vec<(Vec<u32>, u32)> =
            std::mem::take(&mut self.name_sets).into_iter().collect();
        sets.sort_unstable_by_key(|s| s.1);
        let mut e = Encbuf::new();
        for (set, _) in &sets {
            e.put_uvarint(set.len() as u64);
            for &n in set {
                e.put_uvarint(u64::from(n));
            }
        }
        self.write_scratch(&e)?;

        let mut toc = Encbuf::with_capacity(super::TOC_LEN + FOOTER_LEN);
        toc.put_u64(HEADER_LEN as u64);
        toc.put_u64(self.series_off);
        toc.put_u64(page_table_off);
        toc.put_u64(postings_off);
        toc.put_u64(values_off);
        toc.put_u64(names_off);
        toc.put_u64(sets_off);
        toc.put_u32(self.sym_refs.len() as u32);
        toc.put_u32(self.num_series);
        toc.put_u32(names.len() as u32);
        toc.put_u32(sets.len() as u32);
        toc.put_u32(SERIES_PER_PAGE);
        toc.put_u8(page_width);
        toc.put_u8(postings_width);
        toc.put_bytes(&[0; 2]);
        // Footer, without the CRC.
        toc.put_u32(MAGIC);
        toc.put_u8(VERSION);
        toc.put_bytes(&[0; 3]);
        self.write_scratch(&toc)?;

        let crc = self.out.crc.clone().finalize();
        let size_bytes = self.out.pos + 4;
        let path = self.path;
        let mut inner = self.out.inner;
        inner
            .write_all(&crc.to_le_bytes())
            .map_err(|e| Error::io("write", &path, e))?;
        let file = inner
            .into_inner()
            .map_err(|e| Error::io("write", &path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io("fsync", &path, e))?;

        Ok(IndexStats {
            num_series: self.num_series,
            num_chunks: self.num_chunks,
            num_symbols: self.sym_refs.len() as u32,
            num_label_names: names.len() as u32,
            num_postings,
            min_time: self.min_time,
            max_time: self.max_time,
            size_bytes,
        })
    }
}

fn put_width(e: &mut Encbuf, v: u64, width: u8) {
    if width == 8 {
        e.put_u64(v);
    } else {
        e.put_u32(v as u32);
    }
}

/// Per-page base values that the page's series entries are coded against, taken from the
/// first series of the page (zeros where it has too few chunks). See `index.md`, "Pages".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PageBase {
    /// `mint` of the first chunk.
    pub(crate) mint: i64,
    /// `chunk_ref` of the first chunk.
    pub(crate) chunk_ref: u64,
    /// `maxt - mint` of the first chunk.
    pub(crate) dur: i64,
    /// `mint` of the second chunk minus `maxt` of the first.
    pub(crate) gap: i64,
    /// `chunk_ref` of the second chunk minus that of the first.
    pub(crate) rd: i64,
}

impl PageBase {
    fn of(chunks: &[ChunkMeta]) -> Self {
        let mut b = PageBase::default();
        if let Some(c) = chunks.first() {
            b.mint = c.mint;
            b.chunk_ref = c.chunk_ref;
            b.dur = c.maxt.wrapping_sub(c.mint);
        }
        if let [c0, c1, ..] = chunks {
            b.gap = c1.mint.wrapping_sub(c0.maxt);
            b.rd = c1.chunk_ref.wrapping_sub(c0.chunk_ref) as i64;
        }
        b
    }

    fn encode(&self, e: &mut Encbuf) {
        e.put_varint(self.mint);
        e.put_uvarint(self.chunk_ref);
        e.put_varint(self.dur);
        e.put_varint(self.gap);
        e.put_varint(self.rd);
    }
}

/// Encodes one series entry (without its length prefix). See `index.md`, "Series entry".
fn encode_entry(
    e: &mut Encbuf,
    set_id: u32,
    ids: &[(u32, u32)],
    chunks: &[ChunkMeta],
    base: &PageBase,
) {
    e.put_uvarint(u64::from(set_id));
    for &(_, v) in ids {
        e.put_uvarint(u64::from(v));
    }
    e.put_uvarint(chunks.len() as u64);
    let Some(first) = chunks.first() else { return };
    let dur0 = first.maxt.wrapping_sub(first.mint);
    e.put_varint(first.mint.wrapping_sub(base.mint));
    e.put_varint(dur0.wrapping_sub(base.dur));
    e.put_varint(first.chunk_ref.wrapping_sub(base.chunk_ref) as i64);
    let (mut prev_gap, mut prev_dur, mut prev_rd) = (base.gap, dur0, base.rd);
    for w in chunks.windows(2) {
        let (p, c) = (&w[0], &w[1]);
        let gap = c.mint.wrapping_sub(p.maxt);
        let dur = c.maxt.wrapping_sub(c.mint);
        let rd = c.chunk_ref.wrapping_sub(p.chunk_ref) as i64;
        e.put_varint(gap.wrapping_sub(prev_gap));
        e.put_varint(dur.wrapping_sub(prev_dur));
        e.put_varint(rd.wrapping_sub(prev_rd));
        (prev_gap, prev_dur, prev_rd) = (gap, dur, rd);
    }
}
