//! Kernel-sensitive behaviour in network namespaces the tests create and delete: the port
//! pre-flight against a narrowed ephemeral range, and runs near the edge of that range.

use crate::util::*;

#[test]
fn preflight_refuses_a_run_that_exceeds_the_port_range() {
    let Some(ns) = Netns::create("ports") else {
        return;
    };
    ns.sh("sysctl -qw net.ipv4.ip_local_port_range='40000 40099'");
    let server = BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        17001,
        &["-m", "0", "-d", "60", "-q"],
    );
    let port = server.port.to_string();
    for policy in ["auto", "kernel"] {
        let o = run_in(
            &ns,
            &[
                "run",
                "-y",
                "-c",
                "150",
                "-s",
                "0",
                "--source-ports",
                policy,
                "127.0.0.1",
                &port,
            ],
        );
        assert_eq!(code(&o), 1, "{policy}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains("not enough local ports: 150 connections"),
            "{policy}: {err}"
        );
        assert!(
            err.contains("only 100 of the 100 in 40000-40099 are free"),
            "{policy}: {err}"
        );
        assert!(err.contains("--source"), "{err}");
        assert!(stdout(&o).is_empty(), "nothing dialed, no report");
    }
    // Left to the kernel, more than half the free ports toward one destination is slow: a warning.
    let o = run_in(
        &ns,
        &[
            "run",
            "-y",
            "-c",
            "60",
            "-s",
            "0",
            "--source-ports",
            "kernel",
            "--close",
            "rst",
            "127.0.0.1",
            &port,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: 60 connections from the default source address toward 127.0.0.1:17001 use more than half"), "{}", stderr(&o));
    let o = run_in(
        &ns,
        &[
            "run",
            "-y",
            "-c",
            "40",
            "-s",
            "0",
            "--source-ports",
            "kernel",
            "--close",
            "rst",
            "127.0.0.1",
            &port,
        ],
    );
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    // Spread over two source addresses the same run fits, and every connection is made.
    let o = run_in(
        &ns,
        &[
            "run",
            "-y",
            "-c",
            "150",
            "-s",
            "0",
            "--source",
            "127.0.0.1-127.0.0.2",
            "127.0.0.1",
            &port,
        ],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(final_counts(&stdout(&o)), [150, 0, 150, 0, 0, 0]);
}

#[test]
fn time_wait_counts_against_the_budget() {
    let Some(ns) = Netns::create("tw") else {
        return;
    };
    ns.sh("sysctl -qw net.ipv4.ip_local_port_range='41000 41099'");
    let server = BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        17001,
        &["-m", "0", "-d", "60", "-q"],
    );
    let port = server.port.to_string();
    // 80 connections closed with FIN leave 80 ports in TIME_WAIT...
    let o = run_in(
        &ns,
        &[
            "run",
            "-y",
            "-c",
            "80",
            "-s",
            "0",
            "--close",
            "fin",
            "127.0.0.1",
            &port,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    std::thread::sleep(std::time::Duration::from_millis(300));
    // ...so 50 more do not fit, and the message says why.
    let o = run_in(
        &ns,
        &["run", "-y", "-c", "50", "-s", "0", "127.0.0.1", &port],
    );
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stderr(&o).contains("in TIME_WAIT"), "{}", stderr(&o));
    // With --close rst the ports come back at once.
    let ns2 = Netns::create("rst").expect("created above, so creatable");
    ns2.sh("sysctl -qw net.ipv4.ip_local_port_range='41000 41099'");
    let server2 = BuiltinServer::start_with(
        ns2.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        17001,
        &["-m", "0", "-d", "60", "-q"],
    );
    let port2 = server2.port.to_string();
    for _ in 0..3 {
        let o = run_in(
            &ns2,
            &[
                "run",
                "-y",
                "-c",
                "80",
                "-s",
                "0",
                "--close",
                "rst",
                "127.0.0.1",
                &port2,
            ],
        );
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    }
}

#[test]
fn the_whole_port_range_is_usable_from_one_address() {
    let Some(ns) = Netns::create("edge") else {
        return;
    };
    ns.sh("sysctl -qw net.ipv4.ip_local_port_range='42000 42199'");
    let server = BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        17001,
        &["-m", "0", "-d", "60", "-q"],
    );
    let o = run_in(
        &ns,
        &[
            "run",
            "-y",
            "-c",
            "200",
            "-s",
            "0",
            "127.0.0.1",
            &server.port.to_string(),
        ],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(final_counts(&stdout(&o)), [200, 0, 200, 0, 0, 0]);
}
