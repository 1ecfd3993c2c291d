//! Confidence intervals: binomial proportions (Wilson, Clopper–Pearson), Kish's effective
//! sample size for weighted rates, and percentile intervals of bootstrap replicates.
//!
//! Every interval here is two-sided at `level` (e.g. 0.95), with α = 1 − level split equally
//! between the tails. An interval that cannot be computed is `None`, never NaN.

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::beta::{beta_reg, inv_beta_reg};

/// How the confidence interval of a per-group rate is computed.
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
#[value(rename_all = "snake_case")]
pub enum CiMethod {
    /// Wilson score interval (default): close to nominal coverage already for small n, never
    /// outside [0, 1], and defined at p̂ = 0 and 1 (where the Wald interval collapses).
    #[default]
    Wilson,
    /// Clopper–Pearson "exact" interval from the beta distribution: coverage at least the
    /// nominal level for every p, at the price of being wider.
    ClopperPearson,
}

/// The standard normal quantile z with P(Z ≤ z) = `p`.
///
/// # Examples
/// ```
/// use fairaudit::stats::ci::normal_quantile;
/// assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-12);
/// ```
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// The upper tail P(Z > z) of the standard normal distribution.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)
}

/// Wilson score interval of a proportion with `k` successes in `n` trials.
///
/// With p̂ = k/n, z = z_{1−α/2} and α = 1 − `level`:
///
/// ```text
/// center = (p̂ + z²/(2n)) / (1 + z²/n)
/// half   = z·√(p̂(1−p̂)/n + z²/(4n²)) / (1 + z²/n)
/// [lo, hi] = [center − half, center + half] clipped to [0, 1]
/// ```
///
/// `k` and `n` may be non-integer (a weighted rate with the effective sample size, see
/// [`effective_size`]). `None` when n ≤ 0 (the rate is undefined). Equals statsmodels
/// `proportion_confint(k, n, alpha=1-level, method="wilson")`.
///
/// # Examples
/// ```
/// use fairaudit::stats::ci::wilson;
/// let [lo, hi] = wilson(3.0, 10.0, 0.95).unwrap();
/// assert!((lo - 0.10779126740630).abs() < 1e-12 && (hi - 0.6032218525388546).abs() < 1e-12);
/// assert_eq!(wilson(0.0, 0.0, 0.95), None);
/// ```
pub fn wilson(k: f64, n: f64, level: f64) -> Option<[f64; 2]> {
    if n.is_nan() || n <= 0.0 || !(0.0..=n).contains(&k) {
        return None;
    }
    let z = normal_quantile(1.0 - (1.0 - level) / 2.0);
    let z2 = z * z;
    let p = k / n;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // At k = 0 (k = n) the lower (upper) end is exactly 0 (1); rounding could leave 1e-17.
    let lo = if k == 0.0 { 0.0 } else { center - half };
    let hi = if k == n { 1.0 } else { center + half };
    Some([lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0)])
}

/// Clopper–Pearson interval of a proportion with `k` successes in `n` trials.
///
/// ```text
/// lo = B⁻¹(α/2; k, n−k+1)        (0 when k = 0)
/// hi = B⁻¹(1−α/2; k+1, n−k)      (1 when k = n)
/// ```
///
/// with B⁻¹ the quantile of the beta distribution (statrs' inverse regularized incomplete
/// beta, refined by bisection on `beta_reg` to full precision). `None` when n ≤ 0. Equals
/// statsmodels `proportion_confint(k, n, alpha=1-level, method="beta")`.
///
/// # Examples
/// ```
/// use fairaudit::stats::ci::clopper_pearson;
/// let [lo, hi] = clopper_pearson(0.0, 1.0, 0.95).unwrap();
/// assert_eq!(lo, 0.0);
/// assert!((hi - 0.975).abs() < 1e-12);
/// ```
pub fn clopper_pearson(k: f64, n: f64, level: f64) -> Option<[f64; 2]> {
    if n.is_nan() || n <= 0.0 || !(0.0..=n).contains(&k) {
        return None;
    }
    let half_alpha = (1.0 - level) / 2.0;
    let lo = if k == 0.0 {
        0.0
    } else {
        beta_quantile(k, n - k + 1.0, half_alpha)
    };
    // The upper tail by symmetry: B⁻¹(1−q; a, b) = 1 − B⁻¹(q; b, a), which keeps q small.
    let hi = if k == n {
        1.0
    } else {
        1.0 - beta_quantile(n - k, k + 1.0, half_alpha)
    };
    Some([lo, hi])
}

/// x with I_x(a, b) = q: statrs' `inv_beta_reg`, then bisection on `beta_reg` until the
/// bracket is one ulp wide, since the inverse alone is accurate to about 1e-8 only.
fn beta_quantile(a: f64, b: f64, q: f64) -> f64 {
    let guess = inv_beta_reg(a, b, q).clamp(0.0, 1.0);
    let f = |x: f64| beta_reg(a, b, x) - q;
    // Bracket around the guess, widening geometrically.
    let (mut lo, mut hi) = (guess, guess);
    let mut step = (guess * 1e-6).max(1e-300);
    while lo > 0.0 && f(lo) > 0.0 {
        lo = (lo - step).max(0.0);
        step *= 4.0;
    }
    step = ((1.0 - guess) * 1e-6).max(1e-300);
    while hi < 1.0 && f(hi) < 0.0 {
        hi = (hi + step).min(1.0);
        step *= 4.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The interval of `method`.
pub fn proportion_ci(method: CiMethod, k: f64, n: f64, level: f64) -> Option<[f64; 2]> {
    match method {
        CiMethod::Wilson => wilson(k, n, level),
        CiMethod::ClopperPearson => clopper_pearson(k, n, level),
    }
}

/// Kish's effective sample size (Σw)² / Σw² of rows with weight sum `sum_w` and sum of
/// squared weights `sum_w2`.
///
/// Without weights (every w = 1, so Σw² = Σw) it is the row count itself, exactly; 0 when
/// there is no weight.
///
/// # Examples
/// ```
/// use fairaudit::stats::ci::effective_size;
/// assert_eq!(effective_size(10.0, 10.0), 10.0); // ten rows of weight 1
/// assert_eq!(effective_size(4.0, 10.0), 1.6); // weights 1 and 3: 16/10
/// ```
pub fn effective_size(sum_w: f64, sum_w2: f64) -> f64 {
    if sum_w2 <= 0.0 {
        0.0
    } else if sum_w2 == sum_w {
        sum_w
    } else {
        sum_w * sum_w / sum_w2
    }
}

/// The interval of a weighted rate: numerator weight `num_w` out of denominator weight
/// `den_w` with Σw² `den_w2`, as a proportion of the effective sample size
/// n_eff = (Σw)²/Σw² with k_eff = p̂·n_eff.
pub fn weighted_rate_ci(
    method: CiMethod,
    num_w: f64,
    den_w: f64,
    den_w2: f64,
    level: f64,
) -> Option<[f64; 2]> {
    if den_w <= 0.0 {
        return None;
    }
    let n = effective_size(den_w, den_w2);
    let p = (num_w / den_w).clamp(0.0, 1.0);
    // Unweighted: k stays the exact integer count.
    let k = if den_w2 == den_w { num_w } else { p * n };
    proportion_ci(method, k.min(n), n, level)
}

/// The `q`-quantile (0 ≤ q ≤ 1) of ascending `sorted` values, interpolating linearly between
/// order statistics (numpy's default, "type 7"). `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = q.clamp(0.0, 1.0) * last as f64;
    let i = h.floor() as usize;
    let frac = h - i as f64;
    let lo = sorted[i];
    Some(match sorted.get(i + 1) {
        Some(&hi) if frac > 0.0 => lo + frac * (hi - lo),
        _ => lo,
    })
}

/// Percentile bootstrap interval of `replicates` at `level`, widened to contain `estimate`.
///
/// `replicates` holds one entry per replicate, `None` where the statistic was undefined in
/// that replicate. Undefined replicates are dropped, but only while they are at most
/// ⌊B·α/2⌋ (they could all belong to one tail, and a tail may hold no more than that); with
/// more, there is no interval (`None`).
///
/// The percentile interval of a range statistic (max − min, min/max over groups) can miss the
/// observed value, whose bootstrap distribution is biased away from it; the interval is then
/// widened to reach the estimate, so that "the interval straddles a bound" keeps its meaning
/// for CI-aware policies.
pub fn percentile_interval(
    replicates: &[Option<f64>],
    level: f64,
    estimate: f64,
) -> Option<[f64; 2]> {
    let alpha = 1.0 - level;
    let mut values: Vec<f64> = replicates.iter().flatten().copied().collect();
    let undefined = replicates.len() - values.len();
    if values.is_empty()
        || undefined as f64 > (replicates.len() as f64 * alpha / 2.0 + 1e-9).floor()
    {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let lo = quantile(&values, alpha / 2.0)?;
    let hi = quantile(&values, 1.0 - alpha / 2.0)?;
    Some([lo.min(estimate), hi.max(estimate)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::prec;

    #[test]
    fn wilson_hand_values() {
        // k = 5, n = 10, 95%: symmetric around 0.5; statsmodels: (0.23659309, 0.76340691).
        let [lo, hi] = wilson(5.0, 10.0, 0.95).unwrap();
        assert!((lo + hi - 1.0).abs() < 1e-15);
        assert!((lo - 0.236_593_090_512_564_4).abs() < prec::REFERENCE);
        // k = 0: lower end 0, upper end z²/(n+z²).
        let [lo, hi] = wilson(0.0, 10.0, 0.95).unwrap();
        let z2 = normal_quantile(0.975).powi(2);
        assert_eq!(lo, 0.0);
        assert!((hi - z2 / (10.0 + z2)).abs() < 1e-15);
        assert_eq!(wilson(1.0, 0.0, 0.95), None);
        assert_eq!(wilson(11.0, 10.0, 0.95), None);
    }

    #[test]
    fn clopper_pearson_closed_forms() {
        // k = n: lo = (α/2)^(1/n); k = 0: hi = 1 − (α/2)^(1/n).
        for n in [1.0, 3.0, 25.0, 1000.0] {
            let [lo, hi] = clopper_pearson(n, n, 0.95).unwrap();
            assert!((lo - 0.025f64.powf(1.0 / n)).abs() < 1e-12, "n = {n}");
            assert_eq!(hi, 1.0);
            let [lo, hi] = clopper_pearson(0.0, n, 0.9).unwrap();
            assert_eq!(lo, 0.0);
            assert!(
                (hi - (1.0 - 0.05f64.powf(1.0 / n))).abs() < 1e-12,
                "n = {n}"
            );
        }
    }

    #[test]
    fn clopper_pearson_is_wider_than_wilson() {
        for (k, n) in [(1.0, 10.0), (5.0, 10.0), (37.0, 200.0)] {
            let [wl, wh] = wilson(k, n, 0.95).unwrap();
            let [cl, ch] = clopper_pearson(k, n, 0.95).unwrap();
            assert!(cl <= wl && ch >= wh, "k = {k}, n = {n}");
        }
    }

    #[test]
    fn weighted_rates_use_the_effective_size() {
        // Unweighted (Σw² = Σw): identical to the plain interval.
        assert_eq!(
            weighted_rate_ci(CiMethod::Wilson, 3.0, 10.0, 10.0, 0.95),
            wilson(3.0, 10.0, 0.95)
        );
        // Every weight 2: Σw = 20, Σw² = 40, n_eff = 10, p̂ = 0.3: the same interval.
        let [lo, hi] = weighted_rate_ci(CiMethod::Wilson, 6.0, 20.0, 40.0, 0.95).unwrap();
        let [elo, ehi] = wilson(3.0, 10.0, 0.95).unwrap();
        assert!((lo - elo).abs() < 1e-15 && (hi - ehi).abs() < 1e-15);
        assert_eq!(
            weighted_rate_ci(CiMethod::Wilson, 0.0, 0.0, 0.0, 0.95),
            None
        );
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(4.0));
        assert_eq!(quantile(&v, 0.5), Some(2.5)); // numpy.quantile([1,2,3,4], .5)
        assert_eq!(quantile(&v, 0.25), Some(1.75));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn percentile_intervals_drop_few_undefined_and_contain_the_estimate() {
        let mut r: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64)).collect();
        let [lo, hi] = percentile_interval(&r, 0.9, 50.0).unwrap();
        // numpy.quantile(range(100), [.05, .95]); α/2 = (1 − 0.9)/2 is 0.05 − 1 ulp.
        assert!(
            (lo - 4.95).abs() < 1e-12 && (hi - 94.05).abs() < 1e-12,
            "{lo} {hi}"
        );
        // Estimate outside the percentiles: widened to it.
        assert_eq!(percentile_interval(&r, 0.9, 99.0).unwrap()[1], 99.0);
        // 5 of 100 undefined at 90%: ⌊100·0.05⌋ = 5 allowed.
        r[..5].iter_mut().for_each(|x| *x = None);
        assert!(percentile_interval(&r, 0.9, 50.0).is_some());
        r[5] = None;
        assert_eq!(percentile_interval(&r, 0.9, 50.0), None);
    }
}
