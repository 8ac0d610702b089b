//! The built-in target: an accept-and-hold TCP server on the same kind of mio loop as the engine.
//!
//! `tcpgoon server` gives every user a target with no setup (the quick start uses it) and gives
//! the tests a server whose behaviour they control. It accepts as fast as the kernel hands out
//! connections (large backlog, accept until `WouldBlock`), holds each one, discards whatever it
//! receives and closes on EOF. Like the Go tool's server it stops after `-m` connections or `-d`
//! seconds, whichever comes first (0 means no limit), printing the same messages.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use socket2::{Domain, Socket, Type};

pub use crate::config::ServerConfig;
use crate::engine::signals::Signals;

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

/// Binds the listening socket: large backlog, `SO_REUSEADDR`, non-blocking.
pub fn listen(bind: Option<IpAddr>, port: u16) -> io::Result<TcpListener> {
    let open = |addr: SocketAddr, dual: bool| -> io::Result<TcpListener> {
        let socket = Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking().cloexec(),
            None,
        )?;
        socket.set_reuse_address(true)?;
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

/// Runs the server until a limit or a signal; prints the Go tool's messages to `out`. A failing
/// `out` (a closed pipe) does not stop the server. Returns why it stopped and how many
/// connections it accepted.
pub fn run(
    config: &ServerConfig,
    signals: Option<Signals>,
    out: &mut impl Write,
) -> io::Result<(ServerStop, u64)> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut listener = listen(config.bind, config.port)?;
    let port = listener.local_addr()?.port();
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut signals = signals;
    if let Some(s) = &signals {
        s.register(poll.registry(), SIGNAL)?;
    }
    let limit = |n: u64, what: &str| {
        if n == 0 {
            format!("unlimited {what}")
        } else {
            format!("{n} {what}")
        }
    };
    let seconds = config
        .duration
        .map_or("unlimited".to_string(), |d| format!("{}", d.as_secs_f64()));
    writeln!(
        out,
        "Running the simple TCP server in port {port} up to {} or {seconds} seconds, what happens first",
        limit(config.max_connections, "connections")
    )?;
    let _ = writeln!(out, "Press Ctrl+C to end");
    out.flush()?;

    let start = Instant::now();
    let mut conns: Slab<TcpStream> = Slab::new();
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0u8; 4096];
    let mut accepted = 0u64;
    let mut warned_fds = false;
    let stop = 'run: loop {
        let timeout = match config.duration {
            Some(d) => match d.checked_sub(start.elapsed()) {
                Some(left) => Some(left),
                None => break 'run ServerStop::Duration,
            },
            None => None,
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
                        let _ = writeln!(out);
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
                            let entry = conns.vacant_entry();
                            poll.registry().register(
                                &mut stream,
                                Token(entry.key()),
                                Interest::READABLE,
                            )?;
                            entry.insert(stream);
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
                    let Some(stream) = conns.get_mut(key) else {
                        continue;
                    };
                    let closed = loop {
                        match stream.read(&mut scratch) {
                            Ok(0) => break true,
                            Ok(_) => continue,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(_) => break true,
                        }
                    };
                    if closed {
                        conns.remove(key);
                    }
                }
            }
        }
        let _ = out.flush();
    };
    let last = match stop {
        ServerStop::MaxConnections => {
            format!(
                "Reached max number of connections: {}",
                config.max_connections
            )
        }
        ServerStop::Duration => format!("Reached max duration: {seconds} seconds"),
        ServerStop::Signal => format!("Stopped by a signal after {accepted} connections"),
    };
    let _ = writeln!(out, "{last}");
    let _ = out.flush();
    Ok((stop, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The banner a server on port 0 prints names the port it really listens on.
    #[test]
    fn the_banner_names_the_bound_port() {
        let config = ServerConfig {
            bind: Some("127.0.0.1".parse().unwrap()),
            port: 0,
            max_connections: 1,
            duration: Some(Duration::from_millis(50)),
            quiet: true,
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
