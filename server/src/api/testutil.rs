//! In-process test harness: a state over a temp directory and one-shot requests through
//! [`crate::web::app`].

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tidemark_engine::{Db, DbOptions, Labels};
use tidemark_ingest::scrape::{ManagerOptions, ScrapeManager};
use tidemark_query::{EngineOptions, QueryEngine};
use tower::ServiceExt;

use crate::cli::Parsed;
use crate::settings::Settings;
use crate::state::{load_config, AppState};

/// A state over a fresh database; `flags` are extra command-line flags.
pub struct Harness {
    /// The shared state.
    pub state: Arc<AppState>,
    /// Keeps the data directory alive.
    pub _dir: tempfile::TempDir,
}

impl Harness {
    /// A server with the given extra flags (e.g. `--web.enable-admin-api`).
    pub fn new(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = format!("--storage.tsdb.path={}", dir.path().join("data").display());
        let mut args = vec![
            "tidemark",
            data.as_str(),
            "--web.listen-address=127.0.0.1:0",
        ];
        args.extend_from_slice(flags);
        let settings =
            Arc::new(Settings::from_cli(&Parsed::try_parse_from(args).unwrap()).unwrap());
        let db = Arc::new(Db::open(&settings.storage_path, DbOptions::default()).unwrap());
        let config = load_config(&settings).unwrap();
        let engine = Arc::new(QueryEngine::new(EngineOptions::default()));
        let scrape = Arc::new(ScrapeManager::new(db.clone(), ManagerOptions::default()));
        let state = Arc::new(AppState::new(db, engine, scrape, settings, config));
        Harness { state, _dir: dir }
    }

    /// Appends samples `(labels, t, v)` in one commit.
    pub fn add(&self, samples: &[(Labels, i64, f64)]) {
        let mut app = self.state.db.appender();
        for (l, t, v) in samples {
            app.append(l, *t, *v).unwrap();
        }
        app.commit().unwrap();
    }

    /// Sends one request; returns the status, the content type and the body.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, String, String) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = crate::web::app(self.state.clone())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, ct, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `GET uri`, expecting JSON; returns the status and the parsed body.
    pub async fn get_json(&self, uri: &str) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = self.call("GET", uri, None, Vec::new()).await;
        let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}"));
        (status, v)
    }

    /// `POST uri` with a form body, expecting JSON.
    pub async fn post_form(&self, uri: &str, form: &str) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = self
            .call(
                "POST",
                uri,
                Some("application/x-www-form-urlencoded"),
                form.as_bytes().to_vec(),
            )
            .await;
        let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}"));
        (status, v)
    }
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
