"""The group calibration gate, proved by simulation (policy/_calibration.py).

Groups whose outcomes are drawn from their own scores (calibrated by construction), scores
from a Beta(1.5, 8.5) distribution (mean risk 15%), 2,000 groups per size. Measured on
this machine's run of the test below (the numbers it asserts are looser):

============  ==============================  ======================================
group size    fail rate, calibrated groups    fail rate, planted O/E 0.7
============  ==============================  ======================================
100           1.5%                            -
300           2.4%                            -
1,000         0.1%                            95%
3,000         0.0%                            -
10,000        0.0%                            -
============  ==============================  ======================================

Nominal: the exact Poisson interval excludes 1 for a calibrated group at most 5% of the
time; requiring the ratio to be outside the 0.8-1.25 band as well only lowers that. The
plain ECE of a calibrated group of 100 averages about 0.1; the debiased ECE about 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskmodels.policy._calibration import debiased_ece, oe_gate_status, oe_interval

BAND = (0.8, 1.25)


def _groups(n: int, reps: int, rng: np.random.Generator, oe: float = 1.0, chunk: int = 200):
    """Observed and expected events of ``reps`` simulated groups of ``n`` people."""
    observed, expected = [], []
    for start in range(0, reps, chunk):
        k = min(chunk, reps - start)
        p = rng.beta(1.5, 8.5, size=(k, n))
        y = rng.random((k, n)) < oe * p
        observed.append(y.sum(axis=1))
        expected.append(p.sum(axis=1))
    return np.concatenate(observed), np.concatenate(expected)


@pytest.mark.slow
@pytest.mark.parametrize("n", [100, 300, 1000, 3000, 10_000])
def test_calibrated_groups_fail_at_most_the_nominal_rate(n):
    rng = np.random.default_rng(n)
    o, e = _groups(n, 2000, rng)
    fail = (oe_gate_status(o, e, BAND) == "fail").mean()
    assert fail <= 0.05, f"n={n}: {fail:.3f}"
    # the interval itself: excludes 1 at most at its nominal (two-sided 5%) rate
    lo, hi = oe_interval(o, e)
    assert ((hi < 1) | (lo > 1)).mean() <= 0.05


@pytest.mark.slow
def test_a_planted_miscalibration_is_caught():
    rng = np.random.default_rng(7)
    o, e = _groups(1000, 2000, rng, oe=0.7)
    fail = (oe_gate_status(o, e, BAND) == "fail").mean()
    assert fail >= 0.90, fail


def test_the_interval_is_exact_poisson():
    from scipy.stats import poisson

    # Garwood: the upper bound u for O = k solves P(X <= k | u) = 2.5%, the lower P(X >= k) = 2.5%
    k, e = 30, 40.0
    lo, hi = oe_interval(np.array([k]), np.array([e]))
    assert poisson.cdf(k, hi[0] * e) == pytest.approx(0.025, abs=1e-9)
    assert poisson.sf(k - 1, lo[0] * e) == pytest.approx(0.025, abs=1e-9)


def test_debiased_ece_is_near_zero_for_calibrated_groups_where_plain_ece_is_not():
    rng = np.random.default_rng(3)
    n, reps, bins = 100, 500, np.linspace(0, 1, 11)
    p = rng.beta(1.5, 8.5, size=(reps, n))
    y = rng.random((reps, n)) < p
    idx = np.clip(np.digitize(p, bins) - 1, 0, 9)
    one = np.eye(10)[idx]  # (reps, n, 10)
    cnt = one.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (one * y[..., None]).sum(axis=1) / cnt
        mean = (one * p[..., None]).sum(axis=1) / cnt
    plain = np.nansum(np.abs(rate - mean) * cnt, axis=1) / n
    debiased = debiased_ece(cnt, rate, mean)
    assert plain.mean() > 0.04
    assert debiased.mean() < plain.mean() / 3
