//! A group's decision rules as thresholds on its score distribution, and their expected
//! confusion counts.
//!
//! A threshold `t` decides positive when `score ≥ t`. A [`Rule`] is a mixture of thresholds:
//! with probability `p_k` the decision uses threshold `t_k` (`t = None`: never positive), so a
//! row with score `s` is positive with probability `P(s) = Σ_{k: t_k ≤ s} p_k`. A rule with
//! one component is a plain threshold; with two or more it is *randomised* (Hardt et al. 2016,
//! Fairlearn's `ThresholdOptimizer`): rows whose score lies between two of its thresholds get
//! a positive decision with a probability strictly between 0 and 1.
//!
//! The expected weighted confusion counts of a rule are Σ_k p_k · counts(t_k), where
//! counts(t) are the weighted counts of the rows with `score ≥ t` ([`expected_confusion`]).

use crate::aggregate::{Confusion, Resolution, ScoreDistribution, ScorePoint, FINE_BINS};

/// One component of a [`Rule`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Component {
    /// Decide positive when `score ≥ threshold`; `null` = never positive.
    pub threshold: Option<f64>,
    /// Probability of using this threshold.
    pub probability: f64,
}

/// A randomised threshold rule: a mixture of thresholds whose probabilities sum to 1.
pub type Rule = Vec<Component>;

/// The probability that a row with score `s` is decided positive under `rule`.
///
/// # Examples
/// ```
/// use fairaudit::mitigate::curve::{positive_probability, Component};
/// let rule = vec![
///     Component { threshold: Some(0.3), probability: 0.25 },
///     Component { threshold: Some(0.6), probability: 0.75 },
/// ];
/// assert_eq!(positive_probability(&rule, 0.2), 0.0);
/// assert_eq!(positive_probability(&rule, 0.4), 0.25);
/// assert_eq!(positive_probability(&rule, 0.6), 1.0);
/// ```
pub fn positive_probability(rule: &[Component], s: f64) -> f64 {
    let p: f64 = rule
        .iter()
        .filter(|c| c.threshold.is_some_and(|t| s >= t))
        .map(|c| c.probability)
        .sum();
    p.clamp(0.0, 1.0)
}

/// True when some score gets a positive probability strictly between 0 and 1.
pub fn is_randomised(rule: &[Component]) -> bool {
    rule.iter().filter(|c| c.probability > 0.0).count() > 1
}

/// One candidate threshold of a group and the weighted counts it gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdPoint {
    /// The threshold (`None` = never positive).
    pub threshold: Option<f64>,
    /// Σw of positives with `score ≥ threshold`.
    pub tp: f64,
    /// Σw of negatives with `score ≥ threshold`.
    pub fp: f64,
}

/// A group's candidate thresholds: every distinct score (binned: every bin's lower edge) and
/// "never", with their counts; plus the group's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCurve {
    /// Points in ascending threshold order, "never" last (tp = fp = 0).
    pub points: Vec<ThresholdPoint>,
    /// Σw of positives.
    pub positives: f64,
    /// Σw of negatives.
    pub negatives: f64,
}

impl GroupCurve {
    /// The candidate thresholds of a score distribution.
    pub fn new(dist: &ScoreDistribution) -> Self {
        let sorted = dist.sorted();
        let half_bin = 0.5 / FINE_BINS as f64;
        let binned = dist.resolution() == Resolution::Binned;
        let mut points = Vec::with_capacity(sorted.len() + 1);
        let (mut tp, mut fp) = (0.0, 0.0);
        points.push(ThresholdPoint {
            threshold: None,
            tp,
            fp,
        });
        for p in sorted.iter().rev() {
            tp += p.positives;
            fp += p.negatives;
            // A binned point's score is its bin's midpoint; `score ≥ lower edge` selects
            // exactly the bin and those above (the edge k/2¹⁶ is exact in binary).
            let t = if binned { p.score - half_bin } else { p.score };
            points.push(ThresholdPoint {
                threshold: Some(t),
                tp,
                fp,
            });
        }
        points.reverse();
        GroupCurve {
            points,
            positives: tp,
            negatives: fp,
        }
    }

    /// Indices of the vertices of the convex hull of the points in the (fp, tp) plane (both
    /// chains). Every mixture of thresholds has counts inside this hull, and every point of
    /// the hull is the counts of a mixture of its vertices, so an optimiser over linear
    /// objectives and constraints loses nothing by using the vertices only.
    pub fn hull(&self) -> Vec<usize> {
        // Points sorted by (fp, tp) ascending: the curve runs from "never" (0, 0) to
        // "everyone" (N, P) with both coordinates non-decreasing.
        let mut order: Vec<usize> = (0..self.points.len()).collect();
        order.sort_by(|&a, &b| {
            let (pa, pb) = (&self.points[a], &self.points[b]);
            pa.fp.total_cmp(&pb.fp).then(pa.tp.total_cmp(&pb.tp))
        });
        order.dedup_by(|a, b| {
            self.points[*a].fp == self.points[*b].fp && self.points[*a].tp == self.points[*b].tp
        });
        if order.len() <= 2 {
            return order;
        }
        let cross = |o: usize, a: usize, b: usize| {
            let (o, a, b) = (&self.points[o], &self.points[a], &self.points[b]);
            (a.fp - o.fp) * (b.tp - o.tp) - (a.tp - o.tp) * (b.fp - o.fp)
        };
        let mut lower: Vec<usize> = Vec::new();
        for &i in &order {
            while lower.len() >= 2
                && cross(lower[lower.len() - 2], lower[lower.len() - 1], i) <= 0.0
            {
                lower.pop();
            }
            lower.push(i);
        }
        let mut upper: Vec<usize> = Vec::new();
        for &i in order.iter().rev() {
            while upper.len() >= 2
                && cross(upper[upper.len() - 2], upper[upper.len() - 1], i) <= 0.0
            {
                upper.pop();
            }
            upper.push(i);
        }
        lower.pop();
        upper.pop();
        lower.extend(upper);
        lower
    }
}

/// Expected weighted confusion counts of `rule` applied to the rows of `points`
/// (positive with probability [`positive_probability`]).
pub fn expected_confusion(rule: &[Component], points: &[ScorePoint]) -> Confusion<f64> {
    let mut c = Confusion::default();
    for p in points {
        let q = positive_probability(rule, p.score);
        c.tp += q * p.positives;
        c.fn_ += (1.0 - q) * p.positives;
        c.fp += q * p.negatives;
        c.tn += (1.0 - q) * p.negatives;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(rows: &[(f64, bool)]) -> ScoreDistribution {
        let mut d = ScoreDistribution::default();
        for &(s, y) in rows {
            d.push(s, y, 1.0);
        }
        d
    }

    #[test]
    fn points_count_rows_at_or_above_each_threshold() {
        // Scores 0.2 (neg), 0.5 (pos), 0.5 (neg), 0.9 (pos).
        let c = GroupCurve::new(&dist(&[
            (0.2, false),
            (0.5, true),
            (0.5, false),
            (0.9, true),
        ]));
        let got: Vec<(Option<f64>, f64, f64)> =
            c.points.iter().map(|p| (p.threshold, p.tp, p.fp)).collect();
        assert_eq!(
            got,
            vec![
                (Some(0.2), 2.0, 2.0),
                (Some(0.5), 2.0, 1.0),
                (Some(0.9), 1.0, 0.0),
                (None, 0.0, 0.0)
            ]
        );
        assert_eq!((c.positives, c.negatives), (2.0, 2.0));
    }

    #[test]
    fn hull_drops_points_inside() {
        // ROC points (fp,tp): (0,0), (0,1), (1,2), (2,2), and an inner point (1,1) at 0.3
        // is not produced here; instead check that a dominated middle point disappears.
        let c = GroupCurve::new(&dist(&[
            (0.1, false),
            (0.4, false),
            (0.5, true),
            (0.6, false),
            (0.9, true),
        ]));
        let hull = c.hull();
        for &i in &hull {
            assert!(i < c.points.len());
        }
        // (fp, tp) of threshold 0.6 is (1, 1): inside the hull of (0,0), (0,1), (1,2), (3,2).
        let inner = c
            .points
            .iter()
            .position(|p| p.threshold == Some(0.6))
            .unwrap();
        assert!(!hull.contains(&inner));
    }

    #[test]
    fn binned_thresholds_select_exactly_their_bins() {
        // More distinct scores than a distribution keeps exactly: it switches to bins, and
        // each candidate threshold is a bin's lower edge, so `score >= t` on the rows gives
        // the point's counts.
        let rows: Vec<(f64, bool)> = (0..70_001)
            .map(|i| (i as f64 / 70_000.0, i % 3 == 0))
            .collect();
        let d = dist(&rows);
        assert_eq!(d.resolution(), Resolution::Binned);
        let c = GroupCurve::new(&d);
        for p in c.points.iter().step_by(997) {
            let Some(t) = p.threshold else { continue };
            let tp = rows.iter().filter(|r| r.0 >= t && r.1).count() as f64;
            let fp = rows.iter().filter(|r| r.0 >= t && !r.1).count() as f64;
            assert_eq!((p.tp, p.fp), (tp, fp), "threshold {t}");
        }
    }

    #[test]
    fn expected_confusion_of_a_mixture() {
        let points = dist(&[(0.2, false), (0.5, true), (0.9, true)]).sorted();
        let rule = vec![
            Component {
                threshold: Some(0.5),
                probability: 0.5,
            },
            Component {
                threshold: None,
                probability: 0.5,
            },
        ];
        let c = expected_confusion(&rule, &points);
        assert_eq!((c.tp, c.fn_, c.fp, c.tn), (1.0, 1.0, 0.0, 1.0));
    }
}
