//! The command line against Prometheus 3.5's: every flag `prometheus --help` (3.5.3) lists is
//! accepted by `tidemark` (booleans in both `--name` and `--no-name` forms), an unknown flag
//! exits 2, and `/api/v1/status/flags` of both servers, started the same way, lists the same
//! flags with the same values, except the narrow list of known differences below.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::{free_port, http_get, tidemark_command, wait_for, Proc};
use tidemark_tests::peers::{self, Peer};
use tidemark_tests::prom::{PromOptions, PromServer};

/// One flag of `prometheus --help`.
#[derive(Debug)]
struct HelpFlag {
    name: String,
    /// `--[no-]name`.
    boolean: bool,
    /// The default as `--help` prints it (`None` for a placeholder such as `<URL>`).
    default: Option<String>,
}

/// Parses `prometheus --help`: lines `  [-h, ]--[[no-]]name[=default] [...]`.
fn parse_help(help: &str) -> Vec<HelpFlag> {
    let mut out = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        // Flags start in the first columns; descriptions (which mention flags) are indented.
        if line.len() - t.len() > 6 {
            continue;
        }
        let t = t.strip_prefix("-h, ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("--") else {
            continue;
        };
        let (boolean, rest) = match rest.strip_prefix("[no-]") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let spec = rest.split_whitespace().next().unwrap_or("");
        let (name, default) = match spec.split_once('=') {
            Some((n, d)) => {
                let d = d.trim_matches('"');
                let placeholder = d.starts_with('<') || d.chars().any(|c| c.is_ascii_uppercase());
                (n, (!placeholder).then(|| d.to_owned()))
            }
            None => (spec, None),
        };
        out.push(HelpFlag {
            name: name.to_owned(),
            boolean,
            default,
        });
    }
    out
}

/// A value to try a flag with when `--help` shows a placeholder or an empty default.
fn sample_value(name: &str) -> &'static str {
    match name {
        "web.external-url" => "http://example.org/prom/",
        "web.route-prefix" => "/prom",
        "web.user-assets" => "/tmp",
        "storage.tsdb.retention.time" => "30d",
        "storage.tsdb.retention.size" => "1GB",
        "storage.agent.retention.min-time" | "storage.agent.retention.max-time" => "1h",
        "storage.remote.flush-deadline" => "1m",
        "enable-feature" => "promql-duration-expr,native-histograms",
        "web.config.file" => "",
        _ => "x",
    }
}

#[test]
fn every_prometheus_3_5_flag_is_accepted() {
    let bin = peers::require(Peer::Prometheus);
    let out = Command::new(&bin).arg("--help").output().unwrap();
    let help =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let flags = parse_help(&help);
    assert!(
        flags.len() >= 50,
        "parsed only {} flags: {help}",
        flags.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").unwrap();
    let run = |args: &[String]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tidemark"))
            .args(args)
            .arg("check")
            .arg("config")
            .arg(&cfg)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut tried = 0;
    for f in &flags {
        if matches!(f.name.as_str(), "help" | "version") {
            continue;
        }
        let forms: Vec<Vec<String>> = if f.boolean {
            vec![
                vec![format!("--{}", f.name)],
                vec![format!("--no-{}", f.name)],
            ]
        } else {
            let value = match &f.default {
                Some(d) if !d.is_empty() => d.clone(),
                _ => sample_value(&f.name).to_owned(),
            };
            vec![
                vec![format!("--{}={value}", f.name)],
                vec![format!("--{}", f.name), value],
            ]
        };
        for args in forms {
            let (code, stderr) = run(&args);
            assert_eq!(code, Some(0), "tidemark {args:?} check config: {stderr}");
            tried += 1;
        }
    }
    println!(
        "{} flags of prometheus --help (3.5), {tried} forms accepted",
        flags.len()
    );
    let (code, _) = run(&["--no.such-flag".to_owned()]);
    assert_eq!(code, Some(2), "an unknown flag exits 2");
    let (code, stderr) = run(&["--web.enable-lifecycle=false".to_owned()]);
    assert_eq!(
        code,
        Some(2),
        "a boolean takes no value, as in kingpin: {stderr}"
    );
}

/// Flags whose values differ between the two servers started the same way, with the reason.
/// Each entry must still differ (the test fails otherwise, so the list stays honest).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "web.console.templates",
        "Debian's build defaults to /etc/prometheus/consoles; Tidemark keeps upstream's `consoles`",
    ),
    (
        "web.console.libraries",
        "Debian's build defaults to /etc/prometheus/console_libraries; Tidemark keeps upstream's",
    ),
    (
        "storage.agent.path",
        "Debian's build defaults to /var/lib/prometheus/data-agent/; Tidemark keeps upstream's",
    ),
];

/// Flags whose values are the test's own per-server paths and ports.
const PER_SERVER: &[&str] = &["config.file", "storage.tsdb.path", "web.listen-address"];

#[test]
fn status_flags_match_prometheus_3_5() {
    // Non-default values both must print back the same way (canonical durations and sizes).
    let shared = [
        "--query.timeout=120s",
        "--storage.tsdb.retention.size=512MB",
        "--enable-feature=promql-duration-expr,native-histograms",
        "--web.cors.origin=https?://x\\.org",
    ];
    let prom = PromServer::start_with(&PromOptions {
        extra_args: shared.iter().map(|s| s.to_string()).collect(),
        ..PromOptions::default()
    })
    .expect("starting Prometheus 3.5");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prometheus.yml"), "scrape_configs: []\n").unwrap();
    let port = free_port();
    // A second listener: --web.listen-address can be repeated.
    let port2 = free_port();
    // The flags PromServer starts Prometheus with, plus two flags Tidemark does not act on.
    let child = tidemark_command(port, dir.path())
        .arg("--web.enable-remote-write-receiver")
        .arg("--storage.tsdb.retention.time=100y")
        .arg("--log.level=info")
        .arg("--rules.alert.resend-delay=1m")
        .arg("--no-auto-gomaxprocs")
        .arg(format!("--web.listen-address=127.0.0.1:{port2}"))
        .args(shared)
        .spawn()
        .unwrap();
    let _tm = Proc(child);
    wait_for("tidemark to be ready", Duration::from_secs(30), || {
        http_get(port, "/-/ready").is_some_and(|(s, _)| s == 200)
    });
    assert_eq!(
        http_get(port2, "/-/ready").map(|(s, _)| s),
        Some(200),
        "the second listen address serves too"
    );
    let flags = |port: u16| -> BTreeMap<String, String> {
        let (s, body) = http_get(port, "/api/v1/status/flags").unwrap();
        assert_eq!(s, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect()
    };
    let mut p = flags(prom.port());
    let t = flags(port);
    // Prometheus was not given --no-auto-gomaxprocs; its value is the default, true.
    assert_eq!(t["auto-gomaxprocs"], "false");
    assert_eq!(
        t["web.listen-address"],
        format!("127.0.0.1:{port},127.0.0.1:{port2}")
    );
    p.insert("auto-gomaxprocs".into(), "false".into());
    assert_eq!(
        t.keys().collect::<Vec<_>>(),
        p.keys().collect::<Vec<_>>(),
        "the same flags"
    );
    let mut excused = 0;
    for (k, pv) in &p {
        if PER_SERVER.contains(&k.as_str()) {
            continue;
        }
        let tv = &t[k];
        match KNOWN_DIFFERENCES.iter().find(|(n, _)| n == k) {
            Some((_, why)) => {
                assert_ne!(
                    tv, pv,
                    "{k} no longer differs ({why}): remove it from the list"
                );
                excused += 1;
            }
            None => assert_eq!(tv, pv, "--{k}"),
        }
    }
    println!(
        "{} flags compared, {excused} known differences excused",
        p.len() - PER_SERVER.len()
    );
    // The inactive flag given is logged once at start.
    let log = std::fs::read_to_string(dir.path().join("tidemark.log")).unwrap();
    let lines = log
        .lines()
        .filter(|l| {
            l.contains("flag accepted but has no effect") && l.contains("rules.alert.resend-delay")
        })
        .count();
    assert_eq!(lines, 1, "{log}");
}
