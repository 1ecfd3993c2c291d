//! Policies against a report: every check yields `pass`, `fail` or `insufficient_data`.
//!
//! A check on an undefined value, on a group below the minimum size, or on an attribute with no
//! reference group is `insufficient_data`, never a pass; whether that fails the gate is the
//! policy's `on_insufficient`. A change policy (`… change >= -0.02`) judges candidate − baseline
//! instead of the candidate's value (see [`crate::baseline`]).

use crate::baseline::Baseline;
use crate::metrics::catalog::Resolved;
use crate::metrics::disparity::Disparity;
use crate::metrics::Value;
use crate::report::{AttributeReport, AuditReport, PolicyResult, PolicyStatus, Status};
use crate::spec::policy::Policy;

/// Where a policy looks, and what it found in the candidate report.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The attribute, or `None` for a whole-dataset metric.
    pub attribute: Option<String>,
    /// The group, for per-group checks.
    pub group: Option<String>,
    /// The value, or why there is none to judge.
    pub value: Result<Value, String>,
}

/// Evaluate every policy against `report` (and `baseline` for change policies) and set the
/// report's `policies` and `status`.
pub fn apply(policies: &[Policy], report: &mut AuditReport, baseline: Option<&Baseline>) {
    report.policies = policies
        .iter()
        .flat_map(|p| {
            observe(p, report)
                .into_iter()
                .map(|o| judge(p, o, baseline))
                .collect::<Vec<_>>()
        })
        .collect();
    report.status = if report.policies.iter().any(PolicyResult::fails_gate) {
        Status::Fail
    } else {
        Status::Pass
    };
}

/// Judge one observation: the value (or its change from the baseline) against the bound.
pub fn judge(policy: &Policy, o: Observation, baseline: Option<&Baseline>) -> PolicyResult {
    let (value, before, after) = match (policy.change, baseline) {
        (Some(change), Some(b)) => {
            let before = b.value(policy, o.attribute.as_deref(), o.group.as_deref());
            let after = o.value.clone();
            (
                crate::baseline::change(change, &before, &after),
                before.ok().and_then(|v| v.value),
                after.ok().and_then(|v| v.value),
            )
        }
        (Some(_), None) => (
            Err("a change policy needs a baseline report (--baseline)".into()),
            None,
            None,
        ),
        (None, _) => (o.value, None, None),
    };
    // The interval of the judged value: a change has none (only its two ends do).
    let checked = value
        .as_ref()
        .ok()
        .filter(|_| policy.change.is_none())
        .cloned();
    let (observed, status, reason) = match value {
        Ok(v) => match v.value {
            Some(x) if policy.bound.holds(x) => (Some(x), PolicyStatus::Pass, None),
            Some(x) => (Some(x), PolicyStatus::Fail, None),
            None => (None, PolicyStatus::InsufficientData, v.reason.clone()),
        },
        Err(reason) => (None, PolicyStatus::InsufficientData, Some(reason)),
    };
    PolicyResult {
        id: policy.id.clone(),
        expression: policy.expression.clone(),
        description: policy.description.clone(),
        metric: policy.metric.clone(),
        attribute: o.attribute,
        group: o.group,
        observed,
        bound: policy.bound.to_string(),
        status,
        on_insufficient: policy.on_insufficient,
        reason,
        baseline: before,
        candidate: after,
        uncertainty: crate::stats::judge(policy, checked.as_ref(), status),
    }
}

/// Every place a policy applies to, with the candidate's value there.
pub fn observe(policy: &Policy, report: &AuditReport) -> Vec<Observation> {
    let obs =
        |attribute: Option<&str>, group: Option<&str>, value: Result<&Value, String>| Observation {
            attribute: attribute.map(str::to_string),
            group: group.map(str::to_string),
            value: value.cloned(),
        };
    if let Resolved::Overall(key) = &policy.resolved {
        let value = report
            .overall
            .metrics
            .get(key)
            .ok_or_else(|| format!("{key} was not computed"));
        return vec![obs(None, None, value)];
    }
    let attributes = report
        .attributes
        .iter()
        .filter(|a| policy.attribute.as_ref().is_none_or(|name| *name == a.name));
    let mut out = Vec::new();
    for a in attributes {
        let name = Some(a.name.as_str());
        match &policy.resolved {
            Resolved::Summary(key) => {
                let value = a
                    .summary
                    .get(key)
                    .ok_or_else(|| format!("{key} was not computed"));
                out.push(obs(name, None, value));
            }
            Resolved::Group(key) => {
                for g in &a.groups {
                    let value = group_check(a, g.insufficient_data, g.count)
                        .and_then(|()| g.metrics.get(key).ok_or(format!("{key} was not computed")));
                    out.push(obs(name, Some(&g.value), value));
                }
            }
            Resolved::DisparityPair { .. } | Resolved::DisparitySingle(_) => {
                if a.reference.is_none() {
                    let reason = "no reference group (no group is large enough)".to_string();
                    out.push(obs(name, None, Err(reason)));
                    continue;
                }
                for g in a
                    .groups
                    .iter()
                    .filter(|g| Some(&g.value) != a.reference.as_ref())
                {
                    let value = group_check(a, g.insufficient_data, g.count)
                        .and_then(|()| disparity(&policy.resolved, &g.disparities));
                    out.push(obs(name, Some(&g.value), value));
                }
            }
            Resolved::Overall(_) => unreachable!("handled above"),
        }
    }
    out
}

fn group_check(a: &AttributeReport, insufficient: bool, count: u64) -> Result<(), String> {
    if insufficient {
        Err(format!(
            "group of {a} has {count} rows, below the minimum group size",
            a = a.name
        ))
    } else {
        Ok(())
    }
}

fn disparity<'a>(
    resolved: &Resolved,
    disparities: &'a std::collections::BTreeMap<String, Disparity>,
) -> Result<&'a Value, String> {
    match resolved {
        Resolved::DisparityPair { metric, part } => match disparities.get(metric) {
            Some(Disparity::Pair(p)) if part == "ratio" => Ok(&p.ratio),
            Some(Disparity::Pair(p)) => Ok(&p.difference),
            _ => Err(format!("{metric} was not computed")),
        },
        Resolved::DisparitySingle(key) => match disparities.get(key) {
            Some(Disparity::Single(v)) => Ok(v),
            _ => Err(format!("{key} was not computed")),
        },
        _ => Err("not a disparity".into()),
    }
}
