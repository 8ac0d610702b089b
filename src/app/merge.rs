//! `tcpgoon merge A.json B.json ...`: the reports of a plan's shards, run on several machines
//! or processes, added up into the one run they were parts of, and judged again. Reports that
//! do not belong together are refused before anything is added: other targets, another plan
//! (pacing, hold, checks, thresholds), two reports of the same shard.

use std::path::Path;

use super::saved::{read_document, write_rendered};
use super::AppError;
use crate::config::{MergeConfig, ReportFormat, Shard};
use crate::export::json::{Document, Report};
use crate::export::{self};
use crate::report;
use crate::results::merge::{count_missing, merge as add_up};
use crate::results::RunResult;
use crate::verdict::{judge, Verdict};

/// Reads, checks, merges and renders; returns the merged run's exit code.
pub(super) fn merge(config: &MergeConfig) -> Result<i32, AppError> {
    let mut parts: Vec<(&Path, RunResult, Verdict)> = Vec::new();
    for path in &config.files {
        let read = |error: String| AppError::ReadReport {
            path: path.clone(),
            error,
        };
        let report = match read_document(path)? {
            Document::Run(report) => report,
            Document::Suite(_) => {
                return Err(read(
                    "a suite of runs against several targets, not the report of one shard: merge takes the --export-json of each shard".to_string(),
                ))
            }
        };
        let (result, verdict) = report.to_result().map_err(|e| read(e.to_string()))?;
        parts.push((path.as_path(), result, verdict));
    }
    let notes = belong_together(&parts).map_err(AppError::Conflict)?;
    let results: Vec<RunResult> = parts.iter().map(|(_, r, _)| r.clone()).collect();
    let mut merged = add_up(&results);
    // A missing shard's connections are the plan's still: not initiated here (their fate is
    // unknown), so the thresholds' percentages stay of -c and the merged run is incomplete.
    if let Some(shard) = merged_shards(&parts) {
        let missing = shard.plan.saturating_sub(merged.counts.total);
        count_missing(&mut merged, missing);
        merged.identity.load.shard = Shard::whole(merged.identity.load.connections);
    }
    let written: Vec<_> = parts[0]
        .2
        .thresholds
        .iter()
        .filter(|j| !j.implicit)
        .map(|j| j.threshold.clone())
        .collect();
    let verdict = judge(&merged, &written);
    let mut lines = vec![format!(
        "Merged {} reports{}:",
        parts.len(),
        match merged_shards(&parts) {
            Some(s) => format!(" (shards of a plan of {} connections)", s.plan),
            None => String::new(),
        }
    )];
    for (path, r, v) in &parts {
        let shard = &r.identity.load.shard;
        let which = if shard.is_part() {
            format!("shard {}/{} ", shard.index, shard.count)
        } else {
            String::new()
        };
        lines.push(format!(
            "  {which}{}: started {}, {} of {} established, {} errors, peak {}, exit {}",
            path.display(),
            Report::timestamp(r.identity.started_at),
            r.counts.ever_established(),
            r.counts.total,
            r.counts.error,
            r.max_established,
            v.exit_code
        ));
    }
    lines.extend(notes);
    lines.push(format!(
        "Max concurrent: from the reports' timelines aligned on wall-clock time (their own peaks add up to {})",
        parts.iter().map(|(_, r, _)| r.max_established).sum::<u64>()
    ));
    let command_line: Vec<String> = std::env::args().collect();
    let head: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let rendered = match config.format {
        ReportFormat::Text => head + &report::text(&merged, &verdict),
        ReportFormat::Json => {
            let mut doc = Report::new(&merged, &verdict, &command_line);
            doc.discovery = lines;
            doc.to_json()
        }
        ReportFormat::Junit => export::junit::render(&merged, &verdict),
        ReportFormat::Html => export::html::render(&merged, &verdict, &command_line, &lines),
    };
    let inputs: Vec<&Path> = config.files.iter().map(|f| f.as_path()).collect();
    write_rendered(config.output.as_deref(), &inputs, &rendered)?;
    Ok(verdict.exit_code)
}

/// The plan the parts are shards of, when they are.
fn merged_shards(parts: &[(&Path, RunResult, Verdict)]) -> Option<Shard> {
    let s = parts.first()?.1.identity.load.shard;
    s.is_part().then_some(s)
}

/// Why `parts` cannot be added up, or the notes the merge needs (shards missing).
fn belong_together(parts: &[(&Path, RunResult, Verdict)]) -> Result<Vec<String>, String> {
    let Some((first_path, first, first_verdict)) = parts.first() else {
        return Err("merge needs reports".to_string());
    };
    let plan = |r: &RunResult| {
        let mut load = r.identity.load.clone();
        load.connections = 0;
        load.shard = Shard::default();
        load
    };
    let written = |v: &Verdict| {
        v.thresholds
            .iter()
            .filter(|j| !j.implicit)
            .map(|j| j.threshold.expr.clone())
            .collect::<Vec<_>>()
    };
    let shard = first.identity.load.shard;
    let mut seen = Vec::new();
    for (path, r, v) in parts {
        let other = || format!("{} and {}", first_path.display(), path.display());
        if r.identity.targets != first.identity.targets {
            return Err(format!(
                "{} dial other targets ({} vs {}): merge adds up the shards of one plan",
                other(),
                list(&first.identity.targets),
                list(&r.identity.targets)
            ));
        }
        if plan(r) != plan(first) {
            return Err(format!(
                "{} are runs of different plans (pacing, timeouts, hold, close or checks differ): merge adds up the shards of one plan",
                other()
            ));
        }
        if written(v) != written(first_verdict) {
            return Err(format!(
                "{} judge different thresholds ({:?} vs {:?})",
                other(),
                written(first_verdict),
                written(v)
            ));
        }
        let s = r.identity.load.shard;
        if s.is_part() != shard.is_part()
            || (shard.is_part() && (s.count != shard.count || s.plan != shard.plan))
        {
            return Err(format!(
                "{} are not shards of the same plan (--shard {}/{} of {} vs {}/{} of {})",
                other(),
                shard.index,
                shard.count,
                shard.plan,
                s.index,
                s.count,
                s.plan
            ));
        }
        if shard.is_part() {
            if seen.contains(&s.index) {
                return Err(format!(
                    "{} is shard {}/{} again: each shard once",
                    path.display(),
                    s.index,
                    s.count
                ));
            }
            seen.push(s.index);
        }
    }
    let mut notes = Vec::new();
    if shard.is_part() {
        let missing: Vec<String> = (0..shard.count)
            .filter(|i| !seen.contains(i))
            .map(|i| i.to_string())
            .collect();
        if !missing.is_empty() {
            let covered: u64 = parts
                .iter()
                .map(|(_, r, _)| r.identity.load.connections)
                .sum();
            notes.push(format!(
                "Missing: shard{} {} of {}: the merge covers {covered} of the plan's {} connections (the rest counted as not initiated)",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                shard.count,
                shard.plan
            ));
        }
    }
    Ok(notes)
}

fn list(addrs: &[std::net::SocketAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
