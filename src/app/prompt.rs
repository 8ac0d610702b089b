//! The confirmation prompt, word for word as the Go tool printed it.
//!
//! A stress check against the wrong host is a mistake worth one question. Users answer it at a
//! terminal or from a pipe (`yes | tcpgoon ...`), and scripts pass `-y`. The prompt goes to
//! stdout; the answer is read line by line, ignoring surrounding spaces and a `\r`.

use std::io::{self, BufRead, Write};

/// What the user answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `y` or `yes`, in any case.
    Yes,
    /// `n`, `no` or an empty line.
    No,
    /// Standard input ended before an answer.
    NoInput,
}

/// Why the prompt could not be asked or answered.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The prompt could not be written.
    #[error("cannot write the prompt to standard output: {0}")]
    Write(io::Error),
    /// The answer could not be read: standard input is not readable (a directory), or not text.
    #[error("cannot read the answer to the prompt from standard input: {}", read_reason(.0))]
    Read(io::Error),
}

fn read_reason(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::InvalidData {
        "it is not UTF-8 text".to_string()
    } else {
        e.to_string()
    }
}

/// Prints the warning and asks until it gets an answer.
pub fn confirm(
    host: &str,
    port: u16,
    connections: u64,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<Answer, PromptError> {
    confirm_target(host, port, &connections.to_string(), input, out)
}

/// [`confirm`] for `find-limit`: the most connections it may open, and at what pace.
pub fn confirm_search(
    host: &str,
    port: u16,
    max: u64,
    pacing: &crate::config::Pacing,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<Answer, PromptError> {
    let connections = format!("up to {max}, {pacing}, until the target fails");
    confirm_target(host, port, &connections, input, out)
}

/// The Go tool's three lines for one target, the count as given.
fn confirm_target(
    host: &str,
    port: u16,
    connections: &str,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<Answer, PromptError> {
    let lines = [
        format!("Host: {host}"),
        format!("TCP Port: {port}"),
        format!("# of concurrent connections: {connections}"),
    ];
    confirm_lines(&lines, input, out)
}

/// [`confirm`] for several targets: a line per target (at most a screenful, then how many
/// more), and how their connections are used.
pub fn confirm_many(
    labels: &[String],
    connections: u64,
    spread: bool,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<Answer, PromptError> {
    const SHOWN: usize = 20;
    let mut lines: Vec<String> = labels
        .iter()
        .take(SHOWN)
        .map(|l| format!("Target: {l}"))
        .collect();
    if labels.len() > SHOWN {
        lines.push(format!("... and {} more targets", labels.len() - SHOWN));
    }
    lines.push(if spread {
        format!(
            "# of concurrent connections: {connections}, spread over {} targets",
            labels.len()
        )
    } else {
        format!(
            "# of concurrent connections: {connections} per target, one target after another ({} targets)",
            labels.len()
        )
    });
    confirm_lines(&lines, input, out)
}

/// The warning with `lines` in it, then the question until it gets an answer.
fn confirm_lines(
    lines: &[String],
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<Answer, PromptError> {
    let w = PromptError::Write;
    writeln!(
        out,
        "****************************** WARNING ******************************"
    )
    .map_err(w)?;
    writeln!(
        out,
        "* You are going to run a TCP stress check with these arguments:"
    )
    .map_err(w)?;
    for line in lines {
        writeln!(out, "*\t- {line}").map_err(w)?;
    }
    writeln!(
        out,
        "*********************************************************************"
    )
    .map_err(w)?;
    let mut line = String::new();
    loop {
        write!(out, "Do you want to continue? (y/N): ").map_err(w)?;
        out.flush().map_err(w)?;
        line.clear();
        if input.read_line(&mut line).map_err(PromptError::Read)? == 0 {
            writeln!(out, "Response not processed").map_err(w)?;
            return Ok(Answer::NoInput);
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(Answer::Yes),
            "n" | "no" | "" => return Ok(Answer::No),
            _ => writeln!(out, "\nSorry, response not recognized. Try again, please").map_err(w)?,
        }
    }
}

/// The line printed (after a blank line) when the user declines.
pub const ABORTED: &str = "*** Execution aborted as prompted by the user ***";

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(input: &str) -> (Answer, String) {
        let mut out = Vec::new();
        let a = confirm("localhost", 80, 100, &mut input.as_bytes(), &mut out).unwrap();
        (a, String::from_utf8(out).unwrap())
    }

    const HEADER: &str = "****************************** WARNING ******************************\n\
        * You are going to run a TCP stress check with these arguments:\n\
        *\t- Host: localhost\n\
        *\t- TCP Port: 80\n\
        *\t- # of concurrent connections: 100\n\
        *********************************************************************\n";

    #[test]
    fn yes_in_any_case_with_spaces() {
        for a in ["y\n", "YES\n", " Yes \r\n", "y"] {
            let (ans, out) = ask(a);
            assert_eq!(ans, Answer::Yes, "{a:?}");
            assert_eq!(out, format!("{HEADER}Do you want to continue? (y/N): "));
        }
    }

    #[test]
    fn no_and_empty_decline() {
        for a in ["n\n", "No\n", "\n", "  \r\n"] {
            assert_eq!(ask(a).0, Answer::No, "{a:?}");
        }
    }

    #[test]
    fn garbage_asks_again() {
        let (ans, out) = ask("maybe\ny\n");
        assert_eq!(ans, Answer::Yes);
        assert!(out.ends_with(
            "Do you want to continue? (y/N): \nSorry, response not recognized. Try again, please\nDo you want to continue? (y/N): "
        ));
    }

    /// Issue 6: an unreadable answer was hidden behind "standard input is not a terminal".
    #[test]
    fn an_unreadable_answer_says_what_failed() {
        let mut out = Vec::new();
        let err = confirm("h", 1, 1, &mut &b"\xff\xfe\n"[..], &mut out).unwrap_err();
        assert!(matches!(err, PromptError::Read(_)));
        assert_eq!(
            err.to_string(),
            "cannot read the answer to the prompt from standard input: it is not UTF-8 text"
        );
        let mut full = [0u8; 10];
        let err = confirm("h", 1, 1, &mut &b"y\n"[..], &mut &mut full[..]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot write the prompt to standard output"),
            "{err}"
        );
    }

    #[test]
    fn end_of_input_is_not_an_answer() {
        let (ans, out) = ask("");
        assert_eq!(ans, Answer::NoInput);
        assert!(out.ends_with("Do you want to continue? (y/N): Response not processed\n"));
    }
}
