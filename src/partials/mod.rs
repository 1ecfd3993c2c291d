//! The partials table: per-cell partial aggregates, the contract between engines (issue 8).
//!
//! The embedded engine ([`crate::aggregate`]) reduces the rows to sufficient statistics per
//! *cell* (one combination of values of every protected column). Any engine that can run a
//! `GROUP BY` can compute the same statistics: `fairaudit sql` prints the query
//! ([`sql::partials_query`]), `fairaudit run --emit-partials FILE` writes the embedded engine's
//! table, and `fairaudit run --partials FILE` audits from such a table. The metric layer only
//! ever sees the statistics, so the report is the same whichever engine aggregated the rows
//! (counts exactly, sums up to the order of floating-point additions).
//!
//! # Schema (one table, Parquet or CSV)
//!
//! Every row has a `part`, which says which statistic it carries and which key columns are set.
//! The other key columns are null (empty in CSV). w is the row's weight (1 without a weight
//! column), y its label (0/1), d its decision (0/1), s its score.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `part` | string | `confusion`, `cell`, `bin`, `score`, `score_binned` or `invalid` |
//! | `g_<name>` | string | value of protected column `<name>` (one column per protected column); null = missing value, the group `(missing)` |
//! | `reason` | string | `invalid` rows: `invalid_label`, `invalid_prediction`, `invalid_score` or `invalid_weight` |
//! | `label` | integer | `confusion` rows: y |
//! | `decision` | integer | `confusion` rows: d |
//! | `bin` | integer | `bin` rows: the equal-width calibration bin b(s) ∈ [0, B) (right-closed, `numpy.linspace` edges; [`crate::aggregate::bin_index`]) |
//! | `score` | float | `score` rows: the exact score s; `score_binned` rows: the midpoint (k + ½)/65536 of fine bin k = min(⌊s·65536⌋, 65535) |
//! | `rows` | integer | COUNT(*) |
//! | `sum_w` | float | Σw |
//! | `sum_w2` | float | `confusion` rows: Σw² |
//! | `sum_wy` | float | `cell`, `bin`, `score*` rows: Σw·y |
//! | `sum_ws` | float | `cell`, `bin` rows: Σw·s |
//! | `sum_wse` | float | `cell` rows: Σw·(s − y)² |
//! | `sum_wll` | float | `cell` rows: Σw·(−y·ln p − (1−y)·ln(1−p)), p = s clipped to [ε, 1−ε], ε = 2⁻⁵² |
//! | `rows_y` | integer | `score*` rows: rows with y = 1 (optional: the per-label row counts of the distribution) |
//!
//! Keys per part (every part but `invalid` is also keyed by the `g_*` columns):
//! - `confusion` (y, d): rows, Σw, Σw² — the confusion counts, weighted and unweighted;
//! - `cell` (): rows, Σw, Σw·y, Σw·s, Σw·(s−y)², Σw·log loss — rows with a score;
//! - `bin` (b): rows, Σw, Σw·y, Σw·s — the reliability table of `--bins B` bins;
//! - `score` (s) or `score_binned` (fine bin midpoint): rows, Σw, Σw·y — the weights of
//!   positives (Σw·y) and negatives (Σw − Σw·y) per score, for AUC, ROC, quantile bins and the
//!   recalibration fits. A cell with `score_binned` rows uses the binned AUC, whose error bound
//!   the report states (`calibration.auc_method`);
//! - `invalid` (reason): rows with a null or out-of-range label, prediction, score or weight,
//!   counted per reason (the first invalid column in that order), never dropped silently.
//!
//! Without a score column there are no `cell`, `bin` and `score` rows. The threshold (when the
//! decision comes from the score), the positive label and B are baked into the table: audit it
//! with the same options that produced it. A `bin` ≥ B is an error, and so is a bin whose mean
//! score lies outside its edges under the audit's B (a table made with other bins).

mod convert;
pub mod read;
#[cfg(feature = "spark")]
pub mod spark;
pub mod sql;
pub mod write;

pub use convert::{for_each_row, from_aggregate, to_aggregate, Builder};

use crate::aggregate::CellKey;

/// Prefix of the group-key columns: protected column `race` is `g_race`.
pub const GROUP_PREFIX: &str = "g_";

/// Number of fine bins of the `score_binned` key (the embedded engine's
/// [`crate::aggregate::FINE_BINS`]).
pub const FINE_BINS: u64 = crate::aggregate::FINE_BINS;

/// Which statistic a partials row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// Confusion counts per (label, decision).
    Confusion,
    /// Score sums of a whole cell.
    Cell,
    /// Sums of one calibration bin.
    Bin,
    /// Weights per exact score.
    Score,
    /// Weights per fine score bin.
    ScoreBinned,
    /// Rows with an invalid value, per reason.
    Invalid,
}

impl Part {
    /// Every part, in table order.
    pub const ALL: [Part; 6] = [
        Part::Confusion,
        Part::Cell,
        Part::Bin,
        Part::Score,
        Part::ScoreBinned,
        Part::Invalid,
    ];

    /// The value of the `part` column.
    pub fn name(self) -> &'static str {
        match self {
            Part::Confusion => "confusion",
            Part::Cell => "cell",
            Part::Bin => "bin",
            Part::Score => "score",
            Part::ScoreBinned => "score_binned",
            Part::Invalid => "invalid",
        }
    }

    /// The part named `name`.
    pub fn from_name(name: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// One row of the partials table; fields that do not apply to its part are `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartialRow {
    /// Which statistic the row carries.
    pub part: Option<Part>,
    /// The cell: one value per protected column (empty for `invalid` rows).
    pub cell: CellKey,
    /// Why the rows are invalid (`invalid` rows).
    pub reason: Option<String>,
    /// The label (`confusion` rows).
    pub label: Option<bool>,
    /// The decision (`confusion` rows).
    pub decision: Option<bool>,
    /// The calibration bin (`bin` rows).
    pub bin: Option<u64>,
    /// The score or fine-bin midpoint (`score`, `score_binned` rows).
    pub score: Option<f64>,
    /// COUNT(*).
    pub rows: u64,
    /// Σw.
    pub sum_w: f64,
    /// Σw².
    pub sum_w2: Option<f64>,
    /// Σw·y.
    pub sum_wy: Option<f64>,
    /// Σw·s.
    pub sum_ws: Option<f64>,
    /// Σw·(s − y)².
    pub sum_wse: Option<f64>,
    /// Σw·log loss.
    pub sum_wll: Option<f64>,
    /// Rows with label 1 (`score*` rows; optional).
    pub rows_y: Option<u64>,
}

/// The fixed columns of the table, in order; the `g_*` columns come after `part`.
pub const COLUMNS: [&str; 14] = [
    "part", "reason", "label", "decision", "bin", "score", "rows", "sum_w", "sum_w2", "sum_wy",
    "sum_ws", "sum_wse", "sum_wll", "rows_y",
];

/// The name of the group-key column of protected column `name`.
pub fn group_column(name: &str) -> String {
    format!("{GROUP_PREFIX}{name}")
}

/// Audit from a partials table: `audit.source` is the table (Parquet or CSV) and
/// `audit.columns` say which protected columns it is keyed by.
pub fn run(audit: &crate::spec::Audit) -> crate::Result<crate::report::AuditReport> {
    let aggregate = aggregate_of(audit)?;
    let sha256 = crate::provenance::sha256_of(&audit.source)?;
    crate::audit::run_from_aggregate(audit, &aggregate, sha256)
}

/// The aggregate described by the partials table `audit.source`.
pub fn aggregate_of(audit: &crate::spec::Audit) -> crate::Result<crate::aggregate::Aggregate> {
    let mut builder = Builder::new(audit, &audit.source.path);
    read::for_each(&audit.source, &audit.columns.protected, &mut |row, r| {
        builder.add(row, r)
    })?;
    builder.finish()
}

/// The partials table of `aggregate` as the bytes of a file at `path` (Parquet for
/// `.parquet`/`.pq`, else CSV).
pub fn table_bytes(
    aggregate: &crate::aggregate::Aggregate,
    columns: &crate::input::Columns,
    path: &std::path::Path,
) -> crate::Result<Vec<u8>> {
    let format = crate::input::Source::from_path(path, b',').format;
    let mut table = write::TableWriter::new(&columns.protected, format)?;
    for_each_row(aggregate, &mut |r| table.push(r))?;
    table.finish()
}

/// Audit by running the partials query on the Spark Connect server at `url`: over the table
/// `table` of its catalog, or else over `audit.source` (a path the server can read). Returns
/// the report and the aggregate (for `--emit-partials`). Without the `spark` feature, an error.
pub fn run_engine(
    audit: &crate::spec::Audit,
    url: &str,
    table: Option<&str>,
) -> crate::Result<(crate::report::AuditReport, crate::aggregate::Aggregate)> {
    #[cfg(feature = "spark")]
    {
        let input = match table {
            Some(t) => spark::SparkInput::Table(t),
            None => spark::SparkInput::Data(&audit.source),
        };
        let path = std::path::Path::new(url);
        let mut builder = Builder::new(audit, path);
        let (columns, key) = (&audit.columns, sql::ScoreKey::Exact);
        spark::partials(url, input, columns, audit.bins, key, &mut |row, r| {
            builder.add(row, r)
        })?;
        let aggregate = builder.finish()?;
        let report = crate::audit::run_from_aggregate(audit, &aggregate, None)?;
        Ok((report, aggregate))
    }
    #[cfg(not(feature = "spark"))]
    {
        let _ = (audit, table);
        Err(crate::Error::spec(
            "--engine",
            format!(
                "{url}: this fairaudit was built without Spark Connect support; \
                 rebuild it with `cargo build --release --features spark` (needs protoc)"
            ),
        ))
    }
}
