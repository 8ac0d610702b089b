//! The command line through the binary: exit codes of usage errors, help, version.

use std::process::Stdio;
use std::time::Duration;

use crate::util::*;

#[test]
fn usage_errors_exit_1_with_one_clear_line() {
    for args in [
        "run localhost",
        "run localhost 70000",
        "run -c -5 localhost 80",
        "run -i -1 localhost 80",
        "run --nope localhost 80",
        "run --close maybe localhost 80",
        "server -p 70000",
        "run no-such-host.invalid 80",
    ] {
        let o = tg(args);
        assert_eq!(code(&o), 1, "{args:?}");
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(stdout(&o).is_empty(), "{args:?}: nothing on stdout");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = tg("run no-such-host.invalid 80");
    assert!(stderr(&o).starts_with("error: Domain name not resolvable"));
}

#[test]
fn help_version_and_root_line() {
    let o = tg("--help");
    assert_eq!(code(&o), 0);
    assert!(stdout(&o)
        .contains("tcpgoon tests concurrent connections towards a server listening on a TCP port"));
    let o = tg("run --help");
    let help = stdout(&o);
    for text in [
        "Force execution without asking for confirmation",
        "Number of connections you want to open",
        "Connection dialing timeout, in ms",
        "Interval, in seconds, between stats updates",
        "Time you want to sleep between connections, in ms",
        "Print debugging information to the standard error",
    ] {
        assert!(help.contains(text), "run --help lacks {text:?}");
    }
    let o = tg("version");
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.starts_with("Git Commit Hash: ") && out.contains("\nUTC Build Time: "),
        "{out}"
    );
    let o = tg("--version");
    assert!(stdout(&o).starts_with("tcpgoon "));
}

#[test]
fn fd_limit_is_checked_before_dialing() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let bin = env!("CARGO_BIN_EXE_tcpgoon");
    let limited = |connections: u64| {
        let script = format!(
            "ulimit -n 100 && exec {bin} run -y -c {connections} -s 0 -i 0 127.0.0.1 {}",
            server.port()
        );
        std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap()
    };
    let o = limited(200);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    // "200 connections need N open files but the limit is 100 ...; raise it with `ulimit -n N`"
    let needed: u64 = err
        .split("200 connections need ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        err.contains("but the limit is 100 (hard limit 100)"),
        "{err}"
    );
    assert!(err.contains(&format!("ulimit -n {needed}")), "{err}");
    // The need is the connections plus what is open (stdio at least) plus the poll, the signalfd
    // and a spare: exactly at the limit fits, one more does not.
    let extra = needed - 200;
    assert!((6..32).contains(&extra), "{err}");
    assert_eq!(
        server.settle_at(0, std::time::Duration::ZERO),
        0,
        "nothing was dialed"
    );
    let fits = limited(100 - extra);
    assert_eq!(code(&fits), 0, "{}{}", stdout(&fits), stderr(&fits));
    assert_eq!(final_counts(&stdout(&fits))[2], 100 - extra);
    assert_eq!(code(&limited(101 - extra)), 1);
}

#[test]
fn demo_runs_against_its_own_built_in_server() {
    let o = tg("demo -c 200 -s 0 -i 0");
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.starts_with("demo: the built-in server (tcpgoon server) listens on 127.0.0.1:"),
        "{out}"
    );
    assert_eq!(final_counts(&out), [200, 0, 200, 0, 0, 0]);
    assert!(
        !out.contains("behind schedule"),
        "no lag for an unpaced run"
    );
    let paced = tg("demo -c 5 -s 1");
    assert!(
        stdout(&paced).contains("behind schedule"),
        "{}",
        stdout(&paced)
    );
}

/// Regression: `println!` panicked when stdout was a pipe nobody reads any more
/// (`tcpgoon version | head -c1`). Here the pipe's read end is closed before the binary starts,
/// so every write to its stdout fails with EPIPE (Rust ignores SIGPIPE). A closed fd 1 would not
/// do: std treats a closed stdout as a sink and never reports the error.
#[test]
fn a_stdout_pipe_without_reader_is_no_panic_and_keeps_the_exit_code() {
    let broken = |args: &str| {
        // Close-on-exec, so that no other test's child inherits the read end and keeps it alive.
        let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        drop(reader);
        let mut child = tcpgoon()
            .args(args.split_whitespace())
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcpgoon");
        wait_output(&mut child, Duration::from_secs(60))
    };
    let o = broken("version");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let o = broken(&format!("run -y -c 2 -s 0 127.0.0.1 {}", closed_port()));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    // The run still did its work: its stderr report of the refusals is not lost with stdout.
    let o = broken(&format!("run -y -v -c 2 -s 0 127.0.0.1 {}", closed_port()));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("connection 2: error after "),
        "{}",
        stderr(&o)
    );
}

/// The help page a usage error's hint names, from "... (see `tcpgoon run --help`)".
fn hint(err: &str) -> &str {
    err.trim_end()
        .rsplit_once("(see `")
        .and_then(|(_, rest)| rest.strip_suffix("`)"))
        .unwrap_or_else(|| panic!("no hint in {err:?}"))
}

/// Issue 6, point 9: the hint is the help page of the subcommand that was parsed, and that page
/// exists (exit 0) and documents the flag in question.
#[test]
fn usage_errors_point_at_the_subcommands_help() {
    for (args, help, documents) in [
        (
            "run -y 127.0.0.1 P --foo",
            "tcpgoon run --help",
            "--assume-yes",
        ),
        ("run --rate 100 -s 5 h 1", "tcpgoon run --help", "--rate"),
        ("run -c 5 --close foo h 1", "tcpgoon run --help", "--close"),
        (
            "-y 127.0.0.1 80 --foo",
            "tcpgoon run --help",
            "--assume-yes",
        ),
        ("server --rate 5", "tcpgoon server --help", "--duration"),
        ("demo --close foo", "tcpgoon demo --help", "--close"),
        ("help bogus", "tcpgoon --help", "demo"),
    ] {
        let o = tg(args);
        assert_eq!(code(&o), 1, "{args:?}");
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert_eq!(hint(&err), help, "{args:?}: {err}");
        let page = tg(help.strip_prefix("tcpgoon ").unwrap());
        assert_eq!(code(&page), 0, "{help}: {}", stderr(&page));
        assert!(
            stdout(&page).contains(documents),
            "{help} lacks {documents}"
        );
    }
}

/// Issue 6, point 10: a rate below the documented minimum (0.001/s) is refused before dialing,
/// not run (a first dial at once, then one every few hours).
#[test]
fn rate_below_the_minimum_is_a_usage_error() {
    let port = closed_port();
    for rate in ["0.0001", "1e-300", "5e-324"] {
        let o = tg(&format!("run -y -c 1 -i 0 --rate {rate} 127.0.0.1 {port}"));
        let err = stderr(&o);
        assert_eq!(code(&o), 1, "--rate {rate}: {err}");
        assert_eq!(
            err,
            format!("error: --rate must be a number of connections per second from 0.001 to 10000000 (got \"{rate}\")\n")
        );
        assert!(stdout(&o).is_empty(), "--rate {rate}: nothing dialed");
    }
}

/// Issue 6, point 11: each message states the flag's real range or minimum; an empty value is
/// quoted; "must not be negative" only for a negative number.
#[test]
fn value_errors_state_the_real_range() {
    for (args, want) in [
        (
            &["run", "-c", "", "h", "1"][..],
            "error: --connections is not a valid count (got \"\"; give a whole number from 1 to 100000000, optionally with k or m: 500, 10k, 1.5m)",
        ),
        (
            &["run", "--max-dialing", "", "h", "1"],
            "error: --max-dialing is not a valid count (got \"\"; give a whole number from 1 to 1000000, optionally with k or m: 500, 10k, 1.5m)",
        ),
        (
            &["run", "-d", "", "h", "1"],
            "error: --dial-timeout is not a valid duration (got \"\"; give at least 1ms: a bare number is milliseconds, or use a unit: 500ms, 2s, 1m30s)",
        ),
        (
            &["server", "-p", ""],
            "error: \"\" is not a valid TCP port number for the server (-p/--port takes 0 to 65535; 0 picks a free port)",
        ),
        (
            &["run", "-s", "-abc", "h", "1"],
            "error: --sleep is not a valid duration (got \"-abc\"; give 0 or more: a bare number is milliseconds, or use a unit: 500ms, 2s, 1m30s)",
        ),
        (
            &["run", "--hold=-x", "h", "1"],
            "error: --hold is not a valid duration (got \"-x\"; give 0 or more: a bare number is seconds, or use a unit: 500ms, 2s, 1m30s)",
        ),
        (
            &["run", "-c", "-abc", "h", "1"],
            "error: --connections is not a valid count (got \"-abc\"; give a whole number from 1 to 100000000, optionally with k or m: 500, 10k, 1.5m)",
        ),
        (
            &["server", "-m", "-k"],
            "error: --maxconnections is not a valid count (got \"-k\"; give a whole number from 0 (unlimited) to 100000000, optionally with k or m: 500, 10k, 1.5m)",
        ),
        (
            &["run", "-s", "-5", "h", "1"],
            "error: --sleep must not be negative (got -5; give 0 or more)",
        ),
        (
            &["run", "--hold", "-1s", "h", "1"],
            "error: --hold must not be negative (got -1s; give 0 or more)",
        ),
    ] {
        let o = tcpgoon()
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(code(&o), 1, "{args:?}");
        assert_eq!(stderr(&o), format!("{want}\n"), "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

/// Issue 6, point 16: a mistyped command that is no host gets the closest command, whether clap
/// rejects the rest (`sever -p 5000`) or it parses as a run whose host does not resolve.
#[test]
fn a_mistyped_command_suggests_the_closest_one() {
    for (args, want) in [
        (
            "sever -p 5000",
            "error: 'sever' is not a command (did you mean `tcpgoon server`?); commands: run, find-limit, server, demo, discover, report, merge, version, completions, man; see `tcpgoon --help`\n",
        ),
        (
            "dmeo -c 5",
            "error: 'dmeo' is not a command (did you mean `tcpgoon demo`?); commands: run, find-limit, server, demo, discover, report, merge, version, completions, man; see `tcpgoon --help`\n",
        ),
        (
            "sever",
            "error: 'sever' is not a command (did you mean `tcpgoon server`?); commands: run, find-limit, server, demo, discover, report, merge, version, completions, man; see `tcpgoon --help`\n",
        ),
    ] {
        let o = tg(args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert_eq!(stderr(&o), want, "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
    let o = tg("sever 5000");
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: Domain name not resolvable: sever (")
            && err
                .ends_with("; 'sever' is not a command either (did you mean `tcpgoon server`?)\n"),
        "{err}"
    );
    // Far from every command, or an address: no suggestion.
    let o = tg("no-such-host.invalid 80");
    assert!(!stderr(&o).contains("command"), "{}", stderr(&o));
    let o = tg("127.0.0.1 -p 5000");
    assert_eq!(
        stderr(&o),
        "error: unexpected argument '-p' found (see `tcpgoon run --help`)\n"
    );
}

/// The help of one option in a `--help` page: its header line up to the next option's, white
/// space collapsed so that clap's line wrapping does not matter.
fn option_help(page: &str, header: &str) -> String {
    // An option's first line, not a help line (those are indented further).
    let is_header = |l: &str| {
        l.starts_with("  ") && !l.starts_with("          ") && l.trim_start().starts_with('-')
    };
    let mut lines = page
        .lines()
        .skip_while(|l| !(is_header(l) && l.trim_start().starts_with(header)));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {header} in {page}"));
    std::iter::once(first)
        .chain(lines.take_while(|l| !is_header(l)))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `--help` output with white space collapsed.
fn flat_help(args: &str) -> String {
    let o = tg(args);
    assert_eq!(code(&o), 0, "{args}: {}", stderr(&o));
    stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Issue 6, point 17: `--help` alone says what every flag takes (units, the unit of a bare
/// number, ranges, what 0 means), that host and port are required, and the exit codes.
#[test]
fn help_pages_document_units_ranges_and_exit_codes() {
    let page = stdout(&tg("run --help"));
    for (header, texts) in [
        (
            "-c, --connections",
            &[
                "Number of connections you want to open",
                "1 to 100000000",
                "10k, 1.5m",
                "[default: 100]",
            ][..],
        ),
        (
            "-d, --dial-timeout",
            &[
                "Connection dialing timeout, in ms",
                "at least 1ms",
                "bare number is milliseconds",
                "500ms, 2s, 1m30s",
            ],
        ),
        (
            "-i, --interval",
            &[
                "Interval, in seconds, between stats updates",
                "0: a status at the start only",
                "bare number is seconds",
                "500ms, 2s, 1m30s",
            ],
        ),
        (
            "-s, --sleep",
            &[
                "Time you want to sleep between connections, in ms",
                "0: dial as fast as --max-dialing allows",
                "bare number is milliseconds",
                "500ms, 2s, 1m30s",
            ],
        ),
        ("--rate", &["0.001 to 10000000", "instead of --sleep"]),
        (
            "--hold",
            &["bare number is seconds", "500ms, 2s, 1m30s", "[default: 0]"],
        ),
        ("--max-dialing", &["1 to 1000000", "[default: 1024]"]),
        (
            "-y, --assume-yes",
            &["Force execution without asking for confirmation"],
        ),
        (
            "-v, --verbose",
            &["Print debugging information to the standard error"],
        ),
    ] {
        let help = option_help(&page, header);
        for text in texts {
            assert!(
                help.contains(text),
                "run --help: {header} lacks {text:?}: {help}"
            );
        }
    }
    let run = flat_help("run --help");
    for text in [
        "Usage: tcpgoon run [OPTIONS] <HOST> <PORT>",
        "Arguments: [HOST]",
        "Exit codes: 0 every connection established or closed by the far side; 1 the run did not complete (interrupted, or connections this machine could not open) or could not start",
        "2 some connection ended in error; 3 a threshold failed (--threshold, or the implicit one of --hold, --expect* or --probe-at-end)",
    ] {
        assert!(run.contains(text), "run --help lacks {text:?}: {run}");
    }
    // HOST PORT may be left out only for the other ways of naming targets, which the usage
    // lists.
    assert!(
        run.contains("(--target HOST:PORT... | --targets-file FILE | --eureka URL --app NAME)"),
        "{run}"
    );
    let demo = flat_help("demo --help");
    for text in [
        "-y is implied",
        "no connection or time limit",
        "a free loopback port",
        "Exit codes: 0 every connection established",
    ] {
        assert!(demo.contains(text), "demo --help lacks {text:?}: {demo}");
    }
    let page = stdout(&tg("server --help"));
    for (header, texts) in [
        (
            "-p, --port",
            &["[default: 54321]", "0 picks a free one"][..],
        ),
        ("-m, --maxconnections", &["[default: 10]", "0 = unlimited"]),
        (
            "-d, --duration",
            &["[default: 30]", "0 = unlimited", "bare number is seconds"],
        ),
    ] {
        let help = option_help(&page, header);
        for text in texts {
            assert!(
                help.contains(text),
                "server --help: {header} lacks {text:?}: {help}"
            );
        }
    }
    let server = flat_help("server --help");
    assert!(server.contains("10 connections or 30 seconds"), "{server}");
    // Required host and port keep the Go tool's message for missing ones.
    for (args, got) in [
        ("run", "got 0 arguments"),
        ("run h", "got 1 argument "),
        ("h", "got 1 argument "),
        ("run -y", "got 0 arguments"),
        ("run a b c", "got 3 arguments"),
    ] {
        let o = tg(args);
        assert_eq!(code(&o), 1, "{args}");
        let err = stderr(&o);
        assert!(
            err.starts_with(
                "error: Number of required parameters doesn't match: expected <host> <port>, "
            ) && err.contains(got)
                && err.ends_with("(see `tcpgoon run --help`)\n"),
            "{args}: {err}"
        );
    }
}

/// `completions bash` is a script bash accepts, completing the run flags; every other shell
/// prints one too; an unknown one is one line and exit code 1.
#[test]
fn completions_for_each_shell_and_an_unknown_one() {
    let out = tg("completions bash");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let script = stdout(&out);
    assert!(script.contains("--connections") && script.contains("--no-progress"));
    let path = std::env::temp_dir().join(format!("tcpgoon-completion-{}.bash", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash");
    let _ = std::fs::remove_file(&path);
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "powershell", "elvish", "ZSH"] {
        let out = tg(&format!("completions {shell}"));
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("connections"), "{shell}");
    }
    let out = tg("completions tcsh");
    assert_eq!(code(&out), 1);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: unknown shell 'tcsh' for completions; use one of bash, zsh, fish, powershell, elvish (e.g. `tcpgoon completions bash`)\n"
    );
    let out = tg("completions");
    assert_eq!(code(&out), 1);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("<SHELL>"), "{}", stderr(&out));
}

/// `man` prints a roff page with every command and the run flags.
#[test]
fn man_prints_a_roff_page_with_the_run_flags() {
    let out = tg("man");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains("\n.TH tcpgoon 1 "), "{}", &page[..80]);
    for flag in [
        "connections",
        "rate",
        "hold",
        "no\\-progress",
        "threshold",
        "probe\\-at\\-end",
    ] {
        assert!(page.contains(&format!("\\-\\-{flag}")), "--{flag}");
    }
    assert!(page.contains(".SH \"TCPGOON RUN\""));
}
