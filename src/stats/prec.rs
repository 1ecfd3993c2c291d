//! Tolerances of the reference tests, in one place (the statrs pattern).
//!
//! Tests compare with established implementations (statsmodels, scipy, the shared goldens)
//! using these, so a tolerance is chosen once, with its reason, and not per assertion.

/// Against statsmodels/scipy reference values of intervals, p-values and adjusted p-values
/// (`tests/data/*.csv`): both sides are double-precision evaluations of the same closed forms
/// or of well-conditioned special functions, so agreement to 1e-9 absolute is expected; it is
/// the tolerance issue 5 asks for.
pub const REFERENCE: f64 = 1e-9;

/// Against the goldens of CONTRACT.md §6: 1e-9 absolute for every non-count value.
pub const GOLDEN: f64 = 1e-9;

/// Is |a − b| ≤ `tol`?
///
/// # Examples
/// ```
/// use fairaudit::stats::prec::{close, REFERENCE};
/// assert!(close(0.1 + 0.2, 0.3, REFERENCE));
/// ```
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}
