//! Eureka discovery against a fixture registry that behaves as the real servers do (its
//! fidelity checked with real Eureka clients), and runs against the instances it lists.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::eureka_fixture::{EurekaFixture, Flavour, Mode};
use crate::util::*;

/// A `tcpgoon server` standing in for an instance, printing each peer it accepts.
struct Instance(BuiltinServer);

impl Instance {
    fn start(ip: &str, extra: &[&str]) -> Instance {
        let mut args = vec!["-m", "0", "-d", "60"];
        args.extend(extra);
        Instance(BuiltinServer::start(ip, &args))
    }

    fn port(&self) -> u16 {
        self.0.port
    }

    /// Connections it accepted: the peers it printed.
    fn accepted(&self) -> usize {
        self.0
            .lines()
            .iter()
            .filter(|l| l.parse::<std::net::SocketAddr>().is_ok())
            .count()
    }
}

/// A registry listing app `orders`: three `tcpgoon server`s on loopback addresses (one holds,
/// one closes after 100 ms, one address refuses), all UP, and one DOWN.
fn registry(flavour: Flavour) -> (EurekaFixture, Instance, Instance, u16) {
    let fixture = EurekaFixture::start(flavour);
    let hold = Instance::start("127.0.0.2", &[]);
    let close = Instance::start("127.0.0.3", &["--close-after", "100ms"]);
    let refused = closed_port();
    fixture.add_instance("orders", "127.0.0.2", hold.port(), "UP");
    fixture.add_instance("orders", "127.0.0.3", close.port(), "UP");
    fixture.add_instance("orders", "127.0.0.4", refused, "UP");
    fixture.add_instance("orders", "127.0.0.5", 9, "DOWN");
    (fixture, hold, close, refused)
}

#[test]
fn every_up_instance_gets_its_run_and_the_worst_exit_code() {
    for flavour in [Flavour::Netflix, Flavour::Spring] {
        let (fixture, hold, close, refused) = registry(flavour);
        let url = fixture.base_url_with_credentials("ops", "s3cret-pw");
        fixture.require_credentials("ops", "s3cret-pw");
        let json = std::env::temp_dir().join(format!("tcpgoon-{}-eureka.json", std::process::id()));
        let o = tg(&format!(
            "run -y -v -c 8 -s 0 -i 0 --hold 1s --eureka {url} --app Orders --export-json {}",
            json.display()
        ));
        let (out, err) = (stdout(&o), stderr(&o));
        assert_eq!(code(&o), 2, "{out}{err}");
        assert!(out.starts_with("Eureka: ORDERS at http://***@"), "{out}");
        assert!(out.contains("4 instances, 3 to test, 1 skipped"), "{out}");
        assert!(
            out.contains("skipped: 127.0.0.5:orders:9 (127.0.0.5:9): status DOWN"),
            "{out}"
        );
        // Each instance saw its own run: the lines are printed once the report is out.
        assert_eq!(hold.accepted(), 8);
        assert_eq!(close.accepted(), 8);
        assert!(out.contains("Closed: 8 connections: 8 FIN"), "{out}");
        assert!(
            out.contains(&format!("=== target 3/3: 127.0.0.4:{refused}")),
            "{out}"
        );
        let summary = &out[out.find("--- summary of 3 targets ---").expect(&out)..];
        assert!(
            summary.contains("✓ pass (0)") && summary.contains("✗ errors (2)"),
            "{summary}"
        );
        // The credentials are nowhere: not in the lines, -v, nor the report's command line.
        let doc = std::fs::read_to_string(&json).unwrap();
        for text in [&out, &err, &doc] {
            assert!(!text.contains("s3cret-pw"), "{text}");
        }
        let doc: Value = serde_json::from_str(&doc).unwrap();
        crate::export::validate(&doc);
        assert_eq!(doc["runs"].as_array().unwrap().len(), 3);
        // One GET of the application, as the real clients' JSON read: upper-cased, JSON, gzip.
        let gets: Vec<_> = fixture
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET")
            .collect();
        assert_eq!(gets.len(), 1, "{gets:?}");
        assert!(gets[0].path.ends_with("/apps/ORDERS"), "{:?}", gets[0]);
        assert!(gets[0].header("accept").unwrap_or("").contains("json"));
        assert!(gets[0]
            .header("accept-encoding")
            .unwrap_or("")
            .contains("gzip"));
        let _ = std::fs::remove_file(json);
    }
}

#[test]
fn discover_lists_what_would_be_tested_and_dials_nothing() {
    let (fixture, hold, _close, _refused) = registry(Flavour::Netflix);
    let o = tg(&format!(
        "discover --eureka {} --app orders --eureka-status UP,DOWN --format json",
        fixture.base_url()
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 4, "{doc}");
    assert_eq!(doc["eureka"]["app"], "ORDERS");
    assert_eq!(doc["targets"][3]["address"], "127.0.0.5:9");
    assert_eq!(hold.accepted(), 0);
    let o = tg(&format!(
        "discover --eureka {} --app orders",
        fixture.base_url()
    ));
    let out = stdout(&o);
    assert!(out.contains("Targets: 3\n"), "{out}");
    assert!(
        out.contains(&format!(
            "  127.0.0.2:{} [127.0.0.2:orders:{}]\n",
            hold.port(),
            hold.port()
        )),
        "{out}"
    );
}

#[test]
fn registry_failures_are_one_line_and_nothing_is_dialed() {
    let fixture = EurekaFixture::start(Flavour::Netflix);
    let hold = TestServer::start("127.0.0.2", Behaviour::Hold);
    fixture.add_instance("orders", "127.0.0.2", hold.addr.port(), "DOWN");
    let run = |app: &str, extra: &str| {
        tg(&format!(
            "run -y -c 3 -s 0 --eureka {} --app {app} {extra}",
            fixture.base_url()
        ))
    };
    /// What to set up, the app asked for, more flags, what the line must say.
    type Case<'a> = (Box<dyn Fn() + 'a>, &'a str, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            Box::new(|| {}),
            "nosuchapp",
            "",
            "knows no application NOSUCHAPP",
        ),
        (Box::new(|| {}), "orders", "", "DOWN"),
        (
            Box::new(|| fixture.set_mode(Mode::NotReady)),
            "orders",
            "",
            "403",
        ),
        (
            Box::new(|| fixture.set_mode(Mode::Malformed)),
            "orders",
            "",
            "JSON",
        ),
        (
            Box::new(|| fixture.set_mode(Mode::Hang)),
            "orders",
            "--eureka-timeout 500ms",
            "500ms",
        ),
    ];
    for (prepare, app, extra, want) in cases {
        prepare();
        let start = Instant::now();
        let o = run(app, extra);
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{app} {extra}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{want}: {err}");
        assert!(start.elapsed() < Duration::from_secs(8), "{err}");
        assert_eq!(hold.accepted(), 0, "{err}");
        assert_eq!(stdout(&o), "", "{err}");
    }
    // Nobody listening: unreachable.
    let o = tg(&format!(
        "run -y -c 3 --eureka http://127.0.0.1:{}/eureka --app orders",
        closed_port()
    ));
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("cannot reach"), "{}", stderr(&o));
}

#[test]
fn hostname_secure_port_and_an_old_servers_lone_instance() {
    let fixture = EurekaFixture::start(Flavour::Spring);
    let hold = TestServer::start("127.0.0.1", Behaviour::Hold);
    // ipAddr unroutable on purpose: only the hostName (localhost) and securePort reach it.
    fixture.add_instance_json(
        "legacy",
        serde_json::json!({
            "instanceId": "legacy-1", "hostName": "localhost", "app": "LEGACY",
            "ipAddr": "192.0.2.1", "status": "UP",
            "port": {"$": "9", "@enabled": "false"},
            "securePort": {"$": hold.addr.port().to_string(), "@enabled": "true"},
            "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}
        }),
    );
    fixture.set_mode(Mode::SingleObject);
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --eureka {} --app legacy --eureka-address hostname --eureka-port secure",
        fixture.base_url()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "=== target 1/1: localhost(127.0.0.1):{} [legacy-1] ===",
            hold.addr.port()
        )),
        "{out}"
    );
    assert_eq!(hold.settle_at(3, Duration::from_secs(5)), 3);
    // Its plain port is not enabled: with --eureka-port port nothing is left to test.
    let o = tg(&format!(
        "run -y -c 3 -s 0 -i 0 --eureka {} --app legacy --eureka-address hostname",
        fixture.base_url()
    ));
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("port"), "{}", stderr(&o));
    assert_eq!(hold.accepted(), 3);
}

/// A registry over HTTPS (self-signed certificate) listing app `orders`: one holding instance.
fn tls_registry(flavour: Flavour) -> (EurekaFixture, TestServer) {
    let fixture = EurekaFixture::start_tls(flavour);
    let hold = TestServer::start("127.0.0.2", Behaviour::Hold);
    fixture.add_instance("orders", "127.0.0.2", hold.addr.port(), "UP");
    (fixture, hold)
}

#[test]
fn an_https_registrys_certificate_is_verified_unless_eureka_insecure() {
    for flavour in [Flavour::Netflix, Flavour::Spring] {
        let (fixture, hold) = tls_registry(flavour);
        let url = fixture.base_url();
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        let run = |extra: &str| {
            tg(&format!(
                "run -y -c 3 -s 0 -i 0 --eureka {url} --app orders {extra}"
            ))
        };
        // Self-signed: not in the built-in web roots, so refused, and nothing is dialed.
        let o = run("");
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "{flavour:?}: {}{err}", stdout(&o));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
        assert!(
            err.contains("--eureka-insecure") && err.contains("test registry only"),
            "{err}"
        );
        assert_eq!(stdout(&o), "", "{err}");
        assert_eq!(hold.accepted(), 0, "{err}");
        assert!(
            fixture.requests().is_empty(),
            "no request is sent over a refused handshake"
        );
        assert_eq!(
            fixture.settle_failed_handshakes(1, Duration::from_secs(5)),
            1,
            "refused in the handshake"
        );
        // --eureka-insecure: the same registry is read, and the instance tested.
        let o = run("--eureka-insecure");
        let out = stdout(&o);
        assert_eq!(code(&o), 0, "{flavour:?}: {out}{}", stderr(&o));
        assert!(
            out.starts_with(&format!("Eureka: ORDERS at {url}: ")),
            "{out}"
        );
        assert_eq!(hold.settle_at(3, Duration::from_secs(5)), 3, "{out}");
        let gets = fixture.requests();
        assert_eq!(gets.len(), 1, "{gets:?}");
        assert!(gets[0].path.ends_with("/apps/ORDERS"), "{:?}", gets[0]);
    }
}

#[test]
fn credentials_go_to_an_https_registry_and_appear_nowhere() {
    let (fixture, hold) = tls_registry(Flavour::Netflix);
    fixture.require_credentials("ops", "s3cret");
    let url = fixture.base_url_with_credentials("ops", "s3cret");
    assert!(url.starts_with("https://ops:s3cret@127.0.0.1:"), "{url}");
    // Refused certificate: the credentials were never sent, nor shown.
    let o = tg(&format!(
        "run -y -v -c 3 -s 0 -i 0 --eureka {url} --app orders"
    ));
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("https://***@127.0.0.1:"), "{err}");
    assert!(
        !err.contains("s3cret") && !stdout(&o).contains("s3cret"),
        "{err}"
    );
    assert!(fixture.requests().is_empty());
    assert_eq!(hold.accepted(), 0);
    let mut expected = 0;
    for extra in ["", "-v"] {
        let o = tg(&format!(
            "run -y {extra} -c 3 -s 0 -i 0 --eureka {url} --app orders --eureka-insecure"
        ));
        let (out, err) = (stdout(&o), stderr(&o));
        assert_eq!(code(&o), 0, "{extra}: {out}{err}");
        assert!(
            out.starts_with("Eureka: ORDERS at https://***@127.0.0.1:"),
            "{out}"
        );
        assert!(
            !out.contains("s3cret") && !err.contains("s3cret"),
            "{out}{err}"
        );
        if extra == "-v" {
            assert!(err.contains("established"), "-v wrote its lines: {err}");
        }
        expected += 3;
        assert_eq!(hold.settle_at(expected, Duration::from_secs(5)), expected);
    }
    // Sent as basic auth, over TLS, each time.
    let reqs = fixture.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some("Basic b3BzOnMzY3JldA==")));
}

#[test]
fn discover_over_https_with_eureka_insecure() {
    let (fixture, hold) = tls_registry(Flavour::Spring);
    let o = tg(&format!(
        "discover --eureka {} --app orders --eureka-insecure --format json",
        fixture.base_url()
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{doc}");
    assert_eq!(
        targets[0]["address"],
        format!("127.0.0.2:{}", hold.addr.port())
    );
    assert_eq!(doc["eureka"]["app"], "ORDERS");
    assert_eq!(hold.accepted(), 0, "discover dials nothing");
    // Without the flag the certificate is refused here too.
    let o = tg(&format!(
        "discover --eureka {} --app orders --format json",
        fixture.base_url()
    ));
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("certificate"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_private_ca_given_with_eureka_ca_is_trusted() {
    use base64::Engine as _;
    let (fixture, hold) = tls_registry(Flavour::Spring);
    let der = fixture.certificate().expect("a TLS fixture");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let file = std::env::temp_dir().join(format!("tcpgoon-{}-ca.pem", std::process::id()));
    std::fs::write(&file, pem).unwrap();
    let run = |extra: &str| {
        tg(&format!(
            "run -y -c 3 -s 0 -i 0 --eureka {} --app orders {extra}",
            fixture.base_url()
        ))
    };
    // Without it, the refusal says what is wrong in words, and names the fix.
    let o = run("");
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("not signed by an authority this machine trusts")
            && err.contains("--eureka-ca"),
        "{err}"
    );
    // With it: verified, and run.
    let o = run(&format!("--eureka-ca {}", file.display()));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(hold.settle_at(3, Duration::from_secs(5)), 3);
    // A file with no certificate: one line, nothing asked, nothing dialed.
    std::fs::write(&file, "not a certificate\n").unwrap();
    let o = run(&format!("--eureka-ca {}", file.display()));
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--eureka-ca") && err.contains("no certificate"),
        "{err}"
    );
    assert_eq!(hold.accepted(), 3);
    // --eureka-insecure says that it skips the check.
    let o = run("--eureka-insecure");
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o)
            .starts_with("warning: --eureka-insecure: the certificate of the registry at https://"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn an_interrupt_while_the_registry_is_asked_ends_at_once() {
    let fixture = EurekaFixture::start(Flavour::Netflix);
    let hold = TestServer::start("127.0.0.2", Behaviour::Hold);
    fixture.add_instance("orders", "127.0.0.2", hold.addr.port(), "UP");
    fixture.set_mode(Mode::Hang);
    for signal_name in ["INT", "TERM"] {
        let mut child = spawn(&format!(
            "run -y -c 3 -s 0 --eureka {} --app orders --eureka-timeout 60s",
            fixture.base_url()
        ));
        std::thread::sleep(Duration::from_millis(700));
        let start = Instant::now();
        signal(child.id(), signal_name);
        let o = wait_output(&mut child, Duration::from_secs(10));
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{signal_name}: took {:?}",
            start.elapsed()
        );
        assert_eq!(code(&o), 1, "{signal_name}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            "error: interrupted while asking for the targets (the registry, or the resolver): nothing was dialed\n"
        );
        assert_eq!(hold.accepted(), 0);
    }
}

#[test]
fn duplicates_and_spread_runs_keep_the_registrys_count_and_lines() {
    let fixture = EurekaFixture::start(Flavour::Spring);
    let a = TestServer::start("127.0.0.2", Behaviour::Hold);
    let b = TestServer::start("127.0.0.3", Behaviour::Hold);
    fixture.add_instance("orders", "127.0.0.2", a.addr.port(), "UP");
    fixture.add_instance("orders", "127.0.0.3", b.addr.port(), "UP");
    // Registered twice under another id, and one whose port is no number.
    let mut again = fixture.instances("orders")[0].clone();
    again["instanceId"] = Value::from("again");
    fixture.add_instance_json("orders", again);
    let mut odd = fixture.instances("orders")[1].clone();
    odd["instanceId"] = Value::from("odd");
    odd["port"]["$"] = Value::from("abc");
    fixture.add_instance_json("orders", odd);
    let json =
        std::env::temp_dir().join(format!("tcpgoon-{}-spread-eureka.json", std::process::id()));
    let o = tg(&format!(
        "run -y -c 4 -s 0 -i 0 --spread --eureka {} --app orders --export-json {}",
        fixture.base_url(),
        json.display()
    ));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains(": 4 instances, 3 to test, 1 skipped\n"),
        "{out}"
    );
    assert!(out.contains("  skipped: odd ("), "{out}");
    assert!(
        out.contains("port `$` is \"abc\", not a port number"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Note: 127.0.0.2:{} is listed more than once; tested once",
            a.addr.port()
        )),
        "{out}"
    );
    assert_eq!(
        a.settle_at(2, Duration::from_secs(5)) + b.settle_at(2, Duration::from_secs(5)),
        4
    );
    // The saved spread report keeps where its targets came from.
    let again = tg(&format!("report {}", json.display()));
    assert!(
        stdout(&again).starts_with("Eureka: ORDERS at "),
        "{}",
        stdout(&again)
    );
    // What the run printed, less its status line at the start.
    let status = out.lines().find(|l| l.starts_with("Total: ")).unwrap();
    assert_eq!(stdout(&again), out.replacen(&format!("{status}\n"), "", 1));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    crate::export::validate(&doc);
    let _ = std::fs::remove_file(json);
}

/// `--workers`: the workers get the instances from their parent, and their command lines (which
/// every user of the machine can read) carry the registry's URL without its password.
#[test]
fn workers_never_carry_the_registrys_password() {
    let (fixture, hold, _close, _refused) = registry(Flavour::Spring);
    let url = fixture.base_url_with_credentials("ops", "s3cret-pw");
    fixture.require_credentials("ops", "s3cret-pw");
    let mut child = spawn(&format!(
        "run -y -c 8 -s 0 -i 0 --hold 1500ms --workers 2 --eureka {url} --app Orders"
    ));
    let parent = child.id();
    let start = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < 2 && start.elapsed() < Duration::from_secs(10) {
        for pid in children_of(parent) {
            if let Ok(cmdline) = std::fs::read_to_string(format!("/proc/{pid}/cmdline")) {
                if cmdline.contains("--worker\0") && !seen.contains(&cmdline) {
                    seen.push(cmdline);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        seen.len(),
        2,
        "two workers for the first instance: {seen:?}"
    );
    for cmdline in &seen {
        assert!(!cmdline.contains("s3cret-pw"), "{cmdline:?}");
        assert!(cmdline.contains("***@"), "{cmdline:?}");
    }
    let o = wait_output(&mut child, Duration::from_secs(60));
    let out = stdout(&o);
    // Every instance run by the workers: the refusing one makes it exit 2.
    assert_eq!(code(&o), 2, "{out}{}", stderr(&o));
    assert_eq!(hold.accepted(), 8, "{out}");
}
