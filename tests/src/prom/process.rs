//! Starting and stopping a private Prometheus process.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::prom::api::{loopback_agent, ApiClient};
use crate::prom::remote_write::RemoteWriteClient;

use crate::peers::{self, Peer, INSTALL_HINT};

/// Environment variable that overrides the Prometheus binary (default: the one
/// `scripts/reference-peers.sh` unpacked, see [`crate::peers`]).
pub const PROMETHEUS_BIN_ENV: &str = "TIDEMARK_PROMETHEUS_BIN";

/// How to start the reference Prometheus.
#[derive(Clone, Debug)]
pub struct PromOptions {
    /// `--query.lookback-delta`; `None` keeps Prometheus's default (5m).
    pub lookback_delta: Option<Duration>,
    /// How long to wait for `/-/ready` before giving up (default 30 s).
    pub ready_timeout: Duration,
    /// The binary; `None` = the reference Prometheus 3.5 of [`crate::peers`].
    pub binary: Option<PathBuf>,
    /// More command-line flags, appended after the harness's own.
    pub extra_args: Vec<String>,
    /// The `prometheus.yml` text; `None` = an empty configuration (no scrape jobs).
    pub config_yaml: Option<String>,
}

impl Default for PromOptions {
    fn default() -> Self {
        PromOptions {
            lookback_delta: None,
            ready_timeout: Duration::from_secs(30),
            binary: None,
            extra_args: Vec::new(),
            config_yaml: None,
        }
    }
}

/// A Prometheus process of our own on `127.0.0.1:<free port>`, with an empty configuration (it
/// scrapes nothing, not even itself), a temporary TSDB, and the remote-write receiver enabled.
///
/// Dropping it kills the process (by its PID, only the one started here) and deletes the TSDB.
pub struct PromServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PromServer {
    /// Starts Prometheus with default [`PromOptions`].
    pub fn start() -> Result<PromServer, String> {
        Self::start_with(&PromOptions::default())
    }

    /// Starts Prometheus with `opts` and waits until `/-/ready` answers 200.
    ///
    /// Fails with the install hint if the binary is missing, and with the process's log if it
    /// exits or does not get ready within `opts.ready_timeout`.
    pub fn start_with(opts: &PromOptions) -> Result<PromServer, String> {
        let bin = match &opts.binary {
            Some(bin) => bin.clone(),
            None => peers::binary(Peer::Prometheus)?,
        };
        // A free port is found by binding port 0 and releasing it; another process may take it
        // in between, so a start that fails on the address is retried on a new port.
        let mut last_err = String::new();
        for _ in 0..3 {
            match Self::try_start(&bin, opts) {
                Ok(server) => return Ok(server),
                Err((msg, retry)) => {
                    last_err = msg;
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last_err)
    }

    fn try_start(bin: &Path, opts: &PromOptions) -> Result<PromServer, (String, bool)> {
        let fail = |m: String| (m, false);
        let dir = tempfile::Builder::new()
            .prefix("tidemark-prom-")
            .tempdir()
            .map_err(|e| fail(format!("cannot create a temp dir: {e}")))?;
        let config = dir.path().join("prometheus.yml");
        let text = opts
            .config_yaml
            .as_deref()
            .unwrap_or("# empty: no scrape jobs, no rules\n");
        std::fs::write(&config, text)
            .map_err(|e| fail(format!("cannot write {}: {e}", config.display())))?;
        let data = dir.path().join("data");
        let log_path = dir.path().join("prometheus.log");
        let log = File::create(&log_path)
            .map_err(|e| fail(format!("cannot create {}: {e}", log_path.display())))?;
        let log2 = log
            .try_clone()
            .map_err(|e| fail(format!("cannot clone the log file handle: {e}")))?;
        let port = free_port().map_err(fail)?;

        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            // Retention counts from the newest block, not from the wall clock; make it
            // effectively unlimited so no test data is ever deleted.
            .arg("--storage.tsdb.retention.time=100y")
            .arg("--log.level=info");
        if let Some(d) = opts.lookback_delta {
            cmd.arg(format!("--query.lookback-delta={}ms", d.as_millis()));
        }
        cmd.args(&opts.extra_args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        let child = cmd.spawn().map_err(|e| {
            fail(format!(
                "cannot start {}: {e}; {INSTALL_HINT}",
                bin.display()
            ))
        })?;
        let mut server = PromServer { child, port, dir };
        server.wait_ready(opts.ready_timeout)?;
        Ok(server)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), (String, bool)> {
        let agent = loopback_agent(Duration::from_secs(2));
        let url = format!("{}/-/ready", self.url());
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let log = self.log();
                    let retry = log.contains("address already in use");
                    return Err((
                        format!(
                            "Prometheus exited during start-up ({status}); its log:\n{}",
                            tail(&log)
                        ),
                        retry,
                    ));
                }
                Ok(None) => {}
                Err(e) => return Err((format!("cannot poll the Prometheus process: {e}"), false)),
            }
            if let Ok(resp) = agent.get(&url).call() {
                if resp.status().as_u16() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err((
                    format!(
                        "Prometheus (pid {}) not ready at {url} after {timeout:?}; its log:\n{}",
                        self.child.id(),
                        tail(&self.log())
                    ),
                    false,
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The temp dir holding the config, the TSDB (`data/`) and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A query client for this server.
    pub fn api(&self) -> ApiClient {
        ApiClient::new(&self.url())
    }

    /// A remote-write client for this server.
    pub fn remote_write(&self) -> RemoteWriteClient {
        RemoteWriteClient::new(&self.url())
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log"))
            .unwrap_or_else(|e| format!("<cannot read the log: {e}>"))
    }
}

impl Drop for PromServer {
    fn drop(&mut self) {
        // `Child::kill` signals exactly this PID; `wait` reaps it so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no local address: {e}"))
}

fn tail(log: &str) -> &str {
    const MAX: usize = 6000;
    if log.len() <= MAX {
        return log;
    }
    let mut start = log.len() - MAX;
    while !log.is_char_boundary(start) {
        start += 1;
    }
    &log[start..]
}
