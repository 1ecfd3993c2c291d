//! [`Aggregate`] ⇄ partials rows. The only place that knows both the table's columns and the
//! fields of [`GroupStats`] (so a change to the statistics is a change here only).

use std::collections::BTreeMap;
use std::path::Path;

use super::{Part, PartialRow};
use crate::aggregate::{Aggregate, CellKey, CellTable, GroupStats, Resolution, ScorePoint};
use crate::error::{Error, Result};
use crate::input::InvalidRows;
use crate::spec::Audit;

/// The partials table of an aggregate: per cell, its confusion rows, then (with scores) its
/// `cell`, `bin` and `score` rows; then one `invalid` row per skip reason. Empty statistics
/// (no rows) are left out.
pub fn from_aggregate(aggregate: &Aggregate) -> Vec<PartialRow> {
    let mut out = Vec::new();
    let Ok(()) = for_each_row::<std::convert::Infallible>(aggregate, &mut |r| {
        out.push(r.clone());
        Ok(())
    });
    out
}

/// Call `f` with each row of [`from_aggregate`]'s table, in order, without keeping them;
/// stops at the first error.
pub fn for_each_row<E>(
    aggregate: &Aggregate,
    f: &mut dyn FnMut(&PartialRow) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    for (key, stats) in &aggregate.table.cells {
        // Each row of the cell borrows its key for the call (rows are built without one).
        let mut key = key.clone();
        let mut emit = |mut row: PartialRow| {
            std::mem::swap(&mut row.cell, &mut key);
            let result = f(&row);
            std::mem::swap(&mut row.cell, &mut key);
            result
        };
        let row = |part: Part| PartialRow {
            part: Some(part),
            ..PartialRow::default()
        };
        for (label, decision) in [(false, false), (false, true), (true, false), (true, true)] {
            let rows = confusion_cell(&stats.counts, label, decision);
            if rows > 0 {
                emit(PartialRow {
                    label: Some(label),
                    decision: Some(decision),
                    rows,
                    sum_w: confusion_cell(&stats.weighted.value(), label, decision),
                    sum_w2: Some(confusion_cell(&stats.weighted_sq.value(), label, decision)),
                    ..row(Part::Confusion)
                })?;
            }
        }
        let score = &stats.score;
        if score.rows == 0 {
            continue;
        }
        emit(PartialRow {
            rows: score.rows,
            sum_w: score.weight.value(),
            sum_wy: Some(score.sum_label.value()),
            sum_ws: Some(score.sum_score.value()),
            sum_wse: Some(score.sum_squared_error.value()),
            sum_wll: Some(score.sum_log_loss.value()),
            ..row(Part::Cell)
        })?;
        for (b, bin) in score.bins.iter().enumerate() {
            if bin.rows > 0 {
                emit(PartialRow {
                    bin: Some(b as u64),
                    rows: bin.rows,
                    sum_w: bin.weight.value(),
                    sum_wy: Some(bin.sum_label.value()),
                    sum_ws: Some(bin.sum_score.value()),
                    ..row(Part::Bin)
                })?;
            }
        }
        let part = match score.distribution.resolution() {
            Resolution::Exact => Part::Score,
            Resolution::Binned => Part::ScoreBinned,
        };
        for point in score.distribution.sorted() {
            emit(PartialRow {
                score: Some(point.score),
                rows: point.rows as u64,
                sum_w: point.negatives + point.positives,
                sum_wy: Some(point.positives),
                rows_y: Some(point.positive_rows as u64),
                ..row(part)
            })?;
        }
    }
    for (reason, &rows) in &aggregate.skipped {
        f(&PartialRow {
            part: Some(Part::Invalid),
            reason: Some(reason.clone()),
            rows,
            ..PartialRow::default()
        })?;
    }
    Ok(())
}

/// The aggregate a partials table describes, checked against the audit: calibration bins
/// within `audit.bins`, at most `audit.max_groups` cells, and invalid rows only under
/// `--skip-invalid`. `rows[i]` is data row i + 1 of `path` (for messages).
pub fn to_aggregate(rows: &[PartialRow], audit: &Audit, path: &Path) -> Result<Aggregate> {
    let mut builder = Builder::new(audit, path);
    for (i, row) in rows.iter().enumerate() {
        builder.add(i as u64 + 1, row)?;
    }
    builder.finish()
}

/// [`to_aggregate`] one row at a time, for a table streamed from a file or an engine.
pub struct Builder<'a> {
    audit: &'a Audit,
    /// The table, for messages.
    path: &'a Path,
    /// The cells, but for the one in `open`.
    cells: BTreeMap<CellKey, Cell>,
    /// The cell of the last row added, taken out of `cells` while its rows keep coming
    /// (tables list a cell's rows together, so most rows need no look-up).
    open: Option<(CellKey, Cell)>,
    skipped: BTreeMap<String, u64>,
    /// The first `invalid` row: its row number and reason.
    first_invalid: Option<(u64, String)>,
}

/// One cell being built.
#[derive(Debug)]
struct Cell {
    stats: GroupStats,
    /// Of its score rows, once there is one: Σ rows_y, whether every score row had one, and
    /// the row number of the first.
    positive_rows: Option<(u64, bool, u64)>,
}

impl<'a> Builder<'a> {
    /// An empty aggregate of the table at `path`, for `audit`.
    pub fn new(audit: &'a Audit, path: &'a Path) -> Self {
        Builder {
            audit,
            path,
            cells: BTreeMap::new(),
            open: None,
            skipped: BTreeMap::new(),
            first_invalid: None,
        }
    }

    /// The cell `key`, made the open cell (taken out of `cells`, or new).
    fn open(&mut self, key: &CellKey) -> &mut Cell {
        if self.open.as_ref().is_none_or(|(k, _)| k != key) {
            if let Some((k, cell)) = self.open.take() {
                self.cells.insert(k, cell);
            }
            let cell = self.cells.remove(key).unwrap_or_else(|| Cell {
                stats: GroupStats::with_bins(self.audit.bins),
                positive_rows: None,
            });
            self.open = Some((key.clone(), cell));
        }
        &mut self.open.as_mut().expect("opened above").1
    }

    /// Add `r`, data row `row` of the table.
    pub fn add(&mut self, row: u64, r: &PartialRow) -> Result<()> {
        let path = self.path;
        let bad = |column: &str, msg: String| bad(path, row, column, msg);
        let part = r.part.ok_or_else(|| bad("part", "missing part".into()))?;
        if part == Part::Invalid {
            let reason = (r.reason.clone()).ok_or_else(|| bad("reason", "missing".into()))?;
            *self.skipped.entry(reason.clone()).or_default() += r.rows;
            self.first_invalid.get_or_insert((row, reason));
            return Ok(());
        }
        let need = |v: Option<f64>, column: &str| {
            v.ok_or_else(|| bad(column, format!("missing in a '{}' row", part.name())))
        };
        let Cell {
            stats,
            positive_rows,
        } = self.open(&r.cell);
        match part {
            Part::Confusion => {
                let label = r.label.ok_or_else(|| bad("label", "missing".into()))?;
                let decision = (r.decision).ok_or_else(|| bad("decision", "missing".into()))?;
                stats.rows += r.rows;
                stats.counts.add(label, decision, r.rows);
                stats.weighted.add(label, decision, r.sum_w);
                stats
                    .weighted_sq
                    .add(label, decision, need(r.sum_w2, "sum_w2")?);
            }
            Part::Cell => {
                let s = &mut stats.score;
                s.rows += r.rows;
                s.weight += r.sum_w;
                s.sum_label += need(r.sum_wy, "sum_wy")?;
                s.sum_score += need(r.sum_ws, "sum_ws")?;
                s.sum_squared_error += need(r.sum_wse, "sum_wse")?;
                s.sum_log_loss += need(r.sum_wll, "sum_wll")?;
            }
            Part::Bin => {
                let b = r.bin.ok_or_else(|| bad("bin", "missing".into()))? as usize;
                let bins = stats.score.bins.len();
                let bin = stats.score.bins.get_mut(b).ok_or_else(|| {
                    bad(
                        "bin",
                        format!(
                            "bin {b} does not exist with {bins} bins: the table was made with \
                             more bins than --bins {bins}"
                        ),
                    )
                })?;
                bin.rows += r.rows;
                bin.weight += r.sum_w;
                bin.sum_label += need(r.sum_wy, "sum_wy")?;
                bin.sum_score += need(r.sum_ws, "sum_ws")?;
            }
            Part::Score | Part::ScoreBinned => {
                let score = need(r.score, "score")?;
                let positives = need(r.sum_wy, "sum_wy")?;
                // Rows with label 1 (for the score bootstrap); a table without them gets
                // the weight share, exact for unweighted data.
                let label_1_rows = r.rows_y.map_or_else(
                    || {
                        let share = if r.sum_w > 0.0 {
                            positives / r.sum_w
                        } else {
                            0.0
                        };
                        (r.rows as f64 * share).round().clamp(0.0, r.rows as f64)
                    },
                    |y| y as f64,
                );
                let point = ScorePoint {
                    score,
                    negatives: r.sum_w - positives,
                    positives,
                    rows: r.rows as f64,
                    positive_rows: label_1_rows,
                };
                let resolution = match part {
                    Part::Score => Resolution::Exact,
                    _ => Resolution::Binned,
                };
                if let Some(y) = r.rows_y.filter(|&y| y > r.rows) {
                    return Err(bad("rows_y", format!("{y} is more than rows {}", r.rows)));
                }
                stats.score.distribution.add_point(&point, resolution);
                let seen = positive_rows.get_or_insert((0, true, row));
                match r.rows_y {
                    Some(y) => seen.0 += y,
                    None => seen.1 = false,
                }
            }
            Part::Invalid => unreachable!("handled above"),
        }
        Ok(())
    }

    /// The aggregate of the rows added, checked as [`to_aggregate`] says.
    pub fn finish(mut self) -> Result<Aggregate> {
        let (audit, path) = (self.audit, self.path);
        self.cells.extend(self.open.take());
        let mut table = CellTable::default();
        let mut positive_rows = Vec::new();
        for (key, cell) in self.cells {
            if let Some(p) = cell.positive_rows {
                positive_rows.push((key.clone(), p));
            }
            table.cells.insert(key, cell.stats);
        }
        check_bins(&table, audit.bins, path)?;
        // The distribution's positive rows must be the confusion counts' positive rows.
        for (cell, (y, complete, row)) in positive_rows {
            let stats = &table.cells[&cell];
            let expected = stats.counts.tp + stats.counts.fn_;
            if complete && y != expected {
                return Err(bad(
                    path,
                    row,
                    "rows_y",
                    format!(
                        "the score rows of cell {} count {y} rows with label 1, the confusion \
                         rows {expected}",
                        crate::audit::group_label(&cell)
                    ),
                ));
            }
        }
        if table.cells.len() > audit.max_groups {
            return Err(Error::Schema {
                path: path.to_path_buf(),
                msg: format!(
                    "the protected columns ({}) form more than {} groups; raise the limit with \
                     --max-groups N if they are intended",
                    audit.columns.protected.join(", "),
                    audit.max_groups
                ),
            });
        }
        if let (Some((row, reason)), InvalidRows::Error) =
            (&self.first_invalid, audit.columns.invalid_rows)
        {
            return Err(bad(
                path,
                *row,
                "reason",
                format!(
                    "the table counts {} rows as {reason}; audit them with --skip-invalid \
                     (they are then reported as skipped) or fix the data",
                    self.skipped[reason]
                ),
            ));
        }
        let valid: u64 = table.cells.values().map(|c| c.rows).sum();
        Ok(Aggregate {
            table,
            rows_read: valid + self.skipped.values().sum::<u64>(),
            skipped: self.skipped,
        })
    }
}

/// The error for data row `row`, column `column` of the table at `path`.
fn bad(path: &Path, row: u64, column: &str, msg: String) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        row,
        column: column.to_string(),
        msg,
    }
}

/// Every calibration bin's mean score lies within the bin's edges under `bins` bins (up to
/// rounding): otherwise the table was made with another number of bins, and the reliability
/// table would be silently wrong.
fn check_bins(table: &CellTable, bins: usize, path: &Path) -> Result<()> {
    let step = 1.0 / bins as f64;
    let edge = |k: usize| if k == bins { 1.0 } else { k as f64 * step };
    for (key, stats) in &table.cells {
        for (b, bin) in stats.score.bins.iter().enumerate() {
            if bin.weight.value() <= 0.0 {
                continue;
            }
            let mean = bin.sum_score.value() / bin.weight.value();
            let (lo, hi) = (edge(b), edge(b + 1));
            if mean < lo - 1e-9 || mean > hi + 1e-9 {
                return Err(Error::Schema {
                    path: path.to_path_buf(),
                    msg: format!(
                        "cell {}: the mean score {mean} of bin {b} lies outside its edges \
                         ({lo}, {hi}] with --bins {bins}: the table was made with other bins",
                        crate::audit::group_label(key)
                    ),
                });
            }
        }
    }
    Ok(())
}

fn confusion_cell<T: Copy>(c: &crate::aggregate::Confusion<T>, label: bool, decision: bool) -> T {
    match (label, decision) {
        (true, true) => c.tp,
        (false, true) => c.fp,
        (false, false) => c.tn,
        (true, false) => c.fn_,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{aggregate_batch, AggregateOptions};
    use crate::input::{Batch, Categorical};

    fn audit(bins: usize, skip: bool) -> Audit {
        let mut spec = crate::spec::AuditSpec::default();
        spec.data.path = Some("p.csv".into());
        spec.data.skip_invalid = Some(skip);
        spec.columns.label = Some("y".into());
        spec.columns.score = Some("s".into());
        spec.audit.protected = vec!["g".into()];
        spec.audit.bins = Some(bins);
        spec.check("test").unwrap()
    }

    fn aggregate() -> Aggregate {
        // Two cells, weights 1..3, scores on and off a decile.
        let rows = [
            (true, true, 0.9, 2.0, "a"),   // a: TP
            (false, true, 0.6, 1.0, "a"),  // a: FP
            (false, false, 0.1, 3.0, "b"), // b: TN
            (true, false, 0.3, 1.0, "b"),  // b: FN, on the edge of bin 2
            (true, true, 0.9, 1.5, "b"),   // b: TP, same score as a's TP
        ];
        let batch = Batch {
            label: rows.iter().map(|r| r.0).collect(),
            prediction: rows.iter().map(|r| r.1).collect(),
            score: Some(rows.iter().map(|r| r.2).collect()),
            weight: Some(rows.iter().map(|r| r.3).collect()),
            protected: vec![Categorical {
                levels: vec![Some("a".into()), Some("b".into())],
                codes: rows.iter().map(|r| u32::from(r.4 == "b")).collect(),
            }],
            skipped: BTreeMap::from([("invalid_score".to_string(), 2)]),
            outcomes: None,
        };
        Aggregate {
            table: aggregate_batch(&batch, AggregateOptions { bins: 10 }),
            rows_read: 7,
            skipped: batch.skipped,
        }
    }

    #[test]
    fn a_table_round_trips_to_the_same_statistics() {
        let agg = aggregate();
        let rows = from_aggregate(&agg);
        // a: 2 confusion + cell + 2 bins + 2 scores; b: 3 + 1 + 3 + 3; one invalid row.
        assert_eq!(rows.len(), 7 + 10 + 1);
        let back = to_aggregate(&rows, &audit(10, true), Path::new("p.csv")).unwrap();
        assert_eq!(back.table, agg.table);
        assert_eq!(back.skipped, agg.skipped);
        assert_eq!(back.rows_read, 7);
    }

    #[test]
    fn a_cell_may_come_back_after_other_cells() {
        // Parts grouped across cells (every confusion row first, ...): each cell is left and
        // opened again, and its rows still add up in table order to the same statistics.
        let agg = aggregate();
        let mut rows = from_aggregate(&agg);
        rows.sort_by_key(|r| r.part);
        let switches = rows.windows(2).filter(|w| w[0].cell != w[1].cell).count();
        assert!(switches > 3, "{switches}");
        let back = to_aggregate(&rows, &audit(10, true), Path::new("p.csv")).unwrap();
        assert_eq!(back.table, agg.table);
        assert_eq!(back.rows_read, 7);
    }

    #[test]
    fn invalid_rows_need_skip_invalid() {
        let rows = from_aggregate(&aggregate());
        let e = to_aggregate(&rows, &audit(10, false), Path::new("p.csv")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("p.csv: row 18, column 'reason'"), "{msg}");
        assert!(msg.contains("2 rows as invalid_score"), "{msg}");
    }

    #[test]
    fn a_table_made_with_other_bins_is_an_error() {
        let rows = from_aggregate(&aggregate());
        // Bin 8 (score 0.9) does not exist with 5 bins.
        let e = to_aggregate(&rows, &audit(5, true), Path::new("p.csv")).unwrap_err();
        assert!(e.to_string().contains("column 'bin'"), "{e}");
        // With 20 bins, bin 5 exists but is (0.25, 0.3]: cell a's score 0.6 gives it away.
        let e = to_aggregate(&rows, &audit(20, true), Path::new("p.csv")).unwrap_err();
        assert!(e.to_string().contains("mean score 0.6 of bin 5"), "{e}");
    }

    #[test]
    fn positive_rows_of_the_scores_must_match_the_confusion_counts() {
        let mut rows = from_aggregate(&aggregate());
        let score_rows = |rows: &mut Vec<PartialRow>, f: &dyn Fn(&PartialRow) -> u64| {
            for r in rows.iter_mut().filter(|r| r.part == Some(Part::Score)) {
                r.rows_y = Some(f(r));
            }
        };
        // The true counts: a row is positive iff its weight is in sum_wy (weights here > 0).
        score_rows(&mut rows, &|r| u64::from(r.sum_wy.unwrap() > 0.0));
        assert!(to_aggregate(&rows, &audit(10, true), Path::new("p.csv")).is_ok());
        // Every score row claimed positive: cell a has 1 positive (its TP), not 2.
        score_rows(&mut rows, &|r| r.rows);
        let e = to_aggregate(&rows, &audit(10, true), Path::new("p.csv")).unwrap_err();
        assert!(
            e.to_string().contains("cell a count 2 rows with label 1"),
            "{e}"
        );
    }

    #[test]
    fn a_binned_distribution_stays_binned() {
        let mut agg = aggregate();
        let mut wide = GroupStats::with_bins(10);
        for i in 0..=crate::aggregate::MAX_DISTINCT {
            let s = i as f64 / (2.0 * crate::aggregate::MAX_DISTINCT as f64);
            wide.push(i % 2 == 0, s > 0.25, Some(s), 1.0);
        }
        assert_eq!(wide.score.distribution.resolution(), Resolution::Binned);
        agg.table.cells.insert(vec![None], wide);
        let rows = from_aggregate(&agg);
        assert!(rows.iter().any(|r| r.part == Some(Part::ScoreBinned)));
        let back = to_aggregate(&rows, &audit(10, true), Path::new("p.csv")).unwrap();
        assert_eq!(back.table, agg.table);
    }
}
