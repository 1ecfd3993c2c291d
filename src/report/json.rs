//! The JSON report: `serde_json` of [`AuditReport`], pretty-printed, newline-terminated.
//!
//! # Schema (version 1, CONTRACT.md §5)
//!
//! ```text
//! schema_version  1
//! tool            {name, version}
//! status          "pass" | "fail"
//! input           {path, format: "csv"|"parquet", rows, rows_used, skipped: {reason: n},
//!                  sha256 (null for stdin), columns: {label, score, prediction, weight, positive_label}}
//! threshold       decision threshold (score >= threshold); not used when
//!                 provenance.thresholds is present (then per-group thresholds decided)
//! options         {min_group_size, bins, invalid_rows, ci_method: "wilson"|"clopper_pearson",
//!                  confidence, bootstrap (0 = off), seed, correction: "holm"|"bh"|"none", power}
//! overall         {count, counts: {tp, fp, tn, fn}, metrics: {key: value}}
//! attributes[]    {name, columns, reference, reference_rule: "given"|"largest_group",
//!                  groups[]: {value, count, insufficient_data, counts, metrics, disparities,
//!                             tests?: {metric: {test: "z_test"|"fisher", statistic?, p_value,
//!                                               p_value_adjusted}},
//!                             minimum_detectable_difference?: {metric: value}},
//!                  excluded_groups, summary: {key: value}}
//! policies[]      {id, expression, description, metric, attribute, group, observed, bound,
//!                  status: "pass"|"fail"|"insufficient_data", on_insufficient, reason?,
//!                  baseline?, candidate?,   (change policies: observed = candidate − baseline)
//!                  ci?, uncertain?, on_uncertain: "warn"|"fail"|"pass", warnings?: [text]}
//! warnings?       [text]: groups too small to decide a policy (absent when none)
//! comparison?     {baseline, baseline_schema_version, baseline_tool_version, baseline_input_sha256,
//!                  attributes_only_in_{baseline,candidate}, groups_only_in_{baseline,candidate},
//!                  notes}                                  (with --baseline or `compare`)
//! provenance      {options (the effective spec, re-run by `verify`), git?: {commit, dirty},
//!                  thresholds?}
//! provenance.thresholds?   (only with `run --thresholds T`, issue 10: the decisions came from
//!                 per-group thresholds, not from `threshold`)
//!                 {file, sha256 (of the file's bytes), attribute, columns, score,
//!                  objective, tolerance, randomised, seed,
//!                  rules[]: {group, rule: [{threshold: number|null, probability}],
//!                            randomised, description}}
//!                 and provenance.options.thresholds = the file's path, so `verify` re-runs
//!                 the audit with it and says when the file's SHA-256 changed. A row of group
//!                 g is positive with probability Σ_{k: t_k ≤ score} p_k; a randomised rule
//!                 draws from a seeded hash of (seed, the row's 1-based data row number).
//! ```
//! A value is `{"value": number|null, "reason"?: text, "ci"?: [lo, hi], "p_value"?: number}`.
//! A group's `disparities` maps each metric m to `{"ratio": value, "difference": value}` and the
//! odds summaries (`average_odds_difference`, …) to a value. `ci` of a rate is Wilson or
//! Clopper–Pearson (`options.ci_method`); of a disparity, summary, `balanced_accuracy` or `f1`, a
//! bootstrap percentile interval (only with `options.bootstrap` > 0). `p_value` on a disparity's
//! `ratio`/`difference` is the adjusted p of the group's test (`options.correction`). Maps are
//! ordered by key, groups by value, and the bootstrap is seeded (`options.seed`), so the same
//! input and options give byte-identical JSON, apart from the one run-specific field
//! `provenance.git`, which is left out when `SOURCE_DATE_EPOCH` is set.
//!
//! # Multiclass and regression audits (issue 11)
//!
//! The task is `input.columns.task`: absent for a binary audit, `"multiclass"` or
//! `"regression"`. The shape is the same; these keys differ:
//!
//! ```text
//! input.columns   task?: "multiclass"|"regression", favorable?: [class]
//!                 (favorable: multiclass collapsed to "class ∈ favorable"; everything else in
//!                 the report is then exactly the binary audit of the collapsed labels; with
//!                 class_scores, of the score Σ_{c ∈ favorable} s_c; input.columns.score is
//!                 then null)
//! options         quantile?: {q, threshold}     (regression: the overall q-quantile of ŷ)
//! overall, groups[]  counts is absent (no binary confusion counts)
//! groups[].metrics
//!   multiclass    accuracy, error_rate, <rate>@<class> for rate in selection_rate, base_rate,
//!                 tpr, fpr, precision (one-vs-rest; Wilson/Clopper–Pearson ci), macro_<rate>
//!                 (selection_rate, tpr, fpr, precision), worst_class_{tpr,fpr,precision};
//!                 with class_scores also auc@<class>, macro_auc, worst_class_auc, brier,
//!                 log_loss, ece@<class>, mce@<class>, worst_class_ece (bootstrap ci on
//!                 each when options.bootstrap > 0). Multiclass groups carry tests and minimum_detectable_difference
//!                 keyed by selection_rate@<class>, tpr@<class>, fpr@<class>
//!   regression    mae, mse, rmse, mean_error, mean_prediction, mean_label, r2,
//!                 share_above_quantile; ci on mae, mean_error, mse, rmse (normal
//!                 approximation, Kish's effective size with weights)
//! groups[].disparities   {"ratio", "difference"} of every metric above; regression adds
//!                 prediction_ks (value with p_value: exact two-sided up to 10,000 rows per
//!                 side; with a weight column asymptotic at Kish's effective sizes) and
//!                 prediction_wasserstein, both with a
//!                 bootstrap ci when options.bootstrap > 0; the difference of mae, mean_error
//!                 and mse has a normal (Welch-type) ci
//! groups[].outcome
//!   multiclass    {"multiclass": {classes, confusion_matrix: [[rows]], confusion_matrix_weighted:
//!                 [[Σw]], reliability?: {class: [{lo, hi, count, weight, mean_score,
//!                 observed_rate}]}}}  (row = true class, column = predicted class, classes in
//!                 text order; reliability per scored class, one-vs-rest, equal-width bins)
//!   regression    {"regression": {prediction_distribution: "exact"|"truncated", mantissa_bits,
//!                 ks_error_bound?, wasserstein_error_bound?}}
//! attributes[].summary   <key>_{group_min,group_max,difference,ratio,difference_to_overall,
//!                 ratio_to_overall} of every group metric; multiclass adds
//!                 <rate>_worst_class_{difference,ratio}; regression adds prediction_ks_max and
//!                 prediction_wasserstein_max. Multiclass disparities and summaries have a
//!                 bootstrap ci when options.bootstrap > 0; so do the regression
//!                 disparities and summaries of mae, mse, rmse, mean_error, mean_prediction,
//!                 mean_label and share_above_quantile (a parametric bootstrap: each cell's
//!                 means drawn from their normal approximations, stratified by cell, seeded;
//!                 not r2)
//! ```

use std::io::Write;

use super::{AuditReport, Renderer};
use crate::error::{Error, Result};

/// Renders the JSON report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Json;

impl Renderer for Json {
    fn render(&self, report: &AuditReport, w: &mut dyn Write) -> Result<()> {
        let render = |e: &dyn std::fmt::Display| Error::Render {
            format: "json",
            msg: e.to_string(),
        };
        // Into a vector first: serde_json's many small writes through `dyn Write` took 8.5 ms
        // of a 1.5 MB report, into a `Vec` 6 ms (issue 8).
        let mut bytes = serde_json::to_vec_pretty(report).map_err(|e| render(&e))?;
        bytes.push(b'\n');
        w.write_all(&bytes).map_err(|e| render(&e))
    }
}
