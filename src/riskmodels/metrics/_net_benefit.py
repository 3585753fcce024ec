"""Net benefit and decision curves (Vickers & Elkin 2006), from the count core.

Net benefit at threshold ``t`` is ``TP/n - FP/n * t / (1 - t)``: the true positives
gained by acting at ``score >= t``, less the false positives weighted by the odds at which
someone choosing ``t`` would trade one for the other. A model is worth acting on at ``t``
when its net benefit exceeds both acting on everyone and acting on no one (0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodels._validation import (
    as_float_vector,
    check_int,
    check_labels_and_scores,
    check_level,
    raise_problems,
)
from riskmodels.errors import Problem

__all__ = ["DECISION_CURVE_COLUMNS", "DEFAULT_GRID", "decision_curve", "net_benefit"]

#: Columns of :func:`decision_curve`.
DECISION_CURVE_COLUMNS = ("threshold", "strategy", "net_benefit", "lo", "hi", "n")
#: The default grid of thresholds (probabilities): 1% to 50%.
DEFAULT_GRID = tuple(np.round(np.arange(0.01, 0.505, 0.01), 2).tolist())


def _rows(y_true: Any, y_score: Any, name: str = "y_score") -> tuple[np.ndarray, np.ndarray]:
    y, s, problems = check_labels_and_scores(y_true, y_score, name)
    raise_problems(problems, "Invalid input to decision_curve")
    assert y is not None and s is not None
    return y.astype(np.int64), s


def _grid(thresholds: Any) -> np.ndarray:
    t, problems = as_float_vector(np.atleast_1d(np.asarray(thresholds, dtype=object)), "thresholds")
    if t is not None and not ((t > 0) & (t < 1)).all():
        problems.append(
            Problem("thresholds", "values outside (0, 1)", "net benefit needs 0 < t < 1")
        )
    raise_problems(problems, "Invalid input to decision_curve")
    assert t is not None
    return np.unique(t)


def net_benefit(above_pos: np.ndarray, above_neg: np.ndarray, n: Any, t: np.ndarray) -> Any:
    """Net benefit from the events and non-events at or above each threshold.

    Examples
    --------
    >>> float(net_benefit(30, 70, 1000, np.float64(0.1)))  # 3% - 7% * 1/9
    0.02222222222222222
    """
    return above_pos / n - above_neg / n * (t / (1.0 - t))


def _curve(
    y: np.ndarray,
    s: np.ndarray,
    t: np.ndarray,
    strategy: str,
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
) -> list[pd.DataFrame]:
    """Net benefit of acting at ``s >= t`` (and, for the first score, of acting on all),
    with percentile intervals of a multinomial bootstrap over (interval, label) cells."""
    from riskmodels.metrics._counts import multinomial_resample
    from riskmodels.metrics._intervals import percentile_interval

    # each row's bin: how many thresholds it reaches; NB at t_j needs only the counts of
    # bins >= j+1, so the 2 x (T + 1) cells are exact for every threshold
    bins = np.searchsorted(t, s, side="right")
    k = t.size + 1
    cells = np.bincount(bins * 2 + y, minlength=2 * k)
    n = y.size

    def above(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = c.reshape(*c.shape[:-1], k, 2)
        tail = np.flip(np.cumsum(np.flip(c, axis=-2), axis=-2), axis=-2)  # bins >= j
        return tail[..., 1:, 1], tail[..., 1:, 0]  # at or above t_j: bins >= j + 1

    pos, neg = above(cells)
    point = {strategy: net_benefit(pos, neg, n, t)}
    prevalence = cells[1::2].sum() / n
    point["act on all"] = prevalence - (1 - prevalence) * t / (1 - t)
    lo = {k_: np.full(t.size, np.nan) for k_ in point}
    hi = {k_: np.full(t.size, np.nan) for k_ in point}
    if n_boot > 0:
        reps = multinomial_resample(cells, n_boot, rng)
        bpos, bneg = above(reps)
        boot = {strategy: net_benefit(bpos, bneg, n, t)}
        bprev = reps[:, 1::2].sum(axis=1, keepdims=True) / n
        boot["act on all"] = bprev - (1 - bprev) * t / (1 - t)
        for key, r in boot.items():
            lo[key], hi[key] = percentile_interval(r, confidence)
    return [
        pd.DataFrame(
            {
                "threshold": t,
                "strategy": key,
                "net_benefit": point[key],
                "lo": lo[key],
                "hi": hi[key],
                "n": n,
            }
        )
        for key in point
    ]


def decision_curve(
    y_true: Any,
    y_score: Any,
    *,
    thresholds: Any = DEFAULT_GRID,
    others: dict[str, Any] | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Net benefit across thresholds: the model, other scores, act on all, act on none.

    Parameters
    ----------
    y_true : array-like of 0/1
    y_score : array-like
        The model's probabilities (acting at ``y_score >= t``).
    thresholds : sequence of float in (0, 1), default 1% to 50% by 1%
    others : dict, optional
        Name -> scores of other strategies on the same rows (e.g. ``{"baseline": ...}``).
    n_boot : int, default 1000
        Bootstrap replicates for each curve's percentile interval (0: none), drawn as
        multinomials over (threshold interval x label) cells: exact for net benefit.
    confidence : float, default 0.95
    random_state : int, Generator or None

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DECISION_CURVE_COLUMNS`; ``strategy`` is ``"model"``, each name in
        ``others``, ``"act on all"`` and ``"act on none"`` (net benefit 0 by definition,
        no interval).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.beta(1, 9, 5000)
    >>> y = (rng.random(5000) < p).astype(int)
    >>> dc = decision_curve(y, p, thresholds=[0.1, 0.2], n_boot=200, random_state=0)
    >>> at = dc[dc.threshold == 0.1].set_index("strategy")["net_benefit"]
    >>> bool(at["model"] > max(at["act on all"], at["act on none"]))
    True
    """
    y, s = _rows(y_true, y_score)
    t = _grid(thresholds)
    raise_problems(
        check_int(n_boot, "n_boot", minimum=0) + check_level(confidence),
        "Invalid input to decision_curve",
    )
    rng = np.random.default_rng(random_state)
    frames = _curve(y, s, t, "model", n_boot, confidence, rng)
    for name, other in (others or {}).items():
        _, o = _rows(y, other, name)
        frames += _curve(y, o, t, name, n_boot, confidence, rng)[:1]
    nan = np.full(t.size, np.nan)
    frames.append(
        pd.DataFrame(
            {
                "threshold": t,
                "strategy": "act on none",
                "net_benefit": 0.0,
                "lo": nan,
                "hi": nan,
                "n": y.size,
            }
        )
    )
    return pd.concat(frames, ignore_index=True)[list(DECISION_CURVE_COLUMNS)]
