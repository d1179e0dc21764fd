//! Memory-mapped reader for the block index file.
//!
//! [`IndexReader::open`] checks the header, footer, CRC32 and the table of contents once and
//! loads the (small) label-name table into memory. Everything else is read from the map on
//! demand: a series through the page table (one page per [`super::SERIES_PER_PAGE`] series),
//! a postings list through a binary search over the sorted permutation of a label's values.

use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use super::writer::PageBase;
use super::{
    ChunkMeta, FOOTER_LEN, HEADER_LEN, MAGIC, MAX_SERIES_PER_PAGE, NAME_ENTRY_LEN, TOC_LEN, VERSION,
};
use crate::encoding::{check_trailing_crc32, Decbuf};
use crate::error::{Corruption, DecodeError, Error, Result};
use crate::fs::MappedFile;
use crate::labels::Labels;
use crate::postings::IndexLookup;

/// The bytes behind a reader: a read-only map, or an owned buffer (tests and fuzzing).
#[derive(Debug)]
enum Backing {
    Mapped(MappedFile),
    Owned(Vec<u8>),
}

/// One label name, loaded at open.
#[derive(Debug)]
struct NameInfo {
    name: Box<str>,
    /// Absolute offset of the name's value entries (by value id).
    table: usize,
    /// Number of distinct values.
    count: u32,
}

/// Reads one index file. Cheap to share between threads (`&self` methods only).
#[derive(Debug)]
pub struct IndexReader {
    path: PathBuf,
    data: Backing,
    symbols_start: usize,
    symbols_end: usize,
    num_symbols: u32,
    series_start: usize,
    series_end: usize,
    page_table_start: usize,
    page_width: usize,
    postings_start: usize,
    postings_end: usize,
    postings_width: usize,
    num_series: u32,
    series_per_page: u32,
    /// Label names by name id.
    names: Vec<NameInfo>,
    /// Name ids sorted by name.
    sorted_names: Vec<u32>,
    /// Label name sets: set `i` is `set_names[set_starts[i]..set_starts[i + 1]]`, name ids.
    set_names: Vec<u32>,
    set_starts: Vec<u32>,
}

fn read_width(b: &[u8], at: usize, width: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(width)?)?;
    Some(if width == 8 {
        u64::from_le_bytes(s.try_into().ok()?)
    } else {
        u64::from(u32::from_le_bytes(s.try_into().ok()?))
    })
}

impl IndexReader {
    /// Maps the index file at `path` and validates its header, footer, CRC32 and table of
    /// contents. Bad bytes are reported as [`Error::Corruption`] naming the file and offset.
    pub fn open(path: &Path) -> Result<Self> {
        let map = MappedFile::open(path)?;
        Self::from_backing(path.to_path_buf(), Backing::Mapped(map))
    }

    /// Like [`IndexReader::open`] but over bytes already in memory; `path` is only used to
    /// name the file in errors. Meant for tests and fuzzing.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self> {
        Self::from_backing(path.into(), Backing::Owned(bytes))
    }

    fn bytes(&self) -> &[u8] {
        match &self.data {
            Backing::Mapped(m) => m.bytes(),
            Backing::Owned(v) => v,
        }
    }

    fn corrupt(&self, offset: usize, what: impl Into<String>) -> Error {
        corrupt(&self.path, offset, what)
    }

    fn decode_err(&self, base: usize) -> impl Fn(DecodeError) -> Error + '_ {
        move |e| e.in_file(&self.path, base as u64).into()
    }

    fn from_backing(path: PathBuf, data: Backing) -> Result<Self> {
        let b = match &data {
            Backing::Mapped(m) => m.bytes(),
            Backing::Owned(v) => v.as_slice(),
        };
        let len = b.len();
        let bad = |off: usize, what: String| corrupt(&path, off, what);
        if len < HEADER_LEN + TOC_LEN + FOOTER_LEN {
            return Err(bad(len, format!("index file too short: {len} bytes")));
        }
        let mut h = Decbuf::new(&b[..HEADER_LEN]);
        let de = |e: DecodeError| bad(e.offset as usize, e.what);
        let magic = h.get_u32().map_err(de)?;
        if magic != MAGIC {
            return Err(bad(0, format!("bad index magic {magic:#010x}")));
        }
        let version = h.get_u8().map_err(de)?;
        if version != VERSION {
            return Err(bad(4, format!("unsupported index version {version}")));
        }
        if h.rest() != [0; 3] {
            return Err(bad(5, "reserved header bytes are not zero".into()));
        }
        let footer_at = len - FOOTER_LEN;
        let mut f = Decbuf::new(&b[footer_at..]);
        let de_f = |e: DecodeError| bad(footer_at + e.offset as usize, e.what);
        if f.get_u32().map_err(de_f)? != MAGIC {
            return Err(bad(footer_at, "bad index footer magic".into()));
        }
        if f.get_u8().map_err(de_f)? != VERSION {
            return Err(bad(
                footer_at + 4,
                "index footer version differs from header".into(),
            ));
        }
        if f.get_bytes(3).map_err(de_f)? != [0; 3] {
            return Err(bad(
                footer_at + 5,
                "reserved footer bytes are not zero".into(),
            ));
        }
        check_trailing_crc32(b).map_err(|e| Error::from(e.in_file(&path, 0)))?;

        let toc_at = footer_at - TOC_LEN;
        let mut t = Decbuf::new(&b[toc_at..footer_at]);
        let de_t = |e: DecodeError| bad(toc_at + e.offset as usize, e.what);
        let mut offs = [0u64; 7];
        for o in &mut offs {
            *o = t.get_u64().map_err(de_t)?;
        }
        let num_symbols = t.get_u32().map_err(de_t)?;
        let num_series = t.get_u32().map_err(de_t)?;
        let num_names = t.get_u32().map_err(de_t)?;
        let num_sets = t.get_u32().map_err(de_t)?;
        let series_per_page = t.get_u32().map_err(de_t)?;
        let page_width = usize::from(t.get_u8().map_err(de_t)?);
        let postings_width = usize::from(t.get_u8().map_err(de_t)?);
        if t.rest() != [0; 2] {
            return Err(bad(toc_at + 78, "reserved TOC bytes are not zero".into()));
        }
        if offs[0] != HEADER_LEN as u64 {
            return Err(bad(
                toc_at,
                format!("symbols section must start at {HEADER_LEN}"),
            ));
        }
        // Sections are contiguous and in order; each ends where the next starts.
        let mut prev = offs[0];
        for (i, &o) in offs.iter().enumerate() {
            if o < prev || o > toc_at as u64 {
                return Err(bad(
                    toc_at + 8 * i,
                    format!("section offset {o} out of order"),
                ));
            }
            prev = o;
        }
        let [symbols_start, series_start, page_table_start, postings_start, values_start, names_start, sets_start] =
            offs.map(|o| o as usize);
        if page_width != 4 && page_width != 8 {
            return Err(bad(
                toc_at + 76,
                format!("bad page offset width {page_width}"),
            ));
        }
        if postings_width != 4 && postings_width != 8 {
            return Err(bad(
                toc_at + 77,
                format!("bad postings offset width {postings_width}"),
            ));
        }
        if series_per_page == 0 || series_per_page > MAX_SERIES_PER_PAGE {
            return Err(bad(
                toc_at + 72,
                format!("bad series per page {series_per_page}"),
            ));
        }
        if u64::from(num_symbols) > (series_start - symbols_start) as u64 {
            return Err(bad(
                toc_at + 56,
                format!("{num_symbols} symbols cannot fit"),
            ));
        }
        // Every series entry takes at least 3 bytes (length, name set, chunk count).
        if u64::from(num_series) * 3 > (page_table_start - series_start) as u64 {
            return Err(bad(toc_at + 60, format!("{num_series} series cannot fit")));
        }
        // Every name set takes at least one byte.
        if u64::from(num_sets) > (toc_at - sets_start) as u64 {
            return Err(bad(
                toc_at + 68,
                format!("{num_sets} label name sets cannot fit"),
            ));
        }
        let num_pages = u64::from(num_series.div_ceil(series_per_page));
        if num_pages * page_width as u64 != (postings_start - page_table_start) as u64 {
            return Err(bad(
                page_table_start,
                "page table size does not match series count".into(),
            ));
        }
        if u64::from(num_names) * NAME_ENTRY_LEN as u64 != (sets_start - names_start) as u64 {
            return Err(bad(
                names_start,
                "label name table size does not match name count".into(),
            ));
        }

        let mut r = IndexReader {
            path,
            data,
            symbols_start,
            symbols_end: series_start,
            num_symbols,
            series_start,
            series_end: page_table_start,
            page_table_start,
            page_width,
            postings_start,
            postings_end: values_start,
            postings_width,
            num_series,
            series_per_page,
            names: Vec::new(),
            sorted_names: Vec::new(),
            set_names: Vec::new(),
            set_starts: Vec::new(),
        };

        let entry_len = (4 + postings_width + 4) as u64;
        let values_len = (names_start - values_start) as u64;
        let mut names = Vec::with_capacity(num_names as usize);
        for i in 0..num_names as usize {
            let at = names_start + i * NAME_ENTRY_LEN;
            let b = r.bytes();
            let sym = read_width(b, at, 4).ok_or_else(|| r.corrupt(at, "truncated name entry"))?;
            let count =
                read_width(b, at + 4, 4).ok_or_else(|| r.corrupt(at, "truncated name entry"))?;
            let off =
                read_width(b, at + 8, 8).ok_or_else(|| r.corrupt(at, "truncated name entry"))?;
            if off > values_len || count * entry_len > values_len - off {
                return Err(r.corrupt(at + 8, "label value table out of bounds"));
            }
            let name = r.symbol_str(sym as u32)?;
            if name.is_empty() {
                return Err(r.corrupt(at, "empty label name"));
            }
            names.push(NameInfo {
                name: name.into(),
                table: values_start + off as usize,
                count: count as u32,
            });
        }
        let mut sorted: Vec<u32> = (0..num_names).collect();
        sorted.sort_unstable_by(|&a, &b| names[a as usize].name.cmp(&names[b as usize].name));
        for (i, w) in sorted.windows(2).enumerate() {
            if names[w[0] as usize].name == names[w[1] as usize].name {
                return Err(r.corrupt(names_start + i * NAME_ENTRY_LEN, "duplicate label name"));
            }
        }
        r.names = names;
        r.sorted_names = sorted;
        r.load_sets(sets_start, toc_at, num_sets)?;
        Ok(r)
    }

    /// Loads and checks the label name sets: name ids in range and in name order.
    fn load_sets(&mut self, start: usize, end: usize, num_sets: u32) -> Result<()> {
        let mut d = Decbuf::new(&self.bytes()[start..end]);
        let mut set_names = Vec::new();
        let mut set_starts = Vec::with_capacity(num_sets as usize + 1);
        set_starts.push(0u32);
        for _ in 0..num_sets {
            let at = start + d.offset();
            let n = d
                .get_uvarint_len(d.remaining())
                .map_err(self.decode_err(start))?;
            let mut prev: Option<&str> = None;
            for _ in 0..n {
                let at = start + d.offset();
                let id = d.get_uvarint().map_err(self.decode_err(start))?;
                let Some(info) = usize::try_from(id).ok().and_then(|i| self.names.get(i)) else {
                    return Err(self.corrupt(at, format!("label name id {id} out of range")));
                };
                if prev.is_some_and(|p| p >= info.name.as_ref()) {
                    return Err(self.corrupt(at, "label name set not sorted by name"));
                }
                prev = Some(&info.name);
                set_names.push(id as u32);
            }
            let len = u32::try_from(set_names.len())
                .map_err(|_| self.corrupt(at, "label name sets too large"))?;
            set_starts.push(len);
        }
        if !d.is_empty() {
            return Err(self.corrupt(start + d.offset(), "trailing bytes after label name sets"));
        }
        self.set_names = set_names;
        self.set_starts = set_starts;
        Ok(())
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of series; ids are `0..num_series()`.
    pub fn num_series(&self) -> u32 {
        self.num_series
    }

    /// Number of strings in the symbol table.
    pub fn num_symbols(&self) -> u32 {
        self.num_symbols
    }

    /// Size of the index file in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// The symbol table's strings, in sorted order. Stops after the first error.
    pub fn symbols(&self) -> impl Iterator<Item = Result<&str>> + '_ {
        let mut d = Decbuf::new(&self.bytes()[self.symbols_start..self.symbols_end]);
        let mut left = self.num_symbols;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            match d.get_uvarint_str() {
                Ok(s) => Some(Ok(s)),
                Err(e) => {
                    left = 0;
                    Some(Err(e.in_file(&self.path, self.symbols_start as u64).into()))
                }
            }
        })
    }

    /// The raw bytes of the symbol at `sym_ref` (an offset into the symbols section).
    fn symbol_bytes(&self, sym_ref: u32) -> Result<&[u8]> {
        let at = self.symbols_start + sym_ref as usize;
        let Some(data) = self.bytes().get(at..self.symbols_end) else {
            return Err(self.corrupt(at, format!("symbol ref {sym_ref} out of bounds")));
        };
        Decbuf::new(data)
            .get_uvarint_bytes()
            .map_err(self.decode_err(at))
    }

    fn symbol_str(&self, sym_ref: u32) -> Result<&str> {
        let b = self.symbol_bytes(sym_ref)?;
        std::str::from_utf8(b).map_err(|_| {
            self.corrupt(
                self.symbols_start + sym_ref as usize,
                "symbol is not valid UTF-8",
            )
        })
    }

    /// (symbol ref, postings offset) of value `id` of a name.
    fn value_entry(&self, n: &NameInfo, id: u32) -> Result<(u32, u64)> {
        if id >= n.count {
            return Err(self.corrupt(
                n.table,
                format!("value id {id} of label {:?} out of range", n.name),
            ));
        }
        let at = n.table + id as usize * (4 + self.postings_width);
        let b = self.bytes();
        match (
            read_width(b, at, 4),
            read_width(b, at + 4, self.postings_width),
        ) {
            (Some(sym), Some(off)) => Ok((sym as u32, off)),
            _ => Err(self.corrupt(at, "truncated label value entry")),
        }
    }

    /// Value id at position `k` of the name's sorted order.
    fn sorted_value(&self, n: &NameInfo, k: u32) -> Result<u32> {
        let at = n.table + n.count as usize * (4 + self.postings_width) + k as usize * 4;
        match read_width(self.bytes(), at, 4) {
            Some(id) if id < u64::from(n.count) => Ok(id as u32),
            _ => Err(self.corrupt(at, "bad sorted value id")),
        }
    }

    /// (value bytes, postings offset) at sorted position `k`.
    fn sorted_value_bytes(&self, n: &NameInfo, k: u32) -> Result<(&[u8], u64)> {
        let id = self.sorted_value(n, k)?;
        let (sym, off) = self.value_entry(n, id)?;
        Ok((self.symbol_bytes(sym)?, off))
    }

    /// First sorted position whose value is `>= key`.
    fn lower_bound(&self, n: &NameInfo, key: &[u8]) -> Result<u32> {
        let (mut lo, mut hi) = (0u32, n.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.sorted_value_bytes(n, mid)?.0 < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    fn find_name(&self, name: &str) -> Option<&NameInfo> {
        let i = self
            .sorted_names
            .binary_search_by(|&id| self.names[id as usize].name.as_ref().cmp(name))
            .ok()?;
        Some(&self.names[self.sorted_names[i] as usize])
    }

    /// Postings offset of `name="value"`, if the pair occurs.
    fn find_value(&self, n: &NameInfo, value: &str) -> Result<Option<u64>> {
        let k = self.lower_bound(n, value.as_bytes())?;
        if k < n.count {
            let (v, off) = self.sorted_value_bytes(n, k)?;
            if v == value.as_bytes() {
                return Ok(Some(off));
            }
        }
        Ok(None)
    }

    fn read_postings(&self, off: u64) -> Result<RoaringBitmap> {
        let at = self
            .postings_start
            .saturating_add(usize::try_from(off).unwrap_or(usize::MAX));
        let Some(data) = self
            .bytes()
            .get(at..self.postings_end)
            .filter(|d| !d.is_empty())
        else {
            return Err(self.corrupt(
                self.postings_start,
                format!("postings offset {off} out of bounds"),
            ));
        };
        let bm = RoaringBitmap::deserialize_from(data)
            .map_err(|e| self.corrupt(at, format!("bad postings list: {e}")))?;
        if bm.max().is_some_and(|m| m >= self.num_series) {
            return Err(self.corrupt(at, "postings list holds a series id out of range"));
        }
        Ok(bm)
    }

    /// Postings of `name="value"`; empty if the pair does not occur.
    pub fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap> {
        let Some(n) = self.find_name(name) else {
            return Ok(RoaringBitmap::new());
        };
        match self.find_value(n, value)? {
            Some(off) => self.read_postings(off),
            None => Ok(RoaringBitmap::new()),
        }
    }

    /// Decodes series `id`: returns its labels and fills `chunks` (cleared first) with its
    /// chunk metas, sorted by `mint`. An id `>= num_series()` is [`Error::InvalidArgument`].
    pub fn series(&self, id: u32, chunks: &mut Vec<ChunkMeta>) -> Result<Labels> {
        chunks.clear();
        if id >= self.num_series {
            return Err(Error::InvalidArgument(format!(
                "series id {id} out of range: {} has {} series",
                self.path.display(),
                self.num_series
            )));
        }
        let b = self.bytes();
        let page = (id / self.series_per_page) as usize;
        let at = self.page_table_start + page * self.page_width;
        let off = read_width(b, at, self.page_width)
            .ok_or_else(|| self.corrupt(at, "truncated page table"))?;
        let start = self
            .series_start
            .saturating_add(usize::try_from(off).unwrap_or(usize::MAX));
        let Some(page_data) = b.get(start..self.series_end) else {
            return Err(self.corrupt(at, format!("page offset {off} out of bounds")));
        };
        let mut d = Decbuf::new(page_data);
        let err = self.decode_err(start);
        let base = PageBase {
            mint: d.get_varint().map_err(&err)?,
            chunk_ref: d.get_uvarint().map_err(&err)?,
            dur: d.get_varint().map_err(&err)?,
            gap: d.get_varint().map_err(&err)?,
            rd: d.get_varint().map_err(&err)?,
        };
        for _ in 0..id % self.series_per_page {
            let n = d.get_uvarint_len(d.remaining()).map_err(&err)?;
            d.get_bytes(n).map_err(&err)?;
        }
        let n = d.get_uvarint_len(d.remaining()).map_err(&err)?;
        let entry_start = start + d.offset();
        let entry = d.get_bytes(n).map_err(&err)?;
        self.decode_entry(entry, entry_start, &base, chunks)
    }

    fn decode_entry(
        &self,
        entry: &[u8],
        entry_start: usize,
        base: &PageBase,
        chunks: &mut Vec<ChunkMeta>,
    ) -> Result<Labels> {
        let mut d = Decbuf::new(entry);
        let err = self.decode_err(entry_start);
        let set_id = d.get_uvarint().map_err(&err)?;
        let set = usize::try_from(set_id)
            .ok()
            .and_then(|i| Some((*self.set_starts.get(i)?, *self.set_starts.get(i + 1)?)))
            .and_then(|(a, b)| self.set_names.get(a as usize..b as usize));
        let Some(set) = set else {
            return Err(self.corrupt(entry_start, format!("label name set {set_id} out of range")));
        };
        let nl = set.len();
        const STACK: usize = 32;
        let mut stack: [(&str, &str); STACK] = [("", ""); STACK];
        let mut heap: Vec<(&str, &str)> = Vec::new();
        if nl > STACK {
            heap.reserve_exact(nl);
        }
        for (i, &name_id) in set.iter().enumerate() {
            let value_id = d.get_uvarint().map_err(&err)?;
            // Name ids in sets were checked at open.
            let Some(n) = self.names.get(name_id as usize) else {
                return Err(self.corrupt(entry_start, "label name id out of range"));
            };
            let value_id = u32::try_from(value_id).unwrap_or(u32::MAX);
            let (sym, _) = self.value_entry(n, value_id)?;
            let pair = (n.name.as_ref(), self.symbol_str(sym)?);
            if nl > STACK {
                heap.push(pair);
            } else {
                stack[i] = pair;
            }
        }
        let pairs = if nl > STACK { &heap[..] } else { &stack[..nl] };
        let labels = Labels::from_sorted(pairs.iter().copied())
            .map_err(|why| self.corrupt(entry_start, format!("bad series labels: {why}")))?;

        // Each chunk meta takes at least three bytes.
        let nc = d.get_uvarint_len(d.remaining() / 3).map_err(&err)?;
        if nc > 0 {
            decode_chunks(&mut d, nc, base, chunks).map_err(&err)?;
        }
        if !d.is_empty() {
            return Err(self.corrupt(entry_start + d.offset(), "trailing bytes in series entry"));
        }
        Ok(labels)
    }
}

/// Decodes `nc >= 1` delta-of-delta coded chunk metas (see `index.md`, "Series entry").
fn decode_chunks(
    d: &mut Decbuf<'_>,
    nc: usize,
    base: &PageBase,
    chunks: &mut Vec<ChunkMeta>,
) -> Result<(), DecodeError> {
    chunks.reserve(nc);
    let mint = base.mint.wrapping_add(d.get_varint()?);
    let mut dur = base.dur.wrapping_add(d.get_varint()?);
    let mut cref = base.chunk_ref.wrapping_add(d.get_varint()? as u64);
    let mut maxt = mint.wrapping_add(dur);
    chunks.push(ChunkMeta {
        mint,
        maxt,
        chunk_ref: cref,
    });
    let (mut gap, mut rd) = (base.gap, base.rd);
    for _ in 1..nc {
        gap = gap.wrapping_add(d.get_varint()?);
        dur = dur.wrapping_add(d.get_varint()?);
        rd = rd.wrapping_add(d.get_varint()?);
        let mint = maxt.wrapping_add(gap);
        maxt = mint.wrapping_add(dur);
        cref = cref.wrapping_add(rd as u64);
        chunks.push(ChunkMeta {
            mint,
            maxt,
            chunk_ref: cref,
        });
    }
    Ok(())
}

fn corrupt(path: &Path, offset: usize, what: impl Into<String>) -> Error {
    Error::Corruption(Corruption {
        file: path.to_path_buf(),
        offset: offset as u64,
        cause: what.into(),
    })
}

impl IndexLookup for IndexReader {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        let mut b = RoaringBitmap::new();
        b.insert_range(0..self.num_series);
        Ok(b)
    }

    fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap> {
        let mut out = RoaringBitmap::new();
        let Some(n) = self.find_name(name) else {
            return Ok(out);
        };
        for v in values {
            if let Some(off) = self.find_value(n, v)? {
                out |= self.read_postings(off)?;
            }
        }
        Ok(out)
    }

    fn postings_matching(
        &self,
        name: &str,
        prefix: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap> {
        let mut out = RoaringBitmap::new();
        let Some(n) = self.find_name(name) else {
            return Ok(out);
        };
        let mut k = self.lower_bound(n, prefix.as_bytes())?;
        while k < n.count {
            let (v, off) = self.sorted_value_bytes(n, k)?;
            if !v.starts_with(prefix.as_bytes()) {
                break;
            }
            let s = std::str::from_utf8(v)
                .map_err(|_| self.corrupt(n.table, "label value is not valid UTF-8"))?;
            if pred(s) {
                out |= self.read_postings(off)?;
            }
            k += 1;
        }
        Ok(out)
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        let Some(n) = self.find_name(name) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(n.count as usize);
        for k in 0..n.count {
            let (v, _) = self.sorted_value_bytes(n, k)?;
            let s = std::str::from_utf8(v)
                .map_err(|_| self.corrupt(n.table, "label value is not valid UTF-8"))?;
            out.push(s.to_owned());
        }
        Ok(out)
    }

    fn label_names(&self) -> Result<Vec<String>> {
        Ok(self
            .sorted_names
            .iter()
            .map(|&id| self.names[id as usize].name.to_string())
            .collect())
    }
}

/// Feeds arbitrary bytes to the index reader as a whole file and exercises every read method;
/// must never panic. The bytes are tried as given and once more with the trailing CRC32
/// recomputed, so that a fuzzer gets past the checksum into the structure decoders.
pub fn fuzz_index(data: &[u8]) {
    exercise(IndexReader::from_bytes("fuzz/index", data.to_vec()));
    if data.len() >= 4 {
        let mut v = data.to_vec();
        let n = v.len() - 4;
        let crc = crc32fast::hash(&v[..n]);
        v[n..].copy_from_slice(&crc.to_le_bytes());
        exercise(IndexReader::from_bytes("fuzz/index", v));
    }
}

fn exercise(r: Result<IndexReader>) {
    let Ok(r) = r else { return };
    for s in r.symbols() {
        if s.is_err() {
            break;
        }
    }
    let mut chunks = Vec::new();
    for id in 0..r.num_series().min(1_000) {
        let _ = r.series(id, &mut chunks);
    }
    let _ = r.series(r.num_series(), &mut chunks);
    let _ = r.all_postings();
    let Ok(names) = r.label_names() else { return };
    for name in names.iter().take(100) {
        let values = r.label_values(name).unwrap_or_default();
        let vs: Vec<&str> = values.iter().take(100).map(String::as_str).collect();
        let _ = r.postings_for_values(name, &vs);
        let _ = r.postings_for_values(name, &["", "\u{10ffff}"]);
        let _ = r.postings_matching(name, "", &mut |_| true);
        if let Some(v) = vs.first() {
            let p: String = v.chars().take(1).collect();
            let _ = r.postings_matching(name, &p, &mut |s| s.len() % 2 == 0);
            let _ = r.postings(name, v);
        }
    }
    let _ = r.postings_for_values("no such label", &["x"]);
}
