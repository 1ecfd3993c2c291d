//! Logistic recalibration of a score (Cox 1958; Van Calster et al. 2016), fitted by maximum
//! likelihood on the score distribution (weights per distinct score and label), not on rows.
//!
//! With x = logit(s), s clipped to [1e-15, 1 − 1e-15]:
//! - calibration-in-the-large `calibration_intercept` = α in logit P(y=1) = α + x
//!   (x as an offset; ideal 0, > 0 means the score under-predicts risk);
//! - `calibration_slope` = β₁ in logit P(y=1) = β₀ + β₁·x (ideal 1; < 1 means the scores are too
//!   extreme, > 1 too modest).
//!
//! Both are fitted by Newton–Raphson with step halving (full steps once the Newton decrement
//! is below 10⁻², where the likelihood's rounding would otherwise stop the fit early), to
//! |Δβ| < 1e-12·(1 + |β|). They are undefined when
//! the group has one label class, and the slope also when all scores are equal or the classes
//! are separated by the score (no finite maximum of the likelihood).

use std::sync::OnceLock;

use crate::aggregate::{grid_score, grid_slot, ScorePoint, GRID_STEPS};

use super::Value;

/// The two fitted recalibration parameters of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Recalibration {
    /// α of the offset model.
    pub intercept: Value,
    /// β₁ of the two-parameter model.
    pub slope: Value,
}

const CLIP: f64 = 1e-15;
const MAX_ITERATIONS: usize = 200;
const TOLERANCE: f64 = 1e-12;
/// Newton decrement below which full Newton steps are taken (see [`newton_step`]).
const FULL_STEPS_BELOW: f64 = 1e-2;

/// logit(s) with s clipped to [1e-15, 1 − 1e-15].
pub fn logit(s: f64) -> f64 {
    let s = s.clamp(CLIP, 1.0 - CLIP);
    (s / (1.0 - s)).ln()
}

/// One observation of the fit: x, and the weights of label 0 and 1 at that x.
#[derive(Debug, Clone, Copy)]
struct Obs {
    x: f64,
    neg: f64,
    pos: f64,
}

/// [`logit`] of `s`, looked up when `s` is a score k/10⁴ of the dense grid (most scores of
/// large groups; issue 8): the same value, without a logarithm per point and fit.
fn logit_of(s: f64) -> f64 {
    static GRID: OnceLock<Vec<f64>> = OnceLock::new();
    match grid_slot(s) {
        Some(k) => GRID.get_or_init(|| {
            (0..=GRID_STEPS as usize)
                .map(|k| logit(grid_score(k)))
                .collect()
        })[k],
        None => logit(s),
    }
}

/// The observations of a fit: as rows, and as columns padded with observations of no weight
/// to a multiple of [`LANES`] for the vectorised [`evaluate`].
#[derive(Debug, Default)]
struct Observations {
    rows: Vec<Obs>,
    x: Vec<f64>,
    neg: Vec<f64>,
    pos: Vec<f64>,
}

fn observations(points: &[ScorePoint]) -> Observations {
    let rows: Vec<Obs> = points
        .iter()
        .filter(|p| p.negatives + p.positives > 0.0)
        .map(|p| Obs {
            x: logit_of(p.score),
            neg: p.negatives,
            pos: p.positives,
        })
        .collect();
    let padded = rows.len().next_multiple_of(LANES);
    let column = |f: fn(&Obs) -> f64| -> Vec<f64> {
        let mut c: Vec<f64> = rows.iter().map(f).collect();
        c.resize(padded, 0.0);
        c
    };
    Observations {
        x: column(|o| o.x),
        neg: column(|o| o.neg),
        pos: column(|o| o.pos),
        rows,
    }
}

/// The log-likelihood of logit P(y=1) = b₀ + b₁·x + offset·x at one (b₀, b₁), with its
/// gradient g and negative Hessian H in (b₀, b₁).
#[derive(Debug, Clone, Copy, Default)]
struct Evaluation {
    /// The log-likelihood, when it was asked for: only a line search compares it, so Newton
    /// steps that no line search can follow skip its logarithm per observation (issue 8).
    ll: Option<f64>,
    g0: f64,
    g1: f64,
    h00: f64,
    h01: f64,
    h11: f64,
}

/// [`Evaluation`] at (b0, b1), with the log-likelihood when `with_ll`: [`pass`], compiled for
/// AVX2 when the CPU has it, else for the baseline instruction set (SSE2 on x86-64).
fn evaluate(obs: &Observations, b0: f64, b1: f64, offset: f64, with_ll: bool) -> Evaluation {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature these functions enable.
        return unsafe {
            match with_ll {
                true => pass_avx2::<true>(obs, b0, b1, offset),
                false => pass_avx2::<false>(obs, b0, b1, offset),
            }
        };
    }
    match with_ll {
        true => pass::<true>(obs, b0, b1, offset),
        false => pass::<false>(obs, b0, b1, offset),
    }
}

/// Observations per step of [`pass`]'s loop, each summed in its own lane.
const LANES: usize = 4;

/// [`Evaluation`] in one pass over the observations. With z = b₀ + b₁·x + offset·x,
/// e = e^(−|z|) ([`exp_neg`]) and d = 1/(1 + e): σ(z) and 1 − σ(z) are d and e·d (swapped
/// for z < 0, so neither is a difference of nearly equal numbers); with t = ln(1 + e)
/// ([`ln_1p`]), ln σ(z) = −(max(−z, 0) + t) and ln(1 − σ(z)) = −(max(z, 0) + t). Then
/// r = pos·(1 − σ) − neg·σ, w = n·σ·(1 − σ) (n = pos + neg), g = (Σr, Σr·x),
/// H = (Σw, Σw·x, Σw·x²),
/// ℓ = Σ pos·ln σ + neg·ln(1 − σ).
///
/// The sums run in [`LANES`] lanes, added at the end, without a branch or a library call, so
/// the loop vectorises (issue 8: the fits were two thirds of the report's time). Every lane
/// does the same IEEE operations whatever the instruction set (Rust contracts no multiply-add),
/// so the result does not depend on the CPU.
#[inline(always)]
fn pass<const WITH_LL: bool>(obs: &Observations, b0: f64, b1: f64, offset: f64) -> Evaluation {
    let mut sums = [[0.0f64; LANES]; 6];
    let chunks = (obs.x.chunks_exact(LANES))
        .zip(obs.neg.chunks_exact(LANES))
        .zip(obs.pos.chunks_exact(LANES));
    for ((x, neg), pos) in chunks {
        for lane in 0..LANES {
            let (x, neg, pos) = (x[lane], neg[lane], pos[lane]);
            let z = b0 + b1 * x + offset * x;
            let e = exp_neg(z.abs());
            let d = 1.0 / (1.0 + e);
            let (p, q) = if z >= 0.0 { (d, e * d) } else { (e * d, d) };
            let n = pos + neg;
            // pos·(1 − σ) − neg·σ, not pos − n·σ, which loses the residual to rounding when
            // σ is within an ulp of 1 (a score of 1 with α far below 0).
            let r = pos * q - neg * p;
            let w = n * p * q;
            sums[0][lane] += r;
            sums[1][lane] += r * x;
            sums[2][lane] += w;
            sums[3][lane] += w * x;
            sums[4][lane] += w * x * x;
            if WITH_LL {
                let t = ln_1p(e);
                let (ln_p, ln_q) = (-((-z).max(0.0) + t), -(z.max(0.0) + t));
                sums[5][lane] += pos * ln_p + neg * ln_q;
            }
        }
    }
    let total = |s: [f64; LANES]| (s[0] + s[1]) + (s[2] + s[3]);
    Evaluation {
        ll: WITH_LL.then(|| total(sums[5])),
        g0: total(sums[0]),
        g1: total(sums[1]),
        h00: total(sums[2]),
        h01: total(sums[3]),
        h11: total(sums[4]),
    }
}

/// [`pass`] compiled for AVX2 (four lanes per instruction instead of two).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pass_avx2<const WITH_LL: bool>(
    obs: &Observations,
    b0: f64,
    b1: f64,
    offset: f64,
) -> Evaluation {
    pass::<WITH_LL>(obs, b0, b1, offset)
}

/// e^(−a) for a ≥ 0 (NaN stays NaN), within 2 ulps for a ≤ 708; 0 above (the true value is
/// below 3·10⁻³⁰⁸, and libm's reaches 0 a little later), so that σ(z) is exactly 0 or 1 there
/// and its weight σ(1 − σ) exactly 0, as with libm.
///
/// Without a branch or a library call (issue 8): e^(−a) = 2^k · e^r with k the integer
/// nearest −a/ln 2 (by adding and subtracting 1.5·2⁵²) and r = −a − k·ln 2 in two parts
/// (Cody and Waite; |r| ≤ ln 2 / 2), e^r by its Taylor polynomial of degree 13 (remainder below
/// 10⁻¹⁷), and 2^k put together from its exponent bits.
#[inline(always)]
fn exp_neg(a: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 · 2⁵²
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // ln 2 to 32 bits: k·LN2_HI is exact
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // ln 2 − LN2_HI
    let y = if a > 708.0 { -708.0 } else { -a };
    let t = y * std::f64::consts::LOG2_E + SHIFT;
    let k = t - SHIFT;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    let mut p = INVERSE_FACTORIALS[13];
    for &c in INVERSE_FACTORIALS[..13].iter().rev() {
        p = p * r + c;
    }
    let exponent = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i64 + 1023;
    let e = p * f64::from_bits((exponent as u64) << 52);
    if a > 708.0 {
        0.0
    } else {
        e
    }
}

/// 1/j! for j = 0..=13, each correctly rounded.
const INVERSE_FACTORIALS: [f64; 14] = {
    let mut c = [1.0; 14];
    let mut factorial = 1.0;
    let mut j = 1;
    while j < 14 {
        factorial *= j as f64; // exact: 13! < 2⁵³
        c[j] = 1.0 / factorial;
        j += 1;
    }
    c
};

/// ln(1 + e) for e ∈ [0, 1], within a few ulps, without a branch or a library call (issue 8):
/// 2·artanh(s) with s = e/(2 + e) ∈ [0, ⅓], by its series 2·(s + s³/3 + s⁵/5 + …) to the
/// term s³⁷/37 (the rest is below 10⁻¹⁸ of the sum).
#[inline(always)]
fn ln_1p(e: f64) -> f64 {
    let s = e / (2.0 + e);
    let s2 = s * s;
    let mut p = INVERSE_ODD[18];
    for &c in INVERSE_ODD[..18].iter().rev() {
        p = p * s2 + c;
    }
    2.0 * s * p
}

/// 1/(2j + 1) for j = 0..=18, each correctly rounded.
const INVERSE_ODD: [f64; 19] = {
    let mut c = [1.0; 19];
    let mut j = 1;
    while j < 19 {
        c[j] = 1.0 / (2 * j + 1) as f64;
        j += 1;
    }
    c
};

/// Fit both parameters.
pub fn fit(points: &[ScorePoint]) -> Recalibration {
    let obs = observations(points);
    let (neg, pos) = (obs.rows.iter()).fold((0.0, 0.0), |(n, p), o| (n + o.neg, p + o.pos));
    if neg <= 0.0 || pos <= 0.0 {
        let v = Value::undefined("group has only one label class");
        return Recalibration {
            intercept: v.clone(),
            slope: v,
        };
    }
    // Both models have z = x at their start (α = 0; β₀ = 0, β₁ = 1), and the two-parameter
    // model at (β₀, β₁) = (α, 1) has the offset model's z = α + x: the slope fit starts from
    // the intercept fit's last point, with its evaluation (issue 8: fewer passes). The start
    // has its log-likelihood, which the first step's line search, if any, compares with.
    let start = evaluate(&obs, 0.0, 0.0, 1.0, true);
    let (intercept, last) = fit_intercept(&obs, start);
    Recalibration {
        intercept,
        slope: fit_slope(&obs, last.unwrap_or((0.0, start))),
    }
}

/// α with x as offset: one-dimensional Newton on the concave log-likelihood, from α = 0
/// (evaluated as `start`). Also the last α evaluated, with its evaluation.
fn fit_intercept(obs: &Observations, start: Evaluation) -> (Value, Option<(f64, Evaluation)>) {
    let (mut a, mut at) = (0.0, start);
    for _ in 0..MAX_ITERATIONS {
        let (g, h) = (at.g0, at.h00);
        if h <= 0.0 {
            return (
                Value::undefined("no finite maximum of the likelihood"),
                None,
            );
        }
        // A full step below the tolerance ends the fit without another evaluation.
        if (g / h).abs() < TOLERANCE * (1.0 + (a + g / h).abs()) {
            return (Value::defined(a + g / h), Some((a, at)));
        }
        let (step, next) = newton_step(
            g * g / h,
            at.ll,
            |t, with_ll| evaluate(obs, a + t * g / h, 0.0, 1.0, with_ll),
            |at| at.g0 * g / h,
        );
        let delta = step * g / h;
        a += delta;
        at = next.unwrap_or(at);
        if delta.abs() < TOLERANCE * (1.0 + a.abs()) {
            return (Value::defined(a), Some((a, at)));
        }
    }
    (Value::undefined("the fit did not converge"), None)
}

/// β₁ of logit P = β₀ + β₁·x: two-dimensional Newton from (β₀, β₁) = (`b0`, 1), whose
/// evaluation is `at`.
fn fit_slope(obs: &Observations, (b0, at): (f64, Evaluation)) -> Value {
    if obs.rows.len() < 2 {
        return Value::undefined("every score in the group is equal");
    }
    if separated(&obs.rows) {
        return Value::undefined(
            "the score separates the classes: no finite maximum (perfect separation)",
        );
    }
    let (mut b0, mut b1, mut at) = (b0, 1.0, at);
    for _ in 0..MAX_ITERATIONS {
        let (g0, g1, h00, h01, h11) = (at.g0, at.g1, at.h00, at.h01, at.h11);
        let det = h00 * h11 - h01 * h01;
        if det <= 0.0 || !det.is_finite() {
            return Value::undefined("no finite maximum of the likelihood");
        }
        let d0 = (h11 * g0 - h01 * g1) / det;
        let d1 = (h00 * g1 - h01 * g0) / det;
        let converged = |d0: f64, d1: f64, b0: f64, b1: f64| {
            d0.abs().max(d1.abs()) < TOLERANCE * (1.0 + b1.abs().max(b0.abs()))
        };
        // A full step below the tolerance ends the fit without another evaluation.
        if converged(d0, d1, b0 + d0, b1 + d1) {
            return Value::defined(b1 + d1);
        }
        let (step, next) = newton_step(
            g0 * d0 + g1 * d1,
            at.ll,
            |t, with_ll| evaluate(obs, b0 + t * d0, b1 + t * d1, 0.0, with_ll),
            |at| at.g0 * d0 + at.g1 * d1,
        );
        b0 += step * d0;
        b1 += step * d1;
        at = next.unwrap_or(at);
        if converged(step * d0, step * d1, b0, b1) {
            return Value::defined(b1);
        }
    }
    Value::undefined("the fit did not converge")
}

/// The step along a Newton direction whose Newton decrement is λ² = gᵀH⁻¹g: the full step
/// once λ² < [`FULL_STEPS_BELOW`], where Newton converges quadratically and the change of the
/// log-likelihood (about λ²/2) would soon drown in its rounding error, so that comparing
/// log-likelihoods would stop the fit short of the maximum; a [`line_search`] before.
/// `eval(t, with_ll)` evaluates the step t; `base` is the log-likelihood at t = 0, if known;
/// `slope(at)` is the derivative ℓ'(t) of the log-likelihood along the direction, from the
/// gradient of the evaluation at t.
///
/// ℓ is concave along the line and rises at t = 0 (ℓ'(0) is the decrement), so if ℓ'(1) ≥ 0
/// as well, ℓ rises on all of [0, 1] and the line search would take t = 1: the full step is
/// taken without comparing log-likelihoods. Only an overshooting step (ℓ'(1) < 0) compares
/// them, so the full step is evaluated with its log-likelihood (a logarithm per observation)
/// only while a line search may follow, and then not evaluated again by the line search,
/// whose base is usually that log-likelihood of the step before (issue 8).
fn newton_step(
    decrement: f64,
    base: Option<f64>,
    eval: impl Fn(f64, bool) -> Evaluation,
    slope: impl Fn(&Evaluation) -> f64,
) -> (f64, Option<Evaluation>) {
    let searching = decrement >= FULL_STEPS_BELOW;
    let full = eval(1.0, searching);
    if !searching || slope(&full) >= 0.0 {
        return (1.0, Some(full));
    }
    let base = base
        .or_else(|| eval(0.0, true).ll)
        .unwrap_or(f64::NEG_INFINITY);
    line_search(full, |t| eval(t, true), base)
}

/// Largest step t ∈ {1, ½, ¼, …} whose evaluation does not decrease the log-likelihood from
/// `base`, with that evaluation (`full`, with its log-likelihood, is the one at t = 1); (0,
/// `None`) when none does.
fn line_search(
    full: Evaluation,
    eval: impl Fn(f64) -> Evaluation,
    base: f64,
) -> (f64, Option<Evaluation>) {
    if full.ll.is_some_and(|ll| ll >= base) {
        return (1.0, Some(full));
    }
    // t = 1 was `full`; then t = ½, ¼, …, 2⁻⁵⁹.
    let mut t = 0.5;
    for _ in 1..60 {
        let at = eval(t);
        if at.ll.is_some_and(|ll| ll >= base) {
            return (t, Some(at));
        }
        t *= 0.5;
    }
    (0.0, None)
}

/// True when some threshold on x puts all positives on one side and all negatives on the other
/// (ties allowed: quasi-complete separation), so β₁ has no finite maximum.
fn separated(obs: &[Obs]) -> bool {
    let max_neg = obs
        .iter()
        .filter(|o| o.neg > 0.0)
        .map(|o| o.x)
        .fold(f64::MIN, f64::max);
    let min_pos = obs
        .iter()
        .filter(|o| o.pos > 0.0)
        .map(|o| o.x)
        .fold(f64::MAX, f64::min);
    let max_pos = obs
        .iter()
        .filter(|o| o.pos > 0.0)
        .map(|o| o.x)
        .fold(f64::MIN, f64::max);
    let min_neg = obs
        .iter()
        .filter(|o| o.neg > 0.0)
        .map(|o| o.x)
        .fold(f64::MAX, f64::min);
    max_neg <= min_pos || max_pos <= min_neg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(score: f64, negatives: f64, positives: f64) -> ScorePoint {
        ScorePoint {
            score,
            negatives,
            positives,
            rows: negatives + positives,
            positive_rows: positives,
        }
    }

    #[test]
    fn perfectly_calibrated_distribution_gives_zero_and_one() {
        // At each score s the observed rate is exactly s: α = 0, β₁ = 1, β₀ = 0.
        let points = [pt(0.2, 8.0, 2.0), pt(0.5, 5.0, 5.0), pt(0.8, 2.0, 8.0)];
        let fit = fit(&points);
        assert!(fit.intercept.value.unwrap().abs() < 1e-12);
        assert!((fit.slope.value.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn hand_computed_intercept() {
        // One score 0.5 (x = 0) with 3 positives and 1 negative: α = logit(0.75) = ln 3.
        let fit = fit(&[pt(0.5, 1.0, 3.0), pt(0.9, 1.0, 1.0)]);
        let points = [pt(0.5, 1.0, 3.0)];
        let only = super::fit(&points);
        assert!((only.intercept.value.unwrap() - 3f64.ln()).abs() < 1e-12);
        assert!(only.slope.reason.as_deref().unwrap().contains("equal"));
        assert!(fit.intercept.value.is_some());
    }

    #[test]
    fn an_intercept_far_below_zero_converges() {
        // A positive at score 1 (x = logit(1 − 10⁻¹⁵) ≈ 34.5) and negatives at a low score:
        // α ≈ −17, where σ(α + x) is within an ulp of 1. The residual pos − n·σ lost itself to
        // rounding there and the fit ran out of iterations. References: the root of
        // Σ pos·(1 − σ(α + x)) − neg·σ(α + x) by bisection with mpmath at 50 digits.
        for (points, alpha) in [
            (
                [pt(0.5, 1.0, 0.0), pt(1.0, 0.0, 1.0)],
                -17.269_787_996_170_44,
            ),
            (
                [pt(0.178, 2.0, 0.0), pt(1.0, 0.0, 1.0)],
                -16.851_383_169_268_99,
            ),
        ] {
            let got = fit(&points).intercept.value.unwrap();
            assert!((got - alpha).abs() < 1e-9, "{got} vs {alpha}");
        }
    }

    #[test]
    fn two_point_slope_is_the_ratio_of_logit_gaps() {
        // Saturated model: at x₁ = logit(0.2) the rate is 0.4, at x₂ = logit(0.8) it is 0.6, so
        // β₁ = (logit 0.6 − logit 0.4) / (logit 0.8 − logit 0.2) = ln(1.5)·2 / (ln 4·2).
        let fit = fit(&[pt(0.2, 6.0, 4.0), pt(0.8, 4.0, 6.0)]);
        let expected = (1.5f64).ln() / 4f64.ln();
        assert!(
            (fit.slope.value.unwrap() - expected).abs() < 1e-10,
            "{:?}",
            fit.slope
        );
    }

    /// On a large group the log-likelihood (about −10⁶ here) cannot resolve the last
    /// Newton steps: comparing it stopped the fits up to 3·10⁻⁹ short of the maximum. At the
    /// returned parameters the remaining Newton step must be below the tolerance.
    #[test]
    fn fits_reach_the_maximum_on_a_large_group() {
        let points: Vec<ScorePoint> = (1..10_000)
            .map(|k| {
                let s = k as f64 / 10_000.0;
                // Miscalibrated: the true probability is σ(0.1 + 0.9·logit(s)).
                let p = 1.0 / (1.0 + (-(0.1 + 0.9 * logit(s))).exp());
                let rows = 100.0 + (k % 7) as f64;
                pt(s, (rows * (1.0 - p)).round(), (rows * p).round())
            })
            .collect();
        let fit = fit(&points);
        let obs = observations(&points);
        let a = fit.intercept.value.expect("intercept");
        let at = evaluate(&obs, a, 0.0, 1.0, false);
        assert!(
            (at.g0 / at.h00).abs() < 1e-12,
            "intercept step {}",
            at.g0 / at.h00
        );
        // The slope's intercept is not reported: find it from the slope's score equation.
        let b1 = fit.slope.value.expect("slope");
        let mut b0 = 0.0;
        for _ in 0..100 {
            let at = evaluate(&obs, b0, b1, 0.0, false);
            b0 += at.g0 / at.h00;
        }
        let at = evaluate(&obs, b0, b1, 0.0, false);
        let det = at.h00 * at.h11 - at.h01 * at.h01;
        let d1 = (at.h00 * at.g1 - at.h01 * at.g0) / det;
        assert!(d1.abs() < 1e-12, "slope step {d1}");
        assert!((b1 - 0.9).abs() < 0.01 && (a - 0.1).abs() < 0.1, "{a} {b1}");
    }

    /// ℓ(t) = −(t − c)² along a direction: ℓ'(t) = 2(c − t).
    fn quadratic(c: f64) -> impl Fn(f64, bool) -> Evaluation {
        move |t, with_ll| Evaluation {
            ll: with_ll.then(|| -(t - c) * (t - c)),
            g0: 2.0 * (c - t),
            ..Evaluation::default()
        }
    }

    #[test]
    fn newton_steps_take_the_full_step_unless_it_lowers_the_likelihood() {
        let slope = |at: &Evaluation| at.g0;
        let calls = std::cell::Cell::new(0);
        let counted = |c: f64| {
            calls.set(0);
            let calls = &calls;
            move |t: f64, with_ll: bool| {
                calls.set(calls.get() + 1);
                quadratic(c)(t, with_ll)
            }
        };
        // Still rising at t = 1: the full step, evaluated once, with the log-likelihood the
        // next step's line search would start from.
        let (t, full) = newton_step(6.0, None, counted(3.0), slope);
        assert_eq!((t, calls.get()), (1.0, 1));
        assert_eq!(full.and_then(|at| at.ll), Some(-4.0));
        // Past the maximum at t = 1 but higher than at 0 (ℓ(0) known): t = 1, evaluated once.
        assert_eq!(newton_step(1.2, Some(-0.36), counted(0.6), slope).0, 1.0);
        assert_eq!(calls.get(), 1);
        // The same with ℓ(0) unknown: t = 1 after evaluating t = 0.
        assert_eq!(newton_step(1.2, None, counted(0.6), slope).0, 1.0);
        assert_eq!(calls.get(), 2);
        // Past the maximum and lower than at 0: halved until ℓ(t) ≥ ℓ(0) (at t = 1/8).
        assert_eq!(newton_step(0.2, None, counted(0.1), slope).0, 0.125);
        assert_eq!(calls.get(), 5);
        // A small decrement: the full step whatever it does, without a log-likelihood.
        let no_ll = |t: f64, with_ll: bool| {
            assert!(!with_ll, "asked for the log-likelihood at {t}");
            quadratic(0.001)(t, with_ll)
        };
        assert_eq!(newton_step(0.002, None, no_ll, slope).0, 1.0);
    }

    #[test]
    fn ln_1p_and_exp_neg_are_within_a_few_ulps_of_libm() {
        let ulps = |ours: f64, libm: f64| (ours - libm).abs() / (f64::EPSILON * libm);
        // e = e^(−a) over the whole range the fits meet, and a past it.
        for k in 0..=30_000 {
            let a = k as f64 / 40.0 + 1e-3 * (k % 7) as f64;
            if a <= 708.0 {
                let (ours, libm) = (exp_neg(a), (-a).exp());
                assert!(ulps(ours, libm) <= 2.0, "e^-{a}: {ours} vs {libm}");
                let (ours, libm) = (ln_1p(libm), libm.ln_1p());
                assert!(
                    ulps(ours, libm) <= 4.0,
                    "ln(1 + {}): {ours} vs {libm}",
                    (-a).exp()
                );
            } else {
                assert_eq!(exp_neg(a), 0.0);
            }
        }
        assert_eq!((exp_neg(0.0), ln_1p(0.0)), (1.0, 0.0));
        assert!(ulps(ln_1p(1.0), 2f64.ln()) <= 4.0);
        assert!(exp_neg(f64::NAN).is_nan());
        assert_eq!(exp_neg(f64::INFINITY), 0.0);
        assert_eq!(exp_neg(1e-300), 1.0);
    }

    /// The report must not depend on the CPU: the AVX2 build of the pass gives the bits of the
    /// baseline (SSE2) build.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_pass_gives_the_same_bits_with_and_without_avx2() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        let points: Vec<ScorePoint> = (0..=1001)
            .map(|k| pt(k as f64 / 1001.0, (k % 5) as f64, (k % 3) as f64 * 0.7))
            .collect();
        let obs = observations(&points);
        for (b0, b1, offset) in [
            (0.0, 0.0, 1.0),
            (-0.3, 0.0, 1.0),
            (0.2, 1.7, 0.0),
            (40.0, -3.0, 0.0),
        ] {
            let bits = |e: Evaluation| {
                [e.ll.unwrap_or(0.0), e.g0, e.g1, e.h00, e.h01, e.h11].map(f64::to_bits)
            };
            // SAFETY: the CPU has AVX2 (checked above).
            let avx2 = unsafe { pass_avx2::<true>(&obs, b0, b1, offset) };
            assert_eq!(bits(avx2), bits(pass::<true>(&obs, b0, b1, offset)));
        }
    }

    #[test]
    fn undefined_cases() {
        let fit1 = fit(&[pt(0.3, 0.0, 2.0), pt(0.6, 0.0, 1.0)]);
        assert_eq!(
            fit1.slope.reason.as_deref(),
            Some("group has only one label class")
        );
        assert_eq!(fit1.intercept.value, None);
        // Negatives all below positives: separation.
        let fit2 = fit(&[pt(0.3, 2.0, 0.0), pt(0.6, 0.0, 1.0)]);
        assert!(fit2.slope.reason.as_deref().unwrap().contains("separation"));
        assert!(
            fit2.intercept.value.is_some(),
            "the offset model still has a maximum"
        );
        // Quasi-complete separation (tie at the boundary) is also separation.
        let fit3 = fit(&[pt(0.3, 2.0, 0.0), pt(0.5, 1.0, 1.0), pt(0.6, 0.0, 1.0)]);
        assert!(fit3.slope.value.is_none());
    }
}
