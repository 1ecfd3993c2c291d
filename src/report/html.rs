//! The HTML report: one self-contained file (inline CSS and inline SVG, no script, nothing
//! fetched), printable (`@media print`).
//!
//! As in criterion's `src/html/`, the model is first turned into a serde view model
//! ([`Page`]) whose values are already formatted strings, then rendered with a template
//! compiled into the binary (`templates/report.html`, `include_str!`) by minijinja with HTML
//! auto-escaping, so every name from the data (a group called `<script>…`) is inert text.
//! Charts come from [`super::plot`] as SVG strings; they are the only unescaped insertions.
//!
//! Sections: verdict at a glance; one section per attribute and intersection (table of groups,
//! metric bars with CI whiskers and the policy's allowed range, disparity against the
//! reference, reliability diagram, ROC curves and score distribution when the report carries
//! calibration tables); heat maps of two-attribute intersections; what the metrics mean;
//! methods; groups suppressed for size; provenance.
//!
//! The time of the run is the only run-specific content. It is not in the model (the JSON
//! stays byte-stable); the caller injects it as [`Html::generated_at`], and `None` leaves it out.
//!
//! The output is also well-formed XML (void elements self-closed, numeric character
//! references only), which the tests use to parse it.

use std::collections::BTreeSet;
use std::io::Write;

use serde::Serialize;

use super::plot::{self, Bar, BarChart, Curve, DisparityChart, DisparitySeries, Heatmap};
use super::view::{self, KEY_METRICS, KEY_SUMMARIES};
use super::{AttributeReport, AuditReport, PolicyStatus, Renderer};
use crate::audit::JOIN;
use crate::error::{Error, Result};
use crate::metrics::catalog::{self, Resolved};
use crate::metrics::Value;

const TEMPLATE: &str = include_str!("templates/report.html");
const CSS: &str = include_str!("templates/report.css");

/// Metrics drawn as bars for every attribute (policies on other per-group metrics add theirs).
const BAR_METRICS: [&str; 3] = ["selection_rate", "tpr", "fpr"];

/// Metrics drawn in the disparity chart (policies on other ratios add theirs).
const DISPARITY_METRICS: [&str; 3] = ["selection_rate", "tpr", "fpr"];

/// The heat map's metric.
const HEATMAP_METRIC: &str = "selection_rate";

/// The default band of the disparity chart: the four-fifths rule, both directions.
const PARITY_BAND: (f64, f64) = (0.8, 1.25);

/// Renders the HTML report.
#[derive(Debug, Default, Clone)]
pub struct Html {
    /// Time of the run, shown under provenance; `None` leaves it out (reproducible output).
    pub generated_at: Option<String>,
}

impl Renderer for Html {
    fn render(&self, report: &AuditReport, w: &mut dyn Write) -> Result<()> {
        super::write_text(w, &self.text(report)?, "html")
    }
}

impl Html {
    /// The document as text.
    pub fn text(&self, report: &AuditReport) -> Result<String> {
        let page = page(report, self.generated_at.as_deref())?;
        let mut env = minijinja::Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_template("report.html", TEMPLATE)
            .map_err(template_error)?;
        env.get_template("report.html")
            .and_then(|t| t.render(&page))
            .map_err(template_error)
    }
}

fn template_error(e: minijinja::Error) -> Error {
    Error::Render {
        format: "html",
        msg: format!("template: {e:#}"),
    }
}

/// The view model: everything the template shows, already formatted.
#[derive(Debug, Serialize)]
pub struct Page {
    css: &'static str,
    title: String,
    verdict: BadgeView,
    verdict_line: String,
    counts: Vec<(String, usize)>,
    policies: Vec<PolicyRow>,
    attributes: Vec<AttributeView>,
    heatmaps: Vec<ChartView>,
    heatmap_note: Option<String>,
    explanations: Vec<ExplanationView>,
    methods: Vec<(String, String)>,
    comparison: Vec<String>,
    warnings: Vec<String>,
    suppressed: Vec<SuppressedView>,
    min_group_size: u64,
    provenance: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
struct BadgeView {
    label: &'static str,
    icon: &'static str,
    class: &'static str,
}

impl From<view::Badge> for BadgeView {
    fn from(b: view::Badge) -> Self {
        BadgeView {
            label: b.label,
            icon: b.icon,
            class: b.class,
        }
    }
}

#[derive(Debug, Serialize)]
struct PolicyRow {
    /// The first result of its policy: the row that shows expression and description.
    first: bool,
    badge: BadgeView,
    id: String,
    description: Option<String>,
    expression: String,
    scope: String,
    observed: String,
    bound: String,
    ci: Option<String>,
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct AttributeView {
    anchor: String,
    name: String,
    reference: String,
    reference_rule: String,
    headers: Vec<String>,
    rows: Vec<GroupRow>,
    summaries: Vec<(String, String)>,
    charts: Vec<ChartView>,
    calibration_note: Option<String>,
    excluded: usize,
    /// Multiclass: one row per (group, class) of the one-vs-rest metrics.
    class_table: Option<ClassTable>,
}

/// The per-class table of a multiclass attribute (issue 11).
#[derive(Debug, Serialize)]
struct ClassTable {
    headers: Vec<String>,
    rows: Vec<ClassRow>,
}

#[derive(Debug, Serialize)]
struct ClassRow {
    /// The group, on its first class row only.
    group: Option<String>,
    /// Classes of the group (the first row's rowspan).
    span: usize,
    reference: bool,
    class: String,
    cells: Vec<String>,
}

#[derive(Debug, Serialize)]
struct GroupRow {
    value: String,
    reference: bool,
    count: String,
    suppressed: Option<String>,
    cells: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ChartView {
    kind: &'static str,
    title: String,
    svg: String,
    caption: String,
}

#[derive(Debug, Serialize)]
struct ExplanationView {
    key: String,
    definition: String,
    measures: String,
    harm: String,
    peers: String,
}

#[derive(Debug, Serialize)]
struct SuppressedView {
    attribute: String,
    group: String,
}

fn page(r: &AuditReport, generated_at: Option<&str>) -> Result<Page> {
    let k = r.options.min_group_size;
    let failing = r.policies.iter().filter(|p| p.fails_gate()).count();
    let count_of = |s: PolicyStatus| r.policies.iter().filter(|p| p.status == s).count();
    let policies = r
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let hidden = view::is_suppressed(r, p);
            let value = view::policy_value(r, p);
            PolicyRow {
                first: i == 0 || r.policies[i - 1].id != p.id,
                badge: view::badge(p).into(),
                id: p.id.clone(),
                description: p.description.clone(),
                expression: p.expression.clone(),
                scope: view::scope(p),
                observed: if hidden {
                    view::suppressed(k)
                } else {
                    view::observed(p)
                },
                bound: p.bound.clone(),
                ci: if hidden || p.observed.is_none() {
                    None
                } else {
                    view::ci(value)
                },
                note: match p.status {
                    PolicyStatus::InsufficientData if hidden => {
                        Some("the group is below the minimum size".into())
                    }
                    PolicyStatus::InsufficientData => p.reason.clone(),
                    _ => None,
                },
            }
        })
        .collect();
    let key_metrics = r.task_layout().map_or(&KEY_METRICS[..], |l| l.columns);
    let mut shown: BTreeSet<String> = key_metrics.iter().map(|(k, _)| k.to_string()).collect();
    let attributes = r
        .attributes
        .iter()
        .enumerate()
        .map(|(i, a)| attribute_view(r, a, i, &mut shown))
        .collect::<Result<Vec<_>>>()?;
    let heatmap_metric = r.task_layout().map_or(HEATMAP_METRIC, |l| l.ratio.0);
    let mut heatmaps = Vec::new();
    for a in r.attributes.iter().filter(|a| a.columns.len() == 2) {
        let map = heatmap_data(r, a, heatmap_metric);
        heatmaps.push(ChartView {
            kind: "heatmap",
            title: map.title.clone(),
            svg: plot::heatmap(&map)?,
            caption: format!(
                "{heatmap_metric} of every {} group; grey cells are suppressed (n < {k}), \
                 'none' means no row has that combination.",
                a.name
            ),
        });
    }
    let key_summaries = r.task_layout().map_or(&KEY_SUMMARIES[..], |l| l.summary);
    shown.extend(key_summaries.iter().map(|s| s.to_string()));
    shown.extend(r.policies.iter().map(|p| p.metric.clone()));
    shown.insert(heatmap_metric.into());
    let explanations = explanations(&shown);
    let suppressed = r
        .attributes
        .iter()
        .flat_map(|a| {
            a.groups
                .iter()
                .filter(|g| g.insufficient_data)
                .map(|g| SuppressedView {
                    attribute: a.name.clone(),
                    group: g.value.clone(),
                })
        })
        .collect();
    Ok(Page {
        css: CSS,
        title: format!("Fairness audit of {}", r.input.path),
        verdict: view::verdict_badge(r).into(),
        verdict_line: if r.policies.is_empty() {
            "No policies were given.".into()
        } else {
            format!(
                "{failing} of {} policy results fail the gate.",
                r.policies.len()
            )
        },
        counts: vec![
            ("pass".into(), count_of(PolicyStatus::Pass)),
            ("fail".into(), count_of(PolicyStatus::Fail)),
            (
                "insufficient data".into(),
                count_of(PolicyStatus::InsufficientData),
            ),
        ],
        policies,
        attributes,
        heatmap_note: heatmaps.is_empty().then(|| {
            "No intersection of exactly two attributes was audited, so there is no heat map."
                .to_string()
        }),
        heatmaps,
        explanations,
        methods: methods(r),
        comparison: view::comparison_lines(r),
        warnings: r.warnings.clone(),
        suppressed,
        min_group_size: k,
        provenance: provenance(r, generated_at),
    })
}

fn attribute_view(
    r: &AuditReport,
    a: &AttributeReport,
    index: usize,
    shown: &mut BTreeSet<String>,
) -> Result<AttributeView> {
    let k = r.options.min_group_size;
    let is_ref = |v: &str| a.reference.as_deref() == Some(v);
    let layout = r.task_layout();
    let key_metrics = layout.map_or(&KEY_METRICS[..], |l| l.columns);
    let (ratio_key, ratio_header) = layout.map_or(("selection_rate", "sel. ratio"), |l| l.ratio);
    let mut headers = vec!["group".to_string(), "n".into()];
    headers.extend(key_metrics.iter().map(|(_, h)| h.to_string()));
    headers.push(ratio_header.into());
    let rows = a
        .groups
        .iter()
        .map(|g| GroupRow {
            value: g.value.clone(),
            reference: is_ref(&g.value),
            count: if g.insufficient_data {
                format!("< {k}")
            } else {
                g.count.to_string()
            },
            suppressed: g.insufficient_data.then(|| view::suppressed(k)),
            cells: if g.insufficient_data {
                Vec::new()
            } else {
                key_metrics
                    .iter()
                    .map(|(key, _)| with_ci(g.metrics.get(*key)))
                    .chain(std::iter::once(view::cell(view::ratio(g, ratio_key))))
                    .collect()
            },
        })
        .collect();
    let summaries = (layout.map_or(&KEY_SUMMARIES[..], |l| l.summary).iter())
        .filter_map(|key| Some((key.to_string(), with_ci(Some(a.summary.get(*key)?)))))
        .collect();
    let visible: Vec<&super::GroupReport> =
        a.groups.iter().filter(|g| !g.insufficient_data).collect();
    let policies_here: Vec<&super::PolicyResult> = r
        .policies
        .iter()
        .filter(|p| p.attribute.as_deref() == Some(a.name.as_str()))
        .collect();
    // Metric bars: the key metrics, plus every per-group metric a policy checks here.
    let (mut bar_metrics, mut disparity_metrics): (Vec<String>, Vec<String>) = match layout {
        None => (
            BAR_METRICS.iter().map(|s| s.to_string()).collect(),
            DISPARITY_METRICS.iter().map(|s| s.to_string()).collect(),
        ),
        Some(l) => (
            vec![l.columns[0].0.to_string(), ratio_key.to_string()],
            vec![ratio_key.to_string()],
        ),
    };
    bar_metrics.dedup();
    let mut disparity_band = None;
    for p in &policies_here {
        match catalog::resolve(&p.metric) {
            Ok(Resolved::Group(m)) if !bar_metrics.contains(&m) => bar_metrics.push(m),
            Ok(Resolved::DisparityPair { metric, part }) if part == "ratio" => {
                if !disparity_metrics.contains(&metric) {
                    disparity_metrics.push(metric);
                }
                disparity_band = disparity_band.or_else(|| {
                    view::bound_range(&p.bound)
                        .map(|(lo, hi)| (lo.unwrap_or(PARITY_BAND.0), hi.unwrap_or(PARITY_BAND.1)))
                });
            }
            _ => {}
        }
    }
    let mut charts = Vec::new();
    let suppressed_note = if visible.len() < a.groups.len() {
        format!(
            " {} group(s) below the minimum size ({k}) are not drawn.",
            a.groups.len() - visible.len()
        )
    } else {
        String::new()
    };
    for m in &bar_metrics {
        shown.insert(m.clone());
        let band_policy = policies_here
            .iter()
            .find(|p| p.metric == *m && p.group.is_some());
        let band = band_policy.and_then(|p| view::bound_range(&p.bound));
        let bars: Vec<Bar> = visible
            .iter()
            .filter_map(|g| {
                let v = g.metrics.get(m)?;
                Some(Bar {
                    label: g.value.clone(),
                    value: v.value?,
                    ci: v.ci.map(|[lo, hi]| (lo, hi)),
                    reference: is_ref(&g.value),
                })
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        let title = format!("{m} by {}", a.name);
        let mut caption = format!(
            "One bar per group; (ref) marks the reference group; whiskers show the confidence \
             interval where the report has one.{suppressed_note}"
        );
        if let Some(p) = band_policy {
            caption.push_str(&format!(
                " Shaded: the range policy '{}' allows ({}).",
                p.id, p.bound
            ));
        }
        charts.push(ChartView {
            kind: "bars",
            svg: plot::metric_bars(&BarChart {
                title: title.clone(),
                metric: m.clone(),
                bars,
                band,
            })?,
            title,
            caption,
        });
    }
    if let Some(reference) = &a.reference {
        let others: Vec<&&super::GroupReport> =
            visible.iter().filter(|g| !is_ref(&g.value)).collect();
        if !others.is_empty() {
            let band = disparity_band.unwrap_or(PARITY_BAND);
            let title = format!("Ratio to the reference group ({reference}) by {}", a.name);
            charts.push(ChartView {
                kind: "disparity",
                svg: plot::disparity(&DisparityChart {
                    title: title.clone(),
                    groups: others.iter().map(|g| g.value.clone()).collect(),
                    series: disparity_metrics
                        .iter()
                        .map(|m| DisparitySeries {
                            metric: m.clone(),
                            ratios: others
                                .iter()
                                .map(|g| view::ratio(g, m).and_then(|v| v.value))
                                .collect(),
                        })
                        .collect(),
                    band,
                })?,
                title,
                caption: format!(
                    "Each group's metric divided by the reference group's, on a log axis (1 = \
                     parity). Shaded: [{}, {}]. Undefined ratios are not drawn.{suppressed_note}",
                    band.0, band.1
                ),
            });
        }
    }
    // Multiclass: one confusion-matrix heat map per group (issue 11).
    for g in &visible {
        if let Some(map) = confusion_heatmap(a, g) {
            charts.push(ChartView {
                kind: "heatmap",
                title: map.title.clone(),
                svg: plot::heatmap(&map)?,
                caption: format!(
                    "Rows: true class; columns: predicted class. Each cell is the share of the \
                     group's rows of that true class (weighted) predicted as that class, so a \
                     row sums to 1 and the diagonal is each class's TPR; 'undef.' marks a class \
                     with no row in the group.{suppressed_note}"
                ),
            });
        }
    }
    let calibrated: Vec<(&super::GroupReport, &super::Calibration)> = visible
        .iter()
        .filter_map(|g| Some((*g, g.calibration.as_ref()?)))
        .collect();
    let calibration_note = if calibrated.is_empty() {
        layout.is_none().then(|| {
            "This report carries no per-bin calibration tables or ROC points for these groups, \
             so reliability diagrams, ROC curves and score distributions are not drawn."
                .to_string()
        })
    } else {
        let reliability: Vec<Curve> = calibrated
            .iter()
            .map(|(g, c)| Curve {
                label: g.value.clone(),
                points: c
                    .bins
                    .iter()
                    .filter_map(|b| Some((b.mean_score?, b.observed_rate?)))
                    .collect(),
            })
            .collect();
        let title = format!("Reliability diagram by {}", a.name);
        charts.push(ChartView {
            kind: "reliability",
            svg: plot::reliability(&title, &reliability)?,
            title,
            caption: format!(
                "Per score bin: mean score against the observed rate of label 1. On the dashed \
                 diagonal, a score means what it says.{suppressed_note}"
            ),
        });
        let roc: Vec<Curve> = calibrated
            .iter()
            .map(|(g, c)| Curve {
                label: g.value.clone(),
                points: c.roc.iter().map(|p| (p.fpr, p.tpr)).collect(),
            })
            .collect();
        let title = format!("ROC curves by {}", a.name);
        charts.push(ChartView {
            kind: "roc",
            svg: plot::roc(&title, &roc)?,
            title,
            caption: format!(
                "True against false positive rate as the threshold moves; the dashed diagonal is \
                 chance.{suppressed_note}"
            ),
        });
        let hist: Vec<plot::Histogram> = calibrated
            .iter()
            .map(|(g, c)| plot::Histogram {
                label: g.value.clone(),
                bins: c.bins.iter().map(|b| (b.lo, b.hi, b.count)).collect(),
            })
            .collect();
        let title = format!("Score distribution by {}", a.name);
        charts.push(ChartView {
            kind: "scores",
            svg: plot::score_distribution(&title, &hist)?,
            title,
            caption: format!("Share of each group's rows per calibration bin.{suppressed_note}"),
        });
        None
    };
    Ok(AttributeView {
        anchor: format!("attribute-{}", index + 1),
        name: a.name.clone(),
        reference: a.reference.clone().unwrap_or_else(|| "none".into()),
        reference_rule: match a.reference_rule.as_str() {
            "given" => "given in the spec".into(),
            "largest_group" => "the largest group".into(),
            other => other.to_string(),
        },
        headers,
        rows,
        summaries,
        charts,
        calibration_note,
        excluded: a.excluded_groups.len(),
        class_table: class_table(a),
    })
}

/// The per-class one-vs-rest metrics of every shown group of a multiclass attribute
/// ([`view::class_table`]), with their intervals; `None` for other tasks.
fn class_table(a: &AttributeReport) -> Option<ClassTable> {
    let table = view::class_table(a)?;
    let mut headers = vec!["group".to_string(), "class".into()];
    headers.extend(table.columns.iter().map(|(_, h)| h.to_string()));
    headers.push(view::CLASS_RATIO_HEADER.into());
    let rows = (table.groups.iter())
        .flat_map(|g| {
            let table = &table;
            (table.classes.iter().enumerate()).map(move |(i, c)| ClassRow {
                group: (i == 0).then(|| g.value.clone()),
                span: table.classes.len(),
                reference: a.reference.as_deref() == Some(g.value.as_str()),
                class: c.clone(),
                cells: (table.columns.iter())
                    .map(|(rate, _)| with_ci(view::ClassTable::value(g, rate, c)))
                    .chain(std::iter::once(view::cell(view::ClassTable::ratio(g, c))))
                    .collect(),
            })
        })
        .collect();
    Some(ClassTable { headers, rows })
}

fn with_ci(v: Option<&Value>) -> String {
    match view::ci(v) {
        Some(ci) => format!("{} {ci}", view::cell(v)),
        None => view::cell(v),
    }
}

/// The heat map of an intersection of two attributes: rows and columns are the members'
/// values (from the members' own sections when present, else from the joined values).
fn heatmap_data(r: &AuditReport, a: &AttributeReport, metric: &str) -> Heatmap {
    let k = r.options.min_group_size;
    let member_values = |i: usize| -> Vec<String> {
        if let Some(m) = r.attributes.iter().find(|m| m.name == a.columns[i]) {
            return m.groups.iter().map(|g| g.value.clone()).collect();
        }
        let mut values: Vec<String> = a
            .groups
            .iter()
            .filter_map(|g| {
                let parts: Vec<&str> = g.value.split(JOIN).collect();
                (parts.len() == 2).then(|| parts[i].to_string())
            })
            .collect();
        values.sort();
        values.dedup();
        values
    };
    let (rows, cols) = (member_values(0), member_values(1));
    let cells = rows
        .iter()
        .map(|row| {
            cols.iter()
                .map(|col| {
                    let key = format!("{row}{JOIN}{col}");
                    match a.groups.iter().find(|g| g.value == key) {
                        None => plot::HeatmapCell::Absent,
                        Some(g) if g.insufficient_data => plot::HeatmapCell::Suppressed(k),
                        Some(g) => match g.metrics.get(metric).and_then(|v| v.value) {
                            Some(x) => plot::HeatmapCell::Value(x),
                            None => plot::HeatmapCell::Undefined,
                        },
                    }
                })
                .collect()
        })
        .collect();
    Heatmap {
        title: format!("{metric} over {}", a.name),
        rows: (a.columns[0].clone(), rows),
        cols: (a.columns[1].clone(), cols),
        cells,
    }
}

/// The row-normalised confusion matrix of a multiclass group as a heat map.
fn confusion_heatmap(a: &AttributeReport, g: &super::GroupReport) -> Option<Heatmap> {
    let Some(super::OutcomeDetail::Multiclass {
        classes,
        confusion_matrix_weighted: m,
        ..
    }) = &g.outcome
    else {
        return None;
    };
    let cells = m
        .iter()
        .map(|row| {
            let total: f64 = row.iter().sum();
            row.iter()
                .map(|&w| {
                    if total > 0.0 {
                        plot::HeatmapCell::Value(w / total)
                    } else {
                        plot::HeatmapCell::Undefined
                    }
                })
                .collect()
        })
        .collect();
    Some(Heatmap {
        title: format!("Confusion matrix of {} = {}", a.name, g.value),
        rows: ("true class".into(), classes.clone()),
        cols: ("predicted class".into(), classes.clone()),
        cells,
    })
}

/// Explanations of the metrics shown, from the catalogue (the single source).
fn explanations(keys: &BTreeSet<String>) -> Vec<ExplanationView> {
    let mut out = Vec::new();
    for key in keys {
        // `m.ratio` / `m.difference`: explain the pattern once and m itself.
        let (base, part) = match key.split_once('.') {
            Some((m, part)) => (m, Some(part)),
            None => (key.as_str(), None),
        };
        let explanation = match part {
            Some(part) => catalog::explain(part),
            None => catalog::explain(base),
        };
        let info = match part {
            Some(part) => catalog::info(&format!("<m>.{part}")),
            None => catalog::info(base),
        };
        if info.is_none() && explanation.is_none() {
            continue;
        }
        let peers = info
            .map(|i| {
                [
                    ("Fairlearn", i.fairlearn),
                    ("AIF360", i.aif360),
                    ("Aequitas", i.aequitas),
                ]
                .iter()
                .filter(|(_, n)| !n.is_empty())
                .map(|(tk, n)| format!("{tk}: {n}"))
                .collect::<Vec<_>>()
                .join("; ")
            })
            .unwrap_or_default();
        out.push(ExplanationView {
            key: key.clone(),
            definition: match (info, part) {
                (Some(i), Some(_)) => i.definition.replace("m_", &format!("{base}_")),
                (Some(i), None) => i.definition.to_string(),
                (None, _) => String::new(),
            },
            measures: explanation.map_or(String::new(), |e| e.measures.to_string()),
            harm: explanation.map_or(String::new(), |e| e.harm.to_string()),
            peers: if peers.is_empty() {
                "—".into()
            } else {
                peers
            },
        });
    }
    out
}

/// The method notes of a multiclass or regression audit (issue 11).
fn task_methods(r: &AuditReport) -> Vec<(String, String)> {
    let c = &r.input.columns;
    let mut out = Vec::new();
    if !c.favorable.is_empty() {
        out.push((
            "Task".into(),
            format!(
                "multiclass collapsed to binary: positive = class in {{{}}}; every metric is \
                 that of the binary audit of the collapsed labels",
                c.favorable.join(", ")
            ),
        ));
        return out;
    }
    match r.task() {
        crate::input::Task::Binary => {}
        crate::input::Task::Multiclass => out.push((
            "Task".into(),
            "multiclass: per class one-vs-rest rates (rate@class), their macro mean over the \
             classes where defined and the worst class; confusion matrix per group; intervals \
             of rates as for binary audits; with class score columns one-vs-rest AUC, ECE and \
             MCE per class (bootstrap intervals redraw the scores per cell and true class)"
                .into(),
        )),
        crate::input::Task::Regression => {
            let q = r.options.quantile.map_or(String::new(), |q| {
                format!(
                    "; share_above_quantile uses the overall {}-quantile of the predictions ({})",
                    q.q,
                    q.threshold.map_or("undefined".into(), |t| t.to_string())
                )
            });
            out.push((
                "Task".into(),
                format!(
                    "regression: MAE, MSE, RMSE, mean error, R² per group, with normal \
                     intervals of the means (Kish's effective size with weights); KS statistic \
                     (exact p-value up to 10,000 rows per side; with weights asymptotic at \
                     Kish's effective sizes) and \
                     Wasserstein-1 distance of the predictions against the reference{q}"
                ),
            ));
        }
    }
    out
}

fn methods(r: &AuditReport) -> Vec<(String, String)> {
    let c = &r.input.columns;
    let decision = match (&c.prediction, &r.provenance.thresholds) {
        (Some(p), _) => format!("model decisions read from column '{p}'"),
        (None, Some(t)) => t.describe(),
        (None, None) => format!("decision = score ≥ {}", r.threshold),
    };
    let threshold = match &r.provenance.thresholds {
        Some(_) => format!(
            "{} (not used: the per-group thresholds decide)",
            r.threshold
        ),
        None => r.threshold.to_string(),
    };
    let mut out = vec![
        (
            "Columns".to_string(),
            format!(
                "label '{}'{}{}{}{}",
                c.label,
                c.score
                    .as_ref()
                    .map_or(String::new(), |s| format!(", score '{s}'")),
                c.prediction
                    .as_ref()
                    .map_or(String::new(), |s| format!(", prediction '{s}'")),
                c.weight
                    .as_ref()
                    .map_or(String::new(), |s| format!(", sample weight '{s}'")),
                c.positive_label
                    .as_ref()
                    .map_or(String::new(), |s| format!(", positive label '{s}'")),
            ),
        ),
        ("Decision rule".into(), decision),
        ("Threshold".into(), threshold),
    ];
    out.extend(task_methods(r));
    out.extend([
        (
            "Minimum group size".into(),
            format!(
                "{}: smaller groups show no metric, are not drawn, are left out of the \
                 between-group summaries, and their policy results are insufficient data",
                r.options.min_group_size
            ),
        ),
        (
            "Reference groups".into(),
            "per attribute: as given in the spec, otherwise the largest group (ties go to the \
             smaller value); disparities are group ÷ reference and group − reference"
                .into(),
        ),
    ]);
    let binning = r
        .overall
        .calibration
        .as_ref()
        .or_else(|| {
            r.attributes
                .iter()
                .flat_map(|a| &a.groups)
                .find_map(|g| g.calibration.as_ref())
        })
        .map(|c| format!(" ({} binning; AUC {})", c.binning, c.auc_method))
        .unwrap_or_default();
    out.push((
        "Calibration bins".into(),
        format!(
            "{} equal-width, right-closed bins over [0, 1] for ECE and MCE{binning}",
            r.options.bins
        ),
    ));
    let values = all_values(r);
    let has_ci = values.iter().any(|v| v.ci.is_some());
    let has_p = values.iter().any(|v| v.p_value.is_some());
    let u = &r.options.uncertainty;
    let level = format!("{}%", 100.0 * u.confidence);
    let method = match u.ci_method {
        crate::stats::ci::CiMethod::Wilson => "Wilson score",
        crate::stats::ci::CiMethod::ClopperPearson => "Clopper–Pearson (exact)",
    };
    out.push((
        "Confidence intervals".into(),
        if has_ci {
            let bootstrap = if u.bootstrap > 0 {
                format!(
                    "; disparities and between-group summaries: stratified bootstrap, {} replicates of the per-group statistics, percentile intervals, seed {}",
                    u.bootstrap, u.seed
                )
            } else {
                "; no bootstrap (disparities and summaries carry no interval)".into()
            };
            format!(
                "{level}; rates: {method} intervals (weighted data: Kish effective sample size){bootstrap}. Shown as [lo, hi] beside values and as whiskers on the bars"
            )
        } else {
            "none in this report".into()
        },
    ));
    let correction = match u.correction {
        crate::stats::hypothesis::Correction::Holm => "Holm",
        crate::stats::hypothesis::Correction::Bh => "Benjamini–Hochberg",
        crate::stats::hypothesis::Correction::None => "no",
    };
    out.push((
        "Hypothesis tests and corrections".into(),
        if has_p {
            format!(
                "each group against its reference on selection rate, TPR and FPR: two-proportion z-test, Fisher's exact test when an expected count is below 5; {correction} adjustment across all comparisons of the audit (adjusted p-values in the JSON)"
            )
        } else {
            "none in this report".into()
        },
    ));
    out.push((
        "Invalid rows".into(),
        if r.options.invalid_rows == "skip" {
            format!(
                "skipped and counted ({})",
                r.input
                    .skipped_summary()
                    .unwrap_or_else(|| "0 skipped".into())
            )
        } else {
            "an invalid row stops the audit".into()
        },
    ));
    out.push((
        "Undefined metrics".into(),
        "a metric with a zero denominator is shown as – (null with a reason in the JSON), \
         never as 0; a policy on it is insufficient data"
            .into(),
    ));
    out
}

fn all_values(r: &AuditReport) -> Vec<&Value> {
    let mut out: Vec<&Value> = r.overall.metrics.values().collect();
    for a in &r.attributes {
        out.extend(a.summary.values());
        for g in &a.groups {
            out.extend(g.metrics.values());
        }
    }
    out
}

fn provenance(r: &AuditReport, generated_at: Option<&str>) -> Vec<(String, String)> {
    let i = &r.input;
    let mut out = vec![
        ("Input".to_string(), i.path.clone()),
        ("Format".into(), format!("{:?}", i.format).to_lowercase()),
        (
            "Rows".into(),
            format!("{} read, {} used", i.rows, i.rows_used),
        ),
        (
            "Input SHA-256".into(),
            i.sha256
                .clone()
                .unwrap_or_else(|| "— (standard input)".into()),
        ),
    ];
    match &i.spec {
        Some(s) => {
            out.push(("Spec".into(), s.path.clone()));
            out.push(("Spec SHA-256".into(), s.sha256.clone()));
        }
        None => out.push(("Spec".into(), "— (command-line flags only)".into())),
    }
    out.push(("Tool".into(), format!("{} {}", r.tool.name, r.tool.version)));
    out.push(("Report schema".into(), r.schema_version.to_string()));
    if let Some(t) = generated_at {
        out.push(("Time of the run".into(), t.to_string()));
    }
    out
}
