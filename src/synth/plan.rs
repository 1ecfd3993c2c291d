//! The validated generative model: attributes, their shares and the per-group bias.

use super::detmath::logit;
use super::options::{
    GroupValue, SynthOptions, DEFAULT_BASE_RATES, DEFAULT_MISCALIBRATION, DEFAULT_SCORE_SHIFTS,
    NEUTRAL_BASE_RATE,
};
use crate::error::{Error, Result};

/// The fixed protected attributes: name and (level, population share), in column order.
const FIXED_ATTRIBUTES: &[(&str, &[(&str, f64)])] = &[
    ("sex", &[("female", 0.48), ("male", 0.52)]),
    (
        "race",
        &[
            ("white", 0.58),
            ("hispanic", 0.19),
            ("black", 0.13),
            ("asian", 0.07),
            ("other", 0.03),
        ],
    ),
    (
        "age_group",
        &[
            ("18-29", 0.21),
            ("30-44", 0.27),
            ("45-64", 0.33),
            ("65+", 0.19),
        ],
    ),
];

/// A protected attribute of the synthetic table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attribute {
    /// Column name, e.g. `race`.
    pub name: String,
    /// Level names; a row's level code indexes this list.
    pub levels: Vec<String>,
    /// Population share of each level (sums to 1).
    pub shares: Vec<f64>,
}

impl Attribute {
    fn fixed(name: &str, levels: &[(&str, f64)]) -> Self {
        Attribute {
            name: name.to_owned(),
            levels: levels.iter().map(|(l, _)| (*l).to_owned()).collect(),
            shares: levels.iter().map(|(_, s)| *s).collect(),
        }
    }

    /// `region_1 … region_k` (zero-padded), level j with share ∝ 1/j.
    fn region(k: u16) -> Self {
        let width = k.to_string().len();
        let harmonic: f64 = (1..=k).map(|j| 1.0 / f64::from(j)).sum();
        Attribute {
            name: "region".to_owned(),
            levels: (1..=k).map(|j| format!("region_{j:0width$}")).collect(),
            shares: (1..=k).map(|j| 1.0 / f64::from(j) / harmonic).collect(),
        }
    }

    fn level(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == name)
    }

    /// Running sums of the shares, for inverse-CDF sampling (the last is forced to 1).
    fn cumulative(&self) -> Vec<f64> {
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = self
            .shares
            .iter()
            .map(|s| {
                total += s;
                total
            })
            .collect();
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        cumulative
    }
}

/// The protected attributes for the given `--regions`, in column order.
pub(crate) fn attributes(regions: u16) -> Vec<Attribute> {
    let mut attributes: Vec<Attribute> = FIXED_ATTRIBUTES
        .iter()
        .map(|(name, levels)| Attribute::fixed(name, levels))
        .collect();
    if regions > 0 {
        attributes.push(Attribute::region(regions));
    }
    attributes
}

/// Everything the row generator needs, validated. Indices are `[attribute][level]`.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub rows: u64,
    pub seed: u64,
    pub separation: f64,
    pub threshold: f64,
    pub weights: bool,
    pub missing_rate: f64,
    pub attributes: Vec<Attribute>,
    pub cumulative: Vec<Vec<f64>>,
    /// Label base rate per level of the first attribute (`sex`).
    pub base_rate: Vec<f64>,
    /// logit of `base_rate`.
    pub base_logit: Vec<f64>,
    /// Logit shift per attribute level.
    pub shift: Vec<Vec<f64>>,
    /// Logit factor per attribute level.
    pub factor: Vec<Vec<f64>>,
}

impl Plan {
    /// Validates the options and resolves defaults and overrides.
    pub fn new(opts: &SynthOptions) -> Result<Plan> {
        check_scalars(opts)?;
        let attributes = attributes(opts.regions);
        let defaults = |table: &[(&str, f64)]| -> Vec<GroupValue> {
            if opts.no_default_bias {
                Vec::new()
            } else {
                table.iter().map(|(g, v)| GroupValue::new(*g, *v)).collect()
            }
        };
        let base_rate = resolve(
            &attributes[..1],
            "--base-rate",
            NEUTRAL_BASE_RATE,
            &defaults(DEFAULT_BASE_RATES),
            &opts.base_rates,
            |r| r > 0.0 && r < 1.0,
            "a rate strictly between 0 and 1",
        )?
        .remove(0);
        let shift = resolve(
            &attributes,
            "--score-shift",
            0.0,
            &defaults(DEFAULT_SCORE_SHIFTS),
            &opts.score_shifts,
            f64::is_finite,
            "a finite number",
        )?;
        let factor = resolve(
            &attributes,
            "--miscalibration",
            1.0,
            &defaults(DEFAULT_MISCALIBRATION),
            &opts.miscalibration,
            |f| f > 0.0 && f.is_finite(),
            "a positive factor",
        )?;
        Ok(Plan {
            rows: opts.rows,
            seed: opts.seed,
            separation: opts.separation,
            threshold: opts.threshold,
            weights: opts.weights,
            missing_rate: opts.missing_rate,
            cumulative: attributes.iter().map(Attribute::cumulative).collect(),
            base_logit: base_rate.iter().map(|&p| logit(p)).collect(),
            base_rate,
            attributes,
            shift,
            factor,
        })
    }
}

fn cli_error(msg: String) -> Error {
    Error::spec("command line", msg)
}

fn check_scalars(opts: &SynthOptions) -> Result<()> {
    if i64::try_from(opts.rows).is_err() {
        return Err(cli_error(format!("--rows {} is too large", opts.rows)));
    }
    if !(opts.separation.is_finite() && opts.separation >= 0.0) {
        return Err(cli_error(format!(
            "--separation must be a finite number >= 0, got {}",
            opts.separation
        )));
    }
    for (flag, value) in [
        ("--threshold", opts.threshold),
        ("--missing-rate", opts.missing_rate),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(cli_error(format!(
                "{flag} must be between 0 and 1, got {value}"
            )));
        }
    }
    Ok(())
}

/// Per-level values of `attributes`: `neutral`, then `defaults`, then `given` on top.
/// Every group must name a level of one of `attributes`, at most once in `given`, and
/// every resulting value must satisfy `valid`.
fn resolve(
    attributes: &[Attribute],
    flag: &str,
    neutral: f64,
    defaults: &[GroupValue],
    given: &[GroupValue],
    valid: impl Fn(f64) -> bool,
    expected: &str,
) -> Result<Vec<Vec<f64>>> {
    let mut values: Vec<Vec<f64>> = attributes
        .iter()
        .map(|a| vec![neutral; a.levels.len()])
        .collect();
    for (i, gv) in given.iter().enumerate() {
        if given[..i].iter().any(|earlier| earlier.group == gv.group) {
            return Err(cli_error(format!("{flag}: '{}' given twice", gv.group)));
        }
        if !valid(gv.value) {
            return Err(cli_error(format!("{flag} {gv}: expected {expected}")));
        }
    }
    for gv in defaults.iter().chain(given) {
        let (a, l) = find_group(attributes, &gv.group)
            .ok_or_else(|| cli_error(unknown_group(attributes, flag, &gv.group)))?;
        values[a][l] = gv.value;
    }
    Ok(values)
}

fn find_group(attributes: &[Attribute], group: &str) -> Option<(usize, usize)> {
    attributes
        .iter()
        .enumerate()
        .find_map(|(a, attr)| attr.level(group).map(|l| (a, l)))
}

/// How many levels of an attribute an error message lists.
const MAX_LISTED_LEVELS: usize = 10;

fn unknown_group(attributes: &[Attribute], flag: &str, group: &str) -> String {
    let known: Vec<String> = attributes
        .iter()
        .map(|a| {
            let shown = a.levels.len().min(MAX_LISTED_LEVELS);
            let more = if shown < a.levels.len() { ", …" } else { "" };
            format!("{}: {}{more}", a.name, a.levels[..shown].join(", "))
        })
        .collect();
    format!(
        "{flag}: unknown group '{group}'; known groups are {}",
        known.join("; ")
    )
}
