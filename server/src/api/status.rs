//! Label lookups and status endpoints.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::Response;

use super::params::parse_time;
use super::{json, read_params, success, ApiError};
use crate::state::AppState;

fn time_range(p: &super::Params) -> Result<(i64, i64), ApiError> {
    let start = match p.get("start") {
        Some(s) => parse_time("start", s)?,
        None => i64::MIN,
    };
    let end = match p.get("end") {
        Some(s) => parse_time("end", s)?,
        None => i64::MAX,
    };
    Ok((start, end))
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

/// `GET|POST /api/v1/labels`.
pub async fn labels(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let (start, end) = time_range(&p)?;
    let names = st
        .db
        .querier(start, end)
        .label_names(&[])
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(success(&string_list(&names), &[]))
}

/// `GET /api/v1/label/<name>/values`.
pub async fn label_values(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let (start, end) = time_range(&p)?;
    let values = st
        .db
        .querier(start, end)
        .label_values(&name, &[])
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(success(&string_list(&values), &[]))
}

/// `GET /api/v1/status/buildinfo`: a semver `version`, and no `features` field (Grafana
/// would take the server for Mimir).
pub async fn buildinfo() -> Response {
    let data = serde_json::json!({
        "version": "2.42.0",
        "revision": concat!("tidemark-", env!("CARGO_PKG_VERSION")),
        "branch": "main",
        "buildUser": "tidemark",
        "buildDate": "",
        "goVersion": "none (Rust)",
    });
    success(&data.to_string(), &[])
}

/// `GET /api/v1/status/config`.
pub async fn config(State(st): State<Arc<AppState>>) -> Response {
    let text = st.config.read().1.clone();
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
