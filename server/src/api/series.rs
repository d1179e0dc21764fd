//! `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`: index lookups
//! through the querier, with Prometheus 3.5's parameters (`limit` truncates with a warning).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::Response;
use tidemark_engine::{Labels, Matcher};

use super::selectors::{apply_limit, limit, match_sets, time_range};
use super::{json, read_params, success, ApiError};
use crate::state::AppState;

fn engine_err(e: tidemark_engine::Error) -> ApiError {
    ApiError::internal(e.to_string())
}

/// Runs blocking index work off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("lookup task failed: {e}")))?
}

/// The distinct series matching any of `sets` in `[start, end]`: with one set, in the order
/// Prometheus 3.5's unsorted select gives (series creation order when only the head is
/// read); with several, merged and sorted by labels.
pub fn select_union(
    st: &AppState,
    sets: &[Vec<Matcher>],
    start: i64,
    end: i64,
) -> Result<Vec<Labels>, ApiError> {
    let q = st.db.querier(start, end);
    if let [set] = sets {
        return Ok(q
            .select_unsorted(set)
            .map_err(engine_err)?
            .iter()
            .map(|s| s.labels().clone())
            .collect());
    }
    let mut all = BTreeSet::new();
    for set in sets {
        for s in q.select(set).map_err(engine_err)? {
            all.insert(s.labels().clone());
        }
    }
    Ok(all.into_iter().collect())
}

fn string_list(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_str(&mut out, s);
    }
    out.push(']');
    out
}

/// `GET|POST /api/v1/series`: `match[]` (required, repeatable), `start`, `end`, `limit`.
pub async fn series(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let sets = match_sets(&p)?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (start, end) = time_range(&p)?;
    let lim = limit(&p)?;
    let mut found = blocking(move || select_union(&st, &sets, start, end)).await?;
    let warnings = apply_limit(&mut found, lim);
    let mut out = String::from("[");
    for (i, l) in found.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_labels(&mut out, l);
    }
    out.push(']');
    Ok(success(&out, &warnings))
}

/// `GET|POST /api/v1/labels`: optional `match[]`, `start`, `end`, `limit`.
pub async fn labels(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let sets = match_sets(&p)?;
    let (start, end) = time_range(&p)?;
    let lim = limit(&p)?;
    let mut names = blocking(move || {
        let q = st.db.querier(start, end);
        if sets.is_empty() {
            return q.label_names(&[]).map_err(engine_err);
        }
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(q.label_names(set).map_err(engine_err)?);
        }
        Ok(all.into_iter().collect::<Vec<_>>())
    })
    .await?;
    let warnings = apply_limit(&mut names, lim);
    Ok(success(&string_list(&names), &warnings))
}

/// Prometheus 3.5's label-name rule under UTF-8 validation: any non-empty name.
fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// A name in the path as Prometheus 3.5 reads it: `U__` starts a value-encoding escaped
/// name (`_2e_` is `.`, `__` is `_`); a malformed escape leaves the name as written.
pub fn unescape_name(name: &str) -> String {
    let Some(escaped) = name.strip_prefix("U__") else {
        return name.to_owned();
    };
    let b = escaped.as_bytes();
    let mut out = String::with_capacity(escaped.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'_' {
            // Copy the whole (possibly multi-byte) character.
            let ch = escaped[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        i += 1;
        if i >= b.len() {
            return name.to_owned();
        }
        if b[i] == b'_' {
            out.push('_');
            i += 1;
            continue;
        }
        let mut value: u32 = 0;
        let mut digits = 0;
        loop {
            if digits >= 6 || i >= b.len() {
                return name.to_owned();
            }
            if b[i] == b'_' {
                match char::from_u32(value) {
                    Some(c) => out.push(c),
                    None => return name.to_owned(),
                }
                i += 1;
                break;
            }
            match (b[i] as char).to_digit(16) {
                Some(d) => value = value * 16 + d,
                None => return name.to_owned(),
            }
            digits += 1;
            i += 1;
        }
    }
    out
}

/// `GET /api/v1/label/<name>/values`: optional `match[]`, `start`, `end`, `limit`.
pub async fn label_values(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let name = unescape_name(&name);
    if !valid_label_name(&name) {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let p = read_params(req).await?;
    let sets = match_sets(&p)?;
    let (start, end) = time_range(&p)?;
    let lim = limit(&p)?;
    let mut values = blocking(move || {
        let q = st.db.querier(start, end);
        if sets.is_empty() {
            return q.label_values(&name, &[]).map_err(engine_err);
        }
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(q.label_values(&name, set).map_err(engine_err)?);
        }
        Ok(all.into_iter().collect::<Vec<_>>())
    })
    .await?;
    let warnings = apply_limit(&mut values, lim);
    Ok(success(&string_list(&values), &warnings))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tidemark_engine::labels;

    use crate::api::testutil::{enc, Harness};

    fn harness() -> Harness {
        let h = Harness::new(&[]);
        h.add(&[
            (
                labels!("__name__" => "up", "job" => "node", "instance" => "a"),
                1_000,
                1.0,
            ),
            (
                labels!("__name__" => "up", "job" => "api", "instance" => "b"),
                1_000,
                0.0,
            ),
            (
                labels!("__name__" => "http_total", "job" => "api", "code" => "200"),
                50_000,
                3.0,
            ),
        ]);
        h
    }

    #[tokio::test]
    async fn series_union_sorted_and_limited() {
        let h = harness();
        let (s, v) = h
            .get_json(&format!(
                "/api/v1/series?match[]={}&match[]={}",
                enc("up"),
                enc("{job=\"api\"}")
            ))
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            v["data"],
            json!([
                {"__name__": "http_total", "code": "200", "job": "api"},
                {"__name__": "up", "instance": "a", "job": "node"},
                {"__name__": "up", "instance": "b", "job": "api"},
            ])
        );
        let (_, v) = h
            .post_form("/api/v1/series", "match[]=up&start=0&end=10&limit=1")
            .await;
        assert_eq!(v["data"].as_array().unwrap().len(), 1);
        assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
        // Only http_total has samples after 10 s.
        let (_, v) = h
            .get_json("/api/v1/series?match[]=%7Bjob%3D%22api%22%7D&start=10")
            .await;
        assert_eq!(
            v["data"],
            json!([{"__name__": "http_total", "code": "200", "job": "api"}])
        );
    }

    #[tokio::test]
    async fn series_errors_are_bad_data() {
        let h = harness();
        let (s, v) = h.get_json("/api/v1/series").await;
        assert_eq!(s, 400);
        assert_eq!(v["error"], "no match[] parameter provided");
        let (s, v) = h.get_json("/api/v1/series?match[]=up%2B").await;
        assert_eq!(s, 400);
        assert_eq!(v["errorType"], "bad_data");
        let (s, _) = h.get_json("/api/v1/series?match[]=up&start=5&end=1").await;
        assert_eq!(s, 400);
    }

    #[tokio::test]
    async fn labels_and_values_with_matchers() {
        let h = harness();
        let (_, v) = h.get_json("/api/v1/labels").await;
        assert_eq!(v["data"], json!(["__name__", "code", "instance", "job"]));
        let (_, v) = h.post_form("/api/v1/labels", "match[]=up").await;
        assert_eq!(v["data"], json!(["__name__", "instance", "job"]));
        let (_, v) = h.get_json("/api/v1/label/job/values").await;
        assert_eq!(v["data"], json!(["api", "node"]));
        let (_, v) = h
            .get_json("/api/v1/label/__name__/values?match[]=%7Bjob%3D%22api%22%7D&limit=1")
            .await;
        assert_eq!(v["data"], json!(["http_total"]));
        assert_eq!(v["warnings"], json!(["results truncated due to limit"]));
        let (_, v) = h.get_json("/api/v1/label/nothing/values").await;
        assert_eq!(v["data"], json!([]));
        // Prometheus 3.5 validates names as UTF-8: `1bad` is a name like any other.
        let (s, v) = h.get_json("/api/v1/label/1bad/values").await;
        assert_eq!((s.as_u16(), &v["data"]), (200, &json!([])));
        // As in Prometheus, the head answers by its index while the range overlaps it, and
        // not at all after its newest sample.
        let (_, v) = h.get_json("/api/v1/label/job/values?start=10").await;
        assert_eq!(v["data"], json!(["api", "node"]));
        let (_, v) = h.get_json("/api/v1/label/job/values?start=100").await;
        assert_eq!(v["data"], json!([]));
        let (_, v) = h
            .get_json("/api/v1/label/job/values?start=10&match[]=up")
            .await;
        assert_eq!(v["data"], json!([]));
    }

    #[test]
    fn escaped_names_are_unescaped_as_prometheus_3() {
        assert_eq!(super::unescape_name("U__a_2e_b"), "a.b");
        assert_eq!(super::unescape_name("U__a__b"), "a_b");
        assert_eq!(super::unescape_name("U__a_2e"), "U__a_2e");
        assert_eq!(super::unescape_name("U__x_1F600_"), "x\u{1F600}");
        assert_eq!(super::unescape_name("job"), "job");
        assert_eq!(super::unescape_name("1x"), "1x");
    }
}
