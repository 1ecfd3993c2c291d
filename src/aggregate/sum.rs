//! [`Sum`]: a compensated floating-point sum (issue 9).
//!
//! Every weighted sum of the statistics (Σw, Σw², Σw·s, Σw·(s−y)², …) is a running sum over
//! up to billions of rows. A plain `f64` accumulator loses up to n·ε of relative accuracy; a
//! [`Sum`] keeps the exact rounding error of every addition (Knuth's branch-free TwoSum) in a
//! second accumulator, so the result is as accurate as if each sum were formed in twice the
//! precision and rounded once: the error is at most ε·|Σx| + n·ε²·Σ|x| (Ogita, Rump and Oishi
//! 2005, "Accurate sum and dot product", algorithm Sum2).
//!
//! Sums of integers (counts, unit weights) stay exact either way; the compensation only costs
//! a few additions per row.

use std::ops::AddAssign;

/// A compensated running sum: `hi` is the rounded sum, `lo` the accumulated rounding errors.
///
/// Two sums are equal when their values are: (1, 2⁻⁶⁰) and (1 + 2⁻⁵², −2⁻⁵² + 2⁻⁶⁰) are one sum.
#[derive(Clone, Copy, Default)]
pub struct Sum {
    hi: f64,
    lo: f64,
}

impl Sum {
    /// A sum holding `x`.
    pub const fn new(x: f64) -> Self {
        Sum { hi: x, lo: 0.0 }
    }

    /// The sum, rounded once: `hi + lo`.
    #[inline]
    pub fn value(self) -> f64 {
        self.hi + self.lo
    }
}

/// `(s, e)` with s = fl(a + b) and s + e = a + b exactly (Knuth's TwoSum; no branch).
#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let b_virtual = s - a;
    let a_virtual = s - b_virtual;
    (s, (a - a_virtual) + (b - b_virtual))
}

impl Sum {
    /// Add the product `a·b` exactly: its rounded value as a term, its rounding error (an
    /// FMA gives it exactly) with the other errors. Used to add `n` equal terms at once.
    #[inline]
    pub fn add_product(&mut self, a: f64, b: f64) {
        let p = a * b;
        let e = a.mul_add(b, -p);
        *self += p;
        self.lo += e;
    }
}

impl std::fmt::Debug for Sum {
    /// The value, as equality sees it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sum({:?})", self.value())
    }
}

impl PartialEq for Sum {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl AddAssign<f64> for Sum {
    /// Add one term.
    #[inline]
    fn add_assign(&mut self, x: f64) {
        let (s, e) = two_sum(self.hi, x);
        self.hi = s;
        self.lo += e;
    }
}

impl AddAssign for Sum {
    /// Add another sum (a merge): its rounded part compensated, its error terms added.
    #[inline]
    fn add_assign(&mut self, other: Sum) {
        *self += other.hi;
        self.lo += other.lo;
    }
}

impl From<f64> for Sum {
    fn from(x: f64) -> Self {
        Sum::new(x)
    }
}

impl serde::Serialize for Sum {
    /// A sum serializes as its value.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.value())
    }
}

impl<'de> serde::Deserialize<'de> for Sum {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(Sum::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn recovers_what_a_plain_sum_loses() {
        // 1 + 10⁷ × 1e-16: a plain f64 sum stays at 1 (each term is below half an ulp of 1).
        let mut plain = 1.0f64;
        let mut sum = Sum::new(1.0);
        for _ in 0..10_000_000 {
            plain += 1e-16;
            sum += 1e-16;
        }
        assert_eq!(plain, 1.0);
        assert!(
            (sum.value() - (1.0 + 1e-9)).abs() < 1e-22,
            "{}",
            sum.value()
        );
    }

    #[test]
    fn a_product_adds_like_its_repeated_term() {
        // 0.1 is not exact in binary: 3·fl(0.1) rounds, but the product's error is kept.
        let x = 0.1f64;
        let mut repeated = Sum::default();
        for _ in 0..3 {
            repeated += x;
        }
        let mut product = Sum::default();
        product.add_product(3.0, x);
        assert_eq!(product.value(), repeated.value());
        // 3·fl(0.1) lies halfway between two doubles: the rounding error of the plain
        // product, 2⁻⁵⁵, is kept.
        product += -(3.0 * x);
        repeated += -(3.0 * x);
        assert_eq!(product.value(), -(2f64.powi(-55)));
        assert_eq!(repeated.value(), product.value());
        let mut big = Sum::default();
        big.add_product(1e7, x);
        let mut many = Sum::default();
        for _ in 0..10_000_000 {
            many += x;
        }
        assert_eq!(big.value(), many.value());
    }

    #[test]
    fn catastrophic_cancellation_is_exact() {
        let mut sum = Sum::default();
        for x in [1e16, 1.0, -1e16, 1.0] {
            sum += x;
        }
        assert_eq!(sum.value(), 2.0);
    }

    proptest! {
        /// The documented bound holds for any split and merge, with terms spread over 80
        /// binades (where a plain sum loses everything below the largest term's ulp). The
        /// reference is the exact sum in integer units of 2⁻⁴⁰.
        #[test]
        fn merge_of_any_split_meets_the_error_bound(
            terms in prop::collection::vec((-1_000_000i64..1_000_000, 0i32..80), 0..300),
            split in 0usize..300,
        ) {
            let value = |(m, e): (i64, i32)| m as f64 * 2f64.powi(e - 40);
            let exact: i128 = terms.iter().map(|&(m, e)| i128::from(m) << e).sum();
            let exact = exact as f64 * 2f64.powi(-40);
            let split = split.min(terms.len());
            let (mut left, mut right) = (Sum::default(), Sum::default());
            terms[..split].iter().for_each(|&t| left += value(t));
            terms[split..].iter().for_each(|&t| right += value(t));
            left += right;
            let n = terms.len() as f64;
            let abs_sum: f64 = terms.iter().map(|&t| value(t).abs()).sum();
            let bound = f64::EPSILON * exact.abs() + (n * f64::EPSILON).powi(2) * abs_sum;
            prop_assert!((left.value() - exact).abs() <= bound);
        }
    }
}
