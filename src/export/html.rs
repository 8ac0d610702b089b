//! The HTML report: one self-contained page per run, for people who were not at the terminal
//! (a CI artifact, a ticket, a capacity review), with the charts the text cannot show.
//!
//! The page is built after the run from the [`RunResult`] and the [`Verdict`] alone (so that
//! `tcpgoon report FILE.json --format html` renders a saved run into the same bytes as
//! `--export-html` did): a header naming the target, the time and the command line; the
//! verdict with every threshold; the Go counts and the ramp; charts drawn by `plotters` into
//! inline SVG (connections by state over time with the ramp's schedule, the connect-time
//! distribution and percentiles, closure lifetimes by cause, time to first byte); the
//! per-source table; and the full text report. Nothing is loaded from anywhere: no script, no
//! stylesheet, no font, no image but the inline SVG. Every text that reaches the page is
//! escaped, since target names, command lines and the bytes a peer sent are not ours.

use std::fmt::Write as _;
use std::time::Duration;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::config::Pacing;
use crate::report::godur::{go_duration, truncate_micros};
use crate::report::{self, errno_text, threshold_line};
use crate::results::limit::Answer;
use crate::results::stats::LatencyStats;
use crate::results::{HoldEnd, RunResult, Snapshot, StopReason};
use crate::verdict::{Verdict, EXIT_ERRORS, EXIT_INCOMPLETE, EXIT_OK, EXIT_THRESHOLD};

/// Width and height of every chart, in SVG pixels (the page scales them down to fit).
const CHART: (u32, u32) = (960, 380);

/// Series colours, chosen to stay apart for the common forms of colour blindness.
const ESTABLISHED: RGBColor = RGBColor(0x1b, 0x9e, 0x77);
const CLOSED: RGBColor = RGBColor(0xe6, 0x9f, 0x00);
const ERROR: RGBColor = RGBColor(0xd5, 0x3e, 0x4f);
const LOCAL_ERROR: RGBColor = RGBColor(0x88, 0x88, 0x88);
const DIALING: RGBColor = RGBColor(0x37, 0x7e, 0xb8);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const FAINT: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
const END_LINE: RGBColor = RGBColor(0x99, 0x44, 0xaa);
/// find-limit's answer on the timeline.
const LIMIT: RGBColor = RGBColor(0x00, 0x00, 0x00);

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\
color:#222;margin:0 auto;max-width:1000px;padding:16px 24px;line-height:1.4}\
article{border-top:3px solid #888;margin-top:2.5em;padding-top:.5em}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}\
h3{font-size:1em;margin:1em 0 .2em}\
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}\
code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.9em}\
pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;overflow-x:auto;white-space:pre-wrap}\
.cmd{background:#f7f7f7;padding:2px 6px;word-break:break-all}\
.pass{color:#1b7a3e}.fail{color:#b3261e}.verdict{font-size:1.1em;font-weight:600}\
.none{color:#666;font-style:italic}svg{max-width:100%;height:auto;display:block}\
.meta td:first-child{font-weight:600;background:#f4f4f4}";

/// Escapes `text` for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page for one run.
pub fn render(
    result: &RunResult,
    verdict: &Verdict,
    command_line: &[String],
    notes: &[String],
) -> String {
    let mut out = String::new();
    page_head(
        &mut out,
        &format!("tcpgoon: {}", result.identity.target.label()),
    );
    body(&mut out, result, verdict, command_line, "", notes);
    out.push_str("</body>\n</html>\n");
    out
}

/// The page of several runs, one target each: the summary table (each row links to its run),
/// then every run as its own page would show it.
pub fn render_many(
    discovery: &str,
    rows: &[(String, Option<(&RunResult, &Verdict)>)],
    command_line: &[String],
) -> String {
    let mut out = String::new();
    let title = format!("tcpgoon: {} targets", rows.len());
    page_head(&mut out, &title);
    let _ = writeln!(
        out,
        "<header>\n<h1>tcpgoon report: {} targets, one run each</h1>\n<p><code>{}</code></p>",
        rows.len(),
        escape(&shell_words(command_line))
    );
    if !discovery.is_empty() {
        let _ = writeln!(out, "<pre>{}</pre>", escape(discovery));
    }
    out.push_str("</header>\n");
    // The process's exit code: the worst of the runs, 1 when a target was not run.
    let code = crate::verdict::worst(
        rows.iter()
            .map(|(_, run)| run.map_or(EXIT_INCOMPLETE, |(_, v)| v.exit_code)),
    );
    let class = if code == EXIT_OK { "pass" } else { "fail" };
    let _ = writeln!(
        out,
        "<p class=\"{class}\"><strong>Exit code {code}: the worst of the {} runs</strong></p>",
        rows.len()
    );
    section(&mut out, "runs", "Summary", |o| {
        o.push_str(
            "<table class=\"sources\">\n<tr><th>target</th><th>held</th><th>verified</th>\
             <th>errors</th><th>connect p99</th><th>verdict</th></tr>\n",
        );
        for (i, (label, run)) in rows.iter().enumerate() {
            let cells = report::summary_cells(*run);
            let name = if run.is_some() {
                format!("<a href=\"#run-{}\">{}</a>", i + 1, escape(label))
            } else {
                escape(label)
            };
            let _ = write!(o, "<tr><td>{name}</td>");
            for (j, cell) in cells.iter().enumerate() {
                let class = if j == 4 { "" } else { " class=\"n\"" };
                let _ = write!(o, "<td{class}>{}</td>", escape(cell));
            }
            o.push_str("</tr>\n");
        }
        o.push_str("</table>\n");
    });
    for (i, (_, run)) in rows.iter().enumerate() {
        if let Some((r, v)) = run {
            let _ = writeln!(out, "<article id=\"run-{}\">", i + 1);
            body(
                &mut out,
                r,
                v,
                command_line,
                &format!("run-{}-", i + 1),
                &[],
            );
            out.push_str("</article>\n");
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn page_head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
}

/// One run's header, verdict, charts and text; section ids start with `prefix`.
fn body(
    out: &mut String,
    r: &RunResult,
    verdict: &Verdict,
    command_line: &[String],
    prefix: &str,
    notes: &[String],
) {
    let id = |name: &str| format!("{prefix}{name}");
    header(out, r, command_line, notes);
    if r.limit.is_some() {
        let answer = crate::report::limit::block(r);
        let mut lines = answer.lines();
        let _ = writeln!(
            out,
            "<section id=\"{}\">\n<h2>Limit</h2>\n<p class=\"limit-mark\"><strong>{}</strong></p>",
            id("limit"),
            escape(lines.next().unwrap_or_default())
        );
        for l in lines {
            let _ = writeln!(out, "<p>{}</p>", escape(l));
        }
        out.push_str("</section>\n");
    }
    summary(out, &id("summary"), r, verdict);
    section(
        out,
        &id("timeline"),
        "Connections by state over time",
        |o| timeline_chart(o, r),
    );
    section(out, &id("connect"), "Connect time", |o| {
        connect_charts(o, r)
    });
    section(out, &id("closures"), "Closures by the far side", |o| {
        closure_chart(o, r)
    });
    section(out, &id("first-byte"), "Time to first byte", |o| {
        first_byte_chart(o, r)
    });
    if r.per_source.len() > 1 {
        section(out, &id("sources"), "Per source address", |o| {
            sources_table(o, r)
        });
    }
    if !r.per_target.is_empty() {
        section(out, &id("targets"), "Per target", |o| targets_table(o, r));
    }
    section(out, &id("text"), "Text report", |o| {
        let _ = writeln!(o, "<pre>{}</pre>", escape(&report::text(r, verdict)));
    });
}

fn section(out: &mut String, id: &str, heading: &str, body: impl FnOnce(&mut String)) {
    let _ = writeln!(out, "<section id=\"{id}\">\n<h2>{}</h2>", escape(heading));
    body(out);
    out.push_str("</section>\n");
}

/// A command line as a shell would take it back: words with spaces or quotes are quoted.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars().all(|c| {
                    c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c) || !c.is_ascii()
                });
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn header(out: &mut String, r: &RunResult, command_line: &[String], notes: &[String]) {
    let id = &r.identity;
    let name = &id.target;
    let _ = writeln!(
        out,
        "<header>\n<h1>tcpgoon report: {}</h1>\n<table class=\"meta\">",
        escape(&name.label())
    );
    let addrs: Vec<String> = id.targets.iter().map(ToString::to_string).collect();
    let rows = [
        (
            "Target",
            if name.port == 0 {
                // Spread over several targets: the host is their list.
                format!("{} ({})", escape(&name.display), escape(&addrs.join(", ")))
            } else {
                format!(
                    "{} port {} ({})",
                    escape(&name.host),
                    name.port,
                    escape(&addrs.join(", "))
                )
            },
        ),
        (
            "Started",
            format!(
                "{} (UTC), ran {}",
                humantime::format_rfc3339_seconds(id.started_at),
                go_duration(truncate_micros(r.elapsed))
            ),
        ),
        (
            "Command",
            format!(
                "<code class=\"cmd\">{}</code>",
                escape(&shell_words(command_line))
            ),
        ),
        ("Tool", format!("tcpgoon {}", escape(&id.version))),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><td>{k}</td><td>{v}</td></tr>");
    }
    out.push_str("</table>\n");
    // Where the run came from: the targets' discovery, a merge's parts, the workers.
    if !notes.is_empty() {
        let _ = writeln!(
            out,
            "<pre class=\"notes\">{}</pre>",
            escape(&notes.join("\n"))
        );
    }
    out.push_str("</header>\n");
}

/// How a run that was not let finish ended, when it still judged every connection (an exit code
/// other than 1): a signal ended the hold, or came after the last dial. `None` for a run that
/// completed.
pub(crate) fn ended_early(r: &RunResult) -> Option<&'static str> {
    let hold_interrupted = r.hold.is_some_and(|h| h.ended == HoldEnd::Interrupted);
    match r.stop {
        StopReason::Completed if !hold_interrupted => None,
        StopReason::Aborted => Some("the run was ended early by a second signal"),
        _ if hold_interrupted => Some("the hold was ended early by an interrupt"),
        _ => Some("the run was ended early by an interrupt"),
    }
}

/// What the exit code says of this run.
fn exit_meaning(code: i32, r: &RunResult) -> String {
    if r.limit.is_some() {
        return match code {
            EXIT_OK => "the search gave its answer (above)",
            EXIT_THRESHOLD => "threshold failed: the answer (above) is below what a threshold asks",
            EXIT_INCOMPLETE => {
                "incomplete: the search ended before its answer (a signal, or a lost worker)"
            }
            _ => "unknown exit code",
        }
        .to_string();
    }
    if code == EXIT_INCOMPLETE {
        return "incomplete: the run did not complete (interrupted, or connections left undialed or unjudged)"
            .to_string();
    }
    let (word, outcome) = match code {
        EXIT_OK => ("passed", "no connection failed and every threshold held"),
        EXIT_ERRORS => ("errors", "but some connection failed"),
        EXIT_THRESHOLD => ("threshold failed", "but a threshold did not hold"),
        _ => return "unknown exit code".to_string(),
    };
    let comma = if code == EXIT_OK { "," } else { "" };
    match ended_early(r) {
        None => format!("{word}: the run completed{comma} {outcome}"),
        Some(how) => format!(
            "{word} — {how}; every connection was dialed and every check judged{comma} {outcome}"
        ),
    }
}

fn row(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "<tr><th>{}</th><td class=\"n\">{value}</td></tr>",
        escape(key)
    );
}

fn summary(out: &mut String, id: &str, r: &RunResult, v: &Verdict) {
    let _ = writeln!(out, "<section id=\"{id}\">\n<h2>Verdict</h2>");
    let class = if v.exit_code == EXIT_OK {
        "pass"
    } else {
        "fail"
    };
    let _ = writeln!(
        out,
        "<p class=\"verdict {class}\">Exit code {}: {}</p>",
        v.exit_code,
        escape(&exit_meaning(v.exit_code, r))
    );
    match r.stop {
        StopReason::Completed => {}
        StopReason::Interrupted => out.push_str("<p>The run was interrupted (one signal).</p>\n"),
        StopReason::Aborted => out.push_str("<p>The run was aborted (a second signal).</p>\n"),
    }
    if v.thresholds.is_empty() {
        out.push_str("<p class=\"none\">No threshold was set.</p>\n");
    } else {
        out.push_str(
            "<table class=\"thresholds\">\n<tr><th>Threshold and value measured</th></tr>\n",
        );
        for j in &v.thresholds {
            let class = if j.pass { "pass" } else { "fail" };
            let _ = writeln!(
                out,
                "<tr class=\"{class}\"><td>{}</td></tr>",
                escape(&threshold_line(j))
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h2>Connections</h2>\n<table class=\"counts\">\n");
    let c = &r.counts;
    row(out, "Total", c.total);
    row(out, "Dialing", c.dialing);
    row(out, "Established (open at the end)", c.established);
    row(out, "Closed (by the far side)", c.closed);
    row(out, "Error", c.error);
    row(out, "NotInitiated", c.not_dialed());
    if c.local_error > 0 {
        row(out, "of which local errors (never dialed)", c.local_error);
    }
    row(out, "Total established connections", c.ever_established());
    row(
        out,
        "Max concurrent established connections",
        r.max_established,
    );
    row(
        out,
        "Number of established connections on closure",
        c.established,
    );
    let stats = |s: &LatencyStats| {
        s.summary().map(|s| {
            [s.min, s.avg, s.max, s.dev]
                .map(|d| go_duration(truncate_micros(d)))
                .join(" / ")
        })
    };
    let pcts = |s: &LatencyStats| {
        [0.5, 0.9, 0.99, 0.999]
            .map(|q| s.quantile(q).map_or("-".to_string(), go_duration))
            .join(" / ")
    };
    if let Some(line) = stats(&r.connect) {
        row(out, "Connect time min / avg / max / dev", line);
        row(
            out,
            "Connect time p50 / p90 / p99 / p99.9",
            pcts(&r.connect),
        );
    }
    if let Some(line) = stats(&r.time_to_error) {
        row(out, "Time to error min / avg / max / dev", line);
    }
    for (errno, n) in r.errors.sorted() {
        row(out, &format!("Errors: {}", errno_text(errno)), n);
    }
    for (errno, n) in r.local_errors.sorted() {
        row(out, &format!("Local errors: {}", errno_text(errno)), n);
    }
    if r.retransmitted > 0 {
        row(out, "Needed SYN retransmits", r.retransmitted);
    }
    out.push_str("</table>\n");

    out.push_str("<h2>Ramp</h2>\n<table class=\"ramp\">\n");
    let ramp = &r.ramp;
    let load = &r.identity.load;
    row(
        out,
        "Schedule",
        match load.pacing {
            Pacing::Interval(d) if d.is_zero() => "all at once (--sleep 0)".to_string(),
            Pacing::Interval(d) => format!("one every {}", go_duration(d)),
            Pacing::Rate(rate) => format!("{rate} connections/s"),
            Pacing::Steps { size, every } => {
                format!("steps of {size} more, each held {}", go_duration(every))
            }
        },
    );
    row(out, "Dialed", ramp.dialed);
    row(
        out,
        "Dialing took",
        go_duration(truncate_micros(
            ramp.last_dial.saturating_sub(ramp.first_dial),
        )),
    );
    if let Some(rate) = ramp.rate() {
        row(out, "Achieved rate", format!("{rate:.1} connections/s"));
    }
    if let Some(t) = ramp.settled {
        row(out, "All settled after", go_duration(truncate_micros(t)));
    }
    if let Some(lag) = ramp.max_lag {
        row(
            out,
            "At most behind schedule",
            go_duration(truncate_micros(lag)),
        );
    }
    out.push_str("</table>\n");

    let checks = report::checks_block(r);
    if !checks.is_empty() {
        out.push_str("<h2>Checks, closures, hold and probe</h2>\n<ul class=\"checks\">\n");
        for line in checks.lines().filter(|l| !l.starts_with("  ")) {
            if line.starts_with("Per source address") {
                continue;
            }
            let _ = writeln!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul>\n");
        let v = &r.verification;
        if !v.mismatch_samples.is_empty() {
            out.push_str("<p>What came instead of the expected text (first bytes):</p>\n<ul class=\"samples\">\n");
            for s in &v.mismatch_samples {
                let _ = writeln!(
                    out,
                    "<li><code>{}</code>{}</li>",
                    escape(&crate::units::escape_bytes(&s.bytes, 64)),
                    if s.incomplete {
                        " (then nothing more)"
                    } else {
                        ""
                    }
                );
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</section>\n");
}

fn no_data(out: &mut String, sentence: &str) {
    let _ = writeln!(out, "<p class=\"none\">{}</p>", escape(sentence));
}

/// Draws one chart into an SVG string with `draw`, then inlines it (its `xmlns` dropped: an
/// SVG inside HTML needs none); a chart that cannot be drawn becomes a sentence saying so.
fn chart(
    out: &mut String,
    label: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, CHART).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    match drawn {
        Ok(()) => {
            let svg = svg.replacen(
                " xmlns=\"http://www.w3.org/2000/svg\"",
                &format!(" role=\"img\" aria-label=\"{}\"", escape(label)),
                1,
            );
            out.push_str(&svg);
        }
        Err(e) => no_data(out, &format!("The chart could not be drawn: {e}")),
    }
}

/// One entry of a chart's legend: a label, its colour, and whether it is a line (or an area).
type Key = (String, RGBColor, bool);

/// The plotting area and the legend's column, beside it, so that no legend hides data.
fn split<'a>(root: &DrawingArea<SVGBackend<'a>, Shift>) -> [DrawingArea<SVGBackend<'a>, Shift>; 2] {
    let (plot, side) = root.split_horizontally(CHART.0 - LEGEND_WIDTH);
    [plot, side]
}

/// Width of the legend's column.
const LEGEND_WIDTH: u32 = 190;

/// Draws the legend in its column: a swatch (or a line) and a label per key.
fn legend(side: &DrawingArea<SVGBackend, Shift>, keys: &[Key]) -> Result<(), String> {
    let font = ("sans-serif", 16).into_font().color(&INK);
    for (k, (label, colour, line)) in keys.iter().enumerate() {
        let y = 24 + 26 * k as i32;
        if *line {
            side.draw(&PathElement::new(
                [(8, y + 8), (28, y + 8)],
                colour.stroke_width(3),
            ))
            .map_err(err)?;
        } else {
            side.draw(&Rectangle::new([(8, y + 1), (28, y + 15)], colour.filled()))
                .map_err(err)?;
        }
        side.draw(&Text::new(label.clone(), (36, y), font.clone()))
            .map_err(err)?;
    }
    Ok(())
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The time axis of a run: its unit, and the factor from seconds.
fn time_unit(span: Duration) -> (&'static str, f64) {
    if span < Duration::from_secs(2) {
        ("ms", 1e3)
    } else if span < Duration::from_secs(300) {
        ("s", 1.0)
    } else if span < Duration::from_secs(3 * 3600) {
        ("min", 1.0 / 60.0)
    } else {
        ("h", 1.0 / 3600.0)
    }
}

/// A number for an axis label: no trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A duration in microseconds as an axis label (`100µs`, `2.5ms`, `30s`).
fn micros_label(us: f64) -> String {
    if us >= 60e6 {
        format!("{}min", trim(us / 60e6))
    } else if us >= 1e6 {
        format!("{}s", trim(us / 1e6))
    } else if us >= 1e3 {
        format!("{}ms", trim(us / 1e3))
    } else {
        format!("{}µs", trim(us))
    }
}

/// A label only on 1, 2 and 5 times a power of ten: a log axis's other ticks stay unlabelled.
fn log_label(us: f64) -> String {
    let mantissa = us / 10f64.powf(us.log10().floor());
    if [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6)
    {
        micros_label(us)
    } else {
        String::new()
    }
}

/// An axis with the ticks we choose ([`count_ticks`], [`log_ticks`]) instead of plotters' own
/// (its `WithKeyPoints` cannot be drawn with a mesh on an `f64` axis in plotters 0.3).
struct Ticked<R> {
    inner: R,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ticked<R> {
    fn new(inner: impl Into<R>, (bold, light): (Vec<f64>, Vec<f64>)) -> Self {
        Ticked {
            inner: inner.into(),
            bold,
            light,
        }
    }
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type ValueType = f64;
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// A linear axis of counts from 0 to `top`, ticked by [`count_ticks`].
fn count_axis(top: f64) -> Ticked<plotters::coord::types::RangedCoordf64> {
    Ticked::new(0f64..top, (count_ticks(top), Vec::new()))
}

/// A log axis from `lo` to `hi`, ticked by [`log_ticks`].
fn log_axis(lo: f64, hi: f64) -> Ticked<LogCoord<f64>> {
    Ticked::new((lo..hi).log_scale(), log_ticks(lo, hi))
}

/// Ticks for an axis of counts from 0 to `top`: whole numbers only (a count of 0.5 means
/// nothing, and labels rounded from it repeat), 1, 2 or 5 times a power of ten apart, at most
/// eleven of them.
fn count_ticks(top: f64) -> Vec<f64> {
    let max = top.max(0.0).floor() as u64;
    let mut step = 1u64;
    'find: for scale in (0..19).map(|k| 10u64.pow(k)) {
        for m in [1, 2, 5] {
            step = m * scale;
            if max / step <= 10 {
                break 'find;
            }
        }
    }
    (0..=max / step).map(|k| (k * step) as f64).collect()
}

/// Ticks for a log axis from `lo` to `hi`: 1, 2 and 5 times each power of ten (labelled, see
/// [`log_label`]) and the other whole multiples (grid lines only), each once, so that no
/// label is drawn twice (plotters' own log ticks can put the end value twice, a rounding
/// apart).
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    if !(lo > 0.0 && hi >= lo) {
        return (bold, light);
    }
    let slack = 1e-9;
    for k in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
        for m in 1..=9 {
            let v = f64::from(m) * 10f64.powi(k);
            if v < lo * (1.0 - slack) || v > hi * (1.0 + slack) {
                continue;
            }
            if [1, 2, 5].contains(&m) {
                bold.push(v);
            } else {
                light.push(v);
            }
        }
    }
    (bold, light)
}

/// The timeline's points, with what the result knows besides them: when the last dial
/// settled, nothing was dialing or waiting any more and no connection could fail after it,
/// and the run ended with the final counts. The engine records a point only while its loop runs
/// (a quiet hold adds none), so without these the last point of the ramp would seem to hold
/// through the whole hold.
///
/// The points begin at t=0 with every connection not initiated (unless the engine recorded a
/// point at 0 itself) and end on the final counts, [`RunResult::counts`], at the end of the run
/// (or at the last point, should it come later): a last point recorded a little before the
/// end, or with other counts, does not get the last word.
fn timeline_points(r: &RunResult) -> Vec<Snapshot> {
    let mut points = r.timeline.points.clone();
    let Some(last) = points.last().copied() else {
        return points;
    };
    if points[0].at > Duration::ZERO {
        points.insert(
            0,
            Snapshot {
                at: Duration::ZERO,
                counts: crate::results::Counts::new(r.counts.total),
                max_established: 0,
            },
        );
    }
    if last.at < r.elapsed || last.counts != r.counts {
        points.push(Snapshot {
            at: r.elapsed.max(last.at),
            counts: r.counts,
            max_established: r.max_established,
        });
    }
    if let Some(settled) = r.ramp.settled {
        let after = points.partition_point(|p| p.at < settled);
        if after > 0 && after < points.len() && points[after].at > settled {
            let before = points[after - 1];
            let end = r.counts;
            // As every step of the timeline: a change shows at the next point, so the
            // closures until that point count from there.
            let closed = before.counts.closed.min(end.closed);
            // What was never dialed (a search that stopped, a signal) stays so.
            let counts = crate::results::Counts {
                not_initiated: end.not_initiated,
                dialing: 0,
                established: end.ever_established() - closed,
                closed,
                ..end
            };
            points.insert(
                after,
                Snapshot {
                    at: settled,
                    counts,
                    max_established: before.max_established,
                },
            );
        }
    }
    points
}

/// The margin past the end of the run on the timeline, as a share of the run's length.
const END_MARGIN: f64 = 0.04;

/// One layer's outline as steps, for an area chart: each point's value holds until the next
/// point, and the last point's (the final counts, see [`timeline_points`]) until `x_last`,
/// the right edge of the chart.
fn steps(
    points: &[Snapshot],
    x: &dyn Fn(Duration) -> f64,
    x_last: f64,
    value: &dyn Fn(&Snapshot) -> u64,
) -> Vec<(f64, f64)> {
    let mut v = Vec::with_capacity(points.len() * 2);
    for (i, p) in points.iter().enumerate() {
        let y = value(p) as f64;
        let next = points.get(i + 1).map_or(x_last, |n| x(n.at));
        v.push((x(p.at), y));
        v.push((next, y));
    }
    v
}

fn timeline_chart(out: &mut String, r: &RunResult) {
    let points = &timeline_points(r);
    if points.is_empty() {
        no_data(out, "The run recorded no timeline.");
        return;
    }
    let end = r
        .elapsed
        .max(points.last().map_or(Duration::ZERO, |p| p.at));
    let end = end.max(Duration::from_millis(1));
    let (unit, per_sec) = time_unit(end);
    let x = |d: Duration| d.as_secs_f64() * per_sec;
    let x_end = x(end);
    // Past the end of the run, a margin where the final counts stay drawn: the run often ends
    // just as its last connections settle (a hold ended when the far side closed them all,
    // errors at the dial timeout), and a final state that lasted no time would not show.
    let x_axis = x_end * (1.0 + END_MARGIN);
    // A search's --max is a bound, not a plan: the axis goes as far as the search went.
    let (total, due_upto) = match &r.limit {
        Some(_) => {
            let reached = points
                .iter()
                .map(|p| p.counts.total - p.counts.not_initiated)
                .max()
                .unwrap_or(0);
            (reached.max(1) as f64, reached)
        }
        None => (r.counts.total.max(1) as f64, u64::MAX),
    };
    let has_local = points.iter().any(|p| p.counts.local_error > 0);

    // Stacked from the bottom: established, closed, error, local error, dialing.
    type Layer = (&'static str, RGBColor, fn(&Snapshot) -> u64);
    let mut layers: Vec<Layer> = vec![
        ("established", ESTABLISHED, |s| s.counts.established),
        ("closed", CLOSED, |s| s.counts.closed),
        ("error", ERROR, |s| s.counts.error),
    ];
    if has_local {
        layers.push(("local error", LOCAL_ERROR, |s| s.counts.local_error));
    }
    layers.push(("dialing", DIALING, |s| s.counts.dialing));

    let step = |upto: usize| -> Vec<(f64, f64)> {
        steps(points, &x, x_axis, &|p: &Snapshot| {
            layers[..=upto].iter().map(|l| (l.2)(p)).sum()
        })
    };

    // The schedule: connection i is due at due_nanos(i); sampled, as a step line.
    let load = &r.identity.load;
    let n = load.connections.max(1);
    let samples = n.min(2000);
    let mut due = vec![(0.0, 0.0)];
    for k in 0..samples {
        let i = if samples == n {
            k
        } else {
            k * (n - 1) / (samples - 1).max(1)
        };
        let t = x(Duration::from_nanos(load.pacing.due_nanos(i)));
        if t > x_axis || i >= due_upto {
            break;
        }
        let prev = due.last().map_or(0.0, |p: &(f64, f64)| p.1);
        due.push((t, prev));
        due.push((t, (i + 1) as f64));
    }
    if let Some(&(t, v)) = due.last() {
        if t < x_axis {
            due.push((x_axis, v));
        }
    }

    chart(out, "connections by state over time", |root| {
        let [plot, side] = split(root);
        let mut keys: Vec<Key> = Vec::new();
        let mut c = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..x_axis, count_axis(total * 1.08))
            .map_err(err)?;
        c.configure_mesh()
            .light_line_style(FAINT.mix(0.5))
            .bold_line_style(FAINT)
            .x_desc(format!("time since the start ({unit})"))
            .y_desc("connections")
            .x_label_formatter(&|v| trim(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        for upto in (0..layers.len()).rev() {
            let (label, colour, _) = layers[upto];
            c.draw_series(AreaSeries::new(step(upto), 0.0, colour.mix(0.85)).border_style(colour))
                .map_err(err)?;
            keys.push((label.to_string(), colour, false));
        }
        c.draw_series(DashedLineSeries::new(
            due,
            6,
            4,
            ShapeStyle::from(&INK).stroke_width(2),
        ))
        .map_err(err)?;
        keys.push(("due by the schedule".to_string(), INK, true));
        c.draw_series(LineSeries::new(
            [(x_end, 0.0), (x_end, total * 1.08)],
            ShapeStyle::from(&END_LINE).stroke_width(2),
        ))
        .map_err(err)?;
        keys.push(("end of the run".to_string(), END_LINE, true));
        // find-limit's answer: the connections held at once, and when the first failure came.
        if let Some(l) = &r.limit {
            c.draw_series(LineSeries::new(
                [(0.0, l.held as f64), (x_axis, l.held as f64)],
                ShapeStyle::from(&LIMIT).stroke_width(3),
            ))
            .map_err(err)?;
            keys.push((
                format!(
                    "limit: {} held{}",
                    crate::report::limit::grouped(l.held),
                    if l.answer == Answer::Found {
                        ""
                    } else {
                        " (at least)"
                    }
                ),
                LIMIT,
                true,
            ));
            if let Some(f) = l.first_failure {
                c.draw_series(DashedLineSeries::new(
                    [(x(f.at), 0.0), (x(f.at), total * 1.08)],
                    4,
                    4,
                    ShapeStyle::from(&LIMIT).stroke_width(2),
                ))
                .map_err(err)?;
                keys.push((
                    format!("first failure ({})", crate::report::limit::grouped(f.conn)),
                    LIMIT,
                    true,
                ));
            }
        }
        legend(&side, &keys)
    });
}

/// Log-spaced bins (ten per decade, in µs) over the samples of every set.
fn log_bins(sets: &[&LatencyStats]) -> Option<(f64, f64, Vec<Vec<u64>>)> {
    const PER_DECADE: f64 = 10.0;
    let mut lo = i32::MAX;
    let mut hi = i32::MIN;
    let bin = |v: u64| ((v.max(1) as f64).log10() * PER_DECADE + 1e-9).floor() as i32;
    for s in sets {
        for it in s.parts().5.iter_recorded() {
            let b = bin(it.value_iterated_to());
            lo = lo.min(b);
            hi = hi.max(b);
        }
    }
    if lo > hi {
        return None;
    }
    // Whole decades on the axis, at least one.
    let first = (f64::from(lo) / PER_DECADE).floor() as i32 * PER_DECADE as i32;
    let last = ((f64::from(hi + 1) / PER_DECADE).ceil() as i32 * PER_DECADE as i32).max(first + 10);
    let mut counts = vec![vec![0u64; (last - first) as usize]; sets.len()];
    for (k, s) in sets.iter().enumerate() {
        for it in s.parts().5.iter_recorded() {
            let b = bin(it.value_iterated_to());
            counts[k][(b - first) as usize] += it.count_at_value();
        }
    }
    let edge = |b: i32| 10f64.powf(f64::from(b) / PER_DECADE);
    Some((edge(first), edge(last), counts))
}

/// A histogram of durations on a log axis, one colour per set, stacked.
fn histogram(
    out: &mut String,
    label: &str,
    x_desc: &str,
    sets: &[(&str, RGBColor, &LatencyStats)],
) {
    let stats: Vec<&LatencyStats> = sets.iter().map(|s| s.2).collect();
    let Some((lo, hi, counts)) = log_bins(&stats) else {
        no_data(out, "Nothing was measured.");
        return;
    };
    let bins = counts[0].len();
    let first = (lo.log10() * 10.0).round();
    let edge = |b: usize| 10f64.powf((first + b as f64) / 10.0);
    let tallest = (0..bins)
        .map(|b| counts.iter().map(|c| c[b]).sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    chart(out, label, |root| {
        let [plot, side] = split(root);
        let mut keys: Vec<Key> = Vec::new();
        let mut c = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(log_axis(lo, hi), count_axis(tallest as f64 * 1.1))
            .map_err(err)?;
        c.configure_mesh()
            .light_line_style(FAINT.mix(0.5))
            .bold_line_style(FAINT)
            .x_desc(x_desc)
            .y_desc("connections")
            .x_label_formatter(&|v| log_label(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        let mut below = vec![0u64; bins];
        for (k, (name, colour, _)) in sets.iter().enumerate() {
            let colour = *colour;
            let bars: Vec<_> = (0..bins)
                .filter(|&b| counts[k][b] > 0)
                .map(|b| {
                    let y0 = below[b] as f64;
                    let y1 = (below[b] + counts[k][b]) as f64;
                    Rectangle::new(
                        [(edge(b), y0), (edge(b + 1), y1)],
                        colour.mix(0.85).filled(),
                    )
                })
                .collect();
            for b in 0..bins {
                below[b] += counts[k][b];
            }
            let total: u64 = counts[k].iter().sum();
            c.draw_series(bars).map_err(err)?;
            keys.push((format!("{name} ({total})"), colour, false));
        }
        legend(&side, &keys)
    });
}

/// The value at each quantile up to p99.99, on a log axis of values: the x axis is in "nines"
/// (0, 90%, 99%, 99.9%, 99.99%), so that the tail is as wide as the body.
fn percentile_curve(out: &mut String, label: &str, s: &LatencyStats, colour: RGBColor) {
    let Some(summary) = s.summary() else {
        no_data(out, "Nothing was measured.");
        return;
    };
    let us = |d: Duration| (d.as_nanos() as f64 / 1e3).max(1.0);
    let curve: Vec<(f64, f64)> = (0..=400)
        .map(|k| {
            let nines = f64::from(k) / 100.0;
            let q = (1.0 - 10f64.powf(-nines)).min(0.9999);
            (nines, s.quantile(q).map_or(1.0, us))
        })
        .collect();
    let lo = 10f64.powf(us(summary.min).log10().floor());
    let hi = 10f64
        .powf((us(summary.max).log10() + 1e-9).ceil())
        .max(lo * 10.0);
    chart(out, label, |root| {
        let [plot, side] = split(root);
        let mut c = ChartBuilder::on(&plot)
            .margin(12)
            .margin_right(36)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..4f64, log_axis(lo, hi))
            .map_err(err)?;
        c.configure_mesh()
            .light_line_style(FAINT.mix(0.5))
            .bold_line_style(FAINT)
            .x_desc("percentile")
            .y_desc("connect time")
            .x_labels(5)
            .x_label_formatter(&|nines| {
                if (nines - nines.round()).abs() > 1e-6 {
                    return String::new();
                }
                match nines.round() as i32 {
                    0 => "p0".to_string(),
                    1 => "p90".to_string(),
                    2 => "p99".to_string(),
                    3 => "p99.9".to_string(),
                    4 => "p99.99".to_string(),
                    _ => String::new(),
                }
            })
            .y_label_formatter(&|v| log_label(*v))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        c.draw_series(LineSeries::new(curve, colour.stroke_width(2)))
            .map_err(err)?;
        legend(&side, &[("connect time".to_string(), colour, true)])
    });
}

fn connect_charts(out: &mut String, r: &RunResult) {
    if r.connect.count() == 0 {
        no_data(
            out,
            "No connection was established: no connect time to show.",
        );
        return;
    }
    out.push_str("<h3>Distribution</h3>\n");
    histogram(
        out,
        "connect time histogram",
        "connect time (log scale)",
        &[("established", ESTABLISHED, &r.connect)],
    );
    out.push_str("<h3>Percentiles</h3>\n");
    percentile_curve(out, "connect time percentiles", &r.connect, DIALING);
}

fn closure_chart(out: &mut String, r: &RunResult) {
    let c = &r.closures;
    if c.total() == 0 {
        no_data(out, "No connection was closed by the far side.");
        return;
    }
    let sets: Vec<(&str, RGBColor, &LatencyStats)> = [
        ("FIN", CLOSED, &c.fin),
        ("reset", ERROR, &c.reset),
        ("timed out", DIALING, &c.timed_out),
        ("other", LOCAL_ERROR, &c.other),
    ]
    .into_iter()
    .filter(|s| s.2.count() > 0)
    .collect();
    let _ = writeln!(
        out,
        "<p>{} connections closed by the far side, {} of them within {} of being established.</p>",
        c.total(),
        c.at_once,
        go_duration(crate::results::CLOSED_AT_ONCE)
    );
    histogram(
        out,
        "closure lifetimes",
        "lifetime: from the handshake to the closure (log scale)",
        &sets,
    );
}

fn first_byte_chart(out: &mut String, r: &RunResult) {
    let fb = &r.verification.first_byte;
    if fb.count() == 0 {
        let sentence = if r.identity.load.checks.expect.is_some() {
            "No connection received any data."
        } else {
            "Not measured: the run had no --expect or --expect-data."
        };
        no_data(out, sentence);
        return;
    }
    histogram(
        out,
        "time to first byte",
        "time from the handshake to the first byte received (log scale)",
        &[("received data", DIALING, fb)],
    );
}

fn targets_table(out: &mut String, r: &RunResult) {
    out.push_str(
        "<table class=\"sources\">\n<tr><th>target</th><th>held</th><th>established</th>\
         <th>verified</th><th>closed</th><th>closed at once</th><th>errors</th>\
         <th>local errors</th><th>connect p99</th></tr>\n",
    );
    for (i, t) in r.per_target.iter().enumerate() {
        let name = r.target_label(i);
        let c = &t.counts;
        let p99 = t
            .connect
            .quantile(0.99)
            .map_or("-".to_string(), go_duration);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>",
            escape(&name),
            t.held(),
            c.established,
            c.verified,
            c.closed,
            c.closed_at_once,
            c.errors,
            c.local_errors,
            escape(&p99)
        );
    }
    out.push_str("</table>\n");
}

fn sources_table(out: &mut String, r: &RunResult) {
    let verified = r.verification.checked > 0;
    out.push_str("<table class=\"sources\">\n<tr><th>source</th><th>established</th>");
    if verified {
        out.push_str("<th>verified</th>");
    }
    out.push_str(
        "<th>closed</th><th>closed at once</th><th>errors</th><th>local errors</th></tr>\n",
    );
    for (ip, c) in &r.per_source {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td>",
            escape(&ip.to_string()),
            c.established
        );
        if verified {
            let _ = write!(out, "<td class=\"n\">{}</td>", c.verified);
        }
        let _ = writeln!(
            out,
            "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            c.closed, c.closed_at_once, c.errors, c.local_errors
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Counts;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>a&b\"c'</script>"),
            "&lt;script&gt;a&amp;b&quot;c&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn shell_words_quote_what_a_shell_would_split() {
        let words: Vec<String> = ["tcpgoon", "run", "--send", "a b", "it's", "x"]
            .map(String::from)
            .to_vec();
        assert_eq!(shell_words(&words), "tcpgoon run --send 'a b' 'it'\\''s' x");
    }

    fn result(counts: Counts, points: &[(u64, Counts)], settled: Option<u64>) -> RunResult {
        let ms = Duration::from_millis;
        RunResult {
            counts,
            max_established: counts.ever_established(),
            ramp: crate::results::Ramp {
                settled: settled.map(ms),
                ..Default::default()
            },
            elapsed: ms(1000),
            timeline: crate::results::Timeline {
                step: ms(50),
                points: points
                    .iter()
                    .map(|&(at, counts)| Snapshot {
                        at: ms(at),
                        counts,
                        max_established: 0,
                    })
                    .collect(),
            },
            ..RunResult::default()
        }
    }

    fn counts(not_initiated: u64, dialing: u64, established: u64, closed: u64) -> Counts {
        Counts {
            total: 10,
            not_initiated,
            dialing,
            established,
            closed,
            ..Counts::default()
        }
    }

    /// The last dial's settling and the end of the run are points of the timeline: the ramp's
    /// last point does not hold through the hold.
    #[test]
    fn the_timeline_ends_where_the_ramp_settled_and_the_run_ended() {
        let end = counts(0, 0, 6, 4);
        let r = result(
            end,
            &[(0, counts(10, 0, 0, 0)), (50, counts(2, 4, 3, 1))],
            Some(80),
        );
        let points = timeline_points(&r);
        let at: Vec<u64> = points.iter().map(|p| p.at.as_millis() as u64).collect();
        assert_eq!(at, [0, 50, 80, 1000]);
        // Settled: nothing dialing; the closures so far stay until the next point.
        assert_eq!(points[2].counts, counts(0, 0, 9, 1));
        assert_eq!(points[3].counts, end);
        // Nothing to add when the points already reach the end.
        let r = result(end, &[(0, counts(10, 0, 0, 0)), (1000, end)], None);
        assert_eq!(timeline_points(&r).len(), 2);
    }

    /// The last value of every state's steps, at the chart's right edge.
    fn drawn_end(r: &RunResult) -> (f64, u64, Counts) {
        let points = timeline_points(r);
        let x = |d: Duration| d.as_secs_f64() * 1e3;
        let x_last = x(r.elapsed) * (1.0 + END_MARGIN);
        let last = |f: fn(&Counts) -> u64| {
            let v = steps(&points, &x, x_last, &|p: &Snapshot| f(&p.counts));
            let &(at, y) = v.last().unwrap();
            assert_eq!(at, x_last);
            // The final state is drawn over some width: from the end of the run, at least.
            let from = v[v.len() - 2].0;
            assert!(from <= x(r.elapsed) && from < x_last, "{v:?}");
            y as u64
        };
        let drawn = Counts {
            total: r.counts.total,
            not_initiated: last(|c| c.not_initiated),
            dialing: last(|c| c.dialing),
            established: last(|c| c.established),
            closed: last(|c| c.closed),
            error: last(|c| c.error),
            local_error: last(|c| c.local_error),
        };
        // And it begins at 0 with nothing initiated.
        let first = steps(&points, &x, x_last, &|p: &Snapshot| p.counts.not_initiated)[0];
        (first.0, first.1 as u64, drawn)
    }

    /// The chart ends on the final counts, over a visible width, whatever the last point of
    /// the timeline: before the end with other counts (the hold ended as the far side closed
    /// the last connections), at the end with other counts, or right.
    #[test]
    fn the_drawn_timeline_ends_on_the_final_counts() {
        let end = counts(0, 0, 0, 10);
        let cases: [&[(u64, Counts)]; 4] = [
            // Closed by the far side 30ms before the end; the last point missed them.
            &[(50, counts(0, 0, 10, 0)), (970, counts(0, 0, 2, 8))],
            // A last point at the very end, but with stale counts.
            &[(50, counts(0, 0, 10, 0)), (1000, counts(0, 0, 2, 8))],
            // A last point a hair before the end, right.
            &[(50, counts(0, 0, 10, 0)), (999, end)],
            // Right, at the end, and a point at 0.
            &[(0, counts(10, 0, 0, 0)), (1000, end)],
        ];
        for points in cases {
            let r = result(end, points, None);
            assert_eq!(drawn_end(&r), (0.0, 10, end), "{points:?}");
        }
        // Errors at the dial timeout, the run ending on them.
        let failed = Counts {
            error: 10,
            ..counts(0, 0, 0, 0)
        };
        let r = result(failed, &[(50, counts(0, 10, 0, 0))], Some(1000));
        assert_eq!(drawn_end(&r), (0.0, 10, failed));
    }

    /// A run with nothing measured still renders: every chart is a sentence.
    #[test]
    fn an_empty_run_renders_sentences() {
        let r = result(counts(10, 0, 0, 0), &[], None);
        let v = Verdict {
            thresholds: Vec::new(),
            exit_code: EXIT_INCOMPLETE,
        };
        let page = render(&r, &v, &["tcpgoon".to_string()], &[]);
        assert!(!page.contains("<svg"), "{page}");
        assert!(!page.contains("class=\"notes\""), "no notes, no block");
        // Notes (a merge's parts, the workers) in the header, escaped.
        let notes = ["worker 1/3 died (<signal>)".to_string()];
        let page = render(&r, &v, &["tcpgoon".to_string()], &notes);
        assert!(
            page.contains("<pre class=\"notes\">worker 1/3 died (&lt;signal&gt;)</pre>"),
            "{page}"
        );
        assert!(page.contains("The run recorded no timeline."));
        assert!(page.contains("No connection was established"));
        assert!(page.contains("Exit code 1: incomplete"));
    }

    /// The headline says "the run completed" only of a run that did; a signal that ended the
    /// hold (exit code 0, 2 or 3 all the same) is named.
    #[test]
    fn the_headline_names_an_interrupt_that_ended_the_hold() {
        let mut r = result(counts(0, 0, 10, 0), &[], None);
        assert_eq!(
            exit_meaning(EXIT_OK, &r),
            "passed: the run completed, no connection failed and every threshold held"
        );
        assert_eq!(
            exit_meaning(EXIT_ERRORS, &r),
            "errors: the run completed but some connection failed"
        );
        r.stop = StopReason::Interrupted;
        r.hold = Some(crate::results::HoldOutcome {
            asked: Duration::from_secs(30),
            held: Duration::from_secs(2),
            ended: HoldEnd::Interrupted,
            open_at_end: 10,
        });
        assert_eq!(
            exit_meaning(EXIT_OK, &r),
            "passed — the hold was ended early by an interrupt; every connection was dialed and \
             every check judged, no connection failed and every threshold held"
        );
        assert_eq!(
            exit_meaning(EXIT_THRESHOLD, &r),
            "threshold failed — the hold was ended early by an interrupt; every connection was \
             dialed and every check judged but a threshold did not hold"
        );
        r.hold = None;
        assert!(exit_meaning(EXIT_OK, &r)
            .starts_with("passed — the run was ended early by an interrupt;"));
        r.stop = StopReason::Aborted;
        assert!(exit_meaning(EXIT_ERRORS, &r)
            .starts_with("errors — the run was ended early by a second signal;"));
    }

    /// Count axes: whole numbers, each once, at most max+1 of them (at most eleven).
    #[test]
    fn count_ticks_are_whole_and_distinct() {
        assert_eq!(count_ticks(1.08), [0.0, 1.0]);
        assert_eq!(count_ticks(2.16), [0.0, 1.0, 2.0]);
        assert_eq!(count_ticks(0.5), [0.0]);
        assert_eq!(
            count_ticks(10.8),
            (0..=10).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(
            count_ticks(54.0),
            (0..=10).map(|k| f64::from(k * 5)).collect::<Vec<_>>()
        );
        assert_eq!(
            count_ticks(108.0),
            (0..=10).map(|k| f64::from(k * 10)).collect::<Vec<_>>()
        );
        for top in [1.08, 2.2, 3.3, 7.7, 13.0, 108.0, 1080.0, 1.1e6] {
            let ticks = count_ticks(top);
            let labels: Vec<String> = ticks.iter().map(|v| format!("{v:.0}")).collect();
            let mut distinct = labels.clone();
            distinct.dedup();
            assert_eq!(labels, distinct, "{top}");
            assert!(
                ticks.iter().all(|t| t.fract() == 0.0 && *t <= top),
                "{top}: {ticks:?}"
            );
            assert!(
                ticks.len() <= (top as usize + 1).min(11),
                "{top}: {ticks:?}"
            );
        }
    }

    /// Log axes: each label once (the end of the axis too), on 1, 2 and 5 times a power of ten.
    #[test]
    fn log_ticks_label_each_value_once() {
        let (bold, light) = log_ticks(10.0, 100.0);
        assert_eq!(bold, [10.0, 20.0, 50.0, 100.0]);
        assert_eq!(light.len(), 6);
        let (bold, _) = log_ticks(1.0, 1e6);
        let labels: Vec<String> = bold.iter().map(|v| log_label(*v)).collect();
        assert_eq!(labels.len(), 19);
        assert_eq!(labels.last().unwrap(), "1s");
        let mut distinct = labels.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), labels.len(), "{labels:?}");
        assert!(labels.iter().all(|l| !l.is_empty()), "{labels:?}");
    }

    #[test]
    fn axis_labels_read_as_durations() {
        assert_eq!(micros_label(100.0), "100µs");
        assert_eq!(micros_label(2500.0), "2.5ms");
        assert_eq!(micros_label(30e6), "30s");
        assert_eq!(log_label(200.0), "200µs");
        assert_eq!(log_label(300.0), "");
    }
}
