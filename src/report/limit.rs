//! `find-limit`'s answer as text: the first lines of its report. Apart from the Go lines
//! because it is tcpgoon's own: one sentence a capacity planner can paste ("held N connections
//! with every check passing; first failure at M: what (evidence)"), then how the search went.

use std::fmt::Write as _;
use std::time::Duration;

use super::errno_text;
use super::godur::go_duration;
use crate::config::{MaxFrom, StopOn};
use crate::results::limit::{Answer, Limit, Signal, Tally};
use crate::results::RunResult;

/// `n` with thousands separators: `9,981`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn connections(n: u64) -> String {
    format!("{} connection{}", grouped(n), if n == 1 { "" } else { "s" })
}

/// The answer's block: the sentence, then the search's facts; empty for other runs.
pub fn block(r: &RunResult) -> String {
    let Some(l) = &r.limit else {
        return String::new();
    };
    let mut out = answer(r, l);
    out.push('\n');
    let _ = write!(out, "Search: {}", r.identity.load.pacing);
    let dialed = r.ramp.dialed;
    match l.dialing_stopped {
        Some(at) if l.answer == Answer::Found || l.answer == Answer::LocalLimit => {
            let _ = write!(
                out,
                "; dialing stopped after {} ({} dialed)",
                go_duration(trim(at)),
                grouped(dialed)
            );
        }
        _ => {
            let _ = write!(out, "; {} dialed", grouped(dialed));
        }
    }
    let _ = write!(
        out,
        "; stops after {} failure{} in a row with none passing (--sustained), watching {}",
        grouped(u64::from(l.sustained)),
        if l.sustained == 1 { "" } else { "s" },
        l.stop_on
            .map_or(String::new(), |s| s.names().replace(',', ", ")),
    );
    if let (Some(p99), true) = (
        l.connect_p99,
        l.stop_on.is_some_and(|s| s.has(StopOn::SLOW)),
    ) {
        let _ = write!(out, " (connect p99 bound {})", go_duration(p99));
    }
    out.push('\n');
    if let (true, Some((lo, hi))) = (
        l.evicted && l.answer != Answer::Found,
        l.held_then_closed_lifetimes,
    ) {
        let _ = writeln!(
            out,
            "Closed after holding: {} closed by the target after {} (an idle timeout or an eviction: at this pace it holds about that long's worth)",
            connections(l.held_then_closed),
            if lo == hi {
                go_duration(lo)
            } else {
                format!("{} to {}", go_duration(lo), go_duration(hi))
            }
        );
    }
    if let Some(b) = l.first_blip {
        let _ = writeln!(
            out,
            "Forgiven: {} failure{} that a later connection passing forgave, the first at {}: {}",
            grouped(l.blips),
            if l.blips == 1 { "" } else { "s" },
            grouped(b.conn),
            signal_words(b.signal, r)
        );
    }
    out
}

/// The sentence.
fn answer(r: &RunResult, l: &Limit) -> String {
    let checked = if l.checked {
        "with every check passing"
    } else {
        "with every check passing (handshakes only: no --expect*)"
    };
    match l.answer {
        Answer::Found => {
            let mut s = format!("held {} {checked}", connections(l.held));
            if let Some(f) = l.first_failure {
                let (what, main) = if l.collapse {
                    (
                        "the target closed the connections it held".to_string(),
                        None,
                    )
                } else if l.evicted {
                    (
                        "closed by the target after holding it (an idle timeout or an eviction)"
                            .to_string(),
                        None,
                    )
                } else {
                    (signal_words(f.signal, r), Some(f.signal))
                };
                // After a collapse at the last connection of --max, the next one is no
                // connection of the plan: the failure has no number then.
                let at = if f.conn <= l.max {
                    format!(" at {}", grouped(f.conn))
                } else {
                    String::new()
                };
                let _ = write!(s, "; first failure{at}: {what} ({})", evidence(r, l, main));
            }
            s
        }
        Answer::AtMax => format!(
            "held at least {} {checked}; no sustained failure up to {}{}{}",
            connections(l.held),
            match l.max_from {
                Some(MaxFrom::Flag) | None => format!("--max {}", grouped(l.max)),
                _ => connections(l.max),
            },
            match l.max_from {
                Some(MaxFrom::Files) => {
                    ": the local limit was reached first (the open-files limit; --workers N holds more)"
                }
                Some(MaxFrom::Ports) => {
                    ": the local limit was reached first (the free local ports; more --source addresses hold more)"
                }
                _ => "",
            },
            unforgiven(l)
        ),
        Answer::LocalLimit => format!(
            "held at least {} {checked}; the local limit was reached first: {}{}",
            connections(l.held),
            l.local_errno
                .map_or("this machine could not open more".to_string(), errno_text),
            unforgiven(l)
        ),
        Answer::Evicted => format!(
            "held at least {} {checked}; the target closed connections after holding them {} (an idle timeout or an eviction) before the search could go further: hold steps shorter than that{}",
            connections(l.held),
            match l.held_then_closed_lifetimes {
                Some((lo, hi)) if lo == hi => go_duration(lo),
                Some((lo, hi)) => format!("{} to {}", go_duration(lo), go_duration(hi)),
                None => "a while".to_string(),
            },
            unforgiven(l)
        ),
        Answer::Interrupted => format!(
            "held at least {} {checked}; interrupted before a sustained failure{}",
            connections(l.held),
            unforgiven(l)
        ),
    }
}

/// For an answer that is a lower bound: failures that did not add up to a streak, if any.
fn unforgiven(l: &Limit) -> String {
    match (l.blips, l.trailing) {
        (0, 0) => String::new(),
        (n, 0) => format!(" ({} forgiven)", failures(n)),
        (0, t) => format!(" ({} at the end, too few to stop it)", failures(t)),
        (n, t) => format!(
            " ({} forgiven, {} at the end, too few to stop it)",
            failures(n),
            grouped(t)
        ),
    }
}

fn failures(n: u64) -> String {
    format!("{} failure{}", grouped(n), if n == 1 { "" } else { "s" })
}

/// What a signal means, in the answer's words.
fn signal_words(signal: Signal, r: &RunResult) -> String {
    match signal {
        Signal::Error(errno) => format!("dial errors: {}", errno_text(errno)),
        Signal::Timeout => "dial timeouts: SYNs unanswered".to_string(),
        Signal::Retransmit => {
            "SYN retransmits: the target's accept queue or SYN backlog is full".to_string()
        }
        Signal::Closed => "closed by the target".to_string(),
        Signal::Rejected => {
            "rejected: closed by the target right after the handshake, never held".to_string()
        }
        Signal::Silent => format!(
            "accept queue: connections established but not verified (nothing within --expect-timeout {})",
            go_duration(r.identity.load.checks.expect_timeout)
        ),
        Signal::Mismatched => {
            "connections established but answered with other data than --expect".to_string()
        }
        Signal::Slow => "connect-time p99 above --connect-p99".to_string(),
    }
}

/// The evidence: every kind of failure counted from the stopping streak on, `main` first.
fn evidence(r: &RunResult, l: &Limit, main: Option<Signal>) -> String {
    let t: &Tally = &l.failures;
    let load = &r.identity.load;
    let mut parts: Vec<(bool, String)> = Vec::new();
    let mut push = |kind: Signal, text: Option<String>| {
        if let Some(text) = text {
            let first =
                main.is_some_and(|m| std::mem::discriminant(&m) == std::mem::discriminant(&kind));
            parts.push((first, text));
        }
    };
    push(
        Signal::Rejected,
        (t.rejected > 0).then(|| {
            format!(
                "{} rejected{}",
                connections(t.rejected),
                l.rejected_within.map_or(String::new(), |w| format!(
                    " within {} of the handshake",
                    go_duration(trim(w))
                ))
            )
        }),
    );
    push(
        Signal::Closed,
        (l.collapse || t.closed > 0).then(|| {
            if l.held_then_closed > 0 {
                let after = match l.held_then_closed_lifetimes {
                    Some((lo, hi)) if lo == hi => format!(" after {}", go_duration(lo)),
                    Some((lo, hi)) => {
                        format!(" after {} to {}", go_duration(lo), go_duration(hi))
                    }
                    None => String::new(),
                };
                format!(
                    "{} closed by the target, {} of them held{after}",
                    connections(t.closed),
                    grouped(l.held_then_closed)
                )
            } else {
                format!("{} closed by the target", connections(t.closed))
            }
        }),
    );
    push(
        Signal::Silent,
        (t.silent > 0).then(|| format!("{} established and silent", connections(t.silent))),
    );
    push(
        Signal::Mismatched,
        (t.mismatched > 0).then(|| format!("{} with other data", connections(t.mismatched))),
    );
    push(
        Signal::Retransmit,
        (t.retransmits > 0).then(|| {
            let mut s = format!("{} with the SYN sent again", connections(t.retransmits));
            if t.retransmits_timed_out > 0 {
                let _ = write!(
                    s,
                    ", {} of them then timed out after {}",
                    grouped(t.retransmits_timed_out),
                    go_duration(load.dial_timeout)
                );
            }
            s
        }),
    );
    push(
        Signal::Timeout,
        (t.timeouts > 0).then(|| {
            format!(
                "{} timed out after {}",
                connections(t.timeouts),
                go_duration(load.dial_timeout)
            )
        }),
    );
    push(
        Signal::Error(0),
        (t.errors > 0).then(|| {
            let reasons: Vec<String> = l
                .error_reasons
                .iter()
                .map(|&(errno, n)| format!("{} {}", grouped(n), errno_text(errno)))
                .collect();
            format!(
                "{} failed to dial ({})",
                connections(t.errors),
                reasons.join(", ")
            )
        }),
    );
    push(
        Signal::Slow,
        (t.slow > 0).then(|| {
            format!(
                "{} pushed the connect p99 over {}",
                connections(t.slow),
                l.connect_p99.map_or("the bound".to_string(), go_duration)
            )
        }),
    );
    parts.sort_by_key(|(first, _)| !first);
    parts
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A time to the microsecond, as the answer shows it.
fn trim(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(9_981), "9,981");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
