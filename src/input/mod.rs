//! Reading predictions tables: CSV (plain, gzip, stdin) and Parquet, as a stream of [`Batch`]es.
//!
//! The input layer knows columns and values, never metrics. It validates every value it hands
//! on (labels binary, scores finite in [0, 1], weights finite and non-negative) so that
//! everything downstream is infallible. Protected attributes of any type are read as text;
//! a missing value (empty CSV field, Parquet null) is `None` and forms its own group.
//!
//! A reader calls a sink once per batch with the batch's sequence number. Readers may call the
//! sink from several threads (Parquet row groups, or ranges of them, are decoded in parallel);
//! the sink's caller orders results by sequence number, so the outcome never depends on
//! scheduling.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub mod csv;
pub mod parquet;
pub mod values;

/// Rows per batch for readers that choose their own batch size (CSV).
pub const DEFAULT_BATCH_ROWS: usize = 128 * 1024;

/// The physical format of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma (or `--delimiter`) separated text with a header row; `.csv.gz` is gunzipped.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// Where the rows come from.
#[derive(Debug, Clone)]
pub struct Source {
    /// File path; `-` means CSV on standard input.
    pub path: PathBuf,
    /// Physical format.
    pub format: Format,
    /// CSV field delimiter.
    pub delimiter: u8,
}

impl Source {
    /// A source whose format is guessed from the file name: `.parquet`/`.pq` → Parquet, else CSV.
    pub fn from_path(path: impl Into<PathBuf>, delimiter: u8) -> Self {
        let path = path.into();
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("parquet") || ext.eq_ignore_ascii_case("pq") => {
                Format::Parquet
            }
            _ => Format::Csv,
        };
        Source {
            path,
            format,
            delimiter,
        }
    }

    /// True when reading standard input.
    pub fn is_stdin(&self) -> bool {
        self.path == Path::new("-")
    }
}

/// What to do with a row whose label, prediction, score or weight is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvalidRows {
    /// Stop with an input error naming file, row and column (exit 2).
    #[default]
    Error,
    /// Skip the row and count it under its reason in every report.
    Skip,
}

/// What the label and prediction columns hold (issue 11).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// 0/1 (or `positive_label`) labels and decisions: the confusion-matrix audit.
    #[default]
    Binary,
    /// K classes, read as text (any column type); a missing value is invalid.
    Multiclass,
    /// Finite numbers; a missing value is invalid.
    Regression,
}

impl Task {
    /// True for [`Task::Binary`] (the report leaves the task out then, so binary reports are
    /// unchanged).
    pub fn is_binary(&self) -> bool {
        *self == Task::Binary
    }
}

/// Which columns to read and how to interpret them.
#[derive(Debug, Clone)]
pub struct Columns {
    /// True outcome column.
    pub label: String,
    /// Model probability column, values in [0, 1].
    pub score: Option<String>,
    /// Model decision column; when absent the decision is `score >= threshold`.
    pub prediction: Option<String>,
    /// Non-negative sample weight column.
    pub weight: Option<String>,
    /// Protected-attribute columns, in the order batches carry them.
    pub protected: Vec<String>,
    /// Label/prediction value meaning "positive"; without it values must be 0/1 or true/false.
    pub positive_label: Option<String>,
    /// Decision threshold used when there is no prediction column.
    pub threshold: f64,
    /// Policy for invalid rows.
    pub invalid_rows: InvalidRows,
    /// What the label and prediction columns hold.
    pub task: Task,
    /// Multiclass only: the classes that count as positive. When non-empty, the reader
    /// collapses classes to binary labels and decisions (class ∈ favorable), so the audit is
    /// the binary audit of the collapsed columns.
    pub favorable: Vec<String>,
    /// Multiclass only: (class, score column) pairs, ordered by class; each score in [0, 1]
    /// is the model's probability of that class (one-vs-rest AUC per class).
    pub class_scores: Vec<(String, String)>,
}

impl Columns {
    /// True when rows carry a binary score: the score column, or (a multiclass audit
    /// collapsed by `favorable`) the sum of the favorable classes' score columns.
    pub fn has_score(&self) -> bool {
        self.score.is_some() || self.sums_class_scores()
    }

    /// True when the binary score is the sum of the favorable classes' score columns
    /// (`favorable` with `class_scores`; the spec keeps only the favorable classes' columns).
    pub fn sums_class_scores(&self) -> bool {
        !self.favorable.is_empty() && !self.class_scores.is_empty()
    }
}

/// Non-binary labels and predictions of a batch's kept rows (issue 11).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcomes {
    /// Multiclass: class of label and prediction, as dictionaries of the batch.
    Classes {
        /// True class per row (no missing level is ever used).
        label: Categorical,
        /// Predicted class per row.
        prediction: Categorical,
        /// One score per row for each of [`Columns::class_scores`], in that order.
        scores: Vec<Vec<f64>>,
    },
    /// Regression: finite numbers.
    Values {
        /// True value per row.
        label: Vec<f64>,
        /// Predicted value per row.
        prediction: Vec<f64>,
    },
}

/// A protected attribute's values in one batch: a small dictionary and one code per row.
///
/// Readers keep strings as dictionary entries, never one string per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Categorical {
    /// Distinct values of this batch; `None` is a missing value.
    pub levels: Vec<Option<String>>,
    /// Index into `levels`, one per row of the batch.
    pub codes: Vec<u32>,
}

/// A block of validated rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// True outcome per row.
    pub label: Vec<bool>,
    /// Model decision per row (already thresholded when it came from the score).
    pub prediction: Vec<bool>,
    /// Model score per row, when a score column was given.
    pub score: Option<Vec<f64>>,
    /// Sample weight per row, when a weight column was given.
    pub weight: Option<Vec<f64>>,
    /// One categorical per protected column, in [`Columns::protected`] order.
    pub protected: Vec<Categorical>,
    /// Rows skipped under [`InvalidRows::Skip`], counted per reason.
    pub skipped: BTreeMap<String, u64>,
    /// Multiclass or regression outcomes (then `label` and `prediction` hold `false`, one per
    /// row, so that [`Batch::len`] still counts rows).
    pub outcomes: Option<Outcomes>,
}

impl Batch {
    /// Number of (kept) rows.
    pub fn len(&self) -> usize {
        self.label.len()
    }

    /// True when the batch holds no kept rows.
    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }
}

/// Receives batches; called with a sequence number ([`batch_seq`]) that orders batches as in
/// the file.
pub type Sink<'a> = dyn Fn(u64, Batch) -> Result<()> + Sync + 'a;

/// Where the rows of one batch are in the file: the 1-based data row number of its first row
/// read (kept or skipped) and the offsets, within the batch, of the rows skipped under
/// [`InvalidRows::Skip`] (ascending). The readers know both; [`read_positioned`] hands them
/// on, so a consumer can key a row by its data row number whatever the batch layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowNumbers {
    /// 1-based data row number of the batch's first row read.
    pub first: u64,
    /// Offsets (from `first`) of the rows read but skipped, ascending.
    pub skipped: Vec<u32>,
}

impl RowNumbers {
    /// The 1-based data row number of each of the `kept` rows of the batch, in order.
    pub fn kept(&self, kept: usize) -> Vec<u64> {
        let mut out = Vec::with_capacity(kept);
        let mut skipped = self.skipped.iter().peekable();
        let mut offset = 0u64;
        while out.len() < kept {
            if skipped.next_if(|&&s| u64::from(s) == offset).is_none() {
                out.push(self.first + offset);
            }
            offset += 1;
        }
        out
    }
}

/// Receives batches with their [`RowNumbers`]; see [`Sink`].
pub type PositionedSink<'a> = dyn Fn(u64, Batch, RowNumbers) -> Result<()> + Sync + 'a;

/// [`read_streams`] with batches of at most `batch_rows` rows read (0 is treated as 1),
/// handing each batch's [`RowNumbers`] on as well.
pub fn read_positioned(
    source: &Source,
    columns: &Columns,
    batch_rows: usize,
    sink: &PositionedSink<'_>,
    end: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    match source.format {
        Format::Csv => csv::read_positioned(source, columns, batch_rows, sink),
        Format::Parquet => parquet::read_positioned(source, columns, batch_rows, sink, end),
    }
}

/// The sequence number of batch `index` of `stream`.
///
/// A *stream* is a run of batches that one thread reads in order (all of a CSV file; one Parquet
/// row group, or one range of a row group's rows). Readers number streams and the batches within each from 0 without gaps, and
/// deliver a stream's batches in index order.
pub fn batch_seq(stream: u64, index: u64) -> u64 {
    (stream << 32) | index
}

/// The inverse of [`batch_seq`].
pub fn split_batch_seq(seq: u64) -> (u64, u64) {
    (seq >> 32, seq & 0xFFFF_FFFF)
}

/// Read every row of `source`, handing validated batches to `sink`.
///
/// Returns the number of data rows read (kept and skipped). Errors name the file, the 1-based
/// data row and the column; when several rows are bad, the earliest is reported.
pub fn read(source: &Source, columns: &Columns, sink: &Sink<'_>) -> Result<u64> {
    read_streams(source, columns, sink, &|_| {})
}

/// [`read`], also calling `end(stream)` once a stream's last batch has been handed to `sink`
/// (Parquet; a CSV file is one stream, which ends when `read` returns). A consumer can then
/// release what it holds per stream early, so memory does not grow with the streams.
pub fn read_streams(
    source: &Source,
    columns: &Columns,
    sink: &Sink<'_>,
    end: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    match source.format {
        Format::Csv => csv::read(source, columns, DEFAULT_BATCH_ROWS, sink),
        Format::Parquet => parquet::read_streams(source, columns, sink, end),
    }
}

/// A few rows of every column as text (`None` = empty or null), for inspecting a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// (column name, values) in file order.
    pub columns: Vec<(String, Vec<Option<String>>)>,
}

/// Read the column names and up to `rows` rows of `source` as text.
pub fn sample(source: &Source, rows: usize) -> Result<Sample> {
    match source.format {
        Format::Csv => csv::sample(source, rows),
        Format::Parquet => parquet::sample(source, rows),
    }
}

/// The error for a column that the file does not have: lists the columns it has and the closest.
pub fn missing_column(path: &Path, wanted: &str, available: &[String]) -> Error {
    let closest = available
        .iter()
        .map(|c| (edit_distance(&c.to_lowercase(), &wanted.to_lowercase()), c))
        .min()
        .filter(|(d, _)| *d <= wanted.len().max(3) / 2 + 1)
        .map(|(_, c)| format!(" (did you mean '{c}'?)"))
        .unwrap_or_default();
    Error::Schema {
        path: path.to_path_buf(),
        msg: format!(
            "no column named '{wanted}'{closest}; the file has: {}",
            available.join(", ")
        ),
    }
}

/// Levenshtein distance, for suggesting the closest column name.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Helpers shared by the readers' unit tests.
#[cfg(test)]
pub(crate) mod test_util {
    use std::sync::Mutex;

    use super::{Batch, Columns, InvalidRows, Sink};
    use crate::error::Result;

    /// Columns with a label, a score, a prediction and the given protected columns.
    pub(crate) fn columns(protected: &[&str]) -> Columns {
        Columns {
            label: "label".into(),
            score: Some("score".into()),
            prediction: Some("prediction".into()),
            weight: None,
            protected: protected.iter().map(|s| s.to_string()).collect(),
            positive_label: None,
            threshold: 0.5,
            invalid_rows: InvalidRows::Error,
            task: super::Task::Binary,
            favorable: Vec::new(),
            class_scores: Vec::new(),
        }
    }

    /// Run `read` with a sink that keeps every batch; returns the (sequence number, batch)
    /// pairs in sequence order and the row count `read` returned.
    pub(crate) fn collect(
        read: impl FnOnce(&Sink<'_>) -> Result<u64>,
    ) -> Result<(Vec<(u64, Batch)>, u64)> {
        let out = Mutex::new(Vec::new());
        let sink = |seq: u64, batch: Batch| -> Result<()> {
            out.lock().expect("lock").push((seq, batch));
            Ok(())
        };
        let rows = read(&sink)?;
        let mut batches = out.into_inner().expect("lock");
        batches.sort_by_key(|(seq, _)| *seq);
        Ok((batches, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_numbers_step_over_skipped_rows() {
        let numbers = RowNumbers {
            first: 11,
            skipped: vec![0, 2, 3],
        };
        // Rows 11, 13 and 14 skipped.
        assert_eq!(numbers.kept(3), [12, 15, 16]);
        assert_eq!(
            RowNumbers {
                first: 1,
                skipped: vec![]
            }
            .kept(2),
            [1, 2]
        );
    }

    #[test]
    fn format_is_guessed_from_extension() {
        assert_eq!(Source::from_path("a.parquet", b',').format, Format::Parquet);
        assert_eq!(Source::from_path("a.csv.gz", b',').format, Format::Csv);
        assert_eq!(Source::from_path("-", b',').format, Format::Csv);
    }

    #[test]
    fn missing_column_suggests_closest() {
        let cols = vec!["label".to_string(), "score".to_string(), "race".to_string()];
        let msg = missing_column(Path::new("x.csv"), "lable", &cols).to_string();
        assert!(msg.contains("did you mean 'label'"), "{msg}");
        assert!(msg.contains("label, score, race"), "{msg}");
        let msg = missing_column(Path::new("x.csv"), "zzzzzz", &cols).to_string();
        assert!(!msg.contains("did you mean"), "{msg}");
    }
}
