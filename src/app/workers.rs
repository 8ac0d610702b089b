//! `run --workers N`: one plan shared by N processes of this machine, because one process holds
//! only what its open-files limit allows and uses one core. Each worker is this same binary with
//! the same arguments and the hidden `--worker I/N` (see `worker`): the same single-threaded
//! engine dialing connection `i` of the plan when `i mod N` is its number, at the plan's time.
//! This side is the coordinator the user sees: it starts the workers (each checks that its part
//! fits before anything is dialed; the first that cannot is the one error line), asks the one
//! prompt, starts them together, prints the sum of their counts as the status lines, forwards
//! SIGINT and SIGTERM to every worker, merges their reports exactly (`results::merge`) and says
//! when a worker died, whose connections are then not in the totals and make the run incomplete.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::run::Ran;
use super::worker::{parse_snapshot, Job};
use super::AppError;
use crate::config::{RunConfig, Shard, Workers};
use crate::engine::signals::Signals;
use crate::export::json::Document;
use crate::preflight;
use crate::report::TextReporter;
use crate::results::merge::{count_missing, merge};
use crate::results::{Counts, Observer, Snapshot, TargetName};

/// How many processes `config` asks for on this machine (1: this one, as before).
pub(super) fn count(config: &RunConfig) -> u32 {
    if config.worker.is_some() {
        return 1;
    }
    let hard = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(_, hard)| hard);
    // What one process can hold: its limit, less the few descriptors every process has.
    let per_process = hard.saturating_sub(preflight::FD_EXTRA + 16).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    // Never a worker with nothing to dial.
    let most = u32::try_from(config.load.connections.max(1)).unwrap_or(u32::MAX);
    config
        .workers
        .resolve(config.load.connections, per_process, cores)
        .min(most)
}

/// What a worker tells its parent.
enum Msg {
    Ready(usize),
    Status(usize, Snapshot),
    Progress(usize, Snapshot),
    /// Its counts at the end of its run, before its report.
    Final(usize, Snapshot),
    Report(usize, String),
    /// It stopped dialing (a search found its answer): every worker stops too.
    Stopped(usize),
    /// A line of its standard error.
    Line(usize, String),
    /// Its standard output ended (it exited, or is about to).
    Done(usize),
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Its statuses not yet summed into a line, and the last one that was.
    statuses: VecDeque<Snapshot>,
    last_status: Option<Snapshot>,
    /// Its most recent counts, from any message: what the progress display sums.
    latest: Option<Snapshot>,
    /// Its counts at its end (for a worker that died: all its connections, not initiated).
    last: Option<Snapshot>,
    /// Said once: it is stopped (SIGSTOP) and the status lines wait for it.
    stopped_said: bool,
    report: Option<String>,
    done: bool,
    /// Why it ended without a report, once it has.
    died: Option<String>,
    /// Its connections of the plan.
    connections: u64,
}

/// Workers started, each with its part of the plan checked, waiting for `go`.
pub(super) struct Started {
    workers: Vec<Worker>,
    rx: Receiver<Msg>,
    signals: Option<Signals>,
    /// This machine's part of the plan, which the workers split.
    machine: Shard,
    /// `--source`, in its order.
    sources: Vec<std::net::IpAddr>,
    /// The plan's `--max-dialing`.
    max_dialing: usize,
}

/// Starts `n` workers toward `targets` and waits until each has checked its part (file
/// descriptors, ports, source addresses). The first that cannot run is the error (the others
/// are stopped; nothing was dialed); warnings are said once.
pub(super) fn start(
    config: &RunConfig,
    n: u32,
    targets: &[SocketAddr],
    name: &TargetName,
    reporter: &mut TextReporter,
) -> Result<Started, AppError> {
    // Before any reader thread: they inherit the blocked mask and keep it, so a signal always
    // comes to this thread. Blocked here only while the workers start; unblocked again for the
    // prompt (a Ctrl-C there ends the command as in one process, and the workers die with it),
    // and blocked for good from `go`.
    let signals = Signals::install().ok();
    let exe = std::env::current_exe().map_err(|e| {
        AppError::Server(format!(
            "cannot find this program to start its workers: {e}"
        ))
    })?;
    let job = serde_json::to_string(&Job {
        targets: targets.to_vec(),
        host: name.host.clone(),
        display: name.display.clone(),
        port: name.port,
        // Read once, here: `--send @/dev/stdin` or a pipe could not be read again.
        send: config.load.checks.send.clone(),
        // `find-limit` sized its --max here, from this machine's limits.
        plan: Some(config.load.shard.plan),
    })
    .expect("a job serializes");
    let (tx, rx) = mpsc::channel();
    let mut workers = Vec::with_capacity(n as usize);
    let mut signals = signals;
    let spawn_all = (0..n).try_for_each(|w| {
        if signals.as_mut().is_some_and(|s| s.drain() > 0) {
            return Err(AppError::Interrupted("while the workers started"));
        }
        let mut child = spawn(&exe, w, n)?;
        let mut stdin = child.stdin.take();
        if let Some(input) = stdin.as_mut() {
            // A worker that died at once shows as such below.
            let _ = writeln!(input, "{job}");
        }
        read_stdout(w as usize, child.stdout.take(), tx.clone());
        read_stderr(w as usize, child.stderr.take(), tx.clone());
        workers.push(Worker {
            child,
            stdin,
            statuses: VecDeque::new(),
            last_status: None,
            latest: None,
            last: None,
            stopped_said: false,
            report: None,
            done: false,
            died: None,
            connections: config.load.shard.split(w, n).connections(),
        });
        Ok::<_, AppError>(())
    });
    drop(tx);
    let mut started = Started {
        workers,
        rx,
        signals,
        machine: config.load.shard,
        sources: config.sources.addrs().to_vec(),
        max_dialing: config.load.max_dialing,
    };
    if let Err(e) = spawn_all {
        started.stop();
        return Err(e);
    }
    reporter.debug(&format!(
        "{}: processes {}; connection i of the plan to worker i mod {n}",
        describe(config.workers, n),
        started
            .workers
            .iter()
            .map(|w| w.child.id().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // Every worker checks its part at once; wait for all (ready, or ended), so that the error
    // said is the lowest-numbered worker's whichever ended first.
    let mut ready = vec![false; n as usize];
    let mut said: Vec<String> = Vec::new();
    let mut errors: Vec<(usize, String)> = Vec::new();
    let mut ended: Vec<usize> = Vec::new();
    while ready
        .iter()
        .zip(&started.workers)
        .any(|(&r, w)| !r && !w.done)
    {
        if started.signals.as_mut().is_some_and(|s| s.drain() > 0) {
            started.stop();
            return Err(AppError::Interrupted("while the workers started"));
        }
        match started.rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Msg::Ready(w)) => ready[w] = true,
            Ok(Msg::Line(w, line)) => {
                if line.starts_with("error: ") {
                    errors.push((w, line));
                } else if !said.contains(&line) {
                    // The same warning from every worker is said once.
                    reporter.notice(&format!("{line}\n"));
                    said.push(line);
                }
            }
            Ok(Msg::Done(w)) => {
                started.workers[w].done = true;
                ended.push(w);
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Some(&first) = ended.iter().min() {
        // Their last error lines may still be on their way.
        let deadline = std::time::Instant::now() + Duration::from_millis(300);
        while let Ok(m) = started
            .rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
        {
            if let Msg::Line(x, line) = m {
                if line.starts_with("error: ") {
                    errors.push((x, line));
                }
            }
        }
        let status = started.workers[first].child.wait().ok();
        started.stop();
        errors.sort_by_key(|(x, _)| *x);
        let (who, why) = match errors.first() {
            Some((x, line)) => (*x, line.trim_start_matches("error: ").to_string()),
            None => (
                first,
                format!("it ended ({}) before it was ready", exit_text(status)),
            ),
        };
        return Err(AppError::Worker(format!("worker {who}/{n}: {why}")));
    }
    // Restores the mask of before: the prompt can be interrupted.
    started.signals = None;
    Ok(started)
}

/// A worker process (of `run` or of `server`): this program with this command's arguments and
/// `extra` (before a `--`, if any), in its own process group (a Ctrl-C at the terminal reaches
/// this process, which forwards it once), killed if this process dies.
pub(super) fn worker_command(exe: &std::path::Path, extra: [String; 2]) -> Command {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    redact_eureka(&mut args);
    let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
    args.splice(at..at, extra.map(std::ffi::OsString::from));
    let mut command = Command::new(exe);
    dies_with_us(&mut command);
    command.process_group(0).args(args);
    command
}

/// Worker `w` of `n` of a run: `--worker w/n`, talking to this process on its three pipes.
fn spawn(exe: &std::path::Path, w: u32, n: u32) -> Result<Child, AppError> {
    worker_command(exe, ["--worker".to_string(), format!("{w}/{n}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| AppError::Worker(format!("cannot start worker {w}/{n}: {e}")))
}

/// A worker never asks the registry (its parent gives it the addresses): its command line, which
/// every user of the machine can read, carries `--eureka`'s URL without its password.
fn redact_eureka(args: &mut [std::ffi::OsString]) {
    let mut next_is_url = false;
    for arg in args.iter_mut() {
        let text = arg.to_string_lossy().into_owned();
        if next_is_url {
            *arg = crate::config::redact_url(&text).into();
            next_is_url = false;
        } else if text == "--eureka" {
            next_is_url = true;
        } else if let Some(url) = text.strip_prefix("--eureka=") {
            *arg = format!("--eureka={}", crate::config::redact_url(url)).into();
        }
    }
}

/// Makes the child of `command` die with this process, however this process ends.
pub(super) fn dies_with_us(command: &mut Command) {
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
}

fn read_stdout(w: usize, out: Option<std::process::ChildStdout>, tx: Sender<Msg>) {
    let Some(out) = out else {
        let _ = tx.send(Msg::Done(w));
        return;
    };
    std::thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut line = String::new();
        loop {
            line.clear();
            match out.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let (word, rest) = line
                .trim_end()
                .split_once(' ')
                .unwrap_or((line.trim_end(), ""));
            let msg = match word {
                "ready" => Msg::Ready(w),
                "stopped" => Msg::Stopped(w),
                "status" => match parse_snapshot(rest) {
                    Some(s) => Msg::Status(w, s),
                    None => continue,
                },
                "progress" => match parse_snapshot(rest) {
                    Some(s) => Msg::Progress(w, s),
                    None => continue,
                },
                "final" => match parse_snapshot(rest) {
                    Some(s) => Msg::Final(w, s),
                    None => continue,
                },
                "report" => {
                    let Ok(len) = rest.parse::<usize>() else {
                        break;
                    };
                    let mut doc = vec![0; len];
                    if out.read_exact(&mut doc).is_err() {
                        break;
                    }
                    Msg::Report(w, String::from_utf8_lossy(&doc).into_owned())
                }
                _ => continue,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
        let _ = tx.send(Msg::Done(w));
    });
}

fn read_stderr(w: usize, err: Option<std::process::ChildStderr>, tx: Sender<Msg>) {
    let Some(err) = err else { return };
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(Msg::Line(w, line)).is_err() {
                return;
            }
        }
    });
}

pub(super) fn exit_text(status: Option<std::process::ExitStatus>) -> String {
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!(
                "killed by signal {sig}{}",
                nix::sys::signal::Signal::try_from(sig)
                    .map_or(String::new(), |s| format!(" ({s})"))
            ),
            _ => "no exit status".to_string(),
        },
        None => "no exit status".to_string(),
    }
}

fn sum(snaps: impl Iterator<Item = Snapshot>) -> Snapshot {
    let mut s = Snapshot {
        at: Duration::ZERO,
        counts: Counts::default(),
        max_established: 0,
    };
    for x in snaps {
        s.at = s.at.max(x.at);
        s.counts.add(&x.counts);
        // Each worker's own peak; their sum bounds the run's (the merged report has it exactly).
        s.max_established += x.max_established;
    }
    s
}

impl Started {
    /// Stops every worker before its run (the prompt was declined, or one could not start):
    /// nothing was dialed.
    pub(super) fn stop(&mut self) {
        for w in &mut self.workers {
            w.stdin = None;
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }

    /// Starts every worker at the same moment, sums their counts into `reporter`'s status lines
    /// and progress, forwards signals, and merges their reports. A worker that ended while the
    /// prompt waited is an error before anything is dialed.
    pub(super) fn go(mut self, reporter: &mut TextReporter) -> Result<Ran, AppError> {
        // From here every SIGINT and SIGTERM is read and forwarded, never the default action.
        self.signals = Signals::for_process().ok();
        let n = self.workers.len();
        for (i, w) in self.workers.iter_mut().enumerate() {
            if let Ok(Some(status)) = w.child.try_wait() {
                self.stop();
                return Err(AppError::Worker(format!(
                    "worker {i}/{n} ended ({}) before the run started: nothing was dialed",
                    exit_text(Some(status))
                )));
            }
        }
        // A moment from now, for every worker to have read it: their clocks start together.
        let at = SystemTime::now() + Duration::from_millis(20 + n as u64);
        let nanos = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        for w in &mut self.workers {
            if let Some(input) = w.stdin.as_mut() {
                let _ = writeln!(input, "go {nanos}");
                let _ = input.flush();
            }
        }
        let mut signalled = 0;
        let mut stopping = false;
        let mut kill_at: Option<std::time::Instant> = None;
        let mut checked = std::time::Instant::now();
        while !self.workers.iter().all(|w| w.done) {
            if let Some(k) = self.signals.as_mut().map(Signals::drain).filter(|&k| k > 0) {
                forward(self.workers.iter().filter(|w| !w.done).map(|w| &w.child), k);
                signalled += k;
                // A second signal ends the run at once: a worker that cannot take it (stopped,
                // hung) is killed, and said as dead, after a moment; a third kills at once.
                if signalled >= 2 {
                    let grace = if signalled >= 3 { 0 } else { 2000 };
                    kill_at = Some(std::time::Instant::now() + Duration::from_millis(grace));
                }
            }
            if kill_at.is_some_and(|t| std::time::Instant::now() >= t) {
                for w in self.workers.iter_mut().filter(|w| !w.done) {
                    let _ = w.child.kill();
                }
                kill_at = None;
            }
            if checked.elapsed() >= Duration::from_secs(1) {
                checked = std::time::Instant::now();
                self.say_stopped(reporter, signalled > 0);
            }
            match self.rx.recv_timeout(Duration::from_millis(20)) {
                Ok(Msg::Status(w, s)) => {
                    self.workers[w].statuses.push_back(s);
                    self.workers[w].latest = Some(s);
                    self.status_lines(reporter);
                }
                Ok(Msg::Progress(w, s)) => {
                    self.workers[w].latest = Some(s);
                    self.progress(reporter);
                }
                Ok(Msg::Final(w, s)) => {
                    self.workers[w].last = Some(s);
                    self.workers[w].latest = Some(s);
                    self.status_lines(reporter);
                    self.progress(reporter);
                }
                Ok(Msg::Report(w, doc)) => self.workers[w].report = Some(doc),
                Ok(Msg::Line(w, line)) => reporter.notice(&format!("worker {w}/{n}: {line}\n")),
                Ok(Msg::Done(w)) => {
                    let worker = &mut self.workers[w];
                    worker.done = true;
                    if worker.report.is_none() {
                        // Said now, not only in the final report. Its connections count as not
                        // initiated from here on: their fate is unknown.
                        let status = worker.child.wait().ok();
                        let died = format!(
                            "worker {w}/{n} died ({}) before its report: its {} connections are not in the totals (counted as not initiated)",
                            exit_text(status),
                            worker.connections
                        );
                        reporter.notice(&format!("error: {died}\n"));
                        worker.died = Some(died);
                        let unknown = Snapshot {
                            at: worker.latest.map_or(Duration::ZERO, |s| s.at),
                            counts: Counts::new(worker.connections),
                            max_established: 0,
                        };
                        worker.last = Some(unknown);
                        worker.latest = Some(unknown);
                    }
                    self.status_lines(reporter);
                }
                Ok(Msg::Stopped(w)) if !stopping => {
                    stopping = true;
                    reporter.debug(&format!(
                        "worker {w}/{n} stopped dialing: the search has its answer; every worker stops"
                    ));
                    // One search: when one worker has the answer, none dials on into what
                    // the target frees as the others settle.
                    for w in self.workers.iter_mut().filter(|w| !w.done) {
                        if let Some(input) = w.stdin.as_mut() {
                            let _ = writeln!(input, "stop");
                            let _ = input.flush();
                        }
                    }
                }
                Ok(Msg::Ready(_) | Msg::Stopped(_)) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        // The stderr lines still on their way.
        while let Ok(m) = self.rx.recv_timeout(Duration::from_millis(50)) {
            if let Msg::Line(w, line) = m {
                reporter.notice(&format!("worker {w}/{n}: {line}\n"));
            }
        }
        self.status_lines(reporter);
        Ok(self.merged(reporter))
    }

    /// The live display: the sum of every worker's most recent counts, drawn now.
    fn progress(&self, reporter: &mut TextReporter) {
        reporter.progress(&sum(self.workers.iter().filter_map(|w| w.latest)));
        reporter.flush();
    }

    /// Says once of each worker that is stopped (SIGSTOP): the status lines wait for it. Once
    /// the run was told to end (`ending`), a stopped worker cannot end by itself: it is killed
    /// (and said as dead), so that one SIGTERM from `timeout` or Kubernetes still gets a report.
    fn say_stopped(&mut self, reporter: &mut TextReporter, ending: bool) {
        let n = self.workers.len();
        for (i, w) in self.workers.iter_mut().enumerate() {
            if w.done || (w.stopped_said && !ending) {
                continue;
            }
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", w.child.id()));
            let state = stat
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.chars().next()));
            if matches!(state, Some(Some('T' | 't'))) && ending {
                let _ = w.child.kill();
            } else if matches!(state, Some(Some('T' | 't'))) {
                w.stopped_said = true;
                reporter.notice(&format!(
                    "warning: worker {i}/{n} (pid {}) is stopped: the status lines wait for it (SIGCONT resumes it; an interrupt kills it and ends the run)\n",
                    w.child.id()
                ));
            }
        }
    }

    /// Prints a status line for every round of statuses the workers have all sent; a worker
    /// that has ended counts with its final counts.
    fn status_lines(&mut self, reporter: &mut TextReporter) {
        loop {
            let waiting = self
                .workers
                .iter()
                .any(|w| w.statuses.is_empty() && w.last.is_none() && !w.done);
            let any = self.workers.iter().any(|w| !w.statuses.is_empty());
            if waiting || !any {
                return;
            }
            for w in &mut self.workers {
                match w.statuses.pop_front() {
                    Some(s) => w.last_status = Some(s),
                    None => w.last_status = w.last.or(w.last_status),
                }
            }
            let line = sum(self.workers.iter().filter_map(|w| w.last_status));
            reporter.status(&line);
            // A status line redraws the display with its (older) sum: the latest again.
            self.progress(reporter);
        }
    }

    /// The workers' reports as one run: a line per worker, and a dead worker's connections
    /// counted as missing.
    fn merged(mut self, reporter: &mut TextReporter) -> Ran {
        let n = self.workers.len();
        let mut parts = Vec::new();
        let mut notes = Vec::new();
        let mut missing = 0u64;
        for (i, w) in self.workers.iter_mut().enumerate() {
            w.stdin = None;
            let status = if w.died.is_some() {
                None
            } else {
                w.child.wait().ok()
            };
            let part = w.report.as_deref().map(Document::from_json);
            match part {
                Some(Ok(Document::Run(report))) => match report.to_result() {
                    Ok((result, verdict)) => {
                        notes.push(format!(
                            "worker {i}/{n}: {} of {} established, {} errors, peak {}, exit {}",
                            result.counts.ever_established(),
                            result.counts.total,
                            result.counts.error,
                            result.max_established,
                            verdict.exit_code
                        ));
                        parts.push(result);
                        continue;
                    }
                    Err(e) => notes.push(format!("worker {i}/{n}: its report cannot be read: {e}")),
                },
                Some(Ok(Document::Suite(_))) => {
                    notes.push(format!("worker {i}/{n}: it sent a suite, not its run"))
                }
                Some(Err(e)) => {
                    notes.push(format!("worker {i}/{n}: its report cannot be read: {e}"))
                }
                None => notes.push(w.died.clone().unwrap_or_else(|| {
                    format!(
                        "worker {i}/{n} died ({}) before its report",
                        exit_text(status)
                    )
                })),
            }
            missing += w.connections;
        }
        let plan = self.workers.iter().map(|w| w.connections).sum::<u64>();
        if missing > 0 {
            let line = format!(
                "Missing: {missing} of the plan's {plan} connections are not in these totals (their worker died; counted as not initiated); the run is incomplete"
            );
            reporter.notice(&format!("error: {line}\n"));
            notes.push(line);
        }
        let mut result = merge(&parts);
        // What a dead worker had is unknown.
        count_missing(&mut result, missing);
        // Each worker had its share of --max-dialing; the run had the plan's.
        result.identity.load.max_dialing = self.max_dialing;
        // The sources in --source's order, as one process lists them (each worker has its own).
        let order: std::collections::HashMap<_, _> = self
            .sources
            .iter()
            .enumerate()
            .map(|(k, ip)| (*ip, k))
            .collect();
        result
            .per_source
            .sort_by_key(|(ip, _)| order.get(ip).copied().unwrap_or(usize::MAX));
        // The machine's part of the plan: a --shard's, or the whole plan.
        result.identity.load.shard = if self.machine.is_part() {
            self.machine
        } else {
            Shard::whole(result.identity.load.connections)
        };
        Ran {
            result,
            notes,
            incomplete: missing > 0,
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        for w in &mut self.workers {
            if w.child.try_wait().ok().flatten().is_none() {
                let _ = w.child.kill();
                let _ = w.child.wait();
            }
        }
    }
}

/// `Workers` as the `-v` line names it.
pub(super) fn describe(w: Workers, n: u32) -> String {
    match w {
        Workers::Auto => format!("--workers auto: {n}"),
        _ => format!("--workers {n}"),
    }
}

/// Forwards `k` signals (SIGINT or SIGTERM, each read by this process) to `children` as as many
/// SIGINTs: a first one ends a worker's ramp or hold, a second ends it at once, as in one
/// process.
pub(super) fn forward<'a>(children: impl Iterator<Item = &'a Child>, k: usize) {
    for c in children {
        for _ in 0..k {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
        }
    }
}
