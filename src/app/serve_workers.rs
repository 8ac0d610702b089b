//! `tcpgoon server --workers N`: N server processes on one port (`SO_REUSEPORT`), because one
//! process holds only what its open-files limit allows, and a test of more connections needs a
//! target that holds them. This process reserves the port, starts the workers (this binary with
//! the same arguments and the hidden `--worker PORT`), prints the Go tool's banner once and every
//! worker's lines, forwards SIGINT and SIGTERM, says a worker that dies, and ends with the sum of
//! the connections the workers accepted.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::workers::{exit_text, forward, worker_command};
use super::AppError;
use crate::engine::signals::Signals;
use crate::verdict::EXIT_INCOMPLETE;

/// `server --workers N`: N server processes on one port (`SO_REUSEPORT`), each with its own
/// file-descriptor limit. This process reserves the port (so that `-p 0` gives all the same
/// one), starts the workers, lets go of the port once every worker listens, prints the Go
/// tool's banner once and every worker's lines, forwards SIGINT and SIGTERM, and ends with the
/// sum of the connections they accepted.
pub(super) fn server(config: &crate::config::ServerConfig) -> i32 {
    use crate::server::{self, ServerStop};
    let mut signals = Signals::for_process().ok();
    // The port must be free: a listener without SO_REUSEPORT fails where any other is (a
    // reusing listener alone would join another server's port without a word).
    let free = server::listen(config.bind, config.port, false).and_then(|l| l.local_addr());
    let port = match free {
        Ok(a) => a.port(),
        Err(e) => return super::fail(AppError::Server(super::server_failure(config, &e))),
    };
    let reserve = match server::listen(config.bind, port, true) {
        Ok(l) => l,
        Err(e) => return super::fail(AppError::Server(super::server_failure(config, &e))),
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return super::fail(AppError::Server(format!(
                "cannot find this program to start its workers: {e}"
            )))
        }
    };
    let n = config.workers as usize;
    enum Line {
        Listening,
        Accepted(u64, u8),
        Text(String),
        Done,
    }
    let (tx, rx) = mpsc::channel::<(usize, Line)>();
    let mut children: Vec<Child> = Vec::with_capacity(n);
    for w in 0..n {
        let spawned = worker_command(&exe, ["--worker".to_string(), port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                for c in &mut children {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return super::fail(AppError::Server(format!(
                    "cannot start server worker {w}/{n}: {e}"
                )));
            }
        };
        let out = child.stdout.take();
        let tx = tx.clone();
        std::thread::spawn(move || {
            if let Some(out) = out {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let msg = match line.split_whitespace().collect::<Vec<_>>()[..] {
                        ["listening"] => Line::Listening,
                        ["accepted", a, k] => match (a.parse(), k.parse()) {
                            (Ok(a), Ok(k)) => Line::Accepted(a, k),
                            _ => Line::Text(line),
                        },
                        _ => Line::Text(line),
                    };
                    if tx.send((w, msg)).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send((w, Line::Done));
        });
        children.push(child);
    }
    drop(tx);
    let mut out = io::stdout().lock();
    let mut listening = 0;
    let mut done = vec![false; n];
    // Each worker's closing line: how many it accepted and why it stopped.
    let mut ended: Vec<Option<(u64, u8)>> = vec![None; n];
    let mut signalled = 0;
    let mut reserve = Some(reserve);
    while !done.iter().all(|&d| d) {
        if let Some(k) = signals.as_mut().map(Signals::drain).filter(|&k| k > 0) {
            // After the terminal's ^C, as one server does.
            let _ = writeln!(out);
            let running = children.iter().zip(&done).filter(|(_, &d)| !d);
            forward(running.map(|(c, _)| c), k);
            signalled += k;
            // A worker that cannot take a signal (stopped, hung) does not keep the server up:
            // the second one kills what is left.
            if signalled >= 2 {
                for (c, _) in children.iter_mut().zip(&done).filter(|(_, &d)| !d) {
                    let _ = c.kill();
                }
            }
        }
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok((_, Line::Listening)) => {
                listening += 1;
                if listening == n {
                    // Every worker listens: the reserved listener would take a share of the
                    // connections and never accept them.
                    reserve = None;
                    let _ = writeln!(out, "{}", server::banner_line(port, config));
                    if let Some(line) = server::behaviour_line(config) {
                        let _ = writeln!(out, "{line}");
                    }
                    let _ = writeln!(
                        out,
                        "Workers: {n} processes share port {port} (SO_REUSEPORT); the kernel deals the connections between them"
                    );
                    let _ = writeln!(out, "Press Ctrl+C to end");
                    let _ = out.flush();
                }
            }
            Ok((w, Line::Accepted(a, k))) => ended[w] = Some((a, k)),
            Ok((_, Line::Text(line))) => {
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Ok((w, Line::Done)) => {
                done[w] = true;
                if listening == n && ended[w].is_none() {
                    // It ended without its count: said now, and the final count leaves it out.
                    let status = children[w].wait().ok();
                    let _ = writeln!(
                        io::stderr(),
                        "error: server worker {w}/{n} died ({}): its connections are gone and the final count leaves them out",
                        exit_text(status)
                    );
                }
                if listening < n {
                    // A worker could not listen (its error is on stderr): stop the others.
                    for c in &mut children {
                        let _ = c.kill();
                        let _ = c.wait();
                    }
                    return EXIT_INCOMPLETE;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let mut failed = false;
    for c in &mut children {
        failed |= !c.wait().is_ok_and(|s| s.success());
    }
    drop(reserve);
    let counts: Vec<(u64, u8)> = ended.iter().flatten().copied().collect();
    let accepted = counts.iter().map(|(a, _)| a).sum();
    let stop = if counts.iter().any(|&(_, k)| k == ServerStop::Signal as u8) {
        ServerStop::Signal
    } else {
        ServerStop::Duration
    };
    let _ = writeln!(out, "{}", server::last_line(stop, accepted, config));
    let _ = out.flush();
    if failed || counts.len() < n {
        let _ = writeln!(
            io::stderr(),
            "error: {} of {n} server workers did not end cleanly",
            n - counts.len()
        );
        return EXIT_INCOMPLETE;
    }
    crate::verdict::EXIT_OK
}
