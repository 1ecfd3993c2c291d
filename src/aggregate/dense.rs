//! [`DenseCounts`]: a stream's common rows counted in one flat array (issue 8).
//!
//! Most rows of an unweighted audit have weight 1 and a score on the 10⁻⁴ grid. Until a cell
//! is settled, such a row changes only integer counts: its cell's confusion count and the
//! rows of its (grid slot, label) in the cell's score distribution
//! ([`GroupStats::unsettled`](super::GroupStats)). So these rows are counted in one array
//! indexed by (cell, slot, label), in passes over a whole batch (compute every row's index,
//! then increment), and the counts become the cells' statistics when the stream ends
//! ([`DenseCounts::flush_into`]). Integer counts do not depend on the order of the rows, so
//! every result is the same as pushing the rows one by one; only the speed differs (a tight
//! histogram loop instead of a call per row).

use std::collections::HashMap;
use std::sync::Mutex;

use super::distribution::{ScoreDistribution, GRID_STEPS};
use super::stats::Confusion;
use super::{CellKey, CellTable, GroupStats};

/// Grid slots per cell: scores `k / GRID_STEPS`, k = 0..=GRID_STEPS.
const SLOTS: usize = GRID_STEPS as usize + 1;

/// Most cells counted densely per stream: 400 cells × 80 kB = 32 MB. Rows of further cells
/// take the row-by-row path, so memory stays bounded however many cells there are.
pub(crate) const MAX_DENSE_CELLS: usize = 400;

/// Count arrays of finished streams, reused by the next stream: each fresh zeroed page would
/// cost a page fault (two when its first access is a read).
static FREE_ROWS: Mutex<Vec<Vec<u32>>> = Mutex::new(Vec::new());

/// Most arrays kept in [`FREE_ROWS`]: about one per thread folding a stream, so that at most
/// a few arrays of up to 32 MB ever exist.
const MAX_FREE_ROWS: usize = 2;

/// The grid slot k of a score equal to `k / GRID_STEPS`, else `u32::MAX`: the value of
/// [`grid_slot`](super::distribution::grid_slot) without a call to `round` (x86-64 without
/// SSE4.1 has no rounding instruction). For s in [0, 1], `⌊s·10⁴ + ½⌋` differs from
/// `round(s·10⁴)` only when s·10⁴ lies within rounding of a half-integer, and then neither
/// k / 10⁴ equals s, so both give "not on the grid".
#[inline(always)]
pub(crate) fn fast_grid_slot(s: f64) -> u32 {
    let k = (s * GRID_STEPS as f64 + 0.5) as u32; // saturating; NaN → 0
    if k <= GRID_STEPS as u32 && f64::from(k) / GRID_STEPS as f64 == s {
        k
    } else {
        u32::MAX
    }
}

/// The key [`DenseCounts::count`] takes for a row at grid slot `slot` (at most
/// `GRID_STEPS`): `slot · 4 + label · 2 + decision`.
#[inline(always)]
pub(crate) fn row_key(slot: u32, label: bool, decision: bool) -> u16 {
    ((slot << 2) | (u32::from(label) << 1) | u32::from(decision)) as u16
}

/// Counts of one stream's dense rows (see the module documentation).
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
            self.rows = FREE_ROWS
                .lock()
                .ok()
                .and_then(|mut free| free.pop())
                .unwrap_or_default();
            self.rows.clear();
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

    /// Count row r of a batch when `cell[r] != u32::MAX` (its dense cell number); `key[r]` is
    /// its [`row_key`].
    ///
    /// Three tight loops: every row's index into the counts, then the increments (the loop
    /// keeps many cache misses in flight; sorting the rows by cell first was slower), then the
    /// confusion counts.
    pub(crate) fn count(&mut self, cell: &[u32], key: &[u16]) {
        let n = cell.len();
        let key = &key[..n];
        let index: Vec<u32> = (cell.iter().zip(key))
            .map(|(&c, &k)| match c {
                u32::MAX => u32::MAX,
                c => c * (2 * SLOTS as u32) + u32::from(k >> 1),
            })
            .collect();
        let mut counted = 0;
        for &i in &index {
            if let Some(count) = self.rows.get_mut(i as usize) {
                *count += 1;
                counted += 1;
            }
        }
        for (&c, &k) in cell.iter().zip(key) {
            if let Some(confusion) = self.confusion.get_mut(c as usize) {
                confusion[usize::from(k & 3)] += 1;
            }
        }
        self.counted += counted;
    }

    /// Add the counts to `table`'s cells as unsettled statistics with `bins` calibration bins
    /// (cell-wise [`GroupStats::merge`]), and start again from zero counts.
    pub(crate) fn flush_into(&mut self, table: &mut CellTable, bins: usize) {
        if self.counted == 0 {
            return;
        }
        for (id, key) in self.keys.iter().enumerate() {
            let [tn, fp, fn_, tp] = self.confusion[id];
            let rows = tn + fp + fn_ + tp;
            if rows == 0 {
                continue;
            }
            let mut stats = GroupStats::unsettled(bins);
            stats.rows = rows;
            stats.counts = Confusion { tp, fp, tn, fn_ };
            stats.score.rows = rows;
            stats.score.distribution =
                ScoreDistribution::from_grid_rows(&self.rows[id * 2 * SLOTS..][..2 * SLOTS]);
            match table.cells.get_mut(key) {
                Some(mine) => mine.merge(&stats),
                None => {
                    table.cells.insert(key.clone(), stats);
                }
            }
        }
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
        if self.rows.capacity() == 0 {
            return;
        }
        if let Ok(mut free) = FREE_ROWS.lock() {
            if free.len() < MAX_FREE_ROWS {
                free.push(std::mem::take(&mut self.rows));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::distribution::grid_slot;

    #[test]
    fn fast_grid_slot_agrees_with_grid_slot() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut scores: Vec<f64> = vec![0.0, -0.0, 1.0, 0.5, 0.00005, 0.99995, 1e-300, f64::NAN];
        for k in 0..=10_000u64 {
            let s = k as f64 / 1e4;
            // The grid score, its neighbours and the half-way points.
            scores.extend([s, f64::from_bits(s.to_bits() + 1), (k as f64 + 0.5) / 1e4]);
            if k > 0 {
                scores.push(f64::from_bits(s.to_bits() - 1));
            }
        }
        scores.extend((0..100_000).map(|_| (next() >> 11) as f64 / (1u64 << 53) as f64));
        for s in scores {
            let expected = grid_slot(s).map_or(u32::MAX, |k| k as u32);
            assert_eq!(fast_grid_slot(s), expected, "score {s:e}");
        }
    }
}
