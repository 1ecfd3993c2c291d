//! Mitigation (issue 10): from a failed audit to what it would take to pass.
//!
//! - [`thresholds`]: post-processing. Per-group, possibly randomised, decision thresholds on
//!   the score that meet a fairness [`Objective`] within a tolerance while maximising a
//!   [`Utility`] (Hardt et al. 2016; Fairlearn's `ThresholdOptimizer`), from each group's
//!   [`ScoreDistribution`](crate::aggregate::ScoreDistribution), never from materialised rows.
//! - [`tradeoff`]: the best utility over a sweep of tolerances.
//! - [`reweigh`]: pre-processing. Kamiran–Calders weights W(g, y) = P(g)·P(y)/P(g, y).
//! - [`data`]: the one pass over the input these need (the only I/O of this module), and the
//!   audit of predictions with thresholds applied (`fairaudit run --thresholds`).
//!
//! The result of `fairaudit mitigate` is one [`Mitigation`], written as JSON (serde of the
//! model) and read back by `fairaudit run --thresholds`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aggregate::{Confusion, ScoreDistribution};
use crate::error::Result;

pub mod curve;
pub mod data;
pub mod evaluate;
pub mod lp;
pub mod reweigh;
pub mod thresholds;
pub mod tradeoff;

pub use curve::{Component, Rule};
pub use evaluate::Evaluation;

/// Version of the thresholds file format.
pub const FORMAT_VERSION: u32 = 1;

/// The fairness objective the thresholds must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Objective {
    /// Selection rates within the tolerance of each other (`demographic_parity_difference`).
    DemographicParity,
    /// True positive rates within the tolerance (`equal_opportunity_difference`).
    EqualOpportunity,
    /// True and false positive rates within the tolerance (`equalized_odds_difference`).
    EqualizedOdds,
}

impl Objective {
    /// The summary metric that measures this objective (max − min over groups).
    pub fn metric(self) -> &'static str {
        match self {
            Objective::DemographicParity => "demographic_parity_difference",
            Objective::EqualOpportunity => "equal_opportunity_difference",
            Objective::EqualizedOdds => "equalized_odds_difference",
        }
    }
}

/// What the thresholds maximise. Every utility is linear in the confusion counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Utility {
    /// (TP + TN) / W.
    Accuracy,
    /// ½ (TP/P + TN/N), over all rows.
    BalancedAccuracy,
    /// −(fp·FP + fn·FN) / W: minus the mean cost per unit of weight.
    Cost {
        /// Cost of a false positive.
        fp: f64,
        /// Cost of a false negative.
        #[serde(rename = "fn")]
        fn_: f64,
    },
}

/// The rows behind a mitigation, per group: score distributions for fitting, and the
/// original decisions' counts for "before".
#[derive(Debug, Clone, Default)]
pub struct GroupData {
    /// Σw per distinct score and label, per group.
    pub distributions: BTreeMap<String, ScoreDistribution>,
    /// Weighted confusion counts of the original decisions, per group.
    pub before: BTreeMap<String, Confusion<f64>>,
    /// Rows.
    pub rows: u64,
}

/// How the rows were split for `--holdout`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    /// Share of rows held out for evaluation.
    pub fraction: f64,
    /// Seed of the split.
    pub seed: u64,
    /// Rows used to fit the thresholds.
    pub fit_rows: u64,
    /// Rows held out (where `before` and `after` are evaluated).
    pub holdout_rows: u64,
}

/// One group's rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRule {
    /// The group's value (intersections: values joined by `" & "`).
    pub group: String,
    /// The mixture of thresholds, ascending, `null` ("never positive") last.
    pub rule: Rule,
    /// True when the rule mixes two or more thresholds at random.
    pub randomised: bool,
    /// The rule in words.
    pub description: String,
}

/// One row of the trade-off table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeoffPoint {
    /// The tolerance the thresholds were fitted for.
    pub tolerance: f64,
    /// The utility reached on the fitting rows.
    pub utility: Option<f64>,
    /// The accuracy reached on the fitting rows.
    pub accuracy: Option<f64>,
    /// The objective's metric reached on the fitting rows (≤ tolerance).
    pub objective_value: Option<f64>,
    /// Groups with a randomised rule.
    pub randomised_groups: usize,
}

/// The result of `fairaudit mitigate`, and the file `fairaudit run --thresholds` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mitigation {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The attribute the thresholds are per group of (`sex`, or `race & sex`).
    pub attribute: String,
    /// Its columns.
    pub columns: Vec<String>,
    /// The score column the thresholds apply to.
    pub score: String,
    /// The objective.
    pub objective: Objective,
    /// The tolerance: the objective's metric must be ≤ this on the fitting rows.
    pub tolerance: f64,
    /// The utility maximised.
    pub utility: Utility,
    /// True when some group's rule is randomised.
    pub randomised: bool,
    /// Seed of the random draws of randomised rules in `fairaudit run --thresholds` (and of
    /// the holdout split).
    pub seed: u64,
    /// The rule per group.
    pub thresholds: Vec<GroupRule>,
    /// Rows read.
    pub rows: u64,
    /// The split, with `--holdout`.
    pub holdout: Option<Holdout>,
    /// Where `before` and `after` are evaluated: `fit` (all rows) or `holdout`.
    pub evaluated_on: String,
    /// The original decisions (expected values for randomised rules: see the docs).
    pub before: Evaluation,
    /// The mitigated decisions (expected counts).
    pub after: Evaluation,
    /// With `--holdout`: the mitigated decisions on the fitting rows (where the objective is
    /// guaranteed to hold within the tolerance).
    pub after_on_fit: Option<Evaluation>,
    /// The best utility per tolerance, on the fitting rows.
    pub tradeoff: Vec<TradeoffPoint>,
}

/// Options of [`mitigate`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The attribute's name and columns.
    pub attribute: String,
    /// Its columns.
    pub columns: Vec<String>,
    /// The score column.
    pub score: String,
    /// The objective.
    pub objective: Objective,
    /// Tolerance, ≥ 0.
    pub tolerance: f64,
    /// Utility.
    pub utility: Utility,
    /// Seed.
    pub seed: u64,
    /// Tolerances of the trade-off table.
    pub sweep: Vec<f64>,
}

impl Options {
    /// Check the numbers a user gives: tolerances finite and ≥ 0, costs finite and ≥ 0 (not
    /// both 0), the holdout share in (0, 1), the threshold in [0, 1].
    pub fn check(&self, holdout: Option<f64>, threshold: f64) -> Result<()> {
        let bad = |flag: &str, msg: String| Err(crate::error::Error::spec(flag, msg));
        for &t in self.sweep.iter().chain([&self.tolerance]) {
            if !(t.is_finite() && t >= 0.0) {
                return bad("--tolerance", format!("{t} is not a number >= 0"));
            }
        }
        if let Utility::Cost { fp, fn_ } = self.utility {
            if !(fp.is_finite() && fn_.is_finite() && fp >= 0.0 && fn_ >= 0.0 && fp + fn_ > 0.0) {
                return bad(
                    "--fp-cost/--fn-cost",
                    format!("costs must be finite, >= 0 and not both 0 (got {fp}, {fn_})"),
                );
            }
        }
        if let Some(h) = holdout {
            if !(h > 0.0 && h < 1.0) {
                return bad("--holdout", format!("{h} is not a share in (0, 1)"));
            }
        }
        if !(0.0..=1.0).contains(&threshold) {
            return bad("--threshold", format!("{threshold} is not in [0, 1]"));
        }
        Ok(())
    }
}

/// The default tolerances of the trade-off table (1 = unconstrained).
pub const DEFAULT_SWEEP: [f64; 9] = [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 1.0];

/// Fit thresholds on `fit` and evaluate them on `holdout` (or on `fit` without one). Pure.
pub fn mitigate(
    fit: &GroupData,
    holdout: Option<(&GroupData, f64)>,
    options: &Options,
) -> Result<Mitigation> {
    let curves: BTreeMap<String, curve::GroupCurve> = fit
        .distributions
        .iter()
        .map(|(g, d)| (g.clone(), curve::GroupCurve::new(d)))
        .collect();
    if let Some((eval, _)) = holdout {
        let unfitted: Vec<&str> = (eval.distributions.keys())
            .filter(|g| !fit.distributions.contains_key(*g))
            .map(String::as_str)
            .collect();
        if !unfitted.is_empty() {
            return Err(crate::error::Error::spec(
                "--holdout",
                format!(
                    "group(s) {} have rows only in the held-out part, so they would get no \
                     threshold; use a smaller --holdout or another --seed",
                    unfitted.join(", ")
                ),
            ));
        }
    }
    let rules = thresholds::optimise(
        &curves,
        options.objective,
        options.tolerance,
        options.utility,
    )?;
    let after_fit = evaluate::evaluate(&apply(&rules, fit), options.utility);
    let (evaluated_on, before, after, after_on_fit, split) = match holdout {
        Some((eval, fraction)) => (
            "holdout",
            evaluate::evaluate(&eval.before, options.utility),
            evaluate::evaluate(&apply(&rules, eval), options.utility),
            Some(after_fit),
            Some(Holdout {
                fraction,
                seed: options.seed,
                fit_rows: fit.rows,
                holdout_rows: eval.rows,
            }),
        ),
        None => (
            "fit",
            evaluate::evaluate(&fit.before, options.utility),
            after_fit,
            None,
            None,
        ),
    };
    let tradeoff = tradeoff::sweep(&curves, fit, options)?;
    let thresholds: Vec<GroupRule> = rules
        .into_iter()
        .map(|(group, rule)| GroupRule {
            randomised: curve::is_randomised(&rule),
            description: describe(&rule),
            group,
            rule,
        })
        .collect();
    Ok(Mitigation {
        format_version: FORMAT_VERSION,
        attribute: options.attribute.clone(),
        columns: options.columns.clone(),
        score: options.score.clone(),
        objective: options.objective,
        tolerance: options.tolerance,
        utility: options.utility,
        randomised: thresholds.iter().any(|t| t.randomised),
        seed: options.seed,
        thresholds,
        rows: fit.rows + holdout.map_or(0, |(h, _)| h.rows),
        holdout: split,
        evaluated_on: evaluated_on.into(),
        before,
        after,
        after_on_fit,
        tradeoff,
    })
}

/// Expected counts per group of `rules` on `data` (a group without a rule keeps none).
pub fn apply(rules: &BTreeMap<String, Rule>, data: &GroupData) -> BTreeMap<String, Confusion<f64>> {
    data.distributions
        .iter()
        .filter_map(|(g, d)| {
            let rule = rules.get(g)?;
            Some((g.clone(), curve::expected_confusion(rule, &d.sorted())))
        })
        .collect()
}

/// A rule in words, e.g. `score >= 0.42` or `score >= 0.6: positive; 0.3 <= score < 0.6:
/// positive with probability 0.25; otherwise negative`.
pub fn describe(rule: &[Component]) -> String {
    let fmt = |x: f64| format!("{x}");
    if rule.len() == 1 {
        return match rule[0].threshold {
            Some(t) => format!("positive when score >= {}", fmt(t)),
            None => "never positive".into(),
        };
    }
    // Bands between consecutive thresholds with their positive probability.
    let mut parts = Vec::new();
    let ts: Vec<f64> = rule.iter().filter_map(|c| c.threshold).collect();
    for (i, &t) in ts.iter().enumerate().rev() {
        let p = curve::positive_probability(rule, t);
        let band = match ts.get(i + 1) {
            Some(&hi) => format!("{} <= score < {}", fmt(t), fmt(hi)),
            None => format!("score >= {}", fmt(t)),
        };
        parts.push(format!("{band}: positive with probability {:.6}", p));
    }
    parts.push("below: negative".into());
    format!("randomised: {}", parts.join("; "))
}

impl Mitigation {
    /// The rule of `group`; `None` when the file has none for it.
    pub fn rule(&self, group: &str) -> Option<&Rule> {
        self.thresholds
            .iter()
            .find(|t| t.group == group)
            .map(|t| &t.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rows: &[(&str, f64, bool)]) -> GroupData {
        let mut d = GroupData::default();
        for &(g, s, y) in rows {
            d.distributions.entry(g.into()).or_default().push(s, y, 1.0);
            d.before.entry(g.into()).or_default().add(y, s >= 0.5, 1.0);
            d.rows += 1;
        }
        d
    }

    fn options() -> Options {
        Options {
            attribute: "g".into(),
            columns: vec!["g".into()],
            score: "s".into(),
            objective: Objective::DemographicParity,
            tolerance: 0.0,
            utility: Utility::Accuracy,
            seed: 0,
            sweep: vec![0.0, 1.0],
        }
    }

    #[test]
    fn rules_in_words() {
        let plain = [Component {
            threshold: Some(0.5),
            probability: 1.0,
        }];
        assert_eq!(describe(&plain), "positive when score >= 0.5");
        let mixed = [
            Component {
                threshold: Some(0.3),
                probability: 0.25,
            },
            Component {
                threshold: Some(0.6),
                probability: 0.75,
            },
        ];
        assert_eq!(
            describe(&mixed),
            "randomised: score >= 0.6: positive with probability 1.000000; 0.3 <= score < 0.6: \
             positive with probability 0.250000; below: negative"
        );
    }

    #[test]
    fn a_group_only_in_the_holdout_is_an_error() {
        let fit = data(&[("a", 0.2, false), ("a", 0.8, true)]);
        let held = data(&[("a", 0.4, true), ("b", 0.9, true)]);
        let err = mitigate(&fit, Some((&held, 0.5)), &options()).unwrap_err();
        assert!(err.to_string().contains("group(s) b"), "{err}");
    }

    #[test]
    fn holdout_reports_before_and_after_on_the_held_out_rows() {
        let fit = data(&[
            ("a", 0.2, false),
            ("a", 0.8, true),
            ("b", 0.3, false),
            ("b", 0.7, true),
        ]);
        let held = data(&[("a", 0.9, false), ("b", 0.1, true)]);
        let m = mitigate(&fit, Some((&held, 0.5)), &options()).unwrap();
        assert_eq!(m.evaluated_on, "holdout");
        // On the held-out rows the original decisions (score ≥ 0.5) are both wrong.
        assert_eq!(m.before.overall["accuracy"].value, Some(0.0));
        // On the fitting rows the fitted thresholds are perfect and meet parity exactly.
        let on_fit = m.after_on_fit.as_ref().unwrap();
        assert_eq!(on_fit.overall["accuracy"].value, Some(1.0));
        assert_eq!(
            on_fit.summary["demographic_parity_difference"].value,
            Some(0.0)
        );
        assert_eq!(m.rows, 6);
    }
}
