//! The confirmation prompt through the binary, answered from a pipe.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use crate::util::*;

fn answer(input: &str, port: &str) -> std::process::Output {
    let mut child = tcpgoon()
        .args(["run", "-c", "2", "-s", "0", "127.0.0.1", port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    wait_output(&mut child, Duration::from_secs(30))
}

const HEADER: &str = "****************************** WARNING ******************************\n\
    * You are going to run a TCP stress check with these arguments:\n\
    *\t- Host: 127.0.0.1\n";

#[test]
fn yes_runs() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = answer("y\n", &server.port());
    let out = stdout(&o);
    assert!(out.starts_with(HEADER), "{out}");
    assert!(out.contains(&format!(
        "*\t- TCP Port: {}\n*\t- # of concurrent connections: 2\n",
        server.port()
    )));
    assert!(out.contains("Do you want to continue? (y/N): "));
    assert_eq!(code(&o), 0, "{out}");
    assert_eq!(server.settle_at(2, Duration::from_secs(5)), 2);
}

#[test]
fn no_aborts_with_exit_1_and_dials_nothing() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    for input in ["n\n", "NO\n", "\n"] {
        let o = answer(input, &server.port());
        assert_eq!(code(&o), 1);
        assert!(
            stdout(&o).ends_with("Do you want to continue? (y/N): \n*** Execution aborted as prompted by the user ***\n"),
            "{}",
            stdout(&o)
        );
    }
    assert_eq!(server.settle_at(0, Duration::ZERO), 0);
}

#[test]
fn garbage_then_yes() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = answer("perhaps\n  Yes \r\n", &server.port());
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("Do you want to continue? (y/N): \nSorry, response not recognized. Try again, please\nDo you want to continue? (y/N): "));
}

#[test]
fn end_of_input_exits_1_with_a_hint() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = answer("", &server.port());
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).ends_with("Do you want to continue? (y/N): Response not processed\n"));
    assert!(stderr(&o).contains("-y/--assume-yes"), "{}", stderr(&o));
    assert_eq!(server.settle_at(0, Duration::ZERO), 0);
}
