//! Policy expressions (CONTRACT.md §4):
//! `METRIC [on ATTRIBUTE] [change|change%] OP NUMBER` or
//! `METRIC [on ATTRIBUTE] [change|change%] in [LO, HI]`, OP ∈ `>= <= > <`.

use std::fmt;

use crate::metrics::catalog::{self, Resolved};
use crate::report::OnInsufficient;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

/// The condition an observed value must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// `OP NUMBER`.
    Compare(Op, f64),
    /// `in [LO, HI]`, both ends included.
    Between(f64, f64),
}

impl Bound {
    /// Does `x` meet the bound?
    pub fn holds(&self, x: f64) -> bool {
        match *self {
            Bound::Compare(Op::Ge, b) => x >= b,
            Bound::Compare(Op::Le, b) => x <= b,
            Bound::Compare(Op::Gt, b) => x > b,
            Bound::Compare(Op::Lt, b) => x < b,
            Bound::Between(lo, hi) => lo <= x && x <= hi,
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Compare(op, b) => {
                let op = match op {
                    Op::Ge => ">=",
                    Op::Le => "<=",
                    Op::Gt => ">",
                    Op::Lt => "<",
                };
                write!(f, "{op} {b}")
            }
            Bound::Between(lo, hi) => write!(f, "in [{lo}, {hi}]"),
        }
    }
}

/// A change policy compares with a baseline report instead of judging the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `change`: candidate − baseline.
    Absolute,
    /// `change%`: 100·(candidate − baseline)/|baseline|.
    Relative,
}

/// A checked policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Identifier used in reports (the expression itself when none was given).
    pub id: String,
    /// The expression as written.
    pub expression: String,
    /// Text for reports.
    pub description: Option<String>,
    /// The metric name as written.
    pub metric: String,
    /// What the metric name means.
    pub resolved: Resolved,
    /// Restrict to one attribute (its name; intersections as `a & b`).
    pub attribute: Option<String>,
    /// The condition.
    pub bound: Bound,
    /// Judge the change from the baseline rather than the value.
    pub change: Option<Change>,
    /// What insufficient data does to the gate.
    pub on_insufficient: OnInsufficient,
    /// What a result whose interval straddles the bound does to the gate (issue 5).
    pub on_uncertain: crate::stats::OnUncertain,
}

/// Parse an expression. `Err` explains what is wrong in the user's terms.
///
/// # Examples
/// ```
/// use fairaudit::spec::policy::{parse, Bound, Op};
/// let p = parse("demographic_parity_ratio >= 0.8").unwrap();
/// assert_eq!(p.bound, Bound::Compare(Op::Ge, 0.8));
/// let p = parse("selection_rate.ratio on race & sex in [0.8, 1.25]").unwrap();
/// assert_eq!(p.attribute.as_deref(), Some("race & sex"));
/// assert_eq!(p.bound, Bound::Between(0.8, 1.25));
/// ```
pub fn parse(expression: &str) -> Result<Policy, String> {
    let text = expression.trim();
    let (lhs, bound) = split_bound(text)?;
    let lhs = lhs.trim_end();
    let (lhs, change) = if let Some(l) = lhs.strip_suffix(" change%") {
        (l, Some(Change::Relative))
    } else if let Some(l) = lhs.strip_suffix(" change") {
        (l, Some(Change::Absolute))
    } else {
        (lhs, None)
    };
    let (metric, attribute) = match lhs.split_once(" on ") {
        Some((m, a)) => (m.trim(), Some(a.trim().to_string())),
        None => (lhs.trim(), None),
    };
    if metric.is_empty() || metric.contains(char::is_whitespace) {
        return Err(format!(
            "'{text}': expected METRIC [on ATTRIBUTE] OP NUMBER or METRIC [on ATTRIBUTE] in [LO, HI]"
        ));
    }
    if attribute.as_deref() == Some("") {
        return Err(format!(
            "'{text}': 'on' must be followed by an attribute name"
        ));
    }
    let resolved = catalog::resolve(metric)?;
    Ok(Policy {
        id: text.to_string(),
        expression: text.to_string(),
        description: None,
        metric: metric.to_string(),
        resolved,
        attribute,
        bound,
        change,
        on_insufficient: OnInsufficient::default(),
        on_uncertain: Default::default(),
    })
}

/// Split `LHS OP NUMBER` / `LHS in [LO, HI]` into the left-hand side and the bound.
fn split_bound(text: &str) -> Result<(&str, Bound), String> {
    if let Some(body) = text.strip_suffix(']') {
        let open = body
            .rfind('[')
            .ok_or_else(|| format!("'{text}': missing '[' in 'in [LO, HI]'"))?;
        let lhs = body[..open]
            .trim_end()
            .strip_suffix(" in")
            .ok_or_else(|| format!("'{text}': expected 'in [LO, HI]'"))?;
        let (lo, hi) = body[open + 1..]
            .split_once(',')
            .ok_or_else(|| format!("'{text}': expected two numbers in [LO, HI]"))?;
        let (lo, hi) = (number(text, lo)?, number(text, hi)?);
        if lo > hi {
            return Err(format!(
                "'{text}': the interval's lower end exceeds its upper end"
            ));
        }
        return Ok((lhs, Bound::Between(lo, hi)));
    }
    let at = text
        .rfind(['<', '>'])
        .ok_or_else(|| format!("'{text}': no comparison (use >=, <=, >, < or in [LO, HI])"))?;
    let or_equal = text[at + 1..].starts_with('=');
    let op = match (&text[at..at + 1], or_equal) {
        (">", true) => Op::Ge,
        ("<", true) => Op::Le,
        (">", false) => Op::Gt,
        _ => Op::Lt,
    };
    let rest = &text[at + 1 + usize::from(or_equal)..];
    Ok((&text[..at], Bound::Compare(op, number(text, rest)?)))
}

fn number(text: &str, s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("'{text}': '{}' is not a finite number", s.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let p = parse("  tpr_difference <= 0.1 ").unwrap();
        assert_eq!(p.metric, "tpr_difference");
        assert_eq!(p.attribute, None);
        assert_eq!(p.bound, Bound::Compare(Op::Le, 0.1));
        assert_eq!(
            parse("fpr < 0.3").unwrap().bound,
            Bound::Compare(Op::Lt, 0.3)
        );
        assert_eq!(
            parse("fpr > -1e-3").unwrap().bound,
            Bound::Compare(Op::Gt, -0.001)
        );
        let p = parse("ece on sex <= 0.05").unwrap();
        assert_eq!(p.attribute.as_deref(), Some("sex"));
        assert_eq!(p.resolved, Resolved::Group("ece".into()));
        let p = parse("selection_rate.ratio in [0.8,1.25]").unwrap();
        assert_eq!(p.bound, Bound::Between(0.8, 1.25));
        assert_eq!(p.change, None);
        let p = parse("demographic_parity_ratio change >= -0.02").unwrap();
        assert_eq!(
            (p.metric.as_str(), p.change),
            ("demographic_parity_ratio", Some(Change::Absolute))
        );
        let p = parse("tpr on race & sex change% >= -5").unwrap();
        assert_eq!(p.attribute.as_deref(), Some("race & sex"));
        assert_eq!(p.change, Some(Change::Relative));
    }

    #[test]
    fn rejects_malformed_expressions() {
        for bad in [
            "demographic_parity_ratio",
            "demographic_parity_ratio >= ",
            "demographic_parity_ratio >= x",
            "demographic_parity_ratio >= inf",
            "selection_rate.ratio in [1.25, 0.8]",
            "selection_rate.ratio in [0.8]",
            "no_such_metric >= 1",
            "tpr on  >= 1",
            "two words >= 1",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn bounds_hold_as_written() {
        assert!(Bound::Compare(Op::Ge, 0.8).holds(0.8));
        assert!(!Bound::Compare(Op::Gt, 0.8).holds(0.8));
        assert!(Bound::Between(0.8, 1.25).holds(1.25));
        assert!(!Bound::Between(0.8, 1.25).holds(1.2500001));
        assert_eq!(Bound::Between(0.8, 1.25).to_string(), "in [0.8, 1.25]");
        assert_eq!(Bound::Compare(Op::Ge, 0.8).to_string(), ">= 0.8");
    }
}
