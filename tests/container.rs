//! The container image (issue 10): its binary is linked statically and runs alone in an empty
//! root, as in a `FROM scratch` image, resolving names from the /etc/hosts and
//! /etc/resolv.conf a container runtime injects (Kubernetes service names). `.ci/run` builds
//! that binary the way the Dockerfile does and names it in `TCPGOON_STATIC_BIN`. Like a runtime,
//! the test mounts /proc in the root (the pre-flight reads the port range there).

use std::path::PathBuf;
use std::process::Command;

use crate::util::*;

/// The static binary, or `None` (with a SKIPPED line) where it was not built, unless CI
/// requires it (`TCPGOON_REQUIRE_STATIC=1`).
fn static_binary() -> Option<PathBuf> {
    match std::env::var("TCPGOON_STATIC_BIN") {
        Ok(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            let reason = "TCPGOON_STATIC_BIN is not set (.ci/run builds the static binary)";
            assert!(
                std::env::var("TCPGOON_REQUIRE_STATIC").as_deref() != Ok("1"),
                "{reason}, and TCPGOON_REQUIRE_STATIC=1 requires it"
            );
            skipped(reason);
            None
        }
    }
}

#[test]
fn the_static_binary_runs_alone_in_an_empty_root() {
    let Some(bin) = static_binary() else {
        return;
    };
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    // An empty root: the binary, and the two files a container runtime injects.
    let root = std::env::temp_dir().join(format!("tcpgoon-{}-scratch", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy(&bin, root.join("tcpgoon")).unwrap();
    std::fs::write(
        root.join("etc/hosts"),
        "127.0.0.1 localhost\n127.0.0.1 orders.shop.svc.cluster.local orders\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/resolv.conf"),
        "nameserver 127.0.0.1\noptions ndots:1\n",
    )
    .unwrap();
    // A container runtime mounts /proc too (the pre-flight reads the port range there).
    std::fs::create_dir_all(root.join("proc")).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "proc", "proc"])
        .arg(root.join("proc"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "mount -t proc into the empty root");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0.join("proc")).status();
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Unmount(root.clone());
    let chroot = |args: &str| {
        Command::new("chroot")
            .arg(&root)
            .arg("/tcpgoon")
            .args(args.split_whitespace())
            .output()
            .expect("chroot")
    };
    let o = chroot("version");
    assert_eq!(
        code(&o),
        0,
        "a dynamic binary finds no loader here: {}",
        stderr(&o)
    );
    assert!(
        stdout(&o).starts_with("Git Commit Hash: "),
        "{}",
        stdout(&o)
    );
    // A service name, resolved from the injected /etc/hosts, and a real run against it.
    let o = chroot(&format!("run -y -c 5 -s 0 -i 0 orders {}", server.port()));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "--- orders(127.0.0.1):{} tcp test statistics ---",
            server.port()
        )),
        "{}",
        stdout(&o)
    );
    assert_eq!(server.settle_at(5, std::time::Duration::from_secs(5)), 5);
    let o = chroot("discover --target orders.shop.svc.cluster.local:8080");
    assert_eq!(
        stdout(&o),
        "Targets: 1\n  orders.shop.svc.cluster.local(127.0.0.1):8080\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_dockerfile_builds_what_ci_checks() {
    let read = |path: &str| {
        std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    let dockerfile = read("Dockerfile");
    let ci = read(".ci/run");
    for flags in [
        "RUSTFLAGS=\"-C target-feature=+crt-static\"",
        "--target x86_64-unknown-linux-gnu",
    ] {
        assert!(dockerfile.contains(flags), "Dockerfile lacks {flags}");
        assert!(ci.contains(flags), ".ci/run lacks {flags}");
    }
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert_eq!(stages[1], "FROM scratch");
    assert!(dockerfile.contains("ENTRYPOINT [\"/tcpgoon\"]"));
    assert!(ci.contains("TCPGOON_REQUIRE_STATIC=1"));
}
