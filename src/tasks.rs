//! The engine of multiclass and regression audits (issue 11): one pass into per-cell
//! [`ClassConfusion`]s or [`RegressionStats`], then metrics, disparities against the reference
//! group, between-group summaries, intervals and the policies — the same report model as a
//! binary audit ([`crate::audit`]), with the task's metric keys.
//!
//! A multiclass audit with `favorable` classes is not run here: the readers collapse it to
//! binary labels and it is exactly the binary audit of "class ∈ favorable".

use std::collections::{BTreeMap, BTreeSet};

use crate::aggregate::multiclass::ClassConfusion;
use crate::aggregate::regression::RegressionStats;
use crate::aggregate::tasks::{aggregate_task, TaskAggregate, TaskStats};
use crate::aggregate::CellKey;
use crate::audit::{check_rows_read, group_label, reference};
use crate::baseline::Baseline;
use crate::error::Result;
use crate::input::Task;
use crate::metrics::disparity::{self, Disparity, Pair};
use crate::metrics::{multiclass, regression, summary, Metrics, Value};
use crate::provenance;
use crate::report::{
    AttributeReport, AuditReport, CalibrationBin, GroupReport, OutcomeDetail, QuantileInfo,
};
use crate::spec::{AttributeDef, Audit};
use crate::stats::{ci, class_bootstrap, distances, mean_bootstrap};
use crate::verdict;

/// Run a multiclass or regression audit end to end.
pub fn run_with_progress(audit: &Audit, on_rows: &(dyn Fn(u64) + Sync)) -> Result<AuditReport> {
    match audit.columns.task {
        Task::Regression => run_task::<RegressionStats>(audit, on_rows, build_regression),
        _ => run_task::<ClassConfusion>(audit, on_rows, build_multiclass),
    }
}

/// Rows of a cell's statistics.
trait Rows {
    fn rows(&self) -> u64;
}

impl Rows for ClassConfusion {
    fn rows(&self) -> u64 {
        self.rows
    }
}

impl Rows for RegressionStats {
    fn rows(&self) -> u64 {
        self.rows
    }
}

type Build<T> = fn(&Audit, &TaskAggregate<T>, Option<String>) -> Result<AuditReport>;

fn run_task<T: TaskStats + Rows>(
    audit: &Audit,
    on_rows: &(dyn Fn(u64) + Sync),
    build: Build<T>,
) -> Result<AuditReport> {
    let (aggregate, sha256, git) = provenance::beside_scan(&audit.source, || {
        aggregate_task::<T>(&audit.source, &audit.columns, audit.max_groups, on_rows)
    });
    let aggregate = aggregate?;
    let used: u64 = aggregate.cells.values().map(Rows::rows).sum();
    check_rows_read(
        &audit.source.path,
        aggregate.rows_read,
        used,
        &aggregate.skipped,
    )?;
    let sha256 = sha256?;
    let baseline = audit.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut report = build(audit, &aggregate, sha256)?;
    verdict::apply(&audit.policies, &mut report, baseline.as_ref());
    crate::stats::sample_size_warnings(&audit.policies, &audit.uncertainty, &mut report);
    report.comparison = baseline.as_ref().map(|b| b.compare(&report));
    report.provenance.git = git;
    Ok(report)
}

/// The report's frame: everything but the overall metrics and the attributes.
fn frame<T>(
    audit: &Audit,
    agg: &TaskAggregate<T>,
    rows_used: u64,
    sha256: Option<String>,
) -> AuditReport {
    crate::audit::report_frame(audit, agg.rows_read, rows_used, &agg.skipped, sha256)
}

/// Ratio and difference against the reference for every metric both have.
fn pair_disparities(g: &Metrics, r: &Metrics) -> BTreeMap<String, Disparity> {
    g.iter()
        .filter_map(|(key, value)| {
            let reference = r.get(key)?;
            Some((
                key.clone(),
                Disparity::Pair(Pair {
                    ratio: disparity::ratio(value, reference),
                    difference: disparity::difference(value, reference),
                }),
            ))
        })
        .collect()
}

/// Every per-metric aggregate ([`summary::aggregates`]) over the compared groups, given as
/// (insufficient_data, metrics) per group.
fn metric_summaries<'a>(
    groups: impl Iterator<Item = (bool, &'a Metrics)> + Clone,
    overall: &Metrics,
) -> Metrics {
    let mut out = Metrics::new();
    let keys: BTreeSet<&String> = groups.clone().flat_map(|(_, m)| m.keys()).collect();
    for key in keys {
        let values: Vec<f64> = (groups.clone())
            .filter(|(insufficient, _)| !insufficient)
            .filter_map(|(_, m)| m.get(key)?.value)
            .collect();
        let all = (overall.get(key).cloned())
            .unwrap_or_else(|| Value::undefined("not computed over all rows"));
        for (suffix, value) in summary::aggregates(key, &values, &all) {
            out.insert(format!("{key}_{suffix}"), value);
        }
    }
    out
}

/// Groups of one attribute as reports (metrics from `metrics`), with reference, disparities
/// and the generic summaries.
fn attribute<T>(
    audit: &Audit,
    def: &AttributeDef,
    groups: &BTreeMap<CellKey, T>,
    overall: &Metrics,
    rows: impl Fn(&T) -> u64,
    metrics: impl Fn(&T) -> (Metrics, Option<OutcomeDetail>),
) -> Result<AttributeReport> {
    let mut reports: Vec<GroupReport> = groups
        .iter()
        .map(|(key, stats)| {
            let (metrics, outcome) = metrics(stats);
            let count = rows(stats);
            GroupReport {
                value: group_label(key),
                count,
                insufficient_data: count < audit.min_group_size,
                counts: Default::default(),
                metrics,
                disparities: BTreeMap::new(),
                uncertainty: Default::default(),
                calibration: None,
                outcome,
            }
        })
        .collect();
    let (reference, rule) = reference(audit, def, &reports)?;
    if let Some(r) = reports
        .iter()
        .find(|g| Some(&g.value) == reference.as_ref())
    {
        let reference_metrics = r.metrics.clone();
        for g in &mut reports {
            g.disparities = pair_disparities(&g.metrics, &reference_metrics);
        }
    }
    let summary = metric_summaries(
        reports.iter().map(|g| (g.insufficient_data, &g.metrics)),
        overall,
    );
    Ok(AttributeReport {
        name: def.name.clone(),
        columns: def.columns.clone(),
        excluded_groups: (reports.iter())
            .filter(|g| g.insufficient_data)
            .map(|g| g.value.clone())
            .collect(),
        reference,
        reference_rule: rule.into(),
        groups: reports,
        summary,
    })
}

/// The two-sided normal quantile of the audit's confidence level.
fn z_of(audit: &Audit) -> f64 {
    ci::normal_quantile(1.0 - (1.0 - audit.uncertainty.confidence) / 2.0)
}

/// Regression metrics with normal-approximation intervals of the means (`mae`, `mean_error`,
/// `mse` and, through it, `rmse`; Kish's effective size with weights).
fn regression_group(audit: &Audit, s: &RegressionStats, threshold: Option<f64>) -> Metrics {
    let mut m = regression::regression_metrics(s, threshold);
    let z = z_of(audit);
    let mut set = |key: &str, ci: Option<[f64; 2]>| {
        if let Some(v) = m.get_mut(key).filter(|v| v.value.is_some()) {
            v.ci = ci;
        }
    };
    for key in ["mae", "mean_error", "mse"] {
        if let Some((mean, sum_sq)) = regression::mean_parts(key, s) {
            let ci = regression::mean_interval(mean, sum_sq, s, z);
            set(key, ci);
            if key == "mse" {
                set("rmse", ci.map(|[lo, hi]| [lo.max(0.0).sqrt(), hi.sqrt()]));
            }
        }
    }
    m
}

fn build_regression(
    audit: &Audit,
    agg: &TaskAggregate<RegressionStats>,
    sha256: Option<String>,
) -> Result<AuditReport> {
    let total = agg.total();
    let threshold = regression::quantile(&total.predictions, audit.quantile);
    let mut report = frame(audit, agg, total.rows, sha256);
    report.options.quantile = Some(QuantileInfo {
        q: audit.quantile,
        threshold,
    });
    report.overall.metrics = regression_group(audit, &total, threshold);
    let weighted = audit.columns.weight.is_some();
    // Numbers the bootstrap comparisons (the RNG stream of each).
    let comparison = &mut 0u64;
    for def in &audit.attributes {
        let groups = agg.roll_up(&def.positions);
        let mut a = attribute(
            audit,
            def,
            &groups,
            &report.overall.metrics,
            |s| s.rows,
            |s| (regression_group(audit, s, threshold), None),
        )?;
        let reference = (a.reference.as_ref())
            .and_then(|r| a.groups.iter().position(|g| g.value == *r))
            .map(|i| groups.values().nth(i).cloned().unwrap_or_default());
        let (mut ks_max, mut w1_max) = (Vec::new(), Vec::new());
        let z = z_of(audit);
        for (g, stats) in a.groups.iter_mut().zip(groups.values()) {
            let mut detail = (None, None);
            if let Some(r) = &reference {
                let is_reference = Some(&g.value) == a.reference.as_ref();
                let ks = regression::ks_statistic(&stats.predictions, &r.predictions);
                let w1 = regression::wasserstein(&stats.predictions, &r.predictions);
                let mut ks_value = ks.map_or_else(
                    || Value::undefined("the group or the reference has zero total weight"),
                    |(d, _)| Value::defined(d),
                );
                if let Some((d, _)) = ks {
                    ks_value.p_value = if weighted {
                        regression::ks_p_value_effective(
                            d,
                            ci::effective_size(stats.weight, stats.weight_sq),
                            ci::effective_size(r.weight, r.weight_sq),
                        )
                    } else {
                        regression::ks_p_value(d, stats.rows, r.rows)
                    };
                }
                let mut w1_ci = None;
                let u = &audit.uncertainty;
                if u.bootstrap > 0 && !is_reference && !g.insufficient_data {
                    let (ks_ci, ci) = distances::distance_intervals(
                        &stats.predictions,
                        &r.predictions,
                        u.bootstrap,
                        u.seed,
                        *comparison,
                        u.confidence,
                    );
                    *comparison += 1;
                    ks_value.ci = ks_ci;
                    w1_ci = ci;
                }
                for key in ["mae", "mean_error", "mse"] {
                    if let Some(Disparity::Pair(p)) = g.disparities.get_mut(key) {
                        if p.difference.value.is_some() {
                            p.difference.ci = regression::difference_interval(key, stats, r, z);
                        }
                    }
                }
                let mut w1_value = w1.map_or_else(
                    || Value::undefined("the group or the reference has zero total weight"),
                    |(d, _)| Value::defined(d),
                );
                w1_value.ci = w1_ci;
                if !g.insufficient_data && !is_reference {
                    ks_max.extend(ks_value.value);
                    w1_max.extend(w1_value.value);
                }
                detail = (ks.map(|k| k.1), w1.map(|w| w.1));
                g.disparities
                    .insert("prediction_ks".into(), Disparity::Single(ks_value));
                g.disparities
                    .insert("prediction_wasserstein".into(), Disparity::Single(w1_value));
            }
            let exact = stats.predictions.is_exact();
            g.outcome = Some(OutcomeDetail::Regression {
                prediction_distribution: if exact { "exact" } else { "truncated" }.into(),
                mantissa_bits: stats.predictions.bits(),
                ks_error_bound: detail.0,
                wasserstein_error_bound: detail.1,
            });
        }
        let largest = |values: Vec<f64>, what: &str| {
            values.into_iter().reduce(f64::max).map_or_else(
                || Value::undefined(format!("no compared non-reference group has a {what}")),
                Value::defined,
            )
        };
        a.summary
            .insert("prediction_ks_max".into(), largest(ks_max, "KS statistic"));
        a.summary.insert(
            "prediction_wasserstein_max".into(),
            largest(w1_max, "Wasserstein distance"),
        );
        report.attributes.push(a);
    }
    if audit.uncertainty.bootstrap > 0 {
        regression_bootstrap(audit, agg, threshold, &mut report);
    }
    Ok(report)
}

/// Percentile intervals of the regression disparities and summaries of the mean metrics
/// (`--bootstrap N`): each replicate draws every cell's means from their normal
/// approximations ([`mean_bootstrap`]) and recomputes the disparities and summaries; the
/// reference group and the compared groups stay those of the observed report.
fn regression_bootstrap(
    audit: &Audit,
    agg: &TaskAggregate<RegressionStats>,
    threshold: Option<f64>,
    report: &mut AuditReport,
) {
    let u = audit.uncertainty;
    let cells: Vec<(&CellKey, mean_bootstrap::CellMeans)> = (agg.cells.iter())
        .map(|(k, s)| (k, mean_bootstrap::CellMeans::of(s, threshold)))
        .collect();
    let mut draws: BTreeMap<StatId, Vec<Option<f64>>> = BTreeMap::new();
    for rep in 0..u64::from(u.bootstrap) {
        // The bootstrap of KS and W1 uses stream (comparison << 32) | rep; these use the
        // last comparison number, which no audit reaches, so the two never share a stream.
        let mut rng = class_bootstrap::replicate_rng(u.seed, (0xFFFF_FFFF << 32) | rep);
        let drawn: Vec<(&CellKey, mean_bootstrap::Drawn)> = (cells.iter())
            .map(|(k, c)| (*k, c.draw(&mut rng)))
            .collect();
        let mut total = mean_bootstrap::Drawn::default();
        drawn.iter().for_each(|(_, d)| total.merge(d));
        let overall = total.metrics();
        for (ai, (def, a)) in audit.attributes.iter().zip(&report.attributes).enumerate() {
            let mut groups: BTreeMap<CellKey, mean_bootstrap::Drawn> = BTreeMap::new();
            for (key, d) in &drawn {
                let group: CellKey = def.positions.iter().map(|&p| key[p].clone()).collect();
                groups.entry(group).or_default().merge(d);
            }
            let metrics: Vec<Metrics> = groups.values().map(|d| d.metrics()).collect();
            push_pair_draws(&mut draws, ai, a, &metrics);
            let insufficient = a.groups.iter().map(|g| g.insufficient_data);
            let summary = metric_summaries(insufficient.zip(&metrics), &overall);
            for (key, v) in summary {
                draws.entry((ai, None, key, 2)).or_default().push(v.value);
            }
        }
    }
    set_percentile_intervals(report, draws, u.confidence, false);
}

/// Add one replicate of every group's disparities (ratio, difference) to its reference, from
/// the replicate's `metrics` of attribute `ai` (groups in the order of `a.groups`).
fn push_pair_draws(
    draws: &mut BTreeMap<StatId, Vec<Option<f64>>>,
    ai: usize,
    a: &AttributeReport,
    metrics: &[Metrics],
) {
    let reference =
        (a.reference.as_ref()).and_then(|r| a.groups.iter().position(|g| g.value == *r));
    let Some(r) = reference else { return };
    for (gi, m) in metrics.iter().enumerate().filter(|(gi, _)| *gi != r) {
        for (key, d) in pair_disparities(m, &metrics[r]) {
            if let Disparity::Pair(p) = d {
                for (part, v) in [(0u8, p.ratio), (1, p.difference)] {
                    let id = (ai, Some(gi), key.clone(), part);
                    draws.entry(id).or_default().push(v.value);
                }
            }
        }
    }
}

/// Put the percentile interval of each statistic's replicates on it (when its value is
/// defined). With `replace` false, an interval already there is kept.
fn set_percentile_intervals(
    report: &mut AuditReport,
    draws: BTreeMap<StatId, Vec<Option<f64>>>,
    confidence: f64,
    replace: bool,
) {
    for ((ai, group, key, part), values) in draws {
        let a = &mut report.attributes[ai];
        let target = match group {
            None => a.summary.get_mut(&key),
            Some(gi) if part == 3 => a.groups[gi].metrics.get_mut(&key),
            Some(gi) => match a.groups[gi].disparities.get_mut(&key) {
                Some(Disparity::Pair(p)) if part == 0 => Some(&mut p.ratio),
                Some(Disparity::Pair(p)) => Some(&mut p.difference),
                _ => None,
            },
        };
        if let Some(v) = target {
            if let (Some(x), true) = (v.value, replace || v.ci.is_none()) {
                v.ci = ci::percentile_interval(&values, confidence, x);
            }
        }
    }
}

/// Multiclass metrics with Wilson (or `--ci-method`) intervals of every one-vs-rest rate and
/// of the accuracy.
fn multiclass_group(audit: &Audit, m: &ClassConfusion, classes: &BTreeSet<String>) -> Metrics {
    let mut out = multiclass_point(audit, m, classes);
    let (method, level) = (audit.uncertainty.ci_method, audit.uncertainty.confidence);
    for c in classes {
        let (w, w2) = (
            multiclass::one_vs_rest(m, c),
            multiclass::one_vs_rest_sq(m, c),
        );
        for rate in multiclass::CLASS_RATES {
            let (num, den) = multiclass::rate_parts(rate, w);
            let (_, den2) = multiclass::rate_parts(rate, w2);
            let key = multiclass::class_key(rate, c);
            if let Some(v) = out.get_mut(&key).filter(|v| v.value.is_some()) {
                v.ci = ci::weighted_rate_ci(method, num, den, den2, level);
            }
        }
    }
    let total: f64 = m.entries.values().map(|e| e.weight).sum();
    let total2: f64 = m.entries.values().map(|e| e.weight_sq).sum();
    let correct: f64 = (m.entries.iter())
        .filter(|((l, p), _)| l == p)
        .map(|(_, e)| e.weight)
        .sum();
    let accuracy = ci::weighted_rate_ci(method, correct, total, total2, level);
    if let Some(v) = out.get_mut("accuracy").filter(|v| v.value.is_some()) {
        v.ci = accuracy;
    }
    if let Some(v) = out.get_mut("error_rate").filter(|v| v.value.is_some()) {
        v.ci = accuracy.map(|[lo, hi]| [1.0 - hi, 1.0 - lo]);
    }
    out
}

/// Every multiclass metric of a group, without intervals: the rates and scores
/// ([`multiclass::multiclass_metrics`]) and the per-class calibration.
fn multiclass_point(audit: &Audit, m: &ClassConfusion, classes: &BTreeSet<String>) -> Metrics {
    let scored = score_classes(audit);
    let mut out = multiclass::multiclass_metrics(m, classes, &scored);
    out.extend(multiclass::class_calibration(m, &scored, audit.bins));
    out
}

/// The class of each score column, in `Columns::class_scores` order.
fn score_classes(audit: &Audit) -> Vec<String> {
    (audit.columns.class_scores.iter())
        .map(|(c, _)| c.clone())
        .collect()
}

fn confusion_detail(
    audit: &Audit,
    m: &ClassConfusion,
    classes: &BTreeSet<String>,
) -> OutcomeDetail {
    let reliability = (score_classes(audit).into_iter().enumerate())
        .map(|(k, c)| {
            let bins = multiclass::class_bins(m, k, &c, audit.bins);
            let table = bins.iter().map(CalibrationBin::from).collect();
            (c, table)
        })
        .collect();
    OutcomeDetail::Multiclass {
        reliability,
        classes: classes.iter().cloned().collect(),
        confusion_matrix: (classes.iter())
            .map(|l| classes.iter().map(|p| m.get(l, p).rows).collect())
            .collect(),
        confusion_matrix_weighted: (classes.iter())
            .map(|l| classes.iter().map(|p| m.get(l, p).weight).collect())
            .collect(),
    }
}

fn build_multiclass(
    audit: &Audit,
    agg: &TaskAggregate<ClassConfusion>,
    sha256: Option<String>,
) -> Result<AuditReport> {
    let total = agg.total();
    let classes: BTreeSet<String> = total.classes().into_iter().map(String::from).collect();
    let mut report = frame(audit, agg, total.rows, sha256);
    report.overall.metrics = multiclass_group(audit, &total, &classes);
    for def in &audit.attributes {
        let groups = agg.roll_up(&def.positions);
        let mut a = attribute(
            audit,
            def,
            &groups,
            &report.overall.metrics,
            |m| m.rows,
            |m| {
                (
                    multiclass_group(audit, m, &classes),
                    Some(confusion_detail(audit, m, &classes)),
                )
            },
        )?;
        multiclass::worst_class_summaries(&mut a.summary, &classes);
        report.attributes.push(a);
    }
    multiclass_tests(audit, agg, &classes, &mut report);
    if audit.uncertainty.bootstrap > 0 {
        multiclass_bootstrap(audit, agg, &classes, &mut report);
    }
    Ok(report)
}

/// The one-vs-rest rates tested against the reference group, per class.
const TESTED_RATES: [&str; 3] = ["selection_rate", "tpr", "fpr"];

/// (k, n) of a one-vs-rest rate for a test: the numerator and Kish's effective size of the
/// denominator (k scaled to it under weights), as binary audits do.
fn effective_rate(m: &ClassConfusion, class: &str, rate: &str) -> (f64, f64) {
    let (num, den) = multiclass::rate_parts(rate, multiclass::one_vs_rest(m, class));
    let (_, den2) = multiclass::rate_parts(rate, multiclass::one_vs_rest_sq(m, class));
    let n = ci::effective_size(den, den2);
    let k = if den2 == den {
        num
    } else if den > 0.0 {
        num / den * n
    } else {
        0.0
    };
    (k, n)
}

/// Per class, `selection_rate@c`, `tpr@c` and `fpr@c` of every non-reference group tested
/// against the reference (Fisher's exact or the two-proportion z-test, as for binary audits),
/// the p-values adjusted over all comparisons of the audit (`options.correction`) and put on the
/// disparities; and each one's minimum detectable difference.
fn multiclass_tests(
    audit: &Audit,
    agg: &TaskAggregate<ClassConfusion>,
    classes: &BTreeSet<String>,
    report: &mut AuditReport,
) {
    use crate::stats::hypothesis;
    let u = &audit.uncertainty;
    let alpha = 1.0 - u.confidence;
    let mut comparisons = Vec::new();
    for (ai, (def, a)) in audit
        .attributes
        .iter()
        .zip(&mut report.attributes)
        .enumerate()
    {
        let groups: Vec<ClassConfusion> = agg.roll_up(&def.positions).into_values().collect();
        let Some(r) =
            (a.reference.as_ref()).and_then(|r| a.groups.iter().position(|g| g.value == *r))
        else {
            continue;
        };
        for (gi, (g, stats)) in a.groups.iter_mut().zip(&groups).enumerate() {
            if gi == r {
                continue;
            }
            for c in classes {
                for rate in TESTED_RATES {
                    let key = multiclass::class_key(rate, c);
                    let (k1, n1) = effective_rate(stats, c, rate);
                    let (k2, n2) = effective_rate(&groups[r], c, rate);
                    let p2 = if n2 > 0.0 { k2 / n2 } else { 0.0 };
                    let mdd = hypothesis::minimum_detectable_difference(n1, n2, p2, alpha, u.power)
                        .map_or_else(
                            || {
                                Value::undefined(format!(
                                    "no rows in the denominator of {key} in the group or \
                                         the reference"
                                ))
                            },
                            Value::defined,
                        );
                    g.uncertainty
                        .minimum_detectable_difference
                        .insert(key.clone(), mdd);
                    if !g.insufficient_data {
                        if let Some(t) = hypothesis::two_proportion_test(k1, n1, k2, n2) {
                            comparisons.push((ai, gi, key, t));
                        }
                    }
                }
            }
        }
    }
    let raw: Vec<f64> = comparisons.iter().map(|c| c.3.p_value).collect();
    let adjusted = hypothesis::adjust(&raw, u.correction);
    for ((ai, gi, key, t), p) in comparisons.into_iter().zip(adjusted) {
        let g = &mut report.attributes[ai].groups[gi];
        if let Some(Disparity::Pair(pair)) = g.disparities.get_mut(&key) {
            for v in [&mut pair.difference, &mut pair.ratio] {
                if v.value.is_some() {
                    v.p_value = Some(p);
                }
            }
        }
        g.uncertainty.tests.insert(
            key,
            crate::stats::TestReport {
                test: t.kind,
                statistic: t.statistic,
                p_value: t.p_value,
                p_value_adjusted: p,
            },
        );
    }
}

/// Which statistic a bootstrap replicate value belongs to: (attribute, group or `None` for
/// the summary, key, 0 ratio / 1 difference / 2 summary value / 3 group metric).
type StatId = (usize, Option<usize>, String, u8);

/// Percentile intervals of every multiclass disparity and summary (`--bootstrap N`): each
/// replicate redraws every cell's confusion matrix ([`class_bootstrap`]) and recomputes the
/// metrics, disparities and summaries from it; the reference group and the compared groups stay
/// those of the observed report.
fn multiclass_bootstrap(
    audit: &Audit,
    agg: &TaskAggregate<ClassConfusion>,
    classes: &BTreeSet<String>,
    report: &mut AuditReport,
) {
    let u = audit.uncertainty;
    let mut draws: BTreeMap<StatId, Vec<Option<f64>>> = BTreeMap::new();
    for rep in 0..u64::from(u.bootstrap) {
        let mut rng = class_bootstrap::replicate_rng(u.seed, rep);
        let cells = if audit.columns.class_scores.is_empty() {
            class_bootstrap::resample_cells(&agg.cells, &mut rng)
        } else {
            let mut scores = class_bootstrap::score_rng(u.seed, rep);
            class_bootstrap::resample_cells_with_scores(&agg.cells, &mut rng, &mut scores)
        };
        let table = TaskAggregate {
            cells,
            ..Default::default()
        };
        let overall = multiclass_point(audit, &table.total(), classes);
        for (ai, (def, a)) in audit.attributes.iter().zip(&report.attributes).enumerate() {
            let groups = table.roll_up(&def.positions);
            let metrics: Vec<Metrics> = (groups.values())
                .map(|m| multiclass_point(audit, m, classes))
                .collect();
            push_pair_draws(&mut draws, ai, a, &metrics);
            // The score metrics of each group (the rates have Wilson intervals).
            for (gi, m) in metrics.iter().enumerate() {
                for (key, v) in m.iter().filter(|(k, _)| multiclass::is_score_metric(k)) {
                    let id = (ai, Some(gi), key.clone(), 3);
                    draws.entry(id).or_default().push(v.value);
                }
            }
            let insufficient = a.groups.iter().map(|g| g.insufficient_data);
            let mut summary = metric_summaries(insufficient.zip(&metrics), &overall);
            multiclass::worst_class_summaries(&mut summary, classes);
            for (key, v) in summary {
                draws.entry((ai, None, key, 2)).or_default().push(v.value);
            }
        }
    }
    set_percentile_intervals(report, draws, u.confidence, true);
}
