//! The bootstrap of the score metrics (mean score, Brier, log loss, ECE, MCE, AUC, BPSN and
//! BNSP AUC), on the per-cell score distributions.
//!
//! A replicate redraws every cell's scored rows from the cell's *categories*: a category is
//! one label within one score stratum, and it holds the rows, Σw, Σw·s, Σw·(s−y)² and the
//! log-loss sum of its rows. With n rows in a cell and c_j in category j,
//!
//! ```text
//! (x_1, …, x_J) ~ Multinomial(n; c_1/n, …, c_J/n)
//! ```
//!
//! and category j's sums are scaled by x_j/c_j (a redrawn row carries its category's mean
//! weight and mean score terms). Every cell keeps its size, as in the confusion bootstrap.
//!
//! **Strata.** The strata partition the scores of all rows: one stratum per distinct score
//! when there are at most [`MAX_STRATA`] of them, and otherwise runs of consecutive distinct
//! scores holding about 1/[`MAX_STRATA`] of the rows each; a stratum never straddles an edge
//! of the equal-width calibration bins, so ECE and MCE are computed exactly from the strata.
//! With one stratum per distinct score (COMPAS deciles, any score with few values), the
//! replicate is exactly a redraw of the rows. With coarser strata, rows of one stratum and
//! label move together: the variation of scores within a stratum (at most 1/[`MAX_STRATA`]
//! of the rows) is left out of the replicate, which narrows the intervals slightly; the log
//! loss of scores near 0 or 1, whose terms vary most within a stratum, is the most affected.
//!
//! **AUC.** Pairs of a positive and a negative in different strata are ordered by their
//! strata; pairs within stratum k are concordant in the proportion P_k observed in the group
//! (ties ½), so the replicate's U statistic is Σ_k W⁺_k·(W⁻_{<k} + P_k·W⁻_k), which equals the
//! observed AUC exactly for the unresampled data.
//!
//! Not resampled: the recalibration intercept and slope (a Newton fit per replicate and
//! group), and ECE/MCE with quantile bins (their edges move with the data).

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;

use super::bootstrap::{multinomial, AttributeDesign};
use crate::aggregate::{bin_index, CellKey, CellTable, ScoreDistribution, ScorePoint};
use crate::metrics::calibration::{self, BinRow, Binning};
use crate::metrics::{Metrics, Value};

/// Most strata of the score range.
pub const MAX_STRATA: usize = 128;

const NO_SCORES: &str = "no scored rows";

/// The sums of one category (one label in one stratum) of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Category {
    stratum: usize,
    label: bool,
    rows: u64,
    weight: f64,
    sum_score: f64,
    sum_squared_error: f64,
    sum_log_loss: f64,
}

/// Within-stratum concordances of one group.
#[derive(Debug, Clone, PartialEq)]
struct Within {
    auc: Vec<f64>,
    bpsn: Vec<f64>,
    bnsp: Vec<f64>,
}

/// Everything the score replicates need, computed once from the observed table.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreDesign {
    /// First score of each stratum, ascending.
    starts: Vec<f64>,
    /// Equal-width calibration bin of each stratum; empty with quantile binning.
    stratum_bin: Vec<usize>,
    /// Calibration bins (equal-width), 0 with quantile binning.
    bins: usize,
    /// Categories of each cell, in the table's cell order.
    cells: Vec<Vec<Category>>,
    /// Per attribute: the group (in key order) of each cell.
    cell_group: Vec<Vec<usize>>,
    /// Per attribute, per group: within-stratum concordances.
    within: Vec<Vec<Within>>,
    /// Within-stratum concordance of all rows.
    total_within: Vec<f64>,
}

/// Multiplier x_j/c_j of every category of every cell in one replicate.
pub type Draw = Vec<Vec<f64>>;

impl ScoreDesign {
    /// The design of `table`, or `None` when no row has a score.
    pub fn new(table: &CellTable, design: &[AttributeDesign], binning: Binning) -> Option<Self> {
        let total = table.total();
        let all_points = total.score.distribution.sorted();
        if all_points.is_empty() {
            return None;
        }
        let bins = match binning {
            Binning::Uniform => total.score.bins.len(),
            Binning::Quantile => 0,
        };
        let starts = strata(&all_points, bins);
        let stratum_bin = match bins {
            0 => Vec::new(),
            b => starts.iter().map(|&s| bin_index(s, b)).collect(),
        };
        let this = |points: &[ScorePoint]| categories(points, &starts);
        let cells = (table.cells.values())
            .map(|g| this(&g.score.distribution.sorted()))
            .collect();
        let total_dist = &total.score.distribution;
        let mut cell_group = Vec::new();
        let mut within = Vec::new();
        for d in design {
            let groups = table.roll_up(&d.positions);
            let index: BTreeMap<&CellKey, usize> =
                groups.keys().enumerate().map(|(i, k)| (k, i)).collect();
            cell_group.push(
                (table.cells.keys())
                    .map(|key| {
                        let g: CellKey = d.positions.iter().map(|&p| key[p].clone()).collect();
                        index[&g]
                    })
                    .collect(),
            );
            within.push(
                (groups.values())
                    .map(|g| {
                        let dist = &g.score.distribution;
                        Within {
                            auc: concordance(&dist.sorted(), &starts),
                            bpsn: concordance(&mixed(dist, total_dist, true), &starts),
                            bnsp: concordance(&mixed(dist, total_dist, false), &starts),
                        }
                    })
                    .collect(),
            );
        }
        Some(ScoreDesign {
            total_within: concordance(&all_points, &starts),
            starts,
            stratum_bin,
            bins,
            cells,
            cell_group,
            within,
        })
    }

    /// The unresampled data: every multiplier 1.
    pub fn observed(&self) -> Draw {
        self.cells.iter().map(|c| vec![1.0; c.len()]).collect()
    }

    /// One replicate's multipliers (module docs).
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> Draw {
        self.cells
            .iter()
            .map(|cats| {
                let x = multinomial(cats.iter().map(|c| c.rows), rng);
                x.iter()
                    .zip(cats)
                    .map(|(&x, c)| x as f64 / c.rows as f64)
                    .collect()
            })
            .collect()
    }

    /// Score metrics over all rows and of every group of every attribute (in key order) in
    /// the replicate `draw`.
    pub fn evaluate(&self, draw: &Draw) -> ScoreOutcome {
        let mut all = Sums::new(self.starts.len(), self.bins);
        for (cats, x) in self.cells.iter().zip(draw) {
            all.add(cats, x, &self.stratum_bin);
        }
        let mut overall = all.metrics(self.bins);
        overall.insert("auc".into(), auc(&all.pos, &all.neg, &self.total_within));
        let attributes = (self.within.iter().zip(&self.cell_group))
            .map(|(within, cell_group)| {
                let mut groups = vec![Sums::new(self.starts.len(), self.bins); within.len()];
                for ((cats, x), &g) in self.cells.iter().zip(draw).zip(cell_group) {
                    groups[g].add(cats, x, &self.stratum_bin);
                }
                groups
                    .iter()
                    .zip(within)
                    .map(|(g, w)| g.group_metrics(&all, w, self.bins))
                    .collect()
            })
            .collect();
        ScoreOutcome {
            overall,
            attributes,
        }
    }
}

/// The score metrics of one replicate.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreOutcome {
    /// Over all rows.
    pub overall: Metrics,
    /// Per attribute (design order), per group (key order).
    pub attributes: Vec<Vec<Metrics>>,
}

/// Replicate sums of a set of cells.
#[derive(Debug, Clone)]
struct Sums {
    pos: Vec<f64>,
    neg: Vec<f64>,
    weight: f64,
    sum_score: f64,
    sum_squared_error: f64,
    sum_log_loss: f64,
    /// Per calibration bin: (Σw, Σw·s, Σw·y).
    bins: Vec<[f64; 3]>,
}

impl Sums {
    fn new(strata: usize, bins: usize) -> Self {
        Sums {
            pos: vec![0.0; strata],
            neg: vec![0.0; strata],
            weight: 0.0,
            sum_score: 0.0,
            sum_squared_error: 0.0,
            sum_log_loss: 0.0,
            bins: vec![[0.0; 3]; bins],
        }
    }

    fn add(&mut self, cats: &[Category], multipliers: &[f64], stratum_bin: &[usize]) {
        for (c, &f) in cats.iter().zip(multipliers) {
            let w = f * c.weight;
            if c.label {
                self.pos[c.stratum] += w;
            } else {
                self.neg[c.stratum] += w;
            }
            self.weight += w;
            self.sum_score += f * c.sum_score;
            self.sum_squared_error += f * c.sum_squared_error;
            self.sum_log_loss += f * c.sum_log_loss;
            if let Some(&b) = stratum_bin.get(c.stratum) {
                let bin = &mut self.bins[b];
                bin[0] += w;
                bin[1] += f * c.sum_score;
                if c.label {
                    bin[2] += w;
                }
            }
        }
    }

    /// [`Sums::metrics`] plus the AUC, BPSN and BNSP AUC of a group within `all`.
    fn group_metrics(&self, all: &Sums, within: &Within, bins: usize) -> Metrics {
        let mut m = self.metrics(bins);
        m.insert("auc".into(), auc(&self.pos, &self.neg, &within.auc));
        let others = |all: &[f64], mine: &[f64]| -> Vec<f64> {
            all.iter()
                .zip(mine)
                .map(|(a, m)| (a - m).max(0.0))
                .collect()
        };
        let others_pos = others(&all.pos, &self.pos);
        m.insert("bpsn_auc".into(), auc(&others_pos, &self.neg, &within.bpsn));
        let others_neg = others(&all.neg, &self.neg);
        m.insert("bnsp_auc".into(), auc(&self.pos, &others_neg, &within.bnsp));
        m
    }

    /// Mean score, Brier, log loss, and ECE/MCE with equal-width bins.
    fn metrics(&self, bins: usize) -> Metrics {
        let mut m = Metrics::new();
        let ratio = |x: f64| Value::ratio(x, self.weight, NO_SCORES);
        m.insert("mean_score".into(), ratio(self.sum_score));
        m.insert("brier".into(), ratio(self.sum_squared_error));
        m.insert("log_loss".into(), ratio(self.sum_log_loss));
        if bins > 0 {
            let rows: Vec<BinRow> = (self.bins.iter())
                .map(|&[weight, sum_score, sum_label]| BinRow {
                    weight,
                    sum_score,
                    sum_label,
                    ..BinRow::default()
                })
                .collect();
            m.insert("ece".into(), calibration::ece(&rows));
            m.insert("mce".into(), calibration::mce(&rows));
        }
        m
    }
}

/// AUC from per-stratum weights of positives and negatives and the within-stratum
/// concordances: Σ_k W⁺_k·(W⁻_{<k} + P_k·W⁻_k) / (W⁺·W⁻).
fn auc(pos: &[f64], neg: &[f64], within: &[f64]) -> Value {
    let (p, n): (f64, f64) = (pos.iter().sum(), neg.iter().sum());
    if p <= 0.0 || n <= 0.0 {
        return Value::undefined("needs both classes");
    }
    let (mut below, mut u) = (0.0, 0.0);
    for ((&wp, &wn), &pk) in pos.iter().zip(neg).zip(within) {
        u += wp * (below + pk * wn);
        below += wn;
    }
    Value::defined(u / (p * n))
}

/// Stratum starts (module docs): one per distinct score when there are at most
/// [`MAX_STRATA`], else runs of about 1/[`MAX_STRATA`] of the rows, never across an edge of
/// the `bins` equal-width calibration bins (none when 0).
fn strata(points: &[ScorePoint], bins: usize) -> Vec<f64> {
    if points.len() <= MAX_STRATA {
        return points.iter().map(|p| p.score).collect();
    }
    let total: f64 = points.iter().map(|p| p.rows).sum();
    let mut starts = Vec::with_capacity(MAX_STRATA + bins);
    let (mut cum, mut next, mut bin) = (0.0, 0.0, usize::MAX);
    for p in points {
        let b = if bins > 0 {
            bin_index(p.score, bins)
        } else {
            0
        };
        if cum >= next || b != bin {
            starts.push(p.score);
            next = cum + total / MAX_STRATA as f64;
            bin = b;
        }
        cum += p.rows;
    }
    starts
}

fn stratum_of(starts: &[f64], score: f64) -> usize {
    starts.partition_point(|&s| s <= score).saturating_sub(1)
}

/// The categories of a cell from its sorted points.
fn categories(points: &[ScorePoint], starts: &[f64]) -> Vec<Category> {
    let mut out: Vec<Category> = Vec::new();
    for p in points {
        let stratum = stratum_of(starts, p.score);
        let q = p.score.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        let sides = [
            (
                false,
                p.rows - p.positive_rows,
                p.negatives,
                p.score,
                -(1.0 - q).ln(),
            ),
            (true, p.positive_rows, p.positives, p.score - 1.0, -q.ln()),
        ];
        for (label, rows, w, error, loss) in sides {
            if rows <= 0.0 {
                continue;
            }
            let i = match out
                .iter()
                .rposition(|c| c.stratum == stratum && c.label == label)
            {
                Some(i) => i,
                None => {
                    out.push(Category {
                        stratum,
                        label,
                        rows: 0,
                        weight: 0.0,
                        sum_score: 0.0,
                        sum_squared_error: 0.0,
                        sum_log_loss: 0.0,
                    });
                    out.len() - 1
                }
            };
            let c = &mut out[i];
            c.rows += rows as u64;
            c.weight += w;
            c.sum_score += w * p.score;
            c.sum_squared_error += w * error * error;
            c.sum_log_loss += w * loss;
        }
    }
    out
}

/// Per stratum: the proportion of (positive, negative) pairs within the stratum in which the
/// positive scores higher, ties ½; ½ where the stratum lacks a class.
fn concordance(points: &[ScorePoint], starts: &[f64]) -> Vec<f64> {
    let mut u = vec![0.0; starts.len()];
    let mut pos = vec![0.0; starts.len()];
    let mut neg = vec![0.0; starts.len()];
    for p in points {
        let k = stratum_of(starts, p.score);
        u[k] += p.positives * (neg[k] + 0.5 * p.negatives);
        pos[k] += p.positives;
        neg[k] += p.negatives;
    }
    (u.iter().zip(&pos).zip(&neg))
        .map(|((&u, &p), &n)| if p > 0.0 && n > 0.0 { u / (p * n) } else { 0.5 })
        .collect()
}

/// The points of BPSN (`background_positives`: the group's negatives with the other rows'
/// positives) or BNSP (the group's positives with the other rows' negatives).
fn mixed(
    group: &ScoreDistribution,
    all: &ScoreDistribution,
    background_positives: bool,
) -> Vec<ScorePoint> {
    calibration::mix(group, all, |g, others| {
        if background_positives {
            (g.negatives, others.positives)
        } else {
            (others.negatives, g.positives)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::GroupStats;
    use crate::metrics::calibration::score_metrics;
    use rand::SeedableRng;

    /// Two cells, `distinct` distinct scores, weights 1 or 2.
    fn table(distinct: usize) -> CellTable {
        let mut t = CellTable::default();
        for (cell, shift) in [("a", 0usize), ("b", 7)] {
            let mut g = GroupStats::with_bins(10);
            for i in 0..4000usize {
                let s = ((i * 31 + shift) % distinct) as f64 / distinct as f64;
                let y = (i * 7 + shift) % 10 < (s * 10.0) as usize + 1;
                g.push(y, s >= 0.5, Some(s), 1.0 + (i % 2) as f64);
            }
            t.cells.insert(vec![Some(cell.to_string())], g);
        }
        t
    }

    fn design(t: &CellTable) -> Vec<AttributeDesign> {
        vec![AttributeDesign {
            positions: vec![0],
            reference: None,
            compared: t.cells.keys().cloned().collect(),
        }]
    }

    /// Unresampled, the strata reproduce the audit's score metrics, with few or many strata.
    #[test]
    fn observed_draw_reproduces_the_score_metrics() {
        for distinct in [10, 3000] {
            let t = table(distinct);
            let sd = ScoreDesign::new(&t, &design(&t), Binning::Uniform).unwrap();
            let observed = sd.observed();
            let outcome = sd.evaluate(&observed);
            let groups = &outcome.attributes[0];
            let all = t.total();
            let rolled = t.roll_up(&[0]);
            for ((stats, m), expected_total) in rolled.values().zip(groups).zip([&all, &all]) {
                let expected = score_metrics(&stats.score, Binning::Uniform);
                for key in ["mean_score", "brier", "log_loss", "ece", "mce", "auc"] {
                    let (a, b) = (m[key].value.unwrap(), expected[key].value.unwrap());
                    assert!((a - b).abs() < 1e-12, "{distinct} {key}: {a} vs {b}");
                }
                let d = &stats.score.distribution;
                let t_dist = &expected_total.score.distribution;
                let bpsn = calibration::bpsn_auc(d, t_dist).value.unwrap();
                let bnsp = calibration::bnsp_auc(d, t_dist).value.unwrap();
                assert!((m["bpsn_auc"].value.unwrap() - bpsn).abs() < 1e-12);
                assert!((m["bnsp_auc"].value.unwrap() - bnsp).abs() < 1e-12);
            }
            let overall = &outcome.overall;
            let expected = score_metrics(&all.score, Binning::Uniform);
            for key in ["mean_score", "brier", "ece", "auc"] {
                let (a, b) = (overall[key].value.unwrap(), expected[key].value.unwrap());
                assert!((a - b).abs() < 1e-12, "overall {key}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn strata_are_distinct_scores_when_few_and_bounded_when_many() {
        let t = table(10);
        let sd = ScoreDesign::new(&t, &design(&t), Binning::Uniform).unwrap();
        assert_eq!(sd.starts.len(), 10);
        let t = table(3000);
        let sd = ScoreDesign::new(&t, &design(&t), Binning::Uniform).unwrap();
        assert!(sd.starts.len() > 100 && sd.starts.len() <= MAX_STRATA + 10);
        // No stratum straddles a calibration-bin edge.
        let points = t.total().score.distribution.sorted();
        for p in &points {
            let k = stratum_of(&sd.starts, p.score);
            assert_eq!(
                bin_index(p.score, 10),
                sd.stratum_bin[k],
                "score {}",
                p.score
            );
        }
    }

    #[test]
    fn a_draw_keeps_every_cell_size_and_depends_on_the_seed_only() {
        let t = table(3000);
        let sd = ScoreDesign::new(&t, &design(&t), Binning::Uniform).unwrap();
        let draw = |seed| sd.draw(&mut ChaCha8Rng::seed_from_u64(seed));
        let d = draw(3);
        assert_eq!(d, draw(3));
        assert_ne!(d, draw(4));
        for (cats, x) in sd.cells.iter().zip(&d) {
            let n: u64 = cats.iter().map(|c| c.rows).sum();
            let drawn: f64 = cats.iter().zip(x).map(|(c, f)| f * c.rows as f64).sum();
            assert!((drawn - n as f64).abs() < 1e-6, "{drawn} vs {n}");
        }
    }
}
