//! The engine in process, through the library: what an exporter or a merge of runs would see.
//! An observer records every snapshot and event; the tests check their consistency.

use std::net::SocketAddr;
use std::time::Duration;

use tcpgoon::engine::{CloseMode, Engine, LocalEndpoints, Observer, Plan};
use tcpgoon::pacing::Pacing;
use tcpgoon::results::{ConnEvent, EventKind, RunResult, Snapshot, StopReason};

use crate::util::*;

#[derive(Default)]
struct Recorder {
    snapshots: Vec<Snapshot>,
    events: Vec<ConnEvent>,
}

impl Observer for Recorder {
    fn status(&mut self, s: &Snapshot) {
        self.snapshots.push(*s);
    }
    fn wants_events(&self) -> bool {
        true
    }
    fn event(&mut self, e: &ConnEvent) {
        self.events.push(*e);
    }
}

fn plan(targets: Vec<SocketAddr>, n: u64) -> Plan {
    Plan {
        targets,
        connections: n,
        pacing: Pacing::Interval(Duration::from_millis(1)),
        dial_timeout: Duration::from_secs(5),
        report_interval: Some(Duration::from_millis(5)),
        hold: Duration::ZERO,
        max_dialing: 1024,
        close: CloseMode::Rst,
        local: LocalEndpoints::kernel(Vec::new()),
    }
}

fn run(plan: Plan) -> (RunResult, Recorder) {
    let mut rec = Recorder::default();
    let result = Engine::new(plan, None).unwrap().run(&mut rec).unwrap();
    (result, rec)
}

#[test]
fn targets_are_used_round_robin_and_events_tell_each_story() {
    let open = TestServer::start("127.0.0.1", Behaviour::Hold);
    let closed: SocketAddr = format!("127.0.0.1:{}", closed_port()).parse().unwrap();
    let (result, rec) = run(plan(vec![open.addr, closed], 20));
    assert_eq!(result.stop, StopReason::Completed);
    assert_eq!((result.counts.established, result.counts.error), (10, 10));
    assert_eq!(result.connect.count(), 10);
    assert_eq!(result.time_to_error.count(), 10);
    assert_eq!(
        result.errors.sorted(),
        vec![(111, 10)],
        "ECONNREFUSED, counted by errno"
    );
    for conn in 0..20u64 {
        let story: Vec<&EventKind> = rec
            .events
            .iter()
            .filter(|e| e.conn == conn)
            .map(|e| &e.kind)
            .collect();
        assert_eq!(story.len(), 2, "conn {conn}: {story:?}");
        let EventKind::Dialing { target, .. } = story[0] else {
            panic!("conn {conn} starts with {:?}", story[0])
        };
        if conn % 2 == 0 {
            assert_eq!(*target, open.addr);
            assert!(
                matches!(story[1], EventKind::Established { .. }),
                "{story:?}"
            );
        } else {
            assert_eq!(*target, closed);
            assert!(
                matches!(story[1], EventKind::Error { errno: 111, .. }),
                "{story:?}"
            );
        }
    }
    // Events come in time order.
    assert!(rec.events.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn every_snapshot_adds_up_and_the_peak_never_falls() {
    let server = TestServer::start(
        "127.0.0.1",
        Behaviour::CloseAfter(Duration::from_millis(20)),
    );
    let mut p = plan(vec![server.addr], 40);
    p.hold = Duration::from_millis(200);
    let (result, rec) = run(p);
    assert!(
        rec.snapshots.len() >= 3,
        "{} snapshots",
        rec.snapshots.len()
    );
    for s in &rec.snapshots {
        let c = s.counts;
        assert_eq!(
            c.not_initiated + c.dialing + c.established + c.closed + c.error,
            c.total,
            "{s:?}"
        );
        assert!(s.max_established >= c.established);
    }
    assert!(rec
        .snapshots
        .windows(2)
        .all(|w| w[0].max_established <= w[1].max_established));
    assert!(rec.snapshots.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(
        result.counts.closed, 40,
        "the server closed every connection during the hold"
    );
    assert_eq!(result.counts.ever_established(), 40);
    let closes = rec
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Closed { .. }))
        .count();
    assert_eq!(closes, 40);
}

#[test]
fn a_dial_timeout_fires_no_earlier_than_asked() {
    let (_listener, port) = full_backlog_listener();
    let mut p = plan(vec![format!("127.0.0.1:{port}").parse().unwrap()], 4);
    p.pacing = Pacing::Interval(Duration::ZERO);
    p.dial_timeout = Duration::from_millis(400);
    let (result, rec) = run(p);
    assert!(result.counts.error >= 2, "{:?}", result.counts);
    for e in &rec.events {
        if let EventKind::Error { after, errno } = e.kind {
            assert_eq!(errno, 110, "ETIMEDOUT");
            // Never early; late by less than 250 ms (a busy machine), so not twice the timeout.
            assert!(after >= Duration::from_millis(400), "{after:?}");
            assert!(after < Duration::from_millis(650), "{after:?}");
        }
    }
}

#[test]
fn the_schedule_is_kept_and_never_overshoots() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let mut p = plan(vec![server.addr], 300);
    p.pacing = Pacing::Rate(1000.0);
    // No report ticks: they would wake the loop every 5 ms and hide a late pacing timer.
    p.report_interval = None;
    let (result, rec) = run(p);
    assert_eq!(result.ramp.dialed, 300);
    assert_eq!(server.settle_at(300, Duration::from_secs(5)), 300);
    // Connection i is dialed no earlier than i / rate, and not much later: 100 ms is far more
    // than a busy machine delays a timer, and less than the 299 ms a halved rate puts the last
    // dial behind.
    let mut latest = Duration::ZERO;
    let mut dials = 0;
    for e in &rec.events {
        if let EventKind::Dialing { .. } = e.kind {
            dials += 1;
            let due = Duration::from_millis(e.conn);
            assert!(
                e.at + Duration::from_micros(1) >= due,
                "conn {} dialed at {:?}, due {:?}",
                e.conn,
                e.at,
                due
            );
            assert!(
                e.at <= due + Duration::from_millis(100),
                "conn {} dialed at {:?}, due {:?}",
                e.conn,
                e.at,
                due
            );
            latest = latest.max(e.at.saturating_sub(due));
        }
    }
    assert_eq!(dials, 300);
    // The reported lag is the largest one the dials show.
    let max_lag = result.ramp.max_lag.expect("a paced run reports its lag");
    assert!(
        max_lag.abs_diff(latest) <= Duration::from_micros(1),
        "max lag {max_lag:?}, the events show {latest:?}"
    );
}
