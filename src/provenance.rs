//! Provenance: what makes a finding reproducible (hash of the input).

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
    let mut buf = vec![0u8; 1 << 20];
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

/// Environment variable that, when set, leaves run-specific fields (the git state) out of
/// reports, so sample reports can be compared byte for byte across commits.
pub const REPRODUCIBLE_ENV: &str = "FAIRAUDIT_REPRODUCIBLE";

/// True unless [`REPRODUCIBLE_ENV`] is set.
pub fn run_specific() -> bool {
    std::env::var_os(REPRODUCIBLE_ENV).is_none()
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
    fn known_digest() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
