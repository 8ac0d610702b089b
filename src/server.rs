//! The built-in target: an accept-and-hold TCP server on the same kind of mio loop as the engine.
//!
//! `tcpgoon server` gives every user a target with no setup (the quick start uses it) and gives
//! the tests a server whose behaviour they control. It accepts as fast as the kernel hands out
//! connections (large backlog, accept until `WouldBlock`), holds each one, discards whatever it
//! receives and closes on EOF. Like the Go tool's server it stops after `-m` connections or `-d`
//! seconds, whichever comes first (0 means no limit), printing the same messages.
//!
//! The behaviour flags let it stand in for what `run`'s checks look for, with no load balancer
//! at hand: a greeting (`--banner`), an echo (`--echo`, which stops reading from a client that
//! does not read, so it never buffers more than one read), an idle timeout (`--close-after`:
//! one delay for all, so a FIFO of deadlines is the timer) and abortive closes (`--reset`,
//! `SO_LINGER` 0 set at accept).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use socket2::{Domain, SockRef, Socket, Type};

pub use crate::config::ServerConfig;
use crate::engine::signals::Signals;
use crate::units::escape_bytes;

const LISTENER: Token = Token(usize::MAX - 2);
const SIGNAL: Token = Token(usize::MAX - 1);

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStop {
    /// `-m` connections were accepted.
    MaxConnections,
    /// `-d` elapsed.
    Duration,
    /// SIGINT or SIGTERM.
    Signal,
}

/// The port in the server's first line (`Running the simple TCP server in port <p> ...`), for
/// whoever starts `tcpgoon server -p 0` and needs the port it got.
pub fn banner_port(line: &str) -> Option<u16> {
    line.split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .and_then(|p| p.parse().ok())
}

/// Binds the listening socket: large backlog, `SO_REUSEADDR`, non-blocking; with `reuse_port`,
/// `SO_REUSEPORT` too, so that the processes of `server --workers` share the port (the kernel
/// deals the connections between their listeners).
pub fn listen(bind: Option<IpAddr>, port: u16, reuse_port: bool) -> io::Result<TcpListener> {
    let open = |addr: SocketAddr, dual: bool| -> io::Result<TcpListener> {
        let socket = Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking().cloexec(),
            None,
        )?;
        socket.set_reuse_address(true)?;
        if reuse_port {
            socket.set_reuse_port(true)?;
        }
        if dual {
            socket.set_only_v6(false)?;
        }
        socket.bind(&addr.into())?;
        // The kernel caps this at net.core.somaxconn.
        socket.listen(65_535)?;
        Ok(TcpListener::from_std(socket.into()))
    };
    match bind {
        Some(ip) => open(SocketAddr::new(ip, port), false),
        None => open(
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            true,
        )
        .or_else(|_| {
            open(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                false,
            )
        }),
    }
}

/// One accepted connection.
struct Held {
    stream: TcpStream,
    /// Its accept number, so that a `--close-after` deadline finds this connection and not a
    /// later one in the same slab slot.
    serial: u64,
    /// How much of the banner has been written.
    banner_sent: usize,
    /// Echoed bytes the peer has not taken yet (empty, and unallocated, without `--echo`).
    pending: Vec<u8>,
    /// The peer sent its FIN: close once everything owed is written.
    read_closed: bool,
}

/// What servicing a connection left it as.
enum Service {
    Open,
    Close,
}

/// Writes what the connection owes (the banner's rest, then echoed bytes), then reads until
/// the socket is empty, echoing if asked. Stops reading while the peer does not take what it
/// is sent (the next writable event resumes), so an echo never buffers more than one read.
fn service(held: &mut Held, banner: &[u8], echo: bool, scratch: &mut [u8]) -> Service {
    loop {
        while held.banner_sent < banner.len() || !held.pending.is_empty() {
            let chunk = if held.banner_sent < banner.len() {
                &banner[held.banner_sent..]
            } else {
                &held.pending[..]
            };
            match held.stream.write(chunk) {
                Ok(0) => return Service::Close,
                Ok(n) if held.banner_sent < banner.len() => held.banner_sent += n,
                Ok(n) => drop(held.pending.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Service::Open,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Service::Close,
            }
        }
        if held.read_closed {
            return Service::Close;
        }
        match held.stream.read(scratch) {
            Ok(0) => held.read_closed = true,
            Ok(n) if echo => held.pending.extend_from_slice(&scratch[..n]),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Service::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Service::Close,
        }
    }
}

/// The line that says what the server does beyond holding, when it does more.
/// The line that says what the behaviour flags make the server do, if any.
pub fn behaviour_line(config: &ServerConfig) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(banner) = &config.banner {
        parts.push(format!("sends \"{}\" on accept", escape_bytes(banner, 64)));
    }
    if config.echo {
        parts.push("echoes what it receives".to_string());
    }
    if let Some(after) = config.close_after {
        parts.push(format!(
            "closes each connection {after:?} after accepting it"
        ));
    }
    if config.reset {
        parts.push("closes with a reset (RST) instead of a FIN".to_string());
    }
    (!parts.is_empty()).then(|| format!("Each connection: {}", parts.join("; ")))
}

/// The Go tool's first line: the port, and the limits.
pub fn banner_line(port: u16, config: &ServerConfig) -> String {
    let connections = match config.max_connections {
        0 => "unlimited connections".to_string(),
        n => format!("{n} connections"),
    };
    format!(
        "Running the simple TCP server in port {port} up to {connections} or {} seconds, what happens first",
        seconds(config)
    )
}

/// `-d` as the Go tool's messages say it.
fn seconds(config: &ServerConfig) -> String {
    config
        .duration
        .map_or("unlimited".to_string(), |d| format!("{}", d.as_secs_f64()))
}

/// The server's closing line: why it stopped, after how many connections.
pub fn last_line(stop: ServerStop, accepted: u64, config: &ServerConfig) -> String {
    match stop {
        ServerStop::MaxConnections => {
            format!(
                "Reached max number of connections: {}",
                config.max_connections
            )
        }
        ServerStop::Duration => format!("Reached max duration: {} seconds", seconds(config)),
        ServerStop::Signal => format!("Stopped by a signal after {accepted} connections"),
    }
}

/// Runs the server until a limit or a signal; prints the Go tool's messages to `out`. A failing
/// `out` (a closed pipe) does not stop the server. Returns why it stopped and how many
/// connections it accepted.
pub fn run(
    config: &ServerConfig,
    signals: Option<Signals>,
    out: &mut impl Write,
) -> io::Result<(ServerStop, u64)> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut listener = listen(config.bind, config.port, config.worker)?;
    let port = listener.local_addr()?.port();
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut signals = signals;
    if let Some(s) = &signals {
        s.register(poll.registry(), SIGNAL)?;
    }
    if config.worker {
        // For the parent of `--workers`, which prints the banner once.
        writeln!(out, "listening")?;
    } else {
        writeln!(out, "{}", banner_line(port, config))?;
        if let Some(line) = behaviour_line(config) {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "Press Ctrl+C to end");
    }
    out.flush()?;

    let banner = config.banner.as_deref().unwrap_or_default();
    // A connection that is sent something must say when it can take more.
    let interest = if banner.is_empty() && !config.echo {
        Interest::READABLE
    } else {
        Interest::READABLE | Interest::WRITABLE
    };
    let start = Instant::now();
    let mut conns: Slab<Held> = Slab::new();
    // One delay for every connection: deadlines come in accept order, a queue is the timer.
    let mut closing: VecDeque<(Instant, usize, u64)> = VecDeque::new();
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0u8; 4096];
    let mut accepted = 0u64;
    let mut warned_fds = false;
    let stop = 'run: loop {
        let now = Instant::now();
        while let Some(&(due, key, serial)) = closing.front() {
            if due > now {
                break;
            }
            closing.pop_front();
            if conns.get(key).is_some_and(|h| h.serial == serial) {
                conns.remove(key);
            }
        }
        let until_stop = match config.duration {
            Some(d) => match d.checked_sub(start.elapsed()) {
                Some(left) => Some(left),
                None => break 'run ServerStop::Duration,
            },
            None => None,
        };
        let until_close = closing
            .front()
            .map(|&(due, ..)| due.saturating_duration_since(now));
        let timeout = match (until_stop, until_close) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        for event in events.iter() {
            match event.token() {
                SIGNAL => {
                    if signals.as_mut().map_or(0, Signals::drain) > 0 {
                        if !config.worker {
                            // After the terminal's ^C.
                            let _ = writeln!(out);
                        }
                        break 'run ServerStop::Signal;
                    }
                }
                LISTENER => loop {
                    match listener.accept() {
                        Ok((mut stream, peer)) => {
                            accepted += 1;
                            if !config.quiet {
                                let _ = writeln!(out, "{peer}");
                            }
                            if config.reset {
                                SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
                            }
                            let entry = conns.vacant_entry();
                            let key = entry.key();
                            poll.registry()
                                .register(&mut stream, Token(key), interest)?;
                            let held = entry.insert(Held {
                                stream,
                                serial: accepted,
                                banner_sent: 0,
                                pending: Vec::new(),
                                read_closed: false,
                            });
                            if let Service::Close = service(held, banner, config.echo, &mut scratch)
                            {
                                conns.remove(key);
                            } else if let Some(after) = config.close_after {
                                closing.push_back((Instant::now() + after, key, accepted));
                            }
                            if config.max_connections > 0 && accepted >= config.max_connections {
                                break 'run ServerStop::MaxConnections;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            if !warned_fds {
                                warned_fds = true;
                                let _ = writeln!(
                                    io::stderr(),
                                    "tcpgoon server: accept failed: {e} (raise `ulimit -n` to hold more connections)"
                                );
                            }
                            break;
                        }
                    }
                },
                Token(key) => {
                    let Some(held) = conns.get_mut(key) else {
                        continue;
                    };
                    if let Service::Close = service(held, banner, config.echo, &mut scratch) {
                        conns.remove(key);
                    }
                }
            }
        }
        let _ = out.flush();
    };
    // No more handshakes once it stops: the listener closes before the connections do, so a
    // late client is refused rather than accepted by the kernel and reset.
    drop(listener);
    drop(conns);
    if config.worker {
        let _ = writeln!(out, "accepted {accepted} {}", stop as u8);
    } else {
        let _ = writeln!(out, "{}", last_line(stop, accepted, config));
    }
    let _ = out.flush();
    Ok((stop, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The banner a server on port 0 prints names the port it really listens on.
    #[test]
    fn the_banner_names_the_bound_port() {
        let config = ServerConfig {
            bind: Some("127.0.0.1".parse().unwrap()),
            port: 0,
            max_connections: 1,
            duration: Some(Duration::from_millis(50)),
            quiet: true,
            banner: None,
            echo: false,
            close_after: None,
            reset: false,
            workers: 1,
            worker: false,
        };
        let mut out = Vec::new();
        let (stop, accepted) = run(&config, None, &mut out).unwrap();
        assert_eq!((stop, accepted), (ServerStop::Duration, 0));
        let text = String::from_utf8(out).unwrap();
        let port = banner_port(text.lines().next().unwrap()).expect("a port in the banner");
        assert_ne!(port, 0);
        assert_eq!(
            banner_port("Running the simple TCP server in port 54321 up to 10 connections"),
            Some(54321)
        );
        assert_eq!(banner_port("Press Ctrl+C to end"), None);
    }
}
