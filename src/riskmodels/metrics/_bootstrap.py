"""Bootstrap confidence intervals by resampling a count table instead of rows.

A row bootstrap of n rows is a multinomial draw of n over the rows; grouping identical
rows into cells turns it into a multinomial over the cells with ``p = counts / n``. The
cells here are *score bin x label*, ordered by score:

* with at most :data:`EXACT_MAX_DISTINCT` distinct scores each bin is one distinct score,
  every row in a cell is identical, and each replicate's metrics equal the metrics of the
  corresponding resampled rows exactly;
* otherwise scores are grouped into :data:`N_SCORE_BINS` equal-mass bins
  (:func:`~riskmodels.metrics.quantile_bins`), split further at the uniform ECE edges and
  at the decision threshold so that those stay exact. Within a cell the rows are
  represented by their mean probability, mean squared probability and mean logit, so
  Brier, O/E, uniform ECE and the confusion rates are still exact at the observed counts;
  AUC and average precision count the pairs inside one bin as ties (an error below
  ``0.5 / N_SCORE_BINS`` in AUC), and quantile ECE and the calibration fits see each
  bin's rows at their mean.

Point estimates are always computed exactly from the rows elsewhere; this module only
supplies the replicates. All metrics of all replicates are computed with array
operations over a (replicates x cells) table; replicates are processed in chunks so the
table stays around :data:`CHUNK_ELEMENTS` numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from riskmodels.metrics._counts import (
    auc_from_counts,
    multinomial_resample,
    quantile_bin_of_cells,
    quantile_bins,
    safe_ratio,
)
from riskmodels.metrics._performance import (
    MIN_CLASS_COUNT,
    _ap_from_counts,
    _confusion_rates,
    _logistic_fit,
    _logit,
    _uniform_bin,
)

__all__ = [
    "CHUNK_ELEMENTS",
    "EXACT_MAX_DISTINCT",
    "N_SCORE_BINS",
    "CellTable",
    "bootstrap_replicates",
    "build_cell_table",
    "replicate_metrics",
]

#: Up to this many distinct scores, every distinct score is its own bin (exact bootstrap).
EXACT_MAX_DISTINCT = 2048
#: Equal-mass score bins used above ``EXACT_MAX_DISTINCT`` distinct scores.
N_SCORE_BINS = 2048
#: Replicates are processed in chunks of about this many (replicate, cell) entries
#: (2 MB per float array): memory stays flat whatever ``n_boot``, and arrays this size
#: stay in cache, which measured faster than bigger chunks.
CHUNK_ELEMENTS = 1 << 18

RATE_METRICS = ("tpr", "fpr", "fnr", "tnr", "ppv", "npv", "selection_rate", "accuracy")


@dataclass(frozen=True)
class CellTable:
    """Rows grouped into ordered score bins, each split by label.

    Attributes
    ----------
    pos, neg : ndarray of int64, shape (K,)
        Events / non-events per ascending score bin.
    mean_p, mean_p2 : ndarray of shape (2, K)
        Per (label, bin) cell (row 0 non-events, row 1 events): the mean probability and
        mean squared probability of its rows (0 for empty cells).
    mean_logit : ndarray of shape (K,)
        Mean clipped logit of the rows of each score bin (the calibration fits' covariate;
        0 when the scores are not probabilities).
    uniform_bin : ndarray of int, shape (K,) or None
        The uniform ECE bin of each score bin (non-decreasing); None without ECE.
    above : ndarray of bool, shape (K,) or None
        Whether the bin's scores are ``>= threshold``; None without a threshold.
    n_ece_bins : int
    exact : bool
        Whether each bin is one distinct score.
    """

    pos: np.ndarray
    neg: np.ndarray
    mean_p: np.ndarray
    mean_p2: np.ndarray
    mean_logit: np.ndarray
    uniform_bin: np.ndarray | None
    above: np.ndarray | None
    n_ece_bins: int
    exact: bool


def build_cell_table(
    y: np.ndarray,
    p: np.ndarray,
    *,
    threshold: float | None = None,
    n_ece_bins: int | None = None,
    max_distinct: int = EXACT_MAX_DISTINCT,
    n_score_bins: int = N_SCORE_BINS,
) -> CellTable:
    """Group validated rows (``y`` in {0, 1}, finite ``p``) into an ordered cell table.

    ``n_ece_bins`` (needs ``p`` in [0, 1]) splits bins at the uniform ECE edges and
    ``threshold`` at the decision threshold, so those metrics stay exact under binning.
    """
    values, inverse = np.unique(p, return_inverse=True)
    inverse = inverse.ravel()
    exact = values.size <= max_distinct
    if exact:
        cell_of_value = np.arange(values.size)
    else:
        base_of_row, _ = quantile_bins(p, n_score_bins)
        base = np.empty(values.size, dtype=np.int64)
        base[inverse] = base_of_row
        # every key below is non-decreasing in the score, so the combined key is too and
        # the refined bins stay intervals of the score, in order
        key = base * 2
        if threshold is not None:
            key += values >= threshold
        if n_ece_bins is not None:
            key = key * n_ece_bins + _uniform_bin(values, n_ece_bins)
        _, cell_of_value = np.unique(key, return_inverse=True)
        cell_of_value = cell_of_value.ravel()
    cell_of_row = cell_of_value[inverse]
    n_bins = int(cell_of_value.max()) + 1
    label = y.astype(np.int64)
    cell = label * n_bins + cell_of_row
    counts = np.bincount(cell, minlength=2 * n_bins)

    def cell_mean(weights: np.ndarray) -> np.ndarray:
        sums = np.bincount(cell, weights=weights, minlength=2 * n_bins)
        mean = np.divide(sums, counts, out=np.zeros(2 * n_bins), where=counts > 0)
        return mean.reshape(2, n_bins)

    def bin_mean(weights: np.ndarray) -> np.ndarray:
        sums = np.bincount(cell_of_row, weights=weights, minlength=n_bins)
        return sums / np.bincount(cell_of_row, minlength=n_bins)  # no bin is empty

    uniform_bin = above = None
    if n_ece_bins is not None:
        uniform_bin = np.zeros(n_bins, dtype=np.int64)
        uniform_bin[cell_of_value] = _uniform_bin(values, n_ece_bins)
    if threshold is not None:
        above = np.zeros(n_bins, dtype=bool)
        above[cell_of_value] = values >= threshold
    in_unit = p.size > 0 and p.min() >= 0.0 and p.max() <= 1.0
    return CellTable(
        pos=counts[n_bins:].astype(np.int64),
        neg=counts[:n_bins].astype(np.int64),
        mean_p=cell_mean(p),
        mean_p2=cell_mean(p * p),
        mean_logit=bin_mean(_logit(p)) if in_unit else np.zeros(n_bins),
        uniform_bin=uniform_bin,
        above=above,
        n_ece_bins=int(n_ece_bins or 0),
        exact=exact,
    )


def _ece_quantile(table: CellTable, pos: np.ndarray, neg: np.ndarray, diff: np.ndarray):
    """Quantile ECE per replicate: the equal-mass bins are recomputed from each replicate's
    counts, as the point estimate would be on the resampled rows."""
    n_rep = pos.shape[0]
    b = table.n_ece_bins
    qbin = quantile_bin_of_cells(pos + neg, b)
    flat = (np.arange(n_rep)[:, None] * b + qbin).ravel()
    per_bin = np.bincount(flat, weights=diff.ravel(), minlength=n_rep * b).reshape(n_rep, b)
    return np.abs(per_bin).sum(axis=1)


def replicate_metrics(
    table: CellTable,
    pos: np.ndarray,
    neg: np.ndarray,
    names: Iterable[str],
    *,
    calibration_start: tuple[float, float] = (0.0, 1.0),
) -> dict[str, np.ndarray]:
    """The named metrics for each replicate of cell counts.

    Parameters
    ----------
    table : CellTable
    pos, neg : ndarray of int, shape (R, K)
        Events / non-events per score bin, one row per replicate.
    names : iterable of str
        Metric names as in :class:`~riskmodels.metrics.PerformanceReport`.
    calibration_start : (intercept, slope)
        Where Newton starts for the calibration fits (the full-sample fit makes a few
        iterations enough).

    Returns
    -------
    dict of name -> ndarray of shape (R,)
        NaN where the metric is undefined in that replicate, by the same rules as the
        point estimates (fewer than 2 events or non-events, zero denominators).
    """
    names = set(names)
    pos = np.asarray(pos, dtype=float)
    neg = np.asarray(neg, dtype=float)
    n_pos = pos.sum(axis=1)
    n_neg = neg.sum(axis=1)
    n = n_pos + n_neg
    both = (n_pos >= MIN_CLASS_COUNT) & (n_neg >= MIN_CLASS_COUNT)
    out: dict[str, np.ndarray] = {}

    def when_both(values: np.ndarray) -> np.ndarray:
        return np.where(both, values, np.nan)

    if "auc" in names:
        out["auc"] = when_both(auc_from_counts(pos, neg))
    if "average_precision" in names:
        out["average_precision"] = when_both(_ap_from_counts(pos, neg))
    if names & {"brier", "brier_skill"}:
        # sum over rows of (p - y)^2 = sum_cells count * (E p^2 - 2 y E p + y)
        sq = neg @ table.mean_p2[0] + pos @ (table.mean_p2[1] - 2.0 * table.mean_p[1] + 1.0)
        brier = sq / n
        out["brier"] = brier
        prevalence = n_pos / n
        with np.errstate(divide="ignore", invalid="ignore"):
            out["brier_skill"] = when_both(1.0 - brier / (prevalence * (1.0 - prevalence)))
    sum_p = neg * table.mean_p[0] + pos * table.mean_p[1]
    if "oe_ratio" in names:
        expected = sum_p.sum(axis=1)
        out["oe_ratio"] = safe_ratio(n_pos, expected)
    if names & {"ece_uniform", "ece_quantile"}:
        diff = sum_p - pos
        if "ece_uniform" in names:
            assert table.uniform_bin is not None
            # bins are contiguous runs of the ordered cells: sum each run at once
            starts = np.flatnonzero(np.diff(table.uniform_bin, prepend=-1))
            out["ece_uniform"] = np.abs(np.add.reduceat(diff, starts, axis=1)).sum(axis=1) / n
        if "ece_quantile" in names:
            out["ece_quantile"] = _ece_quantile(table, pos, neg, diff) / n
    if names & {"calibration_slope", "calibration_intercept"}:
        # grouped binomial fit: one covariate per score bin, shared by both labels
        fit = np.flatnonzero(both)
        slope = np.full(n.size, np.nan)
        intercept = np.full(n.size, np.nan)
        if fit.size:
            x, events, trials = table.mean_logit, pos[fit], pos[fit] + neg[fit]
            _, b = _logistic_fit(x, events, trials, fit_slope=True, start=calibration_start)
            a, _ = _logistic_fit(
                x, events, trials, fit_slope=False, start=(calibration_start[0], 1.0)
            )
            slope[fit] = b
            intercept[fit] = a
        out["calibration_slope"] = slope
        out["calibration_intercept"] = intercept
    if names & set(RATE_METRICS):
        assert table.above is not None
        tp = pos[:, table.above].sum(axis=1)
        fp = neg[:, table.above].sum(axis=1)
        rates = _confusion_rates(tp, fp, n_neg - fp, n_pos - tp)
        out.update({k: v for k, v in rates.items() if k in names})
    return {k: v for k, v in out.items() if k in names}


def bootstrap_replicates(
    table: CellTable,
    names: Iterable[str],
    n_boot: int,
    rng: np.random.Generator,
    *,
    calibration_start: tuple[float, float] = (0.0, 1.0),
) -> dict[str, np.ndarray]:
    """``n_boot`` row-bootstrap replicates of the named metrics, drawn as multinomials over
    the cells of ``table`` in chunks. Returns name -> array of shape (n_boot,)."""
    names = list(names)
    counts = np.concatenate([table.neg, table.pos])
    k = table.pos.size
    chunk = max(1, min(n_boot, CHUNK_ELEMENTS // counts.size))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start in range(0, n_boot, chunk):
        draws = multinomial_resample(counts, min(chunk, n_boot - start), rng)
        reps = replicate_metrics(
            table, draws[:, k:], draws[:, :k], names, calibration_start=calibration_start
        )
        for name in names:
            parts[name].append(reps[name])
    return {name: np.concatenate(parts[name]) if parts[name] else np.empty(0) for name in names}
