"""The count-table bootstrap: each replicate is exactly a resampled row set, binning is
accurate, and the intervals behave like a row bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from riskmodels.metrics import _bootstrap as bootstrap
from riskmodels.metrics import (
    average_precision,
    brier,
    brier_skill,
    calibration_slope_intercept,
    confusion_at_threshold,
    ece,
    multinomial_resample,
    oe_ratio,
    performance_report,
    roc_auc,
    roc_auc_ci,
)
from riskmodels.metrics._bootstrap import build_cell_table, replicate_metrics
from riskmodels.metrics._intervals import percentile_interval

ALL = (
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
)
THRESHOLD = 0.3


def _exact_metrics(y, p):
    """Every report metric computed on rows with the public exact functions."""
    slope, intercept = calibration_slope_intercept(y, p)
    out = {
        "auc": roc_auc(y, p),
        "average_precision": average_precision(y, p),
        "brier": brier(y, p),
        "brier_skill": brier_skill(y, p),
        "ece_uniform": ece(y, p, strategy="uniform"),
        "ece_quantile": ece(y, p, strategy="quantile"),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "oe_ratio": oe_ratio(y, p),
    }
    confusion = confusion_at_threshold(y, p, threshold=THRESHOLD)
    out.update({k: confusion[k] for k in ALL if k in confusion})
    return out


def _table(y, p, **kwargs):
    return build_cell_table(
        y.astype(float), p.astype(float), threshold=THRESHOLD, n_ece_bins=10, **kwargs
    )


def _assert_close(got, expected, name, tol):
    if math.isnan(expected):
        assert math.isnan(got), name
    else:
        assert got == pytest.approx(expected, abs=tol), name


def test_each_replicate_equals_the_metrics_of_its_resampled_rows():
    # with exact bins a replicate of cell counts *is* a resampled row set: rebuild the rows
    # and compare every metric with the exact functions
    rng = np.random.default_rng(0)
    p = rng.integers(1, 40, 150) / 40
    y = rng.binomial(1, p)
    table = _table(y, p)
    assert table.exact
    values = np.unique(p)
    draws = multinomial_resample(np.concatenate([table.neg, table.pos]), 25, rng)
    k = table.pos.size
    reps = replicate_metrics(table, draws[:, k:], draws[:, :k], ALL)
    for r in range(draws.shape[0]):
        y_r = np.repeat([0, 1], [draws[r, :k].sum(), draws[r, k:].sum()])
        p_r = np.concatenate([np.repeat(values, draws[r, :k]), np.repeat(values, draws[r, k:])])
        expected = _exact_metrics(y_r, p_r)
        for name in ALL:
            tol = 1e-8 if name.startswith("calibration") else 1e-12
            _assert_close(reps[name][r], expected[name], name, tol)


def test_binned_table_is_accurate_on_continuous_scores():
    rng = np.random.default_rng(1)
    n = 40_000
    p = expit(rng.normal(-1.5, 1.0, n))
    y = rng.binomial(1, p)
    table = _table(y, p)
    assert not table.exact
    assert table.pos.size <= bootstrap.N_SCORE_BINS + 25  # + splits at edges and threshold
    got = {
        k: v[0] for k, v in replicate_metrics(table, table.pos[None], table.neg[None], ALL).items()
    }
    exact = _exact_metrics(y, p)
    # AUC counts the pairs inside one of 2048 bins as ties
    assert got["auc"] == pytest.approx(exact["auc"], abs=1e-3)
    assert got["average_precision"] == pytest.approx(exact["average_precision"], abs=1e-3)
    # per-cell means keep these exact at the observed counts
    for name in ("brier", "brier_skill", "oe_ratio", "ece_uniform", *ALL[9:]):
        assert got[name] == pytest.approx(exact[name], abs=1e-12), name
    assert got["ece_quantile"] == pytest.approx(exact["ece_quantile"], abs=1e-3)
    assert got["calibration_slope"] == pytest.approx(exact["calibration_slope"], abs=1e-2)
    assert got["calibration_intercept"] == pytest.approx(exact["calibration_intercept"], abs=1e-3)


def _rank_auc(y, score):
    """Mann-Whitney AUC from average ranks: an independent reference, fast enough to call
    once per resampled row set."""
    ranks = rankdata(score)
    n_pos = y.sum()
    n_neg = y.size - n_pos
    return (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_multinomial_bootstrap_matches_naive_row_bootstrap():
    rng = np.random.default_rng(2)
    n = 300
    y = rng.binomial(1, 0.3, n)
    score = np.round(rng.normal(size=n) + 0.8 * y, 1)  # with ties
    assert _rank_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    naive = np.array([_rank_auc(y[i], score[i]) for i in rng.integers(0, n, (1500, n))])
    ours = bootstrap.bootstrap_replicates(
        build_cell_table(y.astype(float), score), ["auc"], 1500, np.random.default_rng(3)
    )["auc"]
    assert ours.mean() == pytest.approx(naive.mean(), abs=0.003)
    assert ours.std() == pytest.approx(naive.std(), rel=0.1)
    for q in (0.025, 0.975):
        assert np.quantile(ours, q) == pytest.approx(np.quantile(naive, q), abs=0.01)


def test_chunking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(4)
    p = rng.uniform(size=500)
    y = rng.binomial(1, p)
    whole = performance_report(y, p, threshold=0.5, n_boot=300, random_state=5)
    monkeypatch.setattr(bootstrap, "CHUNK_ELEMENTS", 3 * 2 * 500)  # chunks of ~3 replicates
    chunked = performance_report(y, p, threshold=0.5, n_boot=300, random_state=5)
    # the same replicates; only the last bit may differ, where the calibration fit's
    # vectorised sums run over blocks of another shape (seen under numpy 1.26)
    assert chunked.metrics.keys() == whole.metrics.keys()
    for name, est in whole.metrics.items():
        got = chunked.metrics[name]
        assert (got.n, got.status) == (est.n, est.status), name
        for a, b in ((got.value, est.value), (got.lo, est.lo), (got.hi, est.hi)):
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15, nan_ok=True), name


def test_percentile_interval_drops_undefined_replicates_within_tolerance():
    reps = np.concatenate([np.linspace(0, 1, 97), [np.nan] * 3])
    lo, hi = percentile_interval(reps, 0.95)
    assert lo == pytest.approx(0.025) and hi == pytest.approx(0.975)
    # more than 1 - confidence undefined: the tails cannot be trusted
    reps = np.concatenate([np.linspace(0, 1, 90), [np.nan] * 10])
    assert all(math.isnan(v) for v in percentile_interval(reps, 0.95))
    assert all(math.isnan(v) for v in percentile_interval(np.array([]), 0.95))


def test_small_samples_get_no_interval_rather_than_a_misleading_one():
    # 3 events: about 1 replicate in 5 has fewer than 2 events, so AUC is undefined there
    y = np.array([1, 1, 1] + [0] * 17)
    p = np.linspace(0.05, 0.95, 20)
    est = roc_auc_ci(y, p, n_boot=500, random_state=0)
    assert est.status == "ok"
    assert math.isfinite(est.value)
    assert math.isnan(est.lo) and math.isnan(est.hi)


@pytest.mark.slow
def test_auc_interval_covers_the_true_auc():
    # binormal model: events ~ N(d, 1), non-events ~ N(0, 1), so AUC = Phi(d / sqrt 2)
    from scipy.stats import norm

    d = 1.0
    true_auc = norm.cdf(d / math.sqrt(2))
    rng = np.random.default_rng(10)
    covered = 0
    n_sim = 200
    for _ in range(n_sim):
        y = rng.binomial(1, 0.3, 400)
        score = rng.normal(size=400) + d * y
        est = roc_auc_ci(y, score, n_boot=1000, random_state=rng)
        covered += est.lo <= true_auc <= est.hi
    assert 0.90 <= covered / n_sim <= 0.99


@pytest.mark.slow
def test_calibration_intervals_cover_a_calibrated_model():
    rng = np.random.default_rng(11)
    covered = {"calibration_slope": 0, "calibration_intercept": 0, "oe_ratio": 0}
    truth = {"calibration_slope": 1.0, "calibration_intercept": 0.0, "oe_ratio": 1.0}
    n_sim = 200
    for _ in range(n_sim):
        p = expit(rng.normal(-1.0, 1.0, 1000))
        y = rng.binomial(1, p)
        report = performance_report(y, p, threshold=0.5, n_boot=400, random_state=rng)
        for name in covered:
            est = report.metrics[name]
            covered[name] += est.lo <= truth[name] <= est.hi
    for name, count in covered.items():
        assert 0.90 <= count / n_sim <= 0.99, name
