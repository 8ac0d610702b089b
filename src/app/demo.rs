//! `tcpgoon demo`: the quick start. Starts `tcpgoon server` (this same binary) as a child
//! process on a free loopback port, so that it has file descriptors of its own, and runs the
//! test against it. The child dies with this process, however this process ends.

use std::io;
use std::os::unix::process::CommandExt;

use super::{fail, written, AppError};
use crate::config::RunConfig;
use crate::report::ReportOut;
use crate::server;
use crate::verdict::EXIT_INCOMPLETE;

/// Starts `tcpgoon server` (this same binary) on a free loopback port as a child process, so
/// that it has file descriptors of its own, and runs the test against it. The server dies with
/// this process, however this process ends.
pub(super) fn demo(config: RunConfig) -> i32 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return fail(AppError::Server(format!(
                "cannot find this program to start its server: {e}"
            )))
        }
    };
    // Its own process group: a Ctrl-C at the terminal interrupts the run, not the target.
    let mut command = std::process::Command::new(exe);
    super::workers::dies_with_us(&mut command);
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
        Err(e) => {
            return fail(AppError::Server(format!(
                "cannot start the built-in server: {e}"
            )))
        }
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
            let line =
                format!("demo: the built-in server (tcpgoon server) listens on 127.0.0.1:{port}\n");
            let mut out = ReportOut::default();
            if config.output.json {
                // Standard output belongs to the JSON document.
                super::complain(&line);
            } else {
                out.write(&line);
            }
            if out.lost().is_some() {
                written(&mut out, EXIT_INCOMPLETE)
            } else {
                super::run::run(RunConfig { port, ..config }, None)
            }
        }
        None => fail(AppError::Server(
            "the built-in server did not start".to_string(),
        )),
    };
    let _ = child.kill();
    let _ = child.wait();
    drop(server_out);
    code
}
