//! Between-group aggregates of one attribute (CONTRACT.md §3; Fairlearn's conventions).
//!
//! Over the groups compared (those at or above the minimum group size) and, for each metric m,
//! over the groups where m is defined (Fairlearn would count an undefined 0/0 rate as 0; we
//! skip it, as CONTRACT.md §6 requires):
//! - `m_group_min`, `m_group_max`;
//! - `m_difference` = max − min, `m_ratio` = min / max (both need two defined groups);
//! - `m_difference_to_overall` = max_g |m_g − m_all|,
//!   `m_ratio_to_overall` = min_g min(m_g/m_all, m_all/m_g);
//! - the named aggregates `demographic_parity_*` (on `selection_rate`),
//!   `equal_opportunity_*` (on `tpr`), `equalized_odds_difference` = max(tpr_difference,
//!   fpr_difference), `equalized_odds_ratio` = min(tpr_ratio, fpr_ratio), and their `_mean`
//!   variants (Fairlearn `agg="mean"`);
//! - `between_all_groups_{theil_index, generalized_entropy_index, coefficient_of_variation}`.

use crate::aggregate::Confusion;

use super::inequality::{self, group_mean_benefits};
use super::{Metrics, Value};

/// The suffixes of the per-metric aggregates.
pub const AGGREGATES: [&str; 6] = [
    "group_min",
    "group_max",
    "difference",
    "ratio",
    "difference_to_overall",
    "ratio_to_overall",
];

/// One metric's aggregates over the defined values `values`, with `overall` the value over all
/// rows. Returns (suffix, value) pairs in [`AGGREGATES`] order.
pub fn aggregates(metric: &str, values: &[f64], overall: &Value) -> Vec<(&'static str, Value)> {
    let few = |need: usize| {
        Value::undefined(if need == 1 {
            format!("no compared group has a defined {metric}")
        } else {
            format!("fewer than two compared groups have a defined {metric}")
        })
    };
    let min = values.iter().copied().reduce(f64::min);
    let max = values.iter().copied().reduce(f64::max);
    let (group_min, group_max, difference, ratio) = match (min, max) {
        (Some(lo), Some(hi)) if values.len() >= 2 => (
            Value::defined(lo),
            Value::defined(hi),
            Value::defined(hi - lo),
            if hi == 0.0 {
                Value::undefined(format!("every compared group has {metric} 0"))
            } else {
                Value::defined(lo / hi)
            },
        ),
        (Some(lo), Some(hi)) => (Value::defined(lo), Value::defined(hi), few(2), few(2)),
        _ => (few(1), few(1), few(2), few(2)),
    };
    let (difference_to_overall, ratio_to_overall) = to_overall(metric, values, overall);
    vec![
        ("group_min", group_min),
        ("group_max", group_max),
        ("difference", difference),
        ("ratio", ratio),
        ("difference_to_overall", difference_to_overall),
        ("ratio_to_overall", ratio_to_overall),
    ]
}

/// Fairlearn's `difference(method="to_overall")` and `ratio(method="to_overall")`.
fn to_overall(metric: &str, values: &[f64], overall: &Value) -> (Value, Value) {
    let Some(all) = overall.value else {
        let v = Value::undefined(format!("{metric} over all rows is undefined"));
        return (v.clone(), v);
    };
    if values.is_empty() {
        let v = Value::undefined(format!("no compared group has a defined {metric}"));
        return (v.clone(), v);
    }
    let difference = values.iter().map(|g| (g - all).abs()).fold(0.0, f64::max);
    let ratio = if all == 0.0 {
        Value::undefined(format!("{metric} over all rows is 0"))
    } else {
        let r = values
            .iter()
            .map(|&g| {
                if g == 0.0 {
                    0.0
                } else {
                    (g / all).min(all / g)
                }
            })
            .fold(f64::INFINITY, f64::min);
        Value::defined(r)
    };
    (Value::defined(difference), ratio)
}

/// The between-group summary of an attribute.
///
/// `groups` are the compared groups' metrics and weighted confusion counts; `keys` the metrics
/// of any group of the attribute, compared or not (all have the same keys), so that every key
/// gets its [`AGGREGATES`] even when no group is compared (then each is `null` with a reason,
/// never dropped); `overall` the metrics over all rows.
pub fn summary(
    groups: &[(&Metrics, Confusion<f64>)],
    keys: Option<&Metrics>,
    overall: &Metrics,
) -> Metrics {
    let mut out = Metrics::new();
    let keys: Vec<&String> = keys.map(|m| m.keys().collect()).unwrap_or_default();
    for key in keys {
        let values: Vec<f64> = groups
            .iter()
            .filter_map(|(m, _)| m.get(key)?.value)
            .collect();
        let all = overall
            .get(key)
            .cloned()
            .unwrap_or_else(|| Value::undefined("not computed over all rows"));
        for (suffix, value) in aggregates(key, &values, &all) {
            out.insert(format!("{key}_{suffix}"), value);
        }
    }
    add_named(&mut out);
    let benefits = group_mean_benefits(groups.iter().map(|(_, c)| c));
    out.insert(
        "between_all_groups_theil_index".into(),
        inequality::theil_index(&benefits),
    );
    out.insert(
        "between_all_groups_generalized_entropy_index".into(),
        inequality::generalized_entropy_index(&benefits),
    );
    out.insert(
        "between_all_groups_coefficient_of_variation".into(),
        inequality::coefficient_of_variation(&benefits),
    );
    out
}

fn add_named(out: &mut Metrics) {
    let get = |out: &Metrics, k: &str| {
        out.get(k)
            .cloned()
            .unwrap_or_else(|| Value::undefined(format!("{k} not computed")))
    };
    let aliases = [
        ("demographic_parity_difference", "selection_rate_difference"),
        ("demographic_parity_ratio", "selection_rate_ratio"),
        ("equal_opportunity_difference", "tpr_difference"),
        ("equal_opportunity_ratio", "tpr_ratio"),
    ];
    for (name, source) in aliases {
        let v = get(out, source);
        out.insert(name.into(), v);
    }
    let (tpr_d, fpr_d) = (get(out, "tpr_difference"), get(out, "fpr_difference"));
    let (tpr_r, fpr_r) = (get(out, "tpr_ratio"), get(out, "fpr_ratio"));
    out.insert(
        "equalized_odds_difference".into(),
        tpr_d.zip(&fpr_d, f64::max),
    );
    out.insert("equalized_odds_ratio".into(), tpr_r.zip(&fpr_r, f64::min));
    out.insert(
        "equalized_odds_difference_mean".into(),
        tpr_d.zip(&fpr_d, |a, b| (a + b) / 2.0),
    );
    out.insert(
        "equalized_odds_ratio_mean".into(),
        tpr_r.zip(&fpr_r, |a, b| (a + b) / 2.0),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_aggregates() {
        // Groups 0.2, 0.5, 0.4; overall 0.4.
        let a: Vec<_> = aggregates("tpr", &[0.2, 0.5, 0.4], &Value::defined(0.4));
        let get = |k: &str| a.iter().find(|(s, _)| *s == k).unwrap().1.value;
        assert_eq!(get("group_min"), Some(0.2));
        assert_eq!(get("group_max"), Some(0.5));
        assert_eq!(get("difference"), Some(0.3));
        assert_eq!(get("ratio"), Some(0.4));
        assert_eq!(get("difference_to_overall"), Some(0.2));
        // min(0.2/0.4, 0.4/0.5, 1) = 0.5
        assert_eq!(get("ratio_to_overall"), Some(0.5));
    }

    #[test]
    fn too_few_groups_or_all_zero_is_undefined() {
        let a = aggregates("fpr", &[0.3], &Value::defined(0.3));
        assert_eq!(a[2].1.value, None); // difference needs two groups
        assert!(a[2].1.reason.as_deref().unwrap().contains("fewer than two"));
        assert_eq!(a[0].1.value, Some(0.3)); // min over one group is defined
        let a = aggregates("fpr", &[0.0, 0.0], &Value::defined(0.0));
        assert_eq!(a[2].1.value, Some(0.0));
        assert_eq!(a[3].1.value, None); // 0/0
        let a = aggregates("fpr", &[], &Value::defined(0.0));
        assert!(a.iter().all(|(_, v)| v.value.is_none()));
    }
}
