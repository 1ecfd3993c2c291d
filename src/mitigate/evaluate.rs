//! Metrics of a set of decisions per group, before or after mitigation (pure functions of
//! weighted confusion counts; an expected count for randomised rules).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Utility;
use crate::aggregate::Confusion;
use crate::metrics::{rates, Metrics, Value};

/// Per-group keys: `selection_rate`, `base_rate`, `tpr`, `fpr`, `accuracy`,
/// `balanced_accuracy` (definitions as in the audit, README "Metrics").
pub const GROUP_KEYS: [&str; 6] = [
    "selection_rate",
    "base_rate",
    "tpr",
    "fpr",
    "accuracy",
    "balanced_accuracy",
];

/// Metrics of one set of decisions: overall, per group and between groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The [`GROUP_KEYS`] over all rows, plus `utility`.
    pub overall: Metrics,
    /// The [`GROUP_KEYS`] per group.
    pub groups: BTreeMap<String, Metrics>,
    /// `demographic_parity_difference`, `equal_opportunity_difference`,
    /// `equalized_odds_difference` (max − min over the groups where the rate is defined).
    pub summary: Metrics,
}

/// The group metrics of `c`.
pub fn group_metrics(c: &Confusion<f64>) -> Metrics {
    let values = [
        rates::selection_rate(c),
        rates::base_rate(c),
        rates::tpr(c),
        rates::fpr(c),
        rates::accuracy(c),
        rates::balanced_accuracy(c),
    ];
    GROUP_KEYS
        .iter()
        .map(|k| k.to_string())
        .zip(values)
        .collect()
}

/// The utility of decisions with overall counts `c`: accuracy, balanced accuracy, or minus
/// the mean cost per unit of weight, −(c_fp·FP + c_fn·FN)/W.
pub fn utility(u: Utility, c: &Confusion<f64>) -> Value {
    match u {
        Utility::Accuracy => rates::accuracy(c),
        Utility::BalancedAccuracy => rates::balanced_accuracy(c),
        Utility::Cost { fp, fn_ } => {
            let w = c.tp + c.fp + c.tn + c.fn_;
            Value::ratio(-(fp * c.fp + fn_ * c.fn_), w, "no rows")
        }
    }
}

/// max_g m_g − min_g m_g over the groups where `key` is defined; undefined when fewer than
/// one group has it.
pub fn spread(groups: &BTreeMap<String, Metrics>, key: &str) -> Value {
    let values: Vec<f64> = groups.values().filter_map(|m| m[key].get()).collect();
    if values.is_empty() {
        return Value::undefined(format!("{key} is undefined in every group"));
    }
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
    Value::defined(max - min)
}

/// The evaluation of per-group counts.
pub fn evaluate(groups: &BTreeMap<String, Confusion<f64>>, u: Utility) -> Evaluation {
    let mut total = Confusion::<f64>::default();
    for c in groups.values() {
        total.merge(c);
    }
    let mut overall = group_metrics(&total);
    overall.insert("utility".into(), utility(u, &total));
    let groups: BTreeMap<String, Metrics> = groups
        .iter()
        .map(|(g, c)| (g.clone(), group_metrics(c)))
        .collect();
    let tpr = spread(&groups, "tpr");
    let fpr = spread(&groups, "fpr");
    let odds = match (tpr.get(), fpr.get()) {
        (Some(a), Some(b)) => Value::defined(a.max(b)),
        (Some(a), None) => Value::defined(a),
        (None, Some(b)) => Value::defined(b),
        (None, None) => Value::undefined("tpr and fpr are undefined in every group"),
    };
    let summary = Metrics::from([
        (
            "demographic_parity_difference".to_string(),
            spread(&groups, "selection_rate"),
        ),
        ("equal_opportunity_difference".to_string(), tpr),
        ("equalized_odds_difference".to_string(), odds),
    ]);
    Evaluation {
        overall,
        groups,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(tp: f64, fp: f64, tn: f64, fn_: f64) -> Confusion<f64> {
        Confusion { tp, fp, tn, fn_ }
    }

    #[test]
    fn summary_and_utility_by_hand() {
        // a: sel 2/4, tpr 1, fpr 0; b: sel 1/4, tpr 1/2, fpr 0.
        let groups = BTreeMap::from([
            ("a".to_string(), conf(2.0, 0.0, 2.0, 0.0)),
            ("b".to_string(), conf(1.0, 0.0, 2.0, 1.0)),
        ]);
        let e = evaluate(&groups, Utility::Accuracy);
        assert_eq!(e.summary["demographic_parity_difference"].value, Some(0.25));
        assert_eq!(e.summary["equal_opportunity_difference"].value, Some(0.5));
        assert_eq!(e.summary["equalized_odds_difference"].value, Some(0.5));
        assert_eq!(e.overall["utility"].value, Some(7.0 / 8.0));
        let cost = evaluate(&groups, Utility::Cost { fp: 1.0, fn_: 5.0 });
        assert_eq!(cost.overall["utility"].value, Some(-5.0 / 8.0));
    }

    #[test]
    fn undefined_rates_are_left_out_not_zero() {
        // b has no positives: its tpr is undefined and does not enter the spread.
        let groups = BTreeMap::from([
            ("a".to_string(), conf(1.0, 0.0, 1.0, 1.0)),
            ("b".to_string(), conf(0.0, 1.0, 1.0, 0.0)),
        ]);
        let e = evaluate(&groups, Utility::Accuracy);
        assert_eq!(e.groups["b"]["tpr"].value, None);
        assert_eq!(e.summary["equal_opportunity_difference"].value, Some(0.0));
    }
}
