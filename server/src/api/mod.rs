//! The Prometheus HTTP API (`/api/v1/...`): one [`ApiError`] that renders Prometheus's error
//! JSON, thin handlers that call into the library crates.

mod admin;
pub mod json;
mod metadata;
pub mod params;
mod query;
pub mod selectors;
mod series;
mod status;
mod targets;
#[cfg(test)]
pub(crate) mod testutil;
mod write;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tidemark_query::{ErrorKind, QueryError};

use crate::state::AppState;
pub use params::Params;
pub(crate) use status::base2_bytes;
pub(crate) use targets::rfc3339;

/// An API error: Prometheus's `errorType` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `bad_data`, `execution`, `timeout`, `canceled`, `internal`, `unavailable`, `not_found`.
    pub kind: &'static str,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// A `bad_data` error (400).
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self {
            kind: "bad_data",
            message: message.into(),
        }
    }

    /// An `unavailable` error (503).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            kind: "unavailable",
            message: message.into(),
        }
    }

    /// An `internal` error (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: "internal",
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self.kind {
            "bad_data" => StatusCode::BAD_REQUEST,
            "execution" => StatusCode::UNPROCESSABLE_ENTITY,
            "timeout" | "unavailable" | "canceled" => StatusCode::SERVICE_UNAVAILABLE,
            "not_found" => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let kind = match e.kind {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
            ErrorKind::Internal => "internal",
        };
        Self {
            kind,
            message: e.message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = String::from("{\"status\":\"error\",\"errorType\":");
        json::write_str(&mut body, self.kind);
        body.push_str(",\"error\":");
        json::write_str(&mut body, &self.message);
        body.push('}');
        (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// A success envelope around pre-encoded `data` JSON, with `warnings` when there are any.
pub fn success(data: &str, warnings: &[String]) -> Response {
    success_annotated(data, warnings, &[])
}

/// Splits a query's annotations as Prometheus 3.5's API does: `PromQL info: ...` ones go to
/// `infos`, every other one to `warnings`.
pub fn split_annotations(annotations: &[String]) -> (Vec<String>, Vec<String>) {
    annotations
        .iter()
        .cloned()
        .partition(|a| !a.starts_with("PromQL info:"))
}

fn push_list(body: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    body.push_str(",\"");
    body.push_str(key);
    body.push_str("\":[");
    for (i, w) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        json::write_str(body, w);
    }
    body.push(']');
}

/// A success envelope with Prometheus 3.5's `warnings` and `infos` (each only when not
/// empty).
pub fn success_annotated(data: &str, warnings: &[String], infos: &[String]) -> Response {
    let mut body = String::with_capacity(data.len() + 40);
    body.push_str("{\"status\":\"success\",\"data\":");
    body.push_str(data);
    push_list(&mut body, "warnings", warnings);
    push_list(&mut body, "infos", infos);
    body.push('}');
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Largest form body accepted (Prometheus has no explicit limit; queries are small).
const MAX_FORM_BODY: usize = 8 << 20;

/// Reads the parameters of a GET or form POST.
pub async fn read_params(req: Request) -> Result<Params, ApiError> {
    let (parts, body) = req.into_parts();
    let query = parts.uri.query().map(str::to_owned);
    let is_form = parts.method == Method::POST && is_form(&parts.headers);
    let body: Option<Bytes> = if is_form {
        Some(
            axum::body::to_bytes(body, MAX_FORM_BODY)
                .await
                .map_err(|e| ApiError::bad_data(format!("error parsing form body: {e}")))?,
        )
    } else {
        None
    };
    Ok(Params::parse(query.as_deref(), body.as_deref()))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// CORS for the API, as Prometheus's `--web.cors.origin`: an `Origin` matching the (fully
/// anchored) regex is echoed in `Access-Control-Allow-Origin` with Prometheus's allowed
/// headers and methods; `OPTIONS` answers 204 at once; every answer says `Vary: Origin`.
pub async fn cors(
    axum::extract::State(st): axum::extract::State<Arc<AppState>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| st.settings.cors_origin.is_match(o))
        .map(str::to_owned);
    let mut resp = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    if let Some(origin) = origin.and_then(|o| header::HeaderValue::from_str(&o).ok()) {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static("Date"),
        );
    }
    h.insert(header::VARY, header::HeaderValue::from_static("Origin"));
    resp
}

/// The `/api/v1` routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/query", get(query::instant).post(query::instant))
        .route("/query_range", get(query::range).post(query::range))
        .route("/targets", get(targets::targets))
        .route("/series", get(series::series).post(series::series))
        .route("/labels", get(series::labels).post(series::labels))
        .route("/label/{name}/values", get(series::label_values))
        .route("/status/buildinfo", get(status::buildinfo))
        .route("/status/config", get(status::config))
        .route("/status/flags", get(status::flags))
        .route("/write", post(write::write))
        .route(
            "/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        )
        .route(
            "/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        )
        .route("/metadata", get(metadata::metadata))
        .route("/targets/metadata", get(metadata::targets_metadata))
        .route("/status/runtimeinfo", get(status::runtimeinfo))
        .route("/status/tsdb", get(status::tsdb))
        .route("/status/walreplay", get(status::walreplay))
        .route("/scrape_pools", get(status::scrape_pools))
        .route("/notifications", get(status::notifications))
        .route("/notifications/live", get(status::notifications_live))
        .route(
            "/format_query",
            get(status::format_query).post(status::format_query),
        )
        .route(
            "/parse_query",
            get(status::parse_query).post(status::parse_query),
        )
        .route("/rules", get(status::rules))
        .route("/alerts", get(status::alerts))
        .route(
            "/query_exemplars",
            get(status::query_exemplars).post(status::query_exemplars),
        )
}
