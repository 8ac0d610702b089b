//! Regression tests for the verdict defects a hostile tester found in the checks (issue 8): the
//! base of the implicit thresholds, thresholds on metrics never measured, and the report lines
//! when nothing was left to check. Each failed before its fix.

use std::time::Duration;

use crate::util::*;

/// Whether nft is installed; when not, a `SKIPPED` line (a failure under
/// `TCPGOON_REQUIRE_NETNS=1`).
fn have_nft() -> bool {
    let ok = std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("TCPGOON_REQUIRE_NETNS").as_deref() != Ok("1"),
            "nft is missing (apt-get install nftables)"
        );
        skipped("nft is missing (apt-get install nftables)");
    }
    ok
}

/// Defect A: with `--expect*`, every *established* connection must be verified. Two sources,
/// one whose SYNs are dropped: 5 established and verified, 5 dial timeouts the written
/// `errors<=50%` allows. The implicit threshold said `5 of 10 (50.0%)` and exit 3.
#[test]
fn the_implicit_verified_threshold_counts_the_established_connections() {
    if !have_nft() {
        return;
    }
    let Some(ns) = Netns::create("vbase") else {
        return;
    };
    let _server = BuiltinServer::start_with(
        ns.command(env!("CARGO_BIN_EXE_tcpgoon")),
        "127.0.0.1",
        17001,
        &["-m", "0", "-d", "60", "-q", "--banner", "HELLO\\r\\n"],
    );
    ns.sh(
        "nft add table inet t && nft add chain inet t out '{ type filter hook output priority 0; }' \
         && nft add rule inet t out ip saddr 127.0.0.3 tcp dport 17001 drop",
    );
    let o = ns.tg(
        "run -y -c 10 -s 0 -i 0 -d 500 --source 127.0.0.2,127.0.0.3 --expect-data \
         --threshold errors<=50% 127.0.0.1 17001",
    );
    let out = stdout(&o);
    assert!(
        out.contains("Verified: 5 of 5 established connections got the expected data (100.0%)"),
        "{out}"
    );
    assert!(out.contains("✓ errors<=50%: 5 of 10 (50.0%)\n"), "{out}");
    assert!(
        out.contains("✓ verified>=100%: 5 of 5 established (100.0%) (implicit)\n"),
        "{out}"
    );
    assert_eq!(code(&o), 0, "{out}");
}

/// Defect F: with every dial refused, the probe said `Probe at end: 0 of 0 connections still
/// open answered ...` and the `Verified:` line was left out. Each now says that nothing was
/// there to check; the implicit thresholds hold for want of anything to fail (the errors make
/// the exit code 2).
#[test]
fn nothing_to_probe_or_verify_is_said_plainly() {
    let refused = closed_port();
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --probe-at-end --expect-data 127.0.0.1 {refused}"
    ));
    let out = stdout(&o);
    assert!(
        out.contains("\nVerified: no connection was established to check\n"),
        "{out}"
    );
    assert!(
        out.contains("\nProbe at end: no connection was left open to probe\n"),
        "{out}"
    );
    assert!(!out.contains("0 of 0 connections"), "{out}");
    assert!(
        out.contains("✓ verified>=100%: 0 of 0 established (nothing to check) (implicit)\n"),
        "{out}"
    );
    assert!(
        out.contains("✓ alive>=100%: 0 of 0 probed (nothing to check) (implicit)\n"),
        "{out}"
    );
    assert_eq!(code(&o), 2, "{out}");
}

/// Defect F, the hold: every connection closed by the far side before the probe. Nothing is
/// probed, and the hold's own threshold says what went wrong.
#[test]
fn a_probe_after_every_connection_closed() {
    let server = TestServer::start("127.0.0.1", Behaviour::CloseAfter(Duration::ZERO));
    let o = tg(&format!(
        "run -y -c 4 -s 0 -i 0 --hold 2s --probe-at-end 127.0.0.1 {}",
        server.port()
    ));
    let out = stdout(&o);
    assert!(
        out.contains("\nProbe at end: no connection was left open to probe\n"),
        "{out}"
    );
    assert!(
        out.contains("✗ held>=100%: 0 of 4 (0.0%) (implicit)\n"),
        "{out}"
    );
    assert!(
        out.contains("✓ alive>=100%: 0 of 0 probed (nothing to check) (implicit)\n"),
        "{out}"
    );
    assert_eq!(code(&o), 3, "{out}");
}
