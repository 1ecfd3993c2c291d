//! Per-cell sufficient statistics of a regression audit (issue 11): weighted sums of the label
//! y, the prediction ŷ and the error e = ŷ − y, and the distribution of the predictions.
//!
//! Everything is mergeable: [`RegressionStats::merge`] of the statistics of any split of the
//! rows gives the statistics of all of them (counts exactly; sums up to rounding).
//!
//! The prediction distribution ([`ValueDistribution`]) is exact (value → count, weight) while
//! a cell has at most [`MAX_DISTINCT_VALUES`] distinct predictions. Beyond that, values are
//! truncated toward zero to fewer mantissa bits, one bit at a time, until at most that many
//! distinct values remain. Truncation to b bits moves a value v by less than |v|·2^-b, and
//! truncations nest, so the result does not depend on how the rows were split. The metrics
//! that read the distribution report the resulting error bound.

use std::collections::BTreeMap;

/// Most distinct prediction values a distribution keeps exactly.
pub const MAX_DISTINCT_VALUES: usize = 65_536;

/// Mantissa bits of an f64 (an exact distribution keeps all of them).
pub const MANTISSA_BITS: u32 = 52;

/// Count and weight of the rows at one value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mass {
    /// Rows.
    pub rows: u64,
    /// Σw.
    pub weight: f64,
}

/// Predictions of one cell: value → (rows, weight), exact or truncated (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueDistribution {
    /// Keyed by [`order_key`] of the (truncated) value.
    values: BTreeMap<u64, Mass>,
    /// Mantissa bits kept: [`MANTISSA_BITS`] while exact.
    bits: u32,
    /// Largest number of distinct values before truncating further.
    cap: usize,
}

impl Default for ValueDistribution {
    fn default() -> Self {
        ValueDistribution::with_cap(MAX_DISTINCT_VALUES)
    }
}

/// A u64 whose order is the numeric order of finite f64 values (−0 is stored as +0).
pub fn order_key(v: f64) -> u64 {
    let b = (if v == 0.0 { 0.0 } else { v }).to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// The inverse of [`order_key`].
pub fn from_order_key(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// `v` with its mantissa truncated to `bits` bits (toward zero).
pub fn truncate(v: f64, bits: u32) -> f64 {
    if bits >= MANTISSA_BITS {
        return v;
    }
    let mask = !((1u64 << (MANTISSA_BITS - bits)) - 1);
    f64::from_bits(v.to_bits() & mask)
}

impl ValueDistribution {
    /// An empty distribution keeping at most `cap` distinct values exactly (tests use small
    /// caps; the engine uses [`MAX_DISTINCT_VALUES`]).
    pub fn with_cap(cap: usize) -> Self {
        ValueDistribution {
            values: BTreeMap::new(),
            bits: MANTISSA_BITS,
            cap: cap.max(1),
        }
    }

    /// Add one row.
    pub fn push(&mut self, v: f64, w: f64) {
        let e = self
            .values
            .entry(order_key(truncate(v, self.bits)))
            .or_default();
        e.rows += 1;
        e.weight += w;
        self.shrink();
    }

    /// Add another distribution (at the coarser of the two precisions).
    pub fn merge(&mut self, other: &ValueDistribution) {
        if other.bits < self.bits {
            self.coarsen(other.bits);
        }
        for (&k, m) in &other.values {
            let v = truncate(from_order_key(k), self.bits);
            let e = self.values.entry(order_key(v)).or_default();
            e.rows += m.rows;
            e.weight += m.weight;
        }
        self.shrink();
    }

    fn shrink(&mut self) {
        while self.values.len() > self.cap && self.bits > 0 {
            self.coarsen(self.bits - 1);
        }
    }

    fn coarsen(&mut self, bits: u32) {
        self.bits = bits;
        let old = std::mem::take(&mut self.values);
        for (k, m) in old {
            let e = self
                .values
                .entry(order_key(truncate(from_order_key(k), bits)))
                .or_default();
            e.rows += m.rows;
            e.weight += m.weight;
        }
    }

    /// Mantissa bits kept ([`MANTISSA_BITS`]: exact).
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// True while every distinct value is kept exactly.
    pub fn is_exact(&self) -> bool {
        self.bits >= MANTISSA_BITS
    }

    /// (value, mass) in increasing order of value.
    pub fn points(&self) -> impl Iterator<Item = (f64, Mass)> + '_ {
        self.values.iter().map(|(&k, &m)| (from_order_key(k), m))
    }

    /// The same values with other masses (`masses` in value order, one per kept value), as
    /// the bootstrap draws them.
    pub fn with_masses(&self, masses: &[Mass]) -> ValueDistribution {
        ValueDistribution {
            values: self
                .values
                .keys()
                .copied()
                .zip(masses.iter().copied())
                .collect(),
            bits: self.bits,
            cap: self.cap,
        }
    }

    /// Number of distinct (kept) values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Weighted sums of one cell of a regression audit; e = ŷ − y.
///
/// The label's mean and centred sum of squares are kept by West's weighted update (and Chan's
/// merge), so R² does not lose precision when the labels' mean is large against their spread.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegressionStats {
    /// Rows.
    pub rows: u64,
    /// Σw.
    pub weight: f64,
    /// Σw².
    pub weight_sq: f64,
    /// Σw·y.
    pub sum_label: f64,
    /// Σw·ŷ.
    pub sum_prediction: f64,
    /// Σw·e.
    pub sum_error: f64,
    /// Σw·|e|.
    pub sum_abs_error: f64,
    /// Σw·e².
    pub sum_sq_error: f64,
    /// Σw·e⁴ (for the interval of the MSE).
    pub sum_quartic_error: f64,
    /// Σw·y².
    pub sum_sq_label: f64,
    /// Σw·ŷ² (for the spread of the mean prediction).
    pub sum_sq_prediction: f64,
    /// Weighted mean of y (0 while Σw = 0).
    pub label_mean: f64,
    /// Σw·(y − ȳ)².
    pub label_m2: f64,
    /// The predictions.
    pub predictions: ValueDistribution,
}

impl RegressionStats {
    /// Add one row: label `y`, prediction `p`, weight `w`.
    pub fn push(&mut self, y: f64, p: f64, w: f64) {
        let e = p - y;
        self.rows += 1;
        self.weight_sq += w * w;
        self.sum_label += w * y;
        self.sum_prediction += w * p;
        self.sum_error += w * e;
        self.sum_abs_error += w * e.abs();
        self.sum_sq_error += w * e * e;
        self.sum_quartic_error += w * e * e * e * e;
        self.sum_sq_label += w * y * y;
        self.sum_sq_prediction += w * p * p;
        let total = self.weight + w;
        if w > 0.0 {
            let delta = y - self.label_mean;
            let r = delta * w / total;
            self.label_mean += r;
            self.label_m2 += self.weight * delta * r;
        }
        self.weight = total;
        self.predictions.push(p, w);
    }

    /// Add the statistics of other rows.
    pub fn merge(&mut self, o: &RegressionStats) {
        self.rows += o.rows;
        self.weight_sq += o.weight_sq;
        self.sum_label += o.sum_label;
        self.sum_prediction += o.sum_prediction;
        self.sum_error += o.sum_error;
        self.sum_abs_error += o.sum_abs_error;
        self.sum_sq_error += o.sum_sq_error;
        self.sum_quartic_error += o.sum_quartic_error;
        self.sum_sq_label += o.sum_sq_label;
        self.sum_sq_prediction += o.sum_sq_prediction;
        let total = self.weight + o.weight;
        if o.weight > 0.0 {
            let delta = o.label_mean - self.label_mean;
            self.label_mean += delta * o.weight / total;
            self.label_m2 += o.label_m2 + delta * delta * self.weight * o.weight / total;
        }
        self.weight = total;
        self.predictions.merge(&o.predictions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_key_orders_numbers() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 0.5, 3.0, 1e300];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]), "{w:?}");
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)), if x == 0.0 { 0.0 } else { x });
        }
    }

    #[test]
    fn truncation_is_toward_zero_nested_and_bounded() {
        for v in [1.234_567, -98.765, 1e-7, 3.0] {
            for b in [0, 1, 10, 30, 52] {
                let t = truncate(v, b);
                assert!(t.abs() <= v.abs() && (v - t).abs() <= v.abs() * 2f64.powi(-(b as i32)));
                assert_eq!(truncate(truncate(v, b + 3), b), t);
            }
        }
    }

    #[test]
    fn hand_computed_sums() {
        // (y, ŷ, w): (1, 2, 1), (3, 2, 2): e = 1, −1.
        let mut s = RegressionStats::default();
        s.push(1.0, 2.0, 1.0);
        s.push(3.0, 2.0, 2.0);
        assert_eq!(s.rows, 2);
        assert_eq!(s.weight, 3.0);
        assert_eq!(s.sum_error, -1.0);
        assert_eq!(s.sum_abs_error, 3.0);
        assert_eq!(s.sum_sq_error, 3.0);
        // ȳ = 7/3; M2 = 1·(4/3)² + 2·(2/3)² = 24/9.
        assert!((s.label_mean - 7.0 / 3.0).abs() < 1e-15);
        assert!((s.label_m2 - 24.0 / 9.0).abs() < 1e-14);
        assert_eq!(s.predictions.points().collect::<Vec<_>>().len(), 1);
    }

    #[test]
    fn a_full_distribution_truncates_and_stays_bounded() {
        let mut d = ValueDistribution::with_cap(8);
        for i in 0..100 {
            d.push(1.0 + i as f64 / 100.0, 1.0);
        }
        assert!(d.len() <= 8 && !d.is_exact());
        assert_eq!(d.points().map(|(_, m)| m.rows).sum::<u64>(), 100);
    }
}
