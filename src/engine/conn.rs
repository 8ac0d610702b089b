//! One connection's slot in the engine's slab, and the peak of connections established at once.
//!
//! A connection is dialing or established while it is here (one that fails or is closed by the
//! far side leaves the slab, its counts having moved): its socket, its number, one time, one
//! timer, its phase and the progress of its end-to-end check, 32 bytes in all, the whole memory
//! cost of a held connection.

use mio::net::TcpStream;

use super::wheel::TimerKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Handshake in progress.
    Dialing,
    /// Handshake done; watching for the far side's close.
    Established,
}

/// Where a connection's end-to-end check stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// No byte received yet.
    Awaiting,
    /// Some bytes received, all matching `--expect` so far.
    Matching,
    /// Decided (verified, mismatched, timed out), or nothing to check any more.
    Done,
}

/// One connection that is dialing or established (closed and failed ones leave the slab).
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    /// Dial order, from 0 (a run has at most 100,000,000 connections).
    pub(super) index: u32,
    /// Nanoseconds since the run's start of the `connect()` call while dialing, of the
    /// establishment afterwards.
    pub(super) since_ns: u64,
    /// The dial timeout while dialing; the `--expect-timeout` while the expected data is
    /// awaited (armed exactly then).
    pub(super) timer: TimerKey,
    /// Bytes of `--send` written so far.
    pub(super) sent: u16,
    /// Bytes of `--expect` received and matched so far.
    pub(super) matched: u16,
    pub(super) phase: Phase,
    pub(super) check: Check,
}

/// The peak of simultaneously established connections, where one batch of events (one poll) is
/// one moment: a connection established in a batch counts together with those the far side
/// closed in the same batch, whatever the order of the events within it (see
/// [`RunResult::max_established`](crate::results::RunResult::max_established)). Order within a batch says nothing about order in time, so
/// the peak is the count before the batch plus every establishment in it.
#[derive(Debug, Default)]
pub(super) struct Peak {
    pub(super) max: u64,
    /// Connections closed by the far side during the current batch.
    closed_in_batch: u64,
}

impl Peak {
    /// A new batch of events begins.
    #[inline]
    pub(super) fn new_moment(&mut self) {
        self.closed_in_batch = 0;
    }

    /// One connection was established; `established` counts it.
    #[inline]
    pub(super) fn established(&mut self, established: u64) {
        self.max = self.max.max(established + self.closed_in_batch);
    }

    /// The far side closed an established connection.
    #[inline]
    pub(super) fn closed(&mut self) {
        self.closed_in_batch += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory budget per held connection is one slab slot: `Conn` is 32 bytes. mio's
    /// `TcpStream` is a 4-byte fd, except that it carries a selector id when mio is built with
    /// debug assertions: Cargo.toml turns them off for mio in the dev and test profiles, so this
    /// holds (and is checked) under `cargo test` as in a release build.
    #[test]
    fn a_connection_fits_in_32_bytes() {
        let size = std::mem::size_of::<Conn>();
        let stream = std::mem::size_of::<TcpStream>();
        assert_eq!(
            stream, 4,
            "mio's TcpStream is more than an fd: is mio built with debug assertions?"
        );
        // Besides the stream (4): index (4), time (8), timer key (8), send and match progress
        // (2 + 2), phase and check (1 + 1).
        assert!(size <= 32, "Conn is {size} bytes, the stream {stream}");
    }

    /// Replays one batch of `opens` establishments and `closes` closures in the order given by
    /// `order` (true: an establishment), starting from `before` established connections.
    fn peak_of(before: u64, order: &[bool]) -> u64 {
        let mut peak = Peak::default();
        let mut established = 0;
        for _ in 0..before {
            established += 1;
            peak.established(established);
        }
        peak.new_moment();
        for &open in order {
            if open {
                established += 1;
                peak.established(established);
            } else {
                established -= 1;
                peak.closed();
            }
        }
        peak.max
    }

    /// The defect of issue 6: two held, a third established and the first two closed in one
    /// batch. The far side held three at once, whatever the order of the events.
    #[test]
    fn a_batch_counts_its_establishments_together_with_its_closures() {
        assert_eq!(peak_of(2, &[false, false, true]), 3);
        assert_eq!(peak_of(2, &[true, false, false]), 3);
        assert_eq!(peak_of(2, &[false, true, false]), 3);
        // Across batches, a closure before an establishment is a real drop.
        let mut peak = Peak::default();
        peak.established(1);
        peak.established(2);
        peak.new_moment();
        peak.closed();
        peak.closed();
        peak.new_moment();
        peak.established(1);
        assert_eq!(peak.max, 2);
    }

    proptest::proptest! {
        /// Any order of a batch gives the count before it plus its establishments.
        #[test]
        fn the_peak_does_not_depend_on_the_order_within_a_batch(
            before in 0u64..20,
            order in proptest::collection::vec(proptest::bool::ANY, 0..40),
        ) {
            let closes = order.iter().filter(|o| !**o).count() as u64;
            let opens = order.len() as u64 - closes;
            proptest::prop_assume!(closes <= before + opens);
            // Closures only of connections open at that point of the batch.
            let mut open_now = before as i64;
            for &o in &order {
                open_now += if o { 1 } else { -1 };
                proptest::prop_assume!(open_now >= 0);
            }
            proptest::prop_assert_eq!(peak_of(before, &order), before + opens);
        }
    }
}
