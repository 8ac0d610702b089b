//! The verdict: what a run's results mean for the process exit code a CI pipeline reads.
//!
//! Only results come in; no socket, no text. The rule is the Go tool's, kept so that existing
//! pipelines keep working: a run that did not complete is 1, a completed run with a failed
//! connection is 2, anything else 0. Thresholds join it here.

use crate::results::Counts;

/// Exit code: every connection ended Established or Closed, none pending.
pub const EXIT_OK: i32 = 0;
/// Exit code: the run did not complete or could not start.
pub const EXIT_INCOMPLETE: i32 = 1;
/// Exit code: the run completed and some connection ended in Error.
pub const EXIT_ERRORS: i32 = 2;

/// The process exit code the Go tool used for a run that ended with `counts`: 1 when some
/// connection was never dialed (not started, or not openable on this machine) or was still
/// dialing, else 2 when some failed, else 0.
pub fn exit_code(counts: &Counts) -> i32 {
    if counts.pending() {
        EXIT_INCOMPLETE
    } else if counts.error > 0 {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ConnState;

    #[test]
    fn exit_codes_follow_the_go_tool() {
        let mut c = Counts::new(2);
        assert_eq!(exit_code(&c), 1);
        c.shift(ConnState::NotInitiated, ConnState::Error);
        assert_eq!(
            exit_code(&c),
            1,
            "pending wins over errors, as in the Go tool"
        );
        c.shift(ConnState::NotInitiated, ConnState::Established);
        assert_eq!(exit_code(&c), 2);
        c.shift(ConnState::Error, ConnState::Closed);
        assert_eq!(exit_code(&c), 0);
        c.shift(ConnState::Closed, ConnState::LocalError);
        assert_eq!(
            exit_code(&c),
            1,
            "a connection not openable here was never dialed"
        );
        assert_eq!(c.not_dialed(), 1);
    }
}
