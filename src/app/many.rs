//! Runs against several targets. Each (the default): every target gets its own run of the
//! connections asked for, one after another, with its own report block and verdict (the Go
//! tool's intent for Eureka: every instance must hold N), then a summary table; the exit code
//! is the worst. `--spread`: one run whose connections go round-robin over every target, with
//! a per-target breakdown. A signal ends the current run with its report and runs no more.

use std::net::SocketAddr;
use std::path::Path;

use super::run::{
    ask, declined, execute, finished, prepare, report_one, resolved, run_reporter, write_exports,
};
use super::targets::Found;
use super::{prompt, AppError};
use crate::config::RunConfig;
use crate::discover::Target;
use crate::export::json::{Report, Suite, SCHEMA_VERSION};
use crate::export::{self};
use crate::preflight;
use crate::report::{self, TextReporter};
use crate::results::{RunResult, StopReason, TargetName};
use crate::verdict::{judge, worst, Verdict, EXIT_INCOMPLETE};

/// How a target is named in headings, the prompt and the summary: `host:port` (with the
/// address when a name was resolved), and the Eureka instance when a registry listed it.
pub(super) fn label(t: &Target) -> String {
    let name = format!("{}:{}", t.display_name(), t.port);
    match &t.instance {
        Some(id) if *id != name => format!("{name} [{id}]"),
        _ => name,
    }
}

fn name_of(t: &Target) -> TargetName {
    TargetName {
        host: t.host.clone(),
        display: t.display_name(),
        port: t.port,
    }
}

/// Runs `found`'s targets as `config` says (each, or spread) and returns the exit code.
pub(super) fn run(
    config: &RunConfig,
    found: Found,
    stdout_taken: bool,
    files: &[(&'static str, &Path)],
) -> Result<i32, AppError> {
    let labels: Vec<String> = found.targets.iter().map(label).collect();
    let spread = config.targets.spread && found.targets.len() > 1;
    preflight::check_fds(config.load.connections)?;
    let n = found.targets.len() as u64;
    if spread && config.load.connections < n {
        super::complain(&format!(
            "warning: --spread: {} connections over {n} targets: {} of them get none (give -c {n} or more)\n",
            config.load.connections,
            n - config.load.connections
        ));
    }
    let mut intro = TextReporter::new(config.verbose);
    if !config.assume_yes {
        let answer = ask(stdout_taken, |mut input, mut out| {
            prompt::confirm_many(
                &labels,
                config.load.connections,
                spread,
                &mut input,
                &mut out,
            )
        })?;
        if let Some(code) = declined(answer, stdout_taken, &mut intro) {
            return finished(intro, code);
        }
    }
    let discovery = found.text();
    let say = |reporter: &mut TextReporter, text: &str| {
        if stdout_taken {
            reporter.notice(text);
        } else {
            reporter.print(text);
        }
    };
    say(&mut intro, &discovery);
    super::run::wait_for_start(config, &mut intro)?;
    finished(intro, 0)?;
    if spread {
        return run_spread(config, &found, stdout_taken, files);
    }
    let n = found.targets.len();
    let mut runs: Vec<(RunResult, Verdict)> = Vec::new();
    for (i, target) in found.targets.iter().enumerate() {
        let mut reporter = run_reporter(config, stdout_taken);
        say(&mut reporter, &report::run_heading(i + 1, n, &labels[i]));
        reporter.debug(&resolved(target));
        let addrs = vec![target.primary()];
        let ready = prepare(config, &addrs, &name_of(target), &mut reporter)?;
        let ran = execute(config, ready, addrs, name_of(target), &mut reporter)?;
        let result = ran.result;
        let mut verdict = judge(&result, &config.thresholds);
        if ran.incomplete {
            verdict.exit_code = EXIT_INCOMPLETE;
        }
        say(&mut reporter, &report::text(&result, &verdict));
        finished(reporter, 0)?;
        let stop = result.stop;
        runs.push((result, verdict));
        if stop != StopReason::Completed {
            break;
        }
    }
    let rows: Vec<(String, Option<(&RunResult, &Verdict)>)> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), runs.get(i).map(|(r, v)| (r, v))))
        .collect();
    let not_run: Vec<String> = labels[runs.len()..].to_vec();
    let mut code = worst(runs.iter().map(|(_, v)| v.exit_code));
    if !not_run.is_empty() {
        code = EXIT_INCOMPLETE;
    }
    let mut end = TextReporter::new(config.verbose);
    let summary = report::summary_table(&rows);
    let command_line = &config.output.command_line;
    let suite = (config.output.json || config.output.export_json.is_some()).then(|| {
        Suite {
            schema_version: SCHEMA_VERSION,
            tool: Report::tool(),
            mode: "each".to_string(),
            started_at: runs
                .first()
                .map(|(r, _)| Report::timestamp(r.identity.started_at))
                .unwrap_or_default(),
            command_line: command_line.clone(),
            discovery: discovery.lines().map(str::to_string).collect(),
            targets: labels.clone(),
            runs: runs
                .iter()
                .map(|(r, v)| Report::new(r, v, command_line))
                .collect(),
            not_run,
            exit_code: code,
        }
        .to_json()
    });
    match (&suite, config.output.json) {
        (Some(json), true) => {
            end.notice(&summary);
            end.print(json);
        }
        _ => say(&mut end, &summary),
    }
    let code = finished(end, code)?;
    let pairs: Vec<(&RunResult, &Verdict)> = runs.iter().map(|(r, v)| (r, v)).collect();
    write_exports(files, |flag| match flag {
        "--export-json" => suite.clone().unwrap_or_default().into_bytes(),
        "--export-junit" => export::junit::render_suite(&pairs, &labels[runs.len()..]).into_bytes(),
        _ => export::html::render_many(&discovery, &rows, command_line).into_bytes(),
    })?;
    Ok(code)
}

/// One run spread over every target.
fn run_spread(
    config: &RunConfig,
    found: &Found,
    stdout_taken: bool,
    files: &[(&'static str, &Path)],
) -> Result<i32, AppError> {
    let mut reporter = run_reporter(config, stdout_taken);
    for target in &found.targets {
        reporter.debug(&resolved(target));
    }
    let addrs: Vec<SocketAddr> = found.targets.iter().map(Target::primary).collect();
    let names: Vec<TargetName> = found.targets.iter().map(name_of).collect();
    let spread = TargetName::spread(&names);
    let ready = prepare(config, &addrs, &spread, &mut reporter)?;
    let mut ran = execute(config, ready, addrs, spread, &mut reporter)?;
    ran.result.identity.names = names;
    report_one(config, &ran, &found.text(), reporter, stdout_taken, files)
}
