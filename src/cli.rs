//! The command line: clap structs and `run`. No maths and no formatting here.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::metrics::calibration::Binning;
use crate::metrics::catalog;
use crate::output::write_atomic;
use crate::report::html::Html;
use crate::report::json::Json;
use crate::report::junit::Junit;
use crate::report::markdown::Markdown;
use crate::report::terminal::Terminal;
use crate::report::{Renderer, Status};
use crate::spec::{AuditSpec, PolicySpec};
use crate::synth::SynthOptions;

/// Fairness and bias audits of model predictions.
#[derive(Debug, Parser)]
#[command(name = "fairaudit", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a predictions file: group metrics, disparities, policies, reports.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),
    /// Write a synthetic predictions table with known, injected bias.
    #[command(after_help = SYNTH_EXAMPLES)]
    Synth(SynthOptions),
    /// List every metric key with its definition and peer names.
    #[command(after_help = "Examples:\n  fairaudit metrics\n  fairaudit metrics --json")]
    Metrics(MetricsArgs),
    /// Explain a metric: definition, formula, the harm a gap signals, peer names.
    #[command(
        after_help = "Examples:\n  fairaudit explain demographic_parity_ratio\n  fairaudit explain fpr.ratio\n  fairaudit explain ece_difference"
    )]
    Explain(ExplainArgs),
    /// Inspect a predictions file and write a commented starter spec into audits/.
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  fairaudit completions bash > /etc/bash_completion.d/fairaudit\n  fairaudit completions zsh > \"${fpath[1]}/_fairaudit\""
    )]
    Completions(CompletionsArgs),
    /// Print the SQL query that computes the partials table in a warehouse or engine.
    #[command(after_help = SQL_EXAMPLES)]
    Sql(SqlArgs),
    /// Judge change policies between a baseline report and a candidate report.
    #[command(after_help = COMPARE_EXAMPLES)]
    Compare(CompareArgs),
    /// Re-run an audit from the options recorded in its JSON report and say whether the result
    /// is identical.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Per-group decision thresholds that meet a fairness objective within a tolerance while
    /// maximising accuracy (post-processing), with the trade-off over tolerances.
    #[command(after_help = MITIGATE_EXAMPLES)]
    Mitigate(Box<MitigateArgs>),
    /// Kamiran–Calders reweighing weights for retraining (pre-processing).
    #[command(after_help = REWEIGH_EXAMPLES)]
    Reweigh(ReweighArgs),
}

const MITIGATE_EXAMPLES: &str = "Examples:
  fairaudit mitigate --data preds.csv --label label --score score --protected sex \\
    --objective equalized_odds --tolerance 0.02 --json thresholds.json --html tradeoff.html
  fairaudit mitigate --data preds.parquet --label y --score p --protected race \\
    --objective demographic_parity --holdout 0.3 --seed 1 --json thresholds.json
  fairaudit run --data preds.csv --label label --score score --protected sex \\
    --thresholds thresholds.json --policy \"equalized_odds_difference <= 0.05\"

Exit codes: 0 done, 2 usage or input error.";

const REWEIGH_EXAMPLES: &str = "Examples:
  fairaudit reweigh --data train.csv --label label --protected sex --out weights.csv
  fairaudit reweigh --data train.csv --label label --protected race,sex --out cells.csv \\
    --per-row row_weights.csv";

/// Columns shared by `mitigate` and `reweigh`.
#[derive(Debug, Args, Default, Clone)]
pub struct DataArgs {
    /// CSV (.csv, .csv.gz) or Parquet (.parquet); '-' = CSV on stdin.
    #[arg(long)]
    pub data: PathBuf,
    /// True outcome column: 0/1, true/false, or see --positive-label.
    #[arg(long)]
    pub label: String,
    /// Protected column(s): the groups are their combinations (a comma list intersects).
    #[arg(long, value_delimiter = ',', required = true)]
    pub protected: Vec<String>,
    /// Non-negative sample weight column.
    #[arg(long)]
    pub weight: Option<String>,
    /// Value of label/prediction meaning positive (others are negative).
    #[arg(long)]
    pub positive_label: Option<String>,
    /// CSV field delimiter (one character; 'tab' for a tab) [default: ,].
    #[arg(long)]
    pub delimiter: Option<String>,
}

/// `fairaudit mitigate`.
#[derive(Debug, Args)]
pub struct MitigateArgs {
    /// Input columns.
    #[command(flatten)]
    pub data: DataArgs,
    /// Model probability column, values in [0, 1]; the thresholds apply to it.
    #[arg(long)]
    pub score: String,
    /// The current decision column (for "before"); default: score >= --threshold.
    #[arg(long)]
    pub prediction: Option<String>,
    /// The current decision threshold (for "before") [default: 0.5].
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// The fairness objective.
    #[arg(long, value_enum)]
    pub objective: crate::mitigate::Objective,
    /// Largest allowed max − min of the objective's rate(s) across groups.
    #[arg(long, default_value_t = 0.01)]
    pub tolerance: f64,
    /// What the thresholds maximise.
    #[arg(long, value_enum, default_value_t = UtilityArg::Accuracy)]
    pub utility: UtilityArg,
    /// Cost of a false positive (--utility cost).
    #[arg(long, default_value_t = 1.0)]
    pub fp_cost: f64,
    /// Cost of a false negative (--utility cost).
    #[arg(long, default_value_t = 1.0)]
    pub fn_cost: f64,
    /// Hold out this share of rows (seeded): fit on the rest, report before/after on it.
    #[arg(long, value_name = "FRACTION")]
    pub holdout: Option<f64>,
    /// Seed of the holdout split and of randomised decisions in `run --thresholds`.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Tolerances of the trade-off table (comma list) [default: 0,0.005,0.01,0.02,0.03,0.05,0.1,0.2,1].
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<f64>,
    /// Write the thresholds, metrics before/after and trade-off here ('-' = stdout).
    #[arg(long)]
    pub json: PathBuf,
    /// Write the trade-off report (table and plot) here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Do not print the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--utility` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum UtilityArg {
    /// (TP + TN) / n.
    Accuracy,
    /// (TPR + TNR) / 2 over all rows.
    BalancedAccuracy,
    /// Minus the mean cost, with --fp-cost and --fn-cost.
    Cost,
}

/// `fairaudit reweigh`.
#[derive(Debug, Args)]
pub struct ReweighArgs {
    /// Input columns.
    #[command(flatten)]
    pub data: DataArgs,
    /// Write one weight per (group, label) cell here (CSV; '-' = stdout).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write one weight per data row, in file order (CSV `row,weight`).
    #[arg(long, value_name = "PATH")]
    pub per_row: Option<PathBuf>,
}

const RUN_EXAMPLES: &str = "Examples:
  fairaudit run audits/demo.toml
  fairaudit run --data preds.parquet --label label --score score \\
    --protected race,sex --intersect race,sex \\
    --policy \"demographic_parity_ratio >= 0.8\" --json report.json
  fairaudit run audits/credit.toml --baseline last_release.json \\
    --policy \"demographic_parity_ratio change >= -0.02\"

Exit codes: 0 every policy passed, 1 a policy failed, 2 usage, configuration or input error.";

const SQL_EXAMPLES: &str = "Examples:
  fairaudit sql --dialect duckdb --table preds --label label --score score --protected race,sex
  fairaudit sql --dialect spark audits/compas.toml --table compas > partials.sql
  # run it in the engine, save the result as Parquet or CSV, then:
  fairaudit run audits/compas.toml --partials partials.parquet";

const SYNTH_EXAMPLES: &str = "Examples:
  fairaudit synth --rows 100000 --seed 1 --out data.parquet
  fairaudit synth --rows 5000 --no-default-bias --score-shift black=-0.5 --out shifted.csv";

const INIT_EXAMPLES: &str = "Examples:
  fairaudit init --data preds.parquet              # writes audits/preds.toml
  fairaudit init --data preds.csv --out audits/credit.toml --force";

const COMPARE_EXAMPLES: &str = "Examples:
  fairaudit compare last_release.json candidate.json \\
    --policy \"demographic_parity_ratio change >= -0.02\" --policy \"tpr on sex change% >= -5\"

Exit codes: 0 every policy passed, 1 a policy failed, 2 bad input.";

const VERIFY_EXAMPLES: &str = "Examples:
  fairaudit verify reports/demo.json     # run from the directory the audit ran in

Exit codes: 0 identical, 1 the result or the input differs, 2 bad input.";

/// `fairaudit compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The released model's JSON report.
    pub baseline: PathBuf,
    /// The candidate model's JSON report.
    pub candidate: PathBuf,
    /// Policy expression (change policies: `METRIC [on ATTR] change|change% OP NUMBER`).
    #[arg(long, required = true)]
    pub policy: Vec<String>,
    /// Write the candidate report with these policy results and the comparison here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Colours in the terminal summary.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Do not print the terminal summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `fairaudit init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The predictions file to inspect (CSV or Parquet).
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the spec [default: audits/<file stem>.toml].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// CSV field delimiter [default: ,].
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Overwrite an existing spec.
    #[arg(long)]
    pub force: bool,
}

/// `fairaudit explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A metric name as in policies: `tpr`, `fpr.ratio`, `demographic_parity_ratio`, …
    pub metric: String,
}

/// `fairaudit completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `fairaudit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A JSON report written by `fairaudit run`.
    pub report: PathBuf,
}

/// `fairaudit sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Audit spec (TOML); flags override it. Its data path is not used.
    pub spec: Option<PathBuf>,
    /// The engine's SQL dialect.
    #[arg(long, value_enum)]
    pub dialect: crate::partials::sql::Dialect,
    /// The table (or view) of predictions; `catalog.schema.table` parts are quoted one by one.
    #[arg(long, default_value = "predictions")]
    pub table: String,
    /// Key of the score distribution: every distinct score (exact AUC) or 65,536 fine bins
    /// (bounded size, binned AUC).
    #[arg(long, value_enum, default_value_t = crate::partials::sql::ScoreKey::Exact)]
    pub score_key: crate::partials::sql::ScoreKey,
    /// Columns, decision threshold and calibration bins.
    #[command(flatten)]
    pub columns: ColumnFlags,
}

/// The flags of `run` and `sql` that name the columns and say how a row's decision, label and
/// calibration bin are formed; each overrides the spec.
#[derive(Debug, Args, Default)]
pub struct ColumnFlags {
    /// True outcome column: 0/1, true/false, or see --positive-label.
    #[arg(long)]
    pub label: Option<String>,
    /// Model probability column, values in [0, 1].
    #[arg(long)]
    pub score: Option<String>,
    /// Model decision column (0/1); default: score >= --threshold.
    #[arg(long)]
    pub prediction: Option<String>,
    /// Decision threshold: decision = score >= T [default: 0.5].
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Non-negative sample weight column.
    #[arg(long)]
    pub weight: Option<String>,
    /// Protected-attribute column; repeatable or a comma list.
    #[arg(long, value_delimiter = ',')]
    pub protected: Vec<String>,
    /// Equal-width calibration bins [default: 10].
    #[arg(long)]
    pub bins: Option<usize>,
    /// Value of label/prediction meaning positive (others are negative).
    #[arg(long)]
    pub positive_label: Option<String>,
}

/// `fairaudit run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Audit spec (TOML); flags override it.
    pub spec: Option<PathBuf>,
    /// CSV (.csv, .csv.gz) or Parquet (.parquet); '-' = CSV on stdin.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Audit from a partials table (Parquet or CSV; see `fairaudit sql`) instead of the rows.
    #[arg(long, conflicts_with = "data", value_name = "FILE")]
    pub partials: Option<PathBuf>,
    /// Also write the partials table of this run (.parquet or .csv).
    #[arg(long, value_name = "FILE")]
    pub emit_partials: Option<PathBuf>,
    /// Aggregate on a Spark Connect server (sc://host:port) over --data (a path the server
    /// reads) or --table; needs a build with the `spark` feature.
    #[arg(long, value_name = "URL", conflicts_with = "partials")]
    pub engine: Option<String>,
    /// With --engine: the server's table or view of predictions.
    #[arg(
        long,
        value_name = "NAME",
        requires = "engine",
        conflicts_with = "data"
    )]
    pub table: Option<String>,
    /// Columns, decision threshold and calibration bins.
    #[command(flatten)]
    pub columns: ColumnFlags,
    /// Intersection of attributes, e.g. race,sex; repeatable.
    #[arg(long)]
    pub intersect: Vec<String>,
    /// Reference group, ATTRIBUTE=VALUE; repeatable [default: the largest group].
    #[arg(long)]
    pub reference: Vec<String>,
    /// Groups with fewer rows are insufficient_data; 0 disables [default: 10].
    #[arg(long)]
    pub min_group_size: Option<u64>,
    /// Stop with an error when the protected columns form more groups than this (an
    /// identifier column given as protected) [default: 10000].
    #[arg(long, value_name = "N")]
    pub max_groups: Option<usize>,
    /// Calibration bins: uniform (equal-width) or quantile (equal-mass) [default: uniform].
    #[arg(long, value_enum)]
    pub binning: Option<BinningArg>,
    /// A baseline JSON report (the released model) for change policies.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Policy expression, e.g. "demographic_parity_ratio >= 0.8"; repeatable.
    #[arg(long)]
    pub policy: Vec<String>,
    /// What label and prediction hold [default: binary].
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,
    /// Multiclass: classes that count as positive; collapses to the binary audit.
    #[arg(long, value_delimiter = ',', value_name = "CLASS")]
    pub favorable: Vec<String>,
    /// Multiclass: the score column of a class, CLASS=COLUMN; repeatable (one-vs-rest AUC).
    #[arg(long, value_name = "CLASS=COLUMN")]
    pub class_score: Vec<String>,
    /// Regression: q of share_above_quantile, in [0, 1] [default: 0.5].
    #[arg(long)]
    pub quantile: Option<f64>,
    /// CSV field delimiter (one character; 'tab' for a tab) [default: ,].
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Skip rows with invalid values (counted per reason in the report) instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Write the JSON report here ('-' = stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a Markdown summary here ('-' = stdout).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Write JUnit XML here ('-' = stdout).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Interval of the per-group rates [default: wilson].
    #[arg(long, value_enum)]
    pub ci_method: Option<crate::stats::ci::CiMethod>,
    /// Level of every confidence interval, in (0, 1) [default: 0.95].
    #[arg(long)]
    pub confidence: Option<f64>,
    /// Bootstrap replicates for disparities and summaries; alone: 1000 [default: 0 = off].
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000")]
    pub bootstrap: Option<u32>,
    /// Seed of the bootstrap [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Adjustment of the p-values across all comparisons [default: holm].
    #[arg(long, value_enum)]
    pub correction: Option<crate::stats::hypothesis::Correction>,
    /// Power of the minimum detectable difference, in (0, 1) [default: 0.8].
    #[arg(long)]
    pub power: Option<f64>,
    /// What a policy whose interval straddles its bound does to the gate (every policy)
    /// [default: warn].
    #[arg(long, value_enum)]
    pub on_uncertain: Option<crate::stats::OnUncertain>,
    /// Per-group thresholds from `fairaudit mitigate --json`: decide with them instead of
    /// --threshold (needs --score and the attribute among --protected).
    #[arg(long, value_name = "THRESHOLDS.json")]
    pub thresholds: Option<PathBuf>,
    /// Colours in the terminal summary.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Do not print the terminal summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// When to colour the terminal summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `--task` values (issue 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// 0/1 labels and decisions.
    Binary,
    /// K classes.
    Multiclass,
    /// Numeric label and prediction.
    Regression,
}

impl From<TaskArg> for crate::input::Task {
    fn from(t: TaskArg) -> Self {
        match t {
            TaskArg::Binary => crate::input::Task::Binary,
            TaskArg::Multiclass => crate::input::Task::Multiclass,
            TaskArg::Regression => crate::input::Task::Regression,
        }
    }
}

/// `--binning` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BinningArg {
    /// Equal-width bins of [0, 1].
    Uniform,
    /// Equal-mass bins at the group's score quantiles.
    Quantile,
}

impl From<BinningArg> for Binning {
    fn from(b: BinningArg) -> Self {
        match b {
            BinningArg::Uniform => Binning::Uniform,
            BinningArg::Quantile => Binning::Quantile,
        }
    }
}

/// `fairaudit metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Print the catalogue as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How a successful command ended; the binary maps it to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: every policy passed, or the command succeeded.
    Pass,
    /// Exit 1: at least one policy failed the gate.
    Fail,
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Run(args) => run_audit(*args),
        Command::Synth(opts) => {
            let rows = crate::synth::write(&opts)?;
            eprintln!("wrote {rows} rows to {}", opts.out.display());
            Ok(Outcome::Pass)
        }
        Command::Metrics(args) => {
            print_metrics(args.json)?;
            Ok(Outcome::Pass)
        }
        Command::Compare(args) => compare(args),
        Command::Sql(args) => sql(args),
        Command::Init(args) => init(args),
        Command::Explain(args) => {
            let text = crate::metrics::catalog::describe(&args.metric)
                .map_err(|msg| Error::spec("fairaudit explain", msg))?;
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            Ok(Outcome::Pass)
        }
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            // Generated into memory: clap_complete panics when stdout is a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "fairaudit", &mut script);
            let _ = std::io::stdout().lock().write_all(&script);
            Ok(Outcome::Pass)
        }
        Command::Mitigate(args) => mitigate(*args),
        Command::Reweigh(args) => reweigh(args),
        Command::Verify(args) => {
            let verdict = crate::verify::verify(&args.report)?;
            let _ = writeln!(std::io::stdout().lock(), "{}", verdict.message);
            Ok(if verdict.identical {
                Outcome::Pass
            } else {
                Outcome::Fail
            })
        }
    }
}

/// The source and columns of `mitigate` / `reweigh`.
fn data_columns(
    d: &DataArgs,
    score: Option<String>,
    prediction: Option<String>,
    threshold: f64,
) -> Result<(crate::input::Source, crate::input::Columns)> {
    let delimiter = crate::spec::delimiter(d.delimiter.as_deref())
        .map_err(|msg| Error::spec("--delimiter", msg))?;
    let protected: Vec<String> = d.protected.iter().map(|s| s.trim().to_string()).collect();
    let columns = crate::input::Columns {
        label: d.label.clone(),
        score,
        prediction,
        weight: d.weight.clone(),
        protected,
        positive_label: d.positive_label.clone(),
        threshold,
        invalid_rows: crate::input::InvalidRows::default(),
        task: crate::input::Task::Binary,
        favorable: Vec::new(),
        class_scores: Vec::new(),
    };
    Ok((crate::input::Source::from_path(&d.data, delimiter), columns))
}

fn mitigate(args: MitigateArgs) -> Result<Outcome> {
    use crate::mitigate::{self, Utility};
    let utility = match args.utility {
        UtilityArg::Accuracy => Utility::Accuracy,
        UtilityArg::BalancedAccuracy => Utility::BalancedAccuracy,
        UtilityArg::Cost => Utility::Cost {
            fp: args.fp_cost,
            fn_: args.fn_cost,
        },
    };
    let options = mitigate::Options {
        attribute: args.data.protected.join(crate::audit::JOIN),
        columns: args.data.protected.clone(),
        score: args.score.clone(),
        objective: args.objective,
        tolerance: args.tolerance,
        utility,
        seed: args.seed,
        sweep: if args.sweep.is_empty() {
            mitigate::DEFAULT_SWEEP.to_vec()
        } else {
            args.sweep.clone()
        },
    };
    options.check(args.holdout, args.threshold)?;
    let (source, columns) = data_columns(
        &args.data,
        Some(args.score.clone()),
        args.prediction.clone(),
        args.threshold,
    )?;
    check_command_outputs([Some(&args.json), args.html.as_ref()], &source.path)?;
    let holdout = args.holdout.map(|f| (f, args.seed));
    let (fit, held) = mitigate::data::read_groups(&source, &columns, holdout)?;
    let result = mitigate::mitigate(&fit, held.as_ref().zip(args.holdout), &options)?;
    let mut rendered = vec![(args.json.clone(), crate::report::mitigation::json(&result)?)];
    if let Some(path) = &args.html {
        let html = crate::report::mitigation::html(&result, &source.path.display().to_string())?;
        rendered.push((path.clone(), html.into_bytes()));
    }
    // All or nothing: every file is written in full before any replaces its target.
    let outputs: Vec<(&std::path::Path, &[u8])> = (rendered.iter())
        .map(|(p, b)| (p.as_path(), &b[..]))
        .collect();
    crate::output::write_atomic_all(&outputs)?;
    if !args.quiet {
        let text = crate::report::mitigation::text(&result);
        let _ = if args.json.as_os_str() == "-" {
            std::io::stderr().lock().write_all(text.as_bytes())
        } else {
            std::io::stdout().lock().write_all(text.as_bytes())
        };
    }
    Ok(Outcome::Pass)
}

/// Refuse (exit 2) a command's outputs that would overwrite each other or its input `data`
/// ([`crate::output::check_targets`]), before anything is read.
fn check_command_outputs(outputs: [Option<&PathBuf>; 2], data: &std::path::Path) -> Result<()> {
    let targets: Vec<&std::path::Path> = (outputs.into_iter().flatten())
        .map(PathBuf::as_path)
        .collect();
    crate::output::check_targets(&targets, data).map_err(|msg| Error::spec("command line", msg))
}

fn reweigh(args: ReweighArgs) -> Result<Outcome> {
    use crate::mitigate::reweigh;
    let (source, columns) = data_columns(&args.data, None, None, 0.5)?;
    check_command_outputs([Some(&args.out), args.per_row.as_ref()], &source.path)?;
    let data = crate::mitigate::data::read_cells(&source, &columns, args.per_row.is_some())?;
    let cells = reweigh::weights(&data.sums);
    let cell_csv = reweigh::to_csv(&cells);
    let per_row = args
        .per_row
        .as_ref()
        .map(|path| (path, reweigh::per_row_csv(&cells, &data.rows, &data.names)));
    // Both files or neither (issue 10): a weights file without its per-row companion, or
    // beside a stale one, would be half a result.
    let mut outputs: Vec<(&std::path::Path, &[u8])> = vec![(&args.out, cell_csv.as_bytes())];
    if let Some((path, text)) = &per_row {
        outputs.push((path, text.as_bytes()));
    }
    crate::output::write_atomic_all(&outputs)?;
    Ok(Outcome::Pass)
}

fn init(args: InitArgs) -> Result<Outcome> {
    let delimiter = crate::spec::delimiter(args.delimiter.as_deref())
        .map_err(|msg| Error::spec("--delimiter", msg))?;
    let source = crate::input::Source::from_path(&args.data, delimiter);
    let out = args.out.unwrap_or_else(|| {
        let stem = args
            .data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = stem.split('.').next().unwrap_or("audit").to_string();
        PathBuf::from("audits").join(format!("{stem}.toml"))
    });
    if out.exists() && !args.force {
        return Err(Error::spec(
            out.display().to_string(),
            "already exists; use --force to overwrite it",
        ));
    }
    let sample = crate::input::sample(&source, crate::init::SAMPLE_ROWS)?;
    let profiles = crate::init::profile(&sample);
    let roles = crate::init::guess(&profiles);
    let data_in_spec = relative_to(&args.data, out.parent().unwrap_or(std::path::Path::new("")));
    let text = crate::init::starter_spec(&data_in_spec, &source, &profiles, &roles);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    write_atomic(&out, text.as_bytes())?;
    eprintln!(
        "wrote {} — review the guesses, then: fairaudit run {}",
        out.display(),
        out.display()
    );
    Ok(Outcome::Pass)
}

/// `path` as seen from directory `dir` (both relative to the current directory, or absolute).
fn relative_to(path: &std::path::Path, dir: &std::path::Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let ups = dir
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .count();
    let mut p = PathBuf::new();
    for _ in 0..ups {
        p.push("..");
    }
    p.join(path)
}

fn compare(args: CompareArgs) -> Result<Outcome> {
    let baseline = crate::baseline::Baseline::load(&args.baseline)?;
    let policies = args
        .policy
        .iter()
        .map(|p| PolicySpec {
            expression: p.clone(),
            ..PolicySpec::default()
        })
        .collect::<Vec<_>>();
    let report = crate::baseline::compare_reports(&baseline, &args.candidate, policies)?;
    if let Some(path) = &args.json {
        let mut bytes = Vec::new();
        Json.render(&report, &mut bytes)?;
        write_atomic(path, &bytes)?;
    }
    if !args.quiet {
        let to_stderr = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
        print_summary(&report, args.color, to_stderr);
    }
    Ok(match report.status {
        Status::Pass => Outcome::Pass,
        Status::Fail => Outcome::Fail,
    })
}

fn sql(a: SqlArgs) -> Result<Outcome> {
    let (mut spec, context) = match &a.spec {
        Some(path) => (AuditSpec::from_file(path)?, path.display().to_string()),
        None => (AuditSpec::default(), "command line".to_string()),
    };
    // The query reads a table, not a file.
    spec.data
        .path
        .get_or_insert_with(|| PathBuf::from(&a.table));
    apply_column_flags(&mut spec, a.columns);
    let audit = spec.check(&context)?;
    let query = crate::partials::sql::partials_query(
        &audit.columns,
        audit.bins,
        a.dialect,
        &a.table,
        a.score_key,
    );
    let _ = std::io::stdout().lock().write_all(query.as_bytes());
    Ok(Outcome::Pass)
}

fn run_audit(mut args: RunArgs) -> Result<Outcome> {
    let (spec, context) = match &args.spec {
        Some(path) => (AuditSpec::from_file(path)?, path.display().to_string()),
        None => (AuditSpec::default(), "command line".to_string()),
    };
    let color = args.color;
    let quiet = args.quiet;
    let thresholds = args.thresholds.clone();
    let from_partials = args.partials.is_some();
    let emit = args.emit_partials.take();
    let engine = args.engine.take();
    let table = args.table.take();
    if from_partials {
        args.data = args.partials.take();
    }
    if let Some(t) = &table {
        args.data = Some(PathBuf::from(t));
    }
    let audit = apply_flags(spec, args)?.check(&context)?;
    if let Some(emit) = &emit {
        let targets: Vec<&std::path::Path> =
            audit.outputs.paths().chain([emit.as_path()]).collect();
        crate::output::check_targets(&targets, &audit.source.path)
            .map_err(|msg| Error::spec("--emit-partials", msg))?;
    }
    let binary = audit.columns.task.is_binary() || !audit.columns.favorable.is_empty();
    let partials = from_partials || engine.is_some() || emit.is_some();
    if partials && !binary {
        return Err(Error::spec(
            "--partials",
            "partials tables (--partials, --emit-partials, --engine) hold the statistics of \
             binary audits: collapse a multiclass audit with --favorable; a regression audit \
             cannot use them",
        ));
    }
    if partials && thresholds.is_some() {
        return Err(Error::spec(
            "--thresholds",
            "per-group thresholds are applied to rows; they cannot be combined with \
             --partials, --emit-partials or --engine",
        ));
    }
    let rows = |on_rows: &(dyn Fn(u64) + Sync)| -> Result<(crate::report::AuditReport, Option<_>)> {
        if binary {
            let (report, aggregate) = crate::audit::run_keeping_aggregate(&audit, on_rows)?;
            Ok((report, Some(aggregate)))
        } else {
            Ok((crate::audit::run_with_progress(&audit, on_rows)?, None))
        }
    };
    let (report, aggregate) = if let Some(file) = &thresholds {
        let mitigation = crate::mitigate::data::load_thresholds(file)?;
        let report = crate::mitigate::data::run_with_thresholds(&audit, &mitigation, file)?;
        (report, None)
    } else if from_partials {
        (crate::partials::run(&audit)?, None)
    } else if let Some(url) = &engine {
        let (report, aggregate) = crate::partials::run_engine(&audit, url, table.as_deref())?;
        (report, Some(aggregate))
    } else if !quiet && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {human_pos} rows read ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let report = rows(&|n| bar.inc(n));
        bar.finish_and_clear();
        report?
    } else {
        rows(&|_| {})?
    };
    // Render every output before writing any, so a render error leaves no file behind.
    let mut rendered = Vec::new();
    let renderers: [(&Option<PathBuf>, Box<dyn Renderer>); 4] = [
        (&audit.outputs.json, Box::new(Json)),
        (&audit.outputs.markdown, Box::new(Markdown)),
        (
            &audit.outputs.html,
            Box::new(Html {
                generated_at: Some(crate::provenance::run_time()),
            }),
        ),
        (&audit.outputs.junit, Box::new(Junit)),
    ];
    for (path, renderer) in renderers {
        if let Some(path) = path {
            let mut bytes = Vec::new();
            renderer.render(&report, &mut bytes)?;
            rendered.push((path.clone(), bytes));
        }
    }
    if let Some(path) = emit {
        let bytes = match &aggregate {
            Some(aggregate) => crate::partials::table_bytes(aggregate, &audit.columns, &path)?,
            None => crate::partials::table_bytes(
                &crate::partials::aggregate_of(&audit)?,
                &audit.columns,
                &path,
            )?,
        };
        rendered.push((path, bytes));
    }
    // Standard output first, then the files all or nothing (each written in full before any
    // replaces its target), so that a failed write, to stdout or a file, leaves every output
    // file as it was (CONTRACT §1).
    let (stdout, files): (Vec<_>, Vec<_>) = (rendered.iter())
        .map(|(p, b)| (p.as_path(), &b[..]))
        .partition(|(p, _)| p.as_os_str() == "-");
    let mut stdout_closed = false;
    for (path, bytes) in stdout {
        match write_atomic(path, bytes) {
            // A reader that stops early (`| head`) is not an error, and the gate's verdict
            // still decides the exit code (issue 9).
            Err(Error::Io { source, .. })
                if path.as_os_str() == "-" && source.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                stdout_closed = true;
            }
            result => result?,
        }
    }
    crate::output::write_atomic_all(&files)?;
    if !quiet && !stdout_closed {
        let stdout_claimed = rendered.iter().any(|(p, _)| p.as_os_str() == "-");
        print_summary(&report, color, stdout_claimed);
    }
    Ok(match report.status {
        Status::Pass => Outcome::Pass,
        Status::Fail => Outcome::Fail,
    })
}

/// The terminal summary goes to stdout, or to stderr when an output claims stdout. A closed
/// pipe is not an error.
fn print_summary(report: &crate::report::AuditReport, color: ColorChoice, to_stderr: bool) {
    let tty = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let text = Terminal { color }.text(report);
    let _ = if to_stderr {
        std::io::stderr().lock().write_all(text.as_bytes())
    } else {
        std::io::stdout().lock().write_all(text.as_bytes())
    };
}

/// Replace `slot` by `flag` when the flag is given.
fn set<T>(slot: &mut Option<T>, flag: Option<T>) {
    if flag.is_some() {
        *slot = flag;
    }
}

/// Lay the column flags over the spec (as [`apply_flags`] does).
fn apply_column_flags(spec: &mut AuditSpec, c: ColumnFlags) {
    set(&mut spec.columns.label, c.label);
    set(&mut spec.columns.score, c.score);
    set(&mut spec.columns.prediction, c.prediction);
    set(&mut spec.columns.weight, c.weight);
    set(&mut spec.columns.positive_label, c.positive_label);
    set(&mut spec.audit.threshold, c.threshold);
    set(&mut spec.audit.bins, c.bins);
    if !c.protected.is_empty() {
        spec.audit.protected = (c.protected.into_iter())
            .map(|s| s.trim().to_string())
            .collect();
    }
}

/// Lay the flags over the spec: scalars replace, lists replace.
fn apply_flags(mut spec: AuditSpec, a: RunArgs) -> Result<AuditSpec> {
    set(&mut spec.data.path, a.data);
    set(&mut spec.data.delimiter, a.delimiter);
    if a.skip_invalid {
        spec.data.skip_invalid = Some(true);
    }
    apply_column_flags(&mut spec, a.columns);
    set(&mut spec.columns.task, a.task.map(Into::into));
    if !a.favorable.is_empty() {
        spec.columns.favorable = Some(a.favorable.iter().map(|c| c.trim().to_string()).collect());
    }
    set(&mut spec.audit.quantile, a.quantile);
    if !a.class_score.is_empty() {
        let mut map = std::collections::BTreeMap::new();
        for pair in &a.class_score {
            let (class, column) = pair.split_once('=').ok_or_else(|| {
                Error::spec("--class-score", format!("'{pair}' is not CLASS=COLUMN"))
            })?;
            map.insert(class.trim().to_string(), column.trim().to_string());
        }
        spec.columns.class_scores = Some(map);
    }
    set(&mut spec.audit.min_group_size, a.min_group_size);
    set(&mut spec.audit.max_groups, a.max_groups);
    set(&mut spec.audit.baseline, a.baseline);
    set(&mut spec.audit.binning, a.binning.map(Binning::from));
    if !a.intersect.is_empty() {
        spec.audit.intersections = a
            .intersect
            .iter()
            .map(|i| i.split(',').map(|s| s.trim().to_string()).collect())
            .collect();
    }
    if !a.reference.is_empty() {
        spec.audit.reference = a
            .reference
            .iter()
            .map(|r| {
                r.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                    .ok_or_else(|| {
                        Error::spec("--reference", format!("'{r}' is not ATTRIBUTE=VALUE"))
                    })
            })
            .collect::<Result<_>>()?;
    }
    if !a.policy.is_empty() {
        spec.policies = a
            .policy
            .into_iter()
            .map(|expression| PolicySpec {
                expression,
                ..PolicySpec::default()
            })
            .collect();
    }
    set(&mut spec.uncertainty.ci_method, a.ci_method);
    set(&mut spec.uncertainty.confidence, a.confidence);
    set(&mut spec.uncertainty.bootstrap, a.bootstrap);
    set(&mut spec.uncertainty.seed, a.seed);
    set(&mut spec.uncertainty.correction, a.correction);
    set(&mut spec.uncertainty.power, a.power);
    if a.on_uncertain.is_some() {
        for p in &mut spec.policies {
            p.on_uncertain = a.on_uncertain;
        }
    }
    set(&mut spec.outputs.json, a.json);
    set(&mut spec.outputs.markdown, a.markdown);
    set(&mut spec.outputs.html, a.html);
    set(&mut spec.outputs.junit, a.junit);
    Ok(spec)
}

fn print_metrics(json: bool) -> Result<()> {
    let text = if json {
        serde_json::to_string_pretty(&catalog::all().collect::<Vec<_>>()).map_err(|e| {
            Error::Render {
                format: "json",
                msg: e.to_string(),
            }
        })? + "\n"
    } else {
        let mut t = String::new();
        for m in catalog::all() {
            let peers: Vec<String> = [
                ("Fairlearn", m.fairlearn),
                ("AIF360", m.aif360),
                ("Aequitas", m.aequitas),
            ]
            .iter()
            .filter(|(_, n)| !n.is_empty())
            .map(|(tk, n)| format!("{tk}: {n}"))
            .collect();
            let scope = format!("{:?}", m.scope).to_lowercase();
            t.push_str(&format!("{:<46} {:<10} {}\n", m.key, scope, m.definition));
            if !peers.is_empty() {
                t.push_str(&format!("{:<46} {:<10} ({})\n", "", "", peers.join("; ")));
            }
        }
        t
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_the_spec() {
        let mut spec = AuditSpec::default();
        spec.audit.protected = vec!["a".into()];
        spec.audit.threshold = Some(0.3);
        let args = RunArgs {
            columns: ColumnFlags {
                protected: vec!["b".into(), " c".into()],
                ..ColumnFlags::default()
            },
            intersect: vec!["b,c".into()],
            reference: vec!["b=x=y".into()],
            ..RunArgs::default()
        };
        let spec = apply_flags(spec, args).unwrap();
        assert_eq!(spec.audit.protected, vec!["b", "c"]);
        assert_eq!(
            spec.audit.intersections,
            vec![vec!["b".to_string(), "c".to_string()]]
        );
        assert_eq!(spec.audit.reference["b"], "x=y");
        assert_eq!(spec.audit.threshold, Some(0.3));
    }
}
