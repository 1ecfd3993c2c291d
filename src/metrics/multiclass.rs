//! Multiclass metrics (issue 11): pure functions of a [`ClassConfusion`]. No I/O here.
//!
//! For group g with weighted confusion matrix C (C[a][b] = Σw of rows with true class a and
//! predicted class b), n = ΣC, and each class c one-vs-rest:
//! TP_c = C[c][c], FP_c = Σ_{a≠c} C[a][c], FN_c = Σ_{b≠c} C[c][b], TN_c = n − TP_c − FP_c − FN_c.
//! - `selection_rate@c` = (TP_c+FP_c)/n, `base_rate@c` = (TP_c+FN_c)/n,
//!   `tpr@c` = TP_c/(TP_c+FN_c) (scikit-learn `recall_score(labels=[c], average=None)`),
//!   `fpr@c` = FP_c/(FP_c+TN_c), `precision@c` = TP_c/(TP_c+FP_c) (`precision_score`);
//! - `accuracy` = Σ_c C[c][c]/n, `error_rate` = 1 − accuracy;
//! - `macro_<m>` = mean of `m@c` over the audit's classes where it is defined (scikit-learn's
//!   `average="macro"` counts an undefined class as 0 instead);
//! - `worst_class_tpr` and `worst_class_precision` = the smallest, `worst_class_fpr` = the
//!   largest defined `m@c`.
//!
//! - with score columns (`class_scores`): `auc@c` = one-vs-rest ROC AUC of class c's score
//!   (scikit-learn `roc_auc_score(y == c, s_c, sample_weight=w)`, ties ½), `macro_auc` and
//!   `worst_class_auc` (the smallest); when every class of the audit has a score column,
//!   `brier` = Σw·Σ_c (s_c − [y = c])²/W (scikit-learn's multiclass `brier_score_loss`) and
//!   `log_loss` = −Σw·ln s_y/W with s clipped to [ε, 1 − ε], ε = `f64::EPSILON` (`log_loss`);
//!   both from the per-class score distributions, so exact while they are;
//!
//! - with score columns, per scored class c one-vs-rest calibration of s_c against [y = c]
//!   ([`class_calibration`]): `ece@c` and `mce@c` over B equal-width bins, the binary audit's
//!   convention (CONTRACT §2 `ece`: right-closed bins, edges `numpy.linspace(0, 1, B+1)`,
//!   empty bins skipped), from the per-class score distributions; `worst_class_ece` = the
//!   largest `ece@c`. `--binning quantile` applies to binary audits only.
//!
//! The classes are those seen anywhere in the audit (label or prediction), so every group has
//! the same keys; a class absent from a group gives undefined rates there, never 0.

use std::collections::{BTreeMap, BTreeSet};

use crate::aggregate::multiclass::ClassConfusion;
use crate::aggregate::regression::ValueDistribution;

use super::calibration::{self, BinRow};
use super::{Metrics, Value};
use crate::aggregate::bin_index;

/// The one-vs-rest rates computed per class, as `<rate>@<class>`.
pub const CLASS_RATES: [&str; 5] = ["selection_rate", "base_rate", "tpr", "fpr", "precision"];

/// The rates with a macro average (`macro_<rate>`).
pub const MACRO_RATES: [&str; 4] = ["selection_rate", "tpr", "fpr", "precision"];

/// The worst-class metric keys and whether "worst" is the largest value.
pub const WORST_CLASS: [(&str, &str, bool); 3] = [
    ("worst_class_tpr", "tpr", false),
    ("worst_class_fpr", "fpr", true),
    ("worst_class_precision", "precision", false),
];

/// The per-class summary metrics over the classes of an attribute's between-group
/// comparisons: `<rate>_worst_class_difference` (the largest `<rate>@c_difference` over
/// classes) and `<rate>_worst_class_ratio` (the smallest `<rate>@c_ratio`).
pub const WORST_CLASS_SUMMARIES: [&str; 2] = ["worst_class_difference", "worst_class_ratio"];

/// True for a metric read from the class score columns (`auc@c`, `ece@c`, `mce@c`,
/// `macro_auc`, `worst_class_auc`, `worst_class_ece`, `brier`, `log_loss`).
pub fn is_score_metric(key: &str) -> bool {
    let stem = key.split_once('@').map_or(key, |(stem, _)| stem);
    matches!(
        stem,
        "auc"
            | "ece"
            | "mce"
            | "macro_auc"
            | "worst_class_auc"
            | "worst_class_ece"
            | "brier"
            | "log_loss"
    )
}

/// The key of a per-class rate.
pub fn class_key(rate: &str, class: &str) -> String {
    format!("{rate}@{class}")
}

/// Weighted one-vs-rest counts (TP, FP, FN, TN) of class `c`.
pub fn one_vs_rest(m: &ClassConfusion, c: &str) -> [f64; 4] {
    one_vs_rest_by(m, c, |e| e.weight)
}

/// [`one_vs_rest`] of Σw² instead of Σw (for Kish's effective sample size).
pub fn one_vs_rest_sq(m: &ClassConfusion, c: &str) -> [f64; 4] {
    one_vs_rest_by(m, c, |e| e.weight_sq)
}

fn one_vs_rest_by(
    m: &ClassConfusion,
    c: &str,
    w: impl Fn(&crate::aggregate::multiclass::Entry) -> f64,
) -> [f64; 4] {
    let (mut tp, mut fp, mut fn_, mut n) = (0.0, 0.0, 0.0, 0.0);
    for ((l, p), e) in &m.entries {
        let weight = w(e);
        n += weight;
        match (l == c, p == c) {
            (true, true) => tp += weight,
            (false, true) => fp += weight,
            (true, false) => fn_ += weight,
            (false, false) => {}
        }
    }
    [tp, fp, fn_, n - tp - fp - fn_]
}

/// Numerator and denominator of a per-class rate, as in [`one_vs_rest`].
pub fn rate_parts(rate: &str, [tp, fp, fn_, tn]: [f64; 4]) -> (f64, f64) {
    match rate {
        "selection_rate" => (tp + fp, tp + fp + fn_ + tn),
        "base_rate" => (tp + fn_, tp + fp + fn_ + tn),
        "tpr" => (tp, tp + fn_),
        "fpr" => (fp, fp + tn),
        _ => (tp, tp + fp),
    }
}

fn reason(rate: &str, class: &str) -> String {
    match rate {
        "tpr" => format!("no row of the group has true class '{class}'"),
        "fpr" => format!("every row of the group has true class '{class}'"),
        "precision" => format!("no row of the group is predicted '{class}'"),
        _ => "group has zero total weight".into(),
    }
}

/// The weighted ROC AUC of scores `positives` against `negatives` (Mann–Whitney: the
/// probability that a positive scores above a negative, ties ½). Undefined without a positive
/// or a negative weight.
pub fn auc(positives: &[&ValueDistribution], negatives: &[&ValueDistribution]) -> Value {
    // (value, positive weight, negative weight), merged over the distributions.
    let mut points: Vec<(f64, f64, f64)> = Vec::new();
    for (ds, pos) in [(positives, true), (negatives, false)] {
        for d in ds {
            for (v, m) in d.points() {
                points.push(if pos {
                    (v, m.weight, 0.0)
                } else {
                    (v, 0.0, m.weight)
                });
            }
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut below, mut sum, mut p_total, mut n_total) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < points.len() {
        let (mut p, mut n) = (0.0, 0.0);
        let v = points[i].0;
        while i < points.len() && points[i].0 == v {
            p += points[i].1;
            n += points[i].2;
            i += 1;
        }
        sum += p * (below + 0.5 * n);
        below += n;
        p_total += p;
        n_total += n;
    }
    if p_total <= 0.0 {
        Value::undefined("no row of the group has this true class")
    } else if n_total <= 0.0 {
        Value::undefined("every row of the group has this true class")
    } else {
        Value::defined(sum / (p_total * n_total))
    }
}

/// Every multiclass metric of one group over `classes`; `score_classes` names the class of
/// each score column of `m.scores`.
pub fn multiclass_metrics(
    m: &ClassConfusion,
    classes: &BTreeSet<String>,
    score_classes: &[String],
) -> Metrics {
    let mut out = Metrics::new();
    let total: f64 = m.entries.values().map(|e| e.weight).sum();
    let correct: f64 = (m.entries.iter())
        .filter(|((l, p), _)| l == p)
        .map(|(_, e)| e.weight)
        .sum();
    let accuracy = Value::ratio(correct, total, "group has zero total weight");
    out.insert("error_rate".into(), accuracy.map(|a| 1.0 - a));
    out.insert("accuracy".into(), accuracy);
    for c in classes {
        let counts = one_vs_rest(m, c);
        for rate in CLASS_RATES {
            let (num, den) = rate_parts(rate, counts);
            out.insert(class_key(rate, c), Value::ratio(num, den, &reason(rate, c)));
        }
    }
    for rate in MACRO_RATES {
        let defined: Vec<f64> = (classes.iter())
            .filter_map(|c| out[&class_key(rate, c)].value)
            .collect();
        let v = if defined.is_empty() {
            Value::undefined(format!("{rate} is undefined for every class"))
        } else {
            Value::defined(defined.iter().sum::<f64>() / defined.len() as f64)
        };
        out.insert(format!("macro_{rate}"), v);
    }
    for (key, rate, largest) in WORST_CLASS {
        let defined = (classes.iter()).filter_map(|c| out[&class_key(rate, c)].value);
        let v = if largest {
            defined.reduce(f64::max)
        } else {
            defined.reduce(f64::min)
        };
        let v = v.map_or_else(
            || Value::undefined(format!("{rate} is undefined for every class")),
            Value::defined,
        );
        out.insert(key.into(), v);
    }
    if !score_classes.is_empty() {
        let empty = BTreeMap::new();
        let mut defined = Vec::new();
        for (k, c) in score_classes.iter().enumerate() {
            let by_label = m.scores.get(k).unwrap_or(&empty);
            let (pos, neg): (Vec<_>, Vec<_>) = by_label.iter().partition(|(l, _)| *l == c);
            let v = auc(
                &pos.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
                &neg.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
            );
            defined.extend(v.value);
            out.insert(class_key("auc", c), v);
        }
        let undefined = || Value::undefined("auc is undefined for every scored class");
        let macro_auc = if defined.is_empty() {
            undefined()
        } else {
            Value::defined(defined.iter().sum::<f64>() / defined.len() as f64)
        };
        out.insert("macro_auc".into(), macro_auc);
        let (brier, log_loss) = score_losses(m, classes, score_classes);
        out.insert("brier".into(), brier);
        out.insert("log_loss".into(), log_loss);
        let worst = defined.into_iter().reduce(f64::min);
        out.insert(
            "worst_class_auc".into(),
            worst.map_or_else(undefined, Value::defined),
        );
    }
    out
}

/// The reliability bins of score column `k` (class `class`) one-vs-rest: B equal-width,
/// right-closed bins ([`bin_index`]), each with its rows, Σw, Σw·s_c and Σw·[y = c].
pub fn class_bins(m: &ClassConfusion, k: usize, class: &str, bins: usize) -> Vec<BinRow> {
    let bins = bins.max(1);
    let step = 1.0 / bins as f64;
    let edge = |b: usize| if b == bins { 1.0 } else { b as f64 * step };
    let mut rows: Vec<BinRow> = (0..bins)
        .map(|b| BinRow {
            lo: edge(b),
            hi: edge(b + 1),
            ..BinRow::default()
        })
        .collect();
    for (label, d) in m.scores.get(k).into_iter().flatten() {
        let positive = label == class;
        for (s, mass) in d.points() {
            let row = &mut rows[bin_index(s, bins)];
            row.rows += mass.rows as f64;
            row.weight += mass.weight;
            row.sum_score += mass.weight * s;
            if positive {
                row.sum_label += mass.weight;
            }
        }
    }
    rows
}

/// Per scored class, `ece@c` and `mce@c` of its one-vs-rest reliability bins
/// ([`class_bins`]), and `worst_class_ece`, the largest defined `ece@c`.
pub fn class_calibration(m: &ClassConfusion, score_classes: &[String], bins: usize) -> Metrics {
    let mut out = Metrics::new();
    let mut defined = Vec::new();
    for (k, c) in score_classes.iter().enumerate() {
        let rows = class_bins(m, k, c, bins);
        let ece = calibration::ece(&rows);
        defined.extend(ece.value);
        out.insert(class_key("ece", c), ece);
        out.insert(class_key("mce", c), calibration::mce(&rows));
    }
    if !score_classes.is_empty() {
        out.insert(
            "worst_class_ece".into(),
            defined.into_iter().reduce(f64::max).map_or_else(
                || Value::undefined("ece is undefined for every scored class"),
                Value::defined,
            ),
        );
    }
    out
}

/// The multiclass Brier score and log loss of a group (see the module docs).
fn score_losses(
    m: &ClassConfusion,
    classes: &BTreeSet<String>,
    score_classes: &[String],
) -> (Value, Value) {
    if let Some(c) = classes.iter().find(|c| !score_classes.contains(c)) {
        let v = Value::undefined(format!("class '{c}' has no score column"));
        return (v.clone(), v);
    }
    let total: f64 = m.entries.values().map(|e| e.weight).sum();
    if total <= 0.0 {
        let v = Value::undefined("group has zero total weight");
        return (v.clone(), v);
    }
    let (eps, mut brier, mut log_loss) = (f64::EPSILON, 0.0, 0.0);
    for (k, c) in score_classes.iter().enumerate() {
        let Some(by_label) = m.scores.get(k) else {
            continue;
        };
        for (label, d) in by_label {
            let y = if label == c { 1.0 } else { 0.0 };
            for (s, mass) in d.points() {
                brier += mass.weight * (s - y) * (s - y);
                if label == c {
                    log_loss -= mass.weight * s.clamp(eps, 1.0 - eps).ln();
                }
            }
        }
    }
    (
        Value::defined(brier / total),
        Value::defined(log_loss / total),
    )
}

/// `<rate>_worst_class_difference` and `_ratio` from an attribute summary that already holds
/// `<rate>@c_difference` and `<rate>@c_ratio` for every class.
pub fn worst_class_summaries(summary: &mut Metrics, classes: &BTreeSet<String>) {
    let scored = summary.keys().any(|k| k.starts_with("auc@"));
    for rate in CLASS_RATES.into_iter().chain(scored.then_some("auc")) {
        let collect = |suffix: &str| -> Vec<f64> {
            (classes.iter())
                .filter_map(|c| {
                    summary
                        .get(&format!("{}_{suffix}", class_key(rate, c)))?
                        .value
                })
                .collect()
        };
        let differences = collect("difference");
        let ratios = collect("ratio");
        let undefined = || Value::undefined(format!("{rate} differs by no class (too few groups)"));
        let d = differences
            .into_iter()
            .reduce(f64::max)
            .map_or_else(undefined, Value::defined);
        let r = ratios
            .into_iter()
            .reduce(f64::min)
            .map_or_else(undefined, Value::defined);
        summary.insert(format!("{rate}_worst_class_difference"), d);
        summary.insert(format!("{rate}_worst_class_ratio"), r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_one_vs_rest() {
        // Rows (true, predicted): (a,a) (a,b) (b,b) (c,a).
        let mut m = ClassConfusion::default();
        for (l, p) in [("a", "a"), ("a", "b"), ("b", "b"), ("c", "a")] {
            m.push(l, p, 1.0);
        }
        let classes: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
        let out = multiclass_metrics(&m, &classes, &[]);
        assert_eq!(out["accuracy"].value, Some(0.5));
        // a: TP 1, FP 1 (c→a), FN 1 (a→b), TN 1.
        assert_eq!(out["tpr@a"].value, Some(0.5));
        assert_eq!(out["fpr@a"].value, Some(0.5));
        assert_eq!(out["precision@a"].value, Some(0.5));
        assert_eq!(out["selection_rate@a"].value, Some(0.5));
        // c is never predicted: precision undefined, not 0; tpr 0.
        assert_eq!(out["precision@c"].value, None);
        assert_eq!(out["tpr@c"].value, Some(0.0));
        // tpr: a 0.5, b 1, c 0 → macro 0.5, worst 0.
        assert_eq!(out["macro_tpr"].value, Some(0.5));
        assert_eq!(out["worst_class_tpr"].value, Some(0.0));
        // precision: a 0.5, b 0.5, c undefined → macro over defined = 0.5.
        assert_eq!(out["macro_precision"].value, Some(0.5));
    }
}
