//! Counters of what scrapes did, exposed by the server under Prometheus's metric names.

use std::sync::atomic::{AtomicU64, Ordering};

use tidemark_engine::AppendError;

use super::cache::ScrapeCounts;

/// The limit a failed scrape went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `sample_limit`.
    Samples,
    /// `body_size_limit`.
    BodySize,
    /// `label_limit`, `label_name_length_limit` or `label_value_length_limit`.
    Labels,
}

/// Totals over every scrape loop.
#[derive(Debug, Default)]
pub struct ScrapeMetrics {
    /// Scrapes done.
    pub scrapes: AtomicU64,
    /// Scrapes that failed (`up` = 0).
    pub failed: AtomicU64,
    /// Samples appended.
    pub samples: AtomicU64,
    /// Samples rejected as out of order.
    pub out_of_order: AtomicU64,
    /// Samples rejected as duplicates (same timestamp, different value).
    pub duplicate: AtomicU64,
    /// Samples rejected as too old for the head.
    pub out_of_bounds: AtomicU64,
    /// Samples rejected for invalid labels.
    pub invalid_labels: AtomicU64,
    /// Scrapes failed for going over `sample_limit`.
    pub exceeded_sample_limit: AtomicU64,
    /// Scrapes failed for going over `body_size_limit`.
    pub exceeded_body_size_limit: AtomicU64,
    /// Scrapes failed for going over a label limit.
    pub exceeded_label_limits: AtomicU64,
}

impl ScrapeMetrics {
    pub(crate) fn record(&self, counts: &ScrapeCounts, failed: bool, limit: Option<Limit>) {
        self.scrapes.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Some(limit) = limit {
                let c = match limit {
                    Limit::Samples => &self.exceeded_sample_limit,
                    Limit::BodySize => &self.exceeded_body_size_limit,
                    Limit::Labels => &self.exceeded_label_limits,
                };
                c.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            self.samples.fetch_add(counts.added, Ordering::Relaxed);
        }
        self.record_rejected(counts);
    }

    fn record_rejected(&self, counts: &ScrapeCounts) {
        for (e, n) in &counts.rejected {
            let c = match e {
                AppendError::OutOfOrder => &self.out_of_order,
                AppendError::Duplicate => &self.duplicate,
                AppendError::OutOfBounds => &self.out_of_bounds,
                AppendError::InvalidLabels => &self.invalid_labels,
            };
            c.fetch_add(*n, Ordering::Relaxed);
        }
    }

    /// The counters in the text exposition format, with Prometheus's names.
    pub fn expose(&self, out: &mut String) {
        use std::fmt::Write;
        let rows: [(&str, &str, &AtomicU64); 10] = [
            ("prometheus_target_scrapes_total", "Scrapes done (Tidemark).", &self.scrapes),
            ("prometheus_target_scrapes_failed_total", "Scrapes that failed (Tidemark).", &self.failed),
            ("prometheus_target_scrapes_samples_total", "Samples appended by scrapes (Tidemark).", &self.samples),
            ("prometheus_target_scrapes_sample_out_of_order_total", "Total number of samples rejected due to not being out of the expected order.", &self.out_of_order),
            ("prometheus_target_scrapes_sample_duplicate_timestamp_total", "Total number of samples rejected due to duplicate timestamps but different values.", &self.duplicate),
            ("prometheus_target_scrapes_sample_out_of_bounds_total", "Total number of samples rejected due to timestamp falling outside of the time bounds.", &self.out_of_bounds),
            ("prometheus_target_scrapes_sample_invalid_labels_total", "Samples rejected for invalid labels (Tidemark).", &self.invalid_labels),
            ("prometheus_target_scrapes_exceeded_sample_limit_total", "Total number of scrapes that hit the sample limit and were rejected.", &self.exceeded_sample_limit),
            ("prometheus_target_scrapes_exceeded_body_size_limit_total", "Total number of scrapes that hit the body size limit", &self.exceeded_body_size_limit),
            ("prometheus_target_scrape_pool_exceeded_label_limits_total", "Total number of times scrape pools hit the label limits, during sync or config reload.", &self.exceeded_label_limits),
        ];
        for (name, help, c) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_scrapes_are_counted_by_limit() {
        let m = ScrapeMetrics::default();
        let counts = ScrapeCounts {
            added: 5,
            ..ScrapeCounts::default()
        };
        m.record(&counts, false, None);
        m.record(&counts, true, Some(Limit::Samples));
        m.record(&counts, true, Some(Limit::BodySize));
        m.record(&counts, true, Some(Limit::Labels));
        m.record(&counts, true, None);
        assert_eq!(m.scrapes.load(Ordering::Relaxed), 5);
        assert_eq!(m.failed.load(Ordering::Relaxed), 4);
        assert_eq!(m.samples.load(Ordering::Relaxed), 5);
        assert_eq!(m.exceeded_sample_limit.load(Ordering::Relaxed), 1);
        assert_eq!(m.exceeded_body_size_limit.load(Ordering::Relaxed), 1);
        assert_eq!(m.exceeded_label_limits.load(Ordering::Relaxed), 1);
        let mut out = String::new();
        m.expose(&mut out);
        assert!(out.contains("prometheus_target_scrapes_exceeded_sample_limit_total 1\n"));
    }
}
