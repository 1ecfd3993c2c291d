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

fn observations(points: &[ScorePoint]) -> Vec<Obs> {
    points
        .iter()
        .filter(|p| p.negatives + p.positives > 0.0)
        .map(|p| Obs {
            x: logit_of(p.score),
            neg: p.negatives,
            pos: p.positives,
        })
        .collect()
}

/// The log-likelihood of logit P(y=1) = b₀ + b₁·x + offset·x at one (b₀, b₁), with its
/// gradient g and negative Hessian H in (b₀, b₁).
#[derive(Debug, Clone, Copy, Default)]
struct Evaluation {
    /// The log-likelihood, when it was asked for: only a line search compares it, so full
    /// Newton steps skip its logarithm per observation (issue 8).
    ll: Option<f64>,
    g0: f64,
    g1: f64,
    h00: f64,
    h01: f64,
    h11: f64,
}

/// [`Evaluation`] in one pass, one exponential per observation and, `with_ll`, one logarithm:
/// with e = exp(−|z|) and t = ln(1 + e), ln σ(z) = −(max(−z, 0) + t),
/// ln(1 − σ(z)) = −(max(z, 0) + t) (no cancellation), and σ(z) = 1/(1 + e) for z ≥ 0,
/// e/(1 + e) below.
fn evaluate(obs: &[Obs], b0: f64, b1: f64, offset: f64, with_ll: bool) -> Evaluation {
    let mut at = Evaluation::default();
    let mut ll = 0.0;
    for o in obs {
        let z = b0 + b1 * o.x + offset * o.x;
        let e = (-z.abs()).exp();
        if with_ll {
            let t = ln_1p(e);
            let (ln_p, ln_q) = (-((-z).max(0.0) + t), -(z.max(0.0) + t));
            ll += o.pos * ln_p + o.neg * ln_q;
        }
        let p = if z >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        let n = o.pos + o.neg;
        let r = o.pos - n * p;
        let w = n * p * (1.0 - p);
        at.g0 += r;
        at.g1 += r * o.x;
        at.h00 += w;
        at.h01 += w * o.x;
        at.h11 += w * o.x * o.x;
    }
    at.ll = with_ll.then_some(ll);
    at
}

/// ln(1 + x) for x ≥ 0 by Kahan's formula ln(u)·x/(u − 1), u = fl(1 + x): within a few ulps,
/// and several times faster than libm's `log1p`, which dominated the fits (issue 8).
fn ln_1p(x: f64) -> f64 {
    let u = 1.0 + x;
    if u == 1.0 {
        x
    } else {
        u.ln() * x / (u - 1.0)
    }
}

/// Fit both parameters.
pub fn fit(points: &[ScorePoint]) -> Recalibration {
    let obs = observations(points);
    let (neg, pos) = obs
        .iter()
        .fold((0.0, 0.0), |(n, p), o| (n + o.neg, p + o.pos));
    if neg <= 0.0 || pos <= 0.0 {
        let v = Value::undefined("group has only one label class");
        return Recalibration {
            intercept: v.clone(),
            slope: v,
        };
    }
    // Both models have z = x at their start (α = 0; β₀ = 0, β₁ = 1), and the two-parameter
    // model at (β₀, β₁) = (α, 1) has the offset model's z = α + x: the slope fit starts from
    // the intercept fit's last point, with its evaluation (issue 8: fewer passes).
    let start = evaluate(&obs, 0.0, 0.0, 1.0, false);
    let (intercept, last) = fit_intercept(&obs, start);
    Recalibration {
        intercept,
        slope: fit_slope(&obs, last.unwrap_or((0.0, start))),
    }
}

/// α with x as offset: one-dimensional Newton on the concave log-likelihood, from α = 0
/// (evaluated as `start`). Also the last α evaluated, with its evaluation.
fn fit_intercept(obs: &[Obs], start: Evaluation) -> (Value, Option<(f64, Evaluation)>) {
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
fn fit_slope(obs: &[Obs], (b0, at): (f64, Evaluation)) -> Value {
    if obs.len() < 2 {
        return Value::undefined("every score in the group is equal");
    }
    if separated(obs) {
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
/// Before a line search, the full step is evaluated without the log-likelihood: ℓ is concave
/// along the line and rises at t = 0 (ℓ'(0) is the decrement), so if ℓ'(1) ≥ 0 as well, ℓ
/// rises on all of [0, 1] and the line search would take t = 1. Only an overshooting step
/// (ℓ'(1) < 0) needs the log-likelihoods and their logarithm per observation (issue 8).
fn newton_step(
    decrement: f64,
    base: Option<f64>,
    eval: impl Fn(f64, bool) -> Evaluation,
    slope: impl Fn(&Evaluation) -> f64,
) -> (f64, Option<Evaluation>) {
    let full = eval(1.0, false);
    if decrement < FULL_STEPS_BELOW || slope(&full) >= 0.0 {
        return (1.0, Some(full));
    }
    let base = base
        .or_else(|| eval(0.0, true).ll)
        .unwrap_or(f64::NEG_INFINITY);
    line_search(|t| eval(t, true), base)
}

/// Largest step t ∈ {1, ½, ¼, …} whose evaluation does not decrease the log-likelihood from
/// `base`, with that evaluation; (0, `None`) when none does.
fn line_search(eval: impl Fn(f64) -> Evaluation, base: f64) -> (f64, Option<Evaluation>) {
    let mut t = 1.0;
    for _ in 0..60 {
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
        // Still rising at t = 1: the full step, without a log-likelihood.
        let no_ll = |t: f64, with_ll: bool| {
            assert!(!with_ll, "asked for the log-likelihood at {t}");
            quadratic(3.0)(t, with_ll)
        };
        assert_eq!(newton_step(6.0, None, no_ll, slope).0, 1.0);
        // Past the maximum at t = 1 but higher than at 0: the line search keeps t = 1.
        assert_eq!(newton_step(1.2, None, quadratic(0.6), slope).0, 1.0);
        // Past the maximum and lower than at 0: halved until ℓ(t) ≥ ℓ(0) (at t = 1/8).
        assert_eq!(newton_step(0.2, None, quadratic(0.1), slope).0, 0.125);
        // A small decrement: the full step whatever it does.
        assert_eq!(newton_step(0.002, None, quadratic(0.001), slope).0, 1.0);
    }

    #[test]
    fn kahan_ln_1p_is_within_a_few_ulps_of_libm() {
        for k in 0..=2000 {
            let x = if k == 0 {
                0.0
            } else {
                (-(k as f64) / 40.0).exp()
            };
            let (ours, libm) = (ln_1p(x), x.ln_1p());
            assert!(
                (ours - libm).abs() <= 4.0 * f64::EPSILON * libm,
                "{x}: {ours} vs {libm}"
            );
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
