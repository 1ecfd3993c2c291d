//! Parametric bootstrap of the regression means (issue 11), for intervals of the regression
//! disparities (ratio and difference against the reference) and between-group summaries
//! (`mae_difference`, `mean_error_ratio`, …).
//!
//! The statistics keep no (label, prediction) pairs, only weighted sums. Each cell c has, per
//! mean metric k, the weighted mean m_c,k of a per-row term x (|e| for `mae`, e² for `mse`, e
//! for `mean_error`, ŷ, y, and [ŷ > t] for `share_above_quantile`) and its standard error
//! se_c,k = s/√n_eff ([`regression::mean_standard_error`]: Kish's n_eff = W²/Σw², s² the
//! weighted variance of x with the n_eff/(n_eff − 1) correction; 0 when n_eff < 2).
//!
//! A replicate draws every cell's mean independently from N(m_c,k, se_c,k²), stratified by
//! cell: cell weights W_c stay fixed, as the binary and multiclass bootstraps keep cell sizes.
//! A group's (and the overall) drawn mean is Σ_c W_c·m*_c,k / Σ_c W_c; `rmse` = √max(mse*, 0).
//! The disparities and summaries are then recomputed from the drawn metrics, and the
//! percentile interval of the replicates is reported.
//!
//! Assumptions: each cell mean is approximately normal (the central limit theorem: a group
//! whose cells are small still gets a good normal approximation of its own mean, since the
//! sum of independent normals with the cells' variances is the stratified variance of the
//! group mean); rows are independent; weights are sampling weights. Metrics of different
//! terms are drawn independently: every disparity and summary reads one metric, so only each
//! metric's own distribution matters. `r2` (a ratio of two sums that are not drawn jointly)
//! gets no interval.
//!
//! Replicate r draws from `ChaCha8Rng::seed_from_u64(seed)` on stream r
//! ([`super::class_bootstrap::replicate_rng`]) in cell order: results depend on the seed only.

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::aggregate::regression::RegressionStats;
use crate::metrics::{regression, Metrics, Value};

/// The mean metrics drawn, in the order of [`CellMeans`] (`rmse` follows from `mse`).
pub const DRAWN: [&str; 6] = [
    "mae",
    "mse",
    "mean_error",
    "mean_prediction",
    "mean_label",
    "share_above_quantile",
];

/// Every metric that gets a bootstrap interval: [`DRAWN`] and `rmse`.
pub fn has_interval(key: &str) -> bool {
    key == "rmse" || DRAWN.contains(&key)
}

/// A cell's mean and standard error per [`DRAWN`] metric, and its weight. `None` for a
/// metric that is undefined in the cell (no weight; no quantile threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct CellMeans {
    /// Σw of the cell.
    pub weight: f64,
    /// (mean, standard error) per [`DRAWN`] metric.
    pub terms: [Option<(f64, f64)>; 6],
}

impl CellMeans {
    /// The means and standard errors of a cell; `threshold` is the overall quantile of
    /// `share_above_quantile`.
    pub fn of(s: &RegressionStats, threshold: Option<f64>) -> CellMeans {
        let w = s.weight;
        let share = threshold.and_then(|t| regression::share_above(&s.predictions, t).value);
        // (mean, Σw·x²) of each term.
        let parts = [
            (w > 0.0).then(|| (s.sum_abs_error / w, s.sum_sq_error)),
            (w > 0.0).then(|| (s.sum_sq_error / w, s.sum_quartic_error)),
            (w > 0.0).then(|| (s.sum_error / w, s.sum_sq_error)),
            (w > 0.0).then(|| (s.sum_prediction / w, s.sum_sq_prediction)),
            (w > 0.0).then(|| (s.sum_label / w, s.sum_sq_label)),
            // x ∈ {0, 1}: Σw·x² = Σw·x = W·p.
            share.filter(|_| w > 0.0).map(|p| (p, p * w)),
        ];
        CellMeans {
            weight: w,
            terms: parts.map(|p| {
                p.map(|(mean, sum_sq)| {
                    let se = regression::mean_standard_error(mean, sum_sq, s).unwrap_or(0.0);
                    (mean, se)
                })
            }),
        }
    }

    /// One draw: each defined mean from N(mean, se²).
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> Drawn {
        let mut sums = [None; 6];
        for (sum, term) in sums.iter_mut().zip(&self.terms) {
            if let Some((mean, se)) = term {
                let z: f64 = StandardNormal.sample(rng);
                *sum = Some(self.weight * (mean + se * z));
            }
        }
        Drawn {
            weight: self.weight,
            sums,
        }
    }
}

/// Drawn means of one or more cells, as Σ_c W_c and Σ_c W_c·m*_c per [`DRAWN`] metric
/// (`None` when some merged cell has the metric undefined).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drawn {
    /// Σ_c W_c.
    pub weight: f64,
    /// Σ_c W_c·m*_c per metric.
    pub sums: [Option<f64>; 6],
}

impl Default for Drawn {
    fn default() -> Self {
        Drawn {
            weight: 0.0,
            sums: [Some(0.0); 6],
        }
    }
}

impl Drawn {
    /// Add the draws of other cells.
    pub fn merge(&mut self, o: &Drawn) {
        self.weight += o.weight;
        for (mine, theirs) in self.sums.iter_mut().zip(&o.sums) {
            *mine = match (*mine, theirs) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
    }

    /// The drawn metrics: the [`DRAWN`] means and `rmse`; undefined without weight.
    pub fn metrics(&self) -> Metrics {
        let mut m = Metrics::new();
        for (key, sum) in DRAWN.iter().zip(&self.sums) {
            let v = match sum {
                Some(s) if self.weight > 0.0 => Value::defined(s / self.weight),
                _ => Value::undefined("undefined in the drawn group"),
            };
            if *key == "mse" {
                m.insert("rmse".into(), v.clone().map(|x| x.max(0.0).sqrt()));
            }
            m.insert((*key).into(), v);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::class_bootstrap::replicate_rng;

    fn stats(rows: &[(f64, f64, f64)]) -> RegressionStats {
        let mut s = RegressionStats::default();
        rows.iter().for_each(|&(y, p, w)| s.push(y, p, w));
        s
    }

    #[test]
    fn cell_means_are_the_metrics_and_their_standard_errors() {
        let s = stats(&[(1.0, 2.0, 1.0), (3.0, 2.0, 1.0), (0.0, 4.0, 1.0)]);
        let c = CellMeans::of(&s, Some(2.5));
        let m = regression::regression_metrics(&s, Some(2.5));
        for (key, term) in DRAWN.iter().zip(&c.terms) {
            assert_eq!(Some(term.unwrap().0), m[*key].value, "{key}");
        }
        // |e| = 1, 1, 4: sample sd √3, se = √3/√3 = 1.
        assert!((c.terms[0].unwrap().1 - 1.0).abs() < 1e-12);
        // One cell of one row: no spread, the draw is the mean.
        let one = CellMeans::of(&stats(&[(1.0, 2.0, 3.0)]), None);
        let d = one.draw(&mut replicate_rng(1, 0));
        assert_eq!(d.metrics()["mae"].value, Some(1.0));
        assert_eq!(d.metrics()["share_above_quantile"].value, None);
    }

    #[test]
    fn merged_draws_are_weighted_means_and_seeded() {
        let a = CellMeans::of(&stats(&[(1.0, 2.0, 1.0), (3.0, 2.0, 1.0)]), None);
        let b = CellMeans::of(&stats(&[(0.0, 4.0, 2.0), (5.0, 4.0, 1.0)]), None);
        let mut rng = replicate_rng(7, 3);
        let (da, db) = (a.draw(&mut rng), b.draw(&mut rng));
        let mut all = da;
        all.merge(&db);
        let mae = |d: &Drawn| d.metrics()["mae"].value.unwrap();
        let want = (2.0 * mae(&da) + 3.0 * mae(&db)) / 5.0;
        assert!((mae(&all) - want).abs() < 1e-12);
        let mut again = replicate_rng(7, 3);
        assert_eq!(a.draw(&mut again), da);
    }
}
