//! The audit's result model ([`AuditReport`]) and its renderers.
//!
//! One model, many renderers (the hyperfine/ruff pattern): [`json`] is `serde_json` of the
//! model, [`terminal`] a human summary, [`markdown`] a pull-request comment, [`junit`] one test
//! case per policy result, [`html`] a self-contained document with [`plot`]s. Renderers never
//! compute a metric.

use std::collections::BTreeMap;
use std::io::Write;

use crate::aggregate::Confusion;
use crate::baseline::Comparison;
use crate::error::Result;
use crate::input::Format;
use crate::metrics::disparity::Disparity;
use crate::metrics::Metrics;

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod mitigation;
pub mod plot;
pub mod terminal;
pub mod view;

/// Version of the JSON schema written by this tool (CONTRACT.md §5).
pub const SCHEMA_VERSION: u32 = 1;

/// Write a rendered document; a write failure is a [`Error::Render`](crate::Error::Render) of
/// `format`.
pub(crate) fn write_text(w: &mut dyn Write, text: &str, format: &'static str) -> Result<()> {
    w.write_all(text.as_bytes())
        .map_err(|e| crate::Error::Render {
            format,
            msg: e.to_string(),
        })
}

/// The per-group columns of the human-readable tables for one task (issue 11).
#[derive(Debug, Clone, Copy)]
pub struct TableLayout {
    /// (metric key, short header) per column.
    pub columns: &'static [(&'static str, &'static str)],
    /// The metric whose ratio to the reference ends each row, and its header.
    pub ratio: (&'static str, &'static str),
    /// Summary keys shown under the terminal table.
    pub summary: &'static [&'static str],
}

impl AuditReport {
    /// The task the report's metrics belong to: binary also for a multiclass audit collapsed
    /// by favorable classes.
    pub fn task(&self) -> crate::input::Task {
        if self.input.columns.favorable.is_empty() {
            self.input.columns.task
        } else {
            crate::input::Task::Binary
        }
    }

    /// The table columns of a multiclass or regression report; `None` for a binary one (each
    /// renderer keeps its own binary columns).
    pub fn task_layout(&self) -> Option<TableLayout> {
        match self.task() {
            crate::input::Task::Binary => None,
            crate::input::Task::Regression => Some(TableLayout {
                columns: &[
                    ("mae", "MAE"),
                    ("rmse", "RMSE"),
                    ("mean_error", "bias"),
                    ("mean_prediction", "mean ŷ"),
                    ("mean_label", "mean y"),
                    ("r2", "R²"),
                    ("share_above_quantile", "sel.@q"),
                ],
                ratio: ("share_above_quantile", "sel.ratio"),
                summary: &[
                    "mae_difference",
                    "mean_error_difference",
                    "share_above_quantile_ratio",
                    "prediction_ks_max",
                ],
            }),
            crate::input::Task::Multiclass => Some(TableLayout {
                columns: &[
                    ("accuracy", "acc."),
                    ("macro_tpr", "mac.TPR"),
                    ("macro_fpr", "mac.FPR"),
                    ("macro_precision", "mac.prec"),
                    ("worst_class_tpr", "min TPR"),
                ],
                ratio: ("accuracy", "acc.ratio"),
                summary: &[
                    "accuracy_difference",
                    "tpr_worst_class_difference",
                    "selection_rate_worst_class_ratio",
                ],
            }),
        }
    }
}

/// A renderer of the report in one format.
pub trait Renderer {
    /// Write the rendered report.
    fn render(&self, report: &AuditReport, w: &mut dyn Write) -> Result<()>;
}

/// The whole result of an audit. Its JSON form is CONTRACT.md §5 (see [`json`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Tool name and version.
    pub tool: Tool,
    /// The gate's verdict.
    pub status: Status,
    /// What was read.
    pub input: InputInfo,
    /// Decision threshold (decision = score ≥ threshold) when decisions come from the score.
    pub threshold: f64,
    /// Options that shaped the numbers.
    pub options: AuditOptions,
    /// Metrics over all rows.
    pub overall: Overall,
    /// One entry per protected attribute, then per intersection.
    pub attributes: Vec<AttributeReport>,
    /// One entry per policy result.
    pub policies: Vec<PolicyResult>,
    /// Against a baseline report: what the two do not share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// What makes the audit reproducible.
    pub provenance: Provenance,
    /// Warnings about the audit's power to decide its policies (issue 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The audit record: what makes the result reproducible (`fairaudit verify`), besides the
/// input's and the spec file's SHA-256 in `input`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The effective settings (spec file with flags applied): `fairaudit verify` re-runs them.
    /// Relative paths are relative to the directory the audit ran in.
    pub options: serde_json::Value,
    /// The git commit of the working directory, when it is a git checkout. Run-specific: it is
    /// the only field that two runs on the same input and options may disagree on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// With `fairaudit run --thresholds`: the per-group thresholds that made every decision
    /// (the top-level `threshold` is then not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<ThresholdsApplied>,
}

/// The per-group thresholds of a `fairaudit mitigate` file that made the decisions of an
/// audit (`fairaudit run --thresholds`, issue 10): a row of group g is positive when its score
/// is ≥ g's threshold, or, for a randomised rule, by a seeded draw.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThresholdsApplied {
    /// The thresholds file, as given.
    pub file: String,
    /// SHA-256 of its bytes, hex (`fairaudit verify` says when the file changed).
    pub sha256: String,
    /// The attribute the thresholds are per group of (`sex`, or `race & sex`).
    pub attribute: String,
    /// Its columns.
    pub columns: Vec<String>,
    /// The score column the thresholds apply to.
    pub score: String,
    /// The objective they were fitted for.
    pub objective: crate::mitigate::Objective,
    /// Its tolerance.
    pub tolerance: f64,
    /// True when some group's rule is randomised.
    pub randomised: bool,
    /// Seed of the draws of randomised rules (keyed by seed and data row number only).
    pub seed: u64,
    /// The rule per group.
    pub rules: Vec<crate::mitigate::GroupRule>,
}

impl ThresholdsApplied {
    /// The decision rule in words: `per-group thresholds from FILE (by sex): Female: positive
    /// when score >= 0.4; Male: …`.
    pub fn describe(&self) -> String {
        let rules: Vec<String> = (self.rules.iter())
            .map(|r| format!("{}: {}", r.group, r.description))
            .collect();
        format!(
            "per-group thresholds from {} (by {}{}): {}",
            self.file,
            self.attribute,
            if self.randomised {
                format!(", randomised, seed {}", self.seed)
            } else {
                String::new()
            },
            rules.join("; ")
        )
    }
}

/// The git state of the directory an audit ran in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GitInfo {
    /// `git rev-parse HEAD`.
    pub commit: String,
    /// True when tracked files had uncommitted changes.
    pub dirty: bool,
}

/// Tool identification.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tool {
    /// `fairaudit`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "fairaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Pass or fail of the whole audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every policy passed (or only warned), or there were none.
    Pass,
    /// At least one policy failed, or could not be decided and is not `on_insufficient = "warn"`.
    Fail,
}

/// The input and its provenance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputInfo {
    /// Path as given (`-` for standard input).
    pub path: String,
    /// Physical format.
    pub format: Format,
    /// Data rows read (kept and skipped).
    pub rows: u64,
    /// Rows used in the audit.
    pub rows_used: u64,
    /// Rows skipped under `skip_invalid`, per reason (empty when none).
    pub skipped: BTreeMap<String, u64>,
    /// SHA-256 of the input file's bytes; null for standard input.
    pub sha256: Option<String>,
    /// The spec file the audit ran from, if any (absent for a flags-only run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecInfo>,
    /// The columns used.
    pub columns: ColumnsInfo,
}

impl InputInfo {
    /// The skipped rows for human-readable reports: `"3 skipped (invalid_label 2,
    /// invalid_score 1)"`, or `None` when no row was skipped. Every renderer shows it, so a
    /// skipped row is never silent (issue 9).
    pub fn skipped_summary(&self) -> Option<String> {
        let total: u64 = self.skipped.values().sum();
        (total > 0).then(|| {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            format!("{total} skipped ({})", reasons.join(", "))
        })
    }
}

/// Provenance of the audit spec file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpecInfo {
    /// Path as given on the command line.
    pub path: String,
    /// SHA-256 of the spec file's bytes, hex.
    pub sha256: String,
}

/// The columns an audit read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnsInfo {
    /// True outcome.
    pub label: String,
    /// Model score, if any.
    pub score: Option<String>,
    /// Model decision, if any (otherwise score ≥ threshold).
    pub prediction: Option<String>,
    /// Sample weight, if any.
    pub weight: Option<String>,
    /// Value of the label meaning positive, if not 0/1.
    pub positive_label: Option<String>,
    /// `multiclass` or `regression` (issue 11); absent for a binary audit.
    #[serde(default, skip_serializing_if = "crate::input::Task::is_binary")]
    pub task: crate::input::Task,
    /// Multiclass collapsed to binary: the classes that counted as positive. The rest of the
    /// report is then exactly the binary audit of "class ∈ favorable".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub favorable: Vec<String>,
}

/// Options recorded in the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditOptions {
    /// Groups with fewer rows are `insufficient_data` and excluded from summaries.
    pub min_group_size: u64,
    /// Number of equal-width calibration bins.
    pub bins: usize,
    /// `"error"` or `"skip"`.
    pub invalid_rows: String,
    /// Interval method, confidence level, bootstrap, seed, correction, power (issue 5).
    #[serde(flatten)]
    pub uncertainty: crate::stats::Uncertainty,
    /// Regression: q of `share_above_quantile`, and the overall q-quantile of the predictions
    /// that it compares with (issue 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<QuantileInfo>,
}

/// The threshold of the regression metric `share_above_quantile`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QuantileInfo {
    /// q.
    pub q: f64,
    /// The overall q-quantile of the predictions (inverted CDF), null when no row has weight.
    pub threshold: Option<f64>,
}

/// What a multiclass or regression group has beyond its metrics (issue 11).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeDetail {
    /// The group's confusion matrix.
    Multiclass {
        /// The audit's classes, in text order: the rows (true class) and columns (predicted
        /// class) of the matrices.
        classes: Vec<String>,
        /// Rows per (true, predicted) class.
        confusion_matrix: Vec<Vec<u64>>,
        /// Σw per (true, predicted) class.
        confusion_matrix_weighted: Vec<Vec<f64>>,
        /// With class score columns: per scored class c, the one-vs-rest reliability table of
        /// its score (B equal-width bins; observed_rate is the weighted share of true class c).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        reliability: BTreeMap<String, Vec<CalibrationBin>>,
    },
    /// How the group's predictions were kept for the distribution metrics.
    Regression {
        /// `exact`, or `truncated` beyond 65,536 distinct predictions in the group.
        prediction_distribution: String,
        /// Mantissa bits kept (52: exact).
        mantissa_bits: u32,
        /// Largest possible error of `prediction_ks` against the reference (0 when exact).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ks_error_bound: Option<f64>,
        /// Largest possible error of `prediction_wasserstein` (0 when exact).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wasserstein_error_bound: Option<f64>,
    },
}

/// True for all-zero confusion counts: multiclass and regression reports leave them out.
fn no_counts(c: &Confusion<u64>) -> bool {
    c.tp == 0 && c.fp == 0 && c.tn == 0 && c.fn_ == 0
}

/// Metrics over all rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Overall {
    /// Rows used.
    pub count: u64,
    /// Unweighted confusion counts (binary audits only).
    #[serde(default, skip_serializing_if = "no_counts")]
    pub counts: Confusion<u64>,
    /// Every group metric over all rows, plus the whole-dataset inequality indices.
    pub metrics: Metrics,
    /// Reliability table and ROC curve over all rows, when a score column is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// One protected attribute or intersection.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AttributeReport {
    /// Column name, or the intersection's columns joined by `" & "`.
    pub name: String,
    /// The columns.
    pub columns: Vec<String>,
    /// The reference group's value, if there is a group to compare with.
    pub reference: Option<String>,
    /// `"given"` or `"largest_group"`.
    pub reference_rule: String,
    /// Groups, ordered by value.
    pub groups: Vec<GroupReport>,
    /// Groups excluded from the summary for being smaller than `min_group_size`.
    pub excluded_groups: Vec<String>,
    /// Between-group aggregates over the compared groups.
    pub summary: Metrics,
}

/// One group of an attribute.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupReport {
    /// The group's value (intersections: values joined by `" & "`; missing: `(missing)`).
    pub value: String,
    /// Rows (unweighted).
    pub count: u64,
    /// True when `count < min_group_size`.
    pub insufficient_data: bool,
    /// Unweighted confusion counts (binary audits only).
    #[serde(default, skip_serializing_if = "no_counts")]
    pub counts: Confusion<u64>,
    /// Per-group metrics.
    pub metrics: Metrics,
    /// Against the reference group.
    pub disparities: BTreeMap<String, Disparity>,
    /// Tests against the reference and minimum detectable differences (issue 5).
    #[serde(flatten)]
    pub uncertainty: crate::stats::GroupUncertainty,
    /// Reliability table and ROC curve, when a score column is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Multiclass: the confusion matrix; regression: how predictions were kept (issue 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutcomeDetail>,
}

/// The score's behaviour in one group: the data of reliability diagrams, score histograms and
/// ROC curves.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// `uniform` (equal-width, right-closed) or `quantile` (equal-mass) bins.
    pub binning: String,
    /// One entry per bin, in score order (empty bins included, with null means).
    pub bins: Vec<CalibrationBin>,
    /// ROC curve from the highest threshold down: starts at (0, 0), ends at (1, 1).
    pub roc: Vec<RocPoint>,
    /// `exact` (counts per distinct score) or `binned` (a fine histogram; see `auc_error_bound`).
    pub auc_method: String,
    /// Largest possible |reported AUC − exact AUC|: 0 when exact.
    pub auc_error_bound: f64,
}

/// One calibration bin of a group.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CalibrationBin {
    /// Lower edge (excluded, except for the first bin).
    pub lo: f64,
    /// Upper edge (included).
    pub hi: f64,
    /// Rows in the bin.
    pub count: u64,
    /// Σ w of the rows in the bin.
    pub weight: f64,
    /// Weighted mean score; null for an empty bin.
    pub mean_score: Option<f64>,
    /// Weighted share of label 1; null for an empty bin.
    pub observed_rate: Option<f64>,
}

impl From<&crate::metrics::calibration::BinRow> for CalibrationBin {
    /// The report's view of a bin: weighted means, null for an empty bin.
    fn from(b: &crate::metrics::calibration::BinRow) -> Self {
        let mean = |sum: f64, w: f64| (w > 0.0).then(|| sum / w);
        CalibrationBin {
            lo: b.lo,
            hi: b.hi,
            count: b.rows as u64,
            weight: b.weight,
            mean_score: mean(b.sum_score, b.weight),
            observed_rate: mean(b.sum_label, b.weight),
        }
    }
}

/// One point of a ROC curve: decisions `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RocPoint {
    /// The score threshold.
    pub threshold: f64,
    /// False positive rate at that threshold.
    pub fpr: f64,
    /// True positive rate at that threshold.
    pub tpr: f64,
}

/// Outcome of one policy check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    /// The observed value meets the bound.
    Pass,
    /// It does not.
    Fail,
    /// The value is undefined or the group is too small to decide.
    InsufficientData,
}

/// What an undecidable policy does to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInsufficient {
    /// Fail the gate (default: an unverifiable claim is not a pass).
    #[default]
    Fail,
    /// Report it, but do not fail the gate.
    Warn,
}

/// One result of a policy: per attribute, and per group for per-group metrics.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PolicyResult {
    /// The policy's id.
    pub id: String,
    /// The expression as written.
    pub expression: String,
    /// The policy's description, for reports.
    pub description: Option<String>,
    /// The metric checked.
    pub metric: String,
    /// The attribute, or null for a whole-dataset metric.
    pub attribute: Option<String>,
    /// The group, for per-group checks.
    pub group: Option<String>,
    /// The observed value (null when undefined).
    pub observed: Option<f64>,
    /// The bound, e.g. `>= 0.8` or `in [0.8, 1.25]`.
    pub bound: String,
    /// Pass, fail or insufficient data.
    pub status: PolicyStatus,
    /// What insufficient data does to the gate.
    pub on_insufficient: OnInsufficient,
    /// Why the result is insufficient data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Change policies: the baseline's value (`observed` is the change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Change policies: the candidate's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<f64>,
    /// Interval, `uncertain`, `on_uncertain` and sample-size warnings (issue 5).
    #[serde(flatten)]
    pub uncertainty: crate::stats::PolicyUncertainty,
}

impl PolicyResult {
    /// True when this result fails the gate. A result whose interval straddles its bound
    /// follows its `on_uncertain` ([`crate::stats::fails_gate`]).
    pub fn fails_gate(&self) -> bool {
        match crate::stats::fails_gate(self.status, &self.uncertainty) {
            Some(fails) => fails,
            None => self.on_insufficient == OnInsufficient::Fail,
        }
    }
}
