//! The engine: one pass over the input into per-cell statistics, then every metric, disparity
//! and summary as pure functions of them, then the policies.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;

use crate::aggregate::{
    self, Aggregate, AggregateOptions, CellKey, GroupStats, Resolution, ScorePoint,
};
use crate::baseline::Baseline;
use crate::error::{Error, Result};
use crate::metrics::calibration::Binning;
use crate::metrics::{calibration, disparity, inequality, rates, summary, Metrics};
use crate::provenance;
use crate::report::{
    AttributeReport, AuditOptions, AuditReport, Calibration, CalibrationBin, ColumnsInfo, GitInfo,
    GroupReport, InputInfo, Overall, RocPoint, Status, Tool, SCHEMA_VERSION,
};
use crate::spec::{AttributeDef, Audit};
use crate::stats;
use crate::verdict;

/// The label of a missing protected value.
pub const MISSING: &str = "(missing)";

/// Separator of an intersection's member values and names (CONTRACT.md §5).
pub const JOIN: &str = " & ";

/// Run an audit end to end: read, aggregate, compute, judge.
pub fn run(audit: &Audit) -> Result<AuditReport> {
    run_with_progress(audit, &|_| {})
}

/// [`run`], telling `on_rows` how many rows each batch read held.
pub fn run_with_progress(audit: &Audit, on_rows: &(dyn Fn(u64) + Sync)) -> Result<AuditReport> {
    // Multiclass (not collapsed by `favorable`) and regression audits (issue 11).
    if !audit.columns.task.is_binary() && audit.columns.favorable.is_empty() {
        return crate::tasks::run_with_progress(audit, on_rows);
    }
    run_keeping_aggregate(audit, on_rows).map(|(report, _)| report)
}

/// [`run_with_progress`] of a binary audit (or one collapsed by `favorable`), also returning
/// the per-cell statistics the report was computed from (for `--emit-partials`, issue 8).
pub fn run_keeping_aggregate(
    audit: &Audit,
    on_rows: &(dyn Fn(u64) + Sync),
) -> Result<(AuditReport, Aggregate)> {
    let (aggregate, sha256, git) = provenance::beside_scan(&audit.source, || {
        aggregate::aggregate_with_limit(
            &audit.source,
            &audit.columns,
            AggregateOptions { bins: audit.bins },
            audit.max_groups,
            on_rows,
        )
    });
    let aggregate = aggregate?;
    check_rows(&audit.source.path, &aggregate)?;
    let report = report_of(audit, &aggregate, sha256?, git)?;
    Ok((report, aggregate))
}

/// The report of `audit` from statistics aggregated elsewhere (a partials table, issue 8):
/// the same checks, baseline and provenance as [`run`].
pub fn run_from_aggregate(
    audit: &Audit,
    aggregate: &Aggregate,
    sha256: Option<String>,
) -> Result<AuditReport> {
    check_rows(&audit.source.path, aggregate)?;
    report_of(audit, aggregate, sha256, provenance::run_git_info())
}

fn report_of(
    audit: &Audit,
    aggregate: &Aggregate,
    sha256: Option<String>,
    git: Option<GitInfo>,
) -> Result<AuditReport> {
    let baseline = audit.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut report = build_report(audit, aggregate, sha256, baseline.as_ref())?;
    report.provenance.git = git;
    Ok(report)
}

/// An audit of no rows would pass every gate while measuring nothing: a file with a header
/// only, or one whose every row was skipped, is an input error (issue 9).
pub(crate) fn check_rows_read(
    path: &Path,
    rows_read: u64,
    rows_used: u64,
    skipped: &BTreeMap<String, u64>,
) -> Result<()> {
    let schema = |msg: String| Error::Schema {
        path: path.to_path_buf(),
        msg,
    };
    if rows_read == 0 {
        return Err(schema("no data rows (the file has a header only)".into()));
    }
    if rows_used == 0 {
        let reasons: Vec<String> = skipped
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        return Err(schema(format!(
            "no valid rows: all {rows_read} data rows were skipped ({})",
            reasons.join(", ")
        )));
    }
    Ok(())
}

fn check_rows(path: &Path, agg: &Aggregate) -> Result<()> {
    let schema = |msg: String| Error::Schema {
        path: path.to_path_buf(),
        msg,
    };
    if agg.rows_read == 0 {
        return Err(schema("no data rows (the file has a header only)".into()));
    }
    if agg.table.cells.values().all(|c| c.rows == 0) {
        let reasons: Vec<String> = agg
            .skipped
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        return Err(schema(format!(
            "no valid rows: all {} data rows were skipped ({})",
            agg.rows_read,
            reasons.join(", ")
        )));
    }
    Ok(())
}

/// The report of `audit` from its aggregated statistics (pure; no I/O).
///
/// Fails only when a reference group named by the user does not occur in the data.
pub fn build_report(
    audit: &Audit,
    agg: &Aggregate,
    sha256: Option<String>,
    baseline: Option<&Baseline>,
) -> Result<AuditReport> {
    let total = agg.table.total();
    let total_points = points_of(audit, &total);
    let mut overall_metrics = group_metrics(
        audit,
        (&total, &total_points),
        total.weighted.value().tp + total.weighted.value().fp,
    );
    let benefits = inequality::benefits(&total.weighted.value());
    overall_metrics.insert("theil_index".into(), inequality::theil_index(&benefits));
    overall_metrics.insert(
        "generalized_entropy_index".into(),
        inequality::generalized_entropy_index(&benefits),
    );
    overall_metrics.insert(
        "coefficient_of_variation".into(),
        inequality::coefficient_of_variation(&benefits),
    );
    // Attributes and their groups are independent: their metrics (sorting distributions,
    // recalibration fits) are computed in parallel and collected in order.
    // Each attribute's groups are kept for the intervals and tests of `stats::annotate`.
    let (attributes, groups): (Vec<_>, Vec<_>) = audit
        .attributes
        .par_iter()
        .map(|def| {
            let groups = agg.table.roll_up(&def.positions);
            let total = (&total, &total_points[..]);
            let report = attribute_report(audit, def, &groups, total, &overall_metrics)?;
            Ok((report, groups))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let mut report = report_frame(audit, agg.rows_read, total.rows, &agg.skipped, sha256);
    report.overall = Overall {
        count: total.rows,
        counts: total.counts,
        metrics: overall_metrics,
        calibration: calibration_table(audit, (&total, &total_points)),
    };
    report.attributes = attributes;
    stats::annotate(
        &audit.uncertainty,
        audit.binning,
        &agg.table,
        (&total, &groups),
        &audit.attributes,
        &mut report,
    );
    verdict::apply(&audit.policies, &mut report, baseline);
    stats::sample_size_warnings(&audit.policies, &audit.uncertainty, &mut report);
    report.comparison = baseline.map(|b| b.compare(&report));
    Ok(report)
}

/// A report of `audit` with its input, options and provenance filled in, status `pass`, and
/// no metrics, attributes or policies yet (every task's engine starts from it).
pub(crate) fn report_frame(
    audit: &Audit,
    rows_read: u64,
    rows_used: u64,
    skipped: &BTreeMap<String, u64>,
    sha256: Option<String>,
) -> AuditReport {
    let columns = &audit.columns;
    AuditReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool::default(),
        status: Status::Pass,
        input: InputInfo {
            path: audit.source.path.display().to_string(),
            format: audit.source.format,
            rows: rows_read,
            rows_used,
            skipped: skipped.clone(),
            sha256,
            spec: audit.spec_file.clone(),
            columns: ColumnsInfo {
                label: columns.label.clone(),
                score: columns.score.clone(),
                prediction: columns.prediction.clone(),
                weight: columns.weight.clone(),
                positive_label: columns.positive_label.clone(),
                task: columns.task,
                favorable: columns.favorable.clone(),
            },
        },
        threshold: columns.threshold,
        options: AuditOptions {
            min_group_size: audit.min_group_size,
            bins: audit.bins,
            invalid_rows: format!("{:?}", columns.invalid_rows).to_lowercase(),
            uncertainty: audit.uncertainty,
            quantile: None,
        },
        overall: Overall {
            count: rows_used,
            counts: Default::default(),
            metrics: Metrics::new(),
            calibration: None,
        },
        attributes: Vec::new(),
        policies: Vec::new(),
        comparison: None,
        provenance: audit.record.clone(),
        warnings: Vec::new(),
    }
}

/// The sorted points of a group's score distribution, which its metrics, calibration table
/// and subgroup AUCs all read (formed once per group: issue 8); none without a score column.
fn points_of(audit: &Audit, stats: &GroupStats) -> Vec<ScorePoint> {
    match audit.columns.has_score() {
        true => stats.score.distribution.sorted(),
        false => Vec::new(),
    }
}

/// A group's statistics with the sorted points of its score distribution ([`points_of`]).
type WithPoints<'a> = (&'a GroupStats, &'a [ScorePoint]);

/// Every per-group metric of one group, except the subgroup AUCs.
fn group_metrics(
    audit: &Audit,
    (stats, points): WithPoints,
    attribute_predicted_positives: f64,
) -> Metrics {
    let mut m = rates::rate_metrics(stats, attribute_predicted_positives);
    if audit.columns.has_score() {
        m.extend(calibration::score_metrics_from(
            &stats.score,
            points,
            audit.binning,
        ));
    }
    m
}

/// Most ROC points kept per group in the report.
pub const ROC_POINTS: usize = 101;

/// The reliability table and ROC curve of a group, when the audit has a score column.
fn calibration_table(audit: &Audit, (stats, points): WithPoints) -> Option<Calibration> {
    audit.columns.has_score().then_some(())?;
    let distribution = &stats.score.distribution;
    let bins = match audit.binning {
        Binning::Uniform => calibration::uniform_bins(&stats.score),
        Binning::Quantile => calibration::quantile_bins(points, audit.bins),
    };
    Some(Calibration {
        binning: format!("{:?}", audit.binning).to_lowercase(),
        bins: bins.iter().map(CalibrationBin::from).collect(),
        roc: calibration::roc_curve(points, ROC_POINTS)
            .into_iter()
            .map(|(threshold, fpr, tpr)| RocPoint {
                threshold,
                fpr,
                tpr,
            })
            .collect(),
        auc_method: match distribution.resolution() {
            Resolution::Exact => "exact".into(),
            Resolution::Binned => "binned".into(),
        },
        auc_error_bound: distribution.auc_error_bound(),
    })
}

/// Add the Jigsaw subgroup AUCs, which compare a group with all other rows.
fn subgroup_aucs(audit: &Audit, mut m: Metrics, group: WithPoints, total: WithPoints) -> Metrics {
    if audit.columns.has_score() {
        let (g, all) = (&group.0.score.distribution, &total.0.score.distribution);
        let aucs = calibration::subgroup_aucs(g, group.1, all, total.1);
        m.insert("bpsn_auc".into(), aucs.bpsn);
        m.insert("bnsp_auc".into(), aucs.bnsp);
    }
    m
}

/// The display value of a group: members joined by `" & "`, missing as `(missing)`.
pub fn group_label(key: &CellKey) -> String {
    key.iter()
        .map(|v| v.as_deref().unwrap_or(MISSING))
        .collect::<Vec<_>>()
        .join(JOIN)
}

fn attribute_report(
    audit: &Audit,
    def: &AttributeDef,
    groups: &BTreeMap<CellKey, GroupStats>,
    total: WithPoints,
    overall: &Metrics,
) -> Result<AttributeReport> {
    let predicted_positives: f64 = (groups.values())
        .map(|g| g.weighted.tp.value() + g.weighted.fp.value())
        .sum();
    let mut reports: Vec<GroupReport> = groups
        .par_iter()
        .map(|(key, stats)| {
            let points = points_of(audit, stats);
            let group = (stats, &points[..]);
            GroupReport {
                value: group_label(key),
                count: stats.rows,
                insufficient_data: stats.rows < audit.min_group_size,
                counts: stats.counts,
                metrics: subgroup_aucs(
                    audit,
                    group_metrics(audit, group, predicted_positives),
                    group,
                    total,
                ),
                disparities: BTreeMap::new(),
                uncertainty: Default::default(),
                calibration: calibration_table(audit, group),
                outcome: None,
            }
        })
        .collect();
    let (reference, reference_rule) = reference(audit, def, &reports)?;
    if let Some(r) = reports
        .iter()
        .find(|g| Some(&g.value) == reference.as_ref())
    {
        let reference_metrics = r.metrics.clone();
        for g in &mut reports {
            g.disparities = disparity::disparities(&g.metrics, &reference_metrics);
        }
    }
    let compared: Vec<(&Metrics, aggregate::Confusion<f64>)> = reports
        .iter()
        .zip(groups.values())
        .filter(|(g, _)| !g.insufficient_data)
        .map(|(g, stats)| (&g.metrics, stats.weighted.value()))
        .collect();
    let any_group = reports.first().map(|g| &g.metrics);
    let summary = summary::summary(&compared, any_group, overall);
    let excluded_groups = reports
        .iter()
        .filter(|g| g.insufficient_data)
        .map(|g| g.value.clone())
        .collect();
    Ok(AttributeReport {
        name: def.name.clone(),
        columns: def.columns.clone(),
        reference,
        reference_rule: reference_rule.into(),
        groups: reports,
        excluded_groups,
        summary,
    })
}

/// The reference group of an attribute: the given one (which must exist) or the largest.
///
/// Groups are told apart by their display values here (and in every report), so two groups
/// shown alike are an input error: a value written `(missing)` beside missing values, or, in
/// an intersection, values containing ` & ` that join to the same text.
pub(crate) fn reference(
    audit: &Audit,
    def: &AttributeDef,
    groups: &[GroupReport],
) -> Result<(Option<String>, &'static str)> {
    let mut values: Vec<&str> = groups.iter().map(|g| g.value.as_str()).collect();
    values.sort_unstable();
    if let Some(pair) = values.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(Error::Schema {
            path: audit.source.path.clone(),
            msg: format!(
                "attribute '{}': two different groups would both be shown as '{}' (a value \
                 written '{MISSING}' beside missing values, or values containing '{JOIN}' \
                 in an intersection); rename the values so that each group has its own name",
                def.name, pair[0]
            ),
        });
    }
    match audit.references.get(&def.name) {
        Some(given) => {
            if !groups.iter().any(|g| g.value == *given) {
                let values: Vec<&str> = groups.iter().map(|g| g.value.as_str()).collect();
                return Err(Error::spec(
                    "--reference",
                    format!(
                        "attribute '{}' has no group '{given}'; its groups are: {}",
                        def.name,
                        values.join(", ")
                    ),
                ));
            }
            Ok((Some(given.clone()), "given"))
        }
        None => Ok((largest_group(groups), "largest_group")),
    }
}

/// The default reference: the largest group of sufficient size; ties go to the
/// lexicographically smallest value (the goldens' rule, and Aequitas' `major_group`).
pub(crate) fn largest_group(groups: &[GroupReport]) -> Option<String> {
    groups
        .iter()
        .filter(|g| !g.insufficient_data)
        .max_by(|a, b| a.count.cmp(&b.count).then_with(|| b.value.cmp(&a.value)))
        .map(|g| g.value.clone())
}
