"""The AUC gain over the baseline: DeLong's paired interval, cross-checked against
scikit-learn (the point) and a paired bootstrap (the interval), and its coverage proved by
simulation (binormal scores with a known gain).

Measured coverage of the nominal 95% DeLong interval, 2,000 simulated samples of 500 rows
(20% events, correlated scores, true gain 0.064): 94.7%.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from riskmodels.metrics._paired import delong_auc_gain


def _weighted_auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC per row of weight tables ``(replicates, distinct scores)``."""
    below = np.cumsum(neg, axis=1) - neg  # negatives strictly below each score
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def paired_auc_gain(  # the independent cross-check: a paired (Poisson) bootstrap
    y: np.ndarray,
    model: np.ndarray,
    baseline: np.ndarray,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | None = None,
    block: int = 50,
) -> dict[str, float | int | str]:
    """AUC of ``model`` minus AUC of ``baseline`` on the same rows, with a paired CI.

    Parameters
    ----------
    y : array of 0/1
    model, baseline : arrays of scores for the same rows
    n_boot : int, default 1000
        Paired bootstrap replicates (0: no CI).
    confidence : float, default 0.95
    random_state : int, optional
    block : int, default 50
        Replicates drawn at a time (memory: ``block x cells``).

    Returns
    -------
    dict
        ``value`` (the exact difference), ``lo``, ``hi`` (percentile interval of the paired
        replicates), ``n`` (rows) and ``status`` (``"ok"``, or ``"undefined"``
        when a class is missing: every number is then NaN).
    """
    from scipy import sparse

    y = np.asarray(y).astype(bool).ravel()
    a = np.asarray(model, dtype=float).ravel()
    b = np.asarray(baseline, dtype=float).ravel()
    n = y.size
    nan = {"value": math.nan, "lo": math.nan, "hi": math.nan, "n": int(n)}
    if n == 0 or y.all() or not y.any():
        return {**nan, "status": "undefined"}
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    cell = (ia.astype(np.int64) * ub.size + ib) * 2 + y
    cells, counts = np.unique(cell, return_counts=True)
    label = (cells % 2).astype(bool)
    pair = cells // 2
    which = {"model": (pair // ub.size, ua.size), "baseline": (pair % ub.size, ub.size)}
    k = cells.size
    rows = np.arange(k)
    # cell -> distinct score of each model, split by label: D @ M sums the weights
    maps = {
        name: (
            sparse.csr_matrix((label.astype(float), (rows, idx)), shape=(k, size)),
            sparse.csr_matrix(((~label).astype(float), (rows, idx)), shape=(k, size)),
        )
        for name, (idx, size) in which.items()
    }

    def gains(draws: np.ndarray) -> np.ndarray:
        auc = {
            name: _weighted_auc((pos.T @ draws.T).T, (neg.T @ draws.T).T)
            for name, (pos, neg) in maps.items()
        }
        return auc["model"] - auc["baseline"]

    value = float(gains(counts[None, :].astype(float))[0])
    if n_boot <= 0:
        return {**nan, "value": value, "status": "ok"}
    rng = np.random.default_rng(random_state)
    # Poisson bootstrap: each cell's count is redrawn as Poisson(count), the cells
    # independently (a multinomial draw over tens of thousands of cells is ~20x slower and
    # differs only in fixing the total; the AUC is a ratio, indifferent to it)
    reps = np.concatenate(
        [
            gains(rng.poisson(counts, size=(min(block, n_boot - start), k)).astype(float))
            for start in range(0, n_boot, block)
        ]
    )
    reps = reps[np.isfinite(reps)]
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha]) if reps.size else (math.nan, math.nan)
    return {"value": value, "lo": float(lo), "hi": float(hi), "n": int(n), "status": "ok"}


def _binormal(n, rng, d_model=1.2, d_base=0.9, rho=0.6, prevalence=0.2):
    y = rng.random(n) < prevalence
    z = rng.normal(size=(2, n))
    noise_b = rho * z[0] + np.sqrt(1 - rho**2) * z[1]
    return y, d_model * y + z[0], d_base * y + noise_b


def _true_gain(d_model=1.2, d_base=0.9):
    return norm.cdf(d_model / np.sqrt(2)) - norm.cdf(d_base / np.sqrt(2))


def test_the_point_is_the_exact_auc_difference_ties_included():
    rng = np.random.default_rng(0)
    y, a, b = _binormal(3000, rng)
    a, b = np.round(a, 1), np.round(b, 0)  # many ties
    expected = roc_auc_score(y, a) - roc_auc_score(y, b)
    assert delong_auc_gain(y, a, b)["value"] == pytest.approx(expected, abs=1e-12)
    assert paired_auc_gain(y, a, b, n_boot=0)["value"] == pytest.approx(expected, abs=1e-12)


def test_delong_agrees_with_a_paired_bootstrap():
    rng = np.random.default_rng(1)
    y, a, b = _binormal(4000, rng)
    d = delong_auc_gain(y, a, b)
    boot = paired_auc_gain(y, a, b, n_boot=2000, random_state=0)
    assert d["lo"] == pytest.approx(boot["lo"], abs=0.006)
    assert d["hi"] == pytest.approx(boot["hi"], abs=0.006)


def test_a_missing_class_is_undefined_never_zero():
    y = np.zeros(50, bool)
    g = delong_auc_gain(y, np.arange(50.0), np.arange(50.0))
    assert g["status"] == "undefined" and np.isnan(g["value"])


@pytest.mark.slow
def test_the_delong_interval_keeps_its_coverage():
    rng = np.random.default_rng(2)
    truth, hits = _true_gain(), 0
    reps = 2000
    for _ in range(reps):
        y, a, b = _binormal(500, rng)
        g = delong_auc_gain(y, a, b)
        hits += g["lo"] <= truth <= g["hi"]
    assert hits / reps >= 0.93, hits / reps
