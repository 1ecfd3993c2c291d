//! Policies against a report: every check yields `pass`, `fail` or `insufficient_data`.
//!
//! A check on an undefined value, on a group below the minimum size, or on an attribute with no
//! reference group is `insufficient_data`, never a pass; whether that fails the gate is the
//! policy's `on_insufficient`.

use crate::metrics::catalog::Resolved;
use crate::metrics::disparity::Disparity;
use crate::metrics::Value;
use crate::report::{AttributeReport, AuditReport, PolicyResult, PolicyStatus, Status};
use crate::spec::policy::Policy;

/// Evaluate every policy against `report` and set its `policies` and `status`.
pub fn apply(policies: &[Policy], report: &mut AuditReport) {
    report.policies = policies.iter().flat_map(|p| evaluate(p, report)).collect();
    report.status = if report.policies.iter().any(PolicyResult::fails_gate) {
        Status::Fail
    } else {
        Status::Pass
    };
}

/// The results of one policy.
pub fn evaluate(policy: &Policy, report: &AuditReport) -> Vec<PolicyResult> {
    let result = |attribute: Option<&str>, group: Option<&str>, value: Result<&Value, String>| {
        let checked = value.as_ref().ok().copied();
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
            attribute: attribute.map(str::to_string),
            group: group.map(str::to_string),
            observed,
            bound: policy.bound.to_string(),
            status,
            on_insufficient: policy.on_insufficient,
            reason,
            uncertainty: crate::stats::judge(policy, checked, status),
        }
    };
    if let Resolved::Overall(key) = &policy.resolved {
        let value = report
            .overall
            .metrics
            .get(key)
            .ok_or_else(|| format!("{key} was not computed"));
        return vec![result(None, None, value)];
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
                out.push(result(name, None, value));
            }
            Resolved::Group(key) => {
                for g in &a.groups {
                    let value = group_check(a, g.insufficient_data, g.count)
                        .and_then(|()| g.metrics.get(key).ok_or(format!("{key} was not computed")));
                    out.push(result(name, Some(&g.value), value));
                }
            }
            Resolved::DisparityPair { .. } | Resolved::DisparitySingle(_) => {
                if a.reference.is_none() {
                    let reason = "no reference group (no group is large enough)".to_string();
                    out.push(result(name, None, Err(reason)));
                    continue;
                }
                for g in a
                    .groups
                    .iter()
                    .filter(|g| Some(&g.value) != a.reference.as_ref())
                {
                    let value = group_check(a, g.insufficient_data, g.count)
                        .and_then(|()| disparity(&policy.resolved, &g.disparities));
                    out.push(result(name, Some(&g.value), value));
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
