"""Pure-numpy core shared by performance metrics and the fairness audit.

Everything here works on *counts* (or weights) rather than rows, vectorised over any
leading axes (replicates, groups), so that bootstrap replicates and groups cost one
array operation, not one Python call each.

Conventions
-----------
* Score bins are ordered by ascending score. ``pos[..., k]`` / ``neg[..., k]`` count the
  events / non-events whose score falls in bin ``k``. When each bin holds one distinct
  score value (exact binning) the AUC below equals the Mann-Whitney AUC with ties
  counted as one half, i.e. scikit-learn's ``roc_auc_score``.
* A ratio whose denominator is 0 is NaN, never 0.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "auc_from_counts",
    "exact_bins",
    "multinomial_resample",
    "quantile_bin_of_cells",
    "quantile_bins",
    "quantile_first_rows",
    "safe_ratio",
]


def safe_ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    """``num / den`` elementwise, NaN where ``den == 0`` (an undefined rate, not 0).

    Examples
    --------
    >>> safe_ratio(np.array([1.0, 0.0]), np.array([4.0, 0.0])).tolist()
    [0.25, nan]
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    with np.errstate(over="ignore"):  # a huge ratio is inf, as IEEE says; not a warning
        np.divide(num, den, out=out, where=den != 0)
    return out


def auc_from_counts(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC from per-score-bin counts, vectorised over leading axes.

    Parameters
    ----------
    pos, neg : ndarray of shape (..., n_bins)
        Counts (or non-negative weights) of events and non-events per ascending score bin.

    Returns
    -------
    ndarray of shape (...)
        P(score_event > score_nonevent) + 0.5 P(tie); NaN where there are no events or
        no non-events.

    Examples
    --------
    >>> round(float(auc_from_counts(np.array([0, 1, 2]), np.array([2, 1, 0]))), 4)
    0.9444
    """
    pos = np.asarray(pos, dtype=float)
    neg = np.asarray(neg, dtype=float)
    neg_below = np.cumsum(neg, axis=-1) - neg
    wins = np.sum(pos * (neg_below + 0.5 * neg), axis=-1)
    return safe_ratio(wins, pos.sum(axis=-1) * neg.sum(axis=-1))


def exact_bins(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One bin per distinct score value.

    Returns ``(bin_index_per_row, bin_values)``; with these bins every count-based metric
    is exact.
    """
    values, inverse = np.unique(np.asarray(scores, dtype=float), return_inverse=True)
    return inverse.ravel(), values


def quantile_bin_of_cells(counts: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-mass bin of each ordered cell: the package's one quantile-bin rule.

    Rank the rows by score; a cell (one distinct score, or any run of rows that must stay
    together) whose cumulative count is ``c`` out of ``n`` goes to the bin of its *last*
    row, ``min((c - 1) * n_bins // n, n_bins - 1)``. A cell therefore never straddles a bin
    edge, and a bin is empty when one cell holds more than ``n / n_bins`` rows.
    :func:`quantile_bins`, :func:`riskmodels.metrics.ece` with ``strategy="quantile"``, its
    bootstrap replicates and the fairness audit's score bins all use this rule
    (the audit through :func:`quantile_first_rows`, the same rule read from the rows).

    Parameters
    ----------
    counts : ndarray of int, shape (..., n_cells)
        Rows per ascending cell; leading axes (e.g. bootstrap replicates) are independent
        and may have different totals.
    n_bins : int

    Returns
    -------
    ndarray of int64, same shape as ``counts``
        Non-decreasing along the last axis.

    Examples
    --------
    >>> quantile_bin_of_cells(np.array([1, 1, 5, 1]), 4).tolist()
    [0, 0, 3, 3]
    """
    cum = np.cumsum(np.asarray(counts, dtype=np.int64), axis=-1)
    total = np.maximum(cum[..., -1:], 1)
    return np.clip((cum - 1) * n_bins // total, 0, n_bins - 1)


def quantile_first_rows(n_rows: int, n_bins: int) -> np.ndarray:
    """The rule of :func:`quantile_bin_of_cells` read from rows sorted by score.

    A cell whose last row (0-based) is ``r`` lies in bin ``floor(r * n_bins / n_rows)``,
    so bin ``k`` (``k = 1 .. n_bins - 1``) starts with the cell that holds row
    ``ceil(k * n_rows / n_bins)``; bins that come out empty simply merge. A sorted scan
    finds the bin edges with ``n_bins - 1`` look-ups instead of labelling every row.

    Returns
    -------
    ndarray of int64, shape (n_bins - 1,)
        Non-decreasing row positions (``n_rows`` can appear when bins are empty).

    Examples
    --------
    >>> quantile_first_rows(8, 4).tolist()  # rows 0-1, 2-3, 4-5, 6-7
    [2, 4, 6]
    >>> quantile_first_rows(5, 2).tolist()  # bin 1 starts at row 3: row 2 ends bin 0
    [3]
    """
    k = np.arange(1, n_bins, dtype=np.int64)
    return -(-k * np.int64(n_rows) // n_bins)


def quantile_bins(scores: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n_bins`` ordered bins with roughly equal mass.

    Each distinct score is a cell of :func:`quantile_bin_of_cells`: ties never straddle a
    bin edge (edges are distinct score values), so binning only merges neighbouring scores;
    the binned AUC differs from the exact one only by pairs that fall in the same bin and
    are counted as half-ties. Empty bins are dropped and the rest renumbered from 0.

    Returns
    -------
    (bin_index_per_row, upper_edge_per_bin)

    Examples
    --------
    >>> index, upper = quantile_bins(np.array([0.1, 0.2, 0.2, 0.3, 0.9, 0.9]), 3)
    >>> index.tolist(), upper.tolist()
    ([0, 1, 1, 1, 2, 2], [0.1, 0.3, 0.9])
    """
    scores = np.asarray(scores, dtype=float)
    values, inverse = np.unique(scores, return_inverse=True)
    inverse = inverse.ravel()
    if values.size <= n_bins:
        return inverse, values
    counts = np.bincount(inverse, minlength=values.size)
    used, value_bin = np.unique(quantile_bin_of_cells(counts, n_bins), return_inverse=True)
    upper = np.full(used.size, -np.inf)
    np.maximum.at(upper, value_bin, values)
    return value_bin[inverse], upper


def multinomial_resample(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap a count table: ``n_boot`` multinomial draws of ``counts.sum()`` rows.

    A row bootstrap of n rows is exactly a multinomial draw over the cells of the table
    with probabilities ``counts / n``, so resampling cells costs O(cells), not O(rows).

    Parameters
    ----------
    counts : ndarray of int, shape (n_cells,) or (n_strata, n_cells)
        Cell counts. With 2 dimensions each stratum (e.g. a group) is resampled on its
        own with its own size, so small groups keep their size.
    n_boot : int
        Number of replicates.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64 with shape (n_boot, *counts.shape)

    Examples
    --------
    >>> draws = multinomial_resample(np.array([3, 1]), 5, np.random.default_rng(0))
    >>> draws.shape, set(draws.sum(axis=1).tolist())
    ((5, 2), {4})
    """
    counts = np.asarray(counts, dtype=np.int64)
    squeeze = counts.ndim == 1
    table = counts[None, :] if squeeze else counts
    totals = table.sum(axis=1)
    pvals = safe_ratio(table, totals[:, None])
    pvals = np.where(np.isnan(pvals), 0.0, pvals)  # an empty stratum draws 0 rows
    # one call for every stratum: numpy broadcasts the sizes and probabilities
    out = rng.multinomial(totals, pvals, size=(n_boot, table.shape[0]))
    return out[:, 0, :] if squeeze else out
