//! Reading the head: its label index as an [`IndexLookup`], and the chunks of a series for
//! a query.

use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::error::Result;
use crate::labels::Labels;
use crate::postings::IndexLookup;
use crate::series::{ChunkData, ChunkSpec};

use super::series::FullChunk;
use super::Head;

impl IndexLookup for Head {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        Ok(self.postings.read().all().clone())
    }

    fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap> {
        let p = self.postings.read();
        let mut out = RoaringBitmap::new();
        for v in values {
            if let Some(b) = p.get(name, v) {
                out |= b;
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
        let p = self.postings.read();
        let mut out = RoaringBitmap::new();
        for (v, b) in p.values_with_prefix(name, prefix) {
            if pred(v) {
                out |= b;
            }
        }
        Ok(out)
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.postings.read().values(name))
    }

    fn label_names(&self) -> Result<Vec<String>> {
        Ok(self.postings.read().names())
    }
}

impl Head {
    /// The labels of series `id` and its chunks overlapping `[mint, maxt]`, or `None` if the
    /// series is gone. `priority` orders sources for deduplication.
    pub(crate) fn series_chunks(
        self: &Arc<Self>,
        id: u32,
        mint: i64,
        maxt: i64,
        priority: u32,
    ) -> Result<Option<(Labels, Vec<ChunkSpec>)>> {
        let Some(s) = self.get_by_id(id) else {
            return Ok(None);
        };
        let deleted = self
            .tombstones
            .read()
            .get(u64::from(id))
            .map(|iv| Arc::new(iv.clone()));
        let mut out = Vec::new();
        let st = s.state.lock();
        for c in &st.full {
            if c.maxt() < mint || c.mint() > maxt {
                continue;
            }
            if deleted
                .as_ref()
                .is_some_and(|d| d.covers(c.mint(), c.maxt()))
            {
                continue;
            }
            let data = match c {
                FullChunk::File { r, .. } => ChunkData::HeadFile {
                    head: self.clone(),
                    r: *r,
                    bytes: Arc::default(),
                },
                FullChunk::Mem { bytes, .. } => ChunkData::Mem(bytes.clone()),
            };
            out.push(ChunkSpec {
                mint: c.mint(),
                maxt: c.maxt(),
                data,
                deleted: deleted.clone(),
                priority,
            });
        }
        if let Some(c) = &st.open {
            if let (Some(cmin), Some(cmax)) = (c.first_time(), c.last_time()) {
                if cmax >= mint && cmin <= maxt {
                    out.push(ChunkSpec {
                        mint: cmin,
                        maxt: cmax,
                        data: ChunkData::Mem(Arc::from(c.bytes())),
                        deleted,
                        priority,
                    });
                }
            }
        }
        Ok(Some((s.labels.clone(), out)))
    }

    /// The bytes of a chunk in the head chunk files.
    pub(crate) fn read_chunk(&self, r: u64) -> Result<crate::chunks::ChunkBytes> {
        self.chunks.read(r)
    }
}
