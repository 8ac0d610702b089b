//! The engine: one thread, one `mio::Poll`, every socket in a slab, every deadline in a timer
//! wheel. It opens the planned connections, watches them and returns plain-data results.
//!
//! A run is a loop of: wait for readiness or the wheel's next deadline; handle socket events
//! (handshake finished or failed, far side closed); fire due timers (dial timeouts, the pacing
//! of new dials, report ticks, the end of the hold); dial whatever the schedule says is due, up
//! to the cap on connections dialing at once. Counters change with every state change, so a
//! status costs O(1). Nothing is formatted here: an [`Observer`] receives snapshots and events.
//! Nothing blocks and nothing sleeps: the run ends as soon as its work is done.

mod checks;
mod conn;
mod dial;
pub mod signals;
pub mod wheel;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

pub use dial::{connect_time_ports_supported, is_local_errno, DialFailure, Dialed, PickMechanism};

use crate::config::{CloseMode, Expect, LoadConfig, PortPolicy};
use crate::local::{round_robin, LocalEndpoints};
use crate::results::stats::{ErrorTally, LatencyStats};
use crate::results::{
    CheckOutcome, CloseCause, CloseKind, Closures, ConnEvent, ConnState, Counts, EventKind,
    HoldEnd, HoldOutcome, Interruption, Mismatch, Observer, ProbeOutcome, Ramp, RunIdentity,
    RunResult, ShareCounts, Snapshot, StopReason, TargetName, TargetShare, Timeline, Verification,
    CLOSED_AT_ONCE, MISMATCH_SAMPLES, MISMATCH_SAMPLE_BYTES,
};
use conn::{Check, Conn, Peak, Phase};
use signals::Signals;
use wheel::{TimerKey, TimerWheel};

/// The token of the signalfd; connection tokens are slab keys, far below it.
const SIGNAL: Token = Token(usize::MAX - 1);
const NS_PER_MS: u64 = 1_000_000;

/// Everything a run needs, validated: the engine trusts it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Destinations, used round-robin (connection `i` goes to `targets[i % len]`). Not empty.
    pub targets: Vec<SocketAddr>,
    /// How many connections, how fast, how long.
    pub load: LoadConfig,
    /// Source addresses and ports.
    pub local: LocalEndpoints,
    /// The target as the user named it, for the result.
    pub name: TargetName,
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    DialTimeout(usize),
    ExpectTimeout(usize),
    Pace,
    Report,
    Hold,
    ProbeCheck,
    /// The observer asked to be woken (`Observer::wake_at`).
    Wake,
}

/// The end-of-hold probe in progress.
#[derive(Debug)]
struct Probe {
    /// When the probes were written.
    started_ns: u64,
    /// When unanswered probes count as no answer.
    deadline_ns: u64,
    /// A signal ended the probe: what is pending stays unjudged.
    cut: bool,
    /// Slab keys of the probed connections; those still unanswered are marked in `waiting`.
    pending: Vec<usize>,
    /// By slab key: probed and not answered yet (a closure looks itself up here in O(1)).
    waiting: Vec<bool>,
    /// How many are marked in `waiting`.
    unanswered: usize,
    /// The next check, in ms after the previous one (doubles up to 100 ms).
    step_ms: u64,
    outcome: ProbeOutcome,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("plan", &self.plan)
            .field("counts", &self.counts)
            .field("launched", &self.launched)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

/// A run in progress. Create it with [`Engine::new`], then call [`Engine::run`].
pub struct Engine {
    plan: Plan,
    /// How ports that tcpgoon picks reach the kernel.
    mechanism: PickMechanism,
    poll: Poll,
    conns: Slab<Conn>,
    wheel: TimerWheel<Timer>,
    fired: Vec<Timer>,
    scratch: Box<[u8]>,
    signals: Option<Signals>,
    start: Instant,
    /// The wall clock at `start`.
    started_at: SystemTime,
    counts: Counts,
    peak: Peak,
    /// When the latest dial settled (established or failed).
    last_settle_ns: Option<u64>,
    /// When the hold started, once every dial has settled.
    hold_start_ns: Option<u64>,
    connect: LatencyStats,
    time_to_error: LatencyStats,
    errors: ErrorTally,
    local_errors: ErrorTally,
    closures: Closures,
    verification: Verification,
    retransmitted: u64,
    /// Per source address, when there are several.
    per_source: Vec<ShareCounts>,
    /// Per target, when there are several (`--spread`).
    per_target: Vec<TargetShare>,
    /// When the hold ended, why, and how many connections were open then.
    hold_end: Option<(u64, HoldEnd, u64)>,
    probe: Option<Probe>,
    ramp: Ramp,
    launched: u64,
    pace_timer: Option<TimerKey>,
    report_ticks: u64,
    hold_over: bool,
    stop: StopReason,
    /// The observer asked for no more dials (`find-limit` found its answer): the plan ends
    /// with what was dialed, which is held for the hold as a completed run's would be.
    enough: bool,
    /// The wake-up the observer asked for: its tick and timer.
    wake: Option<(u64, TimerKey)>,
    timeline: Timeline,
    /// The state the last batch left when no timeline point shows it (see `sample`).
    unshown: Option<Snapshot>,
    wants_events: bool,
}

impl Engine {
    /// Prepares a run of `plan`. With `signals`, SIGINT/SIGTERM end it cleanly.
    pub fn new(plan: Plan, signals: Option<Signals>) -> io::Result<Engine> {
        if plan.targets.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a plan needs a target",
            ));
        }
        let poll = Poll::new()?;
        if let Some(s) = &signals {
            s.register(poll.registry(), SIGNAL)?;
        }
        // The slab grows to the number of connections open at once: reserve it up front (when
        // it is known to fit in memory comfortably) so growth never doubles the peak.
        let reserve = usize::try_from(plan.load.connections.min(1 << 24)).unwrap_or(1 << 24);
        let max_dialing = plan.load.max_dialing.max(1);
        let mechanism = match plan.local.policy() {
            PortPolicy::Auto => PickMechanism::detect(),
            PortPolicy::Kernel => PickMechanism::Bind, // unused: the kernel picks
        };
        let mut plan = plan;
        plan.load.max_dialing = max_dialing;
        Ok(Engine {
            mechanism,
            counts: Counts::new(plan.load.connections),
            conns: Slab::with_capacity(reserve),
            wheel: TimerWheel::with_capacity(max_dialing.min(reserve) + 4),
            fired: Vec::with_capacity(64),
            scratch: vec![0u8; 4096].into_boxed_slice(),
            signals,
            poll,
            start: Instant::now(),
            started_at: SystemTime::now(),
            peak: Peak::default(),
            last_settle_ns: None,
            hold_start_ns: None,
            connect: LatencyStats::new(),
            time_to_error: LatencyStats::new(),
            errors: ErrorTally::default(),
            local_errors: ErrorTally::default(),
            closures: Closures::default(),
            verification: Verification::default(),
            retransmitted: 0,
            per_source: match plan.local.sources().len() {
                0 | 1 => Vec::new(),
                n => vec![ShareCounts::default(); n],
            },
            per_target: match plan.targets.len() {
                0 | 1 => Vec::new(),
                _ => plan
                    .targets
                    .iter()
                    .map(|&addr| TargetShare {
                        addr,
                        counts: ShareCounts::default(),
                        connect: LatencyStats::default(),
                    })
                    .collect(),
            },
            hold_end: None,
            probe: None,
            timeline: Timeline::default(),
            unshown: None,
            ramp: Ramp::default(),
            launched: 0,
            pace_timer: None,
            report_ticks: 0,
            hold_over: false,
            stop: StopReason::Completed,
            enough: false,
            wake: None,
            wants_events: false,
            plan,
        })
    }

    /// Runs to the end and returns what was measured. `Err` only for a failure of the poll
    /// itself; every per-connection failure is a counted result.
    pub fn run(mut self, observer: &mut dyn Observer) -> io::Result<RunResult> {
        self.start = Instant::now();
        self.started_at = SystemTime::now();
        self.wants_events = observer.wants_events();
        let start = self.snapshot(0);
        self.timeline.push(start);
        observer.status(&start);
        if let Some(every) = self.plan.load.interval {
            self.wheel
                .insert(ceil_ms(every.as_nanos() as u64), Timer::Report);
        }
        self.launch_due(observer);
        // Every dial may already have failed (synchronously refused): record it before looping.
        self.update_phase();
        self.update_hold();
        let mut events = Events::with_capacity(1024);
        while !self.finished() {
            let timeout = self.wheel.next_deadline().map(|deadline| {
                Duration::from_nanos((deadline * NS_PER_MS).saturating_sub(self.now_ns()))
            });
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            self.peak.new_moment();
            let mut signalled = false;
            for event in events.iter() {
                match event.token() {
                    SIGNAL => signalled = true,
                    Token(key) => self.on_socket_event(key, event, observer),
                }
            }
            if signalled {
                self.on_signal(observer);
            }
            self.fire_timers(observer);
            self.check_enough(observer);
            self.launch_due(observer);
            self.update_phase();
            self.update_hold();
            self.sample(observer);
            observer.flush();
            self.arm_wake(&*observer);
        }
        let end = self.snapshot(self.now_ns());
        self.timeline.push(end);
        Ok(self.finish())
    }

    /// Nanoseconds since the run's start: a fresh monotonic clock reading.
    #[inline]
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Adds a point to the timeline and shows progress, when one is due. The state a batch
    /// leaves that no point shows is kept aside (one copy, no push); when the next batch comes
    /// a step or more later, the loop was quiet in between, and that state goes in at its own
    /// time: the state a quiet stretch holds is then exact in the timeline, not the state some
    /// milliseconds before it (what merged shards' timelines are summed from). At most one
    /// point more per quiet stretch.
    fn sample(&mut self, observer: &mut dyn Observer) {
        let now = self.now_ns();
        let at = Duration::from_nanos(now);
        if let Some(held) = self.unshown.take() {
            if at >= held.at + self.timeline.step {
                self.timeline.push(held);
            }
        }
        if self.timeline.due(at) {
            let snapshot = self.snapshot(now);
            self.timeline.push(snapshot);
            observer.progress(&snapshot);
        } else if self
            .timeline
            .points
            .last()
            .is_some_and(|last| last.counts != self.counts)
        {
            self.unshown = Some(self.snapshot(now));
        }
    }

    fn snapshot(&self, at_ns: u64) -> Snapshot {
        Snapshot {
            at: Duration::from_nanos(at_ns),
            counts: self.counts,
            max_established: self.peak.max,
        }
    }

    fn emit(&self, observer: &mut dyn Observer, conn: u64, at_ns: u64, kind: EventKind) {
        if self.wants_events {
            observer.event(&ConnEvent {
                conn,
                at: Duration::from_nanos(at_ns),
                kind,
            });
        }
    }

    /// True when no more dials will happen and none is in flight.
    fn dials_settled(&self) -> bool {
        (self.launched == self.plan.load.connections
            || self.enough
            || self.stop != StopReason::Completed)
            && self.counts.dialing == 0
    }

    /// True when the run is over: dials settled, the hold over (or cut short), the probe done.
    fn finished(&self) -> bool {
        if self.stop == StopReason::Aborted {
            return true;
        }
        if !self.dials_settled() || self.hold_end.is_none() {
            return false;
        }
        // Every check decided (within --expect-timeout), unless a signal cut the run short.
        if self.stop == StopReason::Completed && self.verification_pending() > 0 {
            return false;
        }
        match &self.probe {
            Some(p) => p.unanswered == 0 || p.cut,
            None => true,
        }
    }

    /// Established connections whose `--expect` check is not decided yet.
    fn verification_pending(&self) -> u64 {
        let v = &self.verification;
        v.checked - v.verified - v.silent - v.mismatched - v.closed_first
    }

    /// Ends the hold when it is over or has nothing left to hold, then starts the probe.
    fn update_hold(&mut self) {
        if self.hold_end.is_some() || self.hold_start_ns.is_none() {
            return;
        }
        let end = if self.stop != StopReason::Completed {
            Some(HoldEnd::Interrupted)
        } else if self.plan.load.hold.is_zero() || self.hold_over {
            Some(HoldEnd::Full)
        } else if self.counts.established == 0 {
            Some(HoldEnd::NothingLeft)
        } else {
            None
        };
        if let Some(end) = end {
            self.hold_end = Some((self.now_ns(), end, self.counts.established));
            // An interrupted hold is still probed; a second signal ends the probe too.
            if self.stop != StopReason::Aborted {
                if let Some(timeout) = self.plan.load.checks.probe_at_end {
                    self.start_probe(timeout);
                }
            }
        }
    }

    /// Records the end of the dial phase and starts the hold once every dial has settled.
    fn update_phase(&mut self) {
        if self.hold_start_ns.is_none() && self.dials_settled() {
            let now = self.now_ns();
            self.hold_start_ns = Some(now);
            // When the last dial settled, not when this was noticed (a signal, a pacing timer).
            self.ramp.settled = self.last_settle_ns.map(Duration::from_nanos);
            if !self.plan.load.hold.is_zero() && self.stop == StopReason::Completed {
                let at = ceil_ms(now.saturating_add(self.plan.load.hold.as_nanos() as u64));
                self.wheel.insert(at, Timer::Hold);
            }
        }
    }

    /// Keeps one timer at the time the observer asked to be woken at, if any: the loop then
    /// wakes even with nothing else to do (no per-connection timer is added).
    fn arm_wake(&mut self, observer: &dyn Observer) {
        let Some(at) = observer.wake_at() else {
            return;
        };
        let tick = ceil_ms(at.as_nanos() as u64);
        if self.wake.is_some_and(|(t, _)| t == tick) {
            return;
        }
        if let Some((_, key)) = self.wake.take() {
            self.wheel.cancel(key);
        }
        self.wake = Some((tick, self.wheel.insert(tick, Timer::Wake)));
    }

    /// Stops dialing for good when the observer has seen enough.
    fn check_enough(&mut self, observer: &mut dyn Observer) {
        if !self.enough && observer.stop_dialing() {
            self.enough = true;
            if let Some(key) = self.pace_timer.take() {
                self.wheel.cancel(key);
            }
            observer.dialing_stopped(&self.snapshot(self.now_ns()));
        }
    }

    /// Dials every connection that is due, as long as fewer than `max_dialing` are in flight,
    /// and arms the pacing timer for the next one.
    fn launch_due(&mut self, observer: &mut dyn Observer) {
        if self.stop != StopReason::Completed || self.enough || self.pace_timer.is_some() {
            return;
        }
        while self.launched < self.plan.load.connections
            && (self.counts.dialing as usize) < self.plan.load.max_dialing
        {
            // Connection `i` of the plan (this shard's `launched`-th), due when the plan says.
            let i = self.plan.load.shard.global(self.launched);
            let due = self.plan.load.pacing.due_nanos(i);
            // `due == 0` needs no clock: every connection of an unpaced run is due at once.
            if due > 0 && due > self.now_ns() {
                self.pace_timer = Some(self.wheel.insert(ceil_ms(due), Timer::Pace));
                return;
            }
            self.launched += 1;
            self.dial(i, due, observer);
            if observer.stop_dialing() {
                return self.check_enough(observer);
            }
        }
    }

    fn dial(&mut self, i: u64, due_ns: u64, observer: &mut dyn Observer) {
        let targets = &self.plan.targets;
        let target = targets[round_robin(i, targets.len())];
        let start = self.start;
        // One fresh clock reading right before connect() (taken inside): when the connection
        // was dialed, and the start of its connect time (which so excludes socket setup).
        let dialed = dial::dial(&mut self.plan.local, self.mechanism, i, target, || {
            start.elapsed().as_nanos() as u64
        });
        let t0 = match &dialed {
            Ok(d) => d.t0_ns,
            Err(DialFailure::Target { t0_ns, .. }) => *t0_ns,
            Err(DialFailure::Local { .. }) => self.now_ns(),
        };
        // The ramp counts what reached connect(): a connection this machine could not open
        // was never dialed.
        if !matches!(dialed, Err(DialFailure::Local { .. })) {
            if self.ramp.dialed == 0 {
                self.ramp.first_dial = Duration::from_nanos(t0);
            }
            self.ramp.dialed += 1;
            self.ramp.last_dial = Duration::from_nanos(t0);
            if !self.plan.load.pacing.is_unpaced() {
                let lag = Duration::from_nanos(t0.saturating_sub(due_ns));
                self.ramp.max_lag = Some(self.ramp.max_lag.map_or(lag, |m| m.max(lag)));
            }
        }
        let dialed = match dialed {
            Ok(d) => d,
            Err(DialFailure::Local { errno, source }) => {
                return self.fail_locally(i, t0, errno, source, observer)
            }
            Err(DialFailure::Target { errno, t0_ns }) => {
                self.emit(
                    observer,
                    i,
                    t0_ns,
                    EventKind::Dialing {
                        target,
                        local: None,
                    },
                );
                return self.fail_at_once(i, t0_ns, errno, observer);
            }
        };
        self.emit(
            observer,
            i,
            t0,
            EventKind::Dialing {
                target,
                local: dialed.local,
            },
        );
        let mut stream = TcpStream::from_std(dialed.socket.into());
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            let source = dialed.local.map(|l| l.ip());
            return self.fail_locally(i, t0, e.raw_os_error().unwrap_or(0), source, observer);
        }
        let deadline = ceil_ms(t0.saturating_add(self.plan.load.dial_timeout.as_nanos() as u64));
        let timer = self.wheel.insert(deadline, Timer::DialTimeout(key));
        entry.insert(Conn {
            stream,
            index: i as u32,
            since_ns: t0,
            timer,
            sent: 0,
            matched: 0,
            phase: Phase::Dialing,
            check: Check::Awaiting,
        });
        self.counts
            .shift(ConnState::NotInitiated, ConnState::Dialing);
        if dialed.connected {
            self.establish(key, t0, None, observer);
        }
    }

    /// A connection this machine could not open: counted apart from the target's errors.
    fn fail_locally(
        &mut self,
        i: u64,
        now: u64,
        errno: i32,
        source: Option<std::net::IpAddr>,
        observer: &mut dyn Observer,
    ) {
        self.counts
            .shift(ConnState::NotInitiated, ConnState::LocalError);
        self.local_errors.add(errno);
        self.tally(i, |s| s.local_errors += 1);
        self.last_settle_ns = Some(now);
        self.emit(observer, i, now, EventKind::LocalError { errno, source });
    }

    /// A `connect()` that the target or the route refused at once.
    fn fail_at_once(&mut self, i: u64, t0: u64, errno: i32, observer: &mut dyn Observer) {
        let now = self.now_ns();
        self.counts.shift(ConnState::NotInitiated, ConnState::Error);
        let after = Duration::from_nanos(now.saturating_sub(t0));
        self.time_to_error.record(after);
        self.errors.add(errno);
        self.tally(i, |s| s.errors += 1);
        self.last_settle_ns = Some(now);
        self.emit(observer, i, now, EventKind::Error { after, errno });
    }

    fn on_socket_event(
        &mut self,
        key: usize,
        event: &mio::event::Event,
        observer: &mut dyn Observer,
    ) {
        let Some(conn) = self.conns.get_mut(key) else {
            return; // an event for a connection closed earlier in this batch
        };
        if conn.phase == Phase::Established {
            if event.is_writable() && self.sending(key) {
                self.send_more(key, observer);
            }
            if self.conns.contains(key) {
                self.drain(key, observer);
            }
            return;
        }
        // Dialing: the handshake finished one way or the other, or the event is spurious.
        // TCP_INFO says which in one call, and carries the kernel's view of the handshake;
        // only a failure needs SO_ERROR for its reason.
        let info = checks::handshake(&conn.stream).ok();
        let outcome = match info {
            Some(h) if h.completed() => Ok(true),
            Some(h) if h.state == checks::TCP_SYN_SENT => Ok(false),
            _ => match conn.stream.take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                // On Linux a connecting socket reports writable only once the handshake
                // completed.
                Ok(None) if event.is_writable() => Ok(true),
                Ok(None) => match conn.stream.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(e) => Err(e),
                },
            },
        };
        let now = self.now_ns();
        match outcome {
            Ok(true) => {
                self.establish(key, now, info, observer);
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                if readable && self.conns.contains(key) {
                    self.drain(key, observer);
                }
            }
            Ok(false) => {}
            // A reset (or a FIN then a reset) reaches only a synchronized connection: the
            // handshake completed and the far side closed it at once (a limit that accepts and
            // then rejects). A refusal in SYN_SENT is ECONNREFUSED.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNRESET | libc::EPIPE)) => {
                let errno = e.raw_os_error().unwrap_or(0);
                self.establish(key, now, info, observer);
                if self.conns.contains(key) {
                    self.close(key, CloseCause::Reset(errno), observer);
                }
            }
            Err(e) => self.fail(key, now, e.raw_os_error().unwrap_or(0), observer),
        }
    }

    /// The handshake completed at `now` (`info`: TCP_INFO read then, if it was).
    fn establish(
        &mut self,
        key: usize,
        now: u64,
        info: Option<checks::Handshake>,
        observer: &mut dyn Observer,
    ) {
        let conn = &mut self.conns[key];
        self.wheel.cancel(conn.timer);
        let waited = Duration::from_nanos(now.saturating_sub(conn.since_ns));
        // The connect time as the kernel saw it: its RTT sample of the SYN-ACK, unless SYNs
        // had to be sent again (then the sample is of the last SYN only, and the wall clock,
        // a second or more, is the truth). Our own loop's delay in noticing is not the
        // target's.
        let info = info.map_or_else(|| checks::handshake(&conn.stream), Ok);
        let (connect_time, retransmitted) = match info {
            Ok(h) if h.retransmits > 0 => {
                self.retransmitted += 1;
                (waited, true)
            }
            Ok(h) if !h.rtt.is_zero() => (h.rtt.min(waited), false),
            _ => (waited, false),
        };
        // Lifetimes and first-byte times count from the handshake as the kernel completed it,
        // not from when the loop noticed: under a burst of dials that can be milliseconds
        // later, and a greeting sent meanwhile would read as arriving in microseconds.
        let established_ns = conn
            .since_ns
            .saturating_add(connect_time.as_nanos() as u64)
            .min(now);
        conn.since_ns = established_ns;
        conn.phase = Phase::Established;
        let index = u64::from(conn.index);
        let checks = &self.plan.load.checks;
        if let Some(k) = &checks.keepalive {
            let _ = checks::set_keepalive(&socket2::SockRef::from(&conn.stream), k);
        }
        if checks.expect.is_none() {
            // Nothing to check: data is read and discarded, and no first byte is timed.
            conn.check = Check::Done;
        } else {
            let deadline =
                ceil_ms(established_ns.saturating_add(checks.expect_timeout.as_nanos() as u64));
            conn.timer = self.wheel.insert(deadline, Timer::ExpectTimeout(key));
            self.verification.checked += 1;
        }
        self.connect.record(connect_time);
        self.counts
            .shift(ConnState::Dialing, ConnState::Established);
        self.last_settle_ns = Some(now);
        self.peak.established(self.counts.established);
        self.tally(index, |s| s.established += 1);
        if let Some(t) = self
            .per_target
            .get_mut(round_robin(index, self.plan.targets.len()))
        {
            t.connect.record(connect_time);
        }
        self.emit(
            observer,
            index,
            now,
            EventKind::Established {
                connect_time,
                retransmitted,
            },
        );
        if self.sending(key) {
            self.send_more(key, observer);
        }
    }

    /// Counts connection `i`'s news in the share of its source address and of its target,
    /// when there are several.
    fn tally(&mut self, i: u64, count: impl Fn(&mut ShareCounts)) {
        let n = self.per_source.len();
        if let Some(s) = self.per_source.get_mut(round_robin(i, n)) {
            count(s);
        }
        let n = self.per_target.len();
        if let Some(t) = self.per_target.get_mut(round_robin(i, n)) {
            count(&mut t.counts);
        }
    }

    /// True while `--send` has bytes left to write on this connection.
    fn sending(&self, key: usize) -> bool {
        match &self.plan.load.checks.send {
            Some(bytes) => usize::from(self.conns[key].sent) < bytes.len(),
            None => false,
        }
    }

    /// Writes what is left of `--send`, as far as the socket takes it now.
    fn send_more(&mut self, key: usize, observer: &mut dyn Observer) {
        let Some(bytes) = &self.plan.load.checks.send else {
            return;
        };
        let conn = &mut self.conns[key];
        while usize::from(conn.sent) < bytes.len() {
            match conn.stream.write(&bytes[usize::from(conn.sent)..]) {
                Ok(n) => conn.sent += n as u16,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let cause = CloseCause::Reset(e.raw_os_error().unwrap_or(0));
                    return self.close(key, cause, observer);
                }
            }
        }
    }

    fn fail(&mut self, key: usize, now: u64, errno: i32, observer: &mut dyn Observer) {
        let conn = self.conns.remove(key);
        self.wheel.cancel(conn.timer);
        let after = Duration::from_nanos(now.saturating_sub(conn.since_ns));
        self.time_to_error.record(after);
        self.errors.add(errno);
        self.counts.shift(ConnState::Dialing, ConnState::Error);
        self.last_settle_ns = Some(now);
        let index = u64::from(conn.index);
        self.tally(index, |s| s.errors += 1);
        self.emit(observer, index, now, EventKind::Error { after, errno });
    }

    /// Reads whatever an established connection has: checks it against `--expect` (or notes
    /// the first byte), discards it, and sees the far side close.
    fn drain(&mut self, key: usize, observer: &mut dyn Observer) {
        let cause = loop {
            let conn = &mut self.conns[key];
            match conn.stream.read(&mut self.scratch) {
                Ok(0) => break CloseCause::Eof,
                Ok(n) => {
                    if conn.check != Check::Done {
                        self.check_data(key, n, observer);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break CloseCause::Reset(e.raw_os_error().unwrap_or(0)),
            }
        };
        self.close(key, cause, observer);
    }

    /// `n` bytes arrived in the scratch buffer on a connection whose check is not decided.
    fn check_data(&mut self, key: usize, n: usize, observer: &mut dyn Observer) {
        let now = self.now_ns();
        let conn = &mut self.conns[key];
        if conn.check == Check::Awaiting {
            let ttfb = Duration::from_nanos(now.saturating_sub(conn.since_ns));
            self.verification.first_byte.record(ttfb);
        }
        let data = &self.scratch[..n];
        let decided = match &self.plan.load.checks.expect {
            None => {
                conn.check = Check::Done;
                return;
            }
            Some(Expect::AnyData) => Some(true),
            Some(Expect::Bytes(want)) => {
                let done = usize::from(conn.matched);
                let take = (want.len() - done).min(data.len());
                if data[..take] != want[done..done + take] {
                    if self.verification.mismatch_samples.len() < MISMATCH_SAMPLES {
                        let mut bytes = want[..done].to_vec();
                        bytes.extend_from_slice(data);
                        bytes.truncate(MISMATCH_SAMPLE_BYTES);
                        self.verification.mismatch_samples.push(Mismatch {
                            bytes,
                            incomplete: false,
                        });
                    }
                    Some(false)
                } else if done + take == want.len() {
                    Some(true)
                } else {
                    conn.matched += take as u16;
                    conn.check = Check::Matching;
                    None
                }
            }
        };
        if let Some(ok) = decided {
            conn.check = Check::Done;
            self.wheel.cancel(conn.timer);
            let index = u64::from(conn.index);
            let after = Duration::from_nanos(now.saturating_sub(conn.since_ns));
            let outcome = if ok {
                self.verification.verified += 1;
                self.tally(index, |s| s.verified += 1);
                CheckOutcome::Verified
            } else {
                self.verification.mismatched += 1;
                CheckOutcome::Mismatched
            };
            self.emit(observer, index, now, EventKind::Checked { after, outcome });
        }
    }

    /// The far side closed (or reset) an established connection: it leaves the slab.
    fn close(&mut self, key: usize, cause: CloseCause, observer: &mut dyn Observer) {
        let conn = self.conns.remove(key);
        let now = self.now_ns();
        if self.plan.load.checks.expect.is_some() && conn.check != Check::Done {
            self.wheel.cancel(conn.timer);
            self.verification.closed_first += 1;
        }
        self.counts.shift(ConnState::Established, ConnState::Closed);
        self.peak.closed();
        let lifetime = Duration::from_nanos(now.saturating_sub(conn.since_ns));
        let index = u64::from(conn.index);
        // A connection that ends in answer to the end-of-hold probe is the probe's finding
        // (reset, no answer, closed), not a closure during the hold.
        let probed = match self.probe.as_mut() {
            Some(p) if p.waiting.get(key) == Some(&true) => {
                p.waiting[key] = false;
                p.unanswered -= 1;
                Some(p)
            }
            _ => None,
        };
        if let Some(probe) = probed {
            match cause.kind() {
                CloseKind::Fin => probe.outcome.closed += 1,
                CloseKind::Reset => probe.outcome.reset += 1,
                CloseKind::TimedOut | CloseKind::Other => probe.outcome.no_answer += 1,
            }
        } else {
            self.closures.record(cause, lifetime);
            self.tally(index, |s| {
                s.closed += 1;
                if lifetime < CLOSED_AT_ONCE {
                    s.closed_at_once += 1;
                }
            });
        }
        self.emit(observer, index, now, EventKind::Closed { lifetime, cause });
    }

    /// The hold is over: every connection still open writes its probe (the `--send` text, or
    /// a newline) with TCP_USER_TIMEOUT set to `timeout`, and must see it acknowledged.
    fn start_probe(&mut self, timeout: std::time::Duration) {
        let now = self.now_ns();
        let payload: &[u8] = self.plan.load.checks.send.as_deref().unwrap_or(b"\n");
        let mut pending = Vec::with_capacity(self.counts.established as usize);
        let mut outcome = ProbeOutcome::default();
        for (key, conn) in &mut self.conns {
            if conn.phase != Phase::Established {
                continue;
            }
            outcome.probed += 1;
            let _ = checks::set_user_timeout(&conn.stream, timeout);
            // What matters is that the bytes written get acknowledged; a short write of a long
            // --send text probes as well.
            match conn.stream.write(payload) {
                Ok(n) if n > 0 => pending.push(key),
                // A full send buffer (a peer that does not read): what is queued is the probe.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => pending.push(key),
                Ok(_) => outcome.no_answer += 1,
                // The peer is gone already; the closure will show on the next read.
                Err(_) => outcome.reset += 1,
            }
        }
        self.wheel.insert(ceil_ms(now) + 1, Timer::ProbeCheck);
        let mut waiting = vec![false; self.conns.capacity()];
        for &key in &pending {
            waiting[key] = true;
        }
        self.probe = Some(Probe {
            unanswered: pending.len(),
            waiting,
            started_ns: now,
            deadline_ns: now.saturating_add(timeout.as_nanos() as u64),
            cut: false,
            pending,
            step_ms: 1,
            outcome,
        });
    }

    /// Counts the probed connections whose probe was acknowledged, and at the deadline those
    /// that never were.
    fn check_probe(&mut self) {
        let now = self.now_ns();
        let Some(probe) = &mut self.probe else {
            return;
        };
        let conns = &self.conns;
        let since = Duration::from_nanos(now.saturating_sub(probe.started_ns));
        let Probe {
            pending,
            waiting,
            unanswered,
            outcome,
            ..
        } = probe;
        // Keys whose connection closed meanwhile were unmarked by `close`.
        pending.retain(|&key| {
            if !waiting[key] {
                return false;
            }
            let acked = conns
                .get(key)
                .is_some_and(|c| checks::probe_answered(&c.stream, since).unwrap_or(false));
            if acked {
                waiting[key] = false;
                *unanswered -= 1;
                outcome.alive += 1;
            }
            !acked
        });
        if *unanswered == 0 {
            return;
        }
        if now >= probe.deadline_ns {
            probe.outcome.no_answer += probe.unanswered as u64;
            for key in probe.pending.drain(..) {
                probe.waiting[key] = false;
            }
            probe.unanswered = 0;
            return;
        }
        probe.step_ms = (probe.step_ms * 2).min(100);
        let next = ceil_ms(now + probe.step_ms * NS_PER_MS).min(ceil_ms(probe.deadline_ns));
        self.wheel.insert(next, Timer::ProbeCheck);
    }

    fn on_signal(&mut self, observer: &mut dyn Observer) {
        let n = self.signals.as_mut().map_or(0, Signals::drain);
        for _ in 0..n {
            let now = self.now_ns();
            let dialing = self.counts.dialing;
            let probing = self
                .probe
                .as_ref()
                .is_some_and(|p| !p.cut && p.unanswered > 0);
            let what = if probing {
                // The first signal since the probe started (the one that ended the hold, if
                // any, came before): it ends the probe, and the report follows.
                let p = self.probe.as_mut().expect("probing");
                p.cut = true;
                Interruption::EndProbe {
                    waited: Duration::from_nanos(now.saturating_sub(p.started_ns)),
                    timeout: self.plan.load.checks.probe_at_end.unwrap_or_default(),
                    pending: p.unanswered as u64,
                }
            } else {
                match (self.stop, self.hold_start_ns, self.hold_end) {
                    (StopReason::Completed, Some(since), None)
                        if !self.plan.load.hold.is_zero() =>
                    {
                        Interruption::EndHold {
                            held: Duration::from_nanos(now.saturating_sub(since)),
                            hold: self.plan.load.hold,
                        }
                    }
                    (StopReason::Completed, Some(_), _) if self.verification_pending() > 0 => {
                        Interruption::EndChecks {
                            pending: self.verification_pending(),
                        }
                    }
                    (StopReason::Completed, _, _) => Interruption::StopDialing { dialing },
                    _ => Interruption::Abort { dialing },
                }
            };
            self.stop = match (self.stop, probing) {
                (StopReason::Completed, _) => StopReason::Interrupted,
                // Ending the probe that followed an interrupted hold is not a second stop.
                (StopReason::Interrupted, true) => StopReason::Interrupted,
                _ => StopReason::Aborted,
            };
            observer.interrupted(&self.snapshot(now), what);
        }
        if let Some(key) = self.pace_timer.take() {
            self.wheel.cancel(key);
        }
    }

    fn fire_timers(&mut self, observer: &mut dyn Observer) {
        let now = self.now_ns();
        let mut fired = std::mem::take(&mut self.fired);
        self.wheel.advance(now / NS_PER_MS, &mut fired);
        for timer in fired.drain(..) {
            match timer {
                Timer::DialTimeout(key) => {
                    debug_assert_eq!(self.conns[key].phase, Phase::Dialing);
                    self.fail(key, now, nix::errno::Errno::ETIMEDOUT as i32, observer);
                }
                Timer::ExpectTimeout(key) => {
                    let conn = &mut self.conns[key];
                    debug_assert!(conn.phase == Phase::Established && conn.check != Check::Done);
                    let partial = conn.check == Check::Matching;
                    conn.check = Check::Done;
                    let index = u64::from(conn.index);
                    let after = Duration::from_nanos(now.saturating_sub(conn.since_ns));
                    let matched = usize::from(conn.matched);
                    let outcome = if partial {
                        CheckOutcome::Mismatched
                    } else {
                        CheckOutcome::Silent
                    };
                    self.emit(observer, index, now, EventKind::Checked { after, outcome });
                    if partial {
                        // The start of the expected text, then nothing: other data, shown.
                        let v = &mut self.verification;
                        v.mismatched += 1;
                        if let (Some(Expect::Bytes(want)), true) = (
                            &self.plan.load.checks.expect,
                            v.mismatch_samples.len() < MISMATCH_SAMPLES,
                        ) {
                            v.mismatch_samples.push(Mismatch {
                                bytes: want[..matched.min(MISMATCH_SAMPLE_BYTES)].to_vec(),
                                incomplete: true,
                            });
                        }
                    } else {
                        self.verification.silent += 1;
                    }
                }
                Timer::ProbeCheck => self.check_probe(),
                Timer::Pace => self.pace_timer = None,
                Timer::Wake => self.wake = None,
                Timer::Report => {
                    self.report_ticks += 1;
                    observer.status(&self.snapshot(now));
                    if let Some(every) = self.plan.load.interval {
                        let next = (self.report_ticks + 1) as u128 * every.as_nanos();
                        self.wheel.insert(ceil_ms(next as u64), Timer::Report);
                    }
                }
                Timer::Hold => self.hold_over = true,
            }
        }
        self.fired = fired;
    }

    /// Closes what is still open and assembles the result.
    fn finish(self) -> RunResult {
        let pending = self.verification_pending();
        let result = RunResult {
            identity: RunIdentity {
                started_at: self.started_at,
                target: self.plan.name.clone(),
                targets: self.plan.targets.clone(),
                load: self.plan.load.clone(),
                ..RunIdentity::default()
            },
            elapsed: Duration::from_nanos(self.now_ns()),
            counts: self.counts,
            max_established: self.peak.max,
            connect: self.connect,
            time_to_error: self.time_to_error,
            errors: self.errors,
            local_errors: self.local_errors,
            hold: match (
                self.plan.load.hold.is_zero(),
                self.hold_start_ns,
                self.hold_end,
            ) {
                (false, Some(start), Some((end, ended, open_at_end))) => Some(HoldOutcome {
                    asked: self.plan.load.hold,
                    held: Duration::from_nanos(end.saturating_sub(start)),
                    ended,
                    open_at_end,
                }),
                _ => None,
            },
            probe: self.probe.map(|p| ProbeOutcome {
                // Unanswered when a signal cut the probe short: not judged.
                interrupted: p.unanswered as u64,
                ..p.outcome
            }),
            closures: self.closures,
            verification: Verification {
                // Undecided when a signal cut the run short: not judged.
                interrupted: pending,
                ..self.verification
            },
            retransmitted: self.retransmitted,
            // The sources that took part: a /16 of sources for ten connections lists ten.
            per_source: self
                .plan
                .local
                .sources()
                .iter()
                .copied()
                .zip(self.per_source)
                .filter(|(_, c)| *c != ShareCounts::default())
                .collect(),
            per_target: self.per_target,
            ramp: self.ramp,
            stop: self.stop,
            timeline: self.timeline,
            limit: None,
        };
        // Close the poll first: the kernel then drops every registration in one pass instead
        // of unregistering each socket as it closes.
        drop(self.poll);
        for (_, conn) in self.conns {
            if self.plan.load.close == CloseMode::Rst && conn.phase == Phase::Established {
                let _ = socket2::SockRef::from(&conn.stream).set_linger(Some(Duration::ZERO));
            }
            drop(conn.stream);
        }
        result
    }
}

/// Nanoseconds to wheel ticks, rounded up so that a timer never fires early.
#[inline]
fn ceil_ms(ns: u64) -> u64 {
    ns.div_ceil(NS_PER_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_without_target_is_an_error_not_a_panic() {
        let plan = Plan {
            targets: Vec::new(),
            load: LoadConfig {
                connections: 1,
                pacing: crate::config::Pacing::Interval(Duration::ZERO),
                dial_timeout: Duration::from_secs(1),
                interval: None,
                hold: Duration::ZERO,
                max_dialing: 1,
                close: CloseMode::Fin,
                checks: Default::default(),
                shard: Default::default(),
            },
            local: LocalEndpoints::kernel(Vec::new()),
            name: TargetName::default(),
        };
        assert!(Engine::new(plan, None).is_err());
    }
}
