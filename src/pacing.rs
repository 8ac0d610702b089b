//! When each connection is due: the dial schedule as pure arithmetic.
//!
//! Pacing is a schedule, not a sleep: connection `i` is due at `i × interval` after the start of
//! the run (or `i / rate`), so the achieved rate does not drift with loop latency, and a late loop
//! catches up on exactly the connections that are due, never more. The Go tool slept `-s` ms
//! between connections, including after the last one; here the last connection is due at
//! `(n - 1) × interval` and nothing waits after it.

use std::time::Duration;

/// How new connections are spread over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// A fixed gap between consecutive connections (`--sleep`); zero means "as fast as allowed".
    Interval(Duration),
    /// Connections per second (`--rate`), strictly positive and finite.
    Rate(f64),
}

impl Pacing {
    /// Offset from the run's start, in nanoseconds, at which connection `i` (from 0) is due.
    #[inline]
    pub fn due_nanos(&self, i: u64) -> u64 {
        let ns = match *self {
            Pacing::Interval(gap) => u128::from(i) * gap.as_nanos(),
            // i / rate seconds; computed in f64 then rounded, exact to well under a microsecond
            // for any count and rate a run can have.
            Pacing::Rate(rate) => ((i as f64) * 1e9 / rate).round() as u128,
        };
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// True when every connection is due at once (`--sleep 0`).
    pub fn is_unpaced(&self) -> bool {
        matches!(*self, Pacing::Interval(d) if d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_schedule_has_no_trailing_sleep() {
        let p = Pacing::Interval(Duration::from_millis(10));
        assert_eq!(p.due_nanos(0), 0);
        assert_eq!(p.due_nanos(1), 10_000_000);
        assert_eq!(p.due_nanos(99), 990_000_000);
    }

    #[test]
    fn rate_schedule_is_exact_and_does_not_drift() {
        let p = Pacing::Rate(5000.0);
        assert_eq!(p.due_nanos(1), 200_000);
        assert_eq!(p.due_nanos(5000), 1_000_000_000);
        assert_eq!(p.due_nanos(9_999), 1_999_800_000);
        let third = Pacing::Rate(3.0);
        assert_eq!(third.due_nanos(1), 333_333_333);
        assert_eq!(third.due_nanos(3_000_000), 1_000_000_000_000_000);
    }

    #[test]
    fn schedule_is_monotonic() {
        for p in [
            Pacing::Rate(7.3),
            Pacing::Rate(123_456.0),
            Pacing::Interval(Duration::from_micros(3)),
        ] {
            let mut last = 0;
            for i in 0..10_000 {
                let d = p.due_nanos(i);
                assert!(d >= last);
                last = d;
            }
        }
        assert!(Pacing::Interval(Duration::ZERO).is_unpaced());
        assert!(!Pacing::Rate(1.0).is_unpaced());
    }
}
