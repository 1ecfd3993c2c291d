//! One streaming pass: per-cell sufficient statistics, mergeable in any split of the rows.
//!
//! A *cell* is one combination of values of every protected column (the finest partition the
//! audit needs). Every attribute's and every intersection's groups are unions of cells, and the
//! whole dataset is the union of all cells, so one pass over the rows fills everything
//! ([`CellTable::roll_up`]). Statistics are [`GroupStats`]; metrics are pure functions of them.
//!
//! Determinism: batches are aggregated in parallel but merged in sequence order
//! ([`OrderedMerge`]), so floating-point sums do not depend on thread scheduling.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::input::{self, Batch, Columns, Source};

mod distribution;
mod stats;

pub use distribution::{Resolution, ScoreDistribution, ScorePoint, FINE_BINS, MAX_DISTINCT};
pub use stats::{bin_index, BinStats, Confusion, GroupStats, ScoreStats};

/// The values of every protected column for one cell (`None` = missing value).
pub type CellKey = Vec<Option<String>>;

/// Statistics per cell, keyed and ordered by the cell's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellTable {
    /// One entry per non-empty cell.
    pub cells: BTreeMap<CellKey, GroupStats>,
}

impl CellTable {
    /// Merge `other` into `self` (cell-wise [`GroupStats::merge`]).
    pub fn merge(&mut self, other: CellTable) {
        for (key, stats) in other.cells {
            match self.cells.get_mut(&key) {
                Some(mine) => mine.merge(&stats),
                None => {
                    self.cells.insert(key, stats);
                }
            }
        }
    }

    /// Statistics of the groups formed by the protected columns at `positions`
    /// (one position for an attribute, several for an intersection).
    pub fn roll_up(&self, positions: &[usize]) -> BTreeMap<CellKey, GroupStats> {
        let mut groups: BTreeMap<CellKey, GroupStats> = BTreeMap::new();
        for (key, stats) in &self.cells {
            let group: CellKey = positions.iter().map(|&p| key[p].clone()).collect();
            groups.entry(group).or_default().merge(stats);
        }
        groups
    }

    /// Statistics of all rows.
    pub fn total(&self) -> GroupStats {
        let mut all = GroupStats::default();
        for stats in self.cells.values() {
            all.merge(stats);
        }
        all
    }
}

/// The result of a pass over a source.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    /// Statistics per cell.
    pub table: CellTable,
    /// Data rows read, kept or skipped.
    pub rows_read: u64,
    /// Rows skipped (under `--skip-invalid`) per reason.
    pub skipped: BTreeMap<String, u64>,
}

/// Options of the aggregation that do not come from the input columns.
#[derive(Debug, Clone, Copy)]
pub struct AggregateOptions {
    /// Number of equal-width calibration bins.
    pub bins: usize,
}

/// Read `source` once and aggregate it into per-cell statistics. `on_rows` is told the number
/// of rows of every batch read (for a progress display); it may be called from several threads.
pub fn aggregate(
    source: &Source,
    columns: &Columns,
    options: AggregateOptions,
    on_rows: &(dyn Fn(u64) + Sync),
) -> Result<Aggregate> {
    aggregate_with_limit(source, columns, options, usize::MAX, on_rows)
}

/// [`aggregate`], failing as soon as the protected columns form more than `max_cells` cells
/// (distinct combinations of values), so that an identifier given as a protected column is a
/// clear error and never an out-of-memory (issue 9). Memory stays bounded by one batch's
/// cells plus `max_cells` per stream.
pub fn aggregate_with_limit(
    source: &Source,
    columns: &Columns,
    options: AggregateOptions,
    max_cells: usize,
    on_rows: &(dyn Fn(u64) + Sync),
) -> Result<Aggregate> {
    let merge = OrderedMerge::default();
    let sink = |seq: u64, batch: Batch| -> Result<()> {
        on_rows(batch.len() as u64 + batch.skipped.values().sum::<u64>());
        let partial = aggregate_batch(&batch, options);
        if partial.cells.len() > max_cells {
            return Err(too_many_cells(source, columns, &batch, max_cells));
        }
        merge.push(seq, partial, batch.skipped.clone());
        if merge.largest_stream() > max_cells {
            return Err(too_many_cells(source, columns, &batch, max_cells));
        }
        Ok(())
    };
    let rows_read = input::read(source, columns, &sink)?;
    let (table, skipped) = merge.finish();
    if table.cells.len() > max_cells {
        let empty = Batch::default();
        return Err(too_many_cells(source, columns, &empty, max_cells));
    }
    Ok(Aggregate {
        table,
        rows_read,
        skipped,
    })
}

/// The error for more than `max` cells; names the protected column with the most distinct
/// values in `batch` (the likely identifier).
fn too_many_cells(source: &Source, columns: &Columns, batch: &Batch, max: usize) -> Error {
    let widest = batch
        .protected
        .iter()
        .zip(&columns.protected)
        .max_by_key(|(c, _)| c.levels.len())
        .map(|(c, name)| {
            format!(
                " (column '{name}' alone has {} distinct values in {} rows)",
                c.levels.len(),
                c.codes.len()
            )
        })
        .unwrap_or_default();
    Error::Schema {
        path: source.path.clone(),
        msg: format!(
            "the protected columns ({}) form more than {max} groups{widest}; is one of them an \
             identifier? If the groups are intended, raise the limit with --max-groups N \
             (or [audit] max_groups)",
            columns.protected.join(", ")
        ),
    }
}

/// Aggregate one batch into a cell table.
pub fn aggregate_batch(batch: &Batch, options: AggregateOptions) -> CellTable {
    let (cell_of_row, keys) = cell_indices(batch);
    let mut stats = vec![GroupStats::with_bins(options.bins); keys.len()];
    for (row, &cell) in cell_of_row.iter().enumerate() {
        let weight = batch.weight.as_ref().map_or(1.0, |w| w[row]);
        let score = batch.score.as_ref().map(|s| s[row]);
        stats[cell as usize].push(batch.label[row], batch.prediction[row], score, weight);
    }
    let cells = keys.into_iter().zip(stats).collect();
    CellTable { cells }
}

/// Assign each row a dense cell number; return the numbers and each cell's key.
fn cell_indices(batch: &Batch) -> (Vec<u32>, Vec<CellKey>) {
    let n = batch.len();
    // Mixed-radix code of the row's level codes; the product of level counts of one batch is
    // at most n^k, so it fits in u128 for any realistic k.
    let mut code = vec![0u128; n];
    let mut stride = 1u128;
    for column in &batch.protected {
        for (c, &level) in code.iter_mut().zip(&column.codes) {
            *c += u128::from(level) * stride;
        }
        stride = stride.saturating_mul(column.levels.len().max(1) as u128);
    }
    let mut dense: HashMap<u128, u32> = HashMap::new();
    let mut first_row: Vec<usize> = Vec::new();
    let cell_of_row = code
        .iter()
        .enumerate()
        .map(|(row, c)| {
            *dense.entry(*c).or_insert_with(|| {
                first_row.push(row);
                (first_row.len() - 1) as u32
            })
        })
        .collect();
    let keys = first_row
        .into_iter()
        .map(|row| {
            batch
                .protected
                .iter()
                .map(|col| col.levels[col.codes[row] as usize].clone())
                .collect()
        })
        .collect();
    (cell_of_row, keys)
}

/// Collects per-batch results from any thread and merges them in file order.
///
/// A batch's sequence number is [`input::batch_seq`]`(stream, index)`. Batches of one stream
/// are folded as soon as every earlier batch of that stream has arrived, so memory holds one
/// table per stream plus the batches that arrived early; streams are merged in order at the end.
/// The merge order is therefore the file order, whatever the thread scheduling.
#[derive(Debug, Default)]
pub struct OrderedMerge {
    state: Mutex<MergeState>,
}

#[derive(Debug, Default)]
struct MergeState {
    streams: BTreeMap<u64, StreamState>,
    skipped: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct StreamState {
    folded: CellTable,
    next: u64,
    early: BTreeMap<u64, CellTable>,
}

impl OrderedMerge {
    /// Hand in the result of batch `seq`.
    pub fn push(&self, seq: u64, partial: CellTable, skipped: BTreeMap<String, u64>) {
        let (stream, index) = input::split_batch_seq(seq);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (reason, count) in skipped {
            *state.skipped.entry(reason).or_default() += count;
        }
        let s = state.streams.entry(stream).or_default();
        s.early.insert(index, partial);
        while let Some(next) = s.early.remove(&s.next) {
            s.folded.merge(next);
            s.next += 1;
        }
    }

    /// The most cells folded into one stream so far: a lower bound of the cells of the whole.
    pub fn largest_stream(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .streams
            .values()
            .map(|s| s.folded.cells.len())
            .max()
            .unwrap_or(0)
    }

    /// All partials merged in ascending sequence order.
    pub fn finish(self) -> (CellTable, BTreeMap<String, u64>) {
        let state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut merged = CellTable::default();
        for (_, stream) in state.streams {
            merged.merge(stream.folded);
            // Only reached if a reader skipped an index; still merged in order.
            for (_, partial) in stream.early {
                merged.merge(partial);
            }
        }
        (merged, state.skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Categorical;

    fn batch(rows: &[(bool, bool, f64, &str)]) -> Batch {
        let mut levels: Vec<Option<String>> = Vec::new();
        let mut codes = Vec::new();
        for (_, _, _, g) in rows {
            let v = (!g.is_empty()).then(|| g.to_string());
            let code = levels.iter().position(|l| *l == v).unwrap_or_else(|| {
                levels.push(v.clone());
                levels.len() - 1
            });
            codes.push(code as u32);
        }
        Batch {
            label: rows.iter().map(|r| r.0).collect(),
            prediction: rows.iter().map(|r| r.1).collect(),
            score: Some(rows.iter().map(|r| r.2).collect()),
            weight: None,
            protected: vec![Categorical { levels, codes }],
            skipped: BTreeMap::new(),
        }
    }

    #[test]
    fn cells_split_by_value_and_missing_is_its_own_cell() {
        let b = batch(&[
            (true, true, 0.9, "a"),   // a: TP
            (false, true, 0.6, "b"),  // b: FP
            (false, false, 0.1, "a"), // a: TN
            (true, false, 0.2, ""),   // missing: FN
        ]);
        let t = aggregate_batch(&b, AggregateOptions { bins: 10 });
        assert_eq!(t.cells.len(), 3);
        let a = &t.cells[&vec![Some("a".to_string())]];
        assert_eq!(
            a.counts,
            Confusion {
                tp: 1,
                fp: 0,
                tn: 1,
                fn_: 0
            }
        );
        let missing = &t.cells[&vec![None]];
        assert_eq!(missing.counts.fn_, 1);
        assert_eq!(t.total().rows, 4);
    }

    #[test]
    fn ordered_merge_is_in_sequence_order_whatever_the_arrival() {
        let opts = AggregateOptions { bins: 10 };
        let parts: Vec<CellTable> = (0..5)
            .map(|i| aggregate_batch(&batch(&[(true, i % 2 == 0, 0.1 * i as f64, "g")]), opts))
            .collect();
        let forward = OrderedMerge::default();
        for (i, p) in parts.iter().enumerate() {
            forward.push(i as u64, p.clone(), BTreeMap::new());
        }
        let backward = OrderedMerge::default();
        for (i, p) in parts.iter().enumerate().rev() {
            backward.push(i as u64, p.clone(), BTreeMap::new());
        }
        assert_eq!(forward.finish().0, backward.finish().0);
    }
}
