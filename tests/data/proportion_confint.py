"""Reference values for fairaudit's interval, test and correction code (issue 5).

Regenerate (from the repository root):

    python3 -m venv .venv && .venv/bin/pip install statsmodels scipy
    .venv/bin/python tests/data/proportion_confint.py

Writes, beside this script:
- proportion_confint.csv: statsmodels proportion_confint (method "wilson" and "beta" =
  Clopper-Pearson) for a grid of (k, n, level), including non-integer k, n (the Kish
  effective sample size of weighted data);
- two_proportion_tests.csv: two-sided p-values of scipy.stats.fisher_exact and of statsmodels
  proportions_ztest (pooled variance, no continuity correction);
- multipletests.csv: statsmodels multipletests adjusted p-values ("holm", "fdr_bh").

The Rust tests (tests/it/reference.rs) read the CSVs; Python is not needed at test time.
"""

import csv
import os

import numpy as np
import scipy
import statsmodels
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

HERE = os.path.dirname(os.path.abspath(__file__))


def confint_cases():
    ns = [1, 2, 5, 10, 17, 40, 100, 1000, 12345, 1000000]
    for n in ns:
        ks = sorted({0, 1, n // 3, n // 2, n - 1, n} - {-1})
        for k in ks:
            if 0 <= k <= n:
                yield float(k), float(n)
    # Non-integer counts: weighted proportions with Kish effective sample sizes.
    yield 12.5, 30.7
    yield 0.3, 4.2
    yield 99.9, 100.4


def write_confint():
    path = os.path.join(HERE, "proportion_confint.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["k", "n", "level", "method", "lo", "hi"])
        for k, n in confint_cases():
            for level in [0.9, 0.95, 0.99]:
                for method, name in [("wilson", "wilson"), ("beta", "clopper_pearson")]:
                    lo, hi = proportion_confint(k, n, alpha=1 - level, method=method)
                    w.writerow([repr(k), repr(n), repr(level), name, repr(float(lo)), repr(float(hi))])


def write_tests():
    path = os.path.join(HERE, "two_proportion_tests.csv")
    cases = [
        (3, 10, 7, 12), (0, 5, 4, 6), (1, 40, 9, 45), (2, 3, 0, 8), (5, 5, 0, 5),
        (12, 20, 30, 100), (400, 1000, 450, 1000), (30, 100, 45, 110),
        (3175 // 2, 3175, 1000, 2103), (7, 1000000, 2, 900000),
    ]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["k1", "n1", "k2", "n2", "test", "p_value"])
        for k1, n1, k2, n2 in cases:
            table = [[k1, n1 - k1], [k2, n2 - k2]]
            p = fisher_exact(table, alternative="two-sided").pvalue
            w.writerow([k1, n1, k2, n2, "fisher", repr(float(p))])
            if 0 < k1 + k2 < n1 + n2:
                _, pz = proportions_ztest([k1, k2], [n1, n2], alternative="two-sided")
                w.writerow([k1, n1, k2, n2, "z", repr(float(pz))])


def write_multipletests():
    path = os.path.join(HERE, "multipletests.csv")
    families = [
        [0.01, 0.04, 0.03, 0.005, 0.2],
        [0.5, 0.5, 0.001, 0.049, 0.049, 0.9, 1.0],
        [0.0, 0.3],
    ]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["family", "index", "p", "method", "p_adjusted"])
        for i, ps in enumerate(families):
            for method, name in [("holm", "holm"), ("fdr_bh", "bh")]:
                adj = multipletests(np.array(ps), method=method)[1]
                for j, (p, a) in enumerate(zip(ps, adj)):
                    w.writerow([i, j, repr(p), name, repr(float(a))])


if __name__ == "__main__":
    print(f"statsmodels {statsmodels.__version__}, scipy {scipy.__version__}")
    write_confint()
    write_tests()
    write_multipletests()
