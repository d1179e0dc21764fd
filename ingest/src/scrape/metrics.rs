//! Counters of what scrapes did, exposed by the server under Prometheus's metric names.

use std::sync::atomic::{AtomicU64, Ordering};

use tidemark_engine::AppendError;

use super::cache::ScrapeCounts;

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
}

impl ScrapeMetrics {
    pub(crate) fn record(&self, counts: &ScrapeCounts, failed: bool) {
        self.scrapes.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.samples.fetch_add(counts.added, Ordering::Relaxed);
        }
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
        let rows: [(&str, &str, &AtomicU64); 7] = [
            ("prometheus_target_scrapes_total", "Scrapes done (Tidemark).", &self.scrapes),
            ("prometheus_target_scrapes_failed_total", "Scrapes that failed (Tidemark).", &self.failed),
            ("prometheus_target_scrapes_samples_total", "Samples appended by scrapes (Tidemark).", &self.samples),
            ("prometheus_target_scrapes_sample_out_of_order_total", "Total number of samples rejected due to not being out of the expected order.", &self.out_of_order),
            ("prometheus_target_scrapes_sample_duplicate_timestamp_total", "Total number of samples rejected due to duplicate timestamps but different values.", &self.duplicate),
            ("prometheus_target_scrapes_sample_out_of_bounds_total", "Total number of samples rejected due to timestamp falling outside of the time bounds.", &self.out_of_bounds),
            ("prometheus_target_scrapes_sample_invalid_labels_total", "Samples rejected for invalid labels (Tidemark).", &self.invalid_labels),
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
