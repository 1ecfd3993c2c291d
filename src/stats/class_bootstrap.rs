//! Bootstrap draws of multiclass confusion matrices (issue 11), for percentile intervals of
//! the multiclass disparities and summaries.
//!
//! As for binary audits ([`super::bootstrap`]), each cell's matrix is redrawn from a
//! multinomial with the cell's own proportions, stratified by cell, so every group keeps its
//! size; an entry's drawn rows carry its mean weight and mean squared weight. Rows are never
//! re-read: a replicate costs O(cells × non-empty entries). Replicate r draws from
//! `ChaCha8Rng::seed_from_u64(seed)` on stream r, so results depend on the seed only.

use std::collections::BTreeMap;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

use crate::aggregate::multiclass::{ClassConfusion, Entry};
use crate::aggregate::CellKey;

/// The random generator of replicate `r`.
pub fn replicate_rng(seed: u64, r: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r);
    rng
}

/// One draw of a cell's matrix: Multinomial(rows; entry rows / rows) by conditional binomials.
pub fn resample(m: &ClassConfusion, rng: &mut ChaCha8Rng) -> ClassConfusion {
    let (mut left_n, mut left_c) = (m.rows, m.rows);
    let entries = m
        .entries
        .iter()
        .map(|(k, e)| {
            let x = if left_n == 0 || e.rows == 0 {
                0
            } else if e.rows == left_c {
                left_n
            } else {
                let p = e.rows as f64 / left_c as f64;
                Binomial::new(left_n, p).map_or(0, |b| b.sample(rng))
            };
            left_n -= x;
            left_c -= e.rows;
            let per_row = |s: f64| if e.rows > 0 { s / e.rows as f64 } else { 0.0 };
            let drawn = Entry {
                rows: x,
                weight: x as f64 * per_row(e.weight),
                weight_sq: x as f64 * per_row(e.weight_sq),
            };
            (k.clone(), drawn)
        })
        .collect();
    // Scores are not redrawn (the matrix keeps no per-row scores): the AUCs get no
    // bootstrap interval, as the binary score metrics do not.
    ClassConfusion {
        entries,
        rows: m.rows,
        scores: Vec::new(),
    }
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
}
