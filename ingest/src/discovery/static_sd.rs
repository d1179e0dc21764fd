//! `static_configs`: each entry is one target group, sourced by its index.

use std::collections::BTreeMap;

use super::{LabelSet, TargetGroup};

/// The target groups of a job's `static_configs`, given as `(targets, labels)` per entry.
pub fn groups<'a>(
    entries: impl IntoIterator<Item = (&'a [String], &'a BTreeMap<String, String>)>,
) -> Vec<TargetGroup> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, (targets, labels))| TargetGroup {
            source: i.to_string(),
            targets: targets
                .iter()
                .map(|t| LabelSet::from([("__address__".to_owned(), t.clone())]))
                .collect(),
            labels: labels.clone(),
        })
        .collect()
}
