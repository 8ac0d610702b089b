//! The one-way doors between the crate's rooms (docs/ARCHITECTURE.md, "Rooms and doors"),
//! checked on the source: every `crate::<room>` path a file names must be a door its room may
//! use. A new import that breaks a door fails here with the file and the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each room and the rooms it may use. Rooms not listed may be used by nobody but `app`.
const DOORS: &[(&str, &[&str])] = &[
    ("config", &[]),
    ("units", &[]),
    ("local", &["config"]),
    ("cli", &["config", "units", "local"]),
    ("discover", &["config"]),
    ("preflight", &["config", "local"]),
    ("results", &["config"]),
    ("engine", &["config", "local", "results"]),
    ("verdict", &["config", "results"]),
    ("report", &["config", "results", "verdict", "units"]),
    (
        "export",
        &["config", "results", "verdict", "units", "report"],
    ),
    ("server", &["config", "engine", "units"]),
    (
        "export",
        &["config", "results", "verdict", "units", "report"],
    ),
    (
        "app",
        &[
            "cli",
            "config",
            "discover",
            "engine",
            "export",
            "local",
            "preflight",
            "report",
            "results",
            "server",
            "units",
            "verdict",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The rooms named by `crate::<room>` paths in one line of code (comments left out).
fn rooms_named(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut rooms = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            rooms.push(name);
        }
        rest = after;
    }
    // `use crate::{a, b}` names several rooms at once.
    if let Some(group) = code.split("crate::{").nth(1) {
        for part in group.split([',', '}']) {
            let name = part.trim().split("::").next().unwrap_or("").to_string();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                rooms.push(name);
            }
        }
    }
    rooms
}

/// Every door that `src` breaks, as `file:line: room -> room`.
fn broken_doors(src: &Path) -> Vec<String> {
    let doors: BTreeMap<&str, &[&str]> = DOORS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let room = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if room == "lib" || room == "main" {
            continue;
        }
        let allowed = doors
            .get(room.as_str())
            .unwrap_or_else(|| panic!("{}: room {room:?} is not in DOORS", rel.display()));
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for used in rooms_named(line) {
                if used != room && !allowed.contains(&used.as_str()) {
                    broken.push(format!("{}:{}: {room} -> {used}", rel.display(), n + 1));
                }
            }
        }
    }
    broken
}

#[test]
fn every_import_goes_through_a_door() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let broken = broken_doors(&src);
    assert!(
        broken.is_empty(),
        "imports that break the one-way doors of docs/ARCHITECTURE.md:\n{}",
        broken.join("\n")
    );
}

/// The checker itself sees a broken door, a grouped import and a comment.
#[test]
fn the_door_check_sees_what_it_must() {
    let dir = std::env::temp_dir().join(format!("tcpgoon-doors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("report")).unwrap();
    std::fs::write(
        dir.join("report/mod.rs"),
        "use crate::results::RunResult;\n// crate::engine in a comment is no import\nuse crate::{verdict, engine::Engine};\n",
    )
    .unwrap();
    std::fs::write(dir.join("results.rs"), "use crate::report::x;\n").unwrap();
    let broken = broken_doors(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        broken,
        vec![
            "report/mod.rs:3: report -> engine".to_string(),
            "results.rs:1: results -> report".to_string(),
        ]
    );
}
