//! `tcpgoon server`: the built-in target's limits and messages.

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
