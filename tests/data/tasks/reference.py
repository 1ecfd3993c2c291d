#!/usr/bin/env python3
"""Reference values of the multiclass and regression metrics (issue 11).

Made with scikit-learn 1.9.1, scipy 1.17.1 and numpy 2.4.6 by
    python3 -m venv /work/venv11 && /work/venv11/bin/pip install scikit-learn scipy
    /work/venv11/bin/python tests/data/tasks/reference.py > tests/data/tasks/reference.json
The inputs are drawn here with fixed seeds and stored beside the values, so the Rust test
(tests/it/tasks.rs) recomputes every value from the same rows and compares to 1e-9.
"""
import json
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import ks_2samp, kstwobign, wasserstein_distance
from sklearn.calibration import calibration_curve
from sklearn.metrics import (accuracy_score, mean_absolute_error, mean_squared_error,
                             precision_score, r2_score, recall_score, roc_auc_score,
                             brier_score_loss, log_loss)

rng = np.random.default_rng(20261123)
# Rounded scores sum to 1 only up to the rounding: scikit-learn warns and uses them as they are.
warnings.simplefilter("ignore", UserWarning)


def regression_case(name, n, weighted, offset=0.0, decimals=3):
    y = np.round(rng.normal(offset, 3.0, n), decimals)
    p = np.round(y + rng.normal(0.5, 2.0, n), decimals)
    w = np.round(rng.uniform(0.1, 3.0, n), 3) if weighted else None
    return {
        "name": name,
        "y": y.tolist(), "p": p.tolist(), "w": None if w is None else w.tolist(),
        "mae": mean_absolute_error(y, p, sample_weight=w),
        "mse": mean_squared_error(y, p, sample_weight=w),
        "rmse": float(np.sqrt(mean_squared_error(y, p, sample_weight=w))),
        "r2": r2_score(y, p, sample_weight=w),
        "mean_error": float(np.average(p - y, weights=w)),
    }


def ks_case(name, a, b):
    r = ks_2samp(a, b, method="auto")
    return {"name": name, "a": a.tolist(), "b": b.tolist(),
            "statistic": float(r.statistic), "p_value": float(r.pvalue),
            "wasserstein": wasserstein_distance(a, b)}


def weighted_wasserstein_case(name, n1, n2):
    a, b = np.round(rng.normal(0, 1, n1), 2), np.round(rng.normal(0.3, 1.2, n2), 2)
    wa, wb = np.round(rng.uniform(0.1, 2, n1), 3), np.round(rng.uniform(0.1, 2, n2), 3)
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "wa": wa.tolist(),
            "wb": wb.tolist(), "wasserstein": wasserstein_distance(a, b, wa, wb)}


def weighted_ks_case(name, n1, n2):
    """Weighted KS statistic (weighted ECDFs) and its asymptotic p-value at Kish's effective
    sizes n_e = (Σw)²/Σw²: scipy's kstwobign.sf(√(n1e·n2e/(n1e+n2e))·D)."""
    a, b = np.round(rng.normal(0, 1, n1), 2), np.round(rng.normal(0.3, 1.2, n2), 2)
    wa, wb = np.round(rng.uniform(0.1, 3, n1), 3), np.round(rng.uniform(0.1, 3, n2), 3)
    grid = np.union1d(a, b)
    fa = np.array([wa[a <= v].sum() for v in grid]) / wa.sum()
    fb = np.array([wb[b <= v].sum() for v in grid]) / wb.sum()
    d = float(np.max(np.abs(fa - fb)))
    n1e, n2e = wa.sum() ** 2 / (wa ** 2).sum(), wb.sum() ** 2 / (wb ** 2).sum()
    p = float(kstwobign.sf(np.sqrt(n1e * n2e / (n1e + n2e)) * d))
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "wa": wa.tolist(),
            "wb": wb.tolist(), "statistic": d, "n1_effective": float(n1e),
            "n2_effective": float(n2e), "p_value": p}


def quantile_case(name, n, q, weighted):
    x = np.round(rng.normal(0, 1, n), 1)  # rounded: ties
    w = np.round(rng.uniform(0.1, 2, n), 3) if weighted else None
    value = np.quantile(x, q, method="inverted_cdf", weights=w)
    return {"name": name, "x": x.tolist(), "w": None if w is None else w.tolist(), "q": q,
            "value": float(value)}


def multiclass_case(name, n, k, weighted):
    classes = [f"c{i}" for i in range(k)]
    y = rng.choice(classes, n)
    p = np.where(rng.uniform(size=n) < 0.6, y, rng.choice(classes, n))
    w = np.round(rng.uniform(0.1, 3.0, n), 3) if weighted else None
    labels = sorted(set(y) | set(p))
    recall = recall_score(y, p, labels=labels, average=None, sample_weight=w, zero_division=np.nan)
    precision = precision_score(y, p, labels=labels, average=None, sample_weight=w,
                                zero_division=np.nan)
    return {"name": name, "y": y.tolist(), "p": p.tolist(),
            "w": None if w is None else w.tolist(), "classes": labels,
            "recall": [None if np.isnan(v) else float(v) for v in recall],
            "precision": [None if np.isnan(v) else float(v) for v in precision],
            "accuracy": accuracy_score(y, p, sample_weight=w)}


def class_score_case(name, n, k, weighted, decimals):
    classes = [f"c{i}" for i in range(k)]
    y = rng.choice(classes, n)
    raw = rng.dirichlet(np.ones(k), n) + 0.5 * (y[:, None] == np.array(classes)[None, :])
    s = np.round(raw / raw.sum(axis=1, keepdims=True), decimals)  # rounded: ties
    w = np.round(rng.uniform(0.1, 3.0, n), 3) if weighted else None
    return {"name": name, "y": y.tolist(), "scores": s.tolist(),
            "w": None if w is None else w.tolist(), "classes": classes,
            "auc": [roc_auc_score(y == c, s[:, i], sample_weight=w)
                    for i, c in enumerate(classes)],
            "brier": brier_score_loss(y, s, labels=classes, sample_weight=w),
            "log_loss": log_loss(y, s, labels=classes, sample_weight=w)}


out = {
    "versions": {"scikit-learn": sklearn.__version__, "scipy": scipy.__version__,
                 "numpy": np.__version__},
    "command": "/work/venv11/bin/python tests/data/tasks/reference.py > tests/data/tasks/reference.json",
    "regression": [
        regression_case("small", 12, False),
        regression_case("unweighted", 500, False, offset=1000.0),
        regression_case("weighted", 400, True),
    ],
    "ks": [
        ks_case("equal sizes", np.round(rng.normal(0, 1, 40), 2), np.round(rng.normal(0.4, 1, 40), 2)),
        ks_case("unequal sizes", np.round(rng.normal(0, 1, 37), 2), np.round(rng.normal(0.2, 1.5, 91), 2)),
        ks_case("ties", rng.integers(0, 5, 60).astype(float), rng.integers(0, 6, 45).astype(float)),
        ks_case("large", np.round(rng.normal(0, 1, 3000), 3), np.round(rng.normal(0.05, 1, 2000), 3)),
        ks_case("identical", np.arange(10.0), np.arange(10.0)),
    ],
    "weighted_wasserstein": [weighted_wasserstein_case("weighted", 50, 70)],
    "quantile": [
        quantile_case("median", 101, 0.5, False),
        quantile_case("q80", 250, 0.8, False),
        quantile_case("weighted q80", 250, 0.8, True),
    ],
    "multiclass": [
        multiclass_case("three classes", 300, 3, False),
        multiclass_case("weighted five", 400, 5, True),
        multiclass_case("sparse", 12, 4, False),
    ],
    "class_scores": [
        class_score_case("three classes", 300, 3, False, 2),
        class_score_case("weighted four", 500, 4, True, 3),
    ],
    # Drawn last, so the cases above keep their rows.
    "weighted_ks": [weighted_ks_case("weighted", 60, 90), weighted_ks_case("large", 800, 500)],
}


def class_calibration(case, bins=10):
    """Per class, ECE and MCE of s_c against [y = c] over `bins` equal-width right-closed bins
    (the bin of s is searchsorted(linspace(0, 1, B+1)[1:-1], s, side="left"), as scikit-learn's
    calibration_curve). Unweighted: calibration_curve's prob_true/prob_pred with the bin counts;
    weighted (calibration_curve takes no weights): weighted bin means by numpy."""
    y, s = np.array(case["y"]), np.array(case["scores"])
    w = np.ones(len(y)) if case["w"] is None else np.array(case["w"])
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece, mce = [], []
    for i, c in enumerate(case["classes"]):
        t, p = (y == c).astype(float), s[:, i]
        b = np.searchsorted(edges[1:-1], p, side="left")
        if case["w"] is None:
            prob_true, prob_pred = calibration_curve(t, p, n_bins=bins, strategy="uniform")
            n = np.bincount(b, minlength=bins)
            n = n[n > 0]
            gaps = np.abs(prob_true - prob_pred)
            ece.append(float(np.sum(n / n.sum() * gaps)))
        else:
            wb = np.bincount(b, weights=w, minlength=bins)
            keep = wb > 0
            gaps = np.abs(np.bincount(b, weights=w * t, minlength=bins)[keep] / wb[keep]
                          - np.bincount(b, weights=w * p, minlength=bins)[keep] / wb[keep])
            ece.append(float(np.sum(wb[keep] / wb.sum() * gaps)))
        mce.append(float(gaps.max()))
    case["ece"], case["mce"] = ece, mce


for case in out["class_scores"]:
    class_calibration(case)
print(json.dumps(out, indent=1))
