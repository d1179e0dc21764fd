//! A scrape target: its final labels, the URL they describe, and its health as the API shows it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tidemark_engine::Labels;

use super::metadata::MetadataMap;
use crate::discovery::LabelSet;

/// One target of a job, after relabeling.
#[derive(Debug)]
pub struct Target {
    /// The full label set, including `__address__`, `__scheme__`, `__metrics_path__`,
    /// `__param_*` and the scrape interval/timeout labels.
    pub labels: LabelSet,
    /// The labels before relabeling (the API's `discoveredLabels`). Replaced when a later
    /// sync (or a later duplicate in the same sync) brings a target with the same identity
    /// but other discovered labels, as Prometheus 3.5's `SetScrapeConfig` does.
    pub discovered: Mutex<Arc<LabelSet>>,
    /// The labels attached to every sample: those not starting with `__`.
    pub public: Labels,
    /// The scrape URL.
    pub url: String,
    /// The scrape interval (from `__scrape_interval__`).
    pub interval: Duration,
    /// The scrape timeout (from `__scrape_timeout__`).
    pub timeout: Duration,
    /// Identity: labels and URL. Equal hashes are the same target.
    pub hash: u64,
    /// What the last scrape did.
    pub health: Mutex<TargetHealth>,
    /// The metric metadata of the last successful scrape (`# HELP`, `# TYPE`, `# UNIT`).
    pub metadata: Mutex<Arc<MetadataMap>>,
}

/// A target's state as `/api/v1/targets` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetHealth {
    /// `None` until the first scrape, then whether it succeeded.
    pub up: Option<bool>,
    /// The last scrape's error, empty when it succeeded.
    pub last_error: String,
    /// When the last scrape started.
    pub last_scrape: Option<SystemTime>,
    /// How long the last scrape took.
    pub last_duration: Duration,
}

impl TargetHealth {
    /// Prometheus's `health` string: `up`, `down` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self.up {
            None => "unknown",
            Some(true) => "up",
            Some(false) => "down",
        }
    }
}

impl Target {
    /// The labels before relabeling, as the API shows them now.
    pub fn discovered(&self) -> Arc<LabelSet> {
        self.discovered.lock().clone()
    }

    /// Shows `discovered` from now on (the target's identity is unchanged).
    pub fn set_discovered(&self, discovered: Arc<LabelSet>) {
        *self.discovered.lock() = discovered;
    }

    /// Builds a target from relabeled labels. `params` are the job's `params`; a `__param_<k>`
    /// label replaces the first value of `k`.
    pub fn new(
        labels: LabelSet,
        discovered: LabelSet,
        params: &BTreeMap<String, Vec<String>>,
        interval: Duration,
        timeout: Duration,
    ) -> Self {
        let url = scrape_url(&labels, params);
        let public = Labels::from_pairs(
            labels
                .iter()
                .filter(|(k, v)| !k.starts_with("__") && !v.is_empty())
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .unwrap_or_default();
        let mut identity = Vec::new();
        for (k, v) in &labels {
            identity.extend_from_slice(k.as_bytes());
            identity.push(0xff);
            identity.extend_from_slice(v.as_bytes());
            identity.push(0xff);
        }
        identity.extend_from_slice(url.as_bytes());
        let hash = xxhash_rust::xxh3::xxh3_64(&identity);
        Self {
            labels,
            discovered: Mutex::new(Arc::new(discovered)),
            public,
            url,
            interval,
            timeout,
            hash,
            health: Mutex::new(TargetHealth::default()),
            metadata: Mutex::new(Arc::new(MetadataMap::new())),
        }
    }

    /// The `job` label.
    pub fn job(&self) -> &str {
        self.labels.get("job").map_or("", String::as_str)
    }
}

/// `scheme://address/path?query`, the query holding the job's `params` with `__param_*`
/// overrides, keys sorted, values escaped as Go's `url.Values.Encode` does.
pub fn scrape_url(labels: &LabelSet, params: &BTreeMap<String, Vec<String>>) -> String {
    let get = |k: &str| labels.get(k).map_or("", String::as_str);
    let mut query: BTreeMap<String, Vec<String>> = params.clone();
    for (k, v) in labels {
        if let Some(name) = k.strip_prefix("__param_") {
            match query.get_mut(name) {
                Some(values) if !values.is_empty() => values[0] = v.clone(),
                _ => {
                    query.insert(name.to_owned(), vec![v.clone()]);
                }
            }
        }
    }
    let scheme = match get("__scheme__") {
        "" => "http",
        s => s,
    };
    let mut path = get("__metrics_path__").to_owned();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let mut url = format!("{scheme}://{}{}", get("__address__"), path);
    let mut first = true;
    for (k, values) in &query {
        for v in values {
            url.push(if first { '?' } else { '&' });
            first = false;
            query_escape(k, &mut url);
            url.push('=');
            query_escape(v, &mut url);
        }
    }
    url
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn url_from_labels_and_params() {
        let labels = set(&[
            ("__address__", "10.0.0.1:9100"),
            ("__scheme__", "https"),
            ("__metrics_path__", "/probe"),
            ("__param_module", "http 2xx"),
            ("job", "x"),
        ]);
        let mut params = BTreeMap::new();
        params.insert("module".to_string(), vec!["a".into(), "b".into()]);
        params.insert("debug".to_string(), vec!["1".into()]);
        assert_eq!(
            scrape_url(&labels, &params),
            "https://10.0.0.1:9100/probe?debug=1&module=http+2xx&module=b"
        );
        let t = Target::new(
            labels,
            LabelSet::new(),
            &params,
            Duration::from_secs(15),
            Duration::from_secs(10),
        );
        assert_eq!(t.public.to_string(), r#"{job="x"}"#);
    }

    #[test]
    fn api_server_proxy_path_is_kept_verbatim() {
        let labels = set(&[
            ("__address__", "kubernetes.default.svc:443"),
            ("__scheme__", "https"),
            (
                "__metrics_path__",
                "/api/v1/namespaces/default/pods/http:natsd-0:7777/proxy/metrics",
            ),
        ]);
        assert_eq!(
            scrape_url(&labels, &BTreeMap::new()),
            "https://kubernetes.default.svc:443/api/v1/namespaces/default/pods/http:natsd-0:7777/proxy/metrics"
        );
    }
}
