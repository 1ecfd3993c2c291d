//! [`DenseCounts`]: a stream's common rows counted in one flat array (issue 8).
//!
//! Most rows of an unweighted audit have weight 1 and a score on the 10⁻⁴ grid. Until a cell
//! is settled, such a row changes only integer counts: its cell's confusion count and the
//! rows of its (grid slot, label) in the cell's score distribution
//! ([`GroupStats::unsettled`](super::GroupStats)). So these rows are counted in one array
//! indexed by (cell, slot, label), in passes over a whole batch (compute every row's index,
//! then increment), and the counts become the cells' statistics when they are flushed
//! ([`DenseCounts::flush_into`]): when the stream is merged, or later, from the pending counts
//! that finished streams add up (`MergeState::merge_stream`). Integer counts do not depend on
//! the order of the rows, so every result is the same as pushing the rows one by one; only the
//! speed differs (a tight histogram loop instead of a call per row).

use std::collections::HashMap;

use rayon::prelude::*;

use super::distribution::{grid_slot_u32, ScoreDistribution, GRID_STEPS};
use super::pool::BufferPool;
use super::stats::Confusion;
use super::{CellKey, CellTable, GroupStats};

/// Grid slots per cell: scores `k / GRID_STEPS`, k = 0..=GRID_STEPS.
pub(crate) const SLOTS: usize = GRID_STEPS as usize + 1;

/// Most cells counted densely per stream: 400 cells × 80 kB = 32 MB. Rows of further cells
/// take the row-by-row path, so memory stays bounded however many cells there are.
pub(crate) const MAX_DENSE_CELLS: usize = 400;

/// Count arrays of finished streams, reused by the next stream or the pending counts: at most
/// two kept, so that only a few arrays of up to 32 MB ever exist (one per thread folding a
/// stream, and the pending counts').
static COUNT_ARRAYS: BufferPool<u32> = BufferPool::new(2);

/// What [`DenseCounts::count`] takes for a row of dense cell `cell` (below
/// [`MAX_DENSE_CELLS`]) at grid slot `slot` (at most `GRID_STEPS`): the row's index into the
/// counts in the low 32 bits, its confusion count `cell · 4 + label · 2 + decision` above.
#[inline(always)]
pub(crate) fn row_code(cell: u32, slot: u32, label: bool, decision: bool) -> u64 {
    let (label, decision) = (u32::from(label), u32::from(decision));
    let index = (cell * SLOTS as u32 + slot) * 2 + label;
    let confusion = cell * 4 + label * 2 + decision;
    (u64::from(confusion) << 32) | u64::from(index)
}

/// The [`row_code`] of a row not counted here.
pub(crate) const NOT_COUNTED: u64 = u64::MAX;

/// Write the [`row_code`] of every row to `codes`, [`NOT_COUNTED`] where the row's cell
/// (`cell_of_row`, a batch's cell number) has no dense number (`u32::MAX` in `dense_cell`) or
/// its score is off the grid; true when every row is counted.
///
/// One branch-free pass over the batch, which the compiler vectorises (with AVX2 where the
/// CPU has it: four grid checks, each a division, at once; issue 8).
fn row_codes(dense_cell: &[u32], rows: BatchRows, codes: &mut [u64]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { row_codes_avx2(dense_cell, rows, codes) };
    }
    row_codes_in(dense_cell, rows, codes)
}

/// [`row_codes`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_codes_avx2(dense_cell: &[u32], rows: BatchRows, codes: &mut [u64]) -> bool {
    row_codes_in(dense_cell, rows, codes)
}

/// The loop of [`row_codes`], for each instruction set.
#[inline(always)]
fn row_codes_in(dense_cell: &[u32], rows: BatchRows, codes: &mut [u64]) -> bool {
    // Every cell number indexes `dense_cell`; the clamp lets the compiler see it (it changes
    // no index), and the rows not counted are counted, a plain sum (LLVM vectorised neither
    // the loop with bounds checks nor the one that and-ed a flag).
    debug_assert!(rows
        .cell_of_row
        .iter()
        .all(|&c| (c as usize) < dense_cell.len()));
    let Some(last) = dense_cell.len().checked_sub(1) else {
        codes.fill(NOT_COUNTED);
        return codes.is_empty();
    };
    let BatchRows {
        cell_of_row,
        score,
        label,
        decision,
    } = rows;
    let mut missed = 0usize;
    let rows = (cell_of_row.iter().zip(score)).zip(label.iter().zip(decision));
    for (code, ((&cell, &score), (&label, &decision))) in codes.iter_mut().zip(rows) {
        let cell = dense_cell[(cell as usize).min(last)];
        let slot = grid_slot_u32(score);
        let counted = (cell != u32::MAX) & (slot != u32::MAX);
        missed += usize::from(!counted);
        let counted_code = row_code(
            if counted { cell } else { 0 },
            if counted { slot } else { 0 },
            label,
            decision,
        );
        *code = if counted { counted_code } else { NOT_COUNTED };
    }
    missed == 0
}

/// The rows of a batch as [`DenseCounts::count_batch`] reads them: each row's cell number in
/// the batch, score, label and decision (slices of one length).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchRows<'a> {
    pub cell_of_row: &'a [u32],
    pub score: &'a [f64],
    pub label: &'a [bool],
    pub decision: &'a [bool],
}

/// Counts of dense rows: of one stream, or pending, of finished streams (see the module
/// documentation).
#[derive(Debug)]
pub(crate) struct DenseCounts {
    /// Dense number of each cell counted here.
    ids: HashMap<CellKey, u32>,
    /// The cells by dense number.
    keys: Vec<CellKey>,
    /// Rows per cell, grid slot and label: index `(cell · SLOTS + slot) · 2 + label`.
    rows: Vec<u32>,
    /// Confusion counts per cell, index `2 · label + decision` (TN, FP, FN, TP).
    confusion: Vec<[u64; 4]>,
    /// The [`row_code`]s of the last batch counted (kept, so that no batch allocates or
    /// zeroes its own).
    codes: Vec<u64>,
    /// Rows counted since the last flush: no count can pass this, so flushing before it
    /// passes `limit` keeps every count exact.
    counted: u64,
    /// Most rows counted between flushes: `u32::MAX` (smaller in tests).
    limit: u64,
}

impl Default for DenseCounts {
    fn default() -> Self {
        DenseCounts {
            ids: HashMap::new(),
            keys: Vec::new(),
            rows: Vec::new(),
            confusion: Vec::new(),
            codes: Vec::new(),
            counted: 0,
            limit: u64::from(u32::MAX),
        }
    }
}

impl DenseCounts {
    /// Counts that number `keys` first (the cells earlier streams counted densely).
    pub(crate) fn with_cells(keys: impl IntoIterator<Item = CellKey>) -> Self {
        let mut dense = DenseCounts::default();
        for key in keys {
            dense.id(&key);
        }
        dense
    }

    /// True when `key` is counted here.
    pub(crate) fn contains(&self, key: &CellKey) -> bool {
        self.ids.contains_key(key)
    }

    /// True when another cell can be added.
    pub(crate) fn has_room(&self) -> bool {
        self.keys.len() < MAX_DENSE_CELLS
    }

    /// The dense number of `key`, adding the cell (with zero counts) if new.
    pub(crate) fn id(&mut self, key: &CellKey) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        if self.rows.capacity() == 0 {
            self.rows = COUNT_ARRAYS.take();
        }
        let id = self.keys.len() as u32;
        self.ids.insert(key.clone(), id);
        self.keys.push(key.clone());
        self.rows.resize(self.rows.len() + 2 * SLOTS, 0);
        self.confusion.push([0; 4]);
        id
    }

    /// True when `more` rows can be counted without a flush.
    pub(crate) fn can_count(&self, more: usize) -> bool {
        self.counted + more as u64 <= self.limit
    }

    /// Counts that flush every `limit` rows or more often, to test the flushes.
    #[cfg(test)]
    pub(crate) fn with_limit(limit: u64) -> Self {
        let mut dense = DenseCounts::default();
        dense.limit = limit;
        dense
    }

    /// Count the rows of a batch whose cell has a dense number in `dense_cell` (by the
    /// batch's cell number; `u32::MAX` for none) and whose score is on the grid; `None` when
    /// that is every row, otherwise each row's [`row_code`], [`NOT_COUNTED`] for the rows left
    /// to the caller.
    pub(crate) fn count_batch(&mut self, dense_cell: &[u32], rows: BatchRows) -> Option<&[u64]> {
        let n = rows.cell_of_row.len();
        // The codes of a longer batch before stay in the buffer past `n`, never read; so every
        // row of this one must be coded.
        assert!(rows.score.len() == n && rows.label.len() == n && rows.decision.len() == n);
        let mut codes = std::mem::take(&mut self.codes);
        if codes.len() < n {
            codes.resize(n, NOT_COUNTED);
        }
        let all_counted = row_codes(dense_cell, rows, &mut codes[..n]);
        self.count(&codes[..n]);
        self.codes = codes;
        (!all_counted).then(|| &self.codes[..n])
    }

    /// Count every row whose [`row_code`] is not [`NOT_COUNTED`].
    ///
    /// Two tight loops over the codes, the increments of the counts (the loop keeps many cache
    /// misses in flight; sorting the rows by cell, or counting in the pass that computes the
    /// codes, was slower) and those of the confusion counts.
    fn count(&mut self, codes: &[u64]) {
        let mut counted = 0;
        for &code in codes {
            if let Some(count) = self.rows.get_mut(code as u32 as usize) {
                *count += 1;
                counted += 1;
            }
        }
        let confusion = self.confusion.as_flattened_mut();
        for &code in codes {
            if let Some(count) = confusion.get_mut((code >> 32) as usize) {
                *count += 1;
            }
        }
        self.counted += counted;
    }

    /// The cells with at least one row counted since the last flush.
    pub(crate) fn counted_cells(&self) -> impl Iterator<Item = &CellKey> {
        (self.keys.iter().zip(&self.confusion))
            .filter(|(_, confusion)| **confusion != [0; 4])
            .map(|(key, _)| key)
    }

    /// Add the counts of `other` (another stream's) to these, cell by cell; false, and
    /// nothing added, when its cells do not fit beside these or a count could pass the flush
    /// limit.
    pub(crate) fn absorb(&mut self, other: &DenseCounts) -> bool {
        let new = (other.keys.iter())
            .filter(|key| !self.contains(key))
            .count();
        if self.keys.len() + new > MAX_DENSE_CELLS || self.counted + other.counted > self.limit {
            return false;
        }
        for (i, key) in other.keys.iter().enumerate() {
            if other.confusion[i] == [0; 4] {
                continue;
            }
            let j = self.id(key) as usize;
            let theirs = &other.rows[i * 2 * SLOTS..][..2 * SLOTS];
            for (mine, theirs) in self.rows[j * 2 * SLOTS..][..2 * SLOTS]
                .iter_mut()
                .zip(theirs)
            {
                *mine += theirs;
            }
            for (mine, theirs) in self.confusion[j].iter_mut().zip(other.confusion[i]) {
                *mine += theirs;
            }
        }
        self.counted += other.counted;
        true
    }

    /// Add the counts to `table`'s cells as unsettled statistics with `bins` calibration bins
    /// (cell-wise [`GroupStats::merge`]), and start again from zero counts.
    pub(crate) fn flush_into(&mut self, table: &mut CellTable, bins: usize) {
        if self.counted == 0 {
            return;
        }
        let counted = (self.keys.iter().enumerate())
            .filter_map(|(id, key)| Some((key.clone(), self.cell_stats(id, bins)?)))
            .collect();
        table.merge(CellTable { cells: counted });
        self.reset();
    }

    /// [`flush_into`](Self::flush_into), forming and merging the cells in parallel (each turns
    /// 10,001 slots into a distribution: issue 8). Only where no lock is held: a thread that
    /// waits for rayon's tasks runs others meanwhile, and one that locks the same lock again
    /// would deadlock.
    pub(crate) fn flush_into_in_parallel(&mut self, table: &mut CellTable, bins: usize) {
        if self.counted == 0 {
            return;
        }
        let counted = (self.keys.par_iter().enumerate())
            .filter_map(|(id, key)| Some((key.clone(), self.cell_stats(id, bins)?)))
            .collect();
        table.merge_in_parallel(CellTable { cells: counted });
        self.reset();
    }

    /// The unsettled statistics of dense cell `id`, `None` when it counted no row.
    fn cell_stats(&self, id: usize, bins: usize) -> Option<GroupStats> {
        let [tn, fp, fn_, tp] = self.confusion[id];
        let rows = tn + fp + fn_ + tp;
        if rows == 0 {
            return None;
        }
        let mut stats = GroupStats::unsettled(bins);
        stats.rows = rows;
        stats.counts = Confusion { tp, fp, tn, fn_ };
        stats.score.rows = rows;
        stats.score.distribution =
            ScoreDistribution::from_grid_rows(&self.rows[id * 2 * SLOTS..][..2 * SLOTS]);
        Some(stats)
    }

    /// Zero counts, the cells kept.
    fn reset(&mut self) {
        self.rows.fill(0);
        self.confusion.fill([0; 4]);
        self.counted = 0;
    }

    /// The cells counted here.
    #[cfg(test)]
    pub(crate) fn cells(&self) -> &[CellKey] {
        &self.keys
    }
}

impl Drop for DenseCounts {
    /// Hand the count array to the next stream.
    fn drop(&mut self) {
        COUNT_ARRAYS.give(std::mem::take(&mut self.rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::grid_slot;

    /// Each row's cell number, score, label and decision.
    type Columns = (Vec<u32>, Vec<f64>, Vec<bool>, Vec<bool>);

    /// A batch of 203 rows (so that the vectorised loop and its remainder both run) over
    /// three cells, the middle one without a dense number, with scores on the grid, between
    /// grid points, out of [0, 1] and NaN.
    fn batch() -> Columns {
        let scores = [
            0.0,
            0.5,
            1.0,
            0.1234,
            0.12345,
            1.5,
            -0.25,
            f64::NAN,
            0.9999,
            1e-300,
        ];
        let rows = 0..203;
        (
            rows.clone().map(|r| (r * 7 % 3) as u32).collect(),
            rows.clone().map(|r| scores[r % scores.len()]).collect(),
            rows.clone().map(|r| r % 2 == 0).collect(),
            rows.map(|r| r % 5 < 2).collect(),
        )
    }

    /// The first n rows of `columns`, with the scores `score`.
    fn first<'a>(columns: &'a Columns, n: usize, score: &'a [f64]) -> BatchRows<'a> {
        BatchRows {
            cell_of_row: &columns.0[..n],
            score: &score[..n],
            label: &columns.2[..n],
            decision: &columns.3[..n],
        }
    }

    #[test]
    fn row_codes_are_each_rows_code_or_not_counted_with_and_without_avx2() {
        let dense_cell = [4, u32::MAX, 0];
        let columns = batch();
        let (cell_of_row, score, label, decision) = &columns;
        let rows = first(&columns, cell_of_row.len(), score);
        let expected: Vec<u64> = (0..cell_of_row.len())
            .map(|r| {
                let cell = dense_cell[cell_of_row[r] as usize];
                match (cell, grid_slot_u32(score[r])) {
                    (u32::MAX, _) | (_, u32::MAX) => NOT_COUNTED,
                    (cell, slot) => row_code(cell, slot, label[r], decision[r]),
                }
            })
            .collect();
        assert!(expected.contains(&NOT_COUNTED) && expected.iter().any(|&c| c != NOT_COUNTED));
        let mut portable = vec![0; cell_of_row.len()];
        assert!(!row_codes_in(&dense_cell, rows, &mut portable));
        assert_eq!(portable, expected);
        let mut dispatched = vec![0; cell_of_row.len()];
        assert!(!row_codes(&dense_cell, rows, &mut dispatched));
        assert_eq!(dispatched, expected);
        // Only the cells with a dense number and grid scores: every row counted.
        let on_grid: Vec<f64> = score
            .iter()
            .map(|&s| if grid_slot(s).is_some() { s } else { 0.5 })
            .collect();
        let all = BatchRows {
            score: &on_grid,
            ..rows
        };
        assert!(row_codes(&[1, 2, 3], all, &mut dispatched));
        assert!(!dispatched.contains(&NOT_COUNTED));
    }

    #[test]
    fn a_batch_is_counted_once_per_counted_row() {
        let columns = batch();
        let rows = first(&columns, columns.0.len(), &columns.1);
        let mut dense = DenseCounts::default();
        let ids = [
            dense.id(&vec![Some("a".into())]),
            u32::MAX,
            dense.id(&vec![Some("b".into())]),
        ];
        let left = dense.count_batch(&ids, rows).unwrap().to_vec();
        let counted = left.iter().filter(|&&c| c != NOT_COUNTED).count();
        assert_eq!(dense.counted, counted as u64);
        assert_eq!(
            dense.rows.iter().map(|&n| u64::from(n)).sum::<u64>(),
            counted as u64
        );
        let confusion: u64 = dense.confusion.iter().flatten().sum();
        assert_eq!(confusion, counted as u64);
        for (r, &code) in left.iter().enumerate().filter(|(_, &c)| c != NOT_COUNTED) {
            assert!(dense.rows[code as u32 as usize] > 0, "row {r}");
        }
    }
    #[test]
    fn the_codes_buffer_serves_batches_of_any_length_in_turn() {
        let columns = batch();
        let on_grid: Vec<f64> = (columns.1.iter())
            .map(|&s| if grid_slot(s).is_some() { s } else { 0.5 })
            .collect();
        let mut dense = DenseCounts::default();
        let (a, b) = (
            dense.id(&vec![Some("a".into())]),
            dense.id(&vec![Some("b".into())]),
        );
        let batches = [
            ([a, u32::MAX, b], first(&columns, 203, &columns.1)),
            ([a, u32::MAX, b], first(&columns, 37, &columns.1)),
            ([a, b, a], first(&columns, 150, &on_grid)),
        ];
        // The counts of each row with a dense cell and a grid score, one by one.
        let mut expected = vec![0u32; 2 * 2 * SLOTS];
        for (ids, rows) in &batches {
            let counted = (0..rows.cell_of_row.len()).filter_map(|r| {
                let id = ids[rows.cell_of_row[r] as usize];
                let slot = grid_slot(rows.score[r])?;
                (id != u32::MAX).then(|| (id as usize * SLOTS + slot) * 2 + rows.label[r] as usize)
            });
            counted.for_each(|i| expected[i] += 1);
        }
        let left: Vec<Option<usize>> = (batches.iter())
            .map(|(ids, rows)| dense.count_batch(ids, *rows).map(<[u64]>::len))
            .collect();
        assert_eq!(left, [Some(203), Some(37), None]);
        assert_eq!(dense.rows[..expected.len()], expected[..]);
        let total: u32 = expected.iter().sum();
        assert_eq!(dense.counted, u64::from(total));
    }
}
