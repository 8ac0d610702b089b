//! The flags of the end-to-end checks and the verdict: `--send`, `--expect*`, `--keepalive`,
//! `--probe-*` and `--threshold`, from text to plain data. No I/O: `--send @FILE` is left as a
//! path for the caller to read.

use std::path::PathBuf;
use std::time::Duration;

use super::flags::RunFlags;
use super::validate::duration;
use crate::config::{
    Bound, Checks, Expect, Keepalive, Metric, Op, Stat, Threshold, MAX_CHECK_BYTES,
};
use crate::units::{parse_count, parse_duration, parse_escaped, quoted, Unit};

/// The checks asked for, and the file whose bytes `--send @FILE` names (to be read before the
/// run).
pub(super) fn checks(raw: &RunFlags) -> Result<(Checks, Option<PathBuf>), String> {
    let mut send_file = None;
    let send = match raw.send.as_deref() {
        Some("@") => {
            return Err("--send @ names no file (@FILE sends a file; write \\@ or \\x40 for a text that starts with @)".to_string())
        }
        Some(text) => match text.strip_prefix('@') {
            Some(path) => {
                send_file = Some(PathBuf::from(path));
                None
            }
            None => Some(bytes("--send", text)?),
        },
        None => None,
    };
    let expect = match (&raw.expect, raw.expect_data) {
        (Some(text), _) => Some(Expect::Bytes(bytes("--expect", text)?)),
        (None, true) => Some(Expect::AnyData),
        (None, false) => None,
    };
    let expect_timeout = duration(
        "--expect-timeout",
        &raw.expect_timeout,
        Unit::Seconds,
        "at least 1ms",
    )?;
    if expect_timeout < Duration::from_millis(1) {
        return Err(format!(
            "--expect-timeout must be at least 1ms (got {})",
            raw.expect_timeout.trim()
        ));
    }
    let probe_timeout = duration(
        "--probe-timeout",
        &raw.probe_timeout,
        Unit::Seconds,
        "at least 1ms",
    )?;
    if probe_timeout < Duration::from_millis(1) {
        return Err(format!(
            "--probe-timeout must be at least 1ms (got {})",
            raw.probe_timeout.trim()
        ));
    }
    let keepalive = raw.keepalive.as_deref().map(keepalive).transpose()?;
    Ok((
        Checks {
            send,
            expect,
            expect_timeout,
            keepalive,
            probe_at_end: raw.probe_at_end.then_some(probe_timeout),
        },
        send_file,
    ))
}

/// The bytes of `--send` or `--expect`, at most [`MAX_CHECK_BYTES`].
pub(super) fn bytes(flag: &str, text: &str) -> Result<Vec<u8>, String> {
    let bytes = parse_escaped(text).map_err(|e| format!("{flag} {e}"))?;
    if bytes.len() > MAX_CHECK_BYTES {
        return Err(format!(
            "{flag} takes at most {MAX_CHECK_BYTES} bytes (got {})",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// `IDLE[,INTERVAL[,COUNT]]`, whole seconds (the kernel's unit for keepalive times): IDLE and
/// INTERVAL 1 to 32767 (TCP_KEEPIDLE's and TCP_KEEPINTVL's limit), COUNT 1 to 127
/// (TCP_KEEPCNT's). Whatever is wrong with a part, the message gives its range.
fn keepalive(text: &str) -> Result<Keepalive, String> {
    const USAGE: &str = "give IDLE[,INTERVAL[,COUNT]] in whole seconds, e.g. 30 or 30s,5s,3";
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "--keepalive is not a keepalive (got {}; {USAGE})",
            quoted(text)
        ));
    }
    let seconds = |what: &str, part: &str| -> Result<Duration, String> {
        parse_duration(part, Unit::Seconds)
            .ok()
            .filter(|d| {
                *d >= Duration::from_secs(1) && d.subsec_nanos() == 0 && d.as_secs() <= 32_767
            })
            .ok_or_else(|| {
                format!(
                    "--keepalive {what} must be a whole number of seconds from 1 to 32767 (got {}; {USAGE})",
                    quoted(part)
                )
            })
    };
    let idle = seconds("idle", parts[0])?;
    let interval = match parts.get(1) {
        Some(p) => seconds("interval", p)?,
        None => Duration::from_secs(1),
    };
    let count = match parts.get(2) {
        Some(p) => match p.parse::<u32>() {
            Ok(n @ 1..=127) => n,
            _ => {
                return Err(format!(
                    "--keepalive count must be a whole number from 1 to 127 (got {}; {USAGE})",
                    quoted(p)
                ))
            }
        },
        None => 3,
    };
    Ok(Keepalive {
        idle,
        interval,
        count,
    })
}

const METRICS: &str =
    "established, held, verified, closed, closed_at_once, errors, retransmitted, \
    alive, connect_p50/p90/p99/max, first_byte_p50/p90/p99/max, lifetime_min/p50/p90/max";

/// One `--threshold`: `METRIC OP VALUE`, spaces allowed around the operator. The operator is
/// the first run of `<`, `>`, `=` and `!`: one that is none of the five (`=>`, `=<`, `=`, `!=`)
/// is named as such, with the one meant when it is plain.
pub(super) fn threshold(text: &str) -> Result<Threshold, String> {
    let expr: String = text.split_whitespace().collect();
    let bad = |why: String| format!("--threshold {}: {why}", quoted(text));
    let is_op = |c: char| matches!(c, '<' | '>' | '=' | '!');
    let at = expr.find(is_op).ok_or_else(|| {
        bad("no comparison; write METRIC OP VALUE, e.g. held>=100% or connect_p99<50ms".to_string())
    })?;
    let len = expr[at..].find(|c| !is_op(c)).unwrap_or(expr.len() - at);
    let op = match &expr[at..at + len] {
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "==" => Op::Eq,
        other => {
            let meant = match other {
                "=>" => "; did you mean >=?",
                "=<" => "; did you mean <=?",
                "=" => "; did you mean ==?",
                _ => "",
            };
            return Err(bad(format!(
                "unknown operator {} (use <, <=, >, >= or =={meant})",
                quoted(other)
            )));
        }
    };
    let (name, value) = (&expr[..at], &expr[at + len..]);
    let metric = metric(name).ok_or_else(|| {
        bad(format!(
            "unknown metric {}; metrics: {METRICS}",
            quoted(name)
        ))
    })?;
    if value.is_empty() {
        return Err(bad("no value after the comparison".to_string()));
    }
    let timed = matches!(
        metric,
        Metric::Connect(_) | Metric::FirstByte(_) | Metric::Lifetime(_)
    );
    let value = if timed {
        if value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!(
                "{name} is a duration: give a unit, e.g. {value}ms"
            )));
        }
        Bound::Time(parse_duration(value, Unit::Millis).map_err(|e| bad(format!("the value {e}")))?)
    } else if let Some(p) = value.strip_suffix('%') {
        let pct: f64 = p
            .parse()
            .ok()
            .filter(|v: &f64| (0.0..=100.0).contains(v))
            .ok_or_else(|| {
                bad(format!(
                    "a percentage must be 0% to 100% (got {})",
                    quoted(value)
                ))
            })?;
        Bound::Percent(pct)
    } else {
        Bound::Count(parse_count(value, u64::MAX).map_err(|e| {
            bad(format!(
                "{name} is a count of connections or a percentage; the value {e}"
            ))
        })?)
    };
    Ok(Threshold {
        expr,
        metric,
        op,
        value,
    })
}

/// Refuses a threshold on a metric the run does not measure: without `--probe-at-end` nothing
/// is alive, without `--expect*` nothing is verified and no first byte is timed, so such a
/// threshold could only fail (or, bounded from above, pass for nothing).
pub(super) fn measurable(t: &Threshold, checks: &Checks) -> Result<(), String> {
    let needs = match t.metric {
        Metric::Alive if checks.probe_at_end.is_none() => Some((
            "--probe-at-end",
            "alive counts the connections that answered the end-of-hold probe",
        )),
        Metric::Verified if checks.expect.is_none() => Some((
            "--expect TEXT or --expect-data",
            "verified counts the connections that received the expected data",
        )),
        Metric::FirstByte(_) if checks.expect.is_none() => Some((
            "--expect TEXT or --expect-data",
            "first_byte_* times the first byte the check waits for",
        )),
        _ => None,
    };
    match needs {
        Some((flag, why)) => Err(format!("--threshold {} needs {flag} ({why})", t.expr)),
        None => Ok(()),
    }
}

/// A metric thresholds accept: every named one but the minimum connect and first-byte times
/// (a run's fastest handshake says nothing about the target).
fn metric(name: &str) -> Option<Metric> {
    Metric::from_name(name)
        .filter(|m| !matches!(m, Metric::Connect(Stat::Min) | Metric::FirstByte(Stat::Min)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse() {
        let t = threshold("held>=100%").unwrap();
        assert_eq!(
            (t.metric, t.op, t.value),
            (Metric::Held, Op::Ge, Bound::Percent(100.0))
        );
        let t = threshold("connect_p99 < 50ms").unwrap();
        assert_eq!(t.expr, "connect_p99<50ms");
        assert_eq!(
            (t.metric, t.op, t.value),
            (
                Metric::Connect(Stat::P99),
                Op::Lt,
                Bound::Time(Duration::from_millis(50))
            )
        );
        assert_eq!(
            threshold("verified>=9990").unwrap().value,
            Bound::Count(9990)
        );
        assert_eq!(threshold("closed==0").unwrap().op, Op::Eq);
        assert_eq!(threshold("errors<=1%").unwrap().value, Bound::Percent(1.0));
        assert_eq!(
            threshold("lifetime_min>=30s").unwrap().metric,
            Metric::Lifetime(Stat::Min)
        );
        assert_eq!(threshold("first_byte_p90<=1.5s").unwrap().op, Op::Le);
        assert_eq!(threshold("alive>10k").unwrap().value, Bound::Count(10_000));
    }

    #[test]
    fn bad_thresholds_say_why() {
        for (text, want) in [
            ("held", "no comparison"),
            ("holds>=1", "unknown metric \"holds\""),
            ("connect_p99<50", "give a unit"),
            ("held>=120%", "0% to 100%"),
            ("held>=", "no value"),
            ("held>=lots", "a count of connections or a percentage"),
            ("connect_min<1ms", "unknown metric"),
        ] {
            let err = threshold(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.starts_with("--threshold"), "{err}");
        }
    }

    #[test]
    fn keepalive_takes_whole_seconds() {
        let k = keepalive("30").unwrap();
        assert_eq!(
            (k.idle, k.interval, k.count),
            (Duration::from_secs(30), Duration::from_secs(1), 3)
        );
        assert_eq!(k.give_up_after(), Duration::from_secs(33));
        let k = keepalive("1m,5s,4").unwrap();
        assert_eq!(
            (k.idle.as_secs(), k.interval.as_secs(), k.count),
            (60, 5, 4)
        );
        for bad in [
            "", "0", "500ms", "1.5", "5,0", "5,1,0", "5,1,200", "1,2,3,4", "x",
        ] {
            let err = keepalive(bad).unwrap_err();
            assert!(err.starts_with("--keepalive"), "{bad}: {err}");
        }
    }

    /// Every out-of-range value of a part gets the one message with the real range: 99999999
    /// said "too large (got 99999999, at most 2592000s)" while the limit is 32767.
    #[test]
    fn keepalive_ranges_are_the_kernels() {
        let usage = "; give IDLE[,INTERVAL[,COUNT]] in whole seconds, e.g. 30 or 30s,5s,3)";
        for (what, text, part) in [
            ("idle", "99999999", "99999999"),
            ("idle", "32768", "32768"),
            ("idle", "9999h", "9999h"),
            ("idle", "0", "0"),
            ("idle", "-5", "-5"),
            ("idle", "1.5", "1.5"),
            ("idle", "soon", "soon"),
            ("interval", "5,99999999", "99999999"),
            ("interval", "5,32768s", "32768s"),
            ("interval", "5,0", "0"),
        ] {
            assert_eq!(
                keepalive(text).unwrap_err(),
                format!(
                    "--keepalive {what} must be a whole number of seconds from 1 to 32767 (got \"{part}\"{usage}"
                ),
                "{text}"
            );
        }
        for (text, part) in [
            ("5,1,0", "0"),
            ("5,1,128", "128"),
            ("5,1,99999999999", "99999999999"),
            ("5,1,-1", "-1"),
            ("5,1,3s", "3s"),
        ] {
            assert_eq!(
                keepalive(text).unwrap_err(),
                format!(
                    "--keepalive count must be a whole number from 1 to 127 (got \"{part}\"{usage}"
                ),
                "{text}"
            );
        }
        assert_eq!(keepalive("32767,32767,127").unwrap().count, 127);
    }
}
