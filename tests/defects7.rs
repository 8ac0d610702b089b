//! Regression tests for the defects a hostile tester found in the end-to-end checks, the hold,
//! the probe and the verdict (issue 7), one test per defect, each named after the bug it pins.
//! Each failed before its fix.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::*;

/// Two SIGINTs close together (as `timeout` sends them: to the child, then to its process
/// group) killed tcpgoon with no report and exit 130 in 2-3 runs of 40: the first ended the
/// hold, the run finished, the signal mask was restored, and the second signal, pending, then
/// killed the process while it wrote the report. A storm of signals until the process exits
/// must still leave the whole report and a documented exit code.
#[test]
fn a_storm_of_interrupts_still_ends_with_the_report() {
    for round in 0..3 {
        let server = TestServer::start("127.0.0.1", Behaviour::Hold);
        let mut child = spawn(&format!(
            "run -y -c 3 -s 0 -i 0 --hold 60s 127.0.0.1 {}",
            server.port()
        ));
        let pid = child.id();
        assert!(server.wait_open(3, Duration::from_secs(10)));
        let started = Instant::now();
        let storm = std::thread::spawn(move || {
            // Until kill(2) fails: the process is gone and reaped.
            let pid = Pid::from_raw(pid as i32);
            while started.elapsed() < Duration::from_secs(20) && kill(pid, Signal::SIGINT).is_ok() {
                std::thread::sleep(Duration::from_micros(20));
            }
        });
        let o = wait_output(&mut child, Duration::from_secs(20));
        storm.join().unwrap();
        let out = stdout(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "round {round}: {:?}\n{out}\n{}",
            o.status,
            stderr(&o)
        );
        assert!(
            out.contains("Max concurrent established connections: 3\n"),
            "round {round}: {out}"
        );
        assert!(
            out.contains("Ramp: dialed 3 connections"),
            "round {round}: {out}"
        );
    }
}

/// The report line that starts with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{out}"))
}

/// A SIGINT while waiting for `--expect` data said "5 got nothing within 30s" after 2 s, and
/// failed the threshold (exit 3). The wait was cut short: those connections are not judged,
/// and the run did not complete (exit 1).
#[test]
fn an_interrupted_expect_wait_leaves_connections_unjudged() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let mut child = spawn(&format!(
        "run -y -c 5 -s 0 -i 0 --expect-data --expect-timeout 30 127.0.0.1 {}",
        server.port()
    ));
    assert!(server.wait_open(5, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), "INT");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(
        out.contains("; 0 got nothing within 30s, 0 got other data, 0 were closed first\n  5 were still waiting when interrupted: not judged\n"),
        "{out}"
    );
    assert!(
        err.contains("Interrupted: no longer waiting for the expected data of 5 connections"),
        "{err}"
    );
    assert_eq!(code(&o), 1, "{out}");
}

/// A SIGINT during the hold with `--probe-at-end` skipped the probe yet failed `alive>=100%`
/// with "0 of 5". The interrupt ends the hold; the probe still runs.
#[test]
fn an_interrupted_hold_is_still_probed() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let mut child = spawn(&format!(
        "run -y -c 5 -s 0 -i 0 --hold 30s --probe-at-end 127.0.0.1 {}",
        server.port()
    ));
    assert!(server.wait_open(5, Duration::from_secs(10)));
    signal(child.id(), "INT");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let out = stdout(&o);
    assert!(
        out.contains("Probe at end: 5 of 5 connections still open answered within 3s"),
        "{out}"
    );
    assert!(out.contains("✓ alive>=100%"), "{out}");
    assert_eq!(code(&o), 0, "{out}");
}

/// A SIGINT during the probe said "ending the hold" (over already) and counted the pending
/// probes as "no answer within 20s" after 2 s. It ends the probe, says so, and leaves them
/// unjudged (exit 1).
#[test]
fn an_interrupted_probe_says_so_and_judges_nothing() {
    let Some(ns) = Netns::with_nft("probeint") else {
        return;
    };
    let _server = ns.server();
    let mut child = piped_in(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")).args(
            "run -y -c 5 -s 0 -i 0 --hold 1s --probe-at-end --probe-timeout 20s 127.0.0.1 17001"
                .split(' '),
        ),
    );
    ns.wait_established_toward_17001(5);
    crate::checks::cut(&ns);
    std::thread::sleep(Duration::from_millis(2000));
    signal(child.id(), "INT");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(
        err.contains("Interrupted: ending the probe after ")
            && err.contains(" of 20s, 5 connections unanswered"),
        "{err}"
    );
    assert!(!err.contains("ending the hold"), "{err}");
    assert!(
        line(&out, "Probe at end: ").contains(
            "0 of 5 connections still open answered within 20s; 0 reset, 0 no answer, 0 closed"
        ),
        "{out}"
    );
    assert!(
        out.contains("  5 were still unanswered when interrupted: not judged"),
        "{out}"
    );
    assert_eq!(code(&o), 1, "{out}");
}

/// The start of the expected text, then silence, was counted as "got nothing" while the first
/// byte statistics showed data. It is other data, shown with what came.
#[test]
fn a_partial_match_is_other_data_not_nothing() {
    let server = TestServer::start("127.0.0.1", Behaviour::Greet(b"HEL"));
    let o = tg(&format!(
        "run -y -c 4 -s 0 -i 0 --expect HELLO --expect-timeout 300ms 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert!(
        out.contains("; 0 got nothing within 300ms, 4 got other data, 0 were closed first"),
        "{out}"
    );
    assert!(
        out.contains("  instead: \"HEL\" (then nothing within 300ms)"),
        "{out}"
    );
    assert_eq!(code(&o), 3, "{out}");
}

/// A peer that does not read fills its receive window; the probe byte then waits, unsent,
/// while the peer acknowledges every window probe. It is alive, and was reported as "no
/// answer" like a dead path.
#[test]
fn a_peer_with_a_full_window_answers_the_probe() {
    let server = TestServer::start("127.0.0.1", Behaviour::NoRead);
    let file = std::env::temp_dir().join(format!("tcpgoon-fill-{}", std::process::id()));
    std::fs::write(&file, vec![b'A'; 65_535]).unwrap();
    // Three sends of 64 KiB fill the peer's receive buffer and the window closes.
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --send @{} --hold 1s --probe-at-end --probe-timeout 3s 127.0.0.1 {}",
        file.display(),
        server.port()
    ));
    std::fs::remove_file(&file).unwrap();
    let out = stdout(&o);
    assert!(
        line(&out, "Probe at end: ")
            .starts_with("Probe at end: 3 of 3 connections still open answered"),
        "{out}"
    );
    assert_eq!(code(&o), 0, "{out}");
}

/// A reset in answer to the probe was also counted as a closure during the hold, failing
/// `held>=100%` as well as `alive>=100%`. It is the probe's finding only.
#[test]
fn a_reset_answering_the_probe_is_not_a_hold_closure() {
    let Some(ns) = Netns::with_nft("probersk") else {
        return;
    };
    let _server = ns.server();
    let mut child = piped_in(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")).args(
            "run -y -c 5 -s 0 -i 0 --hold 2s --probe-at-end --probe-timeout 2s 127.0.0.1 17001"
                .split(' '),
        ),
    );
    ns.wait_established_toward_17001(5);
    // From now on every segment to the server (not a SYN) is answered with a reset.
    ns.sh(
        "nft add table inet t && nft add chain inet t in '{ type filter hook input priority 0; }' \
           && nft add rule inet t in tcp dport 17001 tcp flags \\& syn == 0 reject with tcp reset",
    );
    let o = wait_output(&mut child, Duration::from_secs(20));
    let out = stdout(&o);
    assert!(
        line(&out, "Probe at end: ").contains(
            "0 of 5 connections still open answered within 2s; 5 reset, 0 no answer, 0 closed"
        ),
        "{out}"
    );
    assert!(
        !out.contains("\nClosed: "),
        "no closure during the hold: {out}"
    );
    assert!(out.contains("✓ held>=100%: 5 of 5"), "{out}");
    assert!(out.contains("✗ alive>=100%: 0 of 5"), "{out}");
    assert_eq!(code(&o), 3, "{out}");
}

/// Without a check flag a greeting server made "First byte stats" appear, for a random number
/// of connections: the output must stay the Go tool's.
#[test]
fn no_first_byte_line_without_a_check() {
    let server = TestServer::start("127.0.0.1", Behaviour::Greet(b"HELLO\r\n"));
    for _ in 0..3 {
        let o = tg(&format!(
            "run -y -c 20 -s 0 -i 0 127.0.0.1 {}",
            server.port()
        ));
        let out = stdout(&o);
        assert!(!out.contains("First byte"), "{out}");
        assert_eq!(code(&o), 0, "{out}");
    }
}

/// A server that accepts and resets at once (`server --close-after 0 --reset`, a limit that
/// rejects after the handshake) showed as dial errors (exit 2) when the reset came before the
/// loop saw the handshake. A reset reaches only a connection whose handshake completed: it is
/// established and closed at once.
#[test]
fn an_accept_then_reset_is_a_closure_at_once_not_a_dial_error() {
    let server = BuiltinServer::start(
        "127.0.0.1",
        &["-m", "0", "-d", "30", "-q", "--close-after", "0", "--reset"],
    );
    for _ in 0..3 {
        let o = tg(&format!(
            "run -y -c 50 -s 0 -i 0 --hold 1s 127.0.0.1 {}",
            server.port
        ));
        let out = stdout(&o);
        assert!(!out.contains("Errors:"), "{out}");
        assert!(
            out.contains("Closed: 50 connections: 50 reset (lifetime")
                && out.contains("; 50 closed at once"),
            "{out}"
        );
        assert_eq!(code(&o), 3, "held>=100% fails: {out}");
    }
}

/// The ramp line said "dialed 20 connections" while 8 could not be opened on this machine and
/// were never dialed.
#[test]
fn the_ramp_counts_only_what_was_dialed() {
    let Some(ns) = Netns::create("rampcount") else {
        return;
    };
    ns.sh(
        "ip addr add 127.0.0.2/32 dev lo && ip addr add 127.0.0.3/32 dev lo \
           && ip addr del 127.0.0.1/8 dev lo && ip addr add 127.0.0.1/32 dev lo",
    );
    let _server = ns.server();
    let mut child = piped_in(ns.command(env!("CARGO_BIN_EXE_tcpgoon")).args(
        "run -y -c 20 --rate 20 -i 0 --source 127.0.0.2,127.0.0.3 127.0.0.1 17001".split(' '),
    ));
    std::thread::sleep(Duration::from_millis(400));
    ns.sh("ip addr del 127.0.0.3/32 dev lo");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let out = stdout(&o);
    let local: u64 = line(&out, "Local errors: ")
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(local > 0, "{out}");
    assert!(
        out.contains(&format!("Ramp: dialed {} connections", 20 - local)),
        "{out}"
    );
    assert_eq!(code(&o), 1, "{out}");
}
