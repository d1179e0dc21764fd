//! Helpers shared by the end-to-end tests: free loopback ports, child processes killed on drop,
//! a minimal HTTP/1.1 client, polling, the `tidemark` binary and the Python sample apps.
//!
//! Each test file includes this module and uses part of it, so unused items are expected.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A series of an instant vector: its labels and its value as the API prints it.
pub type Sample = (serde_json::Map<String, Value>, String);

/// A port free on 127.0.0.1 at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on 127.0.0.1:`port`: the status and the (de-chunked) body, `None` if the
/// connection failed.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_request(port, "GET", path, "")
}

/// Like [`http_get`] on any host.
pub fn http_get_host(host: &str, port: u16, path: &str) -> Option<(u16, String)> {
    http_request_host(host, port, "GET", path, "")
}

/// One request with a form-encoded body on 127.0.0.1:`port`.
pub fn http_request(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    http_request_host("127.0.0.1", port, method, path, body)
}

fn http_request_host(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(u16, String)> {
    http_raw_host(
        host,
        port,
        method,
        path,
        "Content-Type: application/x-www-form-urlencoded\r\n",
        body.as_bytes(),
    )
}

/// One request on 127.0.0.1:`port` with extra header lines (each ending in `\r\n`) and a raw
/// body: the status and the (de-chunked) body, `None` if the connection failed.
pub fn http_raw(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> Option<(u16, String)> {
    http_raw_host("127.0.0.1", port, method, path, headers, body)
}

fn http_raw_host(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect((host, port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `f` every 200 ms until it holds; panics naming `what` after `timeout`. Returns how
/// long it took.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// Percent-encodes everything but unreserved characters (for form bodies and query strings).
pub fn form_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `data.result` of an instant query; panics unless the API answered 200.
pub fn instant_query_result(port: u16, query: &str) -> Value {
    let body = format!("query={}", form_escape(query));
    let (status, text) = http_request(port, "POST", "/api/v1/query", &body)
        .unwrap_or_else(|| panic!("no answer from 127.0.0.1:{port} to {query}"));
    assert_eq!(status, 200, "{query}: {text}");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["data"]["result"].take()
}

/// The result of an instant query as (labels, value) pairs; panics unless the API answered
/// 200 with a vector.
pub fn instant_query(port: u16, query: &str) -> Vec<Sample> {
    instant_query_result(port, query)
        .as_array()
        .unwrap_or_else(|| panic!("{query}: not a vector"))
        .iter()
        .map(|s| {
            (
                s["metric"].as_object().unwrap().clone(),
                s["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The `tidemark` binary on `127.0.0.1:port` with `dir/prometheus.yml` (written by the
/// caller), its data in `dir/data` and its log in `dir/tidemark.log`; more flags may follow.
pub fn tidemark_command(port: u16, dir: &Path) -> Command {
    let log = std::fs::File::create(dir.join("tidemark.log")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidemark"));
    cmd.arg(format!(
        "--config.file={}",
        dir.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.join("data").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    .stdout(Stdio::null())
    .stderr(log);
    cmd
}

/// Debian's `prometheus-node-exporter` on a free port, once `/metrics` answers; with the port.
pub fn node_exporter() -> (Proc, u16) {
    let port = free_port();
    let proc = Command::new("prometheus-node-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Proc)
        .expect("Debian's prometheus-node-exporter must be installed (.ci/run installs it)");
    wait_for("node exporter", Duration::from_secs(10), || {
        http_get(port, "/metrics").is_some_and(|(s, _)| s == 200)
    });
    (proc, port)
}

/// A running `tidemark` binary, killed on drop.
pub struct Tidemark {
    _proc: Proc,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
}

impl Tidemark {
    /// Writes `config` to `dir/prometheus.yml` and starts on a free port with its data in
    /// `dir/data` and its log in `dir/tidemark.log`; waits until `/-/ready` answers 200.
    pub fn start(dir: &Path, config: &str, env: &[(&str, String)]) -> Tidemark {
        Tidemark::start_on(free_port(), dir, config, env)
    }

    /// Starts on a port chosen beforehand (for configs that name Tidemark's own address).
    pub fn start_on(port: u16, dir: &Path, config: &str, env: &[(&str, String)]) -> Tidemark {
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let mut cmd = tidemark_command(port, dir);
        cmd.arg("--web.enable-lifecycle").arg("--log.level=debug");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let t = Tidemark {
            _proc: Proc(cmd.spawn().expect("starting tidemark")),
            port,
        };
        wait_for("tidemark to be ready", Duration::from_secs(30), || {
            http_get(port, "/-/ready").is_some_and(|(s, _)| s == 200)
        });
        t
    }

    /// Stops it with SIGTERM, as Kubernetes does, and waits for it to exit; returns its exit
    /// status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self._proc.0.id().to_string();
        // The shell's built-in `kill`: minimal images may lack /usr/bin/kill.
        let sent = Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        self._proc.0.wait().expect("waiting for tidemark")
    }

    /// The instant vector of `query` now, as (labels, value) pairs.
    pub fn query(&self, query: &str) -> Vec<Sample> {
        instant_query(self.port, query)
    }

    /// `/api/v1/targets` as JSON.
    pub fn targets(&self) -> Value {
        let (_, text) = http_get(self.port, "/api/v1/targets").unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The active targets of `/api/v1/targets`.
    pub fn active_targets(&self) -> Vec<Value> {
        self.targets()["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// Starts `python3 server/tests/<script> <args>` and waits until `host:port/metrics` answers
/// 200; `None` if python3 or prometheus_client is missing or the app never answered.
pub fn python_script(script: &str, host: &str, port: u16, args: &[String]) -> Option<Proc> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let p = Proc(child);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if http_get_host(host, port, "/metrics").is_some_and(|(s, _)| s == 200) {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Seed 000's sample app (`requests_count{endpoint}`, `/foo`, `/bar`) on 127.0.0.1:`port`.
pub fn python_app(port: u16) -> Option<Proc> {
    python_script("sample_app.py", "127.0.0.1", port, &[port.to_string()])
}

/// Seed 003's app (counter `count`, `/inc` adds 0.1) on `host:port`.
pub fn count_app(host: &str, port: u16) -> Proc {
    python_script("count_app.py", host, port, &[host.into(), port.to_string()])
        .expect("python3 with prometheus_client must be installed (.ci/run installs it)")
}

/// The value of the unlabelled sample `name` in a text exposition.
pub fn exposed_value(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse().ok())?
    })
}

/// An in-cluster service account directory (token, namespace, ca.crt) for `api` and the
/// environment that points Tidemark at it.
pub fn in_cluster(
    api: &tidemark_tests::kube_api::KubeApiServer,
    token: &str,
) -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let sa = tempfile::tempdir().unwrap();
    std::fs::write(sa.path().join("token"), token).unwrap();
    std::fs::write(sa.path().join("namespace"), "monitoring").unwrap();
    std::fs::copy(api.ca_file(), sa.path().join("ca.crt")).unwrap();
    let env = vec![
        (
            "TIDEMARK_K8S_SERVICE_ACCOUNT_DIR",
            sa.path().display().to_string(),
        ),
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1".to_owned()),
        ("KUBERNETES_SERVICE_PORT", api.addr().port().to_string()),
    ];
    (sa, env)
}
