//! `tcpgoon find-limit` (issue 11) against the real thing, each in a namespace the test creates:
//! HAProxy with a frontend `maxconn` and a greeting backend, nginx's `limit_conn`, the built-in
//! server's `-m`, a listener whose backlog is full and that never accepts. Each must give the
//! limit exactly, with the failure and its evidence named; several settings each (limits,
//! rates, steps) so that no number is a coincidence. Then the search past one process
//! (`--workers`), and the local limits that make the answer a lower bound ("at least N").

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::lb::{greeter, haproxy, lab, line, nginx, report, Need, TempDir};
use crate::util::*;

/// The JSON report's `limit` object, written by `--export-json` to `file`.
fn limit_of(file: &PathBuf) -> Value {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["limit"].clone()
}

/// `tcpgoon server` on 127.0.0.1:`port` in `ns`, with `extra` flags; stopped when dropped.
fn server(ns: &Netns, port: u16, extra: &[&str]) -> BuiltinServer {
    BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        port,
        extra,
    )
}

/// Starts `find-limit ARGS` in `ns` without waiting for it (to signal it, or its workers).
fn spawn_search(ns: &Netns, args: &[&str]) -> std::process::Child {
    piped_in(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon"))
            .args(["find-limit", "-y", "-i", "0"])
            .args(args),
    )
}

/// A report file for one search.
fn json_file(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tcpgoon-limit-{tag}-{}.json", std::process::id()))
}

/// The first line of the report, after the status lines: the answer.
fn answer(out: &str) -> &str {
    out.lines()
        .find(|l| !l.starts_with("Total: "))
        .unwrap_or_default()
}

/// Runs `find-limit ARGS` in `ns` with its JSON in a file: the output and the `limit` object.
fn search(ns: &Netns, tag: &str, args: &str) -> (Output, String, Value) {
    let file = json_file(tag);
    let o = ns.tg(&format!(
        "find-limit -y -i 0 --export-json {} {args}",
        file.display()
    ));
    let out = report(&o);
    eprintln!("{}", stderr(&o));
    let limit = limit_of(&file);
    let _ = std::fs::remove_file(&file);
    (o, out, limit)
}

/// `n` as the answer writes it: `1,000`.
fn grouped(n: u64) -> String {
    tcpgoon::report::limit::grouped(n)
}

fn found(limit: &Value, held: u64, first: u64, signal: &str) {
    assert_eq!(limit["answer"], "found", "{limit:#}");
    assert_eq!(limit["exact"], true, "{limit:#}");
    assert_eq!(limit["held"], held, "{limit:#}");
    assert_eq!(limit["first_failure"]["connection"], first, "{limit:#}");
    assert_eq!(limit["first_failure"]["signal"], signal, "{limit:#}");
}

#[test]
fn haproxy_frontend_maxconn_is_found_exactly() {
    let Some(ns) = lab("fl-haproxy", &[Need::Haproxy]) else {
        return;
    };
    let dir = TempDir::new("fl-haproxy");
    let _backend = greeter(&ns);
    let (_lb, _sock) = haproxy(
        &ns,
        &dir,
        "frontend a\n    bind 127.0.0.1:18000\n    maxconn 50\n    default_backend greet\n\
         frontend b\n    bind 127.0.0.1:18001 backlog 2048\n    maxconn 137\n    default_backend greet\n\
         backend greet\n    server s1 127.0.0.1:17001\n",
        &[18000, 18001],
    );
    for (port, k, pace) in [
        (18000, 50, "--rate 400"),
        (18001, 137, "--rate 2000"),
        (18001, 137, "--step 40 --step-hold 400ms"),
        // Three processes, each its own judge: when one has the answer, all stop dialing (or
        // they would dial into what the first frees as it settles).
        (18001, 137, "--workers 3 --step 40 --step-hold 400ms"),
    ] {
        let (o, out, limit) = search(
            &ns,
            "haproxy",
            &format!(
                "{pace} --expect HELLO\\r\\n --expect-timeout 300ms --settle 200ms 127.0.0.1 {port}"
            ),
        );
        assert_eq!(code(&o), 0, "{out}");
        // Processes side by side race for the last places of the step that crossed the
        // limit: the first one turned away is in that step, not exactly the plan's k + 1.
        let first = if pace.contains("--workers") {
            limit["first_failure"]["connection"].as_u64().unwrap()
        } else {
            k + 1
        };
        assert!((k - 40..=k + 1).contains(&first), "{limit:#}");
        assert!(
            answer(&out).starts_with(&format!(
                "held {k} connections with every check passing; first failure at {first}: accept queue: connections established but not verified (nothing within --expect-timeout 300ms) ("
            )),
            "{pace}: {out}"
        );
        found(&limit, k, first, "silent");
        assert!(
            limit["failures"]["silent"].as_u64().unwrap() >= 3,
            "{limit:#}"
        );
        assert_eq!(limit["checked"], true);
    }
}

#[test]
fn nginx_limit_conn_is_found_exactly() {
    let Some(ns) = lab("fl-nginx", &[Need::Nginx]) else {
        return;
    };
    let dir = TempDir::new("fl-nginx");
    let _backend = greeter(&ns);
    let _lb = nginx(
        &ns,
        &dir,
        "    limit_conn_zone $binary_remote_addr zone=per:1m;\n\
         server { listen 127.0.0.1:18000; limit_conn per 40; proxy_pass 127.0.0.1:17001; }\n\
         server { listen 127.0.0.1:18001; limit_conn per 25; proxy_pass 127.0.0.1:17001; }",
        &[18000, 18001],
    );
    // One source address: nginx's limit is the answer. Two: twice it (limit_conn is per
    // address), the first failure the first address's 26th connection (the plan's 51st).
    for (port, sources, k, checks) in [
        (18000, "", 40, ""),
        (18000, "", 40, "--expect-data --expect-timeout 500ms"),
        (18001, "--source 127.0.0.2-127.0.0.3", 50, ""),
    ] {
        let (o, out, limit) = search(
            &ns,
            "nginx",
            &format!("--rate 500 --settle 300ms {sources} {checks} 127.0.0.1 {port}"),
        );
        assert_eq!(code(&o), 0, "{out}");
        let held = if checks.is_empty() {
            format!("held {k} connections with every check passing (handshakes only: no --expect*)")
        } else {
            format!("held {k} connections with every check passing")
        };
        assert!(
            answer(&out).starts_with(&format!(
                "{held}; first failure at {}: rejected: closed by the target right after the handshake, never held (",
                k + 1
            )),
            "{out}"
        );
        found(&limit, k, k + 1, "rejected");
        assert!(
            limit["failures"]["rejected"].as_u64().unwrap() >= 3,
            "{limit:#}"
        );
        assert!(
            limit["rejected_within_us"].as_f64().unwrap() < 250_000.0,
            "{limit:#}"
        );
    }
}

#[test]
fn the_builtin_servers_max_is_found_exactly() {
    let Some(ns) = Netns::create("fl-builtin") else {
        return;
    };
    // A steady ramp, a fast one, and steps whose plateau the limit falls in the middle of (the
    // server closes its listener, resetting what its queue held, then the connections it held).
    for (k, pace) in [
        (30, "--rate 300"),
        (75, "--rate 5000"),
        (100, "--step 40 --step-hold 200ms"),
        (100, "--step 33 --step-hold 100ms"),
        // More closures at once than one poll returns: the newest (whose handshakes were
        // still queued) come first, the oldest over the next polls.
        (1000, "--step 300 --step-hold 300ms"),
    ] {
        let _server = server(&ns, 17002, &["-m", &k.to_string(), "-d", "30", "-q"]);
        let (o, out, limit) = search(
            &ns,
            "builtin",
            &format!("{pace} --settle 200ms 127.0.0.1 17002"),
        );
        assert_eq!(code(&o), 0, "{out}");
        assert!(
            answer(&out).starts_with(&format!(
                "held {} connections with every check passing (handshakes only: no --expect*); first failure at {}: ",
                grouped(k),
                grouped(k + 1)
            )),
            "{pace}: {out}"
        );
        assert_eq!(limit["held"], k, "{pace}: {limit:#}");
        assert_eq!(limit["first_failure"]["connection"], k + 1, "{limit:#}");
        assert_eq!(limit["answer"], "found");
    }
}

/// A listener with a backlog of `backlog` that never accepts, on 127.0.0.1:`port` in `ns`.
fn stuck_listener(ns: &Netns, port: u16, backlog: u32) -> std::process::Child {
    let child = ns
        .command("python3")
        .args([
            "-c",
            &format!(
                "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
                 s.bind(('127.0.0.1',{port}))\ns.listen({backlog})\nprint('up',flush=True)\ntime.sleep(30)"
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut child = child;
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut first,
    )
    .unwrap();
    assert_eq!(first.trim(), "up");
    child
}

#[test]
fn a_full_backlog_is_found_with_its_evidence() {
    let Some(ns) = Netns::create("fl-backlog") else {
        return;
    };
    // The kernel completes backlog + 1 handshakes for a listener that never accepts, then
    // drops SYNs: the evidence is the SYN sent again (seen a second after the dial), then the
    // dial timeout.
    // A step of 20 with the loop otherwise asleep (-i 0, a 10 s plateau): the second after
    // the dials is seen when it comes, not at the dial timeout.
    for (backlog, pace, first_due_s) in [
        (8u32, "--rate 200 -d 1500ms", 9.0 / 200.0),
        (3, "--rate 50 -d 1500ms", 4.0 / 50.0),
        (4, "--step 20 --step-hold 10s -d 4s", 0.0),
    ] {
        let mut listener = stuck_listener(&ns, 17003, backlog);
        let k = u64::from(backlog) + 1;
        let (o, out, limit) = search(
            &ns,
            "backlog",
            &format!("{pace} --settle 100ms 127.0.0.1 17003"),
        );
        let _ = listener.kill();
        let _ = listener.wait();
        assert_eq!(code(&o), 0, "{out}");
        assert!(
            answer(&out).starts_with(&format!(
                "held {k} connections with every check passing (handshakes only: no --expect*); first failure at {}: SYN retransmits: the target's accept queue or SYN backlog is full (",
                k + 1
            )),
            "{out}"
        );
        found(&limit, k, k + 1, "retransmit");
        let f = &limit["failures"];
        assert!(f["retransmit"].as_u64().unwrap() >= 3, "{limit:#}");
        assert_eq!(f["retransmit"], f["retransmit_timed_out"], "{limit:#}");
        assert!(
            answer(&out).contains(" of them then timed out after "),
            "{out}"
        );
        // Dialing stopped about a second after the first unanswered dial: not at -d.
        let stopped = limit["dialing_stopped_us"].as_f64().unwrap() / 1e6;
        assert!(
            (first_due_s + 1.0..first_due_s + 1.4).contains(&stopped),
            "{pace}: {limit:#}"
        );
    }
}

#[test]
fn workers_search_past_one_process() {
    let Some(ns) = Netns::create("fl-workers") else {
        return;
    };
    // A limit found by two processes: their answers add up to the target's.
    {
        let _server = server(&ns, 17002, &["-m", "300", "-d", "30", "-q"]);
        let (o, out, limit) = search(
            &ns,
            "workers",
            "--workers 2 --rate 3000 --settle 200ms 127.0.0.1 17002",
        );
        assert_eq!(code(&o), 0, "{out}");
        assert!(
            answer(&out).starts_with("held 300 connections with every check passing (handshakes only: no --expect*); first failure at "),
            "{out}"
        );
        assert_eq!(limit["held"], 300, "{limit:#}");
        // Two processes dial side by side, each a little ahead of or behind the other: the
        // first connection the target turned away (or the one after the last it held) is
        // near the plan's 301st, not exactly it.
        let first = limit["first_failure"]["connection"].as_u64().unwrap();
        assert!((290..=320).contains(&first), "{limit:#}");
    }
    // More than one process can hold (the open-files limit is 20,000): a server of two
    // processes, a search of two, all 25,000 held, the answer a lower bound at --max.
    let big = server(&ns, 17004, &["-m", "0", "-d", "60", "-q", "--workers", "2"]);
    let (o, out, limit) = search(
        &ns,
        "workers-big",
        "--workers 2 --max 25k --rate 25000 --settle 300ms 127.0.0.1 17004",
    );
    drop(big);
    assert_eq!(code(&o), 0, "{out}");
    assert_eq!(
        answer(&out),
        "held at least 25,000 connections with every check passing (handshakes only: no --expect*); no sustained failure up to --max 25,000"
    );
    assert_eq!(limit["answer"], "at_max", "{limit:#}");
    assert_eq!(limit["exact"], false, "{limit:#}");
    assert_eq!(limit["held"], 25_000, "{limit:#}");
    assert_eq!(
        (&limit["max"], &limit["max_from"]),
        (&Value::from(25_000), &Value::from("flag"))
    );
}

#[test]
fn the_local_limit_is_said_never_taken_for_the_targets() {
    let Some(ns) = Netns::create("fl-local") else {
        return;
    };
    let _server = server(&ns, 17001, &["-m", "0", "-d", "60", "-q"]);
    // 500 local ports: --max is sized from them, with a margin for other programs.
    ns.sh("sysctl -qw net.ipv4.ip_local_port_range='40000 40499'");
    let (o, out, limit) = search(&ns, "ports", "--rate 5000 --settle 100ms 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{out}");
    let max = limit["max"].as_u64().unwrap();
    assert_eq!(max, 500 - (500 / 50 + 64), "{limit:#}");
    assert_eq!(limit["max_from"], "ports", "{limit:#}");
    assert_eq!(limit["answer"], "at_max", "{limit:#}");
    assert_eq!(limit["held"], max, "{limit:#}");
    assert_eq!(
        answer(&out),
        format!("held at least {max} connections with every check passing (handshakes only: no --expect*); no sustained failure up to {max} connections: the local limit was reached first (the free local ports; more --source addresses hold more)")
    );
    // The same by two workers, right after (the ports above are in TIME_WAIT, wherever the
    // search picked them): each worker has its slice of the range, and --max is what the
    // fuller slice leaves, twice; the workers start, and the answer still names the ports.
    let (o, out, limit) = search(
        &ns,
        "ports-workers",
        "--workers 2 --rate 5000 --settle 100ms 127.0.0.1 17001",
    );
    assert_eq!(code(&o), 0, "{out}\n{}", stderr(&o));
    let max = limit["max"].as_u64().unwrap();
    assert!(max < 500, "{limit:#}");
    assert_eq!(limit["max_from"], "ports", "{limit:#}");
    assert_eq!(limit["held"], max, "{limit:#}");
    assert!(
        answer(&out).ends_with("(the free local ports; more --source addresses hold more)"),
        "{out}"
    );
    // An open-files limit of 300 (and the whole port range again): the search stops at what
    // one process can hold.
    ns.sh("sysctl -qw net.ipv4.ip_local_port_range='32768 60999'");
    let file = json_file("files");
    let o = wait_output(
        &mut piped(ns.command("prlimit").args([
            "--nofile=300:300",
            env!("CARGO_BIN_EXE_tcpgoon"),
            "find-limit",
            "-y",
            "-i",
            "0",
            "--rate",
            "5000",
            "--settle",
            "100ms",
            // More than one process may open here: not refused, bounded (and said).
            "--max",
            "1000",
            "--export-json",
            file.to_str().unwrap(),
            "127.0.0.1",
            "17001",
        ])),
        std::time::Duration::from_secs(30),
    );
    let out = report(&o);
    let limit = limit_of(&file);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code(&o), 0, "{out}\n{}", stderr(&o));
    assert_eq!(limit["max_from"], "files", "{limit:#}");
    let max = limit["max"].as_u64().unwrap();
    assert!((250..300).contains(&max), "{limit:#}");
    assert!(
        answer(&out).ends_with(
            "the local limit was reached first (the open-files limit; --workers N holds more)"
        ),
        "{out}"
    );
}

#[test]
fn find_limit_refuses_what_it_sets_itself() {
    for (args, want) in [
        ("find-limit -c 10 127.0.0.1 1", "error: find-limit does not take -c/--connections: --max sets the most connections to open"),
        ("find-limit -s 5 127.0.0.1 1", "error: find-limit does not take -s/--sleep: --rate or --step with --step-hold set the pace"),
        ("find-limit --hold 5s 127.0.0.1 1", "error: find-limit does not take --hold: --settle sets how long what was dialed is held once dialing stops"),
        ("find-limit --probe-at-end 127.0.0.1 1", "error: find-limit does not take --probe-at-end: run `tcpgoon run -c N --hold T --probe-at-end` with the limit found"),
        ("find-limit --stop-on closed,bogus 127.0.0.1 1", "error: --stop-on takes signals from error, timeout, retransmit, closed, check, slow (or all), comma-separated (got \"bogus\")"),
        ("find-limit --stop-on slow 127.0.0.1 1", "error: --stop-on slow needs --connect-p99 DURATION, the bound on the connect-time p99"),
        ("find-limit --sustained 0 127.0.0.1 1", "error: --sustained"),
        ("find-limit --connect-p99 0 127.0.0.1 1", "error: --connect-p99 must be more than 0 (got 0)"),
        ("find-limit --stop-on check 127.0.0.1 1", "error: --stop-on check needs --expect TEXT or --expect-data: without them nothing is checked"),
        ("find-limit --threshold limit>=50% 127.0.0.1 1", "error: --threshold limit>=50%: limit takes a number of connections (limit>=5000), not a percentage of --max"),
        ("demo --threshold limit>=1", "error: --threshold limit>=1: limit is what `tcpgoon find-limit` measures"),
        ("find-limit --threshold limit==100 127.0.0.1 1", "error: --threshold limit==100: limit takes >= or > (limit>=5000)"),
        ("find-limit --max 0 127.0.0.1 1", "error: --max"),
        ("find-limit 127.0.0.1", "error: find-limit needs the target's HOST and PORT (see `tcpgoon find-limit --help`)"),
        ("run --threshold limit>=5 127.0.0.1 1", "error: --threshold limit>=5: limit is what `tcpgoon find-limit` measures"),
        ("find-limit --step 10 127.0.0.1 1", "error: the following required arguments were not provided: --step-hold <DURATION>"),
        ("find-limit --step 10 --step-hold 1s --rate 5 127.0.0.1 1", "error: the argument '--step <COUNT>' cannot be used with '--rate <PER_SECOND>'"),
    ] {
        let o = tg(args);
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{args}: {err}");
        assert!(err.starts_with(want), "{args}: {err}");
        assert_eq!(err.lines().count(), 1, "{args}: {err}");
        assert!(stdout(&o).is_empty(), "{args}");
    }
}

#[test]
fn the_answer_is_in_every_export_and_read_back() {
    let Some(ns) = Netns::create("fl-exports") else {
        return;
    };
    let _server = server(&ns, 17002, &["-m", "40", "-d", "30", "-q"]);
    let base = std::env::temp_dir().join(format!("tcpgoon-limit-exports-{}", std::process::id()));
    let (json, html, junit) = (
        base.with_extension("json"),
        base.with_extension("html"),
        base.with_extension("xml"),
    );
    let o = ns.tg(&format!(
        "find-limit -y -i 0 --rate 400 --settle 100ms --threshold limit>=50 --export-json {} --export-html {} --export-junit {} 127.0.0.1 17002",
        json.display(),
        html.display(),
        junit.display()
    ));
    let out = report(&o);
    // The threshold fails: 40 held.
    assert_eq!(code(&o), 3, "{out}");
    assert!(out.contains("✗ limit>=50: 40 held at once\n"), "{out}");
    // The saved run renders the same text, answer first.
    let again = stdout(&tg(&format!("report {}", json.display())));
    assert!(again.starts_with("held 40 connections"), "{again}");
    assert!(out.ends_with(&again), "{again}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("held 40 connections with every check passing"),
        "HTML answer"
    );
    assert!(
        page.contains("<p class=\"limit-mark\"><strong>held 40 connections"),
        "the answer"
    );
    assert!(page.contains("limit: 40 held"), "the limit on the timeline");
    assert!(
        page.contains("first failure (41)"),
        "the first failure on it"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("limit&gt;=50") || xml.contains("limit>=50"),
        "{xml}"
    );
    for f in [&json, &html, &junit] {
        let _ = std::fs::remove_file(f);
    }
    let _ = line(&out, "held 40");
}

#[test]
fn a_signal_ends_the_search_with_a_lower_bound() {
    let Some(ns) = Netns::create("fl-signal") else {
        return;
    };
    let _server = server(&ns, 17001, &["-m", "0", "-d", "60", "-q"]);
    let file = json_file("signal");
    let mut child = spawn_search(
        &ns,
        &[
            "--rate",
            "200",
            "--max",
            "5000",
            "--export-json",
            file.to_str().unwrap(),
            "127.0.0.1",
            "17001",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    signal(child.id(), "INT");
    let o = wait_output(&mut child, std::time::Duration::from_secs(20));
    let out = report(&o);
    let limit = limit_of(&file);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code(&o), 1, "{out}");
    let held = limit["held"].as_u64().unwrap();
    assert!((60..=200).contains(&held), "{limit:#}");
    assert_eq!(limit["answer"], "interrupted", "{limit:#}");
    assert_eq!(
        answer(&out),
        format!("held at least {held} connections with every check passing (handshakes only: no --expect*); interrupted before a sustained failure")
    );
}

#[test]
fn an_idle_timeout_is_no_limit() {
    let Some(ns) = Netns::create("fl-idle") else {
        return;
    };
    // The server closes every connection a second after it came: at 500/s it holds about 500.
    let _server = server(
        &ns,
        17002,
        &["-m", "0", "-d", "60", "-q", "--close-after", "1s"],
    );
    // Dialing ends before the last closures, and the settle outlasts them: still no limit.
    let (o, out, limit) = search(
        &ns,
        "idle",
        "--rate 500 --max 600 --settle 2s 127.0.0.1 17002",
    );
    assert_eq!(code(&o), 0, "{out}");
    assert_eq!(limit["answer"], "at_max", "{limit:#}");
    assert_eq!(limit["exact"], false, "{limit:#}");
    let held = limit["held"].as_u64().unwrap();
    assert!((450..=560).contains(&held), "{limit:#}");
    assert!(
        answer(&out).starts_with(&format!("held at least {held} connections")),
        "{out}"
    );
    let _ = line(
        &out,
        "Closed after holding: 600 connections closed by the target after 1",
    );
    // One plateau held longer than the timeout: all its connections closed together, a second
    // after they came. From here that is the target dropping what it held; the evidence says
    // after how long (the docs: hold steps shorter than the target's idle timeout).
    let (o, out, limit) = search(
        &ns,
        "idle-steps",
        "--step 50 --step-hold 3s --max 600 --settle 100ms 127.0.0.1 17002",
    );
    assert_eq!(code(&o), 0, "{out}");
    assert_eq!(limit["held"], 50, "{limit:#}");
    assert!(
        answer(&out).contains("the target closed the connections it held (50 connections closed by the target, 50 of them held after 1"),
        "{out}"
    );
}

#[test]
fn a_search_that_loses_a_worker_is_a_lower_bound() {
    let Some(ns) = Netns::create("fl-lost") else {
        return;
    };
    let _server = server(&ns, 17001, &["-m", "0", "-d", "60", "-q"]);
    let file = json_file("lost");
    let mut child = spawn_search(
        &ns,
        &[
            "--workers",
            "2",
            "--rate",
            "200",
            "--max",
            "600",
            "--settle",
            "100ms",
            "--export-json",
            file.to_str().unwrap(),
            "127.0.0.1",
            "17001",
        ],
    );
    // `ip netns exec` runs tcpgoon in its own place: its children are the workers.
    let workers = {
        let start = std::time::Instant::now();
        loop {
            let w = children_of(child.id());
            if w.len() == 2 || start.elapsed() > std::time::Duration::from_secs(10) {
                break w;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    assert_eq!(workers.len(), 2);
    std::thread::sleep(std::time::Duration::from_millis(700));
    for w in workers {
        signal(w, "KILL");
    }
    let o = wait_output(&mut child, std::time::Duration::from_secs(20));
    let out = report(&o);
    let limit = limit_of(&file);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code(&o), 1, "{out}\n{}", stderr(&o));
    assert_eq!(limit["answer"], "interrupted", "{limit:#}");
    assert_eq!(limit["exact"], false, "{limit:#}");
    // The lost workers are said first, then the answer: a lower bound, never "no sustained
    // failure up to --max".
    let held = out
        .lines()
        .find(|l| l.starts_with("held "))
        .unwrap_or_default();
    assert!(
        held.starts_with("held at least ")
            && held.ends_with("; interrupted before a sustained failure"),
        "{out}"
    );
}
