//! Durations printed exactly as Go's `time.Duration.String()` prints them.
//!
//! Users of the Go tcpgoon grep its report lines (`min/avg/max/dev = 86µs/...`), so the numbers
//! must keep Go's shape: `0s`, `86µs`, `15.23ms`, `1.076678s`, `2m3.5s`, `1h0m0s`. The report
//! truncates to microseconds first, as the Go tool did; this module formats whatever it is given.

use std::fmt::Write;
use std::time::Duration;

/// Truncates to whole microseconds (Go's `d.Truncate(time.Microsecond)`).
pub fn truncate_micros(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros() as u64)
}

/// Formats `d` like Go's `Duration.String()`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    let mut out = String::new();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        // Below one second Go picks the largest unit that keeps an integer part.
        let (scale, unit) = if nanos < 1_000 {
            (1, "ns")
        } else if nanos < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        push_fixed(&mut out, nanos, scale);
        out.push_str(unit);
        return out;
    }
    let total_secs = nanos / 1_000_000_000;
    let hours = total_secs / 3600;
    let minutes = (total_secs / 60) % 60;
    if hours > 0 {
        let _ = write!(out, "{hours}h{minutes}m");
    } else if minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    push_fixed(&mut out, nanos % 60_000_000_000, 1_000_000_000);
    out.push('s');
    out
}

/// Appends `value / scale` with the fraction's trailing zeros (and a bare point) removed.
fn push_fixed(out: &mut String, value: u128, scale: u128) {
    let _ = write!(out, "{}", value / scale);
    let frac = value % scale;
    if frac == 0 {
        return;
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    out.push('.');
    out.push_str(digits.trim_end_matches('0'));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(v: u64) -> Duration {
        Duration::from_nanos(v)
    }

    #[test]
    fn matches_go_for_the_documented_examples() {
        assert_eq!(go_duration(ns(0)), "0s");
        assert_eq!(go_duration(Duration::from_micros(86)), "86µs");
        assert_eq!(go_duration(Duration::from_micros(15_230)), "15.23ms");
        assert_eq!(go_duration(Duration::from_micros(1_076_678)), "1.076678s");
        assert_eq!(go_duration(Duration::from_millis(123_500)), "2m3.5s");
    }

    #[test]
    fn matches_go_at_unit_boundaries() {
        assert_eq!(go_duration(ns(1)), "1ns");
        assert_eq!(go_duration(ns(999)), "999ns");
        assert_eq!(go_duration(ns(1_000)), "1µs");
        assert_eq!(go_duration(ns(1_500)), "1.5µs");
        assert_eq!(go_duration(ns(999_999)), "999.999µs");
        assert_eq!(go_duration(ns(1_000_000)), "1ms");
        assert_eq!(go_duration(ns(1_000_001)), "1.000001ms");
        assert_eq!(go_duration(ns(999_999_999)), "999.999999ms");
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_secs(3661)), "1h1m1s");
        assert_eq!(go_duration(ns(61_000_000_001)), "1m1.000000001s");
        assert_eq!(go_duration(Duration::from_secs(100 * 3600)), "100h0m0s");
    }

    #[test]
    fn truncation_drops_sub_microsecond_parts() {
        assert_eq!(truncate_micros(ns(86_999)), Duration::from_micros(86));
        assert_eq!(go_duration(truncate_micros(ns(15_230_999))), "15.23ms");
        assert_eq!(go_duration(truncate_micros(ns(999))), "0s");
    }
}
