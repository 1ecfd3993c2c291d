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

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::input::{self, Batch, Columns, Source};

mod dense;
mod distribution;
pub mod multiclass;
mod pool;
pub mod regression;
mod stats;
mod sum;
pub mod tasks;

use dense::DenseCounts;
pub(crate) use distribution::{grid_score, grid_slot, GRID_STEPS};
use distribution::{grid_slot_u32, GRID_AFTER};
pub use distribution::{Resolution, ScoreDistribution, ScorePoint, FINE_BINS, MAX_DISTINCT};
pub use stats::{bin_index, BinStats, Confusion, GroupStats, ScoreStats};
pub use sum::Sum;

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

    /// [`merge`](Self::merge), the cells of both merged in parallel when most cells of `self`
    /// take part (issue 8: a cell's score distribution has up to 10,001 slots). Only where no
    /// lock is held (see [`DenseCounts::flush_into_in_parallel`]).
    fn merge_in_parallel(&mut self, other: CellTable) {
        let (both, new): (BTreeMap<_, _>, BTreeMap<_, _>) =
            (other.cells.into_iter()).partition(|(key, _)| self.cells.contains_key(key));
        if 2 * both.len() < self.cells.len() {
            self.merge(CellTable { cells: both });
        } else {
            (self.cells.par_iter_mut()).for_each(|(key, mine)| {
                if let Some(theirs) = both.get(key) {
                    mine.merge(theirs);
                }
            });
        }
        self.cells.extend(new);
    }

    /// Settle every cell ([`GroupStats::settle`]), in parallel: a cell's sums over its score
    /// distribution do not depend on the other cells (issue 8: 40 cells of 10,001 grid scores
    /// took 29 ms on one thread).
    pub(crate) fn settle(&mut self) {
        (self.cells.par_iter_mut()).for_each(|(_, stats)| stats.settle());
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
        // What the error names if this batch takes the cell count past the limit.
        let levels: Vec<usize> = batch.protected.iter().map(|c| c.levels.len()).collect();
        let rows = batch.len();
        merge.fold(seq, batch, options);
        // Memory is bounded by the number of cells: stop as soon as it passes the limit (a
        // batch adds at most its row count of new cells before this check).
        if merge.largest_stream() > max_cells {
            return Err(too_many_cells(source, columns, &levels, rows, max_cells));
        }
        Ok(())
    };
    let end = |stream: u64| merge.end_stream(stream);
    let rows_read = match source.format {
        // A CSV is parsed on one thread: aggregate on a second one meanwhile.
        input::Format::Csv => pipelined(
            |send| input::read_streams(source, columns, send, &end),
            &sink,
        )?,
        input::Format::Parquet => input::read_streams(source, columns, &sink, &end)?,
    };
    let (table, skipped) = merge.finish();
    if table.cells.len() > max_cells {
        return Err(too_many_cells(source, columns, &[], 0, max_cells));
    }
    Ok(Aggregate {
        table,
        rows_read,
        skipped,
    })
}

/// Run `read` with a sink that queues each batch (at most two waiting) for `consume` on a
/// second thread, in order, so that reading and aggregating overlap. An error of `consume`
/// stops the reader at its next batch and is the one returned.
fn pipelined(
    read: impl FnOnce(&input::Sink<'_>) -> Result<u64>,
    consume: &input::Sink<'_>,
) -> Result<u64> {
    let (queue, batches) = std::sync::mpsc::sync_channel::<(u64, Batch)>(2);
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || -> Result<()> {
            for (seq, batch) in batches {
                consume(seq, batch)?;
            }
            Ok(())
        });
        let send = move |seq: u64, batch: Batch| -> Result<()> {
            // Fails only when the worker stopped on an error, which is returned below.
            queue.send((seq, batch)).map_err(|_| Error::Schema {
                path: std::path::PathBuf::new(),
                msg: "aggregation stopped".into(),
            })
        };
        let read = read(&send);
        drop(send);
        let consumed = worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        consumed?;
        read
    })
}

/// The error for more than `max` cells; names the protected column with the most distinct
/// values in `batch` (the likely identifier).
fn too_many_cells(
    source: &Source,
    columns: &Columns,
    levels: &[usize],
    rows: usize,
    max: usize,
) -> Error {
    let widest = levels
        .iter()
        .zip(&columns.protected)
        .max_by_key(|(n, _)| **n)
        .map(|(n, name)| format!(" (column '{name}' alone has {n} distinct values in {rows} rows)"))
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
    let mut table = unsettled_batch(batch, options);
    table.settle();
    table
}

/// [`aggregate_batch`] leaving the cells unsettled, to be merged into a stream's table.
fn unsettled_batch(batch: &Batch, options: AggregateOptions) -> CellTable {
    let mut table = CellTable::default();
    let mut dense = DenseCounts::default();
    fold_batch(batch, options, &mut table, &mut dense);
    dense.flush_into(&mut table, options.bins);
    table
}

/// Continue `folded`'s statistics with the rows of `batch`, in row order within each cell;
/// rows of weight 1 with a grid score go to `dense` instead (see [`fold_unit_rows`]), to be
/// flushed into `folded` when the stream is merged, or kept pending with the counts of other
/// finished streams ([`MergeState::merge_stream`]).
fn fold_batch(
    batch: &Batch,
    options: AggregateOptions,
    folded: &mut CellTable,
    dense: &mut DenseCounts,
) {
    if !dense.can_count(batch.len()) {
        dense.flush_into(folded, options.bins);
    }
    let (cell_of_row, keys) = cell_indices(batch);
    // Each cell's running statistics continue in place, row by row in file order, so no sum
    // depends on where the reader split the rows into batches (issue 9).
    let mut stats: Vec<GroupStats> = keys
        .iter()
        .map(|key| match folded.cells.get_mut(key) {
            Some(mine) => std::mem::take(mine),
            None => GroupStats::unsettled(options.bins),
        })
        .collect();
    match (&batch.weight, &batch.score) {
        (None, Some(score)) => fold_unit_rows(&mut stats, &keys, batch, &cell_of_row, score, dense),
        (Some(w), Some(score)) => push_rows(&mut stats, batch, &cell_of_row, |r| w[r], score),
        (weight, None) => {
            for (row, &cell) in cell_of_row.iter().enumerate() {
                let w = weight.as_ref().map_or(1.0, |w| w[row]);
                stats[cell as usize].push(batch.label[row], batch.prediction[row], None, w);
            }
        }
    }
    for (key, cell) in keys.into_iter().zip(stats) {
        folded.cells.insert(key, cell);
    }
}

/// Fold the rows of a batch without weights and with a score. A cell that is unsettled and
/// has (or, with this batch, reaches) [`GRID_AFTER`] rows in the stream is counted in
/// `dense`, as are those `dense` already counts; its rows with a grid score are counted there,
/// all at once. Every other row is pushed into its cell, in row order. Unsettled statistics
/// are integer counts, so neither the split nor the order changes a value (issue 8).
fn fold_unit_rows(
    stats: &mut [GroupStats],
    keys: &[CellKey],
    batch: &Batch,
    cell_of_row: &[u32],
    score: &[f64],
    dense: &mut DenseCounts,
) {
    let rows = cell_of_row.len();
    let rows_of_cell = rows_per_cell(cell_of_row, keys.len());
    let dense_cell: Vec<u32> = (keys.iter().zip(&*stats).zip(&rows_of_cell))
        .map(|((key, stats), &n)| {
            let counted = dense.contains(key)
                || (dense.has_room()
                    && (stats.score.distribution.on_grid() || stats.rows + n >= GRID_AFTER as u64));
            if stats.unsettled && counted {
                dense.id(key)
            } else {
                u32::MAX
            }
        })
        .collect();
    let (label, decision, score) = (
        &batch.label[..rows],
        &batch.prediction[..rows],
        &score[..rows],
    );
    let batch_rows = dense::BatchRows {
        cell_of_row,
        score,
        label,
        decision,
    };
    let Some(codes) = dense.count_batch(&dense_cell, batch_rows) else {
        return;
    };
    for (row, _) in (codes.iter().enumerate()).filter(|(_, &c)| c == dense::NOT_COUNTED) {
        let slot = grid_slot_u32(score[row]);
        let stats = &mut stats[cell_of_row[row] as usize];
        if !stats.push_unit(label[row], decision[row], slot, 1.0) {
            stats.push_scored(label[row], decision[row], score[row], slot, 1.0);
        }
    }
}

/// The number of rows of each of `cells` cells, from each row's cell. Four counts per cell,
/// for rows r mod 4, so that rows of one cell in a row do not wait for each other's
/// increment (issue 8).
fn rows_per_cell(cell_of_row: &[u32], cells: usize) -> Vec<u64> {
    let mut lanes = vec![[0u64; 4]; cells];
    let mut fours = cell_of_row.chunks_exact(4);
    for four in &mut fours {
        for lane in 0..4 {
            lanes[four[lane] as usize][lane] += 1;
        }
    }
    for &cell in fours.remainder() {
        lanes[cell as usize][0] += 1;
    }
    lanes.iter().map(|l| l.iter().sum()).collect()
}

/// The [`grid_slot`] of each score, `u32::MAX` for a score off the grid.
fn grid_slots(score: &[f64]) -> Vec<u32> {
    (score.iter())
        .copied()
        .map(distribution::grid_slot_u32)
        .collect()
}

/// Push every row of a batch with a score column into its cell, in row order.
///
/// The score slots of the rows are scattered over the cells' distributions, so each row's
/// slot is prefetched a few rows ahead (issue 8).
#[inline]
fn push_rows(
    stats: &mut [GroupStats],
    batch: &Batch,
    cell_of_row: &[u32],
    weight: impl Fn(usize) -> f64,
    score: &[f64],
) {
    let rows = cell_of_row.len();
    let (label, prediction) = (&batch.label[..rows], &batch.prediction[..rows]);
    let score = &score[..rows];
    let slots = grid_slots(score);
    // How many rows ahead a row's score slot is prefetched: enough to cover a miss to L3.
    const AHEAD: usize = 16;
    for (row, &cell) in cell_of_row.iter().enumerate() {
        if let Some(&ahead) = cell_of_row.get(row + AHEAD) {
            (stats[ahead as usize].score.distribution).prefetch(slots[row + AHEAD]);
        }
        let (stats, w) = (&mut stats[cell as usize], weight(row));
        if !stats.push_unit(label[row], prediction[row], slots[row], w) {
            stats.push_scored(label[row], prediction[row], score[row], slots[row], w);
        }
    }
}

/// Largest product of level counts for which cells are numbered through a dense table.
const DENSE_CELLS: usize = 1 << 20;

/// Assign each row a dense cell number (in order of first appearance); return the numbers and
/// each cell's key.
pub(crate) fn cell_indices(batch: &Batch) -> (Vec<u32>, Vec<CellKey>) {
    let n = batch.len();
    let radices: Vec<usize> = (batch.protected.iter())
        .map(|c| c.levels.len().max(1))
        .collect();
    let product = (radices.iter()).try_fold(1usize, |p, &r| p.checked_mul(r));
    let mut first_row: Vec<usize> = Vec::new();
    let cell_of_row: Vec<u32> = match product {
        // Few combinations: a table indexed by the mixed-radix code replaces the hash map.
        Some(cells) if cells <= DENSE_CELLS => {
            let mut code = vec![0u32; n];
            let mut stride = 1u32;
            for (column, &radix) in batch.protected.iter().zip(&radices) {
                for (c, &level) in code.iter_mut().zip(&column.codes[..n]) {
                    *c += level * stride;
                }
                stride = stride.saturating_mul(radix as u32);
            }
            let mut dense = vec![u32::MAX; cells];
            code.iter_mut().enumerate().for_each(|(row, c)| {
                let slot = &mut dense[*c as usize];
                if *slot == u32::MAX {
                    *slot = first_row.len() as u32;
                    first_row.push(row);
                }
                *c = *slot;
            });
            code
        }
        _ => {
            // Mixed-radix code of the row's level codes; the product of level counts of one
            // batch is at most n^k, so it fits in u128 for any realistic k.
            let mut code = vec![0u128; n];
            let mut stride = 1u128;
            for column in &batch.protected {
                for (c, &level) in code.iter_mut().zip(&column.codes) {
                    *c += u128::from(level) * stride;
                }
                stride = stride.saturating_mul(column.levels.len().max(1) as u128);
            }
            let mut dense: HashMap<u128, u32> = HashMap::new();
            code.iter()
                .enumerate()
                .map(|(row, c)| {
                    *dense.entry(*c).or_insert_with(|| {
                        first_row.push(row);
                        (first_row.len() - 1) as u32
                    })
                })
                .collect()
        }
    };
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
/// are folded as soon as every earlier batch of that stream has arrived (the batch that is
/// next in its stream is folded straight into the stream's table, without a per-batch table),
/// so memory holds one table per stream plus the batches that arrived early. A stream that a
/// reader declares complete ([`OrderedMerge::end_stream`]) is merged into the result as soon
/// as every earlier stream is, so memory does not grow with the number of streams either.
/// The merge order is therefore the file order, whatever the thread scheduling.
#[derive(Debug, Default)]
pub struct OrderedMerge {
    state: Mutex<MergeState>,
}

#[derive(Debug, Default)]
struct MergeState {
    /// Streams `0..next_stream`, merged in order, except for `pending`.
    merged: CellTable,
    /// Dense counts of merged streams not yet added to `merged` (see
    /// [`MergeState::merge_stream`]).
    pending: DenseCounts,
    /// Calibration bins of the statistics (known from the first batch folded).
    bins: usize,
    next_stream: u64,
    streams: BTreeMap<u64, StreamState>,
    skipped: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct StreamState {
    folded: CellTable,
    /// Rows of `folded`'s cells counted densely; flushed into it when the stream is merged,
    /// or added to the pending counts ([`MergeState::merge_stream`]).
    dense: DenseCounts,
    next: u64,
    early: BTreeMap<u64, CellTable>,
    /// The reader said that no more batches follow.
    ended: bool,
}

impl StreamState {
    /// The stream's statistics, with its dense counts flushed in.
    fn into_table(mut self, bins: usize) -> CellTable {
        let mut table = std::mem::take(&mut self.folded);
        self.dense.flush_into(&mut table, bins);
        table
    }

    /// Fold the early batches that are now next.
    fn drain(&mut self) {
        while let Some(next) = self.early.remove(&self.next) {
            self.folded.merge(next);
            self.next += 1;
        }
    }
}

impl MergeState {
    /// Merge the complete streams that are next in file order.
    fn advance(&mut self) {
        while let Some(s) = self.streams.get(&self.next_stream) {
            if !(s.ended && s.early.is_empty()) {
                break;
            }
            if let Some(s) = self.streams.remove(&self.next_stream) {
                self.merge_stream(s);
            }
            self.next_stream += 1;
        }
    }

    /// Merge the complete stream `s`, next in file order.
    ///
    /// Its dense counts are added to `pending` (one count array to another) instead of
    /// becoming score distributions merged into `merged`, which cost 5 ms per row group of
    /// 40 cells (issue 8), when that cannot change a value: every cell of the stream is
    /// unsettled here and there, with room below [`MAX_DISTINCT`] for both sides' distinct
    /// scores and two grids more. Then no merge of these cells settles them, now or when
    /// `pending` is flushed, and unsettled statistics are integer counts, whose sums do not
    /// depend on the order of the additions. Otherwise `pending` is flushed into `merged`
    /// first and the stream merged as before.
    fn merge_stream(&mut self, s: StreamState) {
        let StreamState {
            mut folded,
            mut dense,
            ..
        } = s;
        if self.deferrable(&folded, &dense) && self.pending.absorb(&dense) {
            self.merged.merge(folded);
            return;
        }
        // Flushed and started afresh, so that the cells it no longer counts free their slots.
        std::mem::take(&mut self.pending).flush_into(&mut self.merged, self.bins);
        dense.flush_into(&mut folded, self.bins);
        self.merged.merge(folded);
    }

    /// True when the cells of a stream's `folded` table and `dense` counts are unsettled
    /// here and in `folded`, with room for every distinct score (see
    /// [`merge_stream`](Self::merge_stream)).
    fn deferrable(&self, folded: &CellTable, dense: &DenseCounts) -> bool {
        let plain = |key: &CellKey| {
            let (mine, theirs) = (self.merged.cells.get(key), folded.cells.get(key));
            let unsettled = |s: Option<&GroupStats>| s.is_none_or(|s| s.unsettled);
            let distinct = |s: Option<&GroupStats>| s.map_or(0, |s| s.score.distribution.len());
            unsettled(mine)
                && unsettled(theirs)
                && distinct(mine) + distinct(theirs) + 2 * dense::SLOTS < MAX_DISTINCT
        };
        folded.cells.keys().all(plain) && dense.counted_cells().all(plain)
    }

    /// The cells a new stream counts densely from its first row ([`DenseCounts`]): those
    /// still unsettled that `pending` counts, or that had at least [`GRID_AFTER`] rows per
    /// stream over the streams merged so far (issue 8). Speed only; no value depends on it.
    fn dense_template(&self) -> DenseCounts {
        let streams = self.next_stream;
        let unsettled = |key: &&CellKey| self.merged.cells.get(*key).is_none_or(|s| s.unsettled);
        let pending = self.pending.counted_cells().filter(unsettled);
        let merged = (self.merged.cells.iter())
            .filter(|(_, stats)| stats.unsettled && stats.rows >= GRID_AFTER as u64 * streams)
            .map(|(key, _)| key)
            .filter(|key| !self.pending.contains(key));
        DenseCounts::with_cells(
            (pending.chain(merged))
                .take(dense::MAX_DENSE_CELLS)
                .cloned(),
        )
    }
}

impl OrderedMerge {
    /// Hand in the result of batch `seq`.
    pub fn push(&self, seq: u64, partial: CellTable, skipped: BTreeMap<String, u64>) {
        let (stream, index) = input::split_batch_seq(seq);
        let mut state = self.lock();
        for (reason, count) in skipped {
            *state.skipped.entry(reason).or_default() += count;
        }
        let s = state.streams.entry(stream).or_default();
        s.early.insert(index, partial);
        s.drain();
        state.advance();
    }

    /// Aggregate batch `seq` and hand in the result: the same as
    /// `push(seq, aggregate_batch(&batch, options), batch.skipped)`, but a batch that is next
    /// in its stream is folded into the stream's table directly.
    pub fn fold(&self, seq: u64, batch: Batch, options: AggregateOptions) {
        let (stream, index) = input::split_batch_seq(seq);
        let mut state = self.lock();
        let s = state.streams.entry(stream).or_default();
        if s.next != index {
            drop(state);
            let partial = unsettled_batch(&batch, options);
            return self.push(seq, partial, batch.skipped);
        }
        // Only this batch has index `next`, so no other thread touches the table meanwhile:
        // others only add early batches, which are folded after this one.
        let mut folded = std::mem::take(&mut s.folded);
        let mut dense = std::mem::take(&mut s.dense);
        if index == 0 && folded.cells.is_empty() {
            dense = state.dense_template();
        }
        state.bins = options.bins;
        drop(state);
        fold_batch(&batch, options, &mut folded, &mut dense);
        let mut state = self.lock();
        for (reason, count) in batch.skipped {
            *state.skipped.entry(reason).or_default() += count;
        }
        let s = state.streams.entry(stream).or_default();
        s.folded = folded;
        s.dense = dense;
        s.next += 1;
        s.drain();
        state.advance();
    }

    /// The reader will hand in no more batches of `stream`.
    pub fn end_stream(&self, stream: u64) {
        let mut state = self.lock();
        state.streams.entry(stream).or_default().ended = true;
        state.advance();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MergeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most cells folded into one stream so far: a lower bound of the cells of the whole.
    pub fn largest_stream(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .streams
            .values()
            .map(|s| s.folded.cells.len())
            .chain([state.merged.cells.len()])
            .max()
            .unwrap_or(0)
    }

    /// All partials merged in ascending sequence order.
    pub fn finish(self) -> (CellTable, BTreeMap<String, u64>) {
        let mut state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut merged = std::mem::take(&mut state.merged);
        // No lock is held here: the cells may be formed and merged in parallel.
        state
            .pending
            .flush_into_in_parallel(&mut merged, state.bins);
        for (_, mut stream) in state.streams {
            let early = std::mem::take(&mut stream.early);
            merged.merge(stream.into_table(state.bins));
            // Only reached if a reader skipped an index; still merged in order.
            for (_, partial) in early {
                merged.merge(partial);
            }
        }
        merged.settle();
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
            outcomes: None,
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

    /// Bit-level view of a table, so that equal means equal to the bit.
    fn bits(t: &CellTable) -> String {
        format!("{t:?}")
    }

    /// [`bits`] with each score distribution as its sorted points, whatever its storage (a
    /// hash map's order depends on its history).
    fn canonical_bits(t: &CellTable) -> String {
        let sorted: Vec<_> = (t.cells.values())
            .map(|g| g.score.distribution.sorted())
            .collect();
        let mut t = t.clone();
        (t.cells.values_mut()).for_each(|g| g.score.distribution.clear());
        format!("{} {sorted:?}", bits(&t))
    }

    #[test]
    fn folding_batches_equals_pushing_every_row_in_file_order_to_the_bit() {
        // Many rows on the score grid (so distributions move to dense storage) and some off it.
        let groups = ["a", "b", "", "c"];
        let rows: Vec<(bool, bool, f64, &str)> = (0..20_000)
            .map(|i| {
                let s = if i % 97 == 0 {
                    0.123_456_7
                } else {
                    ((i * 7919) % 10_001) as f64 / 1e4
                };
                (i % 3 == 0, s >= 0.5, s, groups[i % 4])
            })
            .collect();
        let opts = AggregateOptions { bins: 10 };
        // Unweighted (cells stay unsettled to the end), weighted from the first row, and
        // weight 1 until a later row (cells settle midway).
        for weighted in [0, 1, 2] {
            let make = |part: &[(bool, bool, f64, &str)]| {
                let mut b = batch(part);
                let w = |i: usize| match weighted {
                    1 => 0.3 + (i % 7) as f64,
                    _ if i % 1000 == 999 => 2.5,
                    _ => 1.0,
                };
                if weighted > 0 {
                    b.weight = Some((0..part.len()).map(w).collect());
                }
                b
            };
            let parts = [make(&rows[..7000]), make(&rows[7000..]), make(&rows[..50])];
            // The reference: every row pushed into its cell one by one, in file order, so
            // the sums cannot depend on where batches split (issue 9).
            let mut merged = CellTable::default();
            let mut folded = CellTable::default();
            let mut dense = DenseCounts::default();
            for p in &parts {
                for row in 0..p.len() {
                    let level = &p.protected[0].levels[p.protected[0].codes[row] as usize];
                    let w = p.weight.as_ref().map_or(1.0, |w| w[row]);
                    let score = p.score.as_ref().map(|s| s[row]);
                    merged
                        .cells
                        .entry(vec![level.clone()])
                        .or_insert_with(|| GroupStats::with_bins(opts.bins))
                        .push(p.label[row], p.prediction[row], score, w);
                }
                fold_batch(p, opts, &mut folded, &mut dense);
            }
            dense.flush_into(&mut folded, opts.bins);
            folded.settle();
            assert_eq!(folded, merged);
            assert_eq!(
                canonical_bits(&folded),
                canonical_bits(&merged),
                "weighted: {weighted}"
            );
        }
    }

    /// Rows of one cell per group name, on the grid except every 97th row.
    fn unit_rows(n: usize, groups: &[&'static str]) -> Vec<(bool, bool, f64, &'static str)> {
        (0..n)
            .map(|i| {
                let s = if i % 97 == 0 {
                    0.123_456_7
                } else {
                    ((i * 7919) % 10_001) as f64 / 1e4
                };
                (i % 3 == 0, s >= 0.5, s, groups[i % groups.len()])
            })
            .collect()
    }

    /// The settled table of `rows` folded batch by batch (`split` rows each) into one stream
    /// with dense counts `dense`.
    fn folded(rows: &[(bool, bool, f64, &str)], split: usize, mut dense: DenseCounts) -> String {
        let opts = AggregateOptions { bins: 10 };
        let mut folded = CellTable::default();
        for part in rows.chunks(split) {
            fold_batch(&batch(part), opts, &mut folded, &mut dense);
        }
        dense.flush_into(&mut folded, opts.bins);
        folded.settle();
        canonical_bits(&folded)
    }

    #[test]
    fn dense_counts_flushed_midway_or_full_give_the_same_bits() {
        // Flushed before every batch that would pass 5,000 rows since the last flush, against
        // counted to the end; both against every row pushed one by one.
        let rows = unit_rows(30_000, &["a", "b", ""]);
        let reference = {
            let mut table = CellTable::default();
            for &(label, decision, s, g) in &rows {
                (table.cells)
                    .entry(vec![(!g.is_empty()).then(|| g.to_string())])
                    .or_insert_with(|| GroupStats::with_bins(10))
                    .push(label, decision, Some(s), 1.0);
            }
            canonical_bits(&table)
        };
        assert_eq!(folded(&rows, 4000, DenseCounts::default()), reference);
        assert_eq!(
            folded(&rows, 4000, DenseCounts::with_limit(5000)),
            reference
        );
    }

    #[test]
    fn cells_past_the_dense_limit_are_pushed_row_by_row() {
        // Every dense slot taken by cells of no rows: the batch's cell must take the
        // row-by-row path, with the same bits.
        let full = || {
            DenseCounts::with_cells(
                (0..dense::MAX_DENSE_CELLS).map(|i| vec![Some(format!("other {i}"))]),
            )
        };
        let rows = unit_rows(3000, &["a"]);
        let mut dense = full();
        let mut table = CellTable::default();
        fold_batch(
            &batch(&rows),
            AggregateOptions { bins: 10 },
            &mut table,
            &mut dense,
        );
        assert!(!dense.contains(&vec![Some("a".to_string())]));
        assert_eq!(table.cells[&vec![Some("a".to_string())]].rows, 3000);
        assert_eq!(
            folded(&rows, 3000, full()),
            folded(&rows, 3000, DenseCounts::default())
        );
    }

    #[test]
    fn unweighted_streams_settle_to_the_bits_of_one_stream() {
        // Three cells with every grid score: cells are counted densely from stream 0 on, and
        // later streams count them so from their first row (`dense_template`). Unit rows are
        // integer counts until settled at the end, so the split into streams cannot change a
        // bit.
        let groups = ["a", "b", "c"];
        let rows: Vec<(bool, bool, f64, &str)> = (0..17_700)
            .map(|i| {
                let s = ((i * 7919) % 10_001) as f64 / 1e4;
                (i % 3 == 1, s >= 0.5, s, groups[i % 3])
            })
            .collect();
        let opts = AggregateOptions { bins: 10 };
        let one = OrderedMerge::default();
        one.fold(input::batch_seq(0, 0), batch(&rows), opts);
        one.end_stream(0);
        let split = OrderedMerge::default();
        // 5,000 rows per cell, then three streams of 300 per cell: too few rows to be counted
        // densely on their own.
        let parts = [
            &rows[..15_000],
            &rows[15_000..15_900],
            &rows[15_900..16_800],
        ];
        for (stream, part) in parts.into_iter().chain([&rows[16_800..]]).enumerate() {
            let stream = stream as u64;
            split.fold(input::batch_seq(stream, 0), batch(part), opts);
            if stream >= 1 {
                // Started from the template: every cell counted densely.
                let state = split.lock();
                assert_eq!(state.streams[&stream].dense.cells().len(), 3);
            }
            split.end_stream(stream);
        }
        let (one, split) = (one.finish().0, split.finish().0);
        assert_eq!(bits(&one), bits(&split));
        assert!(one.cells.values().all(|c| !c.unsettled && c.rows == 5_900));
    }

    #[test]
    fn dense_counts_kept_across_streams_give_the_bits_of_merging_each_stream() {
        // Streams 0 and 1: cells a and b on the grid, counted densely, their counts kept in
        // `pending`. Stream 2: cell a gets more distinct scores off the grid than a cell keeps
        // unsettled, so it settles there: `pending` must be flushed before that stream is
        // merged. Stream 3: b alone again, kept in `pending` until `finish`.
        let opts = AggregateOptions { bins: 10 };
        let grid = |n: usize, g: &'static str| -> Vec<(bool, bool, f64, &'static str)> {
            (0..n)
                .map(|i| {
                    let s = ((i * 7919) % 10_001) as f64 / 1e4;
                    (i % 3 == 1, s >= 0.5, s, g)
                })
                .collect()
        };
        let off_grid: Vec<(bool, bool, f64, &str)> = (0..MAX_DISTINCT + 5_000)
            .map(|k| {
                let s = (2 * k + 1) as f64 / (4 * MAX_DISTINCT) as f64;
                (k % 5 == 0, s >= 0.5, s, "a")
            })
            .collect();
        let both = |n| [grid(n, "a"), grid(n, "b")].concat();
        let streams = [
            both(3000),
            both(3000),
            [off_grid, grid(3000, "b")].concat(),
            grid(3000, "b"),
        ];
        // The reference: each stream's table with its dense counts flushed in, merged in
        // order, as before `pending`.
        let mut reference = CellTable::default();
        for rows in &streams {
            let (mut table, mut dense) = (CellTable::default(), DenseCounts::default());
            fold_batch(&batch(rows), opts, &mut table, &mut dense);
            dense.flush_into(&mut table, opts.bins);
            reference.merge(table);
        }
        reference.settle();
        let merge = OrderedMerge::default();
        let mut pending = Vec::new();
        for (stream, rows) in streams.iter().enumerate() {
            merge.fold(input::batch_seq(stream as u64, 0), batch(rows), opts);
            merge.end_stream(stream as u64);
            pending.push(merge.lock().pending.counted_cells().count());
        }
        assert_eq!(
            pending,
            [2, 2, 0, 1],
            "cells kept in pending after each stream"
        );
        let table = merge.finish().0;
        assert!(table.cells.values().all(|c| !c.unsettled));
        assert_eq!(
            table.cells[&vec![Some("a".to_string())]].rows,
            6000 + MAX_DISTINCT as u64 + 5000
        );
        assert_eq!(canonical_bits(&table), canonical_bits(&reference));
    }

    #[test]
    fn ended_streams_are_merged_early_and_in_order() {
        let opts = AggregateOptions { bins: 10 };
        let b = |s: f64| batch(&[(true, true, s, "g"), (false, true, s / 2.0, "h")]);
        let reference = OrderedMerge::default();
        let early = OrderedMerge::default();
        // Streams 0 and 1, two batches each; stream 1 arrives first.
        for (stream, index, s) in [(1, 0, 0.3), (1, 1, 0.7), (0, 0, 0.1), (0, 1, 0.9)] {
            let seq = input::batch_seq(stream, index);
            reference.push(seq, aggregate_batch(&b(s), opts), BTreeMap::new());
            early.fold(seq, b(s), opts);
            if index == 1 {
                early.end_stream(stream);
            }
        }
        assert_eq!(early.lock().streams.len(), 0, "both streams merged");
        let (a, r) = (early.finish().0, reference.finish().0);
        assert_eq!(bits(&a), bits(&r));
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
