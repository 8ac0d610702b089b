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
    assert_eq!(server.accepted(), 10);
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
    assert_eq!(server.accepted(), 2);
    assert!(stdout(&o).contains("Shard: 3 of 4 (from 0): 2 of the plan's 10 connections"));
    // JOB_COMPLETION_INDEX alone (another kind of Job) changes nothing.
    let o = tcpgoon()
        .args(format!("run -y -c 10 -s 0 -i 0 127.0.0.2 {}", server.port()).split(' '))
        .env("JOB_COMPLETION_INDEX", "3")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    assert_eq!(server.accepted(), 12);
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
