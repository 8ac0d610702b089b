//! The JSON report (issue 8): real reports from real runs validate against the committed
//! schema, `--format json` puts exactly one document on stdout, `tcpgoon report` renders a
//! saved run again identically, and the document's numbers are the text report's.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

pub fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/report.schema.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// Checks `doc` against the schema, listing every violation.
pub fn validate(doc: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tcpgoon-{}-{name}", std::process::id()))
}

/// Runs `tcpgoon run ARGS --export-json FILE`; returns the output and the document.
fn run_exporting(name: &str, args: &str) -> (std::process::Output, Value, PathBuf) {
    let file = temp(name);
    let o = tg(&format!("{args} --export-json {}", file.display()));
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{args}: no report ({e}): {}", stderr(&o)));
    let doc: Value = serde_json::from_str(&text).unwrap();
    (o, doc, file)
}

#[test]
fn reports_of_many_kinds_validate_against_the_schema() {
    let greet = TestServer::start("127.0.0.1", Behaviour::Greet(b"HELLO\r\n"));
    let closing = TestServer::start(
        "127.0.0.1",
        Behaviour::CloseAfter(Duration::from_millis(200)),
    );
    let runs = [
        format!("run -y -c 20 -s 0 -i 0 127.0.0.1 {}", greet.port()),
        format!(
            "run -y -c 30 -s 0 -i 0 --expect HELLO --hold 500ms --probe-at-end \
             --threshold connect_p99<1s --threshold verified>=10 --source 127.0.0.2,127.0.0.3 127.0.0.1 {}",
            greet.port()
        ),
        format!("run -y -c 10 --rate 100 -i 0 --hold 1s 127.0.0.1 {}", closing.port()),
        format!("run -y -c 5 -s 0 -i 0 127.0.0.1 {}", closed_port()),
        format!(
            "run -y -c 4 -s 0 -i 0 --expect NOPE --expect-timeout 200ms --send \\x00hi 127.0.0.1 {}",
            greet.port()
        ),
    ];
    for (i, args) in runs.iter().enumerate() {
        let (o, doc, file) = run_exporting(&format!("kinds-{i}.json"), args);
        validate(&doc);
        // The schema is no formality: a wrong type or a missing field fails it.
        let mut broken = doc.clone();
        broken["counts"]["total"] = Value::from("many");
        assert!(!schema().is_valid(&broken));
        let mut broken = doc.clone();
        broken.as_object_mut().unwrap().remove("thresholds");
        assert!(!schema().is_valid(&broken));
        assert_eq!(doc["exit_code"], code(&o), "{args}");
        assert_eq!(doc["schema_version"], 1);
        std::fs::remove_file(file).unwrap();
    }
}

/// `--format json`: standard output is exactly one JSON document, the same as the exported
/// file; the status lines are gone from stdout (on stderr with -v).
#[test]
fn format_json_puts_one_document_on_stdout() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let file = temp("one.json");
    let o = tg(&format!(
        "run -y -c 8 -s 0 --format json -v --export-json {} 127.0.0.1 {}",
        file.display(),
        server.port()
    ));
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    let mut docs = serde_json::Deserializer::from_str(&out).into_iter::<Value>();
    let doc = docs.next().unwrap().unwrap();
    assert!(docs.next().is_none(), "more than one document:\n{out}");
    assert!(out.starts_with('{') && out.ends_with("}\n"), "{out}");
    validate(&doc);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), out);
    assert!(
        stderr(&o).contains("Total: 8, Dialing: 0, Established: 0"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(file).unwrap();
}

/// The text `tcpgoon report FILE` prints is the report the run printed after its status lines,
/// byte for byte; `--format json` writes the document again unchanged; and the document's
/// figures are the text's.
#[test]
fn a_saved_report_renders_again_identically() {
    let server = TestServer::start(
        "127.0.0.1",
        Behaviour::CloseAfter(Duration::from_millis(300)),
    );
    let (o, doc, file) = run_exporting(
        "again.json",
        &format!(
            "run -y -c 25 -s 0 -i 0 --hold 1s --threshold lifetime_min>=250ms 127.0.0.1 {}",
            server.port()
        ),
    );
    let out = stdout(&o);
    let block = &out[out.find("--- 127.0.0.1:").unwrap()..];
    let again = tg(&format!("report {}", file.display()));
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(stdout(&again), block);
    let json = tg(&format!("report --format json {}", file.display()));
    assert_eq!(stdout(&json), std::fs::read_to_string(&file).unwrap());
    // The numbers are the text's.
    assert_eq!(doc["counts"]["closed"], 25);
    assert_eq!(doc["closures"]["fin"]["count"], 25);
    assert!(out.contains("Closed: 25 connections: 25 FIN"), "{out}");
    let p50 = doc["connect_time"]["p50_us"].as_f64().unwrap();
    let shown = out
        .lines()
        .find(|l| l.starts_with("Response time percentiles"))
        .unwrap()
        .rsplit(" = ")
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        parse_go_duration(&shown).unwrap(),
        Duration::from_nanos((p50 * 1000.0).round() as u64),
        "{shown} vs {p50}"
    );
    assert_eq!(
        doc["thresholds"][0]["text"],
        out.lines()
            .find(|l| l.contains("lifetime_min>=250ms"))
            .unwrap()
    );
    std::fs::remove_file(file).unwrap();
}

/// A report file that cannot be written is refused before anything is dialed; a file that is
/// no report is refused by `report` with one line.
#[test]
fn bad_report_paths_fail_early_with_one_line() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 3 -s 0 --export-json /nonexistent-dir/r.json 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: --export-json /nonexistent-dir/r.json: ")
            && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(server.accepted(), 0, "nothing may be dialed");
    // Two documents on stdout are refused.
    let o = tg(&format!(
        "run -y -c 3 --format json --export-json - 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o)
            .starts_with("error: --format json and --export-json - would each write a document to standard output"),
        "{}",
        stderr(&o)
    );
    assert_eq!(server.accepted(), 0, "nothing may be dialed");
    let not_a_report = temp("not-a-report.json");
    std::fs::write(&not_a_report, "{\"hello\": 1}").unwrap();
    for (file, want) in [
        (not_a_report.display().to_string(), "not a tcpgoon report"),
        (
            "/nonexistent-dir/r.json".to_string(),
            "cannot read it: no such file or directory",
        ),
    ] {
        let o = tg(&format!("report {file}"));
        assert_eq!(code(&o), 1);
        let err = stderr(&o);
        assert!(err.contains(want) && err.lines().count() == 1, "{err}");
    }
    std::fs::remove_file(not_a_report).unwrap();
}

/// An interrupted run still writes its report, with the reason it stopped.
#[test]
fn an_interrupted_run_writes_its_report() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let file = temp("interrupted.json");
    let mut child = spawn(&format!(
        "run -y -c 4 -s 0 -i 0 --hold 60s --export-json {} 127.0.0.1 {}",
        file.display(),
        server.port()
    ));
    assert!(server.wait_open(4, Duration::from_secs(10)));
    signal(child.id(), "INT");
    let o = wait_output(&mut child, Duration::from_secs(20));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    validate(&doc);
    assert_eq!(doc["stop_reason"], "interrupted");
    assert_eq!(doc["hold"]["ended"], "interrupted");
    std::fs::remove_file(file).unwrap();
}

/// A real report from a run whose 5 connections were established, closed by the far side
/// (FIN) and verified: every distribution holds samples.
fn real_report(name: &str) -> Value {
    let server = TestServer::start("127.0.0.1", Behaviour::Greet(b"HELLO\r\n"));
    let (o, doc, file) = run_exporting(
        name,
        &format!(
            "run -y -c 5 -s 0 -i 0 --expect HELLO 127.0.0.1 {}",
            server.port()
        ),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::remove_file(file).unwrap();
    doc
}

/// `tcpgoon report` on `doc` mutated by `mutate` fails with exit code 1 and one error line
/// containing `want`, never a panic.
fn refused(doc: &Value, name: &str, mutate: impl FnOnce(&mut Value), want: &str) {
    let mut doc = doc.clone();
    mutate(&mut doc);
    let file = temp(name);
    std::fs::write(&file, serde_json::to_string(&doc).unwrap()).unwrap();
    let o = tg(&format!("report {}", file.display()));
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{name}: {err}{}", stdout(&o));
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1 && err.contains(want),
        "{name}: want {want:?} in one line, got {err}"
    );
    assert_eq!(stdout(&o), "", "{name}");
    std::fs::remove_file(file).unwrap();
}

/// A distribution whose minimum and maximum do not hold together is refused with one line
/// (it was an assertion failure in the percentiles, exit code 134).
#[test]
fn report_refuses_distributions_that_cannot_be() {
    let doc = real_report("dist.json");
    assert!(doc["connect_time"]["count"].as_u64().unwrap() > 0);
    assert!(doc["verification"]["first_byte"]["count"].as_u64().unwrap() > 0);
    refused(
        &doc,
        "max0.json",
        |d| d["connect_time"]["max_us"] = Value::from(0.0),
        "field connect_time holds a value that cannot be: the minimum",
    );
    refused(
        &doc,
        "maxnull.json",
        |d| d["connect_time"]["max_us"] = Value::Null,
        "field connect_time holds a value that cannot be: count is 5, yet min_us or max_us is missing",
    );
    refused(
        &doc,
        "fbmin.json",
        |d| d["verification"]["first_byte"]["min_us"] = Value::from(1e9),
        "field verification.first_byte holds a value that cannot be: the minimum",
    );
    refused(
        &doc,
        "count.json",
        |d| d["connect_time"]["count"] = Value::from(6),
        "the histogram holds 5 samples, the count is 6",
    );
    refused(
        &doc,
        "finmax.json",
        |d| d["closures"]["fin"]["max_us"] = Value::from(1.0),
        "field closures.fin holds a value that cannot be",
    );
}

/// Counts that do not add up, an exit code tcpgoon never uses and another program's name are
/// refused, each naming the field and why.
#[test]
fn report_refuses_documents_that_do_not_hold_together() {
    let doc = real_report("together.json");
    refused(
        &doc,
        "established.json",
        |d| d["counts"]["established"] = Value::from(7),
        "field counts holds a value that cannot be: not_initiated + dialing + established + closed + error = 7, not total (5)",
    );
    refused(
        &doc,
        "local.json",
        |d| d["counts"]["local_error"] = Value::from(1),
        "field counts.local_error holds a value that cannot be: 1 is more than not_initiated (0)",
    );
    for bad in [99, -1, 4] {
        refused(
            &doc,
            "exit.json",
            |d| d["exit_code"] = Value::from(bad),
            &format!("field exit_code holds a value that cannot be: {bad}, not one of tcpgoon's exit codes 0 to 3"),
        );
    }
    refused(
        &doc,
        "tool.json",
        |d| d["tool"]["name"] = Value::from("notgoon"),
        "field tool.name holds a value that cannot be: \"notgoon\", not \"tcpgoon\"",
    );
}

/// A document that is no report, or a histogram that is none, says so in words.
#[test]
fn report_says_clearly_what_is_not_a_report() {
    let doc = real_report("clear.json");
    refused(
        &doc,
        "array.json",
        |d| *d = serde_json::json!([1, 2]),
        "not a tcpgoon JSON report: the document is not a JSON object",
    );
    refused(
        &doc,
        "null.json",
        |d| *d = Value::Null,
        "not a tcpgoon JSON report: the document is not a JSON object",
    );
    refused(
        &doc,
        "version.json",
        |d| d["schema_version"] = Value::from("1"),
        "not a tcpgoon JSON report: schema_version must be a number",
    );
    refused(
        &doc,
        "version9.json",
        |d| d["schema_version"] = Value::from(9),
        "schema_version 9 is not one this tcpgoon reads (it reads 1)",
    );
    refused(
        &doc,
        "histempty.json",
        |d| d["connect_time"]["histogram"] = Value::from(""),
        "field connect_time holds a value that cannot be: histogram: not an HDR histogram (V2, base64): it is empty or cut short",
    );
    refused(
        &doc,
        "histb64.json",
        |d| d["connect_time"]["histogram"] = Value::from("%%%"),
        "histogram: not an HDR histogram (V2, base64): not base64",
    );
    refused(
        &doc,
        "histjunk.json",
        |d| d["connect_time"]["histogram"] = Value::from("aGVsbG8gd29ybGQ="),
        "histogram: not an HDR histogram (V2, base64): it does not start with a histogram's header",
    );
}
