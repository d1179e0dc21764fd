//! `http_sd_configs`: target groups fetched from an HTTP endpoint, Prometheus's HTTP SD
//! protocol.
//!
//! Every `refresh_interval` the endpoint is asked with `GET` (headers `Accept:
//! application/json`, `User-Agent`, `X-Prometheus-Refresh-Interval-Seconds`, plus the
//! configured authentication — basic, authorization, OAuth 2.0 — and TLS). A 200 answer with
//! `Content-Type: application/json` holds a JSON list of `{"targets": [...], "labels": {...}}`.
//! Group `i` gets source `<url>:<i>` and the label `__meta_url`; when the list shrinks, the
//! groups past its end are sent empty so their targets go away. A failed refresh (transport
//! error, other status, other content type, bad JSON, a `null` group) is logged and the last
//! good groups stay, as in Prometheus 3.5. The request times out after `refresh_interval`.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, ACCEPT, USER_AGENT};
use serde::Deserialize;

use super::{GroupSender, LabelSet, TargetGroup};
use crate::client::HttpClient;
use crate::config::http::HttpClientConfig;
use crate::config::Duration as ConfigDuration;

/// Prometheus's default `refresh_interval` for HTTP SD.
pub const DEFAULT_REFRESH_INTERVAL: ConfigDuration = ConfigDuration::from_secs(60);

/// One `http_sd_configs` entry, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSdConfig {
    /// `url` (required, `http` or `https`, with a host).
    pub url: String,
    /// `refresh_interval` (default 1m).
    pub refresh_interval: ConfigDuration,
    /// The inline HTTP client fields.
    pub http_client_config: HttpClientConfig,
}

impl HttpSdConfig {
    /// Prometheus's checks of an HTTP SD entry, with its messages.
    pub fn validate(&self) -> Result<(), String> {
        if self.url.is_empty() {
            return Err("URL is missing".to_owned());
        }
        let (scheme, rest) = self
            .url
            .split_once("://")
            .map_or(("", self.url.as_str()), |(s, r)| (s, r));
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err("URL scheme must be 'http' or 'https'".to_owned());
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        if host.is_empty() {
            return Err("host is missing in URL".to_owned());
        }
        if let Some(c) = host.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "parse {:?}: invalid character {:?} in host name",
                self.url,
                c.to_string()
            ));
        }
        self.http_client_config.validate()
    }
}

/// Why one refresh failed (the last good groups stay).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSdError {
    /// The request could not be made or answered.
    #[error("{0}")]
    Fetch(String),
    /// The status was not 200.
    #[error("server returned HTTP status {0}")]
    Status(String),
    /// The answer was not JSON.
    #[error("unsupported content type {0:?}")]
    ContentType(String),
    /// The body is not a list of target groups.
    #[error("{0}")]
    Body(String),
}

#[derive(Deserialize)]
struct JsonGroup {
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Parses an HTTP SD body (the part of the protocol that needs no network): a JSON list of
/// groups for `url`.
pub fn parse_body(url: &str, body: &[u8]) -> Result<Vec<TargetGroup>, HttpSdError> {
    let groups: Vec<Option<JsonGroup>> =
        serde_json::from_slice(body).map_err(|e| HttpSdError::Body(e.to_string()))?;
    let mut out = Vec::with_capacity(groups.len());
    for (i, g) in groups.into_iter().enumerate() {
        let g = g.ok_or_else(|| HttpSdError::Body("nil target group item found".to_owned()))?;
        let mut labels: LabelSet = g.labels.unwrap_or_default();
        if let Some(bad) = labels.keys().find(|k| k.is_empty()) {
            return Err(HttpSdError::Body(format!(
                "{bad:?} is not a valid label name"
            )));
        }
        labels.insert("__meta_url".to_owned(), url.to_owned());
        let mut targets = Vec::new();
        for t in g.targets.unwrap_or_default() {
            if t.contains('/') {
                return Err(HttpSdError::Body(format!("{t:?} is not a valid hostname")));
            }
            targets.push(LabelSet::from([("__address__".to_owned(), t)]));
        }
        out.push(TargetGroup {
            source: source(url, i),
            targets,
            labels,
        });
    }
    Ok(out)
}

fn source(url: &str, i: usize) -> String {
    format!("{url}:{i}")
}

/// Whether `content_type` is what Prometheus accepts: `application/json`, optionally with
/// `charset=utf-8` (quoted or not), case-insensitively.
fn is_json_content_type(content_type: &str) -> bool {
    let ct = content_type.trim().to_ascii_lowercase();
    let Some(rest) = ct.strip_prefix("application/json") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(param) = rest.strip_prefix(';') else {
        return false;
    };
    matches!(param.trim_start(), "charset=utf-8" | "charset=\"utf-8\"")
}

/// One refresh: fetch and parse.
pub async fn refresh(
    client: &HttpClient,
    url: &str,
    refresh_interval: Duration,
) -> Result<Vec<TargetGroup>, HttpSdError> {
    let headers = vec![
        (ACCEPT, HeaderValue::from_static("application/json")),
        (
            USER_AGENT,
            HeaderValue::from_static(concat!("Tidemark/", env!("CARGO_PKG_VERSION"))),
        ),
        (
            HeaderName::from_static("x-prometheus-refresh-interval-seconds"),
            HeaderValue::from_str(&format!("{}", refresh_interval.as_secs_f64()))
                .expect("a float is a valid header value"),
        ),
    ];
    let mut body = Vec::new();
    let timeout = if refresh_interval.is_zero() {
        Duration::from_secs(60)
    } else {
        refresh_interval
    };
    let fetched = client
        .fetch(url, &headers, timeout, 0, &mut body)
        .await
        .map_err(|e| match e {
            crate::client::FetchError::Status(s) => HttpSdError::Status(s),
            other => HttpSdError::Fetch(other.to_string()),
        })?;
    let ct = fetched.content_type.unwrap_or_default();
    if !is_json_content_type(&ct) {
        return Err(HttpSdError::ContentType(ct));
    }
    parse_body(url, &body)
}

/// Runs one HTTP SD entry until the receiver is gone; `job` names it in logs.
pub async fn run(cfg: HttpSdConfig, job: String, tx: GroupSender) {
    let client = match HttpClient::new(&cfg.http_client_config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target: "discovery", job = %job, url = %cfg.url, error = %e, "http_sd: cannot build the HTTP client");
            return;
        }
    };
    let interval = cfg.refresh_interval.to_std();
    let mut last_len = 0usize;
    loop {
        match refresh(&client, &cfg.url, interval).await {
            Ok(mut groups) => {
                let len = groups.len();
                for i in len..last_len {
                    groups.push(TargetGroup {
                        source: source(&cfg.url, i),
                        ..TargetGroup::default()
                    });
                }
                last_len = len;
                if tx.send(groups).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(target: "discovery", job = %job, url = %cfg.url, error = %e, "http_sd: unable to refresh target groups");
            }
        }
        if interval.is_zero() {
            // Prometheus refreshes once when the interval is 0.
            std::future::pending::<()>().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tx.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_becomes_groups_with_url_label_and_sources() {
        let url = "http://127.0.0.1:1/sd";
        let groups = parse_body(
            url,
            br#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": []}, {"labels": {"x": "y"}}]"#,
        )
        .unwrap();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].source, "http://127.0.0.1:1/sd:0");
        assert_eq!(groups[0].targets[1]["__address__"], "b:2");
        assert_eq!(groups[0].labels["env"], "prod");
        assert_eq!(groups[2].labels["__meta_url"], url);
        assert!(groups[2].targets.is_empty());
    }

    #[test]
    fn bad_bodies_are_errors() {
        for (body, want) in [
            (&b"[null]"[..], "nil target group item found"),
            (b"{}", "invalid type"),
            (
                b"[{\"targets\": [\"http://x/\"]}]",
                "is not a valid hostname",
            ),
        ] {
            let e = parse_body("http://x", body).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn content_types_follow_prometheus() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"utf-8\"",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/json; charset=latin1",
            "",
            "application/jsonx",
        ] {
            assert!(!is_json_content_type(bad), "{bad}");
        }
    }

    #[test]
    fn config_validation_messages() {
        let cfg = |url: &str| HttpSdConfig {
            url: url.to_owned(),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            http_client_config: HttpClientConfig::default(),
        };
        assert_eq!(cfg("").validate().unwrap_err(), "URL is missing");
        assert_eq!(
            cfg("/x").validate().unwrap_err(),
            "URL scheme must be 'http' or 'https'"
        );
        assert_eq!(
            cfg("http://").validate().unwrap_err(),
            "host is missing in URL"
        );
        assert!(cfg("HTTPS://h:1/x").validate().is_ok());
    }
}
