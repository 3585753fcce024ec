"""Observed outcomes at each level of an ordinal score, by group.

Tools that publish risk levels rather than probabilities (deciles 1-10, "low / medium /
high" coded 1-3) are checked for calibration within groups by comparing, level by level,
the observed outcome rate of each group (Flores, Bechtel & Lowenkamp 2016 did this for
COMPAS deciles). :func:`outcomes_by_score` gives that table directly: one count pass, an
exact interval for every rate (the package's one rule for proportions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodels._validation import (
    check_labels_and_scores,
    check_level,
)
from riskmodels.errors import Problem, SchemaError
from riskmodels.fairness._groups import build_groupings, sensitive_columns
from riskmodels.metrics._intervals import proportion_interval

__all__ = ["outcomes_by_score"]

#: More distinct scores than this is a continuous score, not an ordinal one.
MAX_LEVELS = 100


def outcomes_by_score(
    y_true: object,
    y_score: object,
    sensitive_features: pd.Series | pd.DataFrame,
    *,
    intersections: bool = False,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Observed outcome rate at each distinct score level, overall and by group.

    Parameters
    ----------
    y_true : array-like of 0/1
    y_score : array-like
        An ordinal score with at most :data:`MAX_LEVELS` distinct values (e.g. deciles).
    sensitive_features : Series or DataFrame
        One column per protected attribute, matched to the rows by position.
    intersections : bool, default False
        Also every pair of attributes (and all of them, with three or more).
    confidence : float, default 0.95
        Level of the exact (Clopper-Pearson) interval of each observed rate.

    Returns
    -------
    pandas.DataFrame
        ``attribute, group, score, n, events, observed_rate, lo, hi``; ``attribute`` is
        ``"all"`` for the whole population. Levels a group does not have are left out.

    Raises
    ------
    SchemaError
        Mismatched lengths, labels that are not 0/1, or a score with too many levels.

    Examples
    --------
    >>> y = [0, 1, 0, 1, 1, 0, 0, 1]
    >>> decile = [1, 1, 2, 2, 2, 1, 2, 1]
    >>> sex = pd.Series(["F", "F", "F", "F", "M", "M", "M", "M"], name="sex")
    >>> t = outcomes_by_score(y, decile, sex)
    >>> print(t[t.attribute == "sex"][["group", "score", "n", "events"]].to_string(index=False))
    group  score  n  events
        F      1  2       1
        F      2  2       1
        M      1  2       1
        M      2  2       1
    """
    y, s, problems = check_labels_and_scores(
        y_true, y_score, hint="every row needs its score level"
    )
    problems += check_level(confidence)
    if problems:  # the levels of a score that cannot be read are not worth counting
        raise SchemaError(problems, context="Invalid input to outcomes_by_score")
    assert y is not None and s is not None
    # the levels as given (deciles stay integers in the table)
    levels, level_code = np.unique(np.asarray(y_score).ravel(), return_inverse=True)
    level_code = level_code.ravel()
    if levels.size > MAX_LEVELS:
        problems.append(
            Problem(
                "y_score",
                f"{levels.size:,} distinct values",
                f"an ordinal score has at most {MAX_LEVELS} levels; for probabilities use "
                "rm.fairness.audit, whose calibration table bins them",
            )
        )
    if problems:
        raise SchemaError(problems, context="Invalid input to outcomes_by_score")
    y = y.astype(np.int64)
    groupings = build_groupings(
        sensitive_columns(sensitive_features, y.size), intersections=intersections
    )
    frames = []
    k = levels.size
    everyone = [("all", np.zeros(y.size, dtype=np.int64), ("all",))]
    for name, codes, labels in everyone + [(g.name, g.codes, g.labels) for g in groupings]:
        cell = codes.astype(np.int64) * k + level_code  # int64: any number of groups
        n = np.bincount(cell, minlength=len(labels) * k)
        events = np.bincount(cell, weights=y, minlength=len(labels) * k).astype(np.int64)
        keep = n > 0
        lo, hi = proportion_interval(events[keep], n[keep], confidence)
        idx = np.flatnonzero(keep)
        frames.append(
            pd.DataFrame(
                {
                    "attribute": name,
                    "group": np.asarray(labels, dtype=object)[idx // k],
                    "score": levels[idx % k],
                    "n": n[keep],
                    "events": events[keep],
                    "observed_rate": events[keep] / n[keep],
                    "lo": lo,
                    "hi": hi,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
