//! Property tests of the engine's invariants (proptest):
//! - merging the statistics of any split of the rows equals the statistics of all rows;
//! - results do not change when rows are permuted;
//! - rates lie in [0, 1]; between-group differences are ≥ 0, and 0 (ratio 1) for identical groups.

use std::collections::BTreeMap;

use fairaudit::aggregate::{aggregate_batch, Aggregate, AggregateOptions, CellTable, GroupStats};
use fairaudit::audit::build_report;
use fairaudit::input::{Batch, Categorical};
use fairaudit::metrics::rates::RATE_METRICS;
use fairaudit::report::AuditReport;
use fairaudit::spec::{Audit, AuditSpec};
use proptest::prelude::*;

const OPTS: AggregateOptions = AggregateOptions { bins: 10 };

/// A row: label, decision, score (k/20), group (0..3, 3 = missing), second attribute (0..2).
type Row = (bool, bool, u8, u8, u8);

fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(
        (any::<bool>(), any::<bool>(), 0u8..=20, 0u8..4, 0u8..2),
        0..200,
    )
}

fn categorical(values: impl Iterator<Item = Option<String>>) -> Categorical {
    let mut c = Categorical::default();
    for v in values {
        let code = c.levels.iter().position(|l| *l == v).unwrap_or_else(|| {
            c.levels.push(v);
            c.levels.len() - 1
        });
        c.codes.push(code as u32);
    }
    c
}

fn batch(rows: &[Row]) -> Batch {
    let group = |g: u8| (g < 3).then(|| ["a", "b", "c"][g as usize].to_string());
    Batch {
        label: rows.iter().map(|r| r.0).collect(),
        prediction: rows.iter().map(|r| r.1).collect(),
        score: Some(rows.iter().map(|r| f64::from(r.2) / 20.0).collect()),
        weight: None,
        protected: vec![
            categorical(rows.iter().map(|r| group(r.3))),
            categorical(rows.iter().map(|r| Some(format!("s{}", r.4)))),
        ],
        skipped: BTreeMap::new(),
        outcomes: None,
    }
}

fn audit() -> Audit {
    let spec: AuditSpec = toml::from_str(
        r#"
        [data]
        path = "memory.csv"
        [columns]
        label = "y"
        score = "s"
        [audit]
        protected = ["g", "s"]
        intersections = [["g", "s"]]
        min_group_size = 0
        "#,
    )
    .unwrap();
    spec.check("test").unwrap()
}

fn report(table: CellTable) -> AuditReport {
    let rows = table.total().rows;
    let agg = Aggregate {
        table,
        rows_read: rows,
        skipped: BTreeMap::new(),
    };
    build_report(&audit(), &agg, None, None).unwrap()
}

/// Float sums depend on the order of additions, so statistics are equal up to rounding.
fn assert_close(a: &GroupStats, b: &GroupStats) {
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.counts, b.counts);
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * (1.0 + x.abs().max(y.abs()));
    assert!(
        close(a.weighted.tp.value(), b.weighted.tp.value())
            && close(a.weighted.fn_.value(), b.weighted.fn_.value())
    );
    assert!(close(a.score.sum_score.value(), b.score.sum_score.value()));
    assert!(close(
        a.score.sum_squared_error.value(),
        b.score.sum_squared_error.value()
    ));
    assert!(close(
        a.score.sum_log_loss.value(),
        b.score.sum_log_loss.value()
    ));
    assert_eq!(a.score.bins.len(), b.score.bins.len());
    for (x, y) in a.score.bins.iter().zip(&b.score.bins) {
        assert_eq!(x.rows, y.rows);
        assert!(
            close(x.sum_score.value(), y.sum_score.value())
                && close(x.sum_label.value(), y.sum_label.value())
        );
    }
    assert_eq!(a.score.distribution.sorted(), b.score.distribution.sorted());
}

fn assert_tables_close(a: &CellTable, b: &CellTable) {
    assert_eq!(
        a.cells.keys().collect::<Vec<_>>(),
        b.cells.keys().collect::<Vec<_>>()
    );
    for (x, y) in a.cells.values().zip(b.cells.values()) {
        assert_close(x, y);
    }
}

/// Every defined number of two reports agrees to 1e-12.
fn assert_reports_close(a: &AuditReport, b: &AuditReport) {
    let (ja, jb) = (
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
    );
    fn walk(x: &serde_json::Value, y: &serde_json::Value, path: &str) {
        use serde_json::Value::*;
        match (x, y) {
            (Number(p), Number(q)) => {
                let (p, q) = (p.as_f64().unwrap(), q.as_f64().unwrap());
                assert!(
                    (p - q).abs() <= 1e-12 * (1.0 + p.abs()),
                    "{path}: {p} vs {q}"
                );
            }
            (Array(p), Array(q)) => {
                assert_eq!(p.len(), q.len(), "{path}");
                for (i, (p, q)) in p.iter().zip(q).enumerate() {
                    walk(p, q, &format!("{path}[{i}]"));
                }
            }
            (Object(p), Object(q)) => {
                assert_eq!(
                    p.keys().collect::<Vec<_>>(),
                    q.keys().collect::<Vec<_>>(),
                    "{path}"
                );
                for (k, v) in p {
                    walk(v, &q[k], &format!("{path}.{k}"));
                }
            }
            _ => assert_eq!(x, y, "{path}"),
        }
    }
    walk(&ja, &jb, "");
}

proptest! {
    #[test]
    fn merging_any_split_equals_the_whole(rows in rows(), cut in 0usize..200) {
        let cut = cut.min(rows.len());
        let whole = aggregate_batch(&batch(&rows), OPTS);
        let mut merged = aggregate_batch(&batch(&rows[..cut]), OPTS);
        merged.merge(aggregate_batch(&batch(&rows[cut..]), OPTS));
        assert_tables_close(&merged, &whole);
        // Merging is commutative too.
        let mut other_way = aggregate_batch(&batch(&rows[cut..]), OPTS);
        other_way.merge(aggregate_batch(&batch(&rows[..cut]), OPTS));
        assert_tables_close(&other_way, &whole);
    }

    #[test]
    fn results_do_not_depend_on_row_order(
        rows in rows(),
        seed in any::<u64>(),
    ) {
        let mut shuffled = rows.clone();
        // Fisher–Yates with a small LCG keyed by `seed`.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        let a = report(aggregate_batch(&batch(&rows), OPTS));
        let b = report(aggregate_batch(&batch(&shuffled), OPTS));
        assert_reports_close(&a, &b);
    }

    #[test]
    fn rates_are_in_unit_interval_and_differences_non_negative(rows in rows()) {
        let r = report(aggregate_batch(&batch(&rows), OPTS));
        for a in &r.attributes {
            for g in &a.groups {
                for key in RATE_METRICS {
                    if let Some(x) = g.metrics[key].value {
                        prop_assert!((0.0..=1.0).contains(&x), "{key} = {x}");
                    } else {
                        prop_assert!(g.metrics[key].reason.is_some());
                    }
                }
            }
            for (key, v) in &a.summary {
                if key.ends_with("_difference") || key.ends_with("_difference_to_overall") {
                    if let Some(x) = v.value {
                        prop_assert!(x >= 0.0, "{key} = {x}");
                    }
                }
            }
        }
    }

    #[test]
    fn identical_groups_have_no_disparity(rows in rows()) {
        prop_assume!(!rows.is_empty());
        // The same rows once as group "a" and once as group "b".
        let twice: Vec<Row> = rows.iter().map(|r| (r.0, r.1, r.2, 0, 0))
            .chain(rows.iter().map(|r| (r.0, r.1, r.2, 1, 0)))
            .collect();
        let r = report(aggregate_batch(&batch(&twice), OPTS));
        let g = &r.attributes[0];
        for key in ["selection_rate", "tpr", "fpr", "accuracy", "brier", "ece"] {
            if let Some(d) = g.summary[&format!("{key}_difference")].value {
                prop_assert_eq!(d, 0.0);
            }
            if let Some(ratio) = g.summary[&format!("{key}_ratio")].value {
                prop_assert_eq!(ratio, 1.0);
            }
        }
    }

    #[test]
    fn calibration_bin_counts_sum_to_n(rows in rows()) {
        let t = aggregate_batch(&batch(&rows), OPTS).total();
        prop_assert_eq!(t.score.bins.iter().map(|b| b.rows).sum::<u64>(), t.rows);
    }
}
