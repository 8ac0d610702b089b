//! The command line, in two stages: raw flags as clap parses them, then a validated
//! configuration that the rest of the program trusts.
//!
//! Both forms users have scripts for work: `tcpgoon run [flags] <host> <port>` and the older
//! `tcpgoon [flags] <host> <port>` (a first argument that is not a subcommand means `run`; when it
//! is a typo away from a command, parsing reports that too, and the caller, which may resolve
//! names, suggests the command if the word is no host). Flags keep the Go tool's names, defaults,
//! units and help texts; durations also take units and counts `k` and `m`. Every value is checked
//! here, so a bad one is one clear line and exit code 1, never a panic or a wrong number later.

use std::ffi::OsString;
use std::net::IpAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::CloseMode;
use crate::pacing::Pacing;
use crate::server::ServerConfig;
use crate::source::{parse_sources, PortPolicy, SourceList};
use crate::units::{parse_count, parse_duration, Unit, UnitError};

/// The most connections one run accepts. Far beyond what one machine's kernel holds; it only
/// catches typos.
pub const MAX_CONNECTIONS: u64 = 100_000_000;
/// The lowest `--rate`: one connection every 1000 s.
pub const MIN_RATE: f64 = 0.001;
/// The highest `--rate`.
pub const MAX_RATE: u64 = 10_000_000;

/// The subcommands, as typed.
const COMMANDS: [&str; 4] = ["run", "server", "demo", "version"];

const ABOUT: &str = "tcpgoon tests concurrent connections towards a server listening on a TCP port";

const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TCPGOON_GIT_HASH"),
    ")"
);

/// How durations and counts are written, for the help of `run` and `demo`.
macro_rules! units_help {
    () => {
        "Durations: a bare number is in the flag's unit (milliseconds for -s and -d, seconds for \
         -i and --hold); a number with a unit means what it says: 500ms, 2s, 1m30s (ns, us, ms, s, \
         m, h; at most 30 days). Counts take k and m: 10k, 1.5m.\n\n\
         Nothing is sent on the connections: tcpgoon opens them, holds them, watches which the far \
         side closes, and prints a status line every --interval and a report at the end (the \
         counts, connect times min/avg/max/dev and percentiles, the errors by reason).\n\n"
    };
}

/// The exit codes, for the help of `run`, `demo` and the top level.
macro_rules! exit_codes_help {
    () => {
        "Exit codes: 0 every connection established or closed by the far side; 1 the run did not \
         complete (interrupted, or connections this machine could not open) or could not start \
         (bad arguments, unresolvable name, prompt declined, pre-flight check), or the report \
         could not be written to stdout; 2 some connection ended in error."
    };
}

#[derive(Debug, Parser)]
#[command(
    name = "tcpgoon",
    version = VERSION,
    about = ABOUT,
    long_about = None,
    arg_required_else_help = true,
    after_help = concat!(
        "The older form `tcpgoon [flags] <host> <port>` means `tcpgoon run [flags] <host> <port>`.\n",
        exit_codes_help!()
    )
)]
struct Cli {
    #[command(subcommand)]
    command: RawCommand,
}

#[derive(Debug, Subcommand)]
enum RawCommand {
    /// Run tcpgoon test
    #[command(after_help = concat!(
        units_help!(),
        exit_codes_help!(),
        "\n\nExample: tcpgoon run -y -c 10k --rate 500 --hold 60s my-lb.example.com 443"
    ))]
    Run(RawRun),
    /// Simple TCP server (the built-in target): accepts and holds connections
    #[command(
        after_help = "By default it listens on every interface, port 54321, and stops after \
        10 connections or 30 seconds, whichever comes first (as the Go tool's server); -m 0 and \
        -d 0 mean unlimited: it then runs until Ctrl-C. It holds each connection until the client \
        closes it and never sends anything.\n\n\
        Exit codes: 0 it stopped at a limit or on Ctrl-C; 1 it could not start (bad arguments, \
        the port is taken)."
    )]
    Server(RawServer),
    /// Start the built-in server on loopback and run the test against it (takes run's flags)
    #[command(
        after_help = concat!(
            "-y is implied: demo never asks for confirmation. Its server is `tcpgoon server` on a \
             free loopback port (127.0.0.1, printed in the first line) with no connection or time \
             limit (-m 0 -d 0); it stops when the run ends.\n\n",
            units_help!(),
            exit_codes_help!()
        ),
        mut_arg("assume_yes", |a| a
            .help("Implied: demo never asks for confirmation")
            .long_help(None::<&str>))
    )]
    Demo(RawDemo),
    /// Print the git commit and the build time
    Version,
}

/// Who picks source ports (`--source-ports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SourcePorts {
    /// tcpgoon picks free ports itself: fast up to the last port of the range
    Auto,
    /// the kernel picks at connect(): one port may serve several destinations
    Kernel,
}

/// How to close at the end (`--close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Close {
    /// normal close, as the Go tool (leaves TIME_WAIT on this side)
    Fin,
    /// reset (SO_LINGER 0): no TIME_WAIT, ports are free again at once
    Rst,
}

#[derive(Debug, Args)]
struct RawRun {
    /// The target's host name or IP address (IPv6 with or without brackets), resolved once
    /// before the run
    host: String,
    /// The target's TCP port: 1 to 65535
    port: String,
    /// Anything more: an error, reported with the Go tool's message
    #[arg(hide = true)]
    extra: Vec<String>,
    #[command(flatten)]
    flags: RunFlags,
}

#[derive(Debug, Args)]
struct RawDemo {
    #[command(flatten)]
    flags: RunFlags,
}

/// The flags of `run`, shared with `demo`. Each help starts with the Go tool's sentence, on a
/// line of its own in `--help`.
#[derive(Debug, Args)]
struct RunFlags {
    /// Force execution without asking for confirmation
    ///
    /// Without it, tcpgoon shows the target and the number of connections and waits for y or
    /// yes on standard input; no, an empty line or the end of input abort with exit code 1.
    #[arg(short = 'y', long = "assume-yes")]
    assume_yes: bool,
    /// Number of connections you want to open: 1 to 100000000, with k and m (10k, 1.5m)
    ///
    /// Each connection is dialed once and never reopened; one the far side closes counts as
    /// Closed.
    #[arg(
        short = 'c',
        long,
        default_value = "100",
        value_name = "COUNT",
        allow_hyphen_values = true
    )]
    connections: String,
    /// Connection dialing timeout, in ms: at least 1ms
    ///
    /// A bare number is milliseconds; a number with a unit means what it says: 500ms, 2s,
    /// 1m30s. A dial that takes longer ends in Error (dial timeout).
    #[arg(
        short = 'd',
        long = "dial-timeout",
        short_alias = 't',
        default_value = "5000",
        value_name = "MS",
        allow_hyphen_values = true
    )]
    dial_timeout: String,
    /// Interval, in seconds, between stats updates (0: a status at the start only)
    ///
    /// A bare number is seconds; a number with a unit means what it says: 500ms, 2s, 1m30s.
    /// Other than 0, at least 1ms.
    #[arg(
        short = 'i',
        long,
        default_value = "1",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    interval: String,
    /// Time you want to sleep between connections, in ms (0: dial as fast as --max-dialing allows)
    ///
    /// A bare number is milliseconds; a number with a unit means what it says: 500ms, 2s,
    /// 1m30s. Connection i is due at i × sleep after the start, a schedule that does not drift.
    /// Not with --rate.
    #[arg(
        short = 's',
        long,
        default_value = "10",
        value_name = "MS",
        allow_hyphen_values = true
    )]
    sleep: String,
    /// Print debugging information to the standard error
    ///
    /// A line per connection state change, with times and the system's error reasons.
    #[arg(short = 'v', long, alias = "debug")]
    verbose: bool,
    /// Connections per second instead of --sleep: 0.001 to 10000000, with decimals, k and m (0.5,
    /// 2.5k)
    ///
    /// Connection i is due at i / rate after the start, a schedule that does not drift.
    #[arg(
        long,
        value_name = "PER_SECOND",
        conflicts_with = "sleep",
        allow_hyphen_values = true
    )]
    rate: Option<String>,
    /// Keep the established connections open this long after every dial has settled (0: close
    /// them at once)
    ///
    /// A bare number is seconds; a number with a unit means what it says: 500ms, 2s, 1m30s.
    /// Closures by the far side show in the status lines; the hold ends early when nothing is
    /// left open.
    #[arg(
        long,
        default_value = "0",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    hold: String,
    /// Source addresses to spread connections over: a list, range or CIDR (127.0.0.2-127.0.0.9)
    ///
    /// Used round-robin, up to 65536 addresses, each an address of this machine (checked
    /// before dialing). Without it, routing picks the source address.
    #[arg(long, value_name = "LIST")]
    source: Option<String>,
    /// Who picks source ports
    #[arg(long, value_enum, default_value = "auto", value_name = "WHO")]
    source_ports: SourcePorts,
    /// How connections still open at the end are closed
    #[arg(long, value_enum, default_value = "fin", value_name = "HOW")]
    close: Close,
    /// Most connections dialing at once, so that -s 0 does not turn into a SYN flood: 1 to
    /// 1000000
    #[arg(
        long,
        default_value = "1024",
        value_name = "COUNT",
        allow_hyphen_values = true
    )]
    max_dialing: String,
}

#[derive(Debug, Args)]
struct RawServer {
    /// TCP listening port, 0 to 65535; 0 picks a free one and prints it
    #[arg(
        short = 'p',
        long,
        default_value = "54321",
        value_name = "PORT",
        allow_hyphen_values = true
    )]
    port: String,
    /// How many total connections we will accept (0 = unlimited); counts take k and m (10k)
    #[arg(
        short = 'm',
        long = "maxconnections",
        default_value = "10",
        value_name = "COUNT",
        allow_hyphen_values = true
    )]
    max_connections: String,
    /// Running time before dropping, in seconds (0 = unlimited); a bare number is seconds, or
    /// give a unit: 500ms, 2s, 1m30s
    #[arg(
        short = 'd',
        long,
        default_value = "30",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    duration: String,
    /// Address to listen on (default: all interfaces)
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Do not print a line per accepted connection
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// A validated `run` command.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// The host as typed.
    pub host: String,
    /// The target port.
    pub port: u16,
    /// Connections to open.
    pub connections: u64,
    /// Pacing of the dials.
    pub pacing: Pacing,
    /// Dial timeout.
    pub dial_timeout: Duration,
    /// Status interval; `None` for a status at the start only (`-i 0`).
    pub interval: Option<Duration>,
    /// Hold after the last dial.
    pub hold: Duration,
    /// Skip the prompt.
    pub assume_yes: bool,
    /// Debugging lines on stderr.
    pub verbose: bool,
    /// Source addresses (empty: routing decides).
    pub sources: SourceList,
    /// Source port policy.
    pub port_policy: PortPolicy,
    /// Close mode at the end.
    pub close: CloseMode,
    /// Most connections dialing at once.
    pub max_dialing: usize,
    /// The host may be a mistyped command: say so if it does not resolve.
    pub command_typo: Option<CommandTypo>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open connections to a target.
    Run(RunConfig),
    /// Run the built-in server.
    Server(ServerConfig),
    /// Run against a built-in server started for the purpose; host and port are placeholders.
    Demo(RunConfig),
    /// Print version details.
    Version,
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

/// The first word of the older form when it is within a typo of a command's name and is not
/// an IP address: `sever` in `tcpgoon sever -p 5000`. Parsing does no I/O, so whether the word is
/// a host after all (it resolves) is for the caller to find out before suggesting the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTypo {
    /// The word as typed.
    pub word: String,
    /// The closest command.
    pub command: &'static str,
}

impl CommandTypo {
    /// The usage error for a word that is no host: it is not a command either.
    pub fn message(&self) -> String {
        format!(
            "'{}' is not a command (did you mean `tcpgoon {}`?); commands: {}; see `tcpgoon --help`",
            self.word,
            self.command,
            COMMANDS.join(", ")
        )
    }

    /// What to add to "Domain name not resolvable" when the host was this word.
    pub fn not_a_command_either(&self) -> String {
        format!(
            "'{}' is not a command either (did you mean `tcpgoon {}`?)",
            self.word, self.command
        )
    }
}

/// Parses and validates the command line (`args[0]` is the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, CliExit> {
    let args: Vec<OsString> = args.into_iter().collect();
    let typo = command_typo(&args);
    match (parse_normalized(normalize(args)), typo) {
        (Ok(Command::Run(config)), typo @ Some(_)) => Ok(Command::Run(RunConfig {
            command_typo: typo,
            ..config
        })),
        (Err(CliExit::Usage(usage)), Some(typo)) => Err(CliExit::MaybeTypo { usage, typo }),
        (parsed, _) => parsed,
    }
}

/// The closest command to the first word of `args` if that word puts the line in the older form
/// (it is no command nor flag), is not an IP address, and is at most a typo away from the
/// command: one edit for `run` and `demo`, two for the longer names.
fn command_typo(args: &[OsString]) -> Option<CommandTypo> {
    let word = args.get(1)?.to_str()?;
    let bare = word.trim_start_matches('[').trim_end_matches(']');
    if word.starts_with('-') || COMMANDS.contains(&word) || bare.parse::<IpAddr>().is_ok() {
        return None;
    }
    let lower = word.to_lowercase();
    COMMANDS
        .iter()
        .map(|&command| (edit_distance(&lower, command), command))
        .filter(|&(distance, command)| distance <= if command.len() <= 4 { 1 } else { 2 })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, command)| CommandTypo {
            word: word.to_string(),
            command,
        })
}

/// The optimal string alignment distance between `a` and `b`: the fewest insertions,
/// deletions, substitutions and swaps of adjacent characters that turn one into the other.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: i - 2, i - 1 and i.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let substitute = last[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            row[j] = substitute.min(last[j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
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
            ErrorKind::MissingRequiredArgument if command == Some("run") => {
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
        RawCommand::Run(raw) => validate_run(raw).map(Command::Run).map_err(usage),
        RawCommand::Demo(raw) => validate_flags("127.0.0.1".to_string(), 1, raw.flags)
            .map(|c| {
                Command::Demo(RunConfig {
                    assume_yes: true,
                    ..c
                })
            })
            .map_err(usage),
        RawCommand::Server(raw) => validate_server(raw).map(Command::Server).map_err(usage),
        RawCommand::Version => Ok(Command::Version),
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

/// The older form: a first argument that is not a subcommand (or a help/version flag) means `run`.
fn normalize(mut args: Vec<OsString>) -> Vec<OsString> {
    const TOP_LEVEL: [&str; 5] = ["help", "-h", "--help", "-V", "--version"];
    let legacy = args.get(1).is_some_and(|first| {
        let first = first.to_string_lossy();
        !COMMANDS.contains(&first.as_ref()) && !TOP_LEVEL.contains(&first.as_ref())
    });
    if legacy {
        args.insert(1, OsString::from("run"));
    }
    args
}

/// What `--sleep`, `--hold` and `server --duration` accept, for messages.
const ZERO_OR_MORE: &str = "0 or more";
/// What `--dial-timeout` accepts.
const AT_LEAST_1MS: &str = "at least 1ms";
/// What `--interval` accepts.
const INTERVAL_RANGE: &str = "0 (a status at the start only) or at least 1ms";
/// What `server --duration` accepts.
const UNLIMITED_OR_MORE: &str = "0 (unlimited) or more";
/// The highest `--max-dialing`.
const MAX_DIALING: u64 = 1_000_000;

/// Parses a duration flag. `accepts` says what it takes ("0 or more", "at least 1ms"): every
/// message states it, and what a bare number means.
fn duration(flag: &str, text: &str, unit: Unit, accepts: &str) -> Result<Duration, String> {
    parse_duration(text, unit).map_err(|e| match e {
        UnitError::Negative(t) => format!("{flag} must not be negative (got {t}; give {accepts})"),
        UnitError::Empty | UnitError::Invalid { .. } => {
            let bare = match unit {
                Unit::Millis => "milliseconds",
                Unit::Seconds => "seconds",
            };
            format!(
                "{flag} is not a valid duration (got {:?}; give {accepts}: a bare number is {bare}, or use a unit: 500ms, 2s, 1m30s)",
                text.trim()
            )
        }
        too_large @ UnitError::TooLarge { .. } => format!("{flag} {too_large}"),
    })
}

/// Parses a count flag that takes `min..=max`; `min_note` explains the minimum (" (unlimited)").
fn count(flag: &str, text: &str, (min, min_note): (u64, &str), max: u64) -> Result<u64, String> {
    let t = text.trim();
    let out_of_range = || format!("{flag} must be between {min}{min_note} and {max} (got {t})");
    match parse_count(t, max) {
        Ok(v) if v >= min => Ok(v),
        Ok(_) | Err(UnitError::TooLarge { .. } | UnitError::Negative(_)) => Err(out_of_range()),
        Err(UnitError::Empty | UnitError::Invalid { .. }) => Err(format!(
            "{flag} is not a valid count (got {t:?}; give a whole number from {min}{min_note} to {max}, optionally with k or m: 500, 10k, 1.5m)"
        )),
    }
}

/// Parses a TCP port of a target (1-65535) with the Go tool's message for non-numbers.
fn target_port(text: &str) -> Result<u16, String> {
    let t = text.trim();
    let n: i64 = t.parse().map_err(|_| {
        format!("Port argument is not a valid integer (got {t:?}; give a number from 1 to 65535)")
    })?;
    u16::try_from(n)
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("Port argument must be between 1 and 65535 (got {n})"))
}

fn validate_run(raw: RawRun) -> Result<RunConfig, String> {
    if !raw.extra.is_empty() {
        return Err(arity(2 + raw.extra.len()));
    }
    let port = target_port(&raw.port)?;
    validate_flags(raw.host, port, raw.flags)
}

/// The Go tool's message for a `run` without exactly a host and a port (`given` positionals).
fn arity(given: usize) -> String {
    format!(
        "Number of required parameters doesn't match: expected <host> <port>, got {given} argument{} (see `tcpgoon run --help`)",
        if given == 1 { "" } else { "s" }
    )
}

fn validate_flags(host: String, port: u16, raw: RunFlags) -> Result<RunConfig, String> {
    let connections = count("--connections", &raw.connections, (1, ""), MAX_CONNECTIONS)?;
    let dial_timeout = duration(
        "--dial-timeout",
        &raw.dial_timeout,
        Unit::Millis,
        AT_LEAST_1MS,
    )?;
    if dial_timeout < Duration::from_millis(1) {
        return Err(format!(
            "--dial-timeout must be at least 1ms (got {})",
            raw.dial_timeout.trim()
        ));
    }
    let interval = duration("--interval", &raw.interval, Unit::Seconds, INTERVAL_RANGE)?;
    if !interval.is_zero() && interval < Duration::from_millis(1) {
        return Err(format!(
            "--interval must be {INTERVAL_RANGE} (got {})",
            raw.interval.trim()
        ));
    }
    let pacing = match &raw.rate {
        Some(text) => {
            let t = text.trim().trim_end_matches("/s");
            let rate = t
                .parse::<f64>()
                .ok()
                .or_else(|| parse_count(t, MAX_RATE).ok().map(|v| v as f64))
                .filter(|r| (MIN_RATE..=MAX_RATE as f64).contains(r))
                .ok_or_else(|| {
                    format!("--rate must be a number of connections per second from {MIN_RATE} to {MAX_RATE} (got {text:?})")
                })?;
            Pacing::Rate(rate)
        }
        None => Pacing::Interval(duration("--sleep", &raw.sleep, Unit::Millis, ZERO_OR_MORE)?),
    };
    let hold = duration("--hold", &raw.hold, Unit::Seconds, ZERO_OR_MORE)?;
    let max_dialing = count("--max-dialing", &raw.max_dialing, (1, ""), MAX_DIALING)? as usize;
    let sources = match &raw.source {
        Some(text) => parse_sources(text).map_err(|e| format!("--source {e}"))?,
        None => SourceList::default(),
    };
    Ok(RunConfig {
        host,
        port,
        connections,
        pacing,
        dial_timeout,
        interval: (!interval.is_zero()).then_some(interval),
        hold,
        assume_yes: raw.assume_yes,
        verbose: raw.verbose,
        sources,
        port_policy: match raw.source_ports {
            SourcePorts::Auto => PortPolicy::Pick,
            SourcePorts::Kernel => PortPolicy::Kernel,
        },
        close: match raw.close {
            Close::Fin => CloseMode::Fin,
            Close::Rst => CloseMode::Rst,
        },
        max_dialing,
        command_typo: None,
    })
}

fn validate_server(raw: RawServer) -> Result<ServerConfig, String> {
    let text = raw.port.trim();
    let number = text.parse::<i64>();
    let port = number
        .as_ref()
        .ok()
        .and_then(|&p| u16::try_from(p).ok())
        .ok_or_else(|| {
            // The Go tool's message; a number as typed, anything else quoted (`""`).
            let shown = match number {
                Ok(n) => n.to_string(),
                Err(_) => format!("{text:?}"),
            };
            format!("{shown} is not a valid TCP port number for the server (-p/--port takes 0 to 65535; 0 picks a free port)")
        })?;
    let max_connections = count(
        "--maxconnections",
        &raw.max_connections,
        (0, " (unlimited)"),
        MAX_CONNECTIONS,
    )?;
    let duration = duration(
        "--duration",
        &raw.duration,
        Unit::Seconds,
        UNLIMITED_OR_MORE,
    )?;
    let bind = match &raw.bind {
        Some(text) => {
            let t = text.trim().trim_start_matches('[').trim_end_matches(']');
            Some(t.parse::<IpAddr>().map_err(|_| {
                format!("--bind needs an IP address such as 127.0.0.1 or ::1 (got {text:?})")
            })?)
        }
        None => None,
    };
    Ok(ServerConfig {
        bind,
        port,
        max_connections,
        duration: (!duration.is_zero()).then_some(duration),
        quiet: raw.quiet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &str) -> Result<RunConfig, String> {
        let argv = std::iter::once("tcpgoon")
            .chain(args.split_whitespace())
            .map(OsString::from);
        match parse(argv) {
            Ok(Command::Run(c)) => Ok(c),
            Ok(other) => panic!("not a run: {other:?}"),
            Err(CliExit::Usage(m) | CliExit::Info(m) | CliExit::MaybeTypo { usage: m, .. }) => {
                Err(m)
            }
        }
    }

    #[test]
    fn defaults_are_the_go_tools() {
        let c = run("run localhost 8080").unwrap();
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port, 8080);
        assert_eq!(c.connections, 100);
        assert_eq!(c.dial_timeout, Duration::from_millis(5000));
        assert_eq!(c.interval, Some(Duration::from_secs(1)));
        assert_eq!(c.pacing, Pacing::Interval(Duration::from_millis(10)));
        assert_eq!(c.hold, Duration::ZERO);
        assert!(!c.assume_yes && !c.verbose);
        assert_eq!(c.port_policy, PortPolicy::Pick);
        assert_eq!(c.close, CloseMode::Fin);
        assert_eq!(c.max_dialing, 1024);
    }

    #[test]
    fn both_forms_and_all_aliases() {
        let a = run("run -y -c 10 -s 0 -d 200 -i 2 -v 127.0.0.1 80").unwrap();
        let b = run("-y -c 10 -s 0 -t 200 -i 2 --debug 127.0.0.1 80").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.connections, 10);
        assert_eq!(a.dial_timeout, Duration::from_millis(200));
        assert!(a.verbose && a.assume_yes);
        let c =
            run("127.0.0.1 80 --connections 10k --sleep 2s --hold 1m --interval 500ms").unwrap();
        assert_eq!(c.connections, 10_000);
        assert_eq!(c.pacing, Pacing::Interval(Duration::from_secs(2)));
        assert_eq!(c.hold, Duration::from_secs(60));
        assert_eq!(c.interval, Some(Duration::from_millis(500)));
        assert_eq!(run("::1 80").unwrap().host, "::1");
        assert_eq!(
            run("--rate 5k ::1 80").unwrap().pacing,
            Pacing::Rate(5000.0)
        );
        assert_eq!(run("--rate 2.5 ::1 80").unwrap().pacing, Pacing::Rate(2.5));
        // The documented range, both ends included.
        assert_eq!(
            run("--rate 0.001 ::1 80").unwrap().pacing,
            Pacing::Rate(0.001)
        );
        assert_eq!(
            run("--rate 1e-3 ::1 80").unwrap().pacing,
            Pacing::Rate(0.001)
        );
        assert_eq!(
            run("--rate 10m ::1 80").unwrap().pacing,
            Pacing::Rate(MAX_RATE as f64)
        );
        assert_eq!(run("-i 0 ::1 80").unwrap().interval, None);
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
            Ok(Command::Run(c)) => c.command_typo.map(|t| t.command),
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
            "'sever' is not a command (did you mean `tcpgoon server`?); commands: run, server, demo, version; see `tcpgoon --help`"
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
            help.contains("\n  <HOST>\n") && help.contains("\n  <PORT>\n"),
            "{help}"
        );
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
