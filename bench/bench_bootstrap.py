"""Bootstrap confidence intervals: multinomial over a count table vs a naive row loop.

Data: 200,000 rows, continuous calibrated probabilities, ~10% prevalence. The anchor is what
people write by hand: resample the rows 1000 times and call scikit-learn's
``roc_auc_score`` on each replicate.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from _runner import Result, best_of
from riskmodels.metrics import performance_report, roc_auc_ci

N_ROWS = 200_000
N_BOOT = 1000
#: The anchor is timed on this many replicates and scaled up to N_BOOT (it is linear in
#: the number of replicates and takes about a minute in full).
ANCHOR_REPLICATES = 100


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    p = expit(-2.6 + rng.normal(size=N_ROWS))  # mean about 0.1
    y = rng.binomial(1, p)
    return y, p


def _naive_loop_seconds(y: np.ndarray, p: np.ndarray) -> float:
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for _ in range(ANCHOR_REPLICATES):
        rows = rng.integers(0, y.size, y.size)
        roc_auc_score(y[rows], p[rows])
    return (time.perf_counter() - t0) * N_BOOT / ANCHOR_REPLICATES


def bench_bootstrap_auc() -> list[Result]:
    y, p = _data()
    anchor = _naive_loop_seconds(y, p)
    ours = best_of(lambda: roc_auc_ci(y, p, n_boot=N_BOOT, random_state=0))
    report = best_of(lambda: performance_report(y, p, threshold=0.2, n_boot=N_BOOT, random_state=0))
    anchor_name = f"naive loop: sklearn roc_auc_score on {N_BOOT} resampled row sets"
    scaled = f"anchor timed on {ANCHOR_REPLICATES} replicates x {N_BOOT // ANCHOR_REPLICATES}"
    return [
        Result(
            name=f"AUC 95% CI, {N_BOOT} replicates, {N_ROWS:,} rows",
            ours=ours,
            anchor=anchor,
            anchor_name=anchor_name,
            unit="s",
            target=20,
            notes=f"{scaled}; ours: roc_auc_ci (2048 score bins x label, multinomial)",
        ),
        Result(
            name=f"full performance_report (17 metrics + CIs), {N_BOOT} replicates, "
            f"{N_ROWS:,} rows",
            ours=report,
            anchor=anchor,
            anchor_name=anchor_name + " (AUC only)",
            unit="s",
            target=None,
            notes=f"informative: all metrics vs the AUC-only anchor; {scaled}",
        ),
    ]


BENCHMARKS = [bench_bootstrap_auc]
