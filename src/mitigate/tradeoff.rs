//! The trade-off between utility and fairness: the best thresholds for each tolerance of a
//! sweep, with the utility, accuracy and objective value they reach on the fitting rows.
//!
//! Each row is an independent optimum ([`super::thresholds::optimise`]), so utility never
//! decreases as the tolerance grows (a looser constraint admits every earlier solution).

use std::collections::BTreeMap;

use super::curve::{is_randomised, GroupCurve};
use super::{apply, evaluate, thresholds, GroupData, Options, TradeoffPoint};
use crate::error::Result;

/// One [`TradeoffPoint`] per tolerance of `options.sweep` (sorted, deduplicated), plus the
/// chosen tolerance.
pub fn sweep(
    curves: &BTreeMap<String, GroupCurve>,
    fit: &GroupData,
    options: &Options,
) -> Result<Vec<TradeoffPoint>> {
    let mut tolerances = options.sweep.clone();
    tolerances.push(options.tolerance);
    tolerances.sort_by(f64::total_cmp);
    tolerances.dedup();
    tolerances
        .into_iter()
        .map(|tolerance| {
            let rules =
                thresholds::optimise(curves, options.objective, tolerance, options.utility)?;
            let e = evaluate::evaluate(&apply(&rules, fit), options.utility);
            Ok(TradeoffPoint {
                tolerance,
                utility: e.overall["utility"].get(),
                accuracy: e.overall["accuracy"].get(),
                objective_value: e.summary[options.objective.metric()].get(),
                randomised_groups: rules.values().filter(|r| is_randomised(r)).count(),
            })
        })
        .collect()
}
