//! Rates of the confusion matrix, per group (CONTRACT.md §2).
//!
//! With weighted counts TP, FP, TN, FN of the group (weights default to 1) and
//! n = TP + FP + TN + FN. A rate whose denominator is 0 is undefined, with the reason.

use crate::aggregate::{Confusion, GroupStats};

use super::{Metrics, Value};

/// Keys of the rate metrics, in report order.
pub const RATE_METRICS: [&str; 15] = [
    "selection_rate",
    "base_rate",
    "ppr",
    "tpr",
    "fnr",
    "fpr",
    "tnr",
    "precision",
    "fdr",
    "npv",
    "for",
    "accuracy",
    "error_rate",
    "balanced_accuracy",
    "f1",
];

const NO_ROWS: &str = "group has zero total weight";
const NO_POSITIVES: &str = "no positives (label 1) in the group";
const NO_NEGATIVES: &str = "no negatives (label 0) in the group";
const NO_PREDICTED_POSITIVES: &str = "no predicted positives in the group";
const NO_PREDICTED_NEGATIVES: &str = "no predicted negatives in the group";

/// Selection rate (TP+FP)/n. Fairlearn `selection_rate`, Aequitas `pprev`.
///
/// # Examples
/// ```
/// use fairaudit::aggregate::Confusion;
/// use fairaudit::metrics::rates::selection_rate;
/// let c = Confusion { tp: 2.0, fp: 1.0, tn: 1.0, fn_: 0.0 };
/// assert_eq!(selection_rate(&c).value, Some(0.75));
/// ```
pub fn selection_rate(c: &Confusion<f64>) -> Value {
    Value::ratio(c.tp + c.fp, total(c), NO_ROWS)
}

/// Base rate (TP+FN)/n: the share of positive labels. Aequitas `prev`, AIF360 `base_rate`.
pub fn base_rate(c: &Confusion<f64>) -> Value {
    Value::ratio(c.tp + c.fn_, total(c), NO_ROWS)
}

/// Predicted-positive share (TP+FP)/PP, PP = predicted positives of all groups of the attribute.
/// Aequitas `ppr`.
pub fn ppr(c: &Confusion<f64>, attribute_predicted_positives: f64) -> Value {
    Value::ratio(
        c.tp + c.fp,
        attribute_predicted_positives,
        "no predicted positives in any group of the attribute",
    )
}

/// True positive rate (recall) TP/(TP+FN). Fairlearn `true_positive_rate`.
pub fn tpr(c: &Confusion<f64>) -> Value {
    Value::ratio(c.tp, c.tp + c.fn_, NO_POSITIVES)
}

/// False negative rate (miss rate) FN/(TP+FN). Fairlearn `false_negative_rate`.
pub fn fnr(c: &Confusion<f64>) -> Value {
    Value::ratio(c.fn_, c.tp + c.fn_, NO_POSITIVES)
}

/// False positive rate FP/(FP+TN). Fairlearn `false_positive_rate`.
pub fn fpr(c: &Confusion<f64>) -> Value {
    Value::ratio(c.fp, c.fp + c.tn, NO_NEGATIVES)
}

/// True negative rate (specificity) TN/(FP+TN). Fairlearn `true_negative_rate`.
pub fn tnr(c: &Confusion<f64>) -> Value {
    Value::ratio(c.tn, c.fp + c.tn, NO_NEGATIVES)
}

/// Precision (PPV) TP/(TP+FP).
pub fn precision(c: &Confusion<f64>) -> Value {
    Value::ratio(c.tp, c.tp + c.fp, NO_PREDICTED_POSITIVES)
}

/// False discovery rate FP/(TP+FP).
pub fn fdr(c: &Confusion<f64>) -> Value {
    Value::ratio(c.fp, c.tp + c.fp, NO_PREDICTED_POSITIVES)
}

/// Negative predictive value TN/(TN+FN).
pub fn npv(c: &Confusion<f64>) -> Value {
    Value::ratio(c.tn, c.tn + c.fn_, NO_PREDICTED_NEGATIVES)
}

/// False omission rate FN/(TN+FN). (`for` is a Rust keyword, hence the name.)
pub fn false_omission_rate(c: &Confusion<f64>) -> Value {
    Value::ratio(c.fn_, c.tn + c.fn_, NO_PREDICTED_NEGATIVES)
}

/// Accuracy (TP+TN)/n.
pub fn accuracy(c: &Confusion<f64>) -> Value {
    Value::ratio(c.tp + c.tn, total(c), NO_ROWS)
}

/// Error rate (FP+FN)/n = 1 − accuracy. AIF360 `error_rate`.
pub fn error_rate(c: &Confusion<f64>) -> Value {
    Value::ratio(c.fp + c.fn_, total(c), NO_ROWS)
}

/// Balanced accuracy (TPR+TNR)/2; undefined when either rate is.
pub fn balanced_accuracy(c: &Confusion<f64>) -> Value {
    tpr(c).zip(&tnr(c), |a, b| (a + b) / 2.0)
}

/// F1 score 2TP/(2TP+FP+FN).
pub fn f1(c: &Confusion<f64>) -> Value {
    Value::ratio(
        2.0 * c.tp,
        2.0 * c.tp + c.fp + c.fn_,
        "no positives and no predicted positives in the group",
    )
}

/// n = TP+FP+TN+FN (weighted).
pub fn total(c: &Confusion<f64>) -> f64 {
    c.tp + c.fp + c.tn + c.fn_
}

/// Every rate metric of one group, keyed as in [`RATE_METRICS`].
pub fn rate_metrics(stats: &GroupStats, attribute_predicted_positives: f64) -> Metrics {
    let c = &stats.weighted.value();
    [
        ("selection_rate", selection_rate(c)),
        ("base_rate", base_rate(c)),
        ("ppr", ppr(c, attribute_predicted_positives)),
        ("tpr", tpr(c)),
        ("fnr", fnr(c)),
        ("fpr", fpr(c)),
        ("tnr", tnr(c)),
        ("precision", precision(c)),
        ("fdr", fdr(c)),
        ("npv", npv(c)),
        ("for", false_omission_rate(c)),
        ("accuracy", accuracy(c)),
        ("error_rate", error_rate(c)),
        ("balanced_accuracy", balanced_accuracy(c)),
        ("f1", f1(c)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(tp: f64, fp: f64, tn: f64, fn_: f64) -> Confusion<f64> {
        Confusion { tp, fp, tn, fn_ }
    }

    #[test]
    fn hand_computed_rates() {
        // TP=3 FP=1 TN=4 FN=2, n=10
        let m = c(3.0, 1.0, 4.0, 2.0);
        assert_eq!(selection_rate(&m).value, Some(0.4)); // 4/10
        assert_eq!(base_rate(&m).value, Some(0.5)); // 5/10
        assert_eq!(tpr(&m).value, Some(0.6)); // 3/5
        assert_eq!(fnr(&m).value, Some(0.4)); // 2/5
        assert_eq!(fpr(&m).value, Some(0.2)); // 1/5
        assert_eq!(tnr(&m).value, Some(0.8)); // 4/5
        assert_eq!(precision(&m).value, Some(0.75)); // 3/4
        assert_eq!(fdr(&m).value, Some(0.25)); // 1/4
        assert_eq!(npv(&m).value, Some(4.0 / 6.0)); // 4/6
        assert_eq!(false_omission_rate(&m).value, Some(2.0 / 6.0)); // 2/6
        assert_eq!(accuracy(&m).value, Some(0.7)); // 7/10
        assert_eq!(error_rate(&m).value, Some(0.3)); // 3/10
        assert_eq!(balanced_accuracy(&m).value, Some(0.7)); // (0.6+0.8)/2
        assert_eq!(f1(&m).value, Some(6.0 / 9.0)); // 6/(6+1+2)
        assert_eq!(ppr(&m, 8.0).value, Some(0.5)); // 4 of 8 predicted positives
    }

    #[test]
    fn every_empty_denominator_is_undefined_with_a_reason() {
        // Only negatives, never predicted positive: TN=3.
        let m = c(0.0, 0.0, 3.0, 0.0);
        for v in [
            tpr(&m),
            fnr(&m),
            precision(&m),
            fdr(&m),
            balanced_accuracy(&m),
            f1(&m),
        ] {
            assert_eq!(v.value, None);
            assert!(v.reason.is_some());
        }
        assert_eq!(tpr(&m).reason.as_deref(), Some(NO_POSITIVES));
        assert_eq!(
            precision(&m).reason.as_deref(),
            Some(NO_PREDICTED_POSITIVES)
        );
        assert_eq!(fpr(&m).value, Some(0.0)); // defined: a true 0, not an undefined one
                                              // Only positives, all predicted positive: TP=2.
        let m = c(2.0, 0.0, 0.0, 0.0);
        for v in [fpr(&m), tnr(&m), npv(&m), false_omission_rate(&m)] {
            assert_eq!(v.value, None);
        }
        // Zero total weight.
        let m = c(0.0, 0.0, 0.0, 0.0);
        for v in [
            selection_rate(&m),
            base_rate(&m),
            accuracy(&m),
            error_rate(&m),
        ] {
            assert_eq!(v.reason.as_deref(), Some(NO_ROWS));
        }
        assert_eq!(ppr(&m, 0.0).value, None);
    }
}
