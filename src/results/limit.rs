//! `find-limit`'s judge: it follows every connection's events as the engine emits them, says
//! when the target has failed for good (so that the engine stops dialing), and at the end
//! answers how many connections the target held at once with every check passing, what failed
//! first and the evidence.
//!
//! It exists apart from the engine because the engine only counts and reports state changes;
//! deciding what a sequence of them means about the target is this module's one job, and it
//! is done from the events alone (no socket, no clock but the event times and one reading per
//! poll batch), so it is tested on event sequences written by hand: the races real targets
//! produce.
//!
//! The rules (docs/capacity-planning.md explains them to users):
//! - A connection *passes* when it is established without a watched failure (no SYN sent
//!   again, the connect-time p99 not over `--connect-p99`) and, with `--expect*`, verified. It
//!   stops passing when the far side closes it.
//! - A *failure* is the first watched signal of a connection: a dial error or timeout, a SYN
//!   sent again (seen at the handshake, or a dial still unanswered after the kernel's first
//!   retransmission timeout), a closure by the far side, a failed check, a connect while the
//!   p99 of the latest 100 is over the bound. A connection fails at most once.
//! - The *streak* is the number of failures of connections dialed after the newest connection
//!   that still passes (in dial order, not the order the failures are seen: a dropped SYN shows
//!   a second late). When it reaches `--sustained`, dialing stops. The failures of connections
//!   dialed before the newest passing one were forgiven (*blips*, said in the answer).
//! - A *rejection* is a connection closed within [`CLOSED_AT_ONCE`] and two round trips of
//!   its handshake while an older passing connection is still open when the run ends (a limit
//!   that accepts, then closes the newcomer: nginx's `limit_conn`), or reset while an older one
//!   is closed with a FIN in the same poll batch or later (a listener that closes resets the
//!   handshakes its queue held, which its program never accepted, and the program closes what
//!   it held). A rejected connection was never held. When the target drops everything (a
//!   collapse), all of one kind, nothing is a rejection, in whatever order and batches the
//!   closures came.
//! - The answer N is the most connections passing at once, counted per poll batch (a batch is
//!   one moment: a handshake and a closure in one batch overlap, whatever their order), and
//!   rejected connections never count.

use std::time::{Duration, Instant};

use super::{
    CheckOutcome, CloseKind, ConnEvent, EventKind, Interruption, Observer, Snapshot, CLOSED_AT_ONCE,
};
use crate::config::{LimitConfig, MaxFrom, Shard, StopOn, P99_WINDOW};

/// A dial still unanswered this long has had its SYN sent again (Linux's initial
/// retransmission timeout is one second).
pub const SYN_RETRANSMIT_AFTER: Duration = Duration::from_millis(1_010);

/// The first watched signal of a failing connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The dial failed with this OS error (refused, unreachable, reset).
    Error(i32),
    /// The dial timed out (`--dial-timeout`).
    Timeout,
    /// The SYN was sent again (the handshake needed it, or nothing answered for a second).
    Retransmit,
    /// The far side closed the connection.
    Closed,
    /// The far side closed it right after its handshake while older ones stayed open.
    Rejected,
    /// Nothing came within `--expect-timeout`.
    Silent,
    /// Other data came.
    Mismatched,
    /// Its connect time pushed the p99 of the latest ones over `--connect-p99`.
    Slow,
}

impl Signal {
    /// The signal's name in `--stop-on` and in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Error(_) => "error",
            Signal::Timeout => "timeout",
            Signal::Retransmit => "retransmit",
            Signal::Closed => "closed",
            Signal::Rejected => "rejected",
            Signal::Silent => "silent",
            Signal::Mismatched => "mismatched",
            Signal::Slow => "slow",
        }
    }

    /// The signal named `name` (with `errno` for `error`).
    pub fn from_name(name: &str, errno: i32) -> Option<Signal> {
        Some(match name {
            "error" => Signal::Error(errno),
            "timeout" => Signal::Timeout,
            "retransmit" => Signal::Retransmit,
            "closed" => Signal::Closed,
            "rejected" => Signal::Rejected,
            "silent" => Signal::Silent,
            "mismatched" => Signal::Mismatched,
            "slow" => Signal::Slow,
            _ => return None,
        })
    }
}

/// How the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Answer {
    /// The target failed for good: the answer is its limit.
    Found,
    /// Every connection up to `--max` was dialed without a sustained failure: the target held
    /// at least this many.
    #[default]
    AtMax,
    /// This machine could not open more connections (ports, addresses, files): at least.
    LocalLimit,
    /// A signal ended the search first: at least.
    Interrupted,
    /// The target closed the connections it held after a while (an idle timeout) before the
    /// search could go further (a `--step-hold` longer than it): at least.
    Evicted,
}

impl Answer {
    /// Its name in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Answer::Found => "found",
            Answer::AtMax => "at_max",
            Answer::LocalLimit => "local_limit",
            Answer::Interrupted => "interrupted",
            Answer::Evicted => "evicted",
        }
    }

    /// The answer named `name`.
    pub fn from_name(name: &str) -> Option<Answer> {
        Some(match name {
            "found" => Answer::Found,
            "at_max" => Answer::AtMax,
            "local_limit" => Answer::LocalLimit,
            "interrupted" => Answer::Interrupted,
            "evicted" => Answer::Evicted,
            _ => return None,
        })
    }
}

/// One failing connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The connection's number in the plan, from 1.
    pub conn: u64,
    /// What it showed first.
    pub signal: Signal,
    /// When it was seen, from the start of the run.
    pub at: Duration,
}

/// Failing connections by their first signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Dial errors.
    pub errors: u64,
    /// Dial timeouts.
    pub timeouts: u64,
    /// SYNs sent again.
    pub retransmits: u64,
    /// Closed by the far side (not rejections).
    pub closed: u64,
    /// Closed right after the handshake while older ones stayed open.
    pub rejected: u64,
    /// Nothing came within `--expect-timeout`.
    pub silent: u64,
    /// Other data came.
    pub mismatched: u64,
    /// Connect-time p99 over the bound.
    pub slow: u64,
    /// Of the retransmits, those whose dial then timed out.
    pub retransmits_timed_out: u64,
}

impl Tally {
    fn count(&mut self, signal: Signal) {
        *self.slot(signal) += 1;
    }

    fn slot(&mut self, signal: Signal) -> &mut u64 {
        match signal {
            Signal::Error(_) => &mut self.errors,
            Signal::Timeout => &mut self.timeouts,
            Signal::Retransmit => &mut self.retransmits,
            Signal::Closed => &mut self.closed,
            Signal::Rejected => &mut self.rejected,
            Signal::Silent => &mut self.silent,
            Signal::Mismatched => &mut self.mismatched,
            Signal::Slow => &mut self.slow,
        }
    }

    /// Both tallies.
    pub fn add(&mut self, o: &Tally) {
        self.errors += o.errors;
        self.timeouts += o.timeouts;
        self.retransmits += o.retransmits;
        self.closed += o.closed;
        self.rejected += o.rejected;
        self.silent += o.silent;
        self.mismatched += o.mismatched;
        self.slow += o.slow;
        self.retransmits_timed_out += o.retransmits_timed_out;
    }

    /// Every failing connection.
    pub fn total(&self) -> u64 {
        self.errors
            + self.timeouts
            + self.retransmits
            + self.closed
            + self.rejected
            + self.silent
            + self.mismatched
            + self.slow
    }
}

/// `find-limit`'s answer: plain data, in the run's result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Limit {
    /// Connections held at once with every check passing (rejected ones never count).
    pub held: u64,
    /// When that many were first held at once.
    pub held_at: Option<Duration>,
    /// How the search ended.
    pub answer: Answer,
    /// The first failure of the streak that stopped the search, as the answer names it: the
    /// first connection the target did not hold (its number and signal), or, when the target
    /// closed what it held, the next connection with the signal `closed`.
    pub first_failure: Option<Failure>,
    /// Whether the first failure is the target closing every connection it held (a collapse).
    pub collapse: bool,
    /// Whether the first failure is the target closing older connections it held while newer
    /// ones stayed open (an idle timeout, an eviction).
    pub evicted: bool,
    /// The newest connection counted as held (its number in the plan, from 1; 0 for none).
    pub last_held: u64,
    /// The failing connections from the stopping streak on, by signal.
    pub failures: Tally,
    /// Their dial errors by OS error number.
    pub error_reasons: Vec<(i32, u64)>,
    /// Of those, connections the target had held, then closed.
    pub held_then_closed: u64,
    /// The shortest and longest lifetimes of those.
    pub held_then_closed_lifetimes: Option<(Duration, Duration)>,
    /// Failures at the end that no pass followed, too few to stop the search (lower bounds).
    pub trailing: u64,
    /// The longest time from handshake to closure among the rejections.
    pub rejected_within: Option<Duration>,
    /// Failures a later passing connection forgave (before the stopping streak).
    pub blips: u64,
    /// The first of them.
    pub first_blip: Option<Failure>,
    /// When dialing stopped (the streak reached `--sustained`, or the local limit).
    pub dialing_stopped: Option<Duration>,
    /// The OS error of the first connection this machine could not open.
    pub local_errno: Option<i32>,
    /// `--max`, and where it came from.
    pub max: u64,
    /// Where `max` came from.
    pub max_from: Option<MaxFrom>,
    /// The rule: signals watched, streak length, p99 bound.
    pub stop_on: Option<StopOn>,
    /// `--sustained`.
    pub sustained: u32,
    /// `--connect-p99`.
    pub connect_p99: Option<Duration>,
    /// Whether `--expect*` checks were part of passing.
    pub checked: bool,
}

impl Limit {
    /// The limits of the parts of one plan (`--workers`, shards), as one: the held counts add
    /// up, the first failure is the earliest-numbered, the tallies add up.
    pub fn merge<'a>(parts: impl IntoIterator<Item = &'a Limit>) -> Option<Limit> {
        let parts: Vec<&Limit> = parts.into_iter().collect();
        let mut m = (*parts.first()?).clone();
        for p in &parts[1..] {
            m.held += p.held;
            m.held_at = m.held_at.max(p.held_at);
            m.answer = match (m.answer, p.answer) {
                (Answer::Found, _) | (_, Answer::Found) => Answer::Found,
                (Answer::LocalLimit, _) | (_, Answer::LocalLimit) => Answer::LocalLimit,
                (Answer::Evicted, _) | (_, Answer::Evicted) => Answer::Evicted,
                (Answer::Interrupted, _) | (_, Answer::Interrupted) => Answer::Interrupted,
                _ => Answer::AtMax,
            };
            m.failures.add(&p.failures);
            m.held_then_closed += p.held_then_closed;
            m.held_then_closed_lifetimes =
                match (m.held_then_closed_lifetimes, p.held_then_closed_lifetimes) {
                    (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                    (a, b) => a.or(b),
                };
            m.trailing += p.trailing;
            m.evicted |= p.evicted;
            for &(errno, n) in &p.error_reasons {
                match m.error_reasons.iter_mut().find(|(e, _)| *e == errno) {
                    Some(r) => r.1 += n,
                    None => m.error_reasons.push((errno, n)),
                }
            }
            m.rejected_within = m.rejected_within.max(p.rejected_within);
            m.blips += p.blips;
            if let Some(b) = p.first_blip {
                if m.first_blip.is_none_or(|mb| b.conn < mb.conn) {
                    m.first_blip = Some(b);
                }
            }
            m.dialing_stopped = match (m.dialing_stopped, p.dialing_stopped) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            m.local_errno = m.local_errno.or(p.local_errno);
        }
        // A part whose target closed what it held names the connection after its own last
        // held one: of those, the plan's next connection is the latest. A connection the
        // target did not hold names itself. The first of the two is the plan's.
        let last_held = parts.iter().map(|p| p.last_held).max().unwrap_or(0);
        m.last_held = last_held;
        let collapse = parts
            .iter()
            .filter(|p| p.collapse)
            .filter_map(|p| p.first_failure)
            .next()
            .map(|f| Failure {
                conn: last_held + 1,
                ..f
            });
        let other = parts
            .iter()
            .filter(|p| !p.collapse)
            .filter_map(|p| p.first_failure)
            .min_by_key(|f| f.conn);
        (m.first_failure, m.collapse) = match (collapse, other) {
            (Some(c), Some(o)) if c.conn < o.conn => (Some(c), true),
            (_, Some(o)) => (Some(o), false),
            (c, None) => (c, c.is_some()),
        };
        Some(m)
    }
}

// Per-connection flags.
const DIALING: u8 = 1;
const PASSED: u8 = 2;
const PASSING: u8 = 4;
const FAILED: u8 = 8;
const REJECTED: u8 = 16;
const CLOSED: u8 = 32;
/// Its SYN was sent again, then its dial timed out.
const TIMED_OUT: u8 = 64;
/// Closed by a reset rather than a FIN.
const RESET: u8 = 128;

/// What the finder keeps per connection: 24 bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    flags: u8,
    /// The poll batch in which it passed, and in which it closed.
    pass_batch: u32,
    close_batch: u32,
    /// While dialing: when it was dialed; once passed: when (ms from the start).
    ms: u32,
    /// Its connect time (µs), once established: about one round trip to the target.
    connect_us: u32,
    /// How long it lived (ms), once closed by the target.
    life_ms: u32,
}

/// A closure within [`CLOSED_AT_ONCE`] of the handshake: a rejection or not, judged at the
/// end (by what happened to the older connections after it).
#[derive(Debug, Clone, Copy)]
struct Closing {
    slot: u32,
    /// Its pass order; `u32::MAX` for one that never passed (closed before its check).
    rank: u32,
    /// Its entry in `failures`, when the closure counted as one.
    failure: Option<usize>,
    /// From its handshake to its closure.
    lifetime: Duration,
    /// Reset rather than closed with a FIN.
    reset: bool,
    /// The poll batch it was seen in.
    batch: u32,
}

/// Follows a run's events and decides when the target has failed for good. Feed it every
/// event (through [`Watching`]), then take the answer with [`LimitFinder::finish`].
#[derive(Debug)]
pub struct LimitFinder {
    config: LimitConfig,
    expects: bool,
    shard: Shard,
    /// By the shard's connection number, as far as dialed (they grow with the search, not
    /// with `--max`).
    slots: Vec<Slot>,
    /// The shard's connections: `slots` never grows past this.
    connections: usize,
    /// Rank (pass order) of each connection that passed, by slot; `u32::MAX` otherwise.
    ranks: Vec<u32>,
    /// Connections that passed so far: the next pass's rank.
    passes: u32,
    /// The newest connection (in dial order) that passes now: failures of connections dialed
    /// after it make the streak.
    newest: Option<u32>,
    failures: Vec<Failure>,
    /// The connections that failed, by slot: counted above `newest`.
    failed: std::collections::BTreeSet<u32>,
    /// When the streak reached `--sustained`: the newest passing connection then (the
    /// streak's failures are those dialed after it).
    streak: Option<Option<u32>>,
    /// Every closure at once, in the order seen.
    closing: Vec<Closing>,
    /// Dialed connections in dial order, for the ones still unanswered after a second.
    dialing: std::collections::VecDeque<u32>,
    batch: u32,
    start: Option<Instant>,
    /// The latest connect times and their connections, for `--connect-p99`.
    window: std::collections::VecDeque<(Duration, u32)>,
    slow_in_window: usize,
    /// The p99 of the window is over `--connect-p99` now.
    p99_over: bool,
    rejected_within: Option<Duration>,
    /// Connections dialed or refused locally so far.
    seen: usize,
    local_errno: Option<i32>,
    interrupted: bool,
    stopped_at: Option<Duration>,
    max: u64,
}

impl LimitFinder {
    /// A finder for the connections of `shard` (of a plan of `max`), with `expects` when
    /// `--expect*` checks decide passing.
    pub fn new(config: LimitConfig, expects: bool, shard: Shard, max: u64) -> LimitFinder {
        let n = usize::try_from(shard.connections()).unwrap_or(usize::MAX);
        LimitFinder {
            config,
            expects,
            shard,
            slots: Vec::new(),
            ranks: Vec::new(),
            connections: n,
            passes: 0,
            newest: None,
            failures: Vec::new(),
            failed: std::collections::BTreeSet::new(),
            streak: None,
            closing: Vec::new(),
            dialing: std::collections::VecDeque::new(),
            batch: 1,
            start: None,
            window: std::collections::VecDeque::with_capacity(P99_WINDOW),
            slow_in_window: 0,
            p99_over: false,
            rejected_within: None,
            seen: 0,
            local_errno: None,
            interrupted: false,
            stopped_at: None,
            max,
        }
    }

    /// True once the target has failed for good, or this machine cannot open more.
    pub fn done(&self) -> bool {
        self.stopped_at.is_some()
    }

    fn slot_of(&self, conn: u64) -> Option<usize> {
        let j = conn.checked_sub(self.shard.index)? / self.shard.count.max(1);
        usize::try_from(j).ok().filter(|&j| j < self.slots.len())
    }

    /// The slot of connection `conn` of the plan, made when first seen.
    fn slot_for(&mut self, conn: u64) -> Option<usize> {
        let j = conn.checked_sub(self.shard.index)? / self.shard.count.max(1);
        let j = usize::try_from(j).ok().filter(|&j| j < self.connections)?;
        if j >= self.slots.len() {
            self.slots.resize(j + 1, Slot::default());
            self.ranks.resize(j + 1, u32::MAX);
        }
        Some(j)
    }

    fn conn_of(&self, slot: usize) -> u64 {
        self.shard.global(slot as u64)
    }

    fn watches(&self, signal: Signal) -> bool {
        let bit = match signal {
            Signal::Error(_) => StopOn::ERROR,
            Signal::Timeout => StopOn::TIMEOUT,
            Signal::Retransmit => StopOn::RETRANSMIT,
            Signal::Closed | Signal::Rejected => StopOn::CLOSED,
            Signal::Silent | Signal::Mismatched => StopOn::CHECK,
            Signal::Slow => StopOn::SLOW,
        };
        self.config.stop_on.has(bit)
    }

    /// Connection in `slot` passes now.
    fn pass(&mut self, slot: usize, at: Duration) {
        let s = &mut self.slots[slot];
        if s.flags & (FAILED | CLOSED | PASSED) != 0 {
            return;
        }
        s.flags |= PASSED | PASSING;
        s.pass_batch = self.batch;
        s.ms = u32::try_from(at.as_millis()).unwrap_or(u32::MAX);
        self.ranks[slot] = self.passes;
        self.passes += 1;
        if self.newest.is_none_or(|n| slot as u32 > n) {
            self.newest = Some(slot as u32);
        }
    }

    /// Connection in `slot` stops passing (closed, or failed by the p99 after it passed).
    fn unpass(&mut self, slot: usize, at: Duration) {
        self.slots[slot].flags &= !PASSING;
        if self.newest == Some(slot as u32) {
            // The newest passing is now an older one: failures of the connections between
            // them are no longer forgiven.
            let mut n = slot;
            self.newest = loop {
                if n == 0 {
                    break None;
                }
                n -= 1;
                if self.slots[n].flags & PASSING != 0 {
                    break Some(n as u32);
                }
            };
            self.check_streak(at);
        }
    }

    /// Failures of connections dialed after the newest passing one (at most what the rule
    /// needs: `--sustained`).
    fn streak_now(&self) -> usize {
        let from = self.newest.map_or(0, |n| n + 1);
        self.failed
            .range(from..)
            .take(self.config.sustained as usize)
            .count()
    }

    /// Stops the search when the streak reached `--sustained`.
    fn check_streak(&mut self, at: Duration) {
        if self.streak.is_none() && self.streak_now() >= self.config.sustained as usize {
            self.streak = Some(self.newest);
            self.stopped_at.get_or_insert(at);
        }
    }

    /// Connection in `slot` fails with `signal` (if watched, and if it had not failed yet).
    /// Returns its entry in `failures`.
    fn failure(&mut self, slot: usize, signal: Signal, at: Duration) -> Option<usize> {
        if !self.watches(signal) || self.slots[slot].flags & FAILED != 0 {
            return None;
        }
        self.slots[slot].flags |= FAILED;
        let pos = self.failures.len();
        self.failures.push(Failure {
            conn: self.conn_of(slot) + 1,
            signal,
            at,
        });
        self.failed.insert(slot as u32);
        self.check_streak(at);
        Some(pos)
    }

    fn on_event(&mut self, e: &ConnEvent) {
        let Some(slot) = self.slot_for(e.conn) else {
            return;
        };
        match e.kind {
            EventKind::Dialing { .. } => {
                self.seen += 1;
                let s = &mut self.slots[slot];
                s.flags |= DIALING;
                s.ms = u32::try_from(e.at.as_millis()).unwrap_or(u32::MAX);
                self.dialing.push_back(slot as u32);
            }
            EventKind::Established {
                connect_time,
                retransmitted,
            } => {
                let s = &mut self.slots[slot];
                s.flags &= !DIALING;
                s.connect_us = u32::try_from(connect_time.as_micros()).unwrap_or(u32::MAX);
                if retransmitted {
                    self.failure(slot, Signal::Retransmit, e.at);
                }
                if self.slow(slot, connect_time, e.at) {
                    self.failure(slot, Signal::Slow, e.at);
                }
                if !self.expects {
                    self.pass(slot, e.at);
                }
            }
            EventKind::Checked { outcome, .. } => match outcome {
                CheckOutcome::Verified => self.pass(slot, e.at),
                CheckOutcome::Silent => {
                    self.failure(slot, Signal::Silent, e.at);
                }
                CheckOutcome::Mismatched => {
                    self.failure(slot, Signal::Mismatched, e.at);
                }
            },
            EventKind::Closed { lifetime, cause } => {
                let reset = cause.kind() == CloseKind::Reset;
                let s = &mut self.slots[slot];
                let was_passing = s.flags & PASSING != 0;
                s.flags = (s.flags & !DIALING) | CLOSED;
                if reset {
                    s.flags |= RESET;
                }
                s.close_batch = self.batch;
                s.life_ms = u32::try_from(lifetime.as_millis()).unwrap_or(u32::MAX);
                // At once: within [`CLOSED_AT_ONCE`] and two round trips (the target's FIN of
                // a newcomer comes about one round trip after the handshake completed here).
                let at_once = CLOSED_AT_ONCE + Duration::from_micros(2 * u64::from(s.connect_us));
                let failure = self.failure(slot, Signal::Closed, e.at);
                if was_passing {
                    self.unpass(slot, e.at);
                }
                if lifetime < at_once {
                    self.closing.push(Closing {
                        slot: slot as u32,
                        rank: if was_passing {
                            self.ranks[slot]
                        } else {
                            u32::MAX
                        },
                        failure,
                        lifetime,
                        reset,
                        batch: self.batch,
                    });
                }
            }
            EventKind::Error { errno, .. } => {
                let s = &mut self.slots[slot];
                let unanswered = s.flags & FAILED != 0;
                s.flags &= !DIALING;
                let timeout = errno == libc::ETIMEDOUT;
                if timeout && unanswered {
                    s.flags |= TIMED_OUT;
                }
                let signal = if timeout {
                    Signal::Timeout
                } else {
                    Signal::Error(errno)
                };
                self.failure(slot, signal, e.at);
            }
            EventKind::LocalError { errno, .. } => {
                // It may follow its own `Dialing` (the poll could not take the socket).
                if self.slots[slot].flags & DIALING == 0 {
                    self.seen += 1;
                }
                self.slots[slot].flags &= !DIALING;
                self.local_errno.get_or_insert(errno);
                self.stopped_at.get_or_insert(e.at);
            }
        }
    }

    /// Records `connect_time` of the connection in `slot` in the window; true while the p99
    /// of the window is over the bound. Judged once the window is full (100 connect times).
    /// When it first goes over, every connection of the window over the bound fails too
    /// (those that passed stop passing): a target slow from the start holds none.
    fn slow(&mut self, slot: usize, connect_time: Duration, at: Duration) -> bool {
        let Some(bound) = self.config.connect_p99 else {
            return false;
        };
        if self.window.len() == P99_WINDOW
            && self.window.pop_front().is_some_and(|(t, _)| t > bound)
        {
            self.slow_in_window -= 1;
        }
        self.window.push_back((connect_time, slot as u32));
        if connect_time > bound {
            self.slow_in_window += 1;
        }
        if self.window.len() < P99_WINDOW {
            return false;
        }
        // The nearest-rank p99 of 100 samples is over the bound when two of them are.
        let over = self.slow_in_window > P99_WINDOW - (P99_WINDOW * 99).div_ceil(100);
        if over && !self.p99_over {
            let slow: Vec<u32> = self
                .window
                .iter()
                .filter(|(t, _)| *t > bound)
                .map(|&(_, s)| s)
                .collect();
            for s in slow {
                let s = s as usize;
                let was_passing = self.slots[s].flags & PASSING != 0;
                self.slots[s].flags &= !PASSED;
                self.failure(s, Signal::Slow, at);
                if was_passing {
                    self.unpass(s, at);
                }
            }
        }
        self.p99_over = over;
        over
    }

    /// When the oldest dial still unanswered will have been so for a second (from the start
    /// of the run): the loop should wake then, even with nothing else to do.
    pub fn wake_at(&self) -> Option<Duration> {
        self.dialing
            .iter()
            .map(|&s| self.slots[s as usize])
            .find(|s| s.flags & DIALING != 0)
            .map(|s| Duration::from_millis(u64::from(s.ms)) + SYN_RETRANSMIT_AFTER)
    }

    /// The end of one poll batch: dials unanswered for a second count as retransmits.
    fn end_batch(&mut self) {
        if let Some(start) = self.start {
            let now = start.elapsed();
            while let Some(&front) = self.dialing.front() {
                let s = self.slots[front as usize];
                if s.flags & DIALING == 0 {
                    self.dialing.pop_front();
                    continue;
                }
                if u128::from(s.ms) + SYN_RETRANSMIT_AFTER.as_millis() > now.as_millis() {
                    break;
                }
                self.dialing.pop_front();
                self.failure(front as usize, Signal::Retransmit, now);
            }
        }
        self.batch += 1;
    }

    /// Marks the rejections among the closures at once: connections closed right after their
    /// handshake while an older passing connection was still open when the run ended (a limit
    /// that turns newcomers away), or reset while an older one was closed with a FIN in the
    /// same batch or later (a listener that closes resets what its queue held, which its
    /// program never accepted; the program closes what it held). When the target dropped every
    /// connection, all of one kind, none of its closures was a rejection, whatever order its
    /// closures reached the loop in (several poll batches, newest first).
    fn judge_closures(&mut self) {
        let oldest_open = (0..self.slots.len())
            .filter(|&i| self.slots[i].flags & PASSING != 0)
            .map(|i| self.ranks[i])
            .min();
        // FIN closures of passing connections by batch, and the oldest of those at each batch
        // or later.
        let mut fins: Vec<(u32, u32)> = (0..self.slots.len())
            .filter(|&i| {
                let f = self.slots[i].flags;
                f & PASSED != 0 && f & CLOSED != 0 && f & RESET == 0
            })
            .map(|i| (self.slots[i].close_batch, self.ranks[i]))
            .collect();
        fins.sort_unstable();
        let mut oldest_from = vec![u32::MAX; fins.len() + 1];
        for k in (0..fins.len()).rev() {
            oldest_from[k] = oldest_from[k + 1].min(fins[k].1);
        }
        for c in std::mem::take(&mut self.closing) {
            let older_open = oldest_open.is_some_and(|o| o < c.rank);
            let later_fin = || {
                let k = fins.partition_point(|&(batch, _)| batch < c.batch);
                oldest_from[k] < c.rank
            };
            if older_open || (c.reset && later_fin()) {
                self.slots[c.slot as usize].flags |= REJECTED;
                self.rejected_within = self.rejected_within.max(Some(c.lifetime));
                if let Some(pos) = c.failure {
                    self.failures[pos].signal = Signal::Rejected;
                }
            }
        }
    }

    /// The answer, once the run is over.
    pub fn finish(mut self) -> Limit {
        self.end_batch();
        self.judge_closures();
        // The most connections passing at once: +1 at a pass, -1 after the batch of its
        // closure; rejections never count.
        let mut steps: Vec<(u32, i8, u32)> = Vec::new();
        let mut counted_max_conn: Option<u64> = None;
        for (i, s) in self.slots.iter().enumerate() {
            if s.flags & PASSED == 0 || s.flags & REJECTED != 0 {
                continue;
            }
            steps.push((s.pass_batch, 1, s.ms));
            if s.flags & CLOSED != 0 {
                steps.push((s.close_batch + 1, -1, 0));
            }
            counted_max_conn = Some(self.shard.global(i as u64));
        }
        steps.sort_unstable_by_key(|&(b, d, _)| (b, d));
        let (mut held, mut best, mut best_at) = (0i64, 0i64, None);
        let mut k = 0;
        while k < steps.len() {
            let batch = steps[k].0;
            let mut latest = 0;
            while k < steps.len() && steps[k].0 == batch {
                held += i64::from(steps[k].1);
                latest = latest.max(steps[k].2);
                k += 1;
            }
            if held > best {
                best = held;
                best_at = Some(Duration::from_millis(u64::from(latest)));
            }
        }
        let slots = &self.slots;
        let counted = |i: usize| slots[i].flags & PASSED != 0 && slots[i].flags & REJECTED == 0;
        let held_by_target = |f: &Failure| self.slot_of(f.conn - 1).is_some_and(counted);
        let open_at_end = (0..slots.len()).any(|i| counted(i) && slots[i].flags & CLOSED == 0);
        let mut tally = Tally::default();
        let mut errnos: std::collections::BTreeMap<i32, u64> = std::collections::BTreeMap::new();
        let mut lifetimes: Option<(u32, u32)> = None;
        let (mut first_failure, mut collapse, mut evicted, mut held_then_closed) =
            (None, false, false, 0);
        // The streak: failures of connections dialed after the newest passing one (when the
        // search stopped, or at the end); the failures before it were forgiven.
        // Failures of connections that stopped passing after the search stopped were not
        // forgiven either: the newest still passing at the end bounds the streak too.
        let after = match self.streak {
            Some(after) => after.min(self.newest),
            None => self.newest,
        };
        let (mut streak, mut forgiven): (Vec<Failure>, Vec<Failure>) =
            self.failures.iter().partition(|f| {
                let i = self.slot_of(f.conn - 1).unwrap_or(0) as u32;
                after.is_none_or(|a| i > a)
            });
        // A streak made only of connections the target held and closed after about the same
        // lifetime, one after another as they had come (their closures spread over much longer
        // than their lifetimes differ), is an idle timeout, not a limit: the newer
        // connections it kept taking forgave the older ones' closures until dialing ended.
        let mut found = self.streak.is_some();
        if found && streak.iter().all(held_by_target) && streak.len() >= 2 {
            let span = |v: &mut dyn Iterator<Item = u64>| {
                let (lo, hi) = v.fold((u64::MAX, 0), |(lo, hi), x| (lo.min(x), hi.max(x)));
                hi.saturating_sub(lo)
            };
            let closing = span(&mut streak.iter().map(|f| f.at.as_millis() as u64));
            let lives = span(&mut streak.iter().filter_map(|f| {
                self.slot_of(f.conn - 1)
                    .map(|i| u64::from(slots[i].life_ms))
            }));
            // With a margin: a collapse right after one burst of dials has lifetimes and
            // closures of a few milliseconds each.
            if closing > 2 * lives + 10 {
                found = false;
                evicted = true;
                for f in &streak {
                    if let Some(i) = self.slot_of(f.conn - 1) {
                        held_then_closed += 1;
                        let life = slots[i].life_ms;
                        lifetimes = Some(
                            lifetimes.map_or((life, life), |(lo, hi)| (lo.min(life), hi.max(life))),
                        );
                    }
                }
                forgiven.append(&mut streak);
            }
        }
        let trailing = if found {
            for f in &streak {
                tally.count(f.signal);
                let slot = self.slot_of(f.conn - 1);
                match f.signal {
                    Signal::Error(errno) => *errnos.entry(errno).or_default() += 1,
                    Signal::Retransmit if slot.is_some_and(|i| slots[i].flags & TIMED_OUT != 0) => {
                        tally.retransmits_timed_out += 1;
                    }
                    Signal::Closed if slot.is_some_and(counted) => {
                        held_then_closed += 1;
                        let life = slots[slot.expect("counted")].life_ms;
                        lifetimes = Some(
                            lifetimes.map_or((life, life), |(lo, hi)| (lo.min(life), hi.max(life))),
                        );
                    }
                    _ => {}
                }
            }
            let not_held = streak
                .iter()
                .filter(|f| !held_by_target(f))
                .min_by_key(|f| f.conn);
            first_failure = match not_held {
                // The target closed every connection it held (none is open at the end): it
                // dropped everything, whatever it refused or reset besides.
                _ if !open_at_end && held_then_closed > 0 => {
                    collapse = true;
                    streak.iter().min_by_key(|f| f.at).map(|f| Failure {
                        conn: counted_max_conn.map_or(1, |c| c + 2),
                        signal: Signal::Closed,
                        at: f.at,
                    })
                }
                Some(f) => Some(*f),
                // Every failure of the streak is a connection the target held, closed, while
                // others stay open (an idle timeout, an eviction).
                None => {
                    evicted = true;
                    streak.iter().min_by_key(|f| f.conn).copied()
                }
            };
            0
        } else {
            streak.len()
        };
        let (blips, first_blip) = (
            forgiven.len() as u64,
            forgiven.iter().min_by_key(|f| f.conn).copied(),
        );
        let answer = if found {
            Answer::Found
        } else if evicted && self.seen < self.connections {
            Answer::Evicted
        } else if self.local_errno.is_some() {
            Answer::LocalLimit
        } else if self.interrupted {
            Answer::Interrupted
        } else {
            Answer::AtMax
        };
        Limit {
            held: best.max(0) as u64,
            held_at: best_at,
            answer,
            first_failure,
            collapse,
            evicted,
            last_held: counted_max_conn.map_or(0, |c| c + 1),
            failures: tally,
            error_reasons: errnos.into_iter().collect(),
            held_then_closed,
            held_then_closed_lifetimes: lifetimes.map(|(lo, hi)| {
                (
                    Duration::from_millis(u64::from(lo)),
                    Duration::from_millis(u64::from(hi)),
                )
            }),
            trailing: trailing as u64,
            rejected_within: self.rejected_within,
            blips,
            first_blip,
            dialing_stopped: self.stopped_at,
            local_errno: self.local_errno,
            max: self.max,
            max_from: Some(self.config.max_from),
            stop_on: Some(self.config.stop_on),
            sustained: self.config.sustained,
            connect_p99: self.config.connect_p99,
            checked: self.expects,
        }
    }
}

/// An observer that feeds a [`LimitFinder`] and passes everything on to `inner` (the text
/// reporter): what `find-limit` hands the engine.
pub struct Watching<'a> {
    inner: &'a mut dyn Observer,
    finder: &'a mut LimitFinder,
    /// Whether `inner` takes events, asked once (as the engine asks its observer).
    inner_events: bool,
}

impl<'a> Watching<'a> {
    /// `finder` watching beside `inner`, the observer the run would have had.
    pub fn new(inner: &'a mut dyn Observer, finder: &'a mut LimitFinder) -> Watching<'a> {
        let inner_events = inner.wants_events();
        Watching {
            inner,
            finder,
            inner_events,
        }
    }
}

impl std::fmt::Debug for Watching<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watching")
            .field("finder", &self.finder)
            .finish_non_exhaustive()
    }
}

impl Observer for Watching<'_> {
    fn status(&mut self, snapshot: &Snapshot) {
        self.finder
            .start
            .get_or_insert_with(|| Instant::now() - snapshot.at);
        self.inner.status(snapshot);
    }
    fn progress(&mut self, snapshot: &Snapshot) {
        self.inner.progress(snapshot);
    }
    fn wants_events(&self) -> bool {
        true
    }
    fn event(&mut self, event: &ConnEvent) {
        self.finder.on_event(event);
        if self.inner_events {
            self.inner.event(event);
        }
    }
    fn stop_dialing(&self) -> bool {
        // Its own answer, or the word of whoever it reports to (the other workers' answer).
        self.finder.done() || self.inner.stop_dialing()
    }
    fn wake_at(&self) -> Option<Duration> {
        self.finder.wake_at()
    }
    fn dialing_stopped(&mut self, snapshot: &Snapshot) {
        self.inner.dialing_stopped(snapshot);
    }
    fn interrupted(&mut self, snapshot: &Snapshot, what: Interruption) {
        // After the last dial up to --max, a signal only cuts the settle short: the search
        // had reached --max.
        if self.finder.seen < self.finder.connections {
            self.finder.interrupted = true;
        }
        self.inner.interrupted(snapshot, what);
    }
    fn flush(&mut self) {
        self.finder.end_batch();
        self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::CloseCause;

    const K: u64 = 50;

    /// Feeds a finder batch by batch: each batch is a list of events, then a flush.
    struct Feed {
        finder: LimitFinder,
        at_ms: u64,
    }

    impl Feed {
        fn new(expects: bool, max: u64) -> Feed {
            Feed::with(expects, max, StopOn::ALL, 3)
        }

        fn with(expects: bool, max: u64, stop_on: StopOn, sustained: u32) -> Feed {
            let config = LimitConfig {
                stop_on,
                sustained,
                connect_p99: None,
                max_from: MaxFrom::Flag,
            };
            Feed {
                finder: LimitFinder::new(config, expects, Shard::whole(max), max),
                at_ms: 0,
            }
        }

        fn batch(&mut self, events: &[(u64, EventKind)]) {
            self.at_ms += 2;
            for &(conn, kind) in events {
                self.finder.on_event(&ConnEvent {
                    conn,
                    at: Duration::from_millis(self.at_ms),
                    kind,
                });
            }
            self.finder.end_batch();
        }

        fn dial(&mut self, conns: std::ops::Range<u64>) {
            let events: Vec<_> = conns.map(|i| (i, dialing())).collect();
            self.batch(&events);
        }
    }

    fn dialing() -> EventKind {
        EventKind::Dialing {
            target: "127.0.0.1:1".parse().unwrap(),
            local: None,
        }
    }

    fn up() -> EventKind {
        EventKind::Established {
            connect_time: Duration::from_micros(20),
            retransmitted: false,
        }
    }

    fn fin(lifetime_us: u64) -> EventKind {
        EventKind::Closed {
            lifetime: Duration::from_micros(lifetime_us),
            cause: CloseCause::Eof,
        }
    }

    fn reset(lifetime_us: u64) -> EventKind {
        EventKind::Closed {
            lifetime: Duration::from_micros(lifetime_us),
            cause: CloseCause::Reset(libc::ECONNRESET),
        }
    }

    fn checked(outcome: CheckOutcome) -> EventKind {
        EventKind::Checked {
            after: Duration::from_millis(1),
            outcome,
        }
    }

    fn refused() -> EventKind {
        EventKind::Error {
            after: Duration::from_micros(10),
            errno: libc::ECONNREFUSED,
        }
    }

    /// Connections `0..n` dialed and established, one batch each.
    fn hold(f: &mut Feed, n: u64) {
        for i in 0..n {
            f.batch(&[(i, dialing()), (i, up())]);
        }
    }

    #[test]
    fn a_limit_that_closes_each_newcomer_at_once_is_its_limit() {
        // nginx's limit_conn: K held, then each newcomer established and closed with a FIN
        // some hundred microseconds later, in its own batch or in the batch of its handshake.
        for same_batch in [false, true] {
            let mut f = Feed::new(false, 1000);
            hold(&mut f, K);
            for i in K..K + 3 {
                if same_batch {
                    f.batch(&[(i, dialing()), (i, up()), (i, fin(200))]);
                } else {
                    f.batch(&[(i, dialing()), (i, up())]);
                    f.batch(&[(i, fin(200))]);
                }
                assert_eq!(f.finder.done(), i == K + 2, "after {i}");
            }
            let l = f.finder.finish();
            assert_eq!(l.held, K, "same batch: {same_batch}");
            assert_eq!(l.answer, Answer::Found);
            let first = l.first_failure.unwrap();
            assert_eq!((first.conn, first.signal), (K + 1, Signal::Rejected));
            assert!(!l.collapse);
            assert_eq!(l.failures.rejected, 3);
            assert_eq!(l.rejected_within, Some(Duration::from_micros(200)));
            assert_eq!(l.blips, 0);
        }
    }

    #[test]
    fn a_target_that_closes_everything_held_it_all() {
        // `server -m K`: the K-th handshake reaches us in the batch of the first FINs (of the
        // oldest connections), the other FINs in the next batches, oldest first.
        let mut f = Feed::new(false, 1000);
        hold(&mut f, K - 1);
        let mut first: Vec<(u64, EventKind)> = vec![(K - 1, dialing())];
        first.extend((0..10).map(|i| (i, fin(90_000))));
        first.push((K - 1, up()));
        f.batch(&first);
        // The newest still passes: the oldest closing could be an idle timeout.
        assert!(!f.finder.done());
        let rest: Vec<(u64, EventKind)> = (10..K).map(|i| (i, fin(50_000))).collect();
        f.batch(&rest[..20]);
        f.batch(&rest[20..]);
        assert!(f.finder.done(), "none passes any more");
        f.dial(K..K + 3);
        f.batch(&[(K, refused()), (K + 1, refused()), (K + 2, refused())]);
        let l = f.finder.finish();
        assert_eq!(l.held, K);
        assert!(l.collapse);
        let first = l.first_failure.unwrap();
        assert_eq!((first.conn, first.signal), (K + 1, Signal::Closed));
        assert_eq!(l.failures.closed, K);
        assert_eq!(l.failures.errors, 3);
        assert_eq!(l.held_then_closed, K);
    }

    #[test]
    fn a_handshake_reset_by_a_closing_listener_was_never_held() {
        // The built-in server closes its listener before its connections: a handshake the
        // kernel completed in its queue is reset first (here in the batch of the oldest FINs),
        // then the held ones are closed.
        let mut f = Feed::new(false, 1000);
        hold(&mut f, K);
        f.batch(&[(K, dialing()), (K, up())]);
        let mut batch = vec![(K, reset(30))];
        batch.extend((0..5).map(|i| (i, fin(100_000))));
        f.batch(&batch);
        let rest: Vec<(u64, EventKind)> = (5..K).map(|i| (i, fin(100_000))).collect();
        f.batch(&rest);
        let l = f.finder.finish();
        assert_eq!(l.held, K);
        assert_eq!(l.first_failure.unwrap().conn, K + 1);
        assert_eq!(l.failures.rejected, 1);
    }

    #[test]
    fn handshakes_reset_in_the_batch_of_every_fin_were_never_held() {
        // A step dials 20 at once; the server accepts up to K, closes its listener (resetting
        // the 10 handshakes its queue held) and its K connections, all seen in one batch.
        let mut f = Feed::new(false, 1000);
        hold(&mut f, K - 10);
        let step: Vec<(u64, EventKind)> = (K - 10..K + 10)
            .flat_map(|i| [(i, dialing()), (i, up())])
            .collect();
        f.batch(&step);
        let mut batch: Vec<(u64, EventKind)> = (K..K + 10).map(|i| (i, reset(300))).collect();
        batch.extend((0..K).map(|i| (i, fin(80_000))));
        f.batch(&batch);
        let l = f.finder.finish();
        assert_eq!(l.held, K);
        assert_eq!(l.failures.rejected, 10);
        assert_eq!(l.first_failure.unwrap().conn, K + 1);
        // A target that resets everything it held at once (SO_LINGER 0) rejected nothing.
        let mut f = Feed::new(false, 1000);
        hold(&mut f, K);
        let all: Vec<(u64, EventKind)> = (0..K).map(|i| (i, reset(90_000))).collect();
        f.batch(&all);
        let l = f.finder.finish();
        assert_eq!((l.held, l.failures.rejected, l.collapse), (K, 0, true));
    }

    #[test]
    fn a_collapse_seen_newest_first_over_several_batches_held_everything() {
        // A step of 20 more: the target accepts 10 of them and drops all it held. The newest
        // ten's readiness was already queued (their handshakes), so their FINs come first, and
        // the loop sees the older ones' FINs over two more batches (a poll returns at most
        // 1,024 events): at no moment were the newest closed while an older one stayed.
        let mut f = Feed::new(false, 1000);
        hold(&mut f, K - 10);
        let mut step: Vec<(u64, EventKind)> = (K - 10..K)
            .flat_map(|i| [(i, dialing()), (i, up()), (i, fin(3_000))])
            .collect();
        step.extend((0..15).map(|i| (i, fin(900_000))));
        f.batch(&step);
        let rest: Vec<(u64, EventKind)> = (15..K - 10).map(|i| (i, fin(900_000))).collect();
        f.batch(&rest[..10]);
        f.batch(&rest[10..]);
        f.dial(K..K + 10);
        let refused: Vec<(u64, EventKind)> = (K..K + 10).map(|i| (i, refused())).collect();
        f.batch(&refused);
        let l = f.finder.finish();
        assert_eq!(l.held, K);
        assert_eq!(l.failures.rejected, 0);
        // The first connection it did not hold: the plan's next, refused.
        assert_eq!(l.first_failure.unwrap().conn, K + 1);
    }

    #[test]
    fn queued_connections_are_held_only_when_verified() {
        // HAProxy's frontend maxconn: K verified; the rest established, silent after
        // --expect-timeout; all still open.
        let mut f = Feed::new(true, 1000);
        for i in 0..K + 30 {
            f.batch(&[(i, dialing()), (i, up())]);
            if i < K {
                f.batch(&[(i, checked(CheckOutcome::Verified))]);
            }
        }
        assert!(!f.finder.done(), "established is not a failure, nor a pass");
        for i in K..K + 30 {
            f.batch(&[(i, checked(CheckOutcome::Silent))]);
            assert_eq!(f.finder.done(), i >= K + 2);
        }
        let l = f.finder.finish();
        assert_eq!(l.held, K);
        let first = l.first_failure.unwrap();
        assert_eq!((first.conn, first.signal), (K + 1, Signal::Silent));
        assert_eq!(l.failures.silent, 30);
    }

    #[test]
    fn a_lone_failure_is_forgiven_by_a_pass_that_stays() {
        let mut f = Feed::new(false, 1000);
        hold(&mut f, 10);
        f.batch(&[(10, dialing()), (10, refused())]);
        f.batch(&[(11, dialing()), (11, up())]);
        f.batch(&[(12, dialing()), (12, refused())]);
        f.batch(&[(13, dialing()), (13, refused())]);
        assert!(!f.finder.done(), "the pass of 11 forgave 10");
        // A pass that is closed at once forgives nothing.
        f.batch(&[(14, dialing()), (14, up())]);
        f.batch(&[(14, fin(100))]);
        assert!(f.finder.done());
        let l = f.finder.finish();
        assert_eq!(l.held, 11);
        assert_eq!(l.blips, 1);
        assert_eq!(l.first_blip.unwrap().conn, 11);
        assert_eq!(l.first_failure.unwrap().conn, 13);
    }

    #[test]
    fn a_dial_unanswered_for_a_second_is_a_retransmit() {
        let mut f = Feed::new(false, 1000);
        f.finder.start = Some(Instant::now() - Duration::from_secs(5));
        hold(&mut f, 9);
        // Dialed "4 s ago" by the finder's clock (the events' times are milliseconds).
        f.dial(9..12);
        assert!(f.finder.done());
        for i in 9..12 {
            f.batch(&[(
                i,
                EventKind::Error {
                    after: Duration::from_secs(5),
                    errno: libc::ETIMEDOUT,
                },
            )]);
        }
        let l = f.finder.finish();
        assert_eq!(l.held, 9);
        let first = l.first_failure.unwrap();
        assert_eq!((first.conn, first.signal), (10, Signal::Retransmit));
        assert_eq!(
            (l.failures.retransmits, l.failures.retransmits_timed_out),
            (3, 3)
        );
    }

    #[test]
    fn signals_not_watched_are_not_failures() {
        let mut f = Feed::with(false, 100, StopOn::CLOSED, 3);
        hold(&mut f, 5);
        for i in 5..10 {
            f.batch(&[(i, dialing()), (i, refused())]);
        }
        assert!(!f.finder.done());
        let l = f.finder.finish();
        assert_eq!((l.answer, l.held, l.blips), (Answer::AtMax, 5, 0));
    }

    #[test]
    fn a_local_error_stops_the_search_as_a_lower_bound() {
        let mut f = Feed::new(false, 100);
        hold(&mut f, 5);
        f.batch(&[(
            5,
            EventKind::LocalError {
                errno: libc::EADDRNOTAVAIL,
                source: None,
            },
        )]);
        assert!(f.finder.done());
        let l = f.finder.finish();
        assert_eq!((l.answer, l.held), (Answer::LocalLimit, 5));
        assert_eq!(l.local_errno, Some(libc::EADDRNOTAVAIL));
    }

    #[test]
    fn the_p99_bound_judges_the_latest_connect_times() {
        let config = LimitConfig {
            stop_on: StopOn::ALL,
            sustained: 2,
            connect_p99: Some(Duration::from_millis(5)),
            max_from: MaxFrom::Flag,
        };
        let mut f = LimitFinder::new(config, false, Shard::whole(1000), 1000);
        let up = |ms| EventKind::Established {
            connect_time: Duration::from_millis(ms),
            retransmitted: false,
        };
        for i in 0..200 {
            // One slow handshake in a hundred is the p99's allowance: not a failure.
            let kind = if i % 100 == 50 { up(9) } else { up(1) };
            f.on_event(&ConnEvent {
                conn: i,
                at: Duration::ZERO,
                kind,
            });
        }
        assert!(!f.done());
        // A second slow one in the window: the p99 is over the bound; both fail (the earlier
        // one stops passing), and so does every connection while it stays over.
        for conn in 200..202 {
            f.on_event(&ConnEvent {
                conn,
                at: Duration::ZERO,
                kind: up(if conn == 200 { 9 } else { 1 }),
            });
        }
        assert!(f.done());
        let l = f.finish();
        assert_eq!(l.held, 199);
        let first = l.first_failure.unwrap();
        assert_eq!((first.conn, first.signal), (201, Signal::Slow));

        // Slow from the start: none held, judged at the 100th.
        let mut f = LimitFinder::new(config, false, Shard::whole(1000), 1000);
        for i in 0..100 {
            f.on_event(&ConnEvent {
                conn: i,
                at: Duration::ZERO,
                kind: up(60),
            });
        }
        assert!(f.done());
        let l = f.finish();
        assert_eq!((l.held, l.first_failure.unwrap().conn), (0, 1));
        assert_eq!(l.failures.slow, 100);
    }

    #[test]
    fn a_dial_of_the_first_second_is_not_a_retransmit_before_its_second() {
        let mut f = Feed::new(false, 1000);
        f.finder.start = Some(Instant::now());
        f.dial(0..20);
        f.batch(&[(0, up())]);
        assert!(!f.finder.done());
        assert_eq!(f.finder.failures.len(), 0);
        assert_eq!(
            f.finder.wake_at(),
            Some(Duration::from_millis(2) + SYN_RETRANSMIT_AFTER)
        );
    }

    #[test]
    fn a_local_error_after_its_dial_is_no_retransmit() {
        let mut f = Feed::with(false, 100, StopOn::ALL, 1);
        f.finder.start = Some(Instant::now() - Duration::from_secs(5));
        hold(&mut f, 5);
        f.batch(&[
            (5, dialing()),
            (
                5,
                EventKind::LocalError {
                    errno: libc::ENOSPC,
                    source: None,
                },
            ),
        ]);
        f.batch(&[]);
        let l = f.finder.finish();
        assert_eq!((l.answer, l.held), (Answer::LocalLimit, 5));
    }

    #[test]
    fn a_target_closing_its_oldest_while_newer_stay_forgives_them() {
        // An idle timeout: the oldest connections close after a while, newer ones stay open
        // and pass: no limit, the closures are forgiven.
        let mut f = Feed::new(false, 1000);
        hold(&mut f, K);
        let idle: Vec<(u64, EventKind)> = (0..3).map(|i| (i, fin(30_000_000))).collect();
        f.batch(&idle);
        assert!(!f.finder.done());
        let l = f.finder.finish();
        assert_eq!(
            (l.answer, l.held, l.blips, l.trailing),
            (Answer::AtMax, K, 3, 0)
        );
        assert_eq!(l.first_blip.unwrap().conn, 1);
    }

    #[test]
    fn an_idle_timeout_closing_everything_after_the_last_dial_is_no_limit() {
        // Each connection closed a second after it came, one after another, the last ones
        // after the last dial: nothing newer passes any more, yet it is no limit.
        let mut f = Feed::new(false, K);
        hold(&mut f, K);
        for i in 0..K {
            f.batch(&[(i, fin(1_000_000))]);
        }
        let l = f.finder.finish();
        assert_eq!((l.answer, l.held, l.blips), (Answer::AtMax, K, K));
        assert!(l.evicted && !l.collapse);
        assert_eq!(l.held_then_closed, K);
        // The same with dialing stopped by it (steps held longer than the timeout).
        let mut f = Feed::new(false, 1000);
        hold(&mut f, K);
        for i in 0..K {
            f.batch(&[(i, fin(1_000_000))]);
        }
        assert!(f.finder.done());
        let l = f.finder.finish();
        assert_eq!((l.answer, l.held), (Answer::Evicted, K));
    }

    #[test]
    fn a_failure_seen_late_is_forgiven_by_a_connection_dialed_after_it() {
        // SYN loss: connection 10's dial is seen unanswered a second later, after connections
        // dialed after it passed; and the last ones' failures come after the last dial.
        let mut f = Feed::new(false, 14);
        f.finder.start = Some(Instant::now() - Duration::from_secs(5));
        hold(&mut f, 10);
        f.dial(10..11);
        for i in 11..14 {
            f.batch(&[(i, dialing()), (i, up())]);
        }
        f.batch(&[]);
        let l = f.finder.finish();
        assert_eq!((l.answer, l.held, l.blips), (Answer::AtMax, 13, 1));
        assert_eq!(l.first_blip.unwrap().signal, Signal::Retransmit);
        // In the other order (an older connection's pass seen after newer ones failed), the
        // newer ones' failures stay: the first failure is the first of them.
        let mut f = Feed::new(true, 1000);
        for i in 0..8 {
            f.batch(&[(i, dialing()), (i, up())]);
        }
        for i in 0..7 {
            f.batch(&[(i, checked(CheckOutcome::Verified))]);
        }
        f.batch(&[(8, dialing()), (8, up()), (8, fin(200))]);
        f.batch(&[(9, dialing()), (9, up()), (9, fin(200))]);
        f.batch(&[(7, checked(CheckOutcome::Verified))]);
        f.batch(&[(10, dialing()), (10, up()), (10, fin(200))]);
        let l = f.finder.finish();
        assert_eq!(l.held, 8);
        assert_eq!(l.first_failure.unwrap().conn, 9);
        assert_eq!(l.blips, 0);
    }

    #[test]
    fn a_newcomer_closed_a_round_trip_later_on_a_far_target_is_rejected() {
        // nginx's limit 300 ms away: its FIN comes about a round trip after the handshake.
        let far = |i| {
            [
                (i, dialing()),
                (
                    i,
                    EventKind::Established {
                        connect_time: Duration::from_millis(300),
                        retransmitted: false,
                    },
                ),
            ]
        };
        let mut f = Feed::new(false, 1000);
        for i in 0..K {
            f.batch(&far(i));
        }
        for i in K..K + 3 {
            f.batch(&far(i));
            f.batch(&[(i, fin(310_000))]);
        }
        let l = f.finder.finish();
        assert_eq!((l.held, l.failures.rejected), (K, 3));
    }

    #[test]
    fn failures_at_the_end_are_not_called_forgiven() {
        let mut f = Feed::new(false, 12);
        hold(&mut f, 10);
        f.batch(&[(10, dialing()), (10, refused())]);
        f.batch(&[(11, dialing()), (11, refused())]);
        let l = f.finder.finish();
        assert_eq!((l.answer, l.blips, l.trailing), (Answer::AtMax, 0, 2));
    }

    #[test]
    fn a_connection_costs_the_judge_a_slot_and_a_rank() {
        // What docs/capacity-planning.md counts per connection dialed: the slot, its rank, its
        // place in the queue of dials (failures cost their own entry besides).
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn parts_merge_into_the_plans_answer() {
        let part = |held, conn: u64, collapse| Limit {
            held,
            last_held: if collapse { conn - 1 } else { 0 },
            answer: Answer::Found,
            first_failure: Some(Failure {
                conn,
                signal: Signal::Closed,
                at: Duration::ZERO,
            }),
            collapse,
            ..Limit::default()
        };
        // Two workers of a collapse at 50: 25 each, the next connection is the plan's 51.
        let m = Limit::merge(&[part(25, 50, true), part(25, 51, true)]).unwrap();
        assert_eq!((m.held, m.first_failure.unwrap().conn), (50, 51));
        // The first of a collapse's next connection and one the target did not hold.
        let m = Limit::merge(&[part(25, 52, true), part(25, 60, false)]).unwrap();
        assert_eq!((m.first_failure.unwrap().conn, m.collapse), (52, true));
        let m =
            Limit::merge(&[part(25, 50, true), part(25, 51, true), part(25, 53, false)]).unwrap();
        assert_eq!((m.first_failure.unwrap().conn, m.collapse), (51, true));
        let m = Limit::merge(&[part(25, 52, true), part(25, 51, false)]).unwrap();
        assert_eq!((m.first_failure.unwrap().conn, m.collapse), (51, false));
        let m = Limit::merge(&[part(25, 53, false), part(25, 51, false)]).unwrap();
        assert_eq!(m.first_failure.unwrap().conn, 51);
    }

    #[test]
    fn worker_parts_count_their_own_connections() {
        // Worker 1 of 2 sees the plan's odd connections only.
        let config = LimitConfig {
            stop_on: StopOn::ALL,
            sustained: 3,
            connect_p99: None,
            max_from: MaxFrom::Flag,
        };
        let mut f = LimitFinder::new(config, false, Shard::whole(100).split(1, 2), 100);
        for i in (1..21).step_by(2) {
            f.on_event(&ConnEvent {
                conn: i,
                at: Duration::ZERO,
                kind: up(),
            });
        }
        f.end_batch();
        let l = f.finish();
        assert_eq!(l.held, 10);
    }
}
