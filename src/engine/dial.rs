//! Opening one connection: a non-blocking socket, its local end chosen per the run's source plan,
//! and the `connect()` call.
//!
//! This is the only place that decides a connection's source address and port, and the only
//! place that tells a failure of this machine (no socket, no source address, no free port) from a
//! failure of the target (refused, unreachable): the first never reached the target and must not
//! be reported as the target's error.
//!
//! With [`PortPolicy::Auto`](crate::config::PortPolicy::Auto) the tool hands out each source port from a [`PortCursor`](crate::local::PortCursor), so the
//! kernel never searches for one. How the chosen port reaches the kernel matters to every other
//! program on the machine:
//! - [`PickMechanism::ConnectTime`] (Linux 6.3+): the socket's own port range is narrowed to the
//!   one chosen port (`IP_LOCAL_PORT_RANGE`) and `connect()` takes it, checking only that the
//!   4-tuple is unique. The port stays shareable: other programs' `connect()` to other
//!   destinations may use it too, during the run and while it sits in TIME_WAIT afterwards.
//! - [`PickMechanism::Bind`] (older kernels): the socket is bound to the port. A port bound
//!   explicitly is reserved for every destination: the kernel's own port search in other
//!   programs' `connect()` skips it, so a large run left in TIME_WAIT slows them for a minute.
//!
//! With [`PortPolicy::Kernel`](crate::config::PortPolicy::Kernel) and a source address, the socket is bound with
//! `IP_BIND_ADDRESS_NO_PORT` so the kernel still picks the port at `connect()` time.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{setsockopt, sockopt::IpBindAddressNoPort};
use socket2::{Domain, Protocol, Socket, Type};

use crate::local::{LocalEndpoints, MAX_BIND_TRIES};

/// `IP_LOCAL_PORT_RANGE` (linux/in.h, Linux 6.3): a socket's own ephemeral range, as
/// `lo | hi << 16`. Not in the libc crate yet.
const IP_LOCAL_PORT_RANGE: libc::c_int = 51;

/// How a port that the tool picked is handed to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickMechanism {
    /// `IP_LOCAL_PORT_RANGE` narrowed to the port, taken by `connect()`: shareable with other
    /// destinations (Linux 6.3+).
    ConnectTime,
    /// An explicit `bind()`: the port is reserved for every destination while bound.
    Bind,
}

impl std::fmt::Display for PickMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PickMechanism::ConnectTime => "handed to connect() (IP_LOCAL_PORT_RANGE)",
            PickMechanism::Bind => "bound explicitly (this kernel lacks IP_LOCAL_PORT_RANGE)",
        })
    }
}

/// A connection whose `connect()` was issued.
#[derive(Debug)]
pub struct Dialed {
    /// The socket, non-blocking.
    pub socket: Socket,
    /// The source address and port as chosen here: the address is unspecified when routing
    /// picks it, the port 0 when the kernel picks it; `None` when neither was chosen here.
    pub local: Option<SocketAddr>,
    /// The clock reading taken right before the `connect()` that was issued.
    pub t0_ns: u64,
    /// `connect()` completed at once (it usually answers `EINPROGRESS`).
    pub connected: bool,
}

/// Why a connection could not be dialed.
#[derive(Debug)]
pub enum DialFailure {
    /// This machine could not open it: no socket, a source address it cannot bind, no free
    /// local port. Nothing was sent to the target.
    Local {
        /// The OS error number.
        errno: i32,
        /// The source address it was to leave from, if one was given.
        source: Option<IpAddr>,
    },
    /// `connect()` failed at once with the target's answer or the route's (refused,
    /// unreachable).
    Target {
        /// The OS error number.
        errno: i32,
        /// The clock reading right before `connect()`.
        t0_ns: u64,
    },
}

/// True for the errors of `connect()` that come from this machine's resources, not from the
/// target or the path to it: no free local port, no memory, no descriptors.
pub fn is_local_errno(errno: i32) -> bool {
    [
        Errno::EADDRNOTAVAIL,
        Errno::EADDRINUSE,
        Errno::EAGAIN,
        Errno::EMFILE,
        Errno::ENFILE,
        Errno::ENOBUFS,
        Errno::ENOMEM,
    ]
    .iter()
    .any(|&e| e as i32 == errno)
}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

impl PickMechanism {
    /// The best mechanism this kernel has.
    pub fn detect() -> Self {
        if connect_time_ports_supported() {
            PickMechanism::ConnectTime
        } else {
            PickMechanism::Bind
        }
    }
}

/// Opens a non-blocking TCP socket for connection `i`, gives it its local end per `local` (with
/// `mechanism` for a port tcpgoon picked) and issues `connect()` toward `target`. `clock` is read
/// right before the `connect()` that counts.
pub fn dial(
    local: &mut LocalEndpoints,
    mechanism: PickMechanism,
    i: u64,
    target: SocketAddr,
    clock: impl Fn() -> u64,
) -> Result<Dialed, DialFailure> {
    let (source, picker) = local.for_connection(i);
    let local_err = |e: &io::Error| DialFailure::Local {
        errno: errno_of(e),
        source,
    };
    let domain = if target.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(
        domain,
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
    .map_err(|e| local_err(&e))?;
    let unspecified = || {
        if target.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        }
    };
    match (picker, mechanism) {
        (None, _) => {
            let local = match source {
                None => None,
                Some(ip) => {
                    bind_address_only(&socket, ip).map_err(|e| local_err(&e))?;
                    Some(SocketAddr::new(ip, 0))
                }
            };
            connect(socket, target, local, &clock)
        }
        (Some(mut ports), PickMechanism::ConnectTime) => {
            if let Some(ip) = source {
                bind_address_only(&socket, ip).map_err(|e| local_err(&e))?;
            }
            let ip = source.unwrap_or_else(unspecified);
            for _ in 0..MAX_BIND_TRIES {
                let Some(port) = ports.next_port() else {
                    break;
                };
                set_port_range(&socket, port).map_err(|e| local_err(&e))?;
                let t0_ns = clock();
                let local = Some(SocketAddr::new(ip, port));
                match socket.connect(&target.into()) {
                    Ok(()) => {
                        return Ok(Dialed {
                            socket,
                            local,
                            t0_ns,
                            connected: true,
                        })
                    }
                    Err(e) if errno_of(&e) == Errno::EINPROGRESS as i32 => {
                        return Ok(Dialed {
                            socket,
                            local,
                            t0_ns,
                            connected: false,
                        })
                    }
                    // Taken: bound by another socket, or this 4-tuple exists (TIME_WAIT).
                    // The socket is back in its closed state and may connect again.
                    Err(e) if errno_of(&e) == Errno::EADDRNOTAVAIL as i32 => ports.mark_taken(port),
                    Err(e) if is_local_errno(errno_of(&e)) => return Err(local_err(&e)),
                    Err(e) => {
                        return Err(DialFailure::Target {
                            errno: errno_of(&e),
                            t0_ns,
                        })
                    }
                }
            }
            Err(DialFailure::Local {
                errno: Errno::EADDRNOTAVAIL as i32,
                source,
            })
        }
        (Some(mut ports), PickMechanism::Bind) => {
            let ip = source.unwrap_or_else(unspecified);
            let mut bound = None;
            for _ in 0..MAX_BIND_TRIES {
                let Some(port) = ports.next_port() else {
                    break;
                };
                let local = SocketAddr::new(ip, port);
                match socket.bind(&local.into()) {
                    Ok(()) => {
                        bound = Some(local);
                        break;
                    }
                    Err(e) if errno_of(&e) == Errno::EADDRINUSE as i32 => ports.mark_taken(port),
                    Err(e) => return Err(local_err(&e)),
                }
            }
            let Some(local) = bound else {
                return Err(DialFailure::Local {
                    errno: Errno::EADDRNOTAVAIL as i32,
                    source,
                });
            };
            connect(socket, target, Some(local), &clock)
        }
    }
}

/// Issues `connect()` on a socket whose local end is set.
fn connect(
    socket: Socket,
    target: SocketAddr,
    local: Option<SocketAddr>,
    clock: &impl Fn() -> u64,
) -> Result<Dialed, DialFailure> {
    let t0_ns = clock();
    let connected = match socket.connect(&target.into()) {
        Ok(()) => true,
        Err(e) if errno_of(&e) == Errno::EINPROGRESS as i32 => false,
        Err(e) if is_local_errno(errno_of(&e)) => {
            return Err(DialFailure::Local {
                errno: errno_of(&e),
                source: local.map(|l| l.ip()),
            })
        }
        Err(e) => {
            return Err(DialFailure::Target {
                errno: errno_of(&e),
                t0_ns,
            })
        }
    };
    Ok(Dialed {
        socket,
        local,
        t0_ns,
        connected,
    })
}

/// Binds the source address and leaves the port to `connect()` (`IP_BIND_ADDRESS_NO_PORT`).
fn bind_address_only(socket: &Socket, ip: IpAddr) -> io::Result<()> {
    setsockopt(socket, IpBindAddressNoPort, &true).map_err(io::Error::from)?;
    socket.bind(&SocketAddr::new(ip, 0).into())
}

/// Narrows the socket's ephemeral range to the one port `port`.
fn set_port_range(socket: &Socket, port: u16) -> io::Result<()> {
    let value: u32 = u32::from(port) | (u32::from(port) << 16);
    // SAFETY: the descriptor is a valid, open socket owned by `socket` for the whole call; the
    // option value points to a live u32 and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_IP,
            IP_LOCAL_PORT_RANGE,
            (&value as *const u32).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// True when this kernel takes `IP_LOCAL_PORT_RANGE` (Linux 6.3+). Asked once per run, on a
/// socket that is closed again.
pub fn connect_time_ports_supported() -> bool {
    Socket::new(Domain::IPV4, Type::STREAM.cloexec(), Some(Protocol::TCP))
        .and_then(|s| set_port_range(&s, 40_000))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::{PortRange, PortSet};
    use std::time::Instant;

    fn clock() -> impl Fn() -> u64 {
        let start = Instant::now();
        move || start.elapsed().as_nanos() as u64
    }

    /// A range made of a port a listener holds and a port just released, every other port
    /// between them excluded, with the cursor starting on the busy one; the test so does not
    /// depend on the machine's other sockets.
    fn busy_then_free() -> (std::net::TcpListener, PortRange, PortSet, u32, u16) {
        let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = holder.local_addr().unwrap().port();
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let range = PortRange {
            lo: busy.min(free),
            hi: busy.max(free),
        };
        let mut shared = PortSet::default();
        for p in (range.lo..=range.hi).filter(|&p| p != busy && p != free) {
            shared.insert(p);
        }
        (holder, range, shared, u32::from(busy - range.lo), free)
    }

    /// A port that turns out to be taken (the pre-flight did not see it) is skipped, with
    /// either mechanism.
    #[test]
    fn a_port_in_use_is_skipped() {
        let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = target.local_addr().unwrap();
        let mut mechanisms = vec![PickMechanism::Bind];
        if connect_time_ports_supported() {
            mechanisms.push(PickMechanism::ConnectTime);
        }
        for mechanism in mechanisms {
            let (_holder, range, shared, start, free) = busy_then_free();
            let sources = vec!["127.0.0.1".parse().unwrap()];
            let mut local = LocalEndpoints::pick(sources, range, shared, vec![Vec::new()], start);
            let dialed = dial(&mut local, mechanism, 0, to, clock()).unwrap();
            assert_eq!(dialed.local.unwrap().port(), free, "{mechanism:?}");
            // The kernel really used it.
            let (_, peer) = target.accept().unwrap();
            assert_eq!(peer.port(), free, "{mechanism:?}");
        }
    }

    /// With IP_LOCAL_PORT_RANGE a picked port stays shareable: another socket of this machine
    /// can connect from the same port to another destination while ours holds it. An explicit
    /// bind reserves it for every destination.
    #[test]
    fn a_port_picked_at_connect_time_stays_shareable() {
        if !connect_time_ports_supported() {
            // Say so where people look (libtest shows a passing test's direct stderr writes).
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"SKIPPED engine::dial::a_port_picked_at_connect_time_stays_shareable: kernel lacks IP_LOCAL_PORT_RANGE\n",
            );
            return;
        }
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        for (mechanism, shareable) in [
            (PickMechanism::ConnectTime, true),
            (PickMechanism::Bind, false),
        ] {
            // A port just released, as the only port of the range.
            let free = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let range = PortRange { lo: free, hi: free };
            let sources = vec!["127.0.0.1".parse().unwrap()];
            let mut local =
                LocalEndpoints::pick(sources, range, PortSet::default(), vec![Vec::new()], 0);
            let ours = dial(&mut local, mechanism, 0, a.local_addr().unwrap(), clock()).unwrap();
            assert_eq!(ours.local.unwrap().port(), free);
            let _accepted = a.accept().unwrap();
            // Another program's connect() restricted to the same port, toward b.
            let other = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            set_port_range(&other, free).unwrap();
            let result = other.connect(&b.local_addr().unwrap().into());
            assert_eq!(result.is_ok(), shareable, "{mechanism:?}: {result:?}");
        }
    }

    #[test]
    fn kernel_policy_binds_only_the_address() {
        let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = target.local_addr().unwrap();
        let mut local = LocalEndpoints::kernel(vec!["127.0.0.3".parse().unwrap()]);
        let dialed = dial(&mut local, PickMechanism::Bind, 0, to, clock()).unwrap();
        assert_eq!(dialed.local, Some("127.0.0.3:0".parse().unwrap()));
        let (_, peer) = target.accept().unwrap();
        assert_eq!(peer.ip(), "127.0.0.3".parse::<IpAddr>().unwrap());
        let mut none = LocalEndpoints::kernel(Vec::new());
        let dialed = dial(&mut none, PickMechanism::Bind, 0, to, clock()).unwrap();
        assert_eq!(dialed.local, None);
    }

    /// A source address this machine does not have fails here, as a local error: nothing
    /// reaches the target.
    #[test]
    fn a_source_address_that_is_not_local_is_a_local_failure() {
        let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = target.local_addr().unwrap();
        let foreign: IpAddr = "192.0.2.1".parse().unwrap(); // TEST-NET-1: bind only, nothing sent
        let range = PortRange {
            lo: 40000,
            hi: 40100,
        };
        let pick =
            || LocalEndpoints::pick(vec![foreign], range, PortSet::default(), vec![vec![]], 0);
        for (mut local, mechanism) in [
            (LocalEndpoints::kernel(vec![foreign]), PickMechanism::Bind),
            (pick(), PickMechanism::Bind),
            (pick(), PickMechanism::ConnectTime),
        ] {
            match dial(&mut local, mechanism, 0, to, clock()) {
                Err(DialFailure::Local { errno, source }) => {
                    assert_eq!(errno, Errno::EADDRNOTAVAIL as i32);
                    assert_eq!(source, Some(foreign));
                }
                other => panic!("{:?} {mechanism:?}: {other:?}", local.policy()),
            }
        }
    }

    #[test]
    fn local_errors_are_this_machines() {
        assert!(is_local_errno(Errno::EADDRNOTAVAIL as i32));
        assert!(is_local_errno(Errno::EMFILE as i32));
        assert!(!is_local_errno(Errno::ECONNREFUSED as i32));
        assert!(!is_local_errno(Errno::ENETUNREACH as i32));
    }
}
