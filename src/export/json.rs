//! The JSON report: one document per run, its schema (`docs/report.schema.json`) generated
//! from these types, and the way back from a saved document to the run's result.
//!
//! Names are snake_case with the unit in the name (`connect_time.p99_us`, `ramp.span_us`).
//! Durations are microseconds as decimals that keep every nanosecond (`1234.567`), so that the
//! text report rendered again from a saved document is identical to the one the run printed.
//! Each distribution carries its exact sums as decimal strings (they can exceed what a JSON
//! number holds exactly) and its HDR histogram (V2 with deflate, base64): merging the
//! distributions of several runs from these is exact. `schema_version` changes when a field
//! changes meaning or goes away; new fields may appear within a version.

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{
    Bound, Checks, CloseMode, Expect, Keepalive, LoadConfig, Metric, Op, Pacing, Shard, Threshold,
};
use crate::config::{MaxFrom, StopOn};
use crate::results::limit::{Answer, Failure, Limit, Signal, Tally};
use crate::results::stats::{ErrorTally, LatencyStats};
use crate::results::{
    Closures, Counts, HoldEnd, HoldOutcome, Mismatch, ProbeOutcome, Ramp, RunIdentity, RunResult,
    ShareCounts, Snapshot, StopReason, TargetName, TargetShare, Timeline, Verification,
    CLOSED_AT_ONCE,
};
use crate::units::escape_bytes;
use crate::verdict::{Base, Judged, Measured, Verdict};

/// The version of the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// A run, as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// The version of this document's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The program that wrote it.
    pub tool: Tool,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// The command line, as given.
    pub command_line: Vec<String>,
    /// Where the targets came from, as the text said it before the run (the Eureka
    /// registry's instances and those skipped, targets listed twice); empty for `HOST PORT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discovery: Vec<String>,
    /// The effective configuration.
    pub config: Config,
    /// What was dialed: the name as typed and the addresses used.
    pub targets: Vec<Target>,
    /// Connections per state at the end.
    pub counts: StateCounts,
    /// The most connections established at the same moment.
    pub max_concurrent: u64,
    /// Connections still open at the end of the hold (at the end of the run without one).
    pub held: u64,
    /// Wall time of the run.
    pub elapsed_us: f64,
    /// Time from `connect()` to the handshake, as the kernel saw it.
    pub connect_time: Distribution,
    /// Time from `connect()` to the failure, for the connections that failed.
    pub time_to_error: Distribution,
    /// Target errors by reason.
    pub errors: Vec<Reason>,
    /// Connections this machine could not open, by reason (never dialed).
    pub local_errors: Vec<Reason>,
    /// The dial phase.
    pub ramp: RampData,
    /// Connections whose handshake needed SYN retransmits.
    pub retransmitted: u64,
    /// Closures by the far side, by cause, with lifetimes.
    pub closures: ClosureData,
    /// The end-to-end checks (`--expect*`), when asked.
    pub verification: Option<VerificationData>,
    /// The hold, when asked.
    pub hold: Option<HoldData>,
    /// The end-of-hold probe, when asked.
    pub probe: Option<ProbeData>,
    /// Per source address, when `--source` gave several.
    pub per_source: Vec<SourceData>,
    /// Per target, when the connections were spread over several (`--spread`).
    #[serde(default)]
    pub per_target: Vec<TargetData>,
    /// Connections by state over the run.
    pub timeline: TimelineData,
    /// Every threshold, judged: the written ones first, then the implicit ones.
    pub thresholds: Vec<ThresholdData>,
    /// The process exit code the run ended with.
    pub exit_code: i32,
    /// Why the run ended: `completed`, `interrupted` (a first signal) or `aborted` (a second).
    pub stop_reason: String,
    /// `find-limit`'s answer: how many connections the target held at once with every check
    /// passing, what failed first, and the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitData>,
}

/// `find-limit`'s plateaus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepData {
    /// Connections added per step.
    pub size: u64,
    /// How long each plateau is held before the next.
    pub hold_us: f64,
}

/// `find-limit`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LimitData {
    /// Connections held at once with every check passing (closed right after the handshake
    /// while older ones stayed open: never counted).
    pub held: u64,
    /// When that many were first held at once, from the start.
    pub held_at_us: Option<f64>,
    /// `found` (the target failed for good: `held` is its limit), `at_max` (no sustained
    /// failure up to `max`: at least `held`), `local_limit` (this machine could not open more:
    /// at least), `interrupted` (a signal came first: at least).
    pub answer: String,
    /// True when `held` is the target's limit, false when it is a lower bound.
    pub exact: bool,
    /// The first connection the target did not hold: its number (from 1), its signal, when.
    pub first_failure: Option<FailureData>,
    /// The first failure is the target closing every connection it held.
    pub collapse: bool,
    /// The first failure is the target closing older connections it held while newer ones
    /// stayed open (an idle timeout, an eviction).
    #[serde(default)]
    pub evicted: bool,
    /// The newest connection counted as held (its number, from 1; 0 for none).
    #[serde(default)]
    pub last_held: u64,
    /// Failing connections from the stopping streak on, by their first signal.
    pub failures: FailureTally,
    /// Their dial errors by reason.
    #[serde(default)]
    pub error_reasons: Vec<Reason>,
    /// Of those, connections the target had held and then closed.
    pub held_then_closed: u64,
    /// The shortest lifetime of those.
    #[serde(default)]
    pub held_then_closed_lifetime_min_us: Option<f64>,
    /// The longest lifetime of those.
    #[serde(default)]
    pub held_then_closed_lifetime_max_us: Option<f64>,
    /// Failures at the end of a search that gave a lower bound, too few to stop it.
    #[serde(default)]
    pub trailing: u64,
    /// The longest time from handshake to closure among the rejected connections.
    pub rejected_within_us: Option<f64>,
    /// Failures that a later passing connection forgave.
    pub blips: u64,
    /// The first of them.
    pub first_blip: Option<FailureData>,
    /// When dialing stopped, from the start.
    pub dialing_stopped_us: Option<f64>,
    /// The OS error of the first connection this machine could not open.
    pub local_error: Option<Reason>,
    /// The most connections the search would open, and where that number came from: `flag`
    /// (`--max`), `files` (the open-files limit) or `ports` (the free local ports).
    pub max: u64,
    /// Where `max` came from.
    pub max_from: String,
    /// The signals watched (`--stop-on`).
    pub stop_on: Vec<String>,
    /// Failures in a row that stop the search (`--sustained`).
    pub sustained: u32,
    /// `--connect-p99`, if given.
    pub connect_p99_us: Option<f64>,
    /// Whether `--expect*` checks were part of passing.
    pub checked: bool,
}

/// One failing connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailureData {
    /// Its number in the plan, from 1.
    pub connection: u64,
    /// `error`, `timeout`, `retransmit`, `closed`, `rejected`, `silent`, `mismatched` or `slow`.
    pub signal: String,
    /// For `error`: the OS error.
    pub errno: Option<i32>,
    /// When it was seen, from the start.
    pub at_us: f64,
}

/// Failing connections by their first signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FailureTally {
    /// Dial errors (refused, unreachable).
    pub error: u64,
    /// Dial timeouts.
    pub timeout: u64,
    /// SYNs sent again (at the handshake, or a dial unanswered for a second).
    pub retransmit: u64,
    /// Of the retransmits, dials that then timed out.
    pub retransmit_timed_out: u64,
    /// Closed by the far side.
    pub closed: u64,
    /// Closed right after the handshake while older connections stayed open.
    pub rejected: u64,
    /// Nothing came within `--expect-timeout`.
    pub silent: u64,
    /// Other data came.
    pub mismatched: u64,
    /// The connect-time p99 above `--connect-p99`.
    pub slow: u64,
}

impl LimitData {
    fn new(l: &Limit) -> LimitData {
        let failure = |f: &Failure| FailureData {
            connection: f.conn,
            signal: f.signal.name().to_string(),
            errno: match f.signal {
                Signal::Error(e) => Some(e),
                _ => None,
            },
            at_us: us(f.at),
        };
        let t = &l.failures;
        LimitData {
            held: l.held,
            held_at_us: l.held_at.map(us),
            answer: l.answer.name().to_string(),
            exact: l.answer == Answer::Found,
            first_failure: l.first_failure.as_ref().map(failure),
            collapse: l.collapse,
            evicted: l.evicted,
            last_held: l.last_held,
            failures: FailureTally {
                error: t.errors,
                timeout: t.timeouts,
                retransmit: t.retransmits,
                retransmit_timed_out: t.retransmits_timed_out,
                closed: t.closed,
                rejected: t.rejected,
                silent: t.silent,
                mismatched: t.mismatched,
                slow: t.slow,
            },
            error_reasons: l
                .error_reasons
                .iter()
                .map(|&(errno, count)| Reason {
                    errno,
                    reason: crate::report::errno_text(errno),
                    count,
                })
                .collect(),
            held_then_closed: l.held_then_closed,
            held_then_closed_lifetime_min_us: l.held_then_closed_lifetimes.map(|(lo, _)| us(lo)),
            held_then_closed_lifetime_max_us: l.held_then_closed_lifetimes.map(|(_, hi)| us(hi)),
            trailing: l.trailing,
            rejected_within_us: l.rejected_within.map(us),
            blips: l.blips,
            first_blip: l.first_blip.as_ref().map(failure),
            dialing_stopped_us: l.dialing_stopped.map(us),
            local_error: l.local_errno.map(|errno| Reason {
                errno,
                reason: crate::report::errno_text(errno),
                count: 1,
            }),
            max: l.max,
            max_from: match l.max_from {
                Some(MaxFrom::Flag) | None => "flag",
                Some(MaxFrom::Files) => "files",
                Some(MaxFrom::Ports) => "ports",
            }
            .to_string(),
            stop_on: l
                .stop_on
                .map(|s| {
                    s.names()
                        .split(',')
                        .filter(|n| !n.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            sustained: l.sustained,
            connect_p99_us: l.connect_p99.map(us),
            checked: l.checked,
        }
    }

    fn to_limit(&self) -> Result<Limit, ReadError> {
        let failure = |f: &FailureData, field| -> Result<Failure, ReadError> {
            Ok(Failure {
                conn: f.connection,
                signal: Signal::from_name(&f.signal, f.errno.unwrap_or(0))
                    .ok_or_else(|| ReadError::Field(field, f.signal.clone()))?,
                at: from_us(field, f.at_us)?,
            })
        };
        let t = &self.failures;
        let mut stop_on = StopOn::NONE;
        for name in &self.stop_on {
            stop_on = stop_on.with(
                StopOn::named(name)
                    .ok_or_else(|| ReadError::Field("limit.stop_on", name.clone()))?,
            );
        }
        Ok(Limit {
            held: self.held,
            held_at: opt_from_us("limit.held_at_us", self.held_at_us)?,
            answer: Answer::from_name(&self.answer)
                .ok_or_else(|| ReadError::Field("limit.answer", self.answer.clone()))?,
            first_failure: self
                .first_failure
                .as_ref()
                .map(|f| failure(f, "limit.first_failure"))
                .transpose()?,
            collapse: self.collapse,
            evicted: self.evicted,
            last_held: self.last_held,
            failures: Tally {
                errors: t.error,
                timeouts: t.timeout,
                retransmits: t.retransmit,
                retransmits_timed_out: t.retransmit_timed_out,
                closed: t.closed,
                rejected: t.rejected,
                silent: t.silent,
                mismatched: t.mismatched,
                slow: t.slow,
            },
            error_reasons: self
                .error_reasons
                .iter()
                .map(|r| (r.errno, r.count))
                .collect(),
            held_then_closed: self.held_then_closed,
            held_then_closed_lifetimes: match (
                opt_from_us(
                    "limit.held_then_closed_lifetime_min_us",
                    self.held_then_closed_lifetime_min_us,
                )?,
                opt_from_us(
                    "limit.held_then_closed_lifetime_max_us",
                    self.held_then_closed_lifetime_max_us,
                )?,
            ) {
                (Some(lo), Some(hi)) => Some((lo, hi)),
                _ => None,
            },
            trailing: self.trailing,
            rejected_within: opt_from_us("limit.rejected_within_us", self.rejected_within_us)?,
            blips: self.blips,
            first_blip: self
                .first_blip
                .as_ref()
                .map(|f| failure(f, "limit.first_blip"))
                .transpose()?,
            dialing_stopped: opt_from_us("limit.dialing_stopped_us", self.dialing_stopped_us)?,
            local_errno: self.local_error.as_ref().map(|r| r.errno),
            max: self.max,
            max_from: Some(match self.max_from.as_str() {
                "files" => MaxFrom::Files,
                "ports" => MaxFrom::Ports,
                _ => MaxFrom::Flag,
            }),
            stop_on: Some(stop_on),
            sustained: self.sustained,
            connect_p99: opt_from_us("limit.connect_p99_us", self.connect_p99_us)?,
            checked: self.checked,
        })
    }
}

/// Several runs, one per target, one after another (several targets without `--spread`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Suite {
    /// The version of this document's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The program that wrote it.
    pub tool: Tool,
    /// `each`: every target got its own run of the connections asked for.
    pub mode: String,
    /// When the first run started, RFC 3339 in UTC.
    pub started_at: String,
    /// The command line, as given (credentials in URLs hidden).
    pub command_line: Vec<String>,
    /// Where the targets came from, as the text report says it: the Eureka registry's
    /// instances and those skipped, targets listed twice.
    pub discovery: Vec<String>,
    /// Every target, as the text names it, in order: the first `runs.len()` were run.
    pub targets: Vec<String>,
    /// The runs, in order, each a whole report.
    pub runs: Vec<Report>,
    /// Targets not run: a signal ended the runs before them.
    pub not_run: Vec<String>,
    /// The process exit code: the worst of the runs' (1 when some target was not run).
    pub exit_code: i32,
}

/// A saved document: one run, or a suite of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Document {
    /// Several runs, one per target.
    Suite(Box<Suite>),
    /// One run.
    Run(Box<Report>),
}

impl Suite {
    /// The fields that must hold together: the mode, the targets run and not run, and the exit
    /// code, the worst of the runs'.
    fn check(&self) -> Result<(), ReadError> {
        let field = |name, why: String| Err(ReadError::Field(name, why));
        if self.mode != "each" {
            return field("mode", format!("{:?} (a suite is `each`)", self.mode));
        }
        if self.runs.is_empty() || self.runs.len() > self.targets.len() {
            return field(
                "runs",
                format!(
                    "{} runs for {} targets (at least one, at most one per target)",
                    self.runs.len(),
                    self.targets.len()
                ),
            );
        }
        if self.not_run != self.targets[self.runs.len()..] {
            return field("not_run", "not the targets after those run".to_string());
        }
        let mut worst = crate::verdict::worst(self.runs.iter().map(|r| r.exit_code));
        if !self.not_run.is_empty() {
            worst = crate::verdict::EXIT_INCOMPLETE;
        }
        if self.exit_code != worst {
            return field(
                "exit_code",
                format!(
                    "{} but the runs make it {worst} (the worst of them, 1 with targets not run)",
                    self.exit_code
                ),
            );
        }
        Ok(())
    }

    /// The document as pretty JSON, with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a suite always serializes");
        text.push('\n');
        text
    }
}

impl Document {
    /// Reads a saved document: a suite when it has `runs`, one run otherwise.
    pub fn from_json(text: &str) -> Result<Document, ReadError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let runs = value.as_object().and_then(|o| o.get("runs")).cloned();
        let Some(serde_json::Value::Array(runs)) = runs else {
            return Report::from_json(text).map(|r| Document::Run(Box::new(r)));
        };
        // Each run is checked as a saved report of its own.
        let runs = runs
            .iter()
            .map(|r| Report::from_json(&r.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut suite: Suite = serde_json::from_value(value)?;
        if suite.schema_version != SCHEMA_VERSION {
            return Err(ReadError::Version(u64::from(suite.schema_version)));
        }
        suite.runs = runs;
        suite.check()?;
        Ok(Document::Suite(Box::new(suite)))
    }
}

/// The program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// `tcpgoon`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The effective configuration of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Config {
    /// Connections asked for.
    pub connections: u64,
    /// Gap between dials (`--sleep`), when paced by interval.
    pub interval_us: Option<f64>,
    /// Dials per second (`--rate`), when paced by rate.
    pub rate_per_s: Option<f64>,
    /// Plateaus (`find-limit --step K --step-hold T`), when paced by steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepData>,
    /// The longest a dial may take.
    pub dial_timeout_us: f64,
    /// Between status lines; none for a status at the start only.
    pub report_interval_us: Option<f64>,
    /// How long the connections are held after the ramp.
    pub hold_us: f64,
    /// Dials in flight at most.
    pub max_dialing: u64,
    /// How the connections still open are closed at the end: `fin` or `rst`.
    pub close: String,
    /// The local addresses connections leave from (empty: the kernel's choice).
    pub source_addresses: Vec<String>,
    /// `--send`, as text with escapes.
    pub send: Option<String>,
    /// `--send`'s bytes, base64 (exact, whatever they are).
    pub send_base64: Option<String>,
    /// `--expect`, as text with escapes.
    pub expect: Option<String>,
    /// `--expect`'s bytes, base64.
    pub expect_base64: Option<String>,
    /// `--expect-data`: any byte verifies.
    pub expect_data: bool,
    /// How long the expected data may take.
    pub expect_timeout_us: f64,
    /// `--keepalive`, when asked.
    pub keepalive: Option<KeepaliveData>,
    /// `--probe-timeout`, when `--probe-at-end` was asked.
    pub probe_timeout_us: Option<f64>,
    /// The part of a larger plan this run dialed (`--shard`); absent for a whole plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardData>,
}

/// The part of a plan a run dialed: connection `i` of the plan is shard `i mod count`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShardData {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards share the plan.
    pub count: u64,
    /// Connections of the whole plan (`-c`); `connections` is this shard's part of it.
    pub plan_connections: u64,
}

/// TCP keepalive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeepaliveData {
    /// Idle time before the first probe.
    pub idle_s: u64,
    /// Between probes.
    pub interval_s: u64,
    /// Unanswered probes before the connection is given up.
    pub count: u32,
}

/// One target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// The host as typed.
    pub host: String,
    /// As reports name it: `host` or `host(ip)`.
    pub display: String,
    /// The port.
    pub port: u16,
    /// The addresses dialed (`ip:port`).
    pub addresses: Vec<String>,
}

/// Connections per state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StateCounts {
    /// Connections asked for.
    pub total: u64,
    /// Never dialed (including `local_error`, as the Go lines count them).
    pub not_initiated: u64,
    /// Still dialing.
    pub dialing: u64,
    /// Established and still open.
    pub established: u64,
    /// Established, then closed by the far side.
    pub closed: u64,
    /// The dial failed.
    pub error: u64,
    /// Could not be opened on this machine (never dialed).
    pub local_error: u64,
}

/// A distribution of durations: the figures of the text report and what rebuilds it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Distribution {
    /// Samples.
    pub count: u64,
    /// Smallest (exact); none when empty.
    pub min_us: Option<f64>,
    /// Mean (truncated to the nanosecond, as the text shows it).
    pub mean_us: Option<f64>,
    /// Largest (exact).
    pub max_us: Option<f64>,
    /// Population standard deviation.
    pub stdev_us: Option<f64>,
    /// Percentiles, from the histogram (three significant digits, within min and max).
    pub p50_us: Option<f64>,
    /// 90th percentile.
    pub p90_us: Option<f64>,
    /// 99th percentile.
    pub p99_us: Option<f64>,
    /// 99.9th percentile.
    pub p999_us: Option<f64>,
    /// Exact sum of the samples in nanoseconds, a decimal string.
    pub sum_ns: String,
    /// Exact sum of the squared samples in ns², a decimal string.
    pub sum_squares_ns2: String,
    /// The HDR histogram of the samples in µs (1 µs to 1 h, 3 significant digits), V2 with
    /// deflate, base64.
    pub histogram: String,
}

/// A count per OS error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reason {
    /// The OS error number (`ETIMEDOUT` for a dial timeout).
    pub errno: i32,
    /// In words, as the text report says it.
    pub reason: String,
    /// Connections.
    pub count: u64,
}

/// The dial phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RampData {
    /// Connections that reached `connect()`.
    pub dialed: u64,
    /// First dial, from the start of the run.
    pub first_dial_us: f64,
    /// Last dial.
    pub last_dial_us: f64,
    /// Last minus first.
    pub span_us: f64,
    /// (dialed − 1) / span: the quantity `--rate` sets; none under two dials.
    pub rate_per_s: Option<f64>,
    /// When the last dial settled, from the start of the run.
    pub settled_after_us: Option<f64>,
    /// The largest delay of a dial past its due time (paced runs).
    pub max_lag_us: Option<f64>,
}

/// Closures by the far side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClosureData {
    /// Every closure.
    pub total: u64,
    /// Within `closed_at_once_within_us` of being established: rejections.
    pub closed_at_once: u64,
    /// The bound of "at once".
    pub closed_at_once_within_us: f64,
    /// Lifetimes of every closed connection.
    pub lifetime: Distribution,
    /// Closed with a FIN.
    pub fin: Distribution,
    /// Reset.
    pub reset: Distribution,
    /// Given up by keepalive or TCP_USER_TIMEOUT.
    pub timed_out: Distribution,
    /// Other errors.
    pub other: Distribution,
    /// The other errors by reason.
    pub other_reasons: Vec<Reason>,
}

/// The end-to-end checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerificationData {
    /// Established connections checked.
    pub checked: u64,
    /// Got the expected data in time.
    pub verified: u64,
    /// Got nothing in time.
    pub silent: u64,
    /// Got other data (or only the start of the expected text).
    pub mismatched: u64,
    /// Closed by the far side before the data came.
    pub closed_first: u64,
    /// Still waiting when a signal ended the run: not judged.
    pub interrupted: u64,
    /// A few of the answers that did not match.
    pub mismatch_samples: Vec<MismatchData>,
    /// Time from the handshake to the first byte.
    pub first_byte: Distribution,
}

/// What came instead of the expected text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MismatchData {
    /// The bytes, as text with escapes.
    pub text: String,
    /// The bytes, base64.
    pub base64: String,
    /// Only the start of the expected text came, then nothing.
    pub incomplete: bool,
}

/// The hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HoldData {
    /// Asked for.
    pub asked_us: f64,
    /// Actually held.
    pub held_us: f64,
    /// `full`, `nothing_left` (every connection was closed) or `interrupted`.
    pub ended: String,
    /// Connections open when it ended.
    pub open_at_end: u64,
}

/// The end-of-hold probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeData {
    /// Connections probed.
    pub probed: u64,
    /// Acknowledged in time.
    pub alive: u64,
    /// Answered with a reset.
    pub reset: u64,
    /// No answer in time.
    pub no_answer: u64,
    /// Closed by the far side while probed.
    pub closed: u64,
    /// Unanswered when a signal ended the probe: not judged.
    pub interrupted: u64,
}

/// The counts of one share of the connections (a source address, or a target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShareData {
    /// Established.
    pub established: u64,
    /// Verified (with `--expect*`).
    pub verified: u64,
    /// Closed by the far side.
    pub closed: u64,
    /// Of those, at once.
    pub closed_at_once: u64,
    /// Dials that failed.
    pub errors: u64,
    /// Could not be opened on this machine.
    pub local_errors: u64,
}

impl From<&ShareCounts> for ShareData {
    fn from(c: &ShareCounts) -> Self {
        ShareData {
            established: c.established,
            verified: c.verified,
            closed: c.closed,
            closed_at_once: c.closed_at_once,
            errors: c.errors,
            local_errors: c.local_errors,
        }
    }
}

impl From<ShareData> for ShareCounts {
    fn from(d: ShareData) -> Self {
        ShareCounts {
            established: d.established,
            closed: d.closed,
            closed_at_once: d.closed_at_once,
            errors: d.errors,
            local_errors: d.local_errors,
            verified: d.verified,
        }
    }
}

/// One source address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceData {
    /// The address.
    pub address: String,
    /// Its connections.
    #[serde(flatten)]
    pub counts: ShareData,
}

/// One target of a `--spread` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetData {
    /// The address dialed (`ip:port`).
    pub address: String,
    /// Its connections.
    #[serde(flatten)]
    pub counts: ShareData,
    /// Still open at the end: established and not closed by the far side.
    pub held: u64,
    /// Its connect times.
    pub connect_time: Distribution,
}

/// Connections by state over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineData {
    /// The finest spacing of the points (it doubles as a long run thins them).
    pub step_ms: f64,
    /// The points, in time order; each holds until the next.
    pub points: Vec<TimelinePoint>,
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelinePoint {
    /// Since the start of the run.
    pub t_ms: f64,
    /// Never dialed yet.
    pub not_initiated: u64,
    /// Dialing.
    pub dialing: u64,
    /// Established and open.
    pub established: u64,
    /// Closed by the far side.
    pub closed: u64,
    /// Failed.
    pub error: u64,
    /// Could not be opened on this machine.
    pub local_error: u64,
    /// The most established at once so far.
    pub max_concurrent: u64,
}

/// One threshold, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThresholdData {
    /// As written (`connect_p99<50ms`), or the implicit one's name (`held>=100%`).
    pub expr: String,
    /// The metric (`held`, `connect_p99`, ...).
    pub metric: String,
    /// `<`, `<=`, `>`, `>=` or `==`.
    pub op: String,
    /// The bound: a count, a percentage or a duration.
    pub bound: BoundData,
    /// Implicit (from `--hold`, `--expect*`, `--probe-at-end`) rather than written.
    pub implicit: bool,
    /// The value measured: a count of connections, or a duration in µs; none when there was
    /// nothing to measure.
    pub value: Option<f64>,
    /// For a count: out of how many.
    pub of: Option<u64>,
    /// For a count: what `of` counts: `connections` (asked for), `established` or `probed`.
    pub base: Option<String>,
    /// Whether it holds.
    pub pass: bool,
    /// The line the text report prints for it.
    pub text: String,
}

/// A threshold's bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BoundData {
    /// A number of connections.
    pub count: Option<u64>,
    /// A percentage of the connections asked for.
    pub percent: Option<f64>,
    /// A duration.
    pub duration_us: Option<f64>,
}

/// Why a saved document cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or not this shape.
    #[error("not a tcpgoon JSON report: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by a version of the tool this one does not read.
    #[error("schema_version {0} is not one this tcpgoon reads (it reads {SCHEMA_VERSION})")]
    Version(u64),
    /// Valid JSON, but not a report at all: the whole reason.
    #[error("{0}")]
    NotReport(&'static str),
    /// A field holds a value that cannot be.
    #[error("field {0} holds a value that cannot be: {1}")]
    Field(&'static str, String),
}

fn us(d: Duration) -> f64 {
    // Nanoseconds over 1000: a decimal that keeps every nanosecond.
    d.as_nanos() as f64 / 1000.0
}

fn from_us(field: &'static str, v: f64) -> Result<Duration, ReadError> {
    if !v.is_finite() || v < 0.0 {
        return Err(ReadError::Field(field, v.to_string()));
    }
    Ok(Duration::from_nanos((v * 1000.0).round() as u64))
}

fn opt_from_us(field: &'static str, v: Option<f64>) -> Result<Option<Duration>, ReadError> {
    v.map(|v| from_us(field, v)).transpose()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn from_b64(field: &'static str, text: &str) -> Result<Vec<u8>, ReadError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| ReadError::Field(field, e.to_string()))
}

impl Distribution {
    /// The figures and the exact parts of `stats`.
    pub fn of(stats: &LatencyStats) -> Distribution {
        let (count, sum_ns, sum_sq_ns, _, _, hist) = stats.parts();
        let summary = stats.summary();
        let q = |p: f64| stats.quantile(p).map(us);
        let mut encoded = Vec::new();
        V2DeflateSerializer::new()
            .serialize(hist, &mut encoded)
            .expect("a histogram serializes into memory");
        Distribution {
            count,
            min_us: summary.map(|s| us(s.min)),
            mean_us: summary.map(|s| us(s.avg)),
            max_us: summary.map(|s| us(s.max)),
            stdev_us: summary.map(|s| us(s.dev)),
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            sum_ns: sum_ns.to_string(),
            sum_squares_ns2: sum_sq_ns.to_string(),
            histogram: b64(&encoded),
        }
    }

    /// The distribution again, exactly.
    pub fn stats(&self, field: &'static str) -> Result<LatencyStats, ReadError> {
        let bad = |what: String| ReadError::Field(field, what);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.histogram)
            .map_err(|e| bad(format!("{NOT_A_HISTOGRAM}: not base64 ({e})")))?;
        let hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut Cursor::new(bytes))
            .map_err(|e| bad(format!("{NOT_A_HISTOGRAM}: {}", histogram_error(&e))))?;
        let sum_ns = self
            .sum_ns
            .parse::<u128>()
            .map_err(|e| bad(format!("sum_ns {:?}: {e}", self.sum_ns)))?;
        let sum_sq = self
            .sum_squares_ns2
            .parse::<u128>()
            .map_err(|e| bad(format!("sum_squares_ns2 {:?}: {e}", self.sum_squares_ns2)))?;
        if self.count > 0 && (self.min_us.is_none() || self.max_us.is_none()) {
            return Err(bad(format!(
                "count is {}, yet min_us or max_us is missing",
                self.count
            )));
        }
        if self.count == 0 && (self.min_us.is_some() || self.max_us.is_some()) {
            return Err(bad("count is 0, yet min_us or max_us is given".to_string()));
        }
        let min = opt_from_us(field, self.min_us)?.unwrap_or_default();
        let max = opt_from_us(field, self.max_us)?.unwrap_or_default();
        LatencyStats::from_parts(
            self.count,
            sum_ns,
            sum_sq,
            min.as_nanos() as u64,
            max.as_nanos() as u64,
            &hist,
        )
        .map_err(bad)
    }
}

/// How an unreadable histogram is named in error lines.
const NOT_A_HISTOGRAM: &str = "histogram: not an HDR histogram (V2, base64)";

/// Why a histogram could not be decoded, in plain words.
fn histogram_error(e: &hdrhistogram::serialization::DeserializeError) -> String {
    use hdrhistogram::serialization::DeserializeError as E;
    match e {
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "it is empty or cut short".to_string()
        }
        E::IoError(io) => format!("its compressed data is corrupt ({io})"),
        E::InvalidCookie => "it does not start with a histogram's header".to_string(),
        E::UnsupportedFeature => "it uses a feature this reader does not support".to_string(),
        E::UnsuitableCounterType => "a count in it is too large".to_string(),
        E::InvalidParameters => "its bounds or precision are invalid".to_string(),
        E::UsizeTypeTooSmall | E::EncodedArrayTooLong => {
            "it holds more buckets than its bounds allow".to_string()
        }
    }
}

fn reasons(tally: &ErrorTally) -> Vec<Reason> {
    tally
        .sorted()
        .into_iter()
        .map(|(errno, count)| Reason {
            errno,
            reason: crate::report::errno_text(errno),
            count,
        })
        .collect()
}

fn tally(reasons: &[Reason]) -> ErrorTally {
    let counts: Vec<(i32, u64)> = reasons.iter().map(|r| (r.errno, r.count)).collect();
    ErrorTally::from_counts(&counts)
}

const OPS: [(Op, &str); 5] = [
    (Op::Lt, "<"),
    (Op::Le, "<="),
    (Op::Gt, ">"),
    (Op::Ge, ">="),
    (Op::Eq, "=="),
];

fn point(s: &Snapshot) -> TimelinePoint {
    let c = s.counts;
    TimelinePoint {
        t_ms: s.at.as_nanos() as f64 / 1e6,
        not_initiated: c.not_initiated,
        dialing: c.dialing,
        established: c.established,
        closed: c.closed,
        error: c.error,
        local_error: c.local_error,
        max_concurrent: s.max_established,
    }
}

fn counts(c: &Counts) -> StateCounts {
    StateCounts {
        total: c.total,
        not_initiated: c.not_dialed(),
        dialing: c.dialing,
        established: c.established,
        closed: c.closed,
        error: c.error,
        local_error: c.local_error,
    }
}

fn text_and_base64(bytes: &Option<Vec<u8>>) -> (Option<String>, Option<String>) {
    match bytes {
        Some(b) => (Some(escape_bytes(b, usize::MAX)), Some(b64(b))),
        None => (None, None),
    }
}

impl Report {
    /// This program, as documents name it.
    pub fn tool() -> Tool {
        Tool {
            name: "tcpgoon".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// A wall-clock time as documents write it: RFC 3339, UTC, microseconds.
    pub fn timestamp(at: SystemTime) -> String {
        humantime::format_rfc3339_micros(at).to_string()
    }

    /// The document for a finished run.
    pub fn new(r: &RunResult, verdict: &Verdict, command_line: &[String]) -> Report {
        let id = &r.identity;
        let load = &id.load;
        let checks = &load.checks;
        let (send, send_base64) = text_and_base64(&checks.send);
        let expect_bytes = match &checks.expect {
            Some(Expect::Bytes(b)) => Some(b.clone()),
            _ => None,
        };
        let (expect, expect_base64) = text_and_base64(&expect_bytes);
        let config = Config {
            connections: load.connections,
            interval_us: match load.pacing {
                Pacing::Interval(d) => Some(us(d)),
                _ => None,
            },
            rate_per_s: match load.pacing {
                Pacing::Rate(r) => Some(r),
                _ => None,
            },
            step: match load.pacing {
                Pacing::Steps { size, every } => Some(StepData {
                    size,
                    hold_us: us(every),
                }),
                _ => None,
            },
            dial_timeout_us: us(load.dial_timeout),
            report_interval_us: load.interval.map(us),
            hold_us: us(load.hold),
            max_dialing: load.max_dialing as u64,
            close: match load.close {
                CloseMode::Fin => "fin",
                CloseMode::Rst => "rst",
            }
            .to_string(),
            source_addresses: r.per_source.iter().map(|(ip, _)| ip.to_string()).collect(),
            send,
            send_base64,
            expect,
            expect_base64,
            expect_data: matches!(checks.expect, Some(Expect::AnyData)),
            expect_timeout_us: us(checks.expect_timeout),
            keepalive: checks.keepalive.as_ref().map(|k| KeepaliveData {
                idle_s: k.idle.as_secs(),
                interval_s: k.interval.as_secs(),
                count: k.count,
            }),
            probe_timeout_us: checks.probe_at_end.map(us),
            shard: load.shard.is_part().then_some(ShardData {
                index: load.shard.index,
                count: load.shard.count,
                plan_connections: load.shard.plan,
            }),
        };
        let v = &r.verification;
        let c = &r.closures;
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "tcpgoon".to_string(),
                version: id.version.clone(),
            },
            started_at: Report::timestamp(id.started_at),
            command_line: command_line.to_vec(),
            discovery: Vec::new(),
            config,
            targets: if id.names.len() == id.targets.len() && id.targets.len() > 1 {
                id.names
                    .iter()
                    .zip(&id.targets)
                    .map(|(name, addr)| Target {
                        host: name.host.clone(),
                        display: name.display.clone(),
                        port: name.port,
                        addresses: vec![addr.to_string()],
                    })
                    .collect()
            } else {
                vec![Target {
                    host: id.target.host.clone(),
                    display: id.target.display.clone(),
                    port: id.target.port,
                    addresses: id.targets.iter().map(|a| a.to_string()).collect(),
                }]
            },
            counts: counts(&r.counts),
            max_concurrent: r.max_established,
            held: r.hold.map_or(r.counts.established, |h| h.open_at_end),
            elapsed_us: us(r.elapsed),
            connect_time: Distribution::of(&r.connect),
            time_to_error: Distribution::of(&r.time_to_error),
            errors: reasons(&r.errors),
            local_errors: reasons(&r.local_errors),
            ramp: RampData {
                dialed: r.ramp.dialed,
                first_dial_us: us(r.ramp.first_dial),
                last_dial_us: us(r.ramp.last_dial),
                span_us: us(r.ramp.last_dial.saturating_sub(r.ramp.first_dial)),
                rate_per_s: r.ramp.rate(),
                settled_after_us: r.ramp.settled.map(us),
                max_lag_us: r.ramp.max_lag.map(us),
            },
            retransmitted: r.retransmitted,
            closures: ClosureData {
                total: c.total(),
                closed_at_once: c.at_once,
                closed_at_once_within_us: us(CLOSED_AT_ONCE),
                lifetime: Distribution::of(&c.lifetime),
                fin: Distribution::of(&c.fin),
                reset: Distribution::of(&c.reset),
                timed_out: Distribution::of(&c.timed_out),
                other: Distribution::of(&c.other),
                other_reasons: reasons(&c.other_errors),
            },
            verification: checks.expect.as_ref().map(|_| VerificationData {
                checked: v.checked,
                verified: v.verified,
                silent: v.silent,
                mismatched: v.mismatched,
                closed_first: v.closed_first,
                interrupted: v.interrupted,
                mismatch_samples: v
                    .mismatch_samples
                    .iter()
                    .map(|m| MismatchData {
                        text: escape_bytes(&m.bytes, usize::MAX),
                        base64: b64(&m.bytes),
                        incomplete: m.incomplete,
                    })
                    .collect(),
                first_byte: Distribution::of(&v.first_byte),
            }),
            hold: r.hold.map(|h| HoldData {
                asked_us: us(h.asked),
                held_us: us(h.held),
                ended: match h.ended {
                    HoldEnd::Full => "full",
                    HoldEnd::NothingLeft => "nothing_left",
                    HoldEnd::Interrupted => "interrupted",
                }
                .to_string(),
                open_at_end: h.open_at_end,
            }),
            probe: r.probe.map(|p| ProbeData {
                probed: p.probed,
                alive: p.alive,
                reset: p.reset,
                no_answer: p.no_answer,
                closed: p.closed,
                interrupted: p.interrupted,
            }),
            per_source: r
                .per_source
                .iter()
                .map(|(ip, s)| SourceData {
                    address: ip.to_string(),
                    counts: s.into(),
                })
                .collect(),
            per_target: r
                .per_target
                .iter()
                .map(|t| TargetData {
                    address: t.addr.to_string(),
                    counts: (&t.counts).into(),
                    held: t.held(),
                    connect_time: Distribution::of(&t.connect),
                })
                .collect(),
            timeline: TimelineData {
                step_ms: r.timeline.step.as_nanos() as f64 / 1e6,
                points: r.timeline.points.iter().map(point).collect(),
            },
            thresholds: verdict.thresholds.iter().map(threshold).collect(),
            exit_code: verdict.exit_code,
            stop_reason: match r.stop {
                StopReason::Completed => "completed",
                StopReason::Interrupted => "interrupted",
                StopReason::Aborted => "aborted",
            }
            .to_string(),
            limit: r.limit.as_ref().map(LimitData::new),
        }
    }

    /// The document as pretty JSON, with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a report always serializes");
        text.push('\n');
        text
    }

    /// Reads a saved document.
    pub fn from_json(text: &str) -> Result<Report, ReadError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let Some(object) = value.as_object() else {
            return Err(ReadError::NotReport(
                "not a tcpgoon JSON report: the document is not a JSON object",
            ));
        };
        match object.get("schema_version") {
            None => {
                return Err(ReadError::NotReport(
                    "not a tcpgoon report: the document has no schema_version",
                ))
            }
            Some(v) => match v.as_u64() {
                Some(v) if v == u64::from(SCHEMA_VERSION) => {}
                Some(v) => return Err(ReadError::Version(v)),
                None => {
                    return Err(ReadError::NotReport(
                        "not a tcpgoon JSON report: schema_version must be a number",
                    ))
                }
            },
        }
        let report: Report = serde_json::from_value(value)?;
        report.check()?;
        Ok(report)
    }

    /// The fields that must hold together: the program's name, the counts per state and the
    /// exit code.
    fn check(&self) -> Result<(), ReadError> {
        if self.tool.name != "tcpgoon" {
            return Err(ReadError::Field(
                "tool.name",
                format!("{:?}, not \"tcpgoon\"", self.tool.name),
            ));
        }
        let c = &self.counts;
        let sum = [c.not_initiated, c.dialing, c.established, c.closed, c.error]
            .iter()
            .try_fold(0u64, |a, &b| a.checked_add(b));
        if sum != Some(c.total) {
            return Err(ReadError::Field(
                "counts",
                format!(
                    "not_initiated + dialing + established + closed + error = {}, not total ({})",
                    sum.map_or_else(|| "more than 2^64".to_string(), |s| s.to_string()),
                    c.total
                ),
            ));
        }
        if c.local_error > c.not_initiated {
            return Err(ReadError::Field(
                "counts.local_error",
                format!(
                    "{} is more than not_initiated ({}), which includes them",
                    c.local_error, c.not_initiated
                ),
            ));
        }
        if !(0..=3).contains(&self.exit_code) {
            return Err(ReadError::Field(
                "exit_code",
                format!("{}, not one of tcpgoon's exit codes 0 to 3", self.exit_code),
            ));
        }
        Ok(())
    }

    /// The run's result and verdict again, as the run had them, for rendering.
    pub fn to_result(&self) -> Result<(RunResult, Verdict), ReadError> {
        self.check()?;
        let cfg = &self.config;
        let bytes = |text: &Option<String>, field| -> Result<Option<Vec<u8>>, ReadError> {
            text.as_deref().map(|t| from_b64(field, t)).transpose()
        };
        let pacing = match (cfg.interval_us, cfg.rate_per_s) {
            _ if cfg.step.is_some_and(|s| s.size > 0) => {
                let step = cfg.step.expect("checked");
                Pacing::Steps {
                    size: step.size,
                    every: from_us("config.step.hold_us", step.hold_us)?,
                }
            }
            (_, Some(rate)) if rate.is_finite() && rate > 0.0 => Pacing::Rate(rate),
            (Some(gap), _) => Pacing::Interval(from_us("config.interval_us", gap)?),
            _ => {
                return Err(ReadError::Field(
                    "config",
                    "neither interval_us nor rate_per_s".to_string(),
                ))
            }
        };
        let expect = match (
            bytes(&cfg.expect_base64, "config.expect_base64")?,
            cfg.expect_data,
        ) {
            (Some(b), _) => Some(Expect::Bytes(b)),
            (None, true) => Some(Expect::AnyData),
            (None, false) => None,
        };
        let load = LoadConfig {
            connections: cfg.connections,
            shard: match cfg.shard {
                Some(s) => Shard {
                    index: s.index,
                    count: s.count,
                    plan: s.plan_connections,
                },
                None => Shard::whole(cfg.connections),
            },
            pacing,
            dial_timeout: from_us("config.dial_timeout_us", cfg.dial_timeout_us)?,
            interval: opt_from_us("config.report_interval_us", cfg.report_interval_us)?,
            hold: from_us("config.hold_us", cfg.hold_us)?,
            max_dialing: cfg.max_dialing as usize,
            close: if cfg.close == "rst" {
                CloseMode::Rst
            } else {
                CloseMode::Fin
            },
            checks: Checks {
                send: bytes(&cfg.send_base64, "config.send_base64")?,
                expect,
                expect_timeout: from_us("config.expect_timeout_us", cfg.expect_timeout_us)?,
                keepalive: cfg.keepalive.as_ref().map(|k| Keepalive {
                    idle: Duration::from_secs(k.idle_s),
                    interval: Duration::from_secs(k.interval_s),
                    count: k.count,
                }),
                probe_at_end: opt_from_us("config.probe_timeout_us", cfg.probe_timeout_us)?,
            },
        };
        let parse_addrs = |t: &Target| {
            t.addresses
                .iter()
                .map(|a| a.parse::<SocketAddr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ReadError::Field("targets.addresses", e.to_string()))
        };
        let name = |t: &Target| TargetName {
            host: t.host.clone(),
            display: t.display.clone(),
            port: t.port,
        };
        let (target, addresses, names) = match self.targets.as_slice() {
            [] => return Err(ReadError::Field("targets", "empty".to_string())),
            [one] => (name(one), parse_addrs(one)?, Vec::new()),
            several => {
                let names: Vec<TargetName> = several.iter().map(name).collect();
                let mut addresses = Vec::new();
                for t in several {
                    addresses.extend(parse_addrs(t)?);
                }
                (TargetName::spread(&names), addresses, names)
            }
        };
        let started_at: SystemTime = humantime::parse_rfc3339(&self.started_at)
            .map_err(|e| ReadError::Field("started_at", e.to_string()))?;
        let c = self.counts;
        let v = self.verification.as_ref();
        let per_source = self
            .per_source
            .iter()
            .map(|s| {
                let ip = s
                    .address
                    .parse::<IpAddr>()
                    .map_err(|e| ReadError::Field("per_source.address", e.to_string()))?;
                Ok((ip, s.counts.into()))
            })
            .collect::<Result<Vec<_>, ReadError>>()?;
        let cl = &self.closures;
        let result = RunResult {
            identity: RunIdentity {
                version: self.tool.version.clone(),
                started_at,
                target,
                targets: addresses,
                names,
                load,
            },
            counts: Counts {
                total: c.total,
                not_initiated: c.not_initiated - c.local_error,
                dialing: c.dialing,
                established: c.established,
                closed: c.closed,
                error: c.error,
                local_error: c.local_error,
            },
            max_established: self.max_concurrent,
            connect: self.connect_time.stats("connect_time")?,
            time_to_error: self.time_to_error.stats("time_to_error")?,
            errors: tally(&self.errors),
            local_errors: tally(&self.local_errors),
            ramp: Ramp {
                dialed: self.ramp.dialed,
                first_dial: from_us("ramp.first_dial_us", self.ramp.first_dial_us)?,
                last_dial: from_us("ramp.last_dial_us", self.ramp.last_dial_us)?,
                settled: opt_from_us("ramp.settled_after_us", self.ramp.settled_after_us)?,
                max_lag: opt_from_us("ramp.max_lag_us", self.ramp.max_lag_us)?,
            },
            closures: Closures {
                fin: cl.fin.stats("closures.fin")?,
                reset: cl.reset.stats("closures.reset")?,
                timed_out: cl.timed_out.stats("closures.timed_out")?,
                other: cl.other.stats("closures.other")?,
                other_errors: tally(&cl.other_reasons),
                lifetime: cl.lifetime.stats("closures.lifetime")?,
                at_once: cl.closed_at_once,
            },
            verification: match v {
                Some(v) => Verification {
                    checked: v.checked,
                    verified: v.verified,
                    silent: v.silent,
                    mismatched: v.mismatched,
                    closed_first: v.closed_first,
                    interrupted: v.interrupted,
                    mismatch_samples: v
                        .mismatch_samples
                        .iter()
                        .map(|m| {
                            Ok(Mismatch {
                                bytes: from_b64("verification.mismatch_samples", &m.base64)?,
                                incomplete: m.incomplete,
                            })
                        })
                        .collect::<Result<Vec<_>, ReadError>>()?,
                    first_byte: v.first_byte.stats("verification.first_byte")?,
                },
                None => Verification::default(),
            },
            retransmitted: self.retransmitted,
            hold: self
                .hold
                .as_ref()
                .map(|h| {
                    Ok::<_, ReadError>(HoldOutcome {
                        asked: from_us("hold.asked_us", h.asked_us)?,
                        held: from_us("hold.held_us", h.held_us)?,
                        ended: match h.ended.as_str() {
                            "full" => HoldEnd::Full,
                            "nothing_left" => HoldEnd::NothingLeft,
                            "interrupted" => HoldEnd::Interrupted,
                            other => return Err(ReadError::Field("hold.ended", other.to_string())),
                        },
                        open_at_end: h.open_at_end,
                    })
                })
                .transpose()?,
            probe: self.probe.map(|p| ProbeOutcome {
                probed: p.probed,
                alive: p.alive,
                reset: p.reset,
                no_answer: p.no_answer,
                closed: p.closed,
                interrupted: p.interrupted,
            }),
            per_source,
            per_target: self
                .per_target
                .iter()
                .map(|t| {
                    Ok(TargetShare {
                        addr: t
                            .address
                            .parse::<SocketAddr>()
                            .map_err(|e| ReadError::Field("per_target.address", e.to_string()))?,
                        counts: t.counts.into(),
                        connect: t.connect_time.stats("per_target.connect_time")?,
                    })
                })
                .collect::<Result<Vec<_>, ReadError>>()?,
            elapsed: from_us("elapsed_us", self.elapsed_us)?,
            stop: match self.stop_reason.as_str() {
                "completed" => StopReason::Completed,
                "interrupted" => StopReason::Interrupted,
                "aborted" => StopReason::Aborted,
                other => return Err(ReadError::Field("stop_reason", other.to_string())),
            },
            timeline: Timeline {
                step: Duration::from_nanos((self.timeline.step_ms * 1e6).round() as u64),
                points: self
                    .timeline
                    .points
                    .iter()
                    .map(|p| Snapshot {
                        at: Duration::from_nanos((p.t_ms * 1e6).round() as u64),
                        counts: Counts {
                            total: c.total,
                            not_initiated: p.not_initiated,
                            dialing: p.dialing,
                            established: p.established,
                            closed: p.closed,
                            error: p.error,
                            local_error: p.local_error,
                        },
                        max_established: p.max_concurrent,
                    })
                    .collect(),
            },
            limit: self.limit.as_ref().map(LimitData::to_limit).transpose()?,
        };
        let thresholds = self
            .thresholds
            .iter()
            .map(judged)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            result,
            Verdict {
                thresholds,
                exit_code: self.exit_code,
            },
        ))
    }
}

fn threshold(j: &Judged) -> ThresholdData {
    let t = &j.threshold;
    let (value, of, base) = match j.measured {
        Measured::Count { n, of, base } => (
            Some(n as f64),
            Some(of),
            Some(
                match base {
                    Base::Connections => "connections",
                    Base::Established => "established",
                    Base::Probed => "probed",
                }
                .to_string(),
            ),
        ),
        Measured::Time(d) => (d.map(us), None, None),
    };
    ThresholdData {
        expr: t.expr.clone(),
        metric: t.metric.name(),
        op: OPS
            .iter()
            .find(|(op, _)| *op == t.op)
            .map_or("?", |(_, s)| s)
            .to_string(),
        bound: match t.value {
            Bound::Count(n) => BoundData {
                count: Some(n),
                percent: None,
                duration_us: None,
            },
            Bound::Percent(p) => BoundData {
                count: None,
                percent: Some(p),
                duration_us: None,
            },
            Bound::Time(d) => BoundData {
                count: None,
                percent: None,
                duration_us: Some(us(d)),
            },
        },
        implicit: j.implicit,
        value,
        of,
        base,
        pass: j.pass,
        text: crate::report::threshold_line(j),
    }
}

fn judged(t: &ThresholdData) -> Result<Judged, ReadError> {
    let metric = Metric::from_name(&t.metric)
        .ok_or_else(|| ReadError::Field("thresholds.metric", t.metric.clone()))?;
    let op = OPS
        .iter()
        .find(|(_, s)| *s == t.op)
        .map(|(op, _)| *op)
        .ok_or_else(|| ReadError::Field("thresholds.op", t.op.clone()))?;
    let value = match (t.bound.count, t.bound.percent, t.bound.duration_us) {
        (Some(n), _, _) => Bound::Count(n),
        (_, Some(p), _) => Bound::Percent(p),
        (_, _, Some(d)) => Bound::Time(from_us("thresholds.bound.duration_us", d)?),
        _ => {
            return Err(ReadError::Field(
                "thresholds.bound",
                "no count, percent or duration".to_string(),
            ))
        }
    };
    let measured = match (&t.base, t.of) {
        (Some(base), Some(of)) => Measured::Count {
            n: t.value.unwrap_or(0.0) as u64,
            of,
            base: match base.as_str() {
                "established" => Base::Established,
                "probed" => Base::Probed,
                _ => Base::Connections,
            },
        },
        _ => Measured::Time(opt_from_us("thresholds.value", t.value)?),
    };
    Ok(Judged {
        threshold: Threshold {
            expr: t.expr.clone(),
            metric,
            op,
            value,
        },
        implicit: t.implicit,
        measured,
        pass: t.pass,
    })
}

/// The JSON Schema of the document, as committed in `docs/report.schema.json`.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Document);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Stat;

    /// The committed schema is the one these types generate. To update it after changing
    /// them: `TCPGOON_WRITE_SCHEMA=1 cargo test --lib schema`.
    #[test]
    fn the_committed_schema_is_generated_from_the_types() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report.schema.json");
        if std::env::var("TCPGOON_WRITE_SCHEMA").as_deref() == Ok("1") {
            std::fs::write(path, schema()).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == schema(),
            "docs/report.schema.json differs from the types: run TCPGOON_WRITE_SCHEMA=1 cargo test --lib schema"
        );
    }

    /// A distribution comes back exactly: the same figures, the same percentiles, and merging
    /// the rebuilt set equals merging the original.
    #[test]
    fn a_distribution_comes_back_exactly() {
        let mut stats = LatencyStats::new();
        for ns in [1_234u64, 98_765, 1_000_001, 5_432_100_999, 77] {
            stats.record(Duration::from_nanos(ns));
        }
        let d = Distribution::of(&stats);
        let text = serde_json::to_string(&d).unwrap();
        let back: Distribution = serde_json::from_str(&text).unwrap();
        let again = back.stats("test").unwrap();
        assert_eq!(again.summary(), stats.summary());
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(again.quantile(q), stats.quantile(q));
        }
        assert_eq!(Distribution::of(&again), d);
        let empty = Distribution::of(&LatencyStats::new());
        assert_eq!(empty.stats("empty").unwrap().summary(), None);
    }

    /// Every metric name goes back to its metric.
    #[test]
    fn metric_names_round_trip() {
        let stats = [Stat::Min, Stat::P50, Stat::P90, Stat::P99, Stat::Max];
        let mut all = vec![
            Metric::Established,
            Metric::Held,
            Metric::Verified,
            Metric::Closed,
            Metric::ClosedAtOnce,
            Metric::Errors,
            Metric::Retransmitted,
            Metric::Alive,
        ];
        for s in stats {
            all.extend([
                Metric::Connect(s),
                Metric::FirstByte(s),
                Metric::Lifetime(s),
            ]);
        }
        for m in all {
            assert_eq!(Metric::from_name(&m.name()), Some(m), "{m:?}");
        }
        assert_eq!(Metric::from_name("connect_p42"), None);
    }
}
