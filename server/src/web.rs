//! The router: `/api/v1`, the web UI, the lifecycle endpoints (`/-/...`) and `/metrics`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::api;
use crate::state::AppState;
use crate::telemetry;
use crate::ui;

/// The whole HTTP application; tests call it in-process.
pub fn app(state: Arc<AppState>) -> Router {
    let prefix = state.settings.route_prefix.clone();
    let routes = Router::new()
        .nest(
            "/api/v1",
            api::router().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                api::cors,
            )),
        )
        .merge(ui::router())
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/-/reload", post(reload).put(reload))
        .route("/-/quit", post(quit).put(quit))
        .route("/metrics", get(metrics))
        .route("/federate", get(crate::federate::federate))
        .layer(axum::middleware::from_fn(telemetry::track))
        .with_state(state);
    if prefix.is_empty() {
        routes
    } else {
        Router::new()
            .nest(&prefix, routes)
            .merge(ui::prefix_root(&prefix))
    }
}

/// The application served while the storage opens: healthy, not ready.
pub fn starting_app(prefix: &str) -> Router {
    let routes = Router::new()
        .route("/-/healthy", get(healthy).head(healthy))
        .fallback(|| async { (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable") });
    if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(prefix, routes)
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
    let out = tokio::task::spawn_blocking(move || telemetry::render(&st))
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
