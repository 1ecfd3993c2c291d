//! Calibration and ranking metrics (issue 4) against scikit-learn and statsmodels values
//! stored in `tests/data/calibration_reference.json` (made by `calibration_reference.py` beside
//! it), against an independent row-level fit with linfa, and their invariants.

use std::collections::BTreeMap;

use fairaudit::aggregate::{GroupStats, Resolution, MAX_DISTINCT};
use fairaudit::metrics::calibration::{auc, ece, quantile_bins, uniform_bins};
use fairaudit::metrics::recalibration::{self, logit};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value as Json;

use crate::util::{fairaudit, shared_dir};

fn reference() -> Json {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/calibration_reference.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn report(score: &str) -> Json {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    fairaudit()
        .arg("run")
        .arg("--data")
        .arg(shared_dir().join("data/compas.csv"))
        .args([
            "--label",
            "label",
            "--score",
            score,
            "--protected",
            "race,sex,age_cat",
        ])
        .args([
            "--binning",
            "quantile",
            "--min-group-size",
            "0",
            "--quiet",
            "--json",
        ])
        .arg(&out)
        .assert()
        .code(0);
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

#[test]
fn compas_matches_scikit_learn_and_statsmodels() {
    let reference = reference();
    let reports: BTreeMap<&str, Json> = ["score", "lr_score"].map(|s| (s, report(s))).into();
    let mut errors = Vec::new();
    let mut compared = 0;
    for case in reference["cases"].as_array().unwrap() {
        let r = &reports[case["score"].as_str().unwrap()];
        let attribute = r["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == case["attribute"])
            .unwrap();
        let group = attribute["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["value"] == case["group"])
            .unwrap();
        let what = format!(
            "{} / {} = {}",
            case["score"], case["attribute"], case["group"]
        );
        let mut check = |key: &str, ours: Option<f64>, tolerance: f64| {
            let Some(expected) = case[key].as_f64() else {
                return;
            };
            compared += 1;
            match ours {
                Some(v) if (v - expected).abs() <= tolerance => {}
                _ => errors.push(format!(
                    "{what} / {key}: reference {expected}, report {ours:?}"
                )),
            }
        };
        let metric = |k: &str| group["metrics"][k]["value"].as_f64();
        check("auc", metric("auc"), 1e-9);
        check("bpsn_auc", metric("bpsn_auc"), 1e-9);
        check("bnsp_auc", metric("bnsp_auc"), 1e-9);
        check("ece_quantile_10", metric("ece"), 1e-9);
        // CONTRACT.md §2: the fits are maximum-likelihood to 1e-6.
        check(
            "calibration_intercept",
            metric("calibration_intercept"),
            1e-6,
        );
        check("calibration_slope", metric("calibration_slope"), 1e-6);
        if let Some(edges) = case["quantile_edges_10"].as_array() {
            let bins = group["calibration"]["bins"].as_array().unwrap();
            assert_eq!(group["calibration"]["binning"], "quantile");
            for (k, bin) in bins.iter().enumerate() {
                let (lo, hi) = (edges[k].as_f64().unwrap(), edges[k + 1].as_f64().unwrap());
                if bin["lo"].as_f64() != Some(lo) || bin["hi"].as_f64() != Some(hi) {
                    errors.push(format!(
                        "{what} / bin {k} edges: reference [{lo}, {hi}], report [{}, {}]",
                        bin["lo"], bin["hi"]
                    ));
                }
                if bin["count"] != case["quantile_counts_10"][k] {
                    errors.push(format!(
                        "{what} / bin {k} count: reference {}, report {}",
                        case["quantile_counts_10"][k], bin["count"]
                    ));
                }
            }
        }
    }
    assert!(
        compared > 100,
        "too few reference values compared: {compared}"
    );
    assert!(
        errors.is_empty(),
        "calibration mismatches:\n{}",
        errors.join("\n")
    );
}

/// Rows (label, score) from a seeded model: scores uniform, labels Bernoulli(f(score)).
fn sample(n: usize, seed: u64, truth: impl Fn(f64) -> f64) -> Vec<(bool, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let s: f64 = rng.random();
            (rng.random::<f64>() < truth(s), s)
        })
        .collect()
}

fn stats(rows: &[(bool, f64)]) -> GroupStats {
    let mut g = GroupStats::with_bins(10);
    for &(y, s) in rows {
        g.push(y, s >= 0.5, Some(s), 1.0);
    }
    g
}

#[test]
fn slope_and_intercept_agree_with_a_row_level_linfa_fit() {
    use linfa::prelude::*;
    use linfa_logistic::LogisticRegression;
    // A miscalibrated model: true P(y) = σ(0.3 + 0.7·logit(s)).
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let rows = sample(4000, 7, |s| sigmoid(0.3 + 0.7 * logit(s)));
    let ours = recalibration::fit(&stats(&rows).score.distribution.sorted());
    let x = ndarray::Array2::from_shape_fn((rows.len(), 1), |(i, _)| logit(rows[i].1));
    let y = ndarray::Array1::from_iter(rows.iter().map(|r| r.0));
    let fitted = LogisticRegression::default()
        .alpha(0.0)
        .gradient_tolerance(1e-10)
        .max_iterations(1000)
        .fit(&Dataset::new(x, y))
        .unwrap();
    let linfa_slope = fitted.params()[0];
    let slope = ours.slope.value.unwrap();
    assert!(
        (slope - linfa_slope).abs() < 1e-5,
        "ours {slope}, linfa {linfa_slope}"
    );
    assert!(
        (slope - 0.7).abs() < 0.15,
        "the fit recovers the true slope roughly: {slope}"
    );
    assert!(ours.intercept.value.is_some());
}

#[test]
fn perfectly_calibrated_scores_have_vanishing_ece() {
    let ece_at = |n| {
        ece(&uniform_bins(&stats(&sample(n, 3, |s| s)).score))
            .value
            .unwrap()
    };
    let (small, large) = (ece_at(1_000), ece_at(200_000));
    assert!(large < 0.01, "ECE at 200k rows: {large}");
    assert!(large < small, "ECE shrinks with n: {small} → {large}");
    // A miscalibrated score does not.
    let off = ece(&uniform_bins(
        &stats(&sample(200_000, 3, |s| s * 0.5)).score,
    ))
    .value
    .unwrap();
    assert!(off > 0.2, "{off}");
}

#[test]
fn binned_auc_stays_within_its_stated_bound() {
    // More distinct scores than kept exactly: the distribution switches to 2^16 bins.
    let rows = sample(3 * MAX_DISTINCT, 11, |s| s);
    let g = stats(&rows);
    let d = &g.score.distribution;
    assert_eq!(d.resolution(), Resolution::Binned);
    let binned = auc(&d.sorted()).value.unwrap();
    // Exact AUC by sorting the rows (an independent computation; all scores distinct).
    let mut sorted: Vec<(f64, bool)> = rows.iter().map(|&(y, s)| (s, y)).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut negatives_below, mut u, mut p) = (0.0, 0.0, 0.0);
    for (_, y) in &sorted {
        if *y {
            u += negatives_below;
            p += 1.0;
        } else {
            negatives_below += 1.0;
        }
    }
    let exact = u / (p * negatives_below);
    let bound = d.auc_error_bound();
    assert!(
        (binned - exact).abs() <= bound,
        "|{binned} − {exact}| > {bound}"
    );
    assert!(bound <= 1e-4, "stated bound {bound} exceeds 1e-4");
}

#[test]
fn auc_is_invariant_under_increasing_transforms() {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(
            &prop::collection::vec((any::<bool>(), 0u32..=40), 2..200),
            |rows| {
                let base: Vec<(bool, f64)> = rows
                    .iter()
                    .map(|&(y, k)| (y, f64::from(k) / 40.0))
                    .collect();
                let squared: Vec<(bool, f64)> = base.iter().map(|&(y, s)| (y, s * s)).collect();
                let a = auc(&stats(&base).score.distribution.sorted()).value;
                let b = auc(&stats(&squared).score.distribution.sorted()).value;
                match (a, b) {
                    (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-12),
                    (a, b) => prop_assert_eq!(a.is_none(), b.is_none()),
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn quantile_bin_counts_sum_to_n() {
    let rows = sample(5_000, 5, |s| s);
    let g = stats(&rows);
    let bins = quantile_bins(&g.score.distribution.sorted(), 10);
    assert_eq!(bins.iter().map(|b| b.rows).sum::<f64>(), 5_000.0);
    // Equal mass: every bin holds 500 rows (distinct scores, 5000 = 10 × 500).
    for b in &bins {
        assert!((b.rows - 500.0).abs() <= 1.0, "{b:?}");
    }
}

#[test]
fn policies_on_calibration_and_ranking_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    fairaudit()
        .arg("run")
        .arg("--data")
        .arg(shared_dir().join("data/compas.parquet"))
        .args([
            "--label",
            "label",
            "--score",
            "lr_score",
            "--protected",
            "race,sex",
        ])
        .args([
            "--policy",
            "ece on race <= 0.05",
            "--policy",
            "auc_difference <= 0.05",
        ])
        .args([
            "--policy",
            "bpsn_auc >= 0.7",
            "--policy",
            "calibration_slope on sex in [0.8, 1.25]",
        ])
        .args(["--quiet", "--json"])
        .arg(&out)
        .assert()
        .code(1);
    let r: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let results = r["policies"].as_array().unwrap();
    // ece on race: one result per race group (6); auc_difference: one per attribute (2);
    // bpsn_auc: one per group of both attributes (6 + 2); slope on sex: 2.
    let count = |id: &str| results.iter().filter(|p| p["id"] == id).count();
    assert_eq!(count("ece on race <= 0.05"), 6);
    assert_eq!(count("auc_difference <= 0.05"), 2);
    assert_eq!(count("bpsn_auc >= 0.7"), 8);
    assert_eq!(count("calibration_slope on sex in [0.8, 1.25]"), 2);
    for p in results {
        let group = p["group"].as_str();
        let attribute = &r["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == p["attribute"])
            .unwrap();
        let observed = match group {
            Some(g) => {
                let g = attribute["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["value"] == g)
                    .unwrap();
                g["metrics"][p["metric"].as_str().unwrap()]["value"].clone()
            }
            None => attribute["summary"][p["metric"].as_str().unwrap()]["value"].clone(),
        };
        assert_eq!(p["observed"], observed, "{p}");
    }
    // An undecidable result always says why.
    assert!(results
        .iter()
        .all(|p| p["status"] != "insufficient_data" || p["reason"].is_string()));
}
