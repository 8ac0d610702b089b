//! Regression tests for the defects a hostile tester found in the end-to-end checks, the hold,
//! the probe and the verdict (issue 7), one test per defect, each named after the bug it pins.
//! Each failed before its fix.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::*;

/// Two SIGINTs close together (as `timeout` sends them: to the child, then to its process
/// group) killed tcpgoon with no report and exit 130 in 2-3 runs of 40: the first ended the
/// hold, the run finished, the signal mask was restored, and the second signal, pending, then
/// killed the process while it wrote the report. A storm of signals until the process exits
/// must still leave the whole report and a documented exit code.
#[test]
fn a_storm_of_interrupts_still_ends_with_the_report() {
    for round in 0..3 {
        let server = TestServer::start("127.0.0.1", Behaviour::Hold);
        let mut child = spawn(&format!(
            "run -y -c 3 -s 0 -i 0 --hold 60s 127.0.0.1 {}",
            server.port()
        ));
        let pid = child.id();
        assert!(server.wait_open(3, Duration::from_secs(10)));
        let started = Instant::now();
        let storm = std::thread::spawn(move || {
            // Until kill(2) fails: the process is gone and reaped.
            let pid = Pid::from_raw(pid as i32);
            while started.elapsed() < Duration::from_secs(20) && kill(pid, Signal::SIGINT).is_ok() {
                std::thread::sleep(Duration::from_micros(20));
            }
        });
        let o = wait_output(&mut child, Duration::from_secs(20));
        storm.join().unwrap();
        let out = stdout(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "round {round}: {:?}\n{out}\n{}",
            o.status,
            stderr(&o)
        );
        assert!(
            out.contains("Max concurrent established connections: 3\n"),
            "round {round}: {out}"
        );
        assert!(
            out.contains("Ramp: dialed 3 connections"),
            "round {round}: {out}"
        );
    }
}
