//! The pre-flight check: before the first dial, make sure the run fits on this machine, and say
//! precisely what to change when it does not.
//!
//! Two kernel limits end large runs halfway with confusing errors: the open-files limit
//! ("too many open files" at connection 1,019) and the local ports of one source address (a
//! connect that takes seconds, then "cannot assign requested address"). This module raises the
//! soft file limit to the hard one, counts the ports that are really free for each source
//! address (reserved ports and sockets already there, TIME_WAIT included), checks that the
//! source addresses exist, and builds the [`LocalEndpoints`] the engine dials from.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{IpAddr, SocketAddr};

mod proc;

use crate::config::{PortPolicy, Shard, SourceList};
use crate::local::{gcd, LocalEndpoints, PortRange, PortSet, MAX_BIND_TRIES};
use proc::{tcp_state, SocketEntry};

/// File descriptors a run opens besides its connections: the poll, the signalfd, and one spare
/// (the kernel tables are read before the run and closed again).
pub const FD_EXTRA: u64 = 3;

/// A run that cannot fit on this machine, with the numbers and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// Too few file descriptors.
    #[error(
        "{connections} connections need {needed} open files but the limit is {soft} (hard limit {hard}); \
         raise it with `ulimit -n {needed}` (as root, or LimitNOFILE={needed} in a systemd unit, or nofile \
         in /etc/security/limits.conf), lower --connections, or share the run between several processes \
         with --workers auto"
    )]
    Fds {
        /// Connections asked for.
        connections: u64,
        /// File descriptors needed.
        needed: u64,
        /// The soft limit after raising it.
        soft: u64,
        /// The hard limit.
        hard: u64,
    },
    /// Too few free local ports for one source address (or one source/destination pair).
    #[error(
        "not enough local ports: {need} connections from {source_desc} need {need} ports{toward}, but only \
         {free} of the {range_len} in {range} are free ({in_use} in use, {time_wait} of them in TIME_WAIT); \
         fix: spread over more source addresses with --source (e.g. 127.0.0.1-127.0.0.4 on loopback), widen \
         net.ipv4.ip_local_port_range, wait 60 s for TIME_WAIT to clear, or close runs with --close rst"
    )]
    Ports {
        /// Connections from that source.
        need: u64,
        /// The source address, or "the default source address".
        source_desc: String,
        /// `" toward <dest>"` for the kernel policy, else empty.
        toward: String,
        /// Free ports.
        free: u32,
        /// Size of the range.
        range_len: u32,
        /// The range.
        range: PortRange,
        /// Ports taken (reserved or in use).
        in_use: u32,
        /// Of which in TIME_WAIT.
        time_wait: u32,
    },
    /// A `--source` address that this machine does not have, or of the wrong family.
    #[error("source address {addr} cannot be used: {why}")]
    Source {
        /// The address.
        addr: IpAddr,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// More file descriptors than this kernel allows one process (`fs.nr_open`): no `ulimit`
    /// can give them.
    #[error(
        "{connections} connections need {needed} open files, more than this kernel allows one process \
         (fs.nr_open = {nr_open}); {fix}"
    )]
    FdsCeiling {
        /// Connections asked for.
        connections: u64,
        /// File descriptors needed.
        needed: u64,
        /// The kernel's ceiling on a process's open files.
        nr_open: u64,
        /// What can be done.
        fix: String,
    },
    /// A kernel table could not be read.
    #[error("cannot read {what}: {err}")]
    Kernel {
        /// Which table.
        what: &'static str,
        /// The error.
        err: io::Error,
    },
}

/// Raises the soft open-files limit to the hard limit and checks that `connections` fit beside
/// the descriptors already open and [`FD_EXTRA`]. Returns the limit now in force.
pub fn check_fds(connections: u64) -> Result<u64, PreflightError> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap_or((1024, 1024));
    let needed = connections
        .saturating_add(open_fds())
        .saturating_add(FD_EXTRA);
    if needed > soft {
        return Err(fd_shortage(
            connections,
            needed,
            soft,
            hard,
            proc::nr_open(),
        ));
    }
    Ok(soft)
}

/// What this machine can dial toward one target at most, for `find-limit`'s `--max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Connections one process can hold: its open-files limit (raised to the hard limit), less
    /// what is open and [`FD_EXTRA`].
    pub per_process: u64,
    /// Free local ports of the port range over every source address (one routing-picked
    /// source without `--source`).
    pub ports: u64,
}

/// Measures [`Capacity`] toward `target` from `source_list`: the same counts the pre-flight
/// checks a run against. With `slices` > 1 (workers sharing a source address pick from as many
/// disjoint slices of the range), each slice can hold only as many as the fullest one, whose
/// worker runs out first.
pub fn capacity(
    target: SocketAddr,
    source_list: &SourceList,
    policy: PortPolicy,
    slices: u32,
) -> Result<Capacity, PreflightError> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let (soft, _) = rlimit::Resource::NOFILE.get().unwrap_or((1024, 1024));
    let per_process = soft.saturating_sub(open_fds() + FD_EXTRA);
    let range = proc::local_port_range().map_err(|err| PreflightError::Kernel {
        what: "/proc/sys/net/ipv4/ip_local_port_range",
        err,
    })?;
    let sockets = proc::tcp_sockets().map_err(|err| PreflightError::Kernel {
        what: "/proc/net/tcp",
        err,
    })?;
    let reserved = proc::reserved_ports();
    let sources: Vec<Option<IpAddr>> = match source_list.addrs() {
        [] => vec![None],
        addrs => addrs.iter().copied().map(Some).collect(),
    };
    // The ports of the range each socket holds, by local address (the wildcard apart): one
    // pass over the table, however many sources.
    let mut wildcard = reserved.clone();
    let mut by_addr: HashMap<IpAddr, PortSet> = HashMap::new();
    for e in sockets.iter().filter(|e| range.contains(e.local.port())) {
        // With kernel-picked ports only sockets toward the same destination share them.
        if policy == PortPolicy::Kernel && e.remote != target {
            continue;
        }
        if e.local.ip().is_unspecified() {
            wildcard.insert(e.local.port());
        } else {
            by_addr
                .entry(e.local.ip())
                .or_default()
                .insert(e.local.port());
        }
    }
    let slices = match policy {
        PortPolicy::Auto => slices.max(1),
        PortPolicy::Kernel => 1,
    };
    let mut ports = 0u64;
    for source in sources {
        let mut taken = wildcard.clone();
        match source {
            Some(ip) => {
                if let Some(own) = by_addr.get(&ip) {
                    taken.union_with(own);
                }
            }
            None => {
                for own in by_addr.values() {
                    taken.union_with(own);
                }
            }
        }
        let free = |r: PortRange| u64::from(r.len() - taken.count_in(r));
        ports += if slices > 1 {
            u64::from(slices)
                * (0..slices)
                    .map(|i| free(range.slice(i, slices)))
                    .min()
                    .unwrap_or(0)
        } else {
            free(range)
        };
    }
    Ok(Capacity { per_process, ports })
}

/// The highest value `fs.nr_open` takes on a 64-bit kernel (`sysctl_nr_open_max`).
pub const NR_OPEN_MAX: u64 = 2_147_483_584;

/// What to say when `needed` descriptors do not fit under `soft`: advice that can be followed.
/// Past the kernel's ceiling (`nr_open`, when it could be read) no `ulimit` helps: say so.
fn fd_shortage(
    connections: u64,
    needed: u64,
    soft: u64,
    hard: u64,
    nr_open: Option<u64>,
) -> PreflightError {
    match nr_open {
        Some(nr_open) if needed > nr_open => {
            let split =
                format!(
                "split the run over several processes with --workers auto (each holds at most about {} connections)",
                hard.max(soft).min(nr_open).saturating_sub(needed - connections)
            );
            let fix = if needed <= NR_OPEN_MAX {
                format!(
                    "{split}, lower --connections, or raise the ceiling as root first: \
                     `sysctl -w fs.nr_open={needed}`, then `ulimit -n {needed}`"
                )
            } else {
                format!("{split} or lower --connections: no Linux process can have that many (fs.nr_open cannot exceed {NR_OPEN_MAX})")
            };
            PreflightError::FdsCeiling {
                connections,
                needed,
                nr_open,
                fix,
            }
        }
        _ => PreflightError::Fds {
            connections,
            needed,
            soft,
            hard,
        },
    }
}

/// Descriptors open now (stdio and whatever the process inherited), counted in `/proc/self/fd`;
/// 3 if that cannot be read.
fn open_fds() -> u64 {
    // The directory handle itself is one of the entries while it is being read.
    std::fs::read_dir("/proc/self/fd").map_or(3, |d| d.count().saturating_sub(1) as u64)
}

/// A run that fits but will be slower than it needs to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub String);

/// Checks the source addresses and the port budget, and builds the local endpoints to dial from,
/// with warnings for a run that fits but will be slow. Connection `i` goes to
/// `targets[i % targets.len()]` from `sources[i % sources.len()]`.
pub fn plan_local(
    part: Part,
    targets: &[SocketAddr],
    source_list: &SourceList,
    policy: PortPolicy,
) -> Result<(LocalEndpoints, Vec<Warning>), PreflightError> {
    let mut warnings = Vec::new();
    // Every address written alone, every address of a short range; of a long range a spread
    // sample: an address missed here fails its own connections, counted as local errors.
    for addr in source_list.to_check() {
        check_source(addr, targets)?;
    }
    let sources = source_list.addrs().to_vec();
    let range = proc::local_port_range().map_err(|err| PreflightError::Kernel {
        what: "/proc/sys/net/ipv4/ip_local_port_range",
        err,
    })?;
    // Workers sharing a source address pick from disjoint slices of the range.
    let range = match (policy, part.slice) {
        (PortPolicy::Auto, Some((index, count))) => range.slice(index, count),
        _ => range,
    };
    let reserved = proc::reserved_ports();
    let n_sources = sources.len().max(1) as u64;
    let n_targets = targets.len() as u64;
    // What each source (or source/destination pair) needs.
    let per_source = part.needs(n_sources, None);
    let per_pair: Vec<Vec<u64>> = match policy {
        PortPolicy::Auto => Vec::new(),
        PortPolicy::Kernel => (0..n_targets)
            .map(|t| part.needs(n_sources, Some((n_targets, t))))
            .collect(),
    };
    let most = match policy {
        PortPolicy::Auto => per_source.iter().copied().max().unwrap_or(0),
        PortPolicy::Kernel => per_pair.iter().flatten().copied().max().unwrap_or(0),
    };
    // When the run would use at most half of the free range even if every socket of this
    // namespace held one of its ports, it fits and stays clear of the kernel's slow port search
    // whatever the table says. If moreover fewer ports can be taken than one dial tries, no
    // dial can run out of tries on them (taken ports come in runs: a run's cursor hands out
    // consecutive ports). Then skip reading the whole table (it costs milliseconds even when
    // empty): the few ports really in use are skipped at bind time (EADDRINUSE).
    let free_of_reserved = u64::from(range.len() - reserved.count_in(range));
    let sockets = match proc::tcp_socket_bound() {
        Ok(bound)
            if bound < MAX_BIND_TRIES as u64
                && most.saturating_add(bound).saturating_mul(2) <= free_of_reserved =>
        {
            Vec::new()
        }
        _ => proc::tcp_sockets().map_err(|err| PreflightError::Kernel {
            what: "/proc/net/tcp",
            err,
        })?,
    };
    match policy {
        PortPolicy::Auto => {
            // The tool binds explicit ports, so any socket on the same port and address conflicts,
            // whatever its destination. Without --source it binds the wildcard address: every
            // socket's port is taken. With sources, a socket on the wildcard address takes its
            // port for all of them, a socket on one address for that address only.
            let mut shared = reserved.clone();
            let mut on_addr: HashMap<IpAddr, Vec<u16>> = HashMap::new();
            for e in sockets.iter().filter(|e| range.contains(e.local.port())) {
                if sources.is_empty() || e.local.ip().is_unspecified() {
                    shared.insert(e.local.port());
                } else {
                    on_addr
                        .entry(e.local.ip())
                        .or_default()
                        .push(e.local.port());
                }
            }
            let shared_in_use = shared.count_in(range);
            let mut own = Vec::with_capacity(sources.len().max(1));
            for (k, &need) in per_source.iter().enumerate() {
                let source = sources.get(k).copied();
                let mut ports = source
                    .and_then(|ip| on_addr.remove(&ip))
                    .unwrap_or_default();
                ports.retain(|&p| !shared.contains(p));
                ports.sort_unstable();
                ports.dedup();
                let in_use = shared_in_use + ports.len() as u32;
                check_budget(range, need, in_use, source, None, &sockets, |e| {
                    source.is_none_or(|ip| e.local.ip() == ip || e.local.ip().is_unspecified())
                })?;
                own.push(ports);
            }
            Ok((
                LocalEndpoints::pick(sources, range, shared, own, seed()),
                warnings,
            ))
        }
        PortPolicy::Kernel => {
            // The kernel's limit is per (source, destination) pair: check every pair.
            let reserved_in_use = reserved.count_in(range);
            for (t, &target) in targets.iter().enumerate() {
                let mut by_addr: HashMap<IpAddr, Vec<u16>> = HashMap::new();
                let mut all: Vec<u16> = Vec::new();
                for e in sockets.iter().filter(|e| e.remote == target) {
                    let port = e.local.port();
                    if range.contains(port) && !reserved.contains(port) {
                        by_addr.entry(e.local.ip()).or_default().push(port);
                        all.push(port);
                    }
                }
                for k in 0..n_sources {
                    let source = sources.get(k as usize).copied();
                    let mut ports = match source {
                        Some(ip) => by_addr.remove(&ip).unwrap_or_default(),
                        None => std::mem::take(&mut all),
                    };
                    ports.sort_unstable();
                    ports.dedup();
                    let need = per_pair[t][k as usize];
                    let in_use = reserved_in_use + ports.len() as u32;
                    let free =
                        check_budget(range, need, in_use, source, Some(target), &sockets, |e| {
                            e.remote == target && source.is_none_or(|ip| e.local.ip() == ip)
                        })?;
                    if need > u64::from(free / 2) {
                        let from = source_name(source);
                        warnings.push(Warning(format!(
                            "{need} connections from {from} toward {target} use more than half of the {free} \
                             free ports: Linux's connect() slows down sharply past that (its port search); \
                             --source-ports auto avoids it"
                        )));
                    }
                }
            }
            Ok((LocalEndpoints::kernel(sources), warnings))
        }
    }
}

/// Returns the free ports of one source (or source/destination pair) with `in_use` taken, or an
/// error that names the numbers when fewer than `need` are free. `matches` selects the sockets
/// that count against it, to say how many of the taken ports are in TIME_WAIT.
fn check_budget(
    range: PortRange,
    need: u64,
    in_use: u32,
    source: Option<IpAddr>,
    toward: Option<SocketAddr>,
    sockets: &[SocketEntry],
    matches: impl Fn(&SocketEntry) -> bool,
) -> Result<u32, PreflightError> {
    let free = range.len().saturating_sub(in_use);
    if need <= u64::from(free) {
        return Ok(free);
    }
    let mut time_wait = PortSet::default();
    for e in sockets
        .iter()
        .filter(|e| e.state == tcp_state::TIME_WAIT && matches(e))
    {
        time_wait.insert(e.local.port());
    }
    Err(PreflightError::Ports {
        need,
        source_desc: source_name(source),
        toward: toward.map_or(String::new(), |t| format!(" toward {t}")),
        free,
        range_len: range.len(),
        range,
        in_use,
        time_wait: time_wait.count_in(range),
    })
}

/// A source as the messages name it.
fn source_name(source: Option<IpAddr>) -> String {
    source.map_or("the default source address".to_string(), |ip| {
        ip.to_string()
    })
}

/// The connections a process's pre-flight counts: its shard of the plan (the whole plan by
/// default), and the slice of the port range it picks from when workers share an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The plan's connections counted against the ports: this process's, or with
    /// kernel-picked ports every process's of this machine (the kernel shares one budget).
    pub shard: Shard,
    /// Slice `index` of `count` of the port range, when tcpgoon picks ports.
    pub slice: Option<(u32, u32)>,
}

impl Part {
    /// The whole of `shard`, the whole port range.
    pub fn of(shard: Shard) -> Part {
        Part { shard, slice: None }
    }

    /// Connections per source address `k` of `s` (those with `i % t.0 == t.1` when `t` is
    /// given), dealt as the engine deals them: connection `i` of the plan to source `i % s`.
    fn needs(&self, s: u64, t: Option<(u64, u64)>) -> Vec<u64> {
        let n = self.shard.connections();
        if !self.shard.is_part() {
            return (0..s)
                .map(|k| match t {
                    None => share(n, s, k),
                    Some((t, j)) => pair_share(n, s, t, k, j),
                })
                .collect();
        }
        // A part's connections are every count-th of the plan: count them (at most what one
        // process's file descriptors allow, checked before).
        let mut v = vec![0; s as usize];
        for j in 0..n {
            let i = self.shard.global(j);
            if t.is_none_or(|(t, jj)| i % t == jj) {
                v[(i % s) as usize] += 1;
            }
        }
        v
    }
}

/// Connections that go to source `k` of `s` when `n` are dealt round-robin.
fn share(n: u64, s: u64, k: u64) -> u64 {
    n / s + u64::from(k < n % s)
}

/// Connections with `i % s == k` and `i % t == j` among `0..n`.
fn pair_share(n: u64, s: u64, t: u64, k: u64, j: u64) -> u64 {
    // Each residue pair that occurs at all occurs once per period lcm(s, t); the first
    // occurrence is among k, k + s, k + 2s, ... (t / gcd candidates: one when t is 1).
    let g = gcd(s, t);
    let period = s / g * t;
    match (0..t / g).map(|m| k + m * s).find(|i| i % t == j) {
        Some(first) if first < n => (n - first).div_ceil(period),
        _ => 0,
    }
}

/// Checks that `addr` is an address of this machine and of the targets' family.
fn check_source(addr: IpAddr, targets: &[SocketAddr]) -> Result<(), PreflightError> {
    if targets.iter().any(|t| t.is_ipv4() != addr.is_ipv4()) {
        return Err(PreflightError::Source {
            addr,
            why: "the target is IPv4 and the source IPv6, or the other way round; give sources of the target's family"
                .to_string(),
        });
    }
    let domain = if addr.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    let result = socket2::Socket::new(domain, socket2::Type::STREAM, None).and_then(|s| {
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::IpBindAddressNoPort, &true)
            .map_err(io::Error::from)?;
        s.bind(&SocketAddr::new(addr, 0).into())
    });
    result.map_err(|e| PreflightError::Source {
        addr,
        why: format!("{e}; give addresses this machine has (see `ip addr`)"),
    })
}

/// A per-process starting point for the port cursors, so that concurrent runs on one machine
/// start in different parts of the range.
fn seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    RandomState::new().hash_one((std::process::id(), nanos)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 6: `-c 100m` advised `ulimit -n 100000008`, which no kernel setting below it
    /// allows.
    #[test]
    fn a_parts_needs_are_what_the_engine_deals_it() {
        // 20 sources over 5 workers: worker 2 uses sources 2, 7, 12 and 17 only.
        let part = Part::of(Shard::whole(97_500).split(2, 5));
        let needs = part.needs(20, None);
        for (k, &n) in needs.iter().enumerate() {
            assert_eq!(n, if k % 5 == 2 { 4_875 } else { 0 }, "source {k}");
        }
        // Against a brute count, with targets too.
        let shard = Shard {
            index: 1,
            count: 3,
            plan: 1_000,
        }
        .split(1, 2);
        let part = Part::of(shard);
        for (t, j) in [(1u64, 0u64), (2, 0), (2, 1), (3, 2)] {
            let needs = part.needs(4, Some((t, j)));
            for (k, &n) in needs.iter().enumerate() {
                let brute = (0..1_000u64)
                    .filter(|i| i % 6 == 4 && i % 4 == k as u64 && i % t == j)
                    .count() as u64;
                assert_eq!(n, brute, "source {k}, target {j} of {t}");
            }
        }
        // The whole plan: the closed forms.
        assert_eq!(Part::of(Shard::whole(10)).needs(3, None), [4, 3, 3]);
    }

    #[test]
    fn fd_advice_stays_possible() {
        let below = fd_shortage(5000, 5010, 1024, 4096, Some(1_048_576)).to_string();
        assert!(below.contains("ulimit -n 5010"), "{below}");
        let above = fd_shortage(100_000_000, 100_000_008, 20_000, 20_000, Some(1_048_576));
        let text = above.to_string();
        assert!(!text.contains("ulimit -n 100000008`, lower"), "{text}");
        assert!(text.contains("fs.nr_open = 1048576"), "{text}");
        assert!(
            text.contains("several processes with --workers auto (each holds at most about 19992 connections)"),
            "{text}"
        );
        assert!(text.contains("sysctl -w fs.nr_open=100000008"), "{text}");
        let beyond = fd_shortage(
            NR_OPEN_MAX,
            NR_OPEN_MAX + 8,
            20_000,
            20_000,
            Some(1_048_576),
        );
        let text = beyond.to_string();
        assert!(!text.contains("sysctl -w"), "{text}");
        assert!(text.contains("cannot exceed 2147483584"), "{text}");
        // Unknown ceiling: the plain advice.
        assert!(matches!(
            fd_shortage(5000, 5010, 1024, 1024, None),
            PreflightError::Fds { .. }
        ));
    }

    #[test]
    fn shares_deal_round_robin() {
        assert_eq!(
            (0..3).map(|k| share(10, 3, k)).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        assert_eq!(pair_share(10, 1, 1, 0, 0), 10);
        // i in 0..12 with i%2==0 and i%3==0: 0 and 6.
        assert_eq!(pair_share(12, 2, 3, 0, 0), 2);
        assert_eq!(pair_share(12, 2, 3, 1, 1), 2); // 1, 7
        assert_eq!(pair_share(5, 2, 2, 0, 1), 0); // never
        let total: u64 = (0..2)
            .flat_map(|k| (0..3).map(move |j| (k, j)))
            .map(|(k, j)| pair_share(13, 2, 3, k, j))
            .sum();
        assert_eq!(total, 13);
    }

    proptest::proptest! {
        #[test]
        fn pair_share_counts_like_brute_force(n in 0u64..300, s in 1u64..12, t in 1u64..12, k in 0u64..12, j in 0u64..12) {
            let (k, j) = (k % s, j % t);
            let brute = (0..n).filter(|i| i % s == k && i % t == j).count() as u64;
            proptest::prop_assert_eq!(pair_share(n, s, t, k, j), brute);
        }
    }

    #[test]
    fn an_unknown_source_address_is_refused() {
        let target: SocketAddr = "127.0.0.1:1".parse().unwrap();
        // 192.0.2.1 is TEST-NET-1: never assigned to this machine. Nothing is sent: bind only.
        let err = check_source("192.0.2.1".parse().unwrap(), &[target]).unwrap_err();
        assert!(err.to_string().contains("192.0.2.1"), "{err}");
        assert!(check_source("127.0.0.5".parse().unwrap(), &[target]).is_ok());
        assert!(check_source("::1".parse().unwrap(), &[target]).is_err());
    }

    #[test]
    fn a_budget_that_does_not_fit_names_the_numbers() {
        let range = PortRange {
            lo: 40000,
            hi: 40009,
        };
        let tw = SocketEntry {
            local: "127.0.0.1:40001".parse().unwrap(),
            remote: "127.0.0.1:80".parse().unwrap(),
            state: tcp_state::TIME_WAIT,
        };
        assert_eq!(
            check_budget(range, 8, 2, None, None, &[tw], |_| true).unwrap(),
            8
        );
        let err = check_budget(range, 9, 2, None, None, &[tw], |_| true).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "only 8 of the 10 in 40000-40009 are free (2 in use, 1 of them in TIME_WAIT)"
            ),
            "{text}"
        );
        let toward = "127.0.0.1:80".parse().ok();
        let err = check_budget(range, 9, 2, "127.0.0.2".parse().ok(), toward, &[tw], |_| {
            false
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("from 127.0.0.2 need 9 ports toward 127.0.0.1:80"),
            "{err}"
        );
        assert!(err.to_string().contains("0 of them in TIME_WAIT"), "{err}");
    }

    /// A /16 of source addresses plans (a cursor each, not a bitmap each) and every address
    /// gets a cursor that hands out ports.
    #[test]
    fn a_whole_block_of_sources_plans() {
        let sources = crate::local::parse_sources("127.1.0.0/16").unwrap();
        let target: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let (mut local, _) = plan_local(
            Part::of(Shard::whole(100)),
            &[target],
            &sources,
            PortPolicy::Auto,
        )
        .unwrap();
        assert_eq!(local.sources().len(), 65_536);
        // The last address of the block gets a cursor that hands out ports.
        let (source, picker) = local.for_connection(65_535);
        assert_eq!(source, Some("127.1.255.255".parse::<IpAddr>().unwrap()));
        assert!(picker.expect("tcpgoon picks").next_port().is_some());
    }
}
