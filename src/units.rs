//! Parsing of the human-facing quantities on the command line: durations and counts.
//!
//! The Go tool took bare integers in a fixed unit per flag (`-s 10` is ten milliseconds, `-i 1`
//! one second). Scripts rely on that, so a bare number keeps the flag's old unit, while a value
//! with a unit suffix (`250ms`, `2s`, `1m30s`) means what it says. Counts accept `k` and `m`
//! suffixes (`10k`). Every parse error names the flag and says what a valid value looks like.

use std::time::Duration;

/// The unit a bare number stands for, per flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds (`--sleep`, `--dial-timeout`).
    Millis,
    /// Seconds (`--interval`, `--hold`, `server --duration`).
    Seconds,
}

impl Unit {
    fn nanos(self) -> u128 {
        match self {
            Unit::Millis => 1_000_000,
            Unit::Seconds => 1_000_000_000,
        }
    }
}

/// The longest duration any flag accepts: 30 days. Longer values are almost certainly typos
/// (a bare `-s 86400000`), and a bound keeps every derived deadline far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why a value could not be read. The caller adds the flag's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// The text is empty.
    #[error("is empty")]
    Empty,
    /// A minus sign before a valid value: times and counts are never negative. (A minus sign
    /// before anything else, `-abc`, is [`UnitError::Invalid`].)
    #[error("must not be negative (got {0})")]
    Negative(String),
    /// Not a number with an optional unit.
    #[error("is not a valid {what} (got {}; {hint})", quoted(text))]
    Invalid {
        /// "duration" or "count".
        what: &'static str,
        /// What was typed.
        text: String,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// Larger than the accepted maximum.
    #[error("is too large (got {text}, at most {max})")]
    TooLarge {
        /// What was typed.
        text: String,
        /// The maximum, as text.
        max: String,
    },
}

const DURATION_HINT: &str = "use a whole number, or a number with a unit: 500ms, 2s, 1m30s";
const COUNT_HINT: &str = "use a whole number, optionally with k or m: 500, 10k, 1.5m";

/// The text after a leading minus sign, if it starts like a number (`-5`, `-.5s`): only such a
/// text is a negative value; `-abc` or `--5` is no number at all.
fn negated(t: &str) -> Option<&str> {
    t.strip_prefix('-')
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
}

/// Parses a duration. A bare number (`10`) is in `bare`'s unit; otherwise a sequence of
/// `<number><unit>` parts with units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h` (`1m30s`, `1.5s`).
pub fn parse_duration(text: &str, bare: Unit) -> Result<Duration, UnitError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(UnitError::Empty);
    }
    if let Some(magnitude) = negated(t) {
        return match parse_duration(magnitude, bare) {
            Ok(_) | Err(UnitError::TooLarge { .. }) => Err(UnitError::Negative(t.to_string())),
            Err(_) => Err(UnitError::Invalid {
                what: "duration",
                text: t.to_string(),
                hint: DURATION_HINT,
            }),
        };
    }
    let invalid = || UnitError::Invalid {
        what: "duration",
        text: t.to_string(),
        hint: DURATION_HINT,
    };
    let too_large = || UnitError::TooLarge {
        text: t.to_string(),
        max: format!("{}s", MAX_DURATION.as_secs()),
    };
    let t = t.strip_prefix('+').unwrap_or(t);
    // A bare whole number: the flag's historical unit.
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let n: u128 = t.parse().map_err(|_| too_large())?;
        let nanos = n.checked_mul(bare.nanos()).ok_or_else(too_large)?;
        return finish(nanos).ok_or_else(too_large);
    }
    let mut total: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(invalid());
        }
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(invalid()), // "1m30": a trailing bare number is ambiguous
            _ => return Err(invalid()),
        };
        total = total
            .checked_add(scaled(num, scale).ok_or_else(invalid)?)
            .ok_or_else(too_large)?;
        rest = next;
    }
    finish(total).ok_or_else(too_large)
}

/// `num` (digits with at most one '.') times `scale` nanoseconds, truncated to whole nanoseconds.
fn scaled(num: &str, scale: u128) -> Option<u128> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let int_v: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int_v.checked_mul(scale)?;
    let mut place = scale;
    for d in frac.bytes().take(30) {
        place /= 10;
        value += u128::from(d - b'0') * place;
    }
    Some(value)
}

fn finish(nanos: u128) -> Option<Duration> {
    if nanos > MAX_DURATION.as_nanos() {
        return None;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// Parses a count: a whole number with an optional `k` (thousand) or `m` (million) suffix,
/// and `_` or `,` allowed as digit separators (`10k`, `1.5k`, `20_000`). At most `max`.
pub fn parse_count(text: &str, max: u64) -> Result<u64, UnitError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(UnitError::Empty);
    }
    let invalid = || UnitError::Invalid {
        what: "count",
        text: t.to_string(),
        hint: COUNT_HINT,
    };
    if let Some(magnitude) = negated(t) {
        return match parse_count(magnitude, u64::MAX) {
            Ok(_) | Err(UnitError::TooLarge { .. }) => Err(UnitError::Negative(t.to_string())),
            Err(_) => Err(invalid()),
        };
    }
    let cleaned: String = t.chars().filter(|c| *c != '_' && *c != ',').collect();
    let (num, mult) = match cleaned.char_indices().last() {
        Some((i, 'k' | 'K')) => (&cleaned[..i], 1_000u128),
        Some((i, 'm' | 'M')) => (&cleaned[..i], 1_000_000u128),
        _ => (&cleaned[..], 1u128),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(invalid());
    }
    // Reuse the fixed-point reader: scale by 10^9 so fractions like 1.5k stay exact.
    let nano = scaled(num, mult * 1_000_000_000).ok_or_else(invalid)?;
    if nano % 1_000_000_000 != 0 {
        return Err(invalid()); // 1.0005k is not a whole count
    }
    let value = nano / 1_000_000_000;
    if value > u128::from(max) {
        return Err(UnitError::TooLarge {
            text: t.to_string(),
            max: max.to_string(),
        });
    }
    Ok(value as u64)
}

/// A text the user typed, for a message: in double quotes and as typed (backslashes and quotes
/// are not doubled, unlike `{:?}`), so that `--send 'a\x'` shows as `"a\x"`. Only control
/// characters, which would break the one-line message, are written as escapes.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Why a text with escapes (`--send`, `--expect`, `server --banner`) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    /// A backslash followed by something that is not an escape.
    #[error("has an unknown escape {} (use \\r \\n \\t \\\\ \\@ or \\xHH)", quoted(.0))]
    Unknown(String),
    /// A backslash at the very end, escaping nothing.
    #[error("ends with a lone backslash (write \\\\ for a backslash)")]
    TrailingBackslash,
    /// `\x` not followed by two hexadecimal digits.
    #[error("has \\x without two hexadecimal digits after it (got {}; e.g. \\x00, \\xff)", quoted(.0))]
    BadHex(String),
    /// Nothing to send or expect.
    #[error("is empty")]
    Empty,
}

/// Reads the bytes of a text with escapes: `\r`, `\n`, `\t`, `\\`, `\@` (an `@`, so that
/// `--send` sends a text starting with one rather than a file) and `\xHH` (any byte);
/// everything else is taken as it is (UTF-8). `GET / HTTP/1.0\r\n\r\n` is an HTTP request.
pub fn parse_escaped(text: &str) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some((_, 'r')) => out.push(b'\r'),
            Some((_, 'n')) => out.push(b'\n'),
            Some((_, 't')) => out.push(b'\t'),
            Some((_, '\\')) => out.push(b'\\'),
            Some((_, '@')) => out.push(b'@'),
            Some((_, 'x')) => {
                let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                let byte = (hex.len() == 2)
                    .then(|| u8::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| EscapeError::BadHex(format!("\\x{hex}")))?;
                out.push(byte);
            }
            Some((_, other)) => return Err(EscapeError::Unknown(format!("\\{other}"))),
            None => return Err(EscapeError::TrailingBackslash),
        }
    }
    if out.is_empty() {
        return Err(EscapeError::Empty);
    }
    Ok(out)
}

/// Bytes as a short, readable text for messages: printable ASCII as it is, the escapes
/// [`parse_escaped`] reads for the rest, cut after `max` bytes with `...`.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn bare_numbers_keep_the_flags_unit() {
        assert_eq!(parse_duration("10", Unit::Millis), Ok(ms(10)));
        assert_eq!(parse_duration("0", Unit::Millis), Ok(ms(0)));
        assert_eq!(parse_duration("2", Unit::Seconds), Ok(ms(2000)));
    }

    #[test]
    fn units_mean_what_they_say() {
        assert_eq!(parse_duration("250ms", Unit::Seconds), Ok(ms(250)));
        assert_eq!(parse_duration("2s", Unit::Millis), Ok(ms(2000)));
        assert_eq!(parse_duration("1m30s", Unit::Millis), Ok(ms(90_000)));
        assert_eq!(parse_duration("1.5s", Unit::Millis), Ok(ms(1500)));
        assert_eq!(parse_duration("1h", Unit::Millis), Ok(ms(3_600_000)));
        assert_eq!(
            parse_duration("200us", Unit::Millis),
            Ok(Duration::from_micros(200))
        );
        assert_eq!(
            parse_duration("200µs", Unit::Millis),
            Ok(Duration::from_micros(200))
        );
        assert_eq!(
            parse_duration("7ns", Unit::Millis),
            Ok(Duration::from_nanos(7))
        );
        assert_eq!(parse_duration(" 3s ", Unit::Millis), Ok(ms(3000)));
    }

    #[test]
    fn bad_durations_are_rejected() {
        assert!(matches!(
            parse_duration("-5", Unit::Millis),
            Err(UnitError::Negative(_))
        ));
        assert!(matches!(
            parse_duration("", Unit::Millis),
            Err(UnitError::Empty)
        ));
        // A minus sign before a valid duration is a negative one; before anything else, the
        // text is simply not a duration.
        for negative in ["-1s", "-1m30s", "-1.5s", "-10"] {
            assert_eq!(
                parse_duration(negative, Unit::Millis),
                Err(UnitError::Negative(negative.to_string())),
                "{negative}"
            );
        }
        for bad in ["-abc", "-x", "--5", "-+5", "-", "-s"] {
            assert!(
                matches!(
                    parse_duration(bad, Unit::Millis),
                    Err(UnitError::Invalid { ref text, .. }) if text == bad
                ),
                "{bad}"
            );
        }
        for bad in ["abc", "5x", "1m30", "s", "1..5s", ".s", "5 s s"] {
            assert!(
                matches!(
                    parse_duration(bad, Unit::Millis),
                    Err(UnitError::Invalid { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_duration("31d", Unit::Millis),
            Err(UnitError::Invalid { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999999999", Unit::Seconds),
            Err(UnitError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_duration("800h", Unit::Seconds),
            Err(UnitError::TooLarge { .. })
        ));
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("100", u64::MAX), Ok(100));
        assert_eq!(parse_count("10k", u64::MAX), Ok(10_000));
        assert_eq!(parse_count("1.5k", u64::MAX), Ok(1_500));
        assert_eq!(parse_count("2M", u64::MAX), Ok(2_000_000));
        assert_eq!(parse_count("20_000", u64::MAX), Ok(20_000));
        assert!(matches!(parse_count("-5", 10), Err(UnitError::Negative(_))));
        assert!(matches!(
            parse_count("-1.5k", 10),
            Err(UnitError::Negative(_))
        ));
        for bad in ["-abc", "-k", "--5", "-"] {
            assert!(
                matches!(parse_count(bad, 10), Err(UnitError::Invalid { ref text, .. }) if text == bad),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_count("1.0005k", 1 << 40),
            Err(UnitError::Invalid { .. })
        ));
        assert!(matches!(
            parse_count("ten", 10),
            Err(UnitError::Invalid { .. })
        ));
        assert!(matches!(
            parse_count("11", 10),
            Err(UnitError::TooLarge { .. })
        ));
    }

    #[test]
    fn quoted_shows_the_text_as_typed() {
        assert_eq!(quoted("a\\x\"b"), "\"a\\x\"b\"");
        assert_eq!(quoted("é\n"), "\"é\\n\"");
        assert_eq!(quoted(""), "\"\"");
    }

    #[test]
    fn escapes_read_and_write_back() {
        assert_eq!(
            parse_escaped("GET / HTTP/1.0\\r\\n\\r\\n").unwrap(),
            b"GET / HTTP/1.0\r\n\r\n"
        );
        assert_eq!(
            parse_escaped("a\\tb\\\\c\\x00\\xFF").unwrap(),
            b"a\tb\\c\x00\xff"
        );
        assert_eq!(parse_escaped("é").unwrap(), "é".as_bytes());
        assert_eq!(parse_escaped("\\@me").unwrap(), b"@me");
        assert_eq!(
            parse_escaped("\\q"),
            Err(EscapeError::Unknown("\\q".to_string()))
        );
        assert_eq!(parse_escaped("ab\\"), Err(EscapeError::TrailingBackslash));
        assert_eq!(
            EscapeError::TrailingBackslash.to_string(),
            "ends with a lone backslash (write \\\\ for a backslash)"
        );
        assert_eq!(
            EscapeError::BadHex("\\x".to_string()).to_string(),
            "has \\x without two hexadecimal digits after it (got \"\\x\"; e.g. \\x00, \\xff)"
        );
        assert_eq!(
            parse_escaped("\\x4"),
            Err(EscapeError::BadHex("\\x4".to_string()))
        );
        assert_eq!(
            parse_escaped("\\xzz"),
            Err(EscapeError::BadHex("\\xzz".to_string()))
        );
        assert_eq!(parse_escaped(""), Err(EscapeError::Empty));
        let raw = b"HTTP/1.1 503\r\n\x00\xfe";
        assert_eq!(escape_bytes(raw, 100), "HTTP/1.1 503\\r\\n\\x00\\xfe");
        assert_eq!(parse_escaped(&escape_bytes(raw, 100)).unwrap(), raw);
        assert_eq!(escape_bytes(b"abcdef", 3), "abc...");
    }
}
