//! `dns_sd_configs`: targets from DNS records (SRV, A, AAAA, MX, NS), as Prometheus 3.5.
//!
//! Every `refresh_interval` each name is looked up; each name is one target group (source =
//! the name). SRV records give `<target>:<port>` (trailing dot removed) with
//! `__meta_dns_srv_record_target` / `__meta_dns_srv_record_port`; A and AAAA give
//! `<address>:<port>`; MX and NS give `<host>:<port>` with `__meta_dns_mx_record_target` /
//! `__meta_dns_ns_record_target`. Every target has `__meta_dns_name` and all five meta labels
//! (empty where they do not apply), as Prometheus sets them.
//!
//! Resolution follows Prometheus's `lookupWithSearchPath`: the nameservers, `search` list and
//! `ndots` of `/etc/resolv.conf`; the candidate names are tried in order, each against every
//! server, and the first answer with RCODE success wins; when every candidate gets NXDOMAIN
//! the group is empty; when some server errors for a candidate and none succeeds the lookup
//! fails and the group keeps its last targets. Queries go over UDP with a retry over TCP when
//! the answer is truncated.
//!
//! For tests, the environment variable [`NAMESERVER_ENV`] (`host:port`) replaces the servers
//! of `/etc/resolv.conf` (search domains are then not used); production setups should leave
//! it unset.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{GroupSender, LabelSet, TargetGroup};
use crate::config::Duration as ConfigDuration;

/// Environment variable naming one nameserver (`host:port`) that replaces `/etc/resolv.conf`'s:
/// for tests against a DNS server on loopback.
pub const NAMESERVER_ENV: &str = "TIDEMARK_DNS_SD_NAMESERVER";

/// Prometheus's default `refresh_interval` for DNS SD.
pub const DEFAULT_REFRESH_INTERVAL: ConfigDuration = ConfigDuration::from_secs(30);

/// How long one query waits for its answer (miekg/dns's default read timeout).
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// A record type DNS SD asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// `SRV` (the default).
    Srv,
    /// `A`.
    A,
    /// `AAAA`.
    Aaaa,
    /// `MX`.
    Mx,
    /// `NS`.
    Ns,
}

impl RecordType {
    /// Parses `type` case-insensitively; the error is Prometheus's.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "SRV" => RecordType::Srv,
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "MX" => RecordType::Mx,
            "NS" => RecordType::Ns,
            _ => return Err(format!("invalid DNS-SD records type {s}")),
        })
    }

    fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Mx => 15,
            RecordType::Aaaa => 28,
            RecordType::Srv => 33,
        }
    }
}

/// One `dns_sd_configs` entry, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSdConfig {
    /// `names` (at least one).
    pub names: Vec<String>,
    /// `type` (default SRV).
    pub record_type: RecordType,
    /// `port`: required for every type but SRV.
    pub port: u16,
    /// `refresh_interval` (default 30s).
    pub refresh_interval: ConfigDuration,
}

/// The YAML form of a `dns_sd_configs` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsSdConfigYaml {
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    refresh_interval: Option<ConfigDuration>,
    #[serde(default, rename = "type")]
    record_type: Option<String>,
    #[serde(default)]
    port: Option<i64>,
}

impl<'de> Deserialize<'de> for DnsSdConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let y = DnsSdConfigYaml::deserialize(d)?;
        DnsSdConfig::from_yaml(y).map_err(serde::de::Error::custom)
    }
}

impl DnsSdConfig {
    fn from_yaml(y: DnsSdConfigYaml) -> Result<Self, String> {
        let names = y.names.unwrap_or_default();
        if names.is_empty() {
            return Err("DNS-SD config must contain at least one SRV record name".to_owned());
        }
        let ty = y.record_type.unwrap_or_else(|| "SRV".to_owned());
        let record_type = RecordType::parse(&ty)?;
        let port = y.port.unwrap_or(0);
        if record_type != RecordType::Srv && port == 0 {
            return Err(
                "a port is required in DNS-SD configs for all record types except SRV".to_owned(),
            );
        }
        let port = u16::try_from(port).map_err(|_| format!("invalid DNS-SD port {port}"))?;
        Ok(DnsSdConfig {
            names,
            record_type,
            port,
            refresh_interval: y.refresh_interval.unwrap_or(DEFAULT_REFRESH_INTERVAL),
        })
    }
}

/// One answer record DNS SD uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A service: target host (as written, with its trailing dot) and port.
    Srv {
        /// The target host.
        target: String,
        /// The port.
        port: u16,
    },
    /// A mail exchanger host.
    Mx(String),
    /// A name server host.
    Ns(String),
    /// Any other record (CNAME and the like): skipped.
    Other(u16),
}

/// A parsed DNS response: its RCODE, truncation bit and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The response code (0 success, 3 NXDOMAIN).
    pub rcode: u8,
    /// TC: the answer did not fit.
    pub truncated: bool,
    /// The answer section.
    pub answers: Vec<Record>,
}

/// A DNS message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DNS message: {0}")]
pub struct WireError(&'static str);

/// Encodes a query for `name` (made fully qualified) of type `ty` with id `id`, recursion
/// desired.
pub fn encode_query(id: u16, name: &str, ty: RecordType) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let bytes = &label.as_bytes()[..label.len().min(63)];
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.push(0);
    out.extend_from_slice(&ty.code().to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // IN
    out
}

/// Decodes a response to the query with id `id`. Never panics for any input.
pub fn decode_response(id: u16, msg: &[u8]) -> Result<Response, WireError> {
    let u16_at = |i: usize| -> Result<u16, WireError> {
        msg.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(WireError("truncated"))
    };
    if u16_at(0)? != id {
        return Err(WireError("id mismatch"));
    }
    let flags = u16_at(2)?;
    if flags & 0x8000 == 0 {
        return Err(WireError("not a response"));
    }
    let qd = u16_at(4)?;
    let an = u16_at(6)?;
    let mut pos = 12;
    for _ in 0..qd {
        let (_, next) = read_name(msg, pos)?;
        pos = next + 4;
    }
    let mut answers = Vec::with_capacity(an as usize);
    for _ in 0..an {
        let (_, next) = read_name(msg, pos)?;
        let ty = u16_at(next)?;
        let rdlen = u16_at(next + 8)? as usize;
        let rdata = next + 10;
        if msg.len() < rdata + rdlen {
            return Err(WireError("record data past the end"));
        }
        let record = match ty {
            1 if rdlen == 4 => {
                let b = &msg[rdata..rdata + 4];
                Record::A(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            28 if rdlen == 16 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(&msg[rdata..rdata + 16]);
                Record::Aaaa(Ipv6Addr::from(b))
            }
            33 => {
                let port = u16_at(rdata + 4)?;
                let (target, _) = read_name(msg, rdata + 6)?;
                Record::Srv { target, port }
            }
            15 => Record::Mx(read_name(msg, rdata + 2)?.0),
            2 => Record::Ns(read_name(msg, rdata)?.0),
            1 | 28 => return Err(WireError("bad address length")),
            other => Record::Other(other),
        };
        answers.push(record);
        pos = rdata + rdlen;
    }
    Ok(Response {
        rcode: (flags & 0x000f) as u8,
        truncated: flags & 0x0200 != 0,
        answers,
    })
}

/// Reads a (possibly compressed) name at `pos`: the name, fully qualified (trailing dot), and
/// the position after it in the original stream.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), WireError> {
    let mut name = String::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(WireError("name past the end"))? as usize;
        if len == 0 {
            pos += 1;
            break;
        }
        if len & 0xc0 == 0xc0 {
            let lo = *msg.get(pos + 1).ok_or(WireError("pointer past the end"))? as usize;
            end.get_or_insert(pos + 2);
            pos = ((len & 0x3f) << 8) | lo;
            jumps += 1;
            if jumps > 64 {
                return Err(WireError("compression loop"));
            }
            continue;
        }
        if len & 0xc0 != 0 {
            return Err(WireError("bad label length"));
        }
        let label = msg
            .get(pos + 1..pos + 1 + len)
            .ok_or(WireError("label past the end"))?;
        name.push_str(&String::from_utf8_lossy(label));
        name.push('.');
        pos += 1 + len;
        if name.len() > 1024 {
            return Err(WireError("name too long"));
        }
    }
    if name.is_empty() {
        name.push('.');
    }
    Ok((name, end.unwrap_or(pos)))
}

/// The resolver settings: servers, search domains, `ndots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// Nameserver addresses (port 53 unless given).
    pub servers: Vec<SocketAddr>,
    /// `search` domains.
    pub search: Vec<String>,
    /// `options ndots:N` (default 1).
    pub ndots: usize,
}

impl ResolvConf {
    /// Parses `/etc/resolv.conf` text.
    pub fn parse(text: &str) -> ResolvConf {
        let mut conf = ResolvConf {
            servers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
        };
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) {
                        conf.servers.push(SocketAddr::new(ip, 53));
                    }
                }
                Some("search") | Some("domain") => {
                    conf.search = words.map(str::to_owned).collect();
                }
                Some("options") => {
                    for w in words {
                        if let Some(n) = w.strip_prefix("ndots:").and_then(|n| n.parse().ok()) {
                            conf.ndots = n;
                        }
                    }
                }
                _ => {}
            }
        }
        conf
    }

    /// The system's settings, or the test nameserver of [`NAMESERVER_ENV`].
    pub fn system() -> Result<ResolvConf, String> {
        if let Some(addr) = std::env::var_os(NAMESERVER_ENV) {
            let addr = addr.to_string_lossy();
            let server: SocketAddr = addr
                .parse()
                .map_err(|e| format!("{NAMESERVER_ENV}={addr:?}: {e}"))?;
            return Ok(ResolvConf {
                servers: vec![server],
                search: Vec::new(),
                ndots: 1,
            });
        }
        let text = std::fs::read_to_string("/etc/resolv.conf")
            .map_err(|e| format!("could not load resolv.conf: {e}"))?;
        Ok(ResolvConf::parse(&text))
    }

    /// The names to try for `name`, in order (miekg/dns's `NameList`).
    pub fn name_list(&self, name: &str) -> Vec<String> {
        if name.ends_with('.') {
            return vec![name.to_owned()];
        }
        let fq = format!("{name}.");
        let with_search = self
            .search
            .iter()
            .map(|s| format!("{name}.{}.", s.trim_end_matches('.')));
        if name.matches('.').count() >= self.ndots {
            std::iter::once(fq).chain(with_search).collect()
        } else {
            with_search.chain(std::iter::once(fq)).collect()
        }
    }
}

async fn ask_udp(server: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    socket.send(query).await?;
    let mut buf = vec![0u8; 65535];
    let n = socket.recv(&mut buf).await?;
    buf.truncate(n);
    Ok(buf)
}

async fn ask_tcp(server: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    let len = u16::try_from(query.len()).unwrap_or(u16::MAX);
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(query).await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Asks one server; retries over TCP when the UDP answer is truncated.
async fn ask(server: SocketAddr, name: &str, ty: RecordType) -> Result<Response, String> {
    let id = query_id();
    let query = encode_query(id, name, ty);
    let udp = tokio::time::timeout(QUERY_TIMEOUT, ask_udp(server, &query))
        .await
        .map_err(|_| format!("read udp {server}: i/o timeout"))?
        .map_err(|e| e.to_string())?;
    let response = decode_response(id, &udp).map_err(|e| e.to_string())?;
    if !response.truncated {
        return Ok(response);
    }
    let tcp = tokio::time::timeout(QUERY_TIMEOUT, ask_tcp(server, &query))
        .await
        .map_err(|_| format!("read tcp {server}: i/o timeout"))?
        .map_err(|e| e.to_string())?;
    let response = decode_response(id, &tcp).map_err(|e| e.to_string())?;
    if response.truncated {
        return Err("got truncated message on TCP (64kiB limit exceeded?)".to_owned());
    }
    Ok(response)
}

fn query_id() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(40503) ^ t) as u16
}

/// Looks `name` up as Prometheus's `lookupWithSearchPath` does.
pub async fn lookup(conf: &ResolvConf, name: &str, ty: RecordType) -> Result<Vec<Record>, String> {
    let mut all_valid = true;
    for candidate in conf.name_list(name) {
        let mut answered = None;
        for &server in &conf.servers {
            match ask(server, &candidate, ty).await {
                Ok(r) if r.rcode == 0 || r.rcode == 3 => {
                    answered = Some(r);
                    break;
                }
                Ok(r) => {
                    tracing::warn!(target: "discovery", server = %server, name = %candidate, rcode = r.rcode, "DNS resolution failed");
                }
                Err(e) => {
                    tracing::warn!(target: "discovery", server = %server, name = %candidate, error = %e, "DNS resolution failed");
                }
            }
        }
        match answered {
            Some(r) if r.rcode == 0 => return Ok(r.answers),
            Some(_) => {}
            None => all_valid = false,
        }
    }
    if all_valid {
        Ok(Vec::new())
    } else {
        Err(format!(
            "could not resolve {name:?}: all servers responded with errors to at least one search domain"
        ))
    }
}

/// The target group of one name's records.
pub fn group_for(name: &str, port: u16, records: &[Record]) -> TargetGroup {
    let host_port = |host: &str, port: u16| {
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    };
    let mut targets = Vec::new();
    for record in records {
        let (address, srv_target, srv_port, mx, ns) = match record {
            Record::Srv { target, port } => (
                host_port(target.trim_end_matches('.'), *port),
                target.clone(),
                port.to_string(),
                String::new(),
                String::new(),
            ),
            Record::A(ip) => (
                host_port(&ip.to_string(), port),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
            Record::Aaaa(ip) => (
                host_port(&ip.to_string(), port),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
            Record::Mx(host) => (
                host_port(host.trim_end_matches('.'), port),
                String::new(),
                String::new(),
                host.clone(),
                String::new(),
            ),
            Record::Ns(host) => (
                host_port(host.trim_end_matches('.'), port),
                String::new(),
                String::new(),
                String::new(),
                host.clone(),
            ),
            Record::Other(_) => continue,
        };
        targets.push(LabelSet::from([
            ("__address__".to_owned(), address),
            ("__meta_dns_name".to_owned(), name.to_owned()),
            ("__meta_dns_srv_record_target".to_owned(), srv_target),
            ("__meta_dns_srv_record_port".to_owned(), srv_port),
            ("__meta_dns_mx_record_target".to_owned(), mx),
            ("__meta_dns_ns_record_target".to_owned(), ns),
        ]));
    }
    TargetGroup {
        source: name.to_owned(),
        targets,
        labels: LabelSet::new(),
    }
}

/// Runs one DNS SD entry until the receiver is gone; `job` names it in logs.
pub async fn run(cfg: DnsSdConfig, job: String, tx: GroupSender) {
    let interval = cfg.refresh_interval.to_std();
    loop {
        match ResolvConf::system() {
            Ok(conf) => {
                let lookups = cfg.names.iter().map(|name| {
                    let conf = &conf;
                    async move { (name, lookup(conf, name, cfg.record_type).await) }
                });
                let mut groups = Vec::new();
                for (name, result) in futures::future::join_all(lookups).await {
                    match result {
                        Ok(records) => groups.push(group_for(name, cfg.port, &records)),
                        Err(e) => {
                            tracing::error!(target: "discovery", job = %job, name = %name, error = %e, "Error refreshing DNS targets")
                        }
                    }
                }
                if tx.send(groups).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(target: "discovery", job = %job, error = %e, "Error refreshing DNS targets")
            }
        }
        if interval.is_zero() {
            std::future::pending::<()>().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tx.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built answer with one SRV record whose target is compressed against the
    /// question name.
    fn srv_answer(id: u16) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&0x8180u16.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
        // Question: _x._tcp.example. SRV IN (name at offset 12).
        for l in ["_x", "_tcp", "example"] {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&[0, 33, 0, 1]);
        // Answer: pointer to the question name, SRV, IN, TTL 60.
        m.extend_from_slice(&[0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60]);
        let mut rdata = vec![0, 10, 0, 5, 0x23, 0x82];
        rdata.extend_from_slice(&[3, b'w', b'e', b'b', 0xc0, 12 + 3 + 5]);
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rdata);
        m
    }

    #[test]
    fn srv_answer_with_compression_decodes() {
        let r = decode_response(7, &srv_answer(7)).unwrap();
        assert_eq!(r.rcode, 0);
        assert_eq!(
            r.answers,
            vec![Record::Srv {
                target: "web.example.".to_owned(),
                port: 9090
            }]
        );
        assert!(decode_response(8, &srv_answer(7)).is_err());
    }

    #[test]
    fn decoding_never_panics_on_prefixes() {
        let full = srv_answer(1);
        for n in 0..full.len() {
            let _ = decode_response(1, &full[..n]);
        }
        let mut looped = srv_answer(1);
        let at = looped.len() - 2;
        looped[at] = 0xc0;
        looped[at + 1] = (at) as u8;
        let _ = decode_response(1, &looped);
    }

    #[test]
    fn query_encodes_name_and_type() {
        let q = encode_query(0x1234, "a.example", RecordType::Aaaa);
        assert_eq!(&q[..2], &[0x12, 0x34]);
        assert_eq!(&q[12..], b"\x01a\x07example\x00\x00\x1c\x00\x01");
    }

    #[test]
    fn groups_carry_prometheus_meta_labels() {
        let g = group_for(
            "_x._tcp.example",
            0,
            &[
                Record::Srv {
                    target: "web.example.".into(),
                    port: 80,
                },
                Record::Other(5),
            ],
        );
        assert_eq!(g.source, "_x._tcp.example");
        assert_eq!(g.targets.len(), 1);
        assert_eq!(g.targets[0]["__address__"], "web.example:80");
        assert_eq!(g.targets[0]["__meta_dns_srv_record_target"], "web.example.");
        assert_eq!(g.targets[0]["__meta_dns_srv_record_port"], "80");
        let g = group_for(
            "h",
            9100,
            &[
                Record::Aaaa(Ipv6Addr::LOCALHOST),
                Record::Mx("mx.h.".into()),
            ],
        );
        assert_eq!(g.targets[0]["__address__"], "[::1]:9100");
        assert_eq!(g.targets[1]["__address__"], "mx.h:9100");
        assert_eq!(g.targets[1]["__meta_dns_mx_record_target"], "mx.h.");
    }

    #[test]
    fn name_list_follows_ndots_and_search() {
        let conf =
            ResolvConf::parse("nameserver 127.0.0.53\nsearch a.org b.org\noptions ndots:2 edns0\n");
        assert_eq!(conf.servers, vec!["127.0.0.53:53".parse().unwrap()]);
        assert_eq!(
            conf.name_list("x.y"),
            vec!["x.y.a.org.", "x.y.b.org.", "x.y."]
        );
        assert_eq!(
            conf.name_list("x.y.z"),
            vec!["x.y.z.", "x.y.z.a.org.", "x.y.z.b.org."]
        );
        assert_eq!(conf.name_list("x."), vec!["x."]);
    }

    /// A response to `query` (its id and question echoed) with `flags` and one A record.
    fn a_response(query: &[u8], flags: u16, with_answer: bool) -> Vec<u8> {
        let qend = read_name(query, 12).unwrap().1 + 4;
        let mut m = query[..2].to_vec();
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, u8::from(with_answer), 0, 0, 0, 0]);
        m.extend_from_slice(&query[12..qend]);
        if with_answer {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 1, 2, 3]);
        }
        m
    }

    #[tokio::test]
    async fn truncated_udp_answers_are_asked_again_over_tcp() {
        // One port for both: TCP first, then UDP on the same number.
        let (tcp, udp) = loop {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = tcp.local_addr().unwrap().port();
            if let Ok(udp) = tokio::net::UdpSocket::bind(("127.0.0.1", port)).await {
                break (tcp, udp);
            }
        };
        let server = udp.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                // TC set, no answers: the client must retry over TCP.
                let _ = udp
                    .send_to(&a_response(&buf[..n], 0x8380, false), from)
                    .await;
            }
        });
        tokio::spawn(async move {
            while let Ok((mut s, _)) = tcp.accept().await {
                let mut len = [0u8; 2];
                s.read_exact(&mut len).await.unwrap();
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut q).await.unwrap();
                let r = a_response(&q, 0x8180, true);
                s.write_all(&(r.len() as u16).to_be_bytes()).await.unwrap();
                s.write_all(&r).await.unwrap();
            }
        });
        let conf = ResolvConf {
            servers: vec![server],
            search: Vec::new(),
            ndots: 1,
        };
        let records = lookup(&conf, "big.example", RecordType::A).await.unwrap();
        assert_eq!(records, vec![Record::A(Ipv4Addr::new(10, 1, 2, 3))]);
    }

    #[tokio::test]
    async fn nxdomain_everywhere_is_an_empty_answer_and_silence_an_error() {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = udp.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let _ = udp
                    .send_to(&a_response(&buf[..n], 0x8183, false), from)
                    .await;
            }
        });
        let conf = ResolvConf {
            servers: vec![server],
            search: vec!["one.test".into(), "two.test".into()],
            ndots: 1,
        };
        assert_eq!(lookup(&conf, "x", RecordType::A).await, Ok(Vec::new()));
        // A server that never answers: the lookup fails (and the group keeps its targets).
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let conf = ResolvConf {
            servers: vec![silent.local_addr().unwrap()],
            search: Vec::new(),
            ndots: 1,
        };
        let e = lookup(&conf, "x.", RecordType::A).await.unwrap_err();
        assert!(e.contains("all servers responded with errors"), "{e}");
    }

    #[test]
    fn config_checks_match_prometheus() {
        let parse = |y: &str| serde_yaml::from_str::<DnsSdConfig>(y).map_err(|e| e.to_string());
        assert!(parse("{names: []}")
            .unwrap_err()
            .contains("at least one SRV record name"));
        assert!(parse("{names: [a], type: A}")
            .unwrap_err()
            .contains("a port is required"));
        assert!(parse("{names: [a], type: TXT, port: 1}")
            .unwrap_err()
            .contains("invalid DNS-SD records type TXT"));
        let c = parse("{names: [a], type: mx, port: 25}").unwrap();
        assert_eq!(c.record_type, RecordType::Mx);
        assert_eq!(c.refresh_interval, DEFAULT_REFRESH_INTERVAL);
    }
}
