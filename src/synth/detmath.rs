//! Platform-independent `exp`, `ln` and friends.
//!
//! The standard library documents the precision of `f64::exp` and `f64::ln` as
//! platform- and version-dependent, which would make the generated scores differ in the
//! last bit between machines. These versions use only `+ - * /`, `round` and bit
//! manipulation, which IEEE 754 defines exactly, so they give the same bits everywhere.
//! They are accurate to a few ulps, far more than the 4 decimals the scores keep.

/// High part of ln 2 (fdlibm): its low 32 mantissa bits are zero, so `k * LN2_HI` is exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 6.93147180369123816490e-1
/// Low part of ln 2: `LN2_HI + LN2_LO` is ln 2 to about 2⁻⁸⁴.
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // 1.90821492927058770002e-10

/// Number of Taylor terms of e^r in [`exp`].
const EXP_TERMS: usize = 14;
/// Number of terms after the first of the atanh series in [`ln`].
const LN_TERMS: usize = 12;

/// `RECIPROCALS[i]` = 1 / (i + 1), i.e. 1, 1/2, 1/3, …: multiplying by these is faster
/// than dividing, and IEEE 754 makes the compile-time division exact-rounded too.
const RECIPROCALS: [f64; 2 * LN_TERMS + 1] = {
    let mut table = [0.0; 2 * LN_TERMS + 1];
    let mut i = 0;
    while i < table.len() {
        table[i] = 1.0 / (i + 1) as f64;
        i += 1;
    }
    table
};

/// e^x for |x| ≤ 700 (the caller guarantees the range; results are not subnormal).
pub(crate) fn exp(x: f64) -> f64 {
    debug_assert!(x.abs() <= 700.0, "exp argument out of range: {x}");
    // x = k ln 2 + r with |r| ≤ ln 2 / 2, then e^x = 2^k e^r.
    let k = round_half_away(x * std::f64::consts::LOG2_E);
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r to r^14/14! by Horner; the remainder is below 1e-19 for
    // |r| ≤ 0.35.
    let mut sum = 1.0;
    for inverse in RECIPROCALS[..EXP_TERMS].iter().rev() {
        sum = 1.0 + sum * (r * inverse);
    }
    sum * pow2(k as i32)
}

/// Natural logarithm of a positive, finite `x`.
pub(crate) fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite(), "ln argument out of range: {x}");
    let bits = x.to_bits();
    let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
    if biased_exponent == 0 {
        // Subnormal: scale into the normal range first.
        return ln(x * pow2(54)) - 54.0 * std::f64::consts::LN_2;
    }
    // x = m 2^e with m in [1, 2), then moved to [√2/2, √2] so the series converges fast.
    let mut e = biased_exponent - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh f = 2 (f + f³/3 + f⁵/5 + …) with f = (m-1)/(m+1), |f| ≤ 0.172.
    let f = (m - 1.0) / (m + 1.0);
    let f2 = f * f;
    let mut series = 0.0;
    for inverse in RECIPROCALS[..=2 * LN_TERMS].iter().step_by(2).rev() {
        series = inverse + f2 * series;
    }
    let e = f64::from(e);
    e * LN2_HI + (e * LN2_LO + 2.0 * f * series)
}

/// 2^k for k in the normal exponent range [-1022, 1023].
fn pow2(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// The logistic function 1 / (1 + e^-x), computed without overflow.
pub(crate) fn sigmoid(x: f64) -> f64 {
    // Beyond ±40 the result is 0 or 1 to 17 digits; clamping keeps `exp` in range.
    let x = x.clamp(-40.0, 40.0);
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

/// ln(p / (1 - p)) for p in (0, 1).
pub(crate) fn logit(p: f64) -> f64 {
    ln(p) - ln(1.0 - p)
}

/// `x` rounded to 4 decimals (half away from zero), exactly reproducible.
pub(crate) fn round4(x: f64) -> f64 {
    round_half_away(x * 10_000.0) / 10_000.0
}

/// Same as `f64::round` for |x| < 2⁶², but compiled to a truncating conversion instead of
/// a call into the C library. Exact: `x - trunc(x)` is representable.
fn round_half_away(x: f64) -> f64 {
    debug_assert!(x.abs() < 4.6e18);
    let whole = x as i64 as f64;
    let fraction = x - whole;
    if fraction >= 0.5 {
        whole + 1.0
    } else if fraction <= -0.5 {
        whole - 1.0
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn exp_matches_std() {
        for i in -69_999..=69_999 {
            let x = f64::from(i) * 0.01 + 0.003;
            assert!(
                close(exp(x), x.exp()),
                "exp({x}) = {} vs {}",
                exp(x),
                x.exp()
            );
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn ln_matches_std() {
        let mut x: f64 = 1e-310;
        while x < 1e300 {
            let want = x.ln();
            let got = ln(x);
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1.0),
                "ln({x}) = {got} vs {want}"
            );
            x *= 1.013_7;
        }
        assert_eq!(ln(1.0), 0.0);
        let near_one = 1.0 + 1e-12;
        assert!((ln(near_one) - near_one.ln()).abs() < 1e-27);
    }

    #[test]
    fn sigmoid_and_logit_are_inverse() {
        for p in [1e-9, 0.01, 0.3, 0.5, 0.77, 0.999_999] {
            assert!((sigmoid(logit(p)) - p).abs() < 1e-14);
        }
        assert_eq!(sigmoid(1e9), 1.0);
        assert!(sigmoid(-1e9) < 1e-17);
        assert_eq!(round4(0.123_456), 0.1235);
    }

    #[test]
    fn round_half_away_matches_std() {
        for x in [
            0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.499_999_999_999_999_94,
            1e15 + 0.5,
            -7.2,
        ] {
            assert_eq!(round_half_away(x), x.round(), "{x}");
        }
        for i in -100_000..100_000 {
            let x = f64::from(i) * 0.000_37;
            assert_eq!(round_half_away(x), x.round(), "{x}");
        }
    }
}
