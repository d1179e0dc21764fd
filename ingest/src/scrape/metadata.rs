//! Metric metadata from scrapes (`# HELP`, `# TYPE`, `# UNIT`), kept per target for the
//! metadata APIs, as Prometheus's scrape cache keeps it.
//!
//! What must stay true: after a successful scrape, a target's metadata holds exactly the
//! metric families that had at least one metadata line in that scrape; a failed scrape leaves
//! the previous metadata in place.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::exposition::{Entry, MetricType};

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
#[derive(Debug, Default)]
pub struct MetadataCollector {
    current: MetadataMap,
    building: MetadataMap,
}

impl MetadataCollector {
    /// Starts a scrape.
    pub fn begin(&mut self) {
        self.building.clear();
    }

    /// Records a metadata entry; other entries are ignored.
    pub fn observe(&mut self, entry: &Entry<'_>) {
        let name = match entry {
            Entry::Help(h) => h.metric.as_str(),
            Entry::Type { metric, .. } | Entry::Unit { metric, .. } => metric.as_str(),
            _ => return,
        };
        if !self.building.contains_key(name) {
            self.building
                .insert(name.to_owned(), MetricMetadata::default());
        }
        let Some(m) = self.building.get_mut(name) else {
            return;
        };
        match entry {
            Entry::Help(h) => m.help = h.text().into_owned(),
            Entry::Type { kind, .. } => m.metric_type = *kind,
            Entry::Unit { unit, .. } => m.unit = (*unit).to_owned(),
            _ => {}
        }
    }

    /// Ends a successful scrape: returns the new map if it changed.
    pub fn finish(&mut self) -> Option<Arc<MetadataMap>> {
        if self.building == self.current {
            return None;
        }
        std::mem::swap(&mut self.current, &mut self.building);
        Some(Arc::new(self.current.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Format, Parser, ParserOptions};

    fn scrape(c: &mut MetadataCollector, body: &str) -> Option<Arc<MetadataMap>> {
        c.begin();
        let mut p = Parser::new(body.as_bytes(), Format::Text, ParserOptions::default());
        while let Ok(Some(e)) = p.next_entry() {
            c.observe(&e);
        }
        c.finish()
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
