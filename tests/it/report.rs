//! Renderers on the shared sample report: structure, privacy, escaping, and insta snapshots
//! of every human-readable format.

use fairaudit::report::html::Html;
use fairaudit::report::json::Json;
use fairaudit::report::junit::Junit;
use fairaudit::report::markdown::Markdown;
use fairaudit::report::{AuditReport, PolicyStatus, Renderer};

use crate::sample::{hostile_report, sample_report, K};

fn render(r: &dyn Renderer, report: &AuditReport) -> String {
    let mut out = Vec::new();
    r.render(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn html(report: &AuditReport) -> String {
    render(&Html::default(), report)
}

/// The suppressed groups' metric values, formatted as the reports would show them.
fn suppressed_values(report: &AuditReport) -> Vec<String> {
    let mut out = Vec::new();
    for a in &report.attributes {
        for g in a.groups.iter().filter(|g| g.insufficient_data) {
            for (key, v) in &g.metrics {
                if let Some(x) = v.value {
                    out.push(format!("{key}={x:.3}"));
                }
            }
        }
    }
    out
}

// ---- JSON ------------------------------------------------------------------------------

#[test]
fn json_round_trips() {
    let report = sample_report();
    let text = render(&Json, &report);
    let back: AuditReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
    assert!(text.contains("\"spec\": {"), "input.spec is serialized");
}

// ---- Markdown --------------------------------------------------------------------------

#[test]
fn markdown_puts_the_verdict_first_and_collapses_details() {
    let md = render(&Markdown, &sample_report());
    assert!(md.starts_with("## ✘ fairaudit: FAIL — 4 of 7 policy results fail the gate"));
    let failing = md.find("### Failing policies").unwrap();
    let sex = md.find("### sex (reference: male)").unwrap();
    assert!(failing < sex);
    assert!(
        md.contains("| ✘ FAIL | four-fifths | sex | 0.62 [0.570, 0.670] | `>= 0.8` |"),
        "{md}"
    );
    assert!(md.contains("### Warnings"));
    assert!(md.contains("<details><summary>All 7 policy results</summary>"));
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    // One table per attribute: a header row with the key metrics.
    assert_eq!(md.matches("| group | n | sel. rate |").count(), 3);
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", render(&Markdown, &sample_report()));
}

// ---- JUnit -----------------------------------------------------------------------------

#[test]
fn junit_is_xml_and_counts_match_the_policy_results() {
    let report = sample_report();
    let xml = render(&Junit, &report);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit output is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), report.policies.len());
    let failures = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
        .count();
    let gate = report.policies.iter().filter(|p| p.fails_gate()).count();
    let warned = report
        .policies
        .iter()
        .filter(|p| p.status == PolicyStatus::InsufficientData && !p.fails_gate())
        .count();
    assert_eq!((failures, skipped), (gate, warned));
    let attr = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<usize>().unwrap();
    assert_eq!(attr(root, "tests"), cases.len());
    assert_eq!(attr(root, "failures"), failures);
    assert_eq!(attr(root, "skipped"), skipped);
    assert_eq!(attr(root, "errors"), 0);
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let n = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .count();
        assert_eq!(attr(suite, "tests"), n);
    }
    // A failure carries the observed value and the bound.
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("observed 0.62, bound >= 0.8")
    );
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", render(&Junit, &sample_report()));
}

// ---- HTML ------------------------------------------------------------------------------

#[test]
fn html_has_every_section_and_chart() {
    let report = sample_report();
    let page = html(&report);
    for id in [
        "verdict",
        "attribute-1",
        "attribute-2",
        "attribute-3",
        "heatmaps",
        "metrics",
        "methods",
        "suppressed",
        "provenance",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    // Per attribute: bars for selection_rate, tpr, fpr (+ ece on race, the policy's metric),
    // a disparity chart, a reliability diagram, ROC curves and a score distribution; plus one
    // heat map for the two-attribute intersection.
    let charts = |kind: &str| page.matches(&format!("<figure class=\"{kind}\">")).count();
    assert_eq!(charts("bars"), 3 + 4 + 3);
    assert_eq!(charts("disparity"), 3);
    assert_eq!(charts("reliability"), 3);
    assert_eq!(charts("roc"), 3);
    assert_eq!(charts("scores"), 3);
    assert_eq!(charts("heatmap"), 1);
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 10 + 3 * 4 + 1);
    // The ece policy's allowed range is shaded on the ece bars; the disparity band is marked.
    assert!(page.contains("allowed range ≤ 0.05"));
    assert!(page.contains("band [0.8, 1.25]"));
    // Labels: groups, the reference mark, CI whiskers' numbers in the tables.
    assert!(page.contains("male (ref)"));
    assert!(page.contains("★ reference"));
    assert!(page.contains("0.62 ") || page.contains("0.620 [0.570, 0.670]"));
    // Explanations come from the catalogue.
    assert!(page.contains("whom a gap harms"));
    assert!(page.contains("Aequitas: pprev"));
    // Provenance: both hashes and the tool version; no time unless injected.
    assert!(page.contains(&"ab".repeat(32)) && page.contains(&"cd".repeat(32)));
    assert!(page.contains("0.0.0-sample"));
    assert!(!page.contains("Time of the run"));
    let timed = render(
        &Html {
            generated_at: Some("2026-01-01T00:00:00Z".into()),
        },
        &report,
    );
    assert!(timed.contains("2026-01-01T00:00:00Z"));
}

#[test]
fn html_is_self_contained_and_well_formed() {
    let page = html(&sample_report());
    // Well-formed XML (the template keeps it so): parse it.
    roxmltree::Document::parse_with_options(
        &page,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("the HTML report is well-formed");
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "http://", "https://",
    ] {
        let hits: Vec<_> = page
            .match_indices(forbidden)
            .filter(|(i, _)| !page[..*i].ends_with("xmlns=\""))
            .collect();
        assert!(hits.is_empty(), "the report must not contain {forbidden}");
    }
    assert!(page.contains("@media print"));
}

#[test]
fn html_says_when_calibration_is_absent() {
    let mut report = sample_report();
    for a in &mut report.attributes {
        for g in &mut a.groups {
            g.calibration = None;
        }
    }
    let page = html(&report);
    assert_eq!(page.matches("class=\"note calibration-note\"").count(), 3);
    assert_eq!(page.matches("<figure class=\"reliability\">").count(), 0);
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html", html(&sample_report()));
}

// ---- Privacy ---------------------------------------------------------------------------

#[test]
fn suppressed_groups_show_no_metric_anywhere() {
    let report = sample_report();
    let hidden = suppressed_values(&report);
    assert!(!hidden.is_empty());
    let tiny = &report.attributes[1].groups[1];
    assert!(tiny.insufficient_data);
    let md = render(&Markdown, &report);
    let xml = render(&Junit, &report);
    let page = html(&report);
    let label = format!("suppressed (n &lt; {K})");
    assert!(
        md.contains(&format!("| tiny | &lt; {K} | suppressed (n &lt; {K}) |")),
        "{md}"
    );
    assert!(xml.contains(&label));
    assert!(page.contains(&label));
    // No row of the tiny group's table and no policy line leaks its numbers or its size.
    for text in [&md, &xml, &page] {
        for line in text.lines().filter(|l| l.contains("tiny")) {
            assert!(!line.contains("0.500"), "{line}");
            assert!(!line.contains("| 12 |"), "{line}");
            assert!(!line.contains("12 rows"), "{line}");
        }
    }
    // The suppressed groups are listed.
    assert!(page.contains("<td>race</td><td>tiny</td>"));
}

// ---- Escaping --------------------------------------------------------------------------

const HOSTILE: [&str; 4] = [
    "<script>alert(1)</script>",
    "|a|b|",
    "]]>",
    "\"race\" & 'origin'",
];

#[test]
fn hostile_names_are_inert_and_intact_in_html() {
    let page = html(&hostile_report());
    assert!(!page.contains("<script"), "no script element");
    let doc = roxmltree::Document::parse_with_options(
        &page,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("still well-formed");
    // Every hostile name reads back intact as text (the browser shows what the data says).
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .map(|n| n.text().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for name in HOSTILE {
        assert!(text.contains(name), "{name} is not shown intact");
    }
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
}

#[test]
fn hostile_names_are_inert_and_intact_in_junit() {
    let xml = render(&Junit, &hostile_report());
    let doc = roxmltree::Document::parse(&xml).expect("JUnit stays well-formed");
    let names: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert!(names.contains(&"calibration [\"race\" & 'origin' = <script>alert(1)</script>]"));
    assert!(names.contains(&"calibration [\"race\" & 'origin' = |a|b|]"));
    assert!(names.contains(&"fpr-parity [sex & race = male & ]]>]"));
}

#[test]
fn hostile_names_are_inert_and_intact_in_markdown() {
    let md = render(&Markdown, &hostile_report());
    assert!(!md.contains("<script"));
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(md.contains("\\|a\\|b\\|"));
    assert!(md.contains("\\]\\]&gt;"));
    assert!(md.contains("&quot;race&quot; &amp; 'origin'"));
    // Tables keep their shape: every row of a group table has the header's cell count.
    for table in md.split("| group | n |").skip(1) {
        let rows: Vec<&str> = table.lines().take_while(|l| l.starts_with('|')).collect();
        for row in rows {
            let cells = row.replace("\\|", "").matches('|').count();
            assert_eq!(cells, 10, "{row}");
        }
    }
}
