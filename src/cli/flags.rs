//! The command line as clap sees it: raw flags, kept as strings, so that odd values (negative,
//! empty, with units) reach our own messages instead of clap's. The help texts live here: each
//! starts with the Go tool's sentence, then says what the flag takes.

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(super) const ABOUT: &str =
    "tcpgoon tests concurrent connections towards a server listening on a TCP port";

pub(super) const VERSION: &str = concat!(
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
         Without the end-to-end checks, nothing is sent on the connections: tcpgoon opens them, \
         holds them, watches which the far side closes, and prints a status line every --interval and a report at the end (the \
         counts, connect times min/avg/max/dev and percentiles, the errors by reason).\n\n"
    };
}

/// The exit codes, for the help of `run`, `demo` and the top level.
macro_rules! exit_codes_help {
    () => {
        "Exit codes: 0 every connection established or closed by the far side; 1 the run did not \
         complete (interrupted, or connections this machine could not open) or could not start \
         (bad arguments, unresolvable name, prompt declined, pre-flight check), or the report \
         could not be written to stdout; 2 some connection ended in error; 3 a threshold failed \
         (--threshold, or the implicit one of --hold, --expect* or --probe-at-end)."
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
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: RawCommand,
}

#[derive(Debug, Subcommand)]
pub(super) enum RawCommand {
    /// Run tcpgoon test
    #[command(override_usage = "tcpgoon run [OPTIONS] <HOST> <PORT>\n       \
        tcpgoon run [OPTIONS] [<HOST> <PORT>] (--target HOST:PORT... | --targets-file FILE | --eureka URL --app NAME)",
        after_help = concat!(
        units_help!(),
        exit_codes_help!(),
        "\n\nSeveral targets (--target, --targets-file, --all-addresses, --eureka): by default \
         each target gets its own run of -c connections, one after another, with its own report \
         block and verdict, then a summary table (target, held, verified, errors, p99, \
         verdict); the exit code is the worst of them (1 before 2 before 3). With --spread, one \
         run spreads its connections round-robin over all of them and adds a per-target \
         breakdown. `tcpgoon discover` lists the targets without dialing.",
        "\n\nExample: tcpgoon run -y -c 10k --rate 500 --hold 60s my-lb.example.com 443",
        "\nExample: tcpgoon run -y -c 1000 --hold 30s --eureka http://registry:8761/eureka --app orders"
    ))]
    Run(Box<RawRun>),
    /// Simple TCP server (the built-in target): accepts and holds connections
    #[command(
        after_help = "By default it listens on every interface, port 54321, and stops after \
        10 connections or 30 seconds, whichever comes first (as the Go tool's server); -m 0 and \
        -d 0 mean unlimited: it then runs until Ctrl-C. It holds each connection until the client \
        closes it and sends nothing, unless the behaviour flags say otherwise: they make it \
        stand in for a greeting service (--banner), an echo service (--echo), a load balancer's \
        idle timeout (--close-after) or one that resets (--reset).\n\n\
        Exit codes: 0 it stopped at a limit or on Ctrl-C; 1 it could not start (bad arguments, \
        the port is taken)."
    )]
    Server(RawServer),
    /// Find how many connections a target holds, and what fails first
    #[command(
        override_usage = "tcpgoon find-limit [OPTIONS] <HOST> <PORT>",
        after_help = concat!(
            "Opens connections one after another (--rate, or plateaus of --step more held \
             --step-hold each) and holds all of them, watching every failure signal (dial errors \
             and timeouts, SYN retransmits, closures by the target, failed --expect* checks, a slow \
             connect p99), and stops dialing at the first sustained failure: --sustained failures \
             with no connection passing in between. The first line of the report is the answer: \
             \"held N connections with every check passing; first failure at M: what (evidence)\". \
             A connection the target closes right after its handshake while older ones stay open \
             was never held; one waiting in a load balancer's queue is held only as far as the \
             checks can tell: give --expect-data (or --send/--expect) against a load balancer. \
             Without --max the search opens at most what this machine can (open files, ports); \
             reaching it says \"at least N\". Takes run's flags except -c, -s, --hold and \
             --probe-at-end; --threshold takes limit>=N. See docs/capacity-planning.md.\n\n",
            units_help!(),
            "Exit codes: 0 an answer (the limit, or at least N); 1 the search did not complete \
             (interrupted before a sustained failure, a worker lost) or could not start; 3 a \
             threshold failed (limit>=N).",
            "\n\nExample: tcpgoon find-limit -y --rate 200 --expect-data my-lb.example.com 443",
            "\nExample: tcpgoon find-limit -y --step 1000 --step-hold 30s --max 50k my-lb 443"
        ),
        // What the search sets itself: refused with a line, not offered.
        mut_arg("connections", |a| a.hide(true)),
        mut_arg("sleep", |a| a.hide(true)),
        mut_arg("hold", |a| a.hide(true)),
        mut_arg("probe_at_end", |a| a.hide(true))
    )]
    FindLimit(Box<RawFindLimit>),
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
    Demo(Box<RawDemo>),
    /// List the targets a run would test: Eureka instances, addresses of names, lists
    #[command(after_help = "Takes run's target flags (--target, --targets-file, \
        --all-addresses, --eureka with --app and the --eureka-* flags), asks the registry and \
        the resolver once, and prints each target that would be tested, then each instance that \
        would be skipped and why. Nothing is dialed.\n\n\
        Example: tcpgoon discover --eureka http://registry:8761/eureka --app orders\n\n\
        Exit codes: 0 listed; 1 bad arguments, or the registry or a name could not be asked, or \
        nothing is left to test.")]
    Discover(RawDiscover),
    /// Render a saved JSON report again (from --export-json or --format json)
    #[command(
        after_help = "The text is what the run printed at its end, byte for byte; json \
        writes the document again (normalised); junit and html the files --export-junit and \
        --export-html write, byte for byte. Exit codes: 0 rendered; 1 the file cannot be \
        read, is not a tcpgoon JSON report, or the output cannot be written. The run's own exit \
        code is in the document (exit_code)."
    )]
    Report(RawReport),
    /// Add up the JSON reports of the shards of one plan (--shard), exactly
    #[command(
        after_help = "Counts, errors and closures are summed; min, mean, max and deviation \
        come from exact sums, percentiles from the merged HDR histograms; the concurrency over \
        time is the sum of the reports' timelines aligned on wall-clock time, and so is the \
        merged peak. The verdict is judged again on the merged totals, with the reports' \
        thresholds. Reports that do not belong together (other targets, another plan, two of \
        the same shard) are refused with a line that says why; a shard missing is said, and its \
        connections count as not initiated (the merge is incomplete).\n\n\
        Exit codes: the merged run's (0, 2 or 3; 1 when it did not complete), or 1 when a \
        report cannot be read, the reports do not belong together, or the output cannot be \
        written."
    )]
    Merge(RawMerge),
    /// Print the git commit and the build time
    Version,
    /// Print a shell completion script to standard output: bash, zsh, fish, powershell or elvish
    #[command(after_help = "Where to put it: bash \
        /usr/share/bash-completion/completions/tcpgoon (or \
        ~/.local/share/bash-completion/completions/tcpgoon); zsh a directory of $fpath, as \
        /usr/local/share/zsh/site-functions/_tcpgoon; fish ~/.config/fish/completions/tcpgoon.fish; \
        powershell: add `tcpgoon completions powershell | Out-String | Invoke-Expression` to \
        $PROFILE.\n\n\
        Example: tcpgoon completions bash > /usr/share/bash-completion/completions/tcpgoon\n\n\
        Exit codes: 0 printed; 1 unknown shell, or the script could not be written to stdout.")]
    Completions(RawCompletions),
    /// Print the manual page (roff) to standard output
    #[command(
        after_help = "Example: tcpgoon man > /usr/local/share/man/man1/tcpgoon.1, then \
        `man tcpgoon`; or read it at once with `tcpgoon man | man -l -`.\n\n\
        Exit codes: 0 printed; 1 the page could not be written to stdout."
    )]
    Man,
}

#[derive(Debug, Args)]
pub(super) struct RawCompletions {
    /// The shell: bash, zsh, fish, powershell or elvish
    #[arg(
        value_name = "SHELL",
        allow_hyphen_values = true,
        value_parser = super::docs::ShellNames,
        hide_possible_values = true
    )]
    pub(super) shell: String,
}

#[derive(Debug, Args)]
pub(super) struct RawMerge {
    /// The JSON reports of the shards (--export-json FILE, or --format json > FILE)
    #[arg(value_name = "FILE.json", required = true, num_args = 1.., value_hint = clap::ValueHint::FilePath)]
    pub(super) files: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub(super) render: RenderFlags,
}

/// How `report` and `merge` render what they read.
#[derive(Debug, Args)]
pub(super) struct RenderFlags {
    /// What to render
    #[arg(long, value_enum, default_value = "text")]
    pub(super) format: ReportFormat,
    /// Write to FILE (atomically) instead of standard output
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        value_hint = clap::ValueHint::FilePath
    )]
    pub(super) output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct RawReport {
    /// A JSON report written by tcpgoon (--export-json FILE, or --format json > FILE)
    #[arg(value_name = "FILE.json", value_hint = clap::ValueHint::FilePath)]
    pub(super) file: std::path::PathBuf,
    #[command(flatten)]
    pub(super) render: RenderFlags,
}

/// What `tcpgoon report` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ReportFormat {
    /// the text report, as the run printed it
    Text,
    /// the JSON document
    Json,
    /// JUnit XML for CI dashboards, as --export-junit writes it
    Junit,
    /// a self-contained HTML page with charts
    Html,
}

/// Who picks source ports (`--source-ports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// the Go tool's lines and tcpgoon's additions, for people
    Text,
    /// one JSON document at the end (schema: docs/report.schema.json), nothing else on stdout
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum SourcePorts {
    /// tcpgoon picks free ports itself: fast up to the last port of the range
    Auto,
    /// the kernel picks at connect(): one port may serve several destinations
    Kernel,
}

/// How to close at the end (`--close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Close {
    /// normal close, as the Go tool (leaves TIME_WAIT on this side)
    Fin,
    /// reset (SO_LINGER 0): no TIME_WAIT, ports are free again at once
    Rst,
}

#[derive(Debug, Args)]
pub(super) struct RawRun {
    /// The target's host name or IP address (IPv6 with or without brackets), resolved once
    /// before the run; may be left out when --target, --targets-file or --eureka name the
    /// targets
    pub(super) host: Option<String>,
    /// The target's TCP port: 1 to 65535
    pub(super) port: Option<String>,
    /// Anything more: an error, reported with the Go tool's message
    #[arg(hide = true)]
    pub(super) extra: Vec<String>,
    #[command(flatten)]
    pub(super) targets: TargetFlags,
    /// With several targets: one run whose connections go round-robin over all of them (one
    /// service behind several addresses), with a per-target breakdown
    ///
    /// Without it, each target gets its own run of -c connections, one after another, with its
    /// own report block and verdict (every instance must hold N), and a summary table at the
    /// end; the exit code is the worst of them.
    #[arg(long, help_heading = "Targets")]
    pub(super) spread: bool,
    /// Dial only the I-th (from 0) of N disjoint parts of the plan: connection i of -c goes to
    /// shard i mod N, at the time the plan gives it
    ///
    /// Several machines each run one shard; `tcpgoon merge` adds their JSON reports up exactly.
    /// Without it, JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's) and TCPGOON_SHARDS give it.
    #[arg(long, value_name = "I/N", help_heading = "Distributed")]
    pub(super) shard: Option<String>,
    /// Wait until TIME (RFC 3339, or Unix seconds) before the first dial: a start barrier so
    /// that every shard ramps together
    #[arg(long = "start-at", value_name = "TIME", help_heading = "Distributed")]
    pub(super) start_at: Option<String>,
    /// Share the plan between N processes of this machine (or `auto`), each the same
    /// single-threaded engine with its own file-descriptor limit: connection i goes to worker
    /// i mod N at the plan's time; one prompt, one set of status lines, one merged report
    ///
    /// One process holds at most what the open-files limit allows; --workers goes past it.
    /// `auto` starts as many as that limit needs, and one per core when each still gets 5,000
    /// connections. --source addresses are dealt between workers (N dividing their count gives
    /// each its own); workers sharing an address pick from disjoint slices of the port range.
    #[arg(long, value_name = "N|auto", help_heading = "Distributed")]
    pub(super) workers: Option<String>,
    /// A worker process of --workers (set by the parent, never by hand): I of N
    #[arg(long, value_name = "I/N", hide = true)]
    pub(super) worker: Option<String>,
    #[command(flatten)]
    pub(super) flags: RunFlags,
}

/// Where targets come from besides `HOST PORT`: shared by `run` and `discover`.
#[derive(Debug, Args)]
pub(super) struct TargetFlags {
    /// A target HOST:PORT ([v6]:PORT for IPv6), repeatable (after run's HOST PORT, when given)
    #[arg(long = "target", value_name = "HOST:PORT", help_heading = "Targets")]
    pub(super) target: Vec<String>,
    /// Targets read from FILE: one HOST:PORT (or HOST PORT) per line; # starts a comment
    #[arg(long = "targets-file", value_name = "FILE", help_heading = "Targets")]
    pub(super) targets_file: Option<std::path::PathBuf>,
    /// Every address a name resolves to (A and AAAA records) is a target of its own, instead
    /// of the first one (IPv4 first)
    #[arg(long = "all-addresses", help_heading = "Targets")]
    pub(super) all_addresses: bool,
    /// A Eureka registry's base URL (http://host:8761/eureka for Spring Cloud,
    /// .../eureka/v2 for Netflix's server; user:password@ for basic auth, never printed):
    /// every instance of --app is a target
    #[arg(long, value_name = "URL", requires = "app", help_heading = "Eureka")]
    pub(super) eureka: Option<String>,
    /// The Eureka application whose instances are tested (the registry upper-cases it)
    #[arg(
        long,
        value_name = "NAME",
        requires = "eureka",
        help_heading = "Eureka"
    )]
    pub(super) app: Option<String>,
    /// The instance statuses that are tested, comma-separated: UP, DOWN, STARTING,
    /// OUT_OF_SERVICE, UNKNOWN; the others are listed as skipped
    #[arg(
        long = "eureka-status",
        value_name = "LIST",
        default_value = "UP",
        requires = "eureka",
        help_heading = "Eureka"
    )]
    pub(super) eureka_status: String,
    /// Which address of an instance is dialed: its ipAddr or its hostName (resolved once)
    #[arg(
        long = "eureka-address",
        value_enum,
        value_name = "ip|hostname",
        default_value = "ip",
        requires = "eureka",
        help_heading = "Eureka"
    )]
    pub(super) eureka_address: EurekaAddressFlag,
    /// Which port of an instance is dialed: port or securePort (it must be enabled)
    #[arg(
        long = "eureka-port",
        value_enum,
        value_name = "port|secure",
        default_value = "port",
        requires = "eureka",
        help_heading = "Eureka"
    )]
    pub(super) eureka_port: EurekaPortFlag,
    /// The longest the registry may take to answer (the whole request)
    #[arg(
        long = "eureka-timeout",
        value_name = "DURATION",
        default_value = "10s",
        requires = "eureka",
        allow_hyphen_values = true,
        help_heading = "Eureka"
    )]
    pub(super) eureka_timeout: String,
    /// Do not verify the registry's TLS certificate (a test registry with a self-signed one)
    #[arg(long = "eureka-insecure", requires = "eureka", help_heading = "Eureka")]
    pub(super) eureka_insecure: bool,
    /// Trust the certificate authorities in FILE (PEM) instead of the built-in web roots: a
    /// registry behind a private CA, verified
    #[arg(
        long = "eureka-ca",
        value_name = "FILE",
        requires = "eureka",
        conflicts_with = "eureka_insecure",
        help_heading = "Eureka"
    )]
    pub(super) eureka_ca: Option<std::path::PathBuf>,
}

/// `--eureka-address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum EurekaAddressFlag {
    /// the instance's ipAddr
    Ip,
    /// the instance's hostName, resolved once before the run
    Hostname,
}

/// `--eureka-port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum EurekaPortFlag {
    /// the instance's port
    Port,
    /// the instance's securePort
    Secure,
}

#[derive(Debug, Args)]
pub(super) struct RawDiscover {
    #[command(flatten)]
    pub(super) targets: TargetFlags,
    /// What standard output carries: text (a line per target and per skipped instance) or json
    #[arg(long, value_enum, default_value = "text")]
    pub(super) format: Format,
}

#[derive(Debug, Args)]
pub(super) struct RawFindLimit {
    /// The target's host name or IP address, resolved once before the search
    pub(super) host: Option<String>,
    /// The target's TCP port: 1 to 65535
    pub(super) port: Option<String>,
    /// Anything more: an error
    #[arg(hide = true)]
    pub(super) extra: Vec<String>,
    /// The most connections to open: 1 to 100000000, with k and m [default: what this machine
    /// can hold: the open-files limit of the processes that dial, the free local ports]
    #[arg(
        long,
        value_name = "COUNT",
        help_heading = "Search",
        allow_hyphen_values = true
    )]
    pub(super) max: Option<String>,
    /// Plateaus instead of a steady --rate: COUNT more connections at each step, dialed at once
    /// (within --max-dialing), then held --step-hold before the next
    #[arg(
        long,
        value_name = "COUNT",
        requires = "step_hold",
        conflicts_with = "rate",
        help_heading = "Search",
        allow_hyphen_values = true
    )]
    pub(super) step: Option<String>,
    /// How long each plateau of --step is held before the next (a bare number is seconds)
    #[arg(
        long = "step-hold",
        value_name = "DURATION",
        requires = "step",
        help_heading = "Search",
        allow_hyphen_values = true
    )]
    pub(super) step_hold: Option<String>,
    /// The failure signals that count, comma-separated: error (refused, unreachable), timeout
    /// (dial timeouts), retransmit (SYNs sent again), closed (closures by the target), check
    /// (--expect* not verified), slow (--connect-p99); or all [default: all]
    #[arg(long = "stop-on", value_name = "SIGNALS", help_heading = "Search")]
    pub(super) stop_on: Option<String>,
    /// Failures in a row, with no connection passing in between, that end the search: 1 to
    /// 100000 [default: 3]
    #[arg(
        long,
        value_name = "N",
        help_heading = "Search",
        allow_hyphen_values = true
    )]
    pub(super) sustained: Option<String>,
    /// A failure: the p99 of the latest 100 connect times above this (a bare number is ms)
    #[arg(
        long = "connect-p99",
        value_name = "DURATION",
        help_heading = "Search",
        allow_hyphen_values = true
    )]
    pub(super) connect_p99: Option<String>,
    /// How long what was dialed is held once dialing stops, to see what the target does with
    /// it (a bare number is seconds) [default: 2s]
    #[arg(
        long,
        value_name = "DURATION",
        help_heading = "Search",
        allow_hyphen_values = true
    )]
    pub(super) settle: Option<String>,
    /// Run the search in this many processes (or auto): more connections than one process's
    /// open-files limit allows
    #[arg(long, value_name = "N|auto", help_heading = "Distributed")]
    pub(super) workers: Option<String>,
    #[arg(long, value_name = "I/N", hide = true)]
    pub(super) worker: Option<String>,
    #[command(flatten)]
    pub(super) flags: RunFlags,
}

#[derive(Debug, Args)]
pub(super) struct RawDemo {
    #[command(flatten)]
    pub(super) flags: RunFlags,
}

/// The flags of `run`, shared with `demo`. Each help starts with the Go tool's sentence, on a
/// line of its own in `--help`.
#[derive(Debug, Args)]
pub(super) struct RunFlags {
    /// Force execution without asking for confirmation
    ///
    /// Without it, tcpgoon shows the target and the number of connections and waits for y or
    /// yes on standard input; no, an empty line or the end of input abort with exit code 1.
    #[arg(short = 'y', long = "assume-yes")]
    pub(super) assume_yes: bool,
    /// Number of connections you want to open: 1 to 100000000, with k and m (10k, 1.5m)
    /// [default: 100]
    ///
    /// Each connection is dialed once and never reopened; one the far side closes counts as
    /// Closed.
    #[arg(short = 'c', long, value_name = "COUNT", allow_hyphen_values = true)]
    pub(super) connections: Option<String>,
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
    pub(super) dial_timeout: String,
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
    pub(super) interval: String,
    /// Time you want to sleep between connections, in ms (0: dial as fast as --max-dialing
    /// allows) [default: 10]
    ///
    /// A bare number is milliseconds; a number with a unit means what it says: 500ms, 2s,
    /// 1m30s. Connection i is due at i × sleep after the start, a schedule that does not drift.
    /// Not with --rate.
    #[arg(short = 's', long, value_name = "MS", allow_hyphen_values = true)]
    pub(super) sleep: Option<String>,
    /// No live progress display on the standard error
    ///
    /// The display (established of asked, dial rate, ETA, errors; then the hold's time left and
    /// the connections still open) is shown only when stderr is a terminal and TERM is set and
    /// not dumb; it is drawn on stderr, never on stdout, and cleared before the report. NO_COLOR
    /// keeps it without colors.
    #[arg(long)]
    pub(super) no_progress: bool,
    /// Print debugging information to the standard error
    ///
    /// A line per connection state change, with times and the system's error reasons.
    #[arg(short = 'v', long, alias = "debug")]
    pub(super) verbose: bool,
    /// What standard output carries: text (the Go lines, byte-identical) or json (one document
    /// at the end and nothing else; the prompt and, with -v, the status lines go to stderr)
    #[arg(long, value_enum, default_value = "text", help_heading = "Results")]
    pub(super) format: Format,
    /// Also write the JSON report to FILE (atomically: a temporary file, then a rename; - for
    /// stdout), whatever --format says; written on every run that dialed, completed or interrupted
    #[arg(long = "export-json", value_name = "FILE", help_heading = "Results")]
    pub(super) export_json: Option<std::path::PathBuf>,
    /// Also write a JUnit XML report to FILE for CI dashboards (GitLab, Jenkins, GitHub): a test
    /// case per threshold, one for "no connection errors" and one for "run completed"; atomic, and
    /// written on every run that dialed, completed or interrupted; FILE - is stdout (not with --format json or
    /// --export-json -)
    #[arg(long = "export-junit", value_name = "FILE", help_heading = "Results")]
    pub(super) export_junit: Option<std::path::PathBuf>,
    /// Also write the HTML report to FILE: one self-contained page with charts (atomically; -
    /// for stdout); written on every run that dialed, completed or interrupted
    #[arg(long = "export-html", value_name = "FILE", help_heading = "Results")]
    pub(super) export_html: Option<std::path::PathBuf>,
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
    pub(super) rate: Option<String>,
    /// Keep the established connections open this long after every dial has settled (0: close
    /// them at once) [default: 0]
    ///
    /// A bare number is seconds; a number with a unit means what it says: 500ms, 2s, 1m30s.
    /// Closures by the far side show in the status lines; the hold ends early when nothing is
    /// left open.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub(super) hold: Option<String>,
    /// Source addresses to spread connections over: a list, range or CIDR (127.0.0.2-127.0.0.9)
    ///
    /// Used round-robin, up to 65536 addresses, each an address of this machine (checked
    /// before dialing). Without it, routing picks the source address.
    #[arg(long, value_name = "LIST")]
    pub(super) source: Option<String>,
    /// Who picks source ports
    #[arg(long, value_enum, default_value = "auto", value_name = "WHO")]
    pub(super) source_ports: SourcePorts,
    /// How connections still open at the end are closed
    #[arg(long, value_enum, default_value = "fin", value_name = "HOW")]
    pub(super) close: Close,
    /// Most connections dialing at once, so that -s 0 does not turn into a SYN flood: 1 to
    /// 1000000
    #[arg(
        long,
        default_value = "1024",
        value_name = "COUNT",
        allow_hyphen_values = true
    )]
    pub(super) max_dialing: String,
    /// Bytes to send once on each connection right after it is established, for protocols
    /// where the client speaks first
    ///
    /// Escapes: \r \n \t \\ \@ \xHH (e.g. 'GET / HTTP/1.0\r\n\r\n'); @FILE sends a file's
    /// bytes (for --send only): write \@ or \x40 for a text that starts with @. At most 65535
    /// bytes.
    #[arg(long, value_name = "TEXT", help_heading = "End-to-end checks")]
    pub(super) send: Option<String>,
    /// Count a connection as verified only when it receives at least one byte within
    /// --expect-timeout of being established
    ///
    /// A load balancer accepts connections into its kernel queue that no backend ever serves:
    /// only data tells them apart. The report says how many were verified, got nothing in time,
    /// or got other data, with time-to-first-byte statistics; every established connection
    /// must be verified (an implicit `verified>=100%` of the established connections, exit
    /// code 3 otherwise).
    #[arg(long, help_heading = "End-to-end checks")]
    pub(super) expect_data: bool,
    /// Like --expect-data, and the first bytes received must equal TEXT (escapes as --send)
    ///
    /// Other data counts as a mismatch, reported with what came instead. No @FILE here: a
    /// leading @ is expected as it is.
    #[arg(long, value_name = "TEXT", help_heading = "End-to-end checks")]
    pub(super) expect: Option<String>,
    /// How long after establishment the expected data may take (bare number: seconds)
    #[arg(
        long,
        default_value = "5s",
        value_name = "DURATION",
        allow_hyphen_values = true,
        help_heading = "End-to-end checks"
    )]
    pub(super) expect_timeout: String,
    /// TCP keepalive on each connection: IDLE[,INTERVAL[,COUNT]] in whole seconds (defaults:
    /// interval 1s, count 3)
    ///
    /// IDLE and INTERVAL take 1 to 32767 seconds, COUNT 1 to 127 (the kernel's limits).
    /// A silently dropped path (a cloud load balancer's idle timeout) then ends as a timed-out
    /// closure with its lifetime, after IDLE + INTERVAL × COUNT (TCP_USER_TIMEOUT is set to
    /// match). The kernel sends the probes: no CPU in tcpgoon. A keepalive shorter than the load
    /// balancer's idle timeout keeps the path alive and hides the drop.
    #[arg(
        long,
        value_name = "IDLE[,INTERVAL[,COUNT]]",
        help_heading = "End-to-end checks"
    )]
    pub(super) keepalive: Option<String>,
    /// At the end of the hold, each connection still open writes one byte (or the --send
    /// text) and is alive when the peer acknowledges it within --probe-timeout
    ///
    /// Resets and no answers are counted apart; every connection still open when the hold
    /// ends is probed and must be alive (an implicit `alive>=100%` of the connections probed).
    #[arg(long, help_heading = "End-to-end checks")]
    pub(super) probe_at_end: bool,
    /// How long the end-of-hold probe waits for each acknowledgement (bare number: seconds)
    #[arg(
        long,
        default_value = "3s",
        value_name = "DURATION",
        allow_hyphen_values = true,
        help_heading = "End-to-end checks"
    )]
    pub(super) probe_timeout: String,
    /// A condition the run must meet, METRIC OP VALUE (repeatable): held>=100%, verified>=9990,
    /// errors<=1%, closed==0, connect_p99<50ms, lifetime_min>=30s
    ///
    /// Metrics: established, held, verified, closed, closed_at_once, errors, retransmitted,
    /// alive (counts: a number, or a percentage of --connections); connect_p50/p90/p99/max,
    /// first_byte_p50/p90/p99/max, lifetime_min/p50/p90/max (durations, with a unit). Ops: <,
    /// <=, >, >=, ==. verified and first_byte_* need --expect or --expect-data, alive needs
    /// --probe-at-end. The report ends with a ✓/✗ line per threshold; a failed one makes exit
    /// code 3.
    /// An explicit threshold replaces the implicit one on the same metric (--hold: held>=100%;
    /// --expect*: verified>=100% of the established connections; --probe-at-end: alive>=100% of
    /// the connections probed), and its percentage is of --connections; an explicit `errors`
    /// threshold replaces the rule that a failed connection means exit code 2.
    #[arg(
        long = "threshold",
        value_name = "EXPR",
        allow_hyphen_values = true,
        help_heading = "Verdict"
    )]
    pub(super) thresholds: Vec<String>,
}

#[derive(Debug, Args)]
pub(super) struct RawServer {
    /// TCP listening port, 0 to 65535; 0 picks a free one and prints it
    #[arg(
        short = 'p',
        long,
        default_value = "54321",
        value_name = "PORT",
        allow_hyphen_values = true
    )]
    pub(super) port: String,
    /// How many total connections we will accept (0 = unlimited); counts take k and m (10k)
    #[arg(
        short = 'm',
        long = "maxconnections",
        default_value = "10",
        value_name = "COUNT",
        allow_hyphen_values = true
    )]
    pub(super) max_connections: String,
    /// Running time before dropping, in seconds (0 = unlimited); a bare number is seconds, or
    /// give a unit: 500ms, 2s, 1m30s
    #[arg(
        short = 'd',
        long,
        default_value = "30",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub(super) duration: String,
    /// Address to listen on (default: all interfaces)
    #[arg(long, value_name = "ADDR")]
    pub(super) bind: Option<String>,
    /// Do not print a line per accepted connection
    #[arg(short = 'q', long)]
    pub(super) quiet: bool,
    /// Send TEXT to each connection as soon as it is accepted, a greeting for `run --expect`
    /// (escapes \r \n \t \\ \@ \xHH; at most 65535 bytes)
    #[arg(
        long,
        value_name = "TEXT",
        allow_hyphen_values = true,
        help_heading = "Behaviour"
    )]
    pub(super) banner: Option<String>,
    /// Send back whatever each connection sends (after the banner, if any)
    #[arg(long, help_heading = "Behaviour")]
    pub(super) echo: bool,
    /// Close each connection this long after accepting it, as a load balancer's idle timeout
    /// would (a bare number is seconds, or give a unit: 500ms, 2s; 0 closes at once)
    #[arg(
        long = "close-after",
        value_name = "DURATION",
        allow_hyphen_values = true,
        help_heading = "Behaviour"
    )]
    pub(super) close_after: Option<String>,
    /// Close with a reset (RST) instead of a FIN, whenever the server closes: after
    /// --close-after, after the client's FIN, and when it stops
    #[arg(long, help_heading = "Behaviour")]
    pub(super) reset: bool,
    /// Processes sharing the port (SO_REUSEPORT), each with its own file-descriptor limit, to
    /// hold more than one process can; the kernel spreads the connections between them
    #[arg(long, value_name = "N", default_value = "1")]
    pub(super) workers: String,
    /// A worker process of --workers on PORT (set by the parent, never by hand)
    #[arg(long, value_name = "PORT", hide = true)]
    pub(super) worker: Option<String>,
}
