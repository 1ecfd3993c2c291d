//! Shared helpers: locating `../shared`, running the binary.

use std::path::PathBuf;

use assert_cmd::Command;

/// `../shared` beside the checkout (or `$FAIRAUDIT_SHARED`). Panics with a clear message when
/// it is absent: a reference test that cannot run must fail, never pass.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("FAIRAUDIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("goldens").is_dir() && dir.join("data").is_dir(),
        "the shared reference data is missing: expected goldens/ and data/ under {} \
         (the checkout's sibling `../shared`, or set FAIRAUDIT_SHARED)",
        dir.display()
    );
    dir
}

/// The `fairaudit` binary under test.
pub fn fairaudit() -> Command {
    Command::cargo_bin("fairaudit").expect("the fairaudit binary is built")
}

/// A file of the repository's `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// `fairaudit run SPEC` from the repository root with every output redirected into `dir`
/// (`r.json`, `r.md`, `r.html`, `r.xml`), so a test never writes into `reports/` whatever the
/// spec's `[outputs]` say. Further arguments can be added to the returned command.
pub fn run_spec_into(spec: &str, dir: &std::path::Path) -> Command {
    let mut cmd = fairaudit();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", spec, "--quiet"]);
    for (flag, ext) in [
        ("--json", "json"),
        ("--markdown", "md"),
        ("--html", "html"),
        ("--junit", "xml"),
    ] {
        cmd.arg(flag).arg(dir.join(format!("r.{ext}")));
    }
    cmd
}
