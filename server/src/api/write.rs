//! `POST /api/v1/write`: the remote-write 1.0 receiver. Decoding and appending live in
//! [`crate::remote_write`]; this is the HTTP side.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::remote_write;
use crate::state::AppState;

/// Largest compressed body accepted.
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// Prometheus's answer when the receiver is off (plain text, 404).
pub const DISABLED_MESSAGE: &str =
    "remote write receiver needs to be enabled with --web.enable-remote-write-receiver";

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut msg = msg.into();
    msg.push('\n');
    (status, [("content-type", "text/plain; charset=utf-8")], msg).into_response()
}

/// Decodes the body, appends it, and answers 204 once committed; 400 for undecodable bodies
/// and for refused samples (the accepted ones are committed), 500 if the commit fails.
pub async fn write(State(st): State<Arc<AppState>>, req: Request) -> Response {
    if !st.settings.remote_write_receiver {
        return text(StatusCode::NOT_FOUND, DISABLED_MESSAGE);
    }
    let counters = &st.remote_write;
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            counters.requests_malformed.fetch_add(1, Ordering::Relaxed);
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("reading request body (limit {MAX_BODY_BYTES} bytes): {e}"),
            );
        }
    };
    let decoded = match remote_write::decode(&body) {
        Ok(r) => r,
        Err(e) => {
            counters.requests_malformed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "remote write: undecodable request");
            return text(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    let state = st.clone();
    let res = tokio::task::spawn_blocking(move || {
        remote_write::append(&state.db, &decoded, &state.remote_write)
    })
    .await;
    match res {
        Ok(Ok(outcome)) if outcome.rejected == 0 => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(outcome)) => {
            let mut msg = outcome.errors.join("\n");
            let described = outcome.errors.len() as u64;
            if outcome.rejected > described {
                msg.push_str(&format!(
                    "\n... and {} more refused samples",
                    outcome.rejected - described
                ));
            }
            tracing::warn!(
                rejected = outcome.rejected,
                appended = outcome.appended,
                first = outcome.errors.first().map(String::as_str).unwrap_or(""),
                "remote write: samples refused"
            );
            text(StatusCode::BAD_REQUEST, msg)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "remote write: commit failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("remote write task failed: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::api::testutil::{enc, Harness};
    use crate::remote_write::test_support::{self, series as ts};
    use crate::remote_write::{TimeSeries, WriteRequest};

    fn body(timeseries: Vec<TimeSeries>) -> Vec<u8> {
        test_support::body(&WriteRequest { timeseries })
    }

    async fn post(h: &Harness, b: Vec<u8>) -> (u16, String) {
        let (s, _, text) = h
            .call("POST", "/api/v1/write", Some("application/x-protobuf"), b)
            .await;
        (s.as_u16(), text)
    }

    async fn count(h: &Harness, q: &str) -> serde_json::Value {
        let (_, v) = h
            .get_json(&format!("/api/v1/query?query={}&time=100", enc(q)))
            .await;
        v["data"]["result"].clone()
    }

    #[tokio::test]
    async fn samples_are_committed_and_queryable() {
        let h = Harness::new(&["--web.enable-remote-write-receiver"]);
        let b = body(vec![
            ts(
                &[("__name__", "rw"), ("job", "a")],
                &[(1_000, 1.0), (2_000, 2.5)],
            ),
            ts(&[("job", "b"), ("__name__", "rw")], &[(2_000, 7.0)]),
        ]);
        assert_eq!(post(&h, b).await, (204, String::new()));
        let r = count(&h, "rw").await;
        assert_eq!(r.as_array().unwrap().len(), 2, "{r}");
        assert_eq!(r[0]["value"][1], "2.5");
        assert_eq!(r[1]["metric"]["job"], "b");
        assert_eq!(
            h.state
                .remote_write
                .samples_appended
                .load(std::sync::atomic::Ordering::Relaxed),
            3
        );
    }

    #[tokio::test]
    async fn malformed_bodies_are_bad_requests() {
        let h = Harness::new(&["--web.enable-remote-write-receiver"]);
        let (s, text) = post(&h, b"not snappy at all".to_vec()).await;
        assert_eq!(s, 400);
        assert!(text.contains("snappy"), "{text}");
        let bad_proto = snap::raw::Encoder::new().compress_vec(b"\x0a\x09").unwrap();
        let (s, text) = post(&h, bad_proto).await;
        assert_eq!(s, 400);
        assert!(text.contains("protobuf"), "{text}");
    }

    #[tokio::test]
    async fn refused_samples_are_named_and_the_rest_committed() {
        let h = Harness::new(&["--web.enable-remote-write-receiver"]);
        assert_eq!(
            post(&h, body(vec![ts(&[("__name__", "rw")], &[(5_000, 1.0)])]))
                .await
                .0,
            204
        );
        let b = body(vec![
            ts(&[("__name__", "rw")], &[(4_000, 1.0)]),
            ts(
                &[("__name__", "rw"), ("job", "new")],
                &[(6_000, 3.0), (5_500, 1.0)],
            ),
            ts(&[("__name__", "rw")], &[(5_000, 9.0)]),
        ]);
        let (s, text) = post(&h, b).await;
        assert_eq!(s, 400);
        assert!(
            text.contains("out of order sample for series {__name__=\"rw\"} at timestamp 4000"),
            "{text}"
        );
        assert!(text.contains("job=\"new\"} at timestamp 5500"), "{text}");
        assert!(text.contains("duplicate sample for timestamp"), "{text}");
        let r = count(&h, "rw{job=\"new\"}").await;
        assert_eq!(r[0]["value"][1], "3", "{r}");
    }

    #[tokio::test]
    async fn disabled_receiver_answers_like_prometheus() {
        let h = Harness::new(&["--no-web.enable-remote-write-receiver"]);
        let (s, text) = post(&h, body(vec![])).await;
        assert_eq!(s, 404);
        assert_eq!(text.trim(), super::DISABLED_MESSAGE);
    }
}
