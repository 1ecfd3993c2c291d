//! JUnit XML: one `<testsuite>` per policy, one `<testcase>` per policy result (per attribute,
//! and per group for per-group checks), so any CI system lists them.
//!
//! - `pass` → an empty test case;
//! - `fail` → `<failure type="fail">` whose message holds the observed value and the bound;
//! - `insufficient_data` → `<failure type="insufficient_data">` when the policy fails the gate
//!   on it (`on_insufficient = "fail"`, the default), `<skipped>` when it only warns.
//!
//! `tests`, `failures`, `errors` (always 0) and `skipped` on every element match the test
//! cases. A result about a group below the minimum size shows no value, only
//! `suppressed (n < k)`. Every text is XML-escaped ([`escape`]); no CDATA is used, so `]]>` in a
//! name is harmless.

use std::fmt::Write as _;
use std::io::Write;

use super::view;
use super::{AuditReport, PolicyResult, PolicyStatus, Renderer};
use crate::error::Result;

/// Renders JUnit XML.
#[derive(Debug, Default, Clone, Copy)]
pub struct Junit;

impl Renderer for Junit {
    fn render(&self, report: &AuditReport, w: &mut dyn Write) -> Result<()> {
        super::write_text(w, &text(report), "junit")
    }
}

/// Escape text for XML attribute values and character data. Characters XML 1.0 forbids
/// (most C0 controls) become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    skipped: usize,
}

enum Outcome {
    Pass,
    Failure { kind: &'static str, message: String },
    Skipped { message: String },
}

fn outcome(r: &AuditReport, p: &PolicyResult) -> Outcome {
    let hidden = view::is_suppressed(r, p);
    let observed = if hidden {
        view::suppressed(r.options.min_group_size)
    } else {
        view::observed(p)
    };
    match p.status {
        PolicyStatus::Pass => Outcome::Pass,
        PolicyStatus::Fail => Outcome::Failure {
            kind: "fail",
            message: format!("observed {observed}, bound {}", p.bound),
        },
        PolicyStatus::InsufficientData => {
            let why = if hidden {
                observed
            } else {
                p.reason.clone().unwrap_or_else(|| "undefined value".into())
            };
            let message = format!("insufficient data: {why} (bound {})", p.bound);
            if p.fails_gate() {
                Outcome::Failure {
                    kind: "insufficient_data",
                    message,
                }
            } else {
                Outcome::Skipped { message }
            }
        }
    }
}

/// The XML document.
pub fn text(r: &AuditReport) -> String {
    // Policies in first-seen order, each with its results.
    let mut suites: Vec<(&str, Vec<&PolicyResult>)> = Vec::new();
    for p in &r.policies {
        match suites.iter_mut().find(|(id, _)| *id == p.id) {
            Some((_, results)) => results.push(p),
            None => suites.push((&p.id, vec![p])),
        }
    }
    let mut total = Counts::default();
    let mut body = String::new();
    for (id, results) in &suites {
        let mut counts = Counts::default();
        let mut cases = String::new();
        for p in results {
            counts.tests += 1;
            let name = format!("{} [{}]", p.id, view::scope(p));
            let _ = write!(
                cases,
                "    <testcase classname=\"fairaudit.{}\" name=\"{}\"",
                escape(&p.id),
                escape(&name)
            );
            match outcome(r, p) {
                Outcome::Pass => cases.push_str("/>\n"),
                Outcome::Failure { kind, message } => {
                    counts.failures += 1;
                    let _ = write!(
                        cases,
                        ">\n      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                        escape(&message),
                        escape(&detail(p, &message))
                    );
                }
                Outcome::Skipped { message } => {
                    counts.skipped += 1;
                    let _ = write!(
                        cases,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        escape(&message)
                    );
                }
            }
        }
        total.tests += counts.tests;
        total.failures += counts.failures;
        total.skipped += counts.skipped;
        // A baseline comparison's findings travel with every suite, where CI systems show them.
        let properties: String = view::comparison_lines(r)
            .iter()
            .enumerate()
            .map(|(i, line)| {
                format!(
                    "      <property name=\"baseline.{i}\" value=\"{}\"/>\n",
                    escape(line)
                )
            })
            .collect();
        let cases = if properties.is_empty() {
            cases
        } else {
            format!("    <properties>\n{properties}    </properties>\n{cases}")
        };
        let _ = write!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n{cases}  </testsuite>\n",
            escape(id),
            counts.tests,
            counts.failures,
            counts.skipped
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"fairaudit\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n{body}</testsuites>\n",
        total.tests, total.failures, total.skipped
    )
}

fn detail(p: &PolicyResult, message: &str) -> String {
    let mut s = format!("{message}\nexpression: {}\n", p.expression);
    if let Some(d) = &p.description {
        let _ = writeln!(s, "description: {d}");
    }
    s
}
