//! Bootstrap draws of multiclass confusion matrices (issue 11), for percentile intervals of
//! the multiclass disparities and summaries.
//!
//! As for binary audits ([`super::bootstrap`]), each cell's matrix is redrawn from a
//! multinomial with the cell's own proportions, stratified by cell, so every group keeps its
//! size; an entry's drawn rows carry its mean weight and mean squared weight. Rows are never
//! re-read: a replicate costs O(cells × non-empty entries). Replicate r draws from
//! `ChaCha8Rng::seed_from_u64(seed)` on stream r, so results depend on the seed only.
//!
//! With class score columns ([`resample_scores`]), the scores are redrawn too, stratified by
//! cell and true class: the drawn matrix fixes n*_l rows of true class l, and each score
//! column's distribution over the rows of class l is redrawn as Multinomial(n*_l; its kept
//! values' rows), a value's drawn rows carrying its mean weight. For one column this is the
//! row-level bootstrap stratified by (cell, true class), so `auc@c` (one column), `log_loss`
//! (column l on the rows of class l only), `ece@c` and `mce@c` are redrawn as a row bootstrap
//! would. Columns are redrawn independently of each other, which drops the covariance of one
//! row's scores across columns: `brier`, a sum over columns, gets an approximate interval.
//! The scores use their own stream (2^63 + r), so the matrix draws are those without scores.

use std::collections::BTreeMap;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::aggregate::multiclass::{ClassConfusion, Entry};
use crate::aggregate::regression::Mass;
use crate::aggregate::CellKey;

use super::bootstrap::multinomial_of;

/// The random generator of replicate `r`.
pub fn replicate_rng(seed: u64, r: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r);
    rng
}

/// One draw of a cell's matrix: Multinomial(rows; entry rows / rows) by conditional binomials.
pub fn resample(m: &ClassConfusion, rng: &mut ChaCha8Rng) -> ClassConfusion {
    // The entries' rows add up to the matrix's rows.
    let drawn = super::bootstrap::multinomial(m.entries.values().map(|e| e.rows), rng);
    let entries = (m.entries.iter().zip(drawn))
        .map(|((k, e), x)| {
            let per_row = |s: f64| if e.rows > 0 { s / e.rows as f64 } else { 0.0 };
            let drawn = Entry {
                rows: x,
                weight: x as f64 * per_row(e.weight),
                weight_sq: x as f64 * per_row(e.weight_sq),
            };
            (k.clone(), drawn)
        })
        .collect();
    // Scores are redrawn by [`resample_scores`].
    ClassConfusion {
        entries,
        rows: m.rows,
        scores: Vec::new(),
    }
}

/// The scores of a drawn matrix `drawn` of cell `m` (see the module docs).
pub fn resample_scores(m: &ClassConfusion, drawn: &mut ClassConfusion, rng: &mut ChaCha8Rng) {
    let mut label_rows: BTreeMap<&str, u64> = BTreeMap::new();
    for ((l, _), e) in &drawn.entries {
        *label_rows.entry(l.as_str()).or_default() += e.rows;
    }
    drawn.scores = (m.scores.iter())
        .map(|by_label| {
            by_label
                .iter()
                .map(|(label, d)| {
                    let n = label_rows.get(label.as_str()).copied().unwrap_or(0);
                    let points: Vec<Mass> = d.points().map(|(_, mass)| mass).collect();
                    let drawn = multinomial_of(n, points.iter().map(|p| p.rows), rng);
                    let masses: Vec<Mass> = (points.iter().zip(drawn))
                        .map(|(p, x)| Mass {
                            rows: x,
                            weight: x as f64 * p.weight / p.rows.max(1) as f64,
                        })
                        .collect();
                    (label.clone(), d.with_masses(&masses))
                })
                .collect()
        })
        .collect();
}

/// One draw of every cell with its scores, in key order: the matrices from `rng` (as
/// [`resample_cells`]), the scores from `score_rng`.
pub fn resample_cells_with_scores(
    cells: &BTreeMap<CellKey, ClassConfusion>,
    rng: &mut ChaCha8Rng,
    score_rng: &mut ChaCha8Rng,
) -> BTreeMap<CellKey, ClassConfusion> {
    cells
        .iter()
        .map(|(k, m)| {
            let mut d = resample(m, rng);
            resample_scores(m, &mut d, score_rng);
            (k.clone(), d)
        })
        .collect()
}

/// The score stream of replicate `r` (2^63 + r).
pub fn score_rng(seed: u64, r: u64) -> ChaCha8Rng {
    replicate_rng(seed, (1 << 63) | r)
}

/// One draw of every cell, in key order.
pub fn resample_cells(
    cells: &BTreeMap<CellKey, ClassConfusion>,
    rng: &mut ChaCha8Rng,
) -> BTreeMap<CellKey, ClassConfusion> {
    cells
        .iter()
        .map(|(k, m)| (k.clone(), resample(m, rng)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draw_keeps_the_cell_size_and_its_entries() {
        let mut m = ClassConfusion::default();
        for (l, p, w) in [
            ("a", "a", 1.0),
            ("a", "b", 2.0),
            ("b", "b", 1.0),
            ("b", "b", 3.0),
        ] {
            m.push(l, p, w);
        }
        let mut rng = replicate_rng(1, 0);
        for _ in 0..20 {
            let d = resample(&m, &mut rng);
            assert_eq!(d.entries.values().map(|e| e.rows).sum::<u64>(), 4);
            assert!(d.entries.keys().eq(m.entries.keys()));
            // (b, b) rows carry the mean weight 2.
            let bb = d.get("b", "b");
            assert_eq!(bb.weight, 2.0 * bb.rows as f64);
        }
    }

    #[test]
    fn drawn_scores_follow_the_drawn_class_counts() {
        let mut m = ClassConfusion::default();
        for (l, p, s, w) in [
            ("a", "a", 0.9, 1.0),
            ("a", "b", 0.4, 3.0),
            ("b", "b", 0.2, 1.0),
            ("b", "a", 0.6, 1.0),
            ("b", "b", 0.2, 1.0),
        ] {
            m.push(l, p, w);
            m.push_scores(l, [s].into_iter(), w);
        }
        let (mut rng, mut srng) = (replicate_rng(3, 0), score_rng(3, 0));
        for _ in 0..30 {
            let mut d = resample(&m, &mut rng);
            resample_scores(&m, &mut d, &mut srng);
            for label in ["a", "b"] {
                let want: u64 = (d.entries.iter())
                    .filter(|((l, _), _)| l == label)
                    .map(|(_, e)| e.rows)
                    .sum();
                let scores = &d.scores[0][label];
                assert_eq!(scores.points().map(|(_, m)| m.rows).sum::<u64>(), want);
                // A value's rows carry its mean weight: 0.4 has weight 3 per row.
                for (v, mass) in scores.points() {
                    if v == 0.4 {
                        assert_eq!(mass.weight, 3.0 * mass.rows as f64);
                    }
                }
            }
        }
    }
}
