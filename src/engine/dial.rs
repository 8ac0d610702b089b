//! Creating one non-blocking socket and binding its local end, per the run's source plan.
//!
//! This is the only place that decides a connection's source address and port. With
//! [`PortPolicy::Pick`] the socket is bound to an explicit port handed out by a [`PortCursor`],
//! so `connect()` takes the kernel's fast path (no search for a free port); a port that turns out
//! to be in use (another process took it since the pre-flight read) is skipped and the next one
//! tried. With [`PortPolicy::Kernel`] and a source address, the socket is bound with
//! `IP_BIND_ADDRESS_NO_PORT` so the kernel still picks the port at `connect()` time, per
//! destination.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nix::sys::socket::{setsockopt, sockopt::IpBindAddressNoPort};
use socket2::{Domain, Protocol, Socket, Type};

use crate::kernel::{PortRange, PortSet};
use crate::source::{PortCursor, PortPolicy};

/// How many ports one dial tries before it gives up with `EADDRNOTAVAIL`. The pre-flight relies
/// on it: it skips reading which ports are taken only when fewer than this many can be.
pub const MAX_BIND_TRIES: usize = 1024;

/// Where connections come from: the source addresses and how source ports are chosen.
#[derive(Debug, Clone)]
pub struct LocalEndpoints {
    sources: Vec<IpAddr>,
    ports: Ports,
}

#[derive(Debug, Clone)]
enum Ports {
    Kernel,
    Pick {
        range: PortRange,
        /// Ports no source may use: reserved, or in use on every address.
        shared: PortSet,
        /// One cursor per source (one in all when there is no source).
        cursors: Vec<PortCursor>,
    },
}

impl LocalEndpoints {
    /// The kernel picks ports; `sources` (may be empty: the routing table decides) are used
    /// round-robin.
    pub fn kernel(sources: Vec<IpAddr>) -> Self {
        LocalEndpoints {
            sources,
            ports: Ports::Kernel,
        }
    }

    /// The tool picks ports from `range`, never from `shared`, nor for source `k` from `own[k]`
    /// (`own` has one list per source, or exactly one when `sources` is empty). `start` spreads
    /// the cursors' starting points.
    pub fn pick(
        sources: Vec<IpAddr>,
        range: PortRange,
        shared: PortSet,
        own: Vec<Vec<u16>>,
        start: u32,
    ) -> Self {
        let cursors = own
            .into_iter()
            .enumerate()
            .map(|(k, own)| {
                let offset = start.wrapping_add((k as u32).wrapping_mul(range.len() / 7 + 1));
                PortCursor::new(range, own, offset)
            })
            .collect();
        LocalEndpoints {
            sources,
            ports: Ports::Pick {
                range,
                shared,
                cursors,
            },
        }
    }

    /// The source addresses (empty: chosen by routing).
    pub fn sources(&self) -> &[IpAddr] {
        &self.sources
    }

    /// The port policy.
    pub fn policy(&self) -> PortPolicy {
        match self.ports {
            Ports::Kernel => PortPolicy::Kernel,
            Ports::Pick { .. } => PortPolicy::Pick,
        }
    }

    /// Opens a non-blocking TCP socket for connection `i` toward `target` and binds its local
    /// end. Returns the socket and the bound local address, if any.
    pub fn open(&mut self, i: u64, target: SocketAddr) -> io::Result<(Socket, Option<SocketAddr>)> {
        let domain = if target.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let socket = Socket::new(
            domain,
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )?;
        let k = if self.sources.is_empty() {
            0
        } else {
            (i % self.sources.len() as u64) as usize
        };
        let source = self.sources.get(k).copied();
        match &mut self.ports {
            Ports::Kernel => match source {
                None => Ok((socket, None)),
                Some(ip) => {
                    setsockopt(&socket, IpBindAddressNoPort, &true).map_err(io::Error::from)?;
                    let local = SocketAddr::new(ip, 0);
                    socket.bind(&local.into())?;
                    Ok((socket, Some(local)))
                }
            },
            Ports::Pick {
                range,
                shared,
                cursors,
            } => {
                let ip = source.unwrap_or(if target.is_ipv4() {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                } else {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                });
                let cursor = &mut cursors[k];
                for _ in 0..MAX_BIND_TRIES {
                    let Some(port) = cursor.next_port(*range, shared) else {
                        break;
                    };
                    let local = SocketAddr::new(ip, port);
                    match socket.bind(&local.into()) {
                        Ok(()) => return Ok((socket, Some(local))),
                        Err(e) if e.raw_os_error() == Some(libc_eaddrinuse()) => {
                            cursor.mark_taken(port)
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(io::Error::from_raw_os_error(
                    nix::errno::Errno::EADDRNOTAVAIL as i32,
                ))
            }
        }
    }
}

#[inline]
fn libc_eaddrinuse() -> i32 {
    nix::errno::Errno::EADDRINUSE as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port that turns out to be taken (the pre-flight did not see it) is skipped at bind time.
    /// The range is made of a port a listener holds and a port just released; every other port
    /// between them is excluded, so the test does not depend on the machine's other sockets.
    #[test]
    fn a_port_in_use_is_skipped_at_bind_time() {
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
        // The cursor starts on the busy port.
        let start = u32::from(busy - range.lo);
        let sources = vec!["127.0.0.1".parse().unwrap()];
        let mut local = LocalEndpoints::pick(sources, range, shared, vec![Vec::new()], start);
        let target: SocketAddr = "127.0.0.1:9".parse().unwrap(); // never connected: bind only
        let (_socket, bound) = local.open(0, target).unwrap();
        assert_eq!(bound.unwrap().port(), free);
    }

    #[test]
    fn kernel_policy_binds_only_the_address() {
        let mut local = LocalEndpoints::kernel(vec!["127.0.0.3".parse().unwrap()]);
        let (socket, bound) = local.open(0, "127.0.0.1:9".parse().unwrap()).unwrap();
        assert_eq!(bound, Some("127.0.0.3:0".parse().unwrap()));
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        assert_eq!(addr.ip(), "127.0.0.3".parse::<IpAddr>().unwrap());
        let (_s, none) = LocalEndpoints::kernel(Vec::new())
            .open(0, "127.0.0.1:9".parse().unwrap())
            .unwrap();
        assert_eq!(none, None);
    }
}
