//! One worker process of `run --workers N` (started by its parent with the hidden `--worker I/N`
//! and the parent's own arguments). It exists so that a plan larger than one process's file
//! descriptors runs as N copies of the same single-threaded engine: this side takes its part of
//! the plan (connection `i` of the machine's part to worker `i mod N`), checks that its part fits
//! (its fds, and its ports: its own slice of the range when it shares a source address with other
//! workers), says it is ready, starts when its parent says, and streams its counts and finally its
//! JSON report back on standard output. Its `-v` lines, warnings and errors go to standard error,
//! which the parent prefixes with the worker's number.
//!
//! The protocol, one line each way (`ready`, `status`/`progress` with the nine numbers of a
//! snapshot, `report LEN` followed by the document; the parent writes the job and `go NANOS`) is
//! this module's and `workers`'s alone.

use std::io::{self, BufRead};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::AppError;
use crate::config::{PortPolicy, RunConfig, Shard, WorkerRole};
use crate::engine::signals::Signals;
use crate::engine::Plan;
use crate::export::json::Report;
use crate::local::gcd;
use crate::preflight::Part;
use crate::report::TextReporter;
use crate::results::{ConnEvent, Counts, Interruption, Observer, Snapshot, TargetName};
use crate::verdict::{judge, EXIT_INCOMPLETE, EXIT_OK};

/// What a worker is asked to dial: the addresses its parent resolved once (every worker dials the
/// same ones), and the name the report gives them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Job {
    pub targets: Vec<SocketAddr>,
    pub host: String,
    pub display: String,
    pub port: u16,
    /// `--send`'s bytes (read from `@FILE` by the parent, once).
    pub send: Option<Vec<u8>>,
    /// The plan's connections as the parent settled them (`find-limit` sizes `--max` there).
    #[serde(default)]
    pub plan: Option<u64>,
}

/// A snapshot as one protocol line's numbers.
pub(super) fn snapshot_line(kind: &str, s: &Snapshot) -> String {
    let c = &s.counts;
    format!(
        "{kind} {} {} {} {} {} {} {} {} {}\n",
        s.at.as_nanos(),
        c.total,
        c.not_initiated,
        c.dialing,
        c.established,
        c.closed,
        c.error,
        c.local_error,
        s.max_established
    )
}

/// The snapshot of a `status`/`progress` line's numbers (after the word).
pub(super) fn parse_snapshot(numbers: &str) -> Option<Snapshot> {
    let v: Vec<u64> = numbers
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [at, total, not_initiated, dialing, established, closed, error, local_error, max_established] =
        v[..]
    else {
        return None;
    };
    Some(Snapshot {
        at: Duration::from_nanos(at),
        counts: Counts {
            total,
            not_initiated,
            dialing,
            established,
            closed,
            error,
            local_error,
        },
        max_established,
    })
}

/// Which slice of the port range worker `w` of `n` picks from: workers whose connections share a
/// source address (connection `i` of the plan comes from source `i mod sources`) get disjoint
/// slices, so that they never compete for a port; `None` when the worker has its addresses to
/// itself.
pub(super) fn port_slice(machine: Shard, w: u32, n: u32, sources: usize) -> Option<(u32, u32)> {
    let s = sources.max(1) as u64;
    let stride = machine.count * u64::from(n);
    let g = gcd(stride, s);
    // Worker `w` dials the plan's i ≡ index + count·w (mod stride), so sources k ≡ that (mod g).
    let residue = |w: u32| (machine.index + machine.count * u64::from(w)) % g;
    let mine = residue(w);
    let group: Vec<u32> = (0..n).filter(|&x| residue(x) == mine).collect();
    let index = group.iter().position(|&x| x == w)? as u32;
    (group.len() > 1).then_some((index, group.len() as u32))
}

/// Runs this worker's part; the exit code is 0 once the report is out (the parent judges the
/// merged run), 1 when it could not run.
pub(super) fn serve(mut config: RunConfig, role: WorkerRole) -> Result<i32, AppError> {
    // Blocked from the start and read by the engine: a signal the parent forwards right after
    // `go` is this run's, never the default action.
    let signals = Signals::for_process().ok();
    let mut input = io::stdin().lock();
    let mut line = String::new();
    input.read_line(&mut line).map_err(AppError::Poll)?;
    let Ok(job) = serde_json::from_str::<Job>(line.trim()) else {
        return Err(AppError::Conflict(
            "--worker is set by tcpgoon for its own worker processes; use --workers N".to_string(),
        ));
    };
    config.load.checks.send = job.send.clone();
    if let (Some(plan), false) = (job.plan, config.load.shard.is_part()) {
        config.load.shard = crate::config::Shard::whole(plan);
        config.load.connections = plan;
    }
    let machine = config.load.shard;
    let shard = machine.split(role.index, role.count);
    config.load.shard = shard;
    config.load.connections = shard.connections();
    // --max-dialing bounds the plan's dials in flight: each worker has its share (at least 1).
    let (n, w) = (role.count as usize, role.index as usize);
    config.load.max_dialing =
        (config.load.max_dialing / n + usize::from(w < config.load.max_dialing % n)).max(1);
    let mut reporter = TextReporter::with_progress(config.verbose, None, true);
    let part = match config.port_policy {
        // The kernel shares one budget per source and destination between the processes:
        // every worker checks that the machine's part fits.
        PortPolicy::Kernel => Part::of(machine),
        PortPolicy::Auto => Part {
            shard,
            slice: port_slice(
                machine,
                role.index,
                role.count,
                config.sources.addrs().len(),
            ),
        },
    };
    if let Some((i, n)) = part.slice {
        reporter.debug(&format!(
            "worker {}/{}: ports from slice {i} of {n} of the range (its source addresses are shared with {} other worker(s))",
            role.index,
            role.count,
            n - 1
        ));
    }
    let local = super::run::plan_local(&config, part, &job.targets, &mut reporter)?;
    reporter.print("ready\n");
    reporter.flush();
    line.clear();
    let _ = input.read_line(&mut line);
    let Some(at) = line
        .trim()
        .strip_prefix("go ")
        .and_then(|n| n.parse::<u64>().ok())
    else {
        // The parent declined or went away: nothing was dialed.
        return Ok(EXIT_INCOMPLETE);
    };
    let at = UNIX_EPOCH + Duration::from_nanos(at);
    while let Ok(left) = at.duration_since(SystemTime::now()) {
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(5)));
    }
    let plan = Plan {
        targets: job.targets,
        load: config.load.clone(),
        local,
        name: TargetName {
            host: job.host,
            display: job.display,
            port: job.port,
        },
    };
    // The parent's `stop` (another worker's search found its answer) ends this one's dialing
    // too: read by a thread of its own, seen by the engine through `stop_dialing`.
    drop(input);
    let stop = Arc::new(AtomicBool::new(false));
    let told = stop.clone();
    std::thread::spawn(move || {
        for line in io::stdin().lines() {
            match line {
                Ok(l) if l.trim() == "stop" => told.store(true, Ordering::Relaxed),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let mut observer = ToParent(reporter, stop);
    let result = super::run::engine_run(&config, plan, signals, &mut observer)?;
    let ToParent(mut reporter, _) = observer;
    reporter.print(&snapshot_line(
        "final",
        &Snapshot {
            at: result.elapsed,
            counts: result.counts,
            max_established: result.max_established,
        },
    ));
    let verdict = judge(&result, &config.thresholds);
    let json = Report::new(&result, &verdict, &config.output.command_line).to_json();
    reporter.print(&format!("report {}\n{json}", json.len()));
    super::run::finished(reporter, EXIT_OK)
}

/// The engine's observer in a worker: counts to the parent on stdout, `-v` lines and
/// interruptions on stderr.
struct ToParent(TextReporter, Arc<AtomicBool>);

impl Observer for ToParent {
    fn stop_dialing(&self) -> bool {
        self.1.load(Ordering::Relaxed)
    }

    fn dialing_stopped(&mut self, _snapshot: &Snapshot) {
        // The parent tells every other worker: one search stops as one.
        self.0.print("stopped\n");
        self.0.flush();
    }

    fn status(&mut self, snapshot: &Snapshot) {
        self.0.print(&snapshot_line("status", snapshot));
    }

    fn progress(&mut self, snapshot: &Snapshot) {
        self.0.print(&snapshot_line("progress", snapshot));
    }

    fn wants_events(&self) -> bool {
        self.0.wants_events()
    }

    fn event(&mut self, event: &ConnEvent) {
        self.0.event(event);
    }

    fn interrupted(&mut self, snapshot: &Snapshot, what: Interruption) {
        self.0.interrupted(snapshot, what);
    }

    fn flush(&mut self) {
        self.0.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_crosses_the_pipe_unchanged() {
        let s = Snapshot {
            at: Duration::from_nanos(123_456_789),
            counts: Counts {
                total: 10,
                not_initiated: 1,
                dialing: 2,
                established: 3,
                closed: 1,
                error: 2,
                local_error: 1,
            },
            max_established: 4,
        };
        let line = snapshot_line("status", &s);
        let numbers = line.trim().strip_prefix("status ").unwrap();
        assert_eq!(parse_snapshot(numbers), Some(s));
        assert_eq!(parse_snapshot("1 2 3"), None);
        assert_eq!(parse_snapshot("1 2 3 4 5 6 7 8 x"), None);
    }

    #[test]
    fn workers_share_a_source_only_on_disjoint_port_slices() {
        let whole = Shard::whole(97_500);
        // 20 sources over 5 workers: each has 4 addresses to itself.
        for w in 0..5 {
            assert_eq!(port_slice(whole, w, 5, 20), None);
        }
        // No --source: everyone shares the default address, one slice each.
        let slices: Vec<_> = (0..3).map(|w| port_slice(whole, w, 3, 0)).collect();
        assert_eq!(slices, [Some((0, 3)), Some((1, 3)), Some((2, 3))]);
        // 2 sources over 4 workers: workers 0 and 2 share source 0, 1 and 3 source 1.
        let slices: Vec<_> = (0..4).map(|w| port_slice(whole, w, 4, 2)).collect();
        assert_eq!(
            slices,
            [Some((0, 2)), Some((0, 2)), Some((1, 2)), Some((1, 2))]
        );
        // The claim checked against the deal itself: two workers with the same slice never
        // dial from the same source.
        for (n, s) in [(4u32, 2usize), (3, 4), (6, 4), (5, 20), (2, 3)] {
            for shard in [
                whole,
                Shard {
                    index: 1,
                    count: 3,
                    plan: 97_500,
                },
            ] {
                let used = |w: u32| {
                    let part = shard.split(w, n);
                    (0..200)
                        .map(|j| (part.global(j) % s as u64) as usize)
                        .collect::<std::collections::BTreeSet<_>>()
                };
                for a in 0..n {
                    for b in a + 1..n {
                        let shared = used(a).intersection(&used(b)).count() > 0;
                        let (sa, sb) = (port_slice(shard, a, n, s), port_slice(shard, b, n, s));
                        if shared {
                            assert!(sa.is_some() && sa != sb, "{n} workers, {s} sources: {a} and {b} share a source on {sa:?}/{sb:?}");
                        }
                    }
                }
            }
        }
    }
}
