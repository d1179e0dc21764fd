//! `/api/v1/query` and `/api/v1/query_range`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::Response;

use super::params::{parse_duration, parse_time};
use super::{json, read_params, split_annotations, success_annotated, ApiError};
use crate::state::AppState;
use crate::telemetry;

/// Sets the flag when dropped: a query whose client went away (its handler future dropped)
/// is cancelled.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A query's error as the API reports it: `bad_data` errors come from parsing and checking
/// the expression, which Prometheus reports as a bad `query` parameter.
fn query_error(e: tidemark_query::QueryError) -> ApiError {
    let mut e = ApiError::from(e);
    if e.kind == "bad_data" {
        e.message = format!("invalid parameter \"query\": {}", e.message);
    }
    e
}

/// `GET|POST /api/v1/query`.
pub async fn instant(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let expr = p
        .get("query")
        .ok_or_else(|| ApiError::bad_data("invalid parameter \"query\": query is empty"))?
        .to_owned();
    let t = match p.get("time") {
        Some(s) => parse_time("time", s)?,
        None => now_ms(),
    };
    let stats = p.get("stats").is_some();
    let _running = telemetry::global().query_running();
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    let engine = st.engine.clone();
    let db = st.db.clone();
    let result =
        tokio::task::spawn_blocking(move || engine.instant_cancellable(&*db, &expr, t, &cancel))
            .await
            .map_err(|e| ApiError::internal(format!("query panicked: {e}")))?
            .map_err(query_error)?;
    telemetry::global().observe_query(&result.stats);
    let mut data = String::new();
    json::write_query_data(&mut data, &result.value, stats.then_some(&result.stats));
    let (warnings, infos) = split_annotations(&result.warnings);
    Ok(success_annotated(&data, &warnings, &infos))
}

/// `GET|POST /api/v1/query_range`.
pub async fn range(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let expr = p
        .get("query")
        .ok_or_else(|| ApiError::bad_data("invalid parameter \"query\": query is empty"))?
        .to_owned();
    let start = parse_time(
        "start",
        p.get("start").ok_or_else(|| {
            ApiError::bad_data(
                "invalid parameter \"start\": cannot parse \"\" to a valid timestamp",
            )
        })?,
    )?;
    let end = parse_time(
        "end",
        p.get("end").ok_or_else(|| {
            ApiError::bad_data("invalid parameter \"end\": cannot parse \"\" to a valid timestamp")
        })?,
    )?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step = parse_duration(
        "step",
        p.get("step").ok_or_else(|| {
            ApiError::bad_data("invalid parameter \"step\": cannot parse \"\" to a valid duration")
        })?,
    )?;
    if step <= 0 {
        return Err(ApiError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step > 11_000 {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let stats = p.get("stats").is_some();
    let _running = telemetry::global().query_running();
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    let engine = st.engine.clone();
    let db = st.db.clone();
    let result = tokio::task::spawn_blocking(move || {
        engine.range_cancellable(&*db, &expr, (start, end, step), &cancel)
    })
    .await
    .map_err(|e| ApiError::internal(format!("query panicked: {e}")))?
    .map_err(query_error)?;
    telemetry::global().observe_query(&result.stats);
    let mut data = String::new();
    json::write_query_data(&mut data, &result.value, stats.then_some(&result.stats));
    let (warnings, infos) = split_annotations(&result.warnings);
    Ok(success_annotated(&data, &warnings, &infos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_query::QueryError;

    #[test]
    fn only_bad_data_names_the_query_parameter() {
        let e = query_error(QueryError::bad_data(
            "1:6: parse error: unexpected end of input",
        ));
        assert_eq!(e.kind, "bad_data");
        assert_eq!(
            e.message,
            "invalid parameter \"query\": 1:6: parse error: unexpected end of input"
        );
        let e = query_error(QueryError::execution(
            "vector cannot contain metrics with the same labelset",
        ));
        assert_eq!(e.kind, "execution");
        assert_eq!(
            e.message,
            "vector cannot contain metrics with the same labelset"
        );
    }
}
