//! Every metric key the report can hold, with its definition and its names in peer toolkits.
//! `fairaudit metrics` prints this table; policy expressions are checked against it.

use super::calibration::SCORE_METRICS;
use super::rates::RATE_METRICS;
use super::summary::AGGREGATES;

/// Where a metric lives in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Per group (and over all rows): `groups[].metrics`, `overall.metrics`.
    Group,
    /// Per group against the reference group: `groups[].disparities`.
    Disparity,
    /// Per attribute, between groups: `attributes[].summary`.
    Summary,
    /// Over all rows only: `overall.metrics`.
    Overall,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MetricInfo {
    /// JSON key.
    pub key: &'static str,
    /// Where it appears.
    pub scope: Scope,
    /// One-line definition.
    pub definition: &'static str,
    /// Fairlearn name, if any.
    pub fairlearn: &'static str,
    /// AIF360 name, if any.
    pub aif360: &'static str,
    /// Aequitas name, if any.
    pub aequitas: &'static str,
}

const fn m(
    key: &'static str,
    scope: Scope,
    definition: &'static str,
    fairlearn: &'static str,
    aif360: &'static str,
    aequitas: &'static str,
) -> MetricInfo {
    MetricInfo {
        key,
        scope,
        definition,
        fairlearn,
        aif360,
        aequitas,
    }
}

use Scope::{Disparity, Group, Overall, Summary};

/// The catalogue, in the order `fairaudit metrics` prints it.
pub const CATALOG: &[MetricInfo] = &[
    m("selection_rate", Group, "(TP+FP)/n: share predicted positive", "selection_rate", "selection_rate", "pprev"),
    m("base_rate", Group, "(TP+FN)/n: share with label 1", "", "base_rate", "prev"),
    m("ppr", Group, "(TP+FP) / predicted positives of all groups of the attribute", "", "", "ppr"),
    m("tpr", Group, "TP/(TP+FN): recall, true positive rate", "true_positive_rate", "true_positive_rate", "tpr"),
    m("fnr", Group, "FN/(TP+FN): miss rate", "false_negative_rate", "false_negative_rate", "fnr"),
    m("fpr", Group, "FP/(FP+TN): false positive rate", "false_positive_rate", "false_positive_rate", "fpr"),
    m("tnr", Group, "TN/(FP+TN): specificity", "true_negative_rate", "true_negative_rate", "tnr"),
    m("precision", Group, "TP/(TP+FP): positive predictive value", "precision_score", "positive_predictive_value", "precision"),
    m("fdr", Group, "FP/(TP+FP): false discovery rate", "", "false_discovery_rate", "fdr"),
    m("npv", Group, "TN/(TN+FN): negative predictive value", "", "negative_predictive_value", "npv"),
    m("for", Group, "FN/(TN+FN): false omission rate", "", "false_omission_rate", "for"),
    m("accuracy", Group, "(TP+TN)/n", "accuracy_score", "accuracy", ""),
    m("error_rate", Group, "(FP+FN)/n = 1 − accuracy", "", "error_rate", ""),
    m("balanced_accuracy", Group, "(tpr+tnr)/2", "balanced_accuracy_score", "", ""),
    m("f1", Group, "2TP/(2TP+FP+FN)", "f1_score", "", ""),
    m("mean_score", Group, "Σw·s/Σw: mean score", "", "", ""),
    m("brier", Group, "Σw·(s−y)²/Σw: Brier score", "brier_score_loss (sklearn)", "", ""),
    m("log_loss", Group, "−mean(y·ln p + (1−y)·ln(1−p)), p clipped to [ε, 1−ε]", "log_loss (sklearn)", "", ""),
    m("ece", Group, "Σ_b (n_b/n)·|mean label_b − mean score_b| over equal-width right-closed bins", "", "", ""),
    m("mce", Group, "max over non-empty bins of |mean label_b − mean score_b|", "", "", ""),
    m("auc", Group, "ROC AUC, ties count ½ (Mann–Whitney)", "roc_auc_score (sklearn)", "", ""),
    m("bpsn_auc", Group, "AUC of other groups' positives vs this group's negatives (low: this group's negatives are scored like positives)", "", "", ""),
    m("bnsp_auc", Group, "AUC of this group's positives vs other groups' negatives (low: this group's positives are scored like negatives)", "", "", ""),
    m("calibration_intercept", Group, "α in logit P(y) = α + logit(s): calibration-in-the-large (ideal 0)", "", "", ""),
    m("calibration_slope", Group, "β₁ in logit P(y) = β₀ + β₁·logit(s) (ideal 1; < 1: scores too extreme)", "", "", ""),
    m("<m>.ratio", Disparity, "m_g / m_r against the reference group r, for every group metric m", "", "disparate_impact (m = selection_rate)", "<m>_disparity"),
    m("<m>.difference", Disparity, "m_g − m_r against the reference group, signed", "", "statistical_parity_difference (selection_rate), equal_opportunity_difference (tpr), false_*_rate_difference", ""),
    m("average_odds_difference", Disparity, "½[(fpr_g−fpr_r)+(tpr_g−tpr_r)]", "", "average_odds_difference", ""),
    m("average_abs_odds_difference", Disparity, "½[|fpr_g−fpr_r|+|tpr_g−tpr_r|]", "", "average_abs_odds_difference", ""),
    m("equalized_odds_difference_vs_reference", Disparity, "max(|fpr_g−fpr_r|, |tpr_g−tpr_r|)", "", "equalized_odds_difference", ""),
    m("<m>_group_min", Summary, "smallest defined m over the compared groups", "MetricFrame.group_min()", "", ""),
    m("<m>_group_max", Summary, "largest defined m over the compared groups", "MetricFrame.group_max()", "", ""),
    m("<m>_difference", Summary, "max_g m_g − min_g m_g", "MetricFrame.difference()", "", ""),
    m("<m>_ratio", Summary, "min_g m_g / max_g m_g", "MetricFrame.ratio()", "", ""),
    m("<m>_difference_to_overall", Summary, "max_g |m_g − m_all|", "MetricFrame.difference(method=\"to_overall\")", "", ""),
    m("<m>_ratio_to_overall", Summary, "min_g min(m_g/m_all, m_all/m_g)", "MetricFrame.ratio(method=\"to_overall\")", "", ""),
    m("demographic_parity_difference", Summary, "selection_rate_difference", "demographic_parity_difference", "", ""),
    m("demographic_parity_ratio", Summary, "selection_rate_ratio (the four-fifths rule's quantity)", "demographic_parity_ratio", "", ""),
    m("equal_opportunity_difference", Summary, "tpr_difference", "equal_opportunity_difference", "", ""),
    m("equal_opportunity_ratio", Summary, "tpr_ratio", "equal_opportunity_ratio", "", ""),
    m("equalized_odds_difference", Summary, "max(tpr_difference, fpr_difference)", "equalized_odds_difference", "", ""),
    m("equalized_odds_ratio", Summary, "min(tpr_ratio, fpr_ratio)", "equalized_odds_ratio", "", ""),
    m("equalized_odds_difference_mean", Summary, "(tpr_difference + fpr_difference)/2", "equalized_odds_difference(agg=\"mean\")", "", ""),
    m("equalized_odds_ratio_mean", Summary, "(tpr_ratio + fpr_ratio)/2", "equalized_odds_ratio(agg=\"mean\")", "", ""),
    m("between_all_groups_theil_index", Summary, "Theil index of b = ŷ−y+1 with each b replaced by its group's mean", "", "between_all_groups_theil_index", ""),
    m("between_all_groups_generalized_entropy_index", Summary, "GE(2) of the group-mean benefits", "", "between_all_groups_generalized_entropy_index", ""),
    m("between_all_groups_coefficient_of_variation", Summary, "√(2·GE(2)) of the group-mean benefits", "", "between_all_groups_coefficient_of_variation", ""),
    m("theil_index", Overall, "(1/n)Σ(b/μ)·ln(b/μ), b = ŷ−y+1", "", "theil_index", ""),
    m("generalized_entropy_index", Overall, "Σ[(b/μ)²−1]/(2n), b = ŷ−y+1", "", "generalized_entropy_index", ""),
    m("coefficient_of_variation", Overall, "√(2·GE(2))", "", "coefficient_of_variation", ""),
];

/// The metrics of multiclass and regression audits (issue 11), in the order `fairaudit
/// metrics` prints them after [`CATALOG`].
pub const TASK_CATALOG: &[MetricInfo] = &[
    m("mae", Group, "regression: Σw·|ŷ−y|/Σw, mean absolute error", "mean_absolute_error (sklearn)", "", ""),
    m("mse", Group, "regression: Σw·(ŷ−y)²/Σw, mean squared error", "mean_squared_error (sklearn)", "", ""),
    m("rmse", Group, "regression: √mse", "root_mean_squared_error (sklearn)", "", ""),
    m("mean_error", Group, "regression: Σw·(ŷ−y)/Σw, bias (> 0: over-predicts)", "", "", ""),
    m("mean_prediction", Group, "regression: Σw·ŷ/Σw", "", "", ""),
    m("mean_label", Group, "regression: Σw·y/Σw", "", "", ""),
    m("r2", Group, "regression: 1 − Σw·(ŷ−y)²/Σw·(y−ȳ)²; undefined when the labels are constant", "r2_score (sklearn)", "", ""),
    m("share_above_quantile", Group, "regression: Σw·[ŷ > t]/Σw, t = overall q-quantile of ŷ (inverted CDF; --quantile, default 0.5)", "", "", ""),
    m("prediction_ks", Disparity, "regression: sup|F_g − F_ref| of the predictions' weighted ECDFs, with the two-sided p-value (exact up to 10,000 rows per side)", "ks_2samp (scipy)", "", ""),
    m("prediction_wasserstein", Disparity, "regression: ∫|F_g − F_ref| dx, the 1-Wasserstein distance of the predictions", "wasserstein_distance (scipy)", "", ""),
    m("prediction_ks_max", Summary, "regression: largest prediction_ks over the compared non-reference groups", "", "", ""),
    m("prediction_wasserstein_max", Summary, "regression: largest prediction_wasserstein over the compared non-reference groups", "", "", ""),
    m("<rate>@<class>", Group, "multiclass: one-vs-rest selection_rate, base_rate, tpr, fpr or precision of one class; auc@c with a score column for c (--class-score)", "recall_score / precision_score / roc_auc_score (sklearn, one class vs rest)", "", ""),
    m("macro_<rate>", Group, "multiclass: mean of <rate>@c over the classes where it is defined (selection_rate, tpr, fpr, precision, auc)", "average=\"macro\" (sklearn; counts undefined as 0)", "", ""),
    m("worst_class_auc", Group, "multiclass: smallest auc@c over the scored classes", "", "", ""),
    m("worst_class_tpr", Group, "multiclass: smallest tpr@c over the classes", "", "", ""),
    m("worst_class_fpr", Group, "multiclass: largest fpr@c over the classes", "", "", ""),
    m("worst_class_precision", Group, "multiclass: smallest precision@c over the classes", "", "", ""),
    m("<rate>_worst_class_difference", Summary, "multiclass: largest <rate>@c_difference (between groups) over the classes", "", "", ""),
    m("<rate>_worst_class_ratio", Summary, "multiclass: smallest <rate>@c_ratio (between groups) over the classes", "", "", ""),
];

/// Every catalogue entry: binary metrics, then multiclass and regression ones.
pub fn all() -> impl Iterator<Item = &'static MetricInfo> {
    CATALOG.iter().chain(TASK_CATALOG)
}

/// A metric in plain language, for human-readable reports: what it measures and whom a gap
/// between groups harms. Single source for every report that explains metrics.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Explanation {
    /// JSON key.
    pub key: &'static str,
    /// What the number measures, in plain words.
    pub measures: &'static str,
    /// Who is harmed when groups differ on it.
    pub harm: &'static str,
}

const fn x(key: &'static str, measures: &'static str, harm: &'static str) -> Explanation {
    Explanation {
        key,
        measures,
        harm,
    }
}

/// Plain-language explanations, by key.
pub const EXPLANATIONS: &[Explanation] = &[
    x("selection_rate", "The share of the group the model selects (predicts positive), whatever the true outcome.", "A group selected less often gets fewer of the benefits (loans, interviews) or, if selection is a penalty (fraud flags), more of the burden; a low ratio is disparate impact."),
    x("base_rate", "The share of the group whose true outcome is positive. It describes the data, not the model.", "Not a harm in itself; differing base rates explain why demographic parity and error-rate parity cannot both hold."),
    x("ppr", "The group's share of all positive predictions made for the attribute.", "A group with a small share of selections relative to its size is under-served."),
    x("tpr", "Of the people who truly are positive, the share the model finds (recall).", "A group with a lower TPR has more qualified people wrongly turned down: equal-opportunity harm."),
    x("fnr", "Of the people who truly are positive, the share the model misses.", "A higher miss rate means qualified members of the group are denied more often."),
    x("fpr", "Of the people who truly are negative, the share the model wrongly flags positive.", "A group with a higher FPR is wrongly flagged (or wrongly approved) more often; when positive means risk, it bears more false accusations."),
    x("tnr", "Of the people who truly are negative, the share the model correctly clears (specificity).", "A lower TNR means more of the group's negatives are wrongly flagged."),
    x("precision", "Of the people the model selects, the share who truly are positive (PPV).", "Lower precision for a group means its selections are less often right: its members' positive predictions deserve less trust (predictive parity)."),
    x("fdr", "Of the people the model selects, the share who are not truly positive.", "A higher false discovery rate means more of the group's selected members were selected wrongly."),
    x("npv", "Of the people the model rejects, the share who truly are negative.", "A lower NPV means the group's rejections more often hide real positives."),
    x("for", "Of the people the model rejects, the share who truly are positive (false omission rate).", "A higher false omission rate means more of the group's qualified members are among those turned away."),
    x("accuracy", "The share of the group the model classifies correctly.", "A group with lower accuracy receives a worse model overall."),
    x("error_rate", "The share of the group the model classifies wrongly (1 − accuracy).", "A group with a higher error rate receives a worse model overall."),
    x("balanced_accuracy", "The mean of TPR and TNR: accuracy that is not dominated by the majority class.", "A gap means one group gets a worse model even after accounting for different base rates."),
    x("f1", "The harmonic mean of precision and recall.", "A lower F1 means the model finds the group's positives less well or less precisely."),
    x("mean_score", "The average model score in the group.", "Differing mean scores are expected when base rates differ; compare with base_rate."),
    x("brier", "Mean squared difference between score and outcome (lower is better).", "A higher Brier score means the group's scores are less accurate probabilities."),
    x("log_loss", "Mean negative log-likelihood of the outcomes under the scores (lower is better).", "A higher log loss means the model is more confidently wrong about the group."),
    x("ece", "Expected calibration error: the average gap, over score bins, between the score and the observed rate.", "A badly calibrated group's scores do not mean what they say: a 70% score may be a 50% risk, misleading every decision made on it."),
    x("mce", "Maximum calibration error: the largest gap between score and observed rate over the score bins.", "A large MCE means some score range is badly wrong for the group."),
    x("auc", "The probability that a random positive of the group scores above a random negative (ranking quality).", "A lower AUC means the model ranks the group's members less well, whatever the threshold."),
    x("demographic_parity_ratio", "The lowest group selection rate divided by the highest (the four-fifths rule's quantity).", "Below 0.8 the least-selected group is selected at under four fifths of the most-selected group's rate: adverse impact."),
    x("demographic_parity_difference", "The highest group selection rate minus the lowest.", "A large gap means selection depends on group membership."),
    x("equal_opportunity_difference", "The highest group TPR minus the lowest.", "Qualified members of the worst-off group are turned down more often."),
    x("equal_opportunity_ratio", "The lowest group TPR divided by the highest.", "Qualified members of the worst-off group are turned down more often."),
    x("equalized_odds_difference", "The larger of the TPR gap and the FPR gap between groups.", "Some group gets either more missed positives or more false alarms than another."),
    x("equalized_odds_ratio", "The smaller of the TPR ratio and the FPR ratio between groups.", "Some group gets either more missed positives or more false alarms than another."),
    x("between_all_groups_theil_index", "Inequality of the benefit ŷ − y + 1 between group means (0 = equal).", "A larger index means benefits are distributed less equally between groups."),
    x("theil_index", "Inequality of the benefit ŷ − y + 1 across all individuals (0 = equal).", "A larger index means benefits are distributed less equally between people."),
    x("bpsn_auc", "How well the score ranks other groups' positives above this group's negatives (0.5 = chance, 1 = perfect).", "A low value means this group's negatives get scores like other groups' positives: more false alarms for this group at any threshold."),
    x("bnsp_auc", "How well the score ranks this group's positives above other groups' negatives.", "A low value means this group's positives get scores like other groups' negatives: more missed positives for this group at any threshold."),
    x("calibration_intercept", "Calibration-in-the-large: the shift α on the log-odds scale that best fits the outcomes (0 = calibrated on average).", "Above 0 the score under-states this group's risk, below 0 it over-states it: decisions at one threshold treat the group unlike others."),
    x("calibration_slope", "The slope β₁ of the outcomes' log-odds on the score's log-odds (1 = calibrated spread).", "Below 1 the scores are too extreme for this group, above 1 too timid: its high and low scores mean something else than for others."),
    x("average_odds_difference", "The mean of the FPR and TPR differences against the reference group (signed).", "A group with more false alarms and more misses than the reference is worse off on both errors."),
    x("average_abs_odds_difference", "The mean of the absolute FPR and TPR differences against the reference group.", "Any gap in either error rate, in either direction, means the groups' errors differ."),
    x("equalized_odds_difference_vs_reference", "The larger absolute gap, FPR or TPR, against the reference group (AIF360's equalized odds difference).", "The group gets either more false alarms or more missed positives than the reference."),
    x("equalized_odds_difference_mean", "The mean of the TPR and FPR ranges between groups.", "Error rates differ between groups on average over both kinds of error."),
    x("equalized_odds_ratio_mean", "The mean of the TPR and FPR ratios between groups.", "Error rates differ between groups on average over both kinds of error."),
    x("between_all_groups_generalized_entropy_index", "Generalized entropy (α = 2) of the benefit ŷ − y + 1 between group means.", "A larger index means benefits are distributed less equally between groups."),
    x("between_all_groups_coefficient_of_variation", "Coefficient of variation of the benefit ŷ − y + 1 between group means.", "A larger value means benefits are distributed less equally between groups."),
    x("generalized_entropy_index", "Generalized entropy (α = 2) of the benefit ŷ − y + 1 across all individuals.", "A larger index means benefits are distributed less equally between people."),
    x("coefficient_of_variation", "Coefficient of variation of the benefit ŷ − y + 1 across all individuals.", "A larger value means benefits are distributed less equally between people."),
    x("mae", "The average size of the model's error in the group, in the label's unit.", "A group with a larger MAE gets less accurate predictions: its credit limits, risk scores or estimates are further off."),
    x("mse", "The average squared error in the group: large errors weigh more.", "A larger MSE means the group suffers more large errors."),
    x("rmse", "The square root of the MSE, in the label's unit.", "A larger RMSE means the group suffers more large errors."),
    x("mean_error", "The average of prediction − label: positive when the model over-predicts the group.", "A group whose values are systematically under-predicted (e.g. credit limits, care needs) is disadvantaged even if the errors are small."),
    x("mean_prediction", "The average prediction in the group.", "Compare with mean_label: a gap the labels do not explain is a bias of the model."),
    x("mean_label", "The average true value in the group. It describes the data, not the model.", "Not a harm in itself; it explains differing mean predictions."),
    x("r2", "The share of the label's variance within the group that the model explains (1 = perfect, 0 = no better than the group mean).", "A lower R² means the model distinguishes the group's members less well."),
    x("share_above_quantile", "The share of the group whose prediction lies above the overall q-quantile: the selection rate when the top (1 − q) are selected.", "When the score ranks people for a benefit, a group with a lower share is selected less often: disparate impact."),
    x("prediction_ks", "The largest gap between the group's and the reference group's cumulative distributions of predictions (0 = identical).", "A large value means the model's predictions for the group are distributed differently: any threshold treats the groups differently."),
    x("prediction_wasserstein", "How far, in the prediction's unit, the group's predictions must move on average to match the reference group's.", "A large distance means the group's predictions are shifted or spread differently."),
    x("prediction_ks_max", "The largest prediction_ks of a group against the reference.", "Some group's predictions are distributed unlike the reference group's."),
    x("prediction_wasserstein_max", "The largest prediction_wasserstein of a group against the reference.", "Some group's predictions are shifted or spread unlike the reference group's."),
    x("worst_class_tpr", "The recall of the class the model finds least well in the group.", "Some class of the group's members is missed more often."),
    x("worst_class_fpr", "The false positive rate of the class the model assigns most wrongly in the group.", "Members of the group are wrongly put in some class more often."),
    x("worst_class_auc", "The ranking quality (one-vs-rest AUC) of the class the model's scores separate least well in the group.", "Some class of the group's members is ranked less well by its score."),
    x("worst_class_precision", "The precision of the class whose predictions are least trustworthy in the group.", "Some class's predictions for the group are wrong more often."),
    x("ratio", "The group's value divided by the reference group's value (1 = parity).", "Far from 1 in the harmful direction of the metric: the group is worse off than the reference."),
    x("difference", "The group's value minus the reference group's value (0 = parity).", "Far from 0 in the harmful direction of the metric: the group is worse off than the reference."),
];

/// The explanation of a key, if the catalogue has one (`tpr@c` and `macro_tpr` are explained
/// as `tpr`).
pub fn explain(key: &str) -> Option<&'static Explanation> {
    let rate = key
        .split_once('@')
        .map(|(rate, _)| rate)
        .or_else(|| key.strip_prefix("macro_"))
        .unwrap_or(key);
    EXPLANATIONS.iter().find(|e| e.key == key || e.key == rate)
}

/// What a metric name means, in plain words: definition, formula, the harm a gap signals, peer
/// names. Accepts every name a policy accepts (`tpr`, `fpr.ratio`, `ece_difference`, …).
pub fn describe(name: &str) -> Result<String, String> {
    use std::fmt::Write as _;
    let resolved = resolve(name)?;
    let (base, part) = match &resolved {
        Resolved::DisparityPair { metric, part } => (metric.as_str(), Some(part.as_str())),
        Resolved::Summary(s) => AGGREGATES
            .iter()
            .find_map(|suffix| {
                s.strip_suffix(&format!("_{suffix}"))
                    .filter(|m| info(m).is_some())
                    .map(|m| (m, Some(*suffix)))
            })
            .unwrap_or((s.as_str(), None)),
        Resolved::Group(m) | Resolved::DisparitySingle(m) | Resolved::Overall(m) => {
            (m.as_str(), None)
        }
    };
    let mut t = String::new();
    let _ = writeln!(t, "{name}");
    if let Some(part) = part {
        let pattern = match &resolved {
            Resolved::DisparityPair { .. } => format!("<m>.{part}"),
            _ => format!("<m>_{part}"),
        };
        if let Some(i) = info(&pattern) {
            let _ = writeln!(
                t,
                "  {} of {base}: {}",
                pattern.replace("<m>", "m"),
                i.definition
            );
        }
        if let Some(e) = explain(part) {
            let _ = writeln!(t, "  {}", e.measures);
        }
        let _ = writeln!(t, "\n  where m = {base}:");
    }
    if let Some(i) = info(base) {
        let scope = format!("{:?}", i.scope).to_lowercase();
        let _ = writeln!(t, "  definition: {} ({scope} metric)", i.definition);
        let peers: Vec<String> = [
            ("Fairlearn", i.fairlearn),
            ("AIF360", i.aif360),
            ("Aequitas", i.aequitas),
        ]
        .iter()
        .filter(|(_, n)| !n.is_empty())
        .map(|(tk, n)| format!("{tk} {n}"))
        .collect();
        if let Some(e) = explain(base) {
            let _ = writeln!(t, "  measures:   {}", e.measures);
            let _ = writeln!(t, "  a gap:      {}", e.harm);
        }
        let _ = writeln!(
            t,
            "  peers:      {}",
            if peers.is_empty() {
                "none".to_string()
            } else {
                peers.join("; ")
            }
        );
    }
    Ok(t)
}

/// The catalogue entry of a key, if any.
pub fn info(key: &str) -> Option<&'static MetricInfo> {
    let pattern = if key.contains('@') {
        "<rate>@<class>"
    } else if key.starts_with("macro_") {
        "macro_<rate>"
    } else if key.ends_with("_worst_class_difference") {
        "<rate>_worst_class_difference"
    } else if key.ends_with("_worst_class_ratio") {
        "<rate>_worst_class_ratio"
    } else {
        key
    };
    all().find(|i| i.key == key || i.key == pattern)
}

/// The per-group metric keys (rates, then score metrics).
pub fn group_metric_keys() -> impl Iterator<Item = &'static str> {
    RATE_METRICS.into_iter().chain(SCORE_METRICS)
}

/// Whether a resolved metric is computed by audits of `task` (issue 11).
pub fn available(resolved: &Resolved, task: crate::input::Task) -> bool {
    use crate::input::Task;
    let name = match resolved {
        Resolved::Group(m) | Resolved::DisparitySingle(m) | Resolved::Overall(m) => m.as_str(),
        Resolved::DisparityPair { metric, .. } => metric.as_str(),
        Resolved::Summary(s) => summary_base(s),
    };
    let binary = group_metric_keys().any(|k| k == name)
        || CATALOG
            .iter()
            .any(|i| i.key == name && !i.key.starts_with('<'));
    match task {
        Task::Binary => binary,
        Task::Regression => is_regression_key(name),
        Task::Multiclass => is_multiclass_key(name),
    }
}

/// The metric of a summary name (`mae_difference` → `mae`), or the name itself.
fn summary_base(s: &str) -> &str {
    AGGREGATES
        .iter()
        .find_map(|suffix| {
            s.strip_suffix(&format!("_{suffix}")).filter(|m| {
                group_metric_keys().any(|k| k == *m)
                    || is_regression_key(m)
                    || (is_multiclass_key(m) && !m.contains("worst_class_"))
            })
        })
        .unwrap_or(s)
}

fn is_regression_key(name: &str) -> bool {
    use super::regression::{DISTRIBUTION_DISPARITIES, DISTRIBUTION_SUMMARIES, REGRESSION_METRICS};
    REGRESSION_METRICS
        .iter()
        .chain(&DISTRIBUTION_DISPARITIES)
        .chain(&DISTRIBUTION_SUMMARIES)
        .any(|k| *k == name)
}

/// Per-group multiclass keys: accuracy, error_rate, `<rate>@<class>`, `macro_<rate>`,
/// `worst_class_<rate>`; and the summaries `<rate>_worst_class_{difference,ratio}`.
fn is_multiclass_key(name: &str) -> bool {
    use super::multiclass::{CLASS_RATES, MACRO_RATES, WORST_CLASS, WORST_CLASS_SUMMARIES};
    if ["accuracy", "error_rate", "brier", "log_loss"].contains(&name) {
        return true;
    }
    if let Some((rate, class)) = name.split_once('@') {
        return (CLASS_RATES.contains(&rate) || rate == "auc") && !class.is_empty();
    }
    if let Some(rate) = name.strip_prefix("macro_") {
        return MACRO_RATES.contains(&rate) || rate == "auc";
    }
    WORST_CLASS.iter().any(|(k, _, _)| *k == name)
        || name == "worst_class_auc"
        || CLASS_RATES.iter().chain(&["auc"]).any(|r| {
            WORST_CLASS_SUMMARIES
                .iter()
                .any(|s| name == format!("{r}_{s}"))
        })
}

/// Resolve a multiclass or regression metric name (after the binary names).
fn resolve_task(name: &str) -> Option<Resolved> {
    use super::regression::{DISTRIBUTION_DISPARITIES, DISTRIBUTION_SUMMARIES};
    let group = |m: &str| {
        (is_regression_key(m) || is_multiclass_key(m))
            && !DISTRIBUTION_DISPARITIES.contains(&m)
            && !DISTRIBUTION_SUMMARIES.contains(&m)
            && !m.contains("_worst_class_")
    };
    if DISTRIBUTION_DISPARITIES.contains(&name) {
        return Some(Resolved::DisparitySingle(name.into()));
    }
    if DISTRIBUTION_SUMMARIES.contains(&name)
        || name.contains("_worst_class_") && is_multiclass_key(name)
    {
        return Some(Resolved::Summary(name.into()));
    }
    if let Some((metric, part)) = name.rsplit_once('.') {
        if group(metric) && (part == "ratio" || part == "difference") {
            return Some(Resolved::DisparityPair {
                metric: metric.into(),
                part: part.into(),
            });
        }
    }
    if group(name) {
        return Some(Resolved::Group(name.into()));
    }
    let base = summary_base(name);
    (base != name && group(base)).then(|| Resolved::Summary(name.into()))
}

/// How a metric name in a policy expression resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A per-group metric, checked for every compared group.
    Group(String),
    /// `m.ratio` or `m.difference`, checked for every non-reference group.
    DisparityPair {
        /// The group metric m.
        metric: String,
        /// `ratio` or `difference`.
        part: String,
    },
    /// A single-valued disparity (e.g. `average_odds_difference`), every non-reference group.
    DisparitySingle(String),
    /// An attribute summary, checked once per attribute.
    Summary(String),
    /// A whole-dataset index, checked once.
    Overall(String),
}

/// Resolve a metric name; `Err` carries a message with the closest known names.
pub fn resolve(name: &str) -> Result<Resolved, String> {
    let is_group = |m: &str| group_metric_keys().any(|k| k == m);
    if let Some((metric, part)) = name.split_once('.') {
        if is_group(metric) && (part == "ratio" || part == "difference") {
            return Ok(Resolved::DisparityPair {
                metric: metric.into(),
                part: part.into(),
            });
        }
    } else if is_group(name) {
        return Ok(Resolved::Group(name.into()));
    } else if CATALOG
        .iter()
        .any(|i| i.key == name && i.scope == Scope::Disparity)
    {
        return Ok(Resolved::DisparitySingle(name.into()));
    } else if CATALOG
        .iter()
        .any(|i| i.key == name && i.scope == Scope::Overall)
    {
        return Ok(Resolved::Overall(name.into()));
    } else if CATALOG
        .iter()
        .any(|i| i.key == name && i.scope == Scope::Summary)
        || group_metric_keys().any(|m| {
            AGGREGATES
                .iter()
                .any(|suffix| name == format!("{m}_{suffix}"))
        })
    {
        return Ok(Resolved::Summary(name.into()));
    }
    if let Some(r) = resolve_task(name) {
        return Ok(r);
    }
    Err(format!(
        "unknown metric '{name}' (see `fairaudit metrics`; e.g. demographic_parity_ratio, \
         tpr_difference, selection_rate.ratio, fpr)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_their_scope() {
        assert_eq!(resolve("fpr"), Ok(Resolved::Group("fpr".into())));
        assert_eq!(
            resolve("selection_rate.ratio"),
            Ok(Resolved::DisparityPair {
                metric: "selection_rate".into(),
                part: "ratio".into()
            })
        );
        assert_eq!(
            resolve("average_odds_difference"),
            Ok(Resolved::DisparitySingle("average_odds_difference".into()))
        );
        assert_eq!(
            resolve("demographic_parity_ratio"),
            Ok(Resolved::Summary("demographic_parity_ratio".into()))
        );
        assert_eq!(
            resolve("ece_difference"),
            Ok(Resolved::Summary("ece_difference".into()))
        );
        assert_eq!(
            resolve("theil_index"),
            Ok(Resolved::Overall("theil_index".into()))
        );
        assert!(resolve("selection_rate.bogus").is_err());
        assert!(resolve("nonsense").is_err());
    }

    #[test]
    fn every_rate_metric_is_explained() {
        // Score metrics added later fall back to their definition in reports.
        for key in RATE_METRICS.into_iter().chain(["ece", "auc", "brier"]) {
            assert!(explain(key).is_some(), "{key} has no explanation");
        }
    }

    #[test]
    fn every_concrete_metric_has_a_plain_language_explanation() {
        for i in CATALOG.iter().filter(|i| !i.key.starts_with('<')) {
            assert!(explain(i.key).is_some(), "{} has no explanation", i.key);
        }
    }

    #[test]
    fn describe_covers_every_policy_name_form() {
        let t = describe("tpr").unwrap();
        assert!(t.contains("TP/(TP+FN)") && t.contains("qualified"), "{t}");
        let t = describe("selection_rate.ratio").unwrap();
        assert!(
            t.contains("m_g / m_r") && t.contains("where m = selection_rate"),
            "{t}"
        );
        let t = describe("ece_difference").unwrap();
        assert!(
            t.contains("max_g m_g − min_g m_g") && t.contains("where m = ece"),
            "{t}"
        );
        assert!(describe("theil_index")
            .unwrap()
            .contains("AIF360 theil_index"));
        assert!(describe("bogus").is_err());
    }

    #[test]
    fn task_metrics_resolve_and_are_described() {
        use crate::input::Task;
        let cases = [
            ("mae_difference", Task::Regression),
            ("mean_error.ratio", Task::Regression),
            ("prediction_ks", Task::Regression),
            ("prediction_wasserstein_max", Task::Regression),
            ("share_above_quantile", Task::Regression),
            ("tpr@urgent.difference", Task::Multiclass),
            ("tpr@a.b_ratio", Task::Multiclass),
            ("macro_precision", Task::Multiclass),
            ("tpr_worst_class_difference", Task::Multiclass),
            ("accuracy_difference", Task::Multiclass),
        ];
        for (name, task) in cases {
            let r = resolve(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(available(&r, task), "{name} in {task:?}");
            assert!(
                !available(&r, Task::Binary) || name.starts_with("accuracy"),
                "{name}"
            );
            assert!(describe(name).unwrap().contains("definition"), "{name}");
        }
        assert!(!available(
            &resolve("demographic_parity_ratio").unwrap(),
            Task::Regression
        ));
        assert!(resolve("tpr@").is_err() && resolve("bogus@x").is_err());
    }

    #[test]
    fn every_group_metric_is_in_the_catalog() {
        for key in group_metric_keys() {
            assert!(CATALOG.iter().any(|i| i.key == key), "{key} missing");
        }
    }
}
