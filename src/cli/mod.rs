//! The command line, in two stages: raw flags as clap parses them, then a validated
//! configuration that the rest of the program trusts.
//!
//! Both forms users have scripts for work: `tcpgoon run [flags] <host> <port>` and the older
//! `tcpgoon [flags] <host> <port>` (a first argument that is not a subcommand means `run`; when it
//! is a typo away from a command, parsing reports that too, and the caller, which may resolve
//! names, suggests the command if the word is no host). Flags keep the Go tool's names, defaults,
//! units and help texts; durations also take units and counts `k` and `m`. Every value is checked
//! here, so a bad one is one clear line and exit code 1, never a panic or a wrong number later.

mod checks;
mod docs;
mod flags;
mod legacy;
mod validate;

use std::ffi::OsString;

use clap::Parser;

use crate::config::{
    DiscoverConfig, MergeConfig, ReportConfig, ReportFormat, RunConfig, ServerConfig,
};
pub use docs::{completion_script, man_page, Shell};
use flags::{Cli, RawCommand};
pub use legacy::CommandTypo;
use legacy::{command_typo, normalize, COMMANDS};
pub use validate::targets_file;

use validate::{arity, validate_find_limit, validate_flags, validate_run, validate_server};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open connections to a target.
    Run {
        /// What to run.
        config: RunConfig,
        /// The host may be a mistyped command (older form): say so if it does not resolve.
        typo: Option<CommandTypo>,
    },
    /// Search for the target's limit (`RunConfig::limit` is set).
    FindLimit(RunConfig),
    /// Run the built-in server.
    Server(ServerConfig),
    /// Run against a built-in server started for the purpose; host and port are placeholders.
    Demo(RunConfig),
    /// Render a saved JSON report.
    Report(ReportConfig),
    /// List the targets a run would test.
    Discover(DiscoverConfig),
    /// Add up the reports of a plan's shards.
    Merge(MergeConfig),
    /// Print version details.
    Version,
    /// Print a shell completion script ([`completion_script`]).
    Completions(Shell),
    /// Print the manual page ([`man_page`]).
    Man,
}

/// How parsing ended when it did not produce a command.
#[derive(Debug)]
pub enum CliExit {
    /// Help or version was asked for: print this to stdout, exit 0.
    Info(String),
    /// A usage error: print this to stderr, exit 1.
    Usage(String),
    /// A usage error in the older form whose first word may be a mistyped command (`tcpgoon
    /// sever -p 5000`): print [`CommandTypo::message`] if the word does not resolve as a host,
    /// `usage` otherwise; exit 1.
    MaybeTypo {
        /// The usage error, as for [`CliExit::Usage`].
        usage: String,
        /// The word and the command it is close to.
        typo: CommandTypo,
    },
}

/// Parses and validates the command line (`args[0]` is the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, CliExit> {
    let args: Vec<OsString> = args.into_iter().collect();
    let typo = command_typo(&args);
    match (parse_normalized(normalize(args)), typo) {
        (Ok(Command::Run { config, .. }), typo @ Some(_)) => Ok(Command::Run { config, typo }),
        (Err(CliExit::Usage(usage)), Some(typo)) => Err(CliExit::MaybeTypo { usage, typo }),
        (parsed, _) => parsed,
    }
}

fn report_format(format: flags::ReportFormat) -> ReportFormat {
    match format {
        flags::ReportFormat::Text => ReportFormat::Text,
        flags::ReportFormat::Json => ReportFormat::Json,
        flags::ReportFormat::Junit => ReportFormat::Junit,
        flags::ReportFormat::Html => ReportFormat::Html,
    }
}

/// True when what clap misses is a flag (`--app` needs `--eureka`), not a positional.
fn missing_flag(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue};
    match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::Strings(names)) => names.iter().any(|n| n.starts_with('-')),
        _ => false,
    }
}

/// [`parse`] once the older form has been turned into `run`.
fn parse_normalized(argv: Vec<OsString>) -> Result<Command, CliExit> {
    let command = subcommand(&argv);
    let help = help_page(command);
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        use clap::error::ErrorKind;
        match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                CliExit::Info(e.render().to_string())
            }
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                CliExit::Usage(e.render().to_string())
            }
            // Only `run` has required arguments, host then port: what is missing tells what was
            // given, for the Go tool's message.
            ErrorKind::MissingRequiredArgument if command == Some("run") && !missing_flag(&e) => {
                use clap::error::{ContextKind, ContextValue};
                let missing = match e.get(ContextKind::InvalidArg) {
                    Some(ContextValue::Strings(names)) => names.len(),
                    _ => 2,
                };
                CliExit::Usage(format!(
                    "error: {}\n",
                    arity(2usize.saturating_sub(missing))
                ))
            }
            _ => CliExit::Usage(one_line(&e.render().to_string(), &help)),
        }
    })?;
    let usage = |msg: String| CliExit::Usage(format!("error: {msg}\n"));
    match cli.command {
        RawCommand::Run(raw) => validate_run(*raw)
            .map(|config| Command::Run { config, typo: None })
            .map_err(usage),
        RawCommand::FindLimit(raw) => validate_find_limit(*raw)
            .map(Command::FindLimit)
            .map_err(usage),
        RawCommand::Demo(raw) => validate_flags("127.0.0.1".to_string(), 1, raw.flags, false)
            .map(|c| {
                Command::Demo(RunConfig {
                    assume_yes: true,
                    ..c
                })
            })
            .map_err(usage),
        RawCommand::Server(raw) => validate_server(raw).map(Command::Server).map_err(usage),
        RawCommand::Discover(raw) => validate::target_flags(&raw.targets)
            .and_then(|targets| {
                if targets.any() {
                    Ok(Command::Discover(DiscoverConfig {
                        targets,
                        json: raw.format == flags::Format::Json,
                    }))
                } else {
                    Err("discover needs targets: --eureka URL --app NAME, --target HOST:PORT or --targets-file FILE (see `tcpgoon discover --help`)".to_string())
                }
            })
            .map_err(usage),
        RawCommand::Report(raw) => Ok(Command::Report(ReportConfig {
            file: raw.file,
            format: report_format(raw.render.format),
            output: raw.render.output,
        })),
        RawCommand::Merge(raw) => Ok(Command::Merge(MergeConfig {
            files: raw.files,
            format: report_format(raw.render.format),
            output: raw.render.output,
        })),
        RawCommand::Version => Ok(Command::Version),
        RawCommand::Completions(raw) => docs::shell(&raw.shell)
            .map(Command::Completions)
            .map_err(usage),
        RawCommand::Man => Ok(Command::Man),
    }
}

/// Condenses a clap error (message, possible values, tip, usage, "for more information") into
/// one line that names the problem and the help page to read (`help`, from [`help_page`]).
fn one_line(rendered: &str, help: &str) -> String {
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    format!("{} (see `{help}`)\n", parts.join(" "))
}

/// The subcommand of the (normalized) `argv`: `run` for the older form, `None` when parsing
/// stays at the top level (`tcpgoon help bogus`).
fn subcommand(argv: &[OsString]) -> Option<&'static str> {
    let first = argv.get(1)?.to_str()?;
    COMMANDS.into_iter().find(|&command| command == first)
}

/// The help page for a usage error: the subcommand's (`tcpgoon run --help`), or the top level's.
fn help_page(command: Option<&str>) -> String {
    match command {
        Some(command) => format!("tcpgoon {command} --help"),
        None => "tcpgoon --help".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::flags::ABOUT;
    use super::legacy::edit_distance;
    use super::validate::MAX_RATE;
    use super::*;
    use crate::config::{CloseMode, Pacing, PortPolicy};
    use std::time::Duration;

    fn run(args: &str) -> Result<RunConfig, String> {
        let argv = std::iter::once("tcpgoon")
            .chain(args.split_whitespace())
            .map(OsString::from);
        match parse(argv) {
            Ok(Command::Run { config, .. }) => Ok(config),
            Ok(other) => panic!("not a run: {other:?}"),
            Err(CliExit::Usage(m) | CliExit::Info(m) | CliExit::MaybeTypo { usage: m, .. }) => {
                Err(m)
            }
        }
    }

    fn search(args: &str) -> crate::config::LimitConfig {
        let argv = std::iter::once("tcpgoon")
            .chain(["find-limit"])
            .chain(args.split_whitespace())
            .chain(["127.0.0.1", "1"])
            .map(OsString::from);
        match parse(argv) {
            Ok(Command::FindLimit(config)) => config.limit.expect("a search"),
            other => panic!("not a search: {other:?}"),
        }
    }

    #[test]
    fn the_signals_a_search_watches() {
        use crate::config::StopOn;
        let all_but_slow = StopOn::ALL.without(StopOn::SLOW);
        assert_eq!(search("").stop_on, all_but_slow);
        assert_eq!(search("--stop-on all,closed").stop_on, all_but_slow);
        assert_eq!(
            search("--stop-on closed --connect-p99 5ms").stop_on,
            StopOn::CLOSED.with(StopOn::SLOW)
        );
        assert_eq!(search("--connect-p99 5ms").stop_on, StopOn::ALL);
        assert_eq!(
            search("--stop-on timeout,retransmit").stop_on,
            StopOn::TIMEOUT.with(StopOn::RETRANSMIT)
        );
        assert_eq!(search("--sustained 7").sustained, 7);
    }

    #[test]
    fn defaults_are_the_go_tools() {
        let c = run("run localhost 8080").unwrap();
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port, 8080);
        assert_eq!(c.load.connections, 100);
        assert_eq!(c.load.dial_timeout, Duration::from_millis(5000));
        assert_eq!(c.load.interval, Some(Duration::from_secs(1)));
        assert_eq!(c.load.pacing, Pacing::Interval(Duration::from_millis(10)));
        assert_eq!(c.load.hold, Duration::ZERO);
        assert!(!c.assume_yes && !c.verbose);
        assert_eq!(c.port_policy, PortPolicy::Auto);
        assert_eq!(c.load.close, CloseMode::Fin);
        assert_eq!(c.load.max_dialing, 1024);
    }

    #[test]
    fn both_forms_and_all_aliases() {
        let a = run("run -y -c 10 -s 0 -d 200 -i 2 -v 127.0.0.1 80").unwrap();
        let b = run("-y -c 10 -s 0 -t 200 -i 2 --debug 127.0.0.1 80").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.load.connections, 10);
        assert_eq!(a.load.dial_timeout, Duration::from_millis(200));
        assert!(a.verbose && a.assume_yes);
        let c =
            run("127.0.0.1 80 --connections 10k --sleep 2s --hold 1m --interval 500ms").unwrap();
        assert_eq!(c.load.connections, 10_000);
        assert_eq!(c.load.pacing, Pacing::Interval(Duration::from_secs(2)));
        assert_eq!(c.load.hold, Duration::from_secs(60));
        assert_eq!(c.load.interval, Some(Duration::from_millis(500)));
        assert_eq!(run("::1 80").unwrap().host, "::1");
        assert_eq!(
            run("--rate 5k ::1 80").unwrap().load.pacing,
            Pacing::Rate(5000.0)
        );
        assert_eq!(
            run("--rate 2.5 ::1 80").unwrap().load.pacing,
            Pacing::Rate(2.5)
        );
        // The documented range, both ends included.
        assert_eq!(
            run("--rate 0.001 ::1 80").unwrap().load.pacing,
            Pacing::Rate(0.001)
        );
        assert_eq!(
            run("--rate 1e-3 ::1 80").unwrap().load.pacing,
            Pacing::Rate(0.001)
        );
        assert_eq!(
            run("--rate 10m ::1 80").unwrap().load.pacing,
            Pacing::Rate(MAX_RATE as f64)
        );
        assert_eq!(run("-i 0 ::1 80").unwrap().load.interval, None);
    }

    /// Each bad input and a piece of the message it must produce.
    #[test]
    fn validation_table() {
        let cases: &[(&str, &str)] = &[
            (
                "run localhost",
                "Number of required parameters doesn't match",
            ),
            ("run", "Number of required parameters doesn't match"),
            ("run a b c", "got 3 arguments"),
            ("run localhost http", "Port argument is not a valid integer"),
            (
                "run localhost 0",
                "Port argument must be between 1 and 65535 (got 0)",
            ),
            (
                "run localhost 70000",
                "Port argument must be between 1 and 65535 (got 70000)",
            ),
            (
                "run -c -5 localhost 80",
                "--connections must be between 1 and 100000000 (got -5)",
            ),
            (
                "run -c 0 localhost 80",
                "--connections must be between 1 and 100000000 (got 0)",
            ),
            (
                "run -c 1e12 localhost 80",
                "--connections is not a valid count",
            ),
            (
                "run -c 999999999999 localhost 80",
                "--connections must be between 1 and",
            ),
            (
                "run -s -1 localhost 80",
                "--sleep must not be negative (got -1; give 0 or more",
            ),
            (
                "run --hold -1s localhost 80",
                "--hold must not be negative (got -1s; give 0 or more",
            ),
            (
                "run -d -5 localhost 80",
                "--dial-timeout must not be negative (got -5; give at least 1ms",
            ),
            // Not numbers: "not valid", never "negative"; the range each flag really takes.
            (
                "run -s -abc localhost 80",
                "--sleep is not a valid duration (got \"-abc\"; give 0 or more: a bare number is milliseconds, or use a unit: 500ms, 2s, 1m30s)",
            ),
            (
                "run --hold=-x localhost 80",
                "--hold is not a valid duration (got \"-x\"; give 0 or more: a bare number is seconds",
            ),
            (
                "run -i -x localhost 80",
                "--interval is not a valid duration (got \"-x\"; give 0 (a status at the start only) or at least 1ms",
            ),
            (
                "run -c -abc localhost 80",
                "--connections is not a valid count (got \"-abc\"; give a whole number from 1 to 100000000, optionally with k or m: 500, 10k, 1.5m)",
            ),
            // Empty values: quoted, with the flag's real minimum.
            (
                "run --connections= localhost 80",
                "--connections is not a valid count (got \"\"; give a whole number from 1 to 100000000",
            ),
            (
                "run --max-dialing= localhost 80",
                "--max-dialing is not a valid count (got \"\"; give a whole number from 1 to 1000000",
            ),
            (
                "run --dial-timeout= localhost 80",
                "--dial-timeout is not a valid duration (got \"\"; give at least 1ms",
            ),
            (
                "run --sleep= localhost 80",
                "--sleep is not a valid duration (got \"\"; give 0 or more",
            ),
            ("run -s 10x localhost 80", "--sleep is not a valid duration"),
            ("run -i -1 localhost 80", "--interval must not be negative"),
            (
                "run -d 0 localhost 80",
                "--dial-timeout must be at least 1ms",
            ),
            (
                "run --hold soon localhost 80",
                "--hold is not a valid duration",
            ),
            ("run --rate 0 localhost 80", "--rate must be a number"),
            ("run --rate -3 localhost 80", "--rate must be a number"),
            (
                "run --rate 0.0001 localhost 80",
                "--rate must be a number of connections per second from 0.001 to 10000000 (got \"0.0001\")",
            ),
            ("run --rate 1e-300 localhost 80", "from 0.001 to"),
            ("run --rate 5e-324 localhost 80", "from 0.001 to"),
            ("run --rate 0.00099 localhost 80", "from 0.001 to"),
            ("run --rate 10000000.5 localhost 80", "from 0.001 to"),
            ("run --rate 10.001m localhost 80", "from 0.001 to"),
            ("run --rate nan localhost 80", "from 0.001 to"),
            ("run --rate inf localhost 80", "from 0.001 to"),
            ("run --rate 10 -s 5 localhost 80", "cannot be used with"),
            (
                "run --max-dialing 0 localhost 80",
                "--max-dialing must be between 1",
            ),
            (
                "run --source 10.0.0.0/8 localhost 80",
                "--source expands to more than",
            ),
            (
                "run --source bogus localhost 80",
                "--source \"bogus\" is not an address",
            ),
            ("run --close maybe localhost 80", "invalid value 'maybe'"),
            ("run --bogus localhost 80", "unexpected argument"),
        ];
        for (args, want) in cases {
            let err = run(args).expect_err(args);
            assert!(err.contains(want), "{args}: {err:?} lacks {want:?}");
        }
        // "must not be negative" only for a negative number; anything else with a minus sign is
        // not a number at all, and the message quotes it.
        for flag in [
            "--connections",
            "--sleep",
            "--dial-timeout",
            "--interval",
            "--hold",
            "--max-dialing",
        ] {
            for value in ["-abc", "-x", "-k", "--5", "-", ""] {
                let args = format!("run {flag}={value} localhost 80");
                let err = run(&args).expect_err(&args);
                assert!(
                    err.starts_with(&format!("error: {flag} is not a valid "))
                        && err.contains(&format!("(got {value:?}; give "))
                        && !err.contains("negative"),
                    "{args}: {err}"
                );
            }
        }
    }

    /// A threshold on a metric the run does not measure is refused, naming the flag it needs
    /// (it used to fail every run: `✗ alive>=100%: 0 of 3`, exit 3).
    #[test]
    fn thresholds_on_metrics_not_measured_are_refused() {
        for (args, want) in [
            (
                "run --threshold alive>=100% ::1 80",
                "error: --threshold alive>=100% needs --probe-at-end (alive counts the connections that answered the end-of-hold probe)\n",
            ),
            (
                "run --threshold verified>=90% ::1 80",
                "error: --threshold verified>=90% needs --expect TEXT or --expect-data (verified counts the connections that received the expected data)\n",
            ),
            (
                "run --threshold first_byte_p99<1s --probe-at-end ::1 80",
                "error: --threshold first_byte_p99<1s needs --expect TEXT or --expect-data (first_byte_* times the first byte the check waits for)\n",
            ),
        ] {
            assert_eq!(run(args).expect_err(args), want, "{args}");
        }
        for ok in [
            "run --threshold alive>=100% --probe-at-end ::1 80",
            "run --threshold verified>=90% --expect-data ::1 80",
            "run --threshold first_byte_p99<1s --expect x ::1 80",
            "run --threshold lifetime_min>=1s --threshold retransmitted==0 ::1 80",
        ] {
            run(ok).expect(ok);
        }
    }

    /// Messages quote what the user typed as typed: no doubled backslashes (`{:?}` turned
    /// `\x` into `"\\x"`), a lone trailing backslash named as such, and operators that look
    /// like comparisons (`=>`, `=<`, `=`, `!=`) named as unknown operators rather than read as
    /// part of the metric (`unknown metric "held="`).
    #[test]
    fn messages_show_the_text_as_typed() {
        for (args, want) in [
            (
                "run --threshold held=>100% ::1 80",
                "error: --threshold \"held=>100%\": unknown operator \"=>\" (use <, <=, >, >= or ==; did you mean >=?)\n",
            ),
            (
                "run --threshold held=<5 ::1 80",
                "error: --threshold \"held=<5\": unknown operator \"=<\" (use <, <=, >, >= or ==; did you mean <=?)\n",
            ),
            (
                "run --threshold held=5 ::1 80",
                "error: --threshold \"held=5\": unknown operator \"=\" (use <, <=, >, >= or ==; did you mean ==?)\n",
            ),
            (
                "run --threshold held!=5 ::1 80",
                "error: --threshold \"held!=5\": unknown operator \"!=\" (use <, <=, >, >= or ==)\n",
            ),
            (
                "run --threshold held<>5 ::1 80",
                "error: --threshold \"held<>5\": unknown operator \"<>\" (use <, <=, >, >= or ==)\n",
            ),
            (
                "run --send abc\\ ::1 80",
                "error: --send ends with a lone backslash (write \\\\ for a backslash)\n",
            ),
            (
                "run --send \\x ::1 80",
                "error: --send has \\x without two hexadecimal digits after it (got \"\\x\"; e.g. \\x00, \\xff)\n",
            ),
            (
                "run --expect a\\qb ::1 80",
                "error: --expect has an unknown escape \"\\q\" (use \\r \\n \\t \\\\ \\@ or \\xHH)\n",
            ),
            (
                "run -s 1\\s ::1 80",
                "error: --sleep is not a valid duration (got \"1\\s\"; give 0 or more: a bare number is milliseconds, or use a unit: 500ms, 2s, 1m30s)\n",
            ),
            (
                "run -c 1\\0 ::1 80",
                "error: --connections is not a valid count (got \"1\\0\"; give a whole number from 1 to 100000000, optionally with k or m: 500, 10k, 1.5m)\n",
            ),
            (
                "run --rate 1\\0 ::1 80",
                "error: --rate must be a number of connections per second from 0.001 to 10000000 (got \"1\\0\")\n",
            ),
            (
                "run ::1 8\\0",
                "error: Port argument is not a valid integer (got \"8\\0\"; give a number from 1 to 65535)\n",
            ),
            (
                "run --threshold held\\>=1 ::1 80",
                "error: --threshold \"held\\>=1\": unknown metric \"held\\\"; metrics: ",
            ),
            (
                "run --threshold held>=5\\% ::1 80",
                "error: --threshold \"held>=5\\%\": a percentage must be 0% to 100% (got \"5\\%\")\n",
            ),
            (
                "run --keepalive 1\\ ::1 80",
                "error: --keepalive idle must be a whole number of seconds from 1 to 32767 (got \"1\\\"; ",
            ),
            (
                "run --source 127.0.0.\\1 ::1 80",
                "error: --source \"127.0.0.\\1\" is not an address",
            ),
        ] {
            let err = run(args).expect_err(args);
            assert!(err.starts_with(want), "{args}:\n{err}\nwant\n{want}");
        }
    }

    /// `@FILE` reads a file for `--send` only; `\@` (or `\x40`) is a leading `@` for any text.
    /// There was no documented way to send a text starting with `@`: `\@` was refused and a
    /// bare `@` sent itself.
    #[test]
    fn a_leading_at_sign() {
        let c = run("run --send @/tmp/x ::1 80").unwrap();
        assert_eq!(
            (c.load.checks.send, c.send_file),
            (None, Some(std::path::PathBuf::from("/tmp/x")))
        );
        let c = run("run --send \\@/tmp/x ::1 80").unwrap();
        assert_eq!(c.load.checks.send.as_deref(), Some(&b"@/tmp/x"[..]));
        assert_eq!(c.send_file, None);
        let c = run("run --send \\x40x ::1 80").unwrap();
        assert_eq!(c.load.checks.send.as_deref(), Some(&b"@x"[..]));
        // --expect takes no file: @ is a byte like any other.
        let c = run("run --expect @OK ::1 80").unwrap();
        assert_eq!(
            c.load.checks.expect,
            Some(crate::config::Expect::Bytes(b"@OK".to_vec()))
        );
        assert_eq!(
            run("run --send @ ::1 80").unwrap_err(),
            "error: --send @ names no file (@FILE sends a file; write \\@ or \\x40 for a text that starts with @)\n"
        );
    }

    #[test]
    fn server_flags() {
        let argv = [
            "tcpgoon",
            "server",
            "-p",
            "0",
            "-m",
            "5",
            "-d",
            "2",
            "--bind",
            "127.0.0.1",
            "-q",
        ];
        let Ok(Command::Server(s)) = parse(argv.map(OsString::from)) else {
            panic!()
        };
        assert_eq!(s.port, 0);
        assert_eq!(s.max_connections, 5);
        assert_eq!(s.duration, Some(Duration::from_secs(2)));
        assert_eq!(s.bind, Some("127.0.0.1".parse().unwrap()));
        let Ok(Command::Server(d)) = parse(["tcpgoon", "server"].map(OsString::from)) else {
            panic!()
        };
        assert_eq!(
            (d.port, d.max_connections, d.duration, d.bind),
            (54321, 10, Some(Duration::from_secs(30)), None)
        );
        assert_eq!(
            (&d.banner, d.echo, d.close_after, d.reset),
            (&None, false, None, false)
        );
        let argv = [
            "tcpgoon",
            "server",
            "--banner",
            "OK\\r\\n",
            "--echo",
            "--close-after",
            "1m30s",
            "--reset",
        ];
        let Ok(Command::Server(b)) = parse(argv.map(OsString::from)) else {
            panic!()
        };
        assert_eq!(
            (b.banner.as_deref(), b.echo, b.close_after, b.reset),
            (
                Some(&b"OK\r\n"[..]),
                true,
                Some(Duration::from_secs(90)),
                true
            )
        );
        for (args, want) in [
            (
                vec!["server", "-p", "70000"],
                "70000 is not a valid TCP port number for the server (-p/--port takes 0 to 65535; 0 picks a free port)",
            ),
            (
                vec!["server", "--port="],
                "\"\" is not a valid TCP port number for the server (-p/--port takes 0 to 65535",
            ),
            (
                vec!["server", "-p", "http"],
                "\"http\" is not a valid TCP port number for the server",
            ),
            (
                vec!["server", "-m", "-k"],
                "--maxconnections is not a valid count (got \"-k\"; give a whole number from 0 (unlimited) to 100000000",
            ),
            (
                vec!["server", "--maxconnections="],
                "--maxconnections is not a valid count (got \"\"; give a whole number from 0 (unlimited)",
            ),
            (
                vec!["server", "--duration="],
                "--duration is not a valid duration (got \"\"; give 0 (unlimited) or more: a bare number is seconds",
            ),
            (
                vec!["server", "-m", "-1"],
                "--maxconnections must be between 0",
            ),
            (
                vec!["server", "-d", "-1"],
                "--duration must not be negative",
            ),
            (
                vec!["server", "--bind", "nowhere"],
                "--bind needs an IP address",
            ),
        ] {
            let argv = std::iter::once("tcpgoon").chain(args).map(OsString::from);
            match parse(argv) {
                Err(CliExit::Usage(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn clap_errors_are_one_line() {
        for (args, want) in [
            ("tcpgoon run --bogus a 1", "error: unexpected argument '--bogus' found (see `tcpgoon run --help`)\n"),
            (
                "tcpgoon run --close maybe a 1",
                "error: invalid value 'maybe' for '--close <HOW>' [possible values: fin, rst] (see `tcpgoon run --help`)\n",
            ),
            ("tcpgoon server -x", "error: unexpected argument '-x' found (see `tcpgoon server --help`)\n"),
            (
                "tcpgoon run -y 127.0.0.1 P --foo",
                "error: unexpected argument '--foo' found (see `tcpgoon run --help`)\n",
            ),
            (
                "tcpgoon run --rate 100 -s 5 h 1",
                "error: the argument '--rate <PER_SECOND>' cannot be used with '--sleep <MS>' (see `tcpgoon run --help`)\n",
            ),
            ("tcpgoon server --rate 5", "error: unexpected argument '--rate' found (see `tcpgoon server --help`)\n"),
        ] {
            match parse(args.split(' ').map(OsString::from)) {
                Err(CliExit::Usage(m)) => assert_eq!(m, want),
                other => panic!("{args}: {other:?}"),
            }
        }
    }

    /// The hint names the help page of the subcommand that was parsed (the older form is `run`),
    /// never a flag picked from clap's usage line; the top level's only for top-level errors.
    #[test]
    fn usage_hints_name_the_subcommand_help() {
        for (args, help) in [
            ("tcpgoon run -y 127.0.0.1 P --foo", "tcpgoon run --help"),
            ("tcpgoon run --rate 100 -s 5 h 1", "tcpgoon run --help"),
            ("tcpgoon run -c 5 --close foo h 1", "tcpgoon run --help"),
            ("tcpgoon server --rate 5", "tcpgoon server --help"),
            ("tcpgoon server -q -m 5 --rate 5", "tcpgoon server --help"),
            ("tcpgoon demo -y --close foo", "tcpgoon demo --help"),
            ("tcpgoon demo --rate 1 -s 1", "tcpgoon demo --help"),
            ("tcpgoon -y 127.0.0.1 80 --foo", "tcpgoon run --help"),
            (
                "tcpgoon -y --rate 1 -s 1 127.0.0.1 80",
                "tcpgoon run --help",
            ),
            ("tcpgoon version --foo", "tcpgoon version --help"),
            ("tcpgoon help bogus", "tcpgoon --help"),
        ] {
            match parse(args.split(' ').map(OsString::from)) {
                Err(CliExit::Usage(m)) => {
                    assert!(m.ends_with(&format!(" (see `{help}`)\n")), "{args}: {m}");
                    assert_eq!(m.matches("--help").count(), 1, "{args}: {m}");
                }
                other => panic!("{args}: {other:?}"),
            }
        }
    }

    #[test]
    fn help_and_version_are_info() {
        for a in [
            ["tcpgoon", "--help"],
            ["tcpgoon", "--version"],
            ["tcpgoon", "run --help"],
        ] {
            let argv: Vec<OsString> = a
                .iter()
                .flat_map(|s| s.split(' '))
                .map(OsString::from)
                .collect();
            assert!(matches!(parse(argv), Err(CliExit::Info(_))), "{a:?}");
        }
        let Err(CliExit::Info(help)) = parse(["tcpgoon", "--help"].map(OsString::from)) else {
            panic!()
        };
        assert!(help.contains(ABOUT));
        assert!(matches!(
            parse(["tcpgoon", "version"].map(OsString::from)),
            Ok(Command::Version)
        ));
    }

    /// The command a first word may be a typo of, as `parse` reports it with a run or a usage
    /// error (`None` when it reports none).
    fn typo_of(args: &str) -> Option<&'static str> {
        let argv = std::iter::once("tcpgoon")
            .chain(args.split_whitespace())
            .map(OsString::from);
        match parse(argv) {
            Ok(Command::Run { typo, .. }) => typo.map(|t| t.command),
            Err(CliExit::MaybeTypo { typo, .. }) => Some(typo.command),
            _ => None,
        }
    }

    #[test]
    fn a_first_word_near_a_command_is_reported() {
        for (args, want) in [
            ("sever -p 5000", Some("server")),
            ("sever 5000", Some("server")),
            ("sevrer 5000", Some("server")),
            ("serv 5000", Some("server")),
            ("sever", Some("server")),
            ("dmeo", Some("demo")),
            ("Demo -c 5", Some("demo")),
            ("demo1 80", Some("demo")),
            ("rnu localhost 80", Some("run")),
            ("verison", Some("version")),
            // Far from every command, an address, a flag first, or a real command: nothing.
            ("srv 5000", None),
            ("localhost 80", None),
            ("127.0.0.1 -p 5000", None),
            ("::1 80", None),
            ("[::1] 80", None),
            ("-y sever 80", None),
            ("server -x", None),
            ("run sever 80", None),
        ] {
            assert_eq!(typo_of(args), want, "{args}");
        }
        let argv = ["tcpgoon", "sever", "-p", "5000"].map(OsString::from);
        let Err(CliExit::MaybeTypo { usage, typo }) = parse(argv) else {
            panic!()
        };
        assert_eq!(
            usage,
            "error: unexpected argument '-p' found (see `tcpgoon run --help`)\n"
        );
        assert_eq!(
            typo.message(),
            "'sever' is not a command (did you mean `tcpgoon server`?); commands: run, find-limit, server, demo, discover, report, merge, version, completions, man; see `tcpgoon --help`"
        );
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        for (a, b, d) in [
            ("server", "server", 0),
            ("sever", "server", 1),
            ("sevrer", "server", 1),
            ("dmeo", "demo", 1),
            ("", "run", 3),
            ("run", "", 3),
            ("ca", "abc", 3),
            ("serv", "server", 2),
            ("µs", "us", 1),
        ] {
            assert_eq!(edit_distance(a, b), d, "{a} {b}");
            assert_eq!(edit_distance(b, a), d, "{b} {a}");
        }
    }

    /// Host and port show as required; missing ones keep the Go tool's message, counting what
    /// was given.
    #[test]
    fn host_and_port_are_required() {
        let argv = ["tcpgoon", "run", "--help"].map(OsString::from);
        let Err(CliExit::Info(help)) = parse(argv) else {
            panic!()
        };
        assert!(
            help.contains("Usage: tcpgoon run [OPTIONS] <HOST> <PORT>\n"),
            "{help}"
        );
        assert!(
            help.contains("\n  [HOST]\n") && help.contains("\n  [PORT]\n"),
            "{help}"
        );
        assert!(help.contains("--target HOST:PORT..."), "{help}");
        for (args, given) in [
            ("run", 0),
            ("run -y -c 5", 0),
            ("run h", 1),
            ("run -y h", 1),
            ("-y h", 1),
            ("run h 1 x", 3),
            ("-y h 1 x y", 4),
        ] {
            assert_eq!(
                run(args).unwrap_err(),
                format!("error: {}\n", arity(given)),
                "{args}"
            );
        }
        assert_eq!(
            arity(1),
            "Number of required parameters doesn't match: expected <host> <port>, got 1 argument (see `tcpgoon run --help`)"
        );
    }
}
