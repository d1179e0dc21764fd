//! The PromQL feature flags of Prometheus 3.5 (`--enable-feature=...`) that change what the
//! parser accepts or how expressions evaluate. All are off by default, as in Prometheus.

/// Which experimental PromQL features are on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// `promql-experimental-functions`: the experimental functions (`sort_by_label`,
    /// `sort_by_label_desc`, `mad_over_time`, `ts_of_{last,max,min}_over_time`,
    /// `double_exponential_smoothing`, `info`) and aggregations (`limitk`, `limit_ratio`).
    /// Off, using one is a parse error, as in Prometheus.
    pub experimental_functions: bool,
    /// `promql-duration-expr`: arithmetic in durations (`[5m+1m]`, `offset (1m*2)`).
    pub duration_expressions: bool,
    /// `promql-delayed-name-removal`: `__name__` is dropped at the end of evaluation, not by
    /// each function or operator, so `label_replace` and friends can still see and set it.
    pub delayed_name_removal: bool,
}

impl Features {
    /// Every feature on (what Prometheus's own conformance files are run with).
    pub fn all() -> Self {
        Self {
            experimental_functions: true,
            duration_expressions: true,
            delayed_name_removal: true,
        }
    }

    /// Turns on the feature named as in `--enable-feature` (`promql-experimental-functions`,
    /// `promql-duration-expr`, `promql-delayed-name-removal`). Returns false for names that
    /// are not PromQL features (the caller handles those).
    pub fn enable(&mut self, flag: &str) -> bool {
        match flag.trim() {
            "promql-experimental-functions" => self.experimental_functions = true,
            "promql-duration-expr" => self.duration_expressions = true,
            "promql-delayed-name-removal" => self.delayed_name_removal = true,
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_turn_on_their_feature_only() {
        let mut f = Features::default();
        assert!(f.enable("promql-experimental-functions"));
        assert!(!f.enable("native-histograms"));
        assert_eq!(
            f,
            Features {
                experimental_functions: true,
                ..Features::default()
            }
        );
        assert!(f.enable("promql-duration-expr"));
        assert!(f.enable("promql-delayed-name-removal"));
        assert_eq!(f, Features::all());
    }
}
