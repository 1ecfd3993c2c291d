//! One test per fixed bug, named after its issue (the ripgrep `regression.rs` pattern). Crashes
//! found by `scripts/fuzz` land here too, with the crashing input inline.

use crate::util::fairaudit;

/// Issue 9: a quote that was never closed made the `csv` crate read the rest of the file as one
/// field, silently losing every later row; the audit passed on the rows before it.
#[test]
fn issue_9_unterminated_quote_loses_no_rows_silently() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "label,score,g\n1,0.9,\"a\n0,0.2,b\n1,0.7,b\n").unwrap();
    fairaudit()
        .arg("run")
        .arg("--data")
        .arg(&data)
        .args(["--label", "label", "--score", "score", "--protected", "g"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "row 1 (line 2): malformed CSV: a quoted field is never closed",
        ));
}

/// Issue 9: a file with a header only gave a passing report of zero rows.
#[test]
fn issue_9_header_only_is_not_a_passing_audit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "label,score,g\n").unwrap();
    fairaudit()
        .arg("run")
        .arg("--data")
        .arg(&data)
        .args(["--label", "label", "--score", "score", "--protected", "g"])
        .args(["--policy", "demographic_parity_ratio >= 0.8"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no data rows"));
}
