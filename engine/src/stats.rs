//! Statistics for self-metrics and the cardinality page (`/api/v1/status/tsdb`).

use std::sync::atomic::Ordering;

use crate::db::Db;
use crate::labels::METRIC_NAME;

/// A point-in-time snapshot of the database's statistics.
#[derive(Debug, Clone, Default)]
pub struct DbStats {
    /// Series in the head.
    pub head_series: u64,
    /// Oldest and newest sample in the head (`None` when empty).
    pub head_time_range: Option<(i64, i64)>,
    /// Samples appended since open (including WAL replay).
    pub samples_appended: u64,
    /// Rejected samples by reason (`out_of_order`, `duplicate`, `out_of_bounds`,
    /// `invalid_labels`).
    pub rejected: Vec<(&'static str, u64)>,
    /// Series created and removed in the head since open.
    pub series_created: u64,
    /// Series removed by head truncation since open.
    pub series_removed: u64,
    /// Commits that failed because the WAL could not be written.
    pub commit_failures: u64,
    /// Bytes of WAL (segments + checkpoint).
    pub wal_bytes: u64,
    /// Bytes of head chunk files.
    pub head_chunks_bytes: u64,
    /// Number of blocks and their sizes (ULID, bytes, min time, max time, samples).
    pub blocks: Vec<BlockStat>,
    /// Compactions: from head, merges, failures, total seconds.
    pub head_compactions: u64,
    /// Block merges.
    pub block_compactions: u64,
    /// Failed compactions.
    pub compaction_failures: u64,
    /// Seconds spent compacting.
    pub compaction_seconds: f64,
    /// Blocks deleted by retention.
    pub retention_deletions: u64,
    /// Blocks set aside as corrupt.
    pub corrupt_blocks: u64,
    /// Samples restored by the WAL replay at open, and its duration in seconds.
    pub wal_replay_samples: u64,
    /// Duration of the WAL replay at open.
    pub wal_replay_seconds: f64,
}

/// One block's figures.
#[derive(Debug, Clone)]
pub struct BlockStat {
    /// ULID.
    pub ulid: String,
    /// Bytes on disk.
    pub bytes: u64,
    /// Inclusive min time.
    pub min_time: i64,
    /// Exclusive max time.
    pub max_time: i64,
    /// Samples.
    pub samples: u64,
}

/// Top-N cardinality tables of the head, as Prometheus's `/api/v1/status/tsdb` shows them.
#[derive(Debug, Clone, Default)]
pub struct Cardinality {
    /// Distinct `name=value` pairs in the head.
    pub num_label_pairs: u64,
    /// Metric names by series count.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Label names by number of distinct values.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Label names by bytes of their values (value length × series).
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// `name=value` pairs by series count.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

fn top(mut v: Vec<(String, u64)>, n: usize) -> Vec<(String, u64)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

impl Db {
    /// A snapshot of the statistics.
    pub fn stats(&self) -> DbStats {
        let h = self.head();
        let c = h.counters();
        let d = self.counters();
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        DbStats {
            head_series: h.num_series(),
            head_time_range: (!h.is_empty()).then(|| (h.min_time(), h.max_time())),
            samples_appended: load(&c.samples_appended),
            rejected: vec![
                ("out_of_order", load(&c.out_of_order)),
                ("duplicate", load(&c.duplicate)),
                ("out_of_bounds", load(&c.out_of_bounds)),
                ("invalid_labels", load(&c.invalid_labels)),
            ],
            series_created: load(&c.series_created),
            series_removed: load(&c.series_removed),
            commit_failures: load(&c.commit_failures),
            wal_bytes: h.wal_size_bytes(),
            head_chunks_bytes: h.chunks_size_bytes(),
            blocks: self
                .blocks()
                .iter()
                .map(|b| BlockStat {
                    ulid: b.ulid(),
                    bytes: b.size_bytes(),
                    min_time: b.min_time(),
                    max_time: b.max_time(),
                    samples: b.meta().stats.num_samples,
                })
                .collect(),
            head_compactions: load(&d.head_compactions),
            block_compactions: load(&d.block_compactions),
            compaction_failures: load(&d.compaction_failures),
            compaction_seconds: load(&d.compaction_micros) as f64 / 1e6,
            retention_deletions: load(&d.retention_deletions),
            corrupt_blocks: self.corrupt_blocks().len() as u64,
            wal_replay_samples: self.replay_stats().samples,
            wal_replay_seconds: self.replay_stats().duration.as_secs_f64(),
        }
    }

    /// The head's top-`n` cardinality tables.
    pub fn cardinality(&self, n: usize) -> Cardinality {
        self.head().with_postings(|p| {
            let mut by_metric = Vec::new();
            let mut by_pair = Vec::new();
            let mut mem: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
            let mut num_label_pairs = 0;
            for (name, value, count) in p.pair_counts() {
                num_label_pairs += 1;
                if name == METRIC_NAME {
                    by_metric.push((value.to_owned(), count));
                }
                by_pair.push((format!("{name}={value}"), count));
                *mem.entry(name).or_default() += value.len() as u64 * count;
            }
            let by_name = p
                .name_value_counts()
                .map(|(n, c)| (n.to_owned(), c as u64))
                .collect();
            Cardinality {
                num_label_pairs,
                series_count_by_metric_name: top(by_metric, n),
                label_value_count_by_label_name: top(by_name, n),
                memory_in_bytes_by_label_name: top(
                    mem.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    n,
                ),
                series_count_by_label_value_pair: top(by_pair, n),
            }
        })
    }
}
