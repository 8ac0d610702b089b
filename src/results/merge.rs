//! Runs added up exactly: the shards of one plan, run on several machines (or processes), as
//! the one run they were parts of. Counts, errors and closures are sums; every distribution is
//! merged from its exact integer sums and HDR histogram (so min, mean, max and deviation are
//! exact, and percentiles are those of the merged histogram); the concurrency over time is the
//! sum of the parts' timelines aligned on wall-clock time, which is also where the merged peak
//! of concurrent connections comes from (each part's own peak is exact, their sum an upper
//! bound).

use std::time::{Duration, SystemTime};

use super::{
    Counts, HoldEnd, HoldOutcome, ProbeOutcome, RunResult, ShareCounts, Snapshot, StopReason,
    TargetShare, Timeline, MISMATCH_SAMPLES,
};
use crate::config::Shard;

/// Counts `missing` connections of the plan whose part never reported (a shard not given, a
/// worker that died) as not initiated: they stay in the plan's total, so every percentage is of
/// the whole plan and the run is incomplete.
pub fn count_missing(r: &mut RunResult, missing: u64) {
    r.counts.total += missing;
    r.counts.not_initiated += missing;
    r.identity.load.connections += missing;
}

/// `parts` as one run. Its identity is the first part's, started when the first part started,
/// with the connections of them all (the whole plan, when they were its shards).
pub fn merge(parts: &[RunResult]) -> RunResult {
    let Some(first) = parts.first() else {
        return RunResult::default();
    };
    let start = parts
        .iter()
        .map(|p| p.identity.started_at)
        .min()
        .unwrap_or(first.identity.started_at);
    // Where part `p`'s clock starts on the merged one.
    let offset = |p: &RunResult| {
        p.identity
            .started_at
            .duration_since(start)
            .unwrap_or(Duration::ZERO)
    };
    let mut m = RunResult {
        identity: first.identity.clone(),
        ..RunResult::default()
    };
    m.identity.started_at = start;
    let connections: u64 = parts.iter().map(|p| p.identity.load.connections).sum();
    m.identity.load.connections = connections;
    m.identity.load.shard = Shard::whole(connections);
    m.counts = Counts::default();
    m.stop = StopReason::Completed;
    m.limit = super::limit::Limit::merge(parts.iter().filter_map(|p| p.limit.as_ref()));
    let mut first_dial: Option<Duration> = None;
    let mut source_row: std::collections::HashMap<std::net::IpAddr, usize> =
        std::collections::HashMap::new();
    for p in parts {
        let at = offset(p);
        m.counts.add(&p.counts);
        m.connect.merge(&p.connect);
        m.time_to_error.merge(&p.time_to_error);
        m.errors.merge(&p.errors);
        m.local_errors.merge(&p.local_errors);
        m.retransmitted += p.retransmitted;
        // The ramp, on the merged clock.
        m.ramp.dialed += p.ramp.dialed;
        if p.ramp.dialed > 0 {
            let f = at + p.ramp.first_dial;
            first_dial = Some(first_dial.map_or(f, |x| x.min(f)));
            m.ramp.last_dial = m.ramp.last_dial.max(at + p.ramp.last_dial);
        }
        m.ramp.settled = max_opt(m.ramp.settled, p.ramp.settled.map(|s| at + s));
        m.ramp.max_lag = max_opt(m.ramp.max_lag, p.ramp.max_lag);
        let c = &mut m.closures;
        c.fin.merge(&p.closures.fin);
        c.reset.merge(&p.closures.reset);
        c.timed_out.merge(&p.closures.timed_out);
        c.other.merge(&p.closures.other);
        c.other_errors.merge(&p.closures.other_errors);
        c.lifetime.merge(&p.closures.lifetime);
        c.at_once += p.closures.at_once;
        let v = &mut m.verification;
        v.checked += p.verification.checked;
        v.verified += p.verification.verified;
        v.silent += p.verification.silent;
        v.mismatched += p.verification.mismatched;
        v.closed_first += p.verification.closed_first;
        v.interrupted += p.verification.interrupted;
        v.first_byte.merge(&p.verification.first_byte);
        for s in &p.verification.mismatch_samples {
            if v.mismatch_samples.len() < MISMATCH_SAMPLES {
                v.mismatch_samples.push(s.clone());
            }
        }
        m.hold = merge_hold(m.hold, p.hold);
        m.probe = merge_probe(m.probe, p.probe);
        for (ip, counts) in &p.per_source {
            // An index, not a scan: a /16 of sources has 65,536 rows.
            match source_row.get(ip) {
                Some(&row) => add_share(&mut m.per_source[row].1, counts),
                None => {
                    source_row.insert(*ip, m.per_source.len());
                    m.per_source.push((*ip, *counts));
                }
            }
        }
        for share in &p.per_target {
            match m.per_target.iter_mut().find(|t| t.addr == share.addr) {
                Some(sum) => {
                    add_share(&mut sum.counts, &share.counts);
                    sum.connect.merge(&share.connect);
                }
                None => m.per_target.push(TargetShare {
                    addr: share.addr,
                    counts: share.counts,
                    connect: share.connect.clone(),
                }),
            }
        }
        m.elapsed = m.elapsed.max(at + p.elapsed);
        m.stop = worse(m.stop, p.stop);
    }
    m.ramp.first_dial = first_dial.unwrap_or_default();
    m.timeline = timelines(parts, start);
    m.max_established = m
        .timeline
        .points
        .iter()
        .map(|s| s.counts.established)
        .max()
        .unwrap_or(0);
    m
}

fn add_share(sum: &mut ShareCounts, c: &ShareCounts) {
    sum.established += c.established;
    sum.closed += c.closed;
    sum.closed_at_once += c.closed_at_once;
    sum.errors += c.errors;
    sum.local_errors += c.local_errors;
    sum.verified += c.verified;
}

fn max_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The later of two ways a run ended: aborted, then interrupted, then completed.
fn worse(a: StopReason, b: StopReason) -> StopReason {
    let rank = |s| match s {
        StopReason::Completed => 0,
        StopReason::Interrupted => 1,
        StopReason::Aborted => 2,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn merge_hold(a: Option<HoldOutcome>, b: Option<HoldOutcome>) -> Option<HoldOutcome> {
    match (a, b) {
        (Some(a), Some(b)) => Some(HoldOutcome {
            asked: a.asked.max(b.asked),
            held: a.held.max(b.held),
            ended: match (a.ended, b.ended) {
                (HoldEnd::Interrupted, _) | (_, HoldEnd::Interrupted) => HoldEnd::Interrupted,
                (HoldEnd::NothingLeft, HoldEnd::NothingLeft) => HoldEnd::NothingLeft,
                _ => HoldEnd::Full,
            },
            open_at_end: a.open_at_end + b.open_at_end,
        }),
        (a, None) => a,
        (None, b) => b,
    }
}

fn merge_probe(a: Option<ProbeOutcome>, b: Option<ProbeOutcome>) -> Option<ProbeOutcome> {
    match (a, b) {
        (Some(a), Some(b)) => Some(ProbeOutcome {
            probed: a.probed + b.probed,
            alive: a.alive + b.alive,
            reset: a.reset + b.reset,
            no_answer: a.no_answer + b.no_answer,
            closed: a.closed + b.closed,
            interrupted: a.interrupted + b.interrupted,
        }),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The parts' timelines on the merged clock, summed: at every moment one of them has a point,
/// each part counts as its latest point (nothing yet before its first: all not initiated; after
/// its end, none open: the ones it held are closed).
fn timelines(parts: &[RunResult], start: SystemTime) -> Timeline {
    let at = |p: &RunResult| {
        p.identity
            .started_at
            .duration_since(start)
            .unwrap_or(Duration::ZERO)
    };
    let mut moments: Vec<Duration> = parts
        .iter()
        .flat_map(|p| {
            let offset = at(p);
            p.timeline.points.iter().map(move |s| offset + s.at)
        })
        .collect();
    moments.sort_unstable();
    moments.dedup();
    let mut cursors = vec![0usize; parts.len()];
    let mut merged = Timeline::default();
    for moment in moments {
        let mut counts = Counts::default();
        for (k, p) in parts.iter().enumerate() {
            let points = &p.timeline.points;
            while cursors[k] + 1 < points.len() && at(p) + points[cursors[k] + 1].at <= moment {
                cursors[k] += 1;
            }
            match points.get(cursors[k]) {
                // Past its end the part's connections are closed (it closed them itself): none
                // is open any more, whatever its last point says (so shards run one after
                // another do not add up), and they show among the closed.
                Some(s) if at(p) + p.elapsed < moment => {
                    let mut ended = s.counts;
                    ended.closed += ended.established;
                    ended.established = 0;
                    counts.add(&ended);
                }
                Some(s) if at(p) + s.at <= moment => counts.add(&s.counts),
                _ => {
                    counts.total += p.counts.total;
                    counts.not_initiated += p.counts.total;
                }
            }
        }
        merged.push(Snapshot {
            at: moment,
            counts,
            max_established: 0,
        });
    }
    // The peak so far, point by point.
    let mut peak = 0;
    for s in &mut merged.points {
        peak = peak.max(s.counts.established);
        s.max_established = peak;
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ConnState;

    fn part(start_ms: u64, total: u64, established_at: &[(u64, u64)]) -> RunResult {
        let mut r = RunResult::default();
        r.identity.started_at = SystemTime::UNIX_EPOCH + Duration::from_millis(start_ms);
        r.identity.load.connections = total;
        r.counts = Counts::new(total);
        for _ in 0..total {
            r.counts.shift(ConnState::NotInitiated, ConnState::Dialing);
            r.counts.shift(ConnState::Dialing, ConnState::Established);
            r.connect.record(Duration::from_micros(100 + total));
        }
        r.max_established = total;
        for &(t, e) in established_at {
            let mut c = Counts::new(total);
            c.not_initiated = total - e;
            c.established = e;
            r.timeline.points.push(Snapshot {
                at: Duration::from_millis(t),
                counts: c,
                max_established: e,
            });
        }
        // A run lasts past its last change of state (its hold).
        r.elapsed = Duration::from_millis(established_at.last().map_or(0, |p| p.0) + 100);
        r
    }

    #[test]
    fn counts_and_statistics_add_up_exactly() {
        let a = part(0, 3, &[(0, 0), (10, 3)]);
        let b = part(5, 2, &[(0, 0), (10, 2)]);
        let m = merge(&[a.clone(), b.clone()]);
        assert_eq!(m.counts.total, 5);
        assert_eq!(m.counts.established, 5);
        assert_eq!(m.identity.load.connections, 5);
        let mut both = a.connect.clone();
        both.merge(&b.connect);
        assert_eq!(m.connect.summary(), both.summary());
        assert_eq!(m.connect.count(), 5);
        // B ends last: 5 ms after A started, 110 ms long.
        assert_eq!(m.elapsed, Duration::from_millis(115));
    }

    #[test]
    fn concurrency_is_summed_on_the_wall_clock() {
        // A holds 3 from 10 ms to 20 ms; B (started 15 ms later) holds 2 from 25 ms on: never
        // 5 at once, however their own peaks add up.
        let a = part(0, 3, &[(0, 0), (10, 3), (20, 0)]);
        let b = part(15, 2, &[(0, 0), (10, 2)]);
        let m = merge(&[a, b]);
        assert_eq!(m.max_established, 3);
        let at: Vec<(u64, u64)> = m
            .timeline
            .points
            .iter()
            .map(|s| (s.at.as_millis() as u64, s.counts.established))
            .collect();
        assert_eq!(at, vec![(0, 0), (10, 3), (15, 3), (20, 0), (25, 2)]);
        // Overlapping: 5 at once.
        let a = part(0, 3, &[(0, 0), (10, 3)]);
        let b = part(5, 2, &[(0, 0), (10, 2)]);
        assert_eq!(merge(&[a, b]).max_established, 5);
        // One after the other (A over at 50 ms, B from 60 ms): a part's last point does not
        // hold on past its end.
        let mut a = part(0, 3, &[(0, 0), (10, 3)]);
        a.elapsed = Duration::from_millis(50);
        let b = part(60, 2, &[(0, 0), (10, 2)]);
        let m = merge(&[a, b]);
        assert_eq!(m.max_established, 3);
        let last = m.timeline.points.last().unwrap().counts;
        assert_eq!((last.total, last.established, last.closed), (5, 2, 3));
    }
}
