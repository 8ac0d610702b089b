//! A fixture Eureka registry for the tests: it behaves as the Netflix and Spring Cloud servers
//! do, and real Eureka clients check that it does.
//!
//! [`EurekaFixture`] is a small blocking HTTP/1.1 server on `127.0.0.1:0` (one thread accepts,
//! one thread serves each connection, one request per connection with `Connection: close`);
//! it stops when dropped. It keeps a registry (app name → instances, as JSON in the shape of
//! the Java `InstanceInfoSerializer`, which both servers use) and answers the REST API that
//! clients use: `GET {base}/apps/{APP}` (JSON when the `Accept` header contains "json", the
//! XStream XML otherwise), `GET {base}/apps/` and `{base}/apps/delta`, `POST {base}/apps/{APP}`
//! (register, 204), `PUT {base}/apps/{APP}/{ID}` (heartbeat), `PUT .../status?value=`,
//! `DELETE {base}/apps/{APP}/{ID}`. [`Flavour::Netflix`] is the standalone war (base
//! `/eureka/v2`, the `GzipEncodingEnforcingFilter` on `/v2/apps*`); [`Flavour::Spring`] is
//! Spring Cloud Netflix (base `/eureka`, `/eureka/v2/...` works too, no gzip enforcement).
//! [`Mode`] makes it misbehave as real servers do (403 during the empty-peer startup wait, 307
//! from the war's `StatusFilter`, ...). Sources: `docs/research/eureka.md`.
//! [`EurekaFixture::start_tls`] serves the same over HTTPS (rustls, with a self-signed
//! certificate for `localhost` and `127.0.0.1` made at start); only the transport differs.
//!
//! Fidelity: the tests at the end of this file drive the fixture with real clients,
//! py-eureka-client 0.13.3 (PyPI; it reads the XML form) and eureka-js-client 4.5.0 (npm; it
//! reads the JSON registry, gzipped by the Netflix flavour), through the driver scripts in
//! `tests/fixtures/`. They expect the clients under `target/eureka-clients/` (`.ci/run`
//! installs them there); where a client is missing the test prints a SKIPPED line, unless
//! `TCPGOON_REQUIRE_EUREKA_CLIENTS=1` (set by CI) makes that a failure.

#![allow(dead_code)]

use crate::util::skipped;
use base64::Engine as _;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use rustls::client::danger::ServerCertVerifier as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which server the fixture imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// The Netflix `eureka-server` war: base path `/eureka/v2`, and the
    /// `GzipEncodingEnforcingFilter` on GETs of `/v2/apps` and `/v2/apps/*` (no
    /// `Accept-Encoding` counts as gzip, one without gzip gets 406; bodies are gzipped).
    Netflix,
    /// Spring Cloud Netflix's server: base path `/eureka`, where `/eureka/apps/...` and
    /// `/eureka/v2/apps/...` both work; plain bodies, no gzip enforcement.
    Spring,
}

/// How the fixture answers (set with [`EurekaFixture::set_mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// As a healthy server.
    Normal,
    /// 403 with an empty body on registry reads (`GET apps/`, `apps/delta`, `apps/{APP}`), as a
    /// lone server does for about 5 minutes after startup while its peer sync found nothing.
    NotReady,
    /// 307 on every request, as the war's `StatusFilter` answers while the server is not UP.
    NotUp,
    /// `instance` (and `application` in `apps/`) as one object instead of an array when there is
    /// exactly one, as the XStream JSON codec of pre-2015 servers wrote it.
    SingleObject,
    /// 200 with a truncated JSON (or XML) body on registry reads.
    Malformed,
    /// Accepts the connection, reads the request and never answers (until the fixture drops).
    Hang,
}

/// One request as the fixture received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path as sent (still percent-encoded), without the query.
    pub path: String,
    /// The query string after `?` (empty when there is none).
    pub query: String,
    /// The headers in the order sent, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (chunked bodies de-chunked).
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of the first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then(|| percent_decode(v))
        })
    }
}

/// The shared state: the registry and how to answer.
struct State {
    /// App name (upper-case) → its instances in registration order.
    apps: BTreeMap<String, Vec<Value>>,
    /// Changes since start, for `apps/delta`: (app, instance with its `actionType`).
    delta: Vec<(String, Value)>,
    mode: Mode,
    /// TLS handshakes that failed (the client refused the certificate, or spoke no TLS).
    failed_handshakes: usize,
    /// The `Authorization` header required, if any.
    authorization: Option<String>,
    requests: Vec<Recorded>,
}

/// A fixture Eureka server on 127.0.0.1 (see the module doc). Stops when dropped.
pub struct EurekaFixture {
    addr: SocketAddr,
    flavour: Flavour,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    /// The self-signed certificate it serves with, when over HTTPS.
    certificate: Option<CertificateDer<'static>>,
}

/// How long a connection may take to send its request, and the longest a `Hang` lasts.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
const HANG_LIMIT: Duration = Duration::from_secs(120);

const DEFAULT_DATA_CENTER: &str = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo";
const EMPTY_MAP: &str = "java.util.Collections$EmptyMap";
const STATUSES: [&str; 5] = ["UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN"];

impl EurekaFixture {
    /// Starts a fixture of `flavour` on `127.0.0.1:0`, with an empty registry, in
    /// [`Mode::Normal`] and without credentials.
    pub fn start(flavour: Flavour) -> EurekaFixture {
        EurekaFixture::start_with(flavour, None)
    }

    /// As [`start`](Self::start), over HTTPS: a self-signed certificate for `localhost` and
    /// `127.0.0.1` is made now, and each connection is a TLS one (TLS 1.2 or 1.3, ring). A
    /// connection whose handshake fails (the client refused the certificate, or spoke no TLS)
    /// just ends; it is not recorded as a request.
    pub fn start_tls(flavour: Flavour) -> EurekaFixture {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .expect("a self-signed certificate");
        let der = cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
        // The provider named: the test build's rustls may have more than one compiled in.
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_no_client_auth()
                .with_single_cert(vec![der.clone()], key)
                .expect("the fixture's certificate and key");
        let mut fixture = EurekaFixture::start_with(flavour, Some(Arc::new(config)));
        fixture.certificate = Some(der);
        fixture
    }

    fn start_with(flavour: Flavour, tls: Option<Arc<ServerConfig>>) -> EurekaFixture {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the Eureka fixture");
        let addr = listener.local_addr().expect("fixture address");
        let state = Arc::new(Mutex::new(State {
            apps: BTreeMap::new(),
            delta: Vec::new(),
            mode: Mode::Normal,
            failed_handshakes: 0,
            authorization: None,
            requests: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("eureka-fixture".into())
                .spawn(move || accept_loop(listener, flavour, tls, state, stop))
                .expect("spawn the fixture's thread")
        };
        EurekaFixture {
            addr,
            flavour,
            state,
            stop,
            acceptor: Some(acceptor),
            certificate: None,
        }
    }

    /// The self-signed certificate (DER) of a [`start_tls`](Self::start_tls) fixture, `None`
    /// for a plain one.
    pub fn certificate(&self) -> Option<&CertificateDer<'static>> {
        self.certificate.as_ref()
    }

    /// `https` for a [`start_tls`](Self::start_tls) fixture, `http` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.certificate.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The flavour it imitates.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The base path: `/eureka/v2` (Netflix) or `/eureka` (Spring).
    pub fn base_path(&self) -> &'static str {
        match self.flavour {
            Flavour::Netflix => "/eureka/v2",
            Flavour::Spring => "/eureka",
        }
    }

    /// The service URL clients are given, e.g. `http://127.0.0.1:PORT/eureka/v2` (no trailing
    /// slash; `https://` for a [`start_tls`](Self::start_tls) fixture).
    pub fn base_url(&self) -> String {
        format!("{}://{}{}", self.scheme(), self.addr, self.base_path())
    }

    /// [`base_url`](Self::base_url) with `user:pw@` (percent-encoded) before the host.
    pub fn base_url_with_credentials(&self, user: &str, pw: &str) -> String {
        format!(
            "{}://{}:{}@{}{}",
            self.scheme(),
            percent_encode(user),
            percent_encode(pw),
            self.addr,
            self.base_path()
        )
    }

    /// Adds (or replaces, by instance id) a realistic instance of `app` at `ip:port` with
    /// `status` (`UP`, `DOWN`, ...), as a Spring Boot client registers it: instanceId
    /// `ip:app:port`, hostName `ip`, the app upper-cased, port enabled, securePort 443
    /// disabled, `MyOwn` data center, leaseInfo, empty metadata, URLs, vipAddress `app`.
    pub fn add_instance(&self, app: &str, ip: &str, port: u16, status: &str) {
        let now = now_ms();
        let upper = app.to_uppercase();
        let instance = json!({
            "instanceId": format!("{ip}:{app}:{port}"),
            "hostName": ip,
            "app": upper,
            "ipAddr": ip,
            "status": status,
            "overriddenStatus": "UNKNOWN",
            "port": {"$": port, "@enabled": "true"},
            "securePort": {"$": 443, "@enabled": "false"},
            "countryId": 1,
            "dataCenterInfo": {"@class": DEFAULT_DATA_CENTER, "name": "MyOwn"},
            "leaseInfo": {
                "renewalIntervalInSecs": 30,
                "durationInSecs": 90,
                "registrationTimestamp": now,
                "lastRenewalTimestamp": now,
                "evictionTimestamp": 0,
                "serviceUpTimestamp": now,
            },
            "metadata": {"@class": EMPTY_MAP},
            "homePageUrl": format!("http://{ip}:{port}/"),
            "statusPageUrl": format!("http://{ip}:{port}/actuator/info"),
            "healthCheckUrl": format!("http://{ip}:{port}/actuator/health"),
            "vipAddress": app.to_lowercase(),
            "secureVipAddress": app.to_lowercase(),
            "isCoordinatingDiscoveryServer": "false",
            "lastUpdatedTimestamp": now.to_string(),
            "lastDirtyTimestamp": now.to_string(),
            "actionType": "ADDED",
        });
        self.add_instance_json(app, instance);
    }

    /// Adds (or replaces, by `instanceId`, else `hostName`) `instance` under `app` (upper-cased)
    /// exactly as given, for odd shapes. It is served with the serializer's field order.
    pub fn add_instance_json(&self, app: &str, instance: Value) {
        let mut st = self.lock();
        store(&mut st, &app.to_uppercase(), instance);
    }

    /// The instances of `app` (any case) as stored, e.g. after a client registered.
    pub fn instances(&self, app: &str) -> Vec<Value> {
        let st = self.lock();
        st.apps
            .get(&app.to_uppercase())
            .cloned()
            .unwrap_or_default()
    }

    /// Sets how it answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    /// From now on answers 401 to requests without basic auth `user:pw`.
    pub fn require_credentials(&self, user: &str, pw: &str) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        self.lock().authorization = Some(format!("Basic {token}"));
    }

    /// How many TLS handshakes failed so far (each ended its connection; none was recorded as
    /// a request). Always 0 for a plain fixture.
    pub fn failed_handshakes(&self) -> usize {
        self.lock().failed_handshakes
    }

    /// Waits (at most `limit`) until `n` handshakes have failed, as the fixture's thread may
    /// count one after the client is gone; returns the count then.
    pub fn settle_failed_handshakes(&self, n: usize, limit: Duration) -> usize {
        let start = Instant::now();
        while self.failed_handshakes() < n && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.failed_handshakes()
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for EurekaFixture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    flavour: Flavour,
    tls: Option<Arc<ServerConfig>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let (state, stop, tls) = (Arc::clone(&state), Arc::clone(&stop), tls.clone());
        let _ = std::thread::Builder::new()
            .name("eureka-fixture-conn".into())
            .spawn(move || serve(stream, tls, flavour, &state, &stop));
    }
}

/// Serves one connection, plain or (with `tls`) over TLS; the exchange is the same.
fn serve(
    mut stream: TcpStream,
    tls: Option<Arc<ServerConfig>>,
    flavour: Flavour,
    state: &Mutex<State>,
    stop: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Some(config) = tls else {
        exchange(&mut stream, flavour, state, stop);
        let _ = stream.shutdown(Shutdown::Write);
        return;
    };
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = StreamOwned::new(conn, stream);
    // The handshake first, so that a client refusing the certificate ends here (each step
    // bounded by the socket's timeouts, the whole by IO_TIMEOUT).
    let start = Instant::now();
    while tls.conn.is_handshaking() {
        match tls.conn.complete_io(&mut tls.sock) {
            Ok((r, w)) if r + w > 0 && start.elapsed() <= IO_TIMEOUT => {}
            Ok(_) | Err(_) => {
                state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .failed_handshakes += 1;
                return;
            }
        }
    }
    exchange(&mut tls, flavour, state, stop);
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let _ = tls.sock.shutdown(Shutdown::Write);
}

/// Reads one request on `stream` and answers it (or, in [`Mode::Hang`], does not).
fn exchange<S: Read + Write>(
    stream: &mut S,
    flavour: Flavour,
    state: &Mutex<State>,
    stop: &AtomicBool,
) {
    let Some(req) = read_request(stream) else {
        return;
    };
    let mode = {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.requests.push(req.clone());
        st.mode
    };
    if mode == Mode::Hang {
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) && start.elapsed() < HANG_LIMIT {
            std::thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    let reply = {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        handle(&req, flavour, &mut st)
    };
    let _ = stream.write_all(&reply.to_bytes());
    let _ = stream.flush();
}

/// Reads one request (head, then a `Content-Length` or chunked body). `None` on EOF, a
/// timeout or garbage.
fn read_request<S: Read + Write>(s: &mut S) -> Option<Recorded> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 || !read_more(s, &mut buf) {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut req = Recorded {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
    };
    if req
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let line_end = loop {
                if let Some(i) = find(&rest, b"\r\n") {
                    break i;
                }
                if !read_more(s, &mut rest) {
                    return None;
                }
            };
            let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest.drain(..line_end + 2);
            if size == 0 {
                break;
            }
            while rest.len() < size + 2 {
                if !read_more(s, &mut rest) {
                    return None;
                }
            }
            req.body.extend_from_slice(&rest[..size]);
            rest.drain(..size + 2);
        }
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().ok()?;
        while rest.len() < len {
            if !read_more(s, &mut rest) {
                return None;
            }
        }
        req.body = rest[..len].to_vec();
    }
    Some(req)
}

fn read_more<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match s.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An answer about to be written.
struct Reply {
    status: u16,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn empty(status: u16) -> Reply {
        Reply {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn text(status: u16, text: &str) -> Reply {
        Reply {
            content_type: Some("text/plain"),
            body: text.as_bytes().to_vec(),
            ..Reply::empty(status)
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            204 => "No Content",
            307 => "Temporary Redirect",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            _ => "Unknown",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        if let Some(ct) = self.content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.status != 204 {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Answers `req` as the flavour's server would, in the filter order of the war: credentials
/// (a proxy or Spring Security in front), `StatusFilter` (307), `GzipEncodingEnforcingFilter`
/// (406), then the Jersey resources.
fn handle(req: &Recorded, flavour: Flavour, st: &mut State) -> Reply {
    if let Some(expected) = &st.authorization {
        if req.header("authorization") != Some(expected.as_str()) {
            let mut reply = Reply::empty(401);
            reply
                .headers
                .push(("WWW-Authenticate", "Basic realm=\"Realm\"".into()));
            return reply;
        }
    }
    if st.mode == Mode::NotUp {
        return Reply {
            content_type: Some("text/html;charset=utf-8"),
            body: concat!(
                "<html><body><h2>HTTP ERROR 307</h2><p>Current node is currently not ready ",
                "to serve requests -- current status: STARTING - try another DS node: ",
                "</p></body></html>"
            )
            .as_bytes()
            .to_vec(),
            ..Reply::empty(307)
        };
    }
    let rest = match flavour {
        Flavour::Netflix => req.path.strip_prefix("/eureka/v2/"),
        Flavour::Spring => req
            .path
            .strip_prefix("/eureka/v2/")
            .or_else(|| req.path.strip_prefix("/eureka/")),
    };
    let Some(rest) = rest else {
        return Reply::empty(404);
    };
    let accept_encoding = req.header("accept-encoding");
    let enforced = flavour == Flavour::Netflix
        && req.method == "GET"
        && (rest == "apps" || rest.starts_with("apps/"));
    if enforced && accept_encoding.is_some_and(|ae| !ae.to_ascii_lowercase().contains("gzip")) {
        return Reply::empty(406);
    }
    let gzip = flavour == Flavour::Netflix
        && accept_encoding.map_or(enforced, |ae| ae.to_ascii_lowercase().contains("gzip"));
    let mut reply = route(req, rest, st);
    if gzip && !reply.body.is_empty() {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&reply.body).expect("gzip");
        reply.body = enc.finish().expect("gzip");
        reply.headers.push(("Content-Encoding", "gzip".into()));
        reply.headers.push(("Vary", "Accept-Encoding".into()));
    }
    reply
}

fn route(req: &Recorded, rest: &str, st: &mut State) -> Reply {
    let mut segs: Vec<String> = rest.split('/').map(percent_decode).collect();
    if segs.last().is_some_and(|s| s.is_empty()) {
        segs.pop();
    }
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let json = req.header("accept").is_some_and(|a| a.contains("json"));
    let read_gate = |st: &State| match st.mode {
        Mode::NotReady => Some(Reply::empty(403)),
        _ => None,
    };
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["apps"]) => read_gate(st).unwrap_or_else(|| {
            let apps: Vec<(String, Vec<Value>)> = st
                .apps
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let hash = apps_hashcode(st);
            registry_reply(st, &apps, &hash, json)
        }),
        ("GET", ["apps", "delta"]) => read_gate(st).unwrap_or_else(|| {
            let mut apps: Vec<(String, Vec<Value>)> = Vec::new();
            for (app, inst) in &st.delta {
                match apps.iter_mut().find(|(a, _)| a == app) {
                    Some((_, list)) => list.push(inst.clone()),
                    None => apps.push((app.clone(), vec![inst.clone()])),
                }
            }
            let hash = apps_hashcode(st);
            registry_reply(st, &apps, &hash, json)
        }),
        ("GET", ["apps", app]) => read_gate(st).unwrap_or_else(|| {
            let app = app.to_uppercase();
            match st.apps.get(&app).filter(|v| !v.is_empty()) {
                None => Reply::empty(404),
                Some(list) => {
                    let value = json!({"application": {"name": app, "instance": list}});
                    body_reply(st.mode, &value, json)
                }
            }
        }),
        ("POST", ["apps", app]) => register(st, &app.to_uppercase(), &req.body),
        ("GET", ["apps", app, id]) => match find_instance(st, app, id) {
            None => Reply::empty(404),
            Some((a, i)) => {
                let value = json!({"instance": st.apps[&a][i]});
                body_reply(st.mode, &value, json)
            }
        },
        ("PUT", ["apps", app, id]) => match find_instance(st, app, id) {
            None => Reply::empty(404),
            Some((a, i)) => {
                let inst = &mut st.apps.get_mut(&a).expect("app")[i];
                if let Some(lease) = inst.get_mut("leaseInfo").and_then(Value::as_object_mut) {
                    lease.insert("lastRenewalTimestamp".into(), json!(now_ms()));
                }
                Reply::empty(200)
            }
        },
        ("DELETE", ["apps", app, id]) => match find_instance(st, app, id) {
            None => Reply::empty(404),
            Some((a, i)) => {
                let mut gone = st.apps.get_mut(&a).expect("app").remove(i);
                gone["actionType"] = json!("DELETED");
                st.delta.push((a.clone(), gone));
                if st.apps[&a].is_empty() {
                    st.apps.remove(&a);
                }
                Reply::empty(200)
            }
        },
        (method @ ("PUT" | "DELETE"), ["apps", app, id, "status"]) => {
            let value = req.query_param("value");
            let new_status = match (method, value) {
                ("PUT", None) => return Reply::text(400, "Missing status value"),
                (_, v) => v.unwrap_or_else(|| "UNKNOWN".into()),
            };
            match find_instance(st, app, id) {
                None => Reply::empty(404),
                Some((a, i)) => {
                    let inst = &mut st.apps.get_mut(&a).expect("app")[i];
                    let status = known_status(&new_status);
                    inst["status"] = json!(status);
                    inst["overriddenStatus"] =
                        json!(if method == "PUT" { status } else { "UNKNOWN" });
                    inst["actionType"] = json!("MODIFIED");
                    inst["lastUpdatedTimestamp"] = json!(now_ms().to_string());
                    let copy = inst.clone();
                    st.delta.push((a, copy));
                    Reply::empty(200)
                }
            }
        }
        (_, ["apps", ..]) => Reply::empty(405),
        _ => Reply::empty(404),
    }
}

fn registry_reply(st: &State, apps: &[(String, Vec<Value>)], hash: &str, json: bool) -> Reply {
    let list: Vec<Value> = apps
        .iter()
        .map(|(name, list)| json!({"name": name, "instance": list}))
        .collect();
    let value = json!({"applications": {
        "versions__delta": "1",
        "apps__hashcode": hash,
        "application": list,
    }});
    body_reply(st.mode, &value, json)
}

/// `{"root": ...}` as JSON (serializer order; singletons unwrapped in `SingleObject`) or as
/// XStream XML; truncated in `Malformed`.
fn body_reply(mode: Mode, value: &Value, json: bool) -> Reply {
    let (root, inner) = value
        .as_object()
        .and_then(|m| m.iter().next())
        .expect("a wrapped value");
    let mut text = String::new();
    let content_type = if json {
        write_json(&mut text, value, "", mode == Mode::SingleObject);
        "application/json"
    } else {
        write_xml(&mut text, root, inner);
        "application/xml"
    };
    if mode == Mode::Malformed {
        text.truncate(text.len() / 2);
    }
    Reply {
        content_type: Some(content_type),
        body: text.into_bytes(),
        ..Reply::empty(200)
    }
}

/// `STATUS_count_` for each status present, in status order (`getReconcileHashCode`).
fn apps_hashcode(st: &State) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for inst in st.apps.values().flatten() {
        let status = inst["status"].as_str().unwrap_or("UNKNOWN").to_string();
        *counts.entry(status).or_default() += 1;
    }
    counts.iter().map(|(s, n)| format!("{s}_{n}_")).collect()
}

fn instance_id(inst: &Value) -> Option<&str> {
    ["instanceId", "hostName"]
        .iter()
        .find_map(|k| inst[k].as_str().filter(|s| !s.is_empty()))
}

fn find_instance(st: &State, app: &str, id: &str) -> Option<(String, usize)> {
    let app = app.to_uppercase();
    let i = st
        .apps
        .get(&app)?
        .iter()
        .position(|v| instance_id(v) == Some(id))?;
    Some((app, i))
}

fn store(st: &mut State, app: &str, instance: Value) {
    let list = st.apps.entry(app.to_string()).or_default();
    let id = instance_id(&instance).map(str::to_string);
    match list
        .iter()
        .position(|v| id.is_some() && instance_id(v).map(str::to_string) == id)
    {
        Some(i) => list[i] = instance.clone(),
        None => list.push(instance.clone()),
    }
    st.delta.push((app.to_string(), instance));
}

fn known_status(s: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|k| **k == s)
        .copied()
        .unwrap_or("UNKNOWN")
}

/// `POST apps/{APP}`: validates as `ApplicationResource.addInstance` does, stores the instance
/// as the serializer would write it, answers 204.
fn register(st: &mut State, app: &str, body: &[u8]) -> Reply {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Reply::text(400, &format!("Cannot parse the instance: {e}")),
    };
    let Some(input) = parsed.get("instance").filter(|v| v.is_object()) else {
        return Reply::text(400, "Missing instance");
    };
    let instance = normalise(input);
    let text = |k: &str| instance[k].as_str().filter(|s| !s.is_empty()).is_none();
    if instance_id(&instance).is_none() {
        return Reply::text(400, "Missing instanceId");
    }
    if text("hostName") {
        return Reply::text(400, "Missing hostname");
    }
    if text("ipAddr") {
        return Reply::text(400, "Missing ip address");
    }
    if text("app") {
        return Reply::text(400, "Missing appName");
    }
    if instance["app"] != app {
        let was = instance["app"].as_str().unwrap_or_default();
        return Reply::text(
            400,
            &format!("Mismatched appName, expecting {app} but was {was}"),
        );
    }
    if instance["dataCenterInfo"].is_null() {
        return Reply::text(400, "Missing dataCenterInfo");
    }
    if instance["dataCenterInfo"]["name"].is_null() {
        return Reply::text(400, "Missing dataCenterInfo Name");
    }
    store(st, app, instance);
    Reply::empty(204)
}

/// A registered instance as the server stores and serializes it: app upper-cased, ports as
/// `{"$": number, "@enabled": "string"}`, `overriddenstatus` read as `overriddenStatus`,
/// the lease stamped now, empty metadata as the `EmptyMap` marker, the `@Auto` fields as strings.
fn normalise(i: &Value) -> Value {
    let now = now_ms();
    let mut out = Map::new();
    let string = string_of;
    let metadata_id = i["metadata"]["instanceId"].as_str().map(str::to_string);
    if let Some(id) = string(&i["instanceId"])
        .filter(|s| !s.is_empty())
        .or(metadata_id)
    {
        out.insert("instanceId".into(), json!(id));
    }
    for key in ["hostName", "app", "ipAddr", "sid"] {
        if let Some(v) = string(&i[key]) {
            out.insert(key.into(), json!(v));
        }
    }
    if let Some(app) = out.get_mut("app") {
        *app = json!(app.as_str().unwrap_or_default().to_uppercase());
    }
    if out
        .get("sid")
        .is_some_and(|s| *s == "na" || *s == "unknown" || *s == "")
    {
        out.remove("sid");
    }
    let status = string(&i["status"]).unwrap_or_else(|| "UP".into());
    out.insert("status".into(), json!(known_status(&status)));
    let overridden = string(&i["overriddenStatus"])
        .or_else(|| string(&i["overriddenstatus"]))
        .unwrap_or_else(|| "UNKNOWN".into());
    out.insert("overriddenStatus".into(), json!(known_status(&overridden)));
    let port = |v: &Value, default: u64, enabled: bool| -> Value {
        let (number, on) = match v {
            Value::Object(m) => (m.get("$").cloned(), m.get("@enabled").cloned()),
            Value::Null => (None, None),
            other => (Some(other.clone()), None),
        };
        let number = match number {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(default),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(default),
            _ => default,
        };
        let on = match on {
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) => s == "true",
            _ => enabled,
        };
        json!({"$": number, "@enabled": on.to_string()})
    };
    out.insert("port".into(), port(&i["port"], 7001, true));
    out.insert("securePort".into(), port(&i["securePort"], 7002, false));
    let country = match &i["countryId"] {
        Value::Number(n) => n.as_i64().unwrap_or(1),
        Value::String(s) => s.parse().unwrap_or(1),
        _ => 1,
    };
    out.insert("countryId".into(), json!(country));
    if let Some(dc) = i["dataCenterInfo"].as_object() {
        let mut d = Map::new();
        let class = dc
            .get("@class")
            .and_then(string_of)
            .unwrap_or_else(|| DEFAULT_DATA_CENTER.into());
        d.insert("@class".into(), json!(class));
        if let Some(name) = dc.get("name").and_then(string_of) {
            d.insert("name".into(), json!(name));
        }
        if let Some(m) = dc.get("metadata").filter(|m| m.is_object()) {
            d.insert("metadata".into(), m.clone());
        }
        out.insert("dataCenterInfo".into(), Value::Object(d));
    }
    let lease = &i["leaseInfo"];
    let number = |v: &Value, default: i64| match v {
        Value::Number(n) => n.as_i64().unwrap_or(default),
        Value::String(s) => s.parse().unwrap_or(default),
        _ => default,
    };
    out.insert(
        "leaseInfo".into(),
        json!({
            "renewalIntervalInSecs": number(&lease["renewalIntervalInSecs"], 30),
            "durationInSecs": number(&lease["durationInSecs"], 90),
            "registrationTimestamp": now,
            "lastRenewalTimestamp": now,
            "evictionTimestamp": 0,
            "serviceUpTimestamp": if status == "UP" { now } else { 0 },
        }),
    );
    let mut meta = Map::new();
    if let Some(m) = i["metadata"].as_object() {
        for (k, v) in m.iter().filter(|(k, _)| *k != "@class") {
            if let Some(s) = string(v) {
                meta.insert(k.clone(), json!(s));
            }
        }
    }
    if meta.is_empty() {
        meta.insert("@class".into(), json!(EMPTY_MAP));
    }
    out.insert("metadata".into(), Value::Object(meta));
    for key in [
        "appGroupName",
        "homePageUrl",
        "statusPageUrl",
        "healthCheckUrl",
        "secureHealthCheckUrl",
        "vipAddress",
        "secureVipAddress",
        "asgName",
    ] {
        if let Some(v) = string(&i[key]) {
            let v = if key == "appGroupName" {
                v.to_uppercase()
            } else {
                v
            };
            out.insert(key.into(), json!(v));
        }
    }
    let coordinating =
        string(&i["isCoordinatingDiscoveryServer"]).unwrap_or_else(|| "false".into());
    out.insert("isCoordinatingDiscoveryServer".into(), json!(coordinating));
    out.insert("lastUpdatedTimestamp".into(), json!(now.to_string()));
    let dirty = string(&i["lastDirtyTimestamp"]).unwrap_or_else(|| now.to_string());
    out.insert("lastDirtyTimestamp".into(), json!(dirty));
    out.insert("actionType".into(), json!("ADDED"));
    Value::Object(out)
}

fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The order in which the Java serializers write the fields of an object found under `key`;
/// other fields follow, sorted.
fn field_order(key: &str) -> &'static [&'static str] {
    match key {
        "applications" => &["versions__delta", "apps__hashcode", "application"],
        "application" => &["name", "instance"],
        "instance" => &[
            "instanceId",
            "hostName",
            "app",
            "ipAddr",
            "sid",
            "status",
            "overriddenStatus",
            "port",
            "securePort",
            "countryId",
            "dataCenterInfo",
            "leaseInfo",
            "metadata",
            "appGroupName",
            "homePageUrl",
            "statusPageUrl",
            "healthCheckUrl",
            "secureHealthCheckUrl",
            "vipAddress",
            "secureVipAddress",
            "isCoordinatingDiscoveryServer",
            "lastUpdatedTimestamp",
            "lastDirtyTimestamp",
            "actionType",
            "asgName",
        ],
        "port" | "securePort" => &["$", "@enabled"],
        "dataCenterInfo" => &["@class", "name", "metadata"],
        "leaseInfo" => &[
            "renewalIntervalInSecs",
            "durationInSecs",
            "registrationTimestamp",
            "lastRenewalTimestamp",
            "evictionTimestamp",
            "serviceUpTimestamp",
        ],
        "metadata" => &["@class"],
        _ => &[],
    }
}

fn ordered<'a>(m: &'a Map<String, Value>, key: &str) -> Vec<(&'a String, &'a Value)> {
    let order = field_order(key);
    let mut fields: Vec<(&String, &Value)> = m.iter().collect();
    fields.sort_by_key(|(k, _)| {
        (
            order.iter().position(|o| o == k).unwrap_or(order.len()),
            (*k).clone(),
        )
    });
    fields
}

/// JSON with the serializers' field order; `unwrap` writes a one-element `instance` or
/// `application` array as its element (the pre-2015 XStream JSON codec).
fn write_json(out: &mut String, v: &Value, key: &str, unwrap: bool) {
    match v {
        Value::Object(m) => {
            out.push('{');
            for (n, (k, child)) in ordered(m, key).into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("key"));
                out.push(':');
                write_json(out, child, k, unwrap);
            }
            out.push('}');
        }
        Value::Array(items) => {
            let single = unwrap && items.len() == 1 && matches!(key, "instance" | "application");
            if single {
                write_json(out, &items[0], key, unwrap);
                return;
            }
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_json(out, item, key, unwrap);
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).expect("scalar")),
    }
}

/// XStream's XML for `<tag>v</tag>`: arrays repeat the tag, ports carry `enabled`,
/// `dataCenterInfo` and empty metadata carry `class`, `overriddenStatus` is `overriddenstatus`.
fn write_xml(out: &mut String, tag: &str, v: &Value) {
    let name = if tag == "overriddenStatus" {
        "overriddenstatus"
    } else {
        tag
    };
    match v {
        Value::Array(items) => {
            for item in items {
                write_xml(out, tag, item);
            }
        }
        Value::Object(m) if tag == "port" || tag == "securePort" => {
            let enabled = m.get("@enabled").and_then(string_of).unwrap_or_default();
            let port = m.get("$").and_then(string_of).unwrap_or_default();
            out.push_str(&format!(
                "<{name} enabled=\"{}\">{}</{name}>",
                xml_escape(&enabled),
                xml_escape(&port)
            ));
        }
        Value::Object(m) => {
            let class = m.get("@class").and_then(string_of);
            let children: Vec<(&String, &Value)> = ordered(m, tag)
                .into_iter()
                .filter(|(k, _)| !k.starts_with('@'))
                .collect();
            out.push('<');
            out.push_str(name);
            if let Some(class) = class {
                out.push_str(&format!(" class=\"{}\"", xml_escape(&class)));
            }
            if children.is_empty() {
                out.push_str("/>");
                return;
            }
            out.push('>');
            for (k, child) in children {
                write_xml(out, k, child);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Null => {}
        scalar => {
            let text = string_of(scalar).unwrap_or_default();
            out.push_str(&format!("<{name}>{}</{name}>", xml_escape(&text)));
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ---------------------------------------------------------------------------------------------
// Tests: the fixture on the wire, then its fidelity checked with real clients.

/// An answer as a raw client saw it.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    /// The body as sent (gzipped if it was).
    raw: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body, gunzipped when `Content-Encoding: gzip`.
    fn text(&self) -> String {
        if self.header("content-encoding") == Some("gzip") {
            let mut text = String::new();
            GzDecoder::new(&self.raw[..])
                .read_to_string(&mut text)
                .expect("a gzip body");
            text
        } else {
            String::from_utf8(self.raw.clone()).expect("a UTF-8 body")
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text()).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

/// Sends one request over a fresh connection (5 s timeouts) and reads the answer to EOF.
fn send(
    fx: &EurekaFixture,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect_timeout(&fx.addr(), Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", fx.addr());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).expect("read the answer");
    let end = find(&bytes, b"\r\n\r\n").expect("an answer head");
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw = bytes[end + 4..].to_vec();
    let answer = Answer {
        status: status.parse().unwrap(),
        headers,
        raw,
    };
    if let Some(len) = answer.header("content-length") {
        assert_eq!(
            len.parse::<usize>().unwrap(),
            answer.raw.len(),
            "Content-Length"
        );
    }
    answer
}

fn get(fx: &EurekaFixture, target: &str, headers: &[(&str, &str)]) -> Answer {
    send(fx, "GET", target, headers, b"")
}

const JSON: (&str, &str) = ("Accept", "application/json");

#[test]
fn netflix_enforces_gzip_on_apps_as_the_war_filter_does() {
    let fx = EurekaFixture::start(Flavour::Netflix);
    fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
    for target in [
        "/eureka/v2/apps/MYAPP",
        "/eureka/v2/apps/",
        "/eureka/v2/apps",
    ] {
        let refused = get(&fx, target, &[JSON, ("Accept-Encoding", "identity")]);
        assert_eq!(refused.status, 406, "{target}");
        assert!(refused.raw.is_empty(), "406 has an empty body");
        // No Accept-Encoding at all counts as gzip: the body comes gzipped.
        let plain_ask = get(&fx, target, &[JSON]);
        assert_eq!(plain_ask.status, 200, "{target}");
        assert_eq!(plain_ask.header("content-encoding"), Some("gzip"));
        assert_eq!(&plain_ask.raw[..2], &[0x1f, 0x8b], "a gzip stream");
        let asked = get(&fx, target, &[JSON, ("Accept-Encoding", "gzip, deflate")]);
        assert_eq!(asked.header("content-encoding"), Some("gzip"));
        assert!(asked.text().contains("\"ipAddr\":\"127.0.0.1\""));
    }
    let one = get(&fx, "/eureka/v2/apps/MYAPP", &[JSON]).json();
    assert_eq!(one["application"]["instance"][0]["port"]["$"], 8080);
    // The filter is for GETs only: a registration without gzip is fine.
    let body = json!({"instance": {"instanceId": "a", "hostName": "a", "app": "MYAPP",
        "ipAddr": "127.0.0.2", "dataCenterInfo": {"@class": DEFAULT_DATA_CENTER, "name": "MyOwn"}}});
    let posted = send(
        &fx,
        "POST",
        "/eureka/v2/apps/MYAPP",
        &[
            ("Content-Type", "application/json"),
            ("Accept-Encoding", "identity"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(posted.status, 204);
    // The war has no /eureka/apps.
    assert_eq!(get(&fx, "/eureka/apps/MYAPP", &[JSON]).status, 404);
}

#[test]
fn spring_serves_plain_bodies_on_both_paths() {
    let fx = EurekaFixture::start(Flavour::Spring);
    fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
    for target in ["/eureka/apps/MYAPP", "/eureka/v2/apps/MYAPP"] {
        for ae in [None, Some("identity"), Some("gzip")] {
            let mut headers = vec![JSON];
            headers.extend(ae.map(|ae| ("Accept-Encoding", ae)));
            let a = get(&fx, target, &headers);
            assert_eq!(a.status, 200, "{target} {ae:?}");
            assert_eq!(a.header("content-encoding"), None, "{target} {ae:?}");
            assert_eq!(a.json()["application"]["name"], "MYAPP");
        }
    }
    assert_eq!(fx.base_url(), format!("http://{}/eureka", fx.addr()));
}

#[test]
fn json_has_the_serializer_shape_and_field_order() {
    let fx = EurekaFixture::start(Flavour::Spring);
    fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
    let a = get(&fx, "/eureka/apps/myapp", &[JSON]);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let text = a.text();
    let expected = concat!(
        "{\"application\":{\"name\":\"MYAPP\",\"instance\":[{\"instanceId\":\"127.0.0.1:myapp:8080\",",
        "\"hostName\":\"127.0.0.1\",\"app\":\"MYAPP\",\"ipAddr\":\"127.0.0.1\",",
        "\"status\":\"UP\",\"overriddenStatus\":\"UNKNOWN\",\"port\":{\"$\":8080,",
        "\"@enabled\":\"true\"},\"securePort\":{\"$\":443,\"@enabled\":\"false\"},",
        "\"countryId\":1,\"dataCenterInfo\":{\"@class\":\"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo\",",
        "\"name\":\"MyOwn\"},\"leaseInfo\":{\"renewalIntervalInSecs\":30,",
        "\"durationInSecs\":90,",
    );
    assert!(text.starts_with(expected), "{text}");
    assert!(
        text.contains(
            "\"metadata\":{\"@class\":\"java.util.Collections$EmptyMap\"},\"homePageUrl\":"
        ),
        "{text}"
    );
    assert!(
        text.contains("\"isCoordinatingDiscoveryServer\":\"false\",\"lastUpdatedTimestamp\":\""),
        "{text}"
    );
    assert!(text.ends_with("\"actionType\":\"ADDED\"}]}}"), "{text}");
    // An instance array even for one instance, as the Jackson codec writes it.
    assert!(a.json()["application"]["instance"].is_array());
}

#[test]
fn xml_unless_the_accept_header_says_json() {
    let fx = EurekaFixture::start(Flavour::Spring);
    fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
    for accept in [None, Some("*/*"), Some("application/xml")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let a = get(&fx, "/eureka/apps/MYAPP", &headers);
        assert_eq!(a.status, 200);
        assert_eq!(
            a.header("content-type"),
            Some("application/xml"),
            "{accept:?}"
        );
        let xml = a.text();
        let expected = concat!(
            "<application><name>MYAPP</name><instance><instanceId>127.0.0.1:myapp:8080</instanceId>",
            "<hostName>127.0.0.1</hostName><app>MYAPP</app><ipAddr>127.0.0.1</ipAddr>",
            "<status>UP</status><overriddenstatus>UNKNOWN</overriddenstatus>",
            "<port enabled=\"true\">8080</port><securePort enabled=\"false\">443</securePort>",
            "<countryId>1</countryId><dataCenterInfo class=\"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo\">",
            "<name>MyOwn</name></dataCenterInfo><leaseInfo><renewalIntervalInSecs>30</renewalIntervalInSecs>",
        );
        assert!(xml.starts_with(expected), "{xml}");
        assert!(
            xml.contains("<metadata class=\"java.util.Collections$EmptyMap\"/><homePageUrl>"),
            "{xml}"
        );
        assert!(
            xml.ends_with("<actionType>ADDED</actionType></instance></application>"),
            "{xml}"
        );
    }
    // A substring test, as ApplicationResource does it.
    for accept in ["text/json", "application/json;q=0.9, */*"] {
        let a = get(&fx, "/eureka/apps/MYAPP", &[("Accept", accept)]);
        assert_eq!(a.json()["application"]["name"], "MYAPP", "{accept}");
    }
    let full = get(&fx, "/eureka/apps/", &[]).text();
    let expected = concat!(
        "<applications><versions__delta>1</versions__delta><apps__hashcode>UP_1_</apps__hashcode>",
        "<application><name>MYAPP</name><instance>",
    );
    assert!(full.starts_with(expected), "{full}");
}

#[test]
fn status_codes_as_the_real_servers_answer() {
    let fx = EurekaFixture::start(Flavour::Netflix);
    fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
    let base = "/eureka/v2/apps";
    // Upper-casing: the path's app is upper-cased.
    let lower = get(&fx, &format!("{base}/myapp"), &[JSON]).json();
    let upper = get(&fx, &format!("{base}/MYAPP"), &[JSON]).json();
    assert_eq!(
        lower["application"]["instance"][0]["instanceId"],
        upper["application"]["instance"][0]["instanceId"]
    );
    // Unknown app: 404, empty body.
    let none = get(&fx, &format!("{base}/NOSUCH"), &[JSON]);
    assert_eq!((none.status, none.raw.len()), (404, 0));
    // The empty-peer startup wait: 403 on reads.
    fx.set_mode(Mode::NotReady);
    for target in [
        format!("{base}/MYAPP"),
        format!("{base}/"),
        format!("{base}/delta"),
    ] {
        let a = get(&fx, &target, &[JSON]);
        assert_eq!((a.status, a.raw.len()), (403, 0), "{target}");
    }
    // StatusFilter: 307 on everything.
    fx.set_mode(Mode::NotUp);
    assert_eq!(get(&fx, &format!("{base}/MYAPP"), &[JSON]).status, 307);
    assert_eq!(
        send(&fx, "PUT", &format!("{base}/MYAPP/x"), &[], b"").status,
        307
    );
    fx.set_mode(Mode::Normal);
    // Credentials.
    fx.require_credentials("tcpgoon", "s3cret");
    let denied = get(&fx, &format!("{base}/MYAPP"), &[JSON]);
    assert_eq!(denied.status, 401);
    assert!(denied
        .header("www-authenticate")
        .is_some_and(|w| w.starts_with("Basic")));
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("tcpgoon:nope")
    );
    assert_eq!(
        get(
            &fx,
            &format!("{base}/MYAPP"),
            &[JSON, ("Authorization", &wrong)]
        )
        .status,
        401
    );
    let right = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("tcpgoon:s3cret")
    );
    assert_eq!(
        get(
            &fx,
            &format!("{base}/MYAPP"),
            &[JSON, ("Authorization", &right)]
        )
        .status,
        200
    );
    assert_eq!(
        fx.base_url_with_credentials("tcp goon", "p@ss"),
        format!("http://tcp%20goon:p%40ss@{}/eureka/v2", fx.addr())
    );
    // Recorded requests: method, path, lower-cased header names.
    let last = fx.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("GET", "/eureka/v2/apps/MYAPP")
    );
    assert_eq!(last.header("authorization"), Some(right.as_str()));
    assert_eq!(last.header("accept"), Some("application/json"));
}

#[test]
fn registration_heartbeat_status_and_cancel() {
    let fx = EurekaFixture::start(Flavour::Spring);
    let base = "/eureka/apps";
    let post = |app: &str, instance: Value| {
        send(
            &fx,
            "POST",
            &format!("{base}/{app}"),
            &[("Content-Type", "application/json")],
            json!({"instance": instance}).to_string().as_bytes(),
        )
    };
    let good = json!({"instanceId": "h1:svc:9000", "hostName": "h1", "app": "svc", "ipAddr": "127.0.0.3",
        "status": "UP", "overriddenstatus": "UNKNOWN", "port": {"$": "9000", "@enabled": true},
        "dataCenterInfo": {"@class": DEFAULT_DATA_CENTER, "name": "MyOwn"}, "metadata": {"zone": "a"},
        "vipAddress": "svc", "lastDirtyTimestamp": 5});
    // Mismatched app in the body and the path.
    let mismatched = post("other", good.clone());
    assert_eq!(mismatched.status, 400);
    assert!(
        mismatched
            .text()
            .starts_with("Mismatched appName, expecting OTHER but was SVC"),
        "{}",
        mismatched.text()
    );
    for (field, message) in [
        ("ipAddr", "Missing ip address"),
        ("hostName", "Missing hostname"),
        ("app", "Missing appName"),
        ("dataCenterInfo", "Missing dataCenterInfo"),
    ] {
        let mut partial = good.clone();
        partial.as_object_mut().unwrap().remove(field);
        let a = post("svc", partial);
        assert_eq!(
            (a.status, a.text()),
            (400, message.to_string()),
            "without {field}"
        );
    }
    let mut anonymous = good.clone();
    anonymous.as_object_mut().unwrap().remove("instanceId");
    anonymous.as_object_mut().unwrap().remove("hostName");
    assert_eq!(post("svc", anonymous).status, 400);
    assert!(fx.instances("svc").is_empty());
    // Registered: 204, stored in the serializer's shape.
    let ok = post("svc", good);
    assert_eq!((ok.status, ok.raw.len()), (204, 0));
    let stored = &fx.instances("SVC")[0];
    assert_eq!(stored["app"], "SVC");
    assert_eq!(stored["port"], json!({"$": 9000, "@enabled": "true"}));
    assert_eq!(
        stored["securePort"],
        json!({"$": 7002, "@enabled": "false"})
    );
    assert_eq!(stored["overriddenStatus"], "UNKNOWN");
    assert!(stored.get("overriddenstatus").is_none());
    assert_eq!(stored["metadata"], json!({"zone": "a"}));
    assert_eq!(stored["lastDirtyTimestamp"], "5");
    assert_eq!(stored["isCoordinatingDiscoveryServer"], "false");
    assert!(
        stored["leaseInfo"]["registrationTimestamp"]
            .as_u64()
            .unwrap()
            > 0
    );
    // A bare instance: defaults as the Java bean has them, empty metadata as the EmptyMap marker.
    let bare = json!({"hostName": "h2", "app": "SVC", "ipAddr": "127.0.0.4",
        "dataCenterInfo": {"name": "MyOwn"}});
    assert_eq!(post("svc", bare).status, 204);
    let bare = get(&fx, &format!("{base}/SVC/h2"), &[JSON]).json();
    let bare = &bare["instance"];
    assert!(bare.get("instanceId").is_none(), "{bare}");
    assert_eq!(bare["status"], "UP");
    assert_eq!(bare["port"], json!({"$": 7001, "@enabled": "true"}));
    assert_eq!(bare["dataCenterInfo"]["@class"], DEFAULT_DATA_CENTER);
    assert_eq!(bare["metadata"], json!({"@class": EMPTY_MAP}));
    assert_eq!(
        send(&fx, "DELETE", &format!("{base}/SVC/h2"), &[], b"").status,
        200
    );
    // Heartbeat: 200, 404 for an unknown instance.
    assert_eq!(
        send(
            &fx,
            "PUT",
            &format!("{base}/svc/h1:svc:9000?status=UP&lastDirtyTimestamp=5"),
            &[],
            b""
        )
        .status,
        200
    );
    assert_eq!(
        send(&fx, "PUT", &format!("{base}/SVC/h1%3Asvc%3A9000"), &[], b"").status,
        200
    );
    assert_eq!(
        send(&fx, "PUT", &format!("{base}/SVC/nope"), &[], b"").status,
        404
    );
    // Status override.
    assert_eq!(
        send(
            &fx,
            "PUT",
            &format!("{base}/SVC/h1:svc:9000/status?value=OUT_OF_SERVICE"),
            &[],
            b""
        )
        .status,
        200
    );
    let listed = get(&fx, &format!("{base}/SVC"), &[JSON]).json();
    assert_eq!(
        listed["application"]["instance"][0]["status"],
        "OUT_OF_SERVICE"
    );
    assert_eq!(
        listed["application"]["instance"][0]["overriddenStatus"],
        "OUT_OF_SERVICE"
    );
    // Cancel: 200, then the app is gone.
    assert_eq!(
        send(&fx, "DELETE", &format!("{base}/SVC/h1:svc:9000"), &[], b"").status,
        200
    );
    assert_eq!(
        send(&fx, "DELETE", &format!("{base}/SVC/h1:svc:9000"), &[], b"").status,
        404
    );
    assert_eq!(get(&fx, &format!("{base}/SVC"), &[JSON]).status, 404);
}

#[test]
fn full_registry_and_delta() {
    let fx = EurekaFixture::start(Flavour::Netflix);
    fx.add_instance("alpha", "127.0.0.1", 8080, "UP");
    fx.add_instance("alpha", "127.0.0.2", 8080, "DOWN");
    fx.add_instance("beta", "127.0.0.3", 9090, "UP");
    let full = get(&fx, "/eureka/v2/apps/", &[JSON]);
    let text = full.text();
    let expected = concat!(
        "{\"applications\":{\"versions__delta\":\"1\",\"apps__hashcode\":\"DOWN_1_UP_2_\",",
        "\"application\":[{\"name\":\"ALPHA\",\"instance\":[{",
    );
    assert!(text.starts_with(expected), "{text}");
    let v = full.json();
    assert_eq!(
        v["applications"]["application"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        v["applications"]["application"][1]["instance"][0]["ipAddr"],
        "127.0.0.3"
    );
    let delta = get(&fx, "/eureka/v2/apps/delta", &[JSON]).json();
    assert_eq!(delta["applications"]["apps__hashcode"], "DOWN_1_UP_2_");
    let changed: usize = delta["applications"]["application"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["instance"].as_array().unwrap().len())
        .sum();
    assert_eq!(changed, 3);
}

#[test]
fn modes_single_object_malformed_and_hang() {
    let fx = EurekaFixture::start(Flavour::Spring);
    fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
    fx.set_mode(Mode::SingleObject);
    let one = get(&fx, "/eureka/apps/MYAPP", &[JSON]).json();
    assert!(one["application"]["instance"].is_object(), "{one}");
    assert_eq!(one["application"]["instance"]["port"]["$"], 8080);
    let full = get(&fx, "/eureka/apps/", &[JSON]).json();
    assert!(full["applications"]["application"].is_object(), "{full}");
    fx.add_instance("myapp", "127.0.0.2", 8080, "UP");
    let two = get(&fx, "/eureka/apps/MYAPP", &[JSON]).json();
    assert_eq!(
        two["application"]["instance"].as_array().map(Vec::len),
        Some(2)
    );
    fx.set_mode(Mode::Malformed);
    let broken = get(&fx, "/eureka/apps/MYAPP", &[JSON]);
    assert_eq!(broken.status, 200);
    assert!(serde_json::from_str::<Value>(&broken.text()).is_err());
    assert!(broken.text().starts_with("{\"application\":"));
    fx.set_mode(Mode::Hang);
    let mut s = TcpStream::connect_timeout(&fx.addr(), Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    s.write_all(b"GET /eureka/apps/MYAPP HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 16];
    let err = s.read(&mut buf).expect_err("no answer while hanging");
    assert!(
        matches!(
            err.kind(),
            // Interrupted: a signal meant for a child of another test reached this thread
            // first; still no answer.
            std::io::ErrorKind::WouldBlock
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::Interrupted
        ),
        "{err}"
    );
    // Dropping the fixture ends the hang and closes the port.
    let addr = fx.addr();
    let started = Instant::now();
    drop(fx);
    assert!(started.elapsed() < Duration::from_secs(3));
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    assert!(
        matches!(s.read(&mut buf), Ok(0) | Err(_)),
        "closed after the drop"
    );
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

// ---- Fidelity: real clients against the fixture ----------------------------------------------

const PY_INSTALL: &str = "python3 -m venv target/eureka-clients/py && \
                          target/eureka-clients/py/bin/pip install py-eureka-client==0.13.3";
const JS_INSTALL: &str = "npm install --prefix target/eureka-clients/js eureka-js-client@4.5.0";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Says a client is missing: a SKIPPED line, or a failure where CI requires the clients
/// (`TCPGOON_REQUIRE_EUREKA_CLIENTS=1`).
fn client_missing(reason: &str, install: &str) {
    assert!(
        std::env::var("TCPGOON_REQUIRE_EUREKA_CLIENTS").as_deref() != Ok("1"),
        "{reason}, and TCPGOON_REQUIRE_EUREKA_CLIENTS=1 requires it; install it (as .ci/run \
         does) with: {install}"
    );
    skipped(&format!("{reason} (install: {install})"));
}

/// The virtualenv's Python with py-eureka-client importable, or `None` (see [`client_missing`]).
fn py_client() -> Option<PathBuf> {
    let python = manifest_dir().join("target/eureka-clients/py/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import py_eureka_client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        client_missing(
            "py-eureka-client is not installed in target/eureka-clients/py",
            PY_INSTALL,
        );
        return None;
    }
    Some(python)
}

/// The `node_modules` holding eureka-js-client, when it and `node` are there.
fn js_client() -> Option<PathBuf> {
    let modules = manifest_dir().join("target/eureka-clients/js/node_modules");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        client_missing("node is missing (apt-get install nodejs npm)", JS_INSTALL);
        return None;
    }
    if !modules.join("eureka-js-client/package.json").exists() {
        client_missing(
            "eureka-js-client is not installed in target/eureka-clients/js",
            JS_INSTALL,
        );
        return None;
    }
    Some(modules)
}

/// Runs a client driver, killing it past `limit`; returns its last stdout line as JSON.
fn run_driver(cmd: &mut Command, limit: Duration) -> Value {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client driver");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the driver") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the client driver did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: out.join().unwrap().into_bytes(),
        stderr: err.join().unwrap().into_bytes(),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stdout.lines().last().unwrap_or_default();
    let parsed: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("driver said no JSON ({e}); stdout:\n{stdout}\nstderr:\n{stderr}")
    });
    assert!(
        output.status.success(),
        "driver failed ({}): {parsed}\nstderr:\n{stderr}",
        output.status
    );
    parsed
}

/// Registers through py-eureka-client, reads back with its own XML parsing, and checks what
/// the fixture recorded of its requests.
fn py_client_round_trip(flavour: Flavour, credentials: Option<(&str, &str)>) {
    let Some(python) = py_client() else {
        return;
    };
    let fx = EurekaFixture::start(flavour);
    fx.add_instance("other", "127.0.0.1", 9090, "UP");
    let server = match credentials {
        Some((user, pw)) => {
            fx.require_credentials(user, pw);
            fx.base_url_with_credentials(user, pw)
        }
        None => fx.base_url(),
    };
    let script = manifest_dir().join("tests/fixtures/eureka_py_client.py");
    let out = run_driver(
        Command::new(python).args([
            script.to_str().unwrap(),
            &server,
            "pyapp",
            "127.0.0.7",
            "8087",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(out["version"], "0.13.3");
    assert_eq!(out["errors"], json!([]), "{out}");
    // get_application: GET apps/pyapp, parsed from XML.
    let app = &out["application"];
    assert_eq!(app["name"], "PYAPP", "{out}");
    let mine = &app["instances"][0];
    assert_eq!(app["instances"].as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(mine["app"], "PYAPP");
    assert_eq!(mine["ipAddr"], "127.0.0.7");
    assert_eq!(mine["hostName"], "127.0.0.7");
    assert_eq!(mine["port"], 8087);
    assert_eq!(mine["portEnabled"], true);
    assert_eq!(mine["securePortEnabled"], false);
    assert_eq!(mine["status"], "UP");
    assert_eq!(mine["overriddenstatus"], "UNKNOWN");
    assert_eq!(mine["dataCenterClass"], DEFAULT_DATA_CENTER);
    assert_eq!(mine["dataCenterName"], "MyOwn");
    // The client adds "management.port" itself; both come back from the XML.
    assert_eq!(
        mine["metadata"],
        json!({"zone": "fixture", "management.port": "8087"})
    );
    assert_eq!(mine["actionType"], "ADDED");
    assert!(mine["registrationTimestamp"].as_u64().unwrap() > 0);
    // get_applications: GET apps/, parsed from XML; and the client's own discovery cache.
    for key in ["registry", "discovered"] {
        let reg = &out[key];
        let names: Vec<&str> = reg["applications"]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {out}"))
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"OTHER"), "{key}: {names:?}");
        assert_eq!(reg["versionsDelta"], "1", "{key}");
        assert!(
            reg["appsHashcode"].as_str().unwrap().starts_with("UP_"),
            "{key}"
        );
    }
    let full = &out["registry"]["applications"];
    let other = full
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "OTHER")
        .unwrap();
    assert_eq!(other["instances"][0]["port"], 9090);
    assert_eq!(other["instances"][0]["metadata"], json!({}), "EmptyMap");
    assert!(
        full.as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "PYAPP"),
        "{out}"
    );
    // What the client sent.
    let base = fx.base_path();
    let reqs = fx.requests();
    let summary: Vec<String> = reqs
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    // Two registrations: UP at start, DOWN from stop() before its cancel; the client
    // upper-cases the app itself.
    let posts: Vec<&Recorded> = reqs.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 2, "registrations: {summary:#?}");
    for (post, status) in posts.iter().zip(["UP", "DOWN"]) {
        assert_eq!(post.path, format!("{base}/apps/PYAPP"));
        assert_eq!(post.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&post.body).unwrap();
        assert_eq!(body["instance"]["status"], status);
    }
    let body: Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(body["instance"]["app"], "PYAPP");
    assert_eq!(body["instance"]["overriddenstatus"], "UNKNOWN");
    assert_eq!(
        body["instance"]["port"],
        json!({"$": 8087, "@enabled": "true"})
    );
    let id = body["instance"]["instanceId"].as_str().unwrap().to_string();
    let beats: Vec<&Recorded> = reqs
        .iter()
        .filter(|r| r.method == "PUT" && r.path.starts_with(&format!("{base}/apps/PYAPP/")))
        .collect();
    assert_eq!(beats.len(), 1, "one heartbeat: {summary:#?}");
    assert_eq!(
        percent_decode(&beats[0].path),
        format!("{base}/apps/PYAPP/{id}")
    );
    assert_eq!(beats[0].query_param("status").as_deref(), Some("UP"));
    assert!(beats[0].query_param("lastDirtyTimestamp").is_some());
    let read = reqs
        .iter()
        .find(|r| r.method == "GET" && r.path == format!("{base}/apps/pyapp"))
        .expect("get_application's GET, with the app as the driver gave it");
    assert!(
        !read.header("accept").unwrap_or("").contains("json"),
        "asks for XML"
    );
    assert_eq!(read.header("accept-encoding"), Some("gzip, deflate"));
    assert!(reqs
        .iter()
        .any(|r| r.method == "GET" && r.path == format!("{base}/apps/")));
    assert_eq!(reqs.last().unwrap().method, "DELETE", "{summary:#?}");
    if credentials.is_some() {
        assert!(reqs.iter().all(|r| r.header("authorization").is_some()));
    }
    // Cancelled at the end.
    assert!(fx.instances("pyapp").is_empty());
    assert_eq!(fx.instances("other").len(), 1);
}

#[test]
fn py_eureka_client_against_the_netflix_flavour() {
    py_client_round_trip(Flavour::Netflix, None);
}

#[test]
fn py_eureka_client_against_the_spring_flavour_with_credentials() {
    py_client_round_trip(Flavour::Spring, Some(("tcpgoon", "s3cret")));
}

/// Registers through eureka-js-client, which reads the JSON registry (gzipped by the Netflix
/// flavour) and its delta, and checks its instances and what it sent.
fn js_client_round_trip(flavour: Flavour) {
    let Some(modules) = js_client() else {
        return;
    };
    let fx = EurekaFixture::start(flavour);
    fx.add_instance("jsapp", "127.0.0.8", 8088, "DOWN");
    fx.add_instance("other", "127.0.0.1", 9090, "UP");
    let script = manifest_dir().join("tests/fixtures/eureka_js_client.js");
    let service_path = format!("{}/apps/", fx.base_path());
    let out = run_driver(
        Command::new("node")
            .env("NODE_PATH", &modules)
            .current_dir(manifest_dir())
            .args([
                script.to_str().unwrap(),
                "127.0.0.1",
                &fx.addr().port().to_string(),
                &service_path,
                "jsapp",
                "127.0.0.9",
                "8089",
            ]),
        Duration::from_secs(60),
    );
    assert_eq!(out["version"], "4.5.0");
    let events: Vec<&str> = out["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for e in ["registered", "registryUpdated", "heartbeat", "deregistered"] {
        assert!(events.contains(&e), "{e} in {out}");
    }
    // Only the UP instance of JSAPP (filterUpInstances); the DOWN one is parsed and dropped.
    for key in ["afterFull", "instances", "byVip"] {
        let list = out[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {out}"));
        assert_eq!(list.len(), 1, "{key}: {out}");
        let i = &list[0];
        assert_eq!(i["app"], "JSAPP", "{key}");
        assert_eq!(i["ipAddr"], "127.0.0.9");
        assert_eq!(i["status"], "UP");
        assert_eq!(i["port"], json!({"$": 8089, "@enabled": "true"}));
        assert_eq!(i["instanceId"], "127.0.0.9:jsapp:8089");
    }
    let reqs = fx.requests();
    let base = fx.base_path();
    let summary: Vec<String> = reqs
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let post = reqs
        .iter()
        .find(|r| r.method == "POST")
        .expect("a registration");
    assert_eq!(post.path, format!("{base}/apps/jsapp"));
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["instance"]["status"], "UP");
    let full = reqs
        .iter()
        .find(|r| r.method == "GET" && r.path == format!("{base}/apps/"))
        .expect("the full registry fetch");
    assert_eq!(full.header("accept"), Some("application/json"));
    assert!(full
        .header("accept-encoding")
        .is_some_and(|ae| ae.contains("gzip")));
    assert!(
        reqs.iter()
            .any(|r| r.method == "GET" && r.path == format!("{base}/apps/delta")),
        "{summary:#?}"
    );
    let beat = format!("{base}/apps/jsapp/127.0.0.9:jsapp:8089");
    assert!(
        reqs.iter()
            .any(|r| r.method == "PUT" && percent_decode(&r.path) == beat),
        "{summary:#?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "DELETE" && percent_decode(&r.path) == beat),
        "{summary:#?}"
    );
    assert_eq!(fx.instances("JSAPP").len(), 1, "only the DOWN one is left");
}

#[test]
fn eureka_js_client_against_the_netflix_flavour() {
    js_client_round_trip(Flavour::Netflix);
}

#[test]
fn eureka_js_client_against_the_spring_flavour() {
    js_client_round_trip(Flavour::Spring);
}

/// ureq, the HTTP client of tcpgoon's `--eureka`, reads the fixture: the Netflix flavour's
/// gzipped body (ureq asks for gzip and decodes it) and the Spring flavour's plain one.
#[test]
fn ureq_reads_both_flavours() {
    for flavour in [Flavour::Netflix, Flavour::Spring] {
        let fx = EurekaFixture::start(flavour);
        fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut reply = agent
            .get(format!("{}/apps/myapp", fx.base_url()))
            .header("Accept", "application/json")
            .call()
            .expect("GET apps/myapp");
        assert_eq!(reply.status(), 200, "{flavour:?}");
        let text = reply.body_mut().read_to_string().expect("the body");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(v["application"]["instance"][0]["ipAddr"], "127.0.0.1");
        let sent = fx.requests().pop().unwrap();
        let ae = sent.header("accept-encoding").unwrap_or_default();
        assert!(ae.contains("gzip"), "ureq asks for gzip: {ae}");
        let none = agent
            .get(format!("{}/apps/nosuch", fx.base_url()))
            .header("Accept", "application/json")
            .call()
            .expect("GET apps/nosuch");
        assert_eq!(none.status(), 404, "{flavour:?}");
    }
}

/// The HTTPS fixture: its certificate is valid for `localhost` and `127.0.0.1`; ureq trusting
/// it reads both flavours (twice, one connection each); ureq with the web roots refuses it, which ends that connection
/// without a request recorded, and the fixture serves on.
#[test]
fn tls_fixture_serves_the_same_over_https() {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    for flavour in [Flavour::Netflix, Flavour::Spring] {
        let fx = EurekaFixture::start_tls(flavour);
        fx.add_instance("myapp", "127.0.0.1", 8080, "UP");
        assert!(
            fx.base_url().starts_with("https://127.0.0.1:"),
            "{}",
            fx.base_url()
        );
        assert!(fx
            .base_url_with_credentials("u", "p")
            .starts_with("https://u:p@127.0.0.1:"));
        let agent = |roots: RootCerts| -> ureq::Agent {
            ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(5)))
                .http_status_as_error(false)
                .proxy(None)
                .tls_config(TlsConfig::builder().root_certs(roots).build())
                .build()
                .into()
        };
        let der = fx.certificate().expect("a TLS fixture's certificate");
        let trusting = agent(RootCerts::Specific(Arc::new(vec![Certificate::from_der(
            der.as_ref(),
        )
        .to_owned()])));
        let refused = agent(RootCerts::WebPki)
            .get(format!("{}/apps/myapp", fx.base_url()))
            .call()
            .expect_err("a self-signed certificate is not in the web roots");
        assert!(
            refused.to_string().to_lowercase().contains("certificate"),
            "{refused}"
        );
        assert!(
            fx.requests().is_empty(),
            "no request over a refused handshake"
        );
        assert_eq!(
            fx.settle_failed_handshakes(1, Duration::from_secs(5)),
            1,
            "the refusal ended that connection"
        );
        // Valid for both names (checked offline: only 127.0.0.1 is dialed), not for others.
        let verifier = {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(der.clone()).expect("a root");
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::new(rustls::crypto::ring::default_provider()),
            )
            .build()
            .expect("a verifier")
        };
        let now = rustls::pki_types::UnixTime::now();
        for (name, valid) in [
            ("localhost", true),
            ("127.0.0.1", true),
            ("example.com", false),
        ] {
            let name = rustls::pki_types::ServerName::try_from(name).unwrap();
            let verdict = verifier.verify_server_cert(der, &[], &name, &[], now);
            assert_eq!(verdict.is_ok(), valid, "{name:?}: {verdict:?}");
        }
        for _ in 0..2 {
            let base = fx.base_url();
            let mut reply = trusting
                .get(format!("{base}/apps/myapp"))
                .header("Accept", "application/json")
                .call()
                .unwrap_or_else(|e| panic!("{flavour:?} {base}: {e}"));
            assert_eq!(reply.status(), 200, "{flavour:?}");
            let text = reply.body_mut().read_to_string().expect("the body");
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(v["application"]["instance"][0]["ipAddr"], "127.0.0.1");
        }
        assert_eq!(fx.requests().len(), 2);
        // The plain fixture has no certificate and speaks http.
        assert!(EurekaFixture::start(flavour).certificate().is_none());
    }
}
