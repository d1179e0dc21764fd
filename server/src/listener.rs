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
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// `--web.max-connections`: at most this many connections are open at once across all
/// listeners; while the limit is reached, further connections wait to be accepted (as
/// Prometheus's `netutil.LimitListener`). `None` is no limit (the flag's `0`).
pub type ConnectionLimit = Option<Arc<Semaphore>>;

/// The limit for `--web.max-connections=n` (`0`: none).
pub fn connection_limit(n: usize) -> ConnectionLimit {
    (n > 0).then(|| Arc::new(Semaphore::new(n)))
}

/// A connection holding its place under the connection limit until it is dropped.
pub struct LimitedStream {
    stream: TcpStream,
    _permit: Option<OwnedSemaphorePermit>,
}

impl tokio::io::AsyncRead for LimitedStream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for LimitedStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Accepts connections under a [`ConnectionLimit`].
struct LimitedListener {
    inner: TcpListener,
    limit: ConnectionLimit,
}

/// Waits for a place under the limit (none needed without one).
async fn acquire(limit: &ConnectionLimit) -> Option<OwnedSemaphorePermit> {
    match limit {
        // The semaphore is never closed.
        Some(sem) => sem.clone().acquire_owned().await.ok(),
        None => None,
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = acquire(&self.limit).await;
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    return (
                        LimitedStream {
                            stream,
                            _permit: permit,
                        },
                        addr,
                    )
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Serves `app` on every listener (`--web.listen-address` can be repeated) until `shutdown`
/// completes, then drains in-flight requests on each. `limit` is shared by all listeners.
pub async fn serve_all(
    listeners: Vec<TcpListener>,
    app: Router,
    web: &WebConfig,
    limit: ConnectionLimit,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::with_capacity(listeners.len());
    for listener in listeners {
        let mut stopped = stopped.clone();
        let (app, web, limit) = (app.clone(), web.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let until = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            serve(listener, app, &web, limit, until).await
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
    limit: ConnectionLimit,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = protect(app, web);
    let Some(tls) = web.tls.clone() else {
        let listener = LimitedListener {
            inner: listener,
            limit,
        };
        return axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let http2 = web.http2;
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = acquire(&limit) => p,
            _ = &mut shutdown => break,
        };
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
            // The connection's place under the limit, given back when it ends.
            let _permit = permit;
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

    /// One request on a kept-alive connection; returns the connection and whether an answer
    /// came within `wait`.
    async fn request(port: u16, wait: Duration) -> (tokio::net::TcpStream, bool) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let answered = matches!(
            tokio::time::timeout(wait, c.read(&mut buf)).await,
            Ok(Ok(n)) if n > 0 && buf.starts_with(b"HTTP/1.1 200")
        );
        (c, answered)
    }

    #[tokio::test]
    async fn connections_over_the_limit_wait_for_a_place() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().route("/", get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let web = WebConfig::default();
            let until = async move {
                let _ = stopped.await;
            };
            serve_all(vec![listener], app, &web, connection_limit(1), until).await
        });
        let (first, ok) = request(port, Duration::from_secs(5)).await;
        assert!(ok, "the first connection is served");
        let second = tokio::spawn(request(port, Duration::from_secs(10)));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !second.is_finished(),
            "the second waits while the first is open"
        );
        drop(first);
        let (_second, ok) = second.await.unwrap();
        assert!(ok, "served once the first closed");
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
