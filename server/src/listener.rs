//! Serving the router on the listening socket: plain HTTP, or TLS when the web config asks for
//! it; basic authentication and the configured response headers in front of every route;
//! graceful shutdown (stop accepting, let in-flight requests finish).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use parking_lot::Mutex;
use tokio::net::TcpListener;

use crate::web_config::WebConfig;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Remembered verifications (bcrypt is slow on purpose).
const AUTH_CACHE_SIZE: usize = 256;

/// Adds the web config's authentication and headers to `app`.
pub fn protect(app: Router, web: &WebConfig) -> Router {
    let mut app = app;
    if !web.users.is_empty() {
        let auth = Arc::new(BasicAuth {
            users: web.users.clone(),
            cache: Mutex::new(HashMap::new()),
        });
        app = app.layer(axum::middleware::from_fn_with_state(auth, basic_auth));
    }
    if !web.headers.is_empty() {
        let headers: Arc<Vec<(HeaderName, HeaderValue)>> = Arc::new(
            web.headers
                .iter()
                .filter_map(|(n, v)| {
                    Some((
                        HeaderName::try_from(n.as_str()).ok()?,
                        HeaderValue::try_from(v.as_str()).ok()?,
                    ))
                })
                .collect(),
        );
        app = app.layer(axum::middleware::from_fn_with_state(headers, add_headers));
    }
    app
}

/// Serves `app` on every listener (`--web.listen-address` can be repeated) until `shutdown`
/// completes, then drains in-flight requests on each.
pub async fn serve_all(
    listeners: Vec<TcpListener>,
    app: Router,
    web: &WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::with_capacity(listeners.len());
    for listener in listeners {
        let mut stopped = stopped.clone();
        let (app, web) = (app.clone(), web.clone());
        tasks.push(tokio::spawn(async move {
            let until = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            serve(listener, app, &web, until).await
        }));
    }
    shutdown.await;
    let _ = stop.send(true);
    let mut result = Ok(());
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(e) => result = Err(std::io::Error::other(e)),
        }
    }
    result
}

/// Serves `app` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    web: &WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = protect(app, web);
    let Some(tls) = web.tls.clone() else {
        return axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let http2 = web.http2;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            if !http2 {
                builder = builder.http1_only();
            }
            let conn =
                builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests still running after {DRAIN_TIMEOUT:?}; closing");
    }
    Ok(())
}

struct BasicAuth {
    users: std::collections::BTreeMap<String, String>,
    /// (user, password) → verified, for credentials already checked.
    cache: Mutex<HashMap<(String, String), bool>>,
}

/// A hash checked for unknown users, so that their answer takes as long as a known user's.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        bcrypt::hash("tidemark-unknown-user", bcrypt::DEFAULT_COST).unwrap_or_default()
    })
}

impl BasicAuth {
    async fn check(self: Arc<Self>, user: String, password: String) -> bool {
        let key = (user, password);
        if let Some(ok) = self.cache.lock().get(&key) {
            return *ok;
        }
        let this = self.clone();
        let (user, password) = key.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let (hash, known) = match this.users.get(&user) {
                Some(h) => (h.as_str(), true),
                None => (dummy_hash(), false),
            };
            bcrypt::verify(&password, hash).unwrap_or(false) && known
        })
        .await
        .unwrap_or(false);
        let mut cache = self.cache.lock();
        if cache.len() >= AUTH_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, ok);
        ok
    }
}

fn credentials(req: &Request) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

async fn basic_auth(State(auth): State<Arc<BasicAuth>>, req: Request, next: Next) -> Response {
    if let Some((user, password)) = credentials(&req) {
        if auth.check(user, password).await {
            return next.run(req).await;
        }
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic")],
        "Unauthorized\n",
    )
        .into_response()
}

async fn add_headers(
    State(headers): State<Arc<Vec<(HeaderName, HeaderValue)>>>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    for (n, v) in headers.iter() {
        resp.headers_mut().insert(n.clone(), v.clone());
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> Router {
        let hash = bcrypt::hash("test", 4).unwrap();
        let web = WebConfig::parse(
            &format!(
                "basic_auth_users:\n  alice: {hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
            ),
            std::path::Path::new("."),
        )
        .unwrap();
        protect(Router::new().route("/x", get(|| async { "ok" })), &web)
    }

    async fn status(auth: Option<&str>) -> (StatusCode, Option<String>) {
        let mut req = Request::builder().uri("/x");
        if let Some(a) = auth {
            let enc = base64::engine::general_purpose::STANDARD.encode(a);
            req = req.header(header::AUTHORIZATION, format!("Basic {enc}"));
        }
        let resp = app()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let frame = resp
            .headers()
            .get("x-frame-options")
            .map(|v| v.to_str().unwrap().to_owned());
        (resp.status(), frame)
    }

    #[tokio::test]
    async fn basic_auth_checks_bcrypt_hashes() {
        assert_eq!(status(None).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(Some("alice:wrong")).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status(Some("bob:test")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(Some("alice:test")).await,
            (StatusCode::OK, Some("deny".to_owned()))
        );
    }
}
