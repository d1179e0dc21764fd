//! Relabeling: `relabel_configs` and `metric_relabel_configs`.
