//! Metrics: pure functions of [`GroupStats`](crate::aggregate::GroupStats). No I/O here.
//!
//! - [`rates`]: per-group rates of the confusion matrix (CONTRACT.md §2);
//! - [`calibration`]: per-group score metrics (mean score, Brier, log loss, ECE, MCE, AUC);
//! - [`disparity`]: each group against the attribute's reference group (§3, Aequitas/AIF360);
//! - [`summary`]: between-group aggregates of an attribute (§3, Fairlearn);
//! - [`inequality`]: AIF360's generalized entropy family (§3);
//! - [`catalog`]: every metric key with its definition and peer names.
//!
//! An undefined metric is a [`Value`] with `value: None` and a reason, never NaN and never 0.

use std::collections::BTreeMap;

pub mod calibration;
pub mod catalog;
pub mod disparity;
pub mod inequality;
pub mod multiclass;
pub mod rates;
pub mod recalibration;
pub mod regression;
pub mod summary;

/// Metric values by key (the JSON names of CONTRACT.md).
pub type Metrics = BTreeMap<String, Value>;

/// A metric's value, or the reason it has none. Serialized as `{"value": x}` or
/// `{"value": null, "reason": "…"}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Value {
    /// The value; `None` when undefined.
    pub value: Option<f64>,
    /// Why the value is undefined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Confidence interval `[lo, hi]`, when computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<[f64; 2]>,
    /// p-value of a test against the reference, when computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
}

impl Value {
    /// A defined value. A non-finite `x` (which no metric should produce) becomes undefined.
    pub fn defined(x: f64) -> Self {
        if x.is_finite() {
            Value {
                value: Some(x),
                reason: None,
                ci: None,
                p_value: None,
            }
        } else {
            Value::undefined(format!("not a finite number ({x})"))
        }
    }

    /// An undefined value with its reason.
    pub fn undefined(reason: impl Into<String>) -> Self {
        Value {
            value: None,
            reason: Some(reason.into()),
            ci: None,
            p_value: None,
        }
    }

    /// `numerator / denominator`, undefined with `reason` when the denominator is 0.
    ///
    /// # Examples
    /// ```
    /// use fairaudit::metrics::Value;
    /// assert_eq!(Value::ratio(1.0, 4.0, "none").value, Some(0.25));
    /// assert_eq!(Value::ratio(0.0, 0.0, "no positives").reason.as_deref(), Some("no positives"));
    /// ```
    pub fn ratio(numerator: f64, denominator: f64, reason: &str) -> Self {
        if denominator == 0.0 {
            Value::undefined(reason)
        } else {
            Value::defined(numerator / denominator)
        }
    }

    /// The number, if defined.
    pub fn get(&self) -> Option<f64> {
        self.value
    }

    /// Apply `f` to a defined value; an undefined value keeps its reason.
    pub fn map(&self, f: impl FnOnce(f64) -> f64) -> Value {
        match self.value {
            Some(x) => Value::defined(f(x)),
            None => self.clone(),
        }
    }

    /// Combine two values with `f`; undefined when either is, with the first reason found.
    pub fn zip(&self, other: &Value, f: impl FnOnce(f64, f64) -> f64) -> Value {
        match (self.value, other.value) {
            (Some(a), Some(b)) => Value::defined(f(a, b)),
            (None, _) => self.clone(),
            (_, None) => other.clone(),
        }
    }
}
