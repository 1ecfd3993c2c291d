//! Release gating (issue 7): change policies against a baseline report, `compare`, `verify`.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value as Json;

use crate::util::{fairaudit, fixture, run_spec_into};

/// Audit `data` with the demo's columns, writing the JSON report into `dir`.
fn audit(dir: &Path, data: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    fairaudit()
        .args([
            "run",
            "--label",
            "label",
            "--score",
            "score",
            "--prediction",
            "prediction",
        ])
        .args(["--protected", "sex,race", "--quiet", "--data"])
        .arg(data)
        .arg("--json")
        .arg(&out)
        .assert()
        .code(0);
    out
}

/// A candidate whose model under-scores race=black much more than the demo's.
fn worse_candidate(dir: &Path) -> PathBuf {
    let data = dir.join("candidate.csv");
    fairaudit()
        .args([
            "synth",
            "--rows",
            "2000",
            "--seed",
            "8",
            "--score-shift",
            "black=-0.8",
            "--out",
        ])
        .arg(&data)
        .assert()
        .success();
    data
}

#[test]
fn a_regression_beyond_the_bound_fails_and_names_everything() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = audit(dir.path(), &fixture("demo.csv"), "baseline.json");
    let candidate = worse_candidate(dir.path());
    let out = dir.path().join("gate.json");
    fairaudit()
        .args([
            "run",
            "--label",
            "label",
            "--score",
            "score",
            "--prediction",
            "prediction",
        ])
        .args(["--protected", "sex,race", "--data"])
        .arg(&candidate)
        .arg("--baseline")
        .arg(&baseline)
        .args([
            "--policy",
            "demographic_parity_ratio change >= -0.02",
            "--json",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL demographic_parity_ratio change >= -0.02 [race]",
        ))
        .stdout(predicate::str::contains(
            "(baseline 0.754154 → candidate 0.450549)",
        ));
    let r: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let race = r["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["attribute"] == "race")
        .unwrap();
    assert_eq!(race["status"], "fail");
    let (b, c) = (
        race["baseline"].as_f64().unwrap(),
        race["candidate"].as_f64().unwrap(),
    );
    assert_eq!(race["observed"].as_f64().unwrap(), c - b);
    assert!(r["comparison"]["attributes_only_in_baseline"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn an_improvement_passes_and_compare_agrees_with_run() {
    let dir = tempfile::tempdir().unwrap();
    let worse = audit(dir.path(), &worse_candidate(dir.path()), "worse.json");
    let better = audit(dir.path(), &fixture("demo.csv"), "better.json");
    // The demo is the improvement over the worse model.
    fairaudit()
        .arg("compare")
        .arg(&worse)
        .arg(&better)
        .args([
            "--policy",
            "demographic_parity_ratio on race change >= -0.02",
            "--policy",
            "tpr on race change% >= -25",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "the same attributes, groups and schema",
        ));
    fairaudit()
        .arg("compare")
        .arg(&better)
        .arg(&worse)
        .args([
            "--policy",
            "demographic_parity_ratio on race change >= -0.02",
        ])
        .assert()
        .code(1);
}

#[test]
fn mismatched_groups_are_reported_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = audit(dir.path(), &fixture("demo.csv"), "baseline.json");
    // The candidate has no "other" race group.
    let text = std::fs::read_to_string(fixture("demo.csv")).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains(",other,")).collect();
    let data = dir.path().join("no_other.csv");
    std::fs::write(&data, kept.join("\n") + "\n").unwrap();
    let candidate = audit(dir.path(), &data, "candidate.json");
    let out = dir.path().join("cmp.json");
    fairaudit()
        .arg("compare")
        .arg(&baseline)
        .arg(&candidate)
        .args([
            "--policy",
            "selection_rate on race change >= -0.05",
            "--json",
        ])
        .arg(&out)
        .assert()
        .stdout(predicate::str::contains(
            "Groups of race only in the baseline: other.",
        ));
    let r: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        r["comparison"]["groups_only_in_baseline"]["race"][0],
        "other"
    );
    // No result for the group the candidate lacks; every other race group is compared.
    let groups: Vec<&str> = r["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["asian", "black", "hispanic", "white"]);
}

#[test]
fn a_change_policy_without_baseline_is_a_usage_error() {
    fairaudit()
        .args(["run", "--data"])
        .arg(fixture("demo.csv"))
        .args(["--label", "label", "--score", "score", "--protected", "sex"])
        .args(["--policy", "demographic_parity_ratio change >= 0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a baseline"));
}

#[test]
fn the_recorded_sha256_is_the_files_and_verify_detects_a_modified_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::copy(fixture("demo.csv"), &data).unwrap();
    let report = audit(dir.path(), &data, "r.json");
    let r: Json = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        r["input"]["sha256"].as_str().unwrap(),
        fairaudit::provenance::sha256_bytes(&std::fs::read(&data).unwrap())
    );
    assert_eq!(r["provenance"]["options"]["columns"]["label"], "label");
    fairaudit()
        .arg("verify")
        .arg(&report)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("identical"));
    // Change one label: same size, different bytes.
    let text = std::fs::read_to_string(&data)
        .unwrap()
        .replacen("\n1,1,", "\n1,0,", 1);
    std::fs::write(&data, text).unwrap();
    fairaudit()
        .arg("verify")
        .arg(&report)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("input changed"));
}

#[test]
fn the_ci_recipe_runs_as_a_script_and_fails_the_job_on_a_biased_model() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The released model's report: the same spec, as the release job would have written it.
    run_spec_into("audits/demo.toml", dir.path())
        .assert()
        .code(1);
    let baseline = dir.path().join("r.json");
    let out = dir.path().join("fairness-report");
    let summary = dir.path().join("summary.md");
    let status = std::process::Command::new("bash")
        .arg(root.join("examples/ci.sh"))
        .arg(root.join("audits/demo.toml"))
        .arg(&baseline)
        .arg(&out)
        .env("FAIRAUDIT", assert_cmd::cargo::cargo_bin("fairaudit"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "the demo model fails the four-fifths rule"
    );
    for file in ["report.json", "report.md", "report.html", "junit.xml"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("FAIL"),
        "the job summary carries the Markdown report"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<failure"),
        "JUnit shows the failing policies"
    );
    // Every format shows baseline, candidate and change side by side, and the comparison.
    assert!(
        md.contains("(baseline 0.467262 → candidate 0.467262)"),
        "{md}"
    );
    assert!(md.contains("Both reports have the same attributes, groups and schema"));
    assert!(junit.contains("<property name=\"baseline.0\""));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Compared with the baseline report"));
    assert!(html.contains("(baseline 0.467262 → candidate 0.467262)"));
    // The same report compared with itself: no change, the change policies pass.
    let r: Json = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let change = r["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["expression"].as_str().unwrap().contains("change"));
    assert!(change.clone().count() > 0);
    assert!(change.clone().all(|p| p["baseline"].is_number()));
}

#[test]
fn the_report_records_the_spec_files_digest() {
    let dir = tempfile::tempdir().unwrap();
    run_spec_into("audits/demo.toml", dir.path())
        .assert()
        .code(1);
    let r: Json =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("audits/demo.toml");
    assert_eq!(r["input"]["spec"]["path"], "audits/demo.toml");
    assert_eq!(
        r["input"]["spec"]["sha256"].as_str().unwrap(),
        fairaudit::provenance::sha256_bytes(&std::fs::read(spec).unwrap())
    );
}
