"""Rates at several thresholds, overall and by group, from one count pass per threshold.

A reviewer choosing an operational threshold asks what each candidate does: how many
people are flagged, how many incidents would be among them, how many people without one,
and whether that differs by group. :func:`rates_at_thresholds` answers that for any
number of thresholds without refitting or re-explaining anything: each threshold is one
``np.bincount`` over (group, label, flagged) cells, and every rate gets the package's
exact interval (:mod:`riskmodels.metrics._intervals`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodels._validation import (
    as_float_vector,
    check_finite,
    check_labels_and_scores,
    check_level,
    raise_problems,
)
from riskmodels.errors import Problem
from riskmodels.fairness._groups import build_groupings, sensitive_columns
from riskmodels.metrics._intervals import proportion_interval

__all__ = ["THRESHOLD_COLUMNS", "THRESHOLD_METRICS", "rates_at_thresholds"]

#: Each rate and its (numerator, denominator) in cells of label (0/1) x flagged (0/1).
THRESHOLD_METRICS = {
    "selection_rate": "flagged among everyone",
    "tpr": "flagged among people with an event (sensitivity)",
    "fpr": "flagged among people without an event",
    "fnr": "not flagged among people with an event (missed)",
    "ppv": "people with an event among those flagged",
}
THRESHOLD_COLUMNS = (
    "threshold",
    "attribute",
    "group",
    "n",
    "metric",
    "value",
    "lo",
    "hi",
    "numerator",
    "denominator",
)


def rates_at_thresholds(
    y_true: object,
    y_score: object,
    sensitive_features: pd.Series | pd.DataFrame | None = None,
    *,
    thresholds: object,
    intersections: bool = False,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Selection rate, TPR, FPR, FNR and PPV at each threshold, overall and by group.

    Parameters
    ----------
    y_true : array-like of 0/1
    y_score : array-like of float
        Flagged iff ``y_score >= threshold`` (the package's one convention).
    sensitive_features : Series or DataFrame, optional
        One column per protected attribute, matched to the rows by position; without it,
        only the ``"all"`` rows.
    thresholds : sequence of float
        The candidate thresholds (finite numbers); reported in ascending order, each once.
    intersections : bool, default False
        Also every pair of attributes (and all of them, with three or more).
    confidence : float, default 0.95
        Level of the exact (Clopper-Pearson) interval of every rate.

    Returns
    -------
    pandas.DataFrame
        Long format, columns :data:`THRESHOLD_COLUMNS`: one row per threshold, group and
        metric (:data:`THRESHOLD_METRICS`); ``attribute`` is ``"all"`` for everyone. A
        rate with a zero denominator is NaN with NaN bounds, never 0.

    Raises
    ------
    riskmodels.errors.SchemaError
        Listing every bad input: labels that are not 0/1, missing scores, mismatched
        lengths, a threshold that is not a finite number, a level outside (0, 1).

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> score = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    >>> t = rates_at_thresholds(y, score, thresholds=[0.3, 0.5])
    >>> t[t.metric == "tpr"][["threshold", "value", "numerator", "denominator"]]
       threshold     value  numerator  denominator
    1        0.3  1.000000          3            3
    6        0.5  0.666667          2            3
    """
    y, s, problems = check_labels_and_scores(
        y_true, y_score, hint="score every row before comparing thresholds"
    )
    cuts, more = as_float_vector(np.atleast_1d(np.asarray(thresholds, dtype=object)), "thresholds")
    problems += more
    if cuts is not None:
        problems += check_finite(cuts, "thresholds", "pass finite numbers")
        if cuts.size == 0:
            problems.append(Problem("thresholds", "no thresholds", "pass at least one"))
    problems += check_level(confidence, "confidence")
    raise_problems(problems, "Invalid input to rates_at_thresholds")
    assert y is not None and s is not None and cuts is not None
    cuts = np.unique(cuts)  # ascending, each once
    labels = y.astype(np.int64)
    everyone = [("all", np.zeros(labels.size, dtype=np.int64), ("all",))]
    groupings = []
    if sensitive_features is not None:
        columns = sensitive_columns(sensitive_features, labels.size)
        groupings = build_groupings(columns, intersections=intersections)
    frames = []
    for name, codes, group_labels in everyone + [(g.name, g.codes, g.labels) for g in groupings]:
        base = codes.astype(np.int64) * 4 + labels * 2  # int64: any number of groups
        size = len(group_labels) * 4
        for t in cuts:
            cells = np.bincount(base + (s >= t), minlength=size).reshape(-1, 2, 2)
            frames.append(_rates(float(t), name, group_labels, cells, float(confidence)))
    return pd.concat(frames, ignore_index=True)[list(THRESHOLD_COLUMNS)]


def _rates(
    threshold: float,
    attribute: str,
    labels: tuple[str, ...],
    cells: np.ndarray,
    confidence: float,
) -> pd.DataFrame:
    """The long rows of one attribute at one threshold from its (group, label, flag) cells."""
    tn, fp, fn, tp = cells[:, 0, 0], cells[:, 0, 1], cells[:, 1, 0], cells[:, 1, 1]
    n = tn + fp + fn + tp
    parts = {
        "selection_rate": (fp + tp, n),
        "tpr": (tp, tp + fn),
        "fpr": (fp, fp + tn),
        "fnr": (fn, tp + fn),
        "ppv": (tp, tp + fp),
    }
    num = np.stack([p[0] for p in parts.values()], axis=1)  # (groups, metrics)
    den = np.stack([p[1] for p in parts.values()], axis=1)
    lo, hi = proportion_interval(num, den, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    keep = n > 0  # a group with no rows in this audit has nothing to report
    k = len(parts)
    return pd.DataFrame(
        {
            "threshold": threshold,
            "attribute": attribute,
            "group": np.repeat(np.asarray(labels, dtype=object)[keep], k),
            "n": np.repeat(n[keep], k),
            "metric": np.tile(np.array(list(parts), dtype=object), int(keep.sum())),
            "value": value[keep].ravel(),
            "lo": lo[keep].ravel(),
            "hi": hi[keep].ravel(),
            "numerator": num[keep].ravel(),
            "denominator": den[keep].ravel(),
        }
    )
