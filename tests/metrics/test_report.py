"""performance_report, Estimate and PerformanceReport: statuses, round trips, invariants."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from riskmodels.errors import SchemaError
from riskmodels.metrics import (
    Estimate,
    PerformanceReport,
    average_precision,
    brier,
    calibration_slope_intercept,
    confusion_at_threshold,
    ece,
    performance_report,
    roc_auc,
    roc_auc_ci,
)
from riskmodels.metrics._bootstrap import RATE_METRICS

KEYS = [
    "auc",
    "average_precision",
    "brier",
    "brier_skill",
    "ece_uniform",
    "ece_quantile",
    "calibration_slope",
    "calibration_intercept",
    "oe_ratio",
    "tpr",
    "fpr",
    "fnr",
    "tnr",
    "ppv",
    "npv",
    "selection_rate",
    "accuracy",
]
BOTH_CLASSES = {
    "auc",
    "average_precision",
    "brier_skill",
    "calibration_slope",
    "calibration_intercept",
}
CALIBRATION = {
    "brier",
    "brier_skill",
    "ece_uniform",
    "ece_quantile",
    "calibration_slope",
    "calibration_intercept",
    "oe_ratio",
}


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    # at most 1001 distinct scores: the bootstrap is an exact row bootstrap
    p = np.round(expit(rng.normal(-1.2, 1.0, 3000)), 3)
    y = rng.binomial(1, p)
    return y, p


@pytest.fixture(scope="module")
def report(sample):
    y, p = sample
    return performance_report(y, p, threshold=0.3, n_boot=300, random_state=0)


def _json_round_trip(r: PerformanceReport) -> PerformanceReport:
    return PerformanceReport.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))


def test_report_shape_and_exact_point_estimates(report, sample):
    y, p = sample
    assert list(report.metrics) == KEYS
    assert report.status == "ok"
    assert (report.n, report.n_pos, report.n_neg) == (3000, y.sum(), 3000 - y.sum())
    assert report.prevalence == pytest.approx(y.mean())
    m = report.metrics
    assert m["auc"].value == roc_auc(y, p)
    assert m["average_precision"].value == average_precision(y, p)
    assert m["brier"].value == pytest.approx(brier(y, p), abs=1e-15)
    assert m["ece_quantile"].value == pytest.approx(ece(y, p, strategy="quantile"), abs=1e-15)
    slope, intercept = calibration_slope_intercept(y, p)
    assert m["calibration_slope"].value == pytest.approx(slope, abs=1e-12)
    assert m["calibration_intercept"].value == pytest.approx(intercept, abs=1e-12)
    confusion = confusion_at_threshold(y, p, threshold=0.3)
    assert report.confusion == {k: confusion[k] for k in ("tp", "fp", "tn", "fn")}
    assert m["ppv"].value == confusion["ppv"]
    assert m["tpr"].n == report.n_pos and m["fpr"].n == report.n_neg
    assert m["ppv"].n == confusion["tp"] + confusion["fp"]
    assert m["auc"].n == 3000
    for name, est in m.items():
        assert est.status == "ok", name
        assert est.lo <= est.hi, name
    # a calibrated model: slope 1 and O/E 1 inside their intervals here
    assert m["calibration_slope"].lo < 1 < m["calibration_slope"].hi
    assert m["oe_ratio"].lo < 1 < m["oe_ratio"].hi
    assert "exact row bootstrap" in report.ci_method


def test_reliability_and_roc_parts(report, sample):
    y, _ = sample
    assert report.reliability["status"] == "ok"
    for strategy in ("uniform", "quantile"):
        part = report.reliability[strategy]
        assert part["strategy"] == strategy
        assert sum(part["count"]) == len(y)
        assert len(part["mean_predicted"]) == len(part["observed_rate"]) == len(part["count"])
    roc = report.roc
    assert 2 < len(roc["fpr"]) <= 500
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])


def test_json_round_trip_is_exact(report):
    again = _json_round_trip(report)
    assert again == report
    assert again.to_dict() == report.to_dict()
    assert again.metrics["auc"].value == report.metrics["auc"].value  # bit for bit


def test_json_round_trip_with_nan_values():
    r = performance_report([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4], threshold=0.5, n_boot=50)
    assert math.isnan(r.metrics["auc"].value)
    again = _json_round_trip(r)
    assert again == r
    assert math.isnan(again.metrics["auc"].value)
    assert again.metrics["auc"].status == "undefined"


def test_estimate_round_trip_and_nan_equality():
    nan = float("nan")
    for est in (
        Estimate(0.7, 0.65, 0.75, 100),
        Estimate(nan, nan, nan, 0, "undefined"),
        Estimate(float("inf"), 1.0, float("inf"), 3),
    ):
        again = Estimate.from_dict(json.loads(json.dumps(est.to_dict(), allow_nan=False)))
        assert again == est
        assert hash(again) == hash(est)
    assert Estimate(nan, nan, nan, 1, "ok") != Estimate(0.5, nan, nan, 1, "ok")
    assert Estimate(np.float64(0.5), 0.4, 0.6, np.int64(10)).to_dict()["n"] == 10
    with pytest.raises(SchemaError, match="status"):
        Estimate(0.5, 0.4, 0.6, 10, "fine")
    with pytest.raises(SchemaError):
        Estimate.from_dict({"value": 0.5})


def test_estimates_written_before_the_status_vocabulary_read_as_its_words():
    """Evidence written by earlier versions (statuses ``insufficient_evidence``,
    ``not_probabilities``, no ``reason``) still loads, as ``undefined``."""
    for old in ("insufficient_evidence", "not_probabilities"):
        est = Estimate.from_dict({"value": None, "lo": None, "hi": None, "n": 3, "status": old})
        assert (est.status, est.reason) == ("undefined", "")
    r = performance_report([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4], threshold=0.5, n_boot=0)
    old = r.to_dict()
    old["status"] = "insufficient_evidence"
    for e in old["metrics"].values():
        e.pop("reason")
        e["status"] = "insufficient_evidence" if e["status"] != "ok" else "ok"
    again = PerformanceReport.from_dict(old)
    assert again.status == "undefined" and again.metrics["auc"].status == "undefined"


def test_to_frame(report):
    frame = report.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["metric", "value", "lo", "hi", "n", "status"]
    assert frame["metric"].tolist() == KEYS
    assert frame.set_index("metric").loc["auc", "value"] == report.metrics["auc"].value


@pytest.mark.parametrize(
    "y",
    [
        [0] * 10,  # no events
        [1] + [0] * 9,  # one event
        [0] + [1] * 9,  # one non-event
        [1] * 10,  # no non-events
    ],
)
def test_undefined_gives_nan_and_status_never_a_number(y):
    p = np.linspace(0.05, 0.95, 10)
    r = performance_report(y, p, threshold=0.5, n_boot=100, random_state=0)
    assert r.status == "undefined"
    for name in BOTH_CLASSES:
        est = r.metrics[name]
        assert est.status == "undefined", name
        assert math.isnan(est.value) and math.isnan(est.lo) and math.isnan(est.hi), name
    assert r.roc == {"fpr": [], "tpr": [], "thresholds": []}
    # rates are judged by their own denominators
    if sum(y) == 0:
        assert r.metrics["tpr"].status == "undefined"
        assert r.metrics["tpr"].n == 0
        assert r.metrics["fpr"].status == "ok"
    if sum(y) == 10:
        assert r.metrics["fpr"].status == "undefined"
    assert r.metrics["brier"].status == "ok"  # defined for one class
    assert _json_round_trip(r) == r


def test_rate_with_zero_denominator_is_undefined():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.8, 200)
    y = rng.binomial(1, p)
    r = performance_report(y, p, threshold=0.9, n_boot=100, random_state=0)  # nobody selected
    ppv = r.metrics["ppv"]
    assert (ppv.status, ppv.n) == ("undefined", 0)
    assert math.isnan(ppv.value) and math.isnan(ppv.lo)
    assert r.metrics["selection_rate"].value == 0.0
    assert r.metrics["selection_rate"].status == "ok"
    assert r.status == "ok"


def test_scores_outside_unit_interval_are_undefined():
    rng = np.random.default_rng(2)
    y = rng.binomial(1, 0.3, 500)
    score = rng.normal(size=500) + y  # a decision function, not a probability
    r = performance_report(y, score, threshold=0.0, n_boot=100, random_state=0)
    for name in CALIBRATION:
        est = r.metrics[name]
        assert est.status == "undefined", name
        assert "not probabilities" in est.reason, name
        assert math.isnan(est.value), name
    assert r.metrics["auc"].status == "ok"
    assert r.metrics["auc"].lo < r.metrics["auc"].value < r.metrics["auc"].hi
    assert r.metrics["tpr"].status == "ok"
    assert r.reliability["status"] == "undefined"
    assert r.reliability["uniform"]["count"] == []
    assert r.status == "ok"
    assert _json_round_trip(r) == r


def test_continuous_scores_use_the_binned_bootstrap():
    rng = np.random.default_rng(3)
    p = expit(rng.normal(-2, 1, 5000))
    y = rng.binomial(1, p)
    r = performance_report(y, p, threshold=0.2, n_boot=200, random_state=0)
    assert "2048 equal-mass" in r.ci_method
    est = r.metrics["auc"]
    assert est.lo < est.value < est.hi
    assert 0.005 < est.hi - est.lo < 0.1


def test_random_state_makes_intervals_reproducible(sample):
    y, p = sample
    a = performance_report(y, p, threshold=0.3, n_boot=100, random_state=7)
    b = performance_report(y, p, threshold=0.3, n_boot=100, random_state=7)
    c = performance_report(y, p, threshold=0.3, n_boot=100, random_state=8)
    assert a == b
    assert a.metrics["auc"].lo != c.metrics["auc"].lo
    assert a.metrics["auc"].value == c.metrics["auc"].value


def test_no_bootstrap_keeps_the_exact_rate_intervals_only(sample):
    """Rates need no bootstrap: their exact intervals come from the counts; every other
    metric has no interval without replicates."""
    y, p = sample
    r = performance_report(y, p, threshold=0.3, n_boot=0)
    for name, e in r.metrics.items():
        if name in RATE_METRICS:
            assert e.lo < e.value < e.hi, name
        else:
            assert math.isnan(e.lo) and math.isnan(e.hi), name
    assert all(e.status == "ok" for e in r.metrics.values())
    assert r.n_boot == 0
    assert "Clopper-Pearson" in r.ci_method and "n_boot=0" in r.ci_method


def test_rate_intervals_are_clopper_pearson_of_the_confusion_counts(sample):
    """Every rate's interval is scipy's exact binomial interval of its own counts, with or
    without a bootstrap (the bootstrap does not touch rates)."""
    from scipy.stats import binomtest

    y, p = sample
    with_boot = performance_report(y, p, threshold=0.3, n_boot=50, random_state=0)
    without = performance_report(y, p, threshold=0.3, n_boot=0)
    c = with_boot.confusion
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    counts = {
        "tpr": (tp, tp + fn),
        "fnr": (fn, tp + fn),
        "fpr": (fp, fp + tn),
        "tnr": (tn, fp + tn),
        "ppv": (tp, tp + fp),
        "npv": (tn, tn + fn),
        "selection_rate": (tp + fp, len(y)),
        "accuracy": (tp + tn, len(y)),
    }
    for name, (k, n) in counts.items():
        ci = binomtest(k, n).proportion_ci(0.95, method="exact")
        for r in (with_boot, without):
            e = r.metrics[name]
            assert e.n == n, name
            assert e.lo == pytest.approx(ci.low, abs=1e-9), name
            assert e.hi == pytest.approx(ci.high, abs=1e-9), name


def test_no_false_positives_is_not_certainty():
    """0 false positives among 88 non-events: FPR 0 with an interval reaching 4%, not
    [0, 0] as a percentile bootstrap gives."""
    y = np.r_[np.zeros(88, dtype=int), np.ones(12, dtype=int)]
    p = np.r_[np.linspace(0.05, 0.4, 88), np.linspace(0.6, 0.9, 12)]
    r = performance_report(y, p, threshold=0.5, n_boot=200, random_state=0)
    fpr = r.metrics["fpr"]
    assert fpr.value == 0.0 and fpr.lo == 0.0
    assert fpr.hi == pytest.approx(0.0411, abs=1e-4)
    tpr = r.metrics["tpr"]  # 12 of 12 caught
    assert tpr.value == 1.0 and tpr.hi == 1.0 and tpr.lo == pytest.approx(0.7354, abs=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"threshold": 0.5, "n_boot": -1}, "n_boot"),
        ({"threshold": 0.5, "n_boot": 10.5}, "n_boot"),
        ({"threshold": 0.5, "confidence": 95}, "confidence"),
        ({"threshold": 0.5, "random_state": "seed"}, "random_state"),
    ],
)
def test_bad_arguments_raise_schema_error(kwargs, column):
    with pytest.raises(SchemaError) as info:
        performance_report([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], **kwargs)
    assert column in info.value.columns


def test_bad_data_raises_schema_error_not_value_error_subclass_only():
    with pytest.raises(SchemaError) as info:
        performance_report([0, 1, 2], [0.1, 0.2, float("nan")], threshold=0.5)
    assert set(info.value.columns) == {"y_true", "y_prob"}
    with pytest.raises(SchemaError):
        roc_auc_ci([0, 1], [[0.1, 0.9], [0.8, 0.2]])


def test_auc_ci_agrees_with_report(sample):
    y, p = sample
    est = roc_auc_ci(y, p, n_boot=300, random_state=0)
    r = performance_report(y, p, threshold=0.3, n_boot=300, random_state=0)
    assert est.value == r.metrics["auc"].value
    # same seed, same cell table order: the same replicates
    assert est.lo == pytest.approx(r.metrics["auc"].lo, abs=1e-12)
    assert est.hi == pytest.approx(r.metrics["auc"].hi, abs=1e-12)


# ------------------------------------------------------------------ property tests

datasets = st.lists(
    st.tuples(
        st.integers(0, 1), st.sampled_from([0.0, 0.05, 0.3, 0.5, 0.8, 1.0]) | st.floats(0, 1)
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(datasets, st.floats(0, 1), st.randoms(use_true_random=False))
def test_report_invariants(data, threshold, random):
    y, p = (np.array(c) for c in zip(*data, strict=True))
    r = performance_report(y, p, threshold=threshold, n_boot=40, random_state=1)
    # counts add up
    assert sum(r.confusion.values()) == r.n == len(y)
    assert r.n_pos + r.n_neg == r.n
    assert sum(r.reliability["uniform"]["count"]) == r.n
    assert sum(r.reliability["quantile"]["count"]) == r.n
    for name, est in r.metrics.items():
        # an interval is ordered; an undefined value has no interval
        if math.isfinite(est.lo):
            assert est.lo <= est.hi, name
        if math.isnan(est.value):
            assert math.isnan(est.lo) and est.status != "ok", name
    # the row order carries no information
    order = np.array(random.sample(range(len(y)), len(y)))
    permuted = performance_report(
        y[order], p[order], threshold=threshold, n_boot=40, random_state=1
    )
    assert permuted.confusion == r.confusion
    assert permuted.reliability["uniform"]["count"] == r.reliability["uniform"]["count"]
    for name in KEYS:
        a, b = r.metrics[name], permuted.metrics[name]
        assert a.status == b.status, name
        for x, z in ((a.value, b.value), (a.lo, b.lo), (a.hi, b.hi)):
            assert (math.isnan(x) and math.isnan(z)) or x == pytest.approx(z, abs=1e-9), name
