//! Tests of a group's rate against the reference group's, multiple-testing corrections and
//! the minimum detectable difference.
//!
//! A comparison is a 2×2 table: k₁ successes of n₁ in the group, k₂ of n₂ in the reference.
//! [`two_proportion_test`] uses Fisher's exact test when any expected count of the table is
//! below 5 (Cochran's rule, where the normal approximation is poor) and the two-proportion
//! z-test otherwise. Both are two-sided; H₀: p₁ = p₂, which is the null of both the
//! difference (= 0) and the ratio (= 1) of the rates.

use super::ci::{normal_quantile, normal_sf};

/// Which test produced a p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// Two-proportion z-test, pooled variance, no continuity correction.
    ZTest,
    /// Fisher's exact test (conditional on the margins).
    Fisher,
}

/// The result of one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The test used.
    pub kind: TestKind,
    /// z for the z-test; `None` for Fisher's test.
    pub statistic: Option<f64>,
    /// Two-sided p-value, unadjusted.
    pub p_value: f64,
}

/// Multiple-testing correction across all comparisons of an audit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Holm's step-down method (default): controls the family-wise error rate under any
    /// dependence between the tests, and is uniformly more powerful than Bonferroni.
    #[default]
    Holm,
    /// Benjamini–Hochberg: controls the false discovery rate (for independent or positively
    /// dependent tests); more powerful when many groups are compared.
    Bh,
    /// No adjustment.
    None,
}

/// Two-sided test of p₁ = p₂ for k₁/n₁ against k₂/n₂: Fisher's exact test when an expected
/// count (row total × column total / N) is below 5, else the z-test. `None` when a group is
/// empty. Counts may be non-integer (effective counts of weighted data); Fisher's test then
/// uses them rounded to the nearest integer.
pub fn two_proportion_test(k1: f64, n1: f64, k2: f64, n2: f64) -> Option<TestResult> {
    if !(n1 > 0.0 && n2 > 0.0) {
        return None;
    }
    let n = n1 + n2;
    let (success, failure) = (k1 + k2, n - k1 - k2);
    let min_expected = n1.min(n2) * success.min(failure) / n;
    if min_expected < 5.0 {
        let r = |x: f64| x.round().max(0.0) as u64;
        let (a, b, c, d) = (r(k1), r(n1 - k1), r(k2), r(n2 - k2));
        Some(TestResult {
            kind: TestKind::Fisher,
            statistic: None,
            p_value: fisher_exact(a, b, c, d),
        })
    } else {
        let z = z_statistic(k1, n1, k2, n2);
        Some(TestResult {
            kind: TestKind::ZTest,
            statistic: Some(z),
            p_value: (2.0 * normal_sf(z.abs())).min(1.0),
        })
    }
}

/// z = (p̂₁ − p̂₂) / √(p̄(1−p̄)(1/n₁ + 1/n₂)) with the pooled p̄ = (k₁+k₂)/(n₁+n₂).
/// statsmodels `proportions_ztest`. 0 when p̄ is 0 or 1 (the rates are equal).
pub fn z_statistic(k1: f64, n1: f64, k2: f64, n2: f64) -> f64 {
    let pooled = (k1 + k2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se > 0.0 {
        (k1 / n1 - k2 / n2) / se
    } else {
        0.0
    }
}

/// Two-sided p-value of Fisher's exact test on the table [[a, b], [c, d]]: the total
/// hypergeometric probability of the tables with the same margins that are no more likely
/// than the observed one (relative tolerance 1e-7, as R's `fisher.test`). scipy
/// `fisher_exact`.
///
/// The probabilities are built by the ratio recurrence
/// P(x+1)/P(x) = (K−x)(n₁−x) / ((x+1)(N−K−n₁+x+1)) from the mode, so no factorial is formed.
///
/// # Examples
/// ```
/// use fairaudit::stats::hypothesis::fisher_exact;
/// // [[5, 0], [0, 5]]: 2 / C(10, 5) = 2/252
/// assert!((fisher_exact(5, 0, 0, 5) - 2.0 / 252.0).abs() < 1e-15);
/// ```
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let n1 = (a + b) as f64; // first row total
    let k = (a + c) as f64; // first column total
    let n = (a + b + c + d) as f64;
    if n1 == 0.0 || n1 == n || k == 0.0 || k == n {
        return 1.0;
    }
    let lo = (k + n1 - n).max(0.0) as u64;
    let hi = k.min(n1) as u64;
    let mode = (((n1 + 1.0) * (k + 1.0) / (n + 2.0)).floor() as u64).clamp(lo, hi);
    let len = (hi - lo + 1) as usize;
    let mut w = vec![0.0; len];
    w[(mode - lo) as usize] = 1.0;
    for x in mode..hi {
        let xf = x as f64;
        let ratio = (k - xf) * (n1 - xf) / ((xf + 1.0) * (n - k - n1 + xf + 1.0));
        w[(x + 1 - lo) as usize] = w[(x - lo) as usize] * ratio;
    }
    for x in (lo + 1..=mode).rev() {
        let xf = x as f64 - 1.0; // P(x−1) = P(x) / ratio(x−1)
        let ratio = (k - xf) * (n1 - xf) / ((xf + 1.0) * (n - k - n1 + xf + 1.0));
        w[(x - 1 - lo) as usize] = w[(x - lo) as usize] / ratio;
    }
    let total: f64 = w.iter().sum();
    let observed = w[(a - lo) as usize];
    let tail: f64 = w.iter().filter(|&&p| p <= observed * (1.0 + 1e-7)).sum();
    (tail / total).min(1.0)
}

/// Adjusted p-values of `p` (in input order) under `correction`.
///
/// - Holm: p₍ᵢ₎ ↦ max_{j≤i} min(1, (m−j+1)·p₍ⱼ₎) over the ascending p₍₁₎ ≤ … ≤ p₍ₘ₎;
/// - Benjamini–Hochberg: p₍ᵢ₎ ↦ min_{j≥i} min(1, m·p₍ⱼ₎/j).
///
/// statsmodels `multipletests(method="holm" | "fdr_bh")`.
///
/// # Examples
/// ```
/// use fairaudit::stats::hypothesis::{adjust, Correction};
/// let p = [0.25, 0.5, 0.125];
/// assert_eq!(adjust(&p, Correction::Holm), vec![0.5, 0.5, 0.375]); // 3·0.125, 2·0.25, 1·0.5
/// assert_eq!(adjust(&p, Correction::Bh), vec![0.375, 0.5, 0.375]); // 3p/rank, running min
/// ```
pub fn adjust(p: &[f64], correction: Correction) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]).then(i.cmp(&j)));
    let mut out = vec![0.0; m];
    match correction {
        Correction::None => out.copy_from_slice(p),
        Correction::Holm => {
            let mut running = 0.0f64;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((m - rank) as f64 * p[i]).min(1.0));
                out[i] = running;
            }
        }
        Correction::Bh => {
            let mut running = 1.0f64;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min((m as f64 * p[i] / (rank + 1) as f64).min(1.0));
                out[i] = running;
            }
        }
    }
    out
}

/// Minimum detectable difference of a rate between a group of (effective) size `n1` and the
/// reference of size `n2` whose rate is `p`: the smallest |p₁ − p₂| that a two-sided test at
/// level `alpha` detects with probability `power`, by the normal approximation
///
/// ```text
/// MDD = (z_{1−α/2} + z_{power}) · √(p(1−p)·(1/n₁ + 1/n₂))
/// ```
///
/// with p(1−p) replaced by its maximum ¼ when the reference rate is 0 or 1 (where the
/// formula would claim that any difference is detectable). `None` when a size is 0.
///
/// # Examples
/// ```
/// use fairaudit::stats::hypothesis::minimum_detectable_difference;
/// // Two groups of 1000 around p = 0.5, α = 0.05, power 0.8: (1.96 + 0.8416)·√(0.25·0.002)
/// let mdd = minimum_detectable_difference(1000.0, 1000.0, 0.5, 0.05, 0.8).unwrap();
/// assert!((mdd - 0.06264).abs() < 1e-4);
/// ```
pub fn minimum_detectable_difference(
    n1: f64,
    n2: f64,
    p: f64,
    alpha: f64,
    power: f64,
) -> Option<f64> {
    if !(n1 > 0.0 && n2 > 0.0) {
        return None;
    }
    let variance = if p > 0.0 && p < 1.0 {
        p * (1.0 - p)
    } else {
        0.25
    };
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
    Some(z * (variance * (1.0 / n1 + 1.0 / n2)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_hand_values() {
        // [[1, 1], [1, 1]]: every table with these margins is at least as extreme → 1.
        assert_eq!(fisher_exact(1, 1, 1, 1), 1.0);
        // [[3, 0], [0, 3]]: 2 tables of probability 1/20 each → 0.1.
        assert!((fisher_exact(3, 0, 0, 3) - 0.1).abs() < 1e-15);
        // A degenerate margin (no successes at all) → 1.
        assert_eq!(fisher_exact(0, 5, 0, 7), 1.0);
    }

    #[test]
    fn small_tables_use_fisher_and_large_ones_the_z_test() {
        let t = two_proportion_test(1.0, 10.0, 5.0, 12.0).unwrap();
        assert_eq!(t.kind, TestKind::Fisher);
        assert_eq!(t.statistic, None);
        let t = two_proportion_test(300.0, 1000.0, 350.0, 1000.0).unwrap();
        assert_eq!(t.kind, TestKind::ZTest);
        // z = −0.05 / √(0.325·0.675·0.002)
        let z = -0.05 / (0.325f64 * 0.675 * 0.002).sqrt();
        assert!((t.statistic.unwrap() - z).abs() < 1e-12);
        assert_eq!(two_proportion_test(0.0, 0.0, 1.0, 2.0), None);
    }

    #[test]
    fn holm_and_bh_hand_values() {
        // Sorted 0.005, 0.01, 0.03, 0.04, 0.2 (m = 5).
        // Holm: 0.025, 0.04, 0.09, 0.09 (max with 2·0.04 = 0.08 → 0.09), 0.2.
        let p = [0.01, 0.04, 0.03, 0.005, 0.2];
        let h = adjust(&p, Correction::Holm);
        let expected = [0.04, 0.09, 0.09, 0.025, 0.2];
        for (a, e) in h.iter().zip(expected) {
            assert!((a - e).abs() < 1e-15, "{h:?}");
        }
        // BH: 5·p/rank = 0.025, 0.025, 0.05, 0.05, 0.2, then running minima from the top.
        let b = adjust(&p, Correction::Bh);
        let expected = [0.025, 0.05, 0.05, 0.025, 0.2];
        for (a, e) in b.iter().zip(expected) {
            assert!((a - e).abs() < 1e-15, "{b:?}");
        }
        assert_eq!(adjust(&p, Correction::None), p.to_vec());
        assert!(adjust(&[], Correction::Holm).is_empty());
    }

    #[test]
    fn mdd_shrinks_with_size_and_is_worst_case_at_degenerate_rates() {
        let small = minimum_detectable_difference(40.0, 1000.0, 0.3, 0.05, 0.8).unwrap();
        let large = minimum_detectable_difference(4000.0, 1000.0, 0.3, 0.05, 0.8).unwrap();
        assert!(small > large);
        let zero = minimum_detectable_difference(40.0, 40.0, 0.0, 0.05, 0.8).unwrap();
        let half = minimum_detectable_difference(40.0, 40.0, 0.5, 0.05, 0.8).unwrap();
        assert_eq!(zero, half);
        assert_eq!(
            minimum_detectable_difference(0.0, 10.0, 0.5, 0.05, 0.8),
            None
        );
    }
}
