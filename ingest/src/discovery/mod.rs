//! Service discovery: turns configuration and cluster state into target groups (static,
//! file, Kubernetes, HTTP and DNS discovery).
//!
//! Every discoverer speaks the same protocol as Prometheus's: it sends batches of
//! [`TargetGroup`]s on a channel. A group is identified by its `source`; a later group with the
//! same source replaces the earlier one, and a group with no targets removes them all.

pub mod dns;
pub mod file;
pub mod http;
pub mod kubernetes;

use std::collections::BTreeMap;

/// A set of labels before it is turned into a series' [`tidemark_engine::Labels`]: discovered
/// meta labels, target labels during relabeling. Sorted by name.
pub type LabelSet = BTreeMap<String, String>;

/// A group of targets from one discovery source (one static config entry, one file, one
/// Kubernetes object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Identifies the group within its discoverer, e.g. `pod/default/web-0` or `0` for the
    /// first `static_configs` entry.
    pub source: String,
    /// One label set per target; each normally holds `__address__` and meta labels.
    pub targets: Vec<LabelSet>,
    /// Labels common to every target of the group; a target's own label wins on conflict.
    pub labels: LabelSet,
}

/// The sending half discoverers push updates into: each message is the list of groups that
/// changed since the previous message.
pub type GroupSender = tokio::sync::mpsc::UnboundedSender<Vec<TargetGroup>>;
