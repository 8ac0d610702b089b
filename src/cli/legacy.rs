//! The older form of the command line and its pitfall: `tcpgoon [flags] <host> <port>` means
//! `tcpgoon run ...`, so a first word that is no command is a host, and a mistyped command
//! (`tcpgoon sever -p 5000`) would be taken for one. This module inserts the `run` and spots
//! the first word that is a typo away from a command (it does no I/O: whether the word resolves
//! after all is for the caller to find out).

use std::ffi::OsString;
use std::net::IpAddr;

/// The subcommands, as typed.
pub(super) const COMMANDS: [&str; 10] = [
    "run",
    "find-limit",
    "server",
    "demo",
    "discover",
    "report",
    "merge",
    "version",
    "completions",
    "man",
];

/// The first word of the older form when it is within a typo of a command's name and is not
/// an IP address: `sever` in `tcpgoon sever -p 5000`. Parsing does no I/O, so whether the word is
/// a host after all (it resolves) is for the caller to find out before suggesting the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTypo {
    /// The word as typed.
    pub word: String,
    /// The closest command.
    pub command: &'static str,
}

impl CommandTypo {
    /// The usage error for a word that is no host: it is not a command either.
    pub fn message(&self) -> String {
        format!(
            "'{}' is not a command (did you mean `tcpgoon {}`?); commands: {}; see `tcpgoon --help`",
            self.word,
            self.command,
            COMMANDS.join(", ")
        )
    }

    /// What to add to "Domain name not resolvable" when the host was this word.
    pub fn not_a_command_either(&self) -> String {
        format!(
            "'{}' is not a command either (did you mean `tcpgoon {}`?)",
            self.word, self.command
        )
    }
}

/// The closest command to the first word of `args` if that word puts the line in the older form
/// (it is no command nor flag), is not an IP address, and is at most a typo away from the
/// command: one edit for `run` and `demo`, two for the longer names.
pub(super) fn command_typo(args: &[OsString]) -> Option<CommandTypo> {
    let word = args.get(1)?.to_str()?;
    let bare = word.trim_start_matches('[').trim_end_matches(']');
    if word.starts_with('-') || COMMANDS.contains(&word) || bare.parse::<IpAddr>().is_ok() {
        return None;
    }
    let lower = word.to_lowercase();
    COMMANDS
        .iter()
        .map(|&command| (edit_distance(&lower, command), command))
        .filter(|&(distance, command)| distance <= if command.len() <= 4 { 1 } else { 2 })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, command)| CommandTypo {
            word: word.to_string(),
            command,
        })
}

/// The optimal string alignment distance between `a` and `b`: the fewest insertions,
/// deletions, substitutions and swaps of adjacent characters that turn one into the other.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: i - 2, i - 1 and i.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let substitute = last[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            row[j] = substitute.min(last[j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
}

/// The older form: a first argument that is not a subcommand (or a help/version flag) means `run`.
pub(super) fn normalize(mut args: Vec<OsString>) -> Vec<OsString> {
    const TOP_LEVEL: [&str; 5] = ["help", "-h", "--help", "-V", "--version"];
    let legacy = args.get(1).is_some_and(|first| {
        let first = first.to_string_lossy();
        !COMMANDS.contains(&first.as_ref()) && !TOP_LEVEL.contains(&first.as_ref())
    });
    if legacy {
        args.insert(1, OsString::from("run"));
    }
    args
}
