//! Regression metrics (issue 11): pure functions of [`RegressionStats`]. No I/O here.
//!
//! For group g with rows i, weights wᵢ (1 without a weight column), label yᵢ, prediction ŷᵢ
//! and error eᵢ = ŷᵢ − yᵢ, W = Σw:
//! - `mae` = Σw|e|/W, `mse` = Σw·e²/W, `rmse` = √mse (scikit-learn `mean_absolute_error`,
//!   `mean_squared_error`, `root_mean_squared_error` with `sample_weight`);
//! - `mean_error` = Σw·e/W (bias: > 0 over-predicts), `mean_prediction` = Σw·ŷ/W,
//!   `mean_label` = Σw·y/W;
//! - `r2` = 1 − Σw·e² / Σw·(y − ȳ)² (scikit-learn `r2_score`); undefined when the group's
//!   labels are all equal (scikit-learn returns 1 or 0 there);
//! - `share_above_quantile` = Σw·[ŷ > t]/W with t the overall q-quantile of the predictions
//!   (the smallest prediction whose weighted CDF reaches q: numpy `quantile(…,
//!   method="inverted_cdf", weights=w)`), so a score used for ranking is audited as a decision;
//! - against the reference group r: `prediction_ks` = sup_x |F_g(x) − F_r(x)| over the weighted
//!   empirical CDFs of the predictions (scipy `ks_2samp` statistic) with its two-sided p-value,
//!   and `prediction_wasserstein` = ∫|F_g − F_r| dx (scipy `wasserstein_distance`).
//!
//! Every value with an empty denominator (W = 0) is undefined with a reason, never 0.

use crate::aggregate::regression::{Mass, RegressionStats, ValueDistribution};

use super::{Metrics, Value};

/// The per-group regression metric keys.
pub const REGRESSION_METRICS: [&str; 8] = [
    "mae",
    "mse",
    "rmse",
    "mean_error",
    "mean_prediction",
    "mean_label",
    "r2",
    "share_above_quantile",
];

/// The single-valued regression disparities against the reference group.
pub const DISTRIBUTION_DISPARITIES: [&str; 2] = ["prediction_ks", "prediction_wasserstein"];

/// The between-group summaries of the distribution disparities: the largest over the
/// compared non-reference groups.
pub const DISTRIBUTION_SUMMARIES: [&str; 2] = ["prediction_ks_max", "prediction_wasserstein_max"];

const NO_WEIGHT: &str = "group has zero total weight";

/// Every regression metric of one group; `threshold` is the overall quantile of
/// `share_above_quantile` (`None` when no row has weight).
pub fn regression_metrics(s: &RegressionStats, threshold: Option<f64>) -> Metrics {
    let w = s.weight;
    let mean = |sum: f64| Value::ratio(sum, w, NO_WEIGHT);
    let mse = mean(s.sum_sq_error);
    let r2 = if w == 0.0 {
        Value::undefined(NO_WEIGHT)
    } else if s.label_m2 == 0.0 {
        Value::undefined("every label of the group is equal: R² is undefined")
    } else {
        Value::defined(1.0 - s.sum_sq_error / s.label_m2)
    };
    let share = match threshold {
        Some(t) => share_above(&s.predictions, t),
        None => Value::undefined("no row has weight: the quantile is undefined"),
    };
    [
        ("mae", mean(s.sum_abs_error)),
        ("mse", mse.clone()),
        ("rmse", mse.map(f64::sqrt)),
        ("mean_error", mean(s.sum_error)),
        ("mean_prediction", mean(s.sum_prediction)),
        ("mean_label", mean(s.sum_label)),
        ("r2", r2),
        ("share_above_quantile", share),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Σw·[ŷ > t] / Σw.
pub fn share_above(d: &ValueDistribution, t: f64) -> Value {
    let (above, all) = d.points().fold((0.0, 0.0), |(a, n), (v, m)| {
        (if v > t { a + m.weight } else { a }, n + m.weight)
    });
    Value::ratio(above, all, NO_WEIGHT)
}

/// The q-quantile of a weighted distribution: the smallest value whose weighted CDF reaches
/// q (numpy `method="inverted_cdf"`). `None` when the total weight is 0.
pub fn quantile(d: &ValueDistribution, q: f64) -> Option<f64> {
    let total: f64 = d.points().map(|(_, m)| m.weight).sum();
    if total <= 0.0 {
        return None;
    }
    let mut cum = 0.0;
    let mut last = None;
    for (v, m) in d.points() {
        if m.weight == 0.0 {
            continue;
        }
        cum += m.weight;
        last = Some(v);
        if cum >= q * total {
            return Some(v);
        }
    }
    last
}

/// Weighted empirical CDFs of two distributions evaluated on the union of their values:
/// (value, F_a, F_b) after each value, and the largest single-value mass fraction of each.
fn joint_cdf(a: &ValueDistribution, b: &ValueDistribution) -> (Vec<(f64, f64, f64)>, f64, f64) {
    let total = |d: &ValueDistribution| d.points().map(|(_, m)| m.weight).sum::<f64>();
    let (ta, tb) = (total(a), total(b));
    let mut pa: Vec<(f64, Mass)> = a.points().collect();
    let mut pb: Vec<(f64, Mass)> = b.points().collect();
    pa.reverse();
    pb.reverse();
    let (mut ca, mut cb) = (0.0, 0.0);
    let (mut max_a, mut max_b) = (0.0f64, 0.0f64);
    let mut out = Vec::with_capacity(pa.len() + pb.len());
    loop {
        let next = match (pa.last(), pb.last()) {
            (Some(x), Some(y)) => x.0.min(y.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (None, None) => break,
        };
        if pa.last().is_some_and(|x| x.0 == next) {
            let m = pa.pop().map_or(0.0, |x| x.1.weight);
            ca += m;
            max_a = max_a.max(m / ta);
        }
        if pb.last().is_some_and(|y| y.0 == next) {
            let m = pb.pop().map_or(0.0, |y| y.1.weight);
            cb += m;
            max_b = max_b.max(m / tb);
        }
        out.push((next, ca / ta, cb / tb));
    }
    (out, max_a, max_b)
}

/// The two-sample Kolmogorov–Smirnov statistic of the predictions of `g` against `r` and its
/// error bound (0 while both distributions are exact; otherwise the largest mass fraction of
/// one kept value, since the ECDFs are exact between kept values).
pub fn ks_statistic(g: &ValueDistribution, r: &ValueDistribution) -> Option<(f64, f64)> {
    let weight = |d: &ValueDistribution| d.points().map(|(_, m)| m.weight).sum::<f64>();
    if weight(g) <= 0.0 || weight(r) <= 0.0 {
        return None;
    }
    let (cdf, max_a, max_b) = joint_cdf(g, r);
    let d = cdf
        .iter()
        .map(|(_, a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let bound = if g.is_exact() && r.is_exact() {
        0.0
    } else {
        max_a.max(max_b)
    };
    Some((d, bound))
}

/// The 1-Wasserstein distance ∫|F_g − F_r| dx of the predictions and its error bound (0 while
/// both are exact; otherwise 2^-b/(1 − 2^-b)·(E_g|ŷ| + E_r|ŷ|) for b kept mantissa bits,
/// since truncation moves each value by less than 2^-b of its size).
pub fn wasserstein(g: &ValueDistribution, r: &ValueDistribution) -> Option<(f64, f64)> {
    let weight = |d: &ValueDistribution| d.points().map(|(_, m)| m.weight).sum::<f64>();
    let (wg, wr) = (weight(g), weight(r));
    if wg <= 0.0 || wr <= 0.0 {
        return None;
    }
    let (cdf, _, _) = joint_cdf(g, r);
    let distance: f64 = cdf
        .windows(2)
        .map(|w| (w[0].1 - w[0].2).abs() * (w[1].0 - w[0].0))
        .sum();
    let bits = g.bits().min(r.bits());
    let bound = if g.is_exact() && r.is_exact() {
        0.0
    } else {
        let eps = 2f64.powi(-(bits as i32));
        let mean_abs = |d: &ValueDistribution, w: f64| {
            d.points().map(|(v, m)| v.abs() * m.weight).sum::<f64>() / w
        };
        eps / (1.0 - eps).max(f64::MIN_POSITIVE) * (mean_abs(g, wg) + mean_abs(r, wr))
    };
    Some((distance, bound))
}

/// Largest sample size for which the KS p-value is exact (scipy's `MAX_AUTO_N`).
pub const KS_EXACT_MAX_N: u64 = 10_000;

/// The two-sided p-value of a KS statistic `d` between samples of `n1` and `n2` rows, as
/// scipy's `ks_2samp(method="auto")`: exact (the lattice-path count of Hodges / Viehmann's
/// recursion, or the closed form for n1 = n2) when max(n1, n2) ≤ [`KS_EXACT_MAX_N`].
/// Beyond that, this uses Kolmogorov's limiting distribution at √(n1·n2/(n1+n2))·d (scipy's
/// `kstwobign`), where scipy's `auto` uses the finite-n `kstwo` distribution: the two agree
/// to about 1/√n. Returns `None` for an empty sample.
pub fn ks_p_value(d: f64, n1: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    if n1.max(n2) <= KS_EXACT_MAX_N {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) * n2;
        let h = (d * lcm as f64).round() as u64;
        if h == 0 {
            return Some(1.0);
        }
        let p = if n1 == n2 {
            prob_outside_square(n1, h)
        } else {
            outer_prob_inside(n1, n2, g, h)
        };
        if p.is_finite() && (0.0..=1.0).contains(&p) {
            return Some(p);
        }
    }
    let en = (n1 as f64 * n2 as f64) / (n1 + n2) as f64;
    Some(kolmogorov_sf(en.sqrt() * d).clamp(0.0, 1.0))
}

/// The two-sided p-value of a KS statistic `d` between weighted samples: Kolmogorov's limiting
/// distribution (scipy's `kstwobign`) at √(n1·n2/(n1+n2))·d with Kish's effective sizes
/// n = (Σw)²/Σw² of each sample in place of the row counts. Weights that are frequencies
/// (a row standing for w identical rows) are not what Kish's size assumes: it treats weights
/// as sampling weights, so unequal weights shrink the sample and widen the p-value. The exact
/// small-sample distribution needs integer sizes and is not used. `None` when a sample has no
/// positive weight.
pub fn ks_p_value_effective(d: f64, n1: f64, n2: f64) -> Option<f64> {
    if !(n1 > 0.0 && n2 > 0.0) {
        return None;
    }
    let en = n1 * n2 / (n1 + n2);
    Some(kolmogorov_sf(en.sqrt() * d).clamp(0.0, 1.0))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D_{n,n} ≥ h/n) = 2·Σ_k (−1)^{k+1} C(2n, n − k·h)/C(2n, n), by the Horner-like
/// evaluation that avoids cancellation.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            let kh = k as u64 * h;
            p1 = (n as f64 - kh as f64 - j as f64) * p1 / (n as f64 + kh as f64 + j as f64 + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The share of lattice paths from (0, 0) to (m, n) that leave the band
/// |x/m − y/n| < h/lcm(m, n), computed as 1 − (share inside) column by column
/// (Viehmann 2021, arXiv:2102.08037).
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as f64, (n / g) as f64);
    let (m, n, h) = (m as i64, n as i64, h as f64);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h / mg).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len = ((2 * maxj + 2).min(n + 1)) as usize;
    let mut a = vec![1.0f64; len.max(1)];
    for x in a.iter_mut().take(maxj as usize) {
        *x = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (((ng * i as f64 - h) / mg).floor() as i64 + 1)
            .max(0)
            .min(n);
        maxj = (((ng * i as f64 + h) / mg).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = (maxj - minj) as usize;
            let to = (from + (lastlen - curlen) as usize).min(a.len());
            a[from..to].iter_mut().for_each(|x| *x = 1.0);
        }
    }
    a[(maxj - minj - 1) as usize]
}

/// Survival function of Kolmogorov's limiting distribution:
/// 2·Σ_{k≥1} (−1)^{k−1} e^{−2k²z²} (for small z, 1 − the Jacobi-theta form).
pub fn kolmogorov_sf(z: f64) -> f64 {
    if z <= 0.0 {
        return 1.0;
    }
    if z < 1.0 {
        // CDF = √(2π)/z Σ_{k≥1} e^{−(2k−1)²π²/(8z²)}
        let c = (2.0 * std::f64::consts::PI).sqrt() / z;
        let s: f64 = (1..=20)
            .map(|k| {
                let t = (2 * k - 1) as f64 * std::f64::consts::PI;
                (-t * t / (8.0 * z * z)).exp()
            })
            .sum();
        return 1.0 - c * s;
    }
    let s: f64 = (1..=100)
        .map(|k| {
            let k = k as f64;
            let sign = if k as u64 % 2 == 1 { 1.0 } else { -1.0 };
            sign * (-2.0 * k * k * z * z).exp()
        })
        .sum();
    2.0 * s
}

/// The standard error of a weighted mean m with Σw·x² = `sum_sq`, using Kish's effective
/// size n_eff = W²/Σw²: s/√n_eff with s² = (Σw·x²/W − m²)·n_eff/(n_eff − 1). `None` when
/// W = 0 or n_eff < 2.
pub fn mean_standard_error(mean: f64, sum_sq: f64, s: &RegressionStats) -> Option<f64> {
    if s.weight <= 0.0 || s.weight_sq <= 0.0 {
        return None;
    }
    let n_eff = s.weight * s.weight / s.weight_sq;
    if n_eff < 2.0 {
        return None;
    }
    let var = (sum_sq / s.weight - mean * mean).max(0.0) * n_eff / (n_eff - 1.0);
    Some((var / n_eff).sqrt())
}

/// The normal-approximation interval m ± z·se of a weighted mean ([`mean_standard_error`]).
pub fn mean_interval(mean: f64, sum_sq: f64, s: &RegressionStats, z: f64) -> Option<[f64; 2]> {
    let se = mean_standard_error(mean, sum_sq, s)?;
    Some([mean - z * se, mean + z * se])
}

/// (mean, Σw·x²) of the per-row quantity behind a mean metric: `mae` (|e|), `mean_error` (e),
/// `mse` (e²); `None` for other keys or W = 0.
pub fn mean_parts(key: &str, s: &RegressionStats) -> Option<(f64, f64)> {
    if s.weight <= 0.0 {
        return None;
    }
    let w = s.weight;
    match key {
        "mae" => Some((s.sum_abs_error / w, s.sum_sq_error)),
        "mean_error" => Some((s.sum_error / w, s.sum_sq_error)),
        "mse" => Some((s.sum_sq_error / w, s.sum_quartic_error)),
        _ => None,
    }
}

/// The interval of the difference of a mean metric between two disjoint groups:
/// d ± z·√(se_g² + se_r²) (a Welch-type normal interval).
pub fn difference_interval(
    key: &str,
    g: &RegressionStats,
    r: &RegressionStats,
    z: f64,
) -> Option<[f64; 2]> {
    let ((mg, sg), (mr, sr)) = (mean_parts(key, g)?, mean_parts(key, r)?);
    let (eg, er) = (
        mean_standard_error(mg, sg, g)?,
        mean_standard_error(mr, sr, r)?,
    );
    let (d, half) = (mg - mr, z * (eg * eg + er * er).sqrt());
    Some([d - half, d + half])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(values: &[f64]) -> ValueDistribution {
        let mut d = ValueDistribution::default();
        values.iter().for_each(|&v| d.push(v, 1.0));
        d
    }

    #[test]
    fn hand_computed_metrics() {
        // (y, ŷ): (1, 2), (3, 2), (5, 5): e = 1, −1, 0.
        let mut s = RegressionStats::default();
        for (y, p) in [(1.0, 2.0), (3.0, 2.0), (5.0, 5.0)] {
            s.push(y, p, 1.0);
        }
        let m = regression_metrics(&s, Some(2.0));
        assert_eq!(m["mae"].value, Some(2.0 / 3.0));
        assert_eq!(m["mse"].value, Some(2.0 / 3.0));
        assert_eq!(m["mean_error"].value, Some(0.0));
        assert_eq!(m["mean_label"].value, Some(3.0));
        // SST = 4 + 0 + 4 = 8; R² = 1 − 2/8.
        assert_eq!(m["r2"].value, Some(0.75));
        // Only ŷ = 5 is above 2.
        assert_eq!(m["share_above_quantile"].value, Some(1.0 / 3.0));
    }

    #[test]
    fn empty_or_constant_groups_are_undefined() {
        let s = RegressionStats::default();
        let m = regression_metrics(&s, None);
        assert!(m.values().all(|v| v.value.is_none() && v.reason.is_some()));
        let mut s = RegressionStats::default();
        s.push(2.0, 1.0, 1.0);
        s.push(2.0, 3.0, 1.0);
        assert!(regression_metrics(&s, Some(0.0))["r2"].value.is_none());
    }

    #[test]
    fn quantile_is_inverted_cdf() {
        let d = dist(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(quantile(&d, 0.5), Some(2.0));
        assert_eq!(quantile(&d, 0.51), Some(3.0));
        assert_eq!(quantile(&d, 0.0), Some(1.0));
        assert_eq!(quantile(&d, 1.0), Some(4.0));
    }

    #[test]
    fn ks_and_wasserstein_by_hand() {
        let (a, b) = (dist(&[1.0, 2.0]), dist(&[2.0, 3.0]));
        // F_a − F_b after 1: 0.5; after 2: 0.5; after 3: 0.
        assert_eq!(ks_statistic(&a, &b), Some((0.5, 0.0)));
        // ∫|F_a − F_b| = 0.5·1 + 0.5·1.
        assert_eq!(wasserstein(&a, &b), Some((1.0, 0.0)));
        assert_eq!(ks_statistic(&a, &a), Some((0.0, 0.0)));
        assert_eq!(ks_p_value(0.0, 5, 7), Some(1.0));
        assert!(ks_statistic(&a, &ValueDistribution::default()).is_none());
    }

    #[test]
    fn difference_interval_by_hand() {
        // g: e = 1, 3 (mean 2, s² = 2); r: e = 0, 0, 0, 4 (mean 1, s² = 4).
        let (mut g, mut r) = (RegressionStats::default(), RegressionStats::default());
        [1.0, 3.0].iter().for_each(|&e| g.push(0.0, e, 1.0));
        [0.0, 0.0, 0.0, 4.0]
            .iter()
            .for_each(|&e| r.push(0.0, e, 1.0));
        // se² = 2/2 + 4/4 = 2.
        let [lo, hi] = difference_interval("mean_error", &g, &r, 1.0).unwrap();
        assert!(
            (lo - (1.0 - 2f64.sqrt())).abs() < 1e-12 && (hi - (1.0 + 2f64.sqrt())).abs() < 1e-12
        );
        assert!(difference_interval("r2", &g, &r, 1.0).is_none());
    }

    #[test]
    fn kolmogorov_tail_is_continuous_at_one() {
        let (lo, hi) = (kolmogorov_sf(1.0 - 1e-12), kolmogorov_sf(1.0));
        assert!((lo - hi).abs() < 1e-9, "{lo} {hi}");
        // P(K > 1.3581) ≈ 0.05.
        assert!((kolmogorov_sf(1.358_1) - 0.05).abs() < 1e-4);
    }
}
