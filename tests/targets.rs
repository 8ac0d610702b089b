//! Many targets (issue 9): `--target`, `--targets-file`, `--all-addresses`; each target its
//! own run, block and verdict with the worst exit code, or `--spread` with a per-target
//! breakdown; every report carries every target.

use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// Three targets: one that holds, one that closes after 100 ms, one that refuses.
fn three() -> (TestServer, TestServer, u16) {
    (
        TestServer::start("127.0.0.2", Behaviour::Hold),
        TestServer::start(
            "127.0.0.3",
            Behaviour::CloseAfter(Duration::from_millis(100)),
        ),
        closed_port(),
    )
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tcpgoon-{}-{name}", std::process::id()))
}

#[test]
fn each_target_gets_its_run_block_and_verdict_and_the_worst_exit_code() {
    let (hold, close, refused) = three();
    let json = temp("each.json");
    let junit = temp("each.xml");
    let html = temp("each.html");
    let o = tg(&format!(
        "run -y -c 12 -s 0 -i 0 --hold 1s --target 127.0.0.2:{} --target 127.0.0.3:{} \
         --target 127.0.0.4:{refused} --export-json {} --export-junit {} --export-html {}",
        hold.port(),
        close.port(),
        json.display(),
        junit.display(),
        html.display()
    ));
    let out = stdout(&o);
    assert_eq!(
        code(&o),
        2,
        "errors (2) is worse than a failed threshold (3): {out}"
    );
    for (i, port) in [hold.port(), close.port(), refused.to_string()]
        .iter()
        .enumerate()
    {
        let ip = format!("127.0.0.{}", i + 2);
        assert!(
            out.contains(&format!("=== target {}/3: {ip}:{port} ===\n", i + 1)),
            "{out}"
        );
        assert!(
            out.contains(&format!("--- {ip}:{port} tcp test statistics ---")),
            "{out}"
        );
    }
    // Each server saw exactly its own run.
    assert_eq!(hold.accepted(), 12);
    assert_eq!(close.accepted(), 12);
    let summary = &out[out.find("--- summary of 3 targets ---").expect(&out)..];
    let rows: Vec<&str> = summary.lines().skip(2).collect();
    assert!(
        rows[0].contains("12/12") && rows[0].ends_with("✓ pass (0)"),
        "{summary}"
    );
    assert!(
        rows[1].contains("0/12") && rows[1].ends_with("✗ threshold failed (3)"),
        "{summary}"
    );
    assert!(
        rows[2].contains(" 12 ") && rows[2].ends_with("✗ errors (2)"),
        "{summary}"
    );
    // The JSON suite: every run, valid against the schema, and it renders the text again.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    crate::export::validate(&doc);
    assert_eq!(doc["mode"], "each");
    assert_eq!(doc["exit_code"], 2);
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[2]["counts"]["error"], 12);
    assert_eq!(runs[1]["closures"]["total"], 12, "{}", runs[1]["closures"]);
    let again = tg(&format!("report {}", json.display()));
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    // What the run printed, less the status line each run starts with.
    let mut printed = Vec::new();
    let mut after_heading = false;
    for l in out.lines() {
        if !(after_heading && l.starts_with("Total: ")) {
            printed.push(l);
        }
        after_heading = l.starts_with("=== target ");
    }
    assert_eq!(stdout(&again), printed.join("\n") + "\n");
    // JUnit: a test suite per target.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
    let again = tg(&format!("report --format junit {}", json.display()));
    assert_eq!(stdout(&again), xml);
    // HTML: the summary links to each run's section.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Exit code 2: the worst of the 3 runs"),
        "{page}"
    );
    let mut ids: Vec<&str> = page
        .split(" id=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "every id once: {ids:?}");
    for i in 1..=3 {
        assert!(
            page.contains(&format!("<article id=\"run-{i}\">")),
            "run {i}"
        );
        assert!(page.contains(&format!("href=\"#run-{i}\"")), "link {i}");
    }
    for f in [json, junit, html] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn spread_shares_one_run_over_the_targets_with_a_breakdown() {
    let (hold, close, refused) = three();
    let json = temp("spread.json");
    let o = tg(&format!(
        "run -y -c 30 -s 0 -i 0 --spread --target 127.0.0.2:{} --target 127.0.0.3:{} \
         --target 127.0.0.4:{refused} --export-json {}",
        hold.port(),
        close.port(),
        json.display()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 2, "{out}");
    assert!(
        out.contains("--- 3 targets tcp test statistics ---"),
        "{out}"
    );
    assert!(
        out.contains("Total: 30, Dialing: 0, Established: "),
        "{out}"
    );
    assert_eq!(hold.settle_at(10, Duration::from_secs(5)), 10);
    assert_eq!(close.settle_at(10, Duration::from_secs(5)), 10);
    let table = &out[out.find("Per target:\n").expect(&out)..];
    assert!(
        table.contains(&format!(
            "  127.0.0.2:{}: 10 held of 10 established",
            hold.port()
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "  127.0.0.4:{refused}: 0 held of 0 established, 0 closed (0 at once), 10 errors"
        )),
        "{table}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    crate::export::validate(&doc);
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    assert_eq!(doc["per_target"][2]["errors"], 10);
    assert_eq!(doc["per_target"][0]["established"], 10);
    let again = tg(&format!("report {}", json.display()));
    assert!(
        stdout(&again).contains("Per target:\n"),
        "{}",
        stdout(&again)
    );
    assert!(
        out.ends_with(&stdout(&again)),
        "rendered again:\n{}",
        stdout(&again)
    );
    // JUnit: a case per target, the refusing one failed (the run ended before the other
    // closed anything).
    let xml = stdout(&tg(&format!("report --format junit {}", json.display())));
    assert_eq!(
        xml.matches("classname=\"tcpgoon.targets\"").count(),
        3,
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "127.0.0.4:{refused}: 0 held of 0 established, 0 closed, 10 errors"
        )),
        "{xml}"
    );
    assert_eq!(xml.matches("type=\"target\"").count(), 1, "{xml}");
    let _ = std::fs::remove_file(json);
}

#[test]
fn a_targets_file_takes_comments_and_names_a_bad_line() {
    let hold = TestServer::start("127.0.0.2", Behaviour::Hold);
    let file = temp("targets.txt");
    std::fs::write(
        &file,
        format!(
            "# the pool\n127.0.0.2:{p}   # first\n\n127.0.0.2 {p}\n",
            p = hold.port()
        ),
    )
    .unwrap();
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --targets-file {}",
        file.display()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    // Listed twice: tested once, and said so.
    assert!(
        out.starts_with(&format!(
            "Note: 127.0.0.2:{} is listed more than once; tested once\n",
            hold.port()
        )),
        "{out}"
    );
    assert_eq!(hold.settle_at(3, Duration::from_secs(5)), 3);
    std::fs::write(&file, "127.0.0.2:80\n\n10.0.0.1:http\n").unwrap();
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --targets-file {}",
        file.display()
    ));
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--targets-file") && err.contains("line 3:") && err.contains("10.0.0.1:http"),
        "{err}"
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn bad_targets_are_one_line_each() {
    for (args, want) in [
        ("--target 127.0.0.1", "the port is missing"),
        ("--target ::1:80", "an IPv6 address goes in brackets"),
        ("--target [::1:80", "no closing ]"),
        ("--target 127.0.0.1:0", "from 1 to 65535"),
        ("--target :80", "the host is empty"),
        ("--targets-file /nonexistent/t.txt", "cannot read it"),
        ("--eureka ftp://x/eureka --app a", "http:// or https://"),
        (
            "--eureka http://u:secret@h/eureka --app a --eureka-status UPP",
            "--eureka-status",
        ),
        ("--app orders", "--eureka"),
    ] {
        let o = tg(&format!("run -y -c 1 {args}"));
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{args}: {err}");
        assert_eq!(err.lines().count(), 1, "{args}: {err}");
        assert!(err.contains(want), "{args}: {err}");
        assert!(!err.contains("secret"), "{args}: {err}");
    }
    // Without any target, the Go tool's message.
    let o = tg("run -y -c 1");
    assert!(
        stderr(&o).contains("expected <host> <port>, got 0 arguments"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn all_addresses_dials_every_address_of_localhost() {
    let Some(ns) = Netns::create("alladdr") else {
        return;
    };
    // `ip netns exec` puts /etc/netns/NAME/hosts over /etc/hosts: localhost is both.
    let dir = std::path::PathBuf::from(format!("/etc/netns/{}", ns.name));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts"), "127.0.0.1 localhost\n::1 localhost\n").unwrap();
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir);
    let v4 = BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        17001,
        &["-m", "0", "-d", "30", "-q"],
    );
    let v6 = BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "::1",
        17001,
        &["-m", "0", "-d", "30", "-q"],
    );
    let o = ns
        .command(env!("CARGO_BIN_EXE_tcpgoon"))
        .args("run -y -c 4 -s 0 -i 0 --all-addresses localhost 17001".split(' '))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("=== target 1/2: localhost(127.0.0.1):17001 ===\n"),
        "{out}"
    );
    assert!(
        out.contains("=== target 2/2: localhost(::1):17001 ===\n"),
        "{out}"
    );
    assert!(
        out.contains("--- localhost(::1):17001 tcp test statistics ---"),
        "{out}"
    );
    // Without it: the first address only, IPv4 first, as before.
    let o = ns
        .command(env!("CARGO_BIN_EXE_tcpgoon"))
        .args("run -y -c 4 -s 0 -i 0 localhost 17001".split(' '))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("--- localhost(127.0.0.1):17001 tcp test statistics ---"),
        "{out}"
    );
    assert!(!out.contains("=== target"), "{out}");
    drop((v4, v6));
}

#[test]
fn an_interrupt_ends_the_current_run_and_runs_no_more() {
    let a = TestServer::start("127.0.0.2", Behaviour::Hold);
    let b = TestServer::start("127.0.0.3", Behaviour::Hold);
    let junit = temp("interrupted.xml");
    let json = temp("interrupted.json");
    let mut child = spawn(&format!(
        "run -y -c 5 -s 0 -i 0 --hold 20s --target 127.0.0.2:{} --target 127.0.0.3:{} \
         --export-junit {} --export-json {}",
        a.port(),
        b.port(),
        junit.display(),
        json.display()
    ));
    let start = std::time::Instant::now();
    while a.accepted() < 5 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "INT");
    let o = wait_output(&mut child, Duration::from_secs(15));
    let out = stdout(&o);
    assert_eq!(
        code(&o),
        1,
        "a target not run: the runs did not complete: {out}"
    );
    assert!(
        out.contains(&format!(
            "--- 127.0.0.2:{} tcp test statistics ---",
            a.port()
        )),
        "{out}"
    );
    assert!(!out.contains("=== target 2/2"), "{out}");
    assert_eq!(b.accepted(), 0);
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("127.0.0.3:{}", b.port())))
        .expect(&out);
    assert!(row.ends_with("not run"), "{row}");
    // A dashboard reading the JUnit file sees the target not run as a failure.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert!(
        xml.contains("not run: a signal ended the runs before this target"),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuites name=\"tcpgoon\" tests=\"4\" skipped=\"0\" failures=\"1\""),
        "{xml}"
    );
    let again = stdout(&tg(&format!("report --format junit {}", json.display())));
    assert_eq!(again, xml);
    let _ = std::fs::remove_file(junit);
    let _ = std::fs::remove_file(json);
}

#[test]
fn targets_files_as_editors_write_them() {
    let hold = TestServer::start("127.0.0.2", Behaviour::Hold);
    let file = temp("bom.txt");
    let p = hold.port();
    // A byte-order mark, CRLF, a comment right after the port.
    std::fs::write(&file, format!("\u{feff}# pool\r\n127.0.0.2:{p}#first\r\n")).unwrap();
    let o = tg(&format!("discover --targets-file {}", file.display()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("Targets: 1\n  127.0.0.2:{p}\n"));
    for (text, want) in [
        (
            "127.0.0.2:80\nhttp://127.0.0.2:80\n".to_string(),
            "line 2: a target is HOST:PORT, not a URL",
        ),
        (
            format!("127.0.0.2:80\n{}.invalid:80\n", "a".repeat(5000)),
            "line 2: Domain name not resolvable: aaaa",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let o = tg(&format!("run -y -c 1 --targets-file {}", file.display()));
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.len() < 400, "cut short: {err}");
        assert!(
            err.contains("--targets-file") && err.contains(want),
            "{err}"
        );
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_spread_thinner_than_its_targets_says_so() {
    let hold = TestServer::start("127.0.0.2", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 2 -s 0 -i 0 --spread --target 127.0.0.2:{p} --target 127.0.0.3:{p} --target 127.0.0.4:{p}",
        p = hold.port()
    ));
    assert!(
        stderr(&o).contains(
            "warning: --spread: 2 connections over 3 targets: 1 of them get none (give -c 3 or more)"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn report_refuses_a_suite_that_contradicts_itself() {
    let (hold, close, refused) = three();
    let json = temp("contra.json");
    let o = tg(&format!(
        "run -y -c 2 -s 0 -i 0 --target 127.0.0.2:{} --target 127.0.0.3:{} --target 127.0.0.4:{refused} --export-json {}",
        hold.port(),
        close.port(),
        json.display()
    ));
    assert_eq!(code(&o), 2);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    /// The field the refusal names, and the edit that breaks it.
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 5] = [
        ("exit_code", |d| d["exit_code"] = Value::from(7)),
        ("exit_code", |d| d["exit_code"] = Value::from(0)),
        ("mode", |d| d["mode"] = Value::from("spread")),
        ("not_run", |d| {
            d["not_run"] = serde_json::json!(["elsewhere:1"])
        }),
        ("runs", |d| d["runs"] = serde_json::json!([])),
    ];
    for (field, mutate) in cases {
        let mut bad = doc.clone();
        mutate(&mut bad);
        std::fs::write(&json, bad.to_string()).unwrap();
        let o = tg(&format!("report {}", json.display()));
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{field}: {}", stdout(&o));
        assert!(err.contains(&format!("field {field} ")), "{field}: {err}");
    }
    let _ = std::fs::remove_file(json);
}

#[test]
fn format_json_puts_the_suite_alone_on_stdout() {
    let (hold, close, refused) = three();
    let o = tg(&format!(
        "run -y -c 4 -s 0 -i 0 --format json --target 127.0.0.2:{} --target 127.0.0.3:{} \
         --target 127.0.0.4:{refused}",
        hold.port(),
        close.port()
    ));
    let doc: Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    crate::export::validate(&doc);
    assert_eq!(doc["runs"].as_array().unwrap().len(), 3);
    assert_eq!(doc["exit_code"], code(&o));
    assert_eq!(doc["targets"][2], format!("127.0.0.4:{refused}"));
    // The text goes to stderr, the summary with it.
    assert!(
        stderr(&o).contains("--- summary of 3 targets ---"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_prompt_lists_every_target() {
    let hold = TestServer::start("127.0.0.2", Behaviour::Hold);
    let mut child = crate::util::tcpgoon()
        .args(
            format!(
                "run -c 7 --target 127.0.0.2:{p} --target 127.0.0.3:{p}",
                p = hold.port()
            )
            .split(' '),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let o = wait_output(&mut child, Duration::from_secs(10));
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains(&format!("*\t- Target: 127.0.0.2:{}\n", hold.port())),
        "{out}"
    );
    assert!(
        out.contains(&format!("*\t- Target: 127.0.0.3:{}\n", hold.port())),
        "{out}"
    );
    assert!(
        out.contains("*\t- # of concurrent connections: 7 per target, one target after another (2 targets)\n"),
        "{out}"
    );
    assert_eq!(hold.accepted(), 0);
}
