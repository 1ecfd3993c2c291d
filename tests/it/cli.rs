//! Command-line behaviour: exit codes 0/1/2, error messages naming file/row/column, no partial
//! output after an error, spec files, stdin and stdout.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value as Json;

use crate::util::fairaudit;

/// A small table: group a is selected far more often than group b.
const SMALL: &str = "label,score,group\n\
1,0.9,a\n0,0.8,a\n1,0.7,a\n0,0.2,a\n\
1,0.6,b\n0,0.1,b\n1,0.3,b\n0,0.2,b\n";

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn base_args(data: &Path) -> Vec<String> {
    [
        "run",
        "--data",
        &data.display().to_string(),
        "--label",
        "label",
        "--score",
        "score",
    ]
    .into_iter()
    .map(String::from)
    .chain(["--protected", "group", "--min-group-size", "0"].map(String::from))
    .collect()
}

#[test]
fn exit_0_when_every_policy_passes() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    // Selection rates: a 3/4, b 1/4, ratio 1/3.
    fairaudit()
        .args(base_args(&data))
        .args(["--policy", "demographic_parity_ratio >= 0.3"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("PASS"));
}

#[test]
fn exit_1_when_a_policy_fails_and_the_summary_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    let out = dir.path().join("r.json");
    fairaudit()
        .args(base_args(&data))
        .args(["--policy", "demographic_parity_ratio >= 0.8", "--json"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL demographic_parity_ratio >= 0.8 [group]",
        ));
    let report: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["status"], "fail");
    assert_eq!(report["policies"][0]["status"], "fail");
    let observed = report["policies"][0]["observed"].as_f64().unwrap();
    assert!((observed - 1.0 / 3.0).abs() < 1e-15);
}

#[test]
fn insufficient_data_fails_the_gate_unless_the_policy_warns() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    // With k = 5 both groups (4 rows) are too small: nothing can be decided.
    let mut args = base_args(&data);
    args.retain(|a| a != "0");
    args.retain(|a| a != "--min-group-size");
    args.extend(
        [
            "--min-group-size",
            "5",
            "--policy",
            "demographic_parity_ratio >= 0.8",
        ]
        .map(String::from),
    );
    fairaudit()
        .args(&args)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("INSUFFICIENT"));
    let spec = write(
        dir.path(),
        "a.toml",
        &format!(
            "[data]\npath = {:?}\n[columns]\nlabel = \"label\"\nscore = \"score\"\n\
             [audit]\nprotected = [\"group\"]\nmin_group_size = 5\n\
             [[policy]]\nid = \"dp\"\nexpression = \"demographic_parity_ratio >= 0.8\"\n\
             on_insufficient = \"warn\"\n",
            data.display().to_string()
        ),
    );
    fairaudit()
        .arg("run")
        .arg(&spec)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("INSUFFICIENT (warn)"));
}

#[test]
fn bad_value_exits_2_naming_file_row_and_column_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "bad.csv",
        "label,score,group\n1,0.9,a\n0,0.4,b\n2,0.5,a\n",
    );
    let out = dir.path().join("r.json");
    fairaudit()
        .args(base_args(&data))
        .arg("--json")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.csv"))
        .stderr(predicate::str::contains("row 3"))
        .stderr(predicate::str::contains("'label'"));
    assert!(!out.exists(), "no report may be written after an error");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left behind"
    );
}

#[test]
fn an_existing_report_survives_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "bad.csv", "label,score,group\n1,1.5,a\n");
    let out = write(dir.path(), "r.json", "previous report");
    fairaudit()
        .args(base_args(&data))
        .arg("--json")
        .arg(&out)
        .assert()
        .code(2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous report");
}

/// A run whose last output cannot be written writes none (CONTRACT §1: on exit 2 no output
/// file is created): an earlier report stays as it was, no new file appears, no temporary
/// file is left. The same for `mitigate`.
#[test]
fn an_output_that_cannot_be_written_leaves_every_output_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    let kept = write(dir.path(), "r.json", "previous report");
    let (new, unwritable) = (
        dir.path().join("r.md"),
        dir.path().join("no/such/dir/r.html"),
    );
    fairaudit()
        .args(base_args(&data))
        .args(["--quiet", "--json"])
        .arg(&kept)
        .arg("--markdown")
        .arg(&new)
        .arg("--html")
        .arg(&unwritable)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir"));
    fairaudit()
        .arg("mitigate")
        .arg("--data")
        .arg(&data)
        .args([
            "--label",
            "label",
            "--score",
            "score",
            "--protected",
            "group",
        ])
        .args(["--objective", "demographic_parity", "--quiet", "--json"])
        .arg(&kept)
        .arg("--html")
        .arg(&unwritable)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir"));
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "previous report");
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["d.csv", "r.json"]);
}

/// Outputs that would overwrite each other or the input are a usage error (exit 2), found
/// before anything is read or written: the same file named two ways, `--emit-partials` among
/// the reports, two outputs to standard output, a report over the data file.
#[test]
fn clashing_outputs_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    let run = |outputs: &[&str], message: &str| {
        fairaudit()
            .current_dir(dir.path())
            .args(base_args(&data))
            .args(outputs)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    };
    run(
        &["--json", "r.json", "--markdown", "./r.json"],
        "two outputs write to",
    );
    run(
        &["--json", "r.json", "--emit-partials", "r.json"],
        "two outputs write to",
    );
    run(
        &["--json", "-", "--emit-partials", "-"],
        "only one output can go to standard output",
    );
    run(&["--json", "d.csv"], "would overwrite the input data");
    run(
        &["--emit-partials", "./d.csv"],
        "would overwrite the input data",
    );
    // mitigate and reweigh check their outputs the same way.
    let other = |command: &[&str], outputs: &[&str], message: &str| {
        fairaudit()
            .current_dir(dir.path())
            .args(command)
            .args([
                "--data",
                "d.csv",
                "--label",
                "label",
                "--protected",
                "group",
            ])
            .args(outputs)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    };
    let mitigate = [
        "mitigate",
        "--score",
        "score",
        "--objective",
        "demographic_parity",
    ];
    other(
        &mitigate,
        &["--json", "m.json", "--html", "./m.json"],
        "two outputs",
    );
    other(
        &mitigate,
        &["--json", "d.csv"],
        "would overwrite the input data",
    );
    other(
        &["reweigh"],
        &["--out", "d.csv"],
        "would overwrite the input data",
    );
    assert_eq!(std::fs::read_to_string(&data).unwrap(), SMALL);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the data file");
}

/// Two groups that would be shown alike (a value written `(missing)` beside missing values;
/// values containing ` & ` that join to the same intersection) are an input error: reports,
/// references and disparities tell groups apart by that text.
#[test]
fn groups_shown_alike_are_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = write(
        dir.path(),
        "m.csv",
        "label,score,group\n1,0.9,(missing)\n0,0.2,(missing)\n1,0.8,\n0,0.4,a\n",
    );
    fairaudit()
        .args(base_args(&missing))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("m.csv")
                .and(predicate::str::contains("'group'"))
                .and(predicate::str::contains("shown as '(missing)'")),
        );
    let joined = write(
        dir.path(),
        "j.csv",
        "label,score,x,y\n1,0.9,a & b,c\n0,0.2,a,b & c\n1,0.3,a,b\n",
    );
    fairaudit()
        .args(["run", "--data"])
        .arg(&joined)
        .args(["--label", "label", "--score", "score", "--protected", "x,y"])
        .args(["--intersect", "x,y", "-q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shown as 'a & b & c'"));
}

/// With every group below the minimum size the between-group summary keeps every key, each
/// `null` with a reason (undefined is never dropped), where it used to keep only the named
/// aggregates.
#[test]
fn a_summary_of_no_compared_group_keeps_every_key_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    let summary = |min: &str| -> serde_json::Map<String, Json> {
        let out = dir.path().join(format!("r{min}.json"));
        let mut args = base_args(&data);
        let at = args.iter().position(|a| a == "--min-group-size").unwrap();
        args[at + 1] = min.to_string();
        fairaudit()
            .args(args)
            .args(["--quiet", "--json"])
            .arg(&out)
            .assert()
            .code(0);
        let r: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        r["attributes"][0]["summary"].as_object().unwrap().clone()
    };
    let (all, none) = (summary("0"), summary("100"));
    assert!(all.len() > 100, "{}", all.len());
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        none.keys().collect::<Vec<_>>()
    );
    for (key, v) in &none {
        assert!(v["value"].is_null(), "{key}: {v}");
        assert!(v["reason"].is_string(), "{key}: {v}");
    }
}

#[test]
fn a_threshold_outside_the_unit_interval_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    for t in ["1.5", "-0.1"] {
        fairaudit()
            .args(base_args(&data))
            .arg(format!("--threshold={t}"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("outside [0, 1]"));
    }
    for t in ["0", "1"] {
        fairaudit()
            .args(base_args(&data))
            .args(["--threshold", t, "--quiet"])
            .assert()
            .code(0);
    }
}

#[test]
fn skip_invalid_counts_skipped_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "d.csv",
        "label,score,group\n1,0.9,a\nx,0.4,b\n0,1.5,a\n0,0.1,b\n",
    );
    let out = dir.path().join("r.json");
    fairaudit()
        .args(base_args(&data))
        .arg("--skip-invalid")
        .arg("--json")
        .arg(&out)
        .assert()
        .code(0);
    let r: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(r["input"]["rows"], 4);
    assert_eq!(r["input"]["rows_used"], 2);
    assert_eq!(r["input"]["skipped"]["invalid_label"], 1);
    assert_eq!(r["input"]["skipped"]["invalid_score"], 1);
}

#[test]
fn missing_column_lists_the_columns_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    fairaudit()
        .args(["run", "--data"])
        .arg(&data)
        .args([
            "--label",
            "lable",
            "--score",
            "score",
            "--protected",
            "group",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean 'label'"))
        .stderr(predicate::str::contains("label, score, group"));
}

#[test]
fn usage_and_spec_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    // Malformed policy.
    fairaudit()
        .args(base_args(&data))
        .args(["--policy", "demographic_parity_ratio >> 0.8"])
        .assert()
        .code(2);
    // Unknown flag.
    fairaudit().args(["run", "--no-such-flag"]).assert().code(2);
    // Unknown key in a spec: the message names the key and the line.
    let spec = write(
        dir.path(),
        "s.toml",
        "[data]\npath = \"d.csv\"\n[columns]\nlabel = \"label\"\nscor = \"score\"\n",
    );
    fairaudit()
        .arg("run")
        .arg(&spec)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("s.toml"))
        .stderr(predicate::str::contains("scor"))
        .stderr(predicate::str::contains("line 5"));
    // An unknown reference group names the groups there are.
    fairaudit()
        .args(base_args(&data))
        .args(["--reference", "group=zzz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no group 'zzz'"))
        .stderr(predicate::str::contains("a, b"));
}

#[test]
fn json_to_stdout_and_csv_from_stdin() {
    let assert = fairaudit()
        .args([
            "run",
            "--data",
            "-",
            "--label",
            "label",
            "--score",
            "score",
            "--protected",
            "group",
        ])
        .args(["--min-group-size", "0", "--json", "-"])
        .write_stdin(SMALL)
        .assert()
        .code(0);
    let out = &assert.get_output();
    let report: Json =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON report alone");
    assert_eq!(report["input"]["rows"], 8);
    assert_eq!(report["input"]["sha256"], Json::Null);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Verdict"),
        "summary goes to stderr"
    );
}

#[test]
fn same_input_gives_byte_identical_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    let run = |name: &str| {
        let out = dir.path().join(name);
        fairaudit()
            .args(base_args(&data))
            .arg("--json")
            .arg(&out)
            .arg("-q")
            .assert()
            .code(0);
        std::fs::read(out).unwrap()
    };
    assert_eq!(run("a.json"), run("b.json"));
}

#[test]
fn metrics_lists_every_key_with_peer_names() {
    fairaudit()
        .arg("metrics")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("demographic_parity_ratio"))
        .stdout(predicate::str::contains("Aequitas: pprev"))
        .stdout(predicate::str::contains("theil_index"));
}

#[test]
fn init_writes_a_starter_spec_that_runs_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("preds.csv");
    std::fs::copy(crate::util::fixture("demo.csv"), &data).unwrap();
    fairaudit()
        .current_dir(dir.path())
        .args(["init", "--data", "preds.csv"])
        .assert()
        .code(0);
    let spec = dir.path().join("audits/preds.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(text.contains("path = \"../preds.csv\""), "{text}");
    assert!(text.contains("label = \"label\""));
    assert!(text.contains("score = \"score\""));
    assert!(
        text.contains("protected = [\"sex\", \"race\", \"age_group\"]"),
        "{text}"
    );
    assert!(text.contains("# Selection rates within the four-fifths rule"));
    // The starter spec runs (the demo data is biased, so the gate fails: exit 1, not 2).
    fairaudit()
        .current_dir(dir.path())
        .args(["run", "audits/preds.toml", "-q"])
        .assert()
        .code(1);
    // A second init refuses to overwrite; --force does.
    std::fs::write(&spec, "# edited by hand\n").unwrap();
    fairaudit()
        .current_dir(dir.path())
        .args(["init", "--data", "preds.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&spec).unwrap(),
        "# edited by hand\n"
    );
    fairaudit()
        .current_dir(dir.path())
        .args(["init", "--data", "preds.csv", "--force"])
        .assert()
        .code(0);
    assert!(std::fs::read_to_string(&spec)
        .unwrap()
        .contains("[[policy]]"));
}

#[test]
fn every_subcommand_has_examples_and_completions_work() {
    for sub in [
        "run",
        "synth",
        "metrics",
        "init",
        "compare",
        "verify",
        "completions",
    ] {
        fairaudit()
            .args([sub, "--help"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Examples:"));
    }
    fairaudit()
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("_fairaudit()"));
}

#[test]
fn no_colour_when_not_a_terminal_or_when_no_color_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", SMALL);
    let out = fairaudit()
        .args(base_args(&data))
        .args(["--policy", "demographic_parity_ratio >= 0.8"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('\x1b'),
        "no ANSI escapes into a pipe"
    );
    let out = fairaudit()
        .env("NO_COLOR", "1")
        .args(base_args(&data))
        .args([
            "--policy",
            "demographic_parity_ratio >= 0.8",
            "--color",
            "auto",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
    let out = fairaudit()
        .args(base_args(&data))
        .args([
            "--policy",
            "demographic_parity_ratio >= 0.8",
            "--color",
            "always",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[31;1mFAIL"));
}
