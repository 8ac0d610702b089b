//! Source addresses and source ports: which local endpoint each connection dials from. Pure:
//! no sockets and no I/O here (the pre-flight reads the kernel, the engine opens the sockets).
//!
//! One (source address, destination) pair can hold at most the size of the ephemeral port range
//! (28,232 by default), and Linux's own port search in `connect()` slows down by one or two
//! orders of magnitude past about half of it. So the tool decides where connections come from:
//! `--source` spreads them round-robin over several local addresses, and by default the tool
//! picks each source port itself ([`PortPolicy::Auto`](crate::config::PortPolicy::Auto)) with an O(1) cursor over the range that
//! skips ports the kernel reports as taken, instead of leaving the search to the kernel.

use std::net::IpAddr;

use crate::config::SourceList;

/// How many ports one dial tries before it gives up with `EADDRNOTAVAIL`. The pre-flight relies
/// on it: it skips reading which ports are taken only when fewer than this many can be.
pub const MAX_BIND_TRIES: usize = 1024;

/// The most source addresses `--source` may expand to.
pub const MAX_SOURCES: usize = 65_536;

/// Why a `--source` value is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A part is not an address, a range or a CIDR block.
    #[error(
        "\"{0}\" is not an address, a range (127.0.0.2-127.0.0.9) or a CIDR block (10.1.0.0/28)"
    )]
    Syntax(String),
    /// A range whose end comes before its start, or mixes IPv4 and IPv6.
    #[error("range \"{0}\" must go from a lower to a higher address of the same family")]
    BadRange(String),
    /// More addresses than [`MAX_SOURCES`].
    #[error("expands to more than {MAX_SOURCES} addresses; give a smaller range")]
    TooMany,
    /// An address that no connection can come from (multicast, broadcast, unspecified).
    #[error("\"{part}\": {addr} is {why}")]
    Unusable {
        /// The part of the list it comes from.
        part: String,
        /// The address.
        addr: IpAddr,
        /// What it is and what to give instead.
        why: &'static str,
    },
}

/// Why `ip` can never be the source of a TCP connection, if it cannot.
pub fn unusable_source(ip: IpAddr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some(
            "the unspecified address (\"any\"), not a source: leave --source out to let routing \
             choose, or give addresses of this machine (e.g. 127.0.0.2)",
        );
    }
    if ip.is_multicast() {
        return Some(
            "a multicast address, which cannot be the source of a TCP connection; give unicast \
             addresses of this machine (e.g. 127.0.0.2)",
        );
    }
    if ip == IpAddr::V4(std::net::Ipv4Addr::BROADCAST) {
        return Some(
            "the broadcast address, which cannot be the source of a TCP connection; give unicast \
             addresses of this machine (e.g. 127.0.0.2)",
        );
    }
    None
}

/// Expands a `--source` value: comma-separated addresses, ranges (`a-b`) and CIDR blocks
/// (`10.1.0.0/28`, every address of the block), in order of appearance, each address once.
/// Refuses addresses that cannot be a connection's source, inside ranges and blocks too.
pub fn parse_sources(text: &str) -> Result<SourceList, SourceError> {
    let mut list = SourceList::default();
    let mut seen = std::collections::HashSet::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, count, alone) = parse_part(part)?;
        if count > (MAX_SOURCES - list.addrs().len()) as u128 {
            return Err(SourceError::TooMany);
        }
        let mut fresh = Vec::new();
        for k in 0..count {
            let ip = offset(first, k);
            if let Some(why) = unusable_source(ip) {
                return Err(SourceError::Unusable {
                    part: part.to_string(),
                    addr: ip,
                    why,
                });
            }
            if seen.insert(ip) {
                fresh.push(ip);
            }
        }
        list.push_part(fresh, alone);
    }
    if list.is_empty() {
        return Err(SourceError::Syntax(text.to_string()));
    }
    Ok(list)
}

/// The first address of a part, how many it stands for, and whether it was written alone.
fn parse_part(part: &str) -> Result<(IpAddr, u128, bool), SourceError> {
    let syntax = || SourceError::Syntax(part.to_string());
    let addr = |s: &str| {
        s.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| syntax())
    };
    if let Some((base, bits)) = part.split_once('/') {
        let base = addr(base)?;
        let width = if base.is_ipv4() { 32 } else { 128 };
        let bits: u32 = bits.parse().map_err(|_| syntax())?;
        if bits > width {
            return Err(syntax());
        }
        let host_bits = width - bits;
        if host_bits > 16 {
            return Err(SourceError::TooMany);
        }
        let mask = !((1u128 << host_bits) - 1);
        let network = from_u128(base, to_u128(base) & mask);
        return Ok((network, 1u128 << host_bits, false));
    }
    // An IPv6 address contains no '-', so a dash always separates a range.
    if let Some((a, b)) = part.split_once('-') {
        let (a, b) = (addr(a)?, addr(b)?);
        if a.is_ipv4() != b.is_ipv4() || to_u128(b) < to_u128(a) {
            return Err(SourceError::BadRange(part.to_string()));
        }
        return Ok((a, to_u128(b) - to_u128(a) + 1, false));
    }
    Ok((addr(part)?, 1, true))
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

fn from_u128(like: IpAddr, v: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((v as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(v.into()),
    }
}

fn offset(ip: IpAddr, k: u128) -> IpAddr {
    from_u128(ip, to_u128(ip) + k)
}

/// An inclusive range of local ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port, inclusive.
    pub hi: u16,
}

impl PortRange {
    /// Number of ports in the range.
    pub fn len(&self) -> u32 {
        u32::from(self.hi) - u32::from(self.lo) + 1
    }

    /// Never true: a range has at least one port.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// True if `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }

    /// Slice `index` of `count` nearly equal, disjoint slices that cover the range (the ports
    /// of one of `count` processes sharing an address).
    pub fn slice(&self, index: u32, count: u32) -> PortRange {
        let count = count.clamp(1, self.len());
        let index = index.min(count - 1);
        let at = |k: u32| {
            u32::from(self.lo) + (u64::from(self.len()) * u64::from(k) / u64::from(count)) as u32
        };
        PortRange {
            lo: at(index) as u16,
            hi: (at(index + 1) - 1) as u16,
        }
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.lo, self.hi)
    }
}

/// A set of ports as a 65,536-bit bitmap (8 KiB).
#[derive(Clone, PartialEq, Eq)]
pub struct PortSet(Box<[u64; 1024]>);

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PortSet({} ports)",
            self.count_in(PortRange {
                lo: 0,
                hi: u16::MAX
            })
        )
    }
}

impl Default for PortSet {
    fn default() -> Self {
        PortSet(Box::new([0; 1024]))
    }
}

impl PortSet {
    /// Adds `port`.
    #[inline]
    pub fn insert(&mut self, port: u16) {
        self.0[usize::from(port >> 6)] |= 1 << (port & 63);
    }

    /// True if `port` is in the set.
    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        self.0[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }

    /// Adds every port of `other`.
    pub fn union_with(&mut self, other: &PortSet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
    }

    /// How many ports of `range` are in the set.
    pub fn count_in(&self, range: PortRange) -> u32 {
        (range.lo..=range.hi).filter(|&p| self.contains(p)).count() as u32
    }
}

/// The greatest common divisor: which items of a round-robin deal (sources, targets) the
/// connections of a part of the plan (every `count`-th) can reach.
pub fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The one rule that deals connections out: connection `i` of a run goes to item
/// `i % len` (of the targets, of the source addresses). The engine dials by it and the
/// pre-flight counts by it.
#[inline]
pub fn round_robin(i: u64, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (i % len as u64) as usize
    }
}

/// Where connections come from: the source addresses and who picks source ports, with the
/// port cursors when tcpgoon picks. Built by the pre-flight from what the kernel says, used by
/// the engine to dial.
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

/// The ports of one source address when tcpgoon picks them.
#[derive(Debug)]
pub struct PortPicker<'a> {
    range: PortRange,
    shared: &'a PortSet,
    cursor: &'a mut PortCursor,
}

impl PortPicker<'_> {
    /// The next port to try, or `None` when a whole lap of the range finds none.
    #[inline]
    pub fn next_port(&mut self) -> Option<u16> {
        self.cursor.next_port(self.range, self.shared)
    }

    /// A port the kernel found taken: not handed out again on this address.
    pub fn mark_taken(&mut self, port: u16) {
        self.cursor.mark_taken(port);
    }
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
    pub fn policy(&self) -> crate::config::PortPolicy {
        match self.ports {
            Ports::Kernel => crate::config::PortPolicy::Kernel,
            Ports::Pick { .. } => crate::config::PortPolicy::Auto,
        }
    }

    /// Connection `i`'s source address (if any), and its port picker when tcpgoon picks ports.
    pub fn for_connection(&mut self, i: u64) -> (Option<IpAddr>, Option<PortPicker<'_>>) {
        let k = round_robin(i, self.sources.len());
        let source = self.sources.get(k).copied();
        match &mut self.ports {
            Ports::Kernel => (source, None),
            Ports::Pick {
                range,
                shared,
                cursors,
            } => (
                source,
                Some(PortPicker {
                    range: *range,
                    shared,
                    cursor: &mut cursors[k],
                }),
            ),
        }
    }
}

/// Hands out source ports for one source address: a cursor that walks the ephemeral range from
/// a per-process starting point, skipping the ports taken for every address (a bitmap shared by
/// all cursors) and those taken on this address only (a short sorted list). It hands out each
/// port once per lap; on the next lap, ports released since are used again and ports still in use
/// fail to bind and are marked. A cursor is a few words, so `--source` can list many thousands of
/// addresses.
#[derive(Debug, Clone)]
pub struct PortCursor {
    next: u16,
    /// Ports of the range in use on this address only, sorted, beyond the shared set.
    own: Vec<u16>,
}

impl PortCursor {
    /// A cursor over `range` starting at `start` (wrapped into the range), never handing out a
    /// port of `own`.
    pub fn new(range: PortRange, mut own: Vec<u16>, start: u32) -> Self {
        own.sort_unstable();
        own.dedup();
        PortCursor {
            next: range.lo + (start % range.len()) as u16,
            own,
        }
    }

    /// The next port of `range` that neither `shared` nor this cursor's own list holds, or
    /// `None` when a whole lap finds none.
    pub fn next_port(&mut self, range: PortRange, shared: &PortSet) -> Option<u16> {
        for _ in 0..range.len() {
            let port = self.next;
            self.next = if port == range.hi { range.lo } else { port + 1 };
            if !shared.contains(port) && self.own.binary_search(&port).is_err() {
                return Some(port);
            }
        }
        None
    }

    /// Marks `port` as taken on this address (a bind said it is in use).
    pub fn mark_taken(&mut self, port: u16) {
        if let Err(at) = self.own.binary_search(&port) {
            self.own.insert(at, port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn port_slices_cover_the_range_without_overlap() {
        let range = PortRange {
            lo: 32768,
            hi: 60999,
        };
        for count in [1u32, 2, 3, 7, 1000] {
            let slices: Vec<PortRange> = (0..count).map(|i| range.slice(i, count)).collect();
            assert_eq!(slices[0].lo, range.lo);
            assert_eq!(slices[count as usize - 1].hi, range.hi);
            for pair in slices.windows(2) {
                assert_eq!(pair[0].hi + 1, pair[1].lo);
            }
            let sizes: Vec<u32> = slices.iter().map(PortRange::len).collect();
            assert!(
                sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
                "{sizes:?}"
            );
        }
        let tiny = PortRange { lo: 5, hi: 6 };
        assert_eq!(tiny.slice(4, 9), PortRange { lo: 6, hi: 6 }, "never empty");
    }

    fn parse_sources(text: &str) -> Result<Vec<IpAddr>, SourceError> {
        super::parse_sources(text).map(|l| l.addrs().to_vec())
    }

    /// Issue 6: multicast, broadcast and unspecified addresses were accepted and the
    /// connections left from another address.
    #[test]
    fn addresses_no_connection_can_come_from_are_refused() {
        for (text, addr, what) in [
            ("224.0.0.1", "224.0.0.1", "multicast"),
            ("255.255.255.255", "255.255.255.255", "broadcast"),
            ("0.0.0.0", "0.0.0.0", "unspecified"),
            ("::", "::", "unspecified"),
            ("ff02::1", "ff02::1", "multicast"),
            ("::/126", "::", "unspecified"),
            ("127.0.0.2,0.0.0.0/30", "0.0.0.0", "unspecified"),
            ("223.255.255.254-224.0.0.1", "224.0.0.0", "multicast"),
        ] {
            match super::parse_sources(text) {
                Err(e @ SourceError::Unusable { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&format!(": {addr} is ")), "{text}: {msg}");
                    assert!(msg.contains(what), "{text}: {msg}");
                    assert!(msg.contains("127.0.0.2"), "names a fix: {msg}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(super::parse_sources("::1,127.0.0.1,10.0.0.0/31").is_ok());
    }

    /// Issue 6: an address written alone in a long list is always checked; only large ranges
    /// are sampled.
    #[test]
    fn every_address_written_alone_is_checked() {
        let list = super::parse_sources("127.1.0.0/21,127.0.0.5,192.0.2.1,127.0.0.6").unwrap();
        let check = list.to_check();
        for alone in ["127.0.0.5", "192.0.2.1", "127.0.0.6"] {
            assert!(check.contains(&alone.parse().unwrap()), "{alone}");
        }
        // The /21 (2,048) is sampled: 1,024 spread over it and its last.
        assert_eq!(check.len(), 3 + 1024 + 1);
        assert!(check.contains(&"127.1.7.255".parse().unwrap()));
        let small = super::parse_sources("127.0.1.0/24").unwrap();
        assert_eq!(
            small.to_check().len(),
            256,
            "a short block is checked whole"
        );
        let from_vec = SourceList::from(ips(&["127.0.0.2", "127.0.0.3"]));
        assert_eq!(from_vec.to_check().len(), 2);
    }

    #[test]
    fn lists_ranges_and_blocks() {
        assert_eq!(parse_sources("127.0.0.2").unwrap(), ips(&["127.0.0.2"]));
        assert_eq!(
            parse_sources("127.0.0.2-127.0.0.4, ::1").unwrap(),
            ips(&["127.0.0.2", "127.0.0.3", "127.0.0.4", "::1"])
        );
        let block = parse_sources("10.1.0.5/30").unwrap();
        assert_eq!(
            block,
            ips(&["10.1.0.4", "10.1.0.5", "10.1.0.6", "10.1.0.7"])
        );
        assert_eq!(parse_sources("10.1.0.0/28").unwrap().len(), 16);
        assert_eq!(parse_sources("127.0.0.1,127.0.0.1").unwrap().len(), 1);
        assert_eq!(parse_sources("[::1]").unwrap(), ips(&["::1"]));
    }

    #[test]
    fn rejects_bad_sources() {
        assert!(matches!(parse_sources("nope"), Err(SourceError::Syntax(_))));
        assert!(matches!(parse_sources(""), Err(SourceError::Syntax(_))));
        assert!(matches!(
            parse_sources("127.0.0.9-127.0.0.2"),
            Err(SourceError::BadRange(_))
        ));
        assert!(matches!(
            parse_sources("127.0.0.1-::1"),
            Err(SourceError::BadRange(_))
        ));
        assert!(matches!(
            parse_sources("10.0.0.0/33"),
            Err(SourceError::Syntax(_))
        ));
        assert!(matches!(
            parse_sources("10.0.0.0/8"),
            Err(SourceError::TooMany)
        ));
    }

    #[test]
    fn cursor_skips_taken_ports_and_wraps() {
        let range = PortRange { lo: 100, hi: 105 };
        let mut shared = PortSet::default();
        shared.insert(102);
        let mut c = PortCursor::new(range, vec![104], 1);
        let got: Vec<u16> = (0..4)
            .map(|_| c.next_port(range, &shared).unwrap())
            .collect();
        assert_eq!(
            got,
            vec![101, 103, 105, 100],
            "skips the shared 102 and its own 104, wraps"
        );
        // The next lap offers the same ports again (released ones are reused)...
        assert_eq!(c.next_port(range, &shared), Some(101));
        // ...unless a bind found them taken.
        for p in [100, 103, 105] {
            c.mark_taken(p);
        }
        assert_eq!(c.next_port(range, &shared), Some(101));
        c.mark_taken(101);
        assert_eq!(c.next_port(range, &shared), None);
    }
}
