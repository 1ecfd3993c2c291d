//! The Markdown summary: GitHub-flavoured, sized for a pull-request comment.
//!
//! Order: the verdict, the policy results that fail the gate (or warn) with observed value and
//! bound, a compact table per attribute, then the details (every policy result, between-group
//! summaries, provenance) collapsed in `<details>`. Groups below the minimum size show
//! `suppressed (n < k)` and no metric. Every name taken from the data is escaped
//! ([`escape`]), so a group called `<script>` or `|a|b|` reads as itself and does nothing.

use std::fmt::Write as _;
use std::io::Write;

use super::view::{self, KEY_METRICS, KEY_SUMMARIES};
use super::{AttributeReport, AuditReport, PolicyResult, PolicyStatus, Renderer};
use crate::error::Result;

/// Renders the Markdown summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Markdown;

impl Renderer for Markdown {
    fn render(&self, report: &AuditReport, w: &mut dyn Write) -> Result<()> {
        super::write_text(w, &text(report), "markdown")
    }
}

/// Escape text for Markdown, in a table cell or running text: HTML-special characters become
/// entities, Markdown punctuation is backslash-escaped, `|` cannot end a cell, line breaks
/// become spaces. GitHub renders the result as the original characters.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("\\|"),
            // Brackets are escaped, so parentheses can never form a link and stay as they are.
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The summary as text.
pub fn text(r: &AuditReport) -> String {
    let mut out = String::new();
    let verdict = view::verdict_badge(r);
    let failing: Vec<&PolicyResult> = r.policies.iter().filter(|p| p.fails_gate()).collect();
    let warning: Vec<&PolicyResult> = r
        .policies
        .iter()
        .filter(|p| p.status != PolicyStatus::Pass && !p.fails_gate())
        .collect();
    let _ = writeln!(
        out,
        "## {} fairaudit: {} — {} of {} policy results fail the gate\n",
        verdict.icon,
        verdict.label,
        failing.len(),
        r.policies.len()
    );
    // A multiclass or regression audit has no decision threshold; it names its task (issue 11).
    let rule = match (r.task_layout(), &r.provenance.thresholds) {
        (None, Some(t)) => format!(
            "per-group thresholds from `{}` (by `{}`)",
            escape_code(&t.file),
            escape_code(&t.attribute)
        ),
        (None, None) => format!("threshold {}", r.threshold),
        (Some(_), _) => format!("task {:?}", r.task()).to_lowercase(),
    };
    let _ = writeln!(
        out,
        "Input `{}` · {} rows used{} · {rule} · min group size {} · fairaudit {}\n",
        escape_code(&r.input.path),
        r.input.rows_used,
        r.input
            .skipped_summary()
            .map(|s| format!(" · invalid rows {}", escape(&s)))
            .unwrap_or_default(),
        r.options.min_group_size,
        escape(&r.tool.version)
    );
    for line in view::comparison_lines(r) {
        let _ = writeln!(out, "> {}", escape(&line));
    }
    if r.comparison.is_some() {
        out.push('\n');
    }
    if r.policies.is_empty() {
        out.push_str("No policies were given.\n\n");
    }
    if !failing.is_empty() {
        out.push_str("### Failing policies\n\n");
        policy_table(&mut out, r, &failing);
    }
    if !warning.is_empty() {
        out.push_str("### Warnings (insufficient data, not gating)\n\n");
        policy_table(&mut out, r, &warning);
    }
    for a in &r.attributes {
        let layout = r.task_layout().unwrap_or(super::TableLayout {
            columns: &KEY_METRICS,
            ratio: ("selection_rate", "sel. ratio"),
            summary: &[],
        });
        attribute_table(&mut out, a, r.options.min_group_size, layout);
        class_table(&mut out, a);
    }
    if !r.policies.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>All {} policy results</summary>\n",
            r.policies.len()
        );
        let all: Vec<&PolicyResult> = r.policies.iter().collect();
        policy_table(&mut out, r, &all);
        out.push_str("</details>\n\n");
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} sample-size warnings</summary>\n",
            r.warnings.len()
        );
        for w in &r.warnings {
            let _ = writeln!(out, "- {}", escape(w));
        }
        out.push_str("\n</details>\n\n");
    }
    out.push_str("<details><summary>Between-group summaries</summary>\n\n");
    out.push_str("| attribute | metric | value |\n|---|---|---:|\n");
    for a in &r.attributes {
        for key in KEY_SUMMARIES {
            if let Some(v) = a.summary.get(key) {
                let _ = writeln!(
                    out,
                    "| {} | `{key}` | {} |",
                    escape(&a.name),
                    with_ci(view::cell(Some(v)), view::ci(Some(v)))
                );
            }
        }
    }
    out.push_str("\n</details>\n\n");
    out.push_str("<details><summary>Provenance</summary>\n\n");
    let _ = writeln!(out, "- input: `{}`", escape_code(&r.input.path));
    let _ = writeln!(
        out,
        "- rows: {} read, {} used",
        r.input.rows, r.input.rows_used
    );
    if let Some(skipped) = r.input.skipped_summary() {
        let _ = writeln!(out, "- invalid rows: {}", escape(&skipped));
    }
    if let Some(sha) = &r.input.sha256 {
        let _ = writeln!(out, "- input SHA-256: `{sha}`");
    }
    if let Some(spec) = &r.input.spec {
        let _ = writeln!(
            out,
            "- spec: `{}` (SHA-256 `{}`)",
            escape_code(&spec.path),
            spec.sha256
        );
    }
    let _ = writeln!(
        out,
        "- {} {}",
        escape(&r.tool.name),
        escape(&r.tool.version)
    );
    out.push_str("\n</details>\n");
    out
}

/// Inline code cannot hold a backtick or a pipe safely: replace them.
fn escape_code(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '`' => '\'',
            '|' => '¦',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

fn with_ci(value: String, ci: Option<String>) -> String {
    match ci {
        Some(ci) => format!("{value} {ci}"),
        None => value,
    }
}

fn policy_table(out: &mut String, r: &AuditReport, policies: &[&PolicyResult]) {
    out.push_str("| status | policy | where | observed | bound |\n|---|---|---|---:|---|\n");
    for p in policies {
        let b = view::badge(p);
        let observed = if view::is_suppressed(r, p) {
            escape(&view::suppressed(r.options.min_group_size))
        } else {
            with_ci(
                view::observed(p),
                view::ci(view::policy_value(r, p)).filter(|_| p.observed.is_some()),
            )
        };
        let reason = match (&p.reason, p.status) {
            (Some(reason), PolicyStatus::InsufficientData) if !view::is_suppressed(r, p) => {
                format!(" ({})", escape(reason))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {}{} | `{}` |",
            b.icon,
            b.label,
            escape(&p.id),
            escape(&view::scope(p)),
            observed,
            reason,
            escape_code(&p.bound)
        );
    }
    out.push('\n');
}

fn attribute_table(out: &mut String, a: &AttributeReport, k: u64, layout: super::TableLayout) {
    let _ = writeln!(
        out,
        "### {} (reference: {})\n",
        escape(&a.name),
        a.reference.as_deref().map_or("none".to_string(), escape)
    );
    out.push_str("| group | n |");
    for (_, h) in layout.columns {
        let _ = write!(out, " {h} |");
    }
    let _ = write!(out, " {} |\n|---|---:|", layout.ratio.1);
    for _ in layout.columns {
        out.push_str("---:|");
    }
    out.push_str("---:|\n");
    for g in &a.groups {
        let is_ref = a.reference.as_deref() == Some(g.value.as_str());
        // A suppressed group's exact size is not shown either: only that it is below k.
        let count = if g.insufficient_data {
            format!("&lt; {k}")
        } else {
            g.count.to_string()
        };
        let _ = write!(
            out,
            "| {}{} | {count} |",
            escape(&g.value),
            if is_ref { " (reference)" } else { "" },
        );
        if g.insufficient_data {
            let _ = write!(out, " {} |", escape(&view::suppressed(k)));
            for _ in layout.columns {
                out.push_str(" |");
            }
        } else {
            for (key, _) in layout.columns {
                let _ = write!(out, " {} |", view::cell(g.metrics.get(*key)));
            }
            let _ = write!(out, " {} |", view::cell(view::ratio(g, layout.ratio.0)));
        }
        out.push('\n');
    }
    if !a.excluded_groups.is_empty() {
        let _ = writeln!(
            out,
            "\n{} group(s) below the minimum size ({k}) are suppressed and left out of the \
             between-group summaries.",
            a.excluded_groups.len()
        );
    }
    out.push('\n');
}

/// The per-class one-vs-rest metrics of a multiclass attribute's shown groups
/// ([`view::class_table`]), collapsed under the attribute's table; nothing for other tasks.
fn class_table(out: &mut String, a: &AttributeReport) {
    let Some(table) = view::class_table(a) else {
        return;
    };
    // A line that starts with an HTML tag is raw HTML to GitHub: Markdown's backslash escapes
    // would show there, so it is escaped as HTML (as the plots' text is).
    let _ = writeln!(
        out,
        "<details><summary>{}: per-class metrics (one-vs-rest)</summary>\n",
        super::plot::escape(&a.name)
    );
    out.push_str("| group | class |");
    for (_, h) in &table.columns {
        let _ = write!(out, " {h} |");
    }
    let _ = write!(out, " {} |\n|---|---|", view::CLASS_RATIO_HEADER);
    out.push_str(&"---:|".repeat(table.columns.len() + 1));
    out.push('\n');
    for g in &table.groups {
        let is_ref = a.reference.as_deref() == Some(g.value.as_str());
        for (i, c) in table.classes.iter().enumerate() {
            // The group is named on its first class row only, as in the HTML report.
            let group = match i {
                0 => format!(
                    "{}{}",
                    escape(&g.value),
                    if is_ref { " (reference)" } else { "" }
                ),
                _ => String::new(),
            };
            let _ = write!(out, "| {group} | {} |", escape(c));
            for (column, _) in &table.columns {
                let _ = write!(
                    out,
                    " {} |",
                    view::cell(view::ClassTable::value(g, column, c))
                );
            }
            let _ = writeln!(out, " {} |", view::cell(view::ClassTable::ratio(g, c)));
        }
    }
    out.push_str("\n</details>\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_text_inert_and_intact() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape("|a|b|"), "\\|a\\|b\\|");
        assert_eq!(escape("]]>"), "\\]\\]&gt;");
        assert_eq!(escape("a\nb"), "a b");
    }
}
