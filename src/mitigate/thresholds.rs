//! The post-processing optimiser: per-group (possibly randomised) thresholds that meet a
//! fairness objective within a tolerance while maximising a utility.
//!
//! For every group g, a rule is a mixture λ_g of the group's candidate thresholds
//! ([`GroupCurve`]); its expected counts TP_g, FP_g are linear in λ_g. The objectives:
//!
//! - `demographic_parity`: max_g sel_g − min_g sel_g ≤ tol, sel_g = (TP_g+FP_g)/W_g;
//! - `equal_opportunity`: max_g tpr_g − min_g tpr_g ≤ tol, tpr_g = TP_g/P_g;
//! - `equalized_odds`: both the tpr and the fpr (FP_g/N_g) spreads ≤ tol.
//!
//! (These are Fairlearn's `demographic_parity_difference`, `equal_opportunity_difference` and
//! `equalized_odds_difference`; a group whose rate is undefined, e.g. no positives for tpr,
//! is left out of that rate's constraint.) "Spread ≤ tol" is linear: there is a level m with
//! m ≤ rate_g ≤ m + tol for every g. The utility is linear in the counts too
//! ([`Utility`]), so the best rules are the solution of a linear programme over the vertices
//! of each group's ROC convex hull (Hardt et al. 2016, §4), solved exactly by [`super::lp`].
//! The optimum is over *all* randomised threshold rules, so it is at least as good as
//! Fairlearn's grid search over the same family. It is always feasible (deciding everyone
//! negative meets every objective).
//!
//! A basic optimal solution mixes few thresholds per group: one (a plain threshold) or
//! two, sometimes three (randomised; see [`super::curve`]).

use std::collections::BTreeMap;

use super::curve::{Component, GroupCurve, Rule};
use super::lp::{self, Relation, Row};
use super::{Objective, Utility};
use crate::error::{Error, Result};

/// Mixing probabilities below this are dropped (numerical noise of the solver).
const MIN_PROBABILITY: f64 = 1e-10;

/// Rates of a group constrained by an objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rate {
    Selection,
    Tpr,
    Fpr,
}

fn rates(objective: Objective) -> &'static [Rate] {
    match objective {
        Objective::DemographicParity => &[Rate::Selection],
        Objective::EqualOpportunity => &[Rate::Tpr],
        Objective::EqualizedOdds => &[Rate::Tpr, Rate::Fpr],
    }
}

/// `rate` of counts (tp, fp) in a group with `p` positives and `n` negatives; `None` when
/// its denominator is 0.
fn rate(r: Rate, tp: f64, fp: f64, p: f64, n: f64) -> Option<f64> {
    let (num, den) = match r {
        Rate::Selection => (tp + fp, p + n),
        Rate::Tpr => (tp, p),
        Rate::Fpr => (fp, n),
    };
    (den > 0.0).then(|| num / den)
}

/// The coefficients (a, b) of a utility `Σ_g a·TP_g + b·FP_g + const` given the totals of
/// positives `p`, negatives `n` over all groups.
pub fn utility_coefficients(utility: Utility, p: f64, n: f64) -> (f64, f64) {
    let w = p + n;
    match utility {
        // (TP + TN)/W = (TP − FP + N)/W.
        Utility::Accuracy => (1.0 / w, -1.0 / w),
        // ½(TP/P + TN/N) = ½(TP/P − FP/N + 1).
        Utility::BalancedAccuracy => (
            if p > 0.0 { 0.5 / p } else { 0.0 },
            if n > 0.0 { -0.5 / n } else { 0.0 },
        ),
        // −(c_fp·FP + c_fn·FN)/W = (c_fn·TP − c_fp·FP − c_fn·P)/W.
        Utility::Cost { fp, fn_ } => (fn_ / w, -fp / w),
    }
}

/// The best rule per group for `objective` within `tolerance`, maximising `utility`.
///
/// `curves` are keyed by group. Errors only when the solver fails numerically (a bug).
pub fn optimise(
    curves: &BTreeMap<String, GroupCurve>,
    objective: Objective,
    tolerance: f64,
    utility: Utility,
) -> Result<BTreeMap<String, Rule>> {
    let p: f64 = curves.values().map(|c| c.positives).sum();
    let n: f64 = curves.values().map(|c| c.negatives).sum();
    let (a, b) = utility_coefficients(utility, p, n);
    let hulls: Vec<(&String, &GroupCurve, Vec<usize>)> =
        curves.iter().map(|(g, c)| (g, c, c.hull())).collect();
    let constrained = rates(objective);
    let lambdas: usize = hulls.iter().map(|h| h.2.len()).sum();
    let vars = lambdas + constrained.len();
    // Scale the objective to O(1) for the solver's tolerances.
    let scale = p + n;
    let mut c = vec![0.0; vars];
    let mut rows = Vec::new();
    let mut offset = 0;
    for (_, curve, hull) in &hulls {
        let mut convex = vec![0.0; vars];
        for (k, &i) in hull.iter().enumerate() {
            let pt = &curve.points[i];
            c[offset + k] = scale * (a * pt.tp + b * pt.fp);
            convex[offset + k] = 1.0;
        }
        rows.push(Row {
            a: convex,
            relation: Relation::Eq,
            b: 1.0,
        });
        for (r, &which) in constrained.iter().enumerate() {
            let level = lambdas + r;
            let mut coef = vec![0.0; vars];
            let mut defined = true;
            for (k, &i) in hull.iter().enumerate() {
                let pt = &curve.points[i];
                match rate(which, pt.tp, pt.fp, curve.positives, curve.negatives) {
                    Some(x) => coef[offset + k] = x,
                    None => defined = false,
                }
            }
            if !defined {
                continue;
            }
            coef[level] = -1.0;
            rows.push(Row {
                a: coef.clone(),
                relation: Relation::Ge,
                b: 0.0,
            });
            rows.push(Row {
                a: coef,
                relation: Relation::Le,
                b: tolerance,
            });
        }
        offset += hull.len();
    }
    let x = lp::maximize(&c, &rows).ok_or_else(|| Error::Render {
        format: "thresholds",
        msg: "the threshold optimiser found no solution (this is a bug)".into(),
    })?;
    let mut mixtures: Vec<Mixture> = Vec::with_capacity(hulls.len());
    let mut offset = 0;
    for (_, _, hull) in &hulls {
        let mut mixture: Mixture = (hull.iter().enumerate())
            .filter(|(k, _)| x[offset + k] > MIN_PROBABILITY)
            .map(|(k, &i)| (i, x[offset + k]))
            .collect();
        let total: f64 = mixture.iter().map(|m| m.1).sum();
        for m in &mut mixture {
            m.1 /= total;
        }
        mixtures.push(mixture);
        offset += hull.len();
    }
    let group_curves: Vec<&GroupCurve> = hulls.iter().map(|h| h.1).collect();
    prefer_plain(&group_curves, &mut mixtures, constrained, tolerance, (a, b));
    let mut out = BTreeMap::new();
    for ((g, curve, _), mixture) in hulls.iter().zip(mixtures) {
        let mut rule: Rule = (mixture.into_iter())
            .map(|(i, probability)| Component {
                threshold: curve.points[i].threshold,
                probability,
            })
            .collect();
        // Ascending threshold, "never" last.
        rule.sort_by(|a, b| match (a.threshold, b.threshold) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        out.insert((*g).clone(), rule);
    }
    Ok(out)
}

/// One group's rule as (index into its curve's points, probability).
type Mixture = Vec<(usize, f64)>;

/// Slack of the objective's constraints after the solver's rounding (see the README).
const FEASIBILITY_SLACK: f64 = 1e-9;
/// Utility lost to rounding that still counts as a tie.
const TIE: f64 = 1e-12;

/// Ties between optimal rules (issue 10): several rules can reach the best utility, and a
/// plain threshold is easier to explain and to apply than a random draw. Each randomised
/// group in turn (in group order) is given the single threshold of its mixture, trying the
/// most probable first (ties: the lower threshold), when that keeps the objective within the
/// tolerance (+ [`FEASIBILITY_SLACK`]) and the utility within [`TIE`] × max(1, |utility|) of
/// the optimum; otherwise it keeps its mixture. Passes repeat until none changes anything,
/// so no randomised group left could be made plain on its own. Deterministic; the utility
/// stays optimal (within [`TIE`]).
fn prefer_plain(
    curves: &[&GroupCurve],
    mixtures: &mut [Mixture],
    constrained: &[Rate],
    tolerance: f64,
    (a, b): (f64, f64),
) {
    let counts = |curve: &GroupCurve, m: &Mixture| -> (f64, f64) {
        m.iter().fold((0.0, 0.0), |(tp, fp), &(i, p)| {
            (tp + p * curve.points[i].tp, fp + p * curve.points[i].fp)
        })
    };
    let mut current: Vec<(f64, f64)> = (curves.iter().zip(mixtures.iter()))
        .map(|(c, m)| counts(c, m))
        .collect();
    let utility = |cs: &[(f64, f64)]| cs.iter().map(|(tp, fp)| a * tp + b * fp).sum::<f64>();
    let feasible = |cs: &[(f64, f64)]| {
        constrained.iter().all(|&r| {
            let values: Vec<f64> = (curves.iter().zip(cs))
                .filter_map(|(c, &(tp, fp))| rate(r, tp, fp, c.positives, c.negatives))
                .collect();
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            values.is_empty() || max - min <= tolerance + FEASIBILITY_SLACK
        })
    };
    let best = utility(&current);
    // Passes until nothing changes: a group made plain can let an earlier one become plain
    // too. Each pass makes at least one group plain or ends, so there are at most as many
    // passes as groups.
    loop {
        let mut changed = false;
        for g in 0..mixtures.len() {
            if mixtures[g].len() < 2 {
                continue;
            }
            let mut order = mixtures[g].clone();
            order.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            for (i, _) in order {
                let mut trial = current.clone();
                trial[g] = (curves[g].points[i].tp, curves[g].points[i].fp);
                if feasible(&trial) && utility(&trial) >= best - TIE * best.abs().max(1.0) {
                    mixtures[g] = vec![(i, 1.0)];
                    current = trial;
                    changed = true;
                    break;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::ScoreDistribution;
    use crate::mitigate::curve::expected_confusion;

    fn curve(rows: &[(f64, bool)]) -> (GroupCurve, ScoreDistribution) {
        let mut d = ScoreDistribution::default();
        for &(s, y) in rows {
            d.push(s, y, 1.0);
        }
        (GroupCurve::new(&d), d)
    }

    #[test]
    fn unconstrained_accuracy_thresholds_at_the_class_boundary() {
        // A perfectly separable group: the best rule is the threshold 0.6.
        let (c, _) = curve(&[(0.1, false), (0.3, false), (0.6, true), (0.8, true)]);
        let curves = BTreeMap::from([("a".to_string(), c)]);
        let rules = optimise(
            &curves,
            Objective::DemographicParity,
            1.0,
            Utility::Accuracy,
        )
        .unwrap();
        assert_eq!(
            rules["a"],
            vec![Component {
                threshold: Some(0.6),
                probability: 1.0
            }]
        );
    }

    #[test]
    fn ties_prefer_a_plain_threshold_and_keep_a_needed_mixture() {
        // Points: 0.2 (tp 2, fp 2), 0.5 (2, 1), 0.8 (1, 0), never (0, 0). Thresholds 0.5 and
        // 0.8 both make one error, and so does any mixture of them: a tie.
        let (c, _) = curve(&[(0.2, false), (0.5, true), (0.5, false), (0.8, true)]);
        let (a, b) = utility_coefficients(Utility::Accuracy, 2.0, 2.0);
        let mut mixtures = vec![vec![(1, 0.5), (2, 0.5)]];
        prefer_plain(&[&c], &mut mixtures, &[Rate::Selection], 1.0, (a, b));
        // Equal probabilities: the lower threshold (0.5).
        assert_eq!(mixtures, vec![vec![(1, 1.0)]]);
        let mut mixtures = vec![vec![(1, 0.25), (2, 0.75)]];
        prefer_plain(&[&c], &mut mixtures, &[Rate::Selection], 1.0, (a, b));
        assert_eq!(mixtures, vec![vec![(2, 1.0)]], "the more probable one");
        // Two groups held to equal selection rates: group a's mixture selects 1/2 of its
        // rows, as group b does (score >= 0.5: 4 of 8); no plain threshold of a selects 1/2.
        let (cb, _) = curve(&[
            (0.1, false),
            (0.2, false),
            (0.3, false),
            (0.4, false),
            (0.5, false),
            (0.6, true),
            (0.7, true),
            (0.8, true),
        ]);
        let mut mixtures = vec![vec![(1, 0.5), (2, 0.5)], vec![(4, 1.0)]];
        let (a, b) = utility_coefficients(Utility::Accuracy, 5.0, 7.0);
        prefer_plain(&[&c, &cb], &mut mixtures, &[Rate::Selection], 0.0, (a, b));
        assert_eq!(mixtures[0], vec![(1, 0.5), (2, 0.5)]);
    }

    #[test]
    fn parity_at_zero_tolerance_equalises_selection_rates() {
        // Group a: 2 of 4 positive; group b: 1 of 4 positive; separable scores.
        let (ca, da) = curve(&[(0.1, false), (0.2, false), (0.7, true), (0.9, true)]);
        let (cb, db) = curve(&[(0.1, false), (0.2, false), (0.3, false), (0.9, true)]);
        let curves = BTreeMap::from([("a".to_string(), ca), ("b".to_string(), cb)]);
        let rules = optimise(
            &curves,
            Objective::DemographicParity,
            0.0,
            Utility::Accuracy,
        )
        .unwrap();
        let sa = expected_confusion(&rules["a"], &da.sorted());
        let sb = expected_confusion(&rules["b"], &db.sorted());
        let sel = |c: &crate::aggregate::Confusion<f64>| (c.tp + c.fp) / 4.0;
        assert!((sel(&sa) - sel(&sb)).abs() < 1e-9);
        // Best accuracy with equal selection rates: both select between 1/4 and 2/4 rows;
        // any common rate r in [0.25, 0.5] costs 4·(0.5 − r) + 4·(r − 0.25) = 1 error in
        // total, so accuracy is 7/8.
        let correct = sa.tp + sa.tn + sb.tp + sb.tn;
        assert!((correct / 8.0 - 7.0 / 8.0).abs() < 1e-9);
    }
}
