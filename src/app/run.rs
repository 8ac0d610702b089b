//! `tcpgoon run`, in order: resolve the target once, check that the run fits (file
//! descriptors, local ports, source addresses), ask for confirmation, run the engine with the
//! text reporter, print the final report, and turn the result into the exit code. Several
//! targets go to `many`, which uses the same steps.

use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::prompt::{self, Answer};
use super::{fail, AppError};
use crate::cli::CommandTypo;
use crate::config::{MaxFrom, Output, PortPolicy, RunConfig, MAX_CHECK_BYTES};
use crate::discover::Target;
use crate::engine::signals::Signals;
use crate::engine::{Engine, PickMechanism, Plan};
use crate::export::{self, json::Report};
use crate::local::LocalEndpoints;
use crate::preflight;
use crate::report::{self, TextReporter};
use crate::results::limit::{Answer as Search, Limit, LimitFinder, Watching};
use crate::results::{Observer, RunResult, TargetName};
use crate::verdict::{judge, EXIT_INCOMPLETE};

pub(super) fn run(config: RunConfig, typo: Option<&CommandTypo>) -> i32 {
    match run_checked(config, typo) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

/// [`run`], with every failure as an [`AppError`].
fn run_checked(mut config: RunConfig, typo: Option<&CommandTypo>) -> Result<i32, AppError> {
    // A worker gets `--send @FILE`'s bytes from its parent, which read the file once.
    if let Some(role) = config.worker {
        return super::worker::serve(config, role);
    }
    if let Some(path) = &config.send_file {
        let bytes = std::fs::read(path).map_err(|error| AppError::SendFile {
            path: path.clone(),
            error,
        })?;
        if bytes.is_empty() || bytes.len() > MAX_CHECK_BYTES {
            return Err(AppError::SendFileSize {
                path: path.clone(),
                size: bytes.len(),
            });
        }
        config.load.checks.send = Some(bytes);
    }
    let output = config.output.clone();
    let files = exports(&output);
    check_exports(&files, output.json)?;
    // Standard output carries one document when one is asked for there (`--format json`, or
    // an export to `-`): the text goes to stderr then, and the status lines only with -v.
    let stdout_taken = config.output.json || files.iter().any(|(_, p)| p.as_os_str() == "-");
    if config.targets.any() || config.targets.all_addresses {
        let found = super::targets::find(&config)?;
        if found.targets.len() > 1 || found.told() {
            return super::many::run(&config, found, stdout_taken, &files);
        }
        let target = found
            .targets
            .into_iter()
            .next()
            .expect("find refuses no target");
        return run_one(&config, target, stdout_taken, &files);
    }
    let target = Target::resolve(&config.host, config.port).map_err(|e| {
        let typo = typo.map_or(String::new(), |t| format!("; {}", t.not_a_command_either()));
        AppError::Resolve(e, typo)
    })?;
    size_search(&mut config, target.primary())?;
    run_one(&config, target, stdout_taken, &files)
}

/// `find-limit`'s `--max`: without it, or when it is more, as many connections as this machine
/// can open toward `target`, in as many processes as `--workers` gives: the open-files limit
/// of each, and the free local ports of the sources; which of them bounds the search is said
/// in its answer.
fn size_search(config: &mut RunConfig, target: SocketAddr) -> Result<(), AppError> {
    let Some(limit) = config.limit else {
        return Ok(());
    };
    let given = (limit.max_from == MaxFrom::Flag).then_some(config.load.connections);
    // How many processes: with `auto`, as many as --max (or this machine's free ports) need.
    let first = preflight::capacity(target, &config.sources, config.port_policy, 1)?;
    let per_process = first.per_process.saturating_sub(16).max(1);
    config.load.connections = given
        .unwrap_or_else(|| {
            first
                .ports
                .min(per_process * u64::from(crate::config::MAX_WORKERS))
        })
        .max(1);
    let n = super::workers::count(config);
    // Workers that share a source address pick from disjoint slices of the port range (as
    // many as share it): each can take only what its slice has free.
    let sources = config.sources.addrs().len().max(1) as u64;
    let slices = u64::from(n) / crate::local::gcd(u64::from(n), sources);
    let cap = match slices {
        0 | 1 => first,
        s => preflight::capacity(target, &config.sources, config.port_policy, s as u32)?,
    };
    // The spare descriptors `--workers` leaves each process, and a margin of ports for those
    // other programs take meanwhile.
    let ports = cap.ports.saturating_sub(cap.ports / 50 + 64).max(1);
    let files = per_process.saturating_mul(u64::from(n));
    let (machine, bound) = if ports < files {
        (ports, MaxFrom::Ports)
    } else {
        (files, MaxFrom::Files)
    };
    // A --max past what this machine can open is not refused: the search goes as far as it
    // can, and its answer says the local limit came first ("at least").
    let (max, from) = match given {
        Some(g) if g <= machine => (g, MaxFrom::Flag),
        _ => (machine, bound),
    };
    config.load.connections = max;
    config.load.shard = crate::config::Shard::whole(max);
    if let Some(limit) = config.limit.as_mut() {
        limit.max_from = from;
    }
    Ok(())
}

/// One run against one target: the Go tool's run.
fn run_one(
    config: &RunConfig,
    target: Target,
    stdout_taken: bool,
    files: &[(&'static str, &Path)],
) -> Result<i32, AppError> {
    let mut reporter = run_reporter(config, stdout_taken);
    reporter.debug(&resolved(&target));
    let targets = vec![target.primary()];
    let name = TargetName {
        host: target.host.clone(),
        display: target.display_name(),
        port: target.port,
    };
    if config.limit.is_some() && config.load.checks.expect.is_none() {
        reporter.notice("note: without --expect-data (or --send/--expect) a connection counts as held once its handshake completes; behind a load balancer one waiting in its queue looks held too\n");
    }
    let ready = prepare(config, &targets, &name, &mut reporter)?;
    if !config.assume_yes {
        let answer = ask(stdout_taken, |mut input, mut out| match config.limit {
            Some(_) => prompt::confirm_search(
                &target.host,
                target.port,
                config.load.connections,
                &config.load.pacing,
                &mut input,
                &mut out,
            ),
            None => prompt::confirm(
                &target.host,
                target.port,
                config.load.connections,
                &mut input,
                &mut out,
            ),
        })?;
        if let Some(code) = declined(answer, stdout_taken, &mut reporter) {
            if let Ready::Workers(mut w) = ready {
                w.stop();
            }
            return finished(reporter, code);
        }
    }
    wait_for_start(config, &mut reporter)?;
    let ran = execute(config, ready, targets, name, &mut reporter)?;
    report_one(config, &ran, "", reporter, stdout_taken, files)
}

/// The local side of one engine run, checked and ready to dial: in this process, or in worker
/// processes (`--workers`) that have each checked their part.
pub(super) enum Ready {
    Here(LocalEndpoints),
    Workers(super::workers::Started),
}

/// Checks that the run toward `targets` fits on this machine and gets it ready: the local plan
/// of this process, or `--workers` started and each checked.
pub(super) fn prepare(
    config: &RunConfig,
    targets: &[SocketAddr],
    name: &TargetName,
    reporter: &mut TextReporter,
) -> Result<Ready, AppError> {
    match super::workers::count(config) {
        1 => plan_local(
            config,
            preflight::Part::of(config.load.shard),
            targets,
            reporter,
        )
        .map(Ready::Here),
        n => super::workers::start(config, n, targets, name, reporter).map(Ready::Workers),
    }
}

/// One engine run's outcome: its result, and what a run by workers adds (a line per worker, a
/// worker that died).
pub(super) struct Ran {
    pub result: RunResult,
    /// Lines for the report (the JSON's `discovery`), one per worker.
    pub notes: Vec<String>,
    /// A worker died: its connections are not in the result, the run did not complete.
    pub incomplete: bool,
}

/// Runs what [`prepare`] made ready.
pub(super) fn execute(
    config: &RunConfig,
    ready: Ready,
    targets: Vec<SocketAddr>,
    name: TargetName,
    reporter: &mut TextReporter,
) -> Result<Ran, AppError> {
    match ready {
        Ready::Here(local) => Ok(Ran {
            result: dial(config, targets, local, name, reporter)?,
            notes: Vec::new(),
            incomplete: false,
        }),
        Ready::Workers(workers) => {
            let mut ran = workers.go(reporter)?;
            // Each worker parsed the command line again: where `--max` came from is this
            // process's finding (it sized the search). A search that lost a worker (or every
            // worker) has no answer past what the others said: at least, incomplete.
            if let Some(search) = config.limit {
                let l = ran.result.limit.get_or_insert_with(|| Limit {
                    stop_on: Some(search.stop_on),
                    sustained: search.sustained,
                    connect_p99: search.connect_p99,
                    checked: config.load.checks.expect.is_some(),
                    ..Limit::default()
                });
                l.max = config.load.shard.plan;
                l.max_from = Some(search.max_from);
                if ran.incomplete && l.answer != Search::Found {
                    l.answer = Search::Interrupted;
                }
            }
            reporter.end_progress();
            for note in &ran.notes {
                reporter.debug(note);
            }
            Ok(ran)
        }
    }
}

/// Waits for `--start-at`, the barrier every shard of a plan starts at; a signal while waiting
/// ends the command (nothing was dialed). A barrier already past by more than a second is said:
/// this run is not aligned with the others.
pub(super) fn wait_for_start(
    config: &RunConfig,
    reporter: &mut TextReporter,
) -> Result<(), AppError> {
    let Some(at) = config.start_at else {
        return Ok(());
    };
    let mut signals = Signals::for_process().ok();
    let when = humantime::format_rfc3339_millis(at);
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(left) => reporter.notice(&format!(
            "waiting for --start-at {when}: {}\n",
            humantime::format_duration(Duration::from_millis(left.as_millis() as u64))
        )),
        Err(late) if late.duration() > Duration::from_secs(1) => reporter.notice(&format!(
            "warning: --start-at {when} passed {} ago: this run starts late, not with the others\n",
            humantime::format_duration(Duration::from_millis(late.duration().as_millis() as u64))
        )),
        Err(_) => {}
    }
    while let Ok(left) = at.duration_since(std::time::SystemTime::now()) {
        if left.is_zero() {
            break;
        }
        if signals.as_mut().is_some_and(|s| s.drain() > 0) {
            return Err(AppError::Interrupted("while waiting for --start-at"));
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
    Ok(())
}

/// The end of one run: its verdict, its report on stdout (the text, or the document with
/// `--format json`; the text on stderr when stdout carries a document) and its files; the
/// exit code.
pub(super) fn report_one(
    config: &RunConfig,
    ran: &Ran,
    discovery: &str,
    mut reporter: TextReporter,
    stdout_taken: bool,
    files: &[(&'static str, &Path)],
) -> Result<i32, AppError> {
    let result = &ran.result;
    let mut verdict = judge(result, &config.thresholds);
    if ran.incomplete {
        verdict.exit_code = EXIT_INCOMPLETE;
    }
    let notes: Vec<String> = discovery
        .lines()
        .map(str::to_string)
        .chain(ran.notes.iter().cloned())
        .collect();
    // The JSON document only when asked for: building it encodes every histogram.
    let json = (config.output.json || config.output.export_json.is_some()).then(|| {
        let mut doc = Report::new(result, &verdict, &config.output.command_line);
        doc.discovery.clone_from(&notes);
        doc.to_json()
    });
    // A run that lost a worker says so in its report too, not only on stderr as it happened.
    let lost: String = if ran.incomplete {
        ran.notes.iter().map(|l| format!("{l}\n")).collect()
    } else {
        String::new()
    };
    if let (true, Some(json)) = (config.output.json, &json) {
        reporter.print(json);
    } else if stdout_taken {
        reporter.notice(&(lost + &report::text(result, &verdict)));
    } else {
        reporter.print(&(lost + &report::text(result, &verdict)));
    }
    // After the report is out, so that a file that cannot be written (the disk filled up
    // since the check) costs the file, not the report; every file that can be written is.
    let code = finished(reporter, verdict.exit_code)?;
    write_exports(files, |flag| match flag {
        "--export-json" => json.clone().unwrap_or_default().into_bytes(),
        "--export-junit" => export::junit::render(result, &verdict).into_bytes(),
        _ => {
            export::html::render(result, &verdict, &config.output.command_line, &notes).into_bytes()
        }
    })?;
    Ok(code)
}

/// The reporter of one engine run: its `-v` lines, its status lines, and the live progress
/// display when stderr is a terminal and stdout is not taken by a document.
pub(super) fn run_reporter(config: &RunConfig, stdout_taken: bool) -> TextReporter {
    let progress = report::progress::enabled(config.no_progress, stdout_taken).then(|| {
        let mut setup = report::progress::Setup::new(config.load.connections, config.load.hold);
        setup.search = config.limit.is_some();
        setup
    });
    TextReporter::with_progress(config.verbose, progress, stdout_taken)
}

/// The `-v` line for a target: what its name resolved to, and what is dialed.
pub(super) fn resolved(t: &Target) -> String {
    let addrs: Vec<String> = t.addrs.iter().map(ToString::to_string).collect();
    format!(
        "target: {} resolves to {}; dialing {}",
        t.host,
        addrs.join(", "),
        t.primary()
    )
}

/// Builds the local plan toward `targets` (source addresses and ports), printing its warnings
/// and, with -v, what it found.
pub(super) fn plan_local(
    config: &RunConfig,
    part: preflight::Part,
    targets: &[SocketAddr],
    reporter: &mut TextReporter,
) -> Result<LocalEndpoints, AppError> {
    let fd_limit = preflight::check_fds(config.load.connections)?;
    let (local, warnings) =
        preflight::plan_local(part, targets, &config.sources, config.port_policy)?;
    for w in warnings {
        reporter.notice(&format!("warning: {}\n", w.0));
    }
    let mechanism = match local.policy() {
        PortPolicy::Auto => format!(", {}", PickMechanism::detect()),
        PortPolicy::Kernel => String::new(),
    };
    reporter.debug(&format!(
        "pre-flight: open-files limit {fd_limit}, {} source address(es), source ports picked by {}{mechanism}",
        local.sources().len().max(1),
        local.policy(),
    ));
    Ok(local)
}

/// Asks the confirmation with `confirm`, on stdout, or on stderr when stdout belongs to a
/// document.
pub(super) fn ask(
    stdout_taken: bool,
    confirm: impl FnOnce(
        &mut dyn io::BufRead,
        &mut dyn io::Write,
    ) -> Result<Answer, prompt::PromptError>,
) -> Result<Answer, AppError> {
    let stdin = io::stdin();
    let mut prompt_out: Box<dyn io::Write> = if stdout_taken {
        Box::new(io::stderr())
    } else {
        Box::new(io::stdout())
    };
    Ok(confirm(&mut stdin.lock(), &mut prompt_out)?)
}

/// What a declined prompt ends with: `None` to go on, or the exit code, having said why.
pub(super) fn declined(
    answer: Answer,
    stdout_taken: bool,
    reporter: &mut TextReporter,
) -> Option<i32> {
    match answer {
        Answer::Yes => None,
        Answer::No => {
            let aborted = format!("\n{}\n", prompt::ABORTED);
            if stdout_taken {
                reporter.notice(&aborted);
            } else {
                reporter.print(&aborted);
            }
            Some(EXIT_INCOMPLETE)
        }
        Answer::NoInput => {
            if !io::stdin().is_terminal() {
                reporter.notice("hint: standard input is not a terminal: pass -y/--assume-yes to run without the prompt\n");
            }
            Some(EXIT_INCOMPLETE)
        }
    }
}

/// The engine's run toward `targets` from `local`, with SIGINT/SIGTERM ending it cleanly.
pub(super) fn dial(
    config: &RunConfig,
    targets: Vec<SocketAddr>,
    local: LocalEndpoints,
    name: TargetName,
    reporter: &mut TextReporter,
) -> Result<RunResult, AppError> {
    let signals = match Signals::for_process() {
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
        load: config.load.clone(),
        local,
        name,
    };
    let result = engine_run(config, plan, signals, reporter)?;
    reporter.end_progress();
    Ok(result)
}

/// The engine's run of `plan` with `observer`; for `find-limit`, with the limit finder watching
/// every event beside it, its answer in the result.
pub(super) fn engine_run(
    config: &RunConfig,
    plan: Plan,
    signals: Option<Signals>,
    observer: &mut dyn Observer,
) -> Result<RunResult, AppError> {
    let Some(limit) = config.limit else {
        return Engine::new(plan, signals)
            .and_then(|engine| engine.run(observer))
            .map_err(AppError::Poll);
    };
    let load = &plan.load;
    let mut finder = LimitFinder::new(
        limit,
        load.checks.expect.is_some(),
        load.shard,
        load.shard.plan,
    );
    let mut watching = Watching::new(observer, &mut finder);
    let mut result = Engine::new(plan, signals)
        .and_then(|engine| engine.run(&mut watching))
        .map_err(AppError::Poll)?;
    result.limit = Some(finder.finish());
    Ok(result)
}

/// Writes every report file asked for, each with the bytes `render` gives for its flag; a file
/// that cannot be written costs only itself (the last failure is the error, the others are
/// said first).
pub(super) fn write_exports(
    files: &[(&'static str, &Path)],
    render: impl Fn(&str) -> Vec<u8>,
) -> Result<(), AppError> {
    let mut failed = Vec::new();
    for (flag, path) in files {
        if let Err(error) = export::write_atomically(path, &render(flag)) {
            failed.push(AppError::Export {
                flag,
                path: path.to_path_buf(),
                error,
            });
        }
    }
    match failed.pop() {
        None => Ok(()),
        Some(last) => {
            for e in failed {
                super::complain(&format!("error: {e}\n"));
            }
            Err(last)
        }
    }
}

/// Refuses, before the run, report files that could not be written or would overwrite each
/// other: two exports to one file, or an export to the file standard output already is
/// (`/dev/stdout` beside `--format json`).
pub(super) fn check_exports(files: &[(&'static str, &Path)], json: bool) -> Result<(), AppError> {
    let stdout = Path::new("/proc/self/fd/1");
    let mut on_stdout: Vec<&str> = if json {
        vec!["--format json"]
    } else {
        Vec::new()
    };
    for (i, (flag, path)) in files.iter().enumerate() {
        check_writable(flag, path)?;
        if path.as_os_str() == "-" || export::same_file(path, stdout) {
            on_stdout.push(flag);
        }
        for (other, other_path) in &files[..i] {
            if path.as_os_str() != "-"
                && (path == other_path || export::same_file(path, other_path))
            {
                return Err(AppError::Conflict(format!(
                    "{other} and {flag} both name {}: one would overwrite the other; give each its own file",
                    path.display()
                )));
            }
        }
    }
    if on_stdout.len() > 1 {
        return Err(AppError::Conflict(format!(
            "{} would each write a document to standard output: give all but one of them a file",
            on_stdout.join(" and ")
        )));
    }
    Ok(())
}

/// The report files asked for, with the flag that named each.
pub(super) fn exports(output: &Output) -> Vec<(&'static str, &Path)> {
    let mut out = Vec::new();
    if let Some(p) = &output.export_json {
        out.push(("--export-json", p.as_path()));
    }
    if let Some(p) = &output.export_junit {
        out.push(("--export-junit", p.as_path()));
    }
    if let Some(p) = &output.export_html {
        out.push(("--export-html", p.as_path()));
    }
    out
}

/// Fails before the run when a report could not be written where asked: its directory must
/// exist and take a new file.
pub(super) fn check_writable(flag: &'static str, path: &Path) -> Result<(), AppError> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    let fail = |error| AppError::Export {
        flag,
        path: path.to_path_buf(),
        error,
    };
    if path.is_dir() {
        return Err(fail(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    if let Ok(m) = std::fs::metadata(path) {
        if !m.is_file() {
            // A device, a FIFO, a pipe (`/dev/null`, `/dev/fd/63`): written in place.
            return Ok(());
        }
    }
    // A link is followed: the file is written where it points.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let probe = dir.join(format!(".tcpgoon-write-check-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Waits for the reporter's output to be written: `code`, or the loss of the report.
pub(super) fn finished(reporter: TextReporter, code: i32) -> Result<i32, AppError> {
    match reporter.finish() {
        Some(e) => Err(AppError::LostOutput(e)),
        None => Ok(code),
    }
}
