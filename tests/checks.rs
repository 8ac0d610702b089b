//! The end-to-end checks, closures, the hold, the probe and the verdict (issue 7), against
//! in-test servers on loopback whose behaviour fixes the truth.

use std::time::{Duration, Instant};

use crate::util::*;

/// The line of the report that starts with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{out}"))
}

#[test]
fn a_greeting_that_matches_verifies_every_connection() {
    let server = TestServer::start("127.0.0.1", Behaviour::Greet(b"HELLO tcpgoon\r\n"));
    let o = tg(&format!(
        "run -y -c 10 -s 0 -i 0 --expect HELLO 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("Verified: 10 of 10 established connections got the expected data (100.0%); 0 got nothing"),
        "{out}"
    );
    assert!(line(&out, "First byte stats for 10 connections").contains("p50/p90/p99/p99.9"));
    assert!(
        out.contains("✓ verified>=100%: 10 of 10 established (100.0%) (implicit)"),
        "{out}"
    );
}

#[test]
fn other_data_is_a_mismatch_shown_with_what_came() {
    let server = TestServer::start(
        "127.0.0.1",
        Behaviour::Greet(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"),
    );
    let o = tg(&format!(
        "run -y -c 6 -s 0 -i 0 --expect HTTP/1.1\\x20200 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}");
    assert!(out.contains("0 of 6 established connections got the expected data (0.0%); 0 got nothing within 5s, 6 got other data"), "{out}");
    assert!(
        out.contains("  instead: \"HTTP/1.1 503 Service Unavailable\\r\\n\\r\\n\""),
        "{out}"
    );
    assert!(
        out.contains("✗ verified>=100%: 0 of 6 established (0.0%) (implicit)"),
        "{out}"
    );
}

#[test]
fn silence_is_not_verification() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let started = Instant::now();
    let o = tg(&format!(
        "run -y -c 8 -s 0 -i 0 --expect-data --expect-timeout 300ms 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the run waits for the checks"
    );
    assert_eq!(code(&o), 3, "{out}");
    assert!(out.contains("0 of 8 established connections got the expected data (0.0%); 8 got nothing within 300ms"), "{out}");
}

/// The heart of the issue: a server that accepts only some connections. The others are
/// established for the client (the kernel completed their handshakes into the accept queue)
/// but never served. Established says 30; verified says the truth, 12.
#[test]
fn connections_waiting_in_an_accept_queue_are_not_verified() {
    let server = TestServer::start("127.0.0.1", Behaviour::AcceptAtMost(12, b"hi\n"));
    let o = tg(&format!(
        "run -y -c 30 -s 0 -i 0 --expect hi --expect-timeout 500ms 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(final_counts(&out), [30, 0, 30, 0, 0, 0], "{out}");
    assert!(out.contains("Verified: 12 of 30 established"), "{out}");
    assert!(out.contains("18 got nothing within 500ms"), "{out}");
    assert_eq!(code(&o), 3, "{out}");
}

#[test]
fn send_then_expect_the_echo() {
    let server = TestServer::start("127.0.0.1", Behaviour::Echo);
    let o = tg(&format!(
        "run -y -c 5 -s 0 -i 0 --send PING\\r\\n --expect PING\\r\\n 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("Verified: 5 of 5"), "{out}");
}

#[test]
fn send_reads_a_file() {
    let server = TestServer::start("127.0.0.1", Behaviour::Echo);
    let path = std::env::temp_dir().join(format!("tcpgoon-send-{}", std::process::id()));
    std::fs::write(&path, b"line one\nline two\n").unwrap();
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --send @{} --expect line\\x20one\\nline\\x20two\\n 127.0.0.1 {}",
        path.display(),
        server.port()
    ));
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let missing = tg(&format!(
        "run -y -c 1 --send @/nonexistent/x 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(code(&missing), 1);
    assert!(
        stderr(&missing).starts_with("error: --send @/nonexistent/x: cannot read the file"),
        "{}",
        stderr(&missing)
    );
}

/// A load balancer's idle timeout, readable from the report: every connection closed after
/// about 400 ms, the hold cut short, the implicit held>=100% failed.
#[test]
fn closures_show_their_cause_lifetime_and_the_hold_that_ended_early() {
    let server = TestServer::start(
        "127.0.0.1",
        Behaviour::CloseAfter(Duration::from_millis(400)),
    );
    let o = tg(&format!(
        "run -y -c 10 -s 0 -i 0 --hold 5s --threshold lifetime_min>=300ms 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}");
    let closed = line(
        &out,
        "Closed: 10 connections: 10 FIN (lifetime min/p50/p90/max = ",
    );
    assert!(
        closed.ends_with("0 closed at once (within 250ms of being established)"),
        "{closed}"
    );
    assert!(
        line(&out, "Hold: asked 5s, held ").ends_with(": ended early, no connection was left open")
    );
    assert!(out.contains("✓ lifetime_min>=300ms: "), "{out}");
    assert!(
        out.contains("✗ held>=100%: 0 of 10 (0.0%) (implicit)"),
        "{out}"
    );
}

#[test]
fn closed_at_once_is_a_rejection() {
    let server = TestServer::start("127.0.0.1", Behaviour::CloseAfter(Duration::ZERO));
    let o = tg(&format!(
        "run -y -c 10 -s 0 -i 0 --hold 3s --threshold closed_at_once==10 --threshold held>=0 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert!(out.contains("; 10 closed at once (within 250ms"), "{out}");
    assert!(out.contains("✓ closed_at_once==10: 10 of 10"), "{out}");
    assert_eq!(
        code(&o),
        0,
        "the written held>=0 replaces the implicit one: {out}"
    );
}

#[test]
fn the_probe_at_the_end_finds_live_connections() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 6 -s 0 -i 0 --hold 200ms --probe-at-end 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("Probe at end: 6 of 6 connections still open answered within 3s; 0 reset, 0 no answer, 0 closed"),
        "{out}"
    );
    assert!(
        out.contains("✓ alive>=100%: 6 of 6 probed (100.0%) (implicit)"),
        "{out}"
    );
}

#[test]
fn thresholds_decide_the_exit_code() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let port = server.port();
    let pass = tg(&format!(
        "run -y -c 5 -s 0 -i 0 --threshold connect_p99<2s --threshold established>=100% 127.0.0.1 {port}"
    ));
    assert_eq!(code(&pass), 0, "{}", stdout(&pass));
    assert!(stdout(&pass).contains("✓ connect_p99<2s: "));
    let fail = tg(&format!(
        "run -y -c 5 -s 0 -i 0 --threshold closed>=1 127.0.0.1 {port}"
    ));
    assert_eq!(code(&fail), 3, "{}", stdout(&fail));
    assert!(stdout(&fail).contains("✗ closed>=1: 0 of 5 (0.0%)"));
    // Errors: exit 2 by the Go rule, unless an errors threshold replaces it.
    let refused = closed_port();
    let o = tg(&format!("run -y -c 3 -s 0 -i 0 127.0.0.1 {refused}"));
    assert_eq!(code(&o), 2);
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --threshold errors<=100% 127.0.0.1 {refused}"
    ));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let bad = tg(&format!("run -y --threshold held>=101% 127.0.0.1 {port}"));
    assert_eq!(code(&bad), 1);
    assert!(
        stderr(&bad).starts_with("error: --threshold"),
        "{}",
        stderr(&bad)
    );
}

/// A listen backlog of one that is served slowly: later SYNs are dropped and sent again a
/// second later. TCP_INFO says so; the connect time is the second, not the last SYN's RTT.
#[test]
fn syn_retransmits_are_read_from_the_kernel() {
    let listener =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(0).unwrap();
    let port = listener.local_addr().unwrap().as_socket().unwrap().port();
    let acceptor = std::thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(300));
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
        }
        std::thread::sleep(Duration::from_secs(4));
        drop(held);
    });
    let o = tg(&format!(
        "run -y -c 4 -s 0 -i 0 -d 6s --threshold retransmitted==0 127.0.0.1 {port}"
    ));
    let out = stdout(&o);
    let warning = line(&out, "Warning: ");
    assert!(
        warning.contains("connections needed SYN retransmits: the target's accept queue or SYN backlog overflowed"),
        "{warning}"
    );
    let max = line(&out, "Response time stats for 4 successful connections")
        .rsplit('/')
        .nth(1)
        .unwrap()
        .to_string();
    assert!(
        max.ends_with('s') && !max.ends_with("ms") && !max.ends_with("µs"),
        "max {max}: a retransmitted SYN takes a second or more\n{out}"
    );
    assert_eq!(code(&o), 3, "{out}");
    acceptor.join().unwrap();
}

/// A namespace whose path to the server on 17001 can be cut silently: nft drops every packet
/// of port 17001, as a cloud load balancer drops an idle flow's state. `None` (with a SKIPPED
/// line) where namespaces or nft are missing, unless CI requires them.
fn cuttable() -> Option<(Netns, BuiltinServer)> {
    let ns = Netns::with_nft("cut")?;
    let server = ns.server();
    Some((ns, server))
}

/// Drops every packet to and from port 17001 in `ns`, with no FIN and no RST.
pub fn cut(ns: &Netns) {
    ns.sh("nft add table inet cut && nft add chain inet cut out '{ type filter hook output priority 0; }' \
           && nft add rule inet cut out tcp dport 17001 drop && nft add rule inet cut out tcp sport 17001 drop");
}

/// Keepalive finds a path that died silently: every connection ends as timed out, after about
/// idle + interval × count.
#[test]
fn keepalive_finds_a_silently_dropped_path() {
    let Some((ns, _server)) = cuttable() else {
        return;
    };
    let mut child = crate::util::piped_in(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon"))
            .args("run -y -c 5 -s 0 -i 0 --hold 15s --keepalive 1,1,1 127.0.0.1 17001".split(' ')),
    );
    std::thread::sleep(Duration::from_millis(500));
    cut(&ns);
    let o = wait_output(&mut child, Duration::from_secs(30));
    let out = stdout(&o);
    let closed = line(
        &out,
        "Closed: 5 connections: 5 timed out (lifetime min/p50/p90/max = ",
    );
    assert!(closed.contains("; 0 closed at once"), "{closed}");
    assert!(line(&out, "Hold: asked 15s").ends_with("no connection was left open"));
    assert_eq!(code(&o), 3, "{out}");
    let min = closed
        .split(" = ")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert!(
        min.ends_with('s') && !min.ends_with("ms"),
        "about 2 s and more: {min}"
    );
}

/// The end-of-hold probe finds the same dead path without keepalive.
#[test]
fn the_probe_finds_a_dead_path() {
    let Some((ns, _server)) = cuttable() else {
        return;
    };
    let mut child = crate::util::piped_in(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")).args(
            "run -y -c 5 -s 0 -i 0 --hold 1s --probe-at-end --probe-timeout 700ms 127.0.0.1 17001"
                .split(' '),
        ),
    );
    std::thread::sleep(Duration::from_millis(400));
    cut(&ns);
    let o = wait_output(&mut child, Duration::from_secs(30));
    let out = stdout(&o);
    assert!(
        out.contains("Probe at end: 0 of 5 connections still open answered within 700ms; 0 reset, 5 no answer"),
        "{out}"
    );
    assert!(
        out.contains("✗ alive>=100%: 0 of 5 probed (0.0%) (implicit)"),
        "{out}"
    );
    assert_eq!(code(&o), 3, "{out}");
}

/// With several source addresses the report counts each apart.
#[test]
fn per_source_counts() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 9 -s 0 -i 0 --source 127.0.0.2-127.0.0.4 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        assert!(
            out.contains(&format!(
                "  {ip}: 3 established, 0 closed (0 at once), 0 errors, 0 local errors"
            )),
            "{ip}: {out}"
        );
    }
}

/// The p99 of a run's connect times, from its percentile line.
fn connect_p99(out: &str) -> Duration {
    let figures = line(out, "Response time percentiles p50/p90/p99/p99.9 = ");
    let p99 = figures
        .rsplit(" = ")
        .next()
        .unwrap()
        .split('/')
        .nth(2)
        .unwrap();
    parse_go_duration(p99).unwrap_or_else(|| panic!("not a Go duration: {p99:?}"))
}

/// Connect times measure the target, not tcpgoon's loop: with every dial due at once (up to
/// 1,024 in flight, each completion waiting behind a burst of connect() calls) the loopback
/// distribution matches a paced run's. Before, the unpaced p99 was 20 times the paced one.
#[test]
fn connect_times_do_not_depend_on_the_burst() {
    let Some(ns) = Netns::create("burst") else {
        return;
    };
    let _server = ns.server();
    let burst = ns.tg("run -y -c 3000 -s 0 -i 0 --close rst 127.0.0.1 17001");
    let paced = ns.tg("run -y -c 3000 --rate 6000 -i 0 --close rst 127.0.0.1 17001");
    assert_eq!(code(&burst), 0, "{}", stdout(&burst));
    assert_eq!(code(&paced), 0, "{}", stdout(&paced));
    let (b, p) = (connect_p99(&stdout(&burst)), connect_p99(&stdout(&paced)));
    assert!(
        b <= (p * 5).max(Duration::from_millis(2)),
        "unpaced p99 {b:?} against paced {p:?}"
    );
}

/// `-v` says how each connection's check ended: verified, nothing, or other data.
#[test]
fn verbose_lines_say_how_each_check_ended() {
    let cases: [(Behaviour, &str, &str); 3] = [
        (
            Behaviour::Greet(b"HELLO\r\n"),
            "--expect HELLO",
            "verified: the expected data came",
        ),
        (
            Behaviour::Hold,
            "--expect-data --expect-timeout 200ms",
            "not verified: nothing came",
        ),
        (
            Behaviour::Greet(b"NOPE\r\n"),
            "--expect HELLO",
            "not verified: other data came",
        ),
    ];
    for (behaviour, flags, says) in cases {
        let server = TestServer::start("127.0.0.1", behaviour);
        let o = tg(&format!(
            "run -y -c 3 -s 0 -i 0 -v {flags} 127.0.0.1 {}",
            server.port()
        ));
        let err = stderr(&o);
        for n in 1..=3 {
            let line = err
                .lines()
                .find(|l| l.contains(&format!("connection {n}: {says}")))
                .unwrap_or_else(|| panic!("{flags}: connection {n}: {err}"));
            assert!(line.ends_with("after it was established"), "{line}");
        }
    }
}
