//! Rules for single values, shared by every reader so CSV and Parquet agree exactly.
//!
//! - labels and predictions: `1`/`0`, `true`/`false` (any case), `1.0`/`0.0`; or, with a
//!   positive label, "equals the positive label" (exact text match) vs anything else non-empty;
//! - scores: finite numbers in [0, 1];
//! - weights: finite numbers ≥ 0.

/// Which column of a row is invalid: the key under which skipped rows are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The label column.
    Label,
    /// The prediction column.
    Prediction,
    /// The score column.
    Score,
    /// The weight column.
    Weight,
    /// The score column of the i-th class of a multiclass audit (issue 11).
    ClassScore(u16),
}

impl Field {
    /// The reason key used in `input.skipped` of the report.
    pub fn skip_reason(self) -> &'static str {
        match self {
            Field::Label => "invalid_label",
            Field::Prediction => "invalid_prediction",
            Field::Score | Field::ClassScore(_) => "invalid_score",
            Field::Weight => "invalid_weight",
        }
    }
}

/// Why a value is unusable (the message names the value, the caller adds file/row/column).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

/// Parse a label or prediction written as text.
///
/// With `positive` set, the value is positive iff it equals `positive` exactly, negative for
/// any other non-empty value. Without it, `1`, `0`, `true`, `false` (any case) and `1.0`, `0.0`.
pub fn parse_binary(text: &str, positive: Option<&str>) -> Result<bool, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Invalid("missing value".into()));
    }
    if let Some(p) = positive {
        return Ok(t == p);
    }
    match t {
        "1" | "1.0" => Ok(true),
        "0" | "0.0" => Ok(false),
        _ if t.eq_ignore_ascii_case("true") => Ok(true),
        _ if t.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Invalid(format!(
            "'{t}' is not binary (expected 0/1 or true/false, or set --positive-label)"
        ))),
    }
}

/// A label or prediction stored as an integer: 0 or 1 (or equal to a numeric positive label).
pub fn binary_from_i64(v: i64, positive: Option<&str>) -> Result<bool, Invalid> {
    match positive {
        Some(p) => Ok(p.trim().parse::<i64>().is_ok_and(|p| p == v)),
        None => match v {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(Invalid(format!(
                "{v} is not binary (expected 0 or 1, or set --positive-label)"
            ))),
        },
    }
}

/// A label or prediction stored as a float: 0.0 or 1.0.
pub fn binary_from_f64(v: f64, positive: Option<&str>) -> Result<bool, Invalid> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        binary_from_i64(v as i64, positive)
    } else {
        Err(Invalid(format!("{v} is not binary (expected 0 or 1)")))
    }
}

/// Check a score: finite and in [0, 1].
pub fn check_score(s: f64) -> Result<f64, Invalid> {
    if s.is_nan() {
        Err(Invalid("score is NaN".into()))
    } else if !(0.0..=1.0).contains(&s) {
        Err(Invalid(format!("score {s} is outside [0, 1]")))
    } else {
        Ok(s)
    }
}

/// Parse and check a score written as text.
pub fn parse_score(text: &str) -> Result<f64, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Invalid("missing score".into()));
    }
    let s: f64 = t
        .parse()
        .map_err(|_| Invalid(format!("'{t}' is not a number")))?;
    check_score(s)
}

/// The binary score of a multiclass row collapsed by `favorable`: the sum of the favorable
/// classes' scores (each already in [0, 1]), added in class order. The sum must be a score
/// too: above 1 the scores are not probabilities of exclusive classes.
pub fn favorable_score(scores: &[f64]) -> Result<f64, Invalid> {
    let sum: f64 = scores.iter().sum();
    if sum > 1.0 {
        return Err(Invalid(format!(
            "the favorable classes' scores sum to {sum}, above 1"
        )));
    }
    Ok(sum)
}

/// A class label or predicted class written as text: any non-empty (trimmed) value.
pub fn parse_class(text: &str) -> Result<&str, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        Err(Invalid("missing value".into()))
    } else {
        Ok(t)
    }
}

/// Check a regression label or prediction: a finite number.
pub fn check_number(v: f64) -> Result<f64, Invalid> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Invalid(format!("{v} is not a finite number")))
    }
}

/// Parse and check a regression label or prediction written as text.
pub fn parse_number(text: &str) -> Result<f64, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Invalid("missing value".into()));
    }
    let v: f64 = t
        .parse()
        .map_err(|_| Invalid(format!("'{t}' is not a number")))?;
    check_number(v)
}

/// Check a weight: finite and ≥ 0.
pub fn check_weight(w: f64) -> Result<f64, Invalid> {
    if w.is_finite() && w >= 0.0 {
        Ok(w)
    } else {
        Err(Invalid(format!(
            "weight {w} is not a finite non-negative number"
        )))
    }
}

/// Parse and check a weight written as text.
pub fn parse_weight(text: &str) -> Result<f64, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Invalid("missing weight".into()));
    }
    let w: f64 = t
        .parse()
        .map_err(|_| Invalid(format!("'{t}' is not a number")))?;
    check_weight(w)
}

/// The decision for a row: the prediction column when there is one, else `score >= threshold`.
pub fn decision(prediction: Option<bool>, score: Option<f64>, threshold: f64) -> bool {
    match (prediction, score) {
        (Some(p), _) => p,
        (None, Some(s)) => s >= threshold,
        // Validation guarantees a score or a prediction column.
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_text() {
        assert_eq!(parse_binary("1", None), Ok(true));
        assert_eq!(parse_binary(" 0 ", None), Ok(false));
        assert_eq!(parse_binary("TRUE", None), Ok(true));
        assert_eq!(parse_binary("False", None), Ok(false));
        assert_eq!(parse_binary("1.0", None), Ok(true));
        assert!(parse_binary("2", None).is_err());
        assert!(parse_binary("", None).is_err());
        // With a positive label every other non-empty value is negative.
        assert_eq!(parse_binary(">50K", Some(">50K")), Ok(true));
        assert_eq!(parse_binary("<=50K", Some(">50K")), Ok(false));
        assert!(parse_binary("", Some(">50K")).is_err());
    }

    #[test]
    fn binary_numbers() {
        assert_eq!(binary_from_i64(1, None), Ok(true));
        assert!(binary_from_i64(2, None).is_err());
        assert_eq!(binary_from_i64(2, Some("2")), Ok(true));
        assert_eq!(binary_from_i64(1, Some("2")), Ok(false));
        assert_eq!(binary_from_f64(0.0, None), Ok(false));
        assert!(binary_from_f64(0.5, None).is_err());
    }

    #[test]
    fn scores_and_weights() {
        assert_eq!(parse_score("0.25"), Ok(0.25));
        assert_eq!(parse_score("1"), Ok(1.0));
        assert!(parse_score("1.0001").is_err());
        assert!(parse_score("-0.1").is_err());
        assert!(parse_score("NaN").is_err());
        assert!(parse_score("inf").is_err());
        assert!(parse_score("abc").is_err());
        assert_eq!(parse_weight("0"), Ok(0.0));
        assert!(parse_weight("-1").is_err());
        assert!(parse_weight("inf").is_err());
    }

    #[test]
    fn classes_and_numbers() {
        assert_eq!(parse_class(" B "), Ok("B"));
        assert!(parse_class("  ").is_err());
        assert_eq!(parse_number("-2.5"), Ok(-2.5));
        assert_eq!(parse_number("1e3"), Ok(1000.0));
        assert!(parse_number("").is_err());
        assert!(parse_number("inf").is_err());
        assert!(parse_number("NaN").is_err());
        assert!(parse_number("x").is_err());
    }

    #[test]
    fn decision_rule_is_score_at_least_threshold() {
        assert!(decision(None, Some(0.5), 0.5));
        assert!(!decision(None, Some(0.4999), 0.5));
        assert!(!decision(Some(false), Some(0.9), 0.5));
    }
}
