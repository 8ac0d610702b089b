//! The live progress display for a person at a terminal: during the ramp, how many connections
//! are established of those asked, how many are dialing, the errors, the dial rate and the time
//! to the last dial; during the hold, the time left and the connections still open.
//!
//! It is for people only, so it is shown only when stderr is a terminal whose `TERM` is known
//! and not `dumb`, never with `--no-progress` or `--format json`, and is
//! drawn on stderr: stdout carries the Go status lines and the report byte for byte as without
//! it. [`enabled`] is that decision, in one place. `NO_COLOR` leaves out every color (the
//! cursor movements that redraw the line stay).
//!
//! **Where it is drawn, and why the engine never waits for it.** The bar lives in the
//! [`Console`](super::Console)'s writer thread, the thread that already writes every line of a
//! run. The engine's [`Observer::progress`](crate::results::Observer::progress) (and `status`)
//! snapshots are appended to the console's batch like text and travel in the same one channel
//! send per loop iteration; the engine thread never touches indicatif, its lock or the
//! terminal. The writer wakes every 100 ms (`TICK`) while the display is on, so the hold's countdown
//! moves while the engine sleeps through a quiet hold and sends nothing: this is the steady
//! tick, from a thread that already blocks every signal (indicatif's own ticker thread would
//! not, and SIGINT must keep reaching the engine's signalfd). indicatif rate-limits its draws
//! (10 a second). Because one thread writes both the lines and the bar, they cannot garble each
//! other: each batch of lines, stdout's status lines as well as stderr's `-v` lines and notices,
//! is written inside `ProgressBar::suspend`, which clears the bar, lets the lines out and
//! redraws it below them. So `-v` keeps the bar: its lines scroll above it. The bar is cleared
//! when the engine returns (completed or interrupted), before the final report, and whenever
//! the writer stops.
//!
//! The hold's start is not in the snapshots: it is when the last dial settled, which the
//! display sees in the first snapshot whose dials are all settled. The engine samples at most
//! every 50 ms ([`Timeline::FIRST_STEP`]) and samples in the very iteration that settles the
//! last dial when one is due, so the settle happened at most 50 ms after the snapshot before;
//! the countdown starts from there (at most that early, or a status interval late).

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::results::{Counts, Interruption, Snapshot, Timeline};

/// How often the writer thread redraws the display when nothing else wakes it.
pub(super) const TICK: Duration = Duration::from_millis(100);
/// The most draws a second.
const DRAW_HZ: u8 = 10;
/// The span over which the dial rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(3);
/// The shortest span a dial rate is measured over.
const RATE_MIN_SPAN: Duration = Duration::from_millis(250);

/// Whether to show the live display: stderr is a terminal with a known, capable `TERM`, and
/// neither `--no-progress` nor a machine-readable format (`json`) was asked for.
pub fn enabled(no_progress: bool, json: bool) -> bool {
    shown(
        std::io::stderr().is_terminal(),
        std::env::var_os("TERM").as_deref(),
        no_progress,
        json,
    )
}

/// [`enabled`], given what it reads from the process.
fn shown(stderr_terminal: bool, term: Option<&OsStr>, no_progress: bool, json: bool) -> bool {
    // Without TERM nothing says the terminal understands the line-clearing escapes.
    let capable = term.is_some_and(|t| !t.is_empty() && t != "dumb");
    stderr_terminal && capable && !no_progress && !json
}

/// Whether colors are allowed: `NO_COLOR` is unset or empty (no-color.org).
fn colors_allowed(no_color: Option<&OsStr>) -> bool {
    no_color.is_none_or(OsStr::is_empty)
}

/// What the display needs to know of the run besides the snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// Connections asked for.
    pub total: u64,
    /// `--hold`.
    pub hold: Duration,
    /// Colors allowed (`NO_COLOR` not set).
    pub color: bool,
    /// `find-limit`: `total` is a bound the search stops before, not a plan; no ETA, and
    /// the hold is the settle time.
    pub search: bool,
}

impl Setup {
    /// The display of a run of `total` connections held `hold`, with colors unless `NO_COLOR`
    /// says otherwise.
    pub fn new(total: u64, hold: Duration) -> Setup {
        Setup {
            total,
            hold,
            color: colors_allowed(std::env::var_os("NO_COLOR").as_deref()),
            search: false,
        }
    }
}

/// What the display shows at one moment: the bar's prefix, fill and message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    prefix: &'static str,
    pos: u64,
    len: u64,
    msg: String,
}

/// What the display knows of the run, from the snapshots.
#[derive(Debug)]
struct State {
    setup: Setup,
    /// The latest snapshot.
    last: Option<Snapshot>,
    /// (time, connections dialed) over the last [`RATE_WINDOW`].
    dials: VecDeque<(Duration, u64)>,
    /// When the last dial settled (estimated, see the module's header).
    settled_at: Option<Duration>,
    /// The first signal's effect, if one came.
    interrupted: Option<Interruption>,
    /// Dialing stopped for good before the plan's end (a search's answer).
    stopped: bool,
}

impl State {
    fn new(setup: Setup) -> State {
        State {
            setup,
            last: None,
            dials: VecDeque::new(),
            settled_at: None,
            interrupted: None,
            stopped: false,
        }
    }

    fn update(&mut self, s: Snapshot) {
        if self.last.is_some_and(|last| s.at < last.at) {
            return;
        }
        let no_more = self.interrupted.is_some() || self.stopped;
        if self.settled_at.is_none() && settled(&s.counts, no_more) {
            let before = self.last.map_or(s.at, |l| l.at + Timeline::FIRST_STEP);
            self.settled_at = Some(s.at.min(before));
        }
        let dialed = dialed(&s.counts);
        self.dials.push_back((s.at, dialed));
        while self.dials.len() > 2
            && self
                .dials
                .get(1)
                .is_some_and(|&(at, _)| s.at.saturating_sub(at) >= RATE_WINDOW)
        {
            self.dials.pop_front();
        }
        self.last = Some(s);
    }

    fn interrupted(&mut self, s: Snapshot, what: Interruption) {
        self.interrupted.get_or_insert(what);
        self.update(s);
    }

    fn dialing_stopped(&mut self, s: Snapshot) {
        self.stopped = true;
        self.update(s);
    }

    /// Dials a second over the window, once it spans [`RATE_MIN_SPAN`] (a first dial of all
    /// at once would otherwise read as thousands a second).
    fn rate(&self) -> Option<f64> {
        let (&(t0, d0), &(t1, d1)) = (self.dials.front()?, self.dials.back()?);
        let span = t1.saturating_sub(t0);
        (span >= RATE_MIN_SPAN && d1 > d0).then(|| (d1 - d0) as f64 / span.as_secs_f64())
    }

    /// The display at `now` (time since the run started). The most useful facts come first:
    /// a narrow terminal cuts the line's end.
    fn view(&self, now: Duration) -> Option<View> {
        let s = self.last?;
        let c = &s.counts;
        let errors = format!(" · {} errors", c.error);
        let mut tail = String::new();
        if c.closed > 0 {
            tail.push_str(&format!(" · {} closed", c.closed));
        }
        if c.local_error > 0 {
            tail.push_str(&format!(" · {} local errors", c.local_error));
        }
        let Some(settled_at) = self.settled_at else {
            if self.interrupted.is_some() {
                return Some(View {
                    prefix: "stopping",
                    pos: dialed(c),
                    len: c.total,
                    msg: format!(
                        "{}/{} established{errors} · waiting for {} dialing{tail}",
                        c.established, c.total, c.dialing
                    ),
                });
            }
            let rate = self.rate();
            let speed = rate.map_or(String::new(), |r| format!(" · {} dials/s", per_sec(r)));
            if self.setup.search {
                return Some(View {
                    prefix: "search",
                    pos: dialed(c),
                    len: c.total,
                    msg: format!(
                        "{} established{errors}{speed} · {} dialing{tail} · up to {}",
                        c.established, c.dialing, c.total
                    ),
                });
            }
            let eta = match rate {
                Some(r) if c.not_initiated > 0 => format!(
                    " · ETA {}",
                    clock(Duration::from_secs_f64(c.not_initiated as f64 / r))
                ),
                _ => String::new(),
            };
            return Some(View {
                prefix: "ramp",
                pos: dialed(c),
                len: c.total,
                msg: format!(
                    "{}/{} established{errors}{speed}{eta} · {} dialing{tail}",
                    c.established, c.total, c.dialing
                ),
            });
        };
        let hold = self.setup.hold;
        let held = now.saturating_sub(settled_at).min(hold);
        // A signal ends the hold, or (in the ramp) means there is none.
        let holding =
            !hold.is_zero() && held < hold && c.established > 0 && self.interrupted.is_none();
        if holding {
            return Some(View {
                prefix: if self.setup.search { "settle" } else { "hold" },
                pos: held.as_millis() as u64,
                len: hold.as_millis().max(1) as u64,
                msg: format!(
                    "{} left · {} of {} still open{errors}{tail}",
                    clock(hold - held),
                    c.established,
                    c.ever_established()
                ),
            });
        }
        Some(View {
            prefix: "finishing",
            pos: 1,
            len: 1,
            msg: format!("{} open{errors}{tail}", c.established),
        })
    }
}

impl View {
    /// The line as drawn: `ramp [=====>     ] 33/100 established · ...`, the prefix and the
    /// bar in color when `color`. Colors only come before the message, so that cutting the
    /// line's end for a narrow terminal never cuts an escape sequence.
    fn line(&self, color: bool) -> String {
        let filled = (BAR_WIDTH as u64 * self.pos.min(self.len) / self.len.max(1)) as usize;
        let mut bar = "=".repeat(filled);
        if filled < BAR_WIDTH {
            bar.push(if filled > 0 { '>' } else { ' ' });
            bar.push_str(&" ".repeat(BAR_WIDTH - filled - 1));
        }
        if color {
            format!(
                "\x1b[1;36m{}\x1b[0m [\x1b[36m{bar}\x1b[0m] {}",
                self.prefix, self.msg
            )
        } else {
            format!("{} [{bar}] {}", self.prefix, self.msg)
        }
    }
}

/// The bar's width in characters.
const BAR_WIDTH: usize = 16;

/// Connections whose dial was issued or attempted.
fn dialed(c: &Counts) -> u64 {
    c.total - c.not_initiated
}

/// Every dial settled: none dialing, and none left to dial (or a signal stopped the dials).
/// Every dial settled: none in flight, and none left to dial (or none will be: a signal, or
/// a search that found its answer).
fn settled(c: &Counts, no_more: bool) -> bool {
    c.dialing == 0 && (c.not_initiated == 0 || no_more)
}

/// A rate for the display: `812`, `2.5`, `0.05`.
fn per_sec(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else if r >= 1.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// A time left, rounded up to the second: `7s`, `3m05s`, `2h03m`.
fn clock(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The display as the writer thread drives it: snapshots in, a bar on stderr out.
#[derive(Debug)]
pub(super) struct Display {
    state: State,
    /// When the run started, by this thread's clock (from the first snapshot).
    origin: Option<Instant>,
    /// Created with the first snapshot, so that nothing is drawn before the run (the prompt).
    bar: Option<ProgressBar>,
    /// The line last handed to the bar: an unchanged line is not drawn again.
    shown: String,
}

impl Display {
    pub(super) fn new(setup: Setup) -> Display {
        Display {
            state: State::new(setup),
            origin: None,
            bar: None,
            shown: String::new(),
        }
    }

    /// Takes in a snapshot (no drawing).
    pub(super) fn update(&mut self, s: Snapshot) {
        self.start(s.at);
        self.state.update(s);
    }

    /// Sets the run's start by this thread's clock, from the first snapshot (taken `at`).
    fn start(&mut self, at: Duration) {
        self.origin
            .get_or_insert_with(|| Instant::now().checked_sub(at).unwrap_or_else(Instant::now));
    }

    /// Takes in the end of dialing before the plan's end (no drawing).
    pub(super) fn dialing_stopped(&mut self, s: Snapshot) {
        self.start(s.at);
        self.state.dialing_stopped(s);
    }

    /// Takes in a signal's effect (no drawing).
    pub(super) fn interrupted(&mut self, s: Snapshot, what: Interruption) {
        self.start(s.at);
        self.state.interrupted(s, what);
    }

    /// Brings the bar up to date; indicatif draws it if its rate limit allows.
    pub(super) fn draw(&mut self) {
        let Some(origin) = self.origin else { return };
        let Some(view) = self.state.view(origin.elapsed()) else {
            return;
        };
        // The whole line is the message, so that one update is one (rate-limited) draw of a
        // consistent line; indicatif cuts it to the terminal's width, clears and redraws it.
        let bar = self.bar.get_or_insert_with(|| {
            let style = ProgressStyle::with_template("{wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(DRAW_HZ))
                .with_style(style)
        });
        let line = view.line(self.state.setup.color);
        if line != self.shown {
            bar.set_message(line.clone());
            self.shown = line;
        }
    }

    /// Runs `write` with the bar off the screen, then redraws it below what was written.
    pub(super) fn suspend(&self, write: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Takes the bar off the screen for good.
    pub(super) fn clear(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(ms: u64, total: u64, f: impl FnOnce(&mut Counts)) -> Snapshot {
        let mut counts = Counts::new(total);
        f(&mut counts);
        Snapshot {
            at: Duration::from_millis(ms),
            counts,
            max_established: 0,
        }
    }

    fn ramp(ms: u64, dialing: u64, established: u64, error: u64) -> Snapshot {
        snap(ms, 100, |c| {
            c.dialing = dialing;
            c.established = established;
            c.error = error;
            c.not_initiated = 100 - dialing - established - error;
        })
    }

    const SETUP: Setup = Setup {
        total: 100,
        hold: Duration::from_secs(10),
        color: false,
        search: false,
    };

    #[test]
    fn a_search_shows_no_eta_and_settles() {
        let mut s = State::new(Setup {
            search: true,
            hold: Duration::from_secs(2),
            ..SETUP
        });
        s.update(ramp(1000, 5, 15, 0));
        s.update(ramp(2000, 5, 33, 2));
        let v = s.view(Duration::from_millis(2000)).unwrap();
        assert_eq!(v.prefix, "search");
        assert_eq!(
            v.msg,
            "33 established · 2 errors · 20.0 dials/s · 5 dialing · up to 100"
        );
    }

    #[test]
    fn shown_only_on_a_capable_terminal_and_when_not_refused() {
        let xterm = Some(OsStr::new("xterm-256color"));
        assert!(shown(true, xterm, false, false));
        assert!(!shown(false, xterm, false, false), "stderr not a terminal");
        assert!(!shown(true, Some(OsStr::new("dumb")), false, false));
        assert!(!shown(true, Some(OsStr::new("")), false, false));
        assert!(!shown(true, None, false, false));
        assert!(!shown(true, xterm, true, false), "--no-progress");
        assert!(!shown(true, xterm, false, true), "--format json");
    }

    #[test]
    fn no_color_set_and_not_empty_means_no_colors() {
        assert!(colors_allowed(None));
        assert!(colors_allowed(Some(OsStr::new(""))));
        assert!(!colors_allowed(Some(OsStr::new("1"))));
    }

    #[test]
    fn the_ramp_shows_established_of_asked_rate_eta_and_errors() {
        let mut s = State::new(SETUP);
        s.update(ramp(0, 0, 0, 0));
        assert_eq!(
            s.view(Duration::ZERO).unwrap().msg,
            "0/100 established · 0 errors · 0 dialing"
        );
        s.update(ramp(1000, 5, 15, 0));
        s.update(ramp(2000, 5, 33, 2));
        let v = s.view(Duration::from_millis(2000)).unwrap();
        assert_eq!(v.prefix, "ramp");
        assert_eq!((v.pos, v.len), (40, 100));
        // 40 dialed in 2 s: 20/s, 60 left: 3 s.
        assert_eq!(
            v.msg,
            "33/100 established · 2 errors · 20.0 dials/s · ETA 3s · 5 dialing"
        );
        assert_eq!(
            v.line(false),
            "ramp [======>         ] 33/100 established · 2 errors · 20.0 dials/s · ETA 3s · 5 dialing"
        );
        assert_eq!(
            v.line(true),
            "\x1b[1;36mramp\x1b[0m [\x1b[36m======>         \x1b[0m] 33/100 established · 2 errors · 20.0 dials/s · ETA 3s · 5 dialing"
        );
    }

    #[test]
    fn the_hold_counts_down_from_the_settle_and_shows_what_is_open() {
        let mut s = State::new(SETUP);
        s.update(ramp(0, 0, 0, 0));
        s.update(ramp(900, 10, 90, 0));
        // Seen settled a second later: the settle was at most 50 ms after the last snapshot.
        s.update(snap(1900, 100, |c| {
            c.not_initiated = 0;
            c.established = 97;
            c.closed = 3;
        }));
        assert_eq!(s.settled_at, Some(Duration::from_millis(950)));
        let v = s.view(Duration::from_millis(4000)).unwrap();
        assert_eq!(v.prefix, "hold");
        assert_eq!((v.pos, v.len), (3050, 10_000));
        assert_eq!(
            v.msg,
            "7s left · 97 of 100 still open · 0 errors · 3 closed"
        );
        // The countdown moves with the clock alone (no snapshot while the hold sleeps).
        let later = s.view(Duration::from_millis(9000)).unwrap();
        assert_eq!(
            later.msg,
            "2s left · 97 of 100 still open · 0 errors · 3 closed"
        );
        let done = s.view(Duration::from_secs(12)).unwrap();
        assert_eq!(
            done.line(false),
            "finishing [================] 97 open · 0 errors · 3 closed"
        );
    }

    #[test]
    fn a_signal_stops_the_ramp_and_ends_the_hold() {
        let mut s = State::new(SETUP);
        s.update(ramp(0, 0, 0, 0));
        s.interrupted(
            ramp(500, 4, 20, 0),
            Interruption::StopDialing { dialing: 4 },
        );
        let v = s.view(Duration::from_millis(500)).unwrap();
        assert_eq!(v.prefix, "stopping");
        assert!(v.msg.contains("waiting for 4 dialing"), "{}", v.msg);
        // The dials settle: nothing is held after a signal in the ramp.
        s.update(ramp(700, 0, 24, 0));
        assert_eq!(s.view(Duration::from_secs(1)).unwrap().prefix, "finishing");

        let mut h = State::new(SETUP);
        h.update(ramp(0, 0, 100, 0));
        assert_eq!(h.view(Duration::from_secs(1)).unwrap().prefix, "hold");
        h.interrupted(
            ramp(1000, 0, 100, 0),
            Interruption::EndHold {
                held: Duration::from_secs(1),
                hold: SETUP.hold,
            },
        );
        assert_eq!(h.view(Duration::from_secs(1)).unwrap().prefix, "finishing");
    }

    #[test]
    fn clocks_and_rates_read_well() {
        assert_eq!(clock(Duration::from_millis(6001)), "7s");
        assert_eq!(clock(Duration::from_secs(185)), "3m05s");
        assert_eq!(clock(Duration::from_secs(7380)), "2h03m");
        assert_eq!(per_sec(812.4), "812");
        assert_eq!(per_sec(2.54), "2.5");
        assert_eq!(per_sec(0.05), "0.05");
    }
}
