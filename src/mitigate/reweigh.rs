//! Kamiran–Calders reweighing (pre-processing): a weight per (group, label) cell that makes
//! the label statistically independent of the group in the weighted data.
//!
//! W(g, y) = P(g)·P(y) / P(g, y) = (W_g · W_y) / (W · W_gy), with W the sum of the rows'
//! weights (1 each without a weight column). A row's new weight is its weight times its
//! cell's W(g, y) (AIF360 `Reweighing`: `instance_weights * w_cell`). A cell with no rows
//! gets no weight (it has no row to weigh). Kamiran & Calders, "Data preprocessing
//! techniques for classification without discrimination", KAIS 2012.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One (group, label) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The group.
    pub group: String,
    /// The label.
    pub label: bool,
    /// Rows in the cell.
    pub rows: u64,
    /// Σ of the rows' weights in the cell (W_gy).
    pub weight_sum: f64,
    /// W(g, y).
    pub weight: f64,
}

/// Σ weights and rows per (group, label).
pub type CellSums = BTreeMap<(String, bool), (u64, f64)>;

/// The reweighing weight of every non-empty cell, in (group, label) order.
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use fairaudit::mitigate::reweigh::weights;
/// // a: 3 positives of 4 rows; b: 1 positive of 4 rows. P(y=1) = 1/2.
/// let sums = BTreeMap::from([
///     (("a".to_string(), true), (3, 3.0)), (("a".to_string(), false), (1, 1.0)),
///     (("b".to_string(), true), (1, 1.0)), (("b".to_string(), false), (3, 3.0)),
/// ]);
/// let w = weights(&sums);
/// assert_eq!(w[1].weight, 0.5 * 0.5 / (3.0 / 8.0)); // (a, positive): 2/3
/// assert_eq!(w[0].weight, 2.0);                     // (a, negative)
/// ```
pub fn weights(sums: &CellSums) -> Vec<Cell> {
    let total: f64 = sums.values().map(|(_, w)| w).sum();
    let mut by_group: BTreeMap<&str, f64> = BTreeMap::new();
    let mut by_label: BTreeMap<bool, f64> = BTreeMap::new();
    for ((g, y), (_, w)) in sums {
        *by_group.entry(g).or_default() += w;
        *by_label.entry(*y).or_default() += w;
    }
    sums.iter()
        .map(|((g, y), &(rows, w))| Cell {
            group: g.clone(),
            label: *y,
            rows,
            weight_sum: w,
            weight: if w > 0.0 {
                by_group[g.as_str()] * by_label[y] / (total * w)
            } else {
                0.0
            },
        })
        .collect()
}

/// The cells as CSV: `group,label,rows,weight_sum,weight`.
pub fn to_csv(cells: &[Cell]) -> String {
    let mut out = String::from("group,label,rows,weight_sum,weight\n");
    for c in cells {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            csv_field(&c.group),
            u8::from(c.label),
            c.rows,
            c.weight_sum,
            c.weight
        ));
    }
    out
}

/// Per-row weights as CSV `row,weight` (1-based data row, file order): the row's own weight
/// times its cell's W(g, y). `rows` are (index into `names`, label, weight) per row.
pub fn per_row_csv(cells: &[Cell], rows: &[(u32, bool, f64)], names: &[String]) -> String {
    let by_cell: BTreeMap<(&str, bool), f64> = cells
        .iter()
        .map(|c| ((c.group.as_str(), c.label), c.weight))
        .collect();
    let mut out = String::with_capacity(rows.len() * 16 + 16);
    out.push_str("row,weight\n");
    for (i, &(g, y, w)) in rows.iter().enumerate() {
        let cell = by_cell
            .get(&(names[g as usize].as_str(), y))
            .copied()
            .unwrap_or(0.0);
        out.push_str(&format!("{},{}\n", i + 1, w * cell));
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_data_makes_label_independent_of_group() {
        let sums = CellSums::from([
            (("a".into(), true), (5, 5.0)),
            (("a".into(), false), (2, 2.0)),
            (("b".into(), true), (1, 1.5)),
            (("b".into(), false), (4, 4.0)),
        ]);
        let cells = weights(&sums);
        // After reweighing, P(y=1 | g) is the same for every group.
        let rate = |g: &str| {
            let pos: f64 = cells
                .iter()
                .filter(|c| c.group == g && c.label)
                .map(|c| c.weight_sum * c.weight)
                .sum();
            let all: f64 = cells
                .iter()
                .filter(|c| c.group == g)
                .map(|c| c.weight_sum * c.weight)
                .sum();
            pos / all
        };
        assert!((rate("a") - rate("b")).abs() < 1e-12);
        // And the total weight is preserved.
        let total: f64 = cells.iter().map(|c| c.weight_sum * c.weight).sum();
        assert!((total - 12.5).abs() < 1e-12);
    }

    #[test]
    fn per_row_weight_is_the_row_weight_times_its_cell_weight() {
        // a: one positive (w 2), one negative (w 1); b: one negative (w 1).
        let sums = CellSums::from([
            (("a".into(), true), (1, 2.0)),
            (("a".into(), false), (1, 1.0)),
            (("b".into(), false), (1, 1.0)),
        ]);
        let cells = weights(&sums);
        // W = 4; W_a = 3, W_b = 1; W_pos = 2, W_neg = 2.
        // (a, pos): 3·2/(4·2) = 0.75; (a, neg): 3·2/(4·1) = 1.5; (b, neg): 1·2/(4·1) = 0.5.
        let rows = [(0, true, 2.0), (1, false, 1.0), (0, false, 1.0)];
        let names = ["a".to_string(), "b".to_string()];
        assert_eq!(
            per_row_csv(&cells, &rows, &names),
            "row,weight\n1,1.5\n2,0.5\n3,1.5\n"
        );
    }

    #[test]
    fn quotes_groups_with_commas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
    }
}
