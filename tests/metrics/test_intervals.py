"""The one interval rule: exact rate intervals (Clopper-Pearson), checked against scipy's
independent root-finding implementation, by simulation and by exact enumeration; the
percentile rule for everything else; the one quantile-bin rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats import binom, binomtest

from riskmodels.fairness import audit
from riskmodels.metrics import performance_report, roc_auc_ci
from riskmodels.metrics._counts import (
    quantile_bin_of_cells,
    quantile_bins,
    quantile_first_rows,
)
from riskmodels.metrics._intervals import (
    percentile_interval,
    proportion_interval,
    rate_contrast_bounds,
)

#: the grid of the coverage requirement: n from 10 to 10,000, true rates 0.5% to 50%
GRID_N = np.array([10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000])
GRID_P = np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5])


# ------------------------------------------------------------------- exact rate intervals
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_clopper_pearson_matches_scipy_binomtest(confidence):
    """scipy finds each bound by root-finding on the binomial tails; ours inverts the
    incomplete beta function: two independent routes to the same numbers."""
    rng = np.random.default_rng(0)
    n = np.r_[1, 2, 7, 88, rng.integers(1, 20_000, 40)]
    k = np.r_[0, 2, 7, 0, rng.integers(0, n[4:] + 1)]
    lo, hi = proportion_interval(k, n, confidence)
    for i in range(n.size):
        ci = binomtest(int(k[i]), int(n[i])).proportion_ci(confidence, method="exact")
        assert lo[i] == pytest.approx(ci.low, abs=1e-9), (k[i], n[i])
        assert hi[i] == pytest.approx(ci.high, abs=1e-9), (k[i], n[i])


def test_the_issue_examples():
    """A group of 88 with no false positives and a calibration bin of 7 all-positive
    cases: intervals that say how little is known, not [0, 0] and [1, 1]."""
    lo, hi = proportion_interval([0, 7], [88, 7], 0.95)
    assert lo[0] == 0.0 and hi[0] == pytest.approx(0.0411, abs=1e-4)
    assert lo[1] == pytest.approx(0.5904, abs=1e-4) and hi[1] == 1.0


def test_undefined_rate_has_no_interval_and_shapes_broadcast():
    lo, hi = proportion_interval(np.zeros((2, 3)), np.array([0, 5, 10]), 0.95)
    assert lo.shape == hi.shape == (2, 3)
    assert np.isnan(lo[:, 0]).all() and np.isnan(hi[:, 0]).all()
    assert (lo[:, 1:] == 0).all() and (hi[:, 1:] > 0).all()


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 10**7),
    frac=st.floats(0, 1),
    confidence=st.floats(0.5, 0.999),
)
def test_no_rate_interval_is_zero_width(n, frac, confidence):
    """Whatever the counts, an estimated rate is never certain: lo < hi, the estimate lies
    inside, and a bound sits at 0 or 1 only when the estimate does."""
    k = round(frac * n)
    lo, hi = (float(x) for x in proportion_interval(k, n, confidence))
    assert 0.0 <= lo < hi <= 1.0
    assert lo <= k / n <= hi
    assert (lo == 0.0) == (k == 0)
    assert (hi == 1.0) == (k == n)


def test_clopper_pearson_coverage_by_exact_enumeration():
    """Coverage computed exactly (sum of binomial probabilities of the counts whose
    interval holds the true rate) on 61 sample sizes from 10 to 10,000 and the rates of the
    grid. Measured minimum: 95.04% (n = 5,012, rate 50%); never below the nominal 95%."""
    worst = 1.0
    for n in np.unique(np.round(np.logspace(1, 4, 61)).astype(int)):
        k = np.arange(n + 1)
        lo, hi = proportion_interval(k, n, 0.95)
        inside = (lo <= GRID_P[:, None]) & (GRID_P[:, None] <= hi)
        coverage = (binom.pmf(k[None, :], n, GRID_P[:, None]) * inside).sum(axis=1)
        worst = min(worst, float(coverage.min()))
    assert worst >= 0.95 - 1e-9


def test_clopper_pearson_coverage_by_simulation():
    """10,000 binomial draws for each of 80 (n, rate) pairs (n 10 to 10,000, rate 0.5% to
    50%), 800,000 intervals in one vectorised call. Measured coverage of the nominal 95%
    intervals: minimum 94.9% (n = 10,000, rate 50%: the exact coverage there is 95.0%, the
    rest is simulation error), mean 96.8%; required: at least 93% everywhere."""
    rng = np.random.default_rng(0)
    n = np.repeat(GRID_N, GRID_P.size)[:, None]
    p = np.tile(GRID_P, GRID_N.size)[:, None]
    k = rng.binomial(n, p, size=(n.size, 10_000))
    lo, hi = proportion_interval(k, n, 0.95)
    coverage = ((lo <= p) & (p <= hi)).mean(axis=1)
    assert coverage.min() >= 0.93
    assert coverage.mean() <= 0.99  # exact, not absurdly wide


def test_wilson_would_not_do():
    """Why not Wilson: its exact coverage at n = 35 and a true rate of 0.5% is 83.9%
    (two events already put the rate out of its interval). scipy's Wilson interval."""
    n, p = 35, 0.005
    k = np.arange(n + 1)
    cis = [binomtest(int(i), n).proportion_ci(0.95, method="wilson") for i in k]
    inside = np.array([c.low <= p <= c.high for c in cis])
    wilson = float((binom.pmf(k, n, p) * inside).sum())
    assert wilson == pytest.approx(0.839, abs=1e-3)
    lo, hi = proportion_interval(k, n, 0.95)
    ours = float((binom.pmf(k, n, p) * ((lo <= p) & (p <= hi))).sum())
    assert ours >= 0.95


# ------------------------------------------------------------------- contrasts of rates
def test_rate_contrast_bounds_cover_both_groups_at_zero():
    rng = np.random.default_rng(1)
    n, n_ref, p, p_ref = 88, 500, 0.002, 0.004
    k = rng.binomial(n, p, 20_000)
    k_ref = rng.binomial(n_ref, p_ref, 20_000)
    b = rate_contrast_bounds(k, n, k_ref, n_ref, 0.95)
    covered = (b["difference_lo"] <= p - p_ref) & (p - p_ref <= b["difference_hi"])
    assert covered.mean() >= 0.95
    assert (b["difference_lo"] < b["difference_hi"]).all()
    ratio = (b["ratio_lo"] <= p / p_ref) & (p / p_ref <= b["ratio_hi"])
    assert ratio.mean() >= 0.95


# ------------------------------------------------------------------- percentile rule
@settings(max_examples=80, deadline=None)
@given(
    reps=st.lists(
        st.lists(
            st.one_of(st.floats(-10, 10, allow_nan=False), st.just(float("nan"))),
            min_size=3,
            max_size=3,
        ),
        min_size=1,
        max_size=40,
    ),
    confidence=st.floats(0.5, 0.99),
)
def test_percentile_interval_is_nanquantile_unless_too_many_undefined(reps, confidence):
    arr = np.array(reps, dtype=float)
    lo, hi = percentile_interval(arr, confidence)
    alpha = (1 - confidence) / 2
    for j in range(arr.shape[1]):
        col = arr[:, j]
        defined = np.isfinite(col)
        if defined.sum() < confidence * col.size or not defined.any():
            assert np.isnan(lo[j]) and np.isnan(hi[j])
        else:
            expected = np.nanquantile(col, [alpha, 1 - alpha])
            assert lo[j] == pytest.approx(expected[0], abs=1e-9)
            assert hi[j] == pytest.approx(expected[1], abs=1e-9)
            assert lo[j] <= hi[j]


def test_percentile_interval_without_replicates_is_nan():
    lo, hi = percentile_interval(np.empty((0, 4)), 0.95)
    assert lo.shape == (4,) and np.isnan(lo).all() and np.isnan(hi).all()


# ------------------------------------------------------------------- quantile bins
@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(0, 30), min_size=1, max_size=60),
    n_bins=st.integers(1, 25),
)
def test_quantile_rule_read_from_rows_equals_the_rule_on_cells(counts, n_bins):
    """The sorted-scan form (first row of each bin) and the cell form agree: a cell's bin
    is the number of bin starts at or before its last row."""
    counts = np.array(counts)
    n = int(counts.sum())
    if n == 0:
        return
    by_cell = quantile_bin_of_cells(counts, n_bins)
    last_row = np.cumsum(counts) - 1
    firsts = quantile_first_rows(n, n_bins)
    from_rows = np.searchsorted(firsts, last_row, side="right")
    occupied = counts > 0  # an empty cell has no rows to place
    assert np.array_equal(by_cell[occupied], from_rows[occupied])


def test_quantile_bins_use_the_cell_rule():
    rng = np.random.default_rng(2)
    scores = np.round(rng.beta(2, 5, 5_000), 3)
    index, _ = quantile_bins(scores, 17)
    values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    _, expected = np.unique(quantile_bin_of_cells(counts, 17), return_inverse=True)
    assert np.array_equal(index, expected[inverse.ravel()])
    assert values.size > 17


@pytest.mark.parametrize(("n_pos", "n_neg"), [(10, 10), (5, 200), (30, 30)])
def test_separation_bound_is_valid_where_an_all_pairs_bound_is_not(n_pos, n_neg):
    """Perfect separation observed: the exact bound from min(n_pos, n_neg) disjoint pairs.

    Binormal scores with a true AUC just below the bound are perfectly separated in at
    most (1 - confidence) / 2 = 2.5% of samples (measured 0.0-0.1%: the bound is
    conservative); a bound that counted all n_pos * n_neg pairs as independent would be
    exceeded in 26-40% of samples.
    """
    rng = np.random.default_rng(0)
    m = min(n_pos, n_neg)
    for pairs, ok in ((m, True), (n_pos * n_neg, False)):
        auc = 0.025 ** (1 / pairs) * 0.999
        shift = np.sqrt(2) * stats.norm.ppf(auc)  # binormal AUC = Phi(shift / sqrt(2))
        pos = rng.normal(shift, 1, (20_000, n_pos))
        neg = rng.normal(0, 1, (20_000, n_neg))
        separated = (pos.min(axis=1) > neg.max(axis=1)).mean()
        assert bool(separated <= 0.025) == ok, (pairs, separated)


def test_a_perfectly_separated_auc_is_not_certain():
    y = np.array([0] * 30 + [1] * 7)
    score = np.r_[np.linspace(0, 0.4, 30), np.linspace(0.6, 1, 7)]
    for est in (
        performance_report(y, score, threshold=0.5, n_boot=200, random_state=0).metrics["auc"],
        roc_auc_ci(y, score, n_boot=200, random_state=0),
    ):
        assert est.value == 1.0 and est.hi == 1.0
        assert est.lo == pytest.approx(0.025 ** (1 / 7)) and est.lo < 0.6
    flipped = roc_auc_ci(y, -score, n_boot=200, random_state=0)
    assert flipped.value == 0.0 and flipped.lo == 0.0 and flipped.hi > 0.4
    sex = pd.Series(["a"] * 37)
    a = audit(y, score, sex, threshold=0.5, n_boot=200, min_group_size=10, random_state=0)
    row = a.by_group.iloc[0]
    assert row["auc"] == 1.0 and row["auc_lo"] == pytest.approx(0.025 ** (1 / 7))
