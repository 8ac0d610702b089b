//! The command line through the binary: exit codes of usage errors, help, version.

use std::process::Stdio;
use std::time::Duration;

use crate::util::*;

#[test]
fn usage_errors_exit_1_with_one_clear_line() {
    for args in [
        "run localhost",
        "run localhost 70000",
        "run -c -5 localhost 80",
        "run -i -1 localhost 80",
        "run --nope localhost 80",
        "run --close maybe localhost 80",
        "server -p 70000",
        "run no-such-host.invalid 80",
    ] {
        let o = tg(args);
        assert_eq!(code(&o), 1, "{args:?}");
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(stdout(&o).is_empty(), "{args:?}: nothing on stdout");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = tg("run no-such-host.invalid 80");
    assert!(stderr(&o).starts_with("error: Domain name not resolvable"));
}

#[test]
fn help_version_and_root_line() {
    let o = tg("--help");
    assert_eq!(code(&o), 0);
    assert!(stdout(&o)
        .contains("tcpgoon tests concurrent connections towards a server listening on a TCP port"));
    let o = tg("run --help");
    let help = stdout(&o);
    for text in [
        "Force execution without asking for confirmation",
        "Number of connections you want to open",
        "Connection dialing timeout, in ms",
        "Interval, in seconds, between stats updates",
        "Time you want to sleep between connections, in ms",
        "Print debugging information to the standard error",
    ] {
        assert!(help.contains(text), "run --help lacks {text:?}");
    }
    let o = tg("version");
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.starts_with("Git Commit Hash: ") && out.contains("\nUTC Build Time: "),
        "{out}"
    );
    let o = tg("--version");
    assert!(stdout(&o).starts_with("tcpgoon "));
}

#[test]
fn fd_limit_is_checked_before_dialing() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let bin = env!("CARGO_BIN_EXE_tcpgoon");
    let limited = |connections: u64| {
        let script = format!(
            "ulimit -n 100 && exec {bin} run -y -c {connections} -s 0 -i 0 127.0.0.1 {}",
            server.port()
        );
        std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap()
    };
    let o = limited(200);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    // "200 connections need N open files but the limit is 100 ...; raise it with `ulimit -n N`"
    let needed: u64 = err
        .split("200 connections need ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        err.contains("but the limit is 100 (hard limit 100)"),
        "{err}"
    );
    assert!(err.contains(&format!("ulimit -n {needed}")), "{err}");
    // The need is the connections plus what is open (stdio at least) plus the poll, the signalfd
    // and a spare: exactly at the limit fits, one more does not.
    let extra = needed - 200;
    assert!((6..32).contains(&extra), "{err}");
    assert_eq!(
        server.settle_at(0, std::time::Duration::ZERO),
        0,
        "nothing was dialed"
    );
    let fits = limited(100 - extra);
    assert_eq!(code(&fits), 0, "{}{}", stdout(&fits), stderr(&fits));
    assert_eq!(final_counts(&stdout(&fits))[2], 100 - extra);
    assert_eq!(code(&limited(101 - extra)), 1);
}

#[test]
fn demo_runs_against_its_own_built_in_server() {
    let o = tg("demo -c 200 -s 0 -i 0");
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.starts_with("demo: the built-in server (tcpgoon server) listens on 127.0.0.1:"),
        "{out}"
    );
    assert_eq!(final_counts(&out), [200, 0, 200, 0, 0, 0]);
    assert!(
        !out.contains("behind schedule"),
        "no lag for an unpaced run"
    );
    let paced = tg("demo -c 5 -s 1");
    assert!(
        stdout(&paced).contains("behind schedule"),
        "{}",
        stdout(&paced)
    );
}

/// Regression: `println!` panicked when stdout was a pipe nobody reads any more
/// (`tcpgoon version | head -c1`). Here the pipe's read end is closed before the binary starts,
/// so every write to its stdout fails with EPIPE (Rust ignores SIGPIPE). A closed fd 1 would not
/// do: std treats a closed stdout as a sink and never reports the error.
#[test]
fn a_stdout_pipe_without_reader_is_no_panic_and_keeps_the_exit_code() {
    let broken = |args: &str| {
        // Close-on-exec, so that no other test's child inherits the read end and keeps it alive.
        let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        drop(reader);
        let mut child = tcpgoon()
            .args(args.split_whitespace())
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcpgoon");
        wait_output(&mut child, Duration::from_secs(60))
    };
    let o = broken("version");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let o = broken(&format!("run -y -c 2 -s 0 127.0.0.1 {}", closed_port()));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    // The run still did its work: its stderr report of the refusals is not lost with stdout.
    let o = broken(&format!("run -y -v -c 2 -s 0 127.0.0.1 {}", closed_port()));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("connection 2: error after "),
        "{}",
        stderr(&o)
    );
}
