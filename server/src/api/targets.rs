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

/// `GET /api/v1/targets?state=active|dropped|any`.
pub async fn targets(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let state = p.get("state").unwrap_or("any").to_ascii_lowercase();
    let (want_active, want_dropped) = match state.as_str() {
        "active" => (true, false),
        "dropped" => (false, true),
        _ => (true, true),
    };
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    for pool in st.scrape.targets() {
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
                    "discoveredLabels": label_map(&t.discovered),
                    "labels": label_map(&labels),
                    "scrapePool": pool.job,
                    "scrapeUrl": t.url,
                    "globalUrl": t.url,
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
                dropped.push(json!({ "discoveredLabels": label_map(&d.discovered) }));
            }
        }
    }
    let data = json!({ "activeTargets": active, "droppedTargets": dropped });
    Ok(success(&data.to_string(), &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500)),
            "2023-11-14T22:13:20.500000000Z"
        );
    }
}
