//! The second stage of the command line: raw strings to a validated configuration. Every value
//! is checked here, with a message that names the flag, what was given and what it takes.

use std::net::IpAddr;
use std::time::Duration;

use super::flags::{
    Close, EurekaAddressFlag, EurekaPortFlag, Format, RawFindLimit, RawRun, RawServer, RunFlags,
    SourcePorts, TargetFlags,
};
use crate::config::{
    redact_url, CloseMode, EurekaAddress, EurekaConfig, EurekaPort, LimitConfig, LoadConfig,
    MaxFrom, Metric, Output, Pacing, PortPolicy, RunConfig, ServerConfig, Shard, SourceList,
    StopOn, TargetSpec, TargetsConfig, WorkerRole, Workers, MAX_WORKERS,
};
use crate::local::parse_sources;
use crate::units::{parse_count, parse_duration, quoted, Unit, UnitError};

/// The most connections one run accepts. Far beyond what one machine's kernel holds; it only
/// catches typos.
pub const MAX_CONNECTIONS: u64 = 100_000_000;
/// The lowest `--rate`: one connection every 1000 s.
pub const MIN_RATE: f64 = 0.001;
/// The highest `--rate`.
pub const MAX_RATE: u64 = 10_000_000;

/// What `--sleep`, `--hold` and `server --duration` accept, for messages.
pub(super) const ZERO_OR_MORE: &str = "0 or more";
/// What `--dial-timeout` accepts.
pub(super) const AT_LEAST_1MS: &str = "at least 1ms";
/// What `--interval` accepts.
pub(super) const INTERVAL_RANGE: &str = "0 (a status at the start only) or at least 1ms";
/// What `server --duration` accepts.
pub(super) const UNLIMITED_OR_MORE: &str = "0 (unlimited) or more";
/// The highest `--max-dialing`.
pub(super) const MAX_DIALING: u64 = 1_000_000;

/// Parses a duration flag. `accepts` says what it takes ("0 or more", "at least 1ms"): every
/// message states it, and what a bare number means.
pub(super) fn duration(
    flag: &str,
    text: &str,
    unit: Unit,
    accepts: &str,
) -> Result<Duration, String> {
    parse_duration(text, unit).map_err(|e| match e {
        UnitError::Negative(t) => format!("{flag} must not be negative (got {t}; give {accepts})"),
        UnitError::Empty | UnitError::Invalid { .. } => {
            let bare = match unit {
                Unit::Millis => "milliseconds",
                Unit::Seconds => "seconds",
            };
            format!(
                "{flag} is not a valid duration (got {}; give {accepts}: a bare number is {bare}, or use a unit: 500ms, 2s, 1m30s)",
                quoted(text.trim())
            )
        }
        too_large @ UnitError::TooLarge { .. } => format!("{flag} {too_large}"),
    })
}

/// Parses a count flag that takes `min..=max`; `min_note` explains the minimum (" (unlimited)").
pub(super) fn count(
    flag: &str,
    text: &str,
    (min, min_note): (u64, &str),
    max: u64,
) -> Result<u64, String> {
    let t = text.trim();
    let out_of_range = || format!("{flag} must be between {min}{min_note} and {max} (got {t})");
    match parse_count(t, max) {
        Ok(v) if v >= min => Ok(v),
        Ok(_) | Err(UnitError::TooLarge { .. } | UnitError::Negative(_)) => Err(out_of_range()),
        Err(UnitError::Empty | UnitError::Invalid { .. }) => Err(format!(
            "{flag} is not a valid count (got {}; give a whole number from {min}{min_note} to {max}, optionally with k or m: 500, 10k, 1.5m)",
            quoted(t)
        )),
    }
}

/// Parses a TCP port of a target (1-65535) with the Go tool's message for non-numbers.
pub(super) fn target_port(text: &str) -> Result<u16, String> {
    let t = text.trim();
    let n: i64 = t.parse().map_err(|_| {
        format!(
            "Port argument is not a valid integer (got {}; give a number from 1 to 65535)",
            quoted(t)
        )
    })?;
    u16::try_from(n)
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("Port argument must be between 1 and 65535 (got {n})"))
}

pub(super) fn validate_run(raw: RawRun) -> Result<RunConfig, String> {
    if !raw.extra.is_empty() {
        return Err(arity(2 + raw.extra.len()));
    }
    let mut targets = target_flags(&raw.targets)?;
    targets.spread = raw.spread;
    let (host, port) = match (raw.host, raw.port) {
        (Some(host), Some(port)) => (host, target_port(&port)?),
        (None, _) if targets.any() => (String::new(), 0),
        (host, _) => return Err(arity(usize::from(host.is_some()))),
    };
    let mut config = validate_flags(host, port, raw.flags, false)?;
    config.targets = targets;
    let env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let shard = shard(
        raw.shard.as_deref(),
        env("JOB_COMPLETION_INDEX"),
        env(SHARDS_ENV),
        config.load.connections,
    )?;
    config.load.connections = shard.connections();
    config.load.shard = shard;
    config.start_at = raw.start_at.as_deref().map(start_at).transpose()?;
    (config.workers, config.worker) = processes(raw.workers.as_deref(), raw.worker.as_deref())?;
    Ok(config)
}

/// `--workers N|auto` and the hidden `--worker I/N`, as `run` and `find-limit` take them.
fn processes(
    workers_flag: Option<&str>,
    worker: Option<&str>,
) -> Result<(Workers, Option<WorkerRole>), String> {
    Ok((
        workers_flag.map(workers).transpose()?.unwrap_or_default(),
        worker.map(worker_role).transpose()?,
    ))
}

/// `find-limit`: run's flags, without those the search sets itself, and its own.
pub(super) fn validate_find_limit(raw: RawFindLimit) -> Result<RunConfig, String> {
    if !raw.extra.is_empty() {
        return Err(format!(
            "find-limit takes HOST PORT and flags; {} is one argument too many (see `tcpgoon find-limit --help`)",
            quoted(&raw.extra[0])
        ));
    }
    let (Some(host), Some(port)) = (raw.host.clone(), raw.port.as_deref()) else {
        return Err(
            "find-limit needs the target's HOST and PORT (see `tcpgoon find-limit --help`)"
                .to_string(),
        );
    };
    let port = target_port(port)?;
    let f = &raw.flags;
    for (given, flag, instead) in [
        (
            f.connections.is_some(),
            "-c/--connections",
            "--max sets the most connections to open",
        ),
        (
            f.sleep.is_some(),
            "-s/--sleep",
            "--rate or --step with --step-hold set the pace",
        ),
        (
            f.hold.is_some(),
            "--hold",
            "--settle sets how long what was dialed is held once dialing stops",
        ),
        (
            f.probe_at_end,
            "--probe-at-end",
            "run `tcpgoon run -c N --hold T --probe-at-end` with the limit found",
        ),
    ] {
        if given {
            return Err(format!("find-limit does not take {flag}: {instead}"));
        }
    }
    let max = raw
        .max
        .as_deref()
        .map(|m| count("--max", m, (1, ""), MAX_CONNECTIONS))
        .transpose()?;
    let steps = match (&raw.step, &raw.step_hold) {
        (Some(k), Some(t)) => {
            let size = count("--step", k, (1, ""), MAX_CONNECTIONS)?;
            let every = duration("--step-hold", t, Unit::Seconds, AT_LEAST_1MS)?;
            if every < Duration::from_millis(1) {
                return Err(format!(
                    "--step-hold must be at least 1ms (got {})",
                    t.trim()
                ));
            }
            Some(Pacing::Steps { size, every })
        }
        _ => None,
    };
    let mut stop_on = StopOn::NONE;
    match raw.stop_on.as_deref().map(str::trim) {
        None => stop_on = StopOn::ALL,
        Some(list) => {
            for name in list.split(',').map(str::trim) {
                if name == "all" {
                    stop_on = StopOn::ALL;
                    continue;
                }
                let signal = StopOn::named(name).ok_or_else(|| {
                    format!(
                        "--stop-on takes signals from {} (or all), comma-separated (got {})",
                        StopOn::NAMES.join(", "),
                        quoted(name)
                    )
                })?;
                stop_on = stop_on.with(signal);
            }
        }
    }
    let connect_p99 = raw
        .connect_p99
        .as_deref()
        .map(|t| {
            let d = duration("--connect-p99", t, Unit::Millis, AT_LEAST_1MS)?;
            if d.is_zero() {
                return Err(format!(
                    "--connect-p99 must be more than 0 (got {}): every handshake takes some time",
                    t.trim()
                ));
            }
            Ok(d)
        })
        .transpose()?;
    let named = |signal: &str| {
        raw.stop_on
            .as_deref()
            .is_some_and(|l| l.split(',').any(|n| n.trim() == signal))
    };
    if named("check") && raw.flags.expect.is_none() && !raw.flags.expect_data {
        return Err(
            "--stop-on check needs --expect TEXT or --expect-data: without them nothing is checked"
                .to_string(),
        );
    }
    if named("slow") && connect_p99.is_none() {
        return Err(
            "--stop-on slow needs --connect-p99 DURATION, the bound on the connect-time p99"
                .to_string(),
        );
    }
    // `slow` watches the bound when there is one, and nothing without.
    stop_on = match connect_p99 {
        Some(_) => stop_on.with(StopOn::SLOW),
        None => stop_on.without(StopOn::SLOW),
    };
    let sustained = match raw.sustained.as_deref() {
        None => 3,
        Some(t) => count("--sustained", t, (1, ""), 100_000)? as u32,
    };
    let settle = duration(
        "--settle",
        raw.settle.as_deref().unwrap_or("2s"),
        Unit::Seconds,
        ZERO_OR_MORE,
    )?;
    let rate_given = f.rate.is_some();
    let mut config = validate_flags(host, port, raw.flags, true)?;
    config.load.pacing = match steps {
        Some(steps) => steps,
        None if !rate_given => Pacing::Rate(DEFAULT_SEARCH_RATE),
        None => config.load.pacing,
    };
    let connections = max.unwrap_or(MAX_CONNECTIONS);
    config.load.connections = connections;
    config.load.shard = Shard::whole(connections);
    config.load.hold = settle;
    config.limit = Some(LimitConfig {
        stop_on,
        sustained,
        connect_p99,
        max_from: if max.is_some() {
            MaxFrom::Flag
        } else {
            MaxFrom::Files
        },
    });
    (config.workers, config.worker) = processes(raw.workers.as_deref(), raw.worker.as_deref())?;
    Ok(config)
}

/// `find-limit`'s pace without --rate or --step: connections per second.
pub const DEFAULT_SEARCH_RATE: f64 = 500.0;

/// `--workers N|auto`.
fn workers(text: &str) -> Result<Workers, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("auto") {
        return Ok(Workers::Auto);
    }
    match t.parse::<u64>() {
        Ok(1) => Ok(Workers::One),
        Ok(n) if (2..=u64::from(MAX_WORKERS)).contains(&n) => Ok(Workers::Count(n as u32)),
        _ => Err(format!(
            "--workers takes a whole number of processes from 1 to {MAX_WORKERS}, or auto (got {})",
            quoted(t)
        )),
    }
}

/// The hidden `--worker I/N` a `--workers` parent gives each of its processes.
fn worker_role(text: &str) -> Result<WorkerRole, String> {
    let bad = || {
        format!(
            "--worker is set by tcpgoon for its own worker processes (got {}); use --workers N",
            quoted(text)
        )
    };
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let index: u32 = i.trim().parse().map_err(|_| bad())?;
    let count: u32 = n.trim().parse().map_err(|_| bad())?;
    if count < 2 || index >= count || count > MAX_WORKERS {
        return Err(bad());
    }
    Ok(WorkerRole { index, count })
}

/// The environment variable that says how many shards share the plan, beside Kubernetes'
/// `JOB_COMPLETION_INDEX` (the shard's index in an Indexed Job).
pub const SHARDS_ENV: &str = "TCPGOON_SHARDS";

/// This run's part of a plan of `plan` connections: `--shard I/N` (I from 0), or else
/// `JOB_COMPLETION_INDEX` and `TCPGOON_SHARDS` when the latter is set, or else the whole plan.
pub fn shard(
    flag: Option<&str>,
    env_index: Option<String>,
    env_count: Option<String>,
    plan: u64,
) -> Result<Shard, String> {
    let (index, count, from) = match (flag, env_count) {
        (Some(text), _) => {
            let bad = || {
                format!(
                    "--shard takes I/N, the I-th (from 0) of N parts of the plan, e.g. 0/3 (got {})",
                    quoted(text)
                )
            };
            let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
            let i: u64 = i.trim().parse().map_err(|_| bad())?;
            let n: u64 = n.trim().parse().map_err(|_| bad())?;
            (i, n, "--shard")
        }
        (None, Some(count)) => {
            let n: u64 = count.trim().parse().map_err(|_| {
                format!(
                    "{SHARDS_ENV} must be the number of shards (got {})",
                    quoted(&count)
                )
            })?;
            let index = env_index.ok_or_else(|| {
                format!("{SHARDS_ENV} is set but JOB_COMPLETION_INDEX is not: give --shard I/N, or run as a Kubernetes Indexed Job")
            })?;
            let i: u64 = index.trim().parse().map_err(|_| {
                format!(
                    "JOB_COMPLETION_INDEX must be a number from 0 (got {})",
                    quoted(&index)
                )
            })?;
            (i, n, "JOB_COMPLETION_INDEX and TCPGOON_SHARDS")
        }
        (None, None) => return Ok(Shard::whole(plan)),
    };
    if count == 0 || index >= count {
        return Err(format!(
            "{from}: shard {index} of {count} cannot be: the index runs from 0 to N-1"
        ));
    }
    let shard = Shard { index, count, plan };
    if shard.connections() == 0 {
        return Err(format!(
            "{from}: shard {index}/{count} of a plan of {plan} connections has none: give -c {count} or more"
        ));
    }
    Ok(shard)
}

/// `--start-at`: RFC 3339 (`2026-11-30T16:00:00Z`) or Unix seconds.
fn start_at(text: &str) -> Result<std::time::SystemTime, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if (0.0..1e11).contains(&secs) {
            return Ok(std::time::UNIX_EPOCH + Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_rfc3339_weak(t).map_err(|_| {
        format!(
            "--start-at takes a time as RFC 3339 (2026-11-30T16:00:00Z) or Unix seconds (got {})",
            quoted(t)
        )
    })
}

/// The target flags (`--target`, `--targets-file`, `--all-addresses`, `--eureka*`) of `run`
/// and `discover`; `--spread` is `run`'s own.
pub(super) fn target_flags(raw: &TargetFlags) -> Result<TargetsConfig, String> {
    let specs = raw
        .target
        .iter()
        .map(|t| target_spec(t).map_err(|why| format!("--target {why}")))
        .collect::<Result<Vec<_>, _>>()?;
    let eureka = match (&raw.eureka, &raw.app) {
        (Some(url), Some(app)) => Some(eureka(raw, url, app)?),
        _ => None,
    };
    Ok(TargetsConfig {
        specs,
        all_addresses: raw.all_addresses,
        eureka,
        spread: false,
        targets_file: raw.targets_file.clone(),
    })
}

/// The statuses an instance may have in Eureka (`InstanceInfo.InstanceStatus`).
const EUREKA_STATUSES: [&str; 5] = ["UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN"];

fn eureka(raw: &TargetFlags, url: &str, app: &str) -> Result<EurekaConfig, String> {
    let lower = url.trim().to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) || lower.len() < 10 {
        return Err(format!(
            "--eureka must be the registry's http:// or https:// base URL, e.g. http://registry:8761/eureka (got {})",
            quoted(&redact_url(url.trim()))
        ));
    }
    let app = app.trim();
    if app.is_empty() || app.contains(['/', '?', '#']) || app.chars().any(char::is_whitespace) {
        return Err(format!(
            "--app must be an application name as registered in Eureka, e.g. orders (got {})",
            quoted(app)
        ));
    }
    let mut statuses = Vec::new();
    for part in raw.eureka_status.split(',') {
        let status = part.trim().to_ascii_uppercase();
        if !EUREKA_STATUSES.contains(&status.as_str()) {
            return Err(format!(
                "--eureka-status takes a comma-separated list of {} (got {})",
                EUREKA_STATUSES.join(", "),
                quoted(part.trim())
            ));
        }
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    let timeout = duration(
        "--eureka-timeout",
        &raw.eureka_timeout,
        Unit::Seconds,
        AT_LEAST_1MS,
    )?;
    if timeout < Duration::from_millis(1) {
        return Err(format!(
            "--eureka-timeout must be at least 1ms (got {})",
            raw.eureka_timeout.trim()
        ));
    }
    Ok(EurekaConfig {
        url: url.trim().to_string(),
        app: app.to_string(),
        statuses,
        address: match raw.eureka_address {
            EurekaAddressFlag::Ip => EurekaAddress::Ip,
            EurekaAddressFlag::Hostname => EurekaAddress::Hostname,
        },
        port: match raw.eureka_port {
            EurekaPortFlag::Port => EurekaPort::Port,
            EurekaPortFlag::Secure => EurekaPort::Secure,
        },
        timeout,
        insecure: raw.eureka_insecure,
        ca: raw.eureka_ca.clone(),
    })
}

/// What a target is written as, for messages.
const TARGET_FORM: &str =
    "HOST:PORT, or [ADDRESS]:PORT for IPv6 (127.0.0.1:8080, lb.example.com:443, [::1]:8080)";

/// One target as typed: `HOST:PORT` or `[v6]:PORT`. The error says what is wrong, without the
/// flag's name (the caller adds it).
pub fn target_spec(text: &str) -> Result<TargetSpec, String> {
    let t = text.trim();
    let bad = |why: &str| format!("takes {TARGET_FORM}: {why} (got {})", quoted(t));
    let (host, port) = if let Some(rest) = t.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("the IPv6 address has no closing ]"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| bad("the port is missing after ]"))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("what is in brackets is no IPv6 address"));
        }
        (addr, port)
    } else {
        let (host, port) = t
            .rsplit_once(':')
            .ok_or_else(|| bad("the port is missing"))?;
        if host.contains(':') {
            return Err(bad("an IPv6 address goes in brackets"));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let port = target_port(port).map_err(|_| bad("the port must be a number from 1 to 65535"))?;
    Ok(TargetSpec {
        host: host.to_string(),
        port,
    })
}

/// The targets of a `--targets-file`, each with its line number: one `HOST:PORT` or
/// `HOST PORT` per line; blank lines and `#` comments are ignored. The error names the line.
pub fn targets_file(text: &str) -> Result<Vec<(usize, TargetSpec)>, String> {
    // A byte-order mark (Notepad, PowerShell) is no part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // No host or port holds a #: it starts a comment wherever it is.
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line.contains("://") {
            return Err(format!(
                "line {}: a target is HOST:PORT, not a URL (got {})",
                n + 1,
                quoted(line)
            ));
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let spec = match fields.as_slice() {
            [one] => target_spec(one),
            [host, port] => target_spec(&if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }),
            _ => Err(format!(
                "takes {TARGET_FORM} or HOST PORT, one per line (got {})",
                quoted(line)
            )),
        };
        out.push((n + 1, spec.map_err(|why| format!("line {}: {why}", n + 1))?));
    }
    if out.is_empty() {
        return Err("no target in it: write one HOST:PORT per line".to_string());
    }
    Ok(out)
}

/// The Go tool's message for a `run` without exactly a host and a port (`given` positionals).
pub(super) fn arity(given: usize) -> String {
    format!(
        "Number of required parameters doesn't match: expected <host> <port>, got {given} argument{} (see `tcpgoon run --help`)",
        if given == 1 { "" } else { "s" }
    )
}

/// `run`'s flags (`search` for `find-limit`'s, which also measures `limit`).
pub(super) fn validate_flags(
    host: String,
    port: u16,
    raw: RunFlags,
    search: bool,
) -> Result<RunConfig, String> {
    let connections = count(
        "--connections",
        raw.connections.as_deref().unwrap_or("100"),
        (1, ""),
        MAX_CONNECTIONS,
    )?;
    let dial_timeout = duration(
        "--dial-timeout",
        &raw.dial_timeout,
        Unit::Millis,
        AT_LEAST_1MS,
    )?;
    if dial_timeout < Duration::from_millis(1) {
        return Err(format!(
            "--dial-timeout must be at least 1ms (got {})",
            raw.dial_timeout.trim()
        ));
    }
    let interval = duration("--interval", &raw.interval, Unit::Seconds, INTERVAL_RANGE)?;
    if !interval.is_zero() && interval < Duration::from_millis(1) {
        return Err(format!(
            "--interval must be {INTERVAL_RANGE} (got {})",
            raw.interval.trim()
        ));
    }
    let pacing = match &raw.rate {
        Some(text) => {
            let t = text.trim().trim_end_matches("/s");
            let rate = t
                .parse::<f64>()
                .ok()
                .or_else(|| parse_count(t, MAX_RATE).ok().map(|v| v as f64))
                .filter(|r| (MIN_RATE..=MAX_RATE as f64).contains(r))
                .ok_or_else(|| {
                    format!(
                        "--rate must be a number of connections per second from {MIN_RATE} to {MAX_RATE} (got {})",
                        quoted(text)
                    )
                })?;
            Pacing::Rate(rate)
        }
        None => Pacing::Interval(duration(
            "--sleep",
            raw.sleep.as_deref().unwrap_or("10"),
            Unit::Millis,
            ZERO_OR_MORE,
        )?),
    };
    let hold = duration(
        "--hold",
        raw.hold.as_deref().unwrap_or("0"),
        Unit::Seconds,
        ZERO_OR_MORE,
    )?;
    let max_dialing = count("--max-dialing", &raw.max_dialing, (1, ""), MAX_DIALING)? as usize;
    let sources = match &raw.source {
        Some(text) => parse_sources(text).map_err(|e| format!("--source {e}"))?,
        None => SourceList::default(),
    };
    let (checks, send_file) = super::checks::checks(&raw)?;
    let thresholds = raw
        .thresholds
        .iter()
        .map(|t| super::checks::threshold(t))
        .collect::<Result<Vec<_>, _>>()?;
    for t in &thresholds {
        super::checks::measurable(t, &checks)?;
        if t.metric == Metric::Limit {
            if !search {
                return Err(format!(
                    "--threshold {}: limit is what `tcpgoon find-limit` measures; a run checks its -c connections (held>=100%)",
                    t.expr
                ));
            }
            if !matches!(t.op, crate::config::Op::Ge | crate::config::Op::Gt) {
                return Err(format!(
                    "--threshold {}: limit takes >= or > (limit>=5000): a search that reached --max or this machine's limit answers \"at least\"",
                    t.expr
                ));
            }
            if matches!(t.value, crate::config::Bound::Percent(_)) {
                return Err(format!(
                    "--threshold {}: limit takes a number of connections (limit>=5000), not a percentage of --max",
                    t.expr
                ));
            }
        }
    }
    Ok(RunConfig {
        host,
        port,
        thresholds,
        send_file,
        start_at: None,
        workers: Workers::One,
        worker: None,
        load: LoadConfig {
            checks,
            connections,
            shard: Shard::whole(connections),
            pacing,
            dial_timeout,
            interval: (!interval.is_zero()).then_some(interval),
            hold,
            max_dialing,
            close: match raw.close {
                Close::Fin => CloseMode::Fin,
                Close::Rst => CloseMode::Rst,
            },
        },
        sources,
        port_policy: match raw.source_ports {
            SourcePorts::Auto => PortPolicy::Auto,
            SourcePorts::Kernel => PortPolicy::Kernel,
        },
        assume_yes: raw.assume_yes,
        verbose: raw.verbose,
        output: Output {
            json: stdout_once(&raw)?,
            export_json: raw.export_json.clone(),
            export_junit: raw.export_junit.clone(),
            export_html: raw.export_html.clone(),
            // Credentials in a URL (--eureka) never reach a report.
            command_line: std::env::args_os()
                .map(|a| {
                    let a = a.to_string_lossy();
                    if a.contains("://") {
                        redact_url(&a)
                    } else {
                        a.into_owned()
                    }
                })
                .collect(),
        },
        no_progress: raw.no_progress,
        targets: TargetsConfig::default(),
        limit: None,
    })
}

/// Whether standard output carries the JSON document (`--format json`), refusing a second
/// document there: at most one of `--format json` and the `--export-* -` may claim it.
fn stdout_once(raw: &RunFlags) -> Result<bool, String> {
    let json = raw.format == Format::Json;
    let mut claims: Vec<&str> = Vec::new();
    if json {
        claims.push("--format json");
    }
    for (flag, path) in [
        ("--export-json -", &raw.export_json),
        ("--export-junit -", &raw.export_junit),
        ("--export-html -", &raw.export_html),
    ] {
        if path.as_deref().is_some_and(|p| p.as_os_str() == "-") {
            claims.push(flag);
        }
    }
    if claims.len() > 1 {
        let example = match claims.last() {
            Some(&"--export-json -") => "--export-json tcpgoon.json",
            Some(&"--export-html -") => "--export-html tcpgoon.html",
            _ => "--export-junit tcpgoon.xml",
        };
        return Err(format!(
            "{} would each write a document to standard output: give all but one of them a file ({example})",
            claims.join(" and ")
        ));
    }
    Ok(json)
}

pub(super) fn validate_server(raw: RawServer) -> Result<ServerConfig, String> {
    let text = raw.port.trim();
    let number = text.parse::<i64>();
    let port = number
        .as_ref()
        .ok()
        .and_then(|&p| u16::try_from(p).ok())
        .ok_or_else(|| {
            // The Go tool's message; a number as typed, anything else quoted (`""`).
            let shown = match number {
                Ok(n) => n.to_string(),
                Err(_) => quoted(text),
            };
            format!("{shown} is not a valid TCP port number for the server (-p/--port takes 0 to 65535; 0 picks a free port)")
        })?;
    // A worker of `server --workers` listens where its parent reserved.
    let worker_port = raw
        .worker
        .as_deref()
        .map(|p| {
            p.trim().parse::<u16>().map_err(|_| {
                "--worker is set by tcpgoon for its own worker processes; use --workers N"
                    .to_string()
            })
        })
        .transpose()?;
    let port = worker_port.unwrap_or(port);
    let max_connections = count(
        "--maxconnections",
        &raw.max_connections,
        (0, " (unlimited)"),
        MAX_CONNECTIONS,
    )?;
    let close_after = raw
        .close_after
        .as_deref()
        .map(|text| duration("--close-after", text, Unit::Seconds, ZERO_OR_MORE))
        .transpose()?;
    let run_for = duration(
        "--duration",
        &raw.duration,
        Unit::Seconds,
        UNLIMITED_OR_MORE,
    )?;
    let bind = match &raw.bind {
        Some(text) => {
            let t = text.trim().trim_start_matches('[').trim_end_matches(']');
            Some(t.parse::<IpAddr>().map_err(|_| {
                format!(
                    "--bind needs an IP address such as 127.0.0.1 or ::1 (got {})",
                    quoted(text)
                )
            })?)
        }
        None => None,
    };
    Ok(ServerConfig {
        bind,
        port,
        max_connections,
        duration: (!run_for.is_zero()).then_some(run_for),
        quiet: raw.quiet,
        banner: raw
            .banner
            .as_deref()
            .map(|text| super::checks::bytes("--banner", text))
            .transpose()?,
        echo: raw.echo,
        close_after,
        reset: raw.reset,
        workers: server_workers(&raw.workers, max_connections)?,
        worker: worker_port.is_some(),
    })
}

/// `server --workers N`; `-m` must then be 0: processes sharing a port cannot stop after
/// exactly `-m` connections between them (the kernel deals the connections).
fn server_workers(text: &str, max_connections: u64) -> Result<u32, String> {
    let n = count("--workers", text, (1, ""), u64::from(MAX_WORKERS))? as u32;
    if n > 1 && max_connections > 0 {
        return Err(format!(
            "server --workers {n} cannot stop after exactly -m {max_connections} connections (the kernel deals them between the processes): give -m 0 and bound the server with -d"
        ));
    }
    Ok(n)
}
