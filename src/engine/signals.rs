//! SIGINT and SIGTERM delivered as readable events of the poll loop, through a `signalfd`.
//!
//! The engine is one thread and one `mio::Poll`; a signal handler would have to talk to it
//! through shared flags. Instead the two signals are blocked for the process and read from a
//! signalfd registered like any socket, so "stop starting connections" and "end now" are
//! ordinary events handled between two batches, with no handler and no race.

use std::io;
use std::os::fd::AsRawFd;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// A signalfd for SIGINT and SIGTERM. While it exists the two signals do not kill the process;
/// dropping it restores the previous signal mask, unless [`Signals::for_process`] made it.
#[derive(Debug)]
pub struct Signals {
    fd: SignalFd,
    /// The mask to restore on drop; `None` keeps the signals blocked.
    previous: Option<SigSet>,
}

impl Signals {
    /// Blocks SIGINT and SIGTERM for this thread and opens a non-blocking signalfd for them.
    /// Call it before any other thread is spawned, so that every thread inherits the mask, or
    /// block the signals in that thread (the report's writer thread blocks every signal).
    pub fn install() -> io::Result<Signals> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        let mut previous = SigSet::empty();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut previous))?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Signals {
            fd,
            previous: Some(previous),
        })
    }

    /// The same for a process that ends after the run: the signals stay blocked when this is
    /// dropped, so that one arriving while the report is written (a second Ctrl-C, or `timeout`
    /// signalling the child and then its process group) is discarded at exit instead of
    /// killing the process before its report is out.
    pub fn for_process() -> io::Result<Signals> {
        let mut signals = Signals::install()?;
        signals.previous = None;
        Ok(signals)
    }

    /// Registers the signalfd with `registry` under `token`.
    pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.fd.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    /// Reads every pending signal and returns how many arrived.
    pub fn drain(&mut self) -> usize {
        let mut n = 0;
        while let Ok(Some(_)) = self.fd.read_signal() {
            n += 1;
        }
        n
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        // Signals that arrived while blocked would be delivered (and kill us) when unblocked:
        // read them first so the process ends as the run decided.
        let _ = self.drain();
        if let Some(previous) = &self.previous {
            let _ =
                nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(previous), None);
        }
    }
}
