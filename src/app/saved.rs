//! `tcpgoon report FILE.json`: a saved run rendered again, so that results can be archived as
//! data and looked at later (or by another tool) in the form a person or a CI system wants.
//!
//! The document is read back into the run's result and verdict, and the same functions that
//! printed the report at the end of the run print it again: the text is identical by
//! construction, not by a second implementation.

use super::AppError;
use crate::config::{ReportConfig, ReportFormat};
use crate::export::{self, json::Report};
use crate::report;

/// Renders the saved report `config.file` as asked; the output goes to `config.output` (written
/// atomically) or to standard output.
pub(super) fn render(config: &ReportConfig) -> Result<(), AppError> {
    let read = |error: String| AppError::ReadReport {
        path: config.file.clone(),
        error,
    };
    let text = std::fs::read_to_string(&config.file).map_err(|e| {
        read(match e.raw_os_error() {
            Some(errno) => format!("cannot read it: {}", report::errno_text(errno)),
            None => format!("cannot read it: {e}"),
        })
    })?;
    let document = Report::from_json(&text).map_err(|e| read(e.to_string()))?;
    let (result, verdict) = document.to_result().map_err(|e| read(e.to_string()))?;
    let rendered = match config.format {
        ReportFormat::Text => report::text(&result, &verdict),
        ReportFormat::Json => Report::new(&result, &verdict, &document.command_line).to_json(),
        ReportFormat::Junit => export::junit::render(&result, &verdict),
        ReportFormat::Html => export::html::render(&result, &verdict, &document.command_line),
    };
    let out = config
        .output
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("-"));
    if out.as_os_str() != "-" {
        if export::same_file(&out, &config.file) {
            return Err(AppError::Conflict(format!(
                "-o {} is the report being read: rendering over it would lose it; give another file",
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
