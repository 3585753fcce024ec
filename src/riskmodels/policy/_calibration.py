"""Calibration within groups, judged by statistics with a known null distribution.

Two facts decide how a group's calibration may be judged (DESIGN "Known traps"):

* ECE is biased upwards in small groups: for a perfectly calibrated group of 100 people
  its mean is about 0.1, so a bound on ECE fails calibrated groups by chance alone. ECE is
  therefore only *described* here, debiased (:func:`debiased_ece`), and can at most warn.
* The observed number of events ``O`` in a group whose scores are calibrated is a sum of
  independent Bernoulli variables with mean ``E`` (the sum of the scores). Its variance,
  ``sum p(1 - p)``, is below the Poisson variance ``E``, so the exact Poisson (Garwood)
  interval for the mean of ``O``, divided by ``E``, is a conservative interval for the
  observed/expected ratio: under calibration it excludes 1 at most at its nominal rate,
  whatever the group size (:func:`oe_interval`).

The group calibration gate (:func:`oe_gate_status`) fails a group only when both hold:
the interval excludes 1 (the evidence excludes calibration at the audit's confidence
level) *and* the point estimate lies outside the policy's band (the miscalibration is
large enough to matter). Measured by simulation (tests/policy/test_calibration_gate.py):
on calibrated groups of 100 to 10,000 people (mean risk 15%) the fail rate is at most 2.4%
(nominal 5%; 0.1% or less from 1,000 people, where the band decides); a planted O/E of 0.7
in a group of 1,000 fails 95% of the time.
"""

from __future__ import annotations

import numpy as np

from riskmodels.metrics._intervals import oe_interval

__all__ = ["debiased_ece", "oe_gate_status", "oe_interval", "oe_judgeable"]


def oe_judgeable(
    n: np.ndarray, observed: np.ndarray, expected: np.ndarray, min_size: int, min_events: int
) -> np.ndarray:
    """Per group: whether its observed/expected events can be judged.

    A group needs ``min_size`` people and ``max(observed, expected) >= min_events``. The
    larger of the two, not the observed count alone: a group where 40 incidents were
    expected and 6 happened is the over-prediction this check is there to catch, and a
    rule counting observed events would call it too small. Approval
    (``fairness.group_oe_ratio``) and monitoring (``observed_expected``) both use it.

    Examples
    --------
    >>> oe_judgeable(np.array([500, 500, 50]), np.array([6, 6, 30]),
    ...              np.array([39.7, 8.0, 30.0]), 100, 20).tolist()
    [True, False, False]
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    return np.asarray(
        (np.asarray(n) >= min_size) & (np.fmax(o, e) >= min_events) & np.isfinite(e),
        dtype=bool,
    )


def oe_gate_status(
    observed: np.ndarray,
    expected: np.ndarray,
    band: tuple[float, float],
    confidence: float = 0.95,
) -> np.ndarray:
    """Per group: ``"fail"``, ``"warn"`` or ``"pass"`` for observed/expected events.

    ``fail``: the exact interval excludes 1 and the point estimate is outside ``band``;
    ``warn``: the point estimate is outside ``band`` but the interval does not exclude 1
    (the evidence can neither confirm nor rule out a miscalibration that large);
    ``pass``: otherwise.

    Examples
    --------
    >>> oe_gate_status(np.array([70, 18, 100]), np.array([100.0, 25.0, 100.0]), (0.8, 1.25))
    array(['fail', 'warn', 'pass'], dtype='<U4')
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = o / e
    lo, hi = oe_interval(o, e, confidence)
    outside = (ratio < band[0]) | (ratio > band[1])
    excludes_one = (hi < 1.0) | (lo > 1.0)
    return np.where(outside & excludes_one, "fail", np.where(outside, "warn", "pass"))


def debiased_ece(n: np.ndarray, observed_rate: np.ndarray, mean_score: np.ndarray) -> np.ndarray:
    """Expected calibration error with its small-sample bias removed, per group.

    Each bin's ``|observed rate - mean score|`` is reduced by its expected size under
    perfect calibration, ``sqrt(2 / pi) * sqrt(s (1 - s) / n)`` (the mean absolute value
    of a normal deviation; ``s`` the bin's mean score), floored at 0, and weighted by the
    bin's share of the group. For a calibrated group the result is close to 0 at any
    size, where the plain ECE is about 0.1 at n = 100.

    Parameters
    ----------
    n, observed_rate, mean_score : arrays of shape (groups, bins)
        Per bin: rows, observed event rate, mean score. Empty bins (n = 0) count nothing.

    Examples
    --------
    >>> n = np.array([[50, 50]]); s = np.array([[0.1, 0.3]])
    >>> debiased_ece(n, s, s).round(3).tolist()   # exactly calibrated
    [0.0]
    >>> float(debiased_ece(n, s + 0.2, s)[0].round(3))   # 20 points off in both bins
    0.157
    """
    n = np.asarray(n, dtype=float)
    obs = np.nan_to_num(np.asarray(observed_rate, dtype=float))
    s = np.nan_to_num(np.asarray(mean_score, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = np.sqrt(2 / np.pi) * np.sqrt(s * (1 - s) / n)
        dev = np.where(n > 0, np.maximum(np.abs(obs - s) - noise, 0.0), 0.0)
        total = n.sum(axis=-1)
        return np.where(total > 0, (dev * n).sum(axis=-1) / total, np.nan)
