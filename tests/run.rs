//! `tcpgoon run` against loopback targets: each outcome the Go tool could report, with its exact
//! lines and exit code.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use crate::util::*;

/// The Go tool's final block, line by line: the status line's `counts`, the peak of concurrent
/// connections in `peak` (one value, `n..=n`, wherever the test determines it), the statistics
/// lines by their counts.
fn assert_go_block(out: &str, target: &str, counts: [u64; 6], peak: RangeInclusive<u64>) {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == format!("--- {target} tcp test statistics ---"))
        .unwrap_or_else(|| panic!("no final block for {target} in:\n{out}"));
    let [total, dialing, est, closed, err, ni] = counts;
    assert_eq!(
        lines[start + 1],
        format!("Total: {total}, Dialing: {dialing}, Established: {est}, Closed: {closed}, Error: {err}, NotInitiated: {ni}")
    );
    assert_eq!(lines[start + 2], "--- tcpgoon execution statistics ---");
    assert_eq!(
        lines[start + 3],
        format!("Total established connections: {}", est + closed)
    );
    let max = lines[start + 4]
        .strip_prefix("Max concurrent established connections: ")
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{:?}", lines[start + 4]));
    assert!(peak.contains(&max), "peak {max}, expected {peak:?}:\n{out}");
    assert_eq!(
        lines[start + 5],
        format!("Number of established connections on closure: {est}")
    );
    let mut k = start + 6;
    if est + closed > 0 {
        let prefix = format!(
            "Response time stats for {} successful connections min/avg/max/dev = ",
            est + closed
        );
        assert!(lines[k].starts_with(&prefix), "{:?}", lines[k]);
        assert_eq!(lines[k][prefix.len()..].split('/').count(), 4);
        k += 1;
    }
    if err > 0 {
        let prefix = format!("Time to error stats for {err} failed connections min/avg/max/dev = ");
        assert!(lines[k].starts_with(&prefix), "{:?}", lines[k]);
        k += 1;
    }
    assert_eq!(lines[k], "", "the Go block ends with an empty line");
}

#[test]
fn all_established_exit_0_with_exact_lines() {
    let server = BuiltinServer::holding("127.0.0.1");
    let port = server.port.to_string();
    let o = tg(&format!("run -y -c 20 -s 1 127.0.0.1 {port}"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert_eq!(
        out.lines().next().unwrap(),
        "Total: 20, Dialing: 0, Established: 0, Closed: 0, Error: 0, NotInitiated: 20",
        "a status line at the start"
    );
    // Every connection stays open to the end: the peak is all of them.
    assert_go_block(
        &out,
        &format!("127.0.0.1:{port}"),
        [20, 0, 20, 0, 0, 0],
        20..=20,
    );
    assert!(!out.contains("Time to error"));
    assert!(out.contains("Ramp: dialed 20 connections in "));
}

#[test]
fn a_name_is_reported_with_its_address() {
    let server = BuiltinServer::holding("127.0.0.1");
    let port = server.port.to_string();
    let o = tg(&format!("-y -c 3 -s 0 localhost {port}"));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_go_block(
        &stdout(&o),
        &format!("localhost(127.0.0.1):{port}"),
        [3, 0, 3, 0, 0, 0],
        3..=3,
    );
}

#[test]
fn refused_port_exit_2_with_time_to_error() {
    let port = closed_port();
    let o = tg(&format!("run -y -c 5 -s 0 127.0.0.1 {port}"));
    let out = stdout(&o);
    assert_eq!(code(&o), 2, "{out}");
    assert_go_block(
        &out,
        &format!("127.0.0.1:{port}"),
        [5, 0, 0, 0, 5, 0],
        0..=0,
    );
    assert!(!out.contains("Response time stats"));
    assert!(out.contains("Errors: 5 connection refused"), "{out}");
}

#[test]
fn the_far_side_closing_every_connection_is_closed_exit_0() {
    // Closed as soon as accepted: each connection may or may not overlap the next ones, so the
    // peak is between 1 and all. Closed once all are accepted: the 10 were established at once
    // (a client socket is established before the server can accept it), so the peak is 10.
    for (behaviour, peak) in [
        (Behaviour::CloseAfter(Duration::ZERO), 1..=10),
        (Behaviour::CloseOnceAccepted(10), 10..=10),
    ] {
        let server = TestServer::start("127.0.0.1", behaviour);
        // The hold keeps the run open until every closure is seen; it ends early once none is
        // left. Closed is no error (the Go rule): with the implicit held>=100% replaced by a
        // written threshold that accepts it, the exit code is 0.
        let o = tg(&format!(
            "run -y -c 10 -s 0 --hold 20s --threshold held>=0 127.0.0.1 {}",
            server.port()
        ));
        let out = stdout(&o);
        assert_eq!(code(&o), 0, "{behaviour:?}: {out}");
        assert_go_block(
            &out,
            &format!("127.0.0.1:{}", server.port()),
            [10, 0, 0, 10, 0, 0],
            peak,
        );
        assert!(out.contains("Number of established connections on closure: 0"));
    }
}

#[test]
fn hold_sees_closures_and_ends_when_nothing_is_left() {
    let server = TestServer::start(
        "127.0.0.1",
        Behaviour::CloseAfter(Duration::from_millis(400)),
    );
    let started = Instant::now();
    let o = tg(&format!(
        "run -y -c 8 -s 0 -i 100ms --hold 30s 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    // --hold asks that every connection be held: none was (implicit held>=100%, exit 3).
    assert_eq!(code(&o), 3, "{out}");
    assert!(
        out.contains("✗ held>=100%: 0 of 8 (0.0%) (implicit)"),
        "{out}"
    );
    // All 8 are dialed at once and closed 400 ms after they were accepted: all 8 were open
    // together.
    assert_go_block(
        &out,
        &format!("127.0.0.1:{}", server.port()),
        [8, 0, 0, 8, 0, 0],
        8..=8,
    );
    // Status lines during the hold showed them established before they closed.
    let statuses: Vec<[u64; 6]> = out.lines().filter_map(parse_status).collect();
    assert!(
        statuses.iter().any(|s| s[2] == 8),
        "no status with all 8 established:\n{out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the hold did not end early"
    );
}

#[test]
fn hold_keeps_connections_open_for_the_given_time() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let hold = Duration::from_secs(1);
    let started = Instant::now();
    let mut child = spawn(&format!(
        "run -y -c 4 -s 0 -i 0 --hold 1s 127.0.0.1 {}",
        server.port()
    ));
    // The server sees all four open (the hold starts about then: the dials settle just before
    // the server accepts) and then for how long they all stay open.
    assert!(
        server.wait_open(4, Duration::from_secs(10)),
        "the server never held all 4: {}",
        server.open()
    );
    let all_open = Instant::now();
    while server.open() == 4 && all_open.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let held = all_open.elapsed();
    let o = wait_output(&mut child, Duration::from_secs(20));
    let took = started.elapsed();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(final_counts(&stdout(&o)), [4, 0, 4, 0, 0, 0]);
    // Generous below (the server may see them late on a busy machine), and a half hold fails.
    assert!(
        held >= hold - Duration::from_millis(300),
        "the server held all 4 for {held:?} of a {hold:?} hold"
    );
    assert!(held < hold + Duration::from_secs(5), "held for {held:?}");
    assert!(took >= hold, "ended after {took:?}");
    // The run closed every one of them at its end.
    assert!(
        server.wait_open(0, Duration::from_secs(5)),
        "{} still open after the run",
        server.open()
    );
}

#[test]
fn dial_timeout_against_a_full_backlog() {
    let (_listener, port) = full_backlog_listener();
    let port = port.to_string();
    let o = tg(&format!("run -y -c 6 -s 0 -d 300 127.0.0.1 {port}"));
    let out = stdout(&o);
    assert_eq!(code(&o), 2, "{out}");
    let [total, dialing, est, closed, err, ni] = final_counts(&out);
    assert_eq!((total, dialing, closed, ni), (6, 0, 0, 0));
    assert!(err >= 4, "most dials must time out: {out}");
    assert_eq!(est + err, 6);
    assert!(out.contains("dial timeout"), "{out}");
    // Time to error of a timeout is the dial timeout (300 ms): not less, and late by less than
    // 250 ms (a busy machine), so not twice the timeout.
    let line = out
        .lines()
        .find(|l| l.starts_with("Time to error stats"))
        .unwrap();
    let figures: Vec<Duration> = line
        .split(" = ")
        .nth(1)
        .unwrap()
        .split('/')
        .map(|d| parse_go_duration(d).unwrap_or_else(|| panic!("{line}")))
        .collect();
    let (min, max) = (figures[0], figures[2]);
    assert!(min >= Duration::from_millis(300), "{line}");
    assert!(max < Duration::from_millis(550), "{line}");
}

/// A first signal mid-run: no new dials, the report, exit 1 (some connections never started).
fn a_signal_mid_run_prints_the_report_and_exits_1(sig: &str) {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let mut child = spawn(&format!("run -y -c 50 -s 100 127.0.0.1 {}", server.port()));
    while server.accepted() < 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(child.id(), sig);
    let o = wait_output(&mut child, Duration::from_secs(20));
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "SIG{sig}: {out}");
    let [total, dialing, est, _, _, ni] = final_counts(&out);
    assert_eq!((total, dialing), (50, 0));
    assert!(est >= 3 && ni > 0, "SIG{sig}: {out}");
    assert!(stderr(&o).contains("Interrupted"), "{}", stderr(&o));
}

#[test]
fn sigint_mid_run_prints_the_report_and_exits_1() {
    a_signal_mid_run_prints_the_report_and_exits_1("INT");
}

#[test]
fn sigterm_mid_run_prints_the_report_and_exits_1() {
    a_signal_mid_run_prints_the_report_and_exits_1("TERM");
}

/// `first` then, once the run has reported it, `second`: the run ends at once, with the dials
/// toward a full backlog (60 s timeout) still pending.
fn a_second_signal_ends_at_once_with_dialing_left(first: &str, second: &str) {
    let (_listener, port) = full_backlog_listener();
    let mut child = spawn(&format!("run -y -c 5 -s 0 -d 60s 127.0.0.1 {port}"));
    let out = LineReader::stdout(&mut child);
    let err = LineReader::stderr(&mut child);
    // The first status line comes once the signals are caught: before that a signal kills the
    // process (a pre-flight can take a while on a busy machine).
    out.wait_for("Total: 5, ", Duration::from_secs(20));
    signal(child.id(), first);
    // Two signals of one kind pending at once would be read as one: wait until the first was.
    err.wait_for("Interrupted: no new connections", Duration::from_secs(10));
    signal(child.id(), second);
    let started = Instant::now();
    let o = wait_output(&mut child, Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "SIG{first} then SIG{second} took {:?}",
        started.elapsed()
    );
    let out = out.finish();
    assert_eq!(code(&o), 1, "SIG{first} then SIG{second}: {out}");
    let [total, dialing, ..] = final_counts(&out);
    assert_eq!(total, 5);
    assert!(
        dialing > 0,
        "dials to a full backlog were still pending: {out}"
    );
    let err = err.finish();
    assert!(
        err.contains("Interrupted again: ending now with "),
        "SIG{first} then SIG{second}: {err}"
    );
}

#[test]
fn a_second_sigint_ends_at_once_with_dialing_left() {
    a_second_signal_ends_at_once_with_dialing_left("INT", "INT");
}

#[test]
fn a_second_sigterm_ends_at_once_with_dialing_left() {
    a_second_signal_ends_at_once_with_dialing_left("TERM", "TERM");
}

#[test]
fn sigint_then_sigterm_ends_at_once_with_dialing_left() {
    a_second_signal_ends_at_once_with_dialing_left("INT", "TERM");
}

#[test]
fn ipv6_literal_with_and_without_brackets() {
    let server = BuiltinServer::holding("::1");
    let port = server.port.to_string();
    for host in ["::1", "[::1]"] {
        let o = tg(&format!("run -y -c 3 -s 0 {} {}", host, port));
        assert_eq!(code(&o), 0, "{}", stdout(&o));
        assert_go_block(
            &stdout(&o),
            &format!("[::1]:{port}"),
            [3, 0, 3, 0, 0, 0],
            3..=3,
        );
    }
}

#[test]
fn verbose_traces_each_connection_on_stderr() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!("run -y -v -c 2 -s 0 127.0.0.1 {}", server.port()));
    assert_eq!(code(&o), 0);
    let err = stderr(&o);
    assert!(err.contains("connection 1: dialing 127.0.0.1:"), "{err}");
    assert!(err.contains("connection 2: established after "), "{err}");
    assert!(
        !stdout(&o).contains("dialing"),
        "debugging stays off stdout"
    );
    let refused = tg(&format!("run -y --debug -c 1 127.0.0.1 {}", closed_port()));
    assert!(
        stderr(&refused).contains("connection 1: error after "),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("connection refused"));
}

#[test]
fn status_lines_follow_the_interval() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 100ms --hold 550ms 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    // One at the start, about five during the hold, plus the final one.
    let n = out.lines().filter(|l| parse_status(l).is_some()).count();
    assert!((4..=9).contains(&n), "{n} status lines:\n{out}");
    let quiet = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --hold 300ms 127.0.0.1 {}",
        server.port()
    ));
    let n = stdout(&quiet)
        .lines()
        .filter(|l| parse_status(l).is_some())
        .count();
    assert_eq!(n, 2, "-i 0: the start and the final status only");
}

#[test]
fn no_sleep_after_the_last_connection() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let started = Instant::now();
    let o = tg(&format!("run -y -c 1 -s 5000 127.0.0.1 {}", server.port()));
    assert_eq!(code(&o), 0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "one connection must not wait for -s"
    );
}

/// A signal during the hold ends it: the report, and exit 0 since every connection was made.
fn a_signal_during_the_hold_ends_it_with_the_report_and_exit_0(sig: &str) {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let port = server.port();
    let mut child = spawn(&format!(
        "run -y -c 5 -s 0 -i 0 --hold 60s 127.0.0.1 {port}"
    ));
    assert_eq!(server.settle_at(5, Duration::from_secs(10)), 5);
    signal(child.id(), sig);
    let started = Instant::now();
    let o = wait_output(&mut child, Duration::from_secs(20));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "SIG{sig}: the hold was not cut short"
    );
    let out = stdout(&o);
    assert_eq!(
        code(&o),
        0,
        "SIG{sig}: every connection was established and none is pending: {out}"
    );
    assert_eq!(final_counts(&out), [5, 0, 5, 0, 0, 0]);
    assert!(stderr(&o).contains("Interrupted"), "{}", stderr(&o));
}

#[test]
fn sigint_during_the_hold_ends_it_with_the_report_and_exit_0() {
    a_signal_during_the_hold_ends_it_with_the_report_and_exit_0("INT");
}

#[test]
fn sigterm_during_the_hold_ends_it_with_the_report_and_exit_0() {
    a_signal_during_the_hold_ends_it_with_the_report_and_exit_0("TERM");
}

/// Output never holds up dials: with `-v` into a pipe nobody reads yet (far more text than a
/// pipe holds), every connection is still dialed at once; the text follows when read.
#[test]
fn a_stalled_reader_does_not_hold_up_the_ramp() {
    // The built-in server (a large backlog, a line per accepted peer): an in-test server with a
    // small backlog would drop SYNs under a loaded machine and blur what is measured.
    let server = BuiltinServer::start("127.0.0.1", &["-m", "0", "-d", "60"]);
    let mut child = spawn(&format!(
        "run -y -v -c 3000 -s 0 -i 0 --close rst 127.0.0.1 {}",
        server.port
    ));
    // About 3000 × 3 lines of -v text, ten times a pipe's 64 KiB, and nobody reads it yet.
    let accepted = || {
        let lines = server.lines();
        lines
            .iter()
            .filter(|l| l.parse::<std::net::SocketAddr>().is_ok())
            .count()
    };
    let started = Instant::now();
    while accepted() < 3000 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(accepted(), 3000, "the ramp waited for the reader");
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut err, &mut text).unwrap();
        text
    });
    let o = wait_output(&mut child, Duration::from_secs(30));
    let err = reader.join().unwrap();
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(final_counts(&stdout(&o)), [3000, 0, 3000, 0, 0, 0]);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains(": established after "))
            .count(),
        3000,
        "every -v line arrives, in the end"
    );
}
