//! Metric metadata from scrapes (`# HELP`, `# TYPE`, `# UNIT`), kept per target for the
//! metadata APIs, as Prometheus's scrape cache keeps it.
//!
//! What must stay true: after a successful scrape, a target's metadata holds exactly the
//! metric families that had at least one metadata line in that scrape; a failed scrape leaves
//! the previous metadata in place.

use std::collections::BTreeMap;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

use crate::exposition::{Entry, Format, MetricType, Parser, ParserOptions};

/// One metric family's metadata. Missing lines leave `help`/`unit` empty and the type
/// `unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadata {
    /// The `# TYPE` (`unknown` when absent or `untyped`).
    pub metric_type: MetricType,
    /// The unescaped `# HELP` text.
    pub help: String,
    /// The OpenMetrics `# UNIT`.
    pub unit: String,
}

impl Default for MetricMetadata {
    fn default() -> Self {
        Self {
            metric_type: MetricType::Unknown,
            help: String::new(),
            unit: String::new(),
        }
    }
}

/// Metadata by metric family name.
pub type MetadataMap = BTreeMap<String, MetricMetadata>;

/// Collects one scrape's metadata and tells whether it differs from the last scrape's.
///
/// A scrape's metadata lines are only copied into a per-thread scratch buffer as they pass
/// (a scrape runs on one thread, without yielding) and hashed at the end; the map is built,
/// by a second pass over the body, only when the hash differs from the previous scrape's —
/// the first scrape, or when the target's metadata changed.
#[derive(Debug, Default)]
pub struct MetadataCollector {
    current: MetadataMap,
    last_hash: Option<u64>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl MetadataCollector {
    /// Starts a scrape.
    pub fn begin(&mut self) {
        SCRATCH.with_borrow_mut(Vec::clear);
    }

    /// Notes a metadata entry; other entries are ignored.
    pub fn observe(&mut self, entry: &Entry<'_>) {
        let (tag, name, text): (u8, &[u8], &[u8]) = match entry {
            Entry::Help(help) => (1, help.metric.as_bytes(), help.raw()),
            Entry::Type { metric, kind } => (2, metric.as_bytes(), kind.as_str().as_bytes()),
            Entry::Unit { metric, unit } => (3, metric.as_bytes(), unit.as_bytes()),
            _ => return,
        };
        SCRATCH.with_borrow_mut(|buf| {
            buf.push(tag);
            buf.extend_from_slice(name);
            buf.push(0);
            buf.extend_from_slice(text);
            buf.push(b'\n');
        });
    }

    /// Ends a successful scrape of `body`: returns the new map if it changed.
    pub fn finish(&mut self, body: &[u8], format: Format) -> Option<Arc<MetadataMap>> {
        let hash = SCRATCH.with_borrow_mut(|buf| {
            let h = xxh3_64(buf);
            buf.clear();
            h
        });
        if self.last_hash == Some(hash) {
            return None;
        }
        self.last_hash = Some(hash);
        let map = build(body, format);
        if map == self.current {
            return None;
        }
        self.current = map;
        Some(Arc::new(self.current.clone()))
    }
}

/// The metadata of a whole body (which parsed successfully once already).
fn build(body: &[u8], format: Format) -> MetadataMap {
    let mut map = MetadataMap::new();
    let mut parser = Parser::new(body, format, ParserOptions::default());
    while let Ok(Some(entry)) = parser.next_entry() {
        let name = match &entry {
            Entry::Help(h) => h.metric.as_str(),
            Entry::Type { metric, .. } | Entry::Unit { metric, .. } => metric.as_str(),
            _ => continue,
        };
        let m = map.entry(name.to_owned()).or_default();
        match entry {
            Entry::Help(h) => m.help = h.text().into_owned(),
            Entry::Type { kind, .. } => m.metric_type = kind,
            Entry::Unit { unit, .. } => m.unit = unit.to_owned(),
            _ => {}
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(c: &mut MetadataCollector, body: &str) -> Option<Arc<MetadataMap>> {
        c.begin();
        let mut p = Parser::new(body.as_bytes(), Format::Text, ParserOptions::default());
        while let Ok(Some(e)) = p.next_entry() {
            c.observe(&e);
        }
        c.finish(body.as_bytes(), Format::Text)
    }

    #[test]
    fn keeps_the_last_scrapes_families() {
        let mut c = MetadataCollector::default();
        let m = scrape(
            &mut c,
            "# HELP up_total Whether\\nup.\n# TYPE up_total counter\nup_total 1\n# TYPE g untyped\ng 2\nbare 3\n",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["up_total"].help, "Whether\nup.");
        assert_eq!(m["up_total"].metric_type, MetricType::Counter);
        assert_eq!(m["g"].metric_type.as_str(), "unknown");
        assert!(!m.contains_key("bare"));
        // Same metadata: no change reported.
        assert!(scrape(
            &mut c,
            "# HELP up_total Whether\\nup.\n# TYPE up_total counter\n# TYPE g untyped\n"
        )
        .is_none());
        // A family that disappears is dropped.
        let m = scrape(&mut c, "# TYPE g gauge\ng 1\n").unwrap();
        assert_eq!(m.keys().collect::<Vec<_>>(), ["g"]);
    }
}
