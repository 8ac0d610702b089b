//! Text output: the Go tool's status line and final block, exactly, plus the extensions that
//! follow the block (ramp, percentiles, error reasons) and the `-v` debugging lines.
//!
//! Scripts written for the Go tcpgoon grep these lines, so their shape is a contract: every
//! string that the behaviour spec quotes is produced here and pinned by tests. The reporter
//! knows text and nothing of sockets: it reads [`Snapshot`](crate::results::Snapshot)s, [`ConnEvent`]s and the
//! [`RunResult`].

mod console;
pub mod godur;
pub mod limit;
pub mod progress;

pub use console::{Console, ReportOut, TextReporter};

use std::fmt::Write as _;
use std::io;

use crate::results::stats::{ErrorTally, LatencyStats, Summary};
use crate::results::{
    CheckOutcome, CloseCause, ConnEvent, Counts, EventKind, HoldEnd, Interruption, ProbeOutcome,
    RunResult, CLOSED_AT_ONCE,
};
use crate::units::escape_bytes;
use crate::verdict::{Base, Judged, Measured, Verdict};
use godur::{go_duration, truncate_micros};

/// The status line: `Total: %d, Dialing: %d, Established: %d, Closed: %d, Error: %d, NotInitiated: %d`.
/// NotInitiated counts every connection never dialed toward the target, including those this
/// machine could not open (they are no error of the target's).
pub fn status_line(c: &Counts) -> String {
    format!(
        "Total: {}, Dialing: {}, Established: {}, Closed: {}, Error: {}, NotInitiated: {}",
        c.total,
        c.dialing,
        c.established,
        c.closed,
        c.error,
        c.not_dialed()
    )
}

fn stats_figures(s: &Summary) -> String {
    [s.min, s.avg, s.max, s.dev]
        .map(|d| go_duration(truncate_micros(d)))
        .join("/")
}

/// The Go tool's final block, ending with an empty line; the target as the run's identity names
/// it (`host` or `host(ip)`).
pub fn final_block(r: &RunResult) -> String {
    let c = &r.counts;
    let name = &r.identity.target;
    let mut out = String::new();
    let _ = writeln!(out, "--- {} tcp test statistics ---", name.label());
    let _ = writeln!(out, "{}", status_line(c));
    let _ = writeln!(out, "--- tcpgoon execution statistics ---");
    let _ = writeln!(
        out,
        "Total established connections: {}",
        c.ever_established()
    );
    let _ = writeln!(
        out,
        "Max concurrent established connections: {}",
        r.max_established
    );
    let _ = writeln!(
        out,
        "Number of established connections on closure: {}",
        c.established
    );
    if let Some(s) = r.connect.summary() {
        let _ = writeln!(
            out,
            "Response time stats for {} successful connections min/avg/max/dev = {}",
            s.count,
            stats_figures(&s)
        );
    }
    if let Some(s) = r.time_to_error.summary() {
        let _ = writeln!(
            out,
            "Time to error stats for {} failed connections min/avg/max/dev = {}",
            s.count,
            stats_figures(&s)
        );
    }
    out.push('\n');
    out
}

fn percentiles(s: &LatencyStats) -> String {
    [0.5, 0.9, 0.99, 0.999]
        .map(|q| s.quantile(q).map_or("-".to_string(), go_duration))
        .join("/")
}

/// The whole text report of a finished run: the Go block, tcpgoon's additions, the checks and
/// the thresholds (what a run prints at its end, and `tcpgoon report` prints again).
pub fn text(r: &RunResult, v: &Verdict) -> String {
    format!(
        "{}{}{}{}{}",
        limit::block(r),
        final_block(r),
        extended_block(r),
        checks_block(r),
        verdict_block(v)
    )
}

/// The heading of run `i` of `n`, one target each, before its status lines.
pub fn run_heading(i: usize, n: usize, label: &str) -> String {
    format!("=== target {i}/{n}: {label} ===\n")
}

/// The cells of one target's row in the summary of several runs: held, verified, errors,
/// connect p99 and the verdict; `None` for a target that was not run (a signal ended the
/// runs before it).
pub fn summary_cells(run: Option<(&RunResult, &Verdict)>) -> [String; 5] {
    let Some((r, v)) = run else {
        return ["-", "-", "-", "-", "not run"].map(str::to_string);
    };
    let held = r.hold.map_or(r.counts.established, |h| h.open_at_end);
    let checks = &r.verification;
    let verified = if checks.checked > 0 {
        format!("{}/{}", checks.verified, checks.checked)
    } else {
        "-".to_string()
    };
    let p99 = r
        .connect
        .quantile(0.99)
        .map_or("-".to_string(), go_duration);
    let verdict = match v.exit_code {
        crate::verdict::EXIT_OK => "✓ pass (0)",
        crate::verdict::EXIT_ERRORS => "✗ errors (2)",
        crate::verdict::EXIT_THRESHOLD => "✗ threshold failed (3)",
        _ => "✗ incomplete (1)",
    };
    [
        format!("{held}/{}", r.counts.total),
        verified,
        r.counts.error.to_string(),
        p99,
        verdict.to_string(),
    ]
}

/// The summary table after several runs, one target each: a row per target (`None`: not
/// run), columns aligned.
pub fn summary_table(rows: &[(String, Option<(&RunResult, &Verdict)>)]) -> String {
    let header = ["target", "held", "verified", "errors", "p99", "verdict"].map(str::to_string);
    let mut table = vec![header];
    for (name, run) in rows {
        let [held, verified, errors, p99, verdict] = summary_cells(*run);
        table.push([name.clone(), held, verified, errors, p99, verdict]);
    }
    let mut widths = [0usize; 6];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!("--- summary of {} targets ---\n", rows.len());
    for row in &table {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            match i {
                0 => line.push_str(&format!("{cell}{}", " ".repeat(pad))),
                5 => line.push_str(&format!("  {cell}")),
                _ => line.push_str(&format!("  {}{cell}", " ".repeat(pad))),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What the tool adds after the Go block: the ramp, percentiles and error reasons.
pub fn extended_block(r: &RunResult) -> String {
    let mut out = String::new();
    let ramp = &r.ramp;
    let span = ramp.last_dial.saturating_sub(ramp.first_dial);
    let rate = ramp
        .rate()
        .map_or(String::new(), |v| format!(" ({v:.1} connections/s)"));
    let settled = ramp.settled.map_or(String::new(), |t| {
        format!(", all settled after {}", go_duration(truncate_micros(t)))
    });
    let lag = ramp.max_lag.map_or(String::new(), |lag| {
        format!(
            "; at most {} behind schedule",
            go_duration(truncate_micros(lag))
        )
    });
    let shard = &r.identity.load.shard;
    if shard.is_part() {
        let _ = writeln!(
            out,
            "Shard: {} of {} (from 0): {} of the plan's {} connections, each dialed at the plan's time",
            shard.index,
            shard.count,
            r.identity.load.connections,
            shard.plan
        );
    }
    let _ = writeln!(
        out,
        "Ramp: dialed {} connections in {}{rate}{settled}{lag}",
        ramp.dialed,
        go_duration(truncate_micros(span))
    );
    if r.connect.count() > 0 {
        let _ = writeln!(
            out,
            "Response time percentiles p50/p90/p99/p99.9 = {}",
            percentiles(&r.connect)
        );
    }
    if r.errors.total() > 0 {
        let _ = writeln!(out, "Errors: {}", reasons(&r.errors));
    }
    if r.local_errors.total() > 0 {
        let _ = writeln!(
            out,
            "Local errors: {} connections could not be opened on this machine and were never dialed ({}); \
             they count as NotInitiated, not as the target's errors",
            r.local_errors.total(),
            reasons(&r.local_errors)
        );
    }
    out
}

/// What the end-to-end checks, the closures, the hold and the probe found: one line each, only
/// for what happened or was asked for (a run without the new flags whose connections all stay
/// open adds nothing here).
pub fn checks_block(r: &RunResult) -> String {
    let mut out = String::new();
    let v = &r.verification;
    if v.checked == 0 && r.identity.load.checks.expect.is_some() {
        let _ = writeln!(out, "Verified: no connection was established to check");
    } else if v.checked > 0 {
        let _ = writeln!(
            out,
            "Verified: {} of {} established connections got the expected data ({}); {} got nothing within {}, {} got other data, {} were closed first",
            v.verified,
            v.checked,
            percent(v.verified, v.checked),
            v.silent,
            go_duration(r.identity.load.checks.expect_timeout),
            v.mismatched,
            v.closed_first
        );
        if v.interrupted > 0 {
            let _ = writeln!(
                out,
                "  {} were still waiting when interrupted: not judged",
                v.interrupted
            );
        }
        for sample in &v.mismatch_samples {
            let then = if sample.incomplete {
                format!(
                    " (then nothing within {})",
                    go_duration(r.identity.load.checks.expect_timeout)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  instead: \"{}\"{then}",
                escape_bytes(&sample.bytes, 64)
            );
        }
    }
    if let Some(s) = v.first_byte.summary() {
        let _ = writeln!(
            out,
            "First byte stats for {} connections min/avg/max/dev = {}; p50/p90/p99/p99.9 = {}",
            s.count,
            stats_figures(&s),
            percentiles(&v.first_byte)
        );
    }
    let c = &r.closures;
    if c.total() > 0 {
        let mut kinds = Vec::new();
        for (name, stats) in [
            ("FIN", &c.fin),
            ("reset", &c.reset),
            ("timed out", &c.timed_out),
            ("other", &c.other),
        ] {
            if let Some(s) = stats.summary() {
                kinds.push(format!(
                    "{} {name} (lifetime min/p50/p90/max = {}/{}/{}/{})",
                    s.count,
                    go_duration(truncate_micros(s.min)),
                    stats.quantile(0.5).map_or("-".to_string(), go_duration),
                    stats.quantile(0.9).map_or("-".to_string(), go_duration),
                    go_duration(truncate_micros(s.max))
                ));
            }
        }
        let _ = writeln!(
            out,
            "Closed: {} connections: {}; {} closed at once (within {} of being established)",
            c.total(),
            kinds.join(", "),
            c.at_once,
            go_duration(CLOSED_AT_ONCE)
        );
        if c.other_errors.total() > 0 {
            let _ = writeln!(out, "  other closures: {}", reasons(&c.other_errors));
        }
    }
    if let Some(h) = r.hold {
        let why = match h.ended {
            HoldEnd::Full => String::new(),
            HoldEnd::NothingLeft => ": ended early, no connection was left open".to_string(),
            HoldEnd::Interrupted => ": ended early by an interrupt".to_string(),
        };
        let _ = writeln!(
            out,
            "Hold: asked {}, held {}{why}",
            go_duration(h.asked),
            go_duration(truncate_micros(h.held))
        );
    }
    if let Some(ProbeOutcome { probed: 0, .. }) = r.probe {
        let _ = writeln!(out, "Probe at end: no connection was left open to probe");
    } else if let Some(p) = r.probe {
        let _ = writeln!(
            out,
            "Probe at end: {} of {} connections still open answered within {}; {} reset, {} no answer, {} closed",
            p.alive,
            p.probed,
            r.identity
                .load
                .checks
                .probe_at_end
                .map_or("-".to_string(), go_duration),
            p.reset,
            p.no_answer,
            p.closed
        );
        if p.interrupted > 0 {
            let _ = writeln!(
                out,
                "  {} were still unanswered when interrupted: not judged",
                p.interrupted
            );
        }
    }
    if r.retransmitted > 0 {
        let _ = writeln!(
            out,
            "Warning: {} connections needed SYN retransmits: the target's accept queue or SYN backlog overflowed (their connect times are a second or more)",
            r.retransmitted
        );
    }
    const SHOWN_SOURCES: usize = 32;
    if !r.per_source.is_empty() {
        let _ = writeln!(out, "Per source address:");
        for (ip, c) in r.per_source.iter().take(SHOWN_SOURCES) {
            let verified = if v.checked > 0 {
                format!(", {} verified", c.verified)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {ip}: {} established{verified}, {} closed ({} at once), {} errors, {} local errors",
                c.established, c.closed, c.closed_at_once, c.errors, c.local_errors
            );
        }
        if r.per_source.len() > SHOWN_SOURCES {
            let _ = writeln!(
                out,
                "  ... and {} more source addresses",
                r.per_source.len() - SHOWN_SOURCES
            );
        }
    }
    if !r.per_target.is_empty() {
        let _ = writeln!(out, "Per target:");
        for (i, t) in r.per_target.iter().enumerate() {
            let name = r.target_label(i);
            let verified = if v.checked > 0 {
                format!(", {} verified", t.counts.verified)
            } else {
                String::new()
            };
            let p99 = t
                .connect
                .quantile(0.99)
                .map_or("-".to_string(), go_duration);
            let c = &t.counts;
            let _ = writeln!(
                out,
                "  {name}: {} held of {} established{verified}, {} closed ({} at once), {} errors, {} local errors, connect p99 {p99}",
                t.held(), c.established, c.closed, c.closed_at_once, c.errors, c.local_errors
            );
        }
    }
    out
}

/// One ✓/✗ line per threshold, with the value measured.
pub fn verdict_block(v: &Verdict) -> String {
    let mut out = String::new();
    for j in &v.thresholds {
        let _ = writeln!(out, "{}", threshold_line(j));
    }
    out
}

/// `✓ held>=100%: 200 of 200 (100.0%)`, `✗ connect_p99<50ms: 1.02s`, `✓ verified>=100%: 5 of 5
/// established (100.0%) (implicit)`: a count says what it is out of unless it is out of the
/// connections asked for; out of none, `0 of 0 probed (nothing to check)`.
pub fn threshold_line(j: &Judged) -> String {
    let mark = if j.pass { "✓" } else { "✗" };
    let value = match j.measured {
        // A search's answer is a count of its own, not a share of --max.
        Measured::Count { n, .. } if j.threshold.metric == crate::config::Metric::Limit => {
            format!("{n} held at once")
        }
        Measured::Count { n, of, base } => {
            let base = match base {
                Base::Connections => "",
                Base::Established => " established",
                Base::Probed => " probed",
            };
            let share = if of == 0 && !base.is_empty() {
                "nothing to check".to_string()
            } else {
                percent(n, of)
            };
            format!("{n} of {of}{base} ({share})")
        }
        Measured::Time(Some(d)) => go_duration(truncate_micros(d)),
        Measured::Time(None) => "nothing measured".to_string(),
    };
    let implicit = if j.implicit { " (implicit)" } else { "" };
    format!("{mark} {}: {value}{implicit}", j.threshold.expr)
}

fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    }
}

/// `3 connection refused, 2 dial timeout`: counts by reason, most frequent first.
fn reasons(tally: &ErrorTally) -> String {
    tally
        .sorted()
        .into_iter()
        .map(|(errno, n)| format!("{n} {}", errno_text(errno)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An OS error number as words (`connection refused`), without Rust's "(os error N)" suffix.
pub fn errno_text(errno: i32) -> String {
    if errno == nix::errno::Errno::ETIMEDOUT as i32 {
        return "dial timeout".to_string();
    }
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("os error {errno}"),
    }
}

/// What the run does about a SIGINT or SIGTERM, as one line for stderr.
pub fn interruption_line(what: Interruption) -> String {
    match what {
        Interruption::StopDialing { dialing: 0 } => {
            "Interrupted: no new connections; ending now".to_string()
        }
        Interruption::StopDialing { dialing } => format!(
            "Interrupted: no new connections; waiting for {dialing} dialing ones to finish or time out \
             (interrupt again to end now)"
        ),
        Interruption::EndHold { held, hold } => format!(
            "Interrupted: ending the hold after {} of {}",
            go_duration(truncate_micros(held)),
            go_duration(hold)
        ),
        Interruption::EndChecks { pending } => format!(
            "Interrupted: no longer waiting for the expected data of {pending} connections \
             (they are left unjudged)"
        ),
        Interruption::EndProbe {
            waited,
            timeout,
            pending,
        } => format!(
            "Interrupted: ending the probe after {} of {}, {pending} connections unanswered \
             (they are left unjudged)",
            go_duration(truncate_micros(waited)),
            go_duration(timeout)
        ),
        Interruption::Abort { dialing: 0 } => "Interrupted again: ending now".to_string(),
        Interruption::Abort { dialing } => {
            format!("Interrupted again: ending now with {dialing} connections still dialing")
        }
    }
}

/// One `-v` line for a connection's state change (without the newline).
pub fn event_line(e: &ConnEvent) -> String {
    let at = go_duration(truncate_micros(e.at));
    let n = e.conn + 1;
    match e.kind {
        EventKind::Dialing {
            target,
            local: Some(l),
        } if l.ip().is_unspecified() => {
            format!(
                "[{at}] connection {n}: dialing {target} from port {}",
                l.port()
            )
        }
        EventKind::Dialing {
            target,
            local: Some(l),
        } if l.port() == 0 => {
            format!("[{at}] connection {n}: dialing {target} from {}", l.ip())
        }
        EventKind::Dialing {
            target,
            local: Some(l),
        } => {
            format!("[{at}] connection {n}: dialing {target} from {l}")
        }
        EventKind::Dialing {
            target,
            local: None,
        } => {
            format!("[{at}] connection {n}: dialing {target}")
        }
        EventKind::Established {
            connect_time,
            retransmitted,
        } => format!(
            "[{at}] connection {n}: established after {}{}",
            go_duration(connect_time),
            if retransmitted {
                " (the SYN was sent again)"
            } else {
                ""
            }
        ),
        EventKind::Closed { lifetime, cause } => {
            let how = match cause {
                CloseCause::Eof => "closed by the far side".to_string(),
                CloseCause::Reset(errno) => format!("closed: {}", errno_text(errno)),
            };
            format!(
                "[{at}] connection {n}: {how} after {}",
                go_duration(lifetime)
            )
        }
        EventKind::Error { after, errno } => format!(
            "[{at}] connection {n}: error after {}: {}",
            go_duration(after),
            errno_text(errno)
        ),
        EventKind::Checked { after, outcome } => {
            let what = match outcome {
                CheckOutcome::Verified => "verified: the expected data came",
                CheckOutcome::Silent => "not verified: nothing came",
                CheckOutcome::Mismatched => "not verified: other data came",
            };
            format!(
                "[{at}] connection {n}: {what} {} after it was established",
                go_duration(truncate_micros(after))
            )
        }
        EventKind::LocalError { errno, source } => {
            let from = source.map_or(String::new(), |ip| format!(" from {ip}"));
            format!(
                "[{at}] connection {n}: not dialed: this machine cannot open it{from}: {}",
                errno_text(errno)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::TargetName;
    use std::time::Duration;

    fn named(display: &str, port: u16, mut r: RunResult) -> RunResult {
        r.identity.target = TargetName {
            host: display.to_string(),
            display: display.to_string(),
            port,
        };
        r
    }

    fn result(counts: Counts, ok: &[u64], bad: &[u64]) -> RunResult {
        let mut connect = LatencyStats::new();
        ok.iter()
            .for_each(|&us| connect.record(Duration::from_micros(us)));
        let mut time_to_error = LatencyStats::new();
        bad.iter()
            .for_each(|&us| time_to_error.record(Duration::from_micros(us)));
        RunResult {
            counts,
            max_established: counts.established + counts.closed,
            connect,
            time_to_error,
            ..RunResult::default()
        }
    }

    #[test]
    fn status_line_is_the_go_line() {
        let mut c = Counts::new(10);
        c.not_initiated = 1;
        c.dialing = 2;
        c.established = 3;
        c.closed = 1;
        c.error = 3;
        assert_eq!(
            status_line(&c),
            "Total: 10, Dialing: 2, Established: 3, Closed: 1, Error: 3, NotInitiated: 1"
        );
    }

    #[test]
    fn final_block_all_established() {
        let c = Counts {
            total: 2,
            established: 2,
            ..Counts::default()
        };
        let text = final_block(&named(
            "localhost(127.0.0.1)",
            8080,
            result(c, &[86, 15_230], &[]),
        ));
        assert_eq!(
            text,
            "--- localhost(127.0.0.1):8080 tcp test statistics ---\n\
             Total: 2, Dialing: 0, Established: 2, Closed: 0, Error: 0, NotInitiated: 0\n\
             --- tcpgoon execution statistics ---\n\
             Total established connections: 2\n\
             Max concurrent established connections: 2\n\
             Number of established connections on closure: 2\n\
             Response time stats for 2 successful connections min/avg/max/dev = 86µs/7.658ms/15.23ms/7.572ms\n\
             \n"
        );
    }

    #[test]
    fn final_block_errors_only() {
        let c = Counts {
            total: 2,
            error: 2,
            ..Counts::default()
        };
        let text = final_block(&named("127.0.0.1", 1, result(c, &[], &[100, 300])));
        assert!(!text.contains("Response time"));
        assert!(text.contains("Time to error stats for 2 failed connections min/avg/max/dev = 100µs/200µs/300µs/100µs\n\n"));
    }

    #[test]
    fn local_failures_show_as_not_initiated_and_apart_from_errors() {
        let c = Counts {
            total: 5,
            established: 2,
            error: 1,
            local_error: 2,
            ..Counts::default()
        };
        assert_eq!(
            status_line(&c),
            "Total: 5, Dialing: 0, Established: 2, Closed: 0, Error: 1, NotInitiated: 2"
        );
        let mut r = result(c, &[10, 20], &[5]);
        r.errors.add(nix::errno::Errno::ECONNREFUSED as i32);
        r.local_errors.add(nix::errno::Errno::EADDRNOTAVAIL as i32);
        r.local_errors.add(nix::errno::Errno::EADDRNOTAVAIL as i32);
        let text = extended_block(&r);
        assert!(text.contains("Errors: 1 connection refused\n"), "{text}");
        assert!(
            text.contains("Local errors: 2 connections could not be opened on this machine and were never dialed (2 cannot assign requested address)"),
            "{text}"
        );
    }

    /// (The `Verified:` line of the same case is pinned by `tests/verdict.rs`: this room may
    /// not name `config`'s `Expect`.)
    #[test]
    fn nothing_probed_is_said_plainly_and_the_threshold_names_its_base() {
        let c = Counts {
            total: 3,
            error: 3,
            ..Counts::default()
        };
        let mut r = result(c, &[], &[1, 2, 3]);
        r.identity.load.checks.probe_at_end = Some(Duration::from_secs(3));
        r.probe = Some(ProbeOutcome::default());
        assert_eq!(
            checks_block(&r),
            "Probe at end: no connection was left open to probe\n"
        );
        let v = crate::verdict::judge(&r, &[]);
        assert_eq!(
            verdict_block(&v),
            "✓ alive>=100%: 0 of 0 probed (nothing to check) (implicit)\n"
        );
    }

    #[test]
    fn each_interruption_says_what_happens() {
        let ms = Duration::from_millis;
        assert_eq!(
            interruption_line(Interruption::EndHold {
                held: ms(1500),
                hold: Duration::from_secs(60)
            }),
            "Interrupted: ending the hold after 1.5s of 1m0s"
        );
        assert_eq!(
            interruption_line(Interruption::StopDialing { dialing: 0 }),
            "Interrupted: no new connections; ending now"
        );
        assert!(interruption_line(Interruption::StopDialing { dialing: 3 })
            .contains("waiting for 3 dialing ones"));
        assert_eq!(
            interruption_line(Interruption::Abort { dialing: 2 }),
            "Interrupted again: ending now with 2 connections still dialing"
        );
    }

    #[test]
    fn errno_words() {
        assert_eq!(
            errno_text(nix::errno::Errno::ECONNREFUSED as i32),
            "connection refused"
        );
        assert_eq!(
            errno_text(nix::errno::Errno::ETIMEDOUT as i32),
            "dial timeout"
        );
    }
}
