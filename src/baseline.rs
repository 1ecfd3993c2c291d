//! Baselines: judging a candidate model against the report of a released one.
//!
//! A change policy (`demographic_parity_ratio change >= -0.02`, `tpr on sex change% >= -5`)
//! compares the candidate's value with the baseline report's value at the same place (same
//! metric, attribute and group): `change` = candidate − baseline, `change%` =
//! 100·(candidate − baseline)/|baseline|. The baseline is read as plain JSON, so a report from an
//! older fairaudit still works where it has the value; whatever the two reports do not share
//! (attributes, groups, schema version) is listed in the report's `comparison`, never compared
//! silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::metrics::catalog::Resolved;
use crate::metrics::Value;
use crate::report::{AuditReport, SCHEMA_VERSION};
use crate::spec::policy::{Change, Policy};

/// A baseline report.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Where it was read from.
    pub path: PathBuf,
    json: Json,
}

/// What the baseline and the candidate do not share.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    /// The baseline report's path.
    pub baseline: String,
    /// Its schema version.
    pub baseline_schema_version: Option<u64>,
    /// The tool version that wrote it.
    pub baseline_tool_version: Option<String>,
    /// SHA-256 of the baseline's input.
    pub baseline_input_sha256: Option<String>,
    /// Attributes only the baseline has.
    pub attributes_only_in_baseline: Vec<String>,
    /// Attributes only the candidate has.
    pub attributes_only_in_candidate: Vec<String>,
    /// Per shared attribute, groups only the baseline has.
    pub groups_only_in_baseline: BTreeMap<String, Vec<String>>,
    /// Per shared attribute, groups only the candidate has.
    pub groups_only_in_candidate: BTreeMap<String, Vec<String>>,
    /// Plain-language notes (schema or option differences).
    pub notes: Vec<String>,
}

impl Comparison {
    /// True when the two reports cover the same attributes and groups with the same schema.
    pub fn is_like_for_like(&self) -> bool {
        self.attributes_only_in_baseline.is_empty()
            && self.attributes_only_in_candidate.is_empty()
            && self.groups_only_in_baseline.is_empty()
            && self.groups_only_in_candidate.is_empty()
            && self.notes.is_empty()
    }
}

impl Baseline {
    /// Read a baseline report. It must be a fairaudit JSON report.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let json: Json = serde_json::from_slice(&bytes).map_err(|e| Error::Schema {
            path: path.to_path_buf(),
            msg: format!("not a JSON report: {e}"),
        })?;
        if json["tool"]["name"] != "fairaudit" || !json["attributes"].is_array() {
            return Err(Error::Schema {
                path: path.to_path_buf(),
                msg: "not a fairaudit report (no tool.name = \"fairaudit\" and attributes[])"
                    .into(),
            });
        }
        Ok(Baseline {
            path: path.to_path_buf(),
            json,
        })
    }

    /// The baseline's value of `policy`'s metric at (`attribute`, `group`).
    pub fn value(
        &self,
        policy: &Policy,
        attribute: Option<&str>,
        group: Option<&str>,
    ) -> Result<Value, String> {
        let metric_value = |node: &Json| -> Result<Value, String> {
            if node.is_null() {
                return Err(format!("the baseline has no {}", policy.metric));
            }
            serde_json::from_value(node.clone())
                .map_err(|e| format!("baseline value unreadable: {e}"))
        };
        if let Resolved::Overall(key) = &policy.resolved {
            return metric_value(&self.json["overall"]["metrics"][key]);
        }
        let name = attribute.ok_or("no attribute")?;
        let a = find(&self.json["attributes"], "name", name)
            .ok_or_else(|| format!("the baseline has no attribute '{name}'"))?;
        if let Resolved::Summary(key) = &policy.resolved {
            return metric_value(&a["summary"][key]);
        }
        let value = group.ok_or("no group")?;
        let g = find(&a["groups"], "value", value)
            .ok_or_else(|| format!("the baseline has no group '{value}' in '{name}'"))?;
        if g["insufficient_data"] == true {
            return Err(format!(
                "the baseline's group '{value}' is below the minimum group size"
            ));
        }
        match &policy.resolved {
            Resolved::Group(key) => metric_value(&g["metrics"][key]),
            Resolved::DisparityPair { metric, part } => {
                metric_value(&g["disparities"][metric][part])
            }
            Resolved::DisparitySingle(key) => metric_value(&g["disparities"][key]),
            _ => unreachable!("overall and summary handled above"),
        }
    }

    /// What the baseline and `candidate` do not share.
    pub fn compare(&self, candidate: &AuditReport) -> Comparison {
        let b = &self.json;
        let names = |attrs: &Json| -> BTreeSet<String> {
            attrs
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["name"].as_str().map(String::from))
                .collect()
        };
        let base_attrs = names(&b["attributes"]);
        let cand_attrs: BTreeSet<String> = candidate
            .attributes
            .iter()
            .map(|a| a.name.clone())
            .collect();
        let mut c = Comparison {
            baseline: self.path.display().to_string(),
            baseline_schema_version: b["schema_version"].as_u64(),
            baseline_tool_version: b["tool"]["version"].as_str().map(String::from),
            baseline_input_sha256: b["input"]["sha256"].as_str().map(String::from),
            attributes_only_in_baseline: base_attrs.difference(&cand_attrs).cloned().collect(),
            attributes_only_in_candidate: cand_attrs.difference(&base_attrs).cloned().collect(),
            ..Comparison::default()
        };
        for a in &candidate.attributes {
            let Some(base) = find(&b["attributes"], "name", &a.name) else {
                continue;
            };
            let base_groups: BTreeSet<String> = base["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["value"].as_str().map(String::from))
                .collect();
            let cand_groups: BTreeSet<String> = a.groups.iter().map(|g| g.value.clone()).collect();
            let only_base: Vec<String> = base_groups.difference(&cand_groups).cloned().collect();
            let only_cand: Vec<String> = cand_groups.difference(&base_groups).cloned().collect();
            if !only_base.is_empty() {
                c.groups_only_in_baseline.insert(a.name.clone(), only_base);
            }
            if !only_cand.is_empty() {
                c.groups_only_in_candidate.insert(a.name.clone(), only_cand);
            }
            if base["reference"].as_str() != a.reference.as_deref() {
                c.notes.push(format!(
                    "reference group of '{}' differs: baseline {}, candidate {}",
                    a.name,
                    base["reference"],
                    a.reference.as_deref().unwrap_or("none")
                ));
            }
        }
        if c.baseline_schema_version != Some(u64::from(SCHEMA_VERSION)) {
            c.notes.push(format!(
                "the baseline's schema version is {:?}, this tool writes {SCHEMA_VERSION}",
                c.baseline_schema_version
            ));
        }
        for (what, path) in [
            ("threshold", &["threshold"][..]),
            ("min_group_size", &["options", "min_group_size"][..]),
            // Multiclass and regression audits (issue 11); absent on both sides for binary.
            ("task", &["input", "columns", "task"][..]),
            ("favorable classes", &["input", "columns", "favorable"][..]),
            ("quantile", &["options", "quantile", "q"][..]),
        ] {
            let base = path.iter().fold(b, |node, k| &node[*k]);
            let cand = serde_json::to_value(candidate).ok();
            let cand = cand
                .as_ref()
                .map(|c| path.iter().fold(c, |node, k| &node[*k]).clone());
            if cand.as_ref() != Some(base) {
                c.notes.push(format!(
                    "{what} differs: baseline {base}, candidate {}",
                    cand.unwrap_or(Json::Null)
                ));
            }
        }
        c
    }
}

/// Judge `policies` on the candidate report at `candidate` against `baseline`: the candidate
/// with its policy results replaced, its status updated and the comparison attached.
pub fn compare_reports(
    baseline: &Baseline,
    candidate: &Path,
    policies: Vec<crate::spec::PolicySpec>,
) -> Result<AuditReport> {
    let bytes = std::fs::read(candidate).map_err(|e| Error::io(candidate, e))?;
    let mut report: AuditReport = serde_json::from_slice(&bytes).map_err(|e| Error::Schema {
        path: candidate.to_path_buf(),
        msg: format!("not a fairaudit report of schema version {SCHEMA_VERSION}: {e}"),
    })?;
    let attributes: Vec<String> = report.attributes.iter().map(|a| a.name.clone()).collect();
    let policies = policies
        .into_iter()
        .map(|p| crate::spec::check_policy_for(p, &attributes))
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|msg| Error::spec("--policy", msg))?;
    crate::verdict::apply(&policies, &mut report, Some(baseline));
    report.comparison = Some(baseline.compare(&report));
    Ok(report)
}

fn find<'a>(array: &'a Json, key: &str, value: &str) -> Option<&'a Json> {
    array.as_array()?.iter().find(|x| x[key] == value)
}

/// candidate − baseline (`Absolute`) or 100·(candidate − baseline)/|baseline| (`Relative`).
pub fn change(
    kind: Change,
    before: &Result<Value, String>,
    after: &Result<Value, String>,
) -> Result<Value, String> {
    let (before, after) = (
        before.as_ref().map_err(Clone::clone)?,
        after.as_ref().map_err(Clone::clone)?,
    );
    let (Some(b), Some(a)) = (before.value, after.value) else {
        let which = if before.value.is_none() {
            ("baseline", before)
        } else {
            ("candidate", after)
        };
        return Ok(Value::undefined(format!(
            "the {} value is undefined ({})",
            which.0,
            which.1.reason.as_deref().unwrap_or("no reason given")
        )));
    };
    Ok(match kind {
        Change::Absolute => Value::defined(a - b),
        Change::Relative if b == 0.0 => {
            Value::undefined("the baseline value is 0: no relative change")
        }
        Change::Relative => Value::defined(100.0 * (a - b) / b.abs()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_hand_computed() {
        let (b, a) = (Ok(Value::defined(0.8)), Ok(Value::defined(0.7)));
        assert!((change(Change::Absolute, &b, &a).unwrap().value.unwrap() + 0.1).abs() < 1e-15);
        assert!((change(Change::Relative, &b, &a).unwrap().value.unwrap() + 12.5).abs() < 1e-12);
        let zero = Ok(Value::defined(0.0));
        assert_eq!(change(Change::Relative, &zero, &a).unwrap().value, None);
        let undefined = Ok(Value::undefined("no positives"));
        let v = change(Change::Absolute, &undefined, &a).unwrap();
        assert!(v
            .reason
            .unwrap()
            .contains("baseline value is undefined (no positives)"));
        assert!(change(Change::Absolute, &Err("missing".into()), &a).is_err());
    }
}
