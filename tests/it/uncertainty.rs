//! Issue 5: intervals, tests and bootstrap against reference implementations, by simulation,
//! and through the CLI.
//!
//! Reference values are in `tests/data/*.csv`, written by `tests/data/proportion_confint.py`
//! (statsmodels 0.15.0, scipy 1.17.1); Python is not needed to run these tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use fairaudit::aggregate::{CellTable, GroupStats};
use fairaudit::cli::{Cli, Command};
use fairaudit::stats::bootstrap::{replicate_values, AttributeDesign, Slot};
use fairaudit::stats::ci::{clopper_pearson, weighted_rate_ci, wilson, CiMethod};
use fairaudit::stats::hypothesis::{adjust, fisher_exact, z_statistic, Correction};
use fairaudit::stats::prec::{close, REFERENCE};
use fairaudit::stats::{ci::normal_sf, DEFAULT_BOOTSTRAP};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde_json::Value as Json;

use crate::util::{fairaudit, run_spec_into};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Rows of a CSV in tests/data as maps from column name to text.
fn table(name: &str) -> Vec<BTreeMap<String, String>> {
    let path = Path::new(ROOT).join("tests/data").join(name);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<_> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "{} is empty", path.display());
    rows
}

fn num(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap()
}

#[test]
fn wilson_and_clopper_pearson_match_statsmodels() {
    let mut checked = 0;
    for row in table("proportion_confint.csv") {
        let (k, n, level) = (num(&row, "k"), num(&row, "n"), num(&row, "level"));
        let ours = match row["method"].as_str() {
            "wilson" => wilson(k, n, level),
            "clopper_pearson" => clopper_pearson(k, n, level),
            other => panic!("unknown method {other}"),
        }
        .unwrap();
        let expected = [num(&row, "lo"), num(&row, "hi")];
        assert!(
            close(ours[0], expected[0], REFERENCE) && close(ours[1], expected[1], REFERENCE),
            "{} k={k} n={n} level={level}: ours {ours:?}, statsmodels {expected:?}",
            row["method"]
        );
        checked += 1;
    }
    assert!(checked >= 300, "only {checked} cases");
}

#[test]
fn fisher_and_z_test_match_scipy_and_statsmodels() {
    for row in table("two_proportion_tests.csv") {
        let [k1, n1, k2, n2] = ["k1", "n1", "k2", "n2"].map(|c| num(&row, c));
        let expected = num(&row, "p_value");
        let ours = match row["test"].as_str() {
            "fisher" => {
                let u = |x: f64| x as u64;
                fisher_exact(u(k1), u(n1 - k1), u(k2), u(n2 - k2))
            }
            "z" => 2.0 * normal_sf(z_statistic(k1, n1, k2, n2).abs()),
            other => panic!("unknown test {other}"),
        };
        assert!(
            close(ours, expected, REFERENCE),
            "{} {k1}/{n1} vs {k2}/{n2}: ours {ours}, reference {expected}",
            row["test"]
        );
    }
}

#[test]
fn holm_and_bh_match_statsmodels_multipletests() {
    let rows = table("multipletests.csv");
    let mut families: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for row in &rows {
        families
            .entry((row["family"].clone(), row["method"].clone()))
            .or_default()
            .push((num(row, "p"), num(row, "p_adjusted")));
    }
    for ((family, method), cases) in families {
        let correction = match method.as_str() {
            "holm" => Correction::Holm,
            "bh" => Correction::Bh,
            other => panic!("unknown method {other}"),
        };
        let p: Vec<f64> = cases.iter().map(|c| c.0).collect();
        for (ours, (_, expected)) in adjust(&p, correction).iter().zip(&cases) {
            assert!(
                close(*ours, *expected, REFERENCE),
                "family {family} {method}: {ours} vs {expected}"
            );
        }
    }
}

/// Share of `reps` simulated Binomial(n, p) counts whose interval covers p.
fn coverage(n: u64, p: f64, reps: u32, seed: u64, method: CiMethod) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let binomial = Binomial::new(n, p).unwrap();
    // An interval depends on k only: memoise, since Clopper–Pearson is costly in debug builds.
    let mut memo: BTreeMap<u64, [f64; 2]> = BTreeMap::new();
    let mut covered = 0;
    for _ in 0..reps {
        let k = binomial.sample(&mut rng);
        let [lo, hi] = *memo.entry(k).or_insert_with(|| {
            fairaudit::stats::ci::proportion_ci(method, k as f64, n as f64, 0.95).unwrap()
        });
        if lo <= p && p <= hi {
            covered += 1;
        }
    }
    f64::from(covered) / f64::from(reps)
}

/// Coverage of the 95% intervals over simulated groups with known rates.
///
/// Tolerances: with 4000 datasets per (n, p) the Monte Carlo standard error of a coverage near
/// 0.95 is √(0.95·0.05/4000) ≈ 0.0034, so 3 SE ≈ 0.0103. On top of that, the *exact* coverage
/// of a binomial interval oscillates with n and p (Brown, Cai & DasGupta 2001): on this grid
/// Wilson's lies in [0.924, 0.979] for n ≤ 100 and within 0.004 of 0.95 for n ≥ 1000
/// (computed with scipy's binomial pmf). Hence: small groups, every cell in [0.90, 0.995] and
/// the grid mean within 0.02 of 0.95; large groups, every cell within 0.015 of 0.95;
/// Clopper–Pearson, which is conservative by construction, never below 0.95 − 3 SE.
#[test]
fn intervals_cover_the_true_rate_about_95_percent_of_the_time() {
    let reps = 4000;
    let three_se = 3.0 * (0.95f64 * 0.05 / f64::from(reps)).sqrt();
    let mut small = Vec::new();
    for (i, n) in [10u64, 30, 100, 1000, 5000].into_iter().enumerate() {
        for (j, p) in [0.1, 0.3, 0.5].into_iter().enumerate() {
            let seed = (i * 10 + j) as u64;
            let w = coverage(n, p, reps, seed, CiMethod::Wilson);
            let cp = coverage(n, p, reps, seed + 1000, CiMethod::ClopperPearson);
            if n <= 100 {
                assert!((0.90..=0.995).contains(&w), "Wilson n={n} p={p}: {w}");
                small.push(w);
            } else {
                assert!((w - 0.95).abs() <= 0.015, "Wilson n={n} p={p}: {w}");
            }
            assert!(cp >= 0.95 - three_se, "Clopper–Pearson n={n} p={p}: {cp}");
        }
    }
    let mean = small.iter().sum::<f64>() / small.len() as f64;
    assert!(
        (mean - 0.95).abs() <= 0.02,
        "mean small-group coverage {mean}"
    );
}

/// Weighted rows (weights 1 and 4, independent of the outcome): the interval on Kish's
/// effective sample size covers the rate; with the raw weight sum as n it would be far too
/// narrow. Tolerance as above for n_eff ≈ 147: [0.92, 0.98].
#[test]
fn weighted_intervals_use_the_effective_sample_size() {
    let (p, rows, reps) = (0.3, 200, 2000);
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let bernoulli = Binomial::new(1, p).unwrap();
    let mut covered = 0;
    for _ in 0..reps {
        let mut g = GroupStats::default();
        for i in 0..rows {
            let y = bernoulli.sample(&mut rng) == 1;
            g.push(y, y, None, if i % 2 == 0 { 1.0 } else { 4.0 });
        }
        let w = g.weighted.value();
        let w2 = g.weighted_sq.value();
        let all = w.tp + w.fp + w.tn + w.fn_;
        let all2 = w2.tp + w2.fp + w2.tn + w2.fn_;
        let [lo, hi] = weighted_rate_ci(CiMethod::Wilson, w.tp + w.fp, all, all2, 0.95).unwrap();
        if lo <= p && p <= hi {
            covered += 1;
        }
    }
    let cov = f64::from(covered) / f64::from(reps);
    assert!((0.92..=0.98).contains(&cov), "weighted coverage {cov}");
}

fn cells() -> CellTable {
    let mut t = CellTable::default();
    // Three groups of one attribute, two of a second: six cells of different sizes.
    for (i, (a, b)) in [
        ("x", "u"),
        ("x", "v"),
        ("y", "u"),
        ("y", "v"),
        ("z", "u"),
        ("z", "v"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut g = GroupStats::default();
        for r in 0..(20 + 37 * i) {
            let y = r % 3 == 0;
            let d = (r + i) % 4 < 2;
            g.push(y, d, None, 1.0);
        }
        t.cells
            .insert(vec![Some(a.to_string()), Some(b.to_string())], g);
    }
    t
}

fn design() -> Vec<AttributeDesign> {
    let key = |s: &str| vec![Some(s.to_string())];
    vec![
        AttributeDesign {
            positions: vec![0],
            reference: Some(key("z")),
            compared: vec![key("x"), key("y"), key("z")],
        },
        AttributeDesign {
            positions: vec![1],
            reference: Some(key("u")),
            compared: vec![key("u"), key("v")],
        },
    ]
}

fn slots() -> Vec<Slot> {
    vec![
        Slot::Disparity {
            attribute: 0,
            group: 0,
            key: "selection_rate".into(),
            part: Some("ratio"),
        },
        Slot::Disparity {
            attribute: 1,
            group: 1,
            key: "average_odds_difference".into(),
            part: None,
        },
        Slot::Summary {
            attribute: 0,
            key: "equalized_odds_difference".into(),
        },
        Slot::GroupMetric {
            attribute: 1,
            group: 0,
            key: "f1".into(),
        },
        Slot::Overall("theil_index".into()),
    ]
}

#[test]
fn bootstrap_is_identical_with_one_or_two_threads() {
    let (t, d, s) = (cells(), design(), slots());
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| replicate_values(&t, &d, None, &s, 300, 42))
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, replicate_values(&t, &d, None, &s, 300, 42));
    assert_ne!(one, replicate_values(&t, &d, None, &s, 300, 43));
    // Replicates vary (the resampling does something).
    let first: Vec<_> = one.iter().map(|r| r[0]).collect();
    assert!(first.windows(2).any(|w| w[0] != w[1]));
}

/// Run the demo audit with extra flags; return the exit code and the report's bytes.
fn demo(flags: &[&str], threads: &str) -> (i32, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let output = run_spec_into("audits/demo.toml", dir.path())
        .env("RAYON_NUM_THREADS", threads)
        .args(flags)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        std::fs::read(dir.path().join("r.json")).unwrap(),
    )
}

/// Every `{value, ci}` object in the report.
fn intervals(node: &Json, path: &str, out: &mut Vec<(String, f64, [f64; 2])>) {
    match node {
        Json::Object(map) => {
            if let (Some(v), Some(ci)) = (
                map.get("value").and_then(Json::as_f64),
                map.get("ci").and_then(Json::as_array),
            ) {
                out.push((
                    path.to_string(),
                    v,
                    [ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap()],
                ));
            }
            for (k, child) in map {
                intervals(child, &format!("{path}/{k}"), out);
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                intervals(child, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn bootstrap_reports_are_reproducible_and_contain_their_estimates() {
    let flags = ["--bootstrap", "200", "--seed", "7"];
    let (code, one) = demo(&flags, "1");
    let (_, two) = demo(&flags, "2");
    assert_eq!(code, 1, "the demo gate fails");
    assert!(one == two, "the report differs between 1 and 2 threads");
    let report: Json = serde_json::from_slice(&one).unwrap();
    assert_eq!(report["options"]["bootstrap"], 200);
    assert_eq!(report["options"]["seed"], 7);
    assert_eq!(report["options"]["ci_method"], "wilson");
    assert_eq!(report["options"]["correction"], "holm");
    let mut found = Vec::new();
    intervals(&report, "", &mut found);
    for (path, v, [lo, hi]) in &found {
        assert!(lo <= v && v <= hi, "{path}: {v} outside [{lo}, {hi}]");
    }
    let sex = &report["attributes"][0];
    let female = &sex["groups"][0];
    for key in [
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "between_all_groups_theil_index",
    ] {
        assert!(sex["summary"][key]["ci"].is_array(), "{key}");
    }
    let sr = &female["disparities"]["selection_rate"];
    assert!(sr["difference"]["ci"].is_array() && sr["difference"]["p_value"].is_number());
    assert!(female["metrics"]["f1"]["ci"].is_array());
    // Score metrics are resampled too, except the recalibration fits (README "Uncertainty").
    for key in ["ece", "auc", "brier", "log_loss", "bpsn_auc"] {
        assert!(female["metrics"][key]["ci"].is_array(), "{key}");
        assert!(
            female["disparities"][key]["ratio"]["ci"].is_array(),
            "{key}"
        );
    }
    for key in ["ece_difference", "auc_ratio", "brier_difference_to_overall"] {
        assert!(sex["summary"][key]["ci"].is_array(), "{key}");
    }
    assert!(report["overall"]["metrics"]["auc"]["ci"].is_array());
    assert!(female["metrics"]["calibration_slope"].get("ci").is_none());
    assert_eq!(female["tests"]["selection_rate"]["test"], "z_test");
    assert!(female["minimum_detectable_difference"]["selection_rate"]["value"].is_number());
}

#[test]
fn without_bootstrap_rates_still_get_wilson_intervals_and_values_do_not_change() {
    let (_, plain) = demo(&[], "2");
    let (_, cp) = demo(
        &["--ci-method", "clopper_pearson", "--confidence", "0.9"],
        "2",
    );
    let plain: Json = serde_json::from_slice(&plain).unwrap();
    let cp: Json = serde_json::from_slice(&cp).unwrap();
    let g = &plain["attributes"][0]["groups"][1];
    assert!(g["metrics"]["tpr"]["ci"].is_array());
    assert!(g["disparities"]["tpr"]["difference"].get("ci").is_none());
    assert_eq!(plain["options"]["bootstrap"], 0);
    assert_eq!(cp["options"]["ci_method"], "clopper_pearson");
    assert_eq!(cp["options"]["confidence"], 0.9);
    let value = |r: &Json| r["attributes"][0]["groups"][1]["metrics"]["tpr"]["value"].clone();
    assert_eq!(value(&plain), value(&cp));
}

#[test]
fn on_uncertain_decides_the_gate_when_the_interval_straddles_the_bound() {
    // age_group: observed ratio 0.905 passes >= 0.8, but its bootstrap interval reaches below.
    let policy = ["--policy", "demographic_parity_ratio on age_group >= 0.8"];
    let run = |on: &str| {
        let mut flags = policy.to_vec();
        flags.extend(["--bootstrap", "200", "--on-uncertain", on]);
        demo(&flags, "2")
    };
    let (warn, report) = run("warn");
    let report: Json = serde_json::from_slice(&report).unwrap();
    let result = &report["policies"][0];
    assert_eq!(result["status"], "pass");
    assert_eq!(result["uncertain"], true);
    assert_eq!(result["on_uncertain"], "warn");
    assert!(!report["warnings"].as_array().unwrap().is_empty());
    assert_eq!(warn, 0, "warn: the gate follows the observed value");
    assert_eq!(run("fail").0, 1, "fail: an uncertain pass fails the gate");
    assert_eq!(run("pass").0, 0);
    // race: observed 0.754 fails; its interval reaches above 0.8.
    let race = |on: &str| {
        demo(
            &[
                "--policy",
                "demographic_parity_ratio on race >= 0.8",
                "--bootstrap",
                "200",
                "--on-uncertain",
                on,
            ],
            "2",
        )
        .0
    };
    assert_eq!(
        race("pass"),
        0,
        "pass: an uncertain failure passes the gate"
    );
    assert_eq!(race("warn"), 1);
}

#[test]
fn bootstrap_flag_without_a_number_means_the_default() {
    let parse = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
        Command::Run(a) => a.bootstrap,
        _ => unreachable!(),
    };
    assert_eq!(
        parse(&["fairaudit", "run", "--bootstrap", "--data", "x.csv"]),
        Some(DEFAULT_BOOTSTRAP)
    );
    assert_eq!(parse(&["fairaudit", "run", "--bootstrap=50"]), Some(50));
    assert_eq!(parse(&["fairaudit", "run"]), None);
}

#[test]
fn spec_files_take_uncertainty_options_and_reject_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |extra: &str| -> PathBuf {
        let path = dir.path().join("a.toml");
        let data = Path::new(ROOT).join("fixtures/demo.csv");
        std::fs::write(
            &path,
            format!(
                "[data]\npath = {data:?}\n[columns]\nlabel = \"label\"\nscore = \"score\"\n\
                 [audit]\nprotected = [\"sex\"]\n{extra}"
            ),
        )
        .unwrap();
        path
    };
    let out = dir.path().join("r.json");
    let ok = spec(
        "[uncertainty]\nci_method = \"clopper_pearson\"\nconfidence = 0.9\ncorrection = \"bh\"\n\
         [[policy]]\nexpression = \"demographic_parity_ratio >= 0.1\"\non_uncertain = \"fail\"\n",
    );
    fairaudit()
        .args(["run", "--quiet", "--json"])
        .arg(&out)
        .arg(&ok)
        .assert()
        .code(0);
    let r: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(r["options"]["correction"], "bh");
    assert_eq!(r["policies"][0]["on_uncertain"], "fail");
    for bad in [
        "[uncertainty]\nconfidence = 1.5\n",
        "[uncertainty]\npower = 0\n",
        "[uncertainty]\nmethod = \"wilson\"\n",
        "[uncertainty]\nbootstrap = 1000000\n",
    ] {
        fairaudit()
            .args(["run", "--quiet"])
            .arg(spec(bad))
            .assert()
            .code(2);
    }
}

/// Rows (cell, label, score) of four cells, on `distinct` distinct scores; the attribute is
/// the first key column, so each group is the union of two cells.
fn scored_rows(distinct: u32) -> Vec<([&'static str; 2], bool, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let cells = [["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"]];
    let mut rows = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        for _ in 0..150 + 100 * i {
            let k = Binomial::new(u64::from(distinct - 1), 0.3 + 0.1 * i as f64)
                .unwrap()
                .sample(&mut rng);
            let s = k as f64 / f64::from(distinct - 1);
            let y = Binomial::new(1, (0.15 + 0.7 * s).min(1.0))
                .unwrap()
                .sample(&mut rng)
                == 1;
            rows.push((*cell, y, s));
        }
    }
    rows
}

/// Mann–Whitney AUC (ties ½) and Brier score of rows (label, score).
fn auc_and_brier(rows: &[(bool, f64)]) -> (f64, f64) {
    let (mut u, mut p, mut n) = (0.0, 0.0, 0.0);
    for &(yi, si) in rows.iter().filter(|r| r.0) {
        p += 1.0;
        for &(_, sj) in rows.iter().filter(|r| !r.0) {
            u += if si > sj {
                1.0
            } else if si == sj {
                0.5
            } else {
                0.0
            };
        }
        let _ = yi;
    }
    n += rows.iter().filter(|r| !r.0).count() as f64;
    let brier = rows
        .iter()
        .map(|&(y, s)| (s - f64::from(u8::from(y))).powi(2))
        .sum::<f64>();
    (u / (p * n), brier / rows.len() as f64)
}

fn quantiles(mut v: Vec<f64>) -> [f64; 2] {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [at(0.025), at(0.975)]
}

/// The score bootstrap on the statistics gives the intervals of a row-level bootstrap
/// (rows drawn with replacement within each cell), for the AUC and Brier score of a group and
/// the AUC difference between groups: exactly the same scheme when each distinct score is its
/// own stratum (11 scores), and an approximation when the strata group scores (2001 scores).
/// Each end may differ by 12% of the interval's width: about four Monte Carlo standard errors
/// of the difference of two 2.5% quantiles from 1000 replicates each.
#[test]
fn score_bootstrap_matches_a_row_level_bootstrap() {
    use fairaudit::metrics::calibration::Binning;
    use fairaudit::stats::score_bootstrap::ScoreDesign;
    for distinct in [11, 2001] {
        let rows = scored_rows(distinct);
        let mut t = CellTable::default();
        for (cell, y, s) in &rows {
            let key = cell.iter().map(|v| Some(v.to_string())).collect();
            let g = t
                .cells
                .entry(key)
                .or_insert_with(|| GroupStats::with_bins(10));
            g.push(*y, *s >= 0.5, Some(*s), 1.0);
        }
        let design = vec![AttributeDesign {
            positions: vec![0],
            reference: None,
            compared: vec![vec![Some("a".into())], vec![Some("b".into())]],
        }];
        let sd = ScoreDesign::new(&t, &design, Binning::Uniform).unwrap();
        let group = |key: &str| Slot::GroupMetric {
            attribute: 0,
            group: 0,
            key: key.into(),
        };
        let slots = [
            group("auc"),
            group("brier"),
            Slot::Summary {
                attribute: 0,
                key: "auc_difference".into(),
            },
        ];
        let ours = replicate_values(&t, &design, Some(&sd), &slots, 1000, 5);
        // Row level, stratified by cell.
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        let by_cell: Vec<Vec<(bool, f64, bool)>> = ["a", "b"]
            .iter()
            .flat_map(|g| ["x", "y"].map(|c| (*g, c)))
            .map(|(g, c)| {
                (rows.iter())
                    .filter(|r| r.0 == [g, c])
                    .map(|r| (r.1, r.2, g == "a"))
                    .collect()
            })
            .collect();
        let mut theirs = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..1000 {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for cell in &by_cell {
                for _ in 0..cell.len() {
                    let (y, s, in_a) = cell[rand::Rng::random_range(&mut rng, 0..cell.len())];
                    if in_a {
                        a.push((y, s))
                    } else {
                        b.push((y, s))
                    }
                }
            }
            let ((auc_a, brier_a), (auc_b, _)) = (auc_and_brier(&a), auc_and_brier(&b));
            theirs[0].push(auc_a);
            theirs[1].push(brier_a);
            theirs[2].push((auc_a - auc_b).abs());
        }
        for (i, theirs) in theirs.into_iter().enumerate() {
            let mine = quantiles(ours.iter().map(|r| r[i].unwrap()).collect());
            let reference = quantiles(theirs);
            let width = reference[1] - reference[0];
            for end in 0..2 {
                assert!(
                    (mine[end] - reference[end]).abs() <= 0.12 * width,
                    "{distinct} scores, slot {i}: {mine:?} vs row-level {reference:?}"
                );
            }
        }
    }
}
