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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Most distinct scores a group keeps exactly.
pub const MAX_DISTINCT: usize = 1 << 16;

/// Number of equal-width bins of the binned representation.
pub const FINE_BINS: u64 = 1 << 16;

/// Grid points per unit of the dense exact storage: scores `k / GRID_STEPS`, k = 0..=GRID_STEPS.
pub(crate) const GRID_STEPS: u64 = 10_000;

/// Distinct on-grid scores after which exact counts move to the dense grid (at this density
/// the dense array is no larger than the hash map it replaces).
pub const GRID_AFTER: usize = 4096;

/// How a distribution is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolution {
    /// Keys are the bit patterns of the scores (non-negative floats: bit order = numeric order).
    #[default]
    Exact,
    /// Keys are bin indices `min(⌊s·FINE_BINS⌋, FINE_BINS − 1)`.
    Binned,
}

/// Weights of negatives and positives per score key.
///
/// Equality compares the points ([`ScoreDistribution::sorted`]) and the resolution, not
/// the storage.
#[derive(Debug, Clone, Default)]
pub struct ScoreDistribution {
    resolution: Resolution,
    /// Exact or binned counts by key, unless `grid` is in use.
    counts: HashMap<u64, [f64; 3], BuildHasherDefault<KeyHasher>>,
    /// Dense exact counts of the scores `k / GRID_STEPS` (slot k), or empty when unused.
    /// A slot with no rows (`[2] == 0`) is absent.
    grid: Vec<[f64; 3]>,
    /// Occupied slots of `grid`.
    grid_len: usize,
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
}

impl ScoreDistribution {
    /// Add a row with score `s` ∈ [0, 1], label and weight.
    #[inline]
    pub fn push(&mut self, s: f64, label: bool, weight: f64) {
        if !self.grid.is_empty() {
            if let Some(k) = grid_slot(s) {
                let slot = &mut self.grid[k];
                self.grid_len += usize::from(slot[2] == 0.0);
                slot[usize::from(label)] += weight;
                slot[2] += 1.0;
                return;
            }
            self.ungrid();
        }
        let key = self.key(s);
        let entry = self.counts.entry(key).or_insert([0.0; 3]);
        entry[usize::from(label)] += weight;
        entry[2] += 1.0;
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
        if slot != u32::MAX && !self.grid.is_empty() {
            let slot = &mut self.grid[slot as usize];
            self.grid_len += usize::from(slot[2] == 0.0);
            slot[usize::from(label)] += weight;
            slot[2] += 1.0;
        } else {
            self.push(s, label, weight);
        }
    }

    /// Add `point.rows` rows at one score key at once, as read back from a partials table
    /// (issue 8): `point.score` is an exact score, or with `Resolution::Binned` the midpoint of
    /// a fine bin. The same sums as pushing the rows one by one, up to the order of additions.
    pub fn add_point(&mut self, point: &ScorePoint, resolution: Resolution) {
        if resolution == Resolution::Binned {
            self.coarsen();
        }
        if !self.grid.is_empty() {
            self.ungrid();
        }
        let key = self.key(point.score);
        add(
            self.counts.entry(key).or_insert([0.0; 3]),
            &[point.negatives, point.positives, point.rows],
        );
        if self.resolution == Resolution::Exact && self.counts.len() > MAX_DISTINCT {
            self.coarsen();
        }
    }

    /// Add the rows of another distribution.
    pub fn merge(&mut self, other: &ScoreDistribution) {
        if other.is_empty() && other.resolution == Resolution::Exact {
            return;
        }
        if other.resolution == Resolution::Binned {
            self.coarsen();
        }
        if !self.grid.is_empty() {
            if !other.grid.is_empty() {
                for (mine, theirs) in self.grid.iter_mut().zip(&other.grid) {
                    if theirs[2] != 0.0 {
                        self.grid_len += usize::from(mine[2] == 0.0);
                        add(mine, theirs);
                    }
                }
                return;
            }
            if other
                .counts
                .keys()
                .all(|&k| grid_slot(f64::from_bits(k)).is_some())
            {
                for (&key, theirs) in &other.counts {
                    let slot = &mut self.grid[grid_slot(f64::from_bits(key)).unwrap_or(0)];
                    self.grid_len += usize::from(slot[2] == 0.0);
                    add(slot, theirs);
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
            add(self.counts.entry(key).or_insert([0.0; 3]), theirs);
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
        self.grid = Vec::new();
        self.grid_len = 0;
    }

    /// Exact or binned.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.counts.len() + self.grid_len
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points in ascending score order.
    pub fn sorted(&self) -> Vec<ScorePoint> {
        if !self.grid.is_empty() {
            return (self.grid.iter().enumerate())
                .filter(|(_, slot)| slot[2] != 0.0)
                .map(|(k, &[negatives, positives, rows])| ScorePoint {
                    score: grid_score(k),
                    negatives,
                    positives,
                    rows,
                })
                .collect();
        }
        let mut keys: Vec<(&u64, &[f64; 3])> = self.counts.iter().collect();
        keys.sort_unstable_by_key(|(k, _)| **k);
        keys.into_iter()
            .map(|(&k, &[negatives, positives, rows])| ScorePoint {
                score: match self.resolution {
                    Resolution::Exact => f64::from_bits(k),
                    Resolution::Binned => (k as f64 + 0.5) / FINE_BINS as f64,
                },
                negatives,
                positives,
                rows,
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
        for [neg, pos, _] in self.counts.values() {
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
    fn for_each(&self, mut f: impl FnMut(u64, &[f64; 3])) {
        for (&key, sums) in &self.counts {
            f(key, sums);
        }
        for (k, sums) in self.grid.iter().enumerate() {
            if sums[2] != 0.0 {
                f(grid_score(k).to_bits(), sums);
            }
        }
    }

    /// Move exact counts to the dense grid if every score lies on it.
    fn try_grid(&mut self) {
        if self.off_grid || !self.grid.is_empty() {
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
        let mut grid = vec![[0.0; 3]; GRID_STEPS as usize + 1];
        for (key, sums) in self.counts.drain() {
            grid[grid_slot(f64::from_bits(key)).unwrap_or(0)] = sums;
        }
        self.grid_len = grid.iter().filter(|s| s[2] != 0.0).count();
        self.grid = grid;
    }

    /// Move grid counts back to the hash map (a score off the grid arrived).
    fn ungrid(&mut self) {
        self.off_grid = true;
        let grid = std::mem::take(&mut self.grid);
        self.grid_len = 0;
        for (k, sums) in grid.into_iter().enumerate() {
            if sums[2] != 0.0 {
                self.counts.insert(grid_score(k).to_bits(), sums);
            }
        }
    }

    /// Switch to the binned representation.
    fn coarsen(&mut self) {
        if self.resolution == Resolution::Binned {
            return;
        }
        if !self.grid.is_empty() {
            self.ungrid();
        }
        let exact = std::mem::take(&mut self.counts);
        self.resolution = Resolution::Binned;
        for (k, theirs) in exact {
            add(
                self.counts
                    .entry(bin_of(f64::from_bits(k)))
                    .or_insert([0.0; 3]),
                &theirs,
            );
        }
    }
}

fn add(mine: &mut [f64; 3], theirs: &[f64; 3]) {
    for (m, t) in mine.iter_mut().zip(theirs) {
        *m += t;
    }
}

/// The grid slot k of a score equal to `k / GRID_STEPS` (as computed in f64), if it is one.
#[inline]
pub(crate) fn grid_slot(s: f64) -> Option<usize> {
    let k = (s * GRID_STEPS as f64).round();
    (k >= 0.0 && k <= GRID_STEPS as f64 && k / GRID_STEPS as f64 == s).then_some(k as usize)
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
        let point = |score, negatives, positives, rows| ScorePoint {
            score,
            negatives,
            positives,
            rows,
        };
        assert_eq!(pts[0], point(0.0, 2.0, 0.0, 2.0));
        assert_eq!(pts[1], point(0.25, 2.0, 1.0, 2.0));
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
        let mut reference: std::collections::BTreeMap<u64, [f64; 3]> = Default::default();
        let mut d = ScoreDistribution::default();
        for &(s, y, w) in &rows {
            let e = reference.entry(s.to_bits()).or_default();
            e[usize::from(y)] += w;
            e[2] += 1.0;
            d.push(s, y, w);
        }
        assert!(!d.grid.is_empty(), "many on-grid scores use the grid");
        let expected: Vec<ScorePoint> = (reference.iter())
            .map(|(&k, &[negatives, positives, rows])| ScorePoint {
                score: f64::from_bits(k),
                negatives,
                positives,
                rows,
            })
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
        assert!(d.grid.is_empty());
        assert_eq!(d.len(), expected.len() + 1);
        assert_eq!(d.resolution(), Resolution::Exact);
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
