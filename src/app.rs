//! The commands, end to end: what `main` runs once the command line is valid.
//!
//! `run` resolves the target once, checks that the run fits (file descriptors, local ports,
//! source addresses), asks for confirmation, runs the engine with the text reporter, prints the
//! final report and turns the result into the exit code. `server` and `version` are the Go tool's
//! other two commands. Every failure ends here as one line on stderr and a documented exit code.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::os::unix::process::CommandExt;

use crate::cli::{self, CliExit, Command, CommandTypo, RunConfig};
use crate::engine::{Engine, Plan};
use crate::preflight;
use crate::prompt::{self, Answer};
use crate::report::{self, ReportOut, TextReporter};
use crate::results::exit_code;
use crate::server;
use crate::signals::Signals;
use crate::target::Target;

/// Exit code: the run did not complete or could not start.
pub const EXIT_INCOMPLETE: i32 = 1;

/// Runs the program with `args` (including the program name) and returns the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> i32 {
    match cli::parse(args) {
        Err(CliExit::Info(text)) => {
            let mut out = ReportOut::default();
            out.write(&text);
            written(&mut out, 0)
        }
        Err(CliExit::Usage(text)) => {
            complain(&text);
            EXIT_INCOMPLETE
        }
        Err(CliExit::MaybeTypo { usage, typo }) => {
            complain(&typo_or_usage(usage, &typo, |word| {
                Target::resolve(word, 1).is_ok()
            }));
            EXIT_INCOMPLETE
        }
        Ok(Command::Version) => {
            let mut out = ReportOut::default();
            out.write(concat!(
                "Git Commit Hash: ",
                env!("TCPGOON_GIT_HASH"),
                "\nUTC Build Time: ",
                env!("TCPGOON_BUILD_TIME"),
                "\n"
            ));
            written(&mut out, 0)
        }
        Ok(Command::Server(config)) => {
            let signals = Signals::install().ok();
            let mut out = io::stdout();
            match server::run(&config, signals, &mut out) {
                Ok(_) => 0,
                Err(e) => fail(&server_failure(&config, &e)),
            }
        }
        Ok(Command::Run(config)) => run(config),
        Ok(Command::Demo(config)) => demo(config),
    }
}

/// Why the server could not start, naming where it tried to listen and what to do.
fn server_failure(config: &server::ServerConfig, e: &io::Error) -> String {
    let at = match config.bind {
        Some(ip) => format!("{}", std::net::SocketAddr::new(ip, config.port)),
        None => format!("port {} (all interfaces)", config.port),
    };
    let fix = match e.kind() {
        io::ErrorKind::AddrInUse => "; pick another port with -p, or -p 0 for a free one",
        io::ErrorKind::AddrNotAvailable => {
            "; --bind takes an address of this machine (see `ip addr`), or leave it out for all interfaces"
        }
        io::ErrorKind::PermissionDenied => "; ports below 1024 need root (or CAP_NET_BIND_SERVICE)",
        _ => "",
    };
    format!("the server cannot listen on {at}: {e}{fix}")
}

/// If stdout lost output (a full disk, an I/O error; not a closed pipe), says so on stderr and
/// returns exit code 1: the report is gone. Otherwise returns `code`.
fn written(out: &mut ReportOut, code: i32) -> i32 {
    match out.take_lost() {
        Some(e) => fail(&format!(
            "the report could not be written to standard output: {e}"
        )),
        None => code,
    }
}

/// Starts `tcpgoon server` (this same binary) on a free loopback port as a child process, so
/// that it has file descriptors of its own, and runs the test against it. The server dies with
/// this process, however this process ends.
fn demo(config: RunConfig) -> i32 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return fail(&format!(
                "cannot find this program to start its server: {e}"
            ))
        }
    };
    // Its own process group: a Ctrl-C at the terminal interrupts the run, not the target.
    let mut command = std::process::Command::new(exe);
    let parent = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed: prctl, getppid and _exit are plain system calls, and nothing allocates.
    unsafe {
        command.pre_exec(move || {
            // Killed when this process ends, whatever ends it (SIGKILL and SIGHUP included).
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // This process may have died before the prctl: then nobody would send the signal.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let child = command
        .process_group(0)
        .args([
            "server",
            "--bind",
            "127.0.0.1",
            "-p",
            "0",
            "-m",
            "0",
            "-d",
            "0",
            "-q",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return fail(&format!("cannot start the built-in server: {e}")),
    };
    // Read the banner for the port; keep the pipe open until the end so the server's later
    // lines (a few, with -q) never meet a closed pipe.
    let mut banner = String::new();
    let mut server_out = child.stdout.take().map(io::BufReader::new);
    if let Some(out) = server_out.as_mut() {
        let _ = io::BufRead::read_line(out, &mut banner);
    }
    let port = server::banner_port(&banner);
    let code = match port {
        Some(port) => {
            let mut out = ReportOut::default();
            out.write(&format!(
                "demo: the built-in server (tcpgoon server) listens on 127.0.0.1:{port}\n"
            ));
            if out.lost().is_some() {
                written(&mut out, EXIT_INCOMPLETE)
            } else {
                run(RunConfig { port, ..config })
            }
        }
        None => fail("the built-in server did not start"),
    };
    let _ = child.kill();
    let _ = child.wait();
    drop(server_out);
    code
}

/// The line for a usage error whose first word may be a mistyped command: the suggestion if the
/// word does not `resolve` as a host, the usage error as it is if it does (a host called `demo1`).
fn typo_or_usage(usage: String, typo: &CommandTypo, resolves: impl Fn(&str) -> bool) -> String {
    if resolves(&typo.word) {
        usage
    } else {
        format!("error: {}\n", typo.message())
    }
}

/// Writes to stderr, ignoring a closed stderr (nothing is left to tell).
fn complain(text: &str) {
    let _ = io::stderr().write_all(text.as_bytes());
}

fn fail(message: &str) -> i32 {
    complain(&format!("error: {message}\n"));
    EXIT_INCOMPLETE
}

fn run(config: RunConfig) -> i32 {
    let mut reporter = TextReporter::new(config.verbose);
    let target = match Target::resolve(&config.host, config.port) {
        Ok(t) => t,
        Err(e) => {
            return fail(&match &config.command_typo {
                Some(typo) => format!("{e}; {}", typo.not_a_command_either()),
                None => e.to_string(),
            })
        }
    };
    let addrs: Vec<String> = target.addrs.iter().map(ToString::to_string).collect();
    reporter.debug(&format!(
        "target: {} resolves to {}; dialing {}",
        target.host,
        addrs.join(", "),
        target.primary()
    ));
    let targets = vec![target.primary()];
    let fd_limit = match preflight::check_fds(config.connections) {
        Ok(limit) => limit,
        Err(e) => return fail(&e.to_string()),
    };
    let local = match preflight::plan_local(
        config.connections,
        &targets,
        &config.sources,
        config.port_policy,
    ) {
        Ok((local, warnings)) => {
            for w in warnings {
                complain(&format!("warning: {}\n", w.0));
            }
            local
        }
        Err(e) => return fail(&e.to_string()),
    };
    reporter.debug(&format!(
        "pre-flight: open-files limit {fd_limit}, {} source address(es), source ports picked by {}{}",
        local.sources().len().max(1),
        local.policy(),
        local
            .mechanism()
            .map_or(String::new(), |m| format!(", {m}"))
    ));
    if !config.assume_yes {
        let stdin = io::stdin();
        let mut stdout = io::stdout();
        match prompt::confirm(
            &target.host,
            config.port,
            config.connections,
            &mut stdin.lock(),
            &mut stdout,
        ) {
            Ok(Answer::Yes) => {}
            Ok(Answer::No) => {
                reporter.out.write(&format!("\n{}\n", prompt::ABORTED));
                return written(&mut reporter.out, EXIT_INCOMPLETE);
            }
            Ok(Answer::NoInput) => {
                if !stdin.is_terminal() {
                    complain("hint: standard input is not a terminal: pass -y/--assume-yes to run without the prompt\n");
                }
                return EXIT_INCOMPLETE;
            }
            Err(e) => {
                return fail(&format!(
                    "{e}; answer y or n, or pass -y/--assume-yes to run without the prompt"
                ))
            }
        }
    }
    let signals = match Signals::install() {
        Ok(s) => Some(s),
        Err(e) => {
            reporter.debug(&format!(
                "signals: {e}; Ctrl-C will end the run without a report"
            ));
            None
        }
    };
    let plan = Plan {
        targets,
        connections: config.connections,
        pacing: config.pacing,
        dial_timeout: config.dial_timeout,
        report_interval: config.interval,
        hold: config.hold,
        max_dialing: config.max_dialing,
        close: config.close,
        local,
    };
    let result = match Engine::new(plan, signals).and_then(|engine| engine.run(&mut reporter)) {
        Ok(r) => r,
        Err(e) => return fail(&format!("the poll loop failed: {e}")),
    };
    let mut out = reporter.out;
    out.write(&format!(
        "{}{}",
        report::final_block(&target.display_name(), config.port, &result),
        report::extended_block(&result)
    ));
    written(&mut out, exit_code(&result.counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_is_suggested_only_when_the_word_is_no_host() {
        let typo = CommandTypo {
            word: "demo1".to_string(),
            command: "demo",
        };
        let usage = "error: unexpected argument '-p' found (see `tcpgoon run --help`)\n";
        assert_eq!(typo_or_usage(usage.to_string(), &typo, |_| true), usage);
        assert_eq!(
            typo_or_usage(usage.to_string(), &typo, |_| false),
            "error: 'demo1' is not a command (did you mean `tcpgoon demo`?); commands: run, server, demo, version; see `tcpgoon --help`\n"
        );
    }
}
