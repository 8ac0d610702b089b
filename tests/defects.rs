//! Regression tests for the defects a hostile tester found after the foundation (issue 6), one
//! test per defect, each named after the bug it pins. Each failed before its fix.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tcpgoon::config::{CloseMode, LoadConfig, Pacing};
use tcpgoon::engine::{Engine, Plan};
use tcpgoon::local::LocalEndpoints;
use tcpgoon::verdict::exit_code;

use crate::util::*;

/// Defect 1: Max concurrent was 2 in about half the runs when the server, on accepting its third
/// connection, closed all three: the closures and the third establishment landed in one poll
/// batch. The far side held three at once.
#[test]
fn max_concurrent_counts_an_establishment_and_closures_of_one_batch_together() {
    for round in 0..8 {
        let server = BuiltinServer::start("127.0.0.1", &["-m", "3", "-d", "20", "-q"]);
        let o = tg(&format!(
            "run -y 127.0.0.1 {} -c 3 -s 100 --hold 3 -v",
            server.port
        ));
        let out = stdout(&o);
        assert!(
            out.contains("Max concurrent established connections: 3\n"),
            "round {round}:\n{out}{}",
            stderr(&o)
        );
    }
}

/// The child of `pid` (the demo's server), read from /proc.
fn only_child(pid: u32) -> u32 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    let kids: Vec<u32> = text
        .split_whitespace()
        .map(|k| k.parse().unwrap())
        .collect();
    assert_eq!(kids.len(), 1, "{kids:?}");
    kids[0]
}

/// True once `pid` has exited (gone, or a zombie nobody reaped).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Defect 2: `demo` left its server running forever when it died by SIGHUP, SIGKILL or SIGUSR1.
#[test]
fn the_demo_server_dies_with_the_demo_whatever_kills_it() {
    for sig in ["HUP", "KILL", "USR1", "TERM"] {
        let mut demo = tcpgoon()
            .args("demo -c 2 -s 0 -i 0 --hold 60s".split(' '))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The demo's first line comes once its server listens.
        let mut first = String::new();
        BufReader::new(demo.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with("demo: the built-in server"), "{first}");
        let server = only_child(demo.id());
        assert!(!dead(server));
        signal(demo.id(), sig);
        let _ = demo.wait();
        let start = Instant::now();
        while !dead(server) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            dead(server),
            "SIG{sig}: the server {server} outlived the demo"
        );
    }
}

/// The `all settled after` figure of the Ramp line, in microseconds.
fn settled_after_us(out: &str) -> f64 {
    let ramp = out
        .lines()
        .find(|l| l.starts_with("Ramp: "))
        .unwrap_or_else(|| panic!("no Ramp line:\n{out}"));
    let text = ramp
        .split("all settled after ")
        .nth(1)
        .and_then(|rest| rest.split([';', ' ']).next())
        .unwrap_or_else(|| panic!("{ramp}"));
    go_duration_us(text)
}

/// A Go duration (`81µs`, `2.998s`, `1.5ms`) in microseconds.
fn go_duration_us(text: &str) -> f64 {
    for (unit, scale) in [("µs", 1.0), ("ms", 1e3), ("ns", 1e-3), ("s", 1e6)] {
        if let Some(n) = text.strip_suffix(unit) {
            if let Ok(v) = n.parse::<f64>() {
                return v * scale;
            }
        }
    }
    panic!("not a Go duration: {text:?}")
}

/// Defect 3: After a SIGINT stopped the ramp, "all settled after" showed the time of the interrupt; it
/// is when the last dial settled.
#[test]
fn settled_after_is_when_the_last_dial_settled_not_the_interrupt() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    // The second connection is due at 2 s; the interrupt comes at about 800 ms.
    let mut child = spawn(&format!(
        "run -y -c 2 --rate 0.5 -i 0 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(server.settle_at(1, Duration::from_secs(10)), 1);
    std::thread::sleep(Duration::from_millis(700));
    signal(child.id(), "INT");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let out = stdout(&o);
    assert_eq!(final_counts(&out), [2, 0, 1, 0, 0, 1], "{out}");
    let settled = settled_after_us(&out);
    assert!(
        settled < 300_000.0,
        "the only dial settled at once, not at the interrupt: {settled}µs\n{out}"
    );
}

/// Defect 5: Multicast, broadcast and unspecified source addresses were accepted, and the connections
/// left from 127.0.0.1 while `-v` claimed otherwise.
#[test]
fn a_source_no_connection_can_come_from_is_refused() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    for (source, what) in [
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("0.0.0.0", "unspecified"),
        ("::/127", "unspecified"),
    ] {
        let o = tg(&format!(
            "run -y -c 2 -s 0 --source {source} 127.0.0.1 {}",
            server.port()
        ));
        assert_eq!(code(&o), 1, "{source}");
        let err = stderr(&o);
        assert!(err.starts_with("error: --source"), "{source}: {err}");
        assert!(err.contains(what), "{source}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(server.settle_at(0, Duration::ZERO), 0, "nothing was dialed");
}

/// Defect 6: An address written alone in a long `--source` list slipped through the sampled check.
#[test]
fn every_source_written_alone_is_checked_before_dialing() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 10 -s 0 --source 127.1.0.0/21,127.0.0.5,192.0.2.1,127.0.0.6 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("source address 192.0.2.1 cannot be used"),
        "{err}"
    );
    assert!(stdout(&o).is_empty(), "nothing dialed: {}", stdout(&o));
}

/// Defect 6: A connection whose source address cannot be bound here was counted as the target's
/// error (exit 2, "Error: N"): it is a local error, never dialed (NotInitiated, exit 1).
#[test]
fn a_local_bind_failure_is_not_the_targets_error() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let sources = vec!["127.0.0.1".parse().unwrap(), "192.0.2.1".parse().unwrap()];
    let plan = Plan {
        targets: vec![server.addr],
        load: LoadConfig {
            connections: 10,
            pacing: Pacing::Interval(Duration::ZERO),
            dial_timeout: Duration::from_secs(5),
            interval: None,
            hold: Duration::ZERO,
            max_dialing: 1024,
            close: CloseMode::Rst,
            checks: Default::default(),
            shard: Default::default(),
        },
        local: LocalEndpoints::kernel(sources),
        name: Default::default(),
    };
    let result = Engine::new(plan, None).unwrap().run(&mut ()).unwrap();
    let c = result.counts;
    assert_eq!((c.established, c.error, c.local_error), (5, 0, 5), "{c:?}");
    assert_eq!(result.errors.total(), 0);
    assert_eq!(result.local_errors.sorted(), vec![(99, 5)], "EADDRNOTAVAIL");
    assert_eq!(result.time_to_error.count(), 0);
    assert_eq!(exit_code(&c), 1, "never dialed: the run did not complete");
    let block = tcpgoon::report::final_block(&result);
    assert!(block.contains("Error: 0, NotInitiated: 5"), "{block}");
    let extra = tcpgoon::report::extended_block(&result);
    assert!(
        extra.contains("Local errors: 5 connections could not be opened on this machine"),
        "{extra}"
    );
}

/// Defect 7: `-c 100m` advised `ulimit -n 100000008`, above the kernel's ceiling `fs.nr_open`.
#[test]
fn fd_advice_beyond_the_kernels_ceiling_says_so() {
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        nr_open < 100_000_008,
        "this machine's fs.nr_open allows the run"
    );
    let o = tg(&format!("run -y -c 100m -s 0 127.0.0.1 {}", closed_port()));
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "more than this kernel allows one process (fs.nr_open = {nr_open})"
        )),
        "{err}"
    );
    assert!(err.contains("several processes"), "{err}");
    // The need counts the descriptors the process already has open (3 and a few more, which
    // differ between machines); every number in the line must be that one need.
    let need: u64 = err
        .split("connections need ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no need in {err}"));
    assert!((100_000_003..100_000_064).contains(&need), "{err}");
    assert!(
        err.contains(&format!("sysctl -w fs.nr_open={need}`")),
        "{err}"
    );
    assert!(err.contains(&format!("then `ulimit -n {need}`")), "{err}");
    assert!(!err.contains("raise it with `ulimit -n"), "{err}");
}

/// Defect 12: An unreadable answer to the prompt was hidden behind "standard input is not a
/// terminal".
#[test]
fn an_unreadable_prompt_answer_says_what_failed() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let args = format!("run -c 1 127.0.0.1 {}", server.port());
    let dir = tcpgoon()
        .args(args.split(' '))
        .stdin(File::open("/").unwrap())
        .output()
        .unwrap();
    assert_eq!(code(&dir), 1);
    let err = stderr(&dir);
    assert!(
        err.contains("cannot read the answer to the prompt from standard input: Is a directory"),
        "{err}"
    );
    assert!(!err.contains("not a terminal"), "{err}");
    let mut child = tcpgoon()
        .args(args.split(' '))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\xff\xfe\n")
        .unwrap();
    let bad = wait_output(&mut child, Duration::from_secs(20));
    assert_eq!(code(&bad), 1);
    assert!(
        stderr(&bad).contains("from standard input: it is not UTF-8 text"),
        "{}",
        stderr(&bad)
    );
    assert_eq!(server.settle_at(0, Duration::ZERO), 0, "nothing was dialed");
}

/// Defect 13: A SIGINT during the hold said "waiting for 0 dialing ones" and ended at once.
#[test]
fn an_interrupt_during_the_hold_says_the_hold_ends() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let mut child = spawn(&format!(
        "run -y -c 3 -s 0 -i 0 --hold 60s 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(server.settle_at(3, Duration::from_secs(10)), 3);
    signal(child.id(), "INT");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let err = stderr(&o);
    assert!(
        err.contains("Interrupted: ending the hold after ") && err.contains(" of 1m0s"),
        "{err}"
    );
    assert!(!err.contains("waiting for"), "{err}");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

/// Defect 15: A write error on stdout (`> /dev/full`) was ignored: the report was lost and the exit
/// code said nothing.
#[test]
fn a_report_lost_to_a_full_stdout_is_exit_1() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let full = || Stdio::from(File::create("/dev/full").unwrap());
    let args = format!("run -y -c 2 -s 0 127.0.0.1 {}", server.port());
    for args in [args.as_str(), "version", "--help"] {
        let o = tcpgoon()
            .args(args.split(' '))
            .stdin(Stdio::null())
            .stdout(full())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(code(&o), 1, "{args}");
        let err = stderr(&o);
        assert!(
            err.contains("error: the report could not be written to standard output: No space left on device"),
            "{args}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Defect 8: Ports picked by the tool and left in TIME_WAIT blocked other programs' `connect()` to
/// other destinations (the kernel's port search skips explicitly bound ports). In a namespace
/// whose whole ephemeral range a FIN-closed run left in TIME_WAIT, another program still
/// connects elsewhere.
#[test]
fn ports_left_in_time_wait_stay_usable_by_other_programs() {
    if !tcpgoon::engine::connect_time_ports_supported() {
        let _ = std::io::stderr().write_all(
            b"SKIPPED defects::ports_left_in_time_wait_stay_usable_by_other_programs: kernel lacks IP_LOCAL_PORT_RANGE (Linux 6.3+)\n",
        );
        return;
    }
    let Some(ns) = Netns::with_port_range("share", 45000, 45099) else {
        return;
    };
    let _server = ns.server();
    let _other = BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        17002,
        &["-m", "0", "-d", "60", "-q"],
    );
    let o = ns.tg("run -y -c 100 -s 0 -i 0 --close fin 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The server closes its ends as it reads the EOFs: on a loaded machine that can pause for
    // longer than `wait_sockets_toward`'s half second of no change, so wait for the count.
    let start = std::time::Instant::now();
    let mut time_wait = 0;
    while start.elapsed() < std::time::Duration::from_secs(10) {
        time_wait = ns.sockets_toward(17001, "06");
        if time_wait >= 90 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // At least 85 of the 100 ports (a few FIN-closed sockets may lose their TIME_WAIT when
    // the server closes a batch): at most 15 are free, fewer than the 20 connections below.
    assert!(time_wait >= 85, "{time_wait} ports in TIME_WAIT");
    // Another program: plain connect()s, the kernel searching for ports, toward 17002.
    let o = ns.tg("run -y -c 20 -s 0 -i 0 --source-ports kernel --close rst 127.0.0.1 17002");
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(final_counts(&stdout(&o)), [20, 0, 20, 0, 0, 0]);
}

/// Defect 8: The tool's own ports come from its cursor with either mechanism: the peer sees them.
#[test]
fn picked_ports_are_the_ports_the_peer_sees() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!("run -y -v -c 5 -s 0 127.0.0.1 {}", server.port()));
    assert_eq!(code(&o), 0);
    let err = stderr(&o);
    let mut said: Vec<u16> = err
        .lines()
        .filter_map(|l| l.split(" from port ").nth(1))
        .map(|p| p.trim().parse().unwrap())
        .collect();
    // The client is done once its handshakes complete; the server may accept a little later.
    assert_eq!(server.settle_at(5, Duration::from_secs(10)), 5);
    let mut seen: Vec<u16> = server.peers().iter().map(SocketAddr::port).collect();
    said.sort_unstable();
    seen.sort_unstable();
    assert_eq!(said.len(), 5, "{err}");
    assert_eq!(said, seen);
}

/// Defect 4: the README's Ramp example (`1000 connections in 999.2ms (1000.8 connections/s)`)
/// did not match what the code computes. Every Ramp line the README shows must add up.
#[test]
fn the_readme_ramp_examples_add_up() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("Ramp: dialed "))
        .collect();
    assert!(!lines.is_empty(), "the README shows a Ramp line");
    for line in lines {
        // Ramp: dialed N connections in SPAN (RATE connections/s), ...
        let words: Vec<&str> = line.split_whitespace().collect();
        let n: f64 = words[2].parse().unwrap();
        let span_s = go_duration_us(words[5]) / 1e6;
        let rate: f64 = words[6].trim_start_matches('(').parse().unwrap();
        let computed = tcpgoon::results::Ramp {
            dialed: n as u64,
            first_dial: Duration::ZERO,
            last_dial: Duration::from_secs_f64(span_s),
            settled: None,
            max_lag: None,
        }
        .rate()
        .unwrap();
        assert!(
            (computed - rate).abs() <= 0.05,
            "{line}: the code computes {computed:.1}/s"
        );
    }
}
