//! Score metrics per group: mean score, Brier score, log loss, ECE, MCE, ROC AUC, the Jigsaw
//! subgroup AUCs and the logistic recalibration fits (see [`recalibration`](super::recalibration)).
//!
//! All are weighted by the sample weight w (1 without a weight column) and computed from
//! [`ScoreStats`]; they are undefined when the audit has no score column or the group has
//! zero total weight.

use std::borrow::Cow;

use crate::aggregate::{ScoreDistribution, ScorePoint, ScoreStats};

use super::recalibration;
use super::{Metrics, Value};

/// Keys of the per-group score metrics, in report order.
pub const SCORE_METRICS: [&str; 10] = [
    "mean_score",
    "brier",
    "log_loss",
    "ece",
    "mce",
    "auc",
    "bpsn_auc",
    "bnsp_auc",
    "calibration_intercept",
    "calibration_slope",
];

const NO_SCORES: &str = "group has no scored rows (zero total weight)";
const ONE_CLASS: &str = "group has only one label class";

/// How calibration bins are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binning {
    /// B equal-width bins of [0, 1], right-closed (scikit-learn `strategy="uniform"`).
    #[default]
    Uniform,
    /// B equal-mass bins: edges at the group's score quantiles (scikit-learn
    /// `strategy="quantile"`: `numpy.percentile`, linear interpolation), right-closed.
    Quantile,
}

/// Sums over the rows of one calibration bin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BinRow {
    /// Lower edge (excluded except for the first bin).
    pub lo: f64,
    /// Upper edge (included).
    pub hi: f64,
    /// Rows.
    pub rows: f64,
    /// Σw.
    pub weight: f64,
    /// Σw·s.
    pub sum_score: f64,
    /// Σw·y.
    pub sum_label: f64,
}

/// Mean score Σw·s / Σw.
pub fn mean_score(s: &ScoreStats) -> Value {
    Value::ratio(s.sum_score.value(), s.weight.value(), NO_SCORES)
}

/// Brier score Σw·(s − y)² / Σw. scikit-learn `brier_score_loss`.
pub fn brier(s: &ScoreStats) -> Value {
    Value::ratio(s.sum_squared_error.value(), s.weight.value(), NO_SCORES)
}

/// Log loss −Σw·(y·ln p + (1−y)·ln(1−p)) / Σw with p clipped to [ε, 1−ε], ε = `f64::EPSILON`.
/// scikit-learn `log_loss`.
pub fn log_loss(s: &ScoreStats) -> Value {
    Value::ratio(s.sum_log_loss.value(), s.weight.value(), NO_SCORES)
}

/// The equal-width bins of a group (exact sums, accumulated row by row).
pub fn uniform_bins(s: &ScoreStats) -> Vec<BinRow> {
    let b = s.bins.len();
    let step = 1.0 / b as f64;
    let edge = |k: usize| if k == b { 1.0 } else { k as f64 * step };
    s.bins
        .iter()
        .enumerate()
        .map(|(k, bin)| BinRow {
            lo: edge(k),
            hi: edge(k + 1),
            rows: bin.rows as f64,
            weight: bin.weight.value(),
            sum_score: bin.sum_score.value(),
            sum_label: bin.sum_label.value(),
        })
        .collect()
}

/// Equal-mass bins from the score distribution: edges are `numpy.percentile(scores,
/// linspace(0, 100, B+1))` (linear interpolation; weights act as frequency weights), and a score
/// goes to bin `searchsorted(edges[1:-1], s, side="left")`, as in scikit-learn's
/// `calibration_curve(strategy="quantile")`. Tied edges give empty bins, as there.
pub fn quantile_bins(points: &[ScorePoint], bins: usize) -> Vec<BinRow> {
    let edges = quantile_edges(points, bins);
    let mut rows: Vec<BinRow> = edges
        .windows(2)
        .map(|w| BinRow {
            lo: w[0],
            hi: w[1],
            ..BinRow::default()
        })
        .collect();
    if rows.is_empty() {
        return rows;
    }
    let interior = &edges[1..edges.len() - 1];
    for p in points {
        let b = interior.partition_point(|e| *e < p.score);
        let row = &mut rows[b];
        let w = p.negatives + p.positives;
        row.rows += p.rows;
        row.weight += w;
        row.sum_score += w * p.score;
        row.sum_label += p.positives;
    }
    rows
}

/// `numpy.percentile(scores, [100·k/B for k in 0..=B])` with the default linear method.
fn quantile_edges(points: &[ScorePoint], bins: usize) -> Vec<f64> {
    let total: f64 = points.iter().map(|p| p.negatives + p.positives).sum();
    if points.is_empty() || total == 0.0 {
        return Vec::new();
    }
    // Cumulative weight at the end of each point.
    let mut cumulative = Vec::with_capacity(points.len());
    let mut acc = 0.0;
    for p in points {
        acc += p.negatives + p.positives;
        cumulative.push(acc);
    }
    // The score at 0-based rank r of the frequency-expanded sample.
    let at_rank = |r: f64| {
        let i = cumulative
            .partition_point(|c| *c <= r)
            .min(points.len() - 1);
        points[i].score
    };
    (0..=bins)
        .map(|k| {
            // scikit-learn passes `linspace(0, 1, B+1) * 100` to `numpy.percentile`, which
            // divides by 100 again; linspace's k-th value is k·(1/B), the last exactly 1.
            let step = 1.0 / bins as f64;
            let linspace = if k == bins { 1.0 } else { k as f64 * step };
            let q = (linspace * 100.0) / 100.0;
            let h = (total - 1.0) * q;
            let lower = h.floor();
            let (a, b) = (at_rank(lower), at_rank((lower + 1.0).min(total - 1.0)));
            lerp(a, b, h - lower)
        })
        .collect()
}

/// numpy's `_lerp`: a + t·(b − a), computed from the nearer end for t ≥ ½.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Expected calibration error Σ_b (W_b/W)·|ȳ_b − s̄_b| over the bins with positive weight, where
/// W_b is the bin's weight, ȳ_b its mean label and s̄_b its mean score (Guo et al. 2017).
pub fn ece(bins: &[BinRow]) -> Value {
    let total: f64 = bins.iter().map(|b| b.weight).sum();
    if total == 0.0 {
        return Value::undefined(NO_SCORES);
    }
    Value::defined(bin_gaps(bins).map(|(w, gap)| w / total * gap).sum())
}

/// Maximum calibration error: the largest |ȳ_b − s̄_b| over the bins with positive weight.
pub fn mce(bins: &[BinRow]) -> Value {
    bin_gaps(bins)
        .map(|(_, gap)| gap)
        .reduce(f64::max)
        .map_or_else(|| Value::undefined(NO_SCORES), Value::defined)
}

fn bin_gaps(bins: &[BinRow]) -> impl Iterator<Item = (f64, f64)> + '_ {
    bins.iter().filter(|b| b.weight > 0.0).map(|b| {
        (
            b.weight,
            (b.sum_label / b.weight - b.sum_score / b.weight).abs(),
        )
    })
}

/// ROC AUC, ties counted ½ (the Mann–Whitney U statistic / (P·N)). scikit-learn
/// `roc_auc_score`. Undefined when the group lacks positives or negatives.
///
/// AUC = Σ_s W⁺(s)·(W⁻(< s) + ½·W⁻(s)) / (W⁺·W⁻) over the points in ascending score order.
///
/// # Examples
/// ```
/// use fairaudit::aggregate::ScorePoint;
/// use fairaudit::metrics::calibration::auc;
/// let p = |score, negatives, positives| ScorePoint {
///     score, negatives, positives, rows: negatives + positives, positive_rows: positives,
/// };
/// // Positives at 0.4 and 0.8, negatives at 0.2 and 0.4: (1 + 1 + ½ + 1) / 4
/// let points = [p(0.2, 1.0, 0.0), p(0.4, 1.0, 1.0), p(0.8, 0.0, 1.0)];
/// assert_eq!(auc(&points).value, Some(0.875));
/// ```
pub fn auc(points: &[ScorePoint]) -> Value {
    let mut sums = AucSums::default();
    for pt in points {
        sums.add(pt.negatives, pt.positives);
    }
    sums.auc()
}

/// The running sums of an [`auc`] over points in ascending score order: W⁻ and W⁺ so far, and
/// U = Σ W⁺(s)·(W⁻(< s) + ½·W⁻(s)).
#[derive(Debug, Default, Clone, Copy)]
struct AucSums {
    negatives: f64,
    positives: f64,
    u: f64,
}

impl AucSums {
    /// Add the next point's weights of negatives and positives.
    fn add(&mut self, negatives: f64, positives: f64) {
        self.u += positives * (self.negatives + 0.5 * negatives);
        self.negatives += negatives;
        self.positives += positives;
    }

    /// U / (W⁺·W⁻); undefined without positives or negatives.
    fn auc(&self) -> Value {
        if self.positives <= 0.0 || self.negatives <= 0.0 {
            return Value::undefined(ONE_CLASS);
        }
        Value::defined(self.u / (self.positives * self.negatives))
    }
}

/// BPSN AUC (background positive, subgroup negative; Borkan et al. 2019): the AUC of the
/// positives of every *other* group against the negatives of this group. A low value means this
/// group's negatives get scores as high as other groups' positives (false positives).
pub fn bpsn_auc(group: &ScoreDistribution, all: &ScoreDistribution) -> Value {
    subgroup_aucs(group, &group.sorted(), all, &all.sorted()).bpsn
}

/// BNSP AUC (background negative, subgroup positive): the AUC of this group's positives
/// against the negatives of every other group. A low value means this group's positives get
/// scores as low as other groups' negatives (false negatives).
pub fn bnsp_auc(group: &ScoreDistribution, all: &ScoreDistribution) -> Value {
    subgroup_aucs(group, &group.sorted(), all, &all.sorted()).bnsp
}

/// The two subgroup AUCs of a group ([`bpsn_auc`], [`bnsp_auc`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SubgroupAucs {
    /// Background positive, subgroup negative.
    pub bpsn: Value,
    /// Background negative, subgroup positive.
    pub bnsp: Value,
}

/// [`bpsn_auc`] and [`bnsp_auc`] of `group` among `all`, given both distributions' sorted
/// points (which the report has already formed: issue 8), in one pass over them: each AUC
/// sums the same terms in the same order as [`auc`] of the [`mix`] of the group and the
/// others, without forming it. Undefined, with the reason, when the AUC is.
pub fn subgroup_aucs(
    group: &ScoreDistribution,
    group_points: &[ScorePoint],
    all: &ScoreDistribution,
    all_points: &[ScorePoint],
) -> SubgroupAucs {
    let group_points = at_resolution_of(all, group, group_points);
    let (mut bpsn, mut bnsp) = (AucSums::default(), AucSums::default());
    joined(&group_points, all_points, |mine, others| {
        bpsn.add(mine.negatives, others.positives);
        bnsp.add(others.negatives, mine.positives);
    });
    // Undefined for want of one class or by overflow: the subgroup AUC's own reason.
    let undefined = |sums: AucSums, reason: &str| match sums.auc() {
        v if v.value.is_some() => v,
        _ => Value::undefined(reason),
    };
    SubgroupAucs {
        bpsn: undefined(
            bpsn,
            "needs negatives in the group and positives outside it",
        ),
        bnsp: undefined(
            bnsp,
            "needs positives in the group and negatives outside it",
        ),
    }
}

/// The group's sorted points (`points`) at the resolution of `all`: themselves when both
/// have one resolution, otherwise (the group exact, all rows binned) the group binned too.
fn at_resolution_of<'a>(
    all: &ScoreDistribution,
    group: &ScoreDistribution,
    points: &'a [ScorePoint],
) -> Cow<'a, [ScorePoint]> {
    if all.resolution() == group.resolution() {
        return Cow::Borrowed(points);
    }
    let mut binned = all.clone();
    binned.clear();
    binned.merge(group);
    Cow::Owned(binned.sorted())
}

/// Call `visit(mine, others)` for every score of `all_points` in ascending order, with the
/// group's point at that score (zero when it has none) and that of the rows outside the group
/// (all − group; rounding of weighted sums can leave −1e-16 where the truth is 0, so weights
/// are clamped at 0). `group_points` are at the resolution of `all_points`, a subset of them.
fn joined(
    group_points: &[ScorePoint],
    all_points: &[ScorePoint],
    mut visit: impl FnMut(&ScorePoint, &ScorePoint),
) {
    let zero = |score| ScorePoint {
        score,
        negatives: 0.0,
        positives: 0.0,
        rows: 0.0,
        positive_rows: 0.0,
    };
    let mut i = 0;
    for a in all_points {
        let mine = if i < group_points.len() && group_points[i].score == a.score {
            i += 1;
            group_points[i - 1]
        } else {
            zero(a.score)
        };
        let others = ScorePoint {
            score: a.score,
            negatives: (a.negatives - mine.negatives).max(0.0),
            positives: (a.positives - mine.positives).max(0.0),
            rows: a.rows - mine.rows,
            positive_rows: a.positive_rows - mine.positive_rows,
        };
        visit(&mine, &others);
    }
}

/// Join the group's points with those of the rows outside it (all − group), at a common
/// resolution, and build (negatives, positives) per score with `pick(group, others)`.
pub(crate) fn mix(
    group: &ScoreDistribution,
    all: &ScoreDistribution,
    pick: impl Fn(&ScorePoint, &ScorePoint) -> (f64, f64),
) -> Vec<ScorePoint> {
    let gp = group.sorted();
    let gp = at_resolution_of(all, group, &gp);
    let ap = all.sorted();
    let mut out = Vec::with_capacity(ap.len());
    joined(&gp, &ap, |mine, others| {
        let (negatives, positives) = pick(mine, others);
        out.push(ScorePoint {
            score: others.score,
            negatives,
            positives,
            rows: 0.0,
            positive_rows: 0.0,
        });
    });
    out
}

/// ROC curve points (threshold, FPR, TPR) for decisions `score >= threshold`, from the highest
/// threshold down: the first point is (0, 0) at a threshold above every score, the last (1, 1).
/// At most `max_points` points, evenly spaced along the curve's vertices (first and last kept).
pub fn roc_curve(points: &[ScorePoint], max_points: usize) -> Vec<(f64, f64, f64)> {
    let (negatives, positives) = points.iter().fold((0.0, 0.0), |(n, p), pt| {
        (n + pt.negatives, p + pt.positives)
    });
    if positives <= 0.0 || negatives <= 0.0 {
        return Vec::new();
    }
    let above_one = f64::from_bits(1.0f64.to_bits() + 1);
    let mut curve = vec![(above_one, 0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for pt in points.iter().rev() {
        tp += pt.positives;
        fp += pt.negatives;
        curve.push((
            pt.score,
            (fp / negatives).min(1.0),
            (tp / positives).min(1.0),
        ));
    }
    if curve.len() <= max_points || max_points < 2 {
        return curve;
    }
    let last = curve.len() - 1;
    (0..max_points)
        .map(|k| curve[(k * last + (max_points - 1) / 2) / (max_points - 1)])
        .collect()
}

/// Every per-group score metric except the subgroup AUCs (which need the other groups):
/// keyed as in [`SCORE_METRICS`].
pub fn score_metrics(s: &ScoreStats, binning: Binning) -> Metrics {
    score_metrics_from(s, &s.distribution.sorted(), binning)
}

/// [`score_metrics`] given the distribution's sorted points (issue 8: the report forms them
/// once per group).
pub fn score_metrics_from(s: &ScoreStats, points: &[ScorePoint], binning: Binning) -> Metrics {
    let bins = match binning {
        Binning::Uniform => uniform_bins(s),
        Binning::Quantile => quantile_bins(points, s.bins.len()),
    };
    let fit = recalibration::fit(points);
    [
        ("mean_score", mean_score(s)),
        ("brier", brier(s)),
        ("log_loss", log_loss(s)),
        ("ece", ece(&bins)),
        ("mce", mce(&bins)),
        ("auc", auc(points)),
        ("calibration_intercept", fit.intercept),
        ("calibration_slope", fit.slope),
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
        let bins = uniform_bins(&s);
        assert!((ece(&bins).value.unwrap() - 0.3).abs() < 1e-15);
        assert!((mce(&bins).value.unwrap() - 0.4).abs() < 1e-15);
        assert!((mean_score(&s).value.unwrap() - 1.1 / 3.0).abs() < 1e-15);
        // Brier: (0.01 + 0.81 + 0.01) / 3
        assert!((brier(&s).value.unwrap() - 0.83 / 3.0).abs() < 1e-15);
        // Log loss: −(ln 0.9 + ln 0.1 + ln 0.9)/3
        let expected = -(0.9f64.ln() + 0.1f64.ln() + 0.9f64.ln()) / 3.0;
        assert!((log_loss(&s).value.unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn auc_counts_ties_half_and_needs_both_classes() {
        // Positives 0.8, 0.4; negatives 0.4, 0.2: (1 + 1 + ½ + 1) / 4.
        let s = stats(&[(true, 0.8), (true, 0.4), (false, 0.4), (false, 0.2)]);
        assert_eq!(auc(&s.distribution.sorted()).value, Some(0.875));
        let s = stats(&[(true, 0.8), (true, 0.4)]);
        assert_eq!(
            auc(&s.distribution.sorted()).reason.as_deref(),
            Some(ONE_CLASS)
        );
    }

    #[test]
    fn subgroup_aucs_hand_computed() {
        // Group g: positive 0.6, negative 0.5. Others: positive 0.4, negative 0.1.
        let g = stats(&[(true, 0.6), (false, 0.5)]);
        let mut all = g.clone();
        let o = stats(&[(true, 0.4), (false, 0.1)]);
        all.distribution.merge(&o.distribution);
        // BPSN: others' positive 0.4 vs g's negative 0.5 → 0.
        assert_eq!(
            bpsn_auc(&g.distribution, &all.distribution).value,
            Some(0.0)
        );
        // BNSP: g's positive 0.6 vs others' negative 0.1 → 1.
        assert_eq!(
            bnsp_auc(&g.distribution, &all.distribution).value,
            Some(1.0)
        );
        // A group that is everything has no "others".
        assert_eq!(bpsn_auc(&all.distribution, &all.distribution).value, None);
    }

    #[test]
    fn quantile_bins_follow_numpy_percentile() {
        // Scores 0.1, 0.2, 0.3, 0.4 (one each), 2 bins: edges percentile(…, [0, 50, 100])
        // = [0.1, 0.25, 0.4]; 0.1 and 0.2 in bin 0, 0.3 and 0.4 in bin 1.
        let s = stats(&[(false, 0.1), (true, 0.2), (false, 0.3), (true, 0.4)]);
        let rows = quantile_bins(&s.distribution.sorted(), 2);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].lo, rows[0].hi, rows[1].hi), (0.1, 0.25, 0.4));
        assert_eq!((rows[0].rows, rows[1].rows), (2.0, 2.0));
        assert_eq!((rows[0].sum_label, rows[1].sum_label), (1.0, 1.0));
        // A score on an interior edge goes to the lower bin: 0.2 is the median of 4 values
        // 0.1, 0.2, 0.2, 0.3 → edges [0.1, 0.2, 0.3]; both 0.2 go to bin 0.
        let s = stats(&[(false, 0.1), (true, 0.2), (false, 0.2), (true, 0.3)]);
        let rows = quantile_bins(&s.distribution.sorted(), 2);
        assert_eq!((rows[0].rows, rows[1].rows), (3.0, 1.0));
    }

    #[test]
    fn roc_runs_from_origin_to_one_one() {
        let s = stats(&[(true, 0.8), (true, 0.4), (false, 0.4), (false, 0.2)]);
        let roc = roc_curve(&s.distribution.sorted(), 100);
        assert_eq!(roc.first().map(|p| (p.1, p.2)), Some((0.0, 0.0)));
        assert_eq!(roc.last().map(|p| (p.1, p.2)), Some((1.0, 1.0)));
        // At threshold 0.8: TPR ½, FPR 0; at 0.4: TPR 1, FPR ½.
        assert_eq!(roc[1], (0.8, 0.0, 0.5));
        assert_eq!(roc[2], (0.4, 0.5, 1.0));
        let many: Vec<ScorePoint> = (0..1000)
            .map(|i| ScorePoint {
                score: i as f64 / 1000.0,
                negatives: 1.0,
                positives: 1.0,
                rows: 2.0,
                positive_rows: 1.0,
            })
            .collect();
        let roc = roc_curve(&many, 201);
        assert_eq!(roc.len(), 201);
        assert_eq!((roc[200].1, roc[200].2), (1.0, 1.0));
    }

    #[test]
    fn empty_group_is_undefined() {
        let s = stats(&[]);
        for v in score_metrics(&s, Binning::Uniform).values() {
            assert_eq!(v.value, None);
            assert!(v.reason.is_some());
        }
    }
}
