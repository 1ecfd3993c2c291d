//! [`GroupStats`]: the sufficient statistics of one group, with `push` and `merge`.

use std::sync::OnceLock;

use std::ops::AddAssign;

use super::distribution::{grid_score, grid_slot_u32, ScoreDistribution, GRID_STEPS, MAX_DISTINCT};
use super::sum::Sum;

/// The four cells of a binary confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Confusion<T> {
    /// True positives: label 1, decision 1.
    pub tp: T,
    /// False positives: label 0, decision 1.
    pub fp: T,
    /// True negatives: label 0, decision 0.
    pub tn: T,
    /// False negatives: label 1, decision 0.
    #[serde(rename = "fn")]
    pub fn_: T,
}

impl<T: Copy> Confusion<T> {
    /// Add `amount` to the cell of (`label`, `decision`).
    #[inline]
    pub fn add<A>(&mut self, label: bool, decision: bool, amount: A)
    where
        T: AddAssign<A>,
    {
        match (label, decision) {
            (true, true) => self.tp += amount,
            (false, true) => self.fp += amount,
            (false, false) => self.tn += amount,
            (true, false) => self.fn_ += amount,
        }
    }

    /// Cell-wise sum.
    pub fn merge(&mut self, other: &Self)
    where
        T: AddAssign,
    {
        self.tp += other.tp;
        self.fp += other.fp;
        self.tn += other.tn;
        self.fn_ += other.fn_;
    }
}

impl Confusion<Sum> {
    /// The four sums' values.
    pub fn value(&self) -> Confusion<f64> {
        Confusion {
            tp: self.tp.value(),
            fp: self.fp.value(),
            tn: self.tn.value(),
            fn_: self.fn_.value(),
        }
    }
}

impl From<Confusion<f64>> for Confusion<Sum> {
    fn from(c: Confusion<f64>) -> Self {
        Confusion {
            tp: c.tp.into(),
            fp: c.fp.into(),
            tn: c.tn.into(),
            fn_: c.fn_.into(),
        }
    }
}

/// Sums over the rows of one equal-width calibration bin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BinStats {
    /// Rows in the bin (unweighted).
    pub rows: u64,
    /// Σ w.
    pub weight: Sum,
    /// Σ w·s.
    pub sum_score: Sum,
    /// Σ w·y.
    pub sum_label: Sum,
}

/// Score sums of one group; all zero when the audit has no score column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreStats {
    /// Rows with a score (unweighted).
    pub rows: u64,
    /// Σ w over rows with a score.
    pub weight: Sum,
    /// Σ w·s.
    pub sum_score: Sum,
    /// Σ w·y.
    pub sum_label: Sum,
    /// Σ w·(s − y)² (Brier).
    pub sum_squared_error: Sum,
    /// Σ w·(−y·ln p − (1−y)·ln(1−p)), p = s clipped to [ε, 1−ε], ε = `f64::EPSILON` (log loss).
    pub sum_log_loss: Sum,
    /// Equal-width bins, right-closed (see [`bin_index`]).
    pub bins: Vec<BinStats>,
    /// Σ w of negatives and positives per score, for AUC, ROC, quantile bins and the
    /// recalibration fits.
    pub distribution: ScoreDistribution,
}

/// Sufficient statistics of one group (a cell, a group of an attribute, or all rows).
///
/// Every metric of the audit is a pure function of these fields, and `merge` makes the
/// statistics of a union of disjoint row sets from those of its parts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupStats {
    /// Rows (unweighted).
    pub rows: u64,
    /// Confusion counts (unweighted).
    pub counts: Confusion<u64>,
    /// Confusion sums of sample weights (equal to `counts` without a weight column).
    pub weighted: Confusion<Sum>,
    /// Confusion sums of squared sample weights Σw² (equal to `counts` without a weight
    /// column): with `weighted` they give Kish's effective sample size (Σw)²/Σw² of any rate's
    /// denominator, for confidence intervals and tests on weighted data (issue 5).
    pub weighted_sq: Confusion<Sum>,
    /// Score statistics.
    pub score: ScoreStats,
    /// True while the statistics are *unsettled* (issue 8): every row so far came through the
    /// streaming fold with weight 1 and a score, and the score distribution is exact, so the
    /// weighted confusion sums and every score sum are functions of `counts` and of the
    /// distribution. Until [`settle`](Self::settle) they are left unformed, which makes a row
    /// a few integer increments. Only the fold makes unsettled statistics, and it settles
    /// everything it hands out.
    pub(crate) unsettled: bool,
}

impl GroupStats {
    /// Empty statistics with `bins` calibration bins.
    pub fn with_bins(bins: usize) -> Self {
        GroupStats {
            score: ScoreStats {
                bins: vec![BinStats::default(); bins],
                ..ScoreStats::default()
            },
            ..GroupStats::default()
        }
    }

    /// Empty statistics for the streaming fold, unsettled until [`settle`](Self::settle).
    pub(crate) fn unsettled(bins: usize) -> Self {
        GroupStats {
            unsettled: true,
            ..GroupStats::with_bins(bins)
        }
    }

    /// Add one row.
    pub fn push(&mut self, label: bool, decision: bool, score: Option<f64>, weight: f64) {
        self.settle();
        self.rows += 1;
        self.counts.add(label, decision, 1);
        self.weighted.add(label, decision, weight);
        self.weighted_sq.add(label, decision, weight * weight);
        if let Some(s) = score {
            self.score.push(label, s, weight);
        }
    }

    /// The fast path of [`push_scored`](Self::push_scored): a row of weight 1 whose score
    /// is on an unsettled group's dense grid, added with increments only. False, and nothing
    /// added, for any other row.
    #[inline(always)]
    pub(crate) fn push_unit(&mut self, label: bool, decision: bool, slot: u32, w: f64) -> bool {
        if !(self.unsettled && w == 1.0 && self.score.distribution.push_unit_on_grid(slot, label)) {
            return false;
        }
        self.rows += 1;
        self.score.rows += 1;
        let c = &mut self.counts;
        c.tp += u64::from(label & decision);
        c.fp += u64::from(!label & decision);
        c.tn += u64::from(!label & !decision);
        c.fn_ += u64::from(label & !decision);
        true
    }

    /// [`push`](Self::push) of a row with a score whose grid slot is known (`u32::MAX`:
    /// off the grid), with the logarithms looked up (issue 8). Rows of weight 1 keep
    /// unsettled statistics unsettled: once settled, the sums have the same terms as with
    /// `push`, added in ascending score order instead of row order.
    #[inline]
    pub(crate) fn push_scored(&mut self, label: bool, decision: bool, s: f64, slot: u32, w: f64) {
        if self.unsettled {
            // Stay unsettled while the row has weight 1 and the distribution cannot coarsen.
            if w == 1.0 && self.score.distribution.len() < MAX_DISTINCT {
                self.rows += 1;
                self.counts.add(label, decision, 1);
                self.score.rows += 1;
                self.score.distribution.push_slot(s, slot, label, 1.0);
                return;
            }
            self.settle();
        }
        self.rows += 1;
        self.counts.add(label, decision, 1);
        self.weighted.add(label, decision, w);
        self.weighted_sq.add(label, decision, w * w);
        self.score.push_slot(label, s, slot, w);
    }

    /// Form the sums of unsettled statistics (see [`unsettled`](Self::unsettled)); no-op
    /// when settled. Every row had weight 1, so the weighted confusion sums are the counts,
    /// and each distinct score's rows add their terms at once, as exact products
    /// ([`Sum::add_product`]): the same terms as row by row, summed in ascending score order.
    pub(crate) fn settle(&mut self) {
        if !std::mem::take(&mut self.unsettled) {
            return;
        }
        let c = self.counts;
        let unit: Confusion<Sum> = Confusion {
            tp: c.tp as f64,
            fp: c.fp as f64,
            tn: c.tn as f64,
            fn_: c.fn_ as f64,
        }
        .into();
        self.weighted.merge(&unit);
        self.weighted_sq.merge(&unit);
        self.score.add_unit_rows();
    }

    /// Add the statistics of a disjoint set of rows.
    pub fn merge(&mut self, other: &GroupStats) {
        let distinct = self.score.distribution.len() + other.score.distribution.len();
        if self.unsettled && other.unsettled && distinct < MAX_DISTINCT {
            self.rows += other.rows;
            self.counts.merge(&other.counts);
            self.score.rows += other.score.rows;
            self.score.distribution.merge(&other.score.distribution);
            return;
        }
        self.settle();
        if other.unsettled {
            let mut other = other.clone();
            other.settle();
            return self.merge(&other);
        }
        self.rows += other.rows;
        self.counts.merge(&other.counts);
        self.weighted.merge(&other.weighted);
        self.weighted_sq.merge(&other.weighted_sq);
        self.score.merge(&other.score);
    }
}

/// `(ln p, ln(1 − p))` of every grid score, p clipped as in the log loss.
fn grid_logs() -> &'static [(f64, f64)] {
    static LOGS: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    LOGS.get_or_init(|| {
        (0..=GRID_STEPS as usize)
            .map(|k| clipped_logs(grid_score(k)))
            .collect()
    })
}

/// The probability used in the log loss: `s` clipped to [ε, 1 − ε].
fn clipped(s: f64) -> f64 {
    s.clamp(f64::EPSILON, 1.0 - f64::EPSILON)
}

/// `(ln p, ln(1 − p))` of score `s`, p clipped as in the log loss.
fn clipped_logs(s: f64) -> (f64, f64) {
    let p = clipped(s);
    (p.ln(), (1.0 - p).ln())
}

/// [`clipped_logs`] of score `s` at grid slot `slot` (`u32::MAX` off the grid), looked up for
/// a grid score: no logarithm per row pushed, nor per point of a distribution settled (issue 8).
fn log_probabilities(s: f64, slot: u32) -> (f64, f64) {
    match grid_logs().get(slot as usize) {
        Some(&logs) => logs,
        None => clipped_logs(s),
    }
}

impl ScoreStats {
    fn push(&mut self, label: bool, s: f64, w: f64) {
        self.push_slot(label, s, grid_slot_u32(s), w);
    }

    #[inline]
    fn push_slot(&mut self, label: bool, s: f64, slot: u32, w: f64) {
        let y = if label { 1.0 } else { 0.0 };
        self.rows += 1;
        self.weight += w;
        self.sum_score += w * s;
        self.sum_label += w * y;
        self.sum_squared_error += w * (s - y) * (s - y);
        let (ln_p, ln_q) = log_probabilities(s, slot);
        self.sum_log_loss += -w * if label { ln_p } else { ln_q };
        if !self.bins.is_empty() {
            let b = bin_index(s, self.bins.len());
            let bin = &mut self.bins[b];
            bin.rows += 1;
            bin.weight += w;
            bin.sum_score += w * s;
            bin.sum_label += w * y;
        }
        self.distribution.push_slot(s, slot, label, w);
    }

    /// Add the sums of the rows counted in `rows` and the distribution, all of weight 1
    /// ([`GroupStats::settle`]). Compiled with FMA where the CPU has it, so that the exact
    /// products ([`Sum::add_product`]) take one instruction instead of a call to the library's
    /// `fma` (the same exact values either way; issue 8).
    fn add_unit_rows(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has FMA, the only feature the function enables.
            return unsafe { self.add_unit_rows_fma() };
        }
        self.add_unit_rows_in();
    }

    /// [`add_unit_rows`](Self::add_unit_rows) compiled for FMA.
    ///
    /// # Safety
    /// The CPU must support FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "fma")]
    unsafe fn add_unit_rows_fma(&mut self) {
        self.add_unit_rows_in();
    }

    /// The body of [`add_unit_rows`](Self::add_unit_rows), for each instruction set.
    #[inline(always)]
    fn add_unit_rows_in(&mut self) {
        let bins = self.bins.len();
        for p in self.distribution.sorted() {
            let (s, n, positives) = (p.score, p.rows, p.positive_rows);
            let negatives = n - positives;
            self.weight += n;
            self.sum_score.add_product(n, s);
            self.sum_label += positives;
            self.sum_squared_error.add_product(negatives, s * s);
            self.sum_squared_error
                .add_product(positives, (s - 1.0) * (s - 1.0));
            let (ln_p, ln_q) = log_probabilities(s, grid_slot_u32(s));
            self.sum_log_loss.add_product(positives, -ln_p);
            self.sum_log_loss.add_product(negatives, -ln_q);
            if bins > 0 {
                let bin = &mut self.bins[bin_index(s, bins)];
                bin.rows += n as u64;
                bin.weight += n;
                bin.sum_score.add_product(n, s);
                bin.sum_label += positives;
            }
        }
    }

    fn merge(&mut self, other: &ScoreStats) {
        self.rows += other.rows;
        self.weight += other.weight;
        self.sum_score += other.sum_score;
        self.sum_label += other.sum_label;
        self.sum_squared_error += other.sum_squared_error;
        self.sum_log_loss += other.sum_log_loss;
        if self.bins.len() < other.bins.len() {
            self.bins.resize(other.bins.len(), BinStats::default());
        }
        for (mine, theirs) in self.bins.iter_mut().zip(&other.bins) {
            mine.rows += theirs.rows;
            mine.weight += theirs.weight;
            mine.sum_score += theirs.sum_score;
            mine.sum_label += theirs.sum_label;
        }
        self.distribution.merge(&other.distribution);
    }
}

/// The equal-width bin of score `s` among `bins` bins, right-closed.
///
/// Edges are `e_k = k/B` computed as `numpy.linspace(0, 1, B+1)` does (`k * (1/B)`, last edge
/// exactly 1). The bin is the number of interior edges `e_1..e_{B-1}` strictly below `s`, so bin 0
/// is `[0, e_1]` and bin b is `(e_b, e_{b+1}]`: a score on an edge goes to the lower bin, as in
/// scikit-learn's `calibration_curve(strategy="uniform")`.
///
/// # Examples
/// ```
/// use fairaudit::aggregate::bin_index;
/// assert_eq!(bin_index(0.0, 10), 0);
/// assert_eq!(bin_index(0.1, 10), 0); // on the edge e_1: lower bin
/// assert_eq!(bin_index(0.3, 10), 2); // 0.3 < e_3 = 0.30000000000000004
/// assert_eq!(bin_index(1.0, 10), 9);
/// ```
pub fn bin_index(s: f64, bins: usize) -> usize {
    let step = 1.0 / bins as f64;
    // Start from a guess and correct it against the exact linspace edges.
    let mut b = ((s * bins as f64).ceil() as usize)
        .saturating_sub(1)
        .min(bins - 1);
    while b > 0 && s <= linspace_edge(b, bins, step) {
        b -= 1;
    }
    while b + 1 < bins && s > linspace_edge(b + 1, bins, step) {
        b += 1;
    }
    b
}

/// Edge k of `numpy.linspace(0, 1, bins + 1)`: `k * step`, and exactly 1 for the last.
fn linspace_edge(k: usize, bins: usize, step: f64) -> f64 {
    if k == bins {
        1.0
    } else {
        k as f64 * step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_numpy_linspace_edges() {
        // numpy.linspace(0,1,11)[3] == 0.30000000000000004, so 0.3 lies below e_3: bin 2.
        assert_eq!(bin_index(0.3, 10), 2);
        assert_eq!(bin_index(0.30000000000000004, 10), 2);
        let above_e3 = f64::from_bits(0.30000000000000004f64.to_bits() + 1);
        assert_eq!(bin_index(above_e3, 10), 3);
        // Every COMPAS decile d/10 falls into bin d-1.
        for d in 1..=10 {
            assert_eq!(bin_index(d as f64 / 10.0, 10), d - 1, "decile {d}");
        }
        assert_eq!(bin_index(0.05, 10), 0);
        assert_eq!(bin_index(0.95, 10), 9);
        assert_eq!(bin_index(0.5, 1), 0);
    }

    #[test]
    fn push_fills_the_confusion_cell_and_scores() {
        let mut g = GroupStats::with_bins(2);
        g.push(true, true, Some(0.75), 2.0); // TP, weight 2
        g.push(false, false, Some(0.25), 1.0); // TN
        assert_eq!(
            g.counts,
            Confusion {
                tp: 1,
                fp: 0,
                tn: 1,
                fn_: 0
            }
        );
        assert_eq!(g.weighted.tp.value(), 2.0);
        assert_eq!(g.weighted_sq.tp.value(), 4.0); // 2²
        assert_eq!(g.weighted_sq.tn.value(), 1.0);
        assert_eq!(g.score.sum_score.value(), 1.75);
        // Brier sums: 2·0.25² + 0.25² = 0.1875
        assert_eq!(g.score.sum_squared_error.value(), 0.1875);
        assert_eq!(g.score.bins[0].rows, 1);
        assert_eq!(g.score.bins[1].sum_label.value(), 2.0);
        assert_eq!(g.score.distribution.len(), 2);
    }

    #[test]
    fn merge_equals_pushing_all_rows() {
        let rows = [
            (true, true, 0.9),
            (false, true, 0.6),
            (true, false, 0.1),
            (false, false, 0.6),
        ];
        let mut all = GroupStats::with_bins(10);
        let mut left = GroupStats::with_bins(10);
        let mut right = GroupStats::with_bins(10);
        for (i, &(y, d, s)) in rows.iter().enumerate() {
            all.push(y, d, Some(s), 1.0);
            if i < 2 {
                left.push(y, d, Some(s), 1.0)
            } else {
                right.push(y, d, Some(s), 1.0)
            }
        }
        left.merge(&right);
        assert_eq!(left, all);
    }

    #[test]
    fn squared_weights_merge_like_weights() {
        // Rows (label, decision, weight): TP 2, TP 3, FN 0.5. Σw² of TP = 4 + 9 = 13.
        let rows = [(true, true, 2.0), (true, true, 3.0), (true, false, 0.5)];
        let mut all = GroupStats::default();
        let mut parts = [GroupStats::default(), GroupStats::default()];
        for (i, &(y, d, w)) in rows.iter().enumerate() {
            all.push(y, d, None, w);
            parts[i % 2].push(y, d, None, w);
        }
        let [mut left, right] = parts;
        left.merge(&right);
        assert_eq!(left, all);
        assert_eq!(all.weighted_sq.tp.value(), 13.0);
        assert_eq!(all.weighted_sq.fn_.value(), 0.25);
    }
}
