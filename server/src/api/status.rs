//! Status endpoints.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::success;
use crate::state::AppState;

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
