//! The verdict: what a run's results mean for the process exit code a CI pipeline reads.
//!
//! Only results come in; no socket, no text. The Go tool's rule is kept so that existing
//! pipelines keep working: a run that did not complete is 1, a completed run with a failed
//! connection is 2, anything else 0. Thresholds add 3: the run completed but a threshold failed.
//! Where the user's intent is plain a threshold is implicit: with `--hold` every connection must
//! still be open at the end, with `--expect*` every *established* connection must be verified,
//! with `--probe-at-end` every connection *probed* (still open when the hold ended) must be
//! alive. The implicit `verified` and `alive` are measured against those bases, so that they say
//! what the check found and nothing else (a dial that failed is the business of exit 2 or of an
//! `errors` threshold, a closure that of `held`); a written threshold's percentage is always of
//! the connections asked for. With nothing established or nothing probed, the implicit
//! threshold holds (0 of 0: nothing failed its check). An explicit threshold on the same metric
//! replaces the implicit one, and an explicit `errors` threshold replaces the rule of exit 2.
//!
//! Precedence: 1 (incomplete) before 2 (a failed connection) before 3 (a threshold) before 0.

use std::time::Duration;

use crate::config::{Bound, Metric, Op, Stat, Threshold};
use crate::results::limit::Answer;
use crate::results::stats::LatencyStats;
use crate::results::{Counts, RunResult, StopReason};

/// Exit code: every connection ended Established or Closed, none pending.
pub const EXIT_OK: i32 = 0;
/// Exit code: the run did not complete or could not start.
pub const EXIT_INCOMPLETE: i32 = 1;
/// Exit code: the run completed and some connection ended in Error.
pub const EXIT_ERRORS: i32 = 2;
/// Exit code: the run completed but a threshold failed.
pub const EXIT_THRESHOLD: i32 = 3;

/// What a metric measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measured {
    /// A number of connections, of `of` (the base of percentages).
    Count {
        /// The count.
        n: u64,
        /// The base: connections asked for, established or probed, as `base` says.
        of: u64,
        /// What `of` counts.
        base: Base,
    },
    /// A duration; `None` when there was nothing to measure.
    Time(Option<Duration>),
}

/// What the base of a count threshold counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The connections asked for (`--connections`): every written threshold, implicit `held`.
    Connections,
    /// The connections established (Established + Closed): the implicit `verified`.
    Established,
    /// The connections probed at the end of the hold (those still open): the implicit `alive`.
    Probed,
}

/// One threshold, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The threshold.
    pub threshold: Threshold,
    /// Implicit (from --hold, --expect*, --probe-at-end) rather than written.
    pub implicit: bool,
    /// The value measured.
    pub measured: Measured,
    /// Whether it holds.
    pub pass: bool,
}

/// The verdict of a run: its thresholds, judged, and the exit code.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Every threshold, the written ones first, in order.
    pub thresholds: Vec<Judged>,
    /// The process exit code.
    pub exit_code: i32,
}

/// The implicit thresholds of a run, per the checks it asked for.
pub fn implicit_thresholds(r: &RunResult) -> Vec<Threshold> {
    let load = &r.identity.load;
    let all = |expr: &str, metric| Threshold {
        expr: expr.to_string(),
        metric,
        op: Op::Ge,
        value: Bound::Percent(100.0),
    };
    let mut out = Vec::new();
    if !load.hold.is_zero() {
        out.push(all("held>=100%", Metric::Held));
    }
    if load.checks.expect.is_some() {
        out.push(all("verified>=100%", Metric::Verified));
    }
    if load.checks.probe_at_end.is_some() {
        out.push(all("alive>=100%", Metric::Alive));
    }
    out
}

/// Judges a run against its written thresholds and the implicit ones they do not replace.
/// A `find-limit` search has no implicit thresholds and finds its limit through failures, so
/// errors decide nothing; a search a signal ended before its answer did not complete.
pub fn judge(r: &RunResult, written: &[Threshold]) -> Verdict {
    let mut thresholds: Vec<Judged> = written
        .iter()
        .map(|t| judge_one(r, t.clone(), false))
        .collect();
    if r.limit.is_none() {
        for t in implicit_thresholds(r) {
            if !written.iter().any(|w| w.metric == t.metric) {
                thresholds.push(judge_one(r, t, true));
            }
        }
    }
    let errors_written = written.iter().any(|t| t.metric == Metric::Errors);
    // A check or a probe a signal cut short was not judged: the run did not complete.
    let unjudged = r.verification.interrupted > 0 || r.probe.is_some_and(|p| p.interrupted > 0);
    let incomplete = match &r.limit {
        Some(l) => l.answer == Answer::Interrupted || r.stop == StopReason::Aborted,
        None => r.counts.pending() || unjudged,
    };
    let exit_code = if incomplete {
        EXIT_INCOMPLETE
    } else if r.counts.error > 0 && !errors_written && r.limit.is_none() {
        EXIT_ERRORS
    } else if thresholds.iter().any(|t| !t.pass) {
        EXIT_THRESHOLD
    } else {
        EXIT_OK
    };
    Verdict {
        thresholds,
        exit_code,
    }
}

fn judge_one(r: &RunResult, threshold: Threshold, implicit: bool) -> Judged {
    let measured = match (implicit, measure(r, threshold.metric)) {
        (true, Measured::Count { n, .. }) => match threshold.metric {
            // Out of those judged: a connection a signal left unjudged neither passes nor
            // fails the check (the run did not complete: exit code 1 says so).
            Metric::Verified => Measured::Count {
                n,
                of: r.verification.checked - r.verification.interrupted,
                base: Base::Established,
            },
            Metric::Alive => Measured::Count {
                n,
                of: r.probe.map_or(0, |p| p.probed - p.interrupted),
                base: Base::Probed,
            },
            _ => Measured::Count {
                n,
                of: r.counts.total,
                base: Base::Connections,
            },
        },
        (_, measured) => measured,
    };
    let pass = holds(&measured, threshold.metric, threshold.op, threshold.value);
    Judged {
        threshold,
        implicit,
        measured,
        pass,
    }
}

/// The value of `metric` in `r`; a count is out of the connections asked for (the base of a
/// written threshold's percentage).
pub fn measure(r: &RunResult, metric: Metric) -> Measured {
    let of = r.counts.total;
    let count = |n| Measured::Count {
        n,
        of,
        base: Base::Connections,
    };
    let stat = |s: &LatencyStats, stat: Stat| {
        Measured::Time(match stat {
            Stat::Min => s.summary().map(|x| x.min),
            Stat::Max => s.summary().map(|x| x.max),
            Stat::P50 => s.quantile(0.5),
            Stat::P90 => s.quantile(0.9),
            Stat::P99 => s.quantile(0.99),
        })
    };
    match metric {
        Metric::Established => count(r.counts.ever_established()),
        // Open when the hold ended: the probe that follows may end some, and that is its
        // finding, not the hold's.
        Metric::Held => count(r.hold.map_or(r.counts.established, |h| h.open_at_end)),
        Metric::Verified => count(r.verification.verified),
        Metric::Closed => count(r.counts.closed),
        Metric::ClosedAtOnce => count(r.closures.at_once),
        Metric::Errors => count(r.counts.error),
        Metric::Retransmitted => count(r.retransmitted),
        Metric::Alive => count(r.probe.map_or(0, |p| p.alive)),
        Metric::Connect(s) => stat(&r.connect, s),
        Metric::FirstByte(s) => stat(&r.verification.first_byte, s),
        Metric::Lifetime(s) => stat(&r.closures.lifetime, s),
        Metric::Limit => count(r.limit.as_ref().map_or(0, |l| l.held)),
    }
}

/// Whether `measured OP value` holds. A duration with nothing measured fails, except a
/// lifetime bounded from below: no connection was closed, so none lived less.
fn holds(measured: &Measured, metric: Metric, op: Op, value: Bound) -> bool {
    let cmp = |a: f64, b: f64| match op {
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Eq => a == b,
    };
    match (*measured, value) {
        (Measured::Count { n, .. }, Bound::Count(c)) => cmp(n as f64, c as f64),
        (Measured::Count { n, of, .. }, Bound::Percent(p)) => {
            // n / of compared with p %, without dividing: n × 100 against p × of.
            cmp(n as f64 * 100.0, p * of as f64)
        }
        (Measured::Time(Some(d)), Bound::Time(t)) => cmp(d.as_secs_f64(), t.as_secs_f64()),
        (Measured::Time(None), Bound::Time(_)) => {
            matches!(metric, Metric::Lifetime(_)) && matches!(op, Op::Gt | Op::Ge)
        }
        // The parser pairs time metrics with durations and counts with counts.
        _ => false,
    }
}

/// The exit code of several runs (one per target): the worst of them, by the same precedence
/// as one run's (1 did not complete, before 2 errors, before 3 a threshold failed, before 0).
pub fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    let rank = |c: i32| match c {
        EXIT_INCOMPLETE => 3,
        EXIT_ERRORS => 2,
        EXIT_THRESHOLD => 1,
        _ => 0,
    };
    codes
        .into_iter()
        .max_by_key(|&c| rank(c))
        .unwrap_or(EXIT_OK)
}

/// The process exit code the Go tool used for a run that ended with `counts`: 1 when some
/// connection was never dialed (not started, or not openable on this machine) or was still
/// dialing, else 2 when some failed, else 0.
pub fn exit_code(counts: &Counts) -> i32 {
    if counts.pending() {
        EXIT_INCOMPLETE
    } else if counts.error > 0 {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_of_several_runs_follows_one_runs_precedence() {
        assert_eq!(worst([EXIT_OK, EXIT_THRESHOLD, EXIT_OK]), EXIT_THRESHOLD);
        assert_eq!(worst([EXIT_THRESHOLD, EXIT_ERRORS]), EXIT_ERRORS);
        assert_eq!(
            worst([EXIT_ERRORS, EXIT_INCOMPLETE, EXIT_OK]),
            EXIT_INCOMPLETE
        );
        assert_eq!(worst([EXIT_OK, EXIT_OK]), EXIT_OK);
        assert_eq!(worst([]), EXIT_OK);
    }
    use crate::config::Checks;
    use crate::results::{ConnState, ProbeOutcome};

    fn t(metric: Metric, op: Op, value: Bound) -> Threshold {
        Threshold {
            expr: format!("{metric:?}"),
            metric,
            op,
            value,
        }
    }

    fn result(total: u64, established: u64, closed: u64, error: u64) -> RunResult {
        let mut r = RunResult {
            counts: Counts {
                total,
                established,
                closed,
                error,
                ..Counts::default()
            },
            max_established: established + closed,
            ..RunResult::default()
        };
        r.identity.load.hold = Duration::ZERO;
        r
    }

    #[test]
    fn counts_and_percentages() {
        let r = result(200, 150, 50, 0);
        let held = |op, value| judge_one(&r, t(Metric::Held, op, value), false).pass;
        assert!(held(Op::Ge, Bound::Count(150)));
        assert!(!held(Op::Gt, Bound::Count(150)));
        assert!(held(Op::Ge, Bound::Percent(75.0)));
        assert!(!held(Op::Ge, Bound::Percent(75.5)));
        assert!(held(Op::Eq, Bound::Count(150)));
        let closed = judge_one(&r, t(Metric::Closed, Op::Eq, Bound::Count(0)), false);
        assert!(!closed.pass);
        assert_eq!(
            closed.measured,
            Measured::Count {
                n: 50,
                of: 200,
                base: Base::Connections
            }
        );
    }

    #[test]
    fn durations_with_and_without_samples() {
        let mut r = result(3, 3, 0, 0);
        for ms in [1, 2, 40] {
            r.connect.record(Duration::from_millis(ms));
        }
        let connect_max = t(
            Metric::Connect(Stat::Max),
            Op::Lt,
            Bound::Time(Duration::from_millis(50)),
        );
        assert!(judge_one(&r, connect_max.clone(), false).pass);
        r.connect.record(Duration::from_millis(60));
        assert!(!judge_one(&r, connect_max, false).pass);
        // Nothing measured: a first-byte bound fails; a lifetime lower bound holds (none closed
        // early) and an upper one fails.
        let ttfb = t(
            Metric::FirstByte(Stat::P99),
            Op::Lt,
            Bound::Time(Duration::from_secs(1)),
        );
        assert!(!judge_one(&r, ttfb, false).pass);
        let long = Bound::Time(Duration::from_secs(30));
        assert!(judge_one(&r, t(Metric::Lifetime(Stat::Min), Op::Ge, long), false).pass);
        assert!(!judge_one(&r, t(Metric::Lifetime(Stat::Max), Op::Le, long), false).pass);
    }

    #[test]
    fn implicit_thresholds_and_the_exit_code() {
        // --hold, one connection closed by the far side: held 199 of 200 fails the implicit
        // held>=100%: exit 3.
        let mut r = result(200, 199, 1, 0);
        r.identity.load.hold = Duration::from_secs(6);
        let v = judge(&r, &[]);
        assert_eq!(v.exit_code, EXIT_THRESHOLD);
        assert_eq!(v.thresholds.len(), 1);
        assert!(v.thresholds[0].implicit && !v.thresholds[0].pass);
        // A written threshold on the same metric replaces it.
        let v = judge(&r, &[t(Metric::Held, Op::Ge, Bound::Percent(99.0))]);
        assert_eq!(v.exit_code, EXIT_OK);
        assert_eq!(v.thresholds.len(), 1);
        // --expect and --probe-at-end add theirs.
        r.identity.load.checks = Checks {
            expect: Some(crate::config::Expect::AnyData),
            probe_at_end: Some(Duration::from_secs(3)),
            ..Checks::default()
        };
        r.verification.checked = 200;
        r.verification.verified = 200;
        r.probe = Some(ProbeOutcome {
            probed: 199,
            alive: 198,
            no_answer: 1,
            ..ProbeOutcome::default()
        });
        let v = judge(&r, &[t(Metric::Held, Op::Ge, Bound::Percent(99.0))]);
        let names: Vec<&str> = v
            .thresholds
            .iter()
            .map(|j| j.threshold.expr.as_str())
            .collect();
        assert_eq!(names, ["Held", "verified>=100%", "alive>=100%"]);
        // 198 alive of the 199 probed (the one the far side closed was not): fails.
        assert_eq!(
            v.thresholds[2].measured,
            Measured::Count {
                n: 198,
                of: 199,
                base: Base::Probed
            }
        );
        assert_eq!(v.exit_code, EXIT_THRESHOLD);
        // Errors: exit 2 (the Go rule) unless a written errors threshold replaces it.
        let mut r = result(10, 9, 0, 1);
        assert_eq!(judge(&r, &[]).exit_code, EXIT_ERRORS);
        let allow_one = t(Metric::Errors, Op::Le, Bound::Count(1));
        assert_eq!(
            judge(&r, std::slice::from_ref(&allow_one)).exit_code,
            EXIT_OK
        );
        r.counts.error = 2;
        r.counts.established = 8;
        assert_eq!(
            judge(&r, std::slice::from_ref(&allow_one)).exit_code,
            EXIT_THRESHOLD
        );
        // Incomplete wins over everything.
        r.counts.established = 7;
        r.counts.not_initiated = 1;
        assert_eq!(judge(&r, &[allow_one]).exit_code, EXIT_INCOMPLETE);
    }

    /// The implicit `verified` counts the established connections, the implicit `alive` the
    /// probed ones; written thresholds count the connections asked for.
    #[test]
    fn implicit_checks_are_measured_against_what_was_checked() {
        // 10 asked, 5 refused (allowed by a written errors threshold), 5 established and
        // verified: the implicit verified>=100% holds, 5 of 5 established.
        let mut r = result(10, 5, 0, 5);
        r.identity.load.checks.expect = Some(crate::config::Expect::AnyData);
        r.verification.checked = 5;
        r.verification.verified = 5;
        let errors = t(Metric::Errors, Op::Le, Bound::Percent(50.0));
        let v = judge(&r, std::slice::from_ref(&errors));
        assert_eq!(v.exit_code, EXIT_OK);
        assert_eq!(
            v.thresholds[1].measured,
            Measured::Count {
                n: 5,
                of: 5,
                base: Base::Established
            }
        );
        // Written, the same threshold is a percentage of --connections: 5 of 10 fails.
        let written = t(Metric::Verified, Op::Ge, Bound::Percent(100.0));
        let v = judge(&r, &[errors.clone(), written]);
        assert_eq!(v.exit_code, EXIT_THRESHOLD);
        assert_eq!(
            v.thresholds[1].measured,
            Measured::Count {
                n: 5,
                of: 10,
                base: Base::Connections
            }
        );
        // The probe: 3 of the 5 were closed by the far side before it; the 2 probed answered.
        let mut r = result(5, 2, 3, 0);
        r.identity.load.checks.probe_at_end = Some(Duration::from_secs(3));
        r.probe = Some(ProbeOutcome {
            probed: 2,
            alive: 2,
            ..ProbeOutcome::default()
        });
        let v = judge(&r, &[]);
        assert!(v.thresholds[0].pass, "{v:?}");
        assert_eq!(v.exit_code, EXIT_OK);
        // Nothing left open to probe: 0 of 0 probed holds (nothing failed the probe).
        r.counts.established = 0;
        r.counts.closed = 5;
        r.probe = Some(ProbeOutcome::default());
        let v = judge(&r, &[]);
        assert!(v.thresholds[0].pass, "{v:?}");
        assert_eq!(
            v.thresholds[0].measured,
            Measured::Count {
                n: 0,
                of: 0,
                base: Base::Probed
            }
        );
    }

    #[test]
    fn exit_codes_follow_the_go_tool() {
        let mut c = Counts::new(2);
        assert_eq!(exit_code(&c), 1);
        c.shift(ConnState::NotInitiated, ConnState::Error);
        assert_eq!(
            exit_code(&c),
            1,
            "pending wins over errors, as in the Go tool"
        );
        c.shift(ConnState::NotInitiated, ConnState::Established);
        assert_eq!(exit_code(&c), 2);
        c.shift(ConnState::Error, ConnState::Closed);
        assert_eq!(exit_code(&c), 0);
        c.shift(ConnState::Closed, ConnState::LocalError);
        assert_eq!(
            exit_code(&c),
            1,
            "a connection not openable here was never dialed"
        );
        assert_eq!(c.not_dialed(), 1);
    }
}
