"""The pure-numpy core: bins, count tensors, exact and binned AUC, bootstrap, intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from riskmodels.fairness._engine import (
    N_SCORE_BINS,
    bootstrap_metrics,
    count_tensor,
    exact_auc_by_group,
    metrics_from_counts,
    sort_rows,
)
from riskmodels.metrics import quantile_bins


def _data(n: int, n_groups: int, seed: int, *, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n_groups, n)
    score = rng.beta(2, 5, n) + 0.1 * codes / n_groups
    score = np.clip(score, 0, 1)
    if decimals is not None:
        score = np.round(score, decimals)  # many ties
    y = (rng.random(n) < score).astype(np.int64)
    return codes, score, y


@pytest.mark.parametrize("n_groups", [5, 40])  # few groups / many groups code paths
@pytest.mark.parametrize("decimals", [None, 2, 1])  # untied / tied scores code paths
def test_exact_auc_matches_sklearn(decimals, n_groups):
    codes, score, y = _data(8000, n_groups, 0, decimals=decimals)
    rows = sort_rows(y, score, 0.3, n_bins=N_SCORE_BINS, calibration_bins=10)
    assert (rows.n_unique == len(score)) is (decimals is None)
    ours = exact_auc_by_group(codes[rows.order], n_groups, rows)
    for g in range(n_groups):
        m = codes == g
        assert ours[g] == pytest.approx(roc_auc_score(y[m], score[m]), abs=1e-12)


def test_exact_auc_is_nan_without_both_classes():
    score = np.array([0.1, 0.2, 0.3, 0.4])
    rows = sort_rows(np.array([1, 1, 0, 1]), score, 0.5, n_bins=10, calibration_bins=None)
    auc = exact_auc_by_group(np.array([0, 0, 1, 1]), 3, rows)
    assert np.isnan(auc[0]) and auc[1] == 1.0 and np.isnan(auc[2])


def test_binned_auc_within_1e3_of_exact():
    """The bootstrap works on N_SCORE_BINS quantile bins: its AUC stays within 1e-3."""
    codes, score, y = _data(200_000, 3, 1)
    rows = sort_rows(y, score, 0.3, n_bins=N_SCORE_BINS, calibration_bins=10)
    assert rows.n_bins < N_SCORE_BINS + 12  # refined only by threshold and 10 cal edges
    group = codes[rows.order]
    binned = metrics_from_counts(count_tensor(group, 3, rows).counts, rows.pred)["auc"]
    exact = exact_auc_by_group(group, 3, rows)
    error = np.abs(binned - exact)
    assert error.max() < 1e-3
    assert error.max() > 0  # the bins really do merge scores: the check is not vacuous


def test_bins_never_straddle_threshold_or_calibration_edges():
    rng = np.random.default_rng(2)
    score = rng.random(20_000)
    rows = sort_rows(np.zeros(20_000, dtype=int), score, 0.437, n_bins=7, calibration_bins=10)
    assert np.array_equal(rows.score, np.sort(score))
    assert np.array_equal(rows.pred[rows.bin], rows.score >= 0.437)
    edges = np.linspace(0, 1, 11)
    expected = np.clip(np.searchsorted(edges, rows.score, side="right") - 1, 0, 9)
    assert np.array_equal(rows.cal[rows.bin], expected)
    assert np.all(np.diff(rows.bin) >= 0)


def test_few_distinct_scores_get_one_bin_each():
    score = np.repeat(np.arange(1, 11), 30).astype(float)
    rows = sort_rows(np.zeros(300, dtype=int), score, 7, n_bins=N_SCORE_BINS, calibration_bins=None)
    assert rows.n_bins == 10 and rows.sq_error is None
    assert rows.pred.tolist() == [False] * 6 + [True] * 4


@pytest.mark.parametrize("n_bins", [50, 1000])  # more bins than an int8 label code holds
def test_confusion_metrics_from_counts(n_bins):
    codes, score, y = _data(3000, 2, 3)
    rows = sort_rows(y, score, 0.25, n_bins=n_bins, calibration_bins=10)
    assert rows.n_bins > min(n_bins, 3000) * 0.9
    tensor = count_tensor(codes[rows.order], 2, rows)
    assert tensor.counts.sum() == 3000
    m = metrics_from_counts(
        tensor.counts,
        rows.pred,
        score_sum=tensor.score_sum,
        sq_error_sum=tensor.sq_error_sum,
        cal=rows.cal,
        n_cal=rows.n_cal,
    )
    for g in range(2):
        sel = codes == g
        yy, pp, ss = y[sel], score[sel] >= 0.25, score[sel]
        assert m["tpr"][g] == np.mean(pp[yy == 1])
        assert m["fpr"][g] == np.mean(pp[yy == 0])
        assert m["ppv"][g] == np.mean(yy[pp])
        assert m["npv"][g] == np.mean(1 - yy[~pp])
        assert m["brier"][g] == pytest.approx(np.mean((ss - yy) ** 2), rel=1e-12)
        assert m["oe_ratio"][g] == pytest.approx(yy.sum() / ss.sum(), rel=1e-12)
        cal = np.clip(np.searchsorted(np.linspace(0, 1, 11), ss, side="right") - 1, 0, 9)
        ece = sum(abs(yy[cal == k].sum() - ss[cal == k].sum()) for k in range(10)) / sel.sum()
        assert m["ece"][g] == pytest.approx(ece, rel=1e-12)


def test_bootstrap_is_stratified_by_group():
    """A group of one keeps its one row in every replicate (an unstratified bootstrap
    would often draw it zero times and give NaN)."""
    codes = np.r_[np.zeros(500, dtype=int), 1]
    score = np.r_[np.linspace(0, 1, 500), 0.9]
    y = np.r_[np.tile([0, 1], 250), 1]
    rows = sort_rows(y, score, 0.5, n_bins=20, calibration_bins=10)
    reps = bootstrap_metrics(
        count_tensor(codes[rows.order], 2, rows), rows, 200, np.random.default_rng(0)
    )
    assert reps["base_rate"].shape == (200, 2)
    assert np.all(reps["base_rate"][:, 1] == 1.0)
    assert np.all(reps["selection_rate"][:, 1] == 1.0)
    assert reps["base_rate"][:, 0].std() > 0


@pytest.mark.parametrize("decimals", [None, 3, 2])
def test_bins_are_metrics_quantile_bins_split_at_threshold_and_calibration_edges(decimals):
    """A new bin starts exactly where riskmodels.metrics.quantile_bins, the predicted label
    or the ECE bin changes: the same binning as the performance metrics, refined."""
    _, score, y = _data(30_000, 2, 5, decimals=decimals)
    rows = sort_rows(y, score, 0.3, n_bins=40, calibration_bins=10)
    quantile, _ = quantile_bins(rows.score, 40)
    edges = np.linspace(0, 1, 11)
    cal = np.clip(np.searchsorted(edges, rows.score, side="right") - 1, 0, 9)
    pred = rows.score >= 0.3
    expected = (np.diff(quantile) != 0) | (np.diff(cal) != 0) | (np.diff(pred) != 0)
    assert np.array_equal(np.diff(rows.bin) != 0, expected)
    assert np.array_equal(rows.pred[rows.bin], pred)
