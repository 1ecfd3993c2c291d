//! The one shared sample report every renderer test uses (the ruff/hyperfine pattern): two
//! attributes and their intersection, a group below the minimum size, confidence intervals on
//! some values, calibration tables and ROC points, and policies of every kind and outcome.

use std::collections::BTreeMap;

use fairaudit::aggregate::Confusion;
use fairaudit::input::Format;
use fairaudit::metrics::{disparity, Metrics, Value};
use fairaudit::report::{
    AttributeReport, AuditOptions, AuditReport, Calibration, CalibrationBin, ColumnsInfo,
    GroupReport, InputInfo, OnInsufficient, Overall, PolicyResult, PolicyStatus, RocPoint,
    SpecInfo, Status, Tool, SCHEMA_VERSION,
};

/// Minimum group size of the sample.
pub const K: u64 = 30;

fn value(x: f64) -> Value {
    Value::defined(x)
}

fn with_ci(x: f64, half: f64) -> Value {
    Value {
        ci: Some([x - half, x + half]),
        ..Value::defined(x)
    }
}

/// Metrics of a confusion matrix (the sample's own arithmetic, not the engine's).
fn metrics(c: Confusion<u64>, ece: f64, ci: bool) -> Metrics {
    let (tp, fp, tn, fn_) = (c.tp as f64, c.fp as f64, c.tn as f64, c.fn_ as f64);
    let n = tp + fp + tn + fn_;
    let v = |x: f64| {
        if ci {
            with_ci(x, 0.04)
        } else {
            value(x)
        }
    };
    let mut m = Metrics::new();
    m.insert("selection_rate".into(), v((tp + fp) / n));
    m.insert("base_rate".into(), value((tp + fn_) / n));
    m.insert("tpr".into(), v(tp / (tp + fn_)));
    m.insert("fpr".into(), v(fp / (fp + tn)));
    m.insert("precision".into(), value(tp / (tp + fp)));
    m.insert("accuracy".into(), value((tp + tn) / n));
    m.insert("ece".into(), value(ece));
    m
}

fn calibration(shift: f64) -> Calibration {
    let bins = (0..5)
        .map(|b| {
            let lo = b as f64 / 5.0;
            let mid = lo + 0.1;
            CalibrationBin {
                lo,
                hi: lo + 0.2,
                count: [10, 30, 40, 25, 15][b],
                weight: [10.0, 30.0, 40.0, 25.0, 15.0][b],
                mean_score: Some(mid),
                observed_rate: Some((mid + shift).clamp(0.0, 1.0)),
            }
        })
        .collect();
    let roc = [0.0, 0.1, 0.3, 0.6, 1.0]
        .iter()
        .enumerate()
        .map(|(i, &fpr)| RocPoint {
            threshold: 1.0 - i as f64 / 4.0,
            fpr,
            tpr: (fpr + shift.abs() + 0.3).min(1.0) * (i > 0) as u8 as f64,
        })
        .collect();
    Calibration {
        binning: "uniform".into(),
        bins,
        roc,
        auc_method: "exact".into(),
        auc_error_bound: 0.0,
    }
}

fn group(value: &str, c: Confusion<u64>, ece: f64, ci: bool, k: u64) -> GroupReport {
    let count = c.tp + c.fp + c.tn + c.fn_;
    GroupReport {
        value: value.into(),
        count,
        insufficient_data: count < k,
        counts: c,
        metrics: metrics(c, ece, ci),
        disparities: BTreeMap::new(),
        calibration: Some(calibration(ece - 0.05)),
        uncertainty: Default::default(),
        outcome: None,
    }
}

fn conf(tp: u64, fp: u64, tn: u64, fn_: u64) -> Confusion<u64> {
    Confusion { tp, fp, tn, fn_ }
}

fn attribute(
    name: &str,
    columns: &[&str],
    reference: &str,
    demographic_parity_ratio: f64,
    mut groups: Vec<GroupReport>,
) -> AttributeReport {
    let r = groups
        .iter()
        .find(|g| g.value == reference)
        .unwrap()
        .metrics
        .clone();
    for g in &mut groups {
        g.disparities = disparity::disparities(&g.metrics, &r);
    }
    let mut summary = Metrics::new();
    summary.insert(
        "demographic_parity_ratio".into(),
        with_ci(demographic_parity_ratio, 0.05),
    );
    summary.insert("equalized_odds_difference".into(), value(0.18));
    AttributeReport {
        name: name.into(),
        columns: columns.iter().map(|s| s.to_string()).collect(),
        reference: Some(reference.into()),
        reference_rule: "largest_group".into(),
        excluded_groups: groups
            .iter()
            .filter(|g| g.insufficient_data)
            .map(|g| g.value.clone())
            .collect(),
        groups,
        summary,
    }
}

#[allow(clippy::too_many_arguments)] // a table row, read as one
fn policy(
    id: &str,
    expression: &str,
    metric: &str,
    attribute: Option<&str>,
    group: Option<&str>,
    observed: Option<f64>,
    bound: &str,
    status: PolicyStatus,
    on_insufficient: OnInsufficient,
) -> PolicyResult {
    PolicyResult {
        id: id.into(),
        expression: expression.into(),
        description: Some(format!("Sample policy {id}.")),
        metric: metric.into(),
        attribute: attribute.map(str::to_string),
        group: group.map(str::to_string),
        observed,
        bound: bound.into(),
        status,
        on_insufficient,
        reason: (status == PolicyStatus::InsufficientData)
            .then(|| "group of race has 12 rows, below the minimum group size".to_string()),
        baseline: None,
        candidate: None,
        uncertainty: Default::default(),
    }
}

/// The shared sample report.
pub fn sample_report() -> AuditReport {
    let sex = attribute(
        "sex",
        &["sex"],
        "male",
        0.62,
        vec![
            group("female", conf(60, 20, 300, 80), 0.03, true, K),
            group("male", conf(140, 60, 280, 60), 0.04, true, K),
        ],
    );
    let race = attribute(
        "race",
        &["race"],
        "white",
        0.91,
        vec![
            group("black", conf(50, 25, 200, 55), 0.08, false, K),
            group("tiny", conf(4, 2, 5, 1), 0.2, false, K),
            group("white", conf(146, 53, 375, 84), 0.02, false, K),
        ],
    );
    let both = attribute(
        "sex & race",
        &["sex", "race"],
        "male & white",
        0.45,
        vec![
            group("female & black", conf(20, 8, 110, 32), 0.09, false, K),
            group("female & white", conf(40, 12, 185, 48), 0.03, false, K),
            group("male & black", conf(30, 17, 90, 23), 0.07, false, K),
            group("male & tiny", conf(4, 2, 5, 1), 0.2, false, K),
            group("male & white", conf(106, 41, 190, 36), 0.02, false, K),
        ],
    );
    use OnInsufficient::{Fail, Warn};
    use PolicyStatus::{Fail as F, InsufficientData as I, Pass as P};
    let dp = "demographic_parity_ratio >= 0.8";
    let ece = "ece on race <= 0.05";
    let fpr = "fpr.ratio on sex & race in [0.8, 1.25]";
    let policies = vec![
        policy(
            "four-fifths",
            dp,
            "demographic_parity_ratio",
            Some("sex"),
            None,
            Some(0.62),
            ">= 0.8",
            F,
            Fail,
        ),
        policy(
            "four-fifths",
            dp,
            "demographic_parity_ratio",
            Some("race"),
            None,
            Some(0.91),
            ">= 0.8",
            P,
            Fail,
        ),
        policy(
            "calibration",
            ece,
            "ece",
            Some("race"),
            Some("black"),
            Some(0.08),
            "<= 0.05",
            F,
            Fail,
        ),
        policy(
            "calibration",
            ece,
            "ece",
            Some("race"),
            Some("tiny"),
            None,
            "<= 0.05",
            I,
            Fail,
        ),
        policy(
            "calibration",
            ece,
            "ece",
            Some("race"),
            Some("white"),
            Some(0.02),
            "<= 0.05",
            P,
            Fail,
        ),
        policy(
            "fpr-parity",
            fpr,
            "fpr.ratio",
            Some("sex & race"),
            Some("female & black"),
            Some(0.41),
            "in [0.8, 1.25]",
            F,
            Warn,
        ),
        policy(
            "fpr-parity",
            fpr,
            "fpr.ratio",
            Some("sex & race"),
            Some("male & tiny"),
            None,
            "in [0.8, 1.25]",
            I,
            Warn,
        ),
    ];
    let total = conf(200, 80, 580, 140);
    AuditReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "fairaudit".into(),
            version: "0.0.0-sample".into(),
        },
        status: Status::Fail,
        input: InputInfo {
            path: "fixtures/sample.csv".into(),
            format: Format::Csv,
            rows: 1000,
            rows_used: 1000,
            skipped: BTreeMap::new(),
            sha256: Some("ab".repeat(32)),
            spec: Some(SpecInfo {
                path: "audits/sample.toml".into(),
                sha256: "cd".repeat(32),
            }),
            columns: ColumnsInfo {
                label: "label".into(),
                score: Some("score".into()),
                prediction: None,
                weight: None,
                positive_label: None,
                task: Default::default(),
                favorable: Vec::new(),
            },
        },
        threshold: 0.5,
        options: AuditOptions {
            min_group_size: K,
            bins: 5,
            invalid_rows: "error".into(),
            uncertainty: Default::default(),
            quantile: None,
        },
        overall: Overall {
            count: 1000,
            counts: total,
            metrics: metrics(total, 0.03, false),
            calibration: Some(calibration(-0.02)),
        },
        attributes: vec![sex, race, both],
        policies,
        comparison: None,
        provenance: fairaudit::report::Provenance::default(),
        warnings: Vec::new(),
    }
}

/// The sample with hostile names: markup, table pipes, a CDATA terminator, quotes.
pub fn hostile_report() -> AuditReport {
    let mut r = sample_report();
    let names = [
        ("black", "<script>alert(1)</script>"),
        ("white", "|a|b|"),
        ("tiny", "]]>"),
    ];
    let rename = |s: &mut String| {
        for (from, to) in names {
            *s = s.replace(from, to);
        }
    };
    r.attributes[1].name = "\"race\" & 'origin'".into();
    for a in &mut r.attributes {
        for g in &mut a.groups {
            rename(&mut g.value);
        }
        if let Some(reference) = &mut a.reference {
            rename(reference);
        }
        for e in &mut a.excluded_groups {
            rename(e);
        }
    }
    for p in &mut r.policies {
        if let Some(g) = &mut p.group {
            rename(g);
        }
        if p.attribute.as_deref() == Some("race") {
            p.attribute = Some(r.attributes[1].name.clone());
        }
    }
    r
}
