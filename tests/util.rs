//! Helpers shared by the integration tests: running the binary, test servers, parsing output.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub fn tcpgoon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcpgoon"))
}

/// Runs the binary with `args` (split on white space) and no standard input; panics if it takes
/// over 60 s.
pub fn tg(args: &str) -> Output {
    let mut child = spawn(args);
    wait_output(&mut child, Duration::from_secs(60))
}

/// Starts the binary with `args` (split on white space), stdout and stderr piped.
pub fn spawn(args: &str) -> Child {
    piped(tcpgoon().args(args.split_whitespace()))
}

/// Starts a prepared command (e.g. `ip netns exec NAME tcpgoon ...`) with stdout and stderr
/// piped and no standard input.
pub fn piped_in(cmd: &mut Command) -> Child {
    piped(cmd)
}

pub fn piped(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpgoon")
}

/// Waits for `child` at most `limit`, killing it past that, and collects its output (read as
/// it comes, so that a child writing more than a pipe holds is not stalled).
pub fn wait_output(child: &mut Child, limit: Duration) -> Output {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("tcpgoon did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Output {
        status: child.wait().expect("wait"),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// A child's stdout or stderr read on a thread as it comes, so that a test can wait for a line
/// while the child runs (for the run to have started, or a signal to have been handled, before
/// sending the next one).
pub struct LineReader {
    name: &'static str,
    /// The text so far, and whether the stream has ended.
    text: Arc<Mutex<(String, bool)>>,
    thread: JoinHandle<()>,
}

impl LineReader {
    /// Takes `child`'s (piped) stdout; [`wait_output`] then leaves the `Output`'s stdout empty.
    pub fn stdout(child: &mut Child) -> LineReader {
        Self::start("stdout", child.stdout.take().expect("stdout piped"))
    }

    /// Takes `child`'s (piped) stderr; [`wait_output`] then leaves the `Output`'s stderr empty.
    pub fn stderr(child: &mut Child) -> LineReader {
        Self::start("stderr", child.stderr.take().expect("stderr piped"))
    }

    fn start(name: &'static str, stream: impl Read + Send + 'static) -> LineReader {
        let text = Arc::new(Mutex::new((String::new(), false)));
        let sink = text.clone();
        let thread = std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.0.push_str(&line);
                text.0.push('\n');
            }
            sink.lock().unwrap().1 = true;
        });
        LineReader { name, text, thread }
    }

    /// Waits until the stream has a line containing `needle`; panics if it ends first or after
    /// `limit`.
    pub fn wait_for(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            {
                let (text, ended) = &*self.text.lock().unwrap();
                if text.contains(needle) {
                    return;
                }
                let name = self.name;
                assert!(!ended, "{name} ended without {needle:?}: {text}");
                assert!(
                    start.elapsed() < limit,
                    "no {needle:?} on {name} within {limit:?}: {text}"
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Everything the child wrote to the stream (call it once the child has exited).
    pub fn finish(self) -> String {
        self.thread.join().expect("reader thread");
        Arc::try_unwrap(self.text)
            .expect("reader thread done")
            .into_inner()
            .unwrap()
            .0
    }
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

/// The counts of a status line `Total: a, Dialing: b, ...` in field order
/// (total, dialing, established, closed, error, not_initiated).
pub fn parse_status(line: &str) -> Option<[u64; 6]> {
    let names = [
        "Total: ",
        "Dialing: ",
        "Established: ",
        "Closed: ",
        "Error: ",
        "NotInitiated: ",
    ];
    let parts: Vec<&str> = line.split(", ").collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u64; 6];
    for (k, (part, name)) in parts.iter().zip(names).enumerate() {
        out[k] = part.strip_prefix(name)?.parse().ok()?;
    }
    Some(out)
}

/// Parses a duration as Go prints it (`0s`, `86µs`, `199.712ms`, `1.5s`, `2m3.5s`, `1h0m0s`).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (scale, unit) = [
            (1e-9, "ns"),
            (1e-6, "µs"),
            (1e-6, "us"),
            (1e-3, "ms"),
            (3600.0, "h"),
            (60.0, "m"),
            (1.0, "s"),
        ]
        .into_iter()
        .find(|(_, unit)| rest.starts_with(unit))?;
        total += value * scale;
        rest = &rest[unit.len()..];
    }
    Some(Duration::from_secs_f64(total))
}

/// The ramp line `Ramp: dialed N connections in SPAN (R connections/s)...`: N, the span from
/// the first to the last dial, and the achieved rate if printed.
pub fn parse_ramp(out: &str) -> (u64, Duration, Option<f64>) {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("Ramp: dialed "))
        .unwrap_or_else(|| panic!("no ramp line in:\n{out}"));
    let parse = || -> Option<(u64, Duration, Option<f64>)> {
        let (n, rest) = line.split_once(" connections in ")?;
        let span_end = rest.find([' ', ',', ';']).unwrap_or(rest.len());
        let span = parse_go_duration(&rest[..span_end])?;
        let rate = match rest[span_end..].strip_prefix(" (") {
            Some(r) => Some(r.split_once(" connections/s)")?.0.parse().ok()?),
            None => None,
        };
        Some((n.parse().ok()?, span, rate))
    };
    parse().unwrap_or_else(|| panic!("ramp line does not parse: {line:?}"))
}

/// The final status line (the one after `--- ... tcp test statistics ---`).
pub fn final_counts(out: &str) -> [u64; 6] {
    let mut lines = out
        .lines()
        .skip_while(|l| !l.ends_with("tcp test statistics ---"));
    lines.next().expect("final block present");
    parse_status(lines.next().expect("final status line")).expect("final status parses")
}

/// A `tcpgoon server` process on loopback, killed when dropped.
pub struct BuiltinServer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl BuiltinServer {
    /// Starts `tcpgoon server --bind <bind> -p 0 <extra...>` and reads the port it prints.
    pub fn start(bind: &str, extra: &[&str]) -> BuiltinServer {
        Self::start_with(tcpgoon(), bind, 0, extra)
    }

    /// A server on `bind` that holds every connection for up to a minute, quietly.
    pub fn holding(bind: &str) -> BuiltinServer {
        Self::start(bind, &["-m", "0", "-d", "60", "-q"])
    }

    /// Same, with a prepared command (e.g. `ip netns exec NAME tcpgoon`) and a port.
    pub fn start_with(mut cmd: Command, bind: &str, port: u16, extra: &[&str]) -> BuiltinServer {
        let mut child = cmd
            .args(["server", "--bind", bind, "-p", &port.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn server");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).expect("server banner");
        let port =
            tcpgoon::server::banner_port(&first).unwrap_or_else(|| panic!("no port in {first:?}"));
        let lines = Arc::new(Mutex::new(vec![first.trim_end().to_string()]));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        BuiltinServer { child, port, lines }
    }

    /// Every line printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (at most `limit`) for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50)); // let the reader thread finish
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for BuiltinServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What an in-test server does with each accepted connection.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// Keep it open; close when the client closes.
    Hold,
    /// Close it after this long.
    CloseAfter(Duration),
    /// Keep it open until this many connections have been accepted, then close it: the client
    /// had them all established at once before the first close.
    CloseOnceAccepted(u64),
    /// Send these bytes on accepting, then hold.
    Greet(&'static [u8]),
    /// Send back whatever arrives.
    Echo,
    /// Hold it and never read: its receive window fills and closes, as a busy backend's does.
    NoRead,
    /// Accept at most this many connections (greeting each with the bytes); the others stay in
    /// the kernel's accept queue, established for the client, never served: a load balancer at
    /// its connection limit.
    AcceptAtMost(u64, &'static [u8]),
}

/// An in-test server on a thread: counts accepted connections and those it holds open, and
/// records their peers.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    open: Arc<AtomicU64>,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Listens on `ip` (port 0) and serves with `behaviour`.
    pub fn start(ip: &str, behaviour: Behaviour) -> TestServer {
        let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let open = Arc::new(AtomicU64::new(0));
        let peers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Counters {
            accepted: accepted.clone(),
            open: open.clone(),
            peers: peers.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::spawn(move || serve(listener, behaviour, counters));
        TestServer {
            addr,
            accepted,
            open,
            peers,
            stop,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections accepted and not yet closed, by either side, as of the server's last pass
    /// over them (every 2 ms or so).
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::SeqCst)
    }

    /// Waits (at most `limit`) until [`open`](Self::open) is `n`; returns whether it got there.
    pub fn wait_open(&self, n: u64, limit: Duration) -> bool {
        let start = Instant::now();
        while self.open() != n {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Waits until `n` connections were accepted (at most `limit`), then a little longer to
    /// catch any extra one; returns the final count.
    pub fn settle_at(&self, n: u64, limit: Duration) -> u64 {
        let start = Instant::now();
        while self.accepted() < n && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.accepted()
    }

    /// The peer address of every accepted connection.
    pub fn peers(&self) -> Vec<SocketAddr> {
        self.peers.lock().unwrap().clone()
    }

    /// The port.
    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the server thread shares with its [`TestServer`].
struct Counters {
    accepted: Arc<AtomicU64>,
    open: Arc<AtomicU64>,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
}

fn serve(listener: TcpListener, behaviour: Behaviour, c: Counters) {
    let mut held: Vec<(TcpStream, Instant)> = Vec::new();
    let mut buf = [0u8; 512];
    while !c.stop.load(Ordering::SeqCst) {
        let mut idle = true;
        loop {
            if let Behaviour::AcceptAtMost(n, _) = behaviour {
                if c.accepted.load(Ordering::SeqCst) >= n {
                    break;
                }
            }
            let Ok((mut stream, peer)) = listener.accept() else {
                break;
            };
            idle = false;
            if let Behaviour::Greet(bytes) | Behaviour::AcceptAtMost(_, bytes) = behaviour {
                let _ = std::io::Write::write_all(&mut stream, bytes);
            }
            stream.set_nonblocking(true).unwrap();
            c.accepted.fetch_add(1, Ordering::SeqCst);
            c.peers.lock().unwrap().push(peer);
            held.push((stream, Instant::now()));
        }
        held.retain_mut(|(stream, since)| {
            match behaviour {
                Behaviour::CloseAfter(after) if since.elapsed() >= after => return false,
                Behaviour::CloseOnceAccepted(n) if c.accepted.load(Ordering::SeqCst) >= n => {
                    return false
                }
                Behaviour::NoRead => return true,
                _ => {}
            }
            // Kept while the client neither closed (EOF) nor reset it.
            match stream.read(&mut buf) {
                Ok(0) => false,
                Ok(n) => {
                    if let Behaviour::Echo = behaviour {
                        let _ = std::io::Write::write_all(stream, &buf[..n]);
                    }
                    true
                }
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            }
        });
        c.open.store(held.len() as u64, Ordering::SeqCst);
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A port on 127.0.0.1 with nothing listening (bound then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A listener that completes at most one handshake and never accepts: later dials hang in
/// SYN_SENT until their timeout (the kernel drops SYNs while the accept queue is full).
pub fn full_backlog_listener() -> (socket2::Socket, u16) {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.listen(0).unwrap();
    let port = s.local_addr().unwrap().as_socket().unwrap().port();
    (s, port)
}

/// The processes whose parent is `pid` (pgrep -P): the workers of `--workers`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Sends `signal` (e.g. "INT") to the process `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill(1)")
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// Says on the real stderr that the calling test is skipped, so that it does not pass silently.
///
/// libtest captures the output of `eprintln!` (and shows it only for failing tests) but not a
/// write to the stderr handle itself: this line appears in the plain `cargo test` output, as
/// `SKIPPED netns::some_test: reason`. The test's name is its thread's name, as libtest sets it.
pub fn skipped(reason: &str) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("a test");
    let line = format!("SKIPPED {name}: {reason}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// A network namespace created for one test and deleted when dropped: its own loopback, port
/// space, TIME_WAIT table and sysctls.
pub struct Netns {
    /// Its name.
    pub name: String,
}

impl Netns {
    /// Creates a namespace with loopback up. Returns `None` when this is not root or `ip` is
    /// missing: the test is then skipped, with a `SKIPPED` line on stderr (see [`skipped`]),
    /// unless `TCPGOON_REQUIRE_NETNS=1` (set by CI), which makes that a failure.
    pub fn create(tag: &str) -> Option<Netns> {
        // Unique per call: tests that share a tag run in parallel, and a second namespace of
        // the same name would replace the first under the other test's feet.
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let serial = SERIAL.fetch_add(1, Ordering::SeqCst);
        let name = format!("tcpgoon-t-{tag}-{}-{serial}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let made = Command::new("ip")
            .args(["netns", "add", &name])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            let reason = "cannot create a network namespace (needs root and iproute2)";
            assert!(
                std::env::var("TCPGOON_REQUIRE_NETNS").as_deref() != Ok("1"),
                "{reason}, and TCPGOON_REQUIRE_NETNS=1 requires the namespace tests"
            );
            skipped(reason);
            return None;
        }
        let ns = Netns { name };
        ns.sh("ip link set lo up");
        Some(ns)
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs a shell command inside the namespace; panics if it fails.
    pub fn sh(&self, script: &str) {
        let ok = self
            .command("sh")
            .args(["-c", script])
            .status()
            .expect("ip netns exec")
            .success();
        assert!(ok, "in {}: {script}", self.name);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

impl Netns {
    /// Runs tcpgoon with `args` (split on white space) inside the namespace.
    pub fn tg(&self, args: &str) -> Output {
        let mut child = piped(
            self.command(env!("CARGO_BIN_EXE_tcpgoon"))
                .args(args.split_whitespace()),
        );
        wait_output(&mut child, Duration::from_secs(60))
    }

    /// Starts a holding `tcpgoon server` on 127.0.0.1:17001 inside the namespace (below any
    /// ephemeral range the tests set, so it never takes a port they count).
    pub fn server(&self) -> BuiltinServer {
        let tcpgoon = self.command(env!("CARGO_BIN_EXE_tcpgoon"));
        BuiltinServer::start_with(tcpgoon, "127.0.0.1", 17001, &["-m", "0", "-d", "60", "-q"])
    }

    /// Counts sockets of the namespace whose remote port is `port` and whose state is `state`
    /// (hex as in `/proc/net/tcp`, e.g. "06" for TIME_WAIT).
    pub fn sockets_toward(&self, port: u16, state: &str) -> usize {
        let out = self
            .command("cat")
            .arg("/proc/net/tcp")
            .output()
            .expect("cat /proc/net/tcp");
        let text = String::from_utf8_lossy(&out.stdout);
        let want = format!(":{port:04X}");
        text.lines()
            .skip(1)
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && f[2].ends_with(&want) && f[3] == state
            })
            .count()
    }

    /// Waits until at least `n` sockets toward `port` are in `state`, or their number has not
    /// changed for half a second (at most 10 s in all); returns how many there are then.
    pub fn wait_sockets_toward(&self, port: u16, state: &str, n: usize) -> usize {
        let start = Instant::now();
        let (mut last, mut since) = (usize::MAX, Instant::now());
        loop {
            let count = self.sockets_toward(port, state);
            if count != last {
                (last, since) = (count, Instant::now());
            }
            let stable = count > 0 && since.elapsed() > Duration::from_millis(500);
            if count >= n || stable || start.elapsed() > Duration::from_secs(10) {
                return count;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `n` connections toward the namespace's server (port 17001) are established,
    /// and fails, showing the socket table, when they never are. At least `n`, not exactly: CI
    /// and a full local run each once counted 6 to 9 such rows for a run of 5 (cause not
    /// found; `/proc/net/tcp` is no atomic snapshot); the run's own report, which the tests
    /// check, tells the exact count.
    pub fn wait_established_toward_17001(&self, n: usize) {
        let seen = self.wait_sockets_toward(17001, "01", n);
        if seen < n {
            let ss = self.command("ss").arg("-tan").output().expect("ss");
            panic!(
                "{seen} connections toward 17001 established, {n} expected:\n{}",
                String::from_utf8_lossy(&ss.stdout)
            );
        }
    }

    /// Creates a namespace where `nft` can cut paths. `None` (with a SKIPPED line) where
    /// namespaces or nft are missing, unless CI requires them (`TCPGOON_REQUIRE_NETNS=1`).
    pub fn with_nft(tag: &str) -> Option<Netns> {
        let has_nft = Command::new("nft")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_nft {
            let reason = "nft is missing (apt-get install nftables)";
            assert!(
                std::env::var("TCPGOON_REQUIRE_NETNS").as_deref() != Ok("1"),
                "{reason}, and TCPGOON_REQUIRE_NETNS=1 requires the namespace tests"
            );
            skipped(reason);
            return None;
        }
        Netns::create(tag)
    }

    /// Creates a namespace with its ephemeral port range set to `lo..=hi`.
    pub fn with_port_range(tag: &str, lo: u16, hi: u16) -> Option<Netns> {
        let ns = Netns::create(tag)?;
        ns.sh(&format!(
            "sysctl -qw net.ipv4.ip_local_port_range='{lo} {hi}'"
        ));
        Some(ns)
    }
}

#[test]
fn go_durations_and_the_ramp_line_parse() {
    let ms = Duration::from_millis;
    assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
    assert_eq!(parse_go_duration("86µs"), Some(Duration::from_micros(86)));
    assert_eq!(
        parse_go_duration("199.5ms"),
        Some(Duration::from_micros(199_500))
    );
    assert_eq!(parse_go_duration("2m3.5s"), Some(ms(123_500)));
    assert_eq!(parse_go_duration("1h0m0s"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_go_duration("3 ms"), None);
    let out = "x\nRamp: dialed 700 connections in 199.8ms (3498.5 connections/s), all settled \
               after 200.1ms; at most 1.2ms behind schedule\n";
    assert_eq!(
        parse_ramp(out),
        (700, ms(199) + Duration::from_micros(800), Some(3498.5))
    );
    let one = "Ramp: dialed 1 connections in 0s, all settled after 1ms\n";
    assert_eq!(parse_ramp(one), (1, Duration::ZERO, None));
}
