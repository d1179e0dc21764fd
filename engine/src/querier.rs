//! The querier: `select(matchers)` over the head and every block overlapping a time range,
//! plus label names and values.
//!
//! What must stay true:
//! - Results are sorted by label set, and a series present in several sources is returned once
//!   with the chunks of all of them (overlaps deduplicated by its iterator).
//! - Series without any chunk in `[mint, maxt]` are not returned.
//! - The querier holds `Arc`s to the sources it read, so results stay valid while the
//!   database compacts, truncates or deletes.

use std::collections::BTreeSet;
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::block::Block;
use crate::error::{Error, Result};
use crate::head::Head;
use crate::matcher::Matcher;
use crate::postings::{postings_for_matchers, IndexLookup};
use crate::series::Series;

/// Reads a fixed time range `[mint, maxt]` (inclusive, milliseconds).
pub struct Querier {
    head: Option<Arc<Head>>,
    blocks: Vec<Arc<Block>>,
    mint: i64,
    maxt: i64,
}

impl std::fmt::Debug for Querier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Querier")
            .field("blocks", &self.blocks.len())
            .field("head", &self.head.is_some())
            .field("mint", &self.mint)
            .field("maxt", &self.maxt)
            .finish()
    }
}

impl Querier {
    /// A querier over the given sources; blocks must be in time order (oldest first).
    pub(crate) fn new(
        head: Option<Arc<Head>>,
        blocks: Vec<Arc<Block>>,
        mint: i64,
        maxt: i64,
    ) -> Self {
        Self {
            head,
            blocks,
            mint,
            maxt,
        }
    }

    /// A querier over the same sources, restricted to `[mint, maxt]`.
    pub fn narrowed(&self, mint: i64, maxt: i64) -> Querier {
        let blocks = self
            .blocks
            .iter()
            .filter(|b| b.overlaps(mint, maxt))
            .cloned()
            .collect();
        Querier::new(self.head.clone(), blocks, mint, maxt)
    }

    /// Inclusive start of the range.
    pub fn mint(&self) -> i64 {
        self.mint
    }

    /// Inclusive end of the range.
    pub fn maxt(&self) -> i64 {
        self.maxt
    }

    /// The series matching all `matchers` (at least one) with samples in the range, sorted by
    /// labels.
    pub fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>> {
        Ok(merge_sorted(self.select_from_sources(matchers)?))
    }

    /// The series matching all `matchers` as Prometheus's unsorted `Select` gives them: when
    /// the range reads a single source (the head alone, or one block), in that source's
    /// postings order (for the head, series creation order); with several sources, sorted
    /// and merged as [`Querier::select`] (Prometheus sorts to merge too).
    pub fn select_unsorted(&self, matchers: &[Matcher]) -> Result<Vec<Series>> {
        let sources = self.blocks.len() + usize::from(self.head.is_some());
        let out = self.select_from_sources(matchers)?;
        Ok(if sources <= 1 { out } else { merge_sorted(out) })
    }

    fn select_from_sources(&self, matchers: &[Matcher]) -> Result<Vec<Series>> {
        if matchers.is_empty() {
            return Err(Error::InvalidArgument(
                "at least one matcher is required".into(),
            ));
        }
        let mut out: Vec<Series> = Vec::new();
        let mut metas = Vec::new();
        for (prio, b) in self.blocks.iter().enumerate() {
            let ids = postings_for_matchers(b.as_ref(), matchers)?;
            for id in &ids {
                let (labels, chunks) =
                    b.series_chunks(id, self.mint, self.maxt, prio as u32, &mut metas)?;
                if !chunks.is_empty() {
                    out.push(Series::new(labels, chunks, self.mint, self.maxt));
                }
            }
        }
        if let Some(h) = &self.head {
            let prio = self.blocks.len() as u32;
            let ids = postings_for_matchers(h.as_ref(), matchers)?;
            for id in &ids {
                if let Some((labels, chunks)) = h.series_chunks(id, self.mint, self.maxt, prio)? {
                    if !chunks.is_empty() {
                        out.push(Series::new(labels, chunks, self.mint, self.maxt));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The index sources for matcher-less label lookups: the blocks, and the head when its
    /// time range overlaps the querier's (as Prometheus's head index reader answers).
    fn sources(&self) -> impl Iterator<Item = &dyn IndexLookup> {
        let head = self
            .head
            .iter()
            .filter(|h| !h.is_empty() && h.min_time() <= self.maxt && h.max_time() >= self.mint);
        self.blocks
            .iter()
            .map(|b| b.as_ref() as &dyn IndexLookup)
            .chain(head.map(|h| h.as_ref() as &dyn IndexLookup))
    }

    /// Label names of the series matching `matchers` (all series if empty), sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            let mut set = BTreeSet::new();
            for s in self.sources() {
                set.extend(s.label_names()?);
            }
            return Ok(set.into_iter().collect());
        }
        let mut set = BTreeSet::new();
        for s in self.select(matchers)? {
            set.extend(s.labels().iter().map(|l| l.name.to_owned()));
        }
        Ok(set.into_iter().collect())
    }

    /// Values of label `name` among the series matching `matchers` (all series if empty),
    /// sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            let mut set = BTreeSet::new();
            for s in self.sources() {
                set.extend(s.label_values(name)?);
            }
            return Ok(set.into_iter().collect());
        }
        let mut set = BTreeSet::new();
        for s in self.select(matchers)? {
            if let Some(v) = s.labels().get(name) {
                set.insert(v.to_owned());
            }
        }
        Ok(set.into_iter().collect())
    }

    /// Number of series matching in each source, for planning and stats.
    pub fn count_matching(&self, matchers: &[Matcher]) -> Result<u64> {
        let mut n = 0;
        for s in self.sources() {
            let p: RoaringBitmap = postings_for_matchers(s, matchers)?;
            n += p.len();
        }
        Ok(n)
    }
}

/// Sorts by labels and merges series with equal labels.
fn merge_sorted(mut v: Vec<Series>) -> Vec<Series> {
    v.sort_by(|a, b| a.labels().cmp(b.labels()));
    let mut out: Vec<Series> = Vec::with_capacity(v.len());
    for s in v {
        match out.last_mut() {
            Some(last) if last.labels() == s.labels() => last.merge_from(s),
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{labels, Db, DbOptions};

    #[test]
    fn unsorted_select_keeps_head_creation_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        let mut app = db.appender();
        for job in ["b", "c", "a"] {
            app.append(&labels!("__name__" => "up", "job" => job), 1_000, 1.0)
                .unwrap();
        }
        app.commit().unwrap();
        let m = [crate::Matcher::equal("__name__", "up")];
        let q = db.querier(0, 2_000);
        let jobs = |v: Vec<crate::querier::Series>| -> Vec<String> {
            v.iter()
                .map(|s| s.labels().get("job").unwrap_or_default().to_owned())
                .collect()
        };
        assert_eq!(jobs(q.select_unsorted(&m).unwrap()), ["b", "c", "a"]);
        assert_eq!(jobs(q.select(&m).unwrap()), ["a", "b", "c"]);
    }

    #[test]
    fn matcherless_label_lookups_skip_a_head_outside_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        let mut app = db.appender();
        app.append(&labels!("__name__" => "up", "job" => "a"), 1_000, 1.0)
            .unwrap();
        app.append(&labels!("__name__" => "up", "job" => "b"), 5_000, 1.0)
            .unwrap();
        app.commit().unwrap();
        assert_eq!(
            db.querier(0, 2_000).label_values("job", &[]).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            db.querier(4_000, 9_000).label_names(&[]).unwrap(),
            ["__name__", "job"]
        );
        assert!(db
            .querier(6_000, 9_000)
            .label_values("job", &[])
            .unwrap()
            .is_empty());
        assert!(db.querier(-9_000, 999).label_names(&[]).unwrap().is_empty());
    }
}
