"""The AUC gain of a model over a baseline on the same people, with a paired CI.

Two AUCs measured on the same rows are correlated: their separate intervals overlap even
when one model is reliably better, so the gain is judged by its own paired interval.
:func:`delong_auc_gain` (used by ``Evidence``) is DeLong, DeLong & Clarke-Pearson (1988),
the standard method for two correlated AUCs (pROC's ``roc.test``), computed from midranks
in O(n log n): milliseconds on 80,000 rows, where a paired bootstrap over tens of thousands
of distinct scores costs seconds per thousand replicates. The tests cross-check it against
a paired bootstrap (``tests/metrics/test_paired_auc.py``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["delong_auc_gain"]


def delong_auc_gain(
    y: np.ndarray, model: np.ndarray, baseline: np.ndarray, *, confidence: float = 0.95
) -> dict[str, float | int | str]:
    """AUC of ``model`` minus AUC of ``baseline`` on the same rows, with DeLong's CI.

    The placement values of each positive (share of negatives it outranks, ties half) and
    each negative give the covariance of the two AUCs (DeLong et al. 1988); the interval is
    normal on the difference. Returns ``value`` (the exact difference), ``lo``, ``hi``,
    ``n`` and ``status`` (``"undefined"``, every number NaN, with fewer than two of a
    class).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(2000) < 0.2
    >>> g = delong_auc_gain(y, y + rng.normal(0, 0.8, 2000), y + rng.normal(0, 2.0, 2000))
    >>> g["status"], g["lo"] > 0, round(g["value"], 3)
    ('ok', True, 0.165)
    """
    from scipy.stats import norm, rankdata

    y = np.asarray(y).astype(bool).ravel()
    scores = np.vstack([np.asarray(model, float).ravel(), np.asarray(baseline, float).ravel()])
    m, n = int(y.sum()), int((~y).sum())
    if m < 2 or n < 2:  # a variance needs two of each class
        nan = math.nan
        return {
            "value": nan,
            "lo": nan,
            "hi": nan,
            "n": int(y.size),
            "status": "undefined",
        }
    pos, neg = scores[:, y], scores[:, ~y]
    all_ranks = rankdata(np.hstack([pos, neg]), axis=1)  # midranks: ties count half
    v10 = (all_ranks[:, :m] - rankdata(pos, axis=1)) / n  # per positive: negatives below
    v01 = 1.0 - (all_ranks[:, m:] - rankdata(neg, axis=1)) / m  # per negative
    auc = v10.mean(axis=1)
    s10, s01 = np.atleast_2d(np.cov(v10)), np.atleast_2d(np.cov(v01))
    contrast = np.array([1.0, -1.0])
    var = contrast @ s10 @ contrast / m + contrast @ s01 @ contrast / n
    value = float(auc[0] - auc[1])
    half = float(norm.ppf(0.5 + confidence / 2) * math.sqrt(max(var, 0.0)))
    return {
        "value": value,
        "lo": value - half,
        "hi": value + half,
        "n": int(y.size),
        "status": "ok",
    }
