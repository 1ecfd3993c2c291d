//! Uncertainty of the audit's numbers (issue 5): confidence intervals, tests against the
//! reference group, minimum detectable differences, and CI-aware policies.
//!
//! - [`ci`]: Wilson (default) and Clopper–Pearson intervals of every per-group rate, with
//!   Kish's effective sample size for weighted data; percentile intervals;
//! - [`bootstrap`]: seeded, stratified bootstrap on the per-cell statistics, for disparities,
//!   between-group summaries and the rates without a closed-form interval;
//! - [`hypothesis`]: z-test / Fisher's exact test of each group's rate against the reference,
//!   Holm / Benjamini–Hochberg adjustment, minimum detectable difference;
//! - [`prec`]: the tolerances of the reference tests.
//!
//! [`annotate`] adds all of it to a built report; [`judge`] makes a policy result CI-aware;
//! [`sample_size_warnings`] flags groups too small to decide a policy. None of it changes a
//! metric's `value`.

use std::collections::BTreeMap;

use crate::aggregate::{CellKey, CellTable, Confusion, GroupStats, Sum};
use crate::metrics::calibration::Binning;
use crate::metrics::catalog::Resolved;
use crate::metrics::disparity::Disparity;
use crate::metrics::{Metrics, Value};
use crate::report::{AuditReport, PolicyStatus};
use crate::spec::policy::{Bound, Op, Policy};
use crate::spec::AttributeDef;

pub mod bootstrap;
pub mod ci;
pub mod class_bootstrap;
pub mod distances;
pub mod hypothesis;
pub mod mean_bootstrap;
pub mod prec;
pub mod score_bootstrap;

use bootstrap::{AttributeDesign, Slot};
use ci::CiMethod;
use hypothesis::{Correction, TestKind};

/// Default confidence level of every interval; the tests' significance level is 1 − it.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// Default power of the minimum detectable difference.
pub const DEFAULT_POWER: f64 = 0.8;

/// Bootstrap replicates when `--bootstrap` is given without a number.
pub const DEFAULT_BOOTSTRAP: u32 = 1000;

/// The uncertainty options of an audit, recorded in the report's `options`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Uncertainty {
    /// Interval of the per-group rates.
    pub ci_method: CiMethod,
    /// Level of every interval (rates and bootstrap), e.g. 0.95.
    pub confidence: f64,
    /// Bootstrap replicates; 0 = no bootstrap.
    pub bootstrap: u32,
    /// Seed of the bootstrap (fixed by default, so reports are reproducible).
    pub seed: u64,
    /// Adjustment of the p-values across all comparisons of the audit.
    pub correction: Correction,
    /// Power of the minimum detectable difference.
    pub power: f64,
}

impl Default for Uncertainty {
    fn default() -> Self {
        Uncertainty {
            ci_method: CiMethod::Wilson,
            confidence: DEFAULT_CONFIDENCE,
            bootstrap: 0,
            seed: 0,
            correction: Correction::Holm,
            power: DEFAULT_POWER,
        }
    }
}

/// What a policy result whose interval straddles its bound does to the gate.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum OnUncertain {
    /// Fail the gate unless the whole interval meets the bound (compliance must be shown).
    Fail,
    /// Default: the gate follows the observed value, and the result says `uncertain: true`.
    /// Keeps the verdict a function of the point estimate (as CONTRACT.md §1 defines it)
    /// while making the doubt visible; see README "Uncertainty".
    #[default]
    Warn,
    /// Pass the gate unless the whole interval violates the bound (a violation must be shown).
    Pass,
}

/// The uncertainty of one policy result; flattened into the result's JSON object.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct PolicyUncertainty {
    /// The interval of the observed value, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<[f64; 2]>,
    /// True when the interval straddles the bound (part meets it, part does not); null when
    /// there is no interval or no observed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertain: Option<bool>,
    /// What an uncertain result does to the gate.
    #[serde(default)]
    pub on_uncertain: OnUncertain,
    /// Sample-size warnings (a group too small for the bound to be decided).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One test of a group's rate against the reference group's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestReport {
    /// `z_test` or `fisher`.
    pub test: TestKind,
    /// z for the z-test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<f64>,
    /// Two-sided p-value, unadjusted.
    pub p_value: f64,
    /// After the audit-wide correction (`options.correction`); this is the `p_value` put on
    /// the disparities.
    pub p_value_adjusted: f64,
}

/// A group's tests and minimum detectable differences; flattened into the group's JSON.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct GroupUncertainty {
    /// Per tested metric (`selection_rate`, `tpr`, `fpr`): the test against the reference.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tests: BTreeMap<String, TestReport>,
    /// Per tested metric: the smallest difference from the reference that a two-sided test at
    /// level 1 − confidence detects with the chosen power.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub minimum_detectable_difference: Metrics,
}

/// The metrics tested against the reference, with the complement that shares the test
/// (fnr = 1 − tpr, tnr = 1 − fpr): demographic parity and equalized odds. Other rates are not
/// tested, to keep the multiple-testing family (and the correction) small.
pub const TESTED: [(&str, Option<&str>); 3] = [
    ("selection_rate", None),
    ("tpr", Some("fnr")),
    ("fpr", Some("tnr")),
];

/// Confusion cells (TP, FP, TN, FN) summed in a rate's numerator and denominator.
type Cells = [bool; 4];

const ALL: Cells = [true; 4];

/// Every rate that is a proportion of rows: key, numerator cells, denominator cells.
const PROPORTIONS: [(&str, Cells, Cells); 12] = [
    ("selection_rate", [true, true, false, false], ALL),
    ("base_rate", [true, false, false, true], ALL),
    (
        "tpr",
        [true, false, false, false],
        [true, false, false, true],
    ),
    (
        "fnr",
        [false, false, false, true],
        [true, false, false, true],
    ),
    (
        "fpr",
        [false, true, false, false],
        [false, true, true, false],
    ),
    (
        "tnr",
        [false, false, true, false],
        [false, true, true, false],
    ),
    (
        "precision",
        [true, false, false, false],
        [true, true, false, false],
    ),
    (
        "fdr",
        [false, true, false, false],
        [true, true, false, false],
    ),
    (
        "npv",
        [false, false, true, false],
        [false, false, true, true],
    ),
    (
        "for",
        [false, false, false, true],
        [false, false, true, true],
    ),
    ("accuracy", [true, false, true, false], ALL),
    ("error_rate", [false, true, false, true], ALL),
];

fn sum(c: &Confusion<Sum>, cells: Cells) -> f64 {
    let c = c.value();
    [c.tp, c.fp, c.tn, c.fn_]
        .iter()
        .zip(cells)
        .filter(|(_, on)| *on)
        .map(|(x, _)| x)
        .sum()
}

fn cells_of(metric: &str) -> Option<(Cells, Cells)> {
    PROPORTIONS
        .iter()
        .find(|(k, _, _)| *k == metric)
        .map(|(_, num, den)| (*num, *den))
}

/// A rate as (effective successes, effective trials): (p̂·n_eff, n_eff), with the exact
/// counts when the data are unweighted. `None` for an unknown metric.
pub fn effective_counts(metric: &str, stats: &GroupStats) -> Option<(f64, f64)> {
    let (num, den) = cells_of(metric)?;
    let (w, w2) = (sum(&stats.weighted, den), sum(&stats.weighted_sq, den));
    let n = ci::effective_size(w, w2);
    let k = if w2 == w {
        sum(&stats.weighted, num)
    } else if w > 0.0 {
        sum(&stats.weighted, num) / w * n
    } else {
        0.0
    };
    Some((k, n))
}

/// Attach the interval of `opts.ci_method` to every defined proportion in `metrics`.
/// `ppr` gets one when `attribute_pp` = (Σw, Σw²) of the attribute's predicted positives is
/// given (not over all rows, where it is 1 by definition).
pub fn attach_rate_cis(
    metrics: &mut Metrics,
    stats: &GroupStats,
    attribute_pp: Option<(f64, f64)>,
    opts: &Uncertainty,
) {
    let level = opts.confidence;
    let pp = [true, true, false, false];
    let mut intervals: Vec<(&str, Option<[f64; 2]>)> = PROPORTIONS
        .iter()
        .map(|(key, num, den)| {
            let ci = ci::weighted_rate_ci(
                opts.ci_method,
                sum(&stats.weighted, *num),
                sum(&stats.weighted, *den),
                sum(&stats.weighted_sq, *den),
                level,
            );
            (*key, ci)
        })
        .collect();
    if let Some((w, w2)) = attribute_pp {
        let ci = ci::weighted_rate_ci(opts.ci_method, sum(&stats.weighted, pp), w, w2, level);
        intervals.push(("ppr", ci));
    }
    for (key, ci) in intervals {
        if let Some(v) = metrics.get_mut(key).filter(|v| v.value.is_some()) {
            v.ci = ci;
        }
    }
}

/// Add intervals, tests, minimum detectable differences and (with `opts.bootstrap > 0`)
/// bootstrap intervals to `report`, which [`crate::audit::build_report`] made from `table`
/// with the attributes `defs`; `rolled` is the table's total and each attribute's groups
/// (`table.total()` and `table.roll_up` of each attribute, as the report used them). No `value`
/// changes.
pub fn annotate(
    opts: &Uncertainty,
    binning: Binning,
    table: &CellTable,
    rolled: (&GroupStats, &[BTreeMap<CellKey, GroupStats>]),
    defs: &[AttributeDef],
    report: &mut AuditReport,
) {
    let alpha = 1.0 - opts.confidence;
    let (total, groups_of) = rolled;
    attach_rate_cis(&mut report.overall.metrics, total, None, opts);
    let mut comparisons = Vec::new();
    let mut designs = Vec::new();
    for (a, (def, attribute)) in defs.iter().zip(&mut report.attributes).enumerate() {
        let groups = &groups_of[a];
        let keys: Vec<CellKey> = groups.keys().cloned().collect();
        let pp = groups.values().fold((0.0, 0.0), |(w, w2), g| {
            (
                w + g.weighted.tp.value() + g.weighted.fp.value(),
                w2 + g.weighted_sq.tp.value() + g.weighted_sq.fp.value(),
            )
        });
        for (g, stats) in attribute.groups.iter_mut().zip(groups.values()) {
            attach_rate_cis(&mut g.metrics, stats, Some(pp), opts);
        }
        let reference = attribute
            .reference
            .as_ref()
            .and_then(|r| attribute.groups.iter().position(|g| g.value == *r));
        if let Some(r) = reference {
            let reference_stats = &groups[&keys[r]];
            for (i, (g, stats)) in attribute.groups.iter_mut().zip(groups.values()).enumerate() {
                if i == r {
                    continue;
                }
                for (metric, _) in TESTED {
                    let (Some((k1, n1)), Some((k2, n2))) = (
                        effective_counts(metric, stats),
                        effective_counts(metric, reference_stats),
                    ) else {
                        continue;
                    };
                    let mdd = match hypothesis::minimum_detectable_difference(
                        n1,
                        n2,
                        if n2 > 0.0 { k2 / n2 } else { 0.0 },
                        alpha,
                        opts.power,
                    ) {
                        Some(d) => Value::defined(d),
                        None => Value::undefined(format!(
                            "no rows in the denominator of {metric} in the group or the reference"
                        )),
                    };
                    g.uncertainty
                        .minimum_detectable_difference
                        .insert(metric.to_string(), mdd);
                    if !g.insufficient_data {
                        if let Some(t) = hypothesis::two_proportion_test(k1, n1, k2, n2) {
                            comparisons.push((a, i, metric, t));
                        }
                    }
                }
            }
        }
        designs.push(AttributeDesign {
            positions: def.positions.clone(),
            reference: reference.map(|r| keys[r].clone()),
            compared: keys
                .iter()
                .zip(&attribute.groups)
                .filter(|(_, g)| !g.insufficient_data)
                .map(|(k, _)| k.clone())
                .collect(),
        });
    }
    let raw: Vec<f64> = comparisons.iter().map(|c| c.3.p_value).collect();
    let adjusted = hypothesis::adjust(&raw, opts.correction);
    for ((a, i, metric, t), p) in comparisons.into_iter().zip(adjusted) {
        let g = &mut report.attributes[a].groups[i];
        g.uncertainty.tests.insert(
            metric.to_string(),
            TestReport {
                test: t.kind,
                statistic: t.statistic,
                p_value: t.p_value,
                p_value_adjusted: p,
            },
        );
        let complement = TESTED.iter().find(|(m, _)| *m == metric).and_then(|t| t.1);
        for key in std::iter::once(metric).chain(complement) {
            if let Some(Disparity::Pair(pair)) = g.disparities.get_mut(key) {
                for v in [&mut pair.difference, &mut pair.ratio] {
                    if v.value.is_some() {
                        v.p_value = Some(p);
                    }
                }
            }
        }
    }
    if opts.bootstrap > 0 {
        bootstrap_intervals(opts, binning, table, &designs, report);
    }
}

/// Percentile intervals from `opts.bootstrap` replicates for every defined value of the report
/// that has no interval yet and that the replicates recompute (rate-based values, and the
/// score metrics of [`score_bootstrap`] with everything derived from them).
///
/// Each replicate value is shifted by (report value − value recomputed from the unresampled
/// statistics): zero for the rates, and for the score metrics the small difference between
/// the row-by-row sums and the sums rebuilt from the score distribution (binned beyond
/// 65,536 distinct scores), so every interval is centred on the reported value's scale.
fn bootstrap_intervals(
    opts: &Uncertainty,
    binning: Binning,
    table: &CellTable,
    designs: &[AttributeDesign],
    report: &mut AuditReport,
) {
    let scores = score_bootstrap::ScoreDesign::new(table, designs, binning);
    let unresampled = scores.as_ref().map(|sd| sd.observed());
    let observed =
        bootstrap::evaluate_with(table, designs, scores.as_ref().zip(unresampled.as_ref()));
    let mut slots = Vec::new();
    let mut consider = |slot: Slot, v: &Value| {
        if v.value.is_some() && v.ci.is_none() && observed.get(&slot).is_some() {
            slots.push(slot);
        }
    };
    for (key, v) in &report.overall.metrics {
        consider(Slot::Overall(key.clone()), v);
    }
    for (attribute, a) in report.attributes.iter().enumerate() {
        for (group, g) in a.groups.iter().enumerate() {
            for (key, v) in &g.metrics {
                let key = key.clone();
                consider(
                    Slot::GroupMetric {
                        attribute,
                        group,
                        key,
                    },
                    v,
                );
            }
            for (key, d) in &g.disparities {
                let key = key.clone();
                match d {
                    Disparity::Pair(p) => {
                        let (k2, part) = (key.clone(), Some("ratio"));
                        consider(
                            Slot::Disparity {
                                attribute,
                                group,
                                key: k2,
                                part,
                            },
                            &p.ratio,
                        );
                        let part = Some("difference");
                        consider(
                            Slot::Disparity {
                                attribute,
                                group,
                                key,
                                part,
                            },
                            &p.difference,
                        );
                    }
                    Disparity::Single(v) => {
                        consider(
                            Slot::Disparity {
                                attribute,
                                group,
                                key,
                                part: None,
                            },
                            v,
                        );
                    }
                }
            }
        }
        for (key, v) in &a.summary {
            consider(
                Slot::Summary {
                    attribute,
                    key: key.clone(),
                },
                v,
            );
        }
    }
    let rows = bootstrap::replicate_values(
        table,
        designs,
        scores.as_ref(),
        &slots,
        opts.bootstrap,
        opts.seed,
    );
    for (s, slot) in slots.iter().enumerate() {
        let recomputed = observed.get(slot);
        if let Some(v) = value_mut(report, slot) {
            if let (Some(x), Some(y)) = (v.value, recomputed) {
                let shift = x - y;
                let column: Vec<Option<f64>> =
                    rows.iter().map(|row| row[s].map(|r| r + shift)).collect();
                v.ci = ci::percentile_interval(&column, opts.confidence, x);
            }
        }
    }
}

/// The report's value at `slot`.
fn value_mut<'a>(report: &'a mut AuditReport, slot: &Slot) -> Option<&'a mut Value> {
    match slot {
        Slot::Overall(key) => report.overall.metrics.get_mut(key),
        Slot::GroupMetric {
            attribute,
            group,
            key,
        } => report.attributes[*attribute].groups[*group]
            .metrics
            .get_mut(key),
        Slot::Disparity {
            attribute,
            group,
            key,
            part,
        } => match (
            report.attributes[*attribute].groups[*group]
                .disparities
                .get_mut(key)?,
            part,
        ) {
            (Disparity::Pair(p), Some("ratio")) => Some(&mut p.ratio),
            (Disparity::Pair(p), Some(_)) => Some(&mut p.difference),
            (Disparity::Single(v), None) => Some(v),
            _ => None,
        },
        Slot::Summary { attribute, key } => report.attributes[*attribute].summary.get_mut(key),
    }
}

/// Does the interval straddle the bound, i.e. lie neither wholly inside nor wholly outside it?
///
/// # Examples
/// ```
/// use fairaudit::spec::policy::{Bound, Op};
/// use fairaudit::stats::straddles;
/// let b = Bound::Compare(Op::Ge, 0.8);
/// assert!(straddles(&b, [0.7, 0.9]));
/// assert!(!straddles(&b, [0.82, 0.9]));
/// assert!(!straddles(&Bound::Between(0.8, 1.25), [0.5, 0.7]));
/// ```
pub fn straddles(bound: &Bound, [lo, hi]: [f64; 2]) -> bool {
    let inside = bound.holds(lo) && bound.holds(hi);
    let outside = match *bound {
        Bound::Compare(Op::Ge, b) => hi < b,
        Bound::Compare(Op::Gt, b) => hi <= b,
        Bound::Compare(Op::Le, b) => lo > b,
        Bound::Compare(Op::Lt, b) => lo >= b,
        Bound::Between(l, h) => hi < l || lo > h,
    };
    !inside && !outside
}

/// The CI-aware part of a policy result on `value` with verdict `status`.
pub fn judge(policy: &Policy, value: Option<&Value>, status: PolicyStatus) -> PolicyUncertainty {
    let ci = value.and_then(|v| v.ci);
    let uncertain = match status {
        PolicyStatus::InsufficientData => None,
        _ => ci.map(|ci| straddles(&policy.bound, ci)),
    };
    PolicyUncertainty {
        ci,
        uncertain,
        on_uncertain: policy.on_uncertain,
        warnings: Vec::new(),
    }
}

/// Does a result with `status` and `uncertainty` fail the gate? (`None`: not decided here, the
/// result is insufficient data.)
pub fn fails_gate(status: PolicyStatus, u: &PolicyUncertainty) -> Option<bool> {
    let uncertain = u.uncertain == Some(true);
    match status {
        PolicyStatus::Pass => Some(uncertain && u.on_uncertain == OnUncertain::Fail),
        PolicyStatus::Fail => Some(!(uncertain && u.on_uncertain == OnUncertain::Pass)),
        PolicyStatus::InsufficientData => None,
    }
}

/// The tested metrics a policy's value depends on, and whether its null (equal groups) value
/// is a difference (0) or a ratio (1). A multiclass per-class rate is its own key
/// (`tpr@urgent`); a worst-class summary (`tpr_worst_class_difference`) depends on every
/// class's rate, written `tpr@*`.
fn policy_metrics(resolved: &Resolved) -> Option<(Vec<String>, bool)> {
    let tested = |m: &str| -> Option<String> {
        let stem = m.split_once('@').map_or(m, |(stem, _)| stem);
        TESTED.iter().any(|t| t.0 == stem).then(|| m.to_string())
    };
    match resolved {
        Resolved::DisparityPair { metric, part } => Some((vec![tested(metric)?], part == "ratio")),
        Resolved::Summary(key) => {
            let (stem, is_ratio) = if let Some(s) = key
                .strip_suffix("_ratio")
                .or_else(|| key.strip_suffix("_ratio_mean"))
            {
                (s, true)
            } else if let Some(s) = key
                .strip_suffix("_difference")
                .or_else(|| key.strip_suffix("_difference_mean"))
            {
                (s, false)
            } else {
                return None;
            };
            let metrics = match stem {
                "demographic_parity" => vec!["selection_rate".to_string()],
                "equal_opportunity" => vec!["tpr".to_string()],
                "equalized_odds" => vec!["tpr".to_string(), "fpr".to_string()],
                m => match m.strip_suffix("_worst_class") {
                    Some(rate) => vec![format!("{}@*", tested(rate)?)],
                    None => vec![tested(m)?],
                },
            };
            Some((metrics, is_ratio))
        }
        _ => None,
    }
}

/// The keys of `keys` a policy metric names: itself, or every class's rate for `rate@*`.
fn matching_keys<'a>(
    metric: &'a str,
    keys: impl Iterator<Item = &'a String> + 'a,
) -> impl Iterator<Item = &'a String> + 'a {
    keys.filter(move |k| match metric.strip_suffix('*') {
        Some(prefix) => k.starts_with(prefix),
        None => k.as_str() == metric,
    })
}

/// Distance from the null value (0 for a difference, 1 for a ratio) to the nearest end of the
/// bound, when the null meets the bound; `None` when it does not.
fn margin(bound: &Bound, null: f64) -> Option<f64> {
    if !bound.holds(null) {
        return None;
    }
    Some(match *bound {
        Bound::Compare(_, b) => (b - null).abs(),
        Bound::Between(lo, hi) => (null - lo).min(hi - null),
    })
}

/// Warn, on each policy result and in `report.warnings`, where a group is too small for the
/// policy's bound to be decided: its minimum detectable difference from the reference (in a
/// metric the policy depends on) exceeds the margin between the bound and parity. A margin on a
/// ratio is converted to a difference at the reference group's rate.
pub fn sample_size_warnings(policies: &[Policy], opts: &Uncertainty, report: &mut AuditReport) {
    let mut all: Vec<String> = Vec::new();
    for r in 0..report.policies.len() {
        let result = &report.policies[r];
        let Some(policy) = policies
            .iter()
            .find(|p| p.id == result.id && p.expression == result.expression)
        else {
            continue;
        };
        let Some((metrics, is_ratio)) = policy_metrics(&policy.resolved) else {
            continue;
        };
        let Some(margin) = margin(&policy.bound, if is_ratio { 1.0 } else { 0.0 }) else {
            continue;
        };
        let Some(attribute) = report
            .attributes
            .iter()
            .find(|a| Some(&a.name) == result.attribute.as_ref())
        else {
            continue;
        };
        let Some(reference) = attribute
            .groups
            .iter()
            .find(|g| Some(&g.value) == attribute.reference.as_ref())
        else {
            continue;
        };
        let mut warnings = Vec::new();
        for g in &attribute.groups {
            // A suppressed group's policy results are already `insufficient_data`; its
            // warning would only reveal its size (its row count, or the minimum detectable
            // difference that follows from it) in the human-readable reports.
            let wanted = !g.insufficient_data
                && match &result.group {
                    Some(name) => g.value == *name,
                    None => true,
                };
            if !wanted || g.value == reference.value {
                continue;
            }
            for pattern in &metrics {
                let mdds = &g.uncertainty.minimum_detectable_difference;
                for metric in matching_keys(pattern, mdds.keys()) {
                    let Some(mdd) = mdds.get(metric).and_then(|v| v.value) else {
                        continue;
                    };
                    let scale = if is_ratio {
                        match reference.metrics.get(metric).and_then(|v| v.value) {
                            Some(p) => p,
                            None => continue,
                        }
                    } else {
                        1.0
                    };
                    let needed = margin * scale;
                    if mdd > needed {
                        warnings.push(format!(
                            "policy '{}' on {}: group '{}' ({} rows) is too small to decide \
                             it: the minimum detectable {metric} difference from the \
                             reference '{}' is {mdd:.3} (alpha {:.3}, power {}), larger than \
                             the margin {needed:.3} between the bound and parity",
                            policy.expression,
                            attribute.name,
                            g.value,
                            g.count,
                            reference.value,
                            1.0 - opts.confidence,
                            opts.power,
                        ));
                    }
                }
            }
        }
        for w in &warnings {
            if !all.contains(w) {
                all.push(w.clone());
            }
        }
        report.policies[r].uncertainty.warnings = warnings;
    }
    for w in all {
        if !report.warnings.contains(&w) {
            report.warnings.push(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_counts_are_exact_without_weights() {
        let mut g = GroupStats::default();
        for (y, d) in [(true, true), (true, false), (false, true), (false, false)] {
            g.push(y, d, None, 1.0);
        }
        g.push(true, true, None, 1.0); // TP 2, FN 1, FP 1, TN 1
        assert_eq!(effective_counts("tpr", &g), Some((2.0, 3.0)));
        assert_eq!(effective_counts("selection_rate", &g), Some((3.0, 5.0)));
        assert_eq!(effective_counts("ppr", &g), None);
        // Weights 1 and 3 on the two negatives: n_eff = 16/10, fpr = 1/4 (FP has weight 1).
        let mut w = GroupStats::default();
        w.push(false, true, None, 1.0);
        w.push(false, false, None, 3.0);
        let (k, n) = effective_counts("fpr", &w).unwrap();
        assert!((n - 1.6).abs() < 1e-15 && (k - 0.4).abs() < 1e-15);
    }

    #[test]
    fn rate_cis_contain_the_rate_and_skip_undefined_ones() {
        let mut g = GroupStats::default();
        for _ in 0..3 {
            g.push(true, true, None, 1.0);
        }
        g.push(true, false, None, 1.0); // no negatives: fpr undefined
        let mut m = crate::metrics::rates::rate_metrics(&g, 3.0);
        attach_rate_cis(&mut m, &g, Some((3.0, 3.0)), &Uncertainty::default());
        for (key, v) in &m {
            match (v.value, v.ci) {
                (Some(x), Some([lo, hi])) => assert!(lo <= x && x <= hi, "{key}"),
                (None, ci) => assert_eq!(ci, None, "{key}"),
                (Some(_), None) => {
                    assert!(["balanced_accuracy", "f1"].contains(&key.as_str()), "{key}")
                }
            }
        }
        assert!(m["ppr"].ci.is_some());
    }

    #[test]
    fn straddling_and_the_gate() {
        let b = Bound::Between(0.8, 1.25);
        assert!(straddles(&b, [0.7, 0.9]));
        assert!(straddles(&b, [1.2, 1.3]));
        assert!(straddles(&b, [0.7, 1.3]));
        assert!(!straddles(&b, [0.9, 1.1]));
        assert!(!straddles(&b, [1.3, 1.4]));
        assert!(straddles(&Bound::Compare(Op::Lt, 0.1), [0.05, 0.1]));
        let u = |on: OnUncertain| PolicyUncertainty {
            uncertain: Some(true),
            on_uncertain: on,
            ..PolicyUncertainty::default()
        };
        use PolicyStatus::{Fail, InsufficientData, Pass};
        assert_eq!(fails_gate(Pass, &u(OnUncertain::Warn)), Some(false));
        assert_eq!(fails_gate(Fail, &u(OnUncertain::Warn)), Some(true));
        assert_eq!(fails_gate(Pass, &u(OnUncertain::Fail)), Some(true));
        assert_eq!(fails_gate(Fail, &u(OnUncertain::Pass)), Some(false));
        assert_eq!(fails_gate(InsufficientData, &u(OnUncertain::Pass)), None);
        // Certain results follow their status, whatever on_uncertain says.
        let certain = PolicyUncertainty {
            uncertain: Some(false),
            on_uncertain: OnUncertain::Pass,
            ..PolicyUncertainty::default()
        };
        assert_eq!(fails_gate(Fail, &certain), Some(true));
    }

    #[test]
    fn margins_and_policy_metrics() {
        assert_eq!(
            margin(&Bound::Compare(Op::Ge, 0.8), 1.0),
            Some(0.19999999999999996)
        );
        assert_eq!(margin(&Bound::Between(-0.1, 0.05), 0.0), Some(0.05));
        assert_eq!(margin(&Bound::Compare(Op::Ge, 0.1), 0.0), None);
        let s = |k: &str| {
            policy_metrics(&Resolved::Summary(k.into())).map(|(m, r)| {
                (
                    m.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","),
                    r,
                )
            })
        };
        let want = |m: &str, r: bool| Some((m.to_string(), r));
        assert_eq!(s("demographic_parity_ratio"), want("selection_rate", true));
        assert_eq!(s("equalized_odds_difference"), want("tpr,fpr", false));
        assert_eq!(s("fpr_ratio"), want("fpr", true));
        assert_eq!(s("ece_difference"), None);
        assert_eq!(s("tpr_group_min"), None);
        // Multiclass: a worst-class summary reads every class's rate.
        assert_eq!(s("tpr_worst_class_difference"), want("tpr@*", false));
        assert_eq!(s("precision_worst_class_ratio"), None);
        let pair = |metric: &str| {
            let part = "ratio".to_string();
            let r = Resolved::DisparityPair {
                metric: metric.into(),
                part,
            };
            policy_metrics(&r).map(|(m, _)| m.join(","))
        };
        assert_eq!(pair("tpr@urgent"), Some("tpr@urgent".into()));
        assert_eq!(pair("auc@urgent"), None);
        let keys = ["tpr@a".to_string(), "tpr@b".into(), "fpr@a".into()];
        let hits: Vec<&String> = matching_keys("tpr@*", keys.iter()).collect();
        assert_eq!(hits, [&keys[0], &keys[1]]);
    }
}
