//! Scraping cost at scale, side by side with Prometheus 3.5: N targets × M series every 15 s,
//! all served on loopback by this harness, scraped by the real `tidemark` binary and then by
//! the real Prometheus 3.5 (the reference peer, found and started through
//! `tidemark_tests::prom::PromServer`) with the same `prometheus.yml`. For each, after a warm-up
//! (series created, caches filled) the process's CPU time (user + system, from
//! `/proc/PID/stat`) over a measurement window is divided by the window: the share of one core
//! that scraping costs. RSS at the end is printed too.
//!
//! Usage: `cargo build --release -p tidemark-server && cargo run --release -p
//! tidemark-benches --bin scrape-harness -- [TARGETS [SERIES [SECONDS]]]` (defaults 1000,
//! 1000, 60). `--no-prometheus` skips the reference.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidemark_benches::exporter::exporter_body;
use tidemark_tests::prom::{ApiClient, PromOptions, PromResult, PromServer};

/// The scrape interval of the benchmark.
const INTERVAL_S: u64 = 15;

/// Serves generated exporter bodies on keep-alive connections, one thread per connection.
fn serve_targets(series: usize, requests: Arc<AtomicU64>) -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let requests = requests.clone();
            std::thread::Builder::new()
                .stack_size(64 << 10)
                .spawn(move || {
                    let _ = handle(conn, series, &requests);
                })
                .ok();
        }
    });
    Ok(port)
}

fn handle(conn: TcpStream, series: usize, requests: &AtomicU64) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    let mut line = String::new();
    loop {
        // Request line and headers, up to the blank line.
        let mut saw_request = false;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            saw_request = true;
        }
        if !saw_request {
            continue;
        }
        let n = requests.fetch_add(1, Ordering::Relaxed);
        let body = exporter_body(series, n / 1000 + 1);
        write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        writer.write_all(body.as_bytes())?;
    }
}

fn config(targets: usize, port: u16) -> String {
    let mut s = format!(
        "global:\n  scrape_interval: {INTERVAL_S}s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: bench\n    static_configs:\n"
    );
    for i in 0..targets {
        s.push_str(&format!(
            "      - targets: ['127.0.0.1:{port}']\n        labels: {{shard: 's{i}'}}\n"
        ));
    }
    s
}

/// User + system CPU time of a process.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(100);
    Some(Duration::from_secs_f64(ticks as f64 / hz as f64))
}

fn rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Waits until every target has been scraped successfully at least twice (`up` for all,
/// samples scraped ≥ 2 rounds), then measures the CPU share over `window`.
fn measure(
    name: &str,
    pid: u32,
    api: &ApiClient,
    targets: usize,
    series: usize,
    window: Duration,
    requests: &AtomicU64,
) -> Result<(f64, f64), String> {
    let deadline = Instant::now() + Duration::from_secs(INTERVAL_S * 6);
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_millis() as i64;
        let up = match api.query("count(up == 1)", now).map(|r| r.result) {
            Ok(PromResult::Vector(v)) => v.first().map_or(0.0, |s| s.point.v),
            _ => 0.0,
        };
        if up as usize == targets {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{name}: only {up} of {targets} targets up"));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    // One more full round so every target's series exist and caches are warm.
    std::thread::sleep(Duration::from_secs(INTERVAL_S));
    let r0 = requests.load(Ordering::Relaxed);
    let c0 = cpu_time(pid).ok_or("no /proc stat")?;
    let t0 = Instant::now();
    std::thread::sleep(window);
    let c1 = cpu_time(pid).ok_or("no /proc stat")?;
    let elapsed = t0.elapsed();
    let scrapes = requests.load(Ordering::Relaxed) - r0;
    let share = (c1 - c0).as_secs_f64() / elapsed.as_secs_f64();
    let rss = rss_mib(pid).unwrap_or(f64::NAN);
    let rate = scrapes as f64 * series as f64 / elapsed.as_secs_f64();
    println!(
        "| {name} | {:.2}% | {:.1} s | {scrapes} | {:.0} | {rss:.0} MiB |",
        share * 100.0,
        (c1 - c0).as_secs_f64(),
        rate
    );
    Ok((share, rss))
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_prometheus = !args.iter().any(|a| a == "--no-prometheus");
    let nums: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let targets = *nums.first().unwrap_or(&1000) as usize;
    let series = *nums.get(1).unwrap_or(&1000) as usize;
    let window = Duration::from_secs(*nums.get(2).unwrap_or(&60));

    let bin: PathBuf = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("tidemark");
    if !bin.is_file() {
        return Err(format!(
            "{} not found: build it first with `cargo build --release -p tidemark-server`",
            bin.display()
        ));
    }
    let requests = Arc::new(AtomicU64::new(0));
    let port = serve_targets(series, requests.clone()).map_err(|e| e.to_string())?;
    let cfg = config(targets, port);
    println!(
        "{targets} targets × {series} series every {INTERVAL_S} s; CPU measured over {} s after warm-up\n",
        window.as_secs()
    );
    println!("| server | share of one core | CPU time | scrapes in window | samples/s | RSS |");
    println!("|---|---|---|---|---|---|");

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join("prometheus.yml"), &cfg).map_err(|e| e.to_string())?;
    let tm_port = free_port().map_err(|e| e.to_string())?;
    let child = Command::new(&bin)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{tm_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let tm = Proc(child);
    let api = ApiClient::new(&format!("http://127.0.0.1:{tm_port}"));
    let (share, _) = measure(
        "Tidemark",
        tm.0.id(),
        &api,
        targets,
        series,
        window,
        &requests,
    )?;
    drop(tm);

    if with_prometheus {
        let prom = PromServer::start_with(&PromOptions {
            config_yaml: Some(cfg.clone()),
            ..PromOptions::default()
        })?;
        measure(
            "Prometheus 3.5",
            prom.pid(),
            &prom.api(),
            targets,
            series,
            window,
            &requests,
        )?;
    }
    if std::env::args().any(|a| a == "--check") && share >= 0.10 {
        return Err(format!(
            "Tidemark used {:.1}% of a core (target < 10%)",
            share * 100.0
        ));
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("scrape-harness: {e}");
        std::process::exit(1);
    }
}
