"""The package's one interval rule, shared by the performance report and the fairness audit.

* **Proportions** (base rate, selection rate, TPR, FPR, FNR, TNR, PPV, NPV, accuracy, the
  observed rate of a calibration bin): the exact Clopper-Pearson interval, computed from
  the counts by :func:`proportion_interval`. It is never zero-width when the denominator is
  positive, and its coverage is at least the nominal level for every n and every true
  rate.
* **Everything else** (AUC, average precision, Brier, ECE, O/E, calibration slope and
  intercept, differences and ratios between groups): the percentile interval of the
  count-table bootstrap, :func:`percentile_interval`, with one rule for replicates in which
  the measure is undefined.
* **Observed / expected events** (O/E, calibration-in-the-large) of a group with
  probability scores: the exact Poisson (Garwood) interval of the observed count divided by
  the expected count, :func:`oe_interval` (conservative, since a sum of Bernoulli
  variables varies less than a Poisson one with the same mean).
* **AUC at perfect separation** (every event scored above every non-event, or below): every
  bootstrap replicate is 1 (or 0), so the percentile interval would be [1, 1];
  :func:`separation_bounds` gives the exact bound from ``min(events, non-events)`` disjoint
  pairs instead.
* **Differences and ratios of two groups' rates** where every bootstrap replicate is equal
  (both groups at 0, or both at 1: the percentile interval would claim certainty):
  :func:`rate_contrast_bounds`, the range allowed by both groups' exact intervals.

Why Clopper-Pearson and not Wilson
----------------------------------
The Wilson score interval is shorter, but its coverage dips far below nominal for rare
outcomes: its exact coverage at nominal 95%, over n from 10 to 10,000 and true rates from
0.5% to 50%, falls to 83.9% (n = 35, rate 0.5%) because it excludes small rates after one
or two events. Rates of rare incidents in small groups are exactly where this package is
used, and a gate must not read a chance dip as evidence. Clopper-Pearson inverts the two
one-sided binomial tests, so its coverage is at least 95% everywhere (measured minimum over
the same grid: 95.0%, see ``tests/metrics/test_intervals.py``); the price is a somewhat
wider interval. For 7 events out of 7 it gives [0.590, 1]; for 0 out of 88, [0, 0.041].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaincinv

from riskmodels.metrics._counts import safe_ratio

__all__ = [
    "PROPORTION_METHOD",
    "oe_interval",
    "percentile_interval",
    "proportion_interval",
    "rate_contrast_bounds",
    "separation_bounds",
]

#: How rate intervals are computed, in words (for reports and model cards).
PROPORTION_METHOD = "exact (Clopper-Pearson) binomial interval from the counts"


def proportion_interval(
    successes: ArrayLike, trials: ArrayLike, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval of a proportion, vectorised over any shape.

    ``lo`` is the ``(1 - confidence) / 2`` quantile of Beta(k, n - k + 1) (0 when k = 0)
    and ``hi`` the ``(1 + confidence) / 2`` quantile of Beta(k + 1, n - k) (1 when k = n):
    the rates that two one-sided binomial tests at level ``(1 - confidence) / 2`` do not
    reject. See the module docstring for why this rule and not Wilson's.

    Parameters
    ----------
    successes, trials : array-like of non-negative integers (broadcastable)
        Numerator and denominator of each rate (e.g. false positives and non-events).
    confidence : float in (0, 1)

    Returns
    -------
    lo, hi : ndarray of float
        NaN where ``trials == 0`` (an undefined rate has no interval). Otherwise
        ``lo <= k / n <= hi`` and ``lo < hi``: no interval is zero-width, since no rate
        estimated from a finite sample is certain.

    Examples
    --------
    >>> lo, hi = proportion_interval([0, 7, 0], [88, 7, 0], 0.95)
    >>> [round(float(x), 3) for x in lo], [round(float(x), 3) for x in hi]
    ([0.0, 0.59, nan], [0.041, 1.0, nan])
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    k, n = np.broadcast_arrays(k, n)
    alpha = (1.0 - float(confidence)) / 2.0
    defined = n > 0
    # the Beta parameters are invalid (0) at k = 0 or k = n, where the bound is 0 or 1:
    # substitute 1 there so scipy computes something harmless, then overwrite it
    lo = betaincinv(np.where(k > 0, k, 1.0), np.where(defined, n - k + 1.0, 1.0), alpha)
    hi = betaincinv(np.where(defined, k + 1.0, 1.0), np.where(k < n, n - k, 1.0), 1.0 - alpha)
    lo = np.where(k > 0, lo, 0.0)
    hi = np.where(k < n, hi, 1.0)
    return np.where(defined, lo, np.nan), np.where(defined, hi, np.nan)


def percentile_interval(replicates: ArrayLike, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along axis 0, with the package's one rule for
    undefined replicates.

    A replicate in which the measure is undefined (NaN: no events drawn, a zero
    denominator) is left out, but when more than ``1 - confidence`` of the replicates are
    undefined the tails cannot be trusted and the interval is NaN: a resampled world in
    which the measure often does not exist says the sample cannot pin it down. Quantiles
    interpolate linearly, as :func:`numpy.quantile`.

    Parameters
    ----------
    replicates : array-like of shape (n_boot, ...)
        One row per bootstrap replicate; every other axis (groups, metrics) is independent.
    confidence : float in (0, 1)

    Returns
    -------
    lo, hi : ndarray of shape ``replicates.shape[1:]``
        NaN with no replicates or too many undefined ones.

    Examples
    --------
    >>> reps = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, np.nan], [4.0, np.nan]])
    >>> lo, hi = percentile_interval(reps, 0.8)  # column 1: half undefined, more than 20%
    >>> lo.round(6).tolist(), hi.round(6).tolist()
    ([1.3, nan], [3.7, nan])
    """
    reps = np.sort(np.asarray(replicates, dtype=float), axis=0)  # NaN sort last
    n_boot = reps.shape[0]
    valid = np.sum(~np.isnan(reps), axis=0)
    trusted = (valid > 0) & (valid >= confidence * n_boot)
    last = np.maximum(valid - 1, 0)
    alpha = (1.0 - confidence) / 2.0
    out = []
    for q in (alpha, 1.0 - alpha):  # two quantiles, each vectorised over every other axis
        pos = q * last
        below = np.floor(pos).astype(np.int64)
        above = np.minimum(below + 1, last)
        frac = pos - below
        if n_boot == 0:
            out.append(np.full(reps.shape[1:], np.nan))
            continue
        lo_val = np.take_along_axis(reps, below[None, ...], axis=0)[0]
        hi_val = np.take_along_axis(reps, above[None, ...], axis=0)[0]
        # a ratio replicate can be inf (IEEE overflow); inf - inf must not turn into NaN
        with np.errstate(invalid="ignore"):
            value = np.where(lo_val == hi_val, lo_val, lo_val + frac * (hi_val - lo_val))
        out.append(np.where(trusted, value, np.nan))
    return out[0], out[1]


def rate_contrast_bounds(
    k: ArrayLike,
    n: ArrayLike,
    k_ref: ArrayLike,
    n_ref: ArrayLike,
    confidence: float,
) -> dict[str, np.ndarray]:
    """Bounds on the difference and ratio of two independent rates from their counts.

    Each rate gets its exact interval at level ``sqrt(confidence)``; when both cover, the
    difference lies in ``[lo - hi_ref, hi - lo_ref]`` and the ratio in
    ``[lo / hi_ref, hi / lo_ref]``, so these bounds cover with probability at least
    ``confidence`` (the groups are disjoint, hence independent). They are conservative;
    the audit uses them only where the bootstrap of a disparity collapses to one value
    (both groups at 0 or both at 1), which would otherwise read as certainty.

    Returns
    -------
    dict
        ``difference_lo``, ``difference_hi``, ``ratio_lo``, ``ratio_hi``: arrays; NaN where
        a denominator is 0; a ratio bound is NaN where it would be 0 / 0 and ``inf`` where
        the reference rate could be 0.

    Examples
    --------
    >>> b = rate_contrast_bounds(0, 88, 0, 500, 0.95)  # no false positives in either group
    >>> round(float(b["difference_lo"]), 4), round(float(b["difference_hi"]), 4)
    (-0.0087, 0.0484)
    """
    level = float(np.sqrt(confidence))
    lo, hi = proportion_interval(k, n, level)
    lo_ref, hi_ref = proportion_interval(k_ref, n_ref, level)
    return {
        "difference_lo": lo - hi_ref,
        "difference_hi": hi - lo_ref,
        "ratio_lo": safe_ratio(lo, hi_ref),
        "ratio_hi": np.where((lo_ref == 0) & (hi > 0), np.inf, safe_ratio(hi, lo_ref)),
    }


def separation_bounds(
    value: ArrayLike,
    lo: ArrayLike,
    hi: ArrayLike,
    n_pos: ArrayLike,
    n_neg: ArrayLike,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray]:
    """An AUC interval that does not claim certainty at perfect separation.

    Where the AUC is exactly 1, every bootstrap replicate is 1 too, and the percentile
    interval reads [1, 1]. But ``m = min(n_pos, n_neg)`` disjoint (event, non-event) pairs
    are independent draws, each concordant with probability AUC, and all ``m`` were
    concordant; an AUC below ``((1 - confidence) / 2) ** (1 / m)`` (the Clopper-Pearson
    lower bound of ``m`` successes in ``m``) makes that less likely than
    ``(1 - confidence) / 2``. That bound replaces the collapsed lower end (and ``1 -`` it
    the collapsed upper end at AUC 0); elsewhere ``lo`` and ``hi`` are returned unchanged.
    It is conservative: it uses ``m`` of the ``n_pos * n_neg`` pairs.

    Examples
    --------
    >>> lo, hi = separation_bounds([1.0, 0.8], [1.0, 0.7], [1.0, 0.9], [7, 50], [30, 50], 0.95)
    >>> [round(float(x), 3) for x in lo], [round(float(x), 3) for x in hi]
    ([0.59, 0.7], [1.0, 0.9])
    """
    value, lo, hi = (np.asarray(x, dtype=float) for x in (value, lo, hi))
    m = np.minimum(np.asarray(n_pos, dtype=float), np.asarray(n_neg, dtype=float))
    with np.errstate(divide="ignore"):
        bound = ((1.0 - float(confidence)) / 2.0) ** (1.0 / np.where(m > 0, m, np.inf))
    # only where the bootstrap collapsed: a NaN interval (too many undefined replicates)
    # stays NaN, by the percentile rule
    return (
        np.where((value == 1.0) & (lo == 1.0) & (m > 0), bound, lo),
        np.where((value == 0.0) & (hi == 0.0) & (m > 0), 1.0 - bound, hi),
    )


def oe_interval(
    observed: np.ndarray, expected: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson (Garwood) confidence interval of observed/expected events.

    Parameters
    ----------
    observed : array of int
        Events observed in each group.
    expected : array of float
        Events expected in each group: the sum of its calibrated scores.
    confidence : float, default 0.95

    Returns
    -------
    (lo, hi) : arrays
        Bounds of O/E; NaN where ``expected`` is not positive.

    Examples
    --------
    >>> lo, hi = oe_interval(np.array([0, 20, 70]), np.array([5.0, 20.0, 100.0]))
    >>> np.round(lo, 3).tolist(), np.round(hi, 3).tolist()
    ([0.0, 0.611, 0.546], [0.738, 1.544, 0.884])
    """
    from scipy.stats import chi2

    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(o > 0, chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        hi = chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
        bad = ~(e > 0)
        return np.where(bad, np.nan, lo / e), np.where(bad, np.nan, hi / e)
