//! Score metrics per group: mean score, Brier score, log loss, ECE, MCE and ROC AUC.
//!
//! All are weighted by the sample weight w (1 without a weight column) and computed from
//! [`ScoreStats`]; they are undefined when the audit has no score column or the group has
//! zero total weight.

use crate::aggregate::ScoreStats;

use super::{Metrics, Value};

/// Keys of the score metrics, in report order.
pub const SCORE_METRICS: [&str; 6] = ["mean_score", "brier", "log_loss", "ece", "mce", "auc"];

const NO_SCORES: &str = "group has no scored rows (zero total weight)";

/// Mean score Σw·s / Σw.
pub fn mean_score(s: &ScoreStats) -> Value {
    Value::ratio(s.sum_score, s.weight, NO_SCORES)
}

/// Brier score Σw·(s − y)² / Σw. scikit-learn `brier_score_loss`.
pub fn brier(s: &ScoreStats) -> Value {
    Value::ratio(s.sum_squared_error, s.weight, NO_SCORES)
}

/// Log loss −Σw·(y·ln p + (1−y)·ln(1−p)) / Σw with p clipped to [ε, 1−ε], ε = `f64::EPSILON`.
/// scikit-learn `log_loss`.
pub fn log_loss(s: &ScoreStats) -> Value {
    Value::ratio(s.sum_log_loss, s.weight, NO_SCORES)
}

/// Expected calibration error Σ_b (W_b/W)·|ȳ_b − s̄_b| over the non-empty equal-width bins
/// (right-closed, see [`bin_index`](crate::aggregate::bin_index)), where W_b is the bin's
/// weight, ȳ_b its mean label and s̄_b its mean score. Guo et al. 2017.
pub fn ece(s: &ScoreStats) -> Value {
    if s.weight == 0.0 {
        return Value::undefined(NO_SCORES);
    }
    let sum: f64 = bin_gaps(s)
        .map(|(weight, gap)| weight / s.weight * gap)
        .sum();
    Value::defined(sum)
}

/// Maximum calibration error: the largest |ȳ_b − s̄_b| over the non-empty bins.
pub fn mce(s: &ScoreStats) -> Value {
    bin_gaps(s)
        .map(|(_, gap)| gap)
        .reduce(f64::max)
        .map_or_else(|| Value::undefined(NO_SCORES), Value::defined)
}

/// (W_b, |ȳ_b − s̄_b|) of every bin with positive weight.
fn bin_gaps(s: &ScoreStats) -> impl Iterator<Item = (f64, f64)> + '_ {
    s.bins.iter().filter(|b| b.weight > 0.0).map(|b| {
        (
            b.weight,
            (b.sum_label / b.weight - b.sum_score / b.weight).abs(),
        )
    })
}

/// ROC AUC, exact, ties counted ½ (the Mann–Whitney U statistic / (P·N)).
/// scikit-learn `roc_auc_score`. Undefined when the group lacks positives or negatives.
///
/// AUC = Σ_s W⁺(s)·(W⁻(< s) + ½·W⁻(s)) / (W⁺·W⁻) over the distinct scores s.
pub fn auc(s: &ScoreStats) -> Value {
    let (negatives, positives) = s
        .distinct
        .values()
        .fold((0.0, 0.0), |(n, p), [neg, pos]| (n + neg, p + pos));
    if positives == 0.0 || negatives == 0.0 {
        return Value::undefined("group has only one label class");
    }
    // Keys are the bits of non-negative floats, whose order is the numeric order.
    let mut below = 0.0;
    let mut u = 0.0;
    for [neg, pos] in s.distinct.values() {
        u += pos * (below + 0.5 * neg);
        below += neg;
    }
    Value::defined(u / (positives * negatives))
}

/// Every score metric of one group, keyed as in [`SCORE_METRICS`].
pub fn score_metrics(s: &ScoreStats) -> Metrics {
    [
        ("mean_score", mean_score(s)),
        ("brier", brier(s)),
        ("log_loss", log_loss(s)),
        ("ece", ece(s)),
        ("mce", mce(s)),
        ("auc", auc(s)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::GroupStats;

    fn stats(rows: &[(bool, f64)]) -> ScoreStats {
        let mut g = GroupStats::with_bins(10);
        for &(y, s) in rows {
            g.push(y, s >= 0.5, Some(s), 1.0);
        }
        g.score
    }

    #[test]
    fn hand_computed_calibration() {
        // Bin 0 holds 0.1 (y=0) and 0.1 (y=1): mean label 0.5, mean score 0.1, gap 0.4.
        // Bin 8 holds 0.9 (y=1): gap 0.1 (up to rounding). ECE = 2/3·0.4 + 1/3·0.1 = 0.3.
        let s = stats(&[(false, 0.1), (true, 0.1), (true, 0.9)]);
        assert!((ece(&s).value.unwrap() - 0.3).abs() < 1e-15);
        assert!((mce(&s).value.unwrap() - 0.4).abs() < 1e-15);
        assert!((mean_score(&s).value.unwrap() - 1.1 / 3.0).abs() < 1e-15);
        // Brier: (0.01 + 0.81 + 0.01) / 3
        assert!((brier(&s).value.unwrap() - 0.83 / 3.0).abs() < 1e-15);
        // Log loss: −(ln 0.9 + ln 0.1 + ln 0.9)/3
        let expected = -(0.9f64.ln() + 0.1f64.ln() + 0.9f64.ln()) / 3.0;
        assert!((log_loss(&s).value.unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn auc_counts_ties_half() {
        // Positives 0.8, 0.4; negatives 0.4, 0.2. Pairs: (0.8>0.4) 1, (0.8>0.2) 1,
        // (0.4=0.4) ½, (0.4>0.2) 1 → 3.5 / 4.
        let s = stats(&[(true, 0.8), (true, 0.4), (false, 0.4), (false, 0.2)]);
        assert_eq!(auc(&s).value, Some(0.875));
        let s = stats(&[(true, 0.8), (true, 0.4)]);
        assert_eq!(
            auc(&s).reason.as_deref(),
            Some("group has only one label class")
        );
    }

    #[test]
    fn empty_group_is_undefined() {
        let s = stats(&[]);
        for v in score_metrics(&s).values() {
            assert_eq!(v.value, None);
            assert!(v.reason.is_some());
        }
    }
}
