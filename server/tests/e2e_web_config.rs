//! `--web.config.file` through the real binary: TLS with a certificate from a throw-away CA,
//! client certificates required and verified, and basic auth with a bcrypt hash; a bad web
//! config stops the start with an error naming the field.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{free_port, http_get, tidemark_command, Proc};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, written as PEM files.
struct Pki {
    ca_pem: String,
    client_cert: CertificateDer<'static>,
    client_key: Vec<u8>,
}

fn make_pki(dir: &Path) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tidemark test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    let ckey = KeyPair::generate().unwrap();
    let mut cparams = CertificateParams::new(Vec::<String>::new()).unwrap();
    cparams
        .distinguished_name
        .push(DnType::CommonName, "grafana");
    let ccert = cparams.signed_by(&ckey, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        client_cert: ccert.der().clone(),
        client_key: ckey.serialize_der(),
    }
}

fn tls_client(pki: &Pki, with_cert: bool) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(if with_cert {
        b.with_client_auth_cert(
            vec![pki.client_cert.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.client_key.clone())),
        )
        .unwrap()
    } else {
        b.with_no_client_auth()
    })
}

/// GET `path` over TLS; `Err` when the handshake or the connection fails.
fn https_get(
    port: u16,
    client: Arc<rustls::ClientConfig>,
    path: &str,
    auth: Option<&str>,
) -> Result<(u16, String), String> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(client, name).map_err(|e| e.to_string())?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let auth = auth
        .map(|a| {
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(a)
            )
        })
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        // Servers may close without close_notify once the response is complete.
        Err(e) if !out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {text:?}"))?;
    Ok((status, text))
}

fn start(dir: &Path, web_config: &str) -> (Proc, u16) {
    let port = free_port();
    std::fs::write(dir.join("web.yml"), web_config).unwrap();
    std::fs::write(dir.join("prometheus.yml"), "scrape_configs: []\n").unwrap();
    let child = tidemark_command(port, dir)
        .arg("--web.config.file=web.yml")
        .current_dir(dir)
        .spawn()
        .unwrap();
    (Proc(child), port)
}

#[test]
fn tls_client_certificates_and_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    // Relative file names are resolved against the web config's folder.
    let web = format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  grafana: {hash}\n"
    );
    let (_tidemark, port) = start(dir.path(), &web);
    let with_cert = tls_client(&pki, true);
    let start = Instant::now();
    let ready = loop {
        match https_get(port, with_cert.clone(), "/-/ready", Some("grafana:s3cret")) {
            Ok((200, _)) => break true,
            _ if start.elapsed() > Duration::from_secs(30) => break false,
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    let log = || std::fs::read_to_string(dir.path().join("tidemark.log")).unwrap_or_default();
    assert!(ready, "not ready over TLS: {}", log());

    let (status, text) = https_get(
        port,
        with_cert.clone(),
        "/api/v1/query?query=1%2B1",
        Some("grafana:s3cret"),
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"2\""), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("x-frame-options: deny"),
        "{text}"
    );
    // Wrong password, unknown user, no credentials: 401 with a Basic challenge.
    for auth in [Some("grafana:nope"), Some("admin:s3cret"), None] {
        let (status, text) = https_get(port, with_cert.clone(), "/-/healthy", auth).unwrap();
        assert_eq!(status, 401, "{auth:?}: {text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{text}"
        );
    }
    // Without a client certificate the handshake is refused.
    assert!(https_get(
        port,
        tls_client(&pki, false),
        "/-/healthy",
        Some("grafana:s3cret")
    )
    .is_err());
    // Plain HTTP gets no answer it could use.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[test]
fn bad_web_config_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    for (web, want) in [
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "cert_file",
        ),
        (
            "basic_auth_users:\n  alice: plain-text\n",
            "basic_auth_users.alice",
        ),
        ("tls_server_config:\n  cert_fle: x\n", "cert_fle"),
    ] {
        let (mut p, _) = start(dir.path(), web);
        let status = p.0.wait().unwrap();
        assert!(!status.success(), "{web}");
        let log = std::fs::read_to_string(dir.path().join("tidemark.log")).unwrap();
        assert!(log.contains(want), "{web}: {log}");
    }
}

/// Without TLS or users in the web config, plain HTTP with no auth, as Prometheus. `/metrics`
/// carries the HTTP, query-engine, storage, scrape and process families, and Prometheus's own
/// `promtool check metrics` finds nothing wrong with it.
#[test]
fn plain_http_and_self_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (_tidemark, port) = start(dir.path(), "http_server_config:\n  http2: false\n");
    let start = Instant::now();
    while http_get(port, "/-/ready").map(|r| r.0) != Some(200) {
        assert!(start.elapsed() < Duration::from_secs(30), "not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = http_get(port, "/api/v1/query?query=1%2B1").unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, metrics) = http_get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    for want in [
        "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 1",
        "prometheus_http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.1\"}",
        "prometheus_engine_query_duration_seconds_count{slice=\"inner_eval\"} 1",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "prometheus_tsdb_head_series 0",
        "prometheus_target_scrapes_total 0",
        "prometheus_config_last_reload_successful 1",
    ] {
        assert!(metrics.contains(want), "missing {want:?} in\n{metrics}");
    }
    let mut promtool = Command::new(tidemark_tests::peers::require(
        tidemark_tests::peers::Peer::Promtool,
    ))
    .args(["check", "metrics"])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("starting promtool");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
