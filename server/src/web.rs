//! The router: `/api/v1`, the lifecycle endpoints (`/-/...`) and `/metrics`.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::api;
use crate::state::AppState;

/// The whole HTTP application; tests call it in-process.
pub fn app(state: Arc<AppState>) -> Router {
    let prefix = state.settings.route_prefix.clone();
    let routes = Router::new()
        .nest("/api/v1", api::router())
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/-/reload", post(reload).put(reload))
        .route("/-/quit", post(quit).put(quit))
        .route("/metrics", get(metrics))
        .route("/federate", get(crate::federate::federate))
        .with_state(state);
    if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(&prefix, routes)
    }
}

async fn healthy() -> &'static str {
    "Tidemark Server is Healthy.\n"
}

async fn ready(State(st): State<Arc<AppState>>) -> Response {
    if st.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "Tidemark Server is Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
    }
}

async fn reload(State(st): State<Arc<AppState>>) -> Response {
    if !st.settings.enable_lifecycle {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.").into_response();
    }
    let state = st.clone();
    match tokio::task::spawn_blocking(move || state.reload()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn quit(State(st): State<Arc<AppState>>) -> Response {
    if !st.settings.enable_lifecycle {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.").into_response();
    }
    st.shutdown.notify_one();
    (StatusCode::OK, "Requesting termination... Goodbye!").into_response()
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let mut out = String::new();
    st.scrape.metrics().expose(&mut out);
    let _ = writeln!(
        out,
        "# HELP prometheus_config_last_reload_successful Whether the last configuration reload attempt was successful.\n# TYPE prometheus_config_last_reload_successful gauge\nprometheus_config_last_reload_successful {}",
        u8::from(st.last_reload_ok.load(Ordering::Relaxed))
    );
    let _ = writeln!(
        out,
        "# HELP prometheus_config_last_reload_success_timestamp_seconds Timestamp of the last successful configuration reload.\n# TYPE prometheus_config_last_reload_success_timestamp_seconds gauge\nprometheus_config_last_reload_success_timestamp_seconds {}",
        st.last_reload_success_time.load(Ordering::Relaxed)
    );
    let stats = st.db.stats();
    let _ = writeln!(
        out,
        "# HELP prometheus_tsdb_head_series Total number of series in the head block.\n# TYPE prometheus_tsdb_head_series gauge\nprometheus_tsdb_head_series {}",
        stats.head_series
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
