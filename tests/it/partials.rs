//! The partials table (issue 8): a report from a partials table equals the embedded report
//! (counts exactly, every other number to 1e-9), whether the table was emitted by the embedded
//! engine or computed by another engine from `fairaudit sql` (DuckDB, DataFusion).

use std::path::{Path, PathBuf};

use fairaudit::aggregate::{aggregate_batch, Aggregate, AggregateOptions};
use fairaudit::input::{Batch, Categorical, Source};
use fairaudit::partials::{self, read, write};
use proptest::prelude::*;
use serde_json::Value as Json;

use crate::util::{fairaudit, fixture, shared_dir};

const TOLERANCE: f64 = 1e-9;

/// Fields that name the input file, which differs by construction.
const INPUT_FIELDS: [&str; 4] = [
    "/input/path",
    "/input/sha256",
    "/input/format",
    "/provenance/options/data/path",
];

/// Every difference between two reports beyond the tolerance: integers (counts) must be
/// equal, floats within 1e-9, everything else equal.
pub fn differences(a: &Json, b: &Json) -> Vec<String> {
    fn walk(a: &Json, b: &Json, path: &str, out: &mut Vec<String>) {
        if INPUT_FIELDS.contains(&path) {
            return;
        }
        match (a, b) {
            (Json::Object(x), Json::Object(y)) => {
                for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                    match (x.get(k), y.get(k)) {
                        (Some(u), Some(v)) => walk(u, v, &format!("{path}/{k}"), out),
                        _ => out.push(format!("{path}/{k}: only on one side")),
                    }
                }
            }
            (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
                for (i, (u, v)) in x.iter().zip(y).enumerate() {
                    walk(u, v, &format!("{path}/{i}"), out);
                }
            }
            (Json::Number(x), Json::Number(y)) if x.is_f64() || y.is_f64() => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                if (x - y).abs() > TOLERANCE {
                    out.push(format!("{path}: {x} vs {y}"));
                }
            }
            _ if a == b => {}
            _ => out.push(format!("{path}: {a} vs {b}")),
        }
    }
    let mut out = Vec::new();
    walk(a, b, "", &mut out);
    out
}

fn json(path: &Path) -> Json {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `fairaudit run ARGS --json OUT`; returns the report and the exit code.
fn run(args: &[&str], extra: &[&Path], out: &Path) -> (Json, i32) {
    let o = fairaudit()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(args)
        .args(extra)
        .arg("--quiet")
        .arg("--json")
        .arg(out)
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    assert!(
        code < 2,
        "fairaudit run {args:?} {extra:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (json(out), code)
}

/// The audits every engine is compared on: COMPAS (CSV and Parquet, three attributes and an
/// intersection, deciles), the demo fixture (four-decimal scores), the lending fixture
/// (weights, missing protected values) and a corpus file with invalid rows.
fn audits() -> Vec<Vec<String>> {
    let compas = shared_dir().join("data");
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/mixed_invalid.csv");
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        s(&[
            "audits/compas.toml",
            "--data",
            &compas.join("compas.parquet").display().to_string(),
        ]),
        s(&[
            "audits/compas.toml",
            "--data",
            &compas.join("compas.csv").display().to_string(),
            "--binning",
            "quantile",
        ]),
        s(&["audits/demo.toml"]),
        s(&["audits/lending.toml"]),
        s(&[
            "--data",
            &corpus.display().to_string(),
            "--label",
            "label",
            "--score",
            "score",
            "--protected",
            "g",
            "--skip-invalid",
        ]),
    ]
}

/// `args` with `--data X` removed (a partials audit takes `--partials` instead).
fn without_data(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if a == "--data" {
            skip = true;
        } else {
            out.push(a.as_str());
        }
    }
    out
}

#[test]
fn emitted_partials_give_the_embedded_report() {
    let dir = tempfile::tempdir().unwrap();
    for (i, args) in audits().iter().enumerate() {
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        for ext in ["parquet", "csv"] {
            let table = dir.path().join(format!("p{i}.{ext}"));
            let embedded = dir.path().join(format!("e{i}.json"));
            let (a, code_a) = run(
                &args_ref,
                &[Path::new("--emit-partials"), &table],
                &embedded,
            );
            let from = dir.path().join(format!("f{i}.json"));
            let (b, code_b) = run(
                &without_data(args),
                &[Path::new("--partials"), &table],
                &from,
            );
            assert_eq!(code_a, code_b, "{args:?}");
            let d = differences(&a, &b);
            assert!(d.is_empty(), "{args:?} via {ext}: {d:#?}");
            assert!(a["attributes"][0]["groups"][0]["count"].as_u64().unwrap() > 0);
        }
    }
}

#[test]
fn invalid_rows_in_a_table_need_skip_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("p.csv");
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/mixed_invalid.csv");
    let base = ["--label", "label", "--score", "score", "--protected", "g"];
    fairaudit()
        .args(["run", "--quiet", "--skip-invalid", "--emit-partials"])
        .arg(&table)
        .arg("--data")
        .arg(&corpus)
        .args(base)
        .assert()
        .code(0);
    let out = dir.path().join("r.json");
    fairaudit()
        .args(["run", "--partials"])
        .arg(&table)
        .args(base)
        .arg("--json")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("p.csv: row"))
        .stderr(predicates::str::contains("column 'reason'"))
        .stderr(predicates::str::contains("1 rows as invalid_label"));
    assert!(!out.exists(), "no report on an input error");
}

#[test]
fn a_table_without_the_group_column_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("p.csv");
    // Audit `text` as a partials table by race: an input error naming `expected`.
    let fails = |text: &str, expected: &str| {
        std::fs::write(&table, text).unwrap();
        fairaudit()
            .args(["run", "--quiet", "--label", "y", "--prediction", "d"])
            .args(["--protected", "race", "--partials"])
            .arg(&table)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(expected));
    };
    fails(
        "part,g_sex,rows,sum_w,sum_w2,label,decision\nconfusion,a,1,1.0,1.0,1,1\n",
        "g_race",
    );
    // A decision of 2 names its row and column.
    fails(
        "part,g_race,rows,sum_w,sum_w2,label,decision\nconfusion,a,1,1.0,1.0,1,2\n",
        "row 1, column 'decision'",
    );
}

/// Rows of (label, decision, score in thousandths, weight in sevenths, group).
fn batch(rows: &[(bool, bool, u16, u16, u8)]) -> Batch {
    let levels = vec![Some("a".to_string()), Some("b".into()), None];
    Batch {
        label: rows.iter().map(|r| r.0).collect(),
        prediction: rows.iter().map(|r| r.1).collect(),
        score: Some(
            rows.iter()
                .map(|r| f64::from(r.2 % 1001) / 1000.0)
                .collect(),
        ),
        weight: Some(rows.iter().map(|r| f64::from(r.3 % 50) / 7.0).collect()),
        protected: vec![Categorical {
            levels,
            codes: rows.iter().map(|r| u32::from(r.4 % 3)).collect(),
        }],
        skipped: Default::default(),
        outcomes: None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any aggregate survives the table (written as Parquet and as CSV, read back): counts
    /// exactly, sums to 1e-9, and the score distribution point by point.
    #[test]
    fn any_aggregate_round_trips_through_the_table(
        rows in prop::collection::vec(
            (any::<bool>(), any::<bool>(), any::<u16>(), any::<u16>(), any::<u8>()), 1..200),
        skipped in 0u64..5,
    ) {
        let mut agg = Aggregate {
            table: aggregate_batch(&batch(&rows), AggregateOptions { bins: 7 }),
            rows_read: rows.len() as u64 + skipped,
            skipped: Default::default(),
        };
        if skipped > 0 {
            agg.skipped.insert("invalid_score".into(), skipped);
        }
        let mut spec = fairaudit::spec::AuditSpec::default();
        spec.data.path = Some("p".into());
        spec.data.skip_invalid = Some(true);
        spec.columns.label = Some("y".into());
        spec.columns.score = Some("s".into());
        spec.audit.protected = vec!["g".into()];
        spec.audit.bins = Some(7);
        let audit = spec.check("test").unwrap();
        let dir = tempfile::tempdir().unwrap();
        for name in ["p.parquet", "p.csv"] {
            let path = dir.path().join(name);
            std::fs::write(&path, partials::table_bytes(&agg, &audit.columns, &path).unwrap()).unwrap();
            let table = read::read(&Source::from_path(&path, b','), &audit.columns.protected).unwrap();
            let back = partials::to_aggregate(&table, &audit, &path).unwrap();
            prop_assert_eq!(back.rows_read, agg.rows_read);
            prop_assert_eq!(&back.skipped, &agg.skipped);
            prop_assert_eq!(back.table.cells.len(), agg.table.cells.len());
            for ((k1, a), (k2, b)) in agg.table.cells.iter().zip(&back.table.cells) {
                prop_assert_eq!(k1, k2);
                prop_assert_eq!(a.rows, b.rows);
                prop_assert_eq!(a.counts, b.counts);
                prop_assert_eq!(a.weighted.value(), b.weighted.value());
                prop_assert_eq!(a.weighted_sq.value(), b.weighted_sq.value());
                prop_assert_eq!(a.score.rows, b.score.rows);
                prop_assert!(close(a.score.sum_log_loss.value(), b.score.sum_log_loss.value()));
                let bin_values = |bins: &[fairaudit::aggregate::BinStats]| -> Vec<(u64, [f64; 3])> {
                    bins.iter()
                        .map(|b| (b.rows, [b.weight.value(), b.sum_score.value(), b.sum_label.value()]))
                        .collect()
                };
                prop_assert_eq!(bin_values(&a.score.bins), bin_values(&b.score.bins));
                let (pa, pb) = (a.score.distribution.sorted(), b.score.distribution.sorted());
                prop_assert_eq!(pa.len(), pb.len());
                for (x, y) in pa.iter().zip(&pb) {
                    prop_assert_eq!(x.score.to_bits(), y.score.to_bits());
                    prop_assert_eq!(x.rows, y.rows);
                    prop_assert_eq!(x.positives, y.positives);
                    prop_assert!(close(x.negatives, y.negatives));
                }
            }
        }
        // The columns of the table are the documented ones.
        prop_assert_eq!(
            write::column_names(&audit.columns.protected).len(),
            partials::COLUMNS.len() + 1
        );
    }
}

/// The Python with DuckDB and DataFusion that `scripts/test` installs (`target/pyenv`), or
/// `$FAIRAUDIT_PYTHON`. Missing: the test fails, loudly, naming the command that installs it.
pub fn python() -> PathBuf {
    let python = std::env::var_os("FAIRAUDIT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python")
        });
    assert!(
        python.exists(),
        "{} is missing: the engine tests need Python with duckdb, datafusion and pysail; \
         run scripts/pyenv (scripts/test does) or set FAIRAUDIT_PYTHON",
        python.display()
    );
    python
}

/// Run the partials query of `args` in `engine` (tests/data/partials_engine.py) on `data`,
/// then audit its result; compare with the embedded report.
fn engine_agrees(engine: &str, args: &[String], dialect: &str, key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = {
        let i = args.iter().position(|a| a == "--data");
        match i {
            Some(i) => PathBuf::from(&args[i + 1]),
            None => {
                // The spec's data path, relative to the spec.
                let spec: toml::Value = toml::from_str(
                    &std::fs::read_to_string(
                        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(&args[0]),
                    )
                    .unwrap(),
                )
                .unwrap();
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("audits")
                    .join(spec["data"]["path"].as_str().unwrap())
            }
        }
    };
    let query = dir.path().join("q.sql");
    let rest = without_data(args);
    let sql_args: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|a| !matches!(*a, "--skip-invalid" | "quantile" | "--binning"))
        .collect();
    let o = fairaudit()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["sql", "--dialect", dialect, "--score-key", key])
        .args(&sql_args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(&query, &o.stdout).unwrap();
    let table = dir.path().join("p.parquet");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/partials_engine.py");
    let o = std::process::Command::new(python())
        .arg(script)
        .arg(engine)
        .arg(&data)
        .arg(&query)
        .arg(&table)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{engine} failed on {}:\n{}",
        data.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let (a, code_a) = run(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        &dir.path().join("a.json"),
    );
    let (b, code_b) = run(
        &rest,
        &[Path::new("--partials"), &table],
        &dir.path().join("b.json"),
    );
    assert_eq!(code_a, code_b);
    let d = differences(&a, &b);
    assert!(d.is_empty(), "{engine} on {args:?}: {d:#?}");
}

#[test]
fn duckdb_computes_the_same_partials() {
    for args in audits() {
        engine_agrees("duckdb", &args, "duckdb", "exact");
    }
}

#[test]
fn datafusion_computes_the_same_partials() {
    for args in audits() {
        engine_agrees("datafusion", &args, "datafusion", "exact");
    }
}

#[test]
fn binned_score_keys_keep_counts_exact_and_auc_within_its_bound() {
    // With 65,536 fine bins as the distribution key (`--score-key binned`), the counts, rates,
    // uniform-bin calibration and score sums are unchanged; only the AUC family is binned, and
    // the report says so and bounds its error.
    let dir = tempfile::tempdir().unwrap();
    let args = vec!["audits/demo.toml".to_string()];
    let query = dir.path().join("q.sql");
    let o = fairaudit()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "sql",
            "--dialect",
            "duckdb",
            "--score-key",
            "binned",
            "audits/demo.toml",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(&query, &o.stdout).unwrap();
    let table = dir.path().join("p.parquet");
    let o = std::process::Command::new(python())
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/partials_engine.py"))
        .args(["duckdb"])
        .arg(fixture("demo.csv"))
        .arg(&query)
        .arg(&table)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, _) = run(&["audits/demo.toml"], &[], &dir.path().join("a.json"));
    let (b, _) = run(
        &["audits/demo.toml"],
        &[Path::new("--partials"), &table],
        &dir.path().join("b.json"),
    );
    let _ = args;
    let mut checked = 0;
    for (x, y) in a["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["attributes"].as_array().unwrap())
    {
        for (g, h) in x["groups"]
            .as_array()
            .unwrap()
            .iter()
            .zip(y["groups"].as_array().unwrap())
        {
            assert_eq!(g["counts"], h["counts"]);
            for m in [
                "selection_rate",
                "tpr",
                "fpr",
                "mean_score",
                "brier",
                "log_loss",
                "ece",
            ] {
                let d = differences(&g["metrics"][m], &h["metrics"][m]);
                assert!(d.is_empty(), "{m}: {d:?}");
            }
            assert_eq!(g["calibration"]["auc_method"], "exact");
            assert_eq!(h["calibration"]["auc_method"], "binned");
            let bound = h["calibration"]["auc_error_bound"].as_f64().unwrap();
            let (p, q) = (
                g["metrics"]["auc"]["value"].as_f64().unwrap(),
                h["metrics"]["auc"]["value"].as_f64().unwrap(),
            );
            assert!(
                (p - q).abs() <= bound + TOLERANCE,
                "auc {p} vs {q}, bound {bound}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} groups compared");
}

/// The query of every dialect on the lending audit (weights, four protected columns), as
/// reviewed snapshots: DuckDB and DataFusion run it above; Spark runs it in the `spark`
/// feature's test; Trino and BigQuery are checked here by review.
#[test]
fn the_query_of_every_dialect() {
    for dialect in ["spark", "trino", "bigquery", "duckdb", "datafusion"] {
        let o = fairaudit()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "sql",
                "--dialect",
                dialect,
                "--table",
                "ml.preds",
                "audits/lending.toml",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        insta::assert_snapshot!(
            format!("sql_{dialect}"),
            String::from_utf8(o.stdout).unwrap()
        );
    }
}

/// Without the `spark` feature, `--engine` is a clear usage error (exit 2), and no report is
/// written.
#[cfg(not(feature = "spark"))]
#[test]
fn engine_without_the_spark_feature_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    fairaudit()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "audits/demo.toml",
            "--engine",
            "sc://127.0.0.1:1",
            "--json",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--features spark"));
    assert!(!out.exists());
    // --table only makes sense with --engine.
    fairaudit()
        .args(["run", "audits/demo.toml", "--table", "t"])
        .assert()
        .code(2);
}

/// A stored reference: the partials table DuckDB 2.0 computed for COMPAS from the printed
/// query (the command is in tests/data/partials_engine.py). Needs no Python at test time.
#[test]
fn the_stored_duckdb_table_gives_the_embedded_compas_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared_dir().join("data/compas.parquet");
    let (a, code_a) = run(
        &["audits/compas.toml", "--data", &data.display().to_string()],
        &[],
        &dir.path().join("a.json"),
    );
    let table =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/compas_partials_duckdb.csv");
    let (b, code_b) = run(
        &["audits/compas.toml"],
        &[Path::new("--partials"), &table],
        &dir.path().join("b.json"),
    );
    assert_eq!(code_a, code_b);
    let d = differences(&a, &b);
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(b["input"]["rows"], 6172);
}
