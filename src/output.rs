//! Writing outputs: atomically (temp file beside the target, then rename), or to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `bytes` to `path` (`-` = standard output) so that the target is either untouched or
/// complete: the bytes go to a temporary file in the same directory, which is renamed over the
/// target only once fully written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("<stdout>", e));
    }
    let tmp = temp_path(path, "");
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Write several outputs as one result: every file output goes to its own temporary file
/// first (`.NAME.tmp-PID-K`), and only when all are fully written are they renamed over their
/// targets; if any write fails, every temporary file is removed and no target is touched, so
/// there is never half a result (one file new, the other missing or old). Outputs to `-`
/// (standard output) are written last. The renames themselves are not one atomic step: only a
/// failure between two renames in the same directory (no space is needed for a rename) could
/// leave a mixed state, and then the temporary files left are removed.
pub fn write_atomic_all(outputs: &[(&Path, &[u8])]) -> Result<()> {
    let mut temps: Vec<(std::path::PathBuf, &Path)> = Vec::new();
    let clean = |temps: &[(std::path::PathBuf, &Path)]| {
        for (tmp, _) in temps {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for (k, &(path, bytes)) in outputs.iter().enumerate() {
        if path == Path::new("-") {
            continue;
        }
        let tmp = temp_path(path, &format!("-{k}"));
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
        temps.push((tmp, path));
        if let Err(e) = written {
            clean(&temps);
            return Err(Error::io(path, e));
        }
    }
    for (i, (tmp, path)) in temps.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            clean(&temps[i..]);
            return Err(Error::io(*path, e));
        }
    }
    for &(path, bytes) in outputs {
        if path == Path::new("-") {
            write_atomic(path, bytes)?;
        }
    }
    Ok(())
}

/// Check that the outputs `targets` can all be written: at most one to standard output
/// (`-`), no two to the same file, and none over the input `data`. Outputs are compared by
/// their directory's canonical form and file name, so `r.json` and `./r.json` are the same
/// file (a rename of the second's temporary file would silently replace the first; a rename
/// over a symbolic link replaces the link, not its target); the data file, which exists, by
/// its canonical path, so a link to it is caught too.
pub fn check_targets(targets: &[&Path], data: &Path) -> std::result::Result<(), String> {
    let stdout = Path::new("-");
    if targets.iter().filter(|p| **p == stdout).count() > 1 {
        return Err("only one output can go to standard output ('-')".into());
    }
    let files: Vec<(&Path, PathBuf)> = (targets.iter())
        .filter(|p| **p != stdout)
        .map(|p| (*p, file_key(p)))
        .collect();
    let data = (data != stdout).then(|| data.canonicalize().unwrap_or_else(|_| file_key(data)));
    for (i, (path, key)) in files.iter().enumerate() {
        if files[i + 1..].iter().any(|(_, other)| other == key) {
            return Err(format!("two outputs write to {}", path.display()));
        }
        if data.as_ref() == Some(key) {
            return Err(format!(
                "the output {} would overwrite the input data",
                path.display()
            ));
        }
    }
    Ok(())
}

/// `path` with its directory made canonical when it exists (the file itself need not).
fn file_key(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// The hidden temporary file beside `path`: `.NAME.tmp-PID` plus `suffix`.
fn temp_path(path: &Path, suffix: &str) -> std::path::PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp-{}{suffix}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn clashing_targets_are_found_however_they_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d.csv");
        std::fs::write(&data, "x").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&data, &link).unwrap();
        let at = |name: &str| dir.path().join(name);
        let (r, dotted) = (at("r.json"), dir.path().join(".").join("r.json"));
        let check = |targets: &[&Path], data: &Path| check_targets(targets, data);
        assert!(check(&[&r, Path::new("-"), &at("r.md")], &data).is_ok());
        assert!(check(&[Path::new("-"), Path::new("-")], &data).is_err());
        assert!(check(&[&r, &dotted], &data)
            .unwrap_err()
            .contains("two outputs"));
        let over = |target: &Path, data: &Path| check(&[target], data).unwrap_err();
        assert!(over(&data, &data).contains("overwrite the input"));
        // Data read through a link: its target is the input too.
        assert!(over(&data, &link).contains("overwrite the input"));
        // Standard input is no file; in a directory that does not exist (the write will fail
        // anyway) paths compare as paths: `a/./b` is `a/b`, `a/../b` is not.
        assert!(check(&[&r], Path::new("-")).is_ok());
        let missing = at("no/such/r.json");
        assert!(check(&[&missing, &at("no/such/./r.json")], &data).is_err());
        assert!(check(&[&missing, &at("no/such/x/../r.json")], &data).is_ok());
    }

    #[test]
    fn a_pair_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(&a, "old a").unwrap();
        write_atomic_all(&[(&a, b"new a"), (&b, b"new b")]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        // The second target cannot be written: the first keeps its old bytes, no temp is left.
        let bad = dir.path().join("missing-dir").join("c.csv");
        assert!(write_atomic_all(&[(&a, b"newer a"), (&bad, b"c")]).is_err());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.csv", "b.csv"]);
        // The same target twice: the later bytes win, nothing else is left.
        write_atomic_all(&[(&a, b"1"), (&a, b"2")]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "2");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn replaces_the_target_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.json");
        std::fs::write(&target, "old").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing-dir").join("r.json");
        assert!(write_atomic(&target, b"x").is_err());
        assert!(!target.exists());
    }
}
