//! The live progress display, in a real pseudo-terminal: the binary's stderr (and, for the
//! garbling check, its stdout) is the slave side of a pty opened here, and the test reads what
//! a terminal would have been sent from the master side. The display must show on a terminal,
//! and never when stderr is a pipe, with `TERM=dumb` or with `--no-progress`; `NO_COLOR` leaves
//! out colors; stdout never carries any of it; lines and the bar never share a line on screen;
//! the bar is gone before the report and after a Ctrl-C.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::pty::{openpty, Winsize};

use crate::util::*;

/// A run of the binary with stderr (and maybe stdout) on a pty.
struct PtyRun {
    child: Child,
    /// Everything the terminal was sent so far.
    screen: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
    stdout: Option<LineReader>,
}

/// Starts `tcpgoon args` with stderr on a fresh 200-column pty, `TERM=xterm-256color` and
/// no color variables unless `env` sets them; stdout on the pty too when `stdout_on_pty`,
/// piped otherwise.
fn start(args: &str, env: &[(&str, &str)], stdout_on_pty: bool) -> PtyRun {
    let size = Winsize {
        ws_row: 50,
        ws_col: 200,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).expect("openpty");
    let mut cmd = tcpgoon();
    cmd.args(args.split_whitespace())
        .stdin(Stdio::null())
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let slave: OwnedFd = pty.slave;
    cmd.stderr(Stdio::from(slave.try_clone().unwrap()));
    if stdout_on_pty {
        cmd.stdout(Stdio::from(slave));
    } else {
        cmd.stdout(Stdio::piped());
        drop(slave);
    }
    let mut child = cmd.spawn().expect("spawn tcpgoon");
    // The parent's copies of the slave side go with the command: the master then reads EOF
    // (EIO) once the child has exited.
    drop(cmd);
    let stdout = (!stdout_on_pty).then(|| LineReader::stdout(&mut child));
    let screen = Arc::new(Mutex::new(Vec::new()));
    let sink = screen.clone();
    let mut master = File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    PtyRun {
        child,
        screen,
        reader,
        stdout,
    }
}

impl PtyRun {
    /// Waits until the terminal was sent `needle`; panics after `limit`.
    fn wait_for(&mut self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while !strip_escapes(&self.screen()).contains(needle) {
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "no {needle:?} on the terminal within {limit:?}: {:?}",
                    tail(&self.screen())
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits for the exit (60 s at most): the exit code, the terminal's bytes, stdout (empty
    /// when it was on the pty).
    fn finish(mut self) -> (i32, String, String) {
        let out = wait_output(&mut self.child, Duration::from_secs(60));
        self.reader.join().unwrap();
        let stdout = self.stdout.map(LineReader::finish).unwrap_or_default();
        let screen = String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned();
        (code(&out), screen, stdout)
    }
}

/// The end of a long text, for a failure's message.
fn tail(text: &str) -> &str {
    let mut at = text.len().saturating_sub(2000);
    while !text.is_char_boundary(at) {
        at += 1;
    }
    &text[at..]
}

/// Runs to the end: see [`start`] and [`PtyRun::finish`].
fn pty(args: &str, env: &[(&str, &str)], stdout_on_pty: bool) -> (i32, String, String) {
    start(args, env, stdout_on_pty).finish()
}

/// The display's text, as it starts every drawing of the bar during the ramp.
const RAMP: &str = "established · ";

/// Whether `text` has an SGR (color or style) sequence: ESC [ digits and semicolons, then m.
fn has_color(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let params = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .map_or(rest, |end| &rest[..end]);
        rest[params.len()..].starts_with('m')
    })
}

/// The lines as a terminal leaves them: each line's text after its last carriage return (every
/// redraw starts with one and clears the line), escape sequences removed.
fn visible_lines(screen: &str) -> Vec<String> {
    screen
        .split('\n')
        .map(|line| {
            let line = line.trim_end_matches('\r');
            let last = line.rsplit('\r').next().unwrap_or("");
            strip_escapes(last)
        })
        .collect()
}

fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The shape of the report's lines: each line's text up to its first digit, repeats removed
/// (how many status lines a run prints depends on its timing).
fn shapes(stdout: &str) -> Vec<String> {
    let mut shapes: Vec<String> = stdout
        .lines()
        .map(|l| {
            l.split(|c: char| c.is_ascii_digit())
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    shapes.dedup();
    shapes
}

/// On a terminal the display shows the ramp and the hold, in color, and is cleared at the end;
/// stdout, piped beside it, is the plain report, shaped as without the display; with stderr
/// piped too there is no display at all.
#[test]
fn the_display_shows_on_a_terminal_and_never_on_stdout() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let args = format!(
        "run -y 127.0.0.1 {} -c 40 --rate 40 --hold 1500ms",
        server.port()
    );
    let (rc, screen, stdout) = pty(&args, &[], false);
    assert_eq!(rc, 0, "{stdout}{}", tail(&screen));
    let plain = strip_escapes(&screen);
    for text in [
        "ramp [",
        RAMP,
        "/40 established",
        "dials/s · ETA",
        "hold [",
        "s left · 40 of 40 still open",
    ] {
        assert!(plain.contains(text), "{text:?} not in {:?}", tail(&plain));
    }
    assert!(
        has_color(&screen),
        "colors without NO_COLOR: {:?}",
        tail(&screen)
    );
    // Cleared: the terminal's last line is empty once the run is over.
    let last = visible_lines(&screen).pop().unwrap();
    assert!(last.trim().is_empty(), "the display was left: {last:?}");
    // stdout: the report alone, no escape or carriage return.
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\r'),
        "{stdout:?}"
    );
    assert!(
        stdout.starts_with("Total: 40, Dialing: 0, Established: 0"),
        "{stdout}"
    );
    assert_eq!(final_counts(&stdout), [40, 0, 40, 0, 0, 0]);

    let piped = tg(&args);
    assert_eq!(code(&piped), 0);
    let (out, err) = (crate::util::stdout(&piped), crate::util::stderr(&piped));
    assert_eq!(err, "", "stderr is a pipe: no display");
    assert_eq!(shapes(&out), shapes(&stdout), "{out}\n---\n{stdout}");
}

/// `TERM=dumb` and `--no-progress` hide it on a terminal too; `NO_COLOR` keeps it, without
/// colors (the cursor movements that redraw the line stay).
#[test]
fn term_dumb_no_progress_and_no_color() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let args = format!(
        "run -y 127.0.0.1 {} -c 20 --rate 50 --hold 300ms",
        server.port()
    );
    let (rc, screen, stdout) = pty(&args, &[("TERM", "dumb")], false);
    assert_eq!(rc, 0, "{stdout}{screen}");
    assert_eq!(screen, "", "TERM=dumb: nothing on the terminal");
    let (rc, screen, _) = pty(&format!("{args} --no-progress"), &[], false);
    assert_eq!(rc, 0);
    assert_eq!(screen, "", "--no-progress: nothing on the terminal");
    let (rc, screen, _) = pty(&args, &[("NO_COLOR", "1")], false);
    assert_eq!(rc, 0);
    assert!(screen.contains(RAMP), "{:?}", tail(&screen));
    assert!(!has_color(&screen), "NO_COLOR: {:?}", tail(&screen));
    assert!(
        screen.contains("\x1b[2K"),
        "the line is still redrawn: {:?}",
        tail(&screen)
    );
}

/// With stdout and stderr on one terminal and `-v`, every status line and every connection's
/// line has a line of its own: the bar is taken off the screen while they are written, and
/// drawn again below them.
#[test]
fn lines_and_the_bar_never_share_a_line() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let args = format!(
        "run -y -v -i 200ms 127.0.0.1 {} -c 30 --rate 60 --hold 500ms",
        server.port()
    );
    let (rc, screen, _) = pty(&args, &[], true);
    assert_eq!(rc, 0, "{}", tail(&screen));
    assert!(screen.contains(RAMP), "{:?}", tail(&screen));
    let lines = visible_lines(&screen);
    let mut status = 0;
    let mut events = 0;
    for line in &lines {
        if line.contains("Total: ") {
            status += 1;
            assert!(line.starts_with("Total: "), "garbled: {line:?}");
        }
        if line.contains("] connection ") {
            events += 1;
            assert!(line.starts_with('['), "garbled: {line:?}");
        }
        if line.contains(" [") && line.contains(" · ") {
            assert!(
                line.starts_with("ramp [")
                    || line.starts_with("hold [")
                    || line.starts_with("finishing ["),
                "garbled: {line:?}"
            );
        }
    }
    assert!(status >= 3, "{lines:#?}");
    assert_eq!(
        events, 60,
        "30 dialing and 30 established lines: {lines:#?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("--- tcpgoon execution statistics")));
}

/// Ctrl-C during the hold: the run ends with its report, the bar is cleared, and the only
/// threads are the engine's and the writer's (no ticker thread that could take the signal).
#[test]
fn an_interrupted_hold_clears_the_display() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let args = format!("run -y 127.0.0.1 {} -c 10 -s 0 --hold 60s", server.port());
    let mut run = start(&args, &[], false);
    run.wait_for("still open", Duration::from_secs(20));
    let pid = run.child.id();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count();
    assert_eq!(threads, 2, "the engine and the writer only");
    signal(pid, "INT");
    // It exits (whatever the verdict says of an interrupted hold), with its report.
    let (_, screen, stdout) = run.finish();
    assert!(
        stdout.contains("--- tcpgoon execution statistics ---"),
        "{stdout}"
    );
    assert!(stdout.contains("Hold: asked 1m0s"), "{stdout}");
    assert!(
        visible_lines(&screen)
            .iter()
            .any(|l| l.starts_with("Interrupted: ending the hold after ")),
        "the interruption's line, on a line of its own: {:?}",
        tail(&screen)
    );
    let last = visible_lines(&screen).pop().unwrap();
    assert!(last.trim().is_empty(), "the display was left: {last:?}");
}

/// With `--workers` the display is the sum of the workers' counts, redrawn as they come: the
/// ramp climbs through many frames, never backwards.
#[test]
fn the_display_sums_the_workers_as_they_go() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let args = format!(
        "run -y 127.0.0.1 {} -c 600 --rate 600 --hold 300ms -i 0 --workers 3",
        server.port()
    );
    let (rc, screen, stdout) = pty(&args, &[], false);
    assert_eq!(rc, 0, "{stdout}{}", tail(&screen));
    let plain = strip_escapes(&screen);
    let frames: Vec<u64> = plain
        .match_indices("/600 established")
        .filter_map(|(at, _)| {
            let digits: String = plain[..at]
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.chars().rev().collect::<String>().parse().ok()
        })
        .collect();
    let mut distinct = frames.clone();
    distinct.dedup();
    assert!(distinct.len() >= 8, "a frozen display: {frames:?}");
    assert!(frames.windows(2).all(|w| w[0] <= w[1]), "{frames:?}");
}
