//! A Kubernetes API server for tests: HTTPS on 127.0.0.1 with a CA and server certificate
//! generated at start, bearer-token authentication, objects held as JSON in memory, and the
//! requests the discovery makes: the discovery documents client-go reads (`/version`, `/api`,
//! `/apis`, `/api/v1`, `/apis/<group>/<version>`), LIST (cluster-wide and per namespace,
//! label selectors with equality and set operators, field selectors with equality,
//! `limit`/`continue`), WATCH (newline-delimited JSON events from a resourceVersion, bookmarks,
//! `ERROR` 410 for a compacted one, and streaming lists: `sendInitialEvents=true` with the
//! `k8s.io/initial-events-end` bookmark, which can be turned off) and the pod proxy.
//!
//! ```no_run
//! # async fn f() {
//! use tidemark_tests::kube_api::KubeApiServer;
//! let server = KubeApiServer::start("token-1").await;
//! server.apply(serde_json::json!({
//!     "apiVersion": "v1", "kind": "Pod",
//!     "metadata": {"name": "web-0", "namespace": "default"},
//!     "status": {"podIP": "127.0.0.1"}
//! }));
//! println!("{} {}", server.url(), server.ca_file().display());
//! # }
//! ```

mod client;
mod http;
mod store;
mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

pub use client::Reply;
pub use store::Kind;
use store::Store;

/// A running test API server; stops when dropped.
pub struct KubeApiServer {
    addr: SocketAddr,
    ca_pem: String,
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

/// State shared with the connection handlers.
pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) events: tokio::sync::broadcast::Sender<store::Broadcast>,
    pub(crate) token: Mutex<String>,
    pub(crate) requests: Mutex<Vec<String>>,
    /// Whether watches accept `sendInitialEvents=true` (streaming lists).
    pub(crate) streaming_lists: std::sync::atomic::AtomicBool,
}

impl KubeApiServer {
    /// Starts a server on a free loopback port accepting `Authorization: Bearer <token>`.
    pub async fn start(token: &str) -> KubeApiServer {
        let tls = tls::generate();
        let dir = tempfile::tempdir().expect("temp dir for the CA file");
        let ca_file = dir.path().join("ca.crt");
        std::fs::write(&ca_file, &tls.ca_pem).expect("write CA file");
        let (events, _) = tokio::sync::broadcast::channel(65_536);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            events,
            token: Mutex::new(token.to_owned()),
            requests: Mutex::new(Vec::new()),
            streaming_lists: std::sync::atomic::AtomicBool::new(true),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let accept = tokio::spawn(http::serve(listener, tls.acceptor, shared.clone()));
        KubeApiServer {
            addr,
            ca_pem: tls.ca_pem,
            _dir: dir,
            ca_file,
            shared,
            accept,
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A file holding [`ca_pem`](Self::ca_pem), removed with the server.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Replaces the accepted bearer token; requests with the old one get 401 from now on.
    pub fn set_token(&self, token: &str) {
        *self.shared.token.lock() = token.to_owned();
    }

    /// Creates or replaces an object (its `kind` picks the resource; `metadata.namespace`
    /// defaults to `default` for namespaced kinds). Assigns the next resourceVersion (and a
    /// uid if missing) and notifies watchers with ADDED or MODIFIED. Returns the stored object.
    pub fn apply(&self, obj: Value) -> Value {
        let mut store = self.shared.store.lock();
        let (stored, event) = store
            .apply(obj)
            .unwrap_or_else(|e| panic!("KubeApiServer::apply: {e}"));
        let _ = self.shared.events.send(event);
        stored
    }

    /// Applies many objects under one lock (one resourceVersion each).
    pub fn apply_all(&self, objs: impl IntoIterator<Item = Value>) {
        let mut store = self.shared.store.lock();
        for obj in objs {
            let (_, event) = store
                .apply(obj)
                .unwrap_or_else(|e| panic!("KubeApiServer::apply: {e}"));
            let _ = self.shared.events.send(event);
        }
    }

    /// Deletes an object; `namespace` is ignored for nodes. Returns whether it existed.
    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        let mut store = self.shared.store.lock();
        match store.delete(kind, namespace, name) {
            Some(event) => {
                let _ = self.shared.events.send(event);
                true
            }
            None => false,
        }
    }

    /// Forgets the event history: every open watch ends with an `ERROR` event of code 410,
    /// and a watch from any resourceVersion older than the current one gets 410 too, so
    /// clients must re-list.
    pub fn expire_history(&self) {
        let mut store = self.shared.store.lock();
        let event = store.expire();
        let _ = self.shared.events.send(event);
    }

    /// Whether watches serve streaming lists (`sendInitialEvents=true`, the initial objects
    /// as ADDED events ending with a bookmark annotated `k8s.io/initial-events-end`), as
    /// apiservers with the WatchList feature do (the default). Turned off, such a watch is
    /// refused with 422 as by an apiserver without the feature, and clients fall back to
    /// LIST then WATCH.
    pub fn set_streaming_lists(&self, on: bool) {
        self.shared
            .streaming_lists
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.lock().resource_version()
    }

    /// Every request so far, as `METHOD path?query -> status`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().clone()
    }
}

impl Drop for KubeApiServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
