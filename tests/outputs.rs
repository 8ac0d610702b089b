//! Where the reports go (issue 8, after a hostile test): what is at an export's path is
//! respected, two outputs never overwrite each other, standard output carries one document,
//! and one file that cannot be written costs that file only.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tcpgoon-out-{}-{name}", std::process::id()))
}

/// Two exports to one file, an export to the file stdout already is beside `--format json`,
/// and `report -o` over the report being read are refused before anything happens.
#[test]
fn outputs_that_would_overwrite_each_other_are_refused() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let same = temp("same.x");
    for args in [
        format!("--export-json {0} --export-html {0}", same.display()),
        format!(
            "--export-json {} --export-junit {}/./{}",
            same.display(),
            same.parent().unwrap().display(),
            same.file_name().unwrap().to_string_lossy()
        ),
    ] {
        let o = tg(&format!(
            "run -y -c 3 -s 0 {args} 127.0.0.1 {}",
            server.port()
        ));
        assert_eq!(code(&o), 1, "{args}");
        let err = stderr(&o);
        assert!(
            err.contains("one would overwrite the other"),
            "{args}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // /dev/stdout is standard output: beside --format json, a second document there.
    let out = std::fs::File::create(temp("stdout.json")).unwrap();
    let o = tcpgoon()
        .args([
            "run",
            "-y",
            "-c",
            "3",
            "--format",
            "json",
            "--export-json",
            "/dev/stdout",
        ])
        .args(["127.0.0.1", &server.port()])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains(
            "--format json and --export-json would each write a document to standard output"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(server.accepted(), 0, "nothing may be dialed");
    // report -o over its own input.
    let saved = temp("saved.json");
    let o = tg(&format!(
        "run -y -c 2 -s 0 --export-json {} 127.0.0.1 {}",
        saved.display(),
        server.port()
    ));
    assert_eq!(code(&o), 0);
    let before = std::fs::read(&saved).unwrap();
    let o = tg(&format!("report {0} --format html -o {0}", saved.display()));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("is the report being read"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        before,
        "the report is intact"
    );
    for f in [saved, temp("stdout.json")] {
        let _ = std::fs::remove_file(f);
    }
}

/// An export to a FIFO is written into it (it stays a FIFO), and a link is followed (it stays a
/// link); a private report stays private.
#[test]
fn what_is_at_the_export_path_is_respected() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let fifo = temp("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let real = temp("real.json");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = temp("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = tg(&format!(
        "run -y -c 3 -s 0 --export-json {} --export-html {} 127.0.0.1 {}",
        fifo.display(),
        link.display(),
        server.port()
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(doc["counts"]["established"], 3);
    assert!(!std::fs::metadata(&fifo).unwrap().is_file(), "still a FIFO");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for f in [fifo, real, link] {
        let _ = std::fs::remove_file(f);
    }
}

/// With an export to `-`, standard output is that document only (the text goes to stderr);
/// a declined prompt under `--format json` leaves standard output empty.
#[test]
fn standard_output_carries_one_document() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let o = tg(&format!(
        "run -y -c 4 -s 0 --export-json - 127.0.0.1 {}",
        server.port()
    ));
    assert_eq!(code(&o), 0);
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["counts"]["established"], 4);
    assert!(
        stderr(&o).contains("--- 127.0.0.1:"),
        "the text on stderr: {}",
        stderr(&o)
    );
    let mut child = tcpgoon()
        .args([
            "run",
            "-c",
            "3",
            "--format",
            "json",
            "127.0.0.1",
            &server.port(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"n\n").unwrap();
    let o = wait_output(&mut child, Duration::from_secs(20));
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "", "nothing on stdout");
    assert!(stderr(&o).contains("Execution aborted"), "{}", stderr(&o));
}

/// A file that cannot be written at the end (its directory removed during the run) costs that
/// file: the others are written, each failure is one line, and the exit code is 1.
#[test]
fn one_export_failing_costs_only_that_file() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let gone = temp("gone");
    std::fs::create_dir_all(&gone).unwrap();
    let (json, html) = (temp("ok.json"), temp("ok.html"));
    let mut child = spawn(&format!(
        "run -y -c 3 -s 0 -i 0 --hold 1500ms --export-junit {}/x.xml --export-json {} --export-html {} 127.0.0.1 {}",
        gone.display(),
        json.display(),
        html.display(),
        server.port()
    ));
    assert!(server.wait_open(3, Duration::from_secs(10)));
    std::fs::remove_dir_all(&gone).unwrap();
    let o = wait_output(&mut child, Duration::from_secs(20));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--export-junit"), "{}", stderr(&o));
    assert!(json.exists() && html.exists());
    for f in [json, html] {
        std::fs::remove_file(f).unwrap();
    }
}

/// A /16 of sources for ten connections lists the ten that took part, not 65,536 rows.
#[test]
fn only_sources_that_took_part_are_listed() {
    let server = TestServer::start("127.0.0.1", Behaviour::Hold);
    let file = temp("sixteen.json");
    let o = tg(&format!(
        "run -y -c 10 -s 0 -i 0 --source 127.1.0.0/16 --export-json {} 127.0.0.1 {}",
        file.display(),
        server.port()
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["per_source"].as_array().unwrap().len(), 10);
    let out = stdout(&o);
    let lines = out.lines().filter(|l| l.starts_with("  127.1.")).count();
    assert_eq!(lines, 10, "{out}");
    std::fs::remove_file(file).unwrap();
}
