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

/// Writes `bytes` to `path` so that a reader (or a crash) never sees half a report: a
/// temporary file beside it, synced, then renamed over it. `-` is standard output. What is at
/// the path is respected: an existing file keeps its mode and owner; a symbolic link is
/// followed and its target replaced (the link stays); something that is no regular file (a
/// device such as `/dev/null`, a FIFO, a pipe as `/dev/fd/63` or `/dev/stdout`) is written in
/// place, since renaming over it would replace it with a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.as_os_str() == "-" {
        let mut out = io::stdout().lock();
        out.write_all(bytes)?;
        return out.flush();
    }
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        if existing.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
        out.write_all(bytes)?;
        return out.flush();
    }
    // A link is followed: the report replaces its target, where the reader looks.
    let target = if existing.is_some() {
        std::fs::canonicalize(path)?
    } else {
        path.to_path_buf()
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        if let Some(m) = &existing {
            use std::os::unix::fs::MetadataExt;
            file.set_permissions(m.permissions())?;
            // As the owner it had; only root may give a file away, and then it should.
            let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Whether `a` and `b` name the same file (the same device and inode), as far as both exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
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

    /// Seen as root: `--export-json /dev/null` replaced the device with a file, a link with a
    /// file, and a report kept private lost its mode.
    #[test]
    fn what_is_at_the_path_is_respected() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tcpgoon-respect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A FIFO is written in place (a reader takes what comes).
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomically(&fifo, b"through").unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        assert!(!std::fs::metadata(&fifo).unwrap().is_file(), "still a FIFO");
        // /dev/null stays a device.
        write_atomically(Path::new("/dev/null"), b"gone").unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        // A link is followed: its target is replaced, the link stays.
        let real = dir.join("real.json");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A private file stays private.
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&real, b"newer").unwrap();
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(same_file(&link, &real) && !same_file(&real, &fifo));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
