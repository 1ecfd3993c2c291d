//! Renderers of a [`Mitigation`] (`fairaudit mitigate`): JSON (serde of the model), a short
//! terminal summary, and a self-contained HTML page with the thresholds, the metrics before
//! and after, and the trade-off table and chart. Nothing is computed here: every number comes
//! from the model, only formatted.

use serde::Serialize;

use super::plot::{self, TradeoffChart};
use crate::error::{Error, Result};
use crate::metrics::Value;
use crate::mitigate::{Evaluation, Mitigation, Objective, Utility};

const TEMPLATE: &str = include_str!("templates/mitigation.html");
const CSS: &str = include_str!("templates/report.css");

/// The model as pretty JSON with a final newline.
pub fn json(m: &Mitigation) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(m).map_err(|e| Error::Render {
        format: "json",
        msg: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |x| format!("{x:.4}"))
}

fn value(v: Option<&Value>) -> String {
    match v {
        Some(Value { value: Some(x), .. }) => format!("{x:.4}"),
        Some(Value {
            reason: Some(r), ..
        }) => format!("undefined ({r})"),
        _ => "—".into(),
    }
}

fn utility_name(u: Utility) -> String {
    match u {
        Utility::Accuracy => "accuracy".into(),
        Utility::BalancedAccuracy => "balanced accuracy".into(),
        Utility::Cost { fp, fn_ } => format!("minus mean cost (FP {fp}, FN {fn_})"),
    }
}

fn objective_name(o: Objective) -> &'static str {
    match o {
        Objective::DemographicParity => "demographic parity",
        Objective::EqualOpportunity => "equal opportunity",
        Objective::EqualizedOdds => "equalized odds",
    }
}

/// The statement of what randomised means, shown wherever thresholds are.
pub const RANDOMISED_NOTE: &str = "A randomised rule mixes thresholds: a row whose score lies \
between two of the group's thresholds is decided positive with the stated probability, by a \
random draw (seeded in `fairaudit run --thresholds`). Two rows with the same score and group \
can then get different decisions. The before/after metrics are expected values over the draws.";

/// A short plain-text summary.
pub fn text(m: &Mitigation) -> String {
    let metric = m.objective.metric();
    let mut t = format!(
        "fairaudit mitigate — {} by {} (tolerance {}), maximising {}\n",
        objective_name(m.objective),
        m.attribute,
        m.tolerance,
        utility_name(m.utility)
    );
    for g in &m.thresholds {
        t.push_str(&format!("  {:<24} {}\n", g.group, g.description));
    }
    if m.randomised {
        t.push_str("  (randomised: see `description`; decisions in the band are random draws)\n");
    }
    t.push_str(&format!(
        "on {} rows: {metric} {} -> {}, accuracy {} -> {}, utility {} -> {}\n",
        m.evaluated_on,
        value(m.before.summary.get(metric)),
        value(m.after.summary.get(metric)),
        value(m.before.overall.get("accuracy")),
        value(m.after.overall.get("accuracy")),
        value(m.before.overall.get("utility")),
        value(m.after.overall.get("utility")),
    ));
    t
}

#[derive(Serialize)]
struct Page {
    css: &'static str,
    title: String,
    attribute: String,
    objective_line: String,
    randomised: bool,
    randomised_note: &'static str,
    thresholds: Vec<(String, String)>,
    evaluated_line: String,
    before_after: Vec<(String, String, String, String)>,
    utility: String,
    metric: &'static str,
    chart: String,
    tradeoff: Vec<(String, String, String, String, usize)>,
    methods: Vec<String>,
}

fn rows(
    before: &Evaluation,
    after: &Evaluation,
    metric: &str,
) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for key in [
        metric,
        "demographic_parity_difference",
        "equal_opportunity_difference",
        "equalized_odds_difference",
    ] {
        if out
            .iter()
            .any(|r: &(String, String, String, String)| r.1 == key)
        {
            continue;
        }
        out.push((
            "between groups".into(),
            key.to_string(),
            value(before.summary.get(key)),
            value(after.summary.get(key)),
        ));
    }
    for key in ["accuracy", "utility", "selection_rate", "tpr", "fpr"] {
        out.push((
            "all rows".into(),
            key.into(),
            value(before.overall.get(key)),
            value(after.overall.get(key)),
        ));
    }
    for (g, after_m) in &after.groups {
        for key in ["selection_rate", "tpr", "fpr", "accuracy"] {
            out.push((
                g.clone(),
                key.into(),
                value(before.groups.get(g).and_then(|m| m.get(key))),
                value(after_m.get(key)),
            ));
        }
    }
    out
}

/// The HTML page. `input` names the data file.
pub fn html(m: &Mitigation, input: &str) -> Result<String> {
    let metric = m.objective.metric();
    let utility = utility_name(m.utility);
    let chosen = m
        .tradeoff
        .iter()
        .find(|p| p.tolerance == m.tolerance)
        .and_then(|p| Some((p.objective_value?, p.utility?)));
    let chart = plot::tradeoff(&TradeoffChart {
        title: format!("{utility} against {metric}, by {}", m.attribute),
        x_desc: metric.to_string(),
        y_desc: utility.clone(),
        sweep: m
            .tradeoff
            .iter()
            .filter_map(|p| {
                Some((
                    p.objective_value?,
                    p.utility?,
                    format!("tol {}", p.tolerance),
                ))
            })
            .collect(),
        chosen,
        before: m.before.summary[metric]
            .get()
            .zip(m.before.overall["utility"].get()),
    })?;
    let evaluated_line = match &m.holdout {
        Some(h) => format!(
            "Fitted on {} rows; before and after are measured on the {} held-out rows \
             (share {}, seed {}), so they show how the thresholds generalise. On held-out rows the \
             objective may exceed the tolerance by sampling noise.",
            h.fit_rows, h.holdout_rows, h.fraction, h.seed
        ),
        None => format!(
            "Fitted and measured on all {} rows of {input}: the objective holds within the tolerance here by construction.",
            m.rows
        ),
    };
    let page = Page {
        css: CSS,
        title: format!("fairaudit mitigate — {}", m.attribute),
        attribute: m.attribute.clone(),
        objective_line: format!(
            "Objective: {} ({metric} ≤ {}), maximising {utility}. Decision: positive when the \
             score column '{}' is at or above the group's threshold.",
            objective_name(m.objective),
            m.tolerance,
            m.score
        ),
        randomised: m.randomised,
        randomised_note: RANDOMISED_NOTE,
        thresholds: m
            .thresholds
            .iter()
            .map(|t| (t.group.clone(), t.description.clone()))
            .collect(),
        evaluated_line,
        before_after: rows(&m.before, &m.after, metric),
        utility,
        metric,
        chart,
        tradeoff: m
            .tradeoff
            .iter()
            .map(|p| {
                (
                    format!("{}", p.tolerance),
                    num(p.objective_value),
                    num(p.utility),
                    num(p.accuracy),
                    p.randomised_groups,
                )
            })
            .collect(),
        methods: vec![
            "Per-group thresholds on the score, chosen by a linear programme over the vertices of \
             each group's ROC convex hull (Hardt et al. 2016; the family of Fairlearn's \
             ThresholdOptimizer), maximising the utility subject to max − min of the objective's \
             rate(s) across groups ≤ tolerance. Groups whose rate is undefined (e.g. no positives \
             for TPR) are left out of that rate's constraint."
                .into(),
            RANDOMISED_NOTE.into(),
        ],
    };
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    let err = |e: minijinja::Error| Error::Render {
        format: "html",
        msg: format!("template: {e:#}"),
    };
    env.add_template("mitigation.html", TEMPLATE).map_err(err)?;
    env.get_template("mitigation.html")
        .and_then(|t| t.render(&page))
        .map_err(err)
}
