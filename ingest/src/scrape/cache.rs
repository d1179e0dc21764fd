//! A target's series cache and what one scrape appends.
//!
//! The cache maps each series exactly as the target wrote it (`name{labels}` bytes) to the
//! engine series it became, so the common case — the same series as last time — costs one hash
//! lookup and one `append_ref`, with no label parsing, merging or relabeling. It also remembers
//! which series the previous scrape exposed, for staleness: a series exposed last time but not
//! now gets a stale marker at once, so queries stop showing it instead of after five minutes.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use tidemark_engine::{AppendError, Appender, Labels, SeriesRef};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use super::metadata::{MetadataCollector, MetadataMap};
use super::metrics::Limit;
use crate::exposition::{Entry, Format, LabelBuf, Parser, ParserOptions};
use crate::relabel::{self, RelabelConfig, SortedLabels};

/// Why a scrape body could not be appended: the message for `lastError`, and the limit it
/// went over, if that is the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeError {
    /// The message, worded as Prometheus words it.
    pub message: String,
    /// The limit exceeded, if any.
    pub limit: Option<Limit>,
}

impl ScrapeError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            limit: None,
        }
    }

    fn limit(limit: Limit, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            limit: Some(limit),
        }
    }
}

impl std::fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScrapeError {}

impl From<ScrapeError> for String {
    fn from(e: ScrapeError) -> String {
        e.message
    }
}

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
    /// `track_timestamps_staleness` (3.x): series exposed with their own timestamps get
    /// stale markers too when they go away.
    pub track_timestamps_staleness: bool,
    /// `metric_name_validation_scheme: legacy`: a series whose metric name or a label name
    /// (after metric relabeling) is outside the legacy charset fails the scrape, as in
    /// Prometheus 3.5 (scraped bodies may quote UTF-8 names).
    pub legacy_names: bool,
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
    /// The series exactly as the target wrote it; empty for a free slot.
    key: Box<[u8]>,
    /// The engine series (its ref once appended) and labels; `None` when metric relabeling
    /// dropped the series.
    series: Option<(Option<SeriesRef>, Labels)>,
    /// The last scrape iteration that exposed the series (0 for a free slot).
    last_iter: u64,
    /// Whether the scrape before the current one exposed it.
    prev_seen: bool,
    /// The series carried an explicit timestamp and `track_timestamps_staleness` is off: no
    /// stale markers for it (as in Prometheus).
    explicit_ts: bool,
}

/// One target's series cache.
///
/// Entries live in a slab (`slots`, with a free list) indexed by a hash table over their keys.
/// Targets expose their series in the same order scrape after scrape, so the slot that held
/// the n-th sample of the previous scrape is tried first for the n-th sample of this one: a
/// byte comparison instead of hashing and probing. A miss falls back to the hash table.
pub struct SeriesCache {
    slots: Vec<CacheEntry>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: Xxh3DefaultBuilder,
    /// Slots in the order the previous scrape exposed them, and the current scrape's order.
    prev_order: Vec<u32>,
    order: Vec<u32>,
    /// The format of the previous successful scrape (`prev_order`'s body).
    prev_format: Option<Format>,
    iter: u64,
    buf: LabelBuf,
    metadata: MetadataCollector,
    /// The metadata of the last successful scrape, when it changed, until taken.
    metadata_change: Option<Arc<MetadataMap>>,
}

impl Default for SeriesCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SeriesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesCache")
            .field("entries", &self.len())
            .field("iter", &self.iter)
            .finish()
    }
}

impl SeriesCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: Xxh3DefaultBuilder,
            prev_order: Vec::new(),
            order: Vec::new(),
            prev_format: None,
            iter: 0,
            buf: LabelBuf::new(),
            metadata: MetadataCollector::default(),
            metadata_change: None,
        }
    }

    /// Number of cached series.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn live(&self) -> impl Iterator<Item = &CacheEntry> + '_ {
        self.slots.iter().filter(|e| e.last_iter != 0)
    }

    /// The engine series of the last scrape that exposed samples (for end-of-run staleness).
    pub fn last_series(&self) -> impl Iterator<Item = &(Option<SeriesRef>, Labels)> + '_ {
        self.live()
            .filter(|e| e.prev_seen && !e.explicit_ts)
            .filter_map(|e| e.series.as_ref())
    }

    /// The slot of `key`, predicted from the previous scrape's order or looked up.
    fn find(&self, position: usize, key: &[u8]) -> Option<u32> {
        if let Some(&slot) = self.prev_order.get(position) {
            if *self.slots[slot as usize].key == *key {
                return Some(slot);
            }
        }
        let hash = self.hasher.hash_one(key);
        let slots = &self.slots;
        self.index
            .find(hash, |&i| *slots[i as usize].key == *key)
            .copied()
    }

    /// Adds an entry for `key` (not cached yet) and returns its slot.
    fn insert(&mut self, key: &[u8], series: Option<(Option<SeriesRef>, Labels)>) -> u32 {
        let entry = CacheEntry {
            key: key.into(),
            series,
            last_iter: 0,
            prev_seen: false,
            explicit_ts: false,
        };
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = entry;
                i
            }
            None => {
                self.slots.push(entry);
                (self.slots.len() - 1) as u32
            }
        };
        let hash = self.hasher.hash_one(key);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(hash, slot, |&i| hasher.hash_one(&*slots[i as usize].key));
        slot
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
    ) -> Result<(), ScrapeError> {
        self.iter += 1;
        let iter = self.iter;
        self.order.clear();
        let mut parser = Parser::new(body, format, ParserOptions::default());
        self.metadata.begin(format);
        self.metadata_change = None;
        app.reserve(self.prev_order.len());
        // Predictions hold only for bodies of the format they were parsed from.
        let predict = self.prev_format == Some(format);
        self.prev_format = None;
        loop {
            // Metadata lines as in the previous scrape need no parsing.
            if let Some(line) = self.metadata.expected_line() {
                if parser.skip_metadata_line(line) {
                    self.metadata.matched();
                    continue;
                }
            }
            // The series the previous scrape exposed at this position.
            let predicted = match self.prev_order.get(self.order.len()) {
                Some(&slot) if predict => Some(slot),
                _ => None,
            };
            let next = match predicted {
                Some(slot) => parser.next_entry_expecting(&self.slots[slot as usize].key),
                None => parser.next_entry(),
            };
            let entry = match next {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => return Err(ScrapeError::new(e.to_string())),
            };
            let Entry::Sample(sample) = entry else {
                self.metadata.observe(&entry, parser.metadata_line());
                continue;
            };
            counts.scraped += 1;
            let ts = match sample.timestamp_ms() {
                Some(ts) if opts.honor_timestamps => ts,
                _ => t,
            };
            let key = sample.series();
            let found = match predicted {
                Some(slot) if sample.is_expected() => Some(slot),
                _ => self.find(self.order.len(), key),
            };
            let slot = match found {
                Some(slot) => slot,
                None => {
                    sample
                        .labels_into(&mut self.buf)
                        .map_err(|e| ScrapeError::new(e.to_string()))?;
                    let series = build_labels(&self.buf, target, opts)?.map(|l| (None, l));
                    self.insert(key, series)
                }
            };
            self.order.push(slot);
            let entry = &mut self.slots[slot as usize];
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
                return Err(ScrapeError::limit(Limit::Samples, "sample limit exceeded"));
            }
            let new_series = entry.last_iter == 0 || !entry.prev_seen;
            entry.last_iter = iter;
            // Only series staleness tracks get stale markers: as in Prometheus, not those
            // appended with their own timestamps, unless `track_timestamps_staleness`.
            entry.explicit_ts = sample.timestamp_ms().is_some()
                && opts.honor_timestamps
                && !opts.track_timestamps_staleness;
            match append(app, sref, labels, ts, sample.value()) {
                Ok(()) => {
                    if new_series {
                        counts.series_added += 1;
                    }
                }
                Err(e) => counts.reject(e),
            }
        }
        // Stale markers for series that went away; forget series gone for a while.
        for (i, entry) in self.slots.iter_mut().enumerate() {
            if entry.key.is_empty() {
                continue;
            }
            if entry.prev_seen && entry.last_iter != iter && !entry.explicit_ts {
                if let Some((sref, labels)) = &entry.series {
                    append_stale(app, sref.as_ref(), labels, t);
                }
            }
            entry.prev_seen = entry.last_iter == iter;
            if entry.last_iter + 2 < iter {
                let hash = self.hasher.hash_one(&*entry.key);
                let key = std::mem::take(&mut entry.key);
                if let Ok(found) = self.index.find_entry(hash, |&s| s == i as u32) {
                    found.remove();
                }
                entry.series = None;
                entry.last_iter = 0;
                entry.prev_seen = false;
                drop(key);
                self.free.push(i as u32);
            }
        }
        std::mem::swap(&mut self.prev_order, &mut self.order);
        self.prev_format = Some(format);
        self.metadata_change = self.metadata.finish(body, format);
        Ok(())
    }

    /// After a successful [`SeriesCache::append_body`]: the scrape's metric metadata, if it
    /// differs from the previous successful scrape's.
    pub fn take_metadata_change(&mut self) -> Option<Arc<MetadataMap>> {
        self.metadata_change.take()
    }

    /// After a failed scrape: every series of the previous scrape gets a stale marker at `t`,
    /// as if the target had exposed nothing.
    pub fn mark_all_stale(&mut self, app: &mut Appender<'_>, t: i64) {
        for entry in self.slots.iter_mut() {
            if entry.prev_seen && !entry.explicit_ts {
                if let Some((sref, labels)) = &entry.series {
                    append_stale(app, sref.as_ref(), labels, t);
                }
            }
            entry.prev_seen = false;
        }
    }
}

/// Appends by handle when the series is known to the engine, by labels otherwise (keeping
/// the new handle in `sref`).
#[inline]
fn append(
    app: &mut Appender<'_>,
    sref: &mut Option<SeriesRef>,
    labels: &Labels,
    t: i64,
    v: f64,
) -> Result<(), AppendError> {
    if let Some(res) = sref.as_ref().and_then(|r| app.append_ref(r, t, v)) {
        return res;
    }
    *sref = Some(app.append(labels, t, v)?);
    Ok(())
}

/// Appends a stale marker. A rejection (the series already has a newer sample, e.g. the target
/// came back) is expected and ignored: the marker would be out of order.
pub fn append_stale(app: &mut Appender<'_>, sref: Option<&SeriesRef>, labels: &Labels, t: i64) {
    if sref.and_then(|r| app.append_ref(r, t, STALE_NAN)).is_none() {
        let _ = app.append(labels, t, STALE_NAN);
    }
}

/// The final labels of a scraped series: the scraped labels merged with the target's (the
/// `honor_labels` / `exported_` rules), then `metric_relabel_configs`, then validated.
/// `Ok(None)` when relabeling drops the series; `Err` fails the scrape.
fn build_labels(
    scraped: &LabelBuf,
    target: &Labels,
    opts: &AppendOptions,
) -> Result<Option<Labels>, ScrapeError> {
    let mut lset = merge_target_labels(scraped, target, opts.honor_labels);
    if !opts.metric_relabel.is_empty() && !relabel::process(&opts.metric_relabel, &mut lset) {
        return Ok(None);
    }
    let pairs = &lset.0;
    if !pairs.iter().any(|(n, v)| n == "__name__" && !v.is_empty()) {
        return Err(ScrapeError::new("missing metric name (__name__ label)"));
    }
    if opts.legacy_names
        && !pairs
            .iter()
            .all(|(n, v)| is_legacy_name(n, false) && (n != "__name__" || is_legacy_name(v, true)))
    {
        let shown: Vec<String> = pairs
            .iter()
            .map(|(n, v)| {
                if is_legacy_name(n, false) {
                    format!("{n}={v:?}")
                } else {
                    format!("{n:?}={v:?}")
                }
            })
            .collect();
        return Err(ScrapeError::new(format!(
            "invalid metric name or label names: {{{}}}",
            shown.join(", ")
        )));
    }
    let metric = || {
        pairs
            .iter()
            .find(|(n, _)| n == "__name__")
            .map_or("", |(_, v)| v.as_str())
            .to_owned()
    };
    if opts.label_limit > 0 && pairs.len() as u64 > opts.label_limit {
        return Err(ScrapeError::limit(
            Limit::Labels,
            format!(
                "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
                metric(),
                pairs.len(),
                opts.label_limit
            ),
        ));
    }
    for (n, v) in pairs {
        if opts.label_name_length_limit > 0 && n.len() as u64 > opts.label_name_length_limit {
            return Err(ScrapeError::limit(
                Limit::Labels,
                format!(
                    "label_name_length_limit exceeded (metric: {}, label name: {}, limit: {})",
                    metric(),
                    n,
                    opts.label_name_length_limit
                ),
            ));
        }
        if opts.label_value_length_limit > 0 && v.len() as u64 > opts.label_value_length_limit {
            return Err(ScrapeError::limit(Limit::Labels, format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, limit: {})",
                metric(),
                n,
                v,
                opts.label_value_length_limit
            )));
        }
    }
    Labels::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .map(Some)
        .ok_or_else(|| ScrapeError::new(format!("invalid label set for metric {}", metric())))
}

/// Whether `name` is in the legacy charset: `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names
/// (`colon`), `[a-zA-Z_][a-zA-Z0-9_]*` for label names.
fn is_legacy_name(name: &str, colon: bool) -> bool {
    let start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || (colon && c == b':');
    match name.as_bytes() {
        [first, rest @ ..] => start(*first) && rest.iter().all(|&c| start(c) || c.is_ascii_digit()),
        [] => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_engine::{Db, DbOptions, Matcher, SampleIterator};

    struct Fixture {
        _dir: tempfile::TempDir,
        db: Db,
        cache: SeriesCache,
        target: Labels,
        opts: AppendOptions,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::open(dir.path(), DbOptions::default()).unwrap();
            Self {
                _dir: dir,
                db,
                cache: SeriesCache::new(),
                target: Labels::from_pairs([("job", "j"), ("instance", "i:1")]).unwrap(),
                opts: AppendOptions::default(),
            }
        }

        fn scrape(&mut self, t: i64, body: &str) -> Result<ScrapeCounts, String> {
            Ok(self.try_scrape(t, body)?)
        }

        fn scrape_error(&mut self, t: i64, body: &str) -> ScrapeError {
            self.try_scrape(t, body).unwrap_err()
        }

        fn try_scrape(&mut self, t: i64, body: &str) -> Result<ScrapeCounts, ScrapeError> {
            let mut app = self.db.appender();
            let mut counts = ScrapeCounts::default();
            self.cache.append_body(
                &mut app,
                body.as_bytes(),
                Format::Text,
                t,
                &self.target,
                &self.opts,
                &mut counts,
            )?;
            app.commit().unwrap();
            Ok(counts)
        }

        /// The samples of metric `name` as (t, value or "stale").
        fn samples(&self, name: &str) -> Vec<(i64, String)> {
            let q = self.db.querier(i64::MIN, i64::MAX);
            let mut out = Vec::new();
            for s in q.select(&[Matcher::equal("__name__", name)]).unwrap() {
                let mut it = s.iter();
                while it.next() {
                    let (t, v) = it.at();
                    let v = if v.to_bits() == STALE_NAN.to_bits() {
                        "stale".to_owned()
                    } else {
                        v.to_string()
                    };
                    out.push((t, v));
                }
            }
            out
        }
    }

    #[test]
    fn quoted_names_are_stored_and_refused_under_the_legacy_scheme() {
        let body = "# TYPE \"my.metric\" counter\n{\"my.metric\", a=\"b\"} 1\nm{\"l.l\"=\"v\"} 2\n{\"my.metric\"} 3\n";
        let mut f = Fixture::new();
        // Twice: the second scrape takes the cache's shortcuts (skipped metadata line,
        // predicted series).
        for t in [1000, 2000] {
            let c = f.scrape(t, body).unwrap();
            assert_eq!((c.scraped, c.added), (3, 3));
        }
        assert_eq!(f.samples("my.metric").len(), 4);
        assert_eq!(f.samples("m"), [(1000, "2".into()), (2000, "2".into())]);
        // `metric_name_validation_scheme: legacy` fails such a scrape, as 3.5 does.
        for body in ["{\"my.metric\"} 1\n", "m{\"l.l\"=\"v\"} 1\n"] {
            let mut f = Fixture::new();
            f.opts.legacy_names = true;
            let e = f.scrape_error(1000, body).to_string();
            assert!(e.contains("invalid metric name or label names"), "{e}");
        }
        let mut f = Fixture::new();
        f.opts.legacy_names = true;
        f.scrape(1000, "{\"m\", \"a\"=\"b\"} 1\n").unwrap();
    }

    #[test]
    fn explicit_timestamps_go_stale_only_when_tracked() {
        for track in [false, true] {
            let mut f = Fixture::new();
            f.opts.honor_timestamps = true;
            f.opts.track_timestamps_staleness = track;
            f.scrape(1000, "a 1 900\nb 1\n").unwrap();
            f.scrape(2000, "b 2\n").unwrap();
            let stale = f.samples("a").iter().any(|(_, v)| v == "stale");
            assert_eq!(stale, track, "track_timestamps_staleness: {track}");
        }
        // Timestamps not honoured: the sample is appended at the scrape time and tracked.
        let mut f = Fixture::new();
        f.opts.honor_timestamps = false;
        f.scrape(1000, "a 1 900\nb 1\n").unwrap();
        f.scrape(2000, "b 2\n").unwrap();
        assert_eq!(f.samples("a"), [(1000, "1".into()), (2000, "stale".into())]);
    }

    #[test]
    fn known_series_in_any_order_and_staleness() {
        let mut f = Fixture::new();
        let c = f.scrape(1000, "a 1\nb{x=\"1\"} 2\nc 3\n").unwrap();
        assert_eq!((c.scraped, c.added, c.series_added), (3, 3, 3));
        // Same order (predicted slots), then another order (hash lookups).
        let c = f.scrape(2000, "a 2\nb{x=\"1\"} 3\nc 4\n").unwrap();
        assert_eq!((c.scraped, c.series_added), (3, 0));
        let c = f.scrape(3000, "c 5\na 3\nb{x=\"1\"} 4\n").unwrap();
        assert_eq!((c.scraped, c.series_added), (3, 0));
        assert_eq!(
            f.samples("c"),
            [(1000, "3".into()), (2000, "4".into()), (3000, "5".into())]
        );
        // `b` disappears: a stale marker at once.
        f.scrape(4000, "c 6\na 4\n").unwrap();
        assert_eq!(f.samples("b").last().unwrap(), &(4000, "stale".to_owned()));
        assert_eq!(f.cache.len(), 3);
        // Gone for long enough, it is forgotten; coming back counts as a new series.
        f.scrape(5000, "c 7\na 5\n").unwrap();
        f.scrape(6000, "c 8\na 6\n").unwrap();
        assert_eq!(f.cache.len(), 2);
        let c = f.scrape(7000, "a 7\nb{x=\"1\"} 9\nd 1\nc 9\n").unwrap();
        assert_eq!((c.scraped, c.series_added), (4, 2));
        assert_eq!(f.cache.len(), 4);
        assert_eq!(f.samples("b").last().unwrap(), &(7000, "9".to_owned()));
        assert_eq!(f.samples("d"), [(7000, "1".to_owned())]);
        // A failed scrape: everything of the last one goes stale.
        let mut app = f.db.appender();
        f.cache.mark_all_stale(&mut app, 8000);
        app.commit().unwrap();
        for name in ["a", "b", "c", "d"] {
            assert_eq!(
                f.samples(name).last().unwrap(),
                &(8000, "stale".to_owned()),
                "{name}"
            );
        }
    }

    #[test]
    fn freed_slots_are_reused_without_mixing_series() {
        let mut f = Fixture::new();
        let mut t = 0;
        for round in 0..20 {
            t += 1000;
            // Each round exposes a window of series that slides by one.
            let body: String = (round..round + 5)
                .map(|i| format!("m{{i=\"{i}\"}} {i}\n"))
                .collect();
            f.scrape(t, &body).unwrap();
            assert!(f.cache.len() <= 8, "{}", f.cache.len());
        }
        let q = f.db.querier(i64::MIN, i64::MAX);
        for s in q.select(&[Matcher::equal("__name__", "m")]).unwrap() {
            let i: f64 = s.labels().get("i").unwrap().parse().unwrap();
            let mut it = s.iter();
            while it.next() {
                let (_, v) = it.at();
                assert!(
                    v == i || v.to_bits() == STALE_NAN.to_bits(),
                    "series {i} got {v}"
                );
            }
        }
    }

    #[test]
    fn relabel_drops_and_sample_limit() {
        let mut f = Fixture::new();
        let cfg = crate::config::Config::parse(
            "scrape_configs:\n  - job_name: j\n    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: drop_.*\n        action: drop\n",
        )
        .unwrap();
        f.opts.metric_relabel = Arc::new(cfg.scrape_configs[0].metric_relabel_configs.clone());
        f.opts.sample_limit = 2;
        let c = f
            .scrape(1000, "drop_me 1\nkeep 1\ndrop_too 2\nkeep2 3\n")
            .unwrap();
        assert_eq!((c.scraped, c.added), (4, 2));
        assert!(f.samples("drop_me").is_empty());
        let e = f
            .scrape(2000, "keep 1\nkeep2 2\nkeep3 3\ndrop_me 4\n")
            .unwrap_err();
        assert_eq!(e, "sample limit exceeded");
        assert_eq!(
            f.scrape_error(3000, "keep 1\nkeep2 2\nkeep3 3\n").limit,
            Some(Limit::Samples)
        );
    }
}
