//! From a discovered target to its final labels: Prometheus 3.5's `targetsFromGroup` +
//! `PopulateDiscoveredLabels` + `PopulateLabels` (`scrape/target.go`).

use crate::config::{Duration, ScrapeConfig};
use crate::discovery::LabelSet;

use super::{process, LabelStore};

/// What became of a discovered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Populated {
    /// The labels after relabeling and defaulting, including the `__`-prefixed ones that
    /// steer the scrape (`__address__`, `__scheme__`, `__metrics_path__`, `__param_*`,
    /// `__scrape_interval__`, `__scrape_timeout__`, and any `__tmp*` the rules left); `None`
    /// when a rule dropped the target. [`public_labels`] gives the labels attached to
    /// samples.
    pub labels: Option<LabelSet>,
    /// The labels before relabeling (Prometheus's "discovered labels"): target, group and job
    /// defaults.
    pub discovered: LabelSet,
}

impl Populated {
    /// Whether Prometheus lists the target under `droppedTargets`: a rule dropped it, or no
    /// public label is left.
    pub fn is_dropped(&self) -> bool {
        self.labels
            .as_ref()
            .is_none_or(|l| public_labels(l).is_empty())
    }
}

/// Why a target could not be created; the messages are Prometheus 3.5's. Prometheus logs
/// these and skips the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PopulateError {
    /// `__address__` is empty after relabeling.
    #[error("no address")]
    NoAddress,
    /// `__address__` contains `/`.
    #[error("{0:?} is not a valid hostname")]
    InvalidHostname(String),
    /// `__scrape_interval__` does not parse.
    #[error("error parsing scrape interval: {0}")]
    Interval(String),
    /// `__scrape_interval__` is zero.
    #[error("scrape interval cannot be 0")]
    ZeroInterval,
    /// `__scrape_timeout__` does not parse.
    #[error("error parsing scrape timeout: {0}")]
    Timeout(String),
    /// `__scrape_timeout__` is zero.
    #[error("scrape timeout cannot be 0")]
    ZeroTimeout,
    /// The timeout exceeds the interval.
    #[error("scrape timeout cannot be greater than scrape interval ({timeout:?} > {interval:?})")]
    TimeoutAboveInterval {
        /// `__scrape_timeout__`.
        timeout: String,
        /// `__scrape_interval__`.
        interval: String,
    },
}

/// The labels attached to samples: every label not starting with `__`.
pub fn public_labels(labels: &LabelSet) -> LabelSet {
    labels
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Builds the final labels of one discovered target of `cfg`'s job.
///
/// 1. The target's labels, then each group label the target does not carry at all; empty
///    values count as absent.
/// 2. `job`, `__scrape_interval__`, `__scrape_timeout__`, `__metrics_path__`, `__scheme__` are
///    added when absent; `__param_<k>` is set to the first value of each `params` key when
///    the target has none.
/// 3. `relabel_configs`; a drop returns `labels: None`.
/// 4. `__address__` must be non-empty and without a `/`; as in Prometheus 3, an address
///    without a port keeps none (2.x appended `:80`/`:443`).
/// 5. A changed `__scrape_interval__`/`__scrape_timeout__` must parse and be non-zero, and the
///    timeout must not exceed the interval.
/// 6. `__meta_*` labels are removed; `instance` defaults to `__address__`.
pub fn populate_labels(
    target: &LabelSet,
    group_labels: &LabelSet,
    cfg: &ScrapeConfig,
) -> Result<Populated, PopulateError> {
    let mut lset = LabelSet::new();
    for (k, v) in target {
        lset.set(k, v);
    }
    for (k, v) in group_labels {
        if !target.contains_key(k) {
            lset.set(k, v);
        }
    }
    let interval_text = cfg.scrape_interval.to_string();
    let timeout_text = cfg.scrape_timeout.to_string();
    for (name, value) in [
        ("job", cfg.job_name.as_str()),
        ("__scrape_interval__", interval_text.as_str()),
        ("__scrape_timeout__", timeout_text.as_str()),
        ("__metrics_path__", cfg.metrics_path.as_str()),
        ("__scheme__", cfg.scheme.as_str()),
    ] {
        if lset.value(name).is_empty() {
            lset.set(name, value);
        }
    }
    for (k, values) in &cfg.params {
        let name = format!("__param_{k}");
        // 3.x fills these in only when the target has none (2.42 overwrote them).
        if let Some(first) = values.first() {
            if lset.value(&name).is_empty() {
                lset.set(&name, first);
            }
        }
    }
    let discovered = lset.clone();
    if !process(&cfg.relabel_configs, &mut lset) {
        return Ok(Populated {
            labels: None,
            discovered,
        });
    }
    // Prometheus 3 appends no default port to an address without one.
    let addr = lset.value("__address__").to_owned();
    if addr.is_empty() {
        return Err(PopulateError::NoAddress);
    }
    if addr.contains('/') {
        return Err(PopulateError::InvalidHostname(addr));
    }
    let interval = lset.value("__scrape_interval__").to_owned();
    let mut interval_ms = cfg.scrape_interval;
    if interval != interval_text {
        interval_ms =
            Duration::parse(&interval).map_err(|e| PopulateError::Interval(e.to_string()))?;
        if interval_ms.is_zero() {
            return Err(PopulateError::ZeroInterval);
        }
    }
    let timeout = lset.value("__scrape_timeout__").to_owned();
    let mut timeout_ms = cfg.scrape_timeout;
    if timeout != timeout_text {
        timeout_ms =
            Duration::parse(&timeout).map_err(|e| PopulateError::Timeout(e.to_string()))?;
        if timeout_ms.is_zero() {
            return Err(PopulateError::ZeroTimeout);
        }
    }
    if timeout_ms > interval_ms {
        return Err(PopulateError::TimeoutAboveInterval { timeout, interval });
    }
    lset.retain(|k, _| !k.starts_with("__meta_"));
    if lset.value("instance").is_empty() {
        lset.set("instance", &addr);
    }
    Ok(Populated {
        labels: Some(lset),
        discovered,
    })
}
