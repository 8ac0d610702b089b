//! Past one process (issue 10, first part): `--shard I/N` dials the I-th of N disjoint parts
//! of a plan, each connection at the plan's time, and `--start-at` makes the shards start
//! together.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::*;

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tcpgoon-{}-{name}", std::process::id()))
}

#[test]
fn shards_dial_disjoint_parts_of_one_plan_on_its_schedule() {
    let server = TestServer::start("127.0.0.2", Behaviour::Hold);
    let at = SystemTime::now() + Duration::from_millis(1500);
    let at_s = at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let files: Vec<_> = (0..3).map(|i| temp(&format!("shard{i}.json"))).collect();
    let mut children: Vec<_> = (0..3)
        .map(|i| {
            spawn(&format!(
                "run -y -c 10 -s 100 -i 0 --shard {i}/3 --start-at {at_s:.3} --export-json {} 127.0.0.2 {}",
                files[i].display(),
                server.port()
            ))
        })
        .collect();
    let outputs: Vec<_> = children
        .iter_mut()
        .map(|c| wait_output(c, Duration::from_secs(20)))
        .collect();
    for (i, o) in outputs.iter().enumerate() {
        assert_eq!(code(o), 0, "shard {i}: {}{}", stdout(o), stderr(o));
        assert!(
            stderr(o).starts_with("waiting for --start-at "),
            "{}",
            stderr(o)
        );
    }
    // Every connection of the plan dialed once, by one shard.
    assert_eq!(server.settle_at(10, Duration::from_secs(5)), 10);
    let at_us = at.duration_since(UNIX_EPOCH).unwrap().as_micros() as f64;
    for (i, file) in files.iter().enumerate() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        crate::export::validate(&doc);
        let shard = &doc["config"]["shard"];
        assert_eq!(shard["index"], i as u64);
        assert_eq!(shard["count"], 3);
        assert_eq!(shard["plan_connections"], 10);
        assert_eq!(doc["counts"]["total"], [4, 3, 3][i], "shard {i}");
        // Started at the barrier, and its first connection (the plan's i-th) due i × 100 ms in.
        let started = humantime::parse_rfc3339(doc["started_at"].as_str().unwrap()).unwrap();
        let started_us = started.duration_since(UNIX_EPOCH).unwrap().as_micros() as f64;
        assert!(
            (started_us - at_us).abs() < 250_000.0,
            "shard {i} started {}ms from the barrier",
            (started_us - at_us) / 1000.0
        );
        let first = doc["ramp"]["first_dial_us"].as_f64().unwrap();
        let due = i as f64 * 100_000.0;
        assert!(
            first >= due && first < due + 80_000.0,
            "shard {i}: first dial at {first}µs, due at {due}µs"
        );
        let text = stdout(&outputs[i]);
        assert!(
            text.contains(&format!(
                "Shard: {i} of 3 (from 0): {} of the plan's 10 connections",
                [4, 3, 3][i]
            )),
            "{text}"
        );
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn shards_come_from_a_kubernetes_indexed_job_too() {
    let server = TestServer::start("127.0.0.2", Behaviour::Hold);
    let o = tcpgoon()
        .args(format!("run -y -c 10 -s 0 -i 0 127.0.0.2 {}", server.port()).split(' '))
        .env("JOB_COMPLETION_INDEX", "3")
        .env("TCPGOON_SHARDS", "4")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Connections 3 and 7 of the plan.
    assert_eq!(server.settle_at(2, Duration::from_secs(5)), 2);
    assert!(stdout(&o).contains("Shard: 3 of 4 (from 0): 2 of the plan's 10 connections"));
    // JOB_COMPLETION_INDEX alone (another kind of Job) changes nothing.
    let o = tcpgoon()
        .args(format!("run -y -c 10 -s 0 -i 0 127.0.0.2 {}", server.port()).split(' '))
        .env("JOB_COMPLETION_INDEX", "3")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    assert_eq!(server.settle_at(12, Duration::from_secs(5)), 12);
    assert!(!stdout(&o).contains("Shard:"));
}

#[test]
fn bad_shards_and_barriers_are_one_line_each() {
    for (args, want) in [
        ("--shard 1", "--shard takes I/N"),
        ("--shard 3/3", "the index runs from 0 to N-1"),
        ("--shard 0/0", "the index runs from 0 to N-1"),
        ("--shard a/b", "--shard takes I/N"),
        ("-c 2 --shard 2/3", "has none: give -c 3 or more"),
        ("--start-at tomorrow", "--start-at takes a time"),
    ] {
        let o = tg(&format!("run -y {args} 127.0.0.1 {}", closed_port()));
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{args}: {err}");
        assert_eq!(err.lines().count(), 1, "{args}: {err}");
        assert!(err.contains(want), "{args}: {err}");
    }
}

#[test]
fn a_signal_while_waiting_for_the_barrier_dials_nothing() {
    let server = TestServer::start("127.0.0.2", Behaviour::Hold);
    let at = SystemTime::now() + Duration::from_secs(60);
    let mut child = spawn(&format!(
        "run -y -c 5 -s 0 --start-at {} 127.0.0.2 {}",
        humantime::format_rfc3339(at),
        server.port()
    ));
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    signal(child.id(), "TERM");
    let o = wait_output(&mut child, Duration::from_secs(10));
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o)
            .ends_with("error: interrupted while waiting for --start-at: nothing was dialed\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(server.accepted(), 0);
    // A barrier long past: said, and the run goes on.
    let o = tg(&format!(
        "run -y -c 2 -s 0 -i 0 --start-at 2020-01-01T00:00:00Z 127.0.0.2 {}",
        server.port()
    ));
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o).contains("passed") && stderr(&o).contains("starts late"),
        "{}",
        stderr(&o)
    );
}

/// Runs `tcpgoon ARGS --export-json FILE` and returns the document.
fn run_json(args: &str, name: &str) -> (std::process::Output, Value, std::path::PathBuf) {
    let file = temp(name);
    let o = tg(&format!("{args} --export-json {}", file.display()));
    let doc = serde_json::from_str(&std::fs::read_to_string(&file).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{args}: {e}: {}", stderr(&o)));
    (o, doc, file)
}

#[test]
fn merged_shards_account_for_the_plan_as_one_process_does() {
    // Every connection is closed by the far side 100 ms in, during a 600 ms hold: exit 3.
    let server = BuiltinServer::start(
        "127.0.0.2",
        &["-m", "0", "-d", "60", "-q", "--close-after", "100ms"],
    );
    let plan = format!(
        "run -y -c 30 -s 5 -i 0 --hold 600ms --threshold connect_p99<1s 127.0.0.2 {}",
        server.port
    );
    let (one_o, one, one_file) = run_json(&plan, "whole.json");
    assert_eq!(code(&one_o), 3, "{}", stdout(&one_o));
    let files: Vec<_> = (0..3)
        .map(|i| run_json(&format!("{plan} --shard {i}/3"), &format!("part{i}.json")).2)
        .collect();
    let merged_file = temp("merged.json");
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let o = tg(&format!(
        "merge {} --format json -o {}",
        names.join(" "),
        merged_file.display()
    ));
    assert_eq!(code(&o), 3, "the merged verdict: {}", stderr(&o));
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_file).unwrap()).unwrap();
    crate::export::validate(&merged);
    // Counts exactly as the one process had them.
    assert_eq!(merged["counts"], one["counts"]);
    assert_eq!(merged["config"]["connections"], 30);
    assert!(
        merged["config"].get("shard").is_none(),
        "{}",
        merged["config"]
    );
    for field in ["connect_time", "time_to_error"] {
        assert_eq!(merged[field]["count"], one[field]["count"], "{field}");
    }
    assert_eq!(merged["closures"]["total"], one["closures"]["total"]);
    assert_eq!(merged["closures"]["fin"]["count"], 30);
    let verdicts = |d: &Value| {
        d["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["expr"].clone(), t["pass"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&merged), verdicts(&one));
    assert_eq!(merged["exit_code"], one["exit_code"]);
    // The text says where it came from, and renders again from the merged document.
    let text = stdout(&tg(&format!("merge {}", names.join(" "))));
    assert!(
        text.starts_with("Merged 3 reports (shards of a plan of 30 connections):\n  shard 0/3 "),
        "{text}"
    );
    assert!(text.contains("--- 127.0.0.2:"), "{text}");
    assert_eq!(
        stdout(&tg(&format!("report {}", merged_file.display()))),
        text
    );
    for f in files.iter().chain([&one_file, &merged_file]) {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn merge_refuses_reports_that_do_not_belong_together() {
    let server = TestServer::start("127.0.0.2", Behaviour::Hold);
    let other = TestServer::start("127.0.0.3", Behaviour::Hold);
    let base =
        |extra: &str, port: String, ip: &str| format!("run -y -c 6 -s 0 -i 0 {extra} {ip} {port}");
    let (_, _, a) = run_json(&base("--shard 0/2", server.port(), "127.0.0.2"), "a.json");
    let (_, _, b) = run_json(&base("--shard 1/2", server.port(), "127.0.0.2"), "b.json");
    let (_, _, other_target) = run_json(&base("--shard 1/2", other.port(), "127.0.0.3"), "c.json");
    let (_, _, other_plan) = run_json(
        &base("--shard 1/2 --hold 10ms", server.port(), "127.0.0.2"),
        "d.json",
    );
    let (_, _, whole) = run_json(&base("", server.port(), "127.0.0.2"), "e.json");
    for (pair, want) in [
        ((&a, &a), "is shard 0/2 again"),
        ((&a, &other_target), "dial other targets"),
        ((&a, &other_plan), "different plans"),
        ((&a, &whole), "not shards of the same plan"),
    ] {
        let o = tg(&format!("merge {} {}", pair.0.display(), pair.1.display()));
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{want}: {}", stdout(&o));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(stdout(&o), "");
    }
    // Both shards: fine; one alone: said, with what it covers.
    let o = tg(&format!("merge {} {}", a.display(), b.display()));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Total: 6, Dialing: 0, Established: 6"),
        "{}",
        stdout(&o)
    );
    let o = tg(&format!("merge {}", b.display()));
    assert!(
        stdout(&o)
            .contains("Missing: shard 0 of 2: the merge covers 3 of the plan's 6 connections"),
        "{}",
        stdout(&o)
    );
    for f in [a, b, other_target, other_plan, whole] {
        let _ = std::fs::remove_file(f);
    }
}

/// A small network of hosts: namespaces joined by veth pairs to a bridge in a namespace of
/// its own, each host at 10.200.0.N/24. Everything is deleted when it drops.
struct Lan {
    bridge: Netns,
    hosts: Vec<Netns>,
}

impl Lan {
    fn create(hosts: usize) -> Option<Lan> {
        let bridge = Netns::create("lan")?;
        bridge.sh("ip link add br0 type bridge && ip link set br0 up");
        let mut made = Vec::new();
        for n in 1..=hosts {
            let host = Netns::create(&format!("host{n}"))?;
            // The host's end is made inside it; its peer goes straight to the bridge's namespace.
            host.sh(&format!(
                "ip link add eth0 type veth peer name port{n} netns {bridge} \
                 && ip addr add 10.200.0.{n}/24 dev eth0 && ip link set eth0 up",
                bridge = bridge.name
            ));
            bridge.sh(&format!(
                "ip link set port{n} master br0 && ip link set port{n} up"
            ));
            made.push(host);
        }
        Some(Lan {
            bridge,
            hosts: made,
        })
    }
}

#[test]
fn shards_on_three_hosts_merge_into_the_run_of_one() {
    let Some(lan) = Lan::create(4) else {
        return;
    };
    let _keep = &lan.bridge;
    let (server_host, clients) = (&lan.hosts[0], &lan.hosts[1..]);
    let _server = BuiltinServer::start_with(
        server_host.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "10.200.0.1",
        17001,
        &["-m", "0", "-d", "60", "-q", "--close-after", "300ms"],
    );
    let plan = "run -y -c 60 --rate 400 -i 0 --hold 500ms 10.200.0.1 17001";
    let dir = std::env::temp_dir();
    let file = |name: &str| dir.join(format!("tcpgoon-{}-lan-{name}.json", std::process::id()));
    // The plan as one process, from the first client host.
    let one = clients[0].tg(&format!("{plan} --export-json {}", file("one").display()));
    assert_eq!(code(&one), 3, "{}{}", stdout(&one), stderr(&one));
    // The same plan as three shards, one per client host, from the same barrier.
    let at = (SystemTime::now() + Duration::from_millis(1500))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut children: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, host)| {
            piped_in(
                host.command(env!("CARGO_BIN_EXE_tcpgoon")).args(
                    format!(
                        "{plan} --shard {i}/3 --start-at {at:.3} --export-json {}",
                        file(&format!("shard{i}")).display()
                    )
                    .split_whitespace(),
                ),
            )
        })
        .collect();
    for (i, child) in children.iter_mut().enumerate() {
        let o = wait_output(child, Duration::from_secs(30));
        assert_eq!(code(&o), 3, "shard {i}: {}{}", stdout(&o), stderr(&o));
        // Each host dialed from its own address.
        assert!(stdout(&o).contains("Shard: "), "{}", stdout(&o));
    }
    let shards: Vec<String> = (0..3)
        .map(|i| file(&format!("shard{i}")).display().to_string())
        .collect();
    let merged = tg(&format!("merge --format json {}", shards.join(" ")));
    assert_eq!(code(&merged), 3, "{}", stderr(&merged));
    let merged: Value = serde_json::from_str(&stdout(&merged)).unwrap();
    let one: Value = serde_json::from_str(&std::fs::read_to_string(file("one")).unwrap()).unwrap();
    crate::export::validate(&merged);
    // Counts exactly; the distributions count the same connections.
    assert_eq!(merged["counts"], one["counts"]);
    assert_eq!(
        merged["closures"]["fin"]["count"],
        one["closures"]["fin"]["count"]
    );
    assert_eq!(
        merged["connect_time"]["count"],
        one["connect_time"]["count"]
    );
    assert_eq!(merged["ramp"]["dialed"], one["ramp"]["dialed"]);
    // The schedule is the plan's: the last of 60 connections at 400/s is due at 147.5 ms.
    let span = |d: &Value| {
        d["ramp"]["last_dial_us"].as_f64().unwrap() - d["ramp"]["first_dial_us"].as_f64().unwrap()
    };
    assert!(
        (span(&merged) - span(&one)).abs() < 50_000.0,
        "{} vs {}",
        span(&merged),
        span(&one)
    );
    // Held 300 ms each and dialed over 150 ms: all 60 were open at once, in both.
    assert_eq!(one["max_concurrent"], 60);
    assert_eq!(merged["max_concurrent"], 60);
    for name in ["one", "shard0", "shard1", "shard2"] {
        let _ = std::fs::remove_file(file(name));
    }
}

/// The point a quiet stretch adds is one per stretch: an unpaced ramp, whose batches follow
/// each other with no timer due, keeps the timeline at its 50 ms step.
#[test]
fn quiet_points_do_not_flood_the_timeline() {
    let server = BuiltinServer::start("127.0.0.2", &["-m", "0", "-d", "60", "-q"]);
    let (o, doc, file) = run_json(
        &format!(
            "run -y -c 3000 -s 0 -i 0 --hold 300ms --close rst 127.0.0.2 {}",
            server.port
        ),
        "unpaced.json",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(doc["timeline"]["step_ms"], 50.0);
    let points = doc["timeline"]["points"].as_array().unwrap().len() as f64;
    let elapsed_ms = doc["elapsed_us"].as_f64().unwrap() / 1000.0;
    // A point per step while anything happens, one per quiet stretch, the two ends.
    assert!(
        points <= elapsed_ms / 50.0 * 2.0 + 4.0,
        "{points} points in {elapsed_ms} ms"
    );
    // The held state is shown exactly: every connection open at once.
    assert_eq!(doc["max_concurrent"], 3000);
    let last_held = doc["timeline"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["established"] == 3000);
    assert!(last_held);
    let _ = std::fs::remove_file(file);
}
