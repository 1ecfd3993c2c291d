//! Audit specs: the TOML file and the command-line flags, merged and checked into an [`Audit`].
//!
//! Parse, then validate into a checked type; after [`AuditSpec::check`] nothing fails for
//! configuration reasons. Flags override the file: a scalar flag replaces the file's value, a
//! list flag (`--protected`, `--intersect`, `--reference`, `--policy`) replaces the file's list.
//! Relative paths in a spec file are relative to the spec file's directory.
//!
//! ```toml
//! [data]
//! path = "../fixtures/demo.csv"      # CSV (.csv, .csv.gz) or Parquet (.parquet)
//! # delimiter = ","
//! # skip_invalid = false             # true: skip invalid rows, counted per reason
//!
//! [columns]
//! label = "label"
//! score = "score"                     # score and/or prediction
//! prediction = "prediction"
//! # weight = "weight"
//! # positive_label = "yes"
//! # task = "binary"                  # or "multiclass", "regression" (issue 11)
//! # favorable = ["approved"]         # multiclass: collapse to "class ∈ favorable"
//! # class_scores = { a = "p_a" }      # multiclass: score column per class (one-vs-rest AUC)
//!
//! [audit]
//! protected = ["race", "sex"]
//! intersections = [["race", "sex"]]
//! reference = { race = "Caucasian" }  # default: the largest group
//! threshold = 0.5
//! min_group_size = 10
//! # baseline = "../reports/last_release.json"  # for change policies
//! bins = 10
//! max_groups = 10000                  # distinct protected-value combinations before stopping
//! binning = "uniform"                 # or "quantile" (equal-mass bins)
//! # quantile = 0.5                    # regression: q of share_above_quantile
//!
//! [[policy]]
//! id = "four-fifths"
//! expression = "demographic_parity_ratio >= 0.8"
//! description = "Selection rates within the four-fifths rule"
//! on_insufficient = "fail"            # or "warn"
//! on_uncertain = "warn"               # or "fail" / "pass": when the CI straddles the bound
//!
//! [uncertainty]                       # all optional (issue 5; README "Uncertainty")
//! ci_method = "wilson"                # or "clopper_pearson"
//! confidence = 0.95
//! bootstrap = 1000                    # replicates; 0 (default) = off
//! seed = 0
//! correction = "holm"                 # or "bh", "none"
//! power = 0.8
//!
//! [outputs]
//! json = "../reports/demo.json"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::input::{Columns, InvalidRows, Source};
use crate::metrics::calibration::{Binning, SCORE_METRICS};
use crate::metrics::catalog::Resolved;
use crate::report::OnInsufficient;

pub mod policy;

use policy::Policy;

/// Default minimum group size k: groups with fewer rows are reported as insufficient data,
/// excluded from between-group summaries and suppressed in human-readable reports. 10 is the
/// small-cell threshold many statistics offices use.
pub const DEFAULT_MIN_GROUP_SIZE: u64 = 10;

/// Default number of calibration bins.
pub const DEFAULT_BINS: usize = 10;

/// Default limit on the groups (distinct combinations of protected values) of an audit: far
/// more than any fairness report can show, far fewer than an identifier column has. Reading
/// stops with an error once it is exceeded, so memory never grows with the number of distinct
/// values (issue 9).
pub const DEFAULT_MAX_GROUPS: usize = 10_000;

/// Default decision threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// An audit spec as written (TOML file, then flags on top). Unknown keys are rejected.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSpec {
    /// Input.
    #[serde(default)]
    pub data: DataSpec,
    /// Column roles.
    #[serde(default)]
    pub columns: ColumnsSpec,
    /// Attributes and options.
    #[serde(default)]
    pub audit: AuditSection,
    /// Policies.
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicySpec>,
    /// Report files.
    #[serde(default)]
    pub outputs: OutputsSpec,
    /// The spec file this came from and the SHA-256 of its bytes (not a TOML key).
    #[serde(skip)]
    pub source: Option<(PathBuf, String)>,
    /// Intervals, tests and bootstrap.
    #[serde(default)]
    pub uncertainty: UncertaintySpec,
}

/// `[uncertainty]` (issue 5); every key optional, defaults in [`crate::stats::Uncertainty`].
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct UncertaintySpec {
    /// `wilson` or `clopper_pearson`.
    pub ci_method: Option<crate::stats::ci::CiMethod>,
    /// Confidence level in (0, 1).
    pub confidence: Option<f64>,
    /// Bootstrap replicates; 0 = off.
    pub bootstrap: Option<u32>,
    /// Bootstrap seed.
    pub seed: Option<u64>,
    /// `holm`, `bh` or `none`.
    pub correction: Option<crate::stats::hypothesis::Correction>,
    /// Power of the minimum detectable difference, in (0, 1).
    pub power: Option<f64>,
}

/// `[data]`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Data file; `-` = CSV on stdin.
    pub path: Option<PathBuf>,
    /// CSV delimiter (one ASCII character).
    pub delimiter: Option<String>,
    /// Skip invalid rows instead of stopping.
    pub skip_invalid: Option<bool>,
}

/// `[columns]`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsSpec {
    /// True outcome.
    pub label: Option<String>,
    /// Model score in [0, 1].
    pub score: Option<String>,
    /// Model decision.
    pub prediction: Option<String>,
    /// Sample weight.
    pub weight: Option<String>,
    /// Value meaning positive for label and prediction.
    pub positive_label: Option<String>,
    /// `binary` (default), `multiclass` or `regression` (issue 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::input::Task>,
    /// Multiclass: the classes that count as positive; the audit becomes the binary audit of
    /// "class ∈ favorable".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favorable: Option<Vec<String>>,
    /// Multiclass: the score column of each class, `{ class = "column" }` (one-vs-rest AUCs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_scores: Option<BTreeMap<String, String>>,
}

/// `[audit]`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Protected-attribute columns.
    #[serde(default)]
    pub protected: Vec<String>,
    /// Intersections, each a list of ≥ 2 columns.
    #[serde(default)]
    pub intersections: Vec<Vec<String>>,
    /// Reference group per attribute name.
    #[serde(default)]
    pub reference: BTreeMap<String, String>,
    /// Decision threshold.
    pub threshold: Option<f64>,
    /// Minimum group size.
    pub min_group_size: Option<u64>,
    /// Calibration bins.
    pub bins: Option<usize>,
    /// Most groups (distinct combinations of protected values) before the audit stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_groups: Option<usize>,
    /// A baseline report for change policies.
    pub baseline: Option<PathBuf>,
    /// `uniform` (equal-width, default) or `quantile` (equal-mass) calibration bins.
    pub binning: Option<Binning>,
    /// Regression: q of "share above the overall q-th quantile of the prediction" (issue 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
}

/// `[[policy]]`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Identifier (default: the expression).
    pub id: Option<String>,
    /// The expression, CONTRACT.md §4.
    pub expression: String,
    /// Text for reports.
    pub description: Option<String>,
    /// `fail` (default) or `warn`.
    pub on_insufficient: Option<OnInsufficient>,
    /// `warn` (default), `fail` or `pass`: what an interval straddling the bound does.
    pub on_uncertain: Option<crate::stats::OnUncertain>,
}

/// `[outputs]`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsSpec {
    /// JSON report path (`-` = stdout).
    pub json: Option<PathBuf>,
    /// Markdown summary path.
    pub markdown: Option<PathBuf>,
    /// HTML report path.
    pub html: Option<PathBuf>,
    /// JUnit XML path.
    pub junit: Option<PathBuf>,
}

impl OutputsSpec {
    /// The paths of the outputs asked for (`-` included).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        [&self.json, &self.markdown, &self.html, &self.junit]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
    }
}

/// A checked audit: everything needed to run, consistent.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The data source.
    pub source: Source,
    /// Column roles.
    pub columns: Columns,
    /// Attributes then intersections.
    pub attributes: Vec<AttributeDef>,
    /// Reference group per attribute name.
    pub references: BTreeMap<String, String>,
    /// Minimum group size.
    pub min_group_size: u64,
    /// Calibration bins.
    pub bins: usize,
    /// Most groups (distinct combinations of protected values) before the audit stops.
    pub max_groups: usize,
    /// How calibration bins are formed.
    pub binning: Binning,
    /// Policies.
    pub policies: Vec<Policy>,
    /// Report files.
    pub outputs: OutputsSpec,
    /// A baseline report for change policies.
    pub baseline: Option<PathBuf>,
    /// The spec file and its SHA-256, when the audit came from one.
    pub spec_file: Option<crate::report::SpecInfo>,
    /// The audit record (the effective options); git is added at run time.
    pub record: crate::report::Provenance,
    /// Intervals, tests and bootstrap.
    pub uncertainty: crate::stats::Uncertainty,
    /// Regression: q of `share_above_quantile` (default [`DEFAULT_QUANTILE`]).
    pub quantile: f64,
}

/// Default q of the regression metric `share_above_quantile`: the overall median.
pub const DEFAULT_QUANTILE: f64 = 0.5;

/// One attribute of the report: a protected column or an intersection.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    /// `race`, or `race & sex`.
    pub name: String,
    /// The columns.
    pub columns: Vec<String>,
    /// Positions of the columns in [`Columns::protected`].
    pub positions: Vec<usize>,
}

impl AuditSpec {
    /// Read a spec file. Errors name the file, line and key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut spec: AuditSpec = toml::from_str(&text)
            .map_err(|e| Error::spec(path.display().to_string(), e.to_string()))?;
        spec.source = Some((
            path.to_path_buf(),
            crate::provenance::sha256_bytes(text.as_bytes()),
        ));
        let base = path.parent().unwrap_or(Path::new(""));
        spec.resolve_paths(base);
        Ok(spec)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut Option<PathBuf>| {
            if let Some(path) = p {
                if path.is_relative() && path != Path::new("-") {
                    *path = normalize(&base.join(&*path));
                }
            }
        };
        resolve(&mut self.data.path);
        resolve(&mut self.audit.baseline);
        resolve(&mut self.outputs.json);
        resolve(&mut self.outputs.markdown);
        resolve(&mut self.outputs.html);
        resolve(&mut self.outputs.junit);
    }

    /// Validate into an [`Audit`]. `context` names the source of the settings in messages.
    pub fn check(self, context: &str) -> Result<Audit> {
        let bad = |msg: String| Error::spec(context, msg);
        let spec_file = self
            .source
            .as_ref()
            .map(|(path, sha256)| crate::report::SpecInfo {
                path: path.display().to_string(),
                sha256: sha256.clone(),
            });
        let record = crate::report::Provenance {
            // Where reports are written does not shape the result, so it is not recorded.
            options: serde_json::to_value(AuditSpec {
                outputs: OutputsSpec::default(),
                ..self.clone()
            })
            .map_err(|e| bad(e.to_string()))?,
            git: None,
            thresholds: None,
        };
        let path = self
            .data
            .path
            .ok_or_else(|| bad("no data file (set --data or [data] path)".into()))?;
        let delimiter = delimiter(self.data.delimiter.as_deref()).map_err(bad)?;
        let label = self
            .columns
            .label
            .ok_or_else(|| bad("no label column (set --label or [columns] label)".into()))?;
        if self.columns.score.is_none() && self.columns.prediction.is_none() {
            return Err(bad(
                "give a score column, a prediction column, or both".into()
            ));
        }
        let threshold = self.audit.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !threshold.is_finite() {
            return Err(bad(format!("threshold {threshold} is not a finite number")));
        }
        // Scores lie in [0, 1]: a threshold outside decides every row alike, surely a typo.
        if !(0.0..=1.0).contains(&threshold) {
            return Err(bad(format!(
                "threshold {threshold} is outside [0, 1], where the scores lie"
            )));
        }
        let bins = self.audit.bins.unwrap_or(DEFAULT_BINS);
        if !(1..=10_000).contains(&bins) {
            return Err(bad(format!("bins must be between 1 and 10000, not {bins}")));
        }
        let max_groups = self.audit.max_groups.unwrap_or(DEFAULT_MAX_GROUPS);
        if max_groups == 0 {
            return Err(bad("max_groups must be at least 1".into()));
        }
        let (protected, attributes) =
            attributes(&self.audit.protected, &self.audit.intersections).map_err(bad)?;
        for name in self.audit.reference.keys() {
            if !attributes.iter().any(|a| a.name == *name) {
                return Err(bad(format!(
                    "reference for unknown attribute '{name}' (attributes: {})",
                    names(&attributes)
                )));
            }
        }
        let task = self.columns.task.unwrap_or_default();
        let favorable = self.columns.favorable.clone().unwrap_or_default();
        check_task(
            task,
            &favorable,
            (
                self.columns.prediction.is_some(),
                self.columns.score.is_some(),
            ),
            self.columns.positive_label.is_some(),
        )
        .map_err(bad)?;
        let mut class_scores: Vec<(String, String)> = (self.columns.class_scores.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        if !class_scores.is_empty() && task != crate::input::Task::Multiclass {
            return Err(bad(
                "class_scores (--class-score CLASS=COLUMN) need task = \"multiclass\"".into(),
            ));
        }
        if !class_scores.is_empty() && !favorable.is_empty() {
            class_scores = favorable_scores(class_scores, &favorable, self.columns.score.is_some())
                .map_err(bad)?;
        }
        let quantile = self.audit.quantile.unwrap_or(DEFAULT_QUANTILE);
        if !(0.0..=1.0).contains(&quantile) {
            return Err(bad(format!("quantile must be in [0, 1], not {quantile}")));
        }
        // The audit's task after a `favorable` collapse (then it is the binary audit).
        let effective = if favorable.is_empty() {
            task
        } else {
            crate::input::Task::Binary
        };
        let has_score = self.columns.score.is_some() || !class_scores.is_empty();
        let needs_baseline = self
            .policies
            .iter()
            .any(|p| policy::parse(&p.expression).is_ok_and(|p| p.change.is_some()));
        if needs_baseline && self.audit.baseline.is_none() {
            return Err(bad(
                "a change policy needs a baseline report (--baseline)".into()
            ));
        }
        let policies = self
            .policies
            .into_iter()
            .map(|p| check_policy(p, &attributes, has_score))
            .map(|p| p.and_then(|p| check_policy_task(p, effective)))
            .collect::<std::result::Result<Vec<_>, String>>()
            .map_err(bad)?;
        let outputs: Vec<&Path> = self.outputs.paths().collect();
        crate::output::check_targets(&outputs, &path).map_err(bad)?;
        let uncertainty = check_uncertainty(&self.uncertainty).map_err(bad)?;
        let invalid_rows = if self.data.skip_invalid.unwrap_or(false) {
            InvalidRows::Skip
        } else {
            InvalidRows::Error
        };
        Ok(Audit {
            source: Source::from_path(path, delimiter),
            columns: Columns {
                label,
                score: self.columns.score,
                prediction: self.columns.prediction,
                weight: self.columns.weight,
                protected,
                positive_label: self.columns.positive_label,
                threshold,
                invalid_rows,
                task,
                favorable,
                class_scores,
            },
            attributes,
            references: self.audit.reference,
            min_group_size: self.audit.min_group_size.unwrap_or(DEFAULT_MIN_GROUP_SIZE),
            bins,
            max_groups,
            binning: self.audit.binning.unwrap_or_default(),
            policies,
            outputs: self.outputs,
            baseline: self.audit.baseline,
            spec_file,
            record,
            uncertainty,
            quantile,
        })
    }
}

/// Remove `.` and `dir/..` components without touching the file system
/// (`audits/../fixtures/demo.csv` → `fixtures/demo.csv`).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// A CSV delimiter as written in a spec or flag: one ASCII character, or `tab` / `\t`.
pub fn delimiter(text: Option<&str>) -> std::result::Result<u8, String> {
    match text {
        None => Ok(b','),
        Some("\\t") | Some("tab") => Ok(b'\t'),
        Some(s) if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        Some(s) => Err(format!("delimiter must be one ASCII character, not '{s}'")),
    }
}

/// The protected columns (singles first, then columns only named in intersections) and the
/// attributes of the report (singles, then intersections).
fn attributes(
    protected: &[String],
    intersections: &[Vec<String>],
) -> std::result::Result<(Vec<String>, Vec<AttributeDef>), String> {
    if protected.is_empty() && intersections.is_empty() {
        return Err("no protected attribute (set --protected or [audit] protected)".into());
    }
    let mut columns: Vec<String> = Vec::new();
    let mut position = |c: &String| -> usize {
        columns.iter().position(|x| x == c).unwrap_or_else(|| {
            columns.push(c.clone());
            columns.len() - 1
        })
    };
    let mut defs = Vec::new();
    for c in protected {
        if c.trim().is_empty() {
            return Err("empty protected column name".into());
        }
        if protected.iter().filter(|x| *x == c).count() > 1 {
            return Err(format!("protected column '{c}' is listed twice"));
        }
        defs.push(AttributeDef {
            name: c.clone(),
            columns: vec![c.clone()],
            positions: vec![position(c)],
        });
    }
    for members in intersections {
        if members.len() < 2 {
            return Err(format!(
                "an intersection needs at least two columns, got [{}]",
                members.join(", ")
            ));
        }
        if members
            .iter()
            .any(|m| members.iter().filter(|x| *x == m).count() > 1)
        {
            return Err(format!(
                "intersection [{}] repeats a column",
                members.join(", ")
            ));
        }
        let name = members.join(crate::audit::JOIN);
        if defs.iter().any(|d: &AttributeDef| d.name == name) {
            return Err(format!("intersection '{name}' is listed twice"));
        }
        defs.push(AttributeDef {
            name,
            columns: members.clone(),
            positions: members.iter().map(&mut position).collect(),
        });
    }
    Ok((columns, defs))
}

fn names(attributes: &[AttributeDef]) -> String {
    attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// With `favorable` classes, the binary score is the sum of the favorable classes' score
/// columns: keep those (in class order), each favorable class needing one, and no `score`
/// column besides.
fn favorable_scores(
    class_scores: Vec<(String, String)>,
    favorable: &[String],
    has_score: bool,
) -> std::result::Result<Vec<(String, String)>, String> {
    if has_score {
        return Err(
            "give either a score column or per-class score columns with --favorable, not both"
                .into(),
        );
    }
    if let Some(missing) = favorable
        .iter()
        .find(|f| !class_scores.iter().any(|(c, _)| c == *f))
    {
        return Err(format!(
            "favorable class '{missing}' has no score column: the collapsed score is the sum \
             of every favorable class's score (--class-score {missing}=COLUMN)"
        ));
    }
    Ok(class_scores
        .into_iter()
        .filter(|(c, _)| favorable.contains(c))
        .collect())
}

/// The column options that a task allows (issue 11).
fn check_task(
    task: crate::input::Task,
    favorable: &[String],
    (has_prediction, has_score): (bool, bool),
    positive_label: bool,
) -> std::result::Result<(), String> {
    use crate::input::Task;
    if !favorable.is_empty() && task != Task::Multiclass {
        return Err("favorable classes need task = \"multiclass\" (--task multiclass)".into());
    }
    if favorable
        .iter()
        .any(|c| c.trim().is_empty() || c.trim() != c)
    {
        return Err("a favorable class must be non-empty, without surrounding spaces".into());
    }
    if task == Task::Binary {
        return Ok(());
    }
    if positive_label {
        return Err(format!(
            "positive_label is for binary labels; a {} task reads the labels as they are{}",
            if task == Task::Regression {
                "regression"
            } else {
                "multiclass"
            },
            if task == Task::Multiclass {
                " (use --favorable CLASS[,CLASS] to collapse them)"
            } else {
                ""
            }
        ));
    }
    if !has_prediction {
        return Err(
            "a multiclass or regression audit needs a prediction column (--prediction)".into(),
        );
    }
    if has_score && favorable.is_empty() {
        return Err(
            "a score column is only read by binary audits (and multiclass audits collapsed \
             with --favorable); per-class score columns are not supported"
                .into(),
        );
    }
    Ok(())
}

/// A policy's metric must exist for the audit's task.
fn check_policy_task(p: Policy, task: crate::input::Task) -> std::result::Result<Policy, String> {
    if !crate::metrics::catalog::available(&p.resolved, task) {
        return Err(format!(
            "policy '{}': {} is not computed by {} audits (see `fairaudit metrics`)",
            p.expression,
            p.metric,
            format!("{task:?}").to_lowercase()
        ));
    }
    Ok(p)
}

fn check_policy(
    spec: PolicySpec,
    attributes: &[AttributeDef],
    has_score: bool,
) -> std::result::Result<Policy, String> {
    let mut p = policy::parse(&spec.expression).map_err(|e| format!("policy {e}"))?;
    if let Some(a) = &p.attribute {
        // Accept "race,sex" for the intersection "race & sex".
        let normalised = a
            .split([',', '&'])
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(crate::audit::JOIN);
        if !attributes.iter().any(|d| d.name == normalised) {
            return Err(format!(
                "policy '{}': unknown attribute '{a}' (attributes: {})",
                spec.expression,
                names(attributes)
            ));
        }
        p.attribute = Some(normalised);
    }
    let metric = match &p.resolved {
        Resolved::Group(m) | Resolved::DisparityPair { metric: m, .. } => m.as_str(),
        Resolved::Summary(s) => s.as_str(),
        _ => "",
    };
    if !has_score
        && SCORE_METRICS
            .iter()
            .any(|m| metric == *m || metric.starts_with(&format!("{m}_")))
    {
        return Err(format!(
            "policy '{}' needs a score column (set --score)",
            spec.expression
        ));
    }
    if let Some(id) = spec.id {
        p.id = id;
    }
    p.description = spec.description;
    p.on_insufficient = spec.on_insufficient.unwrap_or_default();
    p.on_uncertain = spec.on_uncertain.unwrap_or_default();
    Ok(p)
}

/// Check a policy against the attribute names of an existing report (for `fairaudit compare`).
pub fn check_policy_for(
    spec: PolicySpec,
    attributes: &[String],
) -> std::result::Result<Policy, String> {
    let defs: Vec<AttributeDef> = attributes
        .iter()
        .map(|a| AttributeDef {
            name: a.clone(),
            columns: Vec::new(),
            positions: Vec::new(),
        })
        .collect();
    check_policy(spec, &defs, true)
}

/// Bootstrap replicates above this are refused (each keeps one value per statistic in memory).
pub const MAX_BOOTSTRAP: u32 = 100_000;

fn check_uncertainty(
    u: &UncertaintySpec,
) -> std::result::Result<crate::stats::Uncertainty, String> {
    let d = crate::stats::Uncertainty::default();
    let open_unit = |name: &str, x: Option<f64>, default: f64| match x {
        None => Ok(default),
        Some(x) if x > 0.0 && x < 1.0 => Ok(x),
        Some(x) => Err(format!("{name} must be strictly between 0 and 1, not {x}")),
    };
    let bootstrap = u.bootstrap.unwrap_or(d.bootstrap);
    if bootstrap > MAX_BOOTSTRAP {
        return Err(format!(
            "bootstrap must be at most {MAX_BOOTSTRAP} replicates, not {bootstrap}"
        ));
    }
    Ok(crate::stats::Uncertainty {
        ci_method: u.ci_method.unwrap_or(d.ci_method),
        confidence: open_unit("confidence", u.confidence, d.confidence)?,
        bootstrap,
        seed: u.seed.unwrap_or(d.seed),
        correction: u.correction.unwrap_or(d.correction),
        power: open_unit("power", u.power, d.power)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> AuditSpec {
        toml::from_str(
            r#"
            [data]
            path = "x.csv"
            [columns]
            label = "y"
            score = "s"
            [audit]
            protected = ["race", "sex"]
            intersections = [["race", "age"]]
            [[policy]]
            expression = "demographic_parity_ratio >= 0.8"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn spec_relative_paths_are_normalised() {
        assert_eq!(
            normalize(Path::new("audits/../fixtures/d.csv")),
            Path::new("fixtures/d.csv")
        );
        assert_eq!(
            normalize(Path::new("audits/../../shared/d.csv")),
            Path::new("../shared/d.csv")
        );
        assert_eq!(normalize(Path::new("./a/./b")), Path::new("a/b"));
    }

    #[test]
    fn checks_a_minimal_spec() {
        let audit = minimal().check("test").unwrap();
        assert_eq!(audit.columns.protected, vec!["race", "sex", "age"]);
        assert_eq!(audit.attributes[2].name, "race & age");
        assert_eq!(audit.attributes[2].positions, vec![0, 2]);
        assert_eq!(audit.min_group_size, DEFAULT_MIN_GROUP_SIZE);
        assert_eq!(audit.policies[0].id, "demographic_parity_ratio >= 0.8");
    }

    #[test]
    fn unknown_keys_are_rejected_with_name_and_line() {
        let err =
            toml::from_str::<AuditSpec>("[data]\npath = \"x\"\n\n[audit]\nprotectd = [\"a\"]\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("protectd"), "{err}");
        assert!(err.contains("line 5"), "{err}");
    }

    #[test]
    fn inconsistent_specs_are_rejected() {
        let mut s = minimal();
        s.columns.score = None;
        s.columns.prediction = None;
        assert!(s
            .check("t")
            .unwrap_err()
            .to_string()
            .contains("score column"));
        let mut s = minimal();
        s.audit.intersections = vec![vec!["race".into()]];
        assert!(s.check("t").is_err());
        let mut s = minimal();
        s.audit.reference.insert("nope".into(), "x".into());
        assert!(s
            .check("t")
            .unwrap_err()
            .to_string()
            .contains("unknown attribute 'nope'"));
        let mut s = minimal();
        s.policies[0].expression = "tpr on nope >= 0.5".into();
        assert!(s.check("t").is_err());
        let mut s = minimal();
        s.policies[0].expression = "ece on race,age <= 0.1".into();
        assert_eq!(
            s.check("t").unwrap().policies[0].attribute.as_deref(),
            Some("race & age")
        );
        let mut s = minimal();
        s.columns.score = None;
        s.columns.prediction = Some("p".into());
        s.policies[0].expression = "ece <= 0.1".into();
        assert!(s
            .check("t")
            .unwrap_err()
            .to_string()
            .contains("needs a score"));
        let mut s = minimal();
        s.outputs.json = Some("-".into());
        s.outputs.markdown = Some("-".into());
        assert!(s.check("t").is_err());
    }
}
