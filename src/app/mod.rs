//! The commands, end to end: sequencing only, what `main` runs once the command line is valid.
//!
//! `run` resolves the target once, checks that the run fits, asks for
//! confirmation, runs the engine with the text reporter, prints the final report and turns the
//! result into the exit code; `demo` starts the built-in server and runs against it; `server`
//! and `version` are the Go tool's other two commands; `completions` and `man` print what `cli`
//! generates for the shell and for `man`. Every failure of every room ends here as
//! one `AppError`, which becomes one line on stderr and exit code 1.

mod demo;
mod many;
mod merge;
mod prompt;
mod run;
mod saved;
mod serve_workers;
mod targets;
mod worker;
mod workers;

use std::ffi::OsString;
use std::io::{self, Write};

use crate::cli::{self, CliExit, Command, CommandTypo};
use crate::discover::{ResolveError, Target};
use crate::engine::signals::Signals;
use crate::preflight::PreflightError;
use crate::report::ReportOut;
use crate::server;
use crate::verdict::{EXIT_INCOMPLETE, EXIT_OK};
use prompt::PromptError;

/// Everything that stops a command before or after its run, each with the words a user can act
/// on. Printed as one line, `error: ...`, with exit code 1.
#[derive(Debug, thiserror::Error)]
enum AppError {
    /// The target's name does not resolve (possibly a mistyped command).
    #[error("{0}{1}")]
    Resolve(ResolveError, String),
    /// The run does not fit on this machine.
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    /// The confirmation could not be asked or answered.
    #[error("{0}; answer y or n, or pass -y/--assume-yes to run without the prompt")]
    Prompt(#[from] PromptError),
    /// The poll itself failed (not a connection: those are results).
    #[error("the poll loop failed: {0}")]
    Poll(io::Error),
    /// The report was lost on its way to standard output.
    #[error("the report could not be written to standard output: {0}")]
    LostOutput(io::Error),
    /// `--send @FILE` could not be read.
    #[error("--send @{}: cannot read the file: {error}", path.display())]
    SendFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        error: io::Error,
    },
    /// `--send @FILE` is empty or too long.
    #[error("--send @{}: the file has {size} bytes; --send takes 1 to 65535", path.display())]
    SendFileSize {
        /// The file.
        path: std::path::PathBuf,
        /// Its size.
        size: usize,
    },
    /// The built-in server could not start.
    #[error("{0}")]
    Server(String),
    /// A worker process of `--workers` could not start or run its part.
    #[error("{0}")]
    Worker(String),
    /// A report file cannot be written where asked.
    #[error("{flag} {}: {error} (give a path in a directory that exists and is writable, or - for standard output)", path.display())]
    Export {
        /// The flag that named it.
        flag: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        error: io::Error,
    },
    /// Two outputs that would overwrite each other.
    #[error("{0}")]
    Conflict(String),
    /// `--targets-file` cannot be read or has a line that is no target.
    #[error("--targets-file {}: {why}", path.display())]
    TargetsFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        why: String,
    },
    /// The Eureka registry could not be asked, or lists nothing to test.
    #[error("{0}")]
    Eureka(String),
    /// A signal ended the command before anything was dialed.
    #[error("interrupted {0}: nothing was dialed")]
    Interrupted(&'static str),
    /// A saved report cannot be read.
    #[error("{}: {error}", path.display())]
    ReadReport {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        error: String,
    },
}

/// Prints `e` as one line on stderr and returns exit code 1.
fn fail(e: AppError) -> i32 {
    complain(&format!("error: {e}\n"));
    EXIT_INCOMPLETE
}

/// Checks a command line (including the program name) without running it: `Ok` when it is a
/// valid command, the usage error otherwise. For tools that write tcpgoon command lines (the
/// Kubernetes manifests' test), so that they are checked by the same parser.
pub fn check_args(args: impl IntoIterator<Item = OsString>) -> Result<(), String> {
    match cli::parse(args) {
        Ok(_) => Ok(()),
        Err(CliExit::Usage(text) | CliExit::MaybeTypo { usage: text, .. }) => Err(text),
        Err(CliExit::Info(_)) => Err("help or version, not a command".to_string()),
    }
}

/// Runs the program with `args` (including the program name) and returns the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> i32 {
    match cli::parse(args) {
        Err(CliExit::Info(text)) => {
            let mut out = ReportOut::default();
            out.write(&text);
            written(&mut out, EXIT_OK)
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
            written(&mut out, EXIT_OK)
        }
        Ok(Command::Completions(shell)) => {
            let mut out = ReportOut::default();
            out.write(&cli::completion_script(shell));
            written(&mut out, EXIT_OK)
        }
        Ok(Command::Man) => {
            let mut out = ReportOut::default();
            out.write(&cli::man_page());
            written(&mut out, EXIT_OK)
        }
        Ok(Command::Server(config)) if config.workers > 1 && !config.worker => {
            serve_workers::server(&config)
        }
        Ok(Command::Server(config)) => {
            let signals = Signals::for_process().ok();
            let mut out = io::stdout();
            match server::run(&config, signals, &mut out) {
                Ok(_) => EXIT_OK,
                Err(e) => fail(AppError::Server(server_failure(&config, &e))),
            }
        }
        Ok(Command::Run { config, typo }) => run::run(config, typo.as_ref()),
        Ok(Command::FindLimit(config)) => run::run(config, None),
        Ok(Command::Demo(config)) => demo::demo(config),
        Ok(Command::Discover(config)) => match targets::discover(&config) {
            Ok(code) => code,
            Err(e) => fail(e),
        },
        Ok(Command::Merge(config)) => match merge::merge(&config) {
            Ok(code) => code,
            Err(e) => fail(e),
        },
        Ok(Command::Report(config)) => match saved::render(&config) {
            Ok(()) => EXIT_OK,
            Err(e) => fail(e),
        },
    }
}

/// Why the server could not start, naming where it tried to listen and what to do.
pub(super) fn server_failure(config: &crate::config::ServerConfig, e: &io::Error) -> String {
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
        Some(e) => fail(AppError::LostOutput(e)),
        None => code,
    }
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
            "error: 'demo1' is not a command (did you mean `tcpgoon demo`?); commands: run, find-limit, server, demo, discover, report, merge, version, completions, man; see `tcpgoon --help`\n"
        );
    }
}
