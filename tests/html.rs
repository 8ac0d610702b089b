//! The HTML report (issue 8 point 4): the pages of real runs parse without an error in a real
//! HTML5 parser, carry each chart as inline SVG in its section, load nothing from anywhere,
//! escape what the peer and the user sent, and `tcpgoon report --format html` of the saved JSON
//! gives the same bytes as `--export-html` of the run.

use std::path::PathBuf;
use std::time::Duration;

use scraper::{ElementRef, Html, Selector};

use crate::util::*;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tcpgoon-{}-{name}", std::process::id()))
}

/// Runs `tcpgoon run ARGS --export-html FILE --export-json FILE`; returns the output, the page
/// and the JSON file.
fn run_exporting(name: &str, args: &str) -> (std::process::Output, String, PathBuf) {
    let html = temp(&format!("{name}.html"));
    let json = temp(&format!("{name}.json"));
    let o = tg(&format!(
        "{args} --export-html {} --export-json {}",
        html.display(),
        json.display()
    ));
    let page = std::fs::read_to_string(&html)
        .unwrap_or_else(|e| panic!("{args}: no page ({e}): {}", stderr(&o)));
    std::fs::remove_file(html).unwrap();
    (o, page, json)
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// Parses `page` and fails on any parse error, with the error list.
fn parse(page: &str) -> Html {
    let doc = Html::parse_document(page);
    assert!(
        doc.errors.is_empty(),
        "parse errors: {:?}\n{}",
        doc.errors,
        &page[..page.len().min(3000)]
    );
    doc
}

/// The section with this id.
fn section<'a>(doc: &'a Html, id: &str) -> Option<ElementRef<'a>> {
    doc.select(&sel(&format!("section#{id}"))).next()
}

/// How many charts (inline `<svg>`) a section holds, and its text.
fn charts(doc: &Html, id: &str) -> (usize, String) {
    let s = section(doc, id).unwrap_or_else(|| panic!("no section #{id}"));
    (
        s.select(&sel("svg")).count(),
        s.text().collect::<Vec<_>>().join(""),
    )
}

/// Nothing in the page is loaded from anywhere: no script, stylesheet link, image, frame or
/// object; no attribute names a location other than a fragment; the style sheet imports
/// nothing. Addresses may appear only as text.
fn assert_self_contained(doc: &Html) {
    for tag in [
        "script",
        "link",
        "img",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "source",
        "base",
        "image",
        "use",
        "foreignObject",
    ] {
        assert_eq!(doc.select(&sel(tag)).count(), 0, "a <{tag}> element");
    }
    for el in doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        for (name, value) in el.value().attrs() {
            let v = value.to_ascii_lowercase();
            assert!(
                !(v.contains("http:") || v.contains("https:") || v.contains("//")),
                "<{} {name}={value:?}>",
                el.value().name()
            );
            if [
                "src",
                "href",
                "xlink:href",
                "srcset",
                "action",
                "data",
                "poster",
            ]
            .contains(&name)
            {
                assert!(
                    value.starts_with('#'),
                    "<{} {name}={value:?}>",
                    el.value().name()
                );
            }
        }
    }
    for style in doc.select(&sel("style")) {
        let css: String = style.text().collect();
        assert!(
            !css.contains("url(") && !css.contains("@import") && !css.contains("@font-face"),
            "{css}"
        );
    }
}

/// The page's structure, for every run: the header names the target and the command, the
/// verdict says the exit code, the sections are there, and the text report is the run's.
fn assert_common(doc: &Html, o: &std::process::Output, port: u16) {
    let header: String = doc.select(&sel("header")).next().unwrap().text().collect();
    assert!(header.contains(&format!("127.0.0.1:{port}")), "{header}");
    assert!(header.contains("--export-html"), "{header}");
    let verdict: String = doc
        .select(&sel("p.verdict"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(
        verdict.starts_with(&format!("Exit code {}: ", code(o))),
        "{verdict}"
    );
    for id in [
        "summary",
        "timeline",
        "connect",
        "closures",
        "first-byte",
        "text",
    ] {
        assert!(section(doc, id).is_some(), "no section #{id}");
    }
    assert_eq!(charts(doc, "timeline").0, 1);
    let pre: String = section(doc, "text")
        .unwrap()
        .select(&sel("pre"))
        .next()
        .unwrap()
        .text()
        .collect();
    let out = stdout(o);
    assert!(pre.starts_with(&format!("--- 127.0.0.1:{port} tcp test statistics ---")));
    assert!(out.ends_with(&pre), "text report:\n{pre}\nstdout:\n{out}");
    assert_self_contained(doc);
}

#[test]
fn pages_of_real_runs_parse_and_carry_their_charts() {
    let hold = TestServer::start("127.0.0.1", Behaviour::Hold);
    let greet_and_close = BuiltinServer::start(
        "127.0.0.1",
        &[
            "-m",
            "0",
            "-d",
            "60",
            "-q",
            "--banner",
            "HELLO\\r\\n",
            "--close-after",
            "300ms",
        ],
    );

    // A plain run: the connect charts, no closure, no first byte, no sources.
    let (o, page, json) = run_exporting(
        "plain",
        &format!("run -y -c 20 -s 0 -i 0 127.0.0.1 {}", hold.port()),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = parse(&page);
    assert_common(&doc, &o, hold.addr.port());
    assert_eq!(charts(&doc, "connect").0, 2);
    let (n, text) = charts(&doc, "closures");
    assert_eq!(n, 0);
    assert!(
        text.contains("No connection was closed by the far side."),
        "{text}"
    );
    let (n, text) = charts(&doc, "first-byte");
    assert_eq!(n, 0);
    assert!(text.contains("Not measured"), "{text}");
    assert!(section(&doc, "sources").is_none());
    assert!(doc.select(&sel("table.thresholds")).next().is_none());
    std::fs::remove_file(json).unwrap();

    // --expect, --hold, closures by the far side: every chart, and the thresholds.
    let (o, page, json) = run_exporting(
        "checks",
        &format!(
            "run -y -c 20 --rate 100 -i 0 --expect HELLO --hold 1s --threshold connect_p99<1s 127.0.0.1 {}",
            greet_and_close.port
        ),
    );
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    let doc = parse(&page);
    assert_common(&doc, &o, greet_and_close.port);
    assert_eq!(charts(&doc, "connect").0, 2);
    let (n, text) = charts(&doc, "closures");
    assert_eq!(n, 1, "{text}");
    assert!(
        text.contains("20 connections closed by the far side"),
        "{text}"
    );
    assert!(text.contains("FIN (20)"), "the legend: {text}");
    assert_eq!(charts(&doc, "first-byte").0, 1);
    let rows: Vec<String> = doc
        .select(&sel("table.thresholds tr.pass, table.thresholds tr.fail"))
        .map(|r| r.text().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].starts_with("✓ connect_p99<1s: "), "{rows:?}");
    assert!(
        rows.iter().any(|r| r.starts_with("✗ held>=100%: 0 of 20")),
        "{rows:?}"
    );
    std::fs::remove_file(json).unwrap();

    // Errors: nothing established, so no connect chart but a sentence.
    let port = closed_port();
    let (o, page, json) =
        run_exporting("errors", &format!("run -y -c 5 -s 0 -i 0 127.0.0.1 {port}"));
    assert_eq!(code(&o), 2);
    let doc = parse(&page);
    assert_common(&doc, &o, port);
    let (n, text) = charts(&doc, "connect");
    assert_eq!(n, 0);
    assert!(text.contains("No connection was established"), "{text}");
    let summary: String = section(&doc, "summary").unwrap().text().collect();
    assert!(summary.contains("Errors: connection refused"), "{summary}");
    std::fs::remove_file(json).unwrap();

    // Two source addresses: the per-source table, one row each.
    let (o, page, json) = run_exporting(
        "sources",
        &format!(
            "run -y -c 10 -s 0 -i 0 --source 127.0.0.2,127.0.0.3 127.0.0.1 {}",
            hold.port()
        ),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = parse(&page);
    assert_common(&doc, &o, hold.addr.port());
    let rows: Vec<Vec<String>> = section(&doc, "sources")
        .expect("a per-source section")
        .select(&sel("tr"))
        .skip(1)
        .map(|r| r.select(&sel("td")).map(|c| c.text().collect()).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][0], "127.0.0.2");
    assert_eq!(rows[1][0], "127.0.0.3");
    assert_eq!(rows[0][1], "5");
    std::fs::remove_file(json).unwrap();
}

/// What a peer sends and what the user typed reach the page as text, never as markup.
#[test]
fn hostile_text_is_escaped() {
    let server = TestServer::start(
        "127.0.0.1",
        Behaviour::Greet(b"<script>alert('x')</script>&amp;"),
    );
    let (o, page, json) = run_exporting(
        "hostile",
        &format!(
            "run -y -c 3 -s 0 -i 0 --expect HELLO --expect-timeout 500ms --send <b>hi</b>\"' 127.0.0.1 {}",
            server.port()
        ),
    );
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(!page.contains("<script"), "raw markup in the page");
    assert!(!page.contains("<b>"), "raw markup in the page");
    let doc = parse(&page);
    assert_eq!(doc.select(&sel("b")).count(), 0);
    let samples: Vec<String> = doc
        .select(&sel("ul.samples code"))
        .map(|c| c.text().collect())
        .collect();
    assert!(!samples.is_empty());
    assert!(
        samples
            .iter()
            .all(|s| s == "<script>alert('x')</script>&amp;"),
        "{samples:?}"
    );
    let command: String = doc
        .select(&sel("code.cmd"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(command.contains("--send '<b>hi</b>\"'\\'''"), "{command}");
    let pre: String = doc.select(&sel("pre")).next().unwrap().text().collect();
    assert!(
        pre.contains("instead: \"<script>alert('x')</script>&amp;\""),
        "{pre}"
    );
    assert_self_contained(&doc);
    std::fs::remove_file(json).unwrap();
}

/// `tcpgoon report FILE.json --format html` renders the page `--export-html` wrote, byte for
/// byte (to a file and to standard output).
#[test]
fn a_saved_report_renders_the_same_page() {
    let server = BuiltinServer::start(
        "127.0.0.1",
        &[
            "-m",
            "0",
            "-d",
            "60",
            "-q",
            "--banner",
            "HI",
            "--close-after",
            "200ms",
        ],
    );
    let (o, page, json) = run_exporting(
        "again",
        &format!(
            "run -y -c 30 --rate 200 -i 0 --expect-data --hold 500ms --source 127.0.0.2,127.0.0.3 127.0.0.1 {}",
            server.port
        ),
    );
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    let again = temp("again-rendered.html");
    let r = tg(&format!(
        "report {} --format html -o {}",
        json.display(),
        again.display()
    ));
    assert_eq!(code(&r), 0, "{}", stderr(&r));
    assert!(
        std::fs::read_to_string(&again).unwrap() == page,
        "the page differs"
    );
    let r = tg(&format!("report {} --format html", json.display()));
    assert!(stdout(&r) == page, "the page on stdout differs");
    std::fs::remove_file(again).unwrap();
    std::fs::remove_file(json).unwrap();
}

/// A page that cannot be written is refused before anything is dialed.
#[test]
fn an_unwritable_page_fails_before_the_run() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 3 -s 0 --export-html /nonexistent-dir/r.html 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: --export-html /nonexistent-dir/r.html: ")
            && err.lines().count() == 1,
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(server.accepted(), 0, "nothing may be dialed");
}

/// The tick labels of every chart of `doc`, per chart: the y axis's (anchored at their end)
/// and the x axis's (centred below it), the empty ones left out.
fn tick_labels(doc: &Html) -> Vec<(Vec<String>, Vec<String>)> {
    doc.select(&sel("svg"))
        .map(|svg| {
            let (mut y, mut x) = (Vec::new(), Vec::new());
            for t in svg.select(&sel("text")) {
                let text = t.text().collect::<String>().trim().to_string();
                let v = t.value();
                if text.is_empty() || v.attr("transform").is_some() {
                    continue;
                }
                match (v.attr("text-anchor"), v.attr("dy")) {
                    (Some("end"), _) => y.push(text),
                    (Some("middle"), Some("0.76em")) => x.push(text),
                    _ => {}
                }
            }
            (y, x)
        })
        .collect()
}

/// With one or two connections the count axes are labelled 0, 1 (and 2) once each, never
/// "0 0 0 0 0 0 1 1 1 1 1 1"; no axis label is drawn twice (the end of a log axis included).
#[test]
fn axis_labels_are_whole_counts_drawn_once() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    for c in [1u64, 2] {
        let (o, page, json) = run_exporting(
            &format!("ticks{c}"),
            &format!(
                "run -y -c {c} -s 0 -i 0 --hold 300ms 127.0.0.1 {}",
                server.port()
            ),
        );
        std::fs::remove_file(json).unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let doc = parse(&page);
        let charts = tick_labels(&doc);
        assert!(charts.len() >= 3, "{charts:?}");
        for (y, x) in &charts {
            for labels in [y, x] {
                let mut distinct = labels.clone();
                distinct.sort();
                distinct.dedup();
                assert_eq!(distinct.len(), labels.len(), "-c {c}: {labels:?}");
            }
        }
        // The timeline and the connect-time histogram count connections: 0 up to c.
        let whole: Vec<String> = (0..=c).map(|k| k.to_string()).collect();
        assert_eq!(charts[0].0, whole, "-c {c}: the timeline's y axis");
        // (Up to the tallest bar: two connections may fall in two bins.)
        let bars = &charts[1].0;
        assert!(
            bars.len() >= 2 && whole.starts_with(bars),
            "-c {c}: the histogram's y axis: {bars:?}"
        );
    }
}
