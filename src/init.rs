//! `fairaudit init`: inspect a predictions file and write a commented starter spec.
//!
//! Column roles are guessed from names and from the values of the first rows: a binary column
//! named like an outcome is the label, one named like a decision the prediction, a column of
//! probabilities the score, known attribute names (sex, race, age, …) and short text columns
//! the protected attributes. Every guess is written as a commented line the user can correct.

use std::fmt::Write as _;
use std::path::Path;

use crate::input::{Sample, Source};

/// Rows read to guess column kinds.
pub const SAMPLE_ROWS: usize = 1000;

/// What the sampled values of a column look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only two values, 0/1 or true/false.
    Binary,
    /// Numbers in [0, 1], not only 0 and 1.
    Probability,
    /// Other numbers.
    Numeric,
    /// Anything else.
    Text,
    /// No values in the sample.
    Empty,
}

/// A column's name, kind and number of distinct sampled values.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Column name.
    pub name: String,
    /// What its values look like.
    pub kind: Kind,
    /// Distinct non-empty values in the sample.
    pub distinct: usize,
}

/// Profile every column of a sample.
pub fn profile(sample: &Sample) -> Vec<Profile> {
    sample
        .columns
        .iter()
        .map(|(name, values)| {
            let present: Vec<&str> = values.iter().flatten().map(|s| s.trim()).collect();
            let mut distinct: Vec<&str> = present.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let numbers: Option<Vec<f64>> = present.iter().map(|v| v.parse::<f64>().ok()).collect();
            let binary = distinct.iter().all(|v| {
                matches!(
                    v.to_ascii_lowercase().as_str(),
                    "0" | "1" | "0.0" | "1.0" | "true" | "false"
                )
            });
            let kind = match numbers {
                _ if present.is_empty() => Kind::Empty,
                _ if binary => Kind::Binary,
                Some(n) if n.iter().all(|x| (0.0..=1.0).contains(x)) => Kind::Probability,
                Some(_) => Kind::Numeric,
                None => Kind::Text,
            };
            Profile {
                name: name.clone(),
                kind,
                distinct: distinct.len(),
            }
        })
        .collect()
}

const LABEL_NAMES: &[&str] = &[
    "label",
    "y",
    "y_true",
    "target",
    "outcome",
    "actual",
    "truth",
    "ground_truth",
    "class",
    "two_year_recid",
];
const PREDICTION_NAMES: &[&str] = &[
    "prediction",
    "pred",
    "y_pred",
    "predicted",
    "decision",
    "yhat",
    "y_hat",
];
const SCORE_HINTS: &[&str] = &[
    "score",
    "prob",
    "proba",
    "probability",
    "risk",
    "pred_prob",
    "y_score",
];
const WEIGHT_NAMES: &[&str] = &["weight", "weights", "sample_weight", "w"];
const PROTECTED_HINTS: &[&str] = &[
    "sex",
    "gender",
    "race",
    "ethnicity",
    "ethnic",
    "age",
    "age_group",
    "age_cat",
    "age_band",
    "religion",
    "disability",
    "nationality",
    "national_origin",
    "marital_status",
    "pregnancy",
    "colour",
    "color",
    "sexual_orientation",
    "native_country",
    "citizenship",
];

/// The guessed column roles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roles {
    /// True outcome.
    pub label: Option<String>,
    /// Model score.
    pub score: Option<String>,
    /// Model decision.
    pub prediction: Option<String>,
    /// Sample weight.
    pub weight: Option<String>,
    /// Protected attributes recognised by name.
    pub protected: Vec<String>,
    /// Other short text columns that might be protected attributes.
    pub maybe_protected: Vec<String>,
}

/// Guess the role of each column.
pub fn guess(profiles: &[Profile]) -> Roles {
    let lower = |p: &Profile| p.name.to_ascii_lowercase();
    let pick = |names: &[&str], kinds: &[Kind]| {
        profiles
            .iter()
            .find(|p| names.contains(&lower(p).as_str()) && kinds.contains(&p.kind))
            .map(|p| p.name.clone())
    };
    let label = pick(LABEL_NAMES, &[Kind::Binary, Kind::Text]);
    let prediction = pick(PREDICTION_NAMES, &[Kind::Binary]);
    let score = profiles
        .iter()
        .find(|p| p.kind == Kind::Probability && SCORE_HINTS.iter().any(|h| lower(p).contains(h)))
        .or_else(|| profiles.iter().find(|p| p.kind == Kind::Probability))
        .map(|p| p.name.clone());
    let weight = pick(
        WEIGHT_NAMES,
        &[Kind::Numeric, Kind::Probability, Kind::Binary],
    );
    let taken: Vec<&Option<String>> = vec![&label, &prediction, &score, &weight];
    let free = |p: &&Profile| !taken.iter().any(|t| t.as_deref() == Some(p.name.as_str()));
    let protected: Vec<String> = profiles
        .iter()
        .filter(free)
        .filter(|p| PROTECTED_HINTS.contains(&lower(p).as_str()) && p.distinct >= 1)
        .map(|p| p.name.clone())
        .collect();
    let maybe_protected = profiles
        .iter()
        .filter(free)
        .filter(|p| p.kind == Kind::Text && (2..=20).contains(&p.distinct))
        .filter(|p| !protected.contains(&p.name))
        .map(|p| p.name.clone())
        .collect();
    Roles {
        label,
        score,
        prediction,
        weight,
        protected,
        maybe_protected,
    }
}

/// A commented starter spec for `data` (path as written in the spec, relative to the spec).
pub fn starter_spec(data: &Path, source: &Source, profiles: &[Profile], roles: &Roles) -> String {
    let mut t = String::new();
    let q = |s: &str| format!("{s:?}");
    let _ = writeln!(
        t,
        "# Starter audit spec written by `fairaudit init` from {}.",
        source.path.display()
    );
    let _ = writeln!(
        t,
        "# Every guess below is a suggestion: check the columns and the policies, then run"
    );
    let _ = writeln!(t, "#   fairaudit run <this file>");
    let _ = writeln!(
        t,
        "# Columns seen (kind from the first {SAMPLE_ROWS} rows):"
    );
    for p in profiles {
        let _ = writeln!(
            t,
            "#   {:<24} {:?}, {} distinct",
            p.name, p.kind, p.distinct
        );
    }
    let _ = writeln!(t, "\n[data]\npath = {}", q(&data.display().to_string()));
    if source.delimiter != b',' {
        let _ = writeln!(
            t,
            "delimiter = {}",
            q(&(source.delimiter as char).to_string())
        );
    }
    let _ = writeln!(t, "\n[columns]");
    let line = |t: &mut String, key: &str, value: &Option<String>, what: &str| {
        let _ = match value {
            Some(v) => writeln!(t, "{key} = {}    # {what}", q(v)),
            None => writeln!(t, "# {key} = \"?\"    # {what}: no column recognised"),
        };
    };
    line(
        &mut t,
        "label",
        &roles.label,
        "true outcome, 0/1 (or set positive_label)",
    );
    line(&mut t, "score", &roles.score, "model probability in [0, 1]");
    line(
        &mut t,
        "prediction",
        &roles.prediction,
        "model decision 0/1; without it, score >= threshold",
    );
    line(&mut t, "weight", &roles.weight, "sample weight");
    let _ = writeln!(t, "\n[audit]");
    let list = |v: &[String]| v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(t, "protected = [{}]", list(&roles.protected));
    if !roles.maybe_protected.is_empty() {
        let _ = writeln!(
            t,
            "# Short text columns that may also be protected attributes: [{}]",
            list(&roles.maybe_protected)
        );
    }
    if roles.protected.len() >= 2 {
        let _ = writeln!(
            t,
            "intersections = [[{}]]    # harms often concentrate where groups meet",
            list(&roles.protected[..2])
        );
    }
    let _ = writeln!(t, "threshold = 0.5\nmin_group_size = 30    # smaller groups are reported as insufficient data");
    let mut policy = |id: &str, expression: &str, why: &str, warn: bool| {
        let _ = writeln!(
            t,
            "\n# {why}\n[[policy]]\nid = {}\nexpression = {}",
            q(id),
            q(expression)
        );
        if warn {
            let _ = writeln!(t, "on_insufficient = \"warn\"");
        }
    };
    policy(
        "four-fifths",
        "demographic_parity_ratio >= 0.8",
        "Selection rates within the four-fifths rule (US EEOC adverse-impact guideline).",
        false,
    );
    if roles.label.is_some() {
        policy(
            "equal-opportunity",
            "equal_opportunity_difference <= 0.1",
            "People with the favourable true outcome are selected at rates within 10 points.",
            false,
        );
        policy(
            "false-positive-parity",
            "fpr.ratio in [0.8, 1.25]",
            "False positive rates within 0.8–1.25 of the reference group (warn when a group is small).",
            true,
        );
    }
    if roles.score.is_some() {
        policy(
            "calibration",
            "ece <= 0.05",
            "The score means the same risk in every group (expected calibration error ≤ 0.05).",
            true,
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(columns: &[(&str, &[&str])]) -> Sample {
        Sample {
            columns: columns
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_string(),
                        v.iter()
                            .map(|s| (!s.is_empty()).then(|| s.to_string()))
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn guesses_roles_from_names_and_values() {
        let s = sample(&[
            ("id", &["1", "2", "3"]),
            ("label", &["0", "1", "1"]),
            ("risk_score", &["0.2", "0.9", "0.55"]),
            ("pred", &["0", "1", "1"]),
            ("Sex", &["F", "M", "F"]),
            ("region", &["north", "south", ""]),
            ("weight", &["1.5", "2", "1"]),
        ]);
        let p = profile(&s);
        assert_eq!(p[2].kind, Kind::Probability);
        assert_eq!(p[5].distinct, 2);
        let r = guess(&p);
        assert_eq!(r.label.as_deref(), Some("label"));
        assert_eq!(r.score.as_deref(), Some("risk_score"));
        assert_eq!(r.prediction.as_deref(), Some("pred"));
        assert_eq!(r.weight.as_deref(), Some("weight"));
        assert_eq!(r.protected, vec!["Sex"]);
        assert_eq!(r.maybe_protected, vec!["region"]);
    }

    #[test]
    fn starter_spec_parses_and_checks() {
        let s = sample(&[
            ("label", &["0", "1"]),
            ("score", &["0.1", "0.7"]),
            ("race", &["a", "b"]),
            ("sex", &["f", "m"]),
        ]);
        let p = profile(&s);
        let r = guess(&p);
        let source = Source::from_path("data.csv", b',');
        let text = starter_spec(Path::new("data.csv"), &source, &p, &r);
        let spec: crate::spec::AuditSpec = toml::from_str(&text).unwrap();
        let audit = spec.check("starter").unwrap();
        assert_eq!(audit.attributes.len(), 3); // race, sex, race & sex
        assert_eq!(audit.policies.len(), 4);
    }
}
