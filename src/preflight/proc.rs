//! What the kernel says about local ports and TCP sockets, read from `/proc`.
//!
//! The pre-flight check and the source-port allocator need three facts that only the kernel
//! knows: the ephemeral port range (`net.ipv4.ip_local_port_range`, which IPv6 shares), the
//! reserved ports (`net.ipv4.ip_local_reserved_ports`), and which local ports are already taken,
//! by whom and toward where (`/proc/net/tcp` and `/proc/net/tcp6`, which include TIME_WAIT).
//! Everything here is read once, before the run; parsing is pure and tested on fixed text.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::local::{PortRange, PortSet};

/// TCP states as `/proc/net/tcp` numbers them (the subset the tool looks at).
pub mod tcp_state {
    /// A connection in TIME_WAIT.
    pub const TIME_WAIT: u8 = 0x06;
    /// A listening socket.
    #[cfg(test)]
    pub const LISTEN: u8 = 0x0A;
}

/// One line of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketEntry {
    /// Local address and port.
    pub local: SocketAddr,
    /// Remote address and port (unspecified for listeners).
    pub remote: SocketAddr,
    /// The state number (see [`tcp_state`]).
    pub state: u8,
}

/// Reads `fs.nr_open`, the most open files the kernel lets one process have; `None` if it
/// cannot be read.
pub fn nr_open() -> Option<u64> {
    fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// Reads `net.ipv4.ip_local_port_range`.
pub fn local_port_range() -> io::Result<PortRange> {
    parse_port_range(&fs::read_to_string(
        "/proc/sys/net/ipv4/ip_local_port_range",
    )?)
}

/// Reads `net.ipv4.ip_local_reserved_ports` (an empty set if the file is absent).
pub fn reserved_ports() -> PortSet {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_reserved_ports")
        .map(|t| parse_reserved(&t))
        .unwrap_or_default()
}

/// Reads every TCP socket of this network namespace, IPv4 and IPv6.
pub fn tcp_sockets() -> io::Result<Vec<SocketEntry>> {
    let mut out = parse_sockets(&fs::read_to_string("/proc/net/tcp")?);
    if let Ok(text) = fs::read_to_string("/proc/net/tcp6") {
        out.extend(parse_sockets(&text));
    }
    Ok(out)
}

/// An upper bound on the local ports TCP sockets of this namespace hold, from
/// `/proc/net/sockstat{,6}`: hashed sockets (IPv4 and IPv6) plus TIME_WAIT. Reading it costs
/// microseconds, where `/proc/net/tcp` walks the kernel's whole connection table (milliseconds,
/// however few sockets there are). A socket only bound, not yet listening or connected, is not
/// counted: such a port still shows up as `EADDRINUSE` when the tool binds it.
pub fn tcp_socket_bound() -> io::Result<u64> {
    let mut total = parse_sockstat(&fs::read_to_string("/proc/net/sockstat")?, "TCP:");
    if let Ok(text) = fs::read_to_string("/proc/net/sockstat6") {
        total += parse_sockstat(&text, "TCP6:");
    }
    Ok(total)
}

/// Sums the `inuse` and `tw` fields of the line starting with `prefix`.
fn parse_sockstat(text: &str, prefix: &str) -> u64 {
    let Some(line) = text.lines().find(|l| l.starts_with(prefix)) else {
        return 0;
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "inuse" || w[0] == "tw")
        .filter_map(|w| w[1].parse::<u64>().ok())
        .sum()
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Parses the two numbers of `ip_local_port_range`.
pub fn parse_port_range(text: &str) -> io::Result<PortRange> {
    let mut it = text.split_whitespace().map(|s| s.parse::<u16>());
    match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => Ok(PortRange { lo, hi }),
        _ => Err(invalid("unreadable ip_local_port_range")),
    }
}

/// Parses `ip_local_reserved_ports`: comma-separated ports and ranges (`8080,9000-9010`).
pub fn parse_reserved(text: &str) -> PortSet {
    let mut set = PortSet::default();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            for p in a..=b {
                set.insert(p);
            }
        }
    }
    set
}

/// Parses the text of `/proc/net/tcp` or `/proc/net/tcp6`; unreadable lines are skipped.
pub fn parse_sockets(text: &str) -> Vec<SocketEntry> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace().skip(1);
            let local = parse_hex_addr(f.next()?)?;
            let remote = parse_hex_addr(f.next()?)?;
            let state = u8::from_str_radix(f.next()?, 16).ok()?;
            Some(SocketEntry {
                local,
                remote,
                state,
            })
        })
        .collect()
}

/// Parses `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6). The kernel prints each
/// 32-bit word of the address in host byte order.
fn parse_hex_addr(s: &str) -> Option<SocketAddr> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_and_reserved() {
        assert_eq!(
            parse_port_range("32768\t60999\n").unwrap(),
            PortRange {
                lo: 32768,
                hi: 60999
            }
        );
        assert_eq!(
            PortRange {
                lo: 32768,
                hi: 60999
            }
            .len(),
            28232
        );
        assert!(parse_port_range("9 1").is_err());
        let r = parse_reserved("8080,9000-9002\n");
        assert!(r.contains(8080) && r.contains(9001) && r.contains(9002));
        assert!(!r.contains(9003) && !r.contains(8081));
        assert_eq!(r.count_in(PortRange { lo: 0, hi: 65535 }), 4);
        assert_eq!(
            parse_reserved("\n").count_in(PortRange { lo: 0, hi: 65535 }),
            0
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn parses_proc_net_tcp_lines() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:4269 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 0200007F:8000 0100007F:4269 06 00000000:00000000 03:00000F9F 00000000     0        0 0 3 0\n";
        let e = parse_sockets(v4);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].local, "127.0.0.1:17001".parse().unwrap());
        assert_eq!(e[0].state, tcp_state::LISTEN);
        assert_eq!(e[1].local, "127.0.0.2:32768".parse().unwrap());
        assert_eq!(e[1].remote, "127.0.0.1:17001".parse().unwrap());
        assert_eq!(e[1].state, tcp_state::TIME_WAIT);
        let v6 = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n";
        let e = parse_sockets(v6);
        assert_eq!(e[0].local, "[::1]:8080".parse().unwrap());
    }

    #[test]
    fn sockstat_counts_hashed_and_time_wait_sockets() {
        let v4 = "sockets: used 8\nTCP: inuse 5 orphan 0 tw 7 alloc 9 mem 0\nUDP: inuse 3 mem 0\n";
        assert_eq!(parse_sockstat(v4, "TCP:"), 12);
        assert_eq!(parse_sockstat("TCP6: inuse 4\nUDP6: inuse 1\n", "TCP6:"), 4);
        assert_eq!(parse_sockstat("", "TCP:"), 0);
        // While a listener of this process exists, the bound counts at least it.
        let _l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(tcp_socket_bound().unwrap() >= 1);
    }

    #[test]
    fn reads_this_machines_tables() {
        let r = local_port_range().expect("Linux exposes ip_local_port_range");
        assert!(r.lo <= r.hi);
        // The listener below must appear in the socket table.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let all = tcp_sockets().unwrap();
        assert!(all
            .iter()
            .any(|e| e.local == addr && e.state == tcp_state::LISTEN));
    }
}
