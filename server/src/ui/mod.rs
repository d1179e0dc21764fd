//! The web UI: hand-written HTML, CSS and vanilla JavaScript embedded in the binary.
//!
//! Every page is the same shell (`assets/shell.html`) with its title, navigation and script
//! filled in; the scripts fetch `/api/v1/...` themselves. All pages sit one level below the
//! route prefix and every link, asset and API call in them is relative (`static/app.css`,
//! `api/v1/query`), so the UI works unchanged under `--web.route-prefix` /
//! `--web.external-url`, and behind a reverse proxy that adds or strips a path. The redirects
//! from the root are relative for the same reason.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The page shell; `{{title}}`, `{{page}}`, `{{nav}}` and `{{script}}` are substituted per page.
const SHELL: &str = include_str!("assets/shell.html");

/// A page of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The path below the route prefix (without the leading slash).
    pub path: &'static str,
    /// The title shown in the tab and heading.
    pub title: &'static str,
    /// The page's own script under `static/`.
    pub script: &'static str,
}

/// Every page, in navigation order.
pub const PAGES: &[Page] = &[
    Page {
        path: "graph",
        title: "Graph",
        script: "graph.js",
    },
    Page {
        path: "targets",
        title: "Targets",
        script: "targets.js",
    },
    Page {
        path: "service-discovery",
        title: "Service Discovery",
        script: "sd.js",
    },
    Page {
        path: "config",
        title: "Configuration",
        script: "status.js",
    },
    Page {
        path: "flags",
        title: "Command-Line Flags",
        script: "status.js",
    },
    Page {
        path: "tsdb-status",
        title: "TSDB Status",
        script: "status.js",
    },
];

/// A static asset: its name under `static/`, content type and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file name.
    pub name: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every static asset.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/app.css"),
    },
    Asset {
        name: "common.js",
        content_type: JS,
        body: include_bytes!("assets/common.js"),
    },
    Asset {
        name: "chart.js",
        content_type: JS,
        body: include_bytes!("assets/chart.js"),
    },
    Asset {
        name: "graph.js",
        content_type: JS,
        body: include_bytes!("assets/graph.js"),
    },
    Asset {
        name: "targets.js",
        content_type: JS,
        body: include_bytes!("assets/targets.js"),
    },
    Asset {
        name: "sd.js",
        content_type: JS,
        body: include_bytes!("assets/sd.js"),
    },
    Asset {
        name: "status.js",
        content_type: JS,
        body: include_bytes!("assets/status.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("assets/favicon.svg"),
    },
];

/// The UI routes, to be nested under the route prefix with the API.
pub fn router() -> Router<Arc<AppState>> {
    let mut r = Router::new()
        .route("/", get(root))
        .route("/static/{file}", get(asset));
    for page in PAGES {
        let html = render(page);
        r = r.route(
            &format!("/{}", page.path),
            get(move || async move { html_response(html) }),
        );
    }
    r
}

/// `<prefix>/` under a non-empty route prefix: a nested router sees `<prefix>` as its `/` but
/// never `<prefix>/`, which is what people type, so the outer router redirects it too.
pub fn prefix_root<S: Clone + Send + Sync + 'static>(prefix: &str) -> Router<S> {
    Router::new().route(
        &format!("{prefix}/"),
        get(|| async { Redirect::to("graph") }),
    )
}

/// The shell filled in for `page`.
pub fn render(page: &Page) -> String {
    let mut nav = String::new();
    for p in PAGES {
        let class = if p == page { " class=\"active\"" } else { "" };
        nav.push_str(&format!("<a href=\"{}\"{class}>{}</a>", p.path, p.title));
    }
    SHELL
        .replace("{{title}}", page.title)
        .replace("{{page}}", page.path)
        .replace("{{nav}}", &nav)
        .replace("{{script}}", page.script)
}

fn html_response(html: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

/// `/` (under the prefix) goes to the graph page, as in Prometheus.
async fn root(State(st): State<Arc<AppState>>) -> Redirect {
    Redirect::to(&root_redirect(&st.settings.route_prefix))
}

/// Where the prefix's own path redirects, relative to it so that a proxy in front that adds
/// or strips a path keeps working. Without a prefix the request is `/`, and `graph` is beside
/// it; with one the request is `<prefix>` (no trailing slash), whose last segment must be
/// repeated: `/a/prom` → `prom/graph` → `/a/prom/graph`.
fn root_redirect(prefix: &str) -> String {
    match prefix.rsplit('/').next() {
        Some(last) if !last.is_empty() => format!("{last}/graph"),
        _ => "graph".to_owned(),
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            a.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no static asset named {file:?}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests;
