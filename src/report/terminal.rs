//! The terminal summary: one table per attribute (groups × key metrics, the reference group
//! marked, small groups suppressed), the between-group summary, the policy results with the
//! failing ones highlighted, and the verdict.

use std::fmt::Write as _;
use std::io::Write;

use super::{view, AttributeReport, AuditReport, PolicyStatus, Renderer, Status};
use crate::error::Result;
use crate::metrics::disparity::Disparity;
use crate::metrics::Value;

/// Per-group columns of the table: (metric key, header).
const COLUMNS: [(&str, &str); 6] = [
    ("selection_rate", "sel.rate"),
    ("base_rate", "base"),
    ("tpr", "TPR"),
    ("fpr", "FPR"),
    ("precision", "prec."),
    ("accuracy", "acc."),
];

/// Summary keys shown under each table.
const SUMMARY: [&str; 3] = [
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equal_opportunity_difference",
];

/// Renders the terminal summary; `color` adds ANSI colours to the verdicts.
#[derive(Debug, Default, Clone, Copy)]
pub struct Terminal {
    /// Use ANSI colours.
    pub color: bool,
}

impl Renderer for Terminal {
    fn render(&self, report: &AuditReport, w: &mut dyn Write) -> Result<()> {
        super::write_text(w, &self.text(report), "terminal")
    }
}

impl Terminal {
    /// The summary as text.
    pub fn text(&self, r: &AuditReport) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "fairaudit {} — {} ({} rows{})",
            r.tool.version,
            r.input.path,
            r.input.rows_used,
            match r.input.skipped_summary() {
                Some(skipped) => format!(", invalid rows: {skipped}"),
                None => String::new(),
            }
        );
        if let Some(t) = &r.provenance.thresholds {
            let _ = writeln!(out, "decisions: {}", t.describe());
        }
        for attribute in &r.attributes {
            out.push('\n');
            let layout = r.task_layout().unwrap_or(super::TableLayout {
                columns: &COLUMNS,
                ratio: ("selection_rate", "sel.ratio"),
                summary: &SUMMARY,
            });
            self.attribute_table(&mut out, attribute, r.options.min_group_size, layout);
        }
        if !r.policies.is_empty() {
            let _ = writeln!(out, "\nPolicies");
            for p in &r.policies {
                let where_ = match (&p.attribute, &p.group) {
                    (Some(a), Some(g)) => format!(" [{a} = {g}]"),
                    (Some(a), None) => format!(" [{a}]"),
                    _ => String::new(),
                };
                let reason = p
                    .reason
                    .as_ref()
                    .map(|s| format!(" — {s}"))
                    .unwrap_or_default();
                let ci = p.uncertainty.ci.map_or(String::new(), |[lo, hi]| {
                    let doubt = if p.uncertainty.uncertain == Some(true) {
                        ", straddles the bound"
                    } else {
                        ""
                    };
                    format!(" CI [{}, {}]{doubt}", fmt(lo), fmt(hi))
                });
                let _ = writeln!(
                    out,
                    "  {} {}{}: observed {}{ci} (bound {}){}",
                    self.badge(p.status, p.fails_gate()),
                    p.id,
                    where_,
                    view::observed(p),
                    p.bound,
                    reason
                );
            }
        }
        let comparison = view::comparison_lines(r);
        if !comparison.is_empty() {
            out.push('\n');
            for line in comparison {
                let _ = writeln!(out, "{line}");
            }
        }
        if !r.warnings.is_empty() {
            let _ = writeln!(
                out,
                "\n{} sample-size warning(s): some groups are too small to decide a policy \
                 (listed in the JSON, Markdown and HTML reports)",
                r.warnings.len()
            );
        }
        let failed = r.policies.iter().filter(|p| p.fails_gate()).count();
        let verdict = match r.status {
            Status::Pass => self.paint("PASS", "32;1"),
            Status::Fail => self.paint("FAIL", "31;1"),
        };
        let _ = writeln!(
            out,
            "\nVerdict: {verdict} ({failed} of {} policy results fail the gate)",
            r.policies.len()
        );
        out
    }

    fn attribute_table(
        &self,
        out: &mut String,
        a: &AttributeReport,
        k: u64,
        layout: super::TableLayout,
    ) {
        let _ = writeln!(
            out,
            "{}  (reference: {})",
            a.name,
            a.reference.as_deref().unwrap_or("none")
        );
        let width = a
            .groups
            .iter()
            .map(|g| g.value.chars().count() + 2)
            .max()
            .unwrap_or(5)
            .max(7);
        let mut header = format!("  {:<width$} {:>8}", "group", "n");
        for (_, h) in layout.columns {
            let _ = write!(header, " {h:>8}");
        }
        let _ = write!(header, " {:>9}", layout.ratio.1);
        let _ = writeln!(out, "{header}");
        for g in &a.groups {
            let is_ref = a.reference.as_deref() == Some(g.value.as_str());
            let label = if is_ref {
                format!("{} *", g.value)
            } else {
                g.value.clone()
            };
            let mut line = format!("  {label:<width$} {:>8}", g.count);
            if g.insufficient_data {
                let _ = write!(line, "  suppressed (n < {k})");
            } else {
                for (key, _) in layout.columns {
                    let _ = write!(line, " {:>8}", cell(g.metrics.get(*key)));
                }
                let ratio = match g.disparities.get(layout.ratio.0) {
                    Some(Disparity::Pair(p)) => cell(Some(&p.ratio)),
                    _ => "–".into(),
                };
                let _ = write!(line, " {ratio:>9}");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let parts: Vec<String> = (layout.summary.iter())
            .filter_map(|key| Some(format!("{key} {}", cell(Some(a.summary.get(*key)?)))))
            .collect();
        let _ = writeln!(out, "  {}", parts.join(" · "));
        if !a.excluded_groups.is_empty() {
            let _ = writeln!(
                out,
                "  {} group(s) below the minimum size are excluded from the summary",
                a.excluded_groups.len()
            );
        }
    }

    fn badge(&self, status: PolicyStatus, fails_gate: bool) -> String {
        match (status, fails_gate) {
            (PolicyStatus::Pass, _) => self.paint("PASS", "32"),
            (PolicyStatus::Fail, _) => self.paint("FAIL", "31;1"),
            (PolicyStatus::InsufficientData, true) => self.paint("INSUFFICIENT (fails)", "31"),
            (PolicyStatus::InsufficientData, false) => self.paint("INSUFFICIENT (warn)", "33"),
        }
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A metric value in a table cell: three decimals, `–` when undefined.
fn cell(v: Option<&Value>) -> String {
    v.and_then(|v| v.value)
        .map_or("–".to_string(), |x| format!("{x:.3}"))
}

/// A value in a policy line: up to six significant decimals.
fn fmt(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
