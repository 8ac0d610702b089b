//! JUnit XML for CI dashboards (GitLab, Jenkins, GitHub's JUnit report actions): a run as the
//! test report those systems already know how to show, so that a failed capacity check reads
//! like a failed test, with its numbers, next to the pipeline's other tests.
//!
//! One `<testsuites name="tcpgoon">`; one `<testsuite>` per target (`host:port`) with the run's
//! elapsed time, its start, a few properties (version, target, connections asked, exit code)
//! and the whole text report as `system-out`; in it one test case per threshold (written and
//! implicit, named by the expression: `held>=100%`), one for the Go tool's rule that no
//! connection may fail (exit code 2), and one for the run having completed (exit code 1). A
//! run spread over several targets adds a case per target (`tcpgoon.targets`), failing when
//! one of its connections failed or was closed.
//! A failure's numbers are in the element's text, not only in its `message` attribute: GitLab
//! shows the text and ignores the attribute. The XML is written by `quick-junit`, never by
//! hand.
//!
//! Nothing here reads a clock: the same result and verdict give the same bytes, so that
//! `tcpgoon report FILE.json --format junit` reproduces the file `--export-junit` wrote.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::config::Metric;
use crate::report;
use crate::report::godur::{go_duration, truncate_micros};
use crate::results::stats::ErrorTally;
use crate::results::{HoldEnd, RunResult, StopReason, TargetShare};
use crate::verdict::{Verdict, EXIT_INCOMPLETE};

/// The name of the `<testsuites>` element.
pub const REPORT_NAME: &str = "tcpgoon";
/// The class of the thresholds' test cases.
pub const THRESHOLDS_CLASS: &str = "tcpgoon.thresholds";
/// The class of the per-target cases of a run spread over several targets.
pub const TARGETS_CLASS: &str = "tcpgoon.targets";
/// The class of the two rules' test cases ([`NO_ERRORS`], [`COMPLETED`]).
pub const RULES_CLASS: &str = "tcpgoon.rules";
/// The test case of the rule of exit code 2: no connection ended in Error.
pub const NO_ERRORS: &str = "no connection errors";
/// The test case of the rule of exit code 1: the run completed.
pub const COMPLETED: &str = "run completed";
/// `find-limit`'s test case: the search gave its answer (the limit, or a lower bound).
pub const LIMIT: &str = "limit search";

/// The JUnit XML document of one run.
pub fn render(result: &RunResult, verdict: &Verdict) -> String {
    render_runs(&[(result, verdict)])
}

/// The JUnit XML document of several runs, one test suite each (a run has one target today;
/// runs against several targets, or from several machines, each bring their own suite).
pub fn render_runs(runs: &[(&RunResult, &Verdict)]) -> String {
    let mut doc = Report::new(REPORT_NAME);
    for (result, verdict) in runs {
        doc.add_test_suite(suite(result, verdict));
    }
    // Into memory, from strings: nothing can fail (no I/O error, always UTF-8).
    doc.to_string()
        .expect("a JUnit report serializes into memory")
}

/// The JUnit XML document of runs one target each, and of the targets a signal left not run:
/// each of those a suite whose one case, [`COMPLETED`], failed, so that a dashboard counts the
/// incomplete runs as the exit code does.
pub fn render_suite(runs: &[(&RunResult, &Verdict)], not_run: &[String]) -> String {
    let mut doc = Report::new(REPORT_NAME);
    for (result, verdict) in runs {
        doc.add_test_suite(suite(result, verdict));
    }
    for label in not_run {
        let mut suite = TestSuite::new(label.as_str());
        let why = "not run: a signal ended the runs before this target";
        let mut case = failed(COMPLETED, "incomplete", why, why.to_string());
        case.set_classname(RULES_CLASS);
        suite.add_test_case(case);
        doc.add_test_suite(suite);
    }
    doc.to_string()
        .expect("a JUnit report serializes into memory")
}

/// `host:port`, with an IPv6 literal in brackets.
fn target(r: &RunResult) -> String {
    let t = &r.identity.target;
    if t.port == 0 {
        t.display.clone()
    } else if t.host.contains(':') {
        format!("[{}]:{}", t.host, t.port)
    } else {
        format!("{}:{}", t.host, t.port)
    }
}

/// Whole milliseconds: what JUnit shows, and nothing finer that a saved report could round
/// differently.
fn millis(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().min(u64::MAX as u128) as u64)
}

fn timestamp(at: SystemTime) -> chrono::DateTime<chrono::FixedOffset> {
    let ms = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(i64::MAX as u128) as i64);
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .fixed_offset()
}

fn suite(r: &RunResult, v: &Verdict) -> TestSuite {
    let name = target(r);
    let mut suite = TestSuite::new(name.as_str());
    suite
        .set_timestamp(timestamp(r.identity.started_at))
        .set_time(millis(r.elapsed))
        .add_properties([
            Property::new("tcpgoon.version", &r.identity.version),
            Property::new("target", &name),
            Property::new("connections", r.identity.load.connections.to_string()),
            Property::new("exit_code", v.exit_code.to_string()),
        ])
        .set_system_out(report::text(r, v));
    for j in &v.thresholds {
        let line = report::threshold_line(j);
        let mut case = if j.pass {
            let mut case = TestCase::new(j.threshold.expr.as_str(), TestCaseStatus::success());
            case.set_system_out(line);
            case
        } else {
            failed(
                &j.threshold.expr,
                "threshold",
                &line,
                format!("{line}\n{}", counts(r)),
            )
        };
        case.set_classname(THRESHOLDS_CLASS);
        suite.add_test_case(case);
    }
    match &r.limit {
        // A search finds its limit through failures: its case is the answer, and the search
        // completing (a signal or a lost worker leaves a lower bound only).
        Some(l) => {
            suite.add_property(Property::new("limit.held", l.held.to_string()));
            suite.add_property(Property::new("limit.answer", l.answer.name()));
            let answer = report::limit::block(r);
            let first = answer.lines().next().unwrap_or_default().to_string();
            let mut case = if v.exit_code == crate::verdict::EXIT_INCOMPLETE {
                failed(LIMIT, "incomplete", &first, answer.clone())
            } else {
                let mut case = TestCase::new(LIMIT, TestCaseStatus::success());
                case.set_system_out(answer.clone());
                case
            };
            case.set_classname(RULES_CLASS);
            suite.add_test_case(case);
        }
        None => {
            suite.add_test_case(no_errors(r, v));
            suite.add_test_case(completed(r, v));
        }
    }
    for (i, t) in r.per_target.iter().enumerate() {
        suite.add_test_case(target_share(r, i, t));
    }
    suite
}

/// A run spread over several targets: a case per target, passing when every connection dealt
/// to it was established and is still held (no error, no closure by the far side).
fn target_share(r: &RunResult, i: usize, t: &TargetShare) -> TestCase {
    let name = r.target_label(i);
    let c = &t.counts;
    let line = format!(
        "{name}: {} held of {} established, {} closed, {} errors, {} local errors",
        t.held(),
        c.established,
        c.closed,
        c.errors,
        c.local_errors
    );
    let mut case = if c.errors + c.closed + c.local_errors == 0 {
        let mut case = TestCase::new(format!("target {name}"), TestCaseStatus::success());
        case.set_system_out(line);
        case
    } else {
        failed(&format!("target {name}"), "target", &line, line.clone())
    };
    case.set_classname(TARGETS_CLASS);
    case
}

/// A failed test case: `message` for the attribute, `text` (with the numbers) for the element.
fn failed(name: &str, kind: &str, message: &str, text: String) -> TestCase {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status
        .set_message(message)
        .set_type(kind)
        .set_description(text);
    TestCase::new(name, status)
}

/// The Go status line of the end, and this machine's failures when there were some.
fn counts(r: &RunResult) -> String {
    let mut out = report::status_line(&r.counts);
    if r.counts.local_error > 0 {
        let _ = write!(
            out,
            "\nLocal errors (never dialed, counted in NotInitiated): {}",
            reasons(&r.local_errors)
        );
    }
    out
}

/// `3 connection refused, 2 dial timeout`.
fn reasons(tally: &ErrorTally) -> String {
    tally
        .sorted()
        .into_iter()
        .map(|(errno, n)| format!("{n} {}", report::errno_text(errno)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rule of exit code 2, unless a written `errors` threshold replaced it (then skipped,
/// saying which threshold judges instead).
fn no_errors(r: &RunResult, v: &Verdict) -> TestCase {
    let written = v
        .thresholds
        .iter()
        .find(|j| !j.implicit && j.threshold.metric == Metric::Errors);
    let c = &r.counts;
    let mut case = if let Some(j) = written {
        let mut status = TestCaseStatus::skipped();
        status.set_message(format!(
            "replaced by the written threshold {}",
            j.threshold.expr
        ));
        TestCase::new(NO_ERRORS, status)
    } else if c.error > 0 {
        let message = format!("{} of {} connections failed", c.error, c.total);
        let by_reason = reasons(&r.errors);
        let text = if by_reason.is_empty() {
            format!("{message}\n{}", counts(r))
        } else {
            format!("{message}: {by_reason}\n{}", counts(r))
        };
        failed(NO_ERRORS, "connection errors", &message, text)
    } else {
        let mut case = TestCase::new(NO_ERRORS, TestCaseStatus::success());
        case.set_system_out(format!("0 of {} connections failed", c.total));
        case
    };
    case.set_classname(RULES_CLASS);
    case
}

/// The rule of exit code 1: every connection dialed and settled, every check judged. It passes
/// when an interrupt ended the hold after that (exit code 0 by design, see the README), but
/// then says so, with the stop reason and how the hold ended: the run did not run its course.
fn completed(r: &RunResult, v: &Verdict) -> TestCase {
    let mut case = if v.exit_code == EXIT_INCOMPLETE {
        let c = &r.counts;
        let mut why = Vec::new();
        match r.stop {
            StopReason::Completed => {}
            StopReason::Interrupted => why.push("interrupted by a signal".to_string()),
            StopReason::Aborted => why.push("aborted by a second signal".to_string()),
        }
        if c.not_initiated > 0 {
            // Never dialed, or lost with a worker (or shard) that died before its report.
            why.push(format!("{} of {} not initiated", c.not_initiated, c.total));
        }
        if c.dialing > 0 {
            why.push(format!("{} of {} still dialing", c.dialing, c.total));
        }
        if c.local_error > 0 {
            why.push(format!(
                "{} of {} could not be opened on this machine",
                c.local_error, c.total
            ));
        }
        if r.verification.interrupted > 0 {
            why.push(format!(
                "{} checks of the data not judged",
                r.verification.interrupted
            ));
        }
        if let Some(p) = r.probe.filter(|p| p.interrupted > 0) {
            why.push(format!("{} probes not judged", p.interrupted));
        }
        if why.is_empty() {
            why.push("exit code 1".to_string());
        }
        let message = format!("the run did not complete: {}", why.join("; "));
        let text = format!("{message}\n{}", counts(r));
        failed(COMPLETED, "incomplete", &message, text)
    } else {
        let mut case = TestCase::new(COMPLETED, TestCaseStatus::success());
        let done = format!(
            "every connection dialed and settled, every check judged (exit code {})",
            v.exit_code
        );
        case.set_system_out(match crate::export::html::ended_early(r) {
            None => done,
            Some(how) => format!("{how} ({}); {done}", stop_and_hold(r)),
        });
        case
    };
    case.set_classname(RULES_CLASS);
    case
}

/// The stop reason and how the hold ended, as the JSON report names them:
/// `stop_reason: interrupted, hold ended: interrupted after 1.9s of 30s asked`.
fn stop_and_hold(r: &RunResult) -> String {
    let stop = match r.stop {
        StopReason::Completed => "completed",
        StopReason::Interrupted => "interrupted",
        StopReason::Aborted => "aborted",
    };
    let mut out = format!("stop_reason: {stop}");
    if let Some(h) = r.hold {
        let ended = match h.ended {
            HoldEnd::Full => "full",
            HoldEnd::NothingLeft => "nothing_left",
            HoldEnd::Interrupted => "interrupted",
        };
        let _ = write!(
            out,
            ", hold ended: {ended} after {} of {} asked",
            go_duration(truncate_micros(h.held)),
            go_duration(truncate_micros(h.asked))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Bound, Op, Threshold};
    use crate::results::Counts;
    use crate::verdict::judge;

    fn result(total: u64, established: u64, error: u64, not_initiated: u64) -> RunResult {
        let mut r = RunResult {
            counts: Counts {
                total,
                established,
                error,
                not_initiated,
                ..Counts::default()
            },
            max_established: established,
            ..RunResult::default()
        };
        r.identity.load.connections = total;
        r.identity.target.host = "::1".to_string();
        r.identity.target.port = 7000;
        r.elapsed = Duration::from_micros(1_234_567);
        r
    }

    fn errors_at_most(n: u64) -> Threshold {
        Threshold {
            expr: format!("errors<={n}"),
            metric: Metric::Errors,
            op: Op::Le,
            value: Bound::Count(n),
        }
    }

    #[test]
    fn a_run_with_errors_fails_the_rule_with_its_numbers() {
        let r = result(10, 7, 3, 0);
        let xml = render(&r, &judge(&r, &[]));
        assert!(xml.contains(r#"<testsuite name="[::1]:7000""#), "{xml}");
        assert!(xml.contains(r#"time="1.234""#), "{xml}");
        assert!(
            xml.contains("3 of 10 connections failed\nTotal: 10, Dialing: 0, Established: 7"),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="exit_code" value="2"/>"#),
            "{xml}"
        );
    }

    #[test]
    fn a_written_errors_threshold_replaces_the_rule() {
        let r = result(10, 7, 3, 0);
        let xml = render(&r, &judge(&r, &[errors_at_most(1)]));
        assert!(
            xml.contains(r#"<skipped message="replaced by the written threshold errors&lt;=1"/>"#),
            "{xml}"
        );
        assert!(xml.contains("✗ errors&lt;=1: 3 of 10 (30.0%)"), "{xml}");
    }

    /// A hold ended by an interrupt, every connection made: the case passes (exit code 0) but
    /// says the interrupt ended the hold, with the stop reason and how the hold ended.
    #[test]
    fn an_interrupted_hold_passes_the_completed_case_saying_so() {
        let mut r = result(10, 10, 0, 0);
        r.stop = StopReason::Interrupted;
        r.hold = Some(crate::results::HoldOutcome {
            asked: Duration::from_secs(30),
            held: Duration::from_micros(1_900_567),
            ended: HoldEnd::Interrupted,
            open_at_end: 10,
        });
        let v = judge(&r, &[]);
        assert_eq!(v.exit_code, crate::verdict::EXIT_OK);
        let xml = render(&r, &v);
        assert!(
            xml.contains(
                "<system-out>the hold was ended early by an interrupt (stop_reason: interrupted, \
                 hold ended: interrupted after 1.900567s of 30s asked); every connection dialed \
                 and settled, every check judged (exit code 0)</system-out>"
            ),
            "{xml}"
        );
        r.stop = StopReason::Completed;
        r.hold = None;
        let xml = render(&r, &judge(&r, &[]));
        assert!(
            xml.contains("<system-out>every connection dialed and settled, every check judged (exit code 0)</system-out>"),
            "{xml}"
        );
    }

    #[test]
    fn an_incomplete_run_fails_the_completed_case() {
        let r = result(10, 7, 0, 3);
        let v = judge(&r, &[]);
        assert_eq!(v.exit_code, EXIT_INCOMPLETE);
        let xml = render(&r, &v);
        assert!(
            xml.contains("the run did not complete: 3 of 10 not initiated"),
            "{xml}"
        );
        assert_eq!(render(&r, &v), xml, "the same run, the same bytes");
    }
}
