//! Past one process on one machine (issue 10, point 1): `run --workers N` shares one plan
//! between N processes (one prompt, summed status lines, one merged report, signals to all, a
//! dead worker said), and `server --workers N` holds more than one process's file descriptors.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tcpgoon-{}-workers-{name}", std::process::id()))
}

fn wait_workers(parent: u32, n: usize) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let w = children_of(parent);
        if w.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return w;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn json_of(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Past one process's open files on both sides: 25,000 connections (the limit is 20,000 here)
/// held by two client workers against a two-process server, in a namespace of its own.
#[test]
fn workers_hold_more_than_one_process_can_on_both_sides() {
    let Some(ns) = Netns::create("workers") else {
        return;
    };
    let tcpgoon = ns.command(env!("CARGO_BIN_EXE_tcpgoon"));
    let mut server = BuiltinServer::start_with(
        tcpgoon,
        "127.0.0.1",
        17001,
        &["-m", "0", "-d", "60", "-q", "--workers", "2"],
    );
    let o = ns.tg(
        "run -y -c 25000 -s 0 -i 0 --hold 1s --close rst --workers auto -v --source 127.0.0.1-127.0.0.2 127.0.0.1 17001",
    );
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(code(&o), 0, "{out}{err}");
    // auto: one process holds at most ~19,980 here, so two.
    assert!(err.contains("--workers auto: 2: processes"), "{err}");
    assert_eq!(final_counts(&out), [25000, 0, 25000, 0, 0, 0], "{out}");
    assert!(
        out.contains("Max concurrent established connections: 25000"),
        "{out}"
    );
    assert!(out.contains("✓ held>=100%: 25000 of 25000"), "{out}");
    // Each source's rows once, in --source's order, each with its half.
    let per_source: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  127.0.0."))
        .collect();
    assert_eq!(per_source.len(), 2, "{out}");
    assert!(
        per_source[0].starts_with("  127.0.0.1: 12500 established"),
        "{out}"
    );
    assert!(
        per_source[1].starts_with("  127.0.0.2: 12500 established"),
        "{out}"
    );
    // The server's processes accepted them all between them.
    signal(server_pid(&ns), "INT");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let lines = server.lines();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("Running")).count(),
        1,
        "one banner: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Workers: 2 processes share port 17001")),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Stopped by a signal after 25000 connections"),
        "{lines:?}"
    );
}

/// The pid of the `server --workers` parent in `ns` (the process whose children are workers).
fn server_pid(ns: &Netns) -> u32 {
    let out = std::process::Command::new("ip")
        .args(["netns", "pids", &ns.name])
        .output()
        .expect("ip netns pids");
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    *pids
        .iter()
        .find(|&&p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.contains("--workers") && !c.contains("--worker\0"))
        })
        .expect("the server parent")
}

/// The same plan by three workers and by one process: the same counts, the same schedule, the
/// same verdict; the status lines are the sums.
#[test]
fn workers_account_for_the_plan_as_one_process_does() {
    let server = BuiltinServer::start(
        "127.0.0.3",
        &["-m", "0", "-d", "60", "-q", "--close-after", "400ms"],
    );
    let plan = format!(
        "run -y -c 90 -s 5 -i 200ms --hold 700ms 127.0.0.3 {}",
        server.port
    );
    let one_file = temp("one.json");
    let many_file = temp("many.json");
    let one = tg(&format!("{plan} --export-json {}", one_file.display()));
    let many = tg(&format!(
        "{plan} --workers 3 --export-json {}",
        many_file.display()
    ));
    // Every connection closed by the far side during the hold: exit 3 either way.
    assert_eq!(code(&one), 3, "{}{}", stdout(&one), stderr(&one));
    assert_eq!(code(&many), 3, "{}{}", stdout(&many), stderr(&many));
    let (a, b) = (json_of(&one_file), json_of(&many_file));
    crate::export::validate(&b);
    assert_eq!(b["counts"], a["counts"]);
    assert_eq!(b["config"]["connections"], 90);
    assert!(b["config"].get("shard").is_none(), "{}", b["config"]);
    assert_eq!(b["closures"]["fin"]["count"], a["closures"]["fin"]["count"]);
    assert_eq!(b["connect_time"]["count"], 90);
    // The aggregate schedule is the plan's: connection i at i × 5 ms, over ~445 ms.
    let ramp = |d: &Value| {
        let r = &d["ramp"];
        (r["last_dial_us"].as_f64().unwrap() - r["first_dial_us"].as_f64().unwrap()) / 1000.0
    };
    assert!(
        (ramp(&b) - 445.0).abs() < 60.0 && (ramp(&a) - 445.0).abs() < 60.0,
        "one process {} ms, three workers {} ms",
        ramp(&a),
        ramp(&b)
    );
    // The merged peak comes from the workers' timelines on one clock: every connection was
    // open at once before the first close (400 ms after the first dial, ramp 445 ms) only in
    // part, so it is the one process's within what the timeline's step can hold.
    let peak = |d: &Value| d["max_concurrent"].as_u64().unwrap();
    assert!(
        peak(&b).abs_diff(peak(&a)) <= 6,
        "peak {} vs {}",
        peak(&b),
        peak(&a)
    );
    // One line per worker in the report's notes.
    let notes: Vec<&str> = b["discovery"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes[1].starts_with("worker 1/3: 30 of 30 established"),
        "{notes:?}"
    );
    // The status lines: the sums, as many as one process prints.
    let status = |o: &std::process::Output| {
        stdout(o)
            .lines()
            .filter_map(parse_status)
            .collect::<Vec<_>>()
    };
    let (sa, sb) = (status(&one), status(&many));
    assert_eq!(sb.first().map(|s| s[0]), Some(90), "{sb:?}");
    assert!(
        sb.iter()
            .all(|s| s[0] == 90 && s[1..].iter().sum::<u64>() == 90),
        "{sb:?}"
    );
    assert!(sa.len().abs_diff(sb.len()) <= 1, "{sa:?} vs {sb:?}");
}

/// `--shard` and `--workers` together: a machine's shard split between its workers merges with
/// the other machines' shards into the plan.
#[test]
fn a_shard_run_by_workers_merges_with_the_other_shards() {
    let server = TestServer::start("127.0.0.4", Behaviour::Hold);
    let plan = format!("run -y -c 40 -s 2 -i 0 127.0.0.4 {}", server.port());
    let files: Vec<_> = (0..2).map(|i| temp(&format!("shard{i}.json"))).collect();
    for (i, f) in files.iter().enumerate() {
        let workers = if i == 0 { "--workers 2" } else { "" };
        let o = tg(&format!(
            "{plan} --shard {i}/2 {workers} --export-json {}",
            f.display()
        ));
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    }
    let s0 = json_of(&files[0]);
    assert_eq!(s0["config"]["shard"]["index"], 0);
    assert_eq!(s0["config"]["shard"]["count"], 2);
    assert_eq!(s0["counts"]["total"], 20);
    // Both shards merged, in `format`, into a file: its text.
    let merge_both = |format: &str| {
        let out = temp(&format!("merged.{format}"));
        let o = tg(&format!(
            "merge {} {} --format {format} -o {}",
            files[0].display(),
            files[1].display(),
            out.display()
        ));
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        std::fs::read_to_string(&out).unwrap()
    };
    let m: Value = serde_json::from_str(&merge_both("json")).unwrap();
    // The shards ran one after the other: the merged peak is one shard's, not their sum.
    assert_eq!(m["max_concurrent"], 20, "{}", m["timeline"]);
    // The page names its parts too.
    let html = merge_both("html");
    assert!(
        html.contains("<pre class=\"notes\">Merged 2 reports"),
        "{html}"
    );
    assert!(html.contains("  shard 0/2 "), "{html}");
    // A shard missing: its connections are the plan's, not initiated; the merge is incomplete.
    let o = tg(&format!("merge {} --format json", files[0].display()));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let alone: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(alone["counts"]["total"], 40);
    assert_eq!(alone["counts"]["not_initiated"], 20);
    assert_eq!(m["counts"]["total"], 40);
    assert_eq!(m["counts"]["established"], 40);
    assert_eq!(server.accepted(), 40);
}

/// One SIGINT to the parent reaches every worker once: the ramp stops everywhere, the report
/// is out, no worker is left behind.
#[test]
fn a_signal_reaches_every_worker_once() {
    let server = BuiltinServer::holding("127.0.0.5");
    let mut child = spawn(&format!(
        "run -y -c 300 -s 10 -i 0 --hold 10s --workers 3 127.0.0.5 {}",
        server.port
    ));
    let pid = child.id();
    let workers = wait_workers(pid, 3);
    assert_eq!(workers.len(), 3, "{workers:?}");
    std::thread::sleep(Duration::from_millis(800));
    let sent = Instant::now();
    signal(pid, "INT");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(code(&o), 1, "{out}{err}");
    let [total, _dialing, established, _, _, not_initiated] = final_counts(&out);
    assert_eq!(total, 300);
    assert!(
        established > 30 && not_initiated > 100,
        "the ramp stopped in every worker: {out}"
    );
    // Each worker said it once (a second signal would have said "Interrupted again").
    for w in 0..3 {
        assert_eq!(
            err.matches(&format!("worker {w}/3: Interrupted: no new connections"))
                .count(),
            1,
            "{err}"
        );
    }
    assert!(!err.contains("Interrupted again"), "{err}");
    for w in workers {
        assert!(
            !std::path::Path::new(&format!("/proc/{w}")).exists()
                || std::fs::read_to_string(format!("/proc/{w}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "worker {w} still runs"
        );
    }
}

/// A worker killed mid-run is said at once and in the report; its connections are not in the
/// totals, and the run is incomplete (exit 1), never a silent pass.
#[test]
fn a_dead_worker_is_reported_and_fails_the_run() {
    let server = BuiltinServer::holding("127.0.0.6");
    let file = temp("dead.json");
    let mut child = spawn(&format!(
        "run -y -c 300 -s 5 -i 0 --hold 500ms --workers 3 --export-json {} --export-html {} 127.0.0.6 {}",
        file.display(),
        file.with_extension("html").display(),
        server.port
    ));
    let workers = wait_workers(child.id(), 3);
    assert_eq!(workers.len(), 3);
    std::thread::sleep(Duration::from_millis(500));
    // Worker 1 (its command line says so).
    let victim = *workers
        .iter()
        .find(|&&p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.contains("--worker\x001/3"))
        })
        .expect("worker 1/3");
    signal(victim, "KILL");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(code(&o), 1, "{out}{err}");
    assert!(
        err.contains("error: worker 1/3 died (killed by signal 9 (SIGKILL)) before its report: its 100 connections are not in the totals (counted as not initiated)"),
        "{err}"
    );
    assert!(
        err.contains("Missing: 100 of the plan's 300 connections are not in these totals"),
        "{err}"
    );
    // The plan stays the plan: its unknown connections are not initiated, so every percentage
    // is still of -c, and a merge of this report is incomplete too.
    let [total, _, established, _, _, not_initiated] = final_counts(&out);
    assert_eq!(total, 300, "{out}");
    assert!(
        out.contains("worker 1/3 died"),
        "the report says it too: {out}"
    );
    assert!(not_initiated >= 100 && established <= 200, "{out}");
    assert!(out.contains("✗ held>=100%"), "{out}");
    let doc = json_of(&file);
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["config"]["connections"], 300);
    assert_eq!(doc["counts"]["total"], 300);
    let notes = doc["discovery"].to_string();
    assert!(notes.contains("worker 1/3 died"), "{notes}");
    let html = std::fs::read_to_string(file.with_extension("html")).unwrap();
    assert!(html.contains("worker 1/3 died"), "{html}");
    assert!(html.contains("Missing: 100 of the plan"), "{html}");
}

/// Workers that share the default source address pick from disjoint slices of the port range:
/// 3 × 300 connections fit a range of 1,000 ports with no port tried twice; 3 × 400 do not fit
/// a worker's slice, said before anything is dialed.
#[test]
fn workers_sharing_an_address_split_its_ports() {
    let Some(ns) = Netns::with_port_range("wports", 40000, 40999) else {
        return;
    };
    let _server = ns.server();
    let o = ns.tg("run -y -c 900 -s 0 -i 0 --close rst --workers 3 -v 127.0.0.1 17001");
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(code(&o), 0, "{out}{err}");
    assert_eq!(final_counts(&out), [900, 0, 900, 0, 0, 0], "{out}");
    assert!(
        err.contains("worker 2/3: ports from slice 2 of 3 of the range"),
        "{err}"
    );
    assert!(!out.contains("local error"), "{out}");
    let o = ns.tg("run -y -c 1200 -s 0 -i 0 --workers 3 127.0.0.1 17001");
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("error: worker 0/3: not enough local ports: 400 connections from the default source address need 400 ports, but only 333 of the 333 in 40000-40332 are free"),
        "{err}"
    );
    assert_eq!(ns.sockets_toward(17001, "01"), 0, "nothing dialed");
}

/// Starts `run -c 30 --workers 3` toward `server` and reads up to its prompt.
fn at_the_prompt(
    server: &TestServer,
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = tcpgoon()
        .args(["run", "-c", "30", "--workers", "3", "127.0.0.7"])
        .arg(server.port())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut prompt = Vec::new();
    // The prompt ends without a newline: read up to its question.
    let mut byte = [0u8; 1];
    while !prompt.ends_with(b"(y/N): ") && prompt.len() < 4096 {
        if std::io::Read::read(&mut out, &mut byte).unwrap_or(0) == 0 {
            break;
        }
        prompt.push(byte[0]);
    }
    let prompt = String::from_utf8_lossy(&prompt).into_owned();
    assert_eq!(prompt.matches("(y/N)").count(), 1, "{prompt}");
    (child, out)
}

/// One prompt for all the workers; a "no" stops them all before any dial, and so does a
/// Ctrl-C at the prompt (as in one process: the command ends, the workers with it).
#[test]
fn workers_ask_one_prompt() {
    let server = TestServer::start("127.0.0.7", Behaviour::Hold);
    let (mut child, mut out) = at_the_prompt(&server);
    let pid = child.id();
    // The workers wait, checked, for the answer.
    assert_eq!(children_of(pid).len(), 3);
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let mut rest = String::new();
    let _ = out.read_line(&mut rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(children_of(pid).is_empty());
    let (mut child, _out) = at_the_prompt(&server);
    let pid = child.id();
    let workers = wait_workers(pid, 3);
    assert_eq!(workers.len(), 3);
    signal(pid, "INT");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("a Ctrl-C at the prompt did not end the command");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(2),
        "ended by the Ctrl-C: {status:?}"
    );
    let start = Instant::now();
    while workers
        .iter()
        .any(|w| std::path::Path::new(&format!("/proc/{w}")).exists())
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    for w in &workers {
        assert!(
            !std::path::Path::new(&format!("/proc/{w}")).exists(),
            "worker {w} outlived the command"
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.accepted(), 0, "nothing dialed");
}

/// Several targets, each run by workers, and one run spread by workers.
#[test]
fn workers_run_each_target_and_a_spread() {
    let a = BuiltinServer::holding("127.0.0.8");
    let b = BuiltinServer::holding("127.0.0.9");
    let targets = format!(
        "--target 127.0.0.8:{} --target 127.0.0.9:{}",
        a.port, b.port
    );
    let o = tg(&format!("run -y -c 40 -s 0 -i 0 --workers 2 {targets}"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert_eq!(
        out.matches("Total established connections: 40").count(),
        2,
        "{out}"
    );
    let o = tg(&format!(
        "run -y -c 40 -s 0 -i 0 --workers 2 --spread {targets}"
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("Total established connections: 40"), "{out}");
    assert!(out.contains("Per target:"), "{out}");
    assert_eq!(
        out.matches(": 20 held of 20 established").count(),
        2,
        "{out}"
    );
}

#[test]
fn bad_worker_counts_are_one_line_each() {
    for (args, says) in [
        (
            "run -y --workers 0 127.0.0.1 1",
            "--workers takes a whole number of processes from 1 to 1024, or auto (got \"0\")",
        ),
        (
            "run -y --workers x 127.0.0.1 1",
            "--workers takes a whole number of processes from 1 to 1024, or auto (got \"x\")",
        ),
        ("run -y --workers 1.5 127.0.0.1 1", "or auto (got \"1.5\")"),
        (
            "run -y --workers 5000 127.0.0.1 1",
            "from 1 to 1024, or auto (got \"5000\")",
        ),
        (
            "run -y --worker 0/2 127.0.0.1 1",
            "--worker is set by tcpgoon for its own worker processes",
        ),
        (
            "run -y --worker 3/2 127.0.0.1 1",
            "--worker is set by tcpgoon",
        ),
        (
            "server --workers 2",
            "server --workers 2 cannot stop after exactly -m 10 connections",
        ),
        (
            "server --workers 0 -m 0",
            "--workers must be between 1 and 1024 (got 0)",
        ),
        // Each worker's part must fit a process: the advice names --workers auto.
        (
            "run -y -c 60000 -s 0 --workers 2 127.0.0.1 1",
            "--workers auto",
        ),
    ] {
        let o = tg(args);
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{args}: {err}");
        assert_eq!(err.lines().count(), 1, "{args}: {err}");
        assert!(err.starts_with("error: "), "{args}: {err}");
        assert!(err.contains(says), "{args}: {err}");
    }
}

/// The status lines sum every worker's counts, a finished worker's with its final ones: the
/// established count climbs as the plan's does.
#[test]
fn status_lines_keep_the_counts_of_finished_workers() {
    let server = TestServer::start("127.0.0.10", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 4 -s 300 -i 100ms --hold 300ms --workers 3 127.0.0.10 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    let lines: Vec<[u64; 6]> = out.lines().filter_map(parse_status).collect();
    let established: Vec<u64> = lines.iter().map(|l| l[2]).collect();
    assert!(lines.iter().all(|l| l[0] == 4), "{out}");
    assert!(
        established.windows(2).all(|w| w[0] <= w[1]),
        "never back: {established:?}"
    );
    // The last line before the report (the report's own is the last of all) has all four.
    assert_eq!(established[established.len() - 2], 4, "{out}");
    assert!(
        established.contains(&2) && established.contains(&3),
        "{established:?}"
    );
}

/// --max-dialing bounds the plan's dials in flight, shared between the workers.
#[test]
fn max_dialing_is_the_plans_not_each_workers() {
    let (_listener, port) = full_backlog_listener();
    let o = tg(&format!(
        "run -y -c 20 -s 0 -d 1200 --max-dialing 4 -i 200ms --workers 2 127.0.0.1 {port}"
    ));
    let out = stdout(&o);
    let most = out
        .lines()
        .filter_map(parse_status)
        .map(|l| l[1])
        .max()
        .unwrap_or(0);
    assert_eq!(most, 4, "{out}");
}

/// `--send @FILE` is read once, by the parent: standard input works as with one process.
#[test]
fn send_from_a_file_read_once_for_every_worker() {
    let server = TestServer::start("127.0.0.11", Behaviour::Echo);
    let mut child = tcpgoon()
        .args([
            "run",
            "-y",
            "-c",
            "4",
            "-s",
            "0",
            "-i",
            "0",
            "--send",
            "@/dev/stdin",
        ])
        .args(["--expect", "hello", "--workers", "2", "127.0.0.11"])
        .arg(server.port())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello").unwrap();
    let o = wait_output(&mut child, Duration::from_secs(20));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("Verified: 4 of 4"), "{out}");
}

/// A worker that ends while the prompt waits stops the command before anything is dialed.
#[test]
fn a_worker_lost_at_the_prompt_dials_nothing() {
    let server = TestServer::start("127.0.0.7", Behaviour::Hold);
    let (mut child, _out) = at_the_prompt(&server);
    let workers = wait_workers(child.id(), 3);
    signal(workers[1], "KILL");
    std::thread::sleep(Duration::from_millis(200));
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let o = wait_output(&mut child, Duration::from_secs(20));
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(
        err.contains(
            "ended (killed by signal 9 (SIGKILL)) before the run started: nothing was dialed"
        ),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.accepted(), 0);
}

/// A stopped worker is said, and does not keep the command alive past a second interrupt.
#[test]
fn a_stopped_worker_cannot_hold_the_run_hostage() {
    let server = TestServer::start("127.0.0.12", Behaviour::Hold);
    let mut child = spawn(&format!(
        "run -y -c 30 -s 0 -i 0 --hold 30s --workers 3 127.0.0.12 {}",
        server.port()
    ));
    let pid = child.id();
    let workers = wait_workers(pid, 3);
    std::thread::sleep(Duration::from_millis(500));
    signal(workers[0], "STOP");
    std::thread::sleep(Duration::from_millis(1500));
    // One SIGTERM, as `timeout` or Kubernetes send: the stopped worker cannot end by itself.
    let sent = Instant::now();
    signal(pid, "TERM");
    let o = wait_output(&mut child, Duration::from_secs(20));
    let err = stderr(&o);
    assert!(
        sent.elapsed() < Duration::from_secs(4),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(code(&o), 1, "{err}");
    assert!(
        err.contains("is stopped: the status lines wait for it"),
        "{err}"
    );
    assert!(
        err.contains("died (killed by signal 9 (SIGKILL)) before its report"),
        "{err}"
    );
}

/// `server --workers` joins no other server's port.
#[test]
fn server_workers_refuse_a_port_in_use() {
    let mut first = BuiltinServer::start(
        "127.0.0.13",
        &["-m", "0", "-d", "20", "-q", "--workers", "2"],
    );
    let o = tg(&format!(
        "server --bind 127.0.0.13 -p {} -m 0 -d 5 -q --workers 2",
        first.port
    ));
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("Address already in use"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let _ = first.wait_exit(Duration::ZERO);
}

/// A server worker that dies is said at once; the final count says it leaves it out.
#[test]
fn a_dead_server_worker_is_said() {
    let mut server = tcpgoon()
        .args([
            "server",
            "--bind",
            "127.0.0.14",
            "-p",
            "0",
            "-m",
            "0",
            "-d",
            "20",
            "-q",
        ])
        .args(["--workers", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut banner = String::new();
    out.read_line(&mut banner).unwrap();
    assert!(
        banner.starts_with("Running the simple TCP server"),
        "{banner}"
    );
    let workers = wait_workers(pid, 2);
    assert_eq!(workers.len(), 2);
    signal(workers[1], "KILL");
    std::thread::sleep(Duration::from_millis(300));
    signal(pid, "INT");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    let o = wait_output(&mut server, Duration::from_secs(10));
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{rest}{err}");
    assert!(
        err.contains("died (killed by signal 9 (SIGKILL)): its connections are gone and the final count leaves them out"),
        "{err}"
    );
    assert!(
        rest.contains("Stopped by a signal after 0 connections"),
        "{rest}"
    );
}
