"""Exact point metrics, cross-checked against scikit-learn, scipy and loop references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    auc as sk_auc,
)
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
)

from riskmodels.errors import SchemaError
from riskmodels.metrics import (
    average_precision,
    brier,
    brier_skill,
    calibration_slope_intercept,
    confusion_at_threshold,
    ece,
    oe_ratio,
    reliability_curve,
    roc_auc,
    roc_curve_points,
)


def _data(seed: int, n: int = 600, *, ties: bool, weighted: bool):
    rng = np.random.default_rng(seed)
    if ties:
        # 21 distinct values, including both ends and the ECE edges, so ties and edge
        # conventions are exercised
        p = rng.integers(0, 21, n) / 20
    else:
        p = rng.uniform(size=n)
    y = rng.binomial(1, 0.2 + 0.6 * p)
    w = rng.integers(0, 4, n) if weighted else None
    return y, p, w


CASES = [
    pytest.param(
        seed,
        ties,
        weighted,
        id=f"seed{seed}-{'ties' if ties else 'cont'}-{'w' if weighted else 'u'}",
    )
    for seed in (0, 1)
    for ties in (True, False)
    for weighted in (False, True)
]


@pytest.mark.parametrize(("seed", "ties", "weighted"), CASES)
def test_ranking_and_brier_equal_sklearn(seed, ties, weighted):
    y, p, w = _data(seed, ties=ties, weighted=weighted)
    assert roc_auc(y, p, sample_weight=w) == pytest.approx(
        roc_auc_score(y, p, sample_weight=w), abs=1e-12
    )
    assert average_precision(y, p, sample_weight=w) == pytest.approx(
        average_precision_score(y, p, sample_weight=w), abs=1e-12
    )
    assert brier(y, p, sample_weight=w) == pytest.approx(
        brier_score_loss(y, p, sample_weight=w), abs=1e-12
    )


def test_average_precision_heavy_ties_equals_sklearn():
    # few distinct scores: every threshold is a block of ties, where interpolating or
    # splitting ties would differ from scikit-learn's step-wise definition
    rng = np.random.default_rng(3)
    p = rng.integers(0, 3, 300) / 2
    y = rng.binomial(1, 0.3, 300)
    assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_brier_skill_is_one_minus_relative_brier(weighted):
    y, p, w = _data(4, ties=False, weighted=weighted)
    prevalence = np.average(y, weights=w)
    reference = brier_score_loss(y, np.full(y.size, prevalence), sample_weight=w)
    expected = 1 - brier_score_loss(y, p, sample_weight=w) / reference
    assert brier_skill(y, p, sample_weight=w) == pytest.approx(expected, abs=1e-12)


def _ece_reference(y, p, w, n_bins, strategy):
    """Straightforward loop over rows and bins, following the documented conventions."""
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    n = w.sum()
    if strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
        bins = []
        for v in p:
            for k in range(n_bins):
                last = k == n_bins - 1
                if edges[k] <= v < edges[k + 1] or (last and v == 1.0):
                    bins.append(k)
                    break
    else:
        bins = []
        for v in p:
            c = w[p <= v].sum()  # rows ranked at or below this score
            bins.append(min(int((c - 1) * n_bins // n), n_bins - 1))
    bins = np.array(bins)
    total = 0.0
    table = []
    for k in range(n_bins):
        m = bins == k
        wk = w[m].sum()
        if wk == 0:
            continue
        mean_p = (w[m] * p[m]).sum() / wk
        mean_y = (w[m] * y[m]).sum() / wk
        total += wk / n * abs(mean_p - mean_y)
        table.append((mean_p, mean_y, wk))
    return total, table


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize(("seed", "ties", "weighted"), CASES)
def test_ece_and_reliability_equal_loop_reference(strategy, seed, ties, weighted):
    y, p, w = _data(seed, n=300, ties=ties, weighted=weighted)
    for n_bins in (1, 7, 10):
        expected, table = _ece_reference(y, p, w, n_bins, strategy)
        got = ece(y, p, n_bins=n_bins, strategy=strategy, sample_weight=w)
        assert got == pytest.approx(expected, abs=1e-12)
        curve = reliability_curve(y, p, n_bins=n_bins, strategy=strategy, sample_weight=w)
        assert curve["mean_predicted"] == pytest.approx([t[0] for t in table], abs=1e-12)
        assert curve["observed_rate"] == pytest.approx([t[1] for t in table], abs=1e-12)
        assert curve["count"] == [int(t[2]) for t in table]
        assert sum(curve["count"]) == (len(y) if w is None else int(w.sum()))


def test_quantile_bins_have_equal_mass_and_uniform_edges_are_half_open():
    p = np.arange(1000) / 1000
    y = np.zeros(1000)
    y[::3] = 1
    assert reliability_curve(y, p, strategy="quantile")["count"] == [100] * 10
    curve = reliability_curve([0, 1, 1], [0.0, 0.5, 1.0], n_bins=2)
    # 0.5 opens the upper bin; 1.0 belongs to the last bin
    assert curve["count"] == [1, 2]
    assert curve["bin_lower"] == [0.0, 0.5]
    assert curve["bin_upper"] == [0.5, 1.0]


def test_calibration_slope_and_intercept_match_independent_fits():
    y, p, w = _data(5, n=2000, ties=False, weighted=True)
    slope, intercept = calibration_slope_intercept(y, p, sample_weight=w)
    x = logit(np.clip(p, 1e-15, 1 - 1e-15))
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)
    reference.fit(x[:, None], y, sample_weight=w)
    assert slope == pytest.approx(reference.coef_[0, 0], abs=1e-6)

    def neg_loglik(a):
        eta = a[0] + x
        return -np.sum(w * (y * eta - np.logaddexp(0, eta)))

    assert intercept == pytest.approx(minimize(neg_loglik, [0.0], tol=1e-14).x[0], abs=1e-6)


def test_calibrated_model_has_slope_one_and_intercept_zero():
    rng = np.random.default_rng(6)
    p = expit(rng.normal(-1.5, 1.2, 50_000))
    y = rng.binomial(1, p)
    slope, intercept = calibration_slope_intercept(y, p)
    assert abs(slope - 1) < 0.1
    assert abs(intercept) < 0.1
    assert abs(oe_ratio(y, p) - 1) < 0.05
    assert ece(y, p) < 0.02


def test_overconfident_predictions_have_slope_below_one():
    rng = np.random.default_rng(7)
    true = expit(rng.normal(-1.0, 1.0, 20_000))
    y = rng.binomial(1, true)
    over = expit(2.0 * logit(true))  # too extreme, as from an overfitted model
    under = expit(0.5 * logit(true))
    assert calibration_slope_intercept(y, over)[0] == pytest.approx(0.5, abs=0.05)
    assert calibration_slope_intercept(y, under)[0] == pytest.approx(2.0, abs=0.2)


def test_intercept_detects_risk_overestimated_on_average():
    rng = np.random.default_rng(8)
    true = expit(rng.normal(-2.0, 1.0, 20_000))
    y = rng.binomial(1, true)
    inflated = expit(logit(true) + 0.5)
    assert calibration_slope_intercept(y, inflated)[1] == pytest.approx(-0.5, abs=0.08)
    assert oe_ratio(y, inflated) < 0.8


def test_calibration_slope_is_nan_when_fit_does_not_exist():
    # complete separation and constant predictions: no finite maximum-likelihood slope;
    # the intercept (slope fixed at 1) still exists
    slope, intercept = calibration_slope_intercept([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert math.isnan(slope)
    assert intercept == pytest.approx(0.0, abs=1e-9)
    slope, intercept = calibration_slope_intercept([0, 1, 0, 1], [0.3] * 4)
    assert math.isnan(slope)
    assert intercept == pytest.approx(-logit(0.3))


def test_predictions_of_exactly_zero_and_one_are_clipped():
    slope, intercept = calibration_slope_intercept(
        [0, 1, 0, 1, 1, 0], [0.0, 1.0, 0.4, 0.6, 0.3, 0.7]
    )
    assert math.isfinite(slope)
    assert math.isfinite(intercept)


@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_equals_sklearn_with_ties_at_threshold(weighted):
    y, p, w = _data(9, ties=True, weighted=weighted)
    got = confusion_at_threshold(y, p, threshold=0.5, sample_weight=w)
    tn, fp, fn, tp = confusion_matrix(y, (p >= 0.5).astype(int), sample_weight=w).ravel()
    assert (got["tp"], got["fp"], got["tn"], got["fn"]) == (tp, fp, tn, fn)
    assert got["tpr"] == pytest.approx(tp / (tp + fn))
    assert got["fpr"] == pytest.approx(fp / (fp + tn))
    assert got["ppv"] == pytest.approx(tp / (tp + fp))
    assert got["npv"] == pytest.approx(tn / (tn + fn))
    assert got["selection_rate"] == pytest.approx((tp + fp) / (tp + fp + tn + fn))
    assert got["tpr"] + got["fnr"] == pytest.approx(1)
    assert got["fpr"] + got["tnr"] == pytest.approx(1)
    assert all(isinstance(got[k], int) for k in ("tp", "fp", "tn", "fn"))


def test_undefined_rates_are_nan_not_zero():
    got = confusion_at_threshold([0, 0, 1], [0.1, 0.2, 0.3], threshold=0.9)
    assert math.isnan(got["ppv"])  # nobody selected
    assert got["selection_rate"] == 0.0
    got = confusion_at_threshold([0, 0, 0], [0.1, 0.2, 0.3], threshold=0.2)
    assert math.isnan(got["tpr"]) and math.isnan(got["fnr"])  # no events


def test_metrics_needing_both_classes_are_nan_below_two_per_class():
    for y in ([0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 1]):
        p = [0.1, 0.2, 0.3, 0.4]
        assert math.isnan(roc_auc(y, p))
        assert math.isnan(average_precision(y, p))
        assert math.isnan(brier_skill(y, p))
        assert all(math.isnan(v) for v in calibration_slope_intercept(y, p))
        assert roc_curve_points(y, p) == {"fpr": [], "tpr": [], "thresholds": []}
        assert math.isfinite(brier(y, p))  # defined for one class


def test_roc_curve_points_match_sklearn_and_auc():
    y, p, _ = _data(10, n=200, ties=True, weighted=False)
    curve = roc_curve_points(y, p)
    assert sk_auc(curve["fpr"], curve["tpr"]) == pytest.approx(roc_auc(y, p), abs=1e-12)
    assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0)
    assert (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
    # the first threshold selects nobody under "p >= threshold"
    assert curve["thresholds"][0] > max(p)
    assert np.all(np.diff(curve["thresholds"]) < 0)


def test_roc_curve_points_are_downsampled_faithfully():
    rng = np.random.default_rng(11)
    y = rng.binomial(1, 0.3, 20_000)
    p = expit(rng.normal(size=20_000) + y)
    curve = roc_curve_points(y, p, max_points=500)
    assert 100 < len(curve["fpr"]) <= 500
    assert np.all(np.diff(curve["fpr"]) >= 0) and np.all(np.diff(curve["tpr"]) >= 0)
    assert (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
    assert sk_auc(curve["fpr"], curve["tpr"]) == pytest.approx(roc_auc(y, p), abs=2e-3)


def test_ranking_metrics_accept_any_score_but_calibration_needs_probabilities():
    y = [0, 1, 0, 1]
    scores = [-2.0, 3.0, 0.5, 1.5]
    assert roc_auc(y, scores) == 1.0
    assert average_precision(y, scores) == 1.0
    for func in (brier, brier_skill, ece, oe_ratio, calibration_slope_intercept, reliability_curve):
        with pytest.raises(SchemaError, match="not a probability") as info:
            func(y, scores)
        assert info.value.problems[0].column == "y_prob"
        assert "predict_proba" in info.value.problems[0].hint


def test_invalid_inputs_raise_schema_error_listing_every_problem():
    with pytest.raises(SchemaError) as info:
        roc_auc([0, 2, np.nan], [0.1, np.nan, np.inf, 0.3])
    columns = info.value.columns
    assert columns.count("y_true") == 2  # missing value and non-binary value
    assert "y_prob" in columns
    assert None in columns  # lengths differ
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("y", "p", "w", "fragment"),
    [
        ([0, 1], np.array([[0.7, 0.3], [0.2, 0.8]]), None, "predict_proba"),
        ([[0, 1]], [0.1, 0.2], None, "1-D"),
        (["no", "yes"], [0.1, 0.2], None, "numbers"),
        ([], [], None, "no rows"),
        ([0, 1], [0.1, 0.2], [1.5, 1], "integers"),
        ([0, 1], [0.1, 0.2], [-1, 1], "integers"),
        ([0, 1], [0.1, 0.2], [0, 0], "sums to 0"),
        ([0, 1], [0.1, 0.2], [1, 1, 1], "differ in length"),
    ],
)
def test_invalid_input_messages(y, p, w, fragment):
    with pytest.raises(SchemaError, match=fragment):
        roc_auc(y, p, sample_weight=w)


def test_invalid_arguments_raise_schema_error():
    with pytest.raises(SchemaError, match="n_bins"):
        ece([0, 1], [0.1, 0.2], n_bins=0)
    with pytest.raises(SchemaError, match="strategy"):
        ece([0, 1], [0.1, 0.2], strategy="kmeans")
    with pytest.raises(SchemaError, match="threshold"):
        confusion_at_threshold([0, 1], [0.1, 0.2], threshold=float("nan"))
    with pytest.raises(SchemaError, match="max_points"):
        roc_curve_points([0, 1], [0.1, 0.2], max_points=1)


def test_pandas_inputs_including_nullable_dtypes():
    y = pd.Series([0, 1, 0, 1], dtype="Int64")
    p = pd.Series([0.1, 0.8, 0.3, 0.6], index=[10, 11, 12, 13])
    assert roc_auc(y, p) == 1.0
    assert roc_auc(pd.Series([False, True, False, True]), p) == 1.0
    with pytest.raises(SchemaError, match="missing"):
        roc_auc(pd.Series([0, 1, None, 1], dtype="Int64"), p)


rows = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0]) | st.floats(0, 1),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=40,
).filter(lambda r: sum(w for *_, w in r) > 0)


@settings(max_examples=60, deadline=None)
@given(rows)
# found by CI (seed 30): nearly separated rows whose intercept fit sat at the rounding floor
# (Hessian 3e-7) and never met the step tolerance when zero-weight rows changed the sums
@example(
    data=[
        (0, 0.5, 1),
        (0, 0.7, 1),
        (0, 0.75, 2),
        (0, 0.5009765625, 0),
        (0, 1.7763568394002536e-15, 1),
        (0, 1.0, 0),
        (1, 2.5326830332129084e-15, 2),
        (1, 0.0, 2),
    ]
)
def test_integer_weights_equal_repeated_rows(data):
    y, p, w = (np.array(c) for c in zip(*data, strict=True))
    y_rep, p_rep = np.repeat(y, w), np.repeat(p, w)

    def same(a, b):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-7, abs=1e-9)

    for func in (roc_auc, average_precision, brier, brier_skill, oe_ratio):
        assert same(func(y, p, sample_weight=w), func(y_rep, p_rep))
    for strategy in ("uniform", "quantile"):
        assert same(
            ece(y, p, strategy=strategy, sample_weight=w), ece(y_rep, p_rep, strategy=strategy)
        )
    for a, b in zip(
        calibration_slope_intercept(y, p, sample_weight=w),
        calibration_slope_intercept(y_rep, p_rep),
        strict=True,
    ):
        assert same(a, b)
    weighted = confusion_at_threshold(y, p, threshold=0.5, sample_weight=w)
    repeated = confusion_at_threshold(y_rep, p_rep, threshold=0.5)
    assert all(same(float(weighted[k]), float(repeated[k])) for k in weighted)
