//! The web UI end to end: the real `tidemark` binary under a route prefix, scraping itself,
//! and headless Chromium loading the pages, running their JavaScript against the real API,
//! and dumping the resulting DOM (and screenshots under `target/tmp/ui-screenshots/`).
//!
//! Chromium is required: CI installs Debian's `chromium` (`.ci/run`). Without it these tests
//! fail with a message saying so; they never skip.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, tidemark_command, wait_for, Proc};

use serde_json::Value;

/// The route prefix the server runs under; every page must work below it.
const PREFIX: &str = "/tm";

/// Status, `Location` header and body of a plain GET on loopback.
fn http_get(port: u16, path: &str) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let location = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    Some((status, location, body.to_owned()))
}

/// The Chromium binary, or a failure that says how to get it.
fn chromium() -> PathBuf {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!(
        "headless Chromium is required by the UI end-to-end tests but /usr/bin/chromium is \
         missing: install it with `apt-get install -y chromium` (.ci/run does)"
    );
}

/// Headless Chromium with its own throw-away profile, loading `url` and then doing `action`
/// (`--dump-dom` or `--screenshot=...`). The virtual time budget lets the page's fetches and
/// scripts finish before the DOM is taken. Returns stdout.
fn run_chromium(url: &str, action: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let stdout_path = out_dir.path().join("stdout");
    let stderr_path = out_dir.path().join("stderr");
    let child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(action)
        .arg(url)
        .current_dir(out_dir.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", chromium().display()));
    let mut proc = Proc(child);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = proc.0.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(90) {
            panic!("chromium did not finish loading {url} within 90s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    if !status.success() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        panic!("chromium failed on {url} ({status}): {stderr}");
    }
    stdout
}

/// The DOM of `url` after its scripts ran.
fn dom(url: &str) -> String {
    let html = run_chromium(url, &["--dump-dom".to_owned()]);
    assert!(html.contains("</html>"), "no DOM for {url}: {html}");
    html
}

/// A screenshot of `url` saved as `name`.png under the test output directory.
fn screenshot(url: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&file);
    run_chromium(url, &[format!("--screenshot={}", file.display())]);
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("screenshot {file:?}: {e}"));
    assert!(bytes.starts_with(b"\x89PNG"), "{file:?} is not a PNG");
    assert!(bytes.len() > 10_000, "{file:?} is nearly empty");
    file
}

/// The text between the element with `id` and the end of its section (the next `</section>`).
fn section<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    Some(&rest[..rest.find("</section>").unwrap_or(rest.len())])
}

/// The `d` attribute of every series path in `html`.
fn series_paths(html: &str) -> Vec<&str> {
    html.split("<path ")
        .skip(1)
        .filter(|p| p[..p.find('>').unwrap_or(p.len())].contains("class=\"series-line\""))
        .filter_map(|p| {
            let d = &p[p.find("d=\"")? + 3..];
            Some(&d[..d.find('"')?])
        })
        .collect()
}

struct Server {
    _proc: Proc,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Tidemark under [`PREFIX`], scraping itself every second, a target that is down, and a
    /// target that relabelling drops.
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let closed = free_port();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: tidemark\n\
             \x20   metrics_path: {PREFIX}/metrics\n\
             \x20   static_configs:\n\
             \x20     - targets: ['127.0.0.1:{port}', 'dropme:1']\n\
             \x20   relabel_configs:\n\
             \x20     - source_labels: [__address__]\n\
             \x20       regex: 'dropme:.*'\n\
             \x20       action: drop\n\
             \x20 - job_name: broken\n\
             \x20   static_configs:\n\
             \x20     - targets: ['127.0.0.1:{closed}']\n\
             \x20 - job_name: cloud\n\
             \x20   ec2_sd_configs:\n\
             \x20     - region: eu-west-1\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let child = tidemark_command(port, dir.path())
            .arg(format!(
                "--web.external-url=http://127.0.0.1:{port}{PREFIX}/"
            ))
            .spawn()
            .expect("starting tidemark");
        let server = Server {
            _proc: Proc(child),
            port,
            _dir: dir,
        };
        wait_for("tidemark to be ready", Duration::from_secs(30), || {
            server
                .get("/-/ready")
                .is_some_and(|(status, _, _)| status == 200)
        });
        // A few self-scrapes, so the graph has lines and not only points.
        wait_for("three self-scrapes", Duration::from_secs(30), || {
            server
                .get("/api/v1/query?query=count_over_time(up%7Bjob%3D%22tidemark%22%7D%5B1m%5D)")
                .and_then(|(_, _, body)| serde_json::from_str::<Value>(&body).ok())
                .and_then(|v| {
                    v["data"]["result"][0]["value"][1]
                        .as_str()
                        .map(str::to_owned)
                })
                .and_then(|n| n.parse::<f64>().ok())
                .is_some_and(|n| n >= 3.0)
        });
        wait_for(
            "the broken target to be scraped",
            Duration::from_secs(30),
            || {
                server
                    .get("/api/v1/query?query=up%7Bjob%3D%22broken%22%7D")
                    .is_some_and(|(_, _, body)| body.contains("\"broken\""))
            },
        );
        server
    }

    /// GET `path` below the prefix.
    fn get(&self, path: &str) -> Option<(u16, String, String)> {
        http_get(self.port, &format!("{PREFIX}{path}"))
    }

    /// The URL of `page` (with its query string) below the prefix.
    fn url(&self, page: &str) -> String {
        format!("http://127.0.0.1:{}{PREFIX}/{page}", self.port)
    }

    fn instance(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

#[test]
fn ui_pages_render_live_data_under_a_route_prefix() {
    chromium();
    let server = Server::start();
    let instance = server.instance();

    // The root goes to the graph page, with and without the trailing slash.
    for root in ["", "/"] {
        let (status, location, _) = server.get(root).unwrap();
        assert!((300..400).contains(&status), "{PREFIX}{root}: {status}");
        // Relative, so that a proxy in front may add or strip a path; resolved as a browser does.
        let request = format!("{PREFIX}{root}");
        let dir = &request[..request.rfind('/').unwrap() + 1];
        assert_eq!(
            format!("{dir}{location}"),
            format!("{PREFIX}/graph"),
            "{location}"
        );
    }

    // A browser following those redirects lands on the graph page.
    for root in ["", "/"] {
        let url = format!("http://127.0.0.1:{}{PREFIX}{root}", server.port);
        assert!(dom(&url).contains("<body data-page=\"graph\">"), "{url}");
    }

    // Table tab: each series of `up` with its labels and value.
    let html = dom(&server.url("graph?g0.expr=up&g0.tab=1"));
    let table = section(&html, "result-table").expect("a result table");
    let table = &table[..table.find("</table>").unwrap()];
    assert!(
        table.contains(&format!(
            "up{{instance=\"{instance}\", job=\"tidemark\"}}</td><td class=\"num\">1</td>"
        )),
        "the self-scrape's up is 1: {table}"
    );
    assert!(
        table.contains("job=\"broken\"}</td><td class=\"num\">0</td>"),
        "the broken target's up is 0: {table}"
    );
    assert!(
        html.contains("<option value=\"up\">"),
        "metric-name completion"
    );
    assert!(!html.contains("class=\"error\""), "no error: {html}");

    // The evaluation time is sent with the query: long before the server started, nothing.
    let html =
        dom(&server.url("graph?g0.expr=up&g0.tab=1&g0.moment_input=2001-02-03+04%3A05%3A06"));
    assert!(html.contains("id=\"empty-result\""), "{html}");

    // A range vector in the table: each sample as `value @timestamp`.
    let html = dom(&server.url("graph?g0.expr=up%7Bjob%3D%22tidemark%22%7D%5B1m%5D&g0.tab=1"));
    let table = section(&html, "result-table").expect("a result table");
    assert!(table.contains("<div>1 @"), "{table}");

    // A scalar in the table.
    let html = dom(&server.url("graph?g0.expr=1%2B2&g0.tab=1"));
    assert!(
        html.contains("scalar</td><td class=\"num\">3</td>"),
        "{html}"
    );

    // Graph tab: an SVG with one drawn line and one legend entry per series.
    let graph_url = server.url("graph?g0.expr=up&g0.tab=0&g0.range_input=1m");
    let html = dom(&graph_url);
    let graph = section(&html, "graph").expect("a graph");
    assert!(graph.contains("<svg"), "{graph}");
    let paths = series_paths(graph);
    assert_eq!(paths.len(), 2, "one path per series: {graph}");
    assert!(
        paths.iter().any(|d| d.contains('L')),
        "a series path joins its points: {paths:?}"
    );
    assert_eq!(graph.matches("class=\"legend-entry\"").count(), 2);
    assert!(graph.contains(&format!("up{{instance=\"{instance}\", job=\"tidemark\"}}")));
    assert!(
        html.contains("Resolution: 1s"),
        "auto step for 1m is 1s: {html}"
    );
    let shot = screenshot(&graph_url, "graph");
    eprintln!("graph screenshot: {}", shot.display());

    // Stacked mode is part of the URL.
    let html = dom(&server.url("graph?g0.expr=up&g0.tab=0&g0.range_input=5m&g0.stacked=1"));
    assert!(html.contains("<button id=\"stacked\" class=\"active\">Stacked</button>"));
    assert!(
        html.contains("class=\"series-area\""),
        "stacked series are filled: {html}"
    );

    // A bad expression shows the server's error inline.
    let html = dom(&server.url("graph?g0.expr=up%7B&g0.tab=1"));
    let err = section(&html, "output").expect("an output area");
    assert!(
        err.contains("class=\"error\"") && err.contains("Error executing query: bad_data"),
        "{err}"
    );
    assert!(!html.contains("id=\"result-table\""));
    screenshot(&server.url("graph?g0.expr=up%7B&g0.tab=1"), "graph-error");

    // Targets: the self-scrape is UP, the closed port DOWN with its error.
    let targets_url = server.url("targets");
    let html = dom(&targets_url);
    let own = section(&html, "pool-tidemark").expect("the tidemark pool");
    assert!(
        own.contains(&format!("http://{instance}{PREFIX}/metrics")),
        "{own}"
    );
    assert!(own.contains(">UP</span>"), "{own}");
    assert!(own.contains("s ago"), "last scrape: {own}");
    let broken = section(&html, "pool-broken").expect("the broken pool");
    assert!(broken.contains(">DOWN</span>"), "{broken}");
    assert!(broken.contains("class=\"error-text\""), "{broken}");
    let cloud = section(&html, "pool-cloud").expect("the job with EC2 discovery");
    assert!(
        cloud.contains("ec2_sd_configs: service discovery not implemented in Tidemark"),
        "{cloud}"
    );
    screenshot(&targets_url, "targets");

    // The filter keeps only unhealthy targets.
    let html = dom(&server.url("targets?unhealthy=1"));
    assert!(section(&html, "pool-broken").is_some());
    assert!(section(&html, "pool-tidemark").is_none(), "{html}");

    // Service discovery: discovered labels beside target labels, and the dropped target.
    let html = dom(&server.url("service-discovery"));
    let sd = section(&html, "sd-tidemark").expect("the tidemark job");
    assert!(
        sd.contains(&format!("__metrics_path__=\"{PREFIX}/metrics\"")),
        "{sd}"
    );
    assert!(sd.contains(&format!("instance=\"{instance}\"")), "{sd}");
    assert!(sd.contains("__address__=\"dropme:1\""), "{sd}");
    assert!(sd.contains(">Dropped</span>"), "{sd}");
    let cloud = section(&html, "sd-cloud").expect("the job with EC2 discovery");
    assert!(cloud.contains("not implemented"), "{cloud}");

    // Configuration, flags and TSDB status.
    let html = dom(&server.url("config"));
    let yaml = section(&html, "config-yaml").unwrap();
    assert!(yaml.contains("job_name: broken"), "{yaml}");
    let html = dom(&server.url("flags"));
    let flags = section(&html, "flags-table").unwrap();
    assert!(
        flags.contains("--web.route-prefix</td><td>/tm</td>"),
        "{flags}"
    );
    let html = dom(&server.url("tsdb-status"));
    let (status, _, _) = server.get("/api/v1/status/tsdb").unwrap();
    if status == 404 {
        assert!(html.contains("id=\"tsdb-unavailable\""), "{html}");
    } else {
        assert!(html.contains("id=\"head-stats\""), "{html}");
        assert!(!html.contains("class=\"error\""), "{html}");
    }
}
