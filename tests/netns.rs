//! Kernel-sensitive behaviour in network namespaces the tests create and delete: the port
//! pre-flight against a narrowed ephemeral range, and runs near the edge of that range.
//!
//! Without root or `ip` a test here cannot create its namespace: it passes without checking
//! anything, and says so with a `SKIPPED netns::<test>: ...` line on stderr (see
//! `util::skipped`). With `TCPGOON_REQUIRE_NETNS=1` (set by `.ci/run`) that is a failure instead.

use crate::util::*;

#[test]
fn preflight_refuses_a_run_that_exceeds_the_port_range() {
    let Some(ns) = Netns::with_port_range("ports", 40000, 40099) else {
        return;
    };
    let _server = ns.server();
    for policy in ["auto", "kernel"] {
        let o = ns.tg(&format!(
            "run -y -c 150 -s 0 --source-ports {policy} 127.0.0.1 17001"
        ));
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
    let o = ns.tg("run -y -c 60 -s 0 --source-ports kernel --close rst 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let warning = "warning: 60 connections from the default source address toward 127.0.0.1:17001 use more than half";
    assert!(stderr(&o).contains(warning), "{}", stderr(&o));
    let o = ns.tg("run -y -c 40 -s 0 --source-ports kernel --close rst 127.0.0.1 17001");
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    // Spread over two source addresses the same run fits, and every connection is made.
    let o = ns.tg("run -y -c 150 -s 0 --source 127.0.0.1-127.0.0.2 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(final_counts(&stdout(&o)), [150, 0, 150, 0, 0, 0]);
}

#[test]
fn time_wait_counts_against_the_budget() {
    let Some(ns) = Netns::with_port_range("tw", 41000, 41099) else {
        return;
    };
    let _server = ns.server();
    // 80 connections closed with FIN leave 80 ports in TIME_WAIT...
    let o = ns.tg("run -y -c 80 -s 0 --close fin 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    std::thread::sleep(std::time::Duration::from_millis(300));
    // ...so 50 more do not fit, and the message says why.
    let o = ns.tg("run -y -c 50 -s 0 127.0.0.1 17001");
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stderr(&o).contains("in TIME_WAIT"), "{}", stderr(&o));
    // With --close rst the ports come back at once: runs of 80 back to back keep fitting.
    let ns2 = Netns::with_port_range("rst", 41000, 41099).expect("created above, so creatable");
    let _server2 = ns2.server();
    for _ in 0..3 {
        let o = ns2.tg("run -y -c 80 -s 0 --close rst 127.0.0.1 17001");
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    }
}

#[test]
fn the_whole_port_range_is_usable_from_one_address() {
    let Some(ns) = Netns::with_port_range("edge", 42000, 42199) else {
        return;
    };
    let _server = ns.server();
    let o = ns.tg("run -y -c 200 -s 0 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(final_counts(&stdout(&o)), [200, 0, 200, 0, 0, 0]);
}

/// In a namespace of its own: TIME_WAIT left toward a reused port by an earlier run elsewhere
/// cannot blur the count.
#[test]
fn close_rst_leaves_no_time_wait_and_fin_does() {
    let Some(ns) = Netns::create("close") else {
        return;
    };
    // The built-in server closes on EOF, so a FIN close ends in TIME_WAIT on the client.
    let _server = ns.server();
    let o = ns.tg("run -y -c 20 -s 0 --close rst 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        ns.sockets_toward(17001, "06"),
        0,
        "RST must leave no TIME_WAIT"
    );
    let o = ns.tg("run -y -c 20 -s 0 --close fin 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Most, not always all: the kernel can end a TIME_WAIT early with a reset (see
    // a_block_of_time_wait_ports_is_skipped).
    let time_wait = ns.wait_sockets_toward(17001, "06", 20);
    assert!(
        time_wait >= 10,
        "FIN leaves the client in TIME_WAIT: {time_wait} of 20"
    );
}

/// A run right after another left a block of TIME_WAIT ports (its cursor handed out consecutive
/// ports) establishes every connection: the taken ports are known or skipped, never a reason to
/// give up on a dial.
#[test]
fn a_block_of_time_wait_ports_is_skipped() {
    let Some(ns) = Netns::with_port_range("twblock", 44000, 47999) else {
        return;
    };
    let _server = ns.server();
    let o = ns.tg("run -y -c 1600 -s 0 --close fin 127.0.0.1 17001");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // TIME_WAIT follows once the server has closed its side of each connection. A few are cut
    // short by the kernel itself: the server's delayed ACK can leave after its FIN with an older
    // timestamp, the client's TIME_WAIT answers it, the closed server resets, and Linux lets the
    // reset end the TIME_WAIT (RFC 1337, tcp_rfc1337=0). More than 1,024 remain: a block long
    // enough that the pre-flight must read the socket table.
    let time_wait = ns.wait_sockets_toward(17001, "06", 1600);
    assert!(
        time_wait > 1100,
        "the first run left {time_wait} ports in TIME_WAIT"
    );
    for _ in 0..3 {
        let o = ns.tg("run -y -c 600 -s 0 --close rst 127.0.0.1 17001");
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        assert_eq!(final_counts(&stdout(&o)), [600, 0, 600, 0, 0, 0]);
    }
}
