//! Metric metadata from scrapes (`# HELP`, `# TYPE`, `# UNIT`), kept per target for the
//! metadata APIs, as Prometheus's scrape cache keeps it.
//!
//! What must stay true: after a successful scrape, a target's metadata holds exactly the
//! metric families that had at least one metadata line in that scrape; a failed scrape leaves
//! the previous metadata in place.

use std::collections::BTreeMap;
use std::sync::Arc;

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
/// It keeps the metadata lines of the last successful scrape, in order. A scrape's metadata
/// lines are expected to repeat them: the scrape skips each expected line it finds in the
/// body ([`Parser::skip_metadata_line`]) and reports any other metadata entry it parses
/// ([`MetadataCollector::observe`]). Only when the lines differ (or on the first scrape) is
/// the map built again, by a second pass over the body.
#[derive(Debug, Default)]
pub struct MetadataCollector {
    current: MetadataMap,
    /// The last successful scrape's metadata lines, concatenated, and where each one ends.
    lines: Vec<u8>,
    ends: Vec<u32>,
    /// The format of the scrape `lines` comes from (none before the first).
    format: Option<Format>,
    /// Index of the next expected line in this scrape.
    next: usize,
    /// This scrape's metadata lines differ from `lines`.
    changed: bool,
}

impl MetadataCollector {
    /// Starts a scrape of a body in `format`.
    pub fn begin(&mut self, format: Format) {
        self.next = 0;
        self.changed = self.format != Some(format);
    }

    /// The metadata line expected next, while the scrape matches the previous one.
    #[inline]
    pub fn expected_line(&self) -> Option<&[u8]> {
        if self.changed {
            return None;
        }
        let end = *self.ends.get(self.next)? as usize;
        let start = match self.next {
            0 => 0,
            n => self.ends[n - 1] as usize,
        };
        Some(&self.lines[start..end])
    }

    /// The expected line was found (and skipped) in the body.
    #[inline]
    pub fn matched(&mut self) {
        self.next += 1;
    }

    /// Notes an entry the scrape parsed, with its line ([`Parser::metadata_line`]); entries
    /// other than metadata are ignored.
    pub fn observe(&mut self, entry: &Entry<'_>, line: &[u8]) {
        if !matches!(
            entry,
            Entry::Help(_) | Entry::Type { .. } | Entry::Unit { .. }
        ) {
            return;
        }
        if self.expected_line() == Some(line) {
            self.next += 1;
        } else {
            self.changed = true;
        }
    }

    /// Ends a successful scrape of `body`: returns the new map if it changed.
    pub fn finish(&mut self, body: &[u8], format: Format) -> Option<Arc<MetadataMap>> {
        if !self.changed && self.next == self.ends.len() {
            return None;
        }
        let map = self.rebuild(body, format);
        if map == self.current {
            return None;
        }
        self.current = map;
        Some(Arc::new(self.current.clone()))
    }

    /// The metadata of a whole body (which parsed successfully once already); records its
    /// lines for the next scrape.
    fn rebuild(&mut self, body: &[u8], format: Format) -> MetadataMap {
        let mut map = MetadataMap::new();
        self.lines.clear();
        self.ends.clear();
        let mut parser = Parser::new(body, format, ParserOptions::default());
        while let Ok(Some(entry)) = parser.next_entry() {
            let name = match &entry {
                Entry::Help(h) => h.metric.as_str(),
                Entry::Type { metric, .. } | Entry::Unit { metric, .. } => metric.as_str(),
                _ => continue,
            };
            self.lines.extend_from_slice(parser.metadata_line());
            // Bodies are under 4 GiB (`Parser::new` refuses larger ones).
            self.ends.push(self.lines.len() as u32);
            let m = map.entry(name.to_owned()).or_default();
            match entry {
                Entry::Help(h) => m.help = h.text().into_owned(),
                Entry::Type { kind, .. } => m.metric_type = kind,
                Entry::Unit { unit, .. } => m.unit = unit.to_owned(),
                _ => {}
            }
        }
        self.format = Some(format);
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scrape as the series cache runs it; `skip` uses the expected-line shortcut.
    fn scrape_with(
        c: &mut MetadataCollector,
        body: &str,
        format: Format,
        skip: bool,
    ) -> Option<Arc<MetadataMap>> {
        c.begin(format);
        let mut p = Parser::new(body.as_bytes(), format, ParserOptions::default());
        loop {
            if let Some(line) = c.expected_line().filter(|_| skip) {
                if p.skip_metadata_line(line) {
                    c.matched();
                    continue;
                }
            }
            match p.next_entry() {
                Ok(Some(e)) => c.observe(&e, p.metadata_line()),
                Ok(None) => break,
                Err(e) => panic!("{e}"),
            }
        }
        c.finish(body.as_bytes(), format)
    }

    fn scrape(c: &mut MetadataCollector, body: &str) -> Option<Arc<MetadataMap>> {
        scrape_with(c, body, Format::Text, true)
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

    #[test]
    fn any_change_of_the_lines_is_seen_with_and_without_skipping() {
        let base = "# HELP a A.\n# TYPE a gauge\na 1\n# just a comment\n# TYPE b counter\nb 2\n";
        let changed = [
            // Help text (changed, or longer), type, a family added at the end, one removed.
            "# HELP a A!\n# TYPE a gauge\na 1\n# TYPE b counter\nb 2\n",
            "# HELP a A. And more.\n# TYPE a gauge\na 1\n# TYPE b counter\nb 2\n",
            "# HELP a A.\n# TYPE a counter\na 1\n# TYPE b counter\nb 2\n",
            "# HELP a A.\n# TYPE a gauge\na 1\n# TYPE b counter\nb 2\n# TYPE c gauge\n",
            "# HELP a A.\n# TYPE a gauge\na 1\nb 2\n",
        ];
        let reordered = "# TYPE b counter\nb 2\n# HELP a A.\n# TYPE a gauge\na 1\n";
        for skip in [true, false] {
            for body in changed {
                let mut c = MetadataCollector::default();
                assert!(scrape_with(&mut c, base, Format::Text, skip).is_some());
                // Comments, blanks and samples around the lines are not metadata.
                let same = "  # HELP a A.\n# TYPE a gauge\na 7\n\n# TYPE b counter\nb 3\n";
                assert!(scrape_with(&mut c, same, Format::Text, skip).is_none());
                let m = scrape_with(&mut c, body, Format::Text, skip).expect(body);
                assert_eq!(
                    scrape_with(&mut c, body, Format::Text, skip),
                    None,
                    "{body}"
                );
                // Back to the first lines: the first map again.
                let back = scrape_with(&mut c, base, Format::Text, skip).unwrap();
                assert_ne!(m, back, "{body}");
            }
            // The same lines in another order: compared again, but the same map.
            let mut c = MetadataCollector::default();
            assert!(scrape_with(&mut c, base, Format::Text, skip).is_some());
            assert_eq!(scrape_with(&mut c, reordered, Format::Text, skip), None);
            assert_eq!(scrape_with(&mut c, base, Format::Text, skip), None);
        }
    }

    #[test]
    fn openmetrics_metadata_is_compared_line_by_line() {
        let mut c = MetadataCollector::default();
        let body = "# TYPE a counter\n# UNIT a \n# HELP a A.\na_total 1\n# EOF\n";
        let m = scrape_with(&mut c, body, Format::OpenMetrics, true).unwrap();
        assert_eq!(m["a"].metric_type, MetricType::Counter);
        assert!(scrape_with(&mut c, body, Format::OpenMetrics, true).is_none());
        let other = "# TYPE a counter\n# UNIT a \n# HELP a B.\na_total 1\n# EOF\n";
        assert_eq!(
            scrape_with(&mut c, other, Format::OpenMetrics, true).unwrap()["a"].help,
            "B."
        );
    }
}
