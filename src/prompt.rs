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

/// Prints the warning and asks until it gets an answer.
pub fn confirm(
    host: &str,
    port: u16,
    connections: u64,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> io::Result<Answer> {
    writeln!(
        out,
        "****************************** WARNING ******************************"
    )?;
    writeln!(
        out,
        "* You are going to run a TCP stress check with these arguments:"
    )?;
    writeln!(out, "*\t- Host: {host}")?;
    writeln!(out, "*\t- TCP Port: {port}")?;
    writeln!(out, "*\t- # of concurrent connections: {connections}")?;
    writeln!(
        out,
        "*********************************************************************"
    )?;
    let mut line = String::new();
    loop {
        write!(out, "Do you want to continue? (y/N): ")?;
        out.flush()?;
        line.clear();
        if input.read_line(&mut line)? == 0 {
            writeln!(out, "Response not processed")?;
            return Ok(Answer::NoInput);
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(Answer::Yes),
            "n" | "no" | "" => return Ok(Answer::No),
            _ => writeln!(out, "\nSorry, response not recognized. Try again, please")?,
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

    #[test]
    fn end_of_input_is_not_an_answer() {
        let (ans, out) = ask("");
        assert_eq!(ans, Answer::NoInput);
        assert!(out.ends_with("Do you want to continue? (y/N): Response not processed\n"));
    }
}
