//! A job's scrape pool: its discovered target groups, the targets they become after relabeling,
//! and one scrape loop per target.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tidemark_engine::Db;

use super::cache::AppendOptions;
use super::metrics::ScrapeMetrics;
use super::scrape_loop::{LoopContext, LoopHandle};
use super::target::Target;
use crate::client::HttpClient;
use crate::config::ScrapeConfig;
use crate::discovery::{LabelSet, TargetGroup};
use crate::relabel::populate_labels;

/// A target that relabeling dropped, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedTarget {
    /// Its labels before relabeling.
    pub discovered: LabelSet,
}

/// A job's targets at one moment, for the API.
#[derive(Debug, Clone)]
pub struct PoolSnapshot {
    /// The job name.
    pub job: String,
    /// The active targets.
    pub active: Vec<Arc<Target>>,
    /// The dropped targets.
    pub dropped: Vec<DroppedTarget>,
}

/// One job's pool.
pub(crate) struct ScrapePool {
    cfg: Arc<ScrapeConfig>,
    db: Arc<Db>,
    client: Arc<HttpClient>,
    options: AppendOptions,
    seed: u64,
    metrics: Arc<ScrapeMetrics>,
    /// The `Accept` header of every scrape, from `scrape_protocols`.
    accept: reqwest::header::HeaderValue,
    /// Groups by (discoverer index, source).
    groups: HashMap<(usize, String), TargetGroup>,
    loops: HashMap<u64, (Arc<Target>, LoopHandle)>,
    dropped: Vec<DroppedTarget>,
    /// Set when `target_limit` is exceeded: every target reports this error.
    limit_error: Option<String>,
    /// Over the target limit: the targets, listed as down and not scraped.
    limits_only: Vec<Arc<Target>>,
}

impl ScrapePool {
    pub(crate) fn new(
        cfg: Arc<ScrapeConfig>,
        db: Arc<Db>,
        client: Arc<HttpClient>,
        seed: u64,
        metrics: Arc<ScrapeMetrics>,
    ) -> Self {
        let options = AppendOptions {
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
            sample_limit: cfg.limits.sample_limit,
            label_limit: cfg.limits.label_limit,
            label_name_length_limit: cfg.limits.label_name_length_limit,
            label_value_length_limit: cfg.limits.label_value_length_limit,
            metric_relabel: Arc::new(cfg.metric_relabel_configs.clone()),
            track_timestamps_staleness: cfg.track_timestamps_staleness,
            legacy_names: cfg.metric_name_validation_scheme
                == crate::config::ValidationScheme::Legacy,
        };
        let accept = crate::exposition::accept_header(
            &cfg.scrape_protocols,
            &cfg.metric_name_escaping_scheme,
        );
        // Protocol names and escaping schemes are validated with the config: the header is
        // plain ASCII; the default is the safe answer should that ever change.
        let accept = reqwest::header::HeaderValue::from_str(&accept).unwrap_or_else(|_| {
            reqwest::header::HeaderValue::from_static(
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            )
        });
        Self {
            accept,
            cfg,
            db,
            client,
            options,
            seed,
            metrics,
            groups: HashMap::new(),
            loops: HashMap::new(),
            dropped: Vec::new(),
            limit_error: None,
            limits_only: Vec::new(),
        }
    }

    /// Records updated groups from discoverer `index` (an empty group removes its source).
    pub(crate) fn update_groups(&mut self, index: usize, groups: Vec<TargetGroup>) {
        for g in groups {
            let key = (index, g.source.clone());
            if g.targets.is_empty() {
                self.groups.remove(&key);
            } else {
                self.groups.insert(key, g);
            }
        }
    }

    /// Rebuilds the target list from the groups: new targets start loops, vanished targets
    /// stop theirs (with end-of-run staleness), unchanged targets keep running.
    pub(crate) fn sync(&mut self) {
        let mut wanted: HashMap<u64, Arc<Target>> = HashMap::new();
        let mut dropped = Vec::new();
        let mut keys: Vec<_> = self.groups.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let group = &self.groups[&key];
            for t in &group.targets {
                match populate_labels(t, &group.labels, &self.cfg) {
                    Ok(p) => {
                        if p.is_dropped() {
                            dropped.push(DroppedTarget {
                                discovered: p.discovered,
                            });
                            continue;
                        }
                        let Some(labels) = p.labels else { continue };
                        let interval = parse_or(
                            &labels,
                            "__scrape_interval__",
                            self.cfg.scrape_interval.to_std(),
                        );
                        let timeout = parse_or(
                            &labels,
                            "__scrape_timeout__",
                            self.cfg.scrape_timeout.to_std(),
                        );
                        let target =
                            Target::new(labels, p.discovered, &self.cfg.params, interval, timeout);
                        // Equal identities are one target; as in Prometheus 3.5 the last
                        // one's discovered labels are the ones shown.
                        match wanted.entry(target.hash) {
                            std::collections::hash_map::Entry::Occupied(e) => {
                                e.get().set_discovered(target.discovered())
                            }
                            std::collections::hash_map::Entry::Vacant(e) => {
                                e.insert(Arc::new(target));
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "scrape", job = %self.cfg.job_name, error = %e, "creating target failed");
                    }
                }
            }
        }
        self.dropped = dropped;

        let limit = self.cfg.limits.target_limit;
        let over_limit = limit > 0 && wanted.len() as u64 > limit;
        self.limit_error = over_limit.then(|| {
            format!(
                "target_limit exceeded (number of targets: {}, limit: {limit})",
                wanted.len()
            )
        });

        // Stop loops whose target is gone (or all, over the limit).
        let gone: Vec<u64> = self
            .loops
            .keys()
            .filter(|h| over_limit || !wanted.contains_key(h))
            .copied()
            .collect();
        for h in gone {
            if let Some((_, handle)) = self.loops.remove(&h) {
                handle.stop(true);
            }
        }
        if over_limit {
            for t in wanted.values() {
                let mut health = t.health.lock();
                health.up = Some(false);
                health.last_error = self.limit_error.clone().unwrap_or_default();
            }
            // Keep the targets listed (down) without scraping them.
            self.limits_only = wanted.into_values().collect();
            return;
        }
        self.limits_only.clear();
        for (h, target) in wanted {
            if let Some((running, _)) = self.loops.get(&h) {
                // The same target keeps its loop; only what it was discovered from may
                // have changed (e.g. an annotation no relabeling rule reads).
                running.set_discovered(target.discovered());
                continue;
            }
            let handle = LoopHandle::start(LoopContext {
                db: self.db.clone(),
                target: target.clone(),
                client: self.client.clone(),
                options: self.options.clone(),
                body_size_limit: self.cfg.limits.body_size_limit.0,
                seed: self.seed,
                metrics: self.metrics.clone(),
                accept: self.accept.clone(),
                fallback_protocol: self.cfg.fallback_scrape_protocol.clone(),
            });
            self.loops.insert(h, (target, handle));
        }
    }

    /// The job's targets now.
    pub(crate) fn snapshot(&self) -> PoolSnapshot {
        let mut active: Vec<Arc<Target>> = self.loops.values().map(|(t, _)| t.clone()).collect();
        active.extend(self.limits_only.iter().cloned());
        active.sort_by(|a, b| a.labels.cmp(&b.labels));
        PoolSnapshot {
            job: self.cfg.job_name.clone(),
            active,
            dropped: self.dropped.clone(),
        }
    }

    /// Stops every loop. With `stale`, each writes end-of-run stale markers (job removed);
    /// without, the series simply continue under a successor (reload) or the server stops.
    pub(crate) fn stop(&mut self, stale: bool) -> Vec<tokio::task::JoinHandle<()>> {
        self.loops
            .drain()
            .map(|(_, (_, handle))| handle.stop(stale))
            .collect()
    }
}

fn parse_or(labels: &LabelSet, name: &str, default: Duration) -> Duration {
    labels
        .get(name)
        .and_then(|v| crate::config::Duration::parse(v).ok())
        .map(crate::config::Duration::to_std)
        .unwrap_or(default)
}
