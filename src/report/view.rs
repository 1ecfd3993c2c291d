//! Presentation helpers shared by the human-readable renderers (Markdown, JUnit, HTML):
//! number formatting, status labels, where a policy result applies, small-cell suppression
//! and look-ups into the model. Nothing here computes a metric; it only selects and formats
//! values the model already holds.

use super::{AttributeReport, AuditReport, GroupReport, PolicyResult, PolicyStatus};
use crate::metrics::disparity::Disparity;
use crate::metrics::Value;

/// Per-group metrics shown in the compact tables: (metric key, short header).
pub const KEY_METRICS: [(&str, &str); 6] = [
    ("selection_rate", "sel. rate"),
    ("base_rate", "base rate"),
    ("tpr", "TPR"),
    ("fpr", "FPR"),
    ("precision", "precision"),
    ("accuracy", "accuracy"),
];

/// Between-group summaries shown under each attribute.
pub const KEY_SUMMARIES: [&str; 4] = [
    "demographic_parity_ratio",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "equal_opportunity_difference",
];

/// A number in a table cell: three decimals.
pub fn num(x: f64) -> String {
    format!("{x:.3}")
}

/// A metric value in a table cell: three decimals, `–` when undefined.
pub fn cell(v: Option<&Value>) -> String {
    v.and_then(|v| v.value).map_or("–".to_string(), num)
}

/// A confidence interval `[lo, hi]` with three decimals, when the value carries one.
pub fn ci(v: Option<&Value>) -> Option<String> {
    v.and_then(|v| v.ci)
        .map(|[lo, hi]| format!("[{}, {}]", num(lo), num(hi)))
}

/// A policy's observed value: up to six decimals, every digit when the rounded value would
/// look equal to the bound (0.1 vs `<= 0.1`), `–` when undefined. For a change policy, the
/// change followed by the baseline and candidate values side by side.
pub fn observed(p: &PolicyResult) -> String {
    let value = p.observed.map_or("–".to_string(), |x| {
        let short = six(x);
        if p.bound.contains(short.as_str()) {
            x.to_string()
        } else {
            short
        }
    });
    match (p.baseline, p.candidate) {
        (Some(b), Some(c)) => format!("{value} (baseline {} → candidate {})", six(b), six(c)),
        _ => value,
    }
}

/// Up to six decimals, trailing zeros removed.
fn six(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What a baseline comparison found, in plain sentences (empty without a baseline).
pub fn comparison_lines(r: &AuditReport) -> Vec<String> {
    let Some(c) = &r.comparison else {
        return Vec::new();
    };
    let mut out = vec![format!(
        "Compared with the baseline report {} (fairaudit {}, schema {}).",
        c.baseline,
        c.baseline_tool_version.as_deref().unwrap_or("?"),
        c.baseline_schema_version
            .map_or("?".to_string(), |v| v.to_string())
    )];
    if c.is_like_for_like() {
        out.push("Both reports have the same attributes, groups and schema.".into());
    }
    for a in &c.attributes_only_in_baseline {
        out.push(format!(
            "Attribute {a} is only in the baseline: not compared."
        ));
    }
    for a in &c.attributes_only_in_candidate {
        out.push(format!(
            "Attribute {a} is only in the candidate: not compared."
        ));
    }
    for (a, groups) in &c.groups_only_in_baseline {
        out.push(format!(
            "Groups of {a} only in the baseline: {}.",
            groups.join(", ")
        ));
    }
    for (a, groups) in &c.groups_only_in_candidate {
        out.push(format!(
            "Groups of {a} only in the candidate: {}.",
            groups.join(", ")
        ));
    }
    out.extend(c.notes.iter().map(|n| format!("Note: {n}.")));
    out
}

/// Where a policy result applies: `sex`, `sex = female`, or `all rows`.
pub fn scope(p: &PolicyResult) -> String {
    match (&p.attribute, &p.group) {
        (Some(a), Some(g)) => format!("{a} = {g}"),
        (Some(a), None) => a.clone(),
        (None, Some(g)) => g.clone(),
        (None, None) => "all rows".into(),
    }
}

/// A status as a word and an icon, so that meaning never rests on colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    /// Upper-case label, e.g. `FAIL`.
    pub label: &'static str,
    /// A symbol repeating the label.
    pub icon: &'static str,
    /// CSS class / machine name: `pass`, `fail`, `warn`.
    pub class: &'static str,
}

/// The badge of a policy result.
pub fn badge(p: &PolicyResult) -> Badge {
    match (p.status, p.fails_gate()) {
        (PolicyStatus::Pass, _) => Badge {
            label: "PASS",
            icon: "✔",
            class: "pass",
        },
        (PolicyStatus::Fail, _) => Badge {
            label: "FAIL",
            icon: "✘",
            class: "fail",
        },
        (PolicyStatus::InsufficientData, true) => Badge {
            label: "INSUFFICIENT DATA (fails)",
            icon: "✘",
            class: "fail",
        },
        (PolicyStatus::InsufficientData, false) => Badge {
            label: "INSUFFICIENT DATA (warn)",
            icon: "⚠",
            class: "warn",
        },
    }
}

/// The badge of the whole audit.
pub fn verdict_badge(r: &AuditReport) -> Badge {
    match r.status {
        super::Status::Pass => Badge {
            label: "PASS",
            icon: "✔",
            class: "pass",
        },
        super::Status::Fail => Badge {
            label: "FAIL",
            icon: "✘",
            class: "fail",
        },
    }
}

/// The text shown instead of a suppressed group's metrics.
pub fn suppressed(k: u64) -> String {
    format!("suppressed (n < {k})")
}

/// The attribute a policy result names.
pub fn attribute_of<'a>(r: &'a AuditReport, p: &PolicyResult) -> Option<&'a AttributeReport> {
    let name = p.attribute.as_deref()?;
    r.attributes.iter().find(|a| a.name == name)
}

/// The group a policy result names.
pub fn group_of<'a>(r: &'a AuditReport, p: &PolicyResult) -> Option<&'a GroupReport> {
    let group = p.group.as_deref()?;
    attribute_of(r, p)?.groups.iter().find(|g| g.value == group)
}

/// True when a policy result is about a group too small to show (its numbers stay hidden).
pub fn is_suppressed(r: &AuditReport, p: &PolicyResult) -> bool {
    group_of(r, p).is_some_and(|g| g.insufficient_data)
}

/// The model's value behind a policy result (for its CI), when there is one.
pub fn policy_value<'a>(r: &'a AuditReport, p: &PolicyResult) -> Option<&'a Value> {
    if p.attribute.is_none() {
        return r.overall.metrics.get(&p.metric);
    }
    if let Some(g) = group_of(r, p) {
        if let Some(v) = g.metrics.get(&p.metric) {
            return Some(v);
        }
        if let Some((metric, part)) = p.metric.split_once('.') {
            return match g.disparities.get(metric) {
                Some(Disparity::Pair(pair)) if part == "ratio" => Some(&pair.ratio),
                Some(Disparity::Pair(pair)) if part == "difference" => Some(&pair.difference),
                _ => None,
            };
        }
        return match g.disparities.get(&p.metric) {
            Some(Disparity::Single(v)) => Some(v),
            _ => None,
        };
    }
    attribute_of(r, p)?.summary.get(&p.metric)
}

/// The per-class one-vs-rest metrics of a multiclass attribute (issue 11), as the HTML and
/// Markdown reports show them: the classes, the metric columns (key prefix, short header;
/// AUC and ECE only with class score columns) and the groups shown (not suppressed).
#[derive(Debug)]
pub struct ClassTable<'a> {
    /// The classes, in the report's order.
    pub classes: Vec<String>,
    /// (metric key prefix, short header) of each column before the ratio.
    pub columns: Vec<(&'static str, &'static str)>,
    /// The groups shown: those not suppressed, in the report's order.
    pub groups: Vec<&'a GroupReport>,
}

/// Header of the last column of a [`ClassTable`]: the group's `tpr@c` over the reference's.
pub const CLASS_RATIO_HEADER: &str = "TPR ratio";

/// The [`ClassTable`] of attribute `a`; `None` unless the audit is multiclass.
pub fn class_table(a: &AttributeReport) -> Option<ClassTable<'_>> {
    let classes = a.groups.iter().find_map(|g| match &g.outcome {
        Some(super::OutcomeDetail::Multiclass { classes, .. }) => Some(classes.clone()),
        _ => None,
    })?;
    let scored = (a.groups.iter()).any(|g| g.metrics.keys().any(|k| k.starts_with("auc@")));
    let mut columns = vec![
        ("selection_rate", "sel. rate"),
        ("tpr", "TPR"),
        ("fpr", "FPR"),
        ("precision", "precision"),
    ];
    if scored {
        columns.extend([("auc", "AUC"), ("ece", "ECE")]);
    }
    let groups = a.groups.iter().filter(|g| !g.insufficient_data).collect();
    Some(ClassTable {
        classes,
        columns,
        groups,
    })
}

impl ClassTable<'_> {
    /// The value of metric `column` for `class` in group `g` (its `column@class`).
    pub fn value<'g>(g: &'g GroupReport, column: &str, class: &str) -> Option<&'g Value> {
        g.metrics.get(&format!("{column}@{class}"))
    }

    /// The ratio of group `g`'s TPR for `class` to the reference group's.
    pub fn ratio<'g>(g: &'g GroupReport, class: &str) -> Option<&'g Value> {
        ratio(g, &format!("tpr@{class}"))
    }
}

/// The ratio against the reference for metric `key` of a group.
pub fn ratio<'a>(g: &'a GroupReport, key: &str) -> Option<&'a Value> {
    match g.disparities.get(key) {
        Some(Disparity::Pair(p)) => Some(&p.ratio),
        _ => None,
    }
}

/// A policy bound as a closed range of allowed values: `>= 0.8` is `(Some(0.8), None)`,
/// `in [0.8, 1.25]` is `(Some(0.8), Some(1.25))`. `None` when the text is not a bound.
pub fn bound_range(bound: &str) -> Option<(Option<f64>, Option<f64>)> {
    let b = bound.trim();
    if let Some(rest) = b.strip_prefix("in") {
        let inner = rest.trim().strip_prefix('[')?.strip_suffix(']')?;
        let (lo, hi) = inner.split_once(',')?;
        return Some((lo.trim().parse().ok(), hi.trim().parse().ok()));
    }
    for (op, lower) in [(">=", true), ("<=", false), (">", true), ("<", false)] {
        if let Some(rest) = b.strip_prefix(op) {
            let x: f64 = rest.trim().parse().ok()?;
            return Some(if lower {
                (Some(x), None)
            } else {
                (None, Some(x))
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_to_ranges() {
        assert_eq!(bound_range(">= 0.8"), Some((Some(0.8), None)));
        assert_eq!(bound_range("< 0.1"), Some((None, Some(0.1))));
        assert_eq!(bound_range("in [0.8, 1.25]"), Some((Some(0.8), Some(1.25))));
        assert_eq!(bound_range("nonsense"), None);
    }

    #[test]
    fn numbers_format_for_tables() {
        assert_eq!(cell(None), "–");
        assert_eq!(cell(Some(&Value::defined(0.12345))), "0.123");
        assert_eq!(cell(Some(&Value::undefined("no positives"))), "–");
    }
}
