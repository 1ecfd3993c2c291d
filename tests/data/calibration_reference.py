"""Reference values for the calibration and ranking metrics (issue 4), from scikit-learn,
statsmodels and numpy on ../shared/data/compas.csv. The Rust test tests/it/calibration.rs reads
the JSON this writes; Python is not needed to run the tests.

Regenerate (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install numpy scikit-learn statsmodels pandas
    .venv/bin/python tests/data/calibration_reference.py > tests/data/calibration_reference.json
"""
import json
import sys

import numpy as np
import pandas as pd
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

df = pd.read_csv("../shared/data/compas.csv")


def ece_quantile(y, s, n_bins):
    """ECE over sklearn's quantile bins, recomputed from the same bin ids sklearn uses."""
    quantiles = np.linspace(0, 1, n_bins + 1)
    bins = np.percentile(s, quantiles * 100)
    binids = np.searchsorted(bins[1:-1], s)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=n_bins, strategy="quantile")
    total = 0.0
    sizes = np.bincount(binids, minlength=len(bins))
    nonzero = sizes != 0
    # calibration_curve returns the non-empty bins in order, like `nonzero`.
    for size, t, p in zip(sizes[nonzero], prob_true, prob_pred):
        total += size / len(s) * abs(t - p)
    return total, [float(b) for b in bins], [int(c) for c in sizes[: n_bins]]


def recalibration(y, s):
    x = np.log(np.clip(s, 1e-15, 1 - 1e-15) / (1 - np.clip(s, 1e-15, 1 - 1e-15)))
    intercept = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=x).fit(tol=1e-12)
    slope = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit(tol=1e-12)
    return float(intercept.params[0]), float(slope.params[1])


cases = []
for score in ["score", "lr_score"]:
    for attribute in ["race", "sex", "age_cat"]:
        for group, g in df.groupby(attribute):
            y, s = g["label"].to_numpy(), g[score].to_numpy()
            rest = df[df[attribute] != group]
            case = {"score": score, "attribute": attribute, "group": group, "count": len(g)}
            if len(np.unique(y)) == 2 and len(g) >= 30:
                case["auc"] = float(roc_auc_score(y, s))
                # BPSN: this group's negatives with the other groups' positives.
                bpsn = pd.concat([g[g.label == 0], rest[rest.label == 1]])
                bnsp = pd.concat([g[g.label == 1], rest[rest.label == 0]])
                case["bpsn_auc"] = float(roc_auc_score(bpsn["label"], bpsn[score]))
                case["bnsp_auc"] = float(roc_auc_score(bnsp["label"], bnsp[score]))
                ece, edges, sizes = ece_quantile(y, s, 10)
                case["ece_quantile_10"] = float(ece)
                case["quantile_edges_10"] = edges
                case["quantile_counts_10"] = sizes
                a, b = recalibration(y, s)
                case["calibration_intercept"] = a
                case["calibration_slope"] = b
            cases.append(case)

json.dump(
    {
        "generated_by": "tests/data/calibration_reference.py",
        "versions": {
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "statsmodels": statsmodels.__version__,
            "pandas": pd.__version__,
        },
        "cases": cases,
    },
    sys.stdout,
    indent=1,
)
sys.stdout.write("\n")
