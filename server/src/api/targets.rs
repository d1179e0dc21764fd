//! `/api/v1/targets`: active and dropped targets with their health.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::{read_params, success, ApiError};
use crate::state::AppState;
use tidemark_ingest::discovery::LabelSet;

fn label_map(labels: &LabelSet) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// RFC 3339 with nanoseconds in UTC, as Go's `time.Time` marshals.
pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Where a target is reachable from elsewhere, as Prometheus 3.5's `globalUrl`: a loopback
/// host (`127.0.0.1`, `localhost`, `::1`) is replaced by the external URL's host; when the
/// port is also the server's own, the external scheme and port are used too (the target is
/// this server).
pub fn global_url(scrape_url: &str, external: &ExternalUrl) -> String {
    let Some((scheme, rest)) = scrape_url.split_once("://") else {
        return scrape_url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let Some((host, port)) = hostport.rsplit_once(':') else {
        return scrape_url.to_owned();
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if !matches!(bare, "127.0.0.1" | "localhost" | "::1") {
        return scrape_url.to_owned();
    }
    if port == external.listen_port {
        format!(
            "{}://{userinfo}{}{path}",
            external.scheme, external.host_port
        )
    } else {
        let ext_host = external
            .host_port
            .rsplit_once(':')
            .map_or(external.host_port.as_str(), |(h, _)| h);
        format!("{scheme}://{userinfo}{ext_host}:{port}{path}")
    }
}

/// The parts of the external URL `globalUrl` uses.
#[derive(Debug, Clone)]
pub struct ExternalUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// `host:port` of the external URL.
    pub host_port: String,
    /// The port the server listens on (its first `--web.listen-address`).
    pub listen_port: String,
}

impl ExternalUrl {
    /// From `--web.external-url`, or, as Prometheus derives it when the flag is empty,
    /// `http://<hostname>:<listen port>/`.
    pub fn from_settings(s: &crate::settings::Settings) -> Self {
        let listen_port = s.listen_address.port().to_string();
        let (scheme, rest) = s.external_url.split_once("://").unwrap_or(("http", ""));
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() {
            let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "localhost".into());
            return ExternalUrl {
                scheme: "http".into(),
                host_port: format!("{hostname}:{listen_port}"),
                listen_port,
            };
        }
        let host_port = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            host.to_owned()
        } else if scheme == "https" {
            format!("{host}:443")
        } else {
            format!("{host}:80")
        };
        ExternalUrl {
            scheme: scheme.to_owned(),
            host_port,
            listen_port,
        }
    }
}

/// `GET /api/v1/targets?state=active|dropped|any&scrapePool=NAME`, with Prometheus 3.5's
/// `droppedTargetCounts` (every pool's number of dropped targets, whatever the filter) when
/// dropped targets are asked for.
pub async fn targets(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let state = p.get("state").unwrap_or("").to_ascii_lowercase();
    let want_active = matches!(state.as_str(), "" | "any" | "active");
    let want_dropped = matches!(state.as_str(), "" | "any" | "dropped");
    let pool_filter = p.get("scrapePool").filter(|s| !s.is_empty());
    let external = ExternalUrl::from_settings(&st.settings);
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    let mut counts = Map::new();
    for c in &st.config.read().0.scrape_configs {
        counts.insert(c.job_name.clone(), json!(0));
    }
    for pool in st.scrape.targets() {
        counts.insert(pool.job.clone(), json!(pool.dropped.len()));
        if pool_filter.is_some_and(|f| f != pool.job) {
            continue;
        }
        if want_active {
            for t in &pool.active {
                let h = t.health.lock().clone();
                let labels: LabelSet = t
                    .labels
                    .iter()
                    .filter(|(k, v)| !k.starts_with("__") && !v.is_empty())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                active.push(json!({
                    "discoveredLabels": label_map(&t.discovered()),
                    "labels": label_map(&labels),
                    "scrapePool": pool.job,
                    "scrapeUrl": t.url,
                    "globalUrl": global_url(&t.url, &external),
                    "lastError": h.last_error,
                    "lastScrape": h.last_scrape.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), rfc3339),
                    "lastScrapeDuration": h.last_duration.as_secs_f64(),
                    "health": h.as_str(),
                    "scrapeInterval": tidemark_ingest::config::Duration::from_millis(t.interval.as_millis() as u64).to_string(),
                    "scrapeTimeout": tidemark_ingest::config::Duration::from_millis(t.timeout.as_millis() as u64).to_string(),
                }));
            }
        }
        if want_dropped {
            for d in &pool.dropped {
                dropped.push(json!({
                    "discoveredLabels": label_map(&d.discovered),
                    "scrapePool": pool.job,
                }));
            }
        }
    }
    let counts = if want_dropped {
        Value::Object(counts)
    } else {
        Value::Null
    };
    // Tidemark's own addition: jobs using a discovery mechanism it does not run (they have no
    // targets from it). Present only when there are such jobs, so answers stay Prometheus's
    // otherwise.
    let mut not_implemented = Vec::new();
    for c in &st.config.read().0.scrape_configs {
        if pool_filter.is_some_and(|f| f != c.job_name) {
            continue;
        }
        let mechanisms = c.unimplemented_mechanisms();
        if !mechanisms.is_empty() {
            not_implemented.push(json!({
                "scrapePool": c.job_name,
                "mechanisms": mechanisms.iter().map(|(m, _)| format!("{m}_sd_configs")).collect::<Vec<_>>(),
                "message": "service discovery not implemented in Tidemark",
            }));
        }
    }
    let mut data = json!({
        "activeTargets": active,
        "droppedTargets": dropped,
        "droppedTargetCounts": counts,
    });
    if !not_implemented.is_empty() {
        data["notImplementedDiscovery"] = Value::Array(not_implemented);
    }
    Ok(success(&data.to_string(), &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_url_replaces_loopback_hosts() {
        let ext = ExternalUrl {
            scheme: "http".into(),
            host_port: "vm:9090".into(),
            listen_port: "9090".into(),
        };
        assert_eq!(
            global_url("http://127.0.0.1:9090/metrics", &ext),
            "http://vm:9090/metrics"
        );
        assert_eq!(
            global_url("https://localhost:9100/m?x=1", &ext),
            "https://vm:9100/m?x=1"
        );
        assert_eq!(
            global_url("http://[::1]:8080/metrics", &ext),
            "http://vm:8080/metrics"
        );
        assert_eq!(
            global_url("http://10.0.0.1:9100/metrics", &ext),
            "http://10.0.0.1:9100/metrics"
        );
    }

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500)),
            "2023-11-14T22:13:20.500000000Z"
        );
    }
}
