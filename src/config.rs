//! What a command asks for, validated: plain data that every later stage trusts.
//!
//! The command line is parsed and checked once (`cli`); what comes out is this: the `run`
//! configuration with its load ([`LoadConfig`], the part the engine needs as it is), the source
//! plan as the user wrote it, and the built-in server's configuration. This module is the leaf of
//! the crate: it imports nothing from it, so every room may use it.

use std::net::IpAddr;
use std::time::Duration;

/// A validated `run` command.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// The host as typed.
    pub host: String,
    /// The target port.
    pub port: u16,
    /// How many connections, how fast, how long: the engine's part.
    pub load: LoadConfig,
    /// Source addresses (empty: routing decides).
    pub sources: SourceList,
    /// Who picks source ports.
    pub port_policy: PortPolicy,
    /// Skip the prompt.
    pub assume_yes: bool,
    /// Debugging lines on stderr.
    pub verbose: bool,
    /// `--no-progress`: no live display on stderr, even on a terminal.
    pub no_progress: bool,
    /// `--threshold` expressions, in order.
    pub thresholds: Vec<Threshold>,
    /// `--send @FILE`: the file whose bytes become `load.checks.send`, read before the run.
    pub send_file: Option<std::path::PathBuf>,
    /// Where the results go besides the text.
    pub output: Output,
    /// The targets besides `HOST PORT`, and how a run uses several.
    pub targets: TargetsConfig,
    /// `--start-at`: the first dial waits for this wall-clock time (a barrier shared by the
    /// shards of a plan).
    pub start_at: Option<std::time::SystemTime>,
    /// `--workers`: how many processes of this machine share the plan.
    pub workers: Workers,
    /// Set in a worker process started by `--workers` (the hidden `--worker I/N`): which one it
    /// is. A worker takes its targets and its start from its parent and reports to it.
    pub worker: Option<WorkerRole>,
    /// `find-limit`: the run searches for the target's limit (`load.connections` is `--max`,
    /// `load.hold` the settle time after dialing stops).
    pub limit: Option<LimitConfig>,
}

/// What `find-limit` watches, and when it stops dialing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// The failure signals that count (`--stop-on`).
    pub stop_on: StopOn,
    /// How many failures in a row, with no connection passing in between, stop the search
    /// (`--sustained`, at least 1).
    pub sustained: u32,
    /// `--connect-p99`: the p99 of the last [`P99_WINDOW`] connect times above this is a
    /// failure (with `slow` in `--stop-on`).
    pub connect_p99: Option<Duration>,
    /// Where `--max` came from: the user, or what this machine can hold.
    pub max_from: MaxFrom,
}

/// How many of the latest connect times `--connect-p99` judges.
pub const P99_WINDOW: usize = 100;

/// Where `find-limit`'s `--max` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxFrom {
    /// `--max N`.
    Flag,
    /// The open-files limit of the processes that dial.
    Files,
    /// The free local ports toward the target.
    Ports,
}

/// The failure signals `find-limit` watches (`--stop-on`), as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopOn(u8);

impl StopOn {
    /// Every signal name, in the order of the set's bits.
    pub const NAMES: [&'static str; 6] =
        ["error", "timeout", "retransmit", "closed", "check", "slow"];
    /// Dial errors: refused, reset, unreachable.
    pub const ERROR: StopOn = StopOn(1);
    /// Dial timeouts.
    pub const TIMEOUT: StopOn = StopOn(2);
    /// SYN retransmits: a handshake that needed them, or a dial unanswered for a second.
    pub const RETRANSMIT: StopOn = StopOn(4);
    /// Closures by the far side (rejections right after the handshake included).
    pub const CLOSED: StopOn = StopOn(8);
    /// `--expect*` checks that failed (nothing came, other data).
    pub const CHECK: StopOn = StopOn(16);
    /// The connect-time p99 above `--connect-p99`.
    pub const SLOW: StopOn = StopOn(32);
    /// Every signal.
    pub const ALL: StopOn = StopOn(63);
    /// No signal.
    pub const NONE: StopOn = StopOn(0);

    /// The signal called `name`.
    pub fn named(name: &str) -> Option<StopOn> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|bit| StopOn(1 << bit))
    }

    /// Both sets.
    #[must_use]
    pub fn with(self, other: StopOn) -> StopOn {
        StopOn(self.0 | other.0)
    }

    /// This set less `other`'s signals.
    #[must_use]
    pub fn without(self, other: StopOn) -> StopOn {
        StopOn(self.0 & !other.0)
    }

    /// True when every signal of `other` is in this set.
    pub fn has(self, other: StopOn) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names in this set, comma-separated.
    pub fn names(self) -> String {
        Self::NAMES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `--workers`: how many processes of this machine share one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Workers {
    /// One process, this one (the default, and `--workers 1`).
    #[default]
    One,
    /// This many worker processes (at least 2), this process coordinating them.
    Count(u32),
    /// As many as the file-descriptor limit needs, and one per core for a run large enough to
    /// gain from it (`--workers auto`; see `Workers::resolve`).
    Auto,
}

/// Connections a worker should have at least before `--workers auto` gives it a core of its
/// own: below this, starting a process costs more than sharing a core saves.
pub const AUTO_WORKER_MIN: u64 = 5_000;

impl Workers {
    /// How many processes: `auto` becomes enough for `connections` at `per_process` each
    /// (what the open-files limit leaves), and up to `cores` when each still gets
    /// [`AUTO_WORKER_MIN`] connections.
    pub fn resolve(self, connections: u64, per_process: u64, cores: u64) -> u32 {
        match self {
            Workers::One => 1,
            Workers::Count(n) => n,
            Workers::Auto => {
                let needed = connections.div_ceil(per_process.max(1));
                let gainful = (connections / AUTO_WORKER_MIN).min(cores);
                needed.max(gainful).clamp(1, u64::from(MAX_WORKERS)) as u32
            }
        }
    }
}

/// Most `--workers`: more processes than this would be a typo, not a plan.
pub const MAX_WORKERS: u32 = 1024;

/// Which of a `--workers` run's processes this is: connection `i` of the machine's plan goes to
/// worker `i mod count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerRole {
    /// This worker, from 0.
    pub index: u32,
    /// How many workers share the plan.
    pub count: u32,
}

/// Where the targets of a run come from and how several are used.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetsConfig {
    /// `--target` and `--targets-file` entries, in order (the positional `HOST PORT` is not
    /// among them: it is `RunConfig::host`/`port` when given).
    pub specs: Vec<TargetSpec>,
    /// `--all-addresses`: every address a name resolves to is a target of its own.
    pub all_addresses: bool,
    /// `--eureka URL --app NAME`: the instances a registry lists.
    pub eureka: Option<EurekaConfig>,
    /// `--spread`: one run whose connections go round-robin over every target; otherwise each
    /// target gets its own run of `-c` connections.
    pub spread: bool,
    /// `--targets-file`: read (by `app`, before the run) into more specs.
    pub targets_file: Option<std::path::PathBuf>,
}

impl TargetsConfig {
    /// True when targets come from anywhere but `HOST PORT`.
    pub fn any(&self) -> bool {
        !self.specs.is_empty() || self.targets_file.is_some() || self.eureka.is_some()
    }
}

/// A target as typed (`--target HOST:PORT` or a line of `--targets-file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// The host as typed, brackets removed.
    pub host: String,
    /// The port.
    pub port: u16,
}

/// A Eureka registry query (`--eureka`, `--app`, `--eureka-*`).
#[derive(Debug, Clone, PartialEq)]
pub struct EurekaConfig {
    /// The base URL as given (`http://host:8761/eureka` or `.../eureka/v2`), credentials
    /// included: never print it; print [`EurekaConfig::redacted_url`].
    pub url: String,
    /// The application name as typed (the registry upper-cases it).
    pub app: String,
    /// The statuses whose instances are tested, upper-case (default `UP`).
    pub statuses: Vec<String>,
    /// Which address of an instance is dialed.
    pub address: EurekaAddress,
    /// Which port of an instance is dialed.
    pub port: EurekaPort,
    /// The longest the whole HTTP exchange may take.
    pub timeout: Duration,
    /// Skip the verification of the registry's TLS certificate.
    pub insecure: bool,
    /// `--eureka-ca`: PEM certificates of the authorities to trust instead of the built-in web
    /// roots (a registry behind a private CA).
    pub ca: Option<std::path::PathBuf>,
}

impl EurekaConfig {
    /// The URL with any `user:password@` replaced by `***@`, for every output.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// `url` with the user information (`user:password@`) replaced by `***@`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    // Up to the last @, even past a / ? or # (a password may hold them unencoded): hiding a
    // path's @ too is the lesser harm.
    match rest.rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Which address of a Eureka instance is dialed (`--eureka-address`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EurekaAddress {
    /// `ipAddr`.
    #[default]
    Ip,
    /// `hostName` (resolved like any host).
    Hostname,
}

/// Which port of a Eureka instance is dialed (`--eureka-port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EurekaPort {
    /// `port`.
    #[default]
    Port,
    /// `securePort`.
    Secure,
}

/// A validated `discover` command: list the targets a run would test.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverConfig {
    /// Where the targets come from.
    pub targets: TargetsConfig,
    /// One JSON document on standard output instead of the text.
    pub json: bool,
}

/// A validated `report` command: render a saved JSON report again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportConfig {
    /// The saved report.
    pub file: std::path::PathBuf,
    /// What to render.
    pub format: ReportFormat,
    /// Where to (standard output when `None`).
    pub output: Option<std::path::PathBuf>,
}

/// A validated `merge` command: add up the reports of a plan's shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeConfig {
    /// The reports.
    pub files: Vec<std::path::PathBuf>,
    /// What to render.
    pub format: ReportFormat,
    /// Where to (standard output when `None`).
    pub output: Option<std::path::PathBuf>,
}

/// What `tcpgoon report` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The text report.
    Text,
    /// The JSON document.
    Json,
    /// JUnit XML for CI dashboards.
    Junit,
    /// The HTML page.
    Html,
}

/// Where a run's results go (`--format`, `--export-*`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Standard output carries one JSON document instead of the text.
    pub json: bool,
    /// Write the JSON report to this file too (`-`: standard output).
    pub export_json: Option<std::path::PathBuf>,
    /// Write the JUnit XML report to this file too (`-`: standard output).
    pub export_junit: Option<std::path::PathBuf>,
    /// Write the HTML report to this file (`-`: standard output).
    pub export_html: Option<std::path::PathBuf>,
    /// The command line, as given, for the reports.
    pub command_line: Vec<String>,
}

/// A condition on a run's results (`--threshold held>=100%`): what CI checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as typed, for the report.
    pub expr: String,
    /// What is measured.
    pub metric: Metric,
    /// How it compares.
    pub op: Op,
    /// The bound.
    pub value: Bound,
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Connections ever established (Established + Closed).
    Established,
    /// Connections still open at the end.
    Held,
    /// Connections that received the expected data in time.
    Verified,
    /// Connections closed by the far side.
    Closed,
    /// Connections closed by the far side right after being established.
    ClosedAtOnce,
    /// Connections whose dial failed (Error).
    Errors,
    /// Connections that needed SYN retransmits to establish.
    Retransmitted,
    /// Connections still open that answered the end-of-hold probe.
    Alive,
    /// A percentile or the maximum of the connect times.
    Connect(Stat),
    /// A percentile or the maximum of the times to the first byte.
    FirstByte(Stat),
    /// A statistic of the lifetimes of the connections the far side closed.
    Lifetime(Stat),
    /// `find-limit`'s answer: connections held at once with every check passing.
    Limit,
}

impl Metric {
    /// Its name in thresholds and reports (`held`, `connect_p99`, `lifetime_min`).
    pub fn name(self) -> String {
        match self {
            Metric::Established => "established".into(),
            Metric::Held => "held".into(),
            Metric::Verified => "verified".into(),
            Metric::Closed => "closed".into(),
            Metric::ClosedAtOnce => "closed_at_once".into(),
            Metric::Errors => "errors".into(),
            Metric::Retransmitted => "retransmitted".into(),
            Metric::Alive => "alive".into(),
            Metric::Limit => "limit".into(),
            Metric::Connect(s) => format!("connect_{}", s.name()),
            Metric::FirstByte(s) => format!("first_byte_{}", s.name()),
            Metric::Lifetime(s) => format!("lifetime_{}", s.name()),
        }
    }

    /// The metric [`name`](Self::name) gives, or `None`.
    pub fn from_name(name: &str) -> Option<Metric> {
        Some(match name {
            "established" => Metric::Established,
            "held" => Metric::Held,
            "verified" => Metric::Verified,
            "closed" => Metric::Closed,
            "closed_at_once" => Metric::ClosedAtOnce,
            "errors" => Metric::Errors,
            "retransmitted" => Metric::Retransmitted,
            "alive" => Metric::Alive,
            "limit" => Metric::Limit,
            _ => {
                if let Some(s) = name.strip_prefix("connect_") {
                    Metric::Connect(Stat::from_name(s)?)
                } else if let Some(s) = name.strip_prefix("first_byte_") {
                    Metric::FirstByte(Stat::from_name(s)?)
                } else {
                    Metric::Lifetime(Stat::from_name(name.strip_prefix("lifetime_")?)?)
                }
            }
        })
    }
}

impl Stat {
    const NAMES: [(Stat, &'static str); 5] = [
        (Stat::Min, "min"),
        (Stat::P50, "p50"),
        (Stat::P90, "p90"),
        (Stat::P99, "p99"),
        (Stat::Max, "max"),
    ];

    /// `min`, `p50`, `p90`, `p99` or `max`.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("max", |(_, n)| n)
    }

    fn from_name(name: &str) -> Option<Stat> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(s, _)| *s)
    }
}

/// Which figure of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stat {
    /// The smallest.
    Min,
    /// The 50th percentile.
    P50,
    /// The 90th percentile.
    P90,
    /// The 99th percentile.
    P99,
    /// The largest.
    Max,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
}

/// The right-hand side of a threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// A number of connections.
    Count(u64),
    /// A percentage of the connections asked for (`--connections`), for every metric. (The
    /// implicit `verified` and `alive` thresholds are judged out of the connections established
    /// and probed: the verdict's business, not the bound's.)
    Percent(f64),
    /// A duration.
    Time(Duration),
}

/// The load a run puts on its target: what the engine needs besides the targets and the local
/// endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Connections to open.
    pub connections: u64,
    /// When each connection is due.
    pub pacing: Pacing,
    /// How long a dial may take before it counts as an error.
    pub dial_timeout: Duration,
    /// Interval between status snapshots; `None` for one at the start only (`-i 0`).
    pub interval: Option<Duration>,
    /// How long to keep the established connections open once every dial has settled.
    pub hold: Duration,
    /// Most connections dialing at once (at least 1).
    pub max_dialing: usize,
    /// How the connections still open at the end are closed.
    pub close: CloseMode,
    /// End-to-end checks and probes on each connection (all off by default).
    pub checks: Checks,
    /// The part of a larger plan this run dials (`--shard I/N`); the whole plan by default.
    pub shard: Shard,
}

/// The part of a plan one process dials: connection `i` of the plan belongs to shard
/// `i mod count`, and is due when the plan says, so that the shards together dial exactly
/// what one process would have, on its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards share the plan (1: the whole plan).
    pub count: u64,
    /// Connections of the whole plan (`-c`).
    pub plan: u64,
}

impl Default for Shard {
    /// The whole plan (of any size: `plan` is only read for a part).
    fn default() -> Self {
        Shard::whole(0)
    }
}

impl Shard {
    /// The whole plan of `connections`.
    pub fn whole(connections: u64) -> Shard {
        Shard {
            index: 0,
            count: 1,
            plan: connections,
        }
    }

    /// Worker `index` of `count` sharing this part of the plan: the part's connection `m` goes
    /// to worker `m mod count`, so the plan's connection `i` to the one whose `i` this gives.
    pub fn split(&self, index: u32, count: u32) -> Shard {
        Shard {
            index: self.index + self.count * u64::from(index),
            count: self.count * u64::from(count),
            plan: self.plan,
        }
    }

    /// The plan's index of this shard's `j`-th connection.
    pub fn global(&self, j: u64) -> u64 {
        j * self.count + self.index
    }

    /// How many of the plan's connections are this shard's.
    pub fn connections(&self) -> u64 {
        if self.index >= self.plan {
            0
        } else {
            (self.plan - self.index).div_ceil(self.count)
        }
    }

    /// True when this is one part of several.
    pub fn is_part(&self) -> bool {
        self.count > 1
    }
}

/// What tcpgoon does on each connection beyond opening it: each is optional, and without them
/// a run is the Go tool's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checks {
    /// Bytes sent once, right after the connection is established (`--send`).
    pub send: Option<Vec<u8>>,
    /// What the connection must receive to count as verified (`--expect-data`, `--expect`).
    pub expect: Option<Expect>,
    /// How long after establishment the expected data may take (`--expect-timeout`).
    pub expect_timeout: Duration,
    /// TCP keepalive on every connection (`--keepalive`).
    pub keepalive: Option<Keepalive>,
    /// At the end of the hold, each connection still open writes and must be acknowledged
    /// within this long (`--probe-at-end`, `--probe-timeout`).
    pub probe_at_end: Option<Duration>,
}

/// The most bytes `--send` and `--expect` take: the progress through them fits in the
/// connection's slot (16 bits).
pub const MAX_CHECK_BYTES: usize = u16::MAX as usize;

/// What a connection must receive to count as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// At least one byte (`--expect-data`).
    AnyData,
    /// Its first bytes equal these (`--expect TEXT`); other data is a mismatch.
    Bytes(Vec<u8>),
}

/// Kernel keepalive: after `idle` without traffic, a probe every `interval`; `count`
/// unanswered probes end the connection (ETIMEDOUT). TCP_USER_TIMEOUT is set to match, so
/// unacknowledged data cannot hold a dead connection open longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe (TCP_KEEPIDLE).
    pub idle: Duration,
    /// Time between probes (TCP_KEEPINTVL).
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped (TCP_KEEPCNT).
    pub count: u32,
}

impl Keepalive {
    /// How long a dead path takes to be noticed: idle + interval × count (TCP_USER_TIMEOUT).
    pub fn give_up_after(&self) -> Duration {
        self.idle + self.interval * self.count
    }
}

impl Default for LoadConfig {
    /// The Go tool's defaults: 100 connections 10 ms apart, a 5 s dial timeout, a status every
    /// second, no hold, at most 1,024 dialing, FIN close.
    fn default() -> Self {
        LoadConfig {
            connections: 100,
            pacing: Pacing::Interval(Duration::from_millis(10)),
            dial_timeout: Duration::from_secs(5),
            interval: Some(Duration::from_secs(1)),
            hold: Duration::ZERO,
            max_dialing: 1024,
            close: CloseMode::Fin,
            checks: Checks::default(),
            shard: Shard::whole(100),
        }
    }
}

/// A validated `server` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address to listen on; `None` for every interface (IPv6 and IPv4 when possible).
    pub bind: Option<IpAddr>,
    /// Port; 0 picks a free one (printed).
    pub port: u16,
    /// Stop after this many accepted connections; 0 for no limit.
    pub max_connections: u64,
    /// Stop after this long; `None` for no limit.
    pub duration: Option<Duration>,
    /// Do not print a line per accepted connection.
    pub quiet: bool,
    /// `--workers N`: processes sharing the port (`SO_REUSEPORT`), 1 for this one alone.
    pub workers: u32,
    /// Set in a server worker process (the hidden `--worker`): bind with `SO_REUSEPORT`, print
    /// no banner, and end with the count on a line of its own for the parent.
    pub worker: bool,
    /// Bytes sent to each connection as soon as it is accepted (`--banner`).
    pub banner: Option<Vec<u8>>,
    /// Send back whatever each connection sends (`--echo`).
    pub echo: bool,
    /// Close each connection this long after accepting it (`--close-after`): an idle timeout.
    pub close_after: Option<Duration>,
    /// Every close the server makes is abortive, a reset instead of a FIN (`--reset`).
    pub reset: bool,
}

/// How the tool closes the connections still open at the end of a run (`--close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloseMode {
    /// A normal close (FIN), as the Go tool did. The client side keeps TIME_WAIT for 60 s.
    #[default]
    Fin,
    /// An abortive close (RST, `SO_LINGER` 0): no TIME_WAIT, so back-to-back runs keep their ports.
    Rst,
}

/// Who chooses each connection's source port (`--source-ports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PortPolicy {
    /// `auto`: the tool picks a free port from the ephemeral range (the default): no kernel port
    /// search, so dialing stays fast up to the last port of the range.
    #[default]
    Auto,
    /// `kernel`: the kernel picks at `connect()` time (binding only the address, with
    /// `IP_BIND_ADDRESS_NO_PORT`).
    Kernel,
}

impl std::fmt::Display for PortPolicy {
    /// Who picks the ports, as words: "tcpgoon" or "the kernel".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PortPolicy::Auto => "tcpgoon",
            PortPolicy::Kernel => "the kernel",
        })
    }
}

/// How new connections are spread over time: a schedule, not a sleep. Connection `i` is due at
/// `i × interval` after the start of the run (or `i / rate`), so the achieved rate does not drift
/// with loop latency, and a late loop catches up on exactly the connections that are due. The
/// Go tool slept `-s` ms between connections, including after the last one; here the last
/// connection is due at `(n - 1) × interval` and nothing waits after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// A fixed gap between consecutive connections (`--sleep`); zero means "as fast as allowed".
    Interval(Duration),
    /// Connections per second (`--rate`), strictly positive and finite.
    Rate(f64),
    /// Plateaus (`find-limit --step K --step-hold T`): connections `K × s` to `K × (s + 1) - 1`
    /// are due at `s × T`, so each plateau of `K` more is held `T` before the next. `size` is at
    /// least 1.
    Steps {
        /// Connections added per step.
        size: u64,
        /// How long each plateau is held before the next step.
        every: Duration,
    },
}

impl Pacing {
    /// Offset from the run's start, in nanoseconds, at which connection `i` (from 0) is due.
    #[inline]
    pub fn due_nanos(&self, i: u64) -> u64 {
        let ns = match *self {
            Pacing::Interval(gap) => u128::from(i) * gap.as_nanos(),
            // i / rate seconds; computed in f64 then rounded, exact to well under a microsecond
            // for any count and rate a run can have.
            Pacing::Rate(rate) => ((i as f64) * 1e9 / rate).round() as u128,
            Pacing::Steps { size, every } => u128::from(i / size.max(1)) * every.as_nanos(),
        };
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// True when every connection is due at once (`--sleep 0`).
    pub fn is_unpaced(&self) -> bool {
        matches!(*self, Pacing::Interval(d) if d.is_zero())
    }
}

impl std::fmt::Display for Pacing {
    /// The pace in words: `500 connections/s`, `one connection every 10ms`, `steps of 100 more,
    /// each held 5s` (durations in whole seconds, milliseconds or microseconds).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Whole seconds, else whole milliseconds, else microseconds: exact, no float.
        let dur = |d: Duration| {
            let us = d.as_micros();
            if us.is_multiple_of(1_000_000) {
                format!("{}s", us / 1_000_000)
            } else if us.is_multiple_of(1_000) {
                format!("{}ms", us / 1_000)
            } else {
                format!("{us}µs")
            }
        };
        match *self {
            Pacing::Rate(rate) => write!(f, "{rate} connections/s"),
            Pacing::Interval(d) if d.is_zero() => write!(f, "as fast as --max-dialing allows"),
            Pacing::Interval(d) => write!(f, "one connection every {}", dur(d)),
            Pacing::Steps { size, every } => {
                write!(
                    f,
                    "steps of {size} more connections, each held {}",
                    dur(every)
                )
            }
        }
    }
}

/// A range or block of `--source` longer than this is checked on a spread sample of this many
/// addresses.
pub const CHECK_ALL_UP_TO: usize = 1024;

/// The source addresses of `--source`, in order, each once, with what the pre-flight must check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceList {
    addrs: Vec<IpAddr>,
    /// Positions in `addrs` of addresses written on their own.
    single: Vec<usize>,
    /// Spans (start, length) in `addrs` of the addresses of each range or block.
    blocks: Vec<(usize, usize)>,
}

impl SourceList {
    /// Appends the addresses of one part of the list: one written alone, or the (new)
    /// addresses of a range or block.
    pub fn push_part(&mut self, addrs: impl IntoIterator<Item = IpAddr>, alone: bool) {
        let start = self.addrs.len();
        self.addrs.extend(addrs);
        let added = self.addrs.len() - start;
        if alone {
            self.single.extend(start..start + added);
        } else if added > 0 {
            self.blocks.push((start, added));
        }
    }

    /// Every address, in order of appearance.
    pub fn addrs(&self) -> &[IpAddr] {
        &self.addrs
    }

    /// True when no source was given (routing picks one).
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The addresses the pre-flight checks: every address written on its own, every address of
    /// a range or block of at most [`CHECK_ALL_UP_TO`], and of a longer one a spread sample of
    /// that many plus its last. An address missed by the sample fails its own connections as
    /// local errors, never as the target's.
    pub fn to_check(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self.single.iter().map(|&k| self.addrs[k]).collect();
        for &(start, len) in &self.blocks {
            let block = &self.addrs[start..start + len];
            if len <= CHECK_ALL_UP_TO {
                out.extend_from_slice(block);
            } else {
                let step = len.div_ceil(CHECK_ALL_UP_TO);
                out.extend(block.iter().step_by(step));
                out.extend(block.last());
            }
        }
        out
    }
}

impl From<Vec<IpAddr>> for SourceList {
    /// A list of single addresses, every one checked.
    fn from(addrs: Vec<IpAddr>) -> Self {
        let mut list = SourceList::default();
        list.push_part(addrs, true);
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_auto_counts_the_fds_and_then_the_cores() {
        let auto = |c, per, cores| Workers::Auto.resolve(c, per, cores);
        assert_eq!(auto(100, 19_980, 2), 1, "small: one process");
        assert_eq!(auto(10_000, 19_980, 2), 2, "a core each at 5,000 apiece");
        assert_eq!(auto(10_000, 19_980, 8), 2, "not more than gain from it");
        assert_eq!(auto(25_000, 19_980, 1), 2, "the fds need two");
        assert_eq!(auto(97_500, 19_980, 2), 5);
        assert_eq!(auto(u64::MAX / 2, 1, 2), MAX_WORKERS);
        assert_eq!(Workers::Count(7).resolve(1, 1, 1), 7);
        assert_eq!(Workers::One.resolve(1_000_000, 1, 64), 1);
    }

    #[test]
    fn a_part_split_between_workers_is_disjoint_and_whole() {
        for shard in [
            Shard::whole(101),
            Shard {
                index: 2,
                count: 3,
                plan: 101,
            },
        ] {
            let mut seen: Vec<u64> = (0..4)
                .flat_map(|w| {
                    let part = shard.split(w, 4);
                    (0..part.connections()).map(move |j| part.global(j))
                })
                .collect();
            seen.sort_unstable();
            let whole: Vec<u64> = (0..shard.connections()).map(|j| shard.global(j)).collect();
            assert_eq!(seen, whole, "{shard:?}");
        }
    }

    #[test]
    fn shards_split_a_plan_without_overlap_or_gap() {
        for plan in [0, 1, 7, 100, 101] {
            for count in 1..=5 {
                let mut seen = vec![0u32; plan as usize];
                let mut total = 0;
                for index in 0..count {
                    let s = Shard { index, count, plan };
                    total += s.connections();
                    for j in 0..s.connections() {
                        seen[s.global(j) as usize] += 1;
                    }
                }
                assert_eq!(total, plan, "{plan} over {count}");
                assert!(
                    seen.iter().all(|&n| n == 1),
                    "{plan} over {count}: {seen:?}"
                );
            }
        }
    }

    #[test]
    fn credentials_never_survive_redaction() {
        assert_eq!(
            redact_url("https://user:s3cret@eureka.example:8761/eureka/v2"),
            "https://***@eureka.example:8761/eureka/v2"
        );
        assert_eq!(redact_url("http://a:b@c@h/x"), "http://***@h/x");
        assert_eq!(redact_url("http://h:8761/eureka"), "http://h:8761/eureka");
        // A password may hold / ? # unencoded: everything up to the last @ goes.
        assert_eq!(
            redact_url("http://alice:pa/ss@h/eureka"),
            "http://***@h/eureka"
        );
        assert_eq!(
            redact_url("http://alice:pa?ss@h/eureka"),
            "http://***@h/eureka"
        );
        assert_eq!(
            redact_url("http://alice:pa#ss@h/eureka"),
            "http://***@h/eureka"
        );
        assert_eq!(redact_url("user:pw@h/eureka"), "***@h/eureka");
    }

    #[test]
    fn interval_schedule_has_no_trailing_sleep() {
        let p = Pacing::Interval(Duration::from_millis(10));
        assert_eq!(p.due_nanos(0), 0);
        assert_eq!(p.due_nanos(1), 10_000_000);
        assert_eq!(p.due_nanos(99), 990_000_000);
    }

    #[test]
    fn rate_schedule_is_exact_and_does_not_drift() {
        let p = Pacing::Rate(5000.0);
        assert_eq!(p.due_nanos(1), 200_000);
        assert_eq!(p.due_nanos(5000), 1_000_000_000);
        assert_eq!(p.due_nanos(9_999), 1_999_800_000);
        let third = Pacing::Rate(3.0);
        assert_eq!(third.due_nanos(1), 333_333_333);
        assert_eq!(third.due_nanos(3_000_000), 1_000_000_000_000_000);
    }

    #[test]
    fn schedule_is_monotonic() {
        for p in [
            Pacing::Rate(7.3),
            Pacing::Rate(123_456.0),
            Pacing::Interval(Duration::from_micros(3)),
        ] {
            let mut last = 0;
            for i in 0..10_000 {
                let d = p.due_nanos(i);
                assert!(d >= last);
                last = d;
            }
        }
        assert!(Pacing::Interval(Duration::ZERO).is_unpaced());
        assert!(!Pacing::Rate(1.0).is_unpaced());
    }

    #[test]
    fn a_source_list_checks_every_single_address_and_samples_long_blocks() {
        let ip = |k: u32| IpAddr::from(std::net::Ipv4Addr::from(0x7f01_0000 + k));
        let mut list = SourceList::default();
        list.push_part((0..2048).map(ip), false);
        list.push_part([ip(5000)], true);
        list.push_part((3000..3010).map(ip), false);
        let check = list.to_check();
        assert_eq!(check.len(), 1 + 1024 + 1 + 10);
        assert!(check.contains(&ip(5000)) && check.contains(&ip(2047)));
        assert_eq!(SourceList::from(vec![ip(1), ip(2)]).to_check().len(), 2);
    }
}
