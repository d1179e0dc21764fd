//! Status endpoints.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;

use super::params::parse_time;
use super::targets::rfc3339;
use super::{read_params, success, ApiError};
use crate::state::AppState;

/// The Prometheus release whose API and behaviour Tidemark follows; `buildinfo` reports it
/// as `version`, so that clients which choose features by version (Grafana, promtool) treat
/// Tidemark as that release. Tidemark's own version is in `revision`.
pub const PROMETHEUS_COMPATIBLE_VERSION: &str = "3.5.3";

/// `GET /api/v1/status/buildinfo`: Prometheus 3.5's fields; `version` is
/// [`PROMETHEUS_COMPATIBLE_VERSION`], and there is no `features` field (Grafana would take
/// the server for Mimir).
pub async fn buildinfo() -> Response {
    let data = serde_json::json!({
        "version": PROMETHEUS_COMPATIBLE_VERSION,
        "revision": concat!("tidemark-", env!("CARGO_PKG_VERSION")),
        "branch": "main",
        "buildUser": "tidemark",
        "buildDate": "",
        "goVersion": "none (Rust)",
    });
    success(&data.to_string(), &[])
}

/// `GET /api/v1/status/config`: the loaded configuration written back as YAML with every secret
/// masked, as Prometheus 3.5 shows it (never the file's text, which holds the secrets).
pub async fn config(State(st): State<Arc<AppState>>) -> Response {
    let text = st.config.read().0.to_masked_yaml();
    let data = serde_json::json!({ "yaml": text });
    success(&data.to_string(), &[])
}

/// `GET /api/v1/status/flags`.
pub async fn flags(State(st): State<Arc<AppState>>) -> Response {
    let map: serde_json::Map<String, serde_json::Value> = st
        .settings
        .flags
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    success(&serde_json::Value::Object(map).to_string(), &[])
}

/// `GET /api/v1/status/runtimeinfo`. Go-specific fields carry the nearest Tidemark figure:
/// `goroutineCount` is the process's thread count, `GOMAXPROCS` the available parallelism.
pub async fn runtimeinfo(State(st): State<Arc<AppState>>) -> Response {
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let last_reload = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(st.last_reload_success_time.load(Ordering::Relaxed));
    let mut last_config = rfc3339(last_reload);
    // Go prints whole seconds for this field: drop the `.000000000`.
    if let Some(dot) = last_config.find('.') {
        last_config.replace_range(dot..last_config.len() - 1, "");
    }
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let data = serde_json::json!({
        "startTime": rfc3339(st.start_time),
        "CWD": cwd,
        "hostname": hostname,
        "serverTime": rfc3339(std::time::SystemTime::now()),
        "reloadConfigSuccess": st.last_reload_ok.load(Ordering::Relaxed),
        "lastConfigTime": last_config,
        "corruptionCount": st.db.corrupt_blocks().len(),
        "goroutineCount": threads,
        "GOMAXPROCS": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "GOMEMLIMIT": i64::MAX,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": storage_retention(&st.settings),
    });
    success(&data.to_string(), &[])
}

/// `15d`, `512MiB`, or `15d or 512MiB`, as Prometheus describes its retention.
fn storage_retention(s: &crate::settings::Settings) -> String {
    let time = s.retention_time.map(|d| {
        tidemark_ingest::config::Duration::parse(&format!("{}ms", d.as_millis()))
            .map(|d| d.to_string())
            .unwrap_or_default()
    });
    let size = s.retention_size.map(base2_bytes);
    match (time, size) {
        (Some(t), Some(b)) => format!("{t} or {b}"),
        (Some(t), None) => t,
        (None, Some(b)) => b,
        (None, None) => "0s".to_owned(),
    }
}

/// Go's `units.Base2Bytes` string: the largest exact binary unit (`512MiB`, `1GiB`, `1000B`).
pub(crate) fn base2_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["EiB", "PiB", "TiB", "GiB", "MiB", "KiB"];
    for (i, u) in UNITS.iter().enumerate() {
        let size = 1u64 << (10 * (6 - i));
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{u}", n / size);
        }
    }
    format!("{n}B")
}

fn name_values(v: &[(String, u64)]) -> serde_json::Value {
    serde_json::Value::Array(
        v.iter()
            .map(|(n, c)| serde_json::json!({"name": n, "value": c}))
            .collect(),
    )
}

/// `GET /api/v1/status/tsdb?limit=N`: head statistics and the top-N (default 10)
/// cardinality tables.
pub async fn tsdb(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let limit = match p.get("limit") {
        None | Some("") => 10,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Err(ApiError::bad_data("limit must be a positive number")),
        },
    };
    let state = st.clone();
    let (card, chunks) = tokio::task::spawn_blocking(move || {
        (state.db.cardinality(limit), state.db.head().num_chunks())
    })
    .await
    .map_err(|e| ApiError::internal(format!("statistics task failed: {e}")))?;
    let head = st.db.head();
    let (min, max) = if head.is_empty() {
        (i64::MAX, i64::MIN)
    } else {
        (head.min_time(), head.max_time())
    };
    let data = serde_json::json!({
        "headStats": {
            "numSeries": head.num_series(),
            "numLabelPairs": card.num_label_pairs,
            "chunkCount": chunks,
            "minTime": min,
            "maxTime": max,
        },
        "seriesCountByMetricName": name_values(&card.series_count_by_metric_name),
        "labelValueCountByLabelName": name_values(&card.label_value_count_by_label_name),
        "memoryInBytesByLabelName": name_values(&card.memory_in_bytes_by_label_name),
        "seriesCountByLabelValuePair": name_values(&card.series_count_by_label_value_pair),
    });
    Ok(success(&data.to_string(), &[]))
}

/// `GET /api/v1/status/walreplay`: the replay is finished before the server listens, so it
/// reports completion over the WAL's segment numbers: `min` the first, `max` and `current`
/// the last (all 0 for a fresh WAL).
pub async fn walreplay(State(st): State<Arc<AppState>>) -> Response {
    let mut numbers: Vec<u64> = std::fs::read_dir(st.db.dir().join("wal"))
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
                .collect()
        })
        .unwrap_or_default();
    numbers.sort_unstable();
    let min = numbers.first().copied().unwrap_or(0);
    let max = numbers.last().copied().unwrap_or(0);
    let data = serde_json::json!({"min": min, "max": max, "current": max});
    success(&data.to_string(), &[])
}

/// `GET /api/v1/scrape_pools`: the configured scrape jobs, sorted.
pub async fn scrape_pools(State(st): State<Arc<AppState>>) -> Response {
    let mut pools: Vec<String> = st
        .config
        .read()
        .0
        .scrape_configs
        .iter()
        .map(|c| c.job_name.clone())
        .collect();
    pools.sort();
    pools.dedup();
    success(
        &serde_json::json!({ "scrapePools": pools }).to_string(),
        &[],
    )
}

/// `GET /api/v1/notifications`: the active server notifications (a failed configuration
/// reload), oldest first.
pub async fn notifications(State(st): State<Arc<AppState>>) -> Response {
    let list: Vec<serde_json::Value> = st
        .notifications
        .current()
        .iter()
        .map(|n| n.to_json())
        .collect();
    success(&serde_json::Value::Array(list).to_string(), &[])
}

/// `GET /api/v1/notifications/live`: server-sent events, one `data: {json}` per
/// notification, the current ones first, then each change (an ended notification is sent
/// with `"active": false`), until the client goes away.
pub async fn notifications_live(State(st): State<Arc<AppState>>) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    use futures_util::stream::{self, StreamExt};
    use tokio::sync::broadcast::error::RecvError;
    fn event(
        n: &crate::state::Notification,
    ) -> Result<axum::body::Bytes, std::convert::Infallible> {
        Ok(axum::body::Bytes::from(format!(
            "data: {}\n\n",
            n.to_json()
        )))
    }
    let (current, rx) = st.notifications.subscribe();
    let first: Vec<_> = current.iter().map(event).collect();
    let changes = stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(n) => return Some((event(&n), rx)),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(stream::iter(first).chain(changes)),
    )
        .into_response()
}

/// `GET|POST /api/v1/format_query`: the expression pretty-printed as Prometheus does.
pub async fn format_query(
    State(st): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let q = p.get("query").unwrap_or("");
    let features = st.settings.promql_features();
    let expr = tidemark_query::parser::parse_with(q, features)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
    let mut out = String::new();
    super::json::write_str(&mut out, &expr.prettify());
    Ok(success(&out, &[]))
}

/// `GET|POST /api/v1/parse_query`: the expression's syntax tree as Prometheus's
/// `translateAST` writes it (the `promql-parser` crate's serialization of the tree our parser
/// builds).
pub async fn parse_query(
    State(st): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let q = p.get("query").unwrap_or("");
    let features = st.settings.promql_features();
    let expr = tidemark_query::parser::parse_with(q, features)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
    let mut tree = serde_json::to_value(&expr)
        .map_err(|e| ApiError::internal(format!("writing the syntax tree: {e}")))?;
    to_prometheus_ast(&mut tree);
    Ok(success(&tree.to_string(), &[]))
}

/// Rewrites the `promql-parser` crate's serialization into the shape of Prometheus 3.5's
/// `translateAST`, returning the node's value type: selectors list their `__name__` matcher
/// (last, as Prometheus's parser adds it) and a missing name is `""`; functions carry no
/// `experimental` field; vector matching is `null` unless both sides are instant vectors,
/// with `card` a string and `group_left`/`group_right` labels in `include`; `Inf` is
/// `+Inf`.
fn to_prometheus_ast(node: &mut serde_json::Value) -> &'static str {
    use serde_json::{json, Value};
    let Some(obj) = node.as_object_mut() else {
        return "none";
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    match kind.as_str() {
        "vectorSelector" | "matrixSelector" => {
            let name = obj.get("name").and_then(Value::as_str).map(str::to_owned);
            if let Some(name) = &name {
                if let Some(Value::Array(ms)) = obj.get_mut("matchers") {
                    if !ms.iter().any(|m| m["name"] == "__name__") {
                        ms.push(json!({"name": "__name__", "type": "=", "value": name}));
                    }
                }
            }
            obj.insert("name".into(), Value::String(name.unwrap_or_default()));
            if kind == "vectorSelector" {
                "vector"
            } else {
                "matrix"
            }
        }
        "numberLiteral" => {
            if obj.get("val").and_then(Value::as_str) == Some("Inf") {
                obj.insert("val".into(), json!("+Inf"));
            }
            "scalar"
        }
        "stringLiteral" => "string",
        "subquery" => {
            if let Some(e) = obj.get_mut("expr") {
                to_prometheus_ast(e);
            }
            "matrix"
        }
        "parenExpr" | "unaryExpr" => obj.get_mut("expr").map_or("none", to_prometheus_ast),
        "aggregation" => {
            for k in ["expr", "param"] {
                if let Some(e) = obj.get_mut(k) {
                    to_prometheus_ast(e);
                }
            }
            "vector"
        }
        "call" => {
            if let Some(Value::Array(args)) = obj.get_mut("args") {
                for a in args {
                    to_prometheus_ast(a);
                }
            }
            let Some(Value::Object(func)) = obj.get_mut("func") else {
                return "none";
            };
            func.remove("experimental");
            match func.get("returnType").and_then(Value::as_str) {
                Some("scalar") => "scalar",
                Some("matrix") => "matrix",
                Some("string") => "string",
                _ => "vector",
            }
        }
        "binaryExpr" => {
            let lt = obj.get_mut("lhs").map_or("none", to_prometheus_ast);
            let rt = obj.get_mut("rhs").map_or("none", to_prometheus_ast);
            let both_vectors = lt == "vector" && rt == "vector";
            if !both_vectors {
                obj.insert("matching".into(), Value::Null);
            } else if obj.get("matching").is_none_or(Value::is_null) {
                let set_op = matches!(
                    obj.get("op").and_then(Value::as_str),
                    Some("and" | "or" | "unless")
                );
                let card = if set_op { "many-to-many" } else { "one-to-one" };
                obj.insert(
                    "matching".into(),
                    json!({"card": card, "include": [], "labels": [], "on": false}),
                );
            } else if let Some(Value::Object(m)) = obj.get_mut("matching") {
                m.remove("fillValues");
                if let Some(Value::Object(card)) = m.get("card").cloned() {
                    if let Some((c, include)) = card.into_iter().next() {
                        m.insert("card".into(), Value::String(c));
                        m.insert("include".into(), include);
                    }
                }
            }
            if lt == "scalar" && rt == "scalar" {
                "scalar"
            } else {
                "vector"
            }
        }
        _ => "none",
    }
}

/// `GET /api/v1/rules`: Tidemark evaluates no rules yet.
pub async fn rules() -> Response {
    success("{\"groups\":[]}", &[])
}

/// `GET /api/v1/alerts`: no alerting rules, so no alerts.
pub async fn alerts() -> Response {
    success("{\"alerts\":[]}", &[])
}

/// `GET|POST /api/v1/query_exemplars`: exemplars are not stored; the query and range are
/// still validated as Prometheus does (with the PromQL features the server was started with).
pub async fn query_exemplars(
    State(st): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    for name in ["start", "end"] {
        if let Some(v) = p.get(name).filter(|v| !v.is_empty()) {
            parse_time(name, v).map_err(|_| {
                ApiError::bad_data(format!(
                    "invalid parameter \"{name}\": Invalid time value for '{name}': cannot parse \"{v}\" to a valid timestamp"
                ))
            })?;
        }
    }
    let q = p.get("query").unwrap_or("");
    let features = st.settings.promql_features();
    tidemark_query::parser::parse_with(q, features)
        .map_err(|e| ApiError::bad_data(e.to_string()))?;
    Ok(success("[]", &[]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tidemark_engine::labels;

    use crate::api::testutil::Harness;

    #[test]
    fn retention_is_described_like_prometheus() {
        assert_eq!(super::base2_bytes(512 << 20), "512MiB");
        assert_eq!(super::base2_bytes(1 << 30), "1GiB");
        assert_eq!(super::base2_bytes(1000), "1000B");
    }

    #[tokio::test]
    async fn tsdb_status_has_head_stats_and_tables() {
        let h = Harness::new(&[]);
        let (_, v) = h.get_json("/api/v1/status/tsdb").await;
        assert_eq!(v["data"]["headStats"]["minTime"], json!(i64::MAX));
        assert_eq!(v["data"]["seriesCountByMetricName"], json!([]));
        h.add(&[
            (labels!("__name__" => "up", "job" => "a"), 1_000, 1.0),
            (labels!("__name__" => "up", "job" => "b"), 2_000, 1.0),
            (labels!("__name__" => "x", "job" => "b"), 3_000, 1.0),
        ]);
        let (s, v) = h.get_json("/api/v1/status/tsdb").await;
        assert_eq!(s, 200);
        let d = &v["data"];
        assert_eq!(
            d["headStats"],
            json!({"numSeries": 3, "numLabelPairs": 4, "chunkCount": 3, "minTime": 1000, "maxTime": 3000})
        );
        assert_eq!(
            d["seriesCountByMetricName"],
            json!([{"name": "up", "value": 2}, {"name": "x", "value": 1}])
        );
        assert_eq!(
            d["labelValueCountByLabelName"],
            json!([{"name": "__name__", "value": 2}, {"name": "job", "value": 2}])
        );
        assert_eq!(
            d["seriesCountByLabelValuePair"][0],
            json!({"name": "__name__=up", "value": 2})
        );
        assert_eq!(
            d["memoryInBytesByLabelName"][0],
            json!({"name": "__name__", "value": 5})
        );
    }

    /// `parse_query`, `format_query` and `query_exemplars` parse with the server's PromQL
    /// features: `limitk` and duration expressions are refused unless enabled.
    #[tokio::test]
    async fn query_parsing_endpoints_use_the_enabled_features() {
        let plain = Harness::new(&[]);
        let enabled =
            Harness::new(&["--enable-feature=promql-experimental-functions,promql-duration-expr"]);
        for q in ["limitk(1, up)", "rate(up[1m + 1m])"] {
            let q = crate::api::testutil::enc(q);
            for path in [
                format!("/api/v1/parse_query?query={q}"),
                format!("/api/v1/format_query?query={q}"),
                format!("/api/v1/query_exemplars?query={q}"),
            ] {
                let (s, v) = plain.get_json(&path).await;
                assert_eq!(s, 400, "{path} without the features: {v}");
                let (s, v) = enabled.get_json(&path).await;
                assert_eq!(s, 200, "{path} with the features: {v}");
            }
        }
    }

    #[tokio::test]
    async fn small_status_endpoints() {
        let h = Harness::new(&[]);
        let (_, v) = h.get_json("/api/v1/rules").await;
        assert_eq!(v, json!({"status": "success", "data": {"groups": []}}));
        let (_, v) = h.get_json("/api/v1/alerts").await;
        assert_eq!(v, json!({"status": "success", "data": {"alerts": []}}));
        let (_, v) = h
            .get_json("/api/v1/query_exemplars?query=up&start=1&end=2")
            .await;
        assert_eq!(v, json!({"status": "success", "data": []}));
        let (s, v) = h.get_json("/api/v1/query_exemplars").await;
        assert_eq!(s, 400);
        assert_eq!(
            v["error"],
            "unknown position: parse error: no expression found in input"
        );
        let (_, v) = h.get_json("/api/v1/status/walreplay").await;
        let d = &v["data"];
        assert!(
            d["min"].as_u64().unwrap() <= d["max"].as_u64().unwrap(),
            "{d}"
        );
        assert_eq!(d["max"], d["current"]);
        let (_, v) = h.get_json("/api/v1/status/runtimeinfo").await;
        assert_eq!(v["data"]["storageRetention"], "15d");
        assert_eq!(v["data"]["reloadConfigSuccess"], true);
        assert!(v["data"]["lastConfigTime"].as_str().unwrap().ends_with('Z'));
        let (_, v) = h.get_json("/api/v1/metadata").await;
        assert_eq!(v, json!({"status": "success", "data": {}}));
        let (_, v) = h.get_json("/api/v1/targets/metadata").await;
        assert_eq!(v, json!({"status": "success", "data": []}));
        let (s, v) = h.get_json("/api/v1/metadata?limit=x").await;
        assert_eq!(
            (s.as_u16(), v["error"].as_str()),
            (400, Some("limit must be a number"))
        );
    }

    #[tokio::test]
    async fn prometheus_3_endpoints() {
        let h = Harness::new(&[]);
        let (_, v) = h.get_json("/api/v1/status/buildinfo").await;
        assert_eq!(v["data"]["version"], super::PROMETHEUS_COMPATIBLE_VERSION);
        let (_, v) = h.get_json("/api/v1/scrape_pools").await;
        assert_eq!(v["data"], json!({"scrapePools": ["tidemark"]}));
        let (s, v) = h.get_json("/api/v1/status/tsdb?limit=0").await;
        assert_eq!(
            (s.as_u16(), v["error"].as_str()),
            (400, Some("limit must be a positive number"))
        );
        h.add(&[
            (labels!("__name__" => "up", "job" => "a"), 1_000, 1.0),
            (labels!("__name__" => "x", "job" => "b"), 3_000, 1.0),
        ]);
        let (_, v) = h.get_json("/api/v1/status/tsdb?limit=1").await;
        assert_eq!(
            v["data"]["seriesCountByMetricName"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let (_, v) = h.get_json("/api/v1/notifications").await;
        assert_eq!(v["data"], json!([]));
        h.state.notifications.add(crate::state::RELOAD_FAILED);
        let (_, v) = h.get_json("/api/v1/notifications").await;
        assert_eq!(v["data"][0]["text"], "Configuration reload has failed.");
        assert_eq!(v["data"][0]["active"], true);
        h.state.notifications.remove(crate::state::RELOAD_FAILED);
        let (_, v) = h.get_json("/api/v1/notifications").await;
        assert_eq!(v["data"], json!([]));
        let (_, v) = h
            .get_json("/api/v1/format_query?query=sum(up)by(job)")
            .await;
        assert_eq!(v["data"], "sum by (job) (up)");
        let (_, v) = h.get_json("/api/v1/parse_query?query=sum(up)").await;
        assert_eq!(
            v["data"],
            json!({"expr": {"matchers": [{"name": "__name__", "type": "=", "value": "up"}],
                "name": "up", "offset": 0, "startOrEnd": null, "timestamp": null,
                "type": "vectorSelector"},
                "grouping": [], "op": "sum", "param": null, "type": "aggregation",
                "without": false})
        );
        let (_, v) = h.get_json("/api/v1/parse_query?query=a%3Ebool%201").await;
        assert_eq!(v["data"]["matching"], json!(null));
        let (s, v) = h.get_json("/api/v1/format_query?query=sum(").await;
        assert_eq!(s, 400);
        assert_eq!(
            v["error"],
            "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"
        );
        let (_, v) = h.get_json("/api/v1/status/runtimeinfo").await;
        for k in ["hostname", "serverTime", "GOMEMLIMIT"] {
            assert!(v["data"].get(k).is_some(), "{k}: {v}");
        }
        let (_, v) = h.get_json("/api/v1/targets?state=bogus").await;
        assert_eq!(v["data"]["droppedTargetCounts"], json!(null));
        let (_, v) = h.get_json("/api/v1/targets").await;
        assert_eq!(v["data"]["droppedTargetCounts"], json!({"tidemark": 0}));
    }

    async fn next_event(b: &mut axum::body::BodyDataStream) -> String {
        use futures_util::StreamExt;
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), b.next())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .unwrap();
        String::from_utf8(chunk.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn live_notifications_stream_current_and_later_ones() {
        use tower::ServiceExt;
        let h = Harness::new(&[]);
        h.state.notifications.add(crate::state::RELOAD_FAILED);
        let req = axum::http::Request::builder()
            .uri("/api/v1/notifications/live")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = crate::web::app(h.state.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        let mut body = resp.into_body().into_data_stream();
        let first = next_event(&mut body).await;
        assert!(
            first.starts_with("data: {") && first.ends_with("}\n\n"),
            "{first}"
        );
        assert!(first.contains("\"active\":true"), "{first}");
        h.state.notifications.remove(crate::state::RELOAD_FAILED);
        let second = next_event(&mut body).await;
        assert!(second.contains("\"active\":false"), "{second}");
    }

    #[tokio::test]
    async fn cors_echoes_a_matching_origin() {
        let h = Harness::new(&["--web.cors.origin=https?://ok\\.org"]);
        let app = crate::web::app(h.state.clone());
        use tower::ServiceExt;
        let req = |origin: &str, method: &str| {
            axum::http::Request::builder()
                .method(method)
                .uri("/api/v1/query?query=1")
                .header("origin", origin)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let r = app
            .clone()
            .oneshot(req("https://ok.org", "GET"))
            .await
            .unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "https://ok.org");
        assert_eq!(r.headers()["vary"], "Origin");
        let r = app
            .clone()
            .oneshot(req("https://ok.org.evil", "GET"))
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        let r = app.oneshot(req("http://ok.org", "OPTIONS")).await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(
            r.headers()["access-control-allow-methods"],
            "GET, POST, OPTIONS"
        );
    }
}
