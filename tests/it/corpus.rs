//! The bad-input corpus (issue 9): every awkward file real pipelines produce, each with its
//! expected outcome.
//!
//! Small text cases live in `tests/corpus/`; large, binary and Parquet cases are generated
//! here. Every case runs `fairaudit run` with a JSON and a Markdown output into a temp dir
//! where a previous `r.json` already exists, and asserts:
//! - the exit code (0/1 for valid-but-awkward input, 2 for errors);
//! - the message (file, 1-based row and column where they apply), on one line;
//! - no panic and no stack trace on stderr;
//! - on error: the previous `r.json` untouched, no `r.md` created, no temp file left behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int8Array, LargeStringArray,
    RecordBatch, StringArray,
};
use arrow_schema::{Field, Schema};
use serde_json::Value as Json;

use crate::util::fairaudit;

/// The report that exists before each run.
const PREVIOUS: &str = "{\"previous\": true}\n";

/// A file of `tests/corpus/`.
fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

/// What a run did.
struct Run {
    code: i32,
    stderr: String,
    /// The JSON report, when one was written.
    report: Option<Json>,
    markdown: Option<String>,
}

/// Run an audit of `data` with `--label label --score score --protected g` (unless `args`
/// replaces them) into a fresh output dir, and check the invariants every case shares.
fn run(data: &Path, args: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("r.json");
    let md = out.path().join("r.md");
    std::fs::write(&json, PREVIOUS).unwrap();
    let mut cmd = fairaudit();
    cmd.arg("run").arg("--data").arg(data);
    let has = |flag: &str| args.contains(&flag);
    if !has("--label") {
        cmd.args(["--label", "label"]);
    }
    if !has("--score") && !has("--prediction") {
        cmd.args(["--score", "score"]);
    }
    if !has("--protected") {
        cmd.args(["--protected", "g"]);
    }
    let output = cmd
        .args(["--min-group-size", "0", "--quiet", "--json"])
        .arg(&json)
        .arg("--markdown")
        .arg(&md)
        .args(args)
        .output()
        .unwrap();
    let code = output.status.code().expect("exited, not killed");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{}: panic: {stderr}",
        data.display()
    );
    let names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    if code == 2 {
        assert_eq!(
            std::fs::read_to_string(&json).unwrap(),
            PREVIOUS,
            "{}: the previous report was modified",
            data.display()
        );
        assert_eq!(names, ["r.json"], "{}: files left behind", data.display());
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{}: the error is one line: {stderr}",
            data.display()
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
        return Run {
            code,
            stderr,
            report: None,
            markdown: None,
        };
    }
    let mut sorted = names;
    sorted.sort();
    assert_eq!(sorted, ["r.json", "r.md"], "{}", data.display());
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    Run {
        code,
        stderr,
        report: Some(report),
        markdown: Some(std::fs::read_to_string(&md).unwrap()),
    }
}

/// Assert an error (exit 2) whose message names the file and contains every fragment.
fn fails(data: &Path, args: &[&str], fragments: &[&str]) {
    let r = run(data, args);
    assert_eq!(r.code, 2, "{}: {}", data.display(), r.stderr);
    let file = data.display().to_string();
    assert!(
        r.stderr.contains(&format!("error: {file}: ")),
        "the message names the file: {}",
        r.stderr
    );
    for f in fragments {
        assert!(r.stderr.contains(f), "expected {f:?} in: {}", r.stderr);
    }
}

/// Assert a report (exit 0) and return it.
fn passes(data: &Path, args: &[&str]) -> Run {
    let r = run(data, args);
    assert_eq!(r.code, 0, "{}: {}", data.display(), r.stderr);
    r
}

/// The group values of the first attribute.
fn groups(report: &Json) -> Vec<String> {
    report["attributes"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["value"].as_str().unwrap().to_string())
        .collect()
}

// ---- malformed CSV -------------------------------------------------------------------------

#[test]
fn unbalanced_quote_is_an_error_not_a_lost_row() {
    fails(
        &corpus("unbalanced_quote.csv"),
        &[],
        &["row 2 (line 3): malformed CSV", "never closed"],
    );
}

#[test]
fn ragged_rows_name_row_and_line() {
    fails(
        &corpus("ragged_short.csv"),
        &[],
        &["row 2 (line 3): 2 fields, but the header has 3"],
    );
    fails(
        &corpus("ragged_long.csv"),
        &[],
        &["row 3 (line 4): 4 fields, but the header has 3"],
    );
    // A ragged row is never skipped: the columns of the file can no longer be trusted.
    fails(
        &corpus("ragged_short.csv"),
        &["--skip-invalid"],
        &["row 2 (line 3): 2 fields"],
    );
}

#[test]
fn embedded_newlines_bom_and_crlf_are_read() {
    let r = passes(&corpus("embedded_newline.csv"), &[]);
    let report = r.report.unwrap();
    assert_eq!(report["input"]["rows"], 4);
    assert_eq!(groups(&report), ["a\nb", "c"]);
    for name in ["bom.csv", "crlf.csv"] {
        let report = passes(&corpus(name), &[]).report.unwrap();
        assert_eq!(report["input"]["rows"], 4, "{name}");
        // No BOM glued to "label", no '\r' in the last column.
        assert_eq!(groups(&report), ["a", "b"], "{name}");
    }
}

#[test]
fn other_delimiters() {
    let report = passes(&corpus("semicolon.csv"), &["--delimiter", ";"])
        .report
        .unwrap();
    assert_eq!(groups(&report), ["a", "b"]);
    let report = passes(&corpus("tab.tsv"), &["--delimiter", "tab"])
        .report
        .unwrap();
    assert_eq!(groups(&report), ["a", "b"]);
    // Without the flag, the error says which delimiter the header seems to use.
    fails(
        &corpus("semicolon.csv"),
        &[],
        &[
            "no column named 'label'",
            "the file has: label;score;g",
            "is the delimiter ';'?",
        ],
    );
}

#[test]
fn non_utf8_bytes_name_row_and_column() {
    fails(
        &corpus("non_utf8_group.csv"),
        &[],
        &["row 2, column 'g': value is not valid UTF-8"],
    );
    fails(
        &corpus("non_utf8_score.csv"),
        &[],
        &["row 1, column 'score': value is not valid UTF-8"],
    );
}

#[test]
fn empty_file_and_header_only_are_errors() {
    fails(&corpus("empty.csv"), &[], &["empty file (no header row)"]);
    // An audit of no rows would pass every gate while measuring nothing.
    fails(&corpus("header_only.csv"), &[], &["no data rows"]);
}

#[test]
fn duplicate_and_missing_columns() {
    fails(
        &corpus("duplicate_column.csv"),
        &[],
        &["column 'g' appears 2 times in the header"],
    );
    passes(&corpus("duplicate_unused_column.csv"), &[]);
    fails(
        &corpus("missing_column.csv"),
        &[],
        &[
            "no column named 'score'",
            "did you mean 'scroe'?",
            "the file has: label, scroe, g",
        ],
    );
}

// ---- invalid values ------------------------------------------------------------------------

#[test]
fn invalid_scores_name_row_and_column() {
    for (name, fragment) in [
        (
            "wrong_type_score.csv",
            "row 2, column 'score': 'abc' is not a number",
        ),
        ("nan_score.csv", "row 1, column 'score': score is NaN"),
        (
            "inf_score.csv",
            "row 3, column 'score': score inf is outside [0, 1]",
        ),
        (
            "negative_score.csv",
            "row 2, column 'score': score -0.2 is outside [0, 1]",
        ),
        (
            "score_above_one.csv",
            "row 2, column 'score': score 1.5 is outside [0, 1]",
        ),
    ] {
        fails(&corpus(name), &[], &[fragment]);
    }
}

#[test]
fn invalid_labels_name_row_and_column() {
    fails(
        &corpus("non_binary_label.csv"),
        &[],
        &["row 3, column 'label': '2' is not binary"],
    );
    fails(
        &corpus("empty_label.csv"),
        &[],
        &["row 2, column 'label': missing value"],
    );
    // With a positive label, any other non-empty value is negative: valid.
    passes(&corpus("non_binary_label.csv"), &["--positive-label", "1"]);
}

#[test]
fn weights() {
    let r = passes(&corpus("zero_weights.csv"), &["--weight", "w"]);
    let report = r.report.unwrap();
    // All-zero weights: every rate is undefined (null with a reason), never 0 or NaN.
    let sel = &report["overall"]["metrics"]["selection_rate"];
    assert!(sel["value"].is_null(), "{sel}");
    assert!(sel["reason"].as_str().unwrap().contains("zero"), "{sel}");
    assert_eq!(report["overall"]["count"], 4);
    fails(
        &corpus("negative_weight.csv"),
        &["--weight", "w"],
        &["row 2, column 'w': weight -1 is not a finite non-negative number"],
    );
}

// ---- awkward but valid ---------------------------------------------------------------------

#[test]
fn empty_protected_values_form_the_missing_group() {
    let report = passes(&corpus("empty_protected.csv"), &[]).report.unwrap();
    assert_eq!(groups(&report), ["(missing)", "a"]);
}

#[test]
fn a_single_group_has_no_disparities_but_a_report() {
    let r = run(
        &corpus("single_group.csv"),
        &["--policy", "demographic_parity_ratio >= 0.8"],
    );
    let report = r.report.unwrap();
    assert_eq!(groups(&report), ["a"]);
    assert_eq!(report["attributes"][0]["reference"], "a");
    // One group: the ratio is 1 by definition (min/max of one value).
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
}

#[test]
fn a_group_with_one_class_has_null_rates_with_reasons() {
    let report = passes(&corpus("one_class_group.csv"), &[]).report.unwrap();
    let b = &report["attributes"][0]["groups"][1];
    assert_eq!(b["value"], "b");
    // Group b has positives only: FPR and AUC are undefined.
    for key in ["fpr", "auc"] {
        let m = &b["metrics"][key];
        assert!(m["value"].is_null(), "{key}: {m}");
        assert!(m["reason"].is_string(), "{key}: {m}");
    }
    assert!(b["metrics"]["tpr"]["value"].is_number());
}

// ---- --skip-invalid --------------------------------------------------------------------------

#[test]
fn skip_invalid_counts_every_skipped_row_in_every_report() {
    let r = passes(&corpus("mixed_invalid.csv"), &["--skip-invalid"]);
    let report = r.report.unwrap();
    assert_eq!(report["input"]["rows"], 6);
    assert_eq!(report["input"]["rows_used"], 3);
    assert_eq!(report["input"]["skipped"]["invalid_label"], 1);
    assert_eq!(report["input"]["skipped"]["invalid_score"], 2);
    let md = r.markdown.unwrap();
    assert!(
        md.contains(r"3 skipped (invalid\_label 1, invalid\_score 2)"),
        "{md}"
    );
    // Without the flag the first invalid row stops the audit.
    fails(
        &corpus("mixed_invalid.csv"),
        &[],
        &["row 2, column 'label'"],
    );
    // Nothing left: an error, not an empty report.
    fails(
        &corpus("all_invalid.csv"),
        &["--skip-invalid"],
        &["no valid rows: all 2 data rows were skipped (invalid_label: 1, invalid_score: 1)"],
    );
}

#[test]
fn skipped_rows_show_in_the_terminal_summary() {
    let out = fairaudit()
        .arg("run")
        .arg("--data")
        .arg(corpus("mixed_invalid.csv"))
        .args(["--label", "label", "--score", "score", "--protected", "g"])
        .arg("--skip-invalid")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("invalid rows: 3 skipped (invalid_label 1, invalid_score 2)"),
        "{stdout}"
    );
}

// ---- generated: many groups ----------------------------------------------------------------

/// A CSV of `rows` rows whose column `id` has `distinct` values.
fn many_groups(dir: &Path, rows: usize, distinct: usize) -> PathBuf {
    use std::io::Write;
    let path = dir.join(format!("ids-{rows}-{distinct}.csv"));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "label,score,id").unwrap();
    for i in 0..rows {
        writeln!(w, "{},0.{},u{}", i % 2, i % 10, i % distinct).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn an_identifier_as_protected_column_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // One million distinct values: stops at the first batch, long before memory matters.
    let data = many_groups(dir.path(), 1_000_000, 1_000_000);
    fails(
        &data,
        &["--protected", "id"],
        &[
            "the protected columns (id) form more than 10000 groups",
            "column 'id' alone has",
            "--max-groups",
        ],
    );
    // Fewer distinct values per batch than the limit, but more in all.
    let data = many_groups(dir.path(), 150_000, 150_000);
    fails(
        &data,
        &["--protected", "id", "--max-groups", "100000"],
        &["more than 100000 groups"],
    );
    // The override.
    let data = many_groups(dir.path(), 24_000, 12_000);
    let report = passes(&data, &["--protected", "id", "--max-groups", "12000"])
        .report
        .unwrap();
    assert_eq!(
        report["attributes"][0]["groups"].as_array().unwrap().len(),
        12_000
    );
}

// ---- generated: Parquet --------------------------------------------------------------------

/// Write `columns` as a Parquet file with row groups of `group_rows` rows.
pub fn parquet(path: &Path, columns: Vec<(&str, ArrayRef, bool)>, group_rows: usize) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array, nullable)| Field::new(*name, array.data_type().clone(), *nullable))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch =
        RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect()).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// A valid Parquet file of `n` rows in four row groups: int8 label, f64 score, string group.
fn plain_parquet(path: &Path, n: usize) {
    let label: ArrayRef = Arc::new(Int8Array::from_iter_values((0..n).map(|i| (i % 2) as i8)));
    let score: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| (i % 100) as f64 / 100.0),
    ));
    let g: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| ["a", "b", "c"][i % 3]),
    ));
    parquet(
        path,
        vec![
            ("label", label, false),
            ("score", score, false),
            ("g", g, false),
        ],
        n / 4,
    );
}

#[test]
fn truncated_and_corrupt_parquet_are_errors_without_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    plain_parquet(&good, 4000);
    passes(&good, &[]);
    let bytes = std::fs::read(&good).unwrap();
    // Truncated: the footer is gone.
    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    fails(&truncated, &[], &["not a readable Parquet file"]);
    // Not Parquet at all, and empty.
    let garbage = dir.path().join("garbage.parquet");
    std::fs::write(&garbage, b"label,score,g\n1,0.5,a\n").unwrap();
    fails(&garbage, &[], &["not a readable Parquet file"]);
    let empty = dir.path().join("empty.parquet");
    std::fs::write(&empty, b"").unwrap();
    fails(&empty, &[], &["not a readable Parquet file"]);
    // Corrupt data pages with an intact footer: whatever the damage, an error or a report,
    // never a panic (checked by `run`).
    for (k, offset) in [8usize, bytes.len() / 5, bytes.len() / 3, bytes.len() / 2]
        .into_iter()
        .enumerate()
    {
        let mut damaged = bytes.clone();
        for b in &mut damaged[offset..(offset + 64).min(bytes.len() - 8)] {
            *b ^= 0x5A;
        }
        let path = dir.path().join(format!("corrupt-{k}.parquet"));
        std::fs::write(&path, &damaged).unwrap();
        let r = run(&path, &[]);
        assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    }
}

#[test]
fn parquet_with_unexpected_logical_types() {
    let dir = tempfile::tempdir().unwrap();
    let n = 8;
    // int8 labels, float32 scores, a dictionary-encoded group, a large-string group, and
    // nullable columns with nulls in the groups.
    let label: ArrayRef = Arc::new(Int8Array::from_iter_values((0..n).map(|i| (i % 2) as i8)));
    let score: ArrayRef = Arc::new(Float32Array::from_iter_values(
        (0..n).map(|i| i as f32 / 8.0),
    ));
    let dict: DictionaryArray<arrow_array::types::Int32Type> = vec![
        Some("x"),
        Some("y"),
        None,
        Some("x"),
        Some("y"),
        Some("x"),
        None,
        Some("y"),
    ]
    .into_iter()
    .collect();
    let large: ArrayRef = Arc::new(LargeStringArray::from(vec![
        Some("p"),
        None,
        Some("q"),
        Some("p"),
        Some("q"),
        Some("p"),
        Some("q"),
        Some("p"),
    ]));
    let path = dir.path().join("types.parquet");
    parquet(
        &path,
        vec![
            ("label", label.clone(), true),
            ("score", score, true),
            ("g", Arc::new(dict), true),
            ("h", large, true),
        ],
        n,
    );
    let report = passes(&path, &["--protected", "g,h"]).report.unwrap();
    assert_eq!(report["input"]["rows"], 8);
    assert_eq!(groups(&report), ["(missing)", "x", "y"]);
    let h: Vec<&str> = report["attributes"][1]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["value"].as_str().unwrap())
        .collect();
    assert_eq!(h, ["(missing)", "p", "q"]);
    // float32 scores are widened exactly: 1/8 steps are representable.
    let mean = report["overall"]["metrics"]["mean_score"]["value"]
        .as_f64()
        .unwrap();
    assert_eq!(mean, (0..8).map(|i| i as f64 / 8.0).sum::<f64>() / 8.0);

    // A null score is a missing value: an error naming row and column.
    let score: ArrayRef = Arc::new(Float32Array::from(vec![
        Some(0.5),
        Some(0.25),
        None,
        Some(0.5),
        Some(0.5),
        Some(0.5),
        Some(0.5),
        Some(0.5),
    ]));
    let g: ArrayRef = Arc::new(StringArray::from_iter_values((0..n).map(|_| "a")));
    let path = dir.path().join("null-score.parquet");
    parquet(
        &path,
        vec![
            ("label", label.clone(), false),
            ("score", score, true),
            ("g", g.clone(), false),
        ],
        n,
    );
    fails(&path, &[], &["row 3, column 'score'"]);
    // An int8 label that is not binary.
    let bad_label: ArrayRef = Arc::new(Int8Array::from(vec![0, 1, 0, 1, 3, 0, 1, 0]));
    let score: ArrayRef = Arc::new(Float64Array::from(vec![0.5; 8]));
    let path = dir.path().join("bad-label.parquet");
    parquet(
        &path,
        vec![
            ("label", bad_label, false),
            ("score", score, false),
            ("g", g, false),
        ],
        n,
    );
    fails(&path, &[], &["row 5, column 'label': 3 is not binary"]);
    // A column of a type that cannot be a score.
    let path = dir.path().join("wrong-type.parquet");
    let score: ArrayRef = Arc::new(arrow_array::BooleanArray::from(vec![true; 8]));
    let g: ArrayRef = Arc::new(StringArray::from_iter_values((0..n).map(|_| "a")));
    parquet(
        &path,
        vec![
            ("label", label, false),
            ("score", score, false),
            ("g", g, false),
        ],
        n,
    );
    fails(&path, &[], &["score"]);
}

/// Convert a generated CSV (no quoting; columns label, score, w, g, h; empty g = null) to
/// Parquet with row groups of `group_rows` rows, for tests that need several row groups.
pub fn csv_to_parquet(csv: &Path, parquet_path: &Path, group_rows: usize) {
    let text = std::fs::read_to_string(csv).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let num = |i: usize| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r[i].parse::<f64>().unwrap()),
        ))
    };
    let label: ArrayRef = Arc::new(Int8Array::from_iter_values(
        rows.iter().map(|r| r[0].parse::<i8>().unwrap()),
    ));
    let g: ArrayRef = Arc::new(StringArray::from(
        rows.iter()
            .map(|r| (!r[3].is_empty()).then_some(r[3]))
            .collect::<Vec<_>>(),
    ));
    let h: ArrayRef = Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r[4])));
    parquet(
        parquet_path,
        vec![
            ("label", label, false),
            ("score", num(1), false),
            ("w", num(2), false),
            ("g", g, true),
            ("h", h, false),
        ],
        group_rows,
    );
}

#[test]
fn a_truncated_gzip_names_the_row_it_reached() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("label,score,g\n");
    for i in 0..50_000 {
        text.push_str(&format!("{},0.{},{}\n", i % 2, i % 89, ["a", "b"][i % 2]));
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let path = dir.path().join("cut.csv.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    fails(&path, &[], &["cannot decode input at row"]);
}

#[test]
fn stdin_errors_name_the_stdin_path() {
    let out = fairaudit()
        .args(["run", "--data", "-", "--label", "label", "--score", "score"])
        .args(["--protected", "g", "--quiet"])
        .write_stdin("label,score,g\n1,0.5,a\n0,0.5,\"b\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: -: row 2 (line 3): malformed CSV"),
        "{stderr}"
    );
}

#[test]
fn skipped_rows_show_in_the_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    fairaudit()
        .arg("run")
        .arg("--data")
        .arg(corpus("mixed_invalid.csv"))
        .args(["--label", "label", "--score", "score", "--protected", "g"])
        .args(["--skip-invalid", "--quiet", "--html"])
        .arg(&html)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains("3 skipped (invalid_label 1, invalid_score 2)"),
        "the HTML report counts skipped rows per reason"
    );
}
