//! A target's series cache and what one scrape appends.
//!
//! The cache maps each series exactly as the target wrote it (`name{labels}` bytes) to the
//! engine series it became, so the common case — the same series as last time — costs one hash
//! lookup and one `append_ref`, with no label parsing, merging or relabeling. It also remembers
//! which series the previous scrape exposed, for staleness: a series exposed last time but not
//! now gets a stale marker at once, so queries stop showing it instead of after five minutes.

use std::collections::HashMap;
use std::sync::Arc;

use tidemark_engine::{AppendError, Appender, Labels, SeriesRef};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use super::metadata::{MetadataCollector, MetadataMap};
use crate::exposition::{Entry, Format, LabelBuf, Parser, ParserOptions};
use crate::relabel::{self, RelabelConfig, SortedLabels};

/// Prometheus's stale marker: a signalling NaN no exposition can produce.
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// Per-job settings that shape how samples are appended.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// Scraped labels win over target labels.
    pub honor_labels: bool,
    /// Use timestamps from the exposition.
    pub honor_timestamps: bool,
    /// Maximum samples per scrape after metric relabeling; 0 = none.
    pub sample_limit: u64,
    /// Maximum labels per series; 0 = none.
    pub label_limit: u64,
    /// Maximum label name length in bytes; 0 = none.
    pub label_name_length_limit: u64,
    /// Maximum label value length in bytes; 0 = none.
    pub label_value_length_limit: u64,
    /// `metric_relabel_configs`.
    pub metric_relabel: Arc<Vec<RelabelConfig>>,
}

/// Counts of one scrape, for the report series and the self-metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrapeCounts {
    /// Samples parsed (`scrape_samples_scraped`).
    pub scraped: u64,
    /// Samples left after metric relabeling (`scrape_samples_post_metric_relabeling`).
    pub added: u64,
    /// Series new to this target (`scrape_series_added`).
    pub series_added: u64,
    /// Samples the engine rejected, by reason.
    pub rejected: Vec<(AppendError, u64)>,
}

impl ScrapeCounts {
    fn reject(&mut self, e: AppendError) {
        match self.rejected.iter_mut().find(|(r, _)| *r == e) {
            Some(entry) => entry.1 += 1,
            None => self.rejected.push((e, 1)),
        }
    }
}

struct CacheEntry {
    /// The engine series (its ref once appended) and labels; `None` when metric relabeling
    /// dropped the series.
    series: Option<(Option<SeriesRef>, Labels)>,
    /// The last scrape iteration that exposed the series.
    last_iter: u64,
    /// Whether the scrape before the current one exposed it.
    prev_seen: bool,
    /// The series carried an explicit timestamp: no stale markers for it (as in 2.42).
    explicit_ts: bool,
}

/// One target's series cache.
pub struct SeriesCache {
    entries: HashMap<Box<[u8]>, CacheEntry, Xxh3DefaultBuilder>,
    iter: u64,
    buf: LabelBuf,
    metadata: MetadataCollector,
}

impl Default for SeriesCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SeriesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesCache")
            .field("entries", &self.entries.len())
            .field("iter", &self.iter)
            .finish()
    }
}

impl SeriesCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            entries: HashMap::with_hasher(Xxh3DefaultBuilder),
            iter: 0,
            buf: LabelBuf::new(),
            metadata: MetadataCollector::default(),
        }
    }

    /// Number of cached series.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The engine series of the last scrape that exposed samples (for end-of-run staleness).
    pub fn last_series(&self) -> impl Iterator<Item = &(Option<SeriesRef>, Labels)> + '_ {
        self.entries
            .values()
            .filter(|e| e.prev_seen && !e.explicit_ts)
            .filter_map(|e| e.series.as_ref())
    }

    /// Parses `body` and appends its samples at `t` (or their own timestamps) to `app`, merged
    /// with `target` labels. On success, series exposed by the previous scrape but not this
    /// one get stale markers. On an error the caller must drop `app` (rolling the batch back)
    /// and call [`SeriesCache::mark_all_stale`] on a fresh appender.
    #[allow(clippy::too_many_arguments)]
    pub fn append_body(
        &mut self,
        app: &mut Appender<'_>,
        body: &[u8],
        format: Format,
        t: i64,
        target: &Labels,
        opts: &AppendOptions,
        counts: &mut ScrapeCounts,
    ) -> Result<(), String> {
        self.iter += 1;
        let iter = self.iter;
        let mut parser = Parser::new(body, format, ParserOptions::default());
        self.metadata.begin();
        loop {
            let entry = match parser.next_entry() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            let Entry::Sample(sample) = entry else {
                self.metadata.observe(&entry);
                continue;
            };
            counts.scraped += 1;
            let ts = match sample.timestamp_ms() {
                Some(ts) if opts.honor_timestamps => ts,
                _ => t,
            };
            let key = sample.series();
            let entry = match self.entries.get_mut(key) {
                Some(entry) => entry,
                None => {
                    sample
                        .labels_into(&mut self.buf)
                        .map_err(|e| e.to_string())?;
                    let series = build_labels(&self.buf, target, opts)?.map(|l| (None, l));
                    self.entries.entry(key.into()).or_insert(CacheEntry {
                        series,
                        last_iter: 0,
                        prev_seen: false,
                        explicit_ts: false,
                    })
                }
            };
            let Some((sref, labels)) = &mut entry.series else {
                // Dropped by metric relabeling: not counted towards the sample limit.
                entry.last_iter = iter;
                continue;
            };
            counts.added += 1;
            if opts.sample_limit > 0 && counts.added > opts.sample_limit {
                // Keep counting what was scraped, as Prometheus does, then fail.
                while let Ok(Some(e)) = parser.next_entry() {
                    if matches!(e, Entry::Sample(_)) {
                        counts.scraped += 1;
                    }
                }
                return Err("sample limit exceeded".to_owned());
            }
            let new_series = entry.last_iter == 0 || !entry.prev_seen;
            entry.last_iter = iter;
            entry.explicit_ts = sample.timestamp_ms().is_some();
            match append(app, *sref, labels, ts, sample.value()) {
                Ok(r) => {
                    *sref = Some(r);
                    if new_series {
                        counts.series_added += 1;
                    }
                }
                Err(e) => counts.reject(e),
            }
        }
        // Stale markers for series that went away; forget series gone for a while.
        for entry in self.entries.values_mut() {
            if entry.prev_seen && entry.last_iter != iter && !entry.explicit_ts {
                if let Some((sref, labels)) = &entry.series {
                    append_stale(app, *sref, labels, t);
                }
            }
            entry.prev_seen = entry.last_iter == iter;
        }
        self.entries.retain(|_, e| e.last_iter + 2 >= iter);
        Ok(())
    }

    /// After a successful [`SeriesCache::append_body`]: the scrape's metric metadata, if it
    /// differs from the previous successful scrape's.
    pub fn take_metadata_change(&mut self) -> Option<Arc<MetadataMap>> {
        self.metadata.finish()
    }

    /// After a failed scrape: every series of the previous scrape gets a stale marker at `t`,
    /// as if the target had exposed nothing.
    pub fn mark_all_stale(&mut self, app: &mut Appender<'_>, t: i64) {
        for entry in self.entries.values_mut() {
            if entry.prev_seen && !entry.explicit_ts {
                if let Some((sref, labels)) = &entry.series {
                    append_stale(app, *sref, labels, t);
                }
            }
            entry.prev_seen = false;
        }
    }
}

/// Appends by ref when the series is known to the engine, by labels otherwise.
fn append(
    app: &mut Appender<'_>,
    sref: Option<SeriesRef>,
    labels: &Labels,
    t: i64,
    v: f64,
) -> Result<SeriesRef, AppendError> {
    match sref.and_then(|r| app.append_ref(r, t, v)) {
        Some(r) => r,
        None => app.append(labels, t, v),
    }
}

/// Appends a stale marker. A rejection (the series already has a newer sample, e.g. the target
/// came back) is expected and ignored: the marker would be out of order.
pub fn append_stale(app: &mut Appender<'_>, sref: Option<SeriesRef>, labels: &Labels, t: i64) {
    let _ = append(app, sref, labels, t, STALE_NAN);
}

/// The final labels of a scraped series: the scraped labels merged with the target's (the
/// `honor_labels` / `exported_` rules), then `metric_relabel_configs`, then validated.
/// `Ok(None)` when relabeling drops the series; `Err` fails the scrape.
fn build_labels(
    scraped: &LabelBuf,
    target: &Labels,
    opts: &AppendOptions,
) -> Result<Option<Labels>, String> {
    let mut lset = merge_target_labels(scraped, target, opts.honor_labels);
    if !opts.metric_relabel.is_empty() && !relabel::process(&opts.metric_relabel, &mut lset) {
        return Ok(None);
    }
    let pairs = &lset.0;
    if !pairs.iter().any(|(n, v)| n == "__name__" && !v.is_empty()) {
        return Err("missing metric name (__name__ label)".to_owned());
    }
    let metric = || {
        pairs
            .iter()
            .find(|(n, _)| n == "__name__")
            .map_or("", |(_, v)| v.as_str())
            .to_owned()
    };
    if opts.label_limit > 0 && pairs.len() as u64 > opts.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            metric(),
            pairs.len(),
            opts.label_limit
        ));
    }
    for (n, v) in pairs {
        if opts.label_name_length_limit > 0 && n.len() as u64 > opts.label_name_length_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, limit: {})",
                metric(),
                n,
                opts.label_name_length_limit
            ));
        }
        if opts.label_value_length_limit > 0 && v.len() as u64 > opts.label_value_length_limit {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, limit: {})",
                metric(),
                n,
                v,
                opts.label_value_length_limit
            ));
        }
    }
    Labels::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .map(Some)
        .ok_or_else(|| format!("invalid label set for metric {}", metric()))
}

/// Prometheus's `mutateSampleLabels`.
///
/// - `honor_labels: true`: a target label is added only if the scraped series has no label of
///   that name (an empty scraped value counts as present, and is then dropped).
/// - otherwise the target label is set, and a conflicting non-empty scraped value moves to
///   `exported_<name>` (or `exported_exported_<name>`, … the first free one), conflicts handled
///   shortest name first.
pub fn merge_target_labels(scraped: &LabelBuf, target: &Labels, honor: bool) -> SortedLabels {
    let mut out = SortedLabels(
        scraped
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
    );
    if honor {
        for l in target {
            if scraped.get(l.name).is_none() {
                relabel::LabelStore::set(&mut out, l.name, l.value);
            }
        }
    } else {
        let mut conflicts: Vec<(String, String)> = Vec::new();
        for l in target {
            if let Some(v) = scraped.get(l.name) {
                if !v.is_empty() {
                    conflicts.push((l.name.to_owned(), v.to_owned()));
                }
            }
            relabel::LabelStore::set(&mut out, l.name, l.value);
        }
        conflicts.sort_by_key(|(n, _)| n.len());
        for (name, value) in conflicts {
            let mut exported = format!("exported_{name}");
            while !relabel::LabelStore::value(&out, &exported).is_empty() {
                exported.insert_str(0, "exported_");
            }
            relabel::LabelStore::set(&mut out, &exported, &value);
        }
    }
    out.0.retain(|(_, v)| !v.is_empty());
    out
}
