//! Each group against its attribute's reference group r (CONTRACT.md §3; Aequitas/AIF360).
//!
//! For every metric m: `ratio` = m_g / m_r (Aequitas `<m>_disparity`; AIF360 `disparate_impact`
//! for `selection_rate`) and `difference` = m_g − m_r, signed (AIF360
//! `statistical_parity_difference` for `selection_rate`, `equal_opportunity_difference` for
//! `tpr`, `false_*_rate_difference` for `fpr`, `fnr`, `fdr`, `for`). Plus the odds summaries
//! [`average_odds_difference`], [`average_abs_odds_difference`] and
//! [`equalized_odds_difference_vs_reference`].

use std::collections::BTreeMap;

use super::{Metrics, Value};

/// Ratio and difference of one metric against the reference group.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    /// m_g / m_r; undefined when either is undefined or m_r = 0.
    pub ratio: Value,
    /// m_g − m_r; undefined when either is undefined.
    pub difference: Value,
}

/// One entry of a group's `disparities` object: a ratio/difference pair or a single value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Disparity {
    /// For every per-group metric.
    Pair(Pair),
    /// For the odds summaries.
    Single(Value),
}

/// Keys of the single-valued disparities.
pub const ODDS_DISPARITIES: [&str; 3] = [
    "average_odds_difference",
    "average_abs_odds_difference",
    "equalized_odds_difference_vs_reference",
];

/// m_g / m_r.
pub fn ratio(group: &Value, reference: &Value) -> Value {
    match (group.value, reference.value) {
        (Some(_), Some(0.0)) => Value::undefined("the reference group's value is 0"),
        _ => group.zip(reference, |g, r| g / r),
    }
}

/// m_g − m_r.
pub fn difference(group: &Value, reference: &Value) -> Value {
    group.zip(reference, |g, r| g - r)
}

/// ½[(FPR_g − FPR_r) + (TPR_g − TPR_r)]. AIF360 `average_odds_difference`.
pub fn average_odds_difference(g: &Metrics, r: &Metrics) -> Value {
    let dfpr = difference(&g["fpr"], &r["fpr"]);
    let dtpr = difference(&g["tpr"], &r["tpr"]);
    dfpr.zip(&dtpr, |a, b| (a + b) / 2.0)
}

/// ½[|FPR_g − FPR_r| + |TPR_g − TPR_r|]. AIF360 `average_abs_odds_difference`.
pub fn average_abs_odds_difference(g: &Metrics, r: &Metrics) -> Value {
    let dfpr = difference(&g["fpr"], &r["fpr"]);
    let dtpr = difference(&g["tpr"], &r["tpr"]);
    dfpr.zip(&dtpr, |a, b| (a.abs() + b.abs()) / 2.0)
}

/// max(|FPR_g − FPR_r|, |TPR_g − TPR_r|). AIF360 `equalized_odds_difference` (which compares
/// with the privileged group only; Fairlearn's name of the same word is the between-group
/// range, see [`summary`](super::summary)).
pub fn equalized_odds_difference_vs_reference(g: &Metrics, r: &Metrics) -> Value {
    let dfpr = difference(&g["fpr"], &r["fpr"]);
    let dtpr = difference(&g["tpr"], &r["tpr"]);
    dfpr.zip(&dtpr, |a, b| a.abs().max(b.abs()))
}

/// The disparities of group `g` against reference `r`, for every metric `r` has.
/// `g` and `r` must hold the rate metrics (`tpr`, `fpr`, …) of [`super::rates`].
pub fn disparities(g: &Metrics, r: &Metrics) -> BTreeMap<String, Disparity> {
    let mut out: BTreeMap<String, Disparity> = g
        .iter()
        .filter_map(|(key, value)| {
            let reference = r.get(key)?;
            let pair = Pair {
                ratio: ratio(value, reference),
                difference: difference(value, reference),
            };
            Some((key.clone(), Disparity::Pair(pair)))
        })
        .collect();
    let odds = [
        average_odds_difference(g, r),
        average_abs_odds_difference(g, r),
        equalized_odds_difference_vs_reference(g, r),
    ];
    for (key, value) in ODDS_DISPARITIES.iter().zip(odds) {
        out.insert(key.to_string(), Disparity::Single(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(tpr: Option<f64>, fpr: Option<f64>) -> Metrics {
        let v = |x: Option<f64>| x.map_or_else(|| Value::undefined("no positives"), Value::defined);
        [("tpr".to_string(), v(tpr)), ("fpr".to_string(), v(fpr))]
            .into_iter()
            .collect()
    }

    #[test]
    fn hand_computed_disparities() {
        // g: TPR 0.5, FPR 0.25; r: TPR 0.75, FPR 0.125.
        let g = m(Some(0.5), Some(0.25));
        let r = m(Some(0.75), Some(0.125));
        let d = disparities(&g, &r);
        let Disparity::Pair(tpr) = &d["tpr"] else {
            panic!()
        };
        assert_eq!(tpr.ratio.value, Some(0.5 / 0.75));
        assert_eq!(tpr.difference.value, Some(-0.25));
        // ½(0.125 − 0.25) = −0.0625; ½(0.125 + 0.25) = 0.1875; max = 0.25
        assert_eq!(average_odds_difference(&g, &r).value, Some(-0.0625));
        assert_eq!(average_abs_odds_difference(&g, &r).value, Some(0.1875));
        assert_eq!(
            equalized_odds_difference_vs_reference(&g, &r).value,
            Some(0.25)
        );
    }

    #[test]
    fn undefined_inputs_and_zero_reference() {
        let zero = Value::defined(0.0);
        assert_eq!(ratio(&Value::defined(0.3), &zero).value, None);
        assert_eq!(ratio(&zero, &zero).value, None);
        assert_eq!(difference(&zero, &zero).value, Some(0.0));
        let g = m(None, Some(0.1));
        let r = m(Some(0.5), Some(0.1));
        assert_eq!(
            average_odds_difference(&g, &r).reason.as_deref(),
            Some("no positives")
        );
    }
}
