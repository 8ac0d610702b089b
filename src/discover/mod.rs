//! The targets: hosts as the user typed them, resolved once, and the instances a Eureka
//! registry lists, all before the run.
//!
//! Resolution is the only step that may block on the network, so it happens before the engine
//! starts, and the measured connect times never include DNS (the Go tool resolved again for every
//! connection). IPv6 literals work with or without brackets. The report names the target the
//! way the Go tool did: the host as typed, or `host(ip)` when the two differ.

pub mod eureka;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use crate::config::TargetSpec;

/// A resolved destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host as typed (brackets removed).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Every address the host resolved to, IPv4 first, in resolver order otherwise (with
    /// `--all-addresses`, each address is a target of its own and this holds just it).
    pub addrs: Vec<IpAddr>,
    /// The Eureka instance it stands for, when a registry listed it.
    pub instance: Option<String>,
}

/// Why a host could not be resolved.
#[derive(Debug, thiserror::Error)]
#[error("Domain name not resolvable: {host}{detail}")]
pub struct ResolveError {
    host: String,
    detail: String,
}

impl Target {
    /// Resolves `host` (a name, an IPv4 literal, or an IPv6 literal with or without brackets).
    pub fn resolve(host: &str, port: u16) -> Result<Target, ResolveError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Target {
                host: bare.to_string(),
                port,
                addrs: vec![ip],
                instance: None,
            });
        }
        // A name is at most 253 characters: a longer one is shown cut short.
        let shown = match bare.char_indices().nth(100) {
            Some((at, _)) => format!("{}…", &bare[..at]),
            None => bare.to_string(),
        };
        let fail = |detail: String| ResolveError {
            host: shown.clone(),
            detail,
        };
        if bare.is_empty() {
            return Err(fail(" (the host is empty)".to_string()));
        }
        let found = (bare, port)
            .to_socket_addrs()
            .map_err(|e| fail(format!(" ({e})")))?;
        let mut addrs: Vec<IpAddr> = Vec::new();
        for a in found {
            if !addrs.contains(&a.ip()) {
                addrs.push(a.ip());
            }
        }
        // IPv4 first, as the Go tool's resolver returned them (`localhost` is 127.0.0.1).
        addrs.sort_by_key(|ip| !ip.is_ipv4());
        if addrs.is_empty() {
            return Err(fail(" (no address)".to_string()));
        }
        Ok(Target {
            host: bare.to_string(),
            port,
            addrs,
            instance: None,
        })
    }

    /// Each address as a target of its own (`--all-addresses`).
    pub fn each_address(&self) -> Vec<Target> {
        self.addrs
            .iter()
            .map(|&ip| Target {
                addrs: vec![ip],
                ..self.clone()
            })
            .collect()
    }

    /// The address the run dials: the first one, as the Go tool did.
    pub fn primary(&self) -> SocketAddr {
        SocketAddr::new(self.addrs[0], self.port)
    }

    /// The report's name for the target: `host`, or `host(ip)` when they differ; IPv6
    /// addresses in brackets so that `:port` can follow.
    pub fn display_name(&self) -> String {
        let ip = self.addrs[0];
        let ip_text = match ip {
            IpAddr::V4(v) => v.to_string(),
            IpAddr::V6(v) => format!("[{v}]"),
        };
        match self.host.parse::<IpAddr>() {
            Ok(typed) if typed == ip => ip_text,
            _ => format!("{}({})", self.host, ip),
        }
    }
}

/// Targets from specs, in order: each resolved once; with `all_addresses` every address of a
/// name is a target of its own, otherwise the first (IPv4 first). A target listed twice (the
/// same address and port) is kept once; the second return lists those dropped, as typed.
pub fn resolve_all(
    specs: &[TargetSpec],
    all_addresses: bool,
) -> Result<(Vec<Target>, Vec<String>), ResolveError> {
    let mut targets = Vec::new();
    for spec in specs {
        let t = Target::resolve(&spec.host, spec.port)?;
        if all_addresses {
            targets.extend(t.each_address());
        } else {
            targets.push(t);
        }
    }
    Ok(dedup(targets))
}

/// `targets` without the second and later of any address and port, and their names.
pub fn dedup(targets: Vec<Target>) -> (Vec<Target>, Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for t in targets {
        if seen.insert(t.primary()) {
            kept.push(t);
        } else {
            dropped.push(format!("{}:{}", t.display_name(), t.port));
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_resolve_to_themselves() {
        let t = Target::resolve("127.0.0.1", 80).unwrap();
        assert_eq!(t.primary(), "127.0.0.1:80".parse().unwrap());
        assert_eq!(t.display_name(), "127.0.0.1");
        let t6 = Target::resolve("[::1]", 80).unwrap();
        assert_eq!(t6.primary(), "[::1]:80".parse().unwrap());
        assert_eq!(t6.display_name(), "[::1]");
        assert_eq!(Target::resolve("::1", 80).unwrap().display_name(), "[::1]");
    }

    #[test]
    fn names_show_their_address() {
        let t = Target::resolve("localhost", 80).unwrap();
        assert!(t.addrs[0].is_loopback());
        assert_eq!(t.display_name(), format!("localhost({})", t.addrs[0]));
    }

    #[test]
    fn all_addresses_makes_a_target_of_each_and_duplicates_go() {
        let spec = |h: &str, p| TargetSpec {
            host: h.to_string(),
            port: p,
        };
        let t = Target::resolve("localhost", 80).unwrap();
        let (all, dropped) = resolve_all(&[spec("localhost", 80)], true).unwrap();
        assert_eq!(all.len(), t.addrs.len());
        assert!(dropped.is_empty());
        for (one, ip) in all.iter().zip(&t.addrs) {
            assert_eq!(one.addrs, vec![*ip]);
            assert_eq!(one.host, "localhost");
        }
        let (first, _) = resolve_all(&[spec("localhost", 80)], false).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].primary(), t.primary());
        let (kept, dropped) = resolve_all(
            &[
                spec("127.0.0.1", 80),
                spec("127.0.0.1", 81),
                spec("127.0.0.1", 80),
            ],
            false,
        )
        .unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(dropped, vec!["127.0.0.1:80".to_string()]);
    }

    #[test]
    fn unresolvable_names_are_errors() {
        // The .invalid TLD is reserved and never resolves (RFC 6761).
        let e = Target::resolve("no-such-host.invalid", 80).unwrap_err();
        assert!(e.to_string().starts_with("Domain name not resolvable"));
        assert!(Target::resolve("", 80).is_err());
    }
}
