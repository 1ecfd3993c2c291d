//! Every value of `../shared/goldens/compas*.json` (Fairlearn, AIF360, Aequitas, scikit-learn)
//! against the report, through the CLI, on both the CSV and the Parquet copy of the data.
//! Counts must match exactly, everything else to 1e-9 (CONTRACT.md §6). Golden keys are mapped
//! to report keys below; a golden key with no mapping fails the test unless it is listed in
//! `NOT_REPORTED` with the reason.

use std::path::Path;

use serde_json::Value as Json;

use crate::util::{fairaudit, shared_dir};

const TOLERANCE: f64 = 1e-9;

/// Golden keys that are deliberately not report keys, and why.
const NOT_REPORTED: &[(&str, &str)] = &[
    ("ece_left_closed", "a sensitivity variant of ece with left-closed bins; fairaudit uses the right-closed convention of CONTRACT.md"),
    ("ece_left_closed_overall", "as ece_left_closed"),
];

/// Aequitas parity flags are a function of the `<m>.ratio` disparities (tau = 0.8: parity iff
/// 0.8 <= ratio <= 1.25); they are checked against the report's ratios.
const AEQUITAS_PARITY: &[(&str, &[&str])] = &[
    ("parity_ppr", &["ppr"]),
    ("parity_pprev", &["selection_rate"]),
    ("parity_fdr", &["fdr"]),
    ("parity_fpr", &["fpr"]),
    ("parity_for", &["for"]),
    ("parity_fnr", &["fnr"]),
    ("parity_tpr", &["tpr"]),
    ("parity_tnr", &["tnr"]),
    ("parity_npv", &["npv"]),
    ("parity_precision", &["precision"]),
    ("parity_type_i", &["fdr", "fpr"]),
    ("parity_type_ii", &["for", "fnr"]),
    ("parity_equalized_odds", &["fpr", "tpr"]),
    ("parity_unsupervised", &["ppr", "selection_rate"]),
    ("parity_supervised", &["fdr", "fpr", "for", "fnr"]),
];

/// Where a golden per-group key lives in a report group.
fn group_path(key: &str) -> Option<Vec<String>> {
    let p = |parts: &[&str]| Some(parts.iter().map(|s| s.to_string()).collect());
    let rates = [
        "selection_rate",
        "tpr",
        "fpr",
        "fnr",
        "tnr",
        "precision",
        "accuracy",
        "base_rate",
        "npv",
        "fdr",
        "for",
        "ppr",
        "mean_score",
        "brier",
        "ece",
        "auc",
    ];
    if rates.contains(&key) {
        return p(&["metrics", key, "value"]);
    }
    let pair = |m: &str, part: &str| p(&["disparities", m, part, "value"]);
    match key {
        "count" => p(&["count"]),
        "tp" | "fp" | "tn" | "fn" => p(&["counts", key]),
        "disparate_impact" | "pprev_disparity" => pair("selection_rate", "ratio"),
        "statistical_parity_difference" => pair("selection_rate", "difference"),
        "equal_opportunity_difference" => pair("tpr", "difference"),
        "false_discovery_rate_difference" => pair("fdr", "difference"),
        "false_positive_rate_difference" => pair("fpr", "difference"),
        "false_negative_rate_difference" => pair("fnr", "difference"),
        "false_omission_rate_difference" => pair("for", "difference"),
        "error_rate_difference" => pair("error_rate", "difference"),
        "error_rate_ratio" => pair("error_rate", "ratio"),
        "average_odds_difference" | "average_abs_odds_difference" => {
            p(&["disparities", key, "value"])
        }
        "equalized_odds_difference_vs_privileged" => p(&[
            "disparities",
            "equalized_odds_difference_vs_reference",
            "value",
        ]),
        _ => {
            let m = key.strip_suffix("_disparity")?;
            pair(m, "ratio")
        }
    }
}

/// Where a golden aggregate key lives in the report (attribute index 0).
fn aggregate_path(key: &str) -> Option<Vec<String>> {
    let p = |parts: &[&str]| Some(parts.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    match key {
        "n" | "count_overall" => return p(&["overall", "count"]),
        "theil_index" | "generalized_entropy_index" | "coefficient_of_variation" => {
            return p(&["overall", "metrics", key, "value"])
        }
        _ => {}
    }
    if let Some(m) = key
        .strip_suffix("_overall")
        .filter(|_| !key.ends_with("_to_overall"))
    {
        return p(&["overall", "metrics", m, "value"]);
    }
    p(&["attributes", "0", "summary", key, "value"])
}

fn lookup<'a>(json: &'a Json, path: &[String]) -> Option<&'a Json> {
    path.iter().try_fold(json, |node, part| match node {
        Json::Array(items) => items.get(part.parse::<usize>().ok()?),
        _ => node.get(part),
    })
}

/// Compare one golden value with the report's; push a message on mismatch.
fn compare(what: &str, golden: &Json, ours: Option<&Json>, errors: &mut Vec<String>) {
    let ours = ours.cloned().unwrap_or(Json::String("<absent>".into()));
    let ok = match (golden, &ours) {
        // Undefined (0/0 or x/0): the report must say null.
        (Json::Null, Json::Null) | (Json::String(_), Json::Null) => true,
        (Json::Number(g), Json::Number(o)) if g.is_u64() || g.is_i64() => g.as_f64() == o.as_f64(),
        (Json::Number(g), Json::Number(o)) => {
            (g.as_f64().unwrap() - o.as_f64().unwrap()).abs() <= TOLERANCE
        }
        _ => false,
    };
    if !ok {
        errors.push(format!("{what}: golden {golden}, report {ours}"));
    }
}

fn run_report(data: &Path, golden: &Json) -> Json {
    let dataset = golden["dataset"].as_str().unwrap();
    let (score, prediction) = match dataset {
        "compas" => ("score", "prediction"),
        "compas_lr" => ("lr_score", "lr_prediction"),
        other => panic!("no column mapping for dataset {other}"),
    };
    let columns: Vec<&str> = golden["attribute_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let mut cmd = fairaudit();
    cmd.arg("run")
        .arg("--data")
        .arg(data)
        .args([
            "--label",
            "label",
            "--score",
            score,
            "--prediction",
            prediction,
        ])
        .args([
            "--threshold",
            &golden["threshold"].to_string(),
            "--min-group-size",
            "0",
        ])
        .arg("--json")
        .arg(&out)
        .arg("--quiet");
    if columns.len() == 1 {
        cmd.args(["--protected", columns[0]]);
    } else {
        cmd.args(["--intersect", &columns.join(",")]);
    }
    cmd.assert().success();
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

fn check_golden(golden_path: &Path, data: &Path) -> Vec<String> {
    let golden: Json = serde_json::from_slice(&std::fs::read(golden_path).unwrap()).unwrap();
    let report = run_report(data, &golden);
    let mut errors = Vec::new();
    let attribute = &report["attributes"][0];
    let separator = golden["group_key_separator"].as_str().unwrap_or("|");
    let privileged = golden["privileged"]
        .as_str()
        .unwrap()
        .replace(separator, " & ");
    if attribute["reference"].as_str() != Some(privileged.as_str()) {
        errors.push(format!(
            "reference: golden {privileged}, report {}",
            attribute["reference"]
        ));
    }
    let groups = golden["groups"].as_object().unwrap();
    let n_groups = attribute["groups"].as_array().unwrap().len();
    if n_groups != groups.len() {
        errors.push(format!(
            "group count: golden {}, report {n_groups}",
            groups.len()
        ));
    }
    for (key, metrics) in groups {
        let value = key.replace(separator, " & ");
        let Some(group) = attribute["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["value"] == value.as_str())
        else {
            errors.push(format!("group {value} missing from the report"));
            continue;
        };
        for (metric, expected) in metrics.as_object().unwrap() {
            let what = format!("{value} / {metric}");
            let counts = &group["counts"];
            let derived = |a: &str, b: &str| {
                Some(Json::from(
                    counts[a].as_u64().unwrap() + counts[b].as_u64().unwrap(),
                ))
            };
            match metric.as_str() {
                "pp" => compare(&what, expected, derived("tp", "fp").as_ref(), &mut errors),
                "pn" => compare(&what, expected, derived("tn", "fn").as_ref(), &mut errors),
                "label_pos" => compare(&what, expected, derived("tp", "fn").as_ref(), &mut errors),
                "label_neg" => compare(&what, expected, derived("fp", "tn").as_ref(), &mut errors),
                m if m.starts_with("parity_") => {
                    check_parity(&what, m, expected, group, &mut errors)
                }
                m if NOT_REPORTED.iter().any(|(k, _)| *k == m) => {}
                m => match group_path(m) {
                    Some(path) => compare(&what, expected, lookup(group, &path), &mut errors),
                    None => errors.push(format!("{what}: golden key has no mapping")),
                },
            }
        }
    }
    let aggregate = golden["aggregate"].as_object().unwrap();
    for (key, expected) in aggregate {
        if key.ends_with("__defined_groups_only") || NOT_REPORTED.iter().any(|(k, _)| k == key) {
            continue;
        }
        // Where Fairlearn counted an undefined rate as 0, the defined-groups value is the one
        // fairaudit must report (CONTRACT.md §6).
        let expected = aggregate
            .get(&format!("{key}__defined_groups_only"))
            .cloned()
            .or_else(|| to_overall_defined_only(key, groups, aggregate))
            .unwrap_or_else(|| expected.clone());
        let expected = &expected;
        let what = format!("aggregate / {key}");
        if key == "n_groups" {
            compare(&what, expected, Some(&Json::from(n_groups)), &mut errors);
            continue;
        }
        let path = aggregate_path(key).unwrap();
        compare(&what, expected, lookup(&report, &path), &mut errors);
    }
    if report["input"]["rows"] != golden["input"]["rows"] {
        errors.push(format!(
            "rows: golden {}, report {}",
            golden["input"]["rows"], report["input"]["rows"]
        ));
    }
    errors
}

/// The goldens carry no `__defined_groups_only` entry for Fairlearn's `*_to_overall`
/// aggregates, which also count an undefined (0/0) group rate as 0. Where a group's rate is
/// undefined, the expected value is recomputed from the golden's own per-group and overall
/// values with the defined-groups rule of CONTRACT.md §6:
/// `difference_to_overall = max_g |m_g − m_all|`, `ratio_to_overall = min_g min(m_g/m_all, m_all/m_g)`.
fn to_overall_defined_only(
    key: &str,
    groups: &serde_json::Map<String, Json>,
    aggregate: &serde_json::Map<String, Json>,
) -> Option<Json> {
    let (metric, ratio) = match (
        key.strip_suffix("_difference_to_overall"),
        key.strip_suffix("_ratio_to_overall"),
    ) {
        (Some(m), _) => (m, false),
        (_, Some(m)) => (m, true),
        _ => return None,
    };
    let values: Vec<Option<f64>> = groups.values().map(|g| g[metric].as_f64()).collect();
    if values.iter().all(Option::is_some) {
        return None;
    }
    let all = aggregate[&format!("{metric}_overall")].as_f64()?;
    let defined = values.into_iter().flatten();
    let v = if ratio {
        defined
            .map(|g| {
                if g == 0.0 {
                    0.0
                } else {
                    (g / all).min(all / g)
                }
            })
            .fold(f64::INFINITY, f64::min)
    } else {
        defined.map(|g| (g - all).abs()).fold(0.0, f64::max)
    };
    Some(Json::from(v))
}

/// An Aequitas flag from the report's ratios: each base flag is 0.8 <= ratio <= 1.25 (null when
/// the ratio is); a composite is the AND of its defined parts (null when none is defined).
fn check_parity(what: &str, flag: &str, expected: &Json, group: &Json, errors: &mut Vec<String>) {
    let (_, parts) = AEQUITAS_PARITY
        .iter()
        .find(|(k, _)| *k == flag)
        .unwrap_or_else(|| panic!("unknown Aequitas flag {flag}"));
    let flags: Vec<bool> = parts
        .iter()
        .filter_map(|m| group["disparities"][m]["ratio"]["value"].as_f64())
        .map(|r| (0.8..=1.25).contains(&r))
        .collect();
    let ours = if flags.is_empty() {
        Json::Null
    } else {
        Json::Bool(flags.iter().all(|f| *f))
    };
    if *expected != ours {
        errors.push(format!(
            "{what}: golden {expected}, from report ratios {ours}"
        ));
    }
}

fn golden_files() -> Vec<std::path::PathBuf> {
    let dir = shared_dir().join("goldens");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("compas") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "expected the 8 COMPAS goldens in {}",
        dir.display()
    );
    files
}

fn check_all(data_file: &str) {
    let data = shared_dir().join("data").join(data_file);
    let mut failures = Vec::new();
    for file in golden_files() {
        let errors = check_golden(&file, &data);
        if !errors.is_empty() {
            failures.push(format!(
                "{}:\n  {}",
                file.file_name().unwrap().to_string_lossy(),
                errors.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn goldens_match_on_csv() {
    check_all("compas.csv");
}

#[test]
fn goldens_match_on_parquet() {
    check_all("compas.parquet");
}

#[test]
fn the_golden_input_is_the_data_we_read() {
    let golden: Json = serde_json::from_slice(&std::fs::read(&golden_files()[0]).unwrap()).unwrap();
    let data = std::fs::read(shared_dir().join("data/compas.csv")).unwrap();
    assert_eq!(
        golden["input"]["csv_sha256"].as_str().unwrap(),
        fairaudit::provenance::sha256_bytes(&data),
        "../shared/data/compas.csv is not the file the goldens were computed from"
    );
}
