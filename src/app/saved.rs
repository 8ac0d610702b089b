//! `tcpgoon report FILE.json`: a saved run rendered again, so that results can be archived as
//! data and looked at later (or by another tool) in the form a person or a CI system wants.
//!
//! The document is read back into the run's result and verdict, and the same functions that
//! printed the report at the end of the run print it again: the text is identical by
//! construction, not by a second implementation.

use super::AppError;
use crate::config::{ReportConfig, ReportFormat};
use crate::export::json::{Document, Report, Suite};
use crate::export::{self};
use crate::report;
use crate::results::RunResult;
use crate::verdict::Verdict;

/// Renders the saved report `config.file` as asked; the output goes to `config.output` (written
/// atomically) or to standard output.
pub(super) fn render(config: &ReportConfig) -> Result<(), AppError> {
    let read = |error: String| AppError::ReadReport {
        path: config.file.clone(),
        error,
    };
    let rendered = match read_document(&config.file)? {
        Document::Run(document) => {
            let (result, verdict) = document.to_result().map_err(|e| read(e.to_string()))?;
            let discovery: String = document
                .discovery
                .iter()
                .map(|l| format!("{l}\n"))
                .collect();
            match config.format {
                ReportFormat::Text => discovery + &report::text(&result, &verdict),
                ReportFormat::Json => {
                    let mut again = Report::new(&result, &verdict, &document.command_line);
                    again.discovery.clone_from(&document.discovery);
                    again.to_json()
                }
                ReportFormat::Junit => export::junit::render(&result, &verdict),
                ReportFormat::Html => export::html::render(
                    &result,
                    &verdict,
                    &document.command_line,
                    &document.discovery,
                ),
            }
        }
        Document::Suite(suite) => render_suite(&suite, config.format).map_err(read)?,
    };
    write_rendered(
        config.output.as_deref(),
        &[config.file.as_path()],
        &rendered,
    )
}

/// Writes what `report` or `merge` rendered to `output` (atomically), or to standard output;
/// an output that is one of the `inputs` is refused (rendering over it would lose it).
pub(super) fn write_rendered(
    output: Option<&std::path::Path>,
    inputs: &[&std::path::Path],
    rendered: &str,
) -> Result<(), AppError> {
    let out = output.map_or_else(
        || std::path::PathBuf::from("-"),
        std::path::Path::to_path_buf,
    );
    if out.as_os_str() != "-" {
        if let Some(input) = inputs.iter().find(|i| export::same_file(&out, i)) {
            let which = if inputs.len() == 1 {
                String::new()
            } else {
                format!(" {}", input.display())
            };
            return Err(AppError::Conflict(format!(
                "-o {} is the report{which} being read: rendering over it would lose it; give another file",
                out.display()
            )));
        }
        super::run::check_writable("-o", &out)?;
    }
    export::write_atomically(&out, rendered.as_bytes()).map_err(|error| {
        if out.as_os_str() == "-" {
            AppError::LostOutput(error)
        } else {
            AppError::Export {
                flag: "-o",
                path: out,
                error,
            }
        }
    })
}

/// Reads a saved document, each failure as the line `report` and `merge` give.
pub(super) fn read_document(path: &std::path::Path) -> Result<Document, AppError> {
    let read = |error: String| AppError::ReadReport {
        path: path.to_path_buf(),
        error,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        read(match e.raw_os_error() {
            Some(errno) => format!("cannot read it: {}", report::errno_text(errno)),
            None => format!("cannot read it: {e}"),
        })
    })?;
    Document::from_json(&text).map_err(|e| read(e.to_string()))
}

/// A suite of runs (one per target) rendered again: the text as the runs printed it (where
/// the targets came from, each run's heading and report, the summary), or the files.
fn render_suite(suite: &Suite, format: ReportFormat) -> Result<String, String> {
    let runs = suite
        .runs
        .iter()
        .map(|r| r.to_result().map_err(|e| e.to_string()))
        .collect::<Result<Vec<(RunResult, Verdict)>, String>>()?;
    let n = suite.targets.len();
    if runs.len() > n {
        return Err(format!(
            "the suite has {} runs but {n} targets: it does not hold together",
            runs.len()
        ));
    }
    let rows: Vec<(String, Option<(&RunResult, &Verdict)>)> = suite
        .targets
        .iter()
        .enumerate()
        .map(|(i, label)| (label.clone(), runs.get(i).map(|(r, v)| (r, v))))
        .collect();
    let mut discovery = suite.discovery.join("\n");
    if !discovery.is_empty() {
        discovery.push('\n');
    }
    Ok(match format {
        ReportFormat::Text => {
            let mut out = discovery;
            for (i, (label, run)) in rows.iter().enumerate() {
                if let Some((r, v)) = run {
                    out.push_str(&report::run_heading(i + 1, n, label));
                    out.push_str(&report::text(r, v));
                }
            }
            out.push_str(&report::summary_table(&rows));
            out
        }
        ReportFormat::Json => suite.to_json(),
        ReportFormat::Junit => {
            let pairs: Vec<(&RunResult, &Verdict)> = runs.iter().map(|(r, v)| (r, v)).collect();
            export::junit::render_suite(&pairs, &suite.targets[runs.len()..])
        }
        ReportFormat::Html => export::html::render_many(&discovery, &rows, &suite.command_line),
    })
}
