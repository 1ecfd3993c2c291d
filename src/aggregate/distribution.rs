//! [`ScoreDistribution`]: Σw of negatives and positives per score, for AUC, ROC curves,
//! equal-mass bins and the recalibration fits.
//!
//! While a group has at most [`MAX_DISTINCT`] distinct scores, the counts are kept per exact
//! score (`exact`). Past that, scores are grouped into [`FINE_BINS`] equal-width bins of
//! [0, 1] (`binned`): memory stays bounded whatever the data, and every quantity that needs the
//! distribution states its approximation error (see [`ScoreDistribution::auc_error_bound`]).
//! Which representation a group ends with depends only on its own distinct scores, never on
//! how the rows were split into batches, so results stay deterministic.
//!
//! Storage (issue 8): exact counts live in a hash map keyed by the score's bits, or, once a
//! group has [`GRID_AFTER`] distinct scores that all lie on the 10⁻⁴ grid (scores rounded to
//! four decimals, the common case), in a dense array with one slot per grid point, so a push
//! is an index instead of a hash insert. The storage never changes a value: every key's sums
//! receive the same additions in the same order either way.

use super::pool::BufferPool;
use super::sum::Sum;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Most distinct scores a group keeps exactly.
pub const MAX_DISTINCT: usize = 1 << 16;

/// Number of equal-width bins of the binned representation.
pub const FINE_BINS: u64 = 1 << 16;

/// Grid points per unit of the dense exact storage: scores `k / GRID_STEPS`, k = 0..=GRID_STEPS.
pub(crate) const GRID_STEPS: u64 = 10_000;

/// Distinct on-grid scores after which exact counts move to the dense grid. The grid (16
/// bytes per slot, 160 kB) is then about 2.5 times the hash map it replaces, but a push is an
/// index instead of a hash insert (issue 8). A group needs at least this many rows to get one.
/// The streaming fold counts a cell's rows densely from this many rows per stream on
/// (`DenseCounts`), which also ends on the grid.
pub const GRID_AFTER: usize = 1024;

/// How a distribution is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolution {
    /// Keys are the bit patterns of the scores (non-negative floats: bit order = numeric order).
    #[default]
    Exact,
    /// Keys are bin indices `min(⌊s·FINE_BINS⌋, FINE_BINS − 1)`.
    Binned,
}

/// The sums of one score key: Σw of negatives and of positives (compensated, issue 9), and
/// the rows of each label, which the score bootstrap redraws (issue 5).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Sums {
    negatives: Sum,
    positives: Sum,
    negative_rows: u64,
    positive_rows: u64,
}

impl Sums {
    #[inline]
    fn push(&mut self, label: bool, weight: f64) {
        if label {
            self.positives += weight;
            self.positive_rows += 1;
        } else {
            self.negatives += weight;
            self.negative_rows += 1;
        }
    }

    fn merge(&mut self, other: &Sums) {
        self.negatives += other.negatives;
        self.positives += other.positives;
        self.negative_rows += other.negative_rows;
        self.positive_rows += other.positive_rows;
    }

    fn point(&self, score: f64) -> ScorePoint {
        ScorePoint {
            score,
            negatives: self.negatives.value(),
            positives: self.positives.value(),
            rows: (self.negative_rows + self.positive_rows) as f64,
            positive_rows: self.positive_rows as f64,
        }
    }
}

/// Dense sums of the grid scores `k / GRID_STEPS` (slot k).
///
/// Rows per label are kept for every slot; weight sums only once a row with a weight other
/// than 1 arrived (until then the weight sums equal the row counts, exactly, so storing them
/// would double the memory of the common unweighted audit for nothing).
#[derive(Debug, Clone, Default)]
struct Grid {
    /// Rows of negatives and of positives per slot; empty when the grid is not in use.
    rows: Vec<[u64; 2]>,
    /// Σw of negatives and of positives per slot, or empty while every weight was 1.
    weights: Vec<[Sum; 2]>,
    /// Slots with at least one row.
    occupied: usize,
}

/// Row buffers of dropped grids (160 kB each), reused by [`Grid::new`] (issue 8).
static GRID_ROWS: BufferPool<[u64; 2]> = BufferPool::new(128);

impl Grid {
    fn new() -> Self {
        let mut rows = GRID_ROWS.take();
        rows.resize(GRID_STEPS as usize + 1, [0; 2]);
        Grid {
            rows,
            weights: Vec::new(),
            occupied: 0,
        }
    }

    fn in_use(&self) -> bool {
        !self.rows.is_empty()
    }

    /// Start keeping weight sums: the sums so far are the row counts.
    fn weigh(&mut self) {
        if self.weights.is_empty() {
            self.weights = (self.rows.iter())
                .map(|r| [Sum::new(r[0] as f64), Sum::new(r[1] as f64)])
                .collect();
        }
    }

    #[inline]
    fn push(&mut self, k: usize, label: bool, weight: f64) {
        if weight != 1.0 || !self.weights.is_empty() {
            self.weigh();
            self.weights[k][usize::from(label)] += weight;
        }
        let rows = &mut self.rows[k];
        self.occupied += usize::from(rows[0] + rows[1] == 0);
        rows[usize::from(label)] += 1;
    }

    fn add(&mut self, k: usize, sums: &Sums) {
        let unit = sums.negatives == Sum::new(sums.negative_rows as f64)
            && sums.positives == Sum::new(sums.positive_rows as f64);
        if !unit || !self.weights.is_empty() {
            self.weigh();
            let w = &mut self.weights[k];
            w[0] += sums.negatives;
            w[1] += sums.positives;
        }
        let rows = &mut self.rows[k];
        self.occupied += usize::from(rows[0] + rows[1] == 0);
        rows[0] += sums.negative_rows;
        rows[1] += sums.positive_rows;
    }

    /// Add every slot of `other`; slot by slot for rows only while neither has weights.
    fn merge(&mut self, other: &Grid) {
        if !(self.weights.is_empty() && other.weights.is_empty()) {
            for (k, theirs) in other.iter() {
                self.add(k, &theirs);
            }
            return;
        }
        let mut newly_occupied = 0;
        for (mine, theirs) in self.rows.iter_mut().zip(&other.rows) {
            newly_occupied += usize::from(mine[0] + mine[1] == 0 && theirs[0] + theirs[1] > 0);
            mine[0] += theirs[0];
            mine[1] += theirs[1];
        }
        self.occupied += newly_occupied;
    }

    /// The sums of slot k, `None` when it has no row.
    #[inline]
    fn sums(&self, k: usize) -> Option<Sums> {
        let [negative_rows, positive_rows] = self.rows[k];
        if negative_rows + positive_rows == 0 {
            return None;
        }
        let [negatives, positives] = match self.weights.get(k) {
            Some(&w) => w,
            None => [
                Sum::new(negative_rows as f64),
                Sum::new(positive_rows as f64),
            ],
        };
        Some(Sums {
            negatives,
            positives,
            negative_rows,
            positive_rows,
        })
    }

    /// Every occupied slot with its sums, in slot order.
    fn iter(&self) -> impl Iterator<Item = (usize, Sums)> + '_ {
        (0..self.rows.len()).filter_map(|k| Some((k, self.sums(k)?)))
    }
}

impl Drop for Grid {
    /// Hand the row buffer to the next [`Grid::new`].
    fn drop(&mut self) {
        GRID_ROWS.give(std::mem::take(&mut self.rows));
    }
}

/// Weights of negatives and positives per score key.
///
/// Equality compares the points ([`ScoreDistribution::sorted`]) and the resolution, not
/// the storage.
#[derive(Debug, Clone, Default)]
pub struct ScoreDistribution {
    resolution: Resolution,
    /// Exact or binned counts by key, unless `grid` is in use.
    counts: HashMap<u64, Sums, BuildHasherDefault<KeyHasher>>,
    /// Dense exact counts of the grid scores, when in use.
    grid: Grid,
    /// A score off the grid was seen: never use the grid.
    off_grid: bool,
}

impl PartialEq for ScoreDistribution {
    fn eq(&self, other: &Self) -> bool {
        self.resolution == other.resolution && self.sorted() == other.sorted()
    }
}

/// One point of a sorted distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScorePoint {
    /// The score (exact), or the bin's midpoint (binned).
    pub score: f64,
    /// Σw of rows with label 0.
    pub negatives: f64,
    /// Σw of rows with label 1.
    pub positives: f64,
    /// Rows (unweighted).
    pub rows: f64,
    /// Rows with label 1 (unweighted).
    pub positive_rows: f64,
}

impl ScoreDistribution {
    /// An exact distribution of rows of weight 1 from their number per grid slot k and label
    /// (`rows[2k + label]`, k = 0..=GRID_STEPS), stored on the dense grid (issue 8).
    pub(crate) fn from_grid_rows(rows: &[u32]) -> Self {
        let mut grid = Grid::new();
        for (slot, pair) in grid.rows.iter_mut().zip(rows.chunks_exact(2)) {
            *slot = [u64::from(pair[0]), u64::from(pair[1])];
            grid.occupied += usize::from(pair[0] | pair[1] != 0);
        }
        ScoreDistribution {
            grid,
            ..ScoreDistribution::default()
        }
    }

    /// True when the counts are stored on the dense grid.
    pub(crate) fn on_grid(&self) -> bool {
        self.grid.in_use()
    }

    /// Add a row with score `s` ∈ [0, 1], label and weight.
    #[inline]
    pub fn push(&mut self, s: f64, label: bool, weight: f64) {
        if self.grid.in_use() {
            if let Some(k) = grid_slot(s) {
                self.grid.push(k, label, weight);
                return;
            }
            self.ungrid();
        }
        let key = self.key(s);
        self.counts.entry(key).or_default().push(label, weight);
        if self.resolution == Resolution::Exact {
            let n = self.counts.len();
            if n > MAX_DISTINCT {
                self.coarsen();
            } else if n == GRID_AFTER {
                self.try_grid();
            }
        }
    }

    /// [`push`](Self::push) of a score whose [`grid_slot`] is already known (`u32::MAX`: none).
    #[inline]
    pub(crate) fn push_slot(&mut self, s: f64, slot: u32, label: bool, weight: f64) {
        if slot != u32::MAX && self.grid.in_use() {
            self.grid.push(slot as usize, label, weight);
        } else {
            self.push(s, label, weight);
        }
    }

    /// Add a row of weight 1 at grid slot `slot` if the grid is in use and has no weight
    /// sums (the streaming fold's common case, issue 8); false, and nothing added, otherwise.
    #[inline(always)]
    pub(crate) fn push_unit_on_grid(&mut self, slot: u32, label: bool) -> bool {
        let grid = &mut self.grid;
        if !grid.weights.is_empty() {
            return false;
        }
        let Some(rows) = grid.rows.get_mut(slot as usize) else {
            return false;
        };
        grid.occupied += usize::from(rows[0] + rows[1] == 0);
        rows[usize::from(label)] += 1;
        true
    }

    /// Hint the CPU to load grid slot `slot` (`u32::MAX`: none) ahead of a push: the slots of
    /// a cell's rows are scattered over the grid, and the misses dominate the pass (issue 8).
    #[inline]
    pub(crate) fn prefetch(&self, slot: u32) {
        #[cfg(target_arch = "x86_64")]
        if let Some(rows) = self.grid.rows.get(slot as usize) {
            // SAFETY: a prefetch never faults and the pointer is in bounds of a live slice.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(rows.as_ptr().cast::<i8>());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// Add `point.rows` rows at one score key at once, as read back from a partials table
    /// (issue 8): `point.score` is an exact score, or with `Resolution::Binned` the midpoint of
    /// a fine bin. The same sums as pushing the rows one by one, up to the order of additions.
    pub fn add_point(&mut self, point: &ScorePoint, resolution: Resolution) {
        if resolution == Resolution::Binned {
            self.coarsen();
        }
        if self.grid.in_use() {
            self.ungrid();
        }
        let key = self.key(point.score);
        let positive_rows = point.positive_rows as u64;
        self.counts.entry(key).or_default().merge(&Sums {
            negatives: Sum::new(point.negatives),
            positives: Sum::new(point.positives),
            negative_rows: (point.rows as u64).saturating_sub(positive_rows),
            positive_rows,
        });
        if self.resolution == Resolution::Exact && self.counts.len() > MAX_DISTINCT {
            self.coarsen();
        }
    }

    /// Add the rows of another distribution.
    pub fn merge(&mut self, other: &ScoreDistribution) {
        if other.is_empty() && other.resolution == Resolution::Exact {
            return;
        }
        if self.is_empty() && self.resolution == Resolution::Exact {
            // The same points as adding other's one by one, in other's storage.
            self.clone_from(other);
            return;
        }
        if other.resolution == Resolution::Binned {
            self.coarsen();
        }
        if self.grid.in_use() {
            if other.grid.in_use() {
                self.grid.merge(&other.grid);
                return;
            }
            if other
                .counts
                .keys()
                .all(|&k| grid_slot(f64::from_bits(k)).is_some())
            {
                for (&key, theirs) in &other.counts {
                    self.grid
                        .add(grid_slot(f64::from_bits(key)).unwrap_or(0), theirs);
                }
                return;
            }
            self.ungrid();
        }
        let exact_into_binned =
            self.resolution == Resolution::Binned && other.resolution == Resolution::Exact;
        other.for_each(|key, theirs| {
            let key = if exact_into_binned {
                bin_of(f64::from_bits(key))
            } else {
                key
            };
            self.counts.entry(key).or_default().merge(theirs);
        });
        if self.resolution == Resolution::Exact {
            if self.counts.len() > MAX_DISTINCT {
                self.coarsen();
            } else if self.counts.len() >= GRID_AFTER {
                self.try_grid();
            }
        }
    }

    /// Remove every row, keeping the resolution.
    pub fn clear(&mut self) {
        self.counts.clear();
        self.grid = Grid::default();
    }

    /// Exact or binned.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.counts.len() + self.grid.occupied
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points in ascending score order.
    pub fn sorted(&self) -> Vec<ScorePoint> {
        if self.grid.in_use() {
            return (self.grid.iter())
                .map(|(k, slot)| slot.point(grid_score(k)))
                .collect();
        }
        let mut keys: Vec<(&u64, &Sums)> = self.counts.iter().collect();
        keys.sort_unstable_by_key(|(k, _)| **k);
        keys.into_iter()
            .map(|(&k, sums)| {
                sums.point(match self.resolution {
                    Resolution::Exact => f64::from_bits(k),
                    Resolution::Binned => (k as f64 + 0.5) / FINE_BINS as f64,
                })
            })
            .collect()
    }

    /// The largest possible difference between an AUC computed from this distribution and the
    /// exact AUC: 0 when exact; when binned, pairs of a positive and a negative in the same bin
    /// are counted ½ although either order is possible, so the error is at most
    /// Σ_b P_b·N_b / (2·P·N).
    pub fn auc_error_bound(&self) -> f64 {
        if self.resolution == Resolution::Exact {
            return 0.0;
        }
        let (mut same_bin, mut p, mut n) = (0.0, 0.0, 0.0);
        for sums in self.counts.values() {
            let (neg, pos) = (sums.negatives.value(), sums.positives.value());
            same_bin += neg * pos;
            n += neg;
            p += pos;
        }
        if p == 0.0 || n == 0.0 {
            0.0
        } else {
            same_bin / (2.0 * p * n)
        }
    }

    fn key(&self, s: f64) -> u64 {
        match self.resolution {
            // +0.0 and -0.0 are one score.
            Resolution::Exact => (s + 0.0).to_bits(),
            Resolution::Binned => bin_of(s),
        }
    }

    /// Every (key, sums) pair, whatever the storage.
    fn for_each(&self, mut f: impl FnMut(u64, &Sums)) {
        for (&key, sums) in &self.counts {
            f(key, sums);
        }
        for (k, sums) in self.grid.iter() {
            f(grid_score(k).to_bits(), &sums);
        }
    }

    /// Move exact counts to the dense grid if every score lies on it.
    fn try_grid(&mut self) {
        if self.off_grid || self.grid.in_use() {
            return;
        }
        if !self
            .counts
            .keys()
            .all(|&k| grid_slot(f64::from_bits(k)).is_some())
        {
            self.off_grid = true;
            return;
        }
        let mut grid = Grid::new();
        // Key order, so that the grid's state does not depend on the hash map's order.
        let mut counts: Vec<(u64, Sums)> = std::mem::take(&mut self.counts).into_iter().collect();
        counts.sort_unstable_by_key(|(k, _)| *k);
        for (key, sums) in counts {
            grid.add(grid_slot(f64::from_bits(key)).unwrap_or(0), &sums);
        }
        self.grid = grid;
    }

    /// Move grid counts back to the hash map (a score off the grid arrived).
    fn ungrid(&mut self) {
        self.off_grid = true;
        let grid = std::mem::take(&mut self.grid);
        for (k, sums) in grid.iter() {
            self.counts.insert(grid_score(k).to_bits(), sums);
        }
    }

    /// Switch to the binned representation.
    fn coarsen(&mut self) {
        if self.resolution == Resolution::Binned {
            return;
        }
        if self.grid.in_use() {
            self.ungrid();
        }
        let exact = std::mem::take(&mut self.counts);
        self.resolution = Resolution::Binned;
        for (k, theirs) in exact {
            (self.counts)
                .entry(bin_of(f64::from_bits(k)))
                .or_default()
                .merge(&theirs);
        }
    }
}

/// The grid slot k of a score equal to `k / GRID_STEPS` (as computed in f64), if it is one.
///
/// k is `⌊s·10⁴ + ½⌋` rather than `round(s·10⁴)`, which is a library call on x86-64 without
/// SSE4.1 and showed in the streaming fold's profile (issue 8). The two differ only when s·10⁴
/// lies within rounding of a half-integer, and then k / 10⁴ equals s for neither, so both give
/// "not on the grid" (a test compares them on every grid score, its neighbours and 100,000
/// random scores).
#[inline(always)]
pub(crate) fn grid_slot(s: f64) -> Option<usize> {
    let k = (s * GRID_STEPS as f64 + 0.5) as u32; // saturating; NaN → 0
    (k <= GRID_STEPS as u32 && f64::from(k) / GRID_STEPS as f64 == s).then_some(k as usize)
}

/// [`grid_slot`] as the fold stores it: `u32::MAX` for a score off the grid.
#[inline(always)]
pub(crate) fn grid_slot_u32(s: f64) -> u32 {
    grid_slot(s).map_or(u32::MAX, |k| k as u32)
}

/// The score of grid slot k.
pub(crate) fn grid_score(k: usize) -> f64 {
    k as f64 / GRID_STEPS as f64
}

/// The fine bin of a score in [0, 1].
fn bin_of(s: f64) -> u64 {
    ((s * FINE_BINS as f64) as u64).min(FINE_BINS - 1)
}

/// A fast hasher for u64 keys (a SplitMix64 finaliser); the keys are trusted score bits.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        self.0 = z ^ (z >> 31);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_until_too_many_distinct_scores() {
        let mut d = ScoreDistribution::default();
        d.push(0.25, true, 1.0);
        d.push(0.25, false, 2.0);
        d.push(-0.0, false, 1.0);
        d.push(0.0, false, 1.0);
        assert_eq!(d.resolution(), Resolution::Exact);
        let pts = d.sorted();
        assert_eq!(pts.len(), 2);
        let point = |score, negatives, positives, rows, positive_rows| ScorePoint {
            score,
            negatives,
            positives,
            rows,
            positive_rows,
        };
        assert_eq!(pts[0], point(0.0, 2.0, 0.0, 2.0, 0.0));
        assert_eq!(pts[1], point(0.25, 2.0, 1.0, 2.0, 1.0));
        assert_eq!(d.auc_error_bound(), 0.0);
        for i in 0..=MAX_DISTINCT {
            d.push(i as f64 / (MAX_DISTINCT as f64 * 4.0), i % 2 == 0, 1.0);
        }
        assert_eq!(d.resolution(), Resolution::Binned);
        assert!(d.len() <= FINE_BINS as usize);
    }

    #[test]
    fn merge_switches_to_binned_iff_the_union_is_too_large() {
        let half = MAX_DISTINCT / 2 + 1;
        let make = |offset: usize| {
            let mut d = ScoreDistribution::default();
            for i in 0..half {
                d.push(
                    (offset + 2 * i) as f64 / (4.0 * MAX_DISTINCT as f64),
                    true,
                    1.0,
                );
            }
            d
        };
        let (mut a, b) = (make(0), make(1));
        assert_eq!(a.resolution(), Resolution::Exact);
        a.merge(&b);
        assert_eq!(a.resolution(), Resolution::Binned);
        // Merging in the other order gives the same distribution.
        let mut b2 = make(1);
        b2.merge(&make(0));
        assert_eq!(a, b2);
    }

    #[test]
    fn grid_storage_gives_the_points_of_the_hash_storage() {
        // Scores k/10000 (on the grid) with uneven weights; the reference is a plain sum.
        let rows: Vec<(f64, bool, f64)> = (0..3 * GRID_AFTER)
            .map(|i| {
                let k = (i * 7919) % 10_001;
                (k as f64 / 10_000.0, i % 3 == 0, 0.1 * (i % 5) as f64)
            })
            .collect();
        let mut reference: std::collections::BTreeMap<u64, [f64; 4]> = Default::default();
        let mut d = ScoreDistribution::default();
        for &(s, y, w) in &rows {
            let e = reference.entry(s.to_bits()).or_default();
            e[usize::from(y)] += w;
            e[2] += 1.0;
            e[3] += f64::from(u8::from(y));
            d.push(s, y, w);
        }
        assert!(d.grid.in_use(), "many on-grid scores use the grid");
        let expected: Vec<ScorePoint> = (reference.iter())
            .map(
                |(&k, &[negatives, positives, rows, positive_rows])| ScorePoint {
                    score: f64::from_bits(k),
                    negatives,
                    positives,
                    rows,
                    positive_rows,
                },
            )
            .collect();
        assert_eq!(d.sorted(), expected);
        assert_eq!(d.len(), expected.len());
        // Split in two, merged: the same (grid + hash, hash + grid, grid + grid).
        let (mut left, mut right) = (ScoreDistribution::default(), ScoreDistribution::default());
        for (i, &(s, y, w)) in rows.iter().enumerate() {
            if i < 100 {
                left.push(s, y, w)
            } else {
                right.push(s, y, w)
            }
        }
        let mut a = left.clone();
        a.merge(&right);
        assert_eq!(a.sorted(), expected);
        let mut b = right.clone();
        b.merge(&left);
        assert_eq!(b, d);
        // An off-grid score moves the counts back to the hash map, losing nothing.
        d.push(0.123_456_7, true, 1.0);
        assert!(!d.grid.in_use());
        assert_eq!(d.len(), expected.len() + 1);
        assert_eq!(d.resolution(), Resolution::Exact);
    }

    #[test]
    fn grid_keeps_weight_sums_only_once_a_weight_is_not_1() {
        let mut d = ScoreDistribution::default();
        for i in 0..2 * GRID_AFTER {
            d.push((i % 10_001) as f64 / 10_000.0, i % 2 == 0, 1.0);
        }
        assert!(d.grid.in_use() && d.grid.weights.is_empty());
        let before = d.sorted();
        d.push(0.0, true, 2.5);
        assert_eq!(d.grid.weights.len(), d.grid.rows.len());
        let after = d.sorted();
        assert_eq!(after[1..], before[1..]);
        let zero = (before[0], after[0]);
        assert_eq!(zero.1.positives, zero.0.positives + 2.5);
        assert_eq!(zero.1.positive_rows, zero.0.positive_rows + 1.0);
        assert_eq!(zero.1.negatives, zero.0.negatives);
    }

    #[test]
    fn grid_slot_agrees_with_rounding() {
        // The reference: round(s·10⁴), accepted when k / 10⁴ equals s.
        let rounded = |s: f64| {
            let k = (s * GRID_STEPS as f64).round();
            (k >= 0.0 && k <= GRID_STEPS as f64 && k / GRID_STEPS as f64 == s).then_some(k as usize)
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut scores = vec![
            0.0,
            -0.0,
            1.0,
            0.5,
            0.00005,
            0.99995,
            1e-300,
            -0.3,
            2.0,
            f64::NAN,
        ];
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
            assert_eq!(grid_slot(s), rounded(s), "score {s:e}");
        }
    }

    #[test]
    fn grid_slot_accepts_exactly_the_grid_scores() {
        assert_eq!(grid_slot(0.0), Some(0));
        assert_eq!(grid_slot(-0.0), Some(0));
        assert_eq!(grid_slot(1.0), Some(10_000));
        assert_eq!(grid_slot(0.3), Some(3000));
        assert_eq!(grid_slot(0.1234), Some(1234));
        assert_eq!(grid_slot(0.12345), None);
        assert_eq!(grid_slot(f64::from_bits(0.3f64.to_bits() + 1)), None);
    }

    #[test]
    fn binned_error_bound_counts_same_bin_pairs() {
        let mut d = ScoreDistribution::default();
        d.coarsen();
        d.push(0.5, true, 1.0);
        d.push(0.5, false, 1.0); // same bin
        d.push(0.9, true, 1.0);
        d.push(0.1, false, 1.0);
        // P = N = 2; one same-bin pair: 1 / (2·4)
        assert_eq!(d.auc_error_bound(), 1.0 / 8.0);
    }
}
