//! The shipped demo: fixtures are what `fixtures/make.sh` makes, the specs in `audits/` run,
//! the injected bias is found, and `reports/` holds exactly what the code renders.

use std::path::Path;

use serde_json::Value as Json;

use crate::util::{fairaudit, fixture, run_spec_into};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn demo_fixture_is_reproducible_from_its_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.csv");
    // The command in fixtures/make.sh.
    fairaudit()
        .args(["synth", "--rows", "2000", "--seed", "7", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert!(
        std::fs::read(&out).unwrap() == std::fs::read(fixture("demo.csv")).unwrap(),
        "fixtures/demo.csv differs from what fixtures/make.sh makes: run fixtures/make.sh"
    );
    let make = std::fs::read_to_string(fixture("make.sh")).unwrap();
    assert!(make.contains("synth --rows 2000 --seed 7 --out fixtures/demo.csv"));
}

fn run_spec(spec: &str) -> (i32, Json) {
    let dir = tempfile::tempdir().unwrap();
    let output = run_spec_into(spec, dir.path()).output().unwrap();
    let report =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    (output.status.code().unwrap(), report)
}

#[test]
fn demo_audit_finds_the_injected_bias() {
    let (code, r) = run_spec("audits/demo.toml");
    assert_eq!(
        code, 1,
        "the demo model is biased by construction: the gate must fail"
    );
    let sex = &r["attributes"][0];
    assert_eq!(sex["name"], "sex");
    let rate = |g: usize| {
        sex["groups"][g]["metrics"]["base_rate"]["value"]
            .as_f64()
            .unwrap()
    };
    // Injected base rates: female 0.30, male 0.45 (2000 rows: within 4 standard errors).
    assert!(
        (rate(0) - 0.30).abs() < 4.0 * (0.3f64 * 0.7 / 960.0).sqrt(),
        "{}",
        rate(0)
    );
    assert!(
        (rate(1) - 0.45).abs() < 4.0 * (0.45f64 * 0.55 / 1040.0).sqrt(),
        "{}",
        rate(1)
    );
    let four_fifths = r["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "four-fifths" && p["attribute"] == "sex")
        .unwrap();
    assert_eq!(four_fifths["status"], "fail");
}

#[test]
fn lending_audit_uses_weights_and_reports_missing_values() {
    let (_, r) = run_spec("audits/lending.toml");
    assert_eq!(r["input"]["columns"]["weight"], "weight");
    let sex = &r["attributes"][0];
    let missing = sex["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["value"] == "(missing)");
    assert!(missing.is_some(), "empty values form the group (missing)");
    let names: Vec<&str> = r["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["sex", "race", "region", "sex & race", "race & age_group"]
    );
    // Weighted: counts are rows, rates are weighted, so selection_rate ≠ (tp+fp)/count in general.
    let g = &sex["groups"][1];
    let c = &g["counts"];
    let unweighted =
        (c["tp"].as_f64().unwrap() + c["fp"].as_f64().unwrap()) / g["count"].as_f64().unwrap();
    assert_ne!(
        g["metrics"]["selection_rate"]["value"].as_f64().unwrap(),
        unweighted
    );
}

/// No sample-size warning names a suppressed group: its policy results are already
/// `insufficient_data`, and the warning's row count (or its minimum detectable difference)
/// would show its size in the Markdown and HTML reports, which suppress it.
#[test]
fn sample_size_warnings_leave_suppressed_groups_out() {
    let (_, r) = run_spec("audits/lending.toml");
    let mut warnings: Vec<&str> = (r["warnings"].as_array().unwrap().iter())
        .map(|w| w.as_str().unwrap())
        .collect();
    for p in r["policies"].as_array().unwrap() {
        // Absent when the policy has none.
        let theirs = p["warnings"].as_array().into_iter().flatten();
        warnings.extend(theirs.map(|w| w.as_str().unwrap()));
    }
    assert!(
        !warnings.is_empty(),
        "the lending audit has sample-size warnings"
    );
    let mut suppressed_with_policies = 0;
    for a in r["attributes"].as_array().unwrap() {
        for g in a["groups"].as_array().unwrap() {
            if g["insufficient_data"] != true {
                continue;
            }
            let value = g["value"].as_str().unwrap();
            suppressed_with_policies += (r["policies"].as_array().unwrap().iter())
                .filter(|p| p["attribute"] == a["name"] && p["group"] == value)
                .count();
            let named = format!("group '{value}'");
            assert!(!warnings.iter().any(|w| w.contains(&named)), "{named}");
        }
    }
    assert!(
        suppressed_with_policies > 0,
        "policies are checked on suppressed groups"
    );
}

#[test]
fn sample_reports_match_what_the_code_renders() {
    for name in ["demo", "lending", "triage", "limits"] {
        let dir = tempfile::tempdir().unwrap();
        let out = |ext: &str| dir.path().join(format!("r.{ext}"));
        // As scripts/regenerate-reports runs it: the HTML's time pinned by SOURCE_DATE_EPOCH.
        run_spec_into(&format!("audits/{name}.toml"), dir.path())
            .env("SOURCE_DATE_EPOCH", "0")
            .output()
            .unwrap();
        for ext in ["json", "md", "html", "xml"] {
            let sample = format!("reports/{name}.{ext}");
            let rendered = std::fs::read_to_string(out(ext)).unwrap();
            let stored = std::fs::read_to_string(Path::new(ROOT).join(&sample))
                .unwrap_or_else(|e| panic!("{sample}: {e}; run scripts/regenerate-reports"));
            // The spec path is recorded as given; both runs give the same one.
            assert!(
                rendered == stored,
                "{sample} is out of date: run scripts/regenerate-reports"
            );
        }
    }
}

/// The command of `scripts/regenerate-reports` for the mitigation sample (issue 10).
pub fn mitigate_demo_into(dir: &Path) -> assert_cmd::Command {
    let mut cmd = fairaudit();
    cmd.current_dir(ROOT)
        .args([
            "mitigate",
            "--data",
            "fixtures/demo.csv",
            "--label",
            "label",
        ])
        .args(["--score", "score", "--protected", "sex"])
        .args([
            "--objective",
            "equalized_odds",
            "--tolerance",
            "0.01",
            "--quiet",
        ])
        .arg("--json")
        .arg(dir.join("mitigation.json"))
        .arg("--html")
        .arg(dir.join("mitigation.html"));
    cmd
}

#[test]
fn sample_mitigation_report_matches_what_the_code_renders() {
    let script = std::fs::read_to_string(Path::new(ROOT).join("scripts/regenerate-reports"))
        .unwrap()
        .replace("\\\n", " ");
    let script = script.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        script.contains(
            "fairaudit mitigate --data fixtures/demo.csv --label label --score score \
             --protected sex --objective equalized_odds --tolerance 0.01 --quiet \
             --json reports/mitigation.json --html reports/mitigation.html"
        ),
        "scripts/regenerate-reports runs the command this test runs"
    );
    let dir = tempfile::tempdir().unwrap();
    mitigate_demo_into(dir.path()).assert().success();
    for name in ["mitigation.json", "mitigation.html"] {
        let rendered = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let stored = std::fs::read_to_string(Path::new(ROOT).join("reports").join(name))
            .unwrap_or_else(|e| panic!("reports/{name}: {e}; run scripts/regenerate-reports"));
        assert!(
            rendered == stored,
            "reports/{name} is out of date: run scripts/regenerate-reports"
        );
    }
}
