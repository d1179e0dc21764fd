//! The TSDB admin API (`/api/v1/admin/tsdb/...`), served only with `--web.enable-admin-api`.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::selectors::{match_sets, time_range};
use super::{read_params, success, ApiError};
use crate::state::AppState;

fn check_enabled(st: &AppState) -> Result<(), ApiError> {
    if st.settings.enable_admin_api {
        Ok(())
    } else {
        Err(ApiError::unavailable("admin APIs disabled"))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("admin task failed: {e}")))?
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series`: `match[]` (required), `start`, `end`.
///
/// As in Prometheus 3.5, a missing `start` or `end` means the earliest or latest possible
/// time, and the deletion covers the samples that exist when it is made (the engine clamps
/// it to the stored data): samples appended later stay visible, also after
/// `clean_tombstones` and a restart.
pub async fn delete_series(
    State(st): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    check_enabled(&st)?;
    let p = read_params(req).await?;
    let sets = match_sets(&p)?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (start, end) = time_range(&p)?;
    blocking(move || {
        for set in &sets {
            st.db
                .delete(set, start, end)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`.
pub async fn clean_tombstones(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    check_enabled(&st)?;
    blocking(move || {
        st.db
            .clean_tombstones()
            .map(|_| ())
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `<YYYYMMDDTHHMMSSZ>-<16 hex digits>`, as Prometheus names snapshots.
fn snapshot_name(now: SystemTime) -> String {
    let stamp = super::targets::rfc3339(now); // 2024-01-02T03:04:05.123456789Z
    let compact: String = stamp[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        & 0x7fff_ffff_ffff_ffff;
    format!("{compact}Z-{random:016x}")
}

/// `POST|PUT /api/v1/admin/tsdb/snapshot?skip_head=`: a copy under
/// `<storage.tsdb.path>/snapshots/<name>`.
pub async fn snapshot(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    check_enabled(&st)?;
    let p = read_params(req).await?;
    let skip_head = match p.get("skip_head").filter(|s| !s.is_empty()) {
        None => false,
        Some(s) => parse_bool(s).ok_or_else(|| {
            ApiError::bad_data(format!(
                "unable to parse boolean 'skip_head' argument: strconv.ParseBool: parsing {s:?}: invalid syntax"
            ))
        })?,
    };
    let name = snapshot_name(SystemTime::now());
    let dir = st.db.dir().join("snapshots").join(&name);
    blocking(move || {
        st.db
            .snapshot(&dir, skip_head)
            .map_err(|e| ApiError::internal(format!("create snapshot: {e}")))
    })
    .await?;
    let data = serde_json::json!({ "name": name });
    Ok(success(&data.to_string(), &[]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tidemark_engine::labels;

    use crate::api::testutil::{enc, Harness};

    #[tokio::test]
    async fn disabled_by_default() {
        let h = Harness::new(&[]);
        for path in ["delete_series?match[]=up", "clean_tombstones", "snapshot"] {
            let (s, v) = h.post_form(&format!("/api/v1/admin/tsdb/{path}"), "").await;
            assert_eq!(s, 503, "{path}");
            assert_eq!(
                v,
                json!({"status": "error", "errorType": "unavailable", "error": "admin APIs disabled"})
            );
        }
    }

    #[tokio::test]
    async fn delete_clean_and_snapshot() {
        let h = Harness::new(&["--web.enable-admin-api"]);
        h.add(&[
            (labels!("__name__" => "up", "job" => "a"), 1_000, 1.0),
            (labels!("__name__" => "up", "job" => "b"), 1_000, 2.0),
        ]);
        let (s, v) = h.post_form("/api/v1/admin/tsdb/delete_series", "").await;
        assert_eq!(
            (s.as_u16(), &v["error"]),
            (400, &json!("no match[] parameter provided"))
        );
        let (s, _, body) = h
            .call(
                "POST",
                &format!(
                    "/api/v1/admin/tsdb/delete_series?match[]={}",
                    enc("up{job=\"a\"}")
                ),
                None,
                Vec::new(),
            )
            .await;
        assert_eq!((s.as_u16(), body.as_str()), (204, ""));
        let (_, v) = h.get_json("/api/v1/query?query=up&time=2").await;
        assert_eq!(v["data"]["result"].as_array().unwrap().len(), 1, "{v}");
        let (s, _, _) = h
            .call(
                "POST",
                "/api/v1/admin/tsdb/clean_tombstones",
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(s, 204);

        let (s, v) = h
            .post_form("/api/v1/admin/tsdb/snapshot", "skip_head=false")
            .await;
        assert_eq!(s, 200);
        let name = v["data"]["name"].as_str().unwrap().to_owned();
        assert_eq!(
            name.len(),
            "20261205T100611Z-0c7708d06f33316d".len(),
            "{name}"
        );
        assert_eq!(&name[8..9], "T");
        assert_eq!(&name[15..17], "Z-");
        let snap = h.state.db.dir().join("snapshots").join(&name);
        let blocks: Vec<_> = std::fs::read_dir(&snap).unwrap().collect();
        assert_eq!(blocks.len(), 1, "the head written as one block");
        let (s, v) = h
            .post_form("/api/v1/admin/tsdb/snapshot", "skip_head=maybe")
            .await;
        assert_eq!(s, 400, "{v}");
        let (s, v) = h
            .post_form("/api/v1/admin/tsdb/snapshot", "skip_head=true")
            .await;
        assert_eq!(s, 200);
        let snap = h
            .state
            .db
            .dir()
            .join("snapshots")
            .join(v["data"]["name"].as_str().unwrap());
        assert_eq!(std::fs::read_dir(&snap).unwrap().count(), 0);
    }
}
