//! The command line as documentation for the shell and for `man`: `tcpgoon completions SHELL`
//! and `tcpgoon man` print what clap knows of the flags, so that completions and the manual page
//! can never drift from the parser (both are generated from the same clap definition as
//! `--help`). Text is built here and printed by `app`: the command line does no I/O.

use clap::CommandFactory;
use clap_complete::Shell as ClapShell;
use clap_mangen::Man;

use super::flags::Cli;

/// A shell `tcpgoon completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// bash (the bash-completion package's directory).
    Bash,
    /// zsh (a directory of `$fpath`, as `_tcpgoon`).
    Zsh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
    /// elvish.
    Elvish,
}

/// The shells as typed, in the order the messages list them.
const SHELLS: [(&str, Shell); 5] = [
    ("bash", Shell::Bash),
    ("zsh", Shell::Zsh),
    ("fish", Shell::Fish),
    ("powershell", Shell::Powershell),
    ("elvish", Shell::Elvish),
];

/// The shell argument's parser: any text (an unknown shell gets [`shell`]'s line, not clap's),
/// with the shell names as its possible values, so that the completion scripts offer them.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShellNames;

impl clap::builder::TypedValueParser for ShellNames {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            SHELLS
                .iter()
                .map(|(name, _)| clap::builder::PossibleValue::new(*name)),
        ))
    }
}

/// The shell named `text` (case ignored), or the line that says which exist.
pub(super) fn shell(text: &str) -> Result<Shell, String> {
    let lower = text.trim().to_ascii_lowercase();
    SHELLS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|&(_, shell)| shell)
        .ok_or_else(|| {
            format!(
                "unknown shell '{text}' for completions; use one of bash, zsh, fish, powershell, elvish (e.g. `tcpgoon completions bash`)"
            )
        })
}

/// The completion script for `shell`, for every command and flag.
pub fn completion_script(shell: Shell) -> String {
    let shell = match shell {
        Shell::Bash => ClapShell::Bash,
        Shell::Zsh => ClapShell::Zsh,
        Shell::Fish => ClapShell::Fish,
        Shell::Powershell => ClapShell::PowerShell,
        Shell::Elvish => ClapShell::Elvish,
    };
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tcpgoon", &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    if shell == ClapShell::Bash {
        bash_report_files(&script)
    } else {
        script
    }
}

/// clap_complete's bash script offers only the options for a positional argument, even one
/// hinted as a file path: in `report`'s section, everything but an option completes as a file
/// name (FILE.json), the options still after a `-`.
fn bash_report_files(script: &str) -> String {
    let Some(start) = script.find("        tcpgoon__subcmd__report)\n") else {
        return script.to_string();
    };
    let end = script[start..]
        .find("\n            ;;\n")
        .map_or(script.len(), |i| start + i);
    let section = script[start..end]
        .replacen(
            "if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then",
            "if [[ ${cur} == -* ]] ; then",
            1,
        )
        .replace(
            "            COMPREPLY=( $(compgen -W \"${opts}\" -- \"${cur}\") )\n            return 0",
            "            local IFS=$'\\n'\n            COMPREPLY=( $(compgen -f -- \"${cur}\") )\n            \
             if [[ \"${BASH_VERSINFO[0]}\" -ge 4 ]]; then\n                compopt -o filenames\n            \
             fi\n            return 0",
        );
    format!("{}{}{}", &script[..start], section, &script[end..])
}

/// The manual page, section 1, in roff: the top level (synopsis, commands, the older form and
/// the exit codes), then each command with its flags, grouped under their help headings.
pub fn man_page() -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let mut page = Vec::new();
    // The build's date (the first word of `version`'s build time), as man pages carry.
    let date = env!("TCPGOON_BUILD_TIME")
        .split(' ')
        .next()
        .unwrap_or_default();
    let man = Man::new(cmd.clone())
        .date(date)
        .source(concat!("tcpgoon ", env!("CARGO_PKG_VERSION")));
    // Writing to a Vec cannot fail.
    let _ = man.render_title(&mut page);
    let _ = man.render_name_section(&mut page);
    let _ = man.render_synopsis_section(&mut page);
    let _ = man.render_description_section(&mut page);
    let mut text = String::from_utf8_lossy(&page).into_owned();
    let commands: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    // One page for all: the commands are sections below, not pages of their own.
    text.push_str(".SH COMMANDS\n");
    for sub in &commands {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        text.push_str(&format!(
            ".TP\n\\fBtcpgoon {}\\fR\n{}\n",
            sub.get_name(),
            roff_text(&about)
        ));
    }
    for sub in commands {
        let name = sub
            .get_bin_name()
            .map_or_else(|| format!("tcpgoon {}", sub.get_name()), str::to_string);
        text.push_str(&format!(".SH \"{}\"\n", name.to_uppercase()));
        let man = Man::new(sub.clone());
        let mut part = Vec::new();
        let _ = man.render_synopsis_section(&mut part);
        let _ = man.render_description_section(&mut part);
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            let _ = man.render_options_section(&mut part);
        }
        if sub.get_after_help().is_some() {
            let _ = man.render_extra_section(&mut part);
        }
        // The command's own sections become subsections of its section.
        for line in String::from_utf8_lossy(&part).lines() {
            match line.strip_prefix(".SH ") {
                Some(title) => {
                    let title = title.trim_matches('"');
                    let title = match title {
                        "EXTRA" => "NOTES",
                        other => other,
                    };
                    text.push_str(&format!(".SS \"{}\"\n", title_case(title)));
                }
                None => {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    let mut tail = Vec::new();
    if cmd.get_after_help().is_some() {
        let _ = man.render_extra_section(&mut tail);
    }
    let _ = man.render_version_section(&mut tail);
    text.push_str(&String::from_utf8_lossy(&tail).replacen(
        ".SH EXTRA",
        ".SH \"NOTES AND EXIT STATUS\"",
        1,
    ));
    // Each rendered part starts with the same two-line preamble: keep the first.
    let mut seen = false;
    let mut page = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == PREAMBLE[0] && lines.peek() == Some(&PREAMBLE[1]) {
            lines.next();
            if seen {
                continue;
            }
            seen = true;
            page.push_str(&format!("{}\n{}\n", PREAMBLE[0], PREAMBLE[1]));
            continue;
        }
        page.push_str(line);
        page.push('\n');
    }
    page
}

/// The lines clap_mangen starts every rendered part with (the apostrophe string for groff).
const PREAMBLE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];

/// `text` as a roff text line: backslashes and hyphens escaped, no control character first.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// `END-TO-END CHECKS` as `End-to-end checks`, for a subsection's title.
fn title_case(upper: &str) -> String {
    let lower = upper.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_by_name_and_an_unknown_one() {
        assert_eq!(shell("bash"), Ok(Shell::Bash));
        assert_eq!(shell("PowerShell"), Ok(Shell::Powershell));
        let e = shell("tcsh").unwrap_err();
        assert!(
            e.contains("unknown shell 'tcsh'") && e.contains("bash, zsh"),
            "{e}"
        );
    }

    #[test]
    fn every_script_names_the_run_flags() {
        for (_, s) in SHELLS {
            let script = completion_script(s);
            assert!(script.contains("connections"), "{s:?}");
            assert!(script.contains("no-progress"), "{s:?}");
        }
    }

    /// What bash completes for the words `line` (the last one being completed), with the
    /// script sourced, in a directory holding `saved.json`.
    fn bash_completes(line: &str) -> String {
        let dir = std::env::temp_dir().join(format!("tcpgoon-complete-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("saved.json"), "{}").unwrap();
        std::fs::write(dir.join("tcpgoon.bash"), completion_script(Shell::Bash)).unwrap();
        let program = format!(
            "source ./tcpgoon.bash; COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _tcpgoon tcpgoon \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; echo \"${{COMPREPLY[*]}}\""
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(program)
            .current_dir(&dir)
            .output()
            .expect("bash");
        let _ = std::fs::remove_dir_all(&dir);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `tcpgoon completions <TAB>` offers the shells; `tcpgoon report <TAB>` the files; the
    /// options still come after a `-`.
    #[test]
    fn bash_completes_shell_names_and_report_files() {
        let shells = bash_completes("tcpgoon completions ''");
        assert!(
            shells.contains("bash zsh fish powershell elvish"),
            "{shells}"
        );
        assert_eq!(bash_completes("tcpgoon completions z"), "zsh");
        assert!(bash_completes("tcpgoon report ''").contains("saved.json"));
        assert_eq!(bash_completes("tcpgoon report sa"), "saved.json");
        assert!(bash_completes("tcpgoon report -o ''").contains("saved.json"));
        assert!(bash_completes("tcpgoon report --f").contains("--format"));
        let zsh = completion_script(Shell::Zsh);
        assert!(zsh.contains("_files"), "{zsh}");
    }

    #[test]
    fn the_man_page_has_every_command_and_its_flags() {
        let page = man_page();
        assert!(page.contains("\n.TH tcpgoon 1 "), "{}", &page[..80]);
        for text in [
            ".SH \"TCPGOON RUN\"",
            ".SH \"TCPGOON SERVER\"",
            ".SH \"TCPGOON DEMO\"",
            "\\fBtcpgoon completions\\fR",
            "\\-\\-connections",
            "\\-\\-threshold",
            "\\-\\-banner",
            ".SS \"End-to-end checks\"",
            "Exit codes",
        ] {
            assert!(page.contains(text), "{text} not in the page:\n{page}");
        }
        assert!(!page.contains(".SH OPTIONS"), "{page}");
        assert_eq!(page.matches(PREAMBLE[0]).count(), 1, "{page}");
    }
}
