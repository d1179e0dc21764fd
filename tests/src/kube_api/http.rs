//! The HTTPS front: authentication, routing, LIST, WATCH and the pod proxy.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::store::{matches_fields, matches_labels, Broadcast, EventRec, Kind};
use super::Shared;

type Body = BoxBody<Bytes, Infallible>;

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .body(Full::new(body.into()).boxed())
        .expect("valid response")
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    full(
        status,
        "application/json",
        serde_json::to_vec(v).expect("JSON"),
    )
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json_response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code.as_u16()}),
    )
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let authorized = {
        let want = format!("Bearer {}", shared.token.lock());
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(want.as_str())
    };
    let resp = if !authorized {
        status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
    } else {
        route(&shared, &req, &path, &query).await
    };
    shared.requests.lock().push(format!(
        "{} {}?{} -> {}",
        req.method(),
        path,
        query,
        resp.status().as_u16()
    ));
    resp
}

async fn route(
    shared: &Arc<Shared>,
    req: &Request<Incoming>,
    path: &str,
    query: &str,
) -> Response<Body> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let Some(resp) = discovery(segs.as_slice()) {
        return resp;
    }
    let (api_version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("v1".to_owned(), rest),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("no route for {path}"),
            )
        }
    };
    if req.method() != hyper::Method::GET {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "only GET is served",
        );
    }
    let (namespace, resource, name, tail) = match rest {
        [resource] => (None, *resource, None, &[][..]),
        [resource, name] => (None, *resource, Some(*name), &[][..]),
        ["namespaces", ns, resource] => (Some(*ns), *resource, None, &[][..]),
        ["namespaces", ns, resource, name, tail @ ..] => (Some(*ns), *resource, Some(*name), tail),
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("no route for {path}"),
            )
        }
    };
    let Some(kind) = Kind::from_path(&api_version, resource) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("the server could not find the requested resource {resource}"),
        );
    };
    match (name, tail) {
        (Some(id), ["proxy", rest @ ..]) if kind == Kind::Pod => {
            proxy(
                shared,
                req,
                namespace.unwrap_or("default"),
                id,
                &rest.join("/"),
                query,
            )
            .await
        }
        (Some(name), []) => {
            let store = shared.store.lock();
            match store.get(kind, namespace.unwrap_or(""), name) {
                Some(o) => json_response(StatusCode::OK, o),
                None => status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("{} {name:?} not found", kind.resource()),
                ),
            }
        }
        (None, []) => {
            let label = query_param(query, "labelSelector").unwrap_or_default();
            let field = query_param(query, "fieldSelector").unwrap_or_default();
            let filter = Filter {
                kind,
                namespace: namespace.map(str::to_owned),
                label,
                field,
            };
            if query_param(query, "watch").as_deref() == Some("true")
                || query_param(query, "watch").as_deref() == Some("1")
            {
                watch(shared, filter, query)
            } else {
                list(shared, &filter, query)
            }
        }
        _ => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no route for {path}"),
        ),
    }
}

/// The kube-apiserver version the test server reports on `/version`.
pub(crate) const VERSION: (&str, &str) = ("1", "33");

/// The discovery documents client-go reads (`/version`, `/api`, `/apis`, and one resource
/// list per group version); `None` for every other path.
fn discovery(segs: &[&str]) -> Option<Response<Body>> {
    let resources = |api_version: &str| -> Vec<Value> {
        Kind::all()
            .into_iter()
            .filter(|k| k.api_version() == api_version)
            .map(|k| {
                json!({"name": k.resource(), "singularName": k.name().to_lowercase(),
                       "namespaced": k.namespaced(), "kind": k.name(),
                       "verbs": ["get", "list", "watch"]})
            })
            .collect()
    };
    let body = match segs {
        ["version"] => json!({
            "major": VERSION.0, "minor": VERSION.1,
            "gitVersion": format!("v{}.{}.0", VERSION.0, VERSION.1),
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2025-04-23T00:00:00Z", "goVersion": "go1.24.2", "compiler": "gc",
            "platform": "linux/amd64"}),
        ["api"] => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": "127.0.0.1:443"}]}),
        ["apis"] => {
            let groups: Vec<Value> = ["discovery.k8s.io", "networking.k8s.io"]
                .iter()
                .map(|g| {
                    let gv = json!({"groupVersion": format!("{g}/v1"), "version": "v1"});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        ["api", "v1"] => json!({"kind": "APIResourceList", "groupVersion": "v1",
                                "resources": resources("v1")}),
        ["apis", g, v] => {
            let gv = format!("{g}/{v}");
            let list = resources(&gv);
            if list.is_empty() {
                return Some(status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("the server could not find the requested resource {gv}"),
                ));
            }
            json!({"kind": "APIResourceList", "groupVersion": gv, "resources": list})
        }
        _ => return None,
    };
    Some(json_response(StatusCode::OK, &body))
}

struct Filter {
    kind: Kind,
    namespace: Option<String>,
    label: String,
    field: String,
}

impl Filter {
    fn matches(&self, kind: Kind, namespace: &str, obj: &Value) -> Result<bool, String> {
        if kind != self.kind || self.namespace.as_deref().is_some_and(|n| n != namespace) {
            return Ok(false);
        }
        Ok(matches_labels(obj, &self.label)? && matches_fields(obj, &self.field)?)
    }
}

fn list(shared: &Arc<Shared>, filter: &Filter, query: &str) -> Response<Body> {
    let store = shared.store.lock();
    let mut items = Vec::new();
    for o in store.list(filter.kind, filter.namespace.as_deref()) {
        match filter.matches(
            filter.kind,
            o["metadata"]["namespace"].as_str().unwrap_or(""),
            o,
        ) {
            Ok(true) => items.push(o),
            Ok(false) => {}
            Err(e) => return status(StatusCode::BAD_REQUEST, "BadRequest", &e),
        }
    }
    let start: usize = query_param(query, "continue")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit: usize = query_param(query, "limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(items.len());
    let page: Vec<&Value> = items
        .get(start.min(items.len())..end)
        .unwrap_or(&[])
        .to_vec();
    let mut metadata = json!({"resourceVersion": store.resource_version().to_string()});
    if end < items.len() {
        metadata["continue"] = json!(end.to_string());
        metadata["remainingItemCount"] = json!(items.len() - end);
    }
    let list = json!({
        "kind": format!("{}List", filter.kind.name()),
        "apiVersion": filter.kind.api_version(),
        "metadata": metadata,
        "items": page,
    });
    json_response(StatusCode::OK, &list)
}

fn event_line(etype: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": etype, "object": object})).expect("JSON");
    line.push(b'\n');
    Bytes::from(line)
}

fn gone_line(message: &str) -> Bytes {
    event_line(
        "ERROR",
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": "Expired", "code": 410}),
    )
}

/// A 422 `Invalid` status for a bad watch option, worded as the apiserver words it.
fn invalid_options(detail: &str) -> Response<Body> {
    status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid",
        &format!("ListOptions.meta.k8s.io \"\" is invalid: {detail}"),
    )
}

fn watch(shared: &Arc<Shared>, filter: Filter, query: &str) -> Response<Body> {
    let timeout = query_param(query, "timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .unwrap_or(1800u64);
    let bookmarks = query_param(query, "allowWatchBookmarks").as_deref() == Some("true");
    let send_initial = query_param(query, "sendInitialEvents").as_deref() == Some("true");
    let rv_param = query_param(query, "resourceVersion").unwrap_or_default();
    // A streaming list (`sendInitialEvents=true`): the current objects as ADDED events, then
    // a bookmark annotated `k8s.io/initial-events-end`, then the changes after it. Validated
    // as the apiserver validates it; a server without the feature refuses it with 422, which
    // makes client-go fall back to LIST + WATCH.
    if query_param(query, "sendInitialEvents").is_some() {
        if !shared
            .streaming_lists
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return invalid_options(
                "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
            );
        }
        if send_initial && !bookmarks {
            return invalid_options(
                "allowWatchBookmarks: Forbidden: allowWatchBookmarks must be set to true when sendInitialEvents is true",
            );
        }
        if query_param(query, "resourceVersionMatch").as_deref() != Some("NotOlderThan") {
            return invalid_options(
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            );
        }
    }
    let from: Option<u64> = if send_initial {
        None
    } else {
        Some(rv_param.as_str())
            .filter(|v| !v.is_empty() && *v != "0")
            .map(|v| v.parse().unwrap_or(0))
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    // Subscribe before reading the history so no event falls in between.
    let mut events = shared.events.subscribe();
    let (initial, mut last_rv, current_rv): (Vec<Bytes>, u64, u64) = {
        let store = shared.store.lock();
        let current = store.resource_version();
        match from {
            Some(rv) if rv < store.compacted() => (
                vec![gone_line(&format!(
                    "too old resource version: {rv} ({})",
                    store.compacted()
                ))],
                u64::MAX,
                current,
            ),
            Some(rv) => {
                let mut lines = Vec::new();
                for e in store.since(rv) {
                    match filter.matches(e.kind, &e.namespace, &e.object) {
                        Ok(true) => lines.push(event_line(e.etype, &e.object)),
                        Ok(false) => {}
                        Err(msg) => return status(StatusCode::BAD_REQUEST, "BadRequest", &msg),
                    }
                }
                (lines, current, current)
            }
            None => {
                let mut lines = Vec::new();
                for o in store.list(filter.kind, filter.namespace.as_deref()) {
                    if filter.matches(
                        filter.kind,
                        o["metadata"]["namespace"].as_str().unwrap_or(""),
                        o,
                    ) == Ok(true)
                    {
                        lines.push(event_line("ADDED", o));
                    }
                }
                (lines, current, current)
            }
        }
    };
    let kind = filter.kind;
    tokio::spawn(async move {
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        if last_rv == u64::MAX {
            return; // 410 sent; the stream ends.
        }
        if bookmarks {
            let mut bm = json!({"kind": kind.name(), "apiVersion": kind.api_version(),
                            "metadata": {"resourceVersion": current_rv.to_string()}});
            if send_initial {
                bm["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            if tx.send(event_line("BOOKMARK", &bm)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        loop {
            let next = tokio::time::timeout_at(deadline, events.recv()).await;
            let (line, end) = match next {
                Err(_) => return, // timeoutSeconds elapsed: end the watch normally
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                    (Some(gone_line("watch fell behind")), true)
                }
                Ok(Ok(Broadcast::Expired)) => (
                    Some(gone_line("the resource version history was compacted")),
                    true,
                ),
                Ok(Ok(Broadcast::Event(e))) => (event_for(&filter, &e, &mut last_rv), false),
            };
            if let Some(line) = line {
                if tx.send(line).await.is_err() || end {
                    return;
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .header("Transfer-Encoding", "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .expect("valid response")
}

fn event_for(filter: &Filter, e: &EventRec, last_rv: &mut u64) -> Option<Bytes> {
    if e.rv <= *last_rv {
        return None; // already sent from the history
    }
    *last_rv = e.rv;
    match filter.matches(e.kind, &e.namespace, &e.object) {
        Ok(true) => Some(event_line(e.etype, &e.object)),
        _ => None,
    }
}

/// `GET /api/v1/namespaces/{ns}/pods/{[scheme:]name[:port]}/proxy/{path}`: forwards to the
/// pod's IP and port without the client's `Authorization` header, as the apiserver does.
/// Unlike the apiserver, loopback pod IPs are allowed (tests run their "pods" on 127.0.0.x)
/// and only plain-http pods are proxied.
async fn proxy(
    shared: &Arc<Shared>,
    req: &Request<Incoming>,
    ns: &str,
    id: &str,
    path: &str,
    query: &str,
) -> Response<Body> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("invalid request {id:?}"),
            )
        }
    };
    if !matches!(scheme, "" | "http") {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("unsupported scheme {scheme:?} (the test server proxies http only)"),
        );
    }
    let (ip, port) = {
        let store = shared.store.lock();
        let Some(pod) = store.get(Kind::Pod, ns, name) else {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("pods {name:?} not found"),
            );
        };
        let ip = pod["status"]["podIP"].as_str().unwrap_or("").to_owned();
        let port = if port.is_empty() {
            pod["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|c| c["ports"][0]["containerPort"].as_u64())
                .map(|p| p.to_string())
                // No declared port: the apiserver dials the bare pod IP (http's port 80).
                .unwrap_or_else(|| "80".to_owned())
        } else {
            port.to_owned()
        };
        (ip, port)
    };
    if ip.is_empty() {
        return status(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            &format!("pod {name:?} has no IP"),
        );
    }
    if port.parse::<u16>().is_err() {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("invalid port {port:?}"),
        );
    }
    let addr = if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    };
    let target = if query.is_empty() {
        format!("/{path}")
    } else {
        format!("/{path}?{query}")
    };
    let result = async {
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut fwd = Request::get(&target).header("Host", &addr);
        for h in [
            "accept",
            "accept-encoding",
            "user-agent",
            "x-prometheus-scrape-timeout-seconds",
        ] {
            if let Some(v) = req.headers().get(h) {
                fwd = fwd.header(h, v);
            }
        }
        let resp = sender
            .send_request(fwd.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>((parts, bytes))
    };
    match tokio::time::timeout(Duration::from_secs(30), result).await {
        Ok(Ok((parts, bytes))) => {
            let mut b = Response::builder().status(parts.status);
            if let Some(ct) = parts.headers.get("content-type") {
                b = b.header("Content-Type", ct);
            }
            if let Some(ce) = parts.headers.get("content-encoding") {
                b = b.header("Content-Encoding", ce);
            }
            b.body(Full::new(bytes).boxed()).expect("valid response")
        }
        Ok(Err(e)) => status(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            &format!("error trying to reach service: {e}"),
        ),
        Err(_) => status(StatusCode::GATEWAY_TIMEOUT, "Timeout", "proxy timed out"),
    }
}
