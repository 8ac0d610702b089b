//! Text on its way out, without ever holding up the engine.
//!
//! Status lines go to stdout and `-v` lines to stderr while connections are being dialed. A
//! reader that is slow or stopped (a pipe into a busy program, `| less` left on its first page,
//! a terminal over a slow link) fills the pipe, and a write would then block the one thread that
//! dials and times every connection: the ramp would wait for the reader. So a run's text goes
//! through a [`Console`]: the loop appends lines to a batch, hands the batch to a thread of its own
//! at the end of each loop iteration (one channel send), and that thread writes and flushes. The
//! engine stays one thread; the writer only ever touches text. What the writer could not write to
//! stdout (a full disk, not a closed pipe) comes back at the end, for the exit code.
//!
//! The writer also owns the live progress display, when there is one
//! ([`progress`](super::progress)): snapshots ride in the batches like text, and every batch of
//! lines is written with the bar taken off the screen, so that one thread writes everything a
//! terminal shows during a run.

use std::io::{self, Write};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;

use super::progress::{Display, Setup, TICK};
use super::{event_line, interruption_line, status_line};
use crate::results::{ConnEvent, Interruption, Observer, Snapshot};

/// Standard output for one-off writes (help, version, a banner): each write is flushed, and the
/// first failure that lost output is kept so the exit code can say so. A closed pipe (`tcpgoon
/// ... | head -1`) is the reader's choice, not a loss: it is ignored.
#[derive(Debug, Default)]
pub struct ReportOut {
    lost: Option<io::Error>,
}

impl ReportOut {
    /// Writes `text` to stdout and flushes it.
    pub fn write(&mut self, text: &str) {
        let mut out = io::stdout().lock();
        let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        keep_loss(&mut self.lost, result);
    }

    /// The first write error that lost output, if any.
    pub fn lost(&self) -> Option<&io::Error> {
        self.lost.as_ref()
    }

    /// Takes the error, leaving none.
    pub fn take_lost(&mut self) -> Option<io::Error> {
        self.lost.take()
    }
}

/// Keeps in `lost` the first error of `result` that lost output (a closed pipe does not count).
fn keep_loss(lost: &mut Option<io::Error>, result: io::Result<()>) {
    if let Err(e) = result {
        if e.kind() != io::ErrorKind::BrokenPipe && lost.is_none() {
            *lost = Some(e);
        }
    }
}

/// A piece of text for one stream, or news for the progress display.
#[derive(Debug)]
enum Piece {
    Out(String),
    Err(String),
    /// A snapshot for the display.
    Progress(Snapshot),
    /// A signal's effect, for the display.
    Interrupted(Snapshot, Interruption),
    /// Dialing stopped for good (a search found its answer), for the display.
    DialingStopped(Snapshot),
    /// The run is over: clear the display for good.
    EndProgress,
}

/// Stdout and stderr written by a thread of their own, in the order the text was given.
#[derive(Debug)]
pub struct Console {
    batch: Vec<Piece>,
    tx: Option<Sender<Vec<Piece>>>,
    writer: Option<JoinHandle<Option<io::Error>>>,
}

impl Console {
    /// Starts the writer thread. It blocks every signal, so that SIGINT and SIGTERM keep going
    /// to the thread that reads them from its signalfd.
    pub fn start() -> Console {
        Console::with_progress(None)
    }

    /// [`start`](Console::start), with the live progress display of `progress` drawn by the
    /// writer thread on stderr (from the first snapshot given by [`progress`](Console::progress)).
    pub fn with_progress(progress: Option<Setup>) -> Console {
        let (tx, rx) = channel();
        let writer = std::thread::Builder::new()
            .name("tcpgoon-output".to_string())
            .spawn(move || write_all(&rx, progress.map(Display::new)))
            .ok();
        Console {
            batch: Vec::new(),
            // Without a thread (none could be started), text is written in place.
            tx: writer.as_ref().map(|_| tx),
            writer,
        }
    }

    /// Adds `text` for stdout to the current batch.
    pub fn out(&mut self, text: &str) {
        self.push(text, true);
    }

    /// Adds `text` for stderr to the current batch.
    pub fn err(&mut self, text: &str) {
        self.push(text, false);
    }

    fn push(&mut self, text: &str, out: bool) {
        match (self.batch.last_mut(), out) {
            (Some(Piece::Out(s)), true) | (Some(Piece::Err(s)), false) => s.push_str(text),
            _ => self.batch.push(if out {
                Piece::Out(text.to_string())
            } else {
                Piece::Err(text.to_string())
            }),
        }
    }

    /// Adds a snapshot for the progress display to the current batch.
    pub fn progress(&mut self, snapshot: &Snapshot) {
        self.batch.push(Piece::Progress(*snapshot));
    }

    /// Ends the progress display: it is cleared before any text given after this.
    pub fn end_progress(&mut self) {
        self.batch.push(Piece::EndProgress);
        self.flush();
    }

    /// Hands the current batch to the writer (one channel send; never waits for the reader).
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        match &self.tx {
            Some(tx) => {
                if let Err(unsent) = tx.send(batch) {
                    write_batch(unsent.0, &mut None);
                }
            }
            None => write_batch(batch, &mut None),
        }
    }

    /// Writes everything still pending, waits for the writer, and returns the first error that
    /// lost stdout output, if any.
    pub fn finish(mut self) -> Option<io::Error> {
        self.close()
    }

    fn close(&mut self) -> Option<io::Error> {
        self.flush();
        self.tx = None;
        self.writer.take().and_then(|w| w.join().ok().flatten())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The writer thread: writes each batch in order, then flushes, and keeps the progress display
/// (if any) up to date, redrawing it at least every [`TICK`]; returns what stdout lost.
fn write_all(rx: &Receiver<Vec<Piece>>, mut display: Option<Display>) -> Option<io::Error> {
    let everything = nix::sys::signal::SigSet::all();
    let _ = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_BLOCK,
        Some(&everything),
        None,
    );
    let mut lost = None;
    loop {
        let first = match &display {
            Some(_) => match rx.recv_timeout(TICK) {
                Ok(batch) => Some(batch),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(batch) => Some(batch),
                Err(_) => break,
            },
        };
        let Some(first) = first else {
            if let Some(d) = &mut display {
                d.draw();
            }
            continue;
        };
        // What else is waiting goes out with it: one clearing and redrawing of the bar for all.
        let mut pieces = first;
        while pieces.len() < 4096 {
            match rx.try_recv() {
                Ok(more) => pieces.extend(more),
                Err(_) => break,
            }
        }
        let mut text = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Out(_) | Piece::Err(_) => text.push(piece),
                Piece::Progress(s) => {
                    if let Some(d) = &mut display {
                        d.update(s);
                    }
                }
                Piece::Interrupted(s, what) => {
                    if let Some(d) = &mut display {
                        d.interrupted(s, what);
                    }
                }
                Piece::DialingStopped(s) => {
                    if let Some(d) = &mut display {
                        d.dialing_stopped(s);
                    }
                }
                Piece::EndProgress => {
                    write_around(display.as_ref(), std::mem::take(&mut text), &mut lost);
                    if let Some(d) = display.take() {
                        d.clear();
                    }
                }
            }
        }
        write_around(display.as_ref(), text, &mut lost);
        if let Some(d) = &mut display {
            d.draw();
        }
    }
    if let Some(d) = display {
        d.clear();
    }
    lost
}

/// Writes `text` with the progress display, if any, off the screen meanwhile.
fn write_around(display: Option<&Display>, text: Vec<Piece>, lost: &mut Option<io::Error>) {
    if text.is_empty() {
        return;
    }
    match display {
        Some(d) => d.suspend(|| write_batch(text, lost)),
        None => write_batch(text, lost),
    }
}

fn write_batch(batch: Vec<Piece>, lost: &mut Option<io::Error>) {
    let (stdout, stderr) = (io::stdout(), io::stderr());
    for piece in batch {
        match piece {
            // Only the writer thread has a display; without one there is nothing to show.
            Piece::Progress(_)
            | Piece::Interrupted(..)
            | Piece::DialingStopped(_)
            | Piece::EndProgress => {}
            Piece::Out(text) => {
                let mut out = stdout.lock();
                let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
                keep_loss(lost, result);
            }
            // Nothing is left to tell when stderr fails.
            Piece::Err(text) => {
                let _ = stderr.lock().write_all(text.as_bytes());
            }
        }
    }
}

/// The reporter of a `run`: status lines to stdout, `-v` lines and notices to stderr, all
/// through a [`Console`].
#[derive(Debug)]
pub struct TextReporter {
    console: Console,
    verbose: bool,
    /// Standard output belongs to a JSON document: the status lines go to stderr with -v, or
    /// nowhere.
    json: bool,
    progress: bool,
}

impl TextReporter {
    /// A reporter; with `verbose`, one stderr line per connection state change. Starts the
    /// console's writer thread.
    pub fn new(verbose: bool) -> Self {
        TextReporter::with_progress(verbose, None, false)
    }

    /// [`new`](TextReporter::new), with the live progress display of `progress` on stderr
    /// (see [`progress::enabled`](super::progress::enabled) for when to ask for it). It shows
    /// from the engine's first snapshot until [`end_progress`](TextReporter::end_progress).
    /// With `json`, standard output belongs to one JSON document at the end (`--format json`):
    /// the status lines go to stderr with `verbose`, or nowhere.
    pub fn with_progress(verbose: bool, progress: Option<Setup>, json: bool) -> Self {
        TextReporter {
            progress: progress.is_some(),
            console: Console::with_progress(progress),
            verbose,
            json,
        }
    }

    /// Clears the progress display for good (before the final report); no-op without one.
    pub fn end_progress(&mut self) {
        if self.progress {
            self.progress = false;
            self.console.end_progress();
        }
    }

    /// A debugging line for stderr, when verbose.
    pub fn debug(&mut self, line: &str) {
        if self.verbose {
            self.console.err(&format!("{line}\n"));
            self.console.flush();
        }
    }

    /// Text for stdout (the final report), written in order after the status lines.
    pub fn print(&mut self, text: &str) {
        self.console.out(text);
        self.console.flush();
    }

    /// Text for stderr (warnings, hints), in order with the rest.
    pub fn notice(&mut self, text: &str) {
        self.console.err(text);
        self.console.flush();
    }

    /// Writes everything and returns the first error that lost stdout output, if any.
    pub fn finish(self) -> Option<io::Error> {
        self.console.finish()
    }
}

impl Observer for TextReporter {
    fn status(&mut self, snapshot: &Snapshot) {
        if self.progress {
            self.console.progress(snapshot);
        }
        let line = format!("{}\n", status_line(&snapshot.counts));
        match (self.json, self.verbose) {
            (false, _) => self.console.out(&line),
            (true, true) => self.console.err(&line),
            (true, false) => return,
        }
        self.console.flush();
    }

    fn progress(&mut self, snapshot: &Snapshot) {
        if self.progress {
            self.console.progress(snapshot);
        }
    }

    fn wants_events(&self) -> bool {
        self.verbose
    }

    fn event(&mut self, e: &ConnEvent) {
        self.console.err(&format!("{}\n", event_line(e)));
    }

    fn dialing_stopped(&mut self, s: &Snapshot) {
        if self.progress {
            self.console.batch.push(Piece::DialingStopped(*s));
        }
    }

    fn interrupted(&mut self, s: &Snapshot, what: Interruption) {
        if self.progress {
            self.console.batch.push(Piece::Interrupted(*s, what));
        }
        self.console.err(&format!("{}\n", interruption_line(what)));
        self.console.flush();
    }

    fn flush(&mut self) {
        self.console.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_one_stream_join_and_streams_keep_their_order() {
        let mut c = Console {
            batch: Vec::new(),
            tx: None,
            writer: None,
        };
        c.push("a", true);
        c.push("b", true);
        c.push("x", false);
        c.push("c", true);
        let shape: Vec<String> = c
            .batch
            .iter()
            .map(|p| match p {
                Piece::Out(s) => format!("out:{s}"),
                Piece::Err(s) => format!("err:{s}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(shape, ["out:ab", "err:x", "out:c"]);
        c.batch.clear();
    }
}
