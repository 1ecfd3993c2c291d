//! Seeded, stratified bootstrap on the per-cell sufficient statistics.
//!
//! A replicate redraws every cell's rows, not by re-reading them but from the cell's confusion
//! counts: with n rows of which c_TP, c_FP, c_TN, c_FN fall in each confusion cell, the
//! replicate's counts are
//!
//! ```text
//! (x_TP, x_FP, x_TN, x_FN) ~ Multinomial(n; c_TP/n, c_FP/n, c_TN/n, c_FN/n)
//! ```
//!
//! which is exactly the distribution of the confusion counts of n rows drawn with replacement
//! from the cell. Sampling is stratified by cell (the finest partition of the protected
//! columns): every cell, hence every group of every attribute and intersection, keeps its row
//! count, so a rare group never vanishes from a replicate and the groups compared (those at or
//! above the minimum size) are the same in every replicate. With weights, a redrawn row of a
//! confusion cell carries that cell's mean weight w̄ = W/c (and mean squared weight), which
//! ignores the spread of weights within a confusion cell of a cell.
//!
//! The cost of a replicate is O(cells), independent of the number of rows: 3 binomial draws
//! per cell, then the metrics, recomputed by the same pure functions as the audit
//! ([`rates::rate_metrics`], [`disparity::disparities`], [`summary::summary`]).
//!
//! Score-based metrics (mean score, Brier, log loss, ECE, MCE, AUC, BPSN/BNSP AUC) are
//! redrawn separately, from the per-cell score distributions ([`super::score_bootstrap`]): no
//! metric depends on both the decision and the score, so each metric's replicates have the
//! distribution of a joint redraw, and every interval is a marginal one.
//!
//! Determinism: replicate r draws from `ChaCha8Rng::seed_from_u64(seed)` on stream r, and
//! cells are visited in key order, so a replicate's values depend on (seed, r) only; the
//! replicates run in parallel (rayon) and are collected in order, so results are identical
//! for any number of threads.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use rayon::prelude::*;

use crate::aggregate::{CellKey, CellTable, Confusion, GroupStats, Sum};
use crate::metrics::disparity::{self, Disparity};
use crate::metrics::{inequality, rates, summary, Metrics};

use super::score_bootstrap::{Draw, ScoreDesign};

/// How one attribute (or intersection) is compared in every replicate.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDesign {
    /// Positions of its columns among the protected columns (as [`CellTable::roll_up`] takes).
    pub positions: Vec<usize>,
    /// The reference group's key, if the attribute has one.
    pub reference: Option<CellKey>,
    /// Keys of the groups in the between-group summary (those not below the minimum size).
    pub compared: Vec<CellKey>,
}

/// The rate-based results of one data set (observed or a replicate).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Rate metrics over all rows, plus the whole-dataset inequality indices.
    pub overall: Metrics,
    /// Per attribute, in design order.
    pub attributes: Vec<AttributeOutcome>,
}

/// One attribute's results.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeOutcome {
    /// Rate metrics and disparities (empty without a reference) per group, in key order (the
    /// order of the report's groups).
    pub groups: Vec<(Metrics, BTreeMap<String, Disparity>)>,
    /// Between-group summary of the compared groups.
    pub summary: Metrics,
}

/// Where one bootstrapped statistic lives in an [`Outcome`].
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// `overall.metrics[key]`.
    Overall(String),
    /// A group's metric.
    GroupMetric {
        /// Attribute index.
        attribute: usize,
        /// Group index, in key order.
        group: usize,
        /// Metric key.
        key: String,
    },
    /// A group's disparity: `part` is `ratio`, `difference`, or `None` for a single value.
    Disparity {
        /// Attribute index.
        attribute: usize,
        /// Group index, in key order.
        group: usize,
        /// Disparity key.
        key: String,
        /// `Some("ratio" | "difference")` for a pair.
        part: Option<&'static str>,
    },
    /// An attribute's summary value.
    Summary {
        /// Attribute index.
        attribute: usize,
        /// Summary key.
        key: String,
    },
}

impl Outcome {
    /// The value at `slot`, if defined.
    pub fn get(&self, slot: &Slot) -> Option<f64> {
        match slot {
            Slot::Overall(key) => self.overall.get(key)?.value,
            Slot::GroupMetric {
                attribute,
                group,
                key,
            } => {
                self.attributes[*attribute]
                    .groups
                    .get(*group)?
                    .0
                    .get(key)?
                    .value
            }
            Slot::Disparity {
                attribute,
                group,
                key,
                part,
            } => {
                let d = self.attributes[*attribute].groups.get(*group)?.1.get(key)?;
                match (d, part) {
                    (Disparity::Pair(p), Some("ratio")) => p.ratio.value,
                    (Disparity::Pair(p), Some(_)) => p.difference.value,
                    (Disparity::Single(v), None) => v.value,
                    _ => None,
                }
            }
            Slot::Summary { attribute, key } => self.attributes[*attribute].summary.get(key)?.value,
        }
    }
}

/// The rate-based results of `table` under `design`: the same functions as the audit, on the
/// confusion counts only.
pub fn evaluate(table: &CellTable, design: &[AttributeDesign]) -> Outcome {
    evaluate_with(table, design, None)
}

/// [`evaluate`], plus the score metrics of `scores` (a design and one draw of it): they join
/// the rate metrics before disparities and summaries are formed, so those cover them too.
pub fn evaluate_with(
    table: &CellTable,
    design: &[AttributeDesign],
    scores: Option<(&ScoreDesign, &Draw)>,
) -> Outcome {
    let total = table.total();
    let mut overall = rates::rate_metrics(
        &total,
        total.weighted.tp.value() + total.weighted.fp.value(),
    );
    let mut scores = scores.map(|(sd, draw)| sd.evaluate(draw));
    if let Some(s) = scores.as_mut() {
        overall.append(&mut s.overall);
    }
    let benefits = inequality::benefits(&total.weighted.value());
    overall.insert("theil_index".into(), inequality::theil_index(&benefits));
    overall.insert(
        "generalized_entropy_index".into(),
        inequality::generalized_entropy_index(&benefits),
    );
    overall.insert(
        "coefficient_of_variation".into(),
        inequality::coefficient_of_variation(&benefits),
    );
    let attributes = design
        .iter()
        .enumerate()
        .map(|(a, d)| {
            let groups = table.roll_up(&d.positions);
            let mut score_metrics =
                (scores.as_mut()).map(|s| std::mem::take(&mut s.attributes[a]).into_iter());
            let pp: f64 = (groups.values())
                .map(|g| g.weighted.tp.value() + g.weighted.fp.value())
                .sum();
            let metrics: BTreeMap<&CellKey, Metrics> = groups
                .iter()
                .map(|(k, g)| {
                    let mut m = rates::rate_metrics(g, pp);
                    if let Some(s) = score_metrics.as_mut().and_then(Iterator::next) {
                        m.extend(s);
                    }
                    (k, m)
                })
                .collect();
            let reference = d.reference.as_ref().and_then(|r| metrics.get(r));
            let compared: Vec<(&Metrics, Confusion<f64>)> = d
                .compared
                .iter()
                .filter_map(|k| Some((metrics.get(k)?, groups.get(k)?.weighted.value())))
                .collect();
            let summary = summary::summary(&compared, metrics.values().next(), &overall);
            let groups = metrics
                .values()
                .map(|m| {
                    let disparities = reference
                        .map(|r| disparity::disparities(m, r))
                        .unwrap_or_default();
                    (m.clone(), disparities)
                })
                .collect();
            AttributeOutcome { groups, summary }
        })
        .collect();
    Outcome {
        overall,
        attributes,
    }
}

/// One replicate of `table`: every cell's confusion counts redrawn (module docs); scores are
/// not carried.
pub fn resample(table: &CellTable, rng: &mut ChaCha8Rng) -> CellTable {
    let cells = table
        .cells
        .iter()
        .map(|(key, stats)| (key.clone(), resample_cell(stats, rng)))
        .collect();
    CellTable { cells }
}

fn resample_cell(stats: &GroupStats, rng: &mut ChaCha8Rng) -> GroupStats {
    let c = stats.counts;
    let x = multinomial([c.tp, c.fp, c.tn, c.fn_].into_iter(), rng);
    let drawn = Confusion {
        tp: x[0],
        fp: x[1],
        tn: x[2],
        fn_: x[3],
    };
    // Each redrawn row carries its confusion cell's mean weight (mean squared weight).
    let scale = |x: u64, count: u64, sum: f64| {
        if count == 0 {
            0.0
        } else {
            x as f64 * (sum / count as f64)
        }
    };
    let scaled = |s: &Confusion<Sum>| {
        let s = s.value();
        Confusion {
            tp: scale(x[0], c.tp, s.tp),
            fp: scale(x[1], c.fp, s.fp),
            tn: scale(x[2], c.tn, s.tn),
            fn_: scale(x[3], c.fn_, s.fn_),
        }
        .into()
    };
    GroupStats {
        rows: stats.rows,
        counts: drawn,
        weighted: scaled(&stats.weighted),
        weighted_sq: scaled(&stats.weighted_sq),
        ..GroupStats::default()
    }
}

/// A Multinomial(Σc; c/Σc) draw, by conditional binomials:
/// x_i ~ Binomial(Σc − Σ_{j<i} x_j, c_i / Σ_{j≥i} c_j). Also the score bootstrap's draw.
pub(super) fn multinomial(
    counts: impl Iterator<Item = u64> + Clone,
    rng: &mut ChaCha8Rng,
) -> Vec<u64> {
    multinomial_of(counts.clone().sum(), counts, rng)
}

/// A Multinomial(n; c/Σc) draw of `n` rows over categories of counts c, by the same
/// conditional binomials as [`multinomial`] (which is n = Σc).
pub(super) fn multinomial_of(
    n: u64,
    counts: impl Iterator<Item = u64> + Clone,
    rng: &mut ChaCha8Rng,
) -> Vec<u64> {
    let mut left_n = n;
    let mut left_c: u64 = counts.clone().sum();
    let mut out = Vec::with_capacity(counts.size_hint().0);
    for c in counts {
        let x = if left_n == 0 || c == 0 {
            0
        } else if c == left_c {
            left_n
        } else {
            Binomial::new(left_n, c as f64 / left_c as f64)
                .expect("0 < p < 1 by construction")
                .sample(rng)
        };
        out.push(x);
        left_n -= x;
        left_c -= c;
    }
    out
}

/// The values at `slots` in `replicates` bootstrap replicates of `table`: one row per
/// replicate, in replicate order; `None` where a statistic is undefined in a replicate. With
/// `scores`, the score metrics are redrawn too ([`super::score_bootstrap`]), from stream
/// 2³² + r of the same seed.
///
/// Runs on the current rayon pool; the result does not depend on its size.
pub fn replicate_values(
    table: &CellTable,
    design: &[AttributeDesign],
    scores: Option<&ScoreDesign>,
    slots: &[Slot],
    replicates: u32,
    seed: u64,
) -> Vec<Vec<Option<f64>>> {
    (0..replicates)
        .into_par_iter()
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(u64::from(r));
            let cells = resample(table, &mut rng);
            let draw = scores.map(|sd| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream((1 << 32) | u64::from(r));
                sd.draw(&mut rng)
            });
            let outcome = evaluate_with(&cells, design, scores.zip(draw.as_ref()));
            slots.iter().map(|s| outcome.get(s)).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(tp: u64, fp: u64, tn: u64, fn_: u64) -> GroupStats {
        let mut g = GroupStats::default();
        for (n, y, d) in [
            (tp, true, true),
            (fp, false, true),
            (tn, false, false),
            (fn_, true, false),
        ] {
            for _ in 0..n {
                g.push(y, d, None, 1.0);
            }
        }
        g
    }

    fn table() -> CellTable {
        let key = |s: &str| vec![Some(s.to_string())];
        CellTable {
            cells: [
                (key("a"), cell(30, 10, 50, 10)),
                (key("b"), cell(5, 1, 3, 1)),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn multinomial_keeps_the_size_and_empty_cells_stay_empty() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let x = multinomial([5, 0, 15, 0].into_iter(), &mut rng);
            assert_eq!(x.iter().sum::<u64>(), 20);
            assert_eq!((x[1], x[3]), (0, 0));
        }
        assert_eq!(
            multinomial([0, 0, 0, 7].into_iter(), &mut rng),
            [0, 0, 0, 7]
        );
    }

    #[test]
    fn resampling_is_stratified_by_cell() {
        let t = table();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let r = resample(&t, &mut rng);
        for (key, stats) in &r.cells {
            let c = stats.counts;
            assert_eq!(c.tp + c.fp + c.tn + c.fn_, t.cells[key].rows);
            // Unweighted: weights equal counts.
            assert_eq!(stats.weighted.tp.value(), c.tp as f64);
            assert_eq!(stats.weighted_sq.fn_.value(), c.fn_ as f64);
        }
    }

    #[test]
    fn weighted_rows_carry_their_mean_weight() {
        let mut g = GroupStats::default();
        g.push(true, true, None, 2.0);
        g.push(true, true, None, 4.0); // TP: mean weight 3, mean squared weight 10
        let t = CellTable {
            cells: [(vec![None], g)].into_iter().collect(),
        };
        let r = resample(&t, &mut ChaCha8Rng::seed_from_u64(0));
        let s = &r.cells[&vec![None]];
        assert_eq!(
            (s.weighted.tp.value(), s.weighted_sq.tp.value()),
            (6.0, 20.0)
        );
    }

    #[test]
    fn replicates_depend_on_the_seed_only() {
        let t = table();
        let design = [AttributeDesign {
            positions: vec![0],
            reference: Some(vec![Some("a".into())]),
            compared: vec![vec![Some("a".into())], vec![Some("b".into())]],
        }];
        let slots = [
            Slot::Disparity {
                attribute: 0,
                group: 1,
                key: "selection_rate".into(),
                part: Some("difference"),
            },
            Slot::Summary {
                attribute: 0,
                key: "demographic_parity_ratio".into(),
            },
            Slot::Overall("accuracy".into()),
        ];
        let a = replicate_values(&t, &design, None, &slots, 50, 11);
        let b = replicate_values(&t, &design, None, &slots, 50, 11);
        let c = replicate_values(&t, &design, None, &slots, 50, 12);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 50);
        assert!(a.iter().all(|row| row.iter().all(Option::is_some)));
        // The observed values through the same slots.
        let observed = evaluate(&t, &design);
        // b: selection 0.6, a: 0.4
        let d = observed.get(&slots[0]).unwrap();
        assert!((d - 0.2).abs() < 1e-15);
    }
}
