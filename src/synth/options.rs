//! Command-line options of `fairaudit synth`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Default `--rows`.
pub const DEFAULT_ROWS: u64 = 10_000;
/// Default `--separation`: a within-group AUC of about 0.80.
pub const DEFAULT_SEPARATION: f64 = 1.2;
/// Default `--threshold`.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Default `--base-rate` values (levels of `sex`).
pub const DEFAULT_BASE_RATES: &[(&str, f64)] = &[("female", 0.30), ("male", 0.45)];
/// Default `--score-shift` values.
pub const DEFAULT_SCORE_SHIFTS: &[(&str, f64)] = &[("black", -0.4)];
/// Default `--miscalibration` values.
pub const DEFAULT_MISCALIBRATION: &[(&str, f64)] = &[("65+", 1.5)];
/// Base rate of every `sex` level under `--no-default-bias` unless given by `--base-rate`.
pub const NEUTRAL_BASE_RATE: f64 = 0.38;

/// Options of `fairaudit synth`: the size, seed and output of a synthetic predictions
/// table, and the bias injected into it. See the [module documentation](crate::synth)
/// for the generative model.
#[derive(clap::Args, Debug, Clone, serde::Serialize)]
pub struct SynthOptions {
    /// Number of rows to generate.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ROWS)]
    pub rows: u64,

    /// Seed of the random generator; the same options and seed give a byte-identical file.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Output file; the format follows the extension: .parquet, .csv or .csv.gz. Written
    /// atomically (to a temporary file in the same directory, then renamed).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Base rate of the label for a level of `sex` (repeatable). Levels not given keep
    /// their default: female=0.30, male=0.45 (0.38 each with --no-default-bias).
    #[arg(long = "base-rate", value_name = "GROUP=RATE")]
    pub base_rates: Vec<GroupValue>,

    /// Add DELTA to the model's logit for rows in GROUP, any level of any attribute
    /// (repeatable; shifts of a row's groups add up). Negative values under-score the
    /// group. Default: black=-0.4; give GROUP=0 to remove it.
    #[arg(long = "score-shift", value_name = "GROUP=DELTA")]
    pub score_shifts: Vec<GroupValue>,

    /// Multiply the model's logit by FACTOR for rows in GROUP (repeatable; factors
    /// multiply). FACTOR > 1 is overconfident, < 1 underconfident. Default: 65+=1.5; give
    /// GROUP=1 to remove it.
    #[arg(long = "miscalibration", value_name = "GROUP=FACTOR")]
    pub miscalibration: Vec<GroupValue>,

    /// Start from an unbiased model: equal base rates (0.38), no score shift, no
    /// miscalibration. --base-rate, --score-shift and --miscalibration still apply.
    #[arg(long)]
    pub no_default_bias: bool,

    /// How well the latent evidence separates the classes: the mean difference d of the
    /// evidence between label 1 and label 0, in noise standard deviations. The
    /// within-group AUC of an unbiased model is Φ(d/√2).
    #[arg(long, value_name = "D", default_value_t = DEFAULT_SEPARATION)]
    pub separation: f64,

    /// Decision threshold: prediction = 1 when score >= T.
    #[arg(long, value_name = "T", default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f64,

    /// Add a `weight` column of positive sample weights (0.5, 1, 2 or 4).
    #[arg(long)]
    pub weights: bool,

    /// Share of protected-attribute values left empty (null in Parquet), independently
    /// per value and after the label and score are drawn.
    #[arg(long, value_name = "R", default_value_t = 0.0)]
    pub missing_rate: f64,

    /// Add a `region` attribute with K levels (region_1 … region_K) of Zipf-like shares
    /// (level k ∝ 1/k), for many and small groups. 0 = no `region` column.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub regions: u16,
}

impl SynthOptions {
    /// The options `fairaudit synth --out <out>` would get: every other flag at its default.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        SynthOptions {
            rows: DEFAULT_ROWS,
            seed: 0,
            out: out.into(),
            base_rates: Vec::new(),
            score_shifts: Vec::new(),
            miscalibration: Vec::new(),
            no_default_bias: false,
            separation: DEFAULT_SEPARATION,
            threshold: DEFAULT_THRESHOLD,
            weights: false,
            missing_rate: 0.0,
            regions: 0,
        }
    }
}

/// A `GROUP=VALUE` command-line argument: a level of a protected attribute and a number.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupValue {
    /// The attribute level, e.g. `female` or `65+`.
    pub group: String,
    /// The number after `=`; always finite.
    pub value: f64,
}

impl GroupValue {
    /// A group and its value.
    pub fn new(group: impl Into<String>, value: f64) -> Self {
        GroupValue {
            group: group.into(),
            value,
        }
    }
}

impl FromStr for GroupValue {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (group, value) = s
            .split_once('=')
            .ok_or_else(|| format!("expected GROUP=VALUE, got '{s}'"))?;
        let group = group.trim();
        if group.is_empty() {
            return Err(format!("missing group name in '{s}'"));
        }
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("'{value}' is not a number (in '{s}')"))?;
        if !value.is_finite() {
            return Err(format!("value must be finite (in '{s}')"));
        }
        Ok(GroupValue::new(group, value))
    }
}

impl fmt::Display for GroupValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.group, self.value)
    }
}
