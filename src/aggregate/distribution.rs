//! [`ScoreDistribution`]: Σw of negatives and positives per score, for AUC, ROC curves,
//! equal-mass bins and the recalibration fits.
//!
//! While a group has at most [`MAX_DISTINCT`] distinct scores, the counts are kept per exact
//! score (`exact`). Past that, scores are grouped into [`FINE_BINS`] equal-width bins of
//! [0, 1] (`binned`): memory stays bounded whatever the data, and every quantity that needs the
//! distribution states its approximation error (see [`ScoreDistribution::auc_error_bound`]).
//! Which representation a group ends with depends only on its own distinct scores, never on
//! how the rows were split into batches, so results stay deterministic.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Most distinct scores a group keeps exactly.
pub const MAX_DISTINCT: usize = 1 << 16;

/// Number of equal-width bins of the binned representation.
pub const FINE_BINS: u64 = 1 << 16;

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreDistribution {
    resolution: Resolution,
    counts: HashMap<u64, [f64; 3], BuildHasherDefault<KeyHasher>>,
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
    pub fn push(&mut self, s: f64, label: bool, weight: f64) {
        let key = self.key(s);
        let entry = self.counts.entry(key).or_insert([0.0; 3]);
        entry[usize::from(label)] += weight;
        entry[2] += 1.0;
        if self.resolution == Resolution::Exact && self.counts.len() > MAX_DISTINCT {
            self.coarsen();
        }
    }

    /// Add the rows of another distribution.
    pub fn merge(&mut self, other: &ScoreDistribution) {
        if other.resolution == Resolution::Binned {
            self.coarsen();
        }
        let exact_into_binned =
            self.resolution == Resolution::Binned && other.resolution == Resolution::Exact;
        for (&key, theirs) in &other.counts {
            let key = if exact_into_binned {
                bin_of(f64::from_bits(key))
            } else {
                key
            };
            add(self.counts.entry(key).or_insert([0.0; 3]), theirs);
        }
        if self.resolution == Resolution::Exact && self.counts.len() > MAX_DISTINCT {
            self.coarsen();
        }
    }

    /// Remove every row, keeping the resolution.
    pub fn clear(&mut self) {
        self.counts.clear();
    }

    /// Exact or binned.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The points in ascending score order.
    pub fn sorted(&self) -> Vec<ScorePoint> {
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

    /// Switch to the binned representation.
    fn coarsen(&mut self) {
        if self.resolution == Resolution::Binned {
            return;
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
