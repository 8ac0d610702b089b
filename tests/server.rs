//! `tcpgoon server`: the built-in target's limits and messages.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::*;

#[test]
fn stops_after_max_connections() {
    let mut server = BuiltinServer::start("127.0.0.1", &["-m", "3", "-d", "30"]);
    assert!(server.lines()[0].contains("up to 3 connections or 30 seconds, what happens first"));
    let _held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let lines = server.lines();
    assert_eq!(lines[1], "Press Ctrl+C to end");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("127.0.0.1:")).count(),
        3,
        "{lines:?}"
    );
    assert_eq!(
        lines.last().unwrap(),
        "Reached max number of connections: 3"
    );
}

#[test]
fn stops_after_its_duration() {
    let started = Instant::now();
    let mut server = BuiltinServer::start("127.0.0.1", &["-m", "0", "-d", "1"]);
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(
        server.lines().last().unwrap(),
        "Reached max duration: 1 seconds"
    );
}

#[test]
fn holds_what_tcpgoon_opens() {
    let server = BuiltinServer::holding("127.0.0.1");
    let o = tg(&format!("run -y -c 300 -s 0 127.0.0.1 {}", server.port));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(final_counts(&stdout(&o)), [300, 0, 300, 0, 0, 0]);
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let server = BuiltinServer::holding("127.0.0.1");
    let o = tg(&format!("server --bind 127.0.0.1 -p {}", server.port));
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    let at = format!(
        "error: the server cannot listen on 127.0.0.1:{}: ",
        server.port
    );
    assert!(err.starts_with(&at) && err.contains("in use"), "{err}");
    assert!(err.contains("-p 0 for a free one"), "{err}");
}

/// Issue 6: `--bind 192.0.2.1` said "server on port 0: Cannot assign requested address"
/// without the address.
#[test]
fn an_address_this_machine_lacks_is_named() {
    let o = tg("server --bind 192.0.2.1 -p 0");
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: the server cannot listen on 192.0.2.1:0: "),
        "{err}"
    );
    assert!(
        err.contains("--bind takes an address of this machine"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// The greeting a connection is sent on accept, byte for byte, and what `run --expect` makes
/// of it; the banner line says what the server does.
#[test]
fn a_banner_greets_every_connection() {
    let server = BuiltinServer::start(
        "127.0.0.1",
        &["-m", "0", "-d", "30", "-q", "--banner", "220 ready\\r\\n"],
    );
    let mut client = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut greeting = [0u8; 11];
    client.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"220 ready\r\n");
    // Printed before the server accepted anything (the reader thread may lag).
    let start = Instant::now();
    while server.lines().len() < 3 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        server.lines()[1..3],
        [
            "Each connection: sends \"220 ready\\r\\n\" on accept",
            "Press Ctrl+C to end"
        ]
    );
    let o = tg(&format!(
        "run -y -c 50 -s 0 --expect 220\\x20ready 127.0.0.1 {}",
        server.port
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("Verified: 50 of 50 established connections got the expected data"),
        "{out}"
    );
}

/// `--echo` sends back every byte, in order, and keeps up with a client that sends far more
/// than the socket buffers hold (the server stops reading while the client is not reading).
#[test]
fn echo_returns_every_byte_in_order() {
    let server = BuiltinServer::start(
        "127.0.0.1",
        &["-m", "0", "-d", "30", "-q", "--echo", "--banner", "hi\\n"],
    );
    let client = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut writer = client.try_clone().unwrap();
    let sent = data.clone();
    let sending = std::thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    (&client).read_to_end(&mut back).unwrap();
    sending.join().unwrap();
    assert_eq!(&back[..3], b"hi\n");
    assert_eq!(back.len() - 3, data.len());
    assert!(back[3..] == data[..], "the echo differs from what was sent");
}

/// `--close-after` is an idle timeout the report reads back: every connection closed by FIN
/// that long after being established, and the hold fails its implicit threshold.
#[test]
fn close_after_shows_as_the_lifetime() {
    let server = BuiltinServer::start(
        "127.0.0.1",
        &["-m", "0", "-d", "30", "-q", "--close-after", "700ms"],
    );
    let o = tg(&format!(
        "run -y -c 40 -s 0 -i 0 --hold 3s 127.0.0.1 {}",
        server.port
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}");
    let closed = out
        .lines()
        .find(|l| l.starts_with("Closed: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        closed.starts_with("Closed: 40 connections: 40 FIN (lifetime min/p50/p90/max = "),
        "{closed}"
    );
    let lifetimes: Vec<Duration> = closed
        .split(" = ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap()
        .split('/')
        .map(|d| parse_go_duration(d).unwrap())
        .collect();
    for d in &lifetimes {
        assert!(
            *d >= Duration::from_millis(690) && *d < Duration::from_millis(1200),
            "{closed}"
        );
    }
    assert!(out.contains("Hold: asked 3s, held "), "{out}");
    assert!(
        out.contains("✗ held>=100%: 0 of 40 (0.0%) (implicit)"),
        "{out}"
    );
}

/// `--reset` makes every close of the server a reset: after `--close-after`, and in answer to
/// the client's FIN.
#[test]
fn reset_closes_with_rst() {
    let server = BuiltinServer::start(
        "127.0.0.1",
        &[
            "-m",
            "0",
            "-d",
            "30",
            "-q",
            "--reset",
            "--close-after",
            "300ms",
        ],
    );
    let o = tg(&format!(
        "run -y -c 20 -s 0 -i 0 --hold 2s 127.0.0.1 {}",
        server.port
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}");
    assert!(
        out.contains("Closed: 20 connections: 20 reset (lifetime"),
        "{out}"
    );

    let server = BuiltinServer::start("127.0.0.1", &["-m", "0", "-d", "30", "-q", "--reset"]);
    let mut client = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = [0u8; 8];
    let err = client.read(&mut buf).expect_err("a reset, not an EOF");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
}

/// The behaviour flags' bad values: one line naming the flag and what it takes, exit code 1.
#[test]
fn behaviour_flags_refuse_bad_values() {
    for (args, want) in [
        (
            "server --banner \\q",
            "error: --banner has an unknown escape",
        ),
        ("server --banner \\x4", "error: --banner "),
        (
            "server --close-after -1",
            "error: --close-after must not be negative",
        ),
        (
            "server --close-after 5x",
            "error: --close-after is not a valid duration",
        ),
    ] {
        let o = tg(args);
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{args}: {err}");
        assert!(
            err.starts_with(want) && err.lines().count() == 1,
            "{args}: {err}"
        );
    }
}
