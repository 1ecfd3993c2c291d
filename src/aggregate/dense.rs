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

use super::distribution::{ScoreDistribution, GRID_STEPS};
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

    /// Count every row whose [`row_code`] is not [`NOT_COUNTED`].
    ///
    /// Two tight loops over the codes, the increments of the counts (the loop keeps many cache
    /// misses in flight; sorting the rows by cell, or counting in the pass that computes the
    /// codes, was slower) and those of the confusion counts.
    pub(crate) fn count(&mut self, codes: &[u64]) {
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
