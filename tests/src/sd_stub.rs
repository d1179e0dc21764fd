//! Loopback stand-ins for what service discovery talks to: a tiny authoritative DNS server
//! (UDP, A / AAAA / SRV / MX / NS / CNAME answers, name compression in answers) and a tiny
//! HTTP/1.1 server whose routes a test sets and changes (an HTTP SD endpoint, an OAuth 2.0
//! token endpoint, a `/metrics` page that wants a bearer token). Both run on background
//! threads until dropped and record what they were asked.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One DNS answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsRecord {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A service: priority 10, weight 5, `port`, `target` (a fully qualified name).
    Srv {
        /// The port.
        port: u16,
        /// The target host, e.g. `web.test.`.
        target: String,
    },
    /// A mail exchanger (preference 10).
    Mx(String),
    /// A name server.
    Ns(String),
    /// An alias (sent before the other answers; DNS SD skips it).
    Cname(String),
}

impl DnsRecord {
    fn type_code(&self) -> u16 {
        match self {
            DnsRecord::A(_) => 1,
            DnsRecord::Ns(_) => 2,
            DnsRecord::Cname(_) => 5,
            DnsRecord::Mx(_) => 15,
            DnsRecord::Aaaa(_) => 28,
            DnsRecord::Srv { .. } => 33,
        }
    }
}

/// The zone: `(lower-case fully qualified name, query type code)` → answers. A name that is
/// absent for every type is NXDOMAIN; present for another type only: an empty success.
pub type Zone = HashMap<(String, u16), Vec<DnsRecord>>;

/// The query type codes DNS SD uses: A, NS, MX, AAAA, SRV.
pub const TYPE_A: u16 = 1;
/// NS.
pub const TYPE_NS: u16 = 2;
/// MX.
pub const TYPE_MX: u16 = 15;
/// AAAA.
pub const TYPE_AAAA: u16 = 28;
/// SRV.
pub const TYPE_SRV: u16 = 33;

/// A DNS server on 127.0.0.1 (UDP), answering from a zone the test may change at any time.
pub struct DnsServer {
    addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    queries: Arc<Mutex<Vec<(String, u16)>>>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    /// Starts answering from `zone`.
    pub fn start(zone: Zone) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind DNS socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let zone = Arc::new(Mutex::new(zone));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (z, q, s) = (zone.clone(), queries.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some((answer, asked)) = answer(&buf[..n], &z.lock().unwrap()) {
                    q.lock().unwrap().push(asked);
                    let _ = socket.send_to(&answer, from);
                }
            }
        });
        DnsServer {
            addr,
            zone,
            queries,
            stop,
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the answers for `(name, type)` (an empty list removes the name for that type).
    pub fn set(&self, name: &str, qtype: u16, records: Vec<DnsRecord>) {
        let key = (name.to_ascii_lowercase(), qtype);
        let mut zone = self.zone.lock().unwrap();
        if records.is_empty() {
            zone.remove(&key);
        } else {
            zone.insert(key, records);
        }
    }

    /// Every `(name, type)` asked so far.
    pub fn queries(&self) -> Vec<(String, u16)> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads the question name at `pos` (queries carry no compression).
fn read_qname(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    loop {
        let len = *msg.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        name.push_str(std::str::from_utf8(msg.get(pos..pos + len)?).ok()?);
        name.push('.');
        pos += len;
    }
    if name.is_empty() {
        name.push('.');
    }
    Some((name, pos))
}

/// Encodes `name` uncompressed.
fn put_name(out: &mut Vec<u8>, name: &str) {
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// The response to one query, and what was asked.
fn answer(query: &[u8], zone: &Zone) -> Option<(Vec<u8>, (String, u16))> {
    if query.len() < 12 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let (name, pos) = read_qname(query, 12)?;
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let question = &query[12..pos + 4];
    let lower = name.to_ascii_lowercase();
    let known = zone.keys().any(|(n, _)| *n == lower);
    let records = zone
        .get(&(lower.clone(), qtype))
        .cloned()
        .unwrap_or_default();
    let rcode: u16 = if known { 0 } else { 3 };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[0..2]);
    // QR, opcode 0, AA, RD copied, RA.
    let rd = u16::from_be_bytes([query[2], query[3]]) & 0x0100;
    out.extend_from_slice(&(0x8400 | rd | 0x0080 | rcode).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(records.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(question);
    // CNAMEs first, as resolvers send them.
    let mut ordered: Vec<&DnsRecord> = records
        .iter()
        .filter(|r| matches!(r, DnsRecord::Cname(_)))
        .collect();
    ordered.extend(records.iter().filter(|r| !matches!(r, DnsRecord::Cname(_))));
    for r in ordered {
        // The owner name: a pointer to the question name at offset 12.
        out.extend_from_slice(&[0xc0, 12]);
        out.extend_from_slice(&r.type_code().to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&30u32.to_be_bytes());
        let mut rdata = Vec::new();
        match r {
            DnsRecord::A(ip) => rdata.extend_from_slice(&ip.octets()),
            DnsRecord::Aaaa(ip) => rdata.extend_from_slice(&ip.octets()),
            DnsRecord::Srv { port, target } => {
                rdata.extend_from_slice(&10u16.to_be_bytes());
                rdata.extend_from_slice(&5u16.to_be_bytes());
                rdata.extend_from_slice(&port.to_be_bytes());
                put_name(&mut rdata, target);
            }
            DnsRecord::Mx(host) => {
                rdata.extend_from_slice(&10u16.to_be_bytes());
                put_name(&mut rdata, host);
            }
            DnsRecord::Ns(host) | DnsRecord::Cname(host) => put_name(&mut rdata, host),
        }
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some((out, (lower, qtype)))
}

/// One request the HTTP stub received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query string.
    pub path: String,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl StubRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response of the HTTP stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubResponse {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: String,
    /// The body.
    pub body: String,
}

impl StubResponse {
    /// A 200 with `content_type` and `body`.
    pub fn ok(content_type: &str, body: impl Into<String>) -> StubResponse {
        StubResponse {
            status: 200,
            content_type: content_type.to_owned(),
            body: body.into(),
        }
    }

    /// An empty response with `status`.
    pub fn status(status: u16) -> StubResponse {
        StubResponse {
            status,
            content_type: "text/plain".to_owned(),
            body: String::new(),
        }
    }
}

type Handler = Arc<dyn Fn(&StubRequest) -> StubResponse + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1 whose routes (exact paths, query string ignored) the test
/// sets; unknown paths are 404. Every request is recorded.
pub struct HttpStub {
    port: u16,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
    requests: Arc<Mutex<Vec<StubRequest>>>,
    stop: Arc<AtomicBool>,
}

impl Default for HttpStub {
    fn default() -> Self {
        HttpStub::start()
    }
}

impl HttpStub {
    /// Starts with no routes.
    pub fn start() -> HttpStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind HTTP stub");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let routes: Arc<Mutex<HashMap<String, Handler>>> = Arc::default();
        let requests: Arc<Mutex<Vec<StubRequest>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, q, s) = (routes.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (r, q) = (r.clone(), q.clone());
                        std::thread::spawn(move || serve(stream, &r, &q));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HttpStub {
            port,
            routes,
            requests,
            stop,
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:port<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sets (or replaces) the handler of `path`.
    pub fn route(
        &self,
        path: &str,
        handler: impl Fn(&StubRequest) -> StubResponse + Send + Sync + 'static,
    ) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), Arc::new(handler));
    }

    /// Every request received so far on `path` (query string ignored).
    pub fn requests_to(&self, path: &str) -> Vec<StubRequest> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.split('?').next() == Some(path))
            .cloned()
            .collect()
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    stream: TcpStream,
    routes: &Mutex<HashMap<String, Handler>>,
    requests: &Mutex<Vec<StubRequest>>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    // Keep-alive: serve requests until the client closes the connection.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                let n = n.trim().to_ascii_lowercase();
                let v = v.trim().to_owned();
                if n == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((n, v));
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = StubRequest {
            method,
            path: path.clone(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        requests.lock().unwrap().push(request.clone());
        let route = path.split('?').next().unwrap_or("").to_owned();
        let handler = routes.lock().unwrap().get(&route).cloned();
        let response = match handler {
            Some(h) => h(&request),
            None => StubResponse::status(404),
        };
        let head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            response.status,
            response.content_type,
            response.body.len()
        );
        if writer.write_all(head.as_bytes()).is_err()
            || writer.write_all(response.body.as_bytes()).is_err()
        {
            return;
        }
    }
}
