"""Reference values for fairaudit's mitigation (issue 10).

Post-processing: Fairlearn's ThresholdOptimizer (prefit on the score column, objective
accuracy_score) on the COMPAS and Adult tables of ../shared/data, for demographic parity and
equal opportunity (true_positive_rate_parity) at tol None (exact), 0.01 and 0.05, and
equalized odds (exact; Fairlearn does not relax it). For each fit: the *expected* accuracy of
the randomised predictor (from `_pmf_predict`, i.e. averaged over its random draws) and the
expected spread (max - min over groups) of the constrained rate(s).

Pre-processing: AIF360's Reweighing on binary attributes (sex), cell weights per
(group, label); and for a multi-valued attribute (race), the published Kamiran-Calders
formula W(g, y) = P(g) P(y) / P(g, y) in numpy (AIF360's Reweighing takes one privileged
and one unprivileged group, so it cannot produce per-value cells).

Command (from the repository root, with fairlearn 0.15.0, aif360 0.6.1, pandas, numpy):
    /work/venv10/bin/python tests/data/mitigation/reference.py ../shared/data \
        > tests/data/mitigation/reference.json
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd

import fairlearn
import aif360
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator

warnings.filterwarnings("ignore")

DATA = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"


class Identity(BaseEstimator):
    """A prefit 'estimator' whose prediction is the score column itself."""

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X)[:, 0]


def spread(values):
    values = [v for v in values if v is not None and not np.isnan(v)]
    return float(max(values) - min(values))


def threshold_case(df, attribute, constraints, tol):
    X = df[["score"]].to_numpy()
    y = df["label"].to_numpy()
    a = df[attribute].astype(str).to_numpy()
    to = ThresholdOptimizer(
        estimator=Identity().fit(None, None),
        constraints=constraints,
        objective="accuracy_score",
        prefit=True,
        predict_method="predict",
        tol=tol,
    )
    to.fit(X, y, sensitive_features=a)
    p1 = to._pmf_predict(X, sensitive_features=a)[:, 1]
    accuracy = float(np.mean(np.where(y == 1, p1, 1 - p1)))
    sel, tpr, fpr = [], [], []
    for g in sorted(set(a)):
        m = a == g
        sel.append(float(p1[m].mean()))
        pos, neg = m & (y == 1), m & (y == 0)
        tpr.append(float(p1[pos].mean()) if pos.any() else None)
        fpr.append(float(p1[neg].mean()) if neg.any() else None)
    return {
        "attribute": attribute,
        "constraints": constraints,
        "tol": tol,
        "accuracy": accuracy,
        "demographic_parity_difference": spread(sel),
        "equal_opportunity_difference": spread(tpr),
        "equalized_odds_difference": max(spread(tpr), spread(fpr)),
    }


def reweigh_aif360(df, attribute, privileged):
    from aif360.datasets import BinaryLabelDataset
    from aif360.algorithms.preprocessing import Reweighing

    frame = pd.DataFrame(
        {
            "a": (df[attribute].astype(str) == privileged).astype(float),
            "label": df["label"].astype(float),
        }
    )
    ds = BinaryLabelDataset(
        df=frame, label_names=["label"], protected_attribute_names=["a"],
        favorable_label=1.0, unfavorable_label=0.0,
    )
    rw = Reweighing(unprivileged_groups=[{"a": 0.0}], privileged_groups=[{"a": 1.0}])
    out = rw.fit_transform(ds)
    cells = []
    values = df[attribute].astype(str).to_numpy()
    for g in sorted(set(values)):
        for lab in (0, 1):
            m = (values == g) & (df["label"].to_numpy() == lab)
            if m.any():
                w = out.instance_weights[m]
                assert np.allclose(w, w[0])
                cells.append({"group": g, "label": lab, "rows": int(m.sum()), "weight": float(w[0])})
    return {"attribute": attribute, "method": "aif360.Reweighing", "cells": cells,
            "row_weights_first_10": [float(w) for w in out.instance_weights[:10]]}


def reweigh_formula(df, attribute):
    g = df[attribute].astype(str).to_numpy()
    y = df["label"].to_numpy()
    n = len(y)
    cells = []
    for v in sorted(set(g)):
        for lab in (0, 1):
            m = (g == v) & (y == lab)
            if m.any():
                w = (np.sum(g == v) / n) * (np.sum(y == lab) / n) / (m.sum() / n)
                cells.append({"group": v, "label": lab, "rows": int(m.sum()), "weight": float(w)})
    return {"attribute": attribute, "method": "numpy W(g,y)=P(g)P(y)/P(g,y)", "cells": cells}


def main():
    out = {
        "fairlearn": fairlearn.__version__,
        "aif360": aif360.__version__,
        "numpy": np.__version__,
        "command": "/work/venv10/bin/python tests/data/mitigation/reference.py ../shared/data",
        "threshold_optimizer": {},
        "reweighing": {},
    }
    for name, attrs in [("compas", ["race", "sex"]), ("adult", ["sex", "race"])]:
        df = pd.read_csv(f"{DATA}/{name}.csv")
        cases = []
        for attribute in attrs:
            for constraints in ["demographic_parity", "true_positive_rate_parity"]:
                for tol in [None, 0.01, 0.05]:
                    cases.append(threshold_case(df, attribute, constraints, tol))
            cases.append(threshold_case(df, attribute, "equalized_odds", None))
        out["threshold_optimizer"][name] = cases
    compas = pd.read_csv(f"{DATA}/compas.csv")
    adult = pd.read_csv(f"{DATA}/adult.csv")
    out["reweighing"]["compas"] = [
        reweigh_aif360(compas, "sex", "Female"),
        reweigh_formula(compas, "race"),
    ]
    out["reweighing"]["adult"] = [reweigh_aif360(adult, "sex", "Male")]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
