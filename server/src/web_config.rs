//! `--web.config.file`: Prometheus's web configuration (the exporter-toolkit format) — TLS for
//! the HTTP server, optionally verifying client certificates, response headers, and basic
//! authentication with bcrypt-hashed passwords.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # both or neither
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default),
//!                                                  # VerifyClientCertIfGiven
//!   client_ca_file: ca.crt         # needed to verify client certificates
//!   min_version: TLS12             # TLS12 (default) or TLS13; also max_version
//! http_server_config:
//!   http2: true
//!   headers: {X-Frame-Options: deny}
//! basic_auth_users:
//!   alice: $2y$10$...              # bcrypt hashes
//! ```
//!
//! Relative file names are resolved against the web config file's folder. Unknown fields are
//! errors, as in Prometheus. `RequestClientCert` and `RequireAnyClientCert` (asking for a
//! certificate without verifying it) and TLS versions below 1.2 are refused with an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

/// The parsed and validated web configuration.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// TLS for the listener, if configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic-auth users and their bcrypt hashes; empty = no authentication.
    pub users: BTreeMap<String, String>,
    /// Headers added to every response.
    pub headers: Vec<(String, String)>,
    /// Whether HTTP/2 is offered over TLS.
    pub http2: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    http_server_config: Option<HttpFile>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    #[serde(default)]
    client_auth_type: String,
    #[serde(default)]
    client_ca_file: String,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    /// Accepted for compatibility; rustls picks among its own secure suites.
    #[serde(default)]
    #[allow(dead_code)]
    cipher_suites: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    curve_preferences: Vec<String>,
    #[serde(default)]
    client_allowed_sans: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    #[serde(default = "yes")]
    http2: bool,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// Headers Prometheus lets the web config set.
const ALLOWED_HEADERS: &[&str] = &[
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

impl WebConfig {
    /// Reads, parses and validates `path`; every error names the file and the field.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let fail = |m: String| format!("web config {}: {m}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, dir).map_err(fail)
    }

    /// Parses and validates the text of a web config; file names are relative to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| e.to_string())?
        };
        let http = file.http_server_config.unwrap_or(HttpFile {
            http2: true,
            headers: BTreeMap::new(),
        });
        let mut headers = Vec::new();
        for (name, value) in http.headers {
            let Some(canonical) = ALLOWED_HEADERS
                .iter()
                .find(|h| h.eq_ignore_ascii_case(&name))
            else {
                return Err(format!(
                    "http_server_config.headers: header {name:?} can't be customized"
                ));
            };
            headers.push(((*canonical).to_owned(), value));
        }
        let users = file.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(format!(
                    "basic_auth_users.{user}: the password must be a bcrypt hash"
                ));
            }
        }
        let tls = match file.tls_server_config {
            Some(t) => tls_config(t, dir, http.http2)?,
            None => None,
        };
        Ok(WebConfig {
            tls,
            users,
            headers,
            http2: http.http2,
        })
    }
}

fn resolve(dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

fn tls_version(
    field: &str,
    v: &Option<String>,
) -> Result<Option<&'static rustls::SupportedProtocolVersion>, String> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some("TLS12") => Ok(Some(&rustls::version::TLS12)),
        Some("TLS13") => Ok(Some(&rustls::version::TLS13)),
        Some(v @ ("TLS10" | "TLS11")) => Err(format!(
            "tls_server_config.{field}: {v} is not supported (TLS12 and TLS13 are)"
        )),
        Some(v) => Err(format!(
            "tls_server_config.{field}: unknown TLS version: {v}"
        )),
    }
}

fn tls_config(
    t: TlsFile,
    dir: &Path,
    http2: bool,
) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    if t.cert_file.is_empty() && t.key_file.is_empty() {
        if !t.client_ca_file.is_empty() || !t.client_auth_type.is_empty() {
            return Err(
                "tls_server_config: client authentication needs cert_file and key_file".into(),
            );
        }
        return Ok(None);
    }
    if t.cert_file.is_empty() {
        return Err("tls_server_config: missing cert_file".into());
    }
    if t.key_file.is_empty() {
        return Err("tls_server_config: missing key_file".into());
    }
    let cert_path = resolve(dir, &t.cert_file);
    let key_path = resolve(dir, &t.key_file);
    let certs = read_certs(&cert_path)
        .map_err(|e| format!("tls_server_config.cert_file {}: {e}", cert_path.display()))?;
    let key = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::PrivateKeyDer::from_pem_file(&key_path)
            .map_err(|e| format!("tls_server_config.key_file {}: {e}", key_path.display()))?
    };
    let min = tls_version("min_version", &t.min_version)?.unwrap_or(&rustls::version::TLS12);
    let max = tls_version("max_version", &t.max_version)?.unwrap_or(&rustls::version::TLS13);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| {
                let n = |v: &rustls::SupportedProtocolVersion| u16::from(v.version);
                n(v) >= n(min) && n(v) <= n(max)
            })
            .collect();
    if versions.is_empty() {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let verify = |allow_unauthenticated: bool| -> Result<_, String> {
        if t.client_ca_file.is_empty() {
            return Err(format!(
                "tls_server_config: client_auth_type {} needs client_ca_file",
                t.client_auth_type
            ));
        }
        let ca_path = resolve(dir, &t.client_ca_file);
        let mut roots = rustls::RootCertStore::empty();
        for c in read_certs(&ca_path).map_err(|e| {
            format!(
                "tls_server_config.client_ca_file {}: {e}",
                ca_path.display()
            )
        })? {
            roots.add(c).map_err(|e| {
                format!(
                    "tls_server_config.client_ca_file {}: {e}",
                    ca_path.display()
                )
            })?;
        }
        let b = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        );
        let b = if allow_unauthenticated {
            b.allow_unauthenticated()
        } else {
            b
        };
        b.build().map_err(|e| format!("tls_server_config: {e}"))
    };
    if !t.client_allowed_sans.is_empty() {
        return Err("tls_server_config.client_allowed_sans is not supported by Tidemark".into());
    }
    let builder = match t.client_auth_type.as_str() {
        "" | "NoClientCert" => {
            if !t.client_ca_file.is_empty() {
                return Err(
                    "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert"
                        .into(),
                );
            }
            builder.with_no_client_auth()
        }
        "VerifyClientCertIfGiven" => builder.with_client_cert_verifier(verify(true)?),
        "RequireAndVerifyClientCert" => builder.with_client_cert_verifier(verify(false)?),
        a @ ("RequestClientCert" | "RequireAnyClientCert") => {
            return Err(format!(
                "tls_server_config.client_auth_type: {a} (unverified client certificates) is not supported by Tidemark"
            ))
        }
        other => return Err(format!("tls_server_config: invalid ClientAuth: {other}")),
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls_server_config: cert_file and key_file: {e}"))?;
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Some(Arc::new(cfg)))
}

fn read_certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebConfig, String> {
        WebConfig::parse(text, Path::new("/nonexistent"))
    }

    #[test]
    fn empty_and_auth_only_configs() {
        let c = parse("").unwrap();
        assert!(c.tls.is_none() && c.users.is_empty() && c.http2);
        let c = parse(
            "basic_auth_users:\n  alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n",
        )
        .unwrap();
        assert_eq!(c.users.len(), 1);
        let c = parse("http_server_config:\n  headers:\n    x-frame-options: deny\n").unwrap();
        assert_eq!(
            c.headers,
            [("X-Frame-Options".to_owned(), "deny".to_owned())]
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("basic_auth_users:\n  bob: plain\n", "basic_auth_users.bob"),
            (
                "tls_server_config:\n  cert_file: a.crt\n",
                "missing key_file",
            ),
            (
                "tls_server_config:\n  key_file: a.key\n",
                "missing cert_file",
            ),
            (
                "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n",
                "cert_file",
            ),
            (
                "tls_server_config:\n  certfile: a\n",
                "unknown field `certfile`",
            ),
            (
                "http_server_config:\n  headers:\n    Server: x\n",
                "can't be customized",
            ),
            ("nonsense: 1\n", "unknown field `nonsense`"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
