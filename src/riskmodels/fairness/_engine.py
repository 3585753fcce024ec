"""Pure-numpy core of the fairness audit: rows -> count tensors -> metrics.

Nothing here knows about DataFrames or labels. The flow is

1. :func:`sort_rows` sorts the rows by score once and maps each to an ordered *score
   bin*. Bins never straddle the decision threshold nor a calibration-bin edge, so the
   predicted label and the calibration bin are functions of the bin.
2. :func:`count_tensor` builds, in one ``np.bincount`` pass per attribute, the tensor
   ``counts[group, label, bin]`` (the predicted label is ``pred[bin]``), plus the
   per-cell sums of scores and of squared errors that calibration metrics need.
3. :func:`metrics_from_counts` turns tensors with any leading axes (replicates) into every
   metric at once. Confusion-matrix rates, Brier, ECE and O/E are exact from the tensor;
   AUC is exact when each bin holds one distinct score, so point estimates use
   :func:`exact_auc_by_group` instead.
4. :func:`bootstrap_metrics` resamples the cells: a row bootstrap stratified by group is one
   multinomial draw over each group's cells, vectorised over replicates and groups.

Intervals follow the package's one rule (:mod:`riskmodels.metrics._intervals`): the rates
of :data:`RATE_METRICS` get exact intervals from their counts (:func:`rate_counts`), every
other measure and every disparity the percentile interval of the bootstrap.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from riskmodels.metrics._counts import (
    auc_from_counts,
    multinomial_resample,
    quantile_first_rows,
    safe_ratio,
)

__all__ = [
    "CALIBRATION_BINS",
    "METRICS",
    "N_SCORE_BINS",
    "RATE_METRICS",
    "CountTensor",
    "SortedRows",
    "bootstrap_metrics",
    "count_tensor",
    "exact_auc_by_group",
    "metrics_from_counts",
    "rate_counts",
    "sort_rows",
]

#: every per-group estimate, in table order
METRICS = (
    "base_rate",
    "selection_rate",
    "tpr",
    "fpr",
    "fnr",
    "tnr",
    "ppv",
    "npv",
    "auc",
    "brier",
    "ece",
    "oe_ratio",
)
#: the metrics that are proportions of counts: their intervals are exact, not bootstrapped
RATE_METRICS = ("base_rate", "selection_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv")
#: quantile bins of the score used by the bootstrap (AUC, Brier and ECE replicates).
#: 100 bins keep the binned AUC within 1e-3 of the exact AUC (tested) while a replicate
#: costs O(groups x 2 x ~110 cells) instead of O(rows).
N_SCORE_BINS = 100
#: equal-width bins on [0, 1] for the expected calibration error (Guo et al. 2017), as the
#: default of ``riskmodels.metrics.ece``
CALIBRATION_BINS = 10
#: up to this many groups, the exact AUC of untied scores uses one masked pass per group
_FEW_GROUPS = 8
#: cap on the elements of one replicate chunk, so memory stays flat with many groups
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class SortedRows:
    """The audited rows once, in ascending score order, with their score bins.

    Every attribute of an audit shares it: an attribute only adds its group codes in the
    same order (``codes[rows.order]``).
    """

    order: np.ndarray  # (n,) argsort of the scores
    y: np.ndarray  # (n,) labels in score order
    score: np.ndarray  # (n,) scores, ascending
    sq_error: np.ndarray | None  # (n,) (score - y)^2, only for probability scores
    code: np.ndarray | None  # (n,) index of the row's distinct score; None when untied
    n_unique: int  # number of distinct scores
    bin: np.ndarray  # (n,) score bin, non-decreasing
    pred: np.ndarray  # (n_bins,) bool: predicted positive in this bin
    cal: np.ndarray | None  # (n_bins,) calibration bin, None for non-probability scores
    n_cal: int  # number of calibration bins (0 when cal is None)

    @property
    def n_bins(self) -> int:
        return int(self.pred.size)

    @functools.cached_property
    def label_bin(self) -> np.ndarray:
        """``y * n_bins + bin`` (int64): each row's cell within its group, shared by
        attributes."""
        return self.y.astype(np.int64) * self.n_bins + self.bin.astype(np.int64, copy=False)


@dataclass(frozen=True)
class CountTensor:
    """Counts and per-cell sums, shape ``(n_groups, 2, n_bins)``; axis 1 is the label."""

    counts: np.ndarray
    score_sum: np.ndarray | None
    sq_error_sum: np.ndarray | None


def sort_rows(
    y: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    *,
    n_bins: int,
    calibration_bins: int | None,
) -> SortedRows:
    """Sort once and bin: quantile bins refined by the threshold and calibration edges.

    With at most ``n_bins`` distinct scores (e.g. a 1-10 decile score) every distinct value
    is its own bin and every bootstrap replicate is exact too. ``calibration_bins=None``
    for scores that are not probabilities.

    Examples
    --------
    >>> r = sort_rows(np.array([1, 0, 1, 0]), np.array([0.6, 0.1, 0.9, 0.4]), 0.5,
    ...               n_bins=2, calibration_bins=None)
    >>> r.y.tolist(), r.bin.tolist(), r.pred.tolist()
    ([0, 0, 1, 1], [0, 0, 1, 1], [False, True])
    """
    order = np.argsort(scores)
    ordered = scores[order]
    y_sorted = y.astype(np.int8)[order]  # labels are 0/1: one byte moves faster
    n = ordered.size
    first = np.empty(n, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    n_unique = int(np.count_nonzero(first))
    code = None if n_unique == n else np.cumsum(first) - 1
    # Bins are runs of sorted rows; find where runs start with a few binary searches
    # instead of labelling every distinct value. Each start is the first row of a score
    # value, so tied scores never straddle two bins.
    if n_unique <= n_bins:
        starts = np.flatnonzero(first)
    else:
        # the package's one quantile-bin rule, read from the sorted rows: bin k starts with
        # the score value that holds row ceil(k n / B)
        row = quantile_first_rows(n, n_bins)
        starts = row if code is None else np.searchsorted(code, code[row], side="left")
    cuts = [starts, np.searchsorted(ordered, [threshold], side="left")]
    cal = None
    if calibration_bins is not None:
        # the rule of riskmodels.metrics.ece: bin k holds edges[k] <= p < edges[k + 1]
        edges = np.linspace(0.0, 1.0, calibration_bins + 1)
        cuts.append(np.searchsorted(ordered, edges[1:-1], side="left"))
    starts = np.unique(np.concatenate([[0], *cuts]))
    starts = starts[starts < n]
    sizes = np.diff(np.r_[starts, n])
    low = ordered[starts]  # the smallest score of each bin
    if calibration_bins is not None:
        cal = np.clip(np.searchsorted(edges, low, side="right") - 1, 0, calibration_bins - 1)
    return SortedRows(
        order=order,
        y=y_sorted,
        score=ordered,
        sq_error=(ordered - y_sorted) ** 2 if calibration_bins is not None else None,
        code=code,
        n_unique=n_unique,
        bin=np.repeat(np.arange(starts.size), sizes),
        pred=low >= threshold,
        cal=cal,
        n_cal=calibration_bins if calibration_bins is not None else 0,
    )


def count_tensor(group: np.ndarray, n_groups: int, rows: SortedRows) -> CountTensor:
    """One ``np.bincount`` over ``(group, label, bin)`` cells, plus score sums for
    probability scores. ``group`` is in score order (``codes[rows.order]``).

    Examples
    --------
    >>> r = sort_rows(np.array([0, 1, 1]), np.array([0.2, 0.7, 0.7]), 0.5, n_bins=10,
    ...               calibration_bins=None)
    >>> count_tensor(np.array([0, 0, 1]), 2, r).counts.tolist()
    [[[1, 0], [0, 1]], [[0, 0], [0, 1]]]
    """
    n_bins = rows.n_bins
    shape = (n_groups, 2, n_bins)
    # int64 whatever the codes' storage type: small code types (int16) overflow here from
    # about 150 groups x 2 labels x 110 bins
    cell = np.multiply(group, 2 * n_bins, dtype=np.int64) + rows.label_bin
    size = n_groups * 2 * n_bins
    counts = np.bincount(cell, minlength=size).reshape(shape)
    if rows.sq_error is None:
        return CountTensor(counts, None, None)
    score_sum = np.bincount(cell, weights=rows.score, minlength=size).reshape(shape)
    sq_error_sum = np.bincount(cell, weights=rows.sq_error, minlength=size).reshape(shape)
    return CountTensor(counts, score_sum, sq_error_sum)


def rate_counts(counts: np.ndarray, pred: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Numerator and denominator of every rate of :data:`RATE_METRICS`.

    The one definition of the audit's rates: :func:`metrics_from_counts` divides them and
    the exact intervals are computed from them.

    Parameters
    ----------
    counts : ndarray of shape (..., 2, n_bins)
        Rows per (label, score bin); axis -2 is the label (0, 1).
    pred : ndarray of bool, shape (n_bins,)
        Whether each bin is predicted positive.

    Returns
    -------
    dict of name -> (numerator, denominator), arrays of shape (...)

    Examples
    --------
    >>> c = np.array([[3, 1], [1, 5]])  # label 0 / label 1 rows, bins [below, above]
    >>> k, n = rate_counts(c, np.array([False, True]))["fpr"]
    >>> float(k), float(n)
    (1.0, 4.0)
    """
    counts = np.asarray(counts, dtype=float)
    neg = counts[..., 0, :]
    pos = counts[..., 1, :]
    n_neg = neg.sum(axis=-1)
    n_pos = pos.sum(axis=-1)
    n = n_neg + n_pos
    tp = pos[..., pred].sum(axis=-1)
    fp = neg[..., pred].sum(axis=-1)
    fn = n_pos - tp
    tn = n_neg - fp
    return {
        "base_rate": (n_pos, n),
        "selection_rate": (tp + fp, n),
        "tpr": (tp, n_pos),
        "fpr": (fp, n_neg),
        "fnr": (fn, n_pos),
        "tnr": (tn, n_neg),
        "ppv": (tp, tp + fp),
        "npv": (tn, tn + fn),
    }


def metrics_from_counts(
    counts: np.ndarray,
    pred: np.ndarray,
    *,
    score_sum: np.ndarray | None = None,
    sq_error_sum: np.ndarray | None = None,
    cal: np.ndarray | None = None,
    n_cal: int = 0,
) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` from count tensors of shape ``(..., 2, n_bins)``.

    Rates whose denominator is 0 are NaN. Calibration metrics are NaN unless the score sums
    are given (probability scores). Returns arrays of shape ``(...)``, plus
    ``"cal_observed"`` / ``"cal_expected"`` / ``"cal_n"`` of shape ``(..., n_cal)`` when
    calibration is available.

    Examples
    --------
    >>> c = np.array([[3, 1], [1, 5]])  # label 0 / label 1 rows, bins [below, above]
    >>> m = metrics_from_counts(c, np.array([False, True]))
    >>> float(m["tpr"]), float(m["fpr"]), float(m["selection_rate"])
    (0.8333333333333334, 0.25, 0.6)
    """
    counts = np.asarray(counts, dtype=float)
    neg = counts[..., 0, :]
    pos = counts[..., 1, :]
    rates = rate_counts(counts, pred)
    n_pos, n = rates["base_rate"]
    out = {name: safe_ratio(k, d) for name, (k, d) in rates.items()}
    out["auc"] = auc_from_counts(pos, neg)
    if score_sum is None or sq_error_sum is None or cal is None:
        nan = np.full(n.shape, np.nan)
        out.update(brier=nan, ece=nan.copy(), oe_ratio=nan.copy())
        return out
    expected_per_bin = score_sum.sum(axis=-2)
    onehot = np.zeros((cal.size, n_cal))
    onehot[np.arange(cal.size), cal] = 1.0
    cal_observed = pos @ onehot
    cal_expected = expected_per_bin @ onehot
    cal_n = (neg + pos) @ onehot
    # ECE = sum_k n_k/n |obs_k/n_k - exp_k/n_k| = sum_k |obs_k - exp_k| / n
    out["brier"] = safe_ratio(sq_error_sum.sum(axis=(-2, -1)), n)
    out["ece"] = safe_ratio(np.abs(cal_observed - cal_expected).sum(axis=-1), n)
    out["oe_ratio"] = safe_ratio(n_pos, expected_per_bin.sum(axis=-1))
    out["cal_observed"] = cal_observed
    out["cal_expected"] = cal_expected
    out["cal_n"] = cal_n
    return out


def exact_auc_by_group(group: np.ndarray, n_groups: int, rows: SortedRows) -> np.ndarray:
    """Exact Mann-Whitney AUC per group (ties count one half, as ``roc_auc_score``).

    ``group`` is in score order. A stable sort of these small integer codes (a linear-time
    radix sort) leaves each group's rows in score order; no second sort of the scores.
    Untied scores in a few groups take a shortcut (one masked pass per group).

    Examples
    --------
    >>> r = sort_rows(np.array([1, 0, 1, 1]), np.array([0.9, 0.1, 0.9, 0.1]), 0.5,
    ...               n_bins=10, calibration_bins=None)
    >>> exact_auc_by_group(np.array([0, 1, 0, 0]), 2, r).tolist()  # rows in score order
    [1.0, nan]
    """
    n = group.size
    if rows.n_unique == n and n_groups <= _FEW_GROUPS:
        # no tied scores and few groups: one masked pass per group beats regrouping rows;
        # an event's wins are the non-events of its group below it in score order
        wins = np.empty(n_groups)
        n_pos = np.empty(n_groups)
        for k in range(n_groups):
            label = rows.y[group == k]
            wins[k] = np.dot(label, np.cumsum(1 - label))
            n_pos[k] = label.sum()
        return safe_ratio(wins, n_pos * (np.bincount(group, minlength=n_groups) - n_pos))
    small = np.int16 if n_groups < np.iinfo(np.int16).max else np.int64
    # stable: within a group rows stay in score order, so the gathers below run forwards
    by_group = np.argsort(group.astype(small, copy=False), kind="stable")  # radix sort
    label = rows.y[by_group].astype(float)
    group_size = np.bincount(group, minlength=n_groups)
    if rows.n_unique == n:  # no tied scores: every row is its own cell
        pos, neg = label, 1.0 - label
        cell_group = np.repeat(np.arange(n_groups), group_size)
    else:  # one cell per (group, distinct score)
        assert rows.code is not None  # set whenever scores are tied
        code = rows.code[by_group]
        group_end = np.cumsum(group_size)
        cell_start = np.empty(n, dtype=bool)
        cell_start[:1] = True
        np.not_equal(code[1:], code[:-1], out=cell_start[1:])
        cell_start[(group_end - group_size)[group_size > 0]] = True
        starts = np.flatnonzero(cell_start)
        pos = np.add.reduceat(label, starts)
        neg = np.diff(np.r_[starts, n]) - pos
        cell_group = np.searchsorted(group_end, starts, side="right")
    # wins of a cell's events: non-events in earlier cells of the same group + half the ties.
    # The running count spans all groups; each group then sheds the non-events of the groups
    # before it, once per event. Everything is a (half-)integer below 2**53: exact.
    wins = np.bincount(cell_group, weights=pos * (np.cumsum(neg) - 0.5 * neg), minlength=n_groups)
    n_pos = np.bincount(cell_group, weights=pos, minlength=n_groups)
    n_neg = np.bincount(cell_group, weights=neg, minlength=n_groups)
    wins -= n_pos * (np.cumsum(n_neg) - n_neg)
    return safe_ratio(wins, n_pos * n_neg)


def bootstrap_metrics(
    tensor: CountTensor,
    rows: SortedRows,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of every metric, shape ``(n_boot, n_groups)``.

    Each group's cells are resampled on their own (a row bootstrap stratified by group), so
    a small group keeps its size. Score sums of a resampled cell are its count times the
    cell's mean score (exact when a bin holds one distinct score).
    """
    counts = tensor.counts
    n_groups, _, n_bins = counts.shape
    flat = counts.reshape(n_groups, 2 * n_bins)
    calibrated = tensor.score_sum is not None and rows.cal is not None
    if calibrated:
        mean_score = np.nan_to_num(safe_ratio(tensor.score_sum, counts))
        mean_sq_error = np.nan_to_num(safe_ratio(tensor.sq_error_sum, counts))
    chunk = max(1, _CHUNK_ELEMENTS // max(1, flat.size))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        draws = multinomial_resample(flat, m, rng).reshape(m, n_groups, 2, n_bins)
        if calibrated:
            part = metrics_from_counts(
                draws,
                rows.pred,
                score_sum=draws * mean_score,
                sq_error_sum=draws * mean_sq_error,
                cal=rows.cal,
                n_cal=rows.n_cal,
            )
        else:
            part = metrics_from_counts(draws, rows.pred)
        parts.append(part)
    # calibration-bin rates have exact intervals from the point counts: no replicates kept
    keep = [key for key in parts[0] if not key.startswith("cal_")]
    return {key: np.concatenate([p[key] for p in parts]) for key in keep}
