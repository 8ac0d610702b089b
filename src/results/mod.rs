//! The engine's results as plain data: states, counts, snapshots, per-connection events and the
//! final result of a run.
//!
//! Everything a reporter, an exporter (JSON, JUnit), a threshold check or a merge of runs from
//! many machines needs is here, with no sockets and no text. The engine produces these values;
//! the `report` module turns them into the Go-compatible lines; other formats plug in beside it. The
//! [`Observer`] trait, how a reporter watches a run as it happens, lives here too, so reporters
//! never import the engine.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::config::LoadConfig;

pub mod limit;
pub mod merge;
pub mod stats;

use stats::{ErrorTally, LatencyStats};

/// The state of one connection. Every connection is in exactly one state at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Not dialed yet.
    NotInitiated,
    /// `connect()` issued, handshake not finished.
    Dialing,
    /// Handshake finished and the far side has not closed.
    Established,
    /// Was established, then the far side closed it (EOF or reset).
    Closed,
    /// The dial failed or timed out.
    Error,
    /// This machine could not open it (no socket, no source address, no free local port):
    /// nothing reached the target. The Go status line counts it as NotInitiated.
    LocalError,
}

/// How many connections are in each state. The fields always add up to `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Connections the run was asked for.
    pub total: u64,
    /// Not dialed (yet, or ever, if the run was interrupted).
    pub not_initiated: u64,
    /// Handshake in progress.
    pub dialing: u64,
    /// Open.
    pub established: u64,
    /// Closed by the far side after being established.
    pub closed: u64,
    /// Failed to establish.
    pub error: u64,
    /// Could not be opened on this machine; never dialed.
    pub local_error: u64,
}

impl Counts {
    /// Adds `other`'s connections, state by state (runs or parts of one plan added up).
    pub fn add(&mut self, other: &Counts) {
        self.total += other.total;
        self.not_initiated += other.not_initiated;
        self.dialing += other.dialing;
        self.established += other.established;
        self.closed += other.closed;
        self.error += other.error;
        self.local_error += other.local_error;
    }

    /// All `total` connections not initiated.
    pub fn new(total: u64) -> Self {
        Counts {
            total,
            not_initiated: total,
            ..Counts::default()
        }
    }

    /// Moves one connection from state `from` to state `to`.
    #[inline]
    pub fn shift(&mut self, from: ConnState, to: ConnState) {
        *self.slot(from) -= 1;
        *self.slot(to) += 1;
    }

    #[inline]
    fn slot(&mut self, state: ConnState) -> &mut u64 {
        match state {
            ConnState::NotInitiated => &mut self.not_initiated,
            ConnState::Dialing => &mut self.dialing,
            ConnState::Established => &mut self.established,
            ConnState::Closed => &mut self.closed,
            ConnState::Error => &mut self.error,
            ConnState::LocalError => &mut self.local_error,
        }
    }

    /// Connections that were established at some point (Established + Closed).
    pub fn ever_established(&self) -> u64 {
        self.established + self.closed
    }

    /// Connections never dialed toward the target: not started, or not openable here. The Go
    /// status line's NotInitiated.
    pub fn not_dialed(&self) -> u64 {
        self.not_initiated + self.local_error
    }

    /// True when some connection was never dialed or is still dialing.
    pub fn pending(&self) -> bool {
        self.not_dialed() > 0 || self.dialing > 0
    }
}

/// The counts at one moment of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Time since the run started.
    pub at: Duration,
    /// Connections per state.
    pub counts: Counts,
    /// The highest number of simultaneously established connections so far (see
    /// [`RunResult::max_established`]).
    pub max_established: u64,
}

/// The connections by state over the run, for plots: a snapshot at most every `step`, taken
/// when the loop runs anyway (a quiet hold adds nothing: the last point holds until the end),
/// bounded in size: past [`Timeline::MAX_POINTS`] every other point is dropped and the step
/// doubles, so a day-long run keeps as many points as a minute-long one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The finest spacing of the points now.
    pub step: Duration,
    /// The points, in time order.
    pub points: Vec<Snapshot>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            step: Timeline::FIRST_STEP,
            points: Vec::new(),
        }
    }
}

impl Timeline {
    /// The spacing a run starts with.
    pub const FIRST_STEP: Duration = Duration::from_millis(50);
    /// The most points kept.
    pub const MAX_POINTS: usize = 2048;

    /// Whether a snapshot at `at` is due: the first, or one `step` after the last.
    pub fn due(&self, at: Duration) -> bool {
        self.points
            .last()
            .is_none_or(|last| at >= last.at + self.step)
    }

    /// Adds a snapshot (later than every point so far), thinning the points when full.
    pub fn push(&mut self, snapshot: Snapshot) {
        if self.points.len() >= Self::MAX_POINTS {
            let mut i = 0;
            // Keep the first point and every other one after it.
            self.points.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.step *= 2;
        }
        self.points.push(snapshot);
    }
}

/// Who ended an established connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// The far side closed it (a read of 0 bytes).
    Eof,
    /// A reset or another read error, with its OS error number.
    Reset(i32),
}

/// A closure's cause as the report groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// EOF: the far side closed (FIN).
    Fin,
    /// ECONNRESET or EPIPE: the far side reset it.
    Reset,
    /// ETIMEDOUT: keepalive or TCP_USER_TIMEOUT gave up on a path that stopped answering.
    TimedOut,
    /// Another OS error.
    Other,
}

impl CloseCause {
    /// The group this cause is reported in.
    pub fn kind(self) -> CloseKind {
        match self {
            CloseCause::Eof => CloseKind::Fin,
            CloseCause::Reset(e) if e == libc::ECONNRESET || e == libc::EPIPE => CloseKind::Reset,
            CloseCause::Reset(e) if e == libc::ETIMEDOUT => CloseKind::TimedOut,
            CloseCause::Reset(_) => CloseKind::Other,
        }
    }
}

/// A closure within this long of the establishment counts as "closed at once": the far side
/// rejected the connection (a connection limit, a 503) rather than holding it and timing out.
pub const CLOSED_AT_ONCE: Duration = Duration::from_millis(250);

/// Closures by the far side: by kind, with the lifetimes of the closed connections.
#[derive(Debug, Clone, Default)]
pub struct Closures {
    /// EOF (FIN).
    pub fin: LatencyStats,
    /// Reset.
    pub reset: LatencyStats,
    /// Timed out (keepalive, user timeout).
    pub timed_out: LatencyStats,
    /// Other errors, with their lifetimes.
    pub other: LatencyStats,
    /// Other errors by OS error.
    pub other_errors: ErrorTally,
    /// Lifetimes of every closed connection.
    pub lifetime: LatencyStats,
    /// Closed within [`CLOSED_AT_ONCE`] of being established.
    pub at_once: u64,
}

impl Closures {
    /// Records one closure after `lifetime`.
    pub fn record(&mut self, cause: CloseCause, lifetime: Duration) {
        self.lifetime.record(lifetime);
        match cause.kind() {
            CloseKind::Fin => self.fin.record(lifetime),
            CloseKind::Reset => self.reset.record(lifetime),
            CloseKind::TimedOut => self.timed_out.record(lifetime),
            CloseKind::Other => {
                self.other.record(lifetime);
                if let CloseCause::Reset(e) = cause {
                    self.other_errors.add(e);
                }
            }
        }
        if lifetime < CLOSED_AT_ONCE {
            self.at_once += 1;
        }
    }

    /// How many were closed.
    pub fn total(&self) -> u64 {
        self.lifetime.count()
    }
}

/// What the end-to-end checks found (`--send`, `--expect*`); all zero without them.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Connections whose check was asked for (every established one, with `--expect*`).
    pub checked: u64,
    /// Received what was expected in time.
    pub verified: u64,
    /// Received nothing (or too little) within `--expect-timeout`.
    pub silent: u64,
    /// Received other data.
    pub mismatched: u64,
    /// Closed by the far side before the expected data came.
    pub closed_first: u64,
    /// Still waiting when a signal ended the run: not judged.
    pub interrupted: u64,
    /// Up to [`MISMATCH_SAMPLES`] mismatches: what came instead.
    pub mismatch_samples: Vec<Mismatch>,
    /// Time from establishment to the first byte received, for every connection that received
    /// data.
    pub first_byte: LatencyStats,
}

/// What a connection received instead of the expected text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The first bytes received (at most [`MISMATCH_SAMPLE_BYTES`]).
    pub bytes: Vec<u8>,
    /// Only the start of the expected text came, then nothing more within `--expect-timeout`.
    pub incomplete: bool,
}

/// How many mismatching answers are kept to show, and how many of their bytes.
pub const MISMATCH_SAMPLES: usize = 3;
/// Bytes kept of each mismatching answer.
pub const MISMATCH_SAMPLE_BYTES: usize = 64;

/// What the end-of-hold probe found (`--probe-at-end`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// Connections still open and probed.
    pub probed: u64,
    /// Acknowledged the probe in time.
    pub alive: u64,
    /// Answered with a reset.
    pub reset: u64,
    /// No answer in time (or the kernel gave up: TCP_USER_TIMEOUT).
    pub no_answer: u64,
    /// Closed by the far side (FIN) while probed.
    pub closed: u64,
    /// Still unanswered when a signal ended the probe: not judged.
    pub interrupted: u64,
}

/// How the hold went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldOutcome {
    /// The hold asked for.
    pub asked: Duration,
    /// How long the connections were actually held.
    pub held: Duration,
    /// Why it ended.
    pub ended: HoldEnd,
    /// Connections still open when it ended (before any probe).
    pub open_at_end: u64,
}

/// Why a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    /// It lasted as long as asked.
    Full,
    /// Every connection had been closed by the far side.
    NothingLeft,
    /// A signal ended it.
    Interrupted,
}

/// Counts of one share of the connections: those of one source address (with several
/// `--source` addresses), or of one target (with several targets and `--spread`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShareCounts {
    /// Established at some point.
    pub established: u64,
    /// Closed by the far side.
    pub closed: u64,
    /// Of which within [`CLOSED_AT_ONCE`].
    pub closed_at_once: u64,
    /// Dials that failed (the target's errors).
    pub errors: u64,
    /// Could not be opened on this machine.
    pub local_errors: u64,
    /// Verified by `--expect*`.
    pub verified: u64,
}

/// The connections of one target of a `--spread` run.
#[derive(Debug, Clone)]
pub struct TargetShare {
    /// The address dialed.
    pub addr: SocketAddr,
    /// Its connections' counts.
    pub counts: ShareCounts,
    /// Its connect times.
    pub connect: LatencyStats,
}

impl TargetShare {
    /// Connections of this target still open at the end (established, not closed by the far
    /// side).
    pub fn held(&self) -> u64 {
        self.counts.established.saturating_sub(self.counts.closed)
    }
}

/// What happened to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `connect()` was issued to `target` (from `local`, when the tool bound it).
    Dialing {
        /// The destination.
        target: SocketAddr,
        /// The source address and port, if bound before `connect()`.
        local: Option<SocketAddr>,
    },
    /// The handshake finished after `connect_time`; the event's time is when the engine saw
    /// it, which can be later.
    Established {
        /// The handshake as the kernel saw it: its RTT sample of the SYN-ACK, or the time from
        /// `connect()` to the completion event when SYNs were sent again.
        connect_time: Duration,
        /// The SYN had to be sent again (`TCP_INFO`'s retransmits at completion).
        retransmitted: bool,
    },
    /// The far side closed the connection after it had been established for `lifetime`.
    Closed {
        /// Time since the handshake completed (`connect()` + `connect_time`), not since the
        /// engine saw it.
        lifetime: Duration,
        /// EOF or reset.
        cause: CloseCause,
    },
    /// The dial failed after `after` with OS error `errno` (`ETIMEDOUT` for a dial timeout).
    Error {
        /// Time from `connect()`.
        after: Duration,
        /// The OS error number.
        errno: i32,
    },
    /// The connection's `--expect*` check was decided: the expected data came `after` its
    /// establishment, or did not (nothing within `--expect-timeout`, or other data).
    Checked {
        /// Time since the handshake completed.
        after: Duration,
        /// What came.
        outcome: CheckOutcome,
    },
    /// This machine could not open the connection (socket, source address or local port):
    /// nothing was sent to the target.
    LocalError {
        /// The OS error number.
        errno: i32,
        /// The source address it was to leave from, if `--source` gave one.
        source: Option<std::net::IpAddr>,
    },
}

/// How a connection's `--expect*` check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The expected data (or, with `--expect-data`, any byte) came.
    Verified,
    /// Nothing came within `--expect-timeout`.
    Silent,
    /// Other data came (or the start of the expected text, then nothing).
    Mismatched,
}

/// One state change of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnEvent {
    /// The connection's number, from 0 in dial order.
    pub conn: u64,
    /// Time since the run started.
    pub at: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopReason {
    /// Every connection was dialed and settled (and held, if asked).
    #[default]
    Completed,
    /// A first SIGINT/SIGTERM: no new dials, the dialing ones were let finish.
    Interrupted,
    /// A second signal: the run ended at once, dialing connections left as they were.
    Aborted,
}

/// What a SIGINT or SIGTERM did, for the observer to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// The first one during the ramp: no new dials; the run ends once the `dialing` ones have
    /// finished or timed out (at once when there are none).
    StopDialing {
        /// Connections still dialing.
        dialing: u64,
    },
    /// The first one during the hold: the hold ends now (the probe, if asked, still runs).
    EndHold {
        /// How long the connections had been held.
        held: Duration,
        /// The hold asked for.
        hold: Duration,
    },
    /// The first one while waiting for `--expect` data after the dials (and the hold): the
    /// `pending` connections are left unjudged.
    EndChecks {
        /// Connections whose expected data had not come yet.
        pending: u64,
    },
    /// The first one (or the first after the hold) during the end-of-hold probe: the `pending`
    /// connections are left unjudged.
    EndProbe {
        /// How long the probe had waited.
        waited: Duration,
        /// `--probe-timeout`.
        timeout: Duration,
        /// Probes not yet acknowledged.
        pending: u64,
    },
    /// The second one: the run ends now, leaving `dialing` connections as they are.
    Abort {
        /// Connections still dialing.
        dialing: u64,
    },
}

/// How the dial phase went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ramp {
    /// Connections dialed (`connect()` issued or attempted).
    pub dialed: u64,
    /// When the first connection was dialed.
    pub first_dial: Duration,
    /// When the last connection was dialed.
    pub last_dial: Duration,
    /// When the last dial settled (established, failed or timed out) once no connection was
    /// left dialing or waiting to be dialed; `None` if that never happened or nothing settled.
    pub settled: Option<Duration>,
    /// For a paced run, the most any dial started after its scheduled time (loop latency, timer
    /// resolution, or the cap on connections dialing at once); `None` when every dial was due at
    /// once (`--sleep 0`).
    pub max_lag: Option<Duration>,
}

impl Ramp {
    /// Achieved dial rate in connections per second: the intervals between dials over the time
    /// they took, `(dialed - 1) / (last_dial - first_dial)`, the quantity `--rate` sets (1,000
    /// dials 1 ms apart span 999 ms: 1000.0/s). `None` for fewer than two dials or a
    /// zero-length ramp.
    pub fn rate(&self) -> Option<f64> {
        let span = self.last_dial.saturating_sub(self.first_dial).as_secs_f64();
        (self.dialed >= 2 && span > 0.0).then(|| (self.dialed - 1) as f64 / span)
    }
}

/// The target as the user named it: what reports call it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetName {
    /// The host as typed (brackets removed).
    pub host: String,
    /// The name the Go block uses: the host, or `host(ip)` when the dialed address differs.
    pub display: String,
    /// The TCP port.
    pub port: u16,
}

impl TargetName {
    /// How the report's lines name it: `display:port`, or `display` alone for the name of
    /// several targets (port 0, see [`TargetName::spread`]).
    pub fn label(&self) -> String {
        if self.port == 0 {
            self.display.clone()
        } else {
            format!("{}:{}", self.display, self.port)
        }
    }

    /// The name of a run spread over `names`: `N targets`, the hosts as typed listed in
    /// `host`.
    pub fn spread(names: &[TargetName]) -> TargetName {
        TargetName {
            host: names
                .iter()
                .map(TargetName::label)
                .collect::<Vec<_>>()
                .join(", "),
            display: format!("{} targets", names.len()),
            port: 0,
        }
    }
}

/// What a run measured and how: enough to name and reproduce it in any report, with no
/// configuration passed beside the result.
#[derive(Debug, Clone, PartialEq)]
pub struct RunIdentity {
    /// The tool's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// When the run started (wall clock).
    pub started_at: SystemTime,
    /// The target as named.
    pub target: TargetName,
    /// The addresses dialed.
    pub targets: Vec<SocketAddr>,
    /// The name of each of `targets`, in order, when the run spread its connections over
    /// several (`--spread`); empty otherwise (`target` names them all).
    pub names: Vec<TargetName>,
    /// The load asked for.
    pub load: LoadConfig,
}

impl Default for RunIdentity {
    /// This version, an unnamed target, the default load, started at the Unix epoch.
    fn default() -> Self {
        RunIdentity {
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: SystemTime::UNIX_EPOCH,
            target: TargetName::default(),
            targets: Vec::new(),
            names: Vec::new(),
            load: LoadConfig::default(),
        }
    }
}

/// Everything a finished run measured.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// What was measured, and how.
    pub identity: RunIdentity,
    /// Connections per state at the end, before the tool closed the established ones.
    pub counts: Counts,
    /// Peak of simultaneously established connections. The engine sees the network in
    /// batches (one poll); within a batch the order of events says nothing about the order in
    /// which they happened, so a batch is one moment: every connection established during it
    /// counts together with those closed during it. A far side that accepts a connection and
    /// then closes others held them all at once, and its handshakes complete before it can
    /// close anything, so this is the count the far side saw.
    pub max_established: u64,
    /// Connect times of the connections that got established.
    pub connect: LatencyStats,
    /// Time to error of the connections that failed.
    pub time_to_error: LatencyStats,
    /// Failures by OS error.
    pub errors: ErrorTally,
    /// Connections this machine could not open, by OS error (not the target's failures).
    pub local_errors: ErrorTally,
    /// How the dial phase went.
    pub ramp: Ramp,
    /// Closures by the far side, by cause, with lifetimes.
    pub closures: Closures,
    /// The end-to-end checks.
    pub verification: Verification,
    /// Established connections whose handshake needed SYN retransmits (TCP_INFO).
    pub retransmitted: u64,
    /// The hold, if one was asked for and reached.
    pub hold: Option<HoldOutcome>,
    /// The end-of-hold probe, if asked for and reached.
    pub probe: Option<ProbeOutcome>,
    /// Per source address that took part (a connection dialed or refused locally from it), when
    /// `--source` gave several, in its order.
    pub per_source: Vec<(std::net::IpAddr, ShareCounts)>,
    /// Per target, every one, in the plan's order, when the connections were spread over
    /// several (`--spread`); empty with one.
    pub per_target: Vec<TargetShare>,
    /// Wall time of the run, from the first status to the final close.
    pub elapsed: Duration,
    /// Why the run ended.
    pub stop: StopReason,
    /// The connections by state over the run.
    pub timeline: Timeline,
    /// `find-limit`'s answer (`None` for other runs).
    pub limit: Option<limit::Limit>,
}

impl RunResult {
    /// How reports name the `i`-th target of a spread run: its name as typed
    /// ([`TargetName::label`]), or its address.
    pub fn target_label(&self, i: usize) -> String {
        match (self.identity.names.get(i), self.per_target.get(i)) {
            (Some(name), _) => name.label(),
            (None, Some(share)) => share.addr.to_string(),
            (None, None) => format!("target {}", i + 1),
        }
    }
}

/// Receives what the engine sees. Every method has a default that ignores it.
pub trait Observer {
    /// A status snapshot: once at the start, then every report interval.
    fn status(&mut self, _snapshot: &Snapshot) {}
    /// A snapshot for a live display, at most every [`Timeline`] step while the loop runs
    /// (nothing while it sleeps through a quiet hold).
    fn progress(&mut self, _snapshot: &Snapshot) {}
    /// Whether [`event`](Self::event) should be called (checked once, at the start).
    fn wants_events(&self) -> bool {
        false
    }
    /// One connection changed state.
    fn event(&mut self, _event: &ConnEvent) {}
    /// Whether the run should dial no more connections (asked before each round of dials):
    /// what was dialed settles and is held for the hold, as if the plan had ended there.
    fn stop_dialing(&self) -> bool {
        false
    }
    /// Dialing stopped for good because [`stop_dialing`](Self::stop_dialing) said so: what
    /// was dialed settles, then the hold.
    fn dialing_stopped(&mut self, _snapshot: &Snapshot) {}
    /// When the loop should wake even with nothing else to do (time since the run's start),
    /// asked after each loop iteration; `None` for no wake-up of its own.
    fn wake_at(&self) -> Option<Duration> {
        None
    }
    /// A SIGINT or SIGTERM arrived, and this is what the run does about it.
    fn interrupted(&mut self, _snapshot: &Snapshot, _what: Interruption) {}
    /// End of one loop iteration: a good moment to flush buffered output.
    fn flush(&mut self) {}
}

/// An observer that ignores everything.
impl Observer for () {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_stays_bounded_and_keeps_its_ends() {
        let mut t = Timeline::default();
        let snap = |ms: u64| Snapshot {
            at: Duration::from_millis(ms),
            counts: Counts::new(1),
            max_established: 0,
        };
        assert!(t.due(Duration::ZERO));
        let mut at = 0;
        for _ in 0..10 * Timeline::MAX_POINTS {
            if t.due(Duration::from_millis(at)) {
                t.push(snap(at));
            }
            at += 10;
        }
        assert!(t.points.len() <= Timeline::MAX_POINTS);
        assert!(
            t.points.len() > Timeline::MAX_POINTS / 4,
            "{}",
            t.points.len()
        );
        assert_eq!(t.points[0].at, Duration::ZERO);
        assert!(t.points.windows(2).all(|w| w[0].at < w[1].at));
        assert!(t.step > Timeline::FIRST_STEP);
        // The last point is recent: within one step of the end.
        assert!(
            Duration::from_millis(at) - t.points.last().unwrap().at
                <= t.step + Duration::from_millis(10)
        );
    }

    #[test]
    fn counts_always_add_up() {
        let mut c = Counts::new(4);
        c.shift(ConnState::NotInitiated, ConnState::Dialing);
        c.shift(ConnState::Dialing, ConnState::Established);
        c.shift(ConnState::Established, ConnState::Closed);
        c.shift(ConnState::NotInitiated, ConnState::Dialing);
        c.shift(ConnState::Dialing, ConnState::Error);
        c.shift(ConnState::NotInitiated, ConnState::LocalError);
        let sum = c.not_initiated + c.dialing + c.established + c.closed + c.error + c.local_error;
        assert_eq!(sum, c.total);
        assert_eq!(c.ever_established(), 1);
        assert!(c.pending());
    }

    #[test]
    fn ramp_rate_counts_intervals() {
        let r = Ramp {
            dialed: 11,
            first_dial: Duration::ZERO,
            last_dial: Duration::from_secs(1),
            settled: None,
            max_lag: None,
        };
        assert_eq!(r.rate(), Some(10.0));
        assert_eq!(Ramp { dialed: 1, ..r }.rate(), None);
    }
}
