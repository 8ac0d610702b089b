//! Results out of the process, for machines and for later: the JSON report (a public, versioned
//! data product with a committed schema), JUnit XML for CI dashboards, and files written
//! atomically.
//!
//! The text report is for people reading a terminal; CI systems, capacity planners and the
//! merge of runs from several machines need the same numbers as data. The JSON document is
//! built from the [`RunResult`](crate::results::RunResult) and the [`Verdict`](crate::verdict::Verdict)
//! after the run (the engine formats nothing), carries every figure of the text report, and
//! carries enough (exact sums, HDR histograms) to rebuild the result exactly: `tcpgoon report`
//! renders a saved run again through the same text functions, and runs merge without loss.

pub mod html;
pub mod json;
pub mod junit;

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk, then
/// renamed over `path`, so that a reader (or a crash) never sees half a report. `-` is
/// standard output.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.as_os_str() == "-" {
        let mut out = io::stdout().lock();
        out.write_all(bytes)?;
        return out.flush();
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("tcpgoon-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("report.json");
        std::fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        // A directory that does not exist: an error, and nothing written.
        assert!(write_atomically(&dir.join("no/such/dir.json"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
