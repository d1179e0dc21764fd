//! In-process tests: every page and asset is served with its content type, `/` redirects, and
//! the same holds under a route prefix.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tidemark_engine::{Db, DbOptions};
use tidemark_ingest::scrape::{ManagerOptions, ScrapeManager};
use tidemark_query::{EngineOptions, QueryEngine};
use tower::ServiceExt;

use super::{render, ASSETS, PAGES};
use crate::cli::Parsed;
use crate::settings::Settings;
use crate::state::{load_config, AppState};
use crate::web;

/// The whole application over a fresh database in `dir`, started with `flags`.
fn app(dir: &std::path::Path, flags: &[&str]) -> axum::Router {
    let mut args = vec!["tidemark".to_owned()];
    args.extend(flags.iter().map(|f| f.to_string()));
    args.push(format!("--storage.tsdb.path={}", dir.display()));
    let cli = Parsed::try_parse_from(&args).expect("flags parse");
    let settings = Arc::new(Settings::from_cli(&cli).expect("flags resolve"));
    let config = load_config(&settings).expect("built-in config loads");
    let db = Arc::new(Db::open(dir, DbOptions::default()).expect("db opens"));
    let engine = Arc::new(QueryEngine::new(EngineOptions::default()));
    let scrape = Arc::new(ScrapeManager::new(db.clone(), ManagerOptions::default()));
    web::app(Arc::new(AppState::new(
        db, engine, scrape, settings, config,
    )))
}

struct Reply {
    status: StatusCode,
    content_type: String,
    location: String,
    body: Vec<u8>,
}

async fn get(app: &axum::Router, path: &str) -> Reply {
    let req = Request::get(path).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let header_text = |name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let content_type = header_text(header::CONTENT_TYPE);
    let location = header_text(header::LOCATION);
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        content_type,
        location,
        body,
    }
}

/// A `Location` resolved against the request path, as a browser does.
fn resolve(request: &str, location: &str) -> String {
    if location.starts_with('/') {
        return location.to_owned();
    }
    let dir = &request[..request.rfind('/').map_or(0, |i| i + 1)];
    format!("{dir}{location}")
}

async fn check_all_routes(prefix: &str, flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), flags);

    let roots = if prefix.is_empty() {
        vec!["/".to_owned()]
    } else {
        vec![prefix.to_owned(), format!("{prefix}/")]
    };
    for root in roots {
        let r = get(&app, &root).await;
        assert!(r.status.is_redirection(), "{root}: {}", r.status);
        assert_eq!(
            resolve(&root, &r.location),
            format!("{prefix}/graph"),
            "{root}"
        );
    }

    for page in PAGES {
        let path = format!("{prefix}/{}", page.path);
        let r = get(&app, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.content_type, "text/html; charset=utf-8", "{path}");
        let html = String::from_utf8(r.body).unwrap();
        assert!(html.contains(&format!("<title>{} - Tidemark</title>", page.title)));
        assert!(
            html.contains(&format!("src=\"static/{}\"", page.script)),
            "{path}"
        );
    }
    for asset in ASSETS {
        let path = format!("{prefix}/static/{}", asset.name);
        let r = get(&app, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.content_type, asset.content_type, "{path}");
        assert_eq!(r.body, asset.body, "{path}");
    }
    let r = get(&app, &format!("{prefix}/static/nope.js")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&r.body).contains("nope.js"));

    // The API sits beside the UI under the same prefix, so `api/v1/...` from a page resolves.
    let r = get(&app, &format!("{prefix}/api/v1/status/flags")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn pages_assets_and_redirect_without_prefix() {
    check_all_routes("", &[]).await;
}

#[tokio::test]
async fn pages_assets_and_redirect_under_route_prefix() {
    check_all_routes("/prom", &["--web.route-prefix=/prom"]).await;
}

#[tokio::test]
async fn prefix_from_external_url() {
    check_all_routes(
        "/ext/tm",
        &["--web.external-url=http://example.org/ext/tm/"],
    )
    .await;
}

#[tokio::test]
async fn pages_are_not_served_at_the_root_under_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), &["--web.route-prefix=/prom"]);
    assert_eq!(get(&app, "/graph").await.status, StatusCode::NOT_FOUND);
}

/// Pages must stay relative to the prefix: no absolute link, asset or API path, and nothing
/// fetched from another host.
#[test]
fn pages_and_assets_use_relative_urls_only() {
    let mut texts: Vec<(String, String)> = PAGES
        .iter()
        .map(|p| (p.path.to_owned(), render(p)))
        .collect();
    texts.extend(ASSETS.iter().map(|a| {
        (
            a.name.to_owned(),
            String::from_utf8_lossy(a.body).into_owned(),
        )
    }));
    for (name, text) in &texts {
        for bad in [
            "href=\"/", "src=\"/", "\"/api/", "'/api/", "`/api/", "https://", "http://",
        ] {
            // The SVG namespace is an identifier, not a fetch.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert!(!text.contains(bad), "{name} contains {bad:?}");
        }
    }
}

#[test]
fn root_redirects_are_relative() {
    assert_eq!(super::root_redirect(""), "graph");
    assert_eq!(super::root_redirect("/prom"), "prom/graph");
    assert_eq!(super::root_redirect("/a/prom"), "prom/graph");
    assert_eq!(resolve("/a/prom", "prom/graph"), "/a/prom/graph");
    assert_eq!(resolve("/a/prom/", "graph"), "/a/prom/graph");
}

#[test]
fn navigation_marks_the_current_page() {
    let html = render(&PAGES[1]);
    assert!(html.contains("<a href=\"targets\" class=\"active\">Targets</a>"));
    assert!(html.contains("<a href=\"graph\">Graph</a>"));
    assert!(!html.contains("{{"), "unfilled placeholder");
}
