//! Multiclass and regression audits (issue 11): values against scikit-learn and scipy
//! (`tests/data/tasks/`), `--favorable` against the binary audit of the collapsed labels,
//! the CLI end to end, and the merge and permutation properties of the accumulators.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fairaudit::aggregate::multiclass::ClassConfusion;
use fairaudit::aggregate::regression::{RegressionStats, ValueDistribution};
use fairaudit::metrics::{multiclass, regression};
use proptest::prelude::*;
use serde_json::Value as Json;

use crate::util::fairaudit;

/// Tolerance of the reference comparisons.
const TOL: f64 = 1e-9;

fn reference() -> Json {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tasks/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference.json")).unwrap()
}

fn floats(v: &Json) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn weights(v: &Json, n: usize) -> Vec<f64> {
    if v.is_null() {
        vec![1.0; n]
    } else {
        floats(v)
    }
}

fn close(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: undefined, want {want}"));
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

fn distribution(x: &[f64], w: &[f64]) -> ValueDistribution {
    let mut d = ValueDistribution::default();
    x.iter().zip(w).for_each(|(&v, &w)| d.push(v, w));
    d
}

#[test]
fn regression_metrics_match_scikit_learn() {
    for case in reference()["regression"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (y, p) = (floats(&case["y"]), floats(&case["p"]));
        let w = weights(&case["w"], y.len());
        let mut s = RegressionStats::default();
        for i in 0..y.len() {
            s.push(y[i], p[i], w[i]);
        }
        let m = regression::regression_metrics(&s, None);
        for key in ["mae", "mse", "rmse", "r2", "mean_error"] {
            close(
                m[key].value,
                case[key].as_f64().unwrap(),
                &format!("{name} {key}"),
            );
        }
    }
}

#[test]
fn ks_and_wasserstein_match_scipy() {
    let r = reference();
    for case in r["ks"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        let (da, db) = (
            distribution(&a, &vec![1.0; a.len()]),
            distribution(&b, &vec![1.0; b.len()]),
        );
        let (d, bound) = regression::ks_statistic(&da, &db).unwrap();
        assert_eq!(bound, 0.0);
        close(Some(d), case["statistic"].as_f64().unwrap(), name);
        let p = regression::ks_p_value(d, a.len() as u64, b.len() as u64);
        close(p, case["p_value"].as_f64().unwrap(), &format!("{name} p"));
        let (w1, _) = regression::wasserstein(&da, &db).unwrap();
        close(
            Some(w1),
            case["wasserstein"].as_f64().unwrap(),
            &format!("{name} W1"),
        );
    }
    for case in r["weighted_wasserstein"].as_array().unwrap() {
        let da = distribution(&floats(&case["a"]), &floats(&case["wa"]));
        let db = distribution(&floats(&case["b"]), &floats(&case["wb"]));
        let (w1, _) = regression::wasserstein(&da, &db).unwrap();
        close(
            Some(w1),
            case["wasserstein"].as_f64().unwrap(),
            "weighted W1",
        );
    }
}

#[test]
fn weighted_ks_p_value_uses_kish_sizes_as_scipy_kstwobign() {
    for case in reference()["weighted_ks"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (wa, wb) = (floats(&case["wa"]), floats(&case["wb"]));
        let da = distribution(&floats(&case["a"]), &wa);
        let db = distribution(&floats(&case["b"]), &wb);
        let (d, _) = regression::ks_statistic(&da, &db).unwrap();
        close(Some(d), case["statistic"].as_f64().unwrap(), name);
        let kish = |w: &[f64]| {
            let (s, s2) = (w.iter().sum::<f64>(), w.iter().map(|x| x * x).sum::<f64>());
            fairaudit::stats::ci::effective_size(s, s2)
        };
        let (n1, n2) = (kish(&wa), kish(&wb));
        close(Some(n1), case["n1_effective"].as_f64().unwrap(), name);
        close(Some(n2), case["n2_effective"].as_f64().unwrap(), name);
        let p = regression::ks_p_value_effective(d, n1, n2);
        close(p, case["p_value"].as_f64().unwrap(), &format!("{name} p"));
    }
    assert_eq!(regression::ks_p_value_effective(0.3, 0.0, 5.0), None);
}

#[test]
fn quantile_matches_numpy_inverted_cdf() {
    for case in reference()["quantile"].as_array().unwrap() {
        let x = floats(&case["x"]);
        let d = distribution(&x, &weights(&case["w"], x.len()));
        let q = regression::quantile(&d, case["q"].as_f64().unwrap());
        close(
            q,
            case["value"].as_f64().unwrap(),
            case["name"].as_str().unwrap(),
        );
    }
}

#[test]
fn one_vs_rest_rates_match_scikit_learn() {
    for case in reference()["multiclass"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let text = |v: &Json| -> Vec<String> {
            let a = v.as_array().unwrap();
            a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
        };
        let (y, p) = (text(&case["y"]), text(&case["p"]));
        let w = weights(&case["w"], y.len());
        let mut m = ClassConfusion::default();
        (0..y.len()).for_each(|i| m.push(&y[i], &p[i], w[i]));
        let classes: BTreeSet<String> = text(&case["classes"]).into_iter().collect();
        let out = multiclass::multiclass_metrics(&m, &classes, &[]);
        close(
            out["accuracy"].value,
            case["accuracy"].as_f64().unwrap(),
            name,
        );
        for (i, c) in text(&case["classes"]).iter().enumerate() {
            for (key, sk) in [("tpr", "recall"), ("precision", "precision")] {
                let want = case[sk][i].as_f64();
                let got = out[&multiclass::class_key(key, c)].value;
                match want {
                    // scikit-learn's zero_division=nan: undefined here too, never 0.
                    None => assert_eq!(got, None, "{name} {key}@{c}"),
                    Some(want) => close(got, want, &format!("{name} {key}@{c}")),
                }
            }
        }
    }
}

#[test]
fn one_vs_rest_auc_matches_scikit_learn() {
    for case in reference()["class_scores"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let text = |v: &Json| -> Vec<String> {
            let a = v.as_array().unwrap();
            a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
        };
        let (y, classes) = (text(&case["y"]), text(&case["classes"]));
        let scores: Vec<Vec<f64>> = case["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        let w = weights(&case["w"], y.len());
        let mut m = ClassConfusion::default();
        for i in 0..y.len() {
            // The prediction does not enter the AUC.
            m.push(&y[i], &y[i], w[i]);
            m.push_scores(&y[i], scores[i].iter().copied(), w[i]);
        }
        let all: BTreeSet<String> = classes.iter().cloned().collect();
        let out = multiclass::multiclass_metrics(&m, &all, &classes);
        let want = floats(&case["auc"]);
        for (c, want) in classes.iter().zip(&want) {
            close(
                out[&multiclass::class_key("auc", c)].value,
                *want,
                &format!("{name} auc@{c}"),
            );
        }
        let mean = want.iter().sum::<f64>() / want.len() as f64;
        close(out["macro_auc"].value, mean, &format!("{name} macro_auc"));
        for key in ["brier", "log_loss"] {
            close(
                out[key].value,
                case[key].as_f64().unwrap(),
                &format!("{name} {key}"),
            );
        }
        // Per-class ECE and MCE over 10 equal-width bins (scikit-learn calibration_curve).
        let cal = multiclass::class_calibration(&m, &classes, 10);
        let (ece, mce) = (floats(&case["ece"]), floats(&case["mce"]));
        for (i, c) in classes.iter().enumerate() {
            close(
                cal[&multiclass::class_key("ece", c)].value,
                ece[i],
                &format!("{name} ece@{c}"),
            );
            close(
                cal[&multiclass::class_key("mce", c)].value,
                mce[i],
                &format!("{name} mce@{c}"),
            );
        }
        let worst = ece.iter().copied().reduce(f64::max).unwrap();
        close(
            cal["worst_class_ece"].value,
            worst,
            &format!("{name} worst"),
        );
        // The reliability table holds every row once.
        let rows: f64 = (0..classes.len())
            .map(|k| multiclass::class_bins(&m, k, &classes[k], 10))
            .map(|b| b.iter().map(|r| r.rows).sum::<f64>())
            .sum();
        assert_eq!(rows, (y.len() * classes.len()) as f64);
    }
}

fn run_json(dir: &Path, args: &[&str]) -> (i32, Json) {
    let json = dir.join("r.json");
    let out = fairaudit()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--quiet")
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(code < 2, "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&json).unwrap();
    (code, serde_json::from_str(&text).unwrap())
}

/// The score redraw of the multiclass bootstrap against a row-level bootstrap of one cell:
/// for `auc@c` and `log_loss` (each reads one score column per row) the two are the same
/// distribution, so the standard deviations of 600 replicates each must agree; their
/// estimates have a relative error of about 1/√1200 ≈ 3% each, and 15% is ~3.5 sd of the
/// difference.
#[test]
fn score_redraw_matches_a_row_level_bootstrap() {
    use fairaudit::stats::class_bootstrap;
    use rand::{Rng, SeedableRng};
    let case = &reference()["class_scores"][0];
    let text = |v: &Json| -> Vec<String> {
        let a = v.as_array().unwrap();
        a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
    };
    let (y, classes) = (text(&case["y"]), text(&case["classes"]));
    let scores: Vec<Vec<f64>> = (case["scores"].as_array().unwrap().iter())
        .map(floats)
        .collect();
    let all: BTreeSet<String> = classes.iter().cloned().collect();
    let cell = |rows: &mut dyn Iterator<Item = usize>| {
        let mut m = ClassConfusion::default();
        for i in rows {
            m.push(&y[i], &y[i], 1.0);
            m.push_scores(&y[i], scores[i].iter().copied(), 1.0);
        }
        m
    };
    let m = cell(&mut (0..y.len()));
    let keys = ["auc@c1".to_string(), "log_loss".to_string()];
    let sd = |xs: &[f64]| {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
    };
    let reps = 600;
    let (mut ours, mut rows): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![vec![]; 2], vec![vec![]; 2]);
    let mut row_rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for r in 0..reps {
        let mut d = class_bootstrap::resample(&m, &mut class_bootstrap::replicate_rng(9, r));
        class_bootstrap::resample_scores(&m, &mut d, &mut class_bootstrap::score_rng(9, r));
        let a = multiclass::multiclass_metrics(&d, &all, &classes);
        let n = y.len();
        let b = multiclass::multiclass_metrics(
            &cell(&mut (0..n).map(|_| row_rng.random_range(0..n))),
            &all,
            &classes,
        );
        for (k, key) in keys.iter().enumerate() {
            ours[k].push(a[key].value.unwrap());
            rows[k].push(b[key].value.unwrap());
        }
    }
    for (k, key) in keys.iter().enumerate() {
        let (a, b) = (sd(&ours[k]), sd(&rows[k]));
        assert!(
            (a / b - 1.0).abs() < 0.15,
            "{key}: sd {a} vs row bootstrap {b}"
        );
    }
}

#[test]
fn favorable_equals_the_binary_audit_of_the_collapsed_labels() {
    let dir = tempfile::tempdir().unwrap();
    // Collapse fixtures/triage.csv to "urgent or high" by hand.
    let text = std::fs::read_to_string(crate::util::fixture("triage.csv")).unwrap();
    let mut collapsed = String::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let bit = |c: &str| {
            if c == "urgent" || c == "high" {
                "1"
            } else {
                "0"
            }
        };
        // The binary score: the favorable classes' probabilities summed in class order.
        if i == 0 {
            collapsed.push_str(&format!("{line},score"));
        } else {
            let p = |k: usize| f[k].parse::<f64>().unwrap();
            let score = p(6) + p(7);
            collapsed.push_str(&format!(
                "{},{},{},{score}",
                bit(f[0]),
                bit(f[1]),
                f[2..].join(",")
            ));
        }
        collapsed.push('\n');
    }
    let binary_csv = dir.path().join("binary.csv");
    std::fs::write(&binary_csv, collapsed).unwrap();
    let common = [
        "--label",
        "label",
        "--prediction",
        "prediction",
        "--protected",
        "sex,age_group",
        "--intersect",
        "sex,age_group",
        "--policy",
        "demographic_parity_ratio >= 0.8",
        "--policy",
        "tpr.ratio >= 0.9",
        "--policy",
        "ece <= 0.1",
    ];
    let mut multi: Vec<&str> = vec!["run", "--data", "fixtures/triage.csv"];
    multi.extend(common);
    multi.extend(["--task", "multiclass", "--favorable", "urgent,high"]);
    // A non-favorable class's score column is not read.
    multi.extend([
        "--class-score",
        "urgent=p_urgent",
        "--class-score",
        "high=p_high",
    ]);
    multi.extend(["--class-score", "low=p_low"]);
    let (code_m, mut m) = run_json(dir.path(), &multi);
    let binary_path = binary_csv.to_str().unwrap();
    let mut bin: Vec<&str> = vec!["run", "--data", binary_path];
    bin.extend(common);
    bin.extend(["--score", "score"]);
    let (code_b, mut b) = run_json(dir.path(), &bin);
    // The score metrics exist, so the comparison below covers them.
    for key in ["auc", "ece", "brier", "log_loss"] {
        assert!(m["overall"]["metrics"][key]["value"].is_number(), "{key}");
    }
    assert!(m["attributes"][0]["groups"][0]["calibration"]["bins"].is_array());
    assert_eq!(code_m, code_b);
    assert_eq!(
        m["input"]["columns"]["favorable"],
        serde_json::json!(["urgent", "high"])
    );
    // The input (path, hash, columns) and provenance (the options as given) necessarily
    // differ; everything else must be identical to the byte.
    for r in [&mut m, &mut b] {
        let o = r.as_object_mut().unwrap();
        o.remove("input");
        o.remove("provenance");
    }
    assert_eq!(
        serde_json::to_string_pretty(&m).unwrap(),
        serde_json::to_string_pretty(&b).unwrap()
    );
}

#[test]
fn favorable_class_scores_from_parquet_equal_csv_and_bad_sums_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("triage.parquet");
    let numeric = ["p_low", "p_medium", "p_high", "p_urgent"];
    fixture_as_parquet("triage.csv", &numeric, &parquet, 500);
    let args = |data: &str| -> Vec<String> {
        [
            "run",
            "--data",
            data,
            "--label",
            "label",
            "--prediction",
            "prediction",
            "--protected",
            "sex",
            "--task",
            "multiclass",
            "--favorable",
            "urgent,high",
            "--class-score",
            "urgent=p_urgent",
            "--class-score",
            "high=p_high",
        ]
        .map(String::from)
        .to_vec()
    };
    let run = |data: &str| {
        let a = args(data);
        let (_, mut r) = run_json(
            dir.path(),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        r.as_object_mut().unwrap().remove("input");
        r.as_object_mut().unwrap().remove("provenance");
        r
    };
    let from_csv = run("fixtures/triage.csv");
    assert!(from_csv["overall"]["metrics"]["auc"]["value"].is_number());
    assert_eq!(from_csv, run(parquet.to_str().unwrap()));
    // Scores of exclusive classes cannot sum above 1; every favorable class needs a column.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "label,prediction,sex,p_high,p_urgent\nhigh,high,f,0.5,0.25\nlow,high,m,0.75,0.5\n",
    )
    .unwrap();
    let out = fairaudit()
        .args(args(bad.to_str().unwrap()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 2, column 'p_urgent'") && err.contains("sum to 1.25, above 1"),
        "{err}"
    );
    let mut missing = args(bad.to_str().unwrap());
    missing.truncate(missing.len() - 2);
    let out = fairaudit().args(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("favorable class 'high' has no score column")
    );
}

#[test]
fn regression_demo_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (code, r) = run_json(
        dir.path(),
        &[
            "run",
            "audits/limits.toml",
            "--bootstrap",
            "50",
            "--seed",
            "3",
        ],
    );
    assert_eq!(code, 1, "group b is under-predicted on purpose");
    assert_eq!(r["input"]["columns"]["task"], "regression");
    let group = &r["attributes"][0];
    let b = group["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["value"] == "b")
        .unwrap();
    assert!(b["metrics"]["mean_error"]["value"].as_f64().unwrap() < -300.0);
    assert!(b["metrics"]["mae"]["ci"].is_array());
    assert!(b["disparities"]["prediction_ks"]["p_value"].is_number());
    // Bootstrap intervals of the distances and normal intervals of mean differences, each
    // containing its value.
    for d in [
        &b["disparities"]["prediction_ks"],
        &b["disparities"]["prediction_wasserstein"],
        &b["disparities"]["mae"]["difference"],
        &b["disparities"]["mean_error"]["difference"],
    ] {
        let (v, ci) = (d["value"].as_f64().unwrap(), &d["ci"]);
        assert!(
            ci[0].as_f64().unwrap() <= v && v <= ci[1].as_f64().unwrap(),
            "{d}"
        );
    }
    assert_eq!(
        b["outcome"]["regression"]["prediction_distribution"],
        "exact"
    );
    assert!(
        b.get("counts").is_none(),
        "no binary counts in a regression report"
    );
    let failed: Vec<&str> = (r["policies"].as_array().unwrap().iter())
        .filter(|p| p["status"] == "fail")
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"bias"), "{failed:?}");
}

#[test]
fn multiclass_demo_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (code, r) = run_json(
        dir.path(),
        &["run", "audits/triage.toml", "--bootstrap", "40"],
    );
    assert_eq!(code, 1);
    // Bootstrap intervals on disparities and summaries, containing their values.
    let male = &r["attributes"][0]["groups"][1];
    let summary = &r["attributes"][0]["summary"];
    for v in [
        &male["disparities"]["tpr@urgent"]["ratio"],
        &male["disparities"]["accuracy"]["difference"],
        &summary["tpr_worst_class_difference"],
        &summary["macro_tpr_difference"],
    ] {
        let (x, ci) = (v["value"].as_f64().unwrap(), &v["ci"]);
        assert!(
            ci[0].as_f64().unwrap() <= x && x <= ci[1].as_f64().unwrap(),
            "{v}"
        );
    }
    let g = &r["attributes"][0]["groups"][0];
    let matrix = &g["outcome"]["multiclass"]["confusion_matrix"];
    let total: u64 = (matrix.as_array().unwrap().iter())
        .flat_map(|row| row.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()))
        .sum();
    assert_eq!(total, g["count"].as_u64().unwrap());
    assert!(g["metrics"]["tpr@urgent"]["ci"].is_array());
    // Tests against the reference per class: the raw p of tpr@urgent is the two-proportion
    // test of the urgent row of the two groups' confusion matrices (unweighted).
    let reference = &r["attributes"][0]["groups"][0];
    let urgent = |g: &Json| -> (f64, f64) {
        let classes = g["outcome"]["multiclass"]["classes"].as_array().unwrap();
        let i = classes.iter().position(|c| c == "urgent").unwrap();
        let row = g["outcome"]["multiclass"]["confusion_matrix"][i]
            .as_array()
            .unwrap();
        let n: u64 = row.iter().map(|x| x.as_u64().unwrap()).sum();
        (row[i].as_u64().unwrap() as f64, n as f64)
    };
    let ((k1, n1), (k2, n2)) = (urgent(male), urgent(reference));
    let t = fairaudit::stats::hypothesis::two_proportion_test(k1, n1, k2, n2).unwrap();
    let test = &male["tests"]["tpr@urgent"];
    assert_eq!(test["p_value"].as_f64(), Some(t.p_value));
    let adjusted = test["p_value_adjusted"].as_f64().unwrap();
    assert!(adjusted >= t.p_value);
    assert_eq!(
        male["disparities"]["tpr@urgent"]["difference"]["p_value"].as_f64(),
        Some(adjusted)
    );
    assert!(male["minimum_detectable_difference"]["fpr@low"]["value"].is_number());
    // The spec's class_scores give one-vs-rest AUCs.
    assert!(g["metrics"]["auc@urgent"]["value"].as_f64().unwrap() > 0.5);
    assert!(g["metrics"]["worst_class_auc"]["value"].is_number());
    // Bootstrap intervals of the score metrics, containing their values; a reliability table
    // per scored class holding every row of the group.
    for key in [
        "auc@urgent",
        "brier",
        "log_loss",
        "ece@high",
        "worst_class_ece",
    ] {
        let v = &g["metrics"][key];
        let (x, ci) = (v["value"].as_f64().unwrap(), &v["ci"]);
        assert!(
            ci[0].as_f64().unwrap() <= x && x <= ci[1].as_f64().unwrap(),
            "{key} {v}"
        );
    }
    assert!(male["disparities"]["auc@urgent"]["difference"]["ci"].is_array());
    let table = g["outcome"]["multiclass"]["reliability"]["urgent"]
        .as_array()
        .unwrap();
    assert_eq!(table.len(), 10);
    let rows: u64 = table.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(rows, g["count"].as_u64().unwrap());
    assert!(r["attributes"][0]["summary"]["tpr_worst_class_difference"]["value"].is_number());
    // Sample-size warnings as for binary audits: a per-class policy names its class's rate, a
    // worst-class summary every class whose minimum detectable difference exceeds the margin.
    let policy = |id: &str| -> Vec<&Json> {
        (r["policies"].as_array().unwrap().iter())
            .filter(|p| p["id"] == id)
            .collect()
    };
    let warned = |p: &Json, needle: &str| {
        (p["warnings"].as_array().unwrap().iter()).any(|w| w.as_str().unwrap().contains(needle))
    };
    let male_recall = policy("urgent-recall")
        .into_iter()
        .find(|p| p["group"] == "male")
        .unwrap();
    let mdd = male["minimum_detectable_difference"]["tpr@urgent"]["value"]
        .as_f64()
        .unwrap();
    let reference_tpr = reference["metrics"]["tpr@urgent"]["value"]
        .as_f64()
        .unwrap();
    // Ratio bound 0.9: the margin is 0.1 × the reference's rate.
    assert_eq!(
        warned(male_recall, "minimum detectable tpr@urgent difference"),
        mdd > 0.1 * reference_tpr
    );
    let gap = policy("worst-class-recall-gap");
    assert!(gap.iter().any(|p| warned(p, "minimum detectable tpr@")));
    assert!(!gap.iter().any(|p| warned(p, "minimum detectable fpr@")));
    let all = r["warnings"].as_array().unwrap();
    assert!(all
        .iter()
        .any(|w| w.as_str().unwrap().contains("tpr@urgent")));
}

/// The Markdown summary of a multiclass audit has, under each attribute, the per-class
/// one-vs-rest metrics of every group shown (the JSON's values to three decimals), and none
/// of a suppressed group.
#[test]
fn multiclass_markdown_has_a_per_class_table_of_the_groups_shown() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("r.md");
    // 231 rows or more: every intersection group but `male & 65+` (230 rows) is shown.
    let args = [
        "run",
        "audits/triage.toml",
        "--min-group-size",
        "231",
        "--markdown",
    ];
    let (_, r) = run_json(dir.path(), &[&args[..], &[md.to_str().unwrap()]].concat());
    let text = std::fs::read_to_string(&md).unwrap();
    let num = |v: &Json| format!("{:.3}", v["value"].as_f64().unwrap());
    for a in r["attributes"].as_array().unwrap() {
        // Raw HTML: `&` escaped, `_` not (a backslash would show).
        let name = a["name"].as_str().unwrap().replace('&', "&amp;");
        let start = text
            .find(&format!("<details><summary>{name}: per-class metrics"))
            .unwrap_or_else(|| panic!("no per-class table for {name}"));
        let table = &text[start..start + text[start..].find("</details>").unwrap()];
        let mut group = String::new();
        let mut rows = 0;
        for line in table.lines().filter(|l| l.starts_with("| ")).skip(1) {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            if !cells[0].is_empty() {
                group = cells[0]
                    .trim_end_matches(" (reference)")
                    .replace("&amp;", "&");
            }
            let g = (a["groups"].as_array().unwrap().iter())
                .find(|g| g["value"] == group.as_str())
                .unwrap();
            assert_eq!(g["insufficient_data"], false, "{group} is suppressed");
            let class = cells[1];
            let m = &g["metrics"];
            let want = [
                num(&m[format!("selection_rate@{class}")]),
                num(&m[format!("tpr@{class}")]),
                num(&m[format!("fpr@{class}")]),
                num(&m[format!("precision@{class}")]),
                num(&m[format!("auc@{class}")]),
                num(&m[format!("ece@{class}")]),
                num(&g["disparities"][format!("tpr@{class}")]["ratio"]),
            ];
            assert_eq!(cells[2..], want, "{group} {class}");
            rows += 1;
        }
        let shown = (a["groups"].as_array().unwrap().iter())
            .filter(|g| g["insufficient_data"] == false)
            .count();
        assert_eq!(rows, shown * 4, "{name}: four classes per shown group");
    }
    let intersection = &r["attributes"][2]["groups"];
    let suppressed = (intersection.as_array().unwrap().iter())
        .filter(|g| g["insufficient_data"] == true)
        .count();
    assert_eq!(suppressed, 1, "the test needs one suppressed group");
}

/// Coverage of the parametric-bootstrap intervals of regression summaries and disparities,
/// by simulation: 200 data sets (seeded) from a known model, each audited with 200
/// replicates at 95%. Group a has errors e ~ N(0, 1) (150 rows), group b e ~ N(0.5, 2)
/// (100 rows), so E|e| = σ√(2/π)·e^(−μ²/2σ²) + μ(1 − 2Φ(−μ/σ)) is known. Each interval is
/// counted as covering when it contains the true value. With 200 data sets the count of a
/// 95% interval is Binomial(200, 0.95) (sd 3.1); the test accepts 180 to 198 (90%–99%), about
/// −3.2 and +2.6 sd, so it fails when the coverage is materially off (at 85% it would fail
/// with probability > 0.99) yet a correct method passes except by a ~0.3% fluke per
/// statistic; the seeds are fixed, so the result is reproducible.
#[test]
fn regression_bootstrap_intervals_cover_the_true_values() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let dir = tempfile::tempdir().unwrap();
    let phi = |x: f64| 0.5 * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
    let mae = |mu: f64, sd: f64| {
        sd * (2.0 / std::f64::consts::PI).sqrt() * (-mu * mu / (2.0 * sd * sd)).exp()
            + mu * (1.0 - 2.0 * phi(-mu / sd))
    };
    let (mae_a, mae_b) = (mae(0.0, 1.0), mae(0.5, 2.0));
    let truth = [
        ("summary", "mae_difference", mae_b - mae_a),
        ("summary", "mae_ratio", mae_a / mae_b),
        ("b", "mean_error.difference", 0.5),
        ("b", "mae.ratio", mae_b / mae_a),
        // The label's mean is the same: the truth is parity. (Not of the summary
        // `mean_label_difference` = max − min ≥ 0, whose interval cannot contain 0.)
        ("b", "mean_label.difference", 0.0),
    ];
    let mut covered = vec![0u32; truth.len()];
    let sims = 200;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for sim in 0..sims {
        let mut csv = String::from("y,p,g\n");
        for (group, n, mu, sd) in [("a", 150, 0.0, 1.0), ("b", 100, 0.5, 2.0)] {
            let (y, e) = (
                Normal::new(10.0, 1.0).unwrap(),
                Normal::new(mu, sd).unwrap(),
            );
            for _ in 0..n {
                let label: f64 = y.sample(&mut rng);
                let err: f64 = e.sample(&mut rng);
                csv.push_str(&format!("{label},{},{group}\n", label + err));
            }
        }
        let data = dir.path().join("sim.csv");
        std::fs::write(&data, csv).unwrap();
        let seed = sim.to_string();
        let (_, r) = run_json(
            dir.path(),
            &[
                "run",
                "--data",
                data.to_str().unwrap(),
                "--label",
                "y",
                "--prediction",
                "p",
                "--protected",
                "g",
                "--reference",
                "g=a",
                "--task",
                "regression",
                "--bootstrap",
                "200",
                "--seed",
                &seed,
            ],
        );
        let a = &r["attributes"][0];
        for (i, (at, key, value)) in truth.iter().enumerate() {
            let v = if *at == "summary" {
                &a["summary"][*key]
            } else {
                let (metric, part) = key.split_once('.').unwrap();
                &a["groups"][1]["disparities"][metric][part]
            };
            let ci = &v["ci"];
            let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
            covered[i] += u32::from(lo <= *value && *value <= hi);
        }
    }
    for ((_, key, _), c) in truth.iter().zip(&covered) {
        eprintln!("coverage of {key}: {c} of {sims}");
        assert!(
            (180..=198).contains(c),
            "{key}: {c} of {sims} intervals cover"
        );
    }
}

/// erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7: ample for a true value in a coverage
/// count).
fn libm_erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
}

#[test]
fn task_errors_exit_2_naming_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "y,p,g\n1.5,2,a\nx,2,b\n").unwrap();
    let out = fairaudit()
        .args(["run", "--data", csv.to_str().unwrap(), "--label", "y"])
        .args([
            "--prediction",
            "p",
            "--protected",
            "g",
            "--task",
            "regression",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 2, column 'y'") && err.contains("'x' is not a number"),
        "{err}"
    );
    // A binary metric in a regression audit is a spec error.
    let out = fairaudit()
        .args(["run", "--data", csv.to_str().unwrap(), "--label", "y"])
        .args([
            "--prediction",
            "p",
            "--protected",
            "g",
            "--task",
            "regression",
        ])
        .args(["--policy", "demographic_parity_ratio >= 0.8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not computed by regression"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn regression_merge_of_any_split_equals_one_pass(
        rows in prop::collection::vec((-50i32..50, -50i32..50, 0u8..4), 1..60),
        cut in 0usize..60,
        cap in 2usize..20,
    ) {
        let row = |&(y, p, w): &(i32, i32, u8)| (y as f64 / 4.0, p as f64 / 3.0, w as f64 / 2.0);
        let push = |rs: &[(i32, i32, u8)]| {
            let mut s = RegressionStats { predictions: ValueDistribution::with_cap(cap), ..Default::default() };
            rs.iter().map(row).for_each(|(y, p, w)| s.push(y, p, w));
            s
        };
        let cut = cut.min(rows.len());
        let whole = push(&rows);
        let mut merged = push(&rows[..cut]);
        merged.merge(&push(&rows[cut..]));
        prop_assert_eq!(merged.rows, whole.rows);
        prop_assert!((merged.sum_abs_error - whole.sum_abs_error).abs() < 1e-9);
        prop_assert!((merged.label_m2 - whole.label_m2).abs() < 1e-7 * whole.label_m2.max(1.0));
        // The distributions keep the same values at the same precision.
        prop_assert_eq!(merged.predictions.bits(), whole.predictions.bits());
        let points = |d: &ValueDistribution| d.points().map(|(v, m)| (v, m.rows)).collect::<Vec<_>>();
        prop_assert_eq!(points(&merged.predictions), points(&whole.predictions));
        // Permuting the rows changes nothing but rounding.
        let mut reversed = rows.clone();
        reversed.reverse();
        let r = push(&reversed);
        prop_assert_eq!(points(&r.predictions), points(&whole.predictions));
        let (m1, m2) = (
            regression::regression_metrics(&whole, Some(0.0)),
            regression::regression_metrics(&r, Some(0.0)),
        );
        for (k, v) in &m1 {
            match (v.value, m2[k].value) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9 * a.abs().max(1.0), "{}", k),
                (a, b) => prop_assert_eq!(a.is_none(), b.is_none()),
            }
        }
    }

    #[test]
    fn multiclass_merge_of_any_split_equals_one_pass(
        rows in prop::collection::vec((0u8..4, 0u8..4, 0u8..3), 1..60),
        cut in 0usize..60,
    ) {
        let push = |rs: &[(u8, u8, u8)]| {
            let mut m = ClassConfusion::default();
            rs.iter().for_each(|&(l, p, w)| m.push(&format!("k{l}"), &format!("k{p}"), w as f64));
            m
        };
        let cut = cut.min(rows.len());
        let whole = push(&rows);
        let mut merged = push(&rows[..cut]);
        merged.merge(&push(&rows[cut..]));
        // Integer weights: sums are exact in any order.
        prop_assert_eq!(&merged, &whole);
        let classes: BTreeSet<String> = whole.classes().into_iter().map(String::from).collect();
        let m = multiclass::multiclass_metrics(&whole, &classes, &[]);
        for (k, v) in &m {
            if let Some(x) = v.value {
                prop_assert!((0.0..=1.0).contains(&x), "{} = {}", k, x);
            }
        }
    }
}

/// A regression batch of (group, y, ŷ) rows.
fn regression_batch(rows: &[(u8, i32, i32)]) -> fairaudit::input::Batch {
    use fairaudit::input::{Batch, Categorical, Outcomes};
    Batch {
        label: vec![false; rows.len()],
        prediction: vec![false; rows.len()],
        protected: vec![Categorical {
            levels: vec![Some("a".into()), Some("b".into()), None],
            codes: rows.iter().map(|r| u32::from(r.0 % 3)).collect(),
        }],
        outcomes: Some(Outcomes::Values {
            label: rows.iter().map(|r| r.1 as f64 / 7.0).collect(),
            prediction: rows.iter().map(|r| r.2 as f64 / 3.0).collect(),
        }),
        ..Batch::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Per-class calibration: 0 ≤ ece@c ≤ mce@c ≤ 1, and merging any split of the rows
    /// gives the one-pass values (up to rounding).
    #[test]
    fn class_calibration_is_bounded_and_mergeable(
        rows in prop::collection::vec((0u8..3, 0u8..3, 0u16..=1000, 1u8..4), 1..60),
        cut in 0usize..60,
        bins in 1usize..15,
    ) {
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let push = |rs: &[(u8, u8, u16, u8)]| {
            let mut m = ClassConfusion::default();
            for &(y, p, s, w) in rs {
                let (y, s, w) = (&classes[y as usize], s as f64 / 1000.0, w as f64 / 2.0);
                m.push(y, &classes[p as usize], w);
                // Column a gets s, the others share the rest.
                m.push_scores(y, [s, (1.0 - s) / 2.0, (1.0 - s) / 2.0].into_iter(), w);
            }
            m
        };
        let cut = cut.min(rows.len());
        let whole = multiclass::class_calibration(&push(&rows), &classes, bins);
        let mut merged = push(&rows[..cut]);
        merged.merge(&push(&rows[cut..]));
        let merged = multiclass::class_calibration(&merged, &classes, bins);
        for c in &classes {
            let ece = whole[&multiclass::class_key("ece", c)].value.unwrap();
            let mce = whole[&multiclass::class_key("mce", c)].value.unwrap();
            prop_assert!((0.0..=1.0 + 1e-12).contains(&ece) && ece <= mce + 1e-12 && mce <= 1.0 + 1e-12);
            let again = merged[&multiclass::class_key("ece", c)].value.unwrap();
            prop_assert!((again - ece).abs() < 1e-12);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Streaming: folding the rows batch by batch gives, to the bit, the statistics of
    /// pushing them row by row, wherever the batches split.
    #[test]
    fn folding_batches_equals_one_pass_to_the_bit(
        rows in prop::collection::vec((0u8..3, -100i32..100, -100i32..100), 1..80),
        cuts in prop::collection::vec(0usize..80, 0..4),
    ) {
        use fairaudit::aggregate::tasks::fold_batch;
        let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(rows.len())).collect();
        bounds.extend([0, rows.len()]);
        bounds.sort_unstable();
        let mut folded = std::collections::BTreeMap::new();
        for w in bounds.windows(2) {
            fold_batch::<RegressionStats>(&regression_batch(&rows[w[0]..w[1]]), &mut folded);
        }
        let mut whole = std::collections::BTreeMap::new();
        fold_batch::<RegressionStats>(&regression_batch(&rows), &mut whole);
        prop_assert_eq!(format!("{folded:?}"), format!("{whole:?}"));
    }
}

/// The CSV fixture `name` as Parquet with row groups of `group_rows` rows: every column as
/// text except `numeric` ones as float64.
fn fixture_as_parquet(name: &str, numeric: &[&str], path: &Path, group_rows: usize) {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, StringArray};
    let text = std::fs::read_to_string(crate::util::fixture(name)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let columns: Vec<(&str, ArrayRef, bool)> = (header.iter().enumerate())
        .map(|(i, &h)| {
            let array: ArrayRef = if numeric.contains(&h) {
                Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| r[i].parse::<f64>().unwrap()),
                ))
            } else {
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r[i])))
            };
            (h, array, false)
        })
        .collect();
    crate::corpus::parquet(path, columns, group_rows);
}

#[test]
fn parquet_in_row_groups_equals_csv_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for (name, spec, numeric) in [
        (
            "limits.csv",
            "audits/limits.toml",
            &["limit", "predicted_limit"][..],
        ),
        ("triage.csv", "audits/triage.toml", &[][..]),
    ] {
        let pq = dir.path().join(name.replace(".csv", ".parquet"));
        fixture_as_parquet(name, numeric, &pq, 97);
        let json = |data: Option<&Path>, threads: &str| -> Json {
            let out = dir.path().join("r.json");
            let mut cmd = fairaudit();
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("RAYON_NUM_THREADS", threads)
                .env("SOURCE_DATE_EPOCH", "0")
                .args(["run", spec, "--quiet", "--json"])
                .arg(&out);
            if let Some(d) = data {
                cmd.arg("--data").arg(d);
            }
            let code = cmd.output().unwrap().status.code();
            assert_eq!(code, Some(1), "{name}");
            let mut r: Json =
                serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
            let o = r.as_object_mut().unwrap();
            o.remove("input");
            o.remove("provenance");
            r
        };
        let (one, two) = (json(Some(&pq), "1"), json(Some(&pq), "2"));
        assert_eq!(one, two, "{name}: thread count changed the report");
        // Row groups are summed on their own and merged in order, so sums may differ from
        // the CSV's single stream in the last bits: compare every number to 1e-9.
        let csv = json(None, "2");
        assert_close(&one, &csv, name);
    }
}

fn assert_close(a: &Json, b: &Json, at: &str) {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{at}: {x} vs {y}");
        }
        (Json::Object(x), Json::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{at}.{k}"));
            }
        }
        (Json::Array(x), Json::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_close(v, w, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}
