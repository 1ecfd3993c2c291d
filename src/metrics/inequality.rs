//! AIF360's inequality indices of the benefit b = ŷ − y + 1 (CONTRACT.md §3).
//!
//! b is 0 for a false negative, 1 for a correct decision and 2 for a false positive, so the
//! indices are functions of the (weighted) confusion counts. With μ the mean benefit:
//! - generalized entropy GE(α) = Σ w·[(b/μ)^α − 1] / (W·α·(α−1)), here α = 2;
//! - Theil index T = Σ w·(b/μ)·ln(b/μ) / W, with 0·ln 0 = 0 (GE at α = 1);
//! - coefficient of variation CV = √(2·GE(2)).
//!
//! The `between_all_groups_*` variants replace each row's b by its group's mean benefit.

use crate::aggregate::Confusion;

use super::Value;

/// The benefit distribution of a set of rows: (benefit, weight) pairs.
pub type Benefits = Vec<(f64, f64)>;

/// The benefit of every row class of a confusion matrix: FN → 0, TP/TN → 1, FP → 2.
pub fn benefits(c: &Confusion<f64>) -> Benefits {
    vec![(0.0, c.fn_), (1.0, c.tp + c.tn), (2.0, c.fp)]
}

/// Each group's rows at the group's mean benefit, for the between-group indices.
pub fn group_mean_benefits<'a>(groups: impl IntoIterator<Item = &'a Confusion<f64>>) -> Benefits {
    groups
        .into_iter()
        .filter_map(|c| {
            let w = c.tp + c.fp + c.tn + c.fn_;
            (w > 0.0).then(|| ((c.tp + c.tn + 2.0 * c.fp) / w, w))
        })
        .collect()
}

fn mean(b: &Benefits) -> Option<(f64, f64)> {
    let w: f64 = b.iter().map(|(_, w)| w).sum();
    let mu = b.iter().map(|(x, w)| x * w).sum::<f64>() / w;
    (w > 0.0 && mu > 0.0).then_some((mu, w))
}

const UNDEFINED: &str = "no rows, or every decision is a false negative (mean benefit 0)";

/// Generalized entropy index GE(2). AIF360 `generalized_entropy_index(alpha=2)`.
///
/// # Examples
/// ```
/// use fairaudit::metrics::inequality::{benefits, generalized_entropy_index};
/// use fairaudit::aggregate::Confusion;
/// // Benefits 0, 1, 1, 2: μ = 1, GE(2) = [(0−1) + 0 + 0 + (4−1)] / (4·2) = 0.25
/// let c = Confusion { tp: 1.0, tn: 1.0, fp: 1.0, fn_: 1.0 };
/// assert_eq!(generalized_entropy_index(&benefits(&c)).value, Some(0.25));
/// ```
pub fn generalized_entropy_index(b: &Benefits) -> Value {
    let Some((mu, w)) = mean(b) else {
        return Value::undefined(UNDEFINED);
    };
    let s: f64 = b.iter().map(|(x, wi)| wi * ((x / mu).powi(2) - 1.0)).sum();
    Value::defined(s / (w * 2.0))
}

/// Theil index. AIF360 `theil_index`.
pub fn theil_index(b: &Benefits) -> Value {
    let Some((mu, w)) = mean(b) else {
        return Value::undefined(UNDEFINED);
    };
    let s: f64 = b
        .iter()
        .filter(|(x, _)| *x > 0.0)
        .map(|(x, wi)| wi * (x / mu) * (x / mu).ln())
        .sum();
    Value::defined(s / w)
}

/// Coefficient of variation √(2·GE(2)). AIF360 `coefficient_of_variation`.
pub fn coefficient_of_variation(b: &Benefits) -> Value {
    generalized_entropy_index(b).map(|ge| (2.0 * ge).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_indices() {
        // Benefits 0, 1, 1, 2 (μ = 1): Theil = (1·ln1·2 + 2·ln 2)/4 = ln2/2.
        let c = Confusion {
            tp: 1.0,
            tn: 1.0,
            fp: 1.0,
            fn_: 1.0,
        };
        let b = benefits(&c);
        assert!((theil_index(&b).value.unwrap() - 2f64.ln() / 2.0).abs() < 1e-15);
        assert_eq!(coefficient_of_variation(&b).value, Some(0.5f64.sqrt()));
        // Perfect decisions: no inequality.
        let c = Confusion {
            tp: 3.0,
            tn: 2.0,
            fp: 0.0,
            fn_: 0.0,
        };
        assert_eq!(theil_index(&benefits(&c)).value, Some(0.0));
        assert_eq!(generalized_entropy_index(&benefits(&c)).value, Some(0.0));
        // Only false negatives: μ = 0, undefined.
        let c = Confusion {
            tp: 0.0,
            tn: 0.0,
            fp: 0.0,
            fn_: 2.0,
        };
        assert_eq!(theil_index(&benefits(&c)).value, None);
    }

    #[test]
    fn between_groups_uses_group_means() {
        // Group 1: all correct (b̄ = 1, 2 rows); group 2: FP + FN (b̄ = 1, 2 rows): no
        // between-group inequality although there is within-group inequality.
        let g1 = Confusion {
            tp: 1.0,
            tn: 1.0,
            fp: 0.0,
            fn_: 0.0,
        };
        let g2 = Confusion {
            tp: 0.0,
            tn: 0.0,
            fp: 1.0,
            fn_: 1.0,
        };
        let b = group_mean_benefits([&g1, &g2]);
        assert_eq!(theil_index(&b).value, Some(0.0));
    }
}
