//! A small dense two-phase simplex for the threshold optimiser's linear programmes.
//!
//! The programmes are small (a few rows per group, one column per convex-hull vertex of a
//! group's ROC points), so a dense tableau is enough and keeps the crate free of a solver
//! dependency. Dantzig's entering rule, with Bland's rule (smallest index enters and leaves,
//! which never cycles) after a run of degenerate pivots.
//!
//! Problem: maximise `c·x` subject to rows `a·x (≤ | ≥ | =) b`, `x ≥ 0`.

/// The relation of a constraint row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `a·x ≤ b`.
    Le,
    /// `a·x ≥ b`.
    Ge,
    /// `a·x = b`.
    Eq,
}

/// One constraint row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Coefficients, one per variable.
    pub a: Vec<f64>,
    /// The relation.
    pub relation: Relation,
    /// The right-hand side.
    pub b: f64,
}

/// Pivots and reduced costs smaller than this are treated as zero.
const EPS: f64 = 1e-11;

/// Maximise `c·x` over `x ≥ 0` and `rows`; `None` when infeasible or unbounded.
pub fn maximize(c: &[f64], rows: &[Row]) -> Option<Vec<f64>> {
    let n = c.len();
    let m = rows.len();
    // Columns: n originals, one slack/surplus per inequality, one artificial per ≥ / = row.
    let mut extra = 0;
    let mut artificials = 0;
    for r in rows {
        let rel = normalised(r).1;
        if rel != Relation::Eq {
            extra += 1;
        }
        if rel != Relation::Le {
            artificials += 1;
        }
    }
    let first_art = n + extra;
    let cols = first_art + artificials;
    let mut t = vec![vec![0.0; cols + 1]; m];
    let mut basis = vec![0usize; m];
    let (mut s, mut a) = (n, first_art);
    for (i, r) in rows.iter().enumerate() {
        let (sign, rel) = normalised(r);
        for (j, &x) in r.a.iter().enumerate() {
            t[i][j] = sign * x;
        }
        t[i][cols] = sign * r.b;
        match rel {
            Relation::Le => {
                t[i][s] = 1.0;
                basis[i] = s;
                s += 1;
            }
            Relation::Ge => {
                t[i][s] = -1.0;
                s += 1;
                t[i][a] = 1.0;
                basis[i] = a;
                a += 1;
            }
            Relation::Eq => {
                t[i][a] = 1.0;
                basis[i] = a;
                a += 1;
            }
        }
    }
    // Phase 1: maximise −Σ artificials.
    let mut phase1 = vec![0.0; cols];
    for v in phase1.iter_mut().skip(first_art) {
        *v = -1.0;
    }
    let mut d = reduced_costs(&phase1, &t, &basis, cols);
    if !run(&mut t, &mut d, &mut basis, cols) {
        return None;
    }
    if -d[cols] < -1e-9 {
        // The optimum of phase 1 is Σ artificials > 0: infeasible.
        return None;
    }
    // Drive zero-level artificials out of the basis where a real column can replace them.
    for i in 0..m {
        if basis[i] >= first_art {
            if let Some(j) = (0..first_art).find(|&j| t[i][j].abs() > EPS) {
                pivot(&mut t, &mut d, &mut basis, i, j);
            }
        }
    }
    // Phase 2: the real objective; artificials may no longer enter.
    let mut cost = c.to_vec();
    cost.resize(cols, 0.0);
    let mut d = reduced_costs(&cost, &t, &basis, cols);
    for v in d.iter_mut().take(cols).skip(first_art) {
        *v = f64::NEG_INFINITY;
    }
    if !run(&mut t, &mut d, &mut basis, cols) {
        return None;
    }
    let mut x = vec![0.0; n];
    for (i, &b) in basis.iter().enumerate() {
        if b < n {
            x[b] = t[i][cols].max(0.0);
        }
    }
    Some(x)
}

/// The sign that makes `b ≥ 0`, and the relation after multiplying by it.
fn normalised(r: &Row) -> (f64, Relation) {
    if r.b >= 0.0 {
        (1.0, r.relation)
    } else {
        let flipped = match r.relation {
            Relation::Le => Relation::Ge,
            Relation::Ge => Relation::Le,
            Relation::Eq => Relation::Eq,
        };
        (-1.0, flipped)
    }
}

/// `c_j − c_B·B⁻¹A_j` per column, and `−c_B·B⁻¹b` in the last slot.
fn reduced_costs(cost: &[f64], t: &[Vec<f64>], basis: &[usize], cols: usize) -> Vec<f64> {
    let mut d: Vec<f64> = cost.to_vec();
    d.push(0.0);
    for (i, &b) in basis.iter().enumerate() {
        let cb = cost[b];
        if cb != 0.0 {
            for j in 0..=cols {
                d[j] -= cb * t[i][j];
            }
        }
    }
    d
}

/// Degenerate pivots in a row after which the entering rule switches to Bland's.
const STALL: usize = 50;

/// Simplex iterations; false when unbounded. The entering column is the one with the
/// largest reduced cost (Dantzig: few pivots in practice); after [`STALL`] pivots without
/// progress it is the smallest eligible index (Bland: never cycles) until the objective
/// improves again.
fn run(t: &mut [Vec<f64>], d: &mut [f64], basis: &mut [usize], cols: usize) -> bool {
    let mut stalled = 0;
    loop {
        let entering = if stalled >= STALL {
            (0..cols).find(|&j| d[j] > EPS)
        } else {
            (0..cols)
                .filter(|&j| d[j] > EPS)
                .max_by(|&a, &b| d[a].total_cmp(&d[b]).then(b.cmp(&a)))
        };
        let Some(j) = entering else {
            return true;
        };
        let mut best: Option<(usize, f64)> = None;
        for (i, row) in t.iter().enumerate() {
            if row[j] > EPS {
                let ratio = row[cols] / row[j];
                let better = match best {
                    None => true,
                    Some((k, r)) => {
                        ratio < r - 1e-15 || (ratio <= r + 1e-15 && basis[i] < basis[k])
                    }
                };
                if better {
                    best = Some((i, ratio));
                }
            }
        }
        let Some((i, ratio)) = best else {
            return false;
        };
        if ratio * d[j] > 1e-13 {
            stalled = 0;
        } else {
            stalled += 1;
        }
        pivot(t, d, basis, i, j);
    }
}

fn pivot(t: &mut [Vec<f64>], d: &mut [f64], basis: &mut [usize], r: usize, j: usize) {
    let p = t[r][j];
    for x in t[r].iter_mut() {
        *x /= p;
    }
    // Only the pivot row's non-zero entries change other rows.
    let nonzero: Vec<(usize, f64)> = t[r]
        .iter()
        .enumerate()
        .filter(|(_, &y)| y != 0.0)
        .map(|(k, &y)| (k, y))
        .collect();
    for (i, row) in t.iter_mut().enumerate() {
        if i != r && row[j] != 0.0 {
            let f = row[j];
            for &(k, y) in &nonzero {
                row[k] -= f * y;
            }
            row[j] = 0.0;
        }
    }
    let f = d[j];
    if f.is_finite() && f != 0.0 {
        for &(k, y) in &nonzero {
            if d[k].is_finite() {
                d[k] -= f * y;
            }
        }
        d[j] = 0.0;
    }
    basis[r] = j;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(a: &[f64], relation: Relation, b: f64) -> Row {
        Row {
            a: a.to_vec(),
            relation,
            b,
        }
    }

    #[test]
    fn textbook_maximum() {
        // max 3x + 5y, x ≤ 4, 2y ≤ 12, 3x + 2y ≤ 18 → (2, 6), value 36.
        let x = maximize(
            &[3.0, 5.0],
            &[
                row(&[1.0, 0.0], Relation::Le, 4.0),
                row(&[0.0, 2.0], Relation::Le, 12.0),
                row(&[3.0, 2.0], Relation::Le, 18.0),
            ],
        )
        .unwrap();
        assert!((x[0] - 2.0).abs() < 1e-12 && (x[1] - 6.0).abs() < 1e-12);
    }

    #[test]
    fn equality_and_ge_rows() {
        // max x − y, x + y = 1, x ≤ 0.3 + y·0, y ≥ 0.2 → x = 0.3, y = 0.7.
        let x = maximize(
            &[1.0, -1.0],
            &[
                row(&[1.0, 1.0], Relation::Eq, 1.0),
                row(&[1.0, 0.0], Relation::Le, 0.3),
                row(&[0.0, 1.0], Relation::Ge, 0.2),
            ],
        )
        .unwrap();
        assert!((x[0] - 0.3).abs() < 1e-12 && (x[1] - 0.7).abs() < 1e-12);
    }

    #[test]
    fn infeasible_and_unbounded() {
        assert!(maximize(
            &[1.0],
            &[
                row(&[1.0], Relation::Le, 1.0),
                row(&[1.0], Relation::Ge, 2.0)
            ]
        )
        .is_none());
        assert!(maximize(&[1.0], &[row(&[1.0], Relation::Ge, 2.0)]).is_none());
    }

    #[test]
    fn negative_right_hand_side() {
        // max −x, −x ≤ −2 (x ≥ 2) → x = 2.
        let x = maximize(&[-1.0], &[row(&[-1.0], Relation::Le, -2.0)]).unwrap();
        assert!((x[0] - 2.0).abs() < 1e-12);
    }
}
