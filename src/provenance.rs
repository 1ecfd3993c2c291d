//! Provenance: what makes a finding reproducible (hashes of the input and the spec, the time
//! of the run).

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::input::Source;

/// SHA-256 of the source file's bytes, hex; `None` for standard input.
pub fn sha256_of(source: &Source) -> Result<Option<String>> {
    if source.is_stdin() {
        return Ok(None);
    }
    let mut file = std::fs::File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
    let mut hasher = Sha256::new();
    // 128 kB, which stays in the core's L2 cache between the copy and the hash: with 1 MB
    // the 40 MB bench file took 47 ms instead of 32 ms (issue 8).
    let mut buf = vec![0u8; 1 << 17];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(&source.path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Some(hex(&hasher.finalize())))
}

/// Run `scan` while other threads hash the input ([`sha256_of`]) and ask git for the run's
/// state ([`run_git_info`]): neither adds to the time of a scan that takes longer (issue 8).
/// The hash's error is returned for the caller to raise after the scan's; a panic on either
/// thread resumes here.
pub fn beside_scan<T>(
    source: &Source,
    scan: impl FnOnce() -> T,
) -> (T, Result<Option<String>>, Option<crate::report::GitInfo>) {
    std::thread::scope(|s| {
        let hash = s.spawn(|| sha256_of(source));
        let git = s.spawn(run_git_info);
        let scanned = scan();
        let sha256 = hash.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let git = git.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (scanned, sha256, git)
    })
}

/// The git state of the working directory for a report's provenance: `None` when the
/// report must be reproducible (see [`run_specific`]), outside a checkout, or without git.
pub fn run_git_info() -> Option<crate::report::GitInfo> {
    run_specific()
        .then(|| git_info(std::path::Path::new(".")))
        .flatten()
}

/// True unless `SOURCE_DATE_EPOCH` is set. That variable (the reproducible-builds convention)
/// asks for reproducible output: the run's time is pinned to it (see [`run_time`]) and the
/// run-specific git state is left out of the report, so sample reports compare byte for byte.
pub fn run_specific() -> bool {
    std::env::var_os("SOURCE_DATE_EPOCH").is_none()
}

/// The git commit of `dir` and whether tracked files changed; `None` outside a git checkout or
/// without git.
pub fn git_info(dir: &std::path::Path) -> Option<crate::report::GitInfo> {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(crate::report::GitInfo { commit, dirty })
}

/// The time of the run, UTC, ISO 8601 (`2026-01-31T12:00:00Z`). It is run-specific, so it
/// appears only in the HTML report, never in the JSON. `SOURCE_DATE_EPOCH` (seconds since
/// 1970, the reproducible-builds convention) replaces the clock, so sample reports stay
/// byte-stable.
pub fn run_time() -> String {
    match std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        Some(secs) => format!("{} (SOURCE_DATE_EPOCH)", utc(secs)),
        None => utc(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)),
    }
}

/// Seconds since 1970-01-01 as an ISO 8601 UTC timestamp (proleptic Gregorian calendar;
/// Howard Hinnant's `civil_from_days`).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// SHA-256 of a byte string, hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_iso_8601() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
