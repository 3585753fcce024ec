"""Exact performance metrics for a binary outcome and a predicted probability.

Every function here validates its input, then computes its metric exactly from the rows
(through one table of counts per distinct score; no binning). The count-level kernels
(``_ap_from_counts``, ``_logistic_fit``) are vectorised over
leading axes so the bootstrap in :mod:`riskmodels.metrics._bootstrap` reuses them for all
replicates at once.

Conventions
-----------
* ``y_true`` is 1 for an event, 0 for a non-event. ``y_prob`` is the predicted
  probability of an event (any real score for the ranking metrics).
* Predicted positive iff ``y_prob >= threshold`` (one convention everywhere).
* ``sample_weight`` are *frequency* weights: non-negative integers. A weighted metric equals
  the unweighted metric on the rows repeated ``weight`` times.
* A metric that needs both classes (:data:`BOTH_CLASS_METRICS`) is NaN when there are
  fewer than :data:`MIN_CLASS_COUNT` events or non-events; a rate whose denominator is 0
  is NaN. Undefined is never reported as 0.
* Calibration metrics need probabilities in [0, 1] and raise
  :class:`~riskmodels.errors.SchemaError` otherwise.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logit

from riskmodels._validation import (
    as_float_vector,
    check_binary_labels,
    check_finite,
    check_real,
    check_same_length,
    raise_problems,
)
from riskmodels.errors import Problem, SchemaError
from riskmodels.metrics._counts import auc_from_counts, quantile_bin_of_cells, safe_ratio

__all__ = [
    "BOTH_CLASS_METRICS",
    "LOGIT_CLIP",
    "MIN_CLASS_COUNT",
    "average_precision",
    "brier",
    "brier_skill",
    "calibration_slope_intercept",
    "confusion_at_threshold",
    "ece",
    "oe_ratio",
    "reliability_curve",
    "roc_auc",
    "roc_curve_points",
]

#: Fewer events (or non-events) than this and a metric that compares the classes is NaN:
#: one event gives an AUC of 0, 1 or a tie, which is not evidence of anything.
MIN_CLASS_COUNT = 2
#: Metrics that compare events with non-events (NaN below ``MIN_CLASS_COUNT``).
BOTH_CLASS_METRICS = frozenset(
    {"auc", "average_precision", "brier_skill", "calibration_slope", "calibration_intercept"}
)
#: Probabilities are clipped to [LOGIT_CLIP, 1 - LOGIT_CLIP] before taking logits, so that
#: a prediction of exactly 0 or 1 has a finite logit (about +-34.5), as in Van Calster 2019.
LOGIT_CLIP = 1e-15

Strategy = Literal["uniform", "quantile"]
_STRATEGIES = ("uniform", "quantile")

# Newton for the logistic recalibration fits. Far from the optimum a full Newton step can
# overshoot (the log-likelihood is concave but not quadratic); capping the step keeps the
# iteration monotone enough to converge, and near the optimum steps are tiny so the cap
# never binds and convergence stays quadratic.
_NEWTON_MAX_STEP = 5.0
_NEWTON_MAX_ITER = 100
_NEWTON_TOL = 1e-10
# a step this small (relative) after no log-likelihood gain is rounding, not progress
_NEWTON_FLOOR = 1e-7


# ---------------------------------------------------------------------------- validation


def _as_float_1d(x: Any, name: str, problems: list[Problem]) -> np.ndarray | None:
    """``x`` as a 1-D float array, or None with a problem appended."""
    arr, found = as_float_vector(x, name)
    problems += found
    return arr


def _check_labels(y: np.ndarray, problems: list[Problem]) -> None:
    problems += check_binary_labels(y, "y_true")


def _check_scores(p: np.ndarray, problems: list[Problem]) -> None:
    problems += check_finite(p, "y_prob", "score every row with a finite prediction")


def _check_weights(w: np.ndarray, problems: list[Problem]) -> None:
    finite = np.isfinite(w)
    if not finite.all():
        problems.append(Problem("sample_weight", "contains missing or infinite values"))
        return
    if (w < 0).any() or (w != np.round(w)).any():
        problems.append(
            Problem(
                "sample_weight",
                "must be non-negative integers (frequency weights)",
                hint="a weight of k counts the row k times",
            )
        )
    elif w.sum() == 0:
        problems.append(Problem("sample_weight", "sums to 0", hint="give some row a weight"))


class _Rows:
    """Validated rows, with the per-distinct-score count table computed once."""

    def __init__(self, y: np.ndarray, p: np.ndarray, w: np.ndarray) -> None:
        self.y = y
        self.p = p
        self.w = w
        self.total = float(w.sum())
        self.n_pos = float(np.dot(w, y))
        self.n_neg = self.total - self.n_pos

    @cached_property
    def is_probability(self) -> bool:
        return bool(self.p.min() >= 0.0 and self.p.max() <= 1.0)

    @property
    def both_classes(self) -> bool:
        return self.n_pos >= MIN_CLASS_COUNT and self.n_neg >= MIN_CLASS_COUNT

    @cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(values, inverse, pos, neg)``: ascending distinct scores, each row's index into
        them, and the (weighted) events and non-events per distinct score."""
        values, inverse = np.unique(self.p, return_inverse=True)
        inverse = inverse.ravel()
        pos = np.bincount(inverse, weights=self.w * self.y, minlength=values.size)
        neg = np.bincount(inverse, weights=self.w * (1.0 - self.y), minlength=values.size)
        return values, inverse, pos, neg


def _validate(
    y_true: Any, y_prob: Any, sample_weight: Any = None, *, func: str, probabilities: bool = False
) -> _Rows:
    """Check the inputs of ``func`` and report every problem at once."""
    problems: list[Problem] = []
    y = _as_float_1d(y_true, "y_true", problems)
    p = _as_float_1d(y_prob, "y_prob", problems)
    w = None if sample_weight is None else _as_float_1d(sample_weight, "sample_weight", problems)
    if y is not None:
        _check_labels(y, problems)
    if p is not None:
        _check_scores(p, problems)
    if w is not None:
        _check_weights(w, problems)
    arrays = {"y_true": y, "y_prob": p}
    if sample_weight is not None:
        arrays["sample_weight"] = w
    problems += check_same_length(arrays)
    if (
        probabilities
        and p is not None
        and p.size
        and np.isfinite(p).all()
        and (p.min() < 0 or p.max() > 1)
    ):
        problems.append(_not_probabilities_problem(p))
    if problems:
        raise SchemaError(problems, context=f"Invalid input to {func}")
    assert y is not None and p is not None  # every None above appended a problem
    return _Rows(y, p, np.ones_like(p) if w is None else w)


def _not_probabilities_problem(p: np.ndarray) -> Problem:
    return Problem(
        "y_prob",
        f"is not a probability (values from {p.min():.4g} to {p.max():.4g})",
        hint="pass predict_proba(X)[:, 1], or a calibrated score; ranking metrics "
        "(roc_auc, average_precision) accept any score",
    )


def _check_bins(n_bins: Any, strategy: Any, func: str) -> None:
    problems = []
    if not isinstance(n_bins, int | np.integer) or isinstance(n_bins, bool) or n_bins < 1:
        problems.append(Problem("n_bins", f"must be a positive integer, got {n_bins!r}"))
    if strategy not in _STRATEGIES:
        problems.append(Problem("strategy", f"must be 'uniform' or 'quantile', got {strategy!r}"))
    if problems:
        raise SchemaError(problems, context=f"Invalid argument to {func}")


def _check_threshold(threshold: Any, func: str) -> float:
    raise_problems(
        check_real(threshold, "threshold", "pass a finite number; positive iff score >= it"),
        f"Invalid argument to {func}",
    )
    return float(threshold)


# ------------------------------------------------------------------------ count kernels


def _ap_from_counts(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Average precision from per-ascending-score-bin counts, vectorised over leading axes.

    Thresholds run over the bins from the top; at bin ``k`` recall rises by
    ``pos[k] / P`` and precision is ``tps[k] / (tps[k] + fps[k])`` with everything at or
    above bin ``k`` predicted positive: scikit-learn's step-wise definition with tied
    scores forming one threshold.
    """
    pos = np.asarray(pos, dtype=float)
    neg = np.asarray(neg, dtype=float)
    tps = np.cumsum(pos[..., ::-1], axis=-1)[..., ::-1]
    fps = np.cumsum(neg[..., ::-1], axis=-1)[..., ::-1]
    # a bin with no rows adds no recall; zero its precision instead of 0/0
    precision = np.where(pos > 0, safe_ratio(tps, tps + fps), 0.0)
    return safe_ratio(np.sum(pos * precision, axis=-1), pos.sum(axis=-1))


def _uniform_bin(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin on [0, 1]: bin k holds ``edges[k] <= p < edges[k + 1]`` with
    ``edges = np.linspace(0, 1, n_bins + 1)``; the last bin also holds ``p == 1``."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)


def _logistic_fit(
    x: np.ndarray,
    events: np.ndarray,
    trials: np.ndarray,
    *,
    fit_slope: bool,
    start: tuple[float, float] = (0.0, 1.0),
    tol: float = _NEWTON_TOL,
) -> tuple[np.ndarray, np.ndarray]:
    """Grouped logistic regression by Newton's method, vectorised over samples.

    Fits ``logit P(y=1) = a + b x`` (``fit_slope=True``) or ``a + x`` (``x`` as an offset,
    slope fixed at 1) where group ``c`` has covariate ``x[c]``, ``trials[r, c]`` rows and
    ``events[r, c]`` events in sample ``r``. One row per group (``trials`` = weights,
    ``events`` = weight x label) gives the ordinary weighted fit; one sample per bootstrap
    replicate of a binned table fits all replicates at once.

    Parameters
    ----------
    x : ndarray of shape (C,)
    events, trials : ndarray of shape (R, C)
    fit_slope : bool
    start : (a, b)
        Starting point (``b`` ignored without a slope).
    tol : float
        Stop when the Newton step is below ``tol * (1 + |a| + |b|)``.

    Returns
    -------
    (a, b) : ndarrays of shape (R,)
        NaN where the fit does not exist or does not converge (separation, constant ``x``):
        a diverging estimate is not a number to report.
    """
    events = np.asarray(events, dtype=float)
    trials = np.asarray(trials, dtype=float)
    n_fits = trials.shape[0]
    a = np.full(n_fits, float(start[0]))
    b = np.full(n_fits, float(start[1]) if fit_slope else 1.0)
    # the last accepted point, its log-likelihood and the step taken from it
    base_a, base_b = a.copy(), b.copy()
    base_ll = np.full(n_fits, -np.inf)
    da, db, scale = np.zeros(n_fits), np.zeros(n_fits), np.ones(n_fits)
    converged = np.zeros(n_fits, dtype=bool)
    active = np.arange(n_fits)
    xx = x * x
    for _ in range(_NEWTON_MAX_ITER):
        if active.size == 0:
            break
        eta = a[active, None] + b[active, None] * x
        # one exp serves the log-likelihood, mu and mu (1 - mu), all without cancellation
        e = np.exp(-np.abs(eta))
        inv = 1.0 / (1.0 + e)
        softplus = np.maximum(eta, 0.0) + np.log1p(e)  # log(1 + exp(eta))
        ll = np.sum(events[active] * eta - trials[active] * softplus, axis=1)
        # Newton can overshoot badly when a few extreme logits dominate (clipped p of 0 or
        # 1): a step that lowers the log-likelihood is halved until it does not
        prev = base_ll[active]
        worse = ~(ll >= prev - 1e-12 * np.abs(prev))
        rej = active[worse]
        scale[rej] *= 0.5
        a[rej] = base_a[rej] + scale[rej] * da[rej]
        b[rej] = base_b[rej] + scale[rej] * db[rej]
        stalled = scale[rej] * np.maximum(np.abs(da[rej]), np.abs(db[rej])) <= _NEWTON_TOL * (
            1.0 + np.abs(base_a[rej]) + np.abs(base_b[rej])
        )
        a[rej[stalled]] = base_a[rej[stalled]]
        b[rej[stalled]] = base_b[rej[stalled]]
        converged[rej[stalled]] = True

        acc = active[~worse]
        base_a[acc], base_b[acc], base_ll[acc] = a[acc], b[acc], ll[~worse]
        t = trials[acc]
        e, inv, eta = e[~worse], inv[~worse], eta[~worse]
        mu = np.where(eta >= 0.0, inv, e * inv)
        resid = events[acc] - t * mu
        var = t * (e * inv * inv)
        g0 = resid.sum(axis=1)
        h00 = var.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if fit_slope:
                g1 = resid @ x
                h01 = var @ x
                h11 = var @ xx
                det = h00 * h11 - h01 * h01
                # relative test: a (near-)singular information matrix means constant x or
                # complete separation, where the slope is not identified
                singular = ~(det > 1e-12 * h00 * h11)
                step_a = (h11 * g0 - h01 * g1) / det
                step_b = (h00 * g1 - h01 * g0) / det
            else:
                singular = ~(h00 > 0)
                step_a = g0 / h00
                step_b = np.zeros_like(step_a)
            size = np.maximum(np.abs(step_a), np.abs(step_b))
            # far from the optimum a full step can be huge; cap it (halving does the rest)
            first = np.minimum(1.0, _NEWTON_MAX_STEP / size)
        ok = ~singular & np.isfinite(size)
        idx = acc[ok]
        da[idx], db[idx], scale[idx] = step_a[ok], step_b[ok], first[ok]
        a[idx] += scale[idx] * da[idx]
        b[idx] += scale[idx] * db[idx]
        magnitude = 1.0 + np.abs(a[acc]) + np.abs(b[acc])
        # near separation the information is tiny, so rounding in the gradient alone can
        # keep a step of ~1e-9 alive for ever: a step that is small and follows one that no
        # longer raised the log-likelihood is at the floating-point floor, i.e. converged
        gain = ll[~worse] - prev[~worse]
        at_floor = (size <= _NEWTON_FLOOR * magnitude) & (gain <= 1e-13 * np.abs(ll[~worse]))
        done = ok & ((size <= tol * magnitude) | at_floor)
        converged[acc[done]] = True
        active = np.concatenate([rej[~stalled], acc[ok & ~done]])
    a[~converged] = np.nan
    b[~converged] = np.nan
    return a, b


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, LOGIT_CLIP, 1.0 - LOGIT_CLIP))


# ------------------------------------------------------------- exact metrics on _Rows


def _auc(rows: _Rows) -> float:
    if not rows.both_classes:
        return np.nan
    _, _, pos, neg = rows.distinct
    return float(auc_from_counts(pos, neg))


def _average_precision(rows: _Rows) -> float:
    if not rows.both_classes:
        return np.nan
    _, _, pos, neg = rows.distinct
    return float(_ap_from_counts(pos, neg))


def _brier(rows: _Rows) -> float:
    return float(np.dot(rows.w, (rows.p - rows.y) ** 2) / rows.total)


def _brier_skill(rows: _Rows) -> float:
    if not rows.both_classes:
        return np.nan
    prevalence = rows.n_pos / rows.total
    return 1.0 - _brier(rows) / (prevalence * (1.0 - prevalence))


def _oe_ratio(rows: _Rows) -> float:
    return float(safe_ratio(rows.n_pos, np.dot(rows.w, rows.p)))


def _bin_rows(rows: _Rows, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return _uniform_bin(rows.p, n_bins)
    _, inverse, pos, neg = rows.distinct
    return quantile_bin_of_cells(pos + neg, n_bins)[inverse]


def _binned_sums(rows: _Rows, n_bins: int, strategy: str) -> tuple[np.ndarray, ...]:
    """Per bin: weight, sum of predictions and events."""
    bins = _bin_rows(rows, n_bins, strategy)
    count = np.bincount(bins, weights=rows.w, minlength=n_bins)
    sum_p = np.bincount(bins, weights=rows.w * rows.p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=rows.w * rows.y, minlength=n_bins)
    return bins, count, sum_p, sum_y


def _ece(rows: _Rows, n_bins: int, strategy: str) -> float:
    # sum_b (n_b / n) |mean_p_b - mean_y_b| = sum_b |sum_p_b - sum_y_b| / n
    _, _, sum_p, sum_y = _binned_sums(rows, n_bins, strategy)
    return float(np.abs(sum_p - sum_y).sum() / rows.total)


def _reliability(rows: _Rows, n_bins: int, strategy: str) -> dict[str, Any]:
    bins, count, sum_p, sum_y = _binned_sums(rows, n_bins, strategy)
    used = np.flatnonzero(count > 0)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        lower, upper = edges[used], edges[used + 1]
    else:
        lower = np.full(n_bins, np.inf)
        upper = np.full(n_bins, -np.inf)
        np.minimum.at(lower, bins, rows.p)
        np.maximum.at(upper, bins, rows.p)
        lower, upper = lower[used], upper[used]
    return {
        "strategy": strategy,
        "n_bins": int(n_bins),
        "bin_lower": lower.tolist(),
        "bin_upper": upper.tolist(),
        "mean_predicted": (sum_p[used] / count[used]).tolist(),
        "observed_rate": (sum_y[used] / count[used]).tolist(),
        "count": [int(c) for c in count[used]],
    }


def _calibration(rows: _Rows) -> tuple[float, float]:
    if not rows.both_classes:
        return np.nan, np.nan
    # one group per distinct score: the same fit as one per row, on fewer numbers
    values, _, pos, neg = rows.distinct
    x = _logit(values)
    events, trials = pos[None, :], (pos + neg)[None, :]
    _, slope = _logistic_fit(x, events, trials, fit_slope=True)
    intercept, _ = _logistic_fit(x, events, trials, fit_slope=False)
    return float(slope[0]), float(intercept[0])


def _confusion_rates(tp: Any, fp: Any, tn: Any, fn: Any) -> dict[str, np.ndarray]:
    """The rates at a threshold from confusion counts (any shape); NaN when undefined."""
    n = tp + fp + tn + fn
    return {
        "tpr": safe_ratio(tp, tp + fn),
        "fpr": safe_ratio(fp, fp + tn),
        "fnr": safe_ratio(fn, tp + fn),
        "tnr": safe_ratio(tn, fp + tn),
        "ppv": safe_ratio(tp, tp + fp),
        "npv": safe_ratio(tn, tn + fn),
        "selection_rate": safe_ratio(tp + fp, n),
        "accuracy": safe_ratio(tp + tn, n),
    }


def _confusion_counts(rows: _Rows, threshold: float) -> dict[str, int]:
    predicted = rows.p >= threshold
    wy = rows.w * rows.y
    wn = rows.w - wy
    tp = float(wy[predicted].sum())
    fp = float(wn[predicted].sum())
    return {
        "tp": round(tp),
        "fp": round(fp),
        "tn": round(rows.n_neg - fp),
        "fn": round(rows.n_pos - tp),
    }


def _roc_points(rows: _Rows, max_points: int) -> dict[str, list[float]]:
    if not rows.both_classes:
        return {"fpr": [], "tpr": [], "thresholds": []}
    values, _, pos, neg = rows.distinct
    # descending thresholds; the first point (0, 0) is "nothing predicted positive", whose
    # threshold is the next float above the top score (finite, so it survives JSON)
    tps = np.concatenate([[0.0], np.cumsum(pos[::-1])])
    fps = np.concatenate([[0.0], np.cumsum(neg[::-1])])
    thresholds = np.concatenate([[np.nextafter(values[-1], np.inf)], values[::-1]])
    # drop points on a straight segment between their neighbours: the curve is unchanged
    keep = np.flatnonzero(
        np.concatenate([[True], (np.diff(tps, 2) != 0) | (np.diff(fps, 2) != 0), [True]])
    )
    fpr = fps[keep] / rows.n_neg
    tpr = tps[keep] / rows.n_pos
    thresholds = thresholds[keep]
    if fpr.size > max_points:
        # keep points evenly spaced along the curve's length, so steep and flat parts are
        # both drawn faithfully
        length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(fpr), np.diff(tpr)))])
        targets = np.linspace(0.0, length[-1], max_points)
        pick = np.unique(np.searchsorted(length, targets).clip(0, fpr.size - 1))
        pick = np.union1d(pick[: max_points - 1], [fpr.size - 1])
        fpr, tpr, thresholds = fpr[pick], tpr[pick], thresholds[pick]
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds.tolist()}


# ---------------------------------------------------------------------- public functions


def roc_auc(
    y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted as one half).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for an event, 0 for a non-event.
    y_prob : array-like of shape (n,)
        Predicted probability or any score (higher = riskier).
    sample_weight : array-like of shape (n,), optional
        Non-negative integer frequency weights.

    Returns
    -------
    float
        Equal to ``sklearn.metrics.roc_auc_score``; NaN with fewer than 2 events or
        2 non-events.

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    return _auc(_validate(y_true, y_prob, sample_weight, func="roc_auc"))


def average_precision(
    y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Average precision: ``sum_k (R_k - R_{k-1}) P_k`` over descending distinct thresholds.

    Tied scores form one threshold, so the result equals
    ``sklearn.metrics.average_precision_score`` (no interpolation). NaN with fewer than 2
    events or 2 non-events.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As in :func:`roc_auc`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    return _average_precision(_validate(y_true, y_prob, sample_weight, func="average_precision"))


def brier(y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Brier score: mean squared difference between the probability and the outcome.

    Parameters
    ----------
    y_true, sample_weight
        As in :func:`roc_auc`.
    y_prob : array-like of shape (n,)
        Predicted probabilities in [0, 1]; anything else raises
        :class:`~riskmodels.errors.SchemaError`.

    Returns
    -------
    float
        Equal to ``sklearn.metrics.brier_score_loss``; lower is better.

    Examples
    --------
    >>> round(brier([0, 1], [0.2, 0.6]), 12)
    0.1
    """
    rows = _validate(y_true, y_prob, sample_weight, func="brier", probabilities=True)
    return _brier(rows)


def brier_skill(
    y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Brier skill score: ``1 - brier / brier_ref`` where ``brier_ref = prev (1 - prev)`` is
    the Brier score of predicting the observed prevalence for everyone.

    1 is perfect, 0 is no better than the prevalence, negative is worse. NaN with fewer
    than 2 events or 2 non-events.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As in :func:`brier`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(brier_skill([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9]), 4)
    0.85
    """
    rows = _validate(y_true, y_prob, sample_weight, func="brier_skill", probabilities=True)
    return _brier_skill(rows)


def ece(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Strategy = "uniform",
    sample_weight: ArrayLike | None = None,
) -> float:
    """Expected calibration error: ``sum_b (n_b / n) |mean(p)_b - mean(y)_b|``.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As in :func:`brier`.
    n_bins : int, default 10
    strategy : {"uniform", "quantile"}, default "uniform"
        ``"uniform"``: equal-width bins on [0, 1]; bin ``k`` holds
        ``edges[k] <= p < edges[k + 1]`` with ``edges = np.linspace(0, 1, n_bins + 1)``
        and the last bin also holds ``p == 1``.
        ``"quantile"``: equal-mass bins; rank rows by ``p`` and put each distinct value in
        the bin of its last row, ``min((c - 1) * n_bins // n, n_bins - 1)`` where ``c`` is
        the number of rows with a score ``<= p``. Ties never straddle bins, so a heavily
        tied score can leave a bin empty. Empty bins contribute nothing.

    Returns
    -------
    float

    Examples
    --------
    >>> round(ece([0, 1, 0, 1], [0.2, 0.4, 0.6, 0.8], n_bins=2), 4)
    0.2
    """
    _check_bins(n_bins, strategy, "ece")
    rows = _validate(y_true, y_prob, sample_weight, func="ece", probabilities=True)
    return _ece(rows, n_bins, strategy)


def reliability_curve(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Strategy = "uniform",
    sample_weight: ArrayLike | None = None,
) -> dict[str, Any]:
    """Reliability-diagram data: per non-empty bin, the mean prediction and observed rate.

    Parameters
    ----------
    y_true, y_prob, sample_weight, n_bins, strategy
        As in :func:`ece` (same bins).

    Returns
    -------
    dict
        ``strategy``, ``n_bins`` and lists with one entry per non-empty bin:
        ``bin_lower``/``bin_upper`` (the nominal edges for ``"uniform"``; the smallest and
        largest prediction in the bin for ``"quantile"``), ``mean_predicted``,
        ``observed_rate`` and ``count``. Plain JSON types only.

    Examples
    --------
    >>> curve = reliability_curve([0, 1, 0, 1], [0.2, 0.4, 0.6, 0.8], n_bins=2)
    >>> curve["mean_predicted"], curve["observed_rate"], curve["count"]
    ([0.30000000000000004, 0.7], [0.5, 0.5], [2, 2])
    """
    _check_bins(n_bins, strategy, "reliability_curve")
    rows = _validate(y_true, y_prob, sample_weight, func="reliability_curve", probabilities=True)
    return _reliability(rows, n_bins, strategy)


def calibration_slope_intercept(
    y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> tuple[float, float]:
    """Calibration slope and calibration-in-the-large (Van Calster et al. 2019).

    * slope ``b`` from the logistic recalibration ``logit P(y=1) = a + b logit(p)``;
      below 1 means predictions are too extreme (overfitting), above 1 too modest;
    * intercept ``a`` from ``logit P(y=1) = a + logit(p)`` (``logit(p)`` as an offset,
      slope fixed at 1): calibration-in-the-large, 0 when the predictions are right on
      average, negative when they overestimate risk.

    ``p`` is clipped to ``[1e-15, 1 - 1e-15]`` before the logit. Both are fitted by
    Newton's method.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As in :func:`brier`.

    Returns
    -------
    (slope, intercept) : tuple of float
        NaN with fewer than 2 events or 2 non-events, or when the fit does not exist
        (complete separation, constant predictions).

    Examples
    --------
    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 0, 0]
    >>> p = [0.2, 0.3, 0.4, 0.4, 0.6, 0.7, 0.6, 0.8, 0.1, 0.5]
    >>> slope, intercept = calibration_slope_intercept(y, p)
    >>> round(slope, 3), round(intercept, 3)
    (2.309, -0.297)
    """
    rows = _validate(
        y_true, y_prob, sample_weight, func="calibration_slope_intercept", probabilities=True
    )
    return _calibration(rows)


def oe_ratio(
    y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Observed / expected events: ``sum(y) / sum(p)``; 1 when calibrated in the large.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As in :func:`brier`.

    Returns
    -------
    float
        NaN when ``sum(p) == 0``.

    Examples
    --------
    >>> oe_ratio([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5])
    1.0
    """
    return _oe_ratio(_validate(y_true, y_prob, sample_weight, func="oe_ratio", probabilities=True))


def confusion_at_threshold(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    threshold: float,
    sample_weight: ArrayLike | None = None,
) -> dict[str, float | int]:
    """Confusion counts and rates with "predicted positive iff ``y_prob >= threshold``".

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As in :func:`roc_auc`.
    threshold : float

    Returns
    -------
    dict
        ``tp``, ``fp``, ``tn``, ``fn`` (int) and ``tpr``, ``fpr``, ``fnr``, ``tnr``,
        ``ppv``, ``npv``, ``selection_rate``, ``accuracy`` (float; NaN when the
        denominator is 0 — e.g. ``ppv`` when nobody is selected).

    Examples
    --------
    >>> c = confusion_at_threshold([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9], threshold=0.5)
    >>> c["tp"], c["fp"], c["tpr"], c["ppv"]
    (2, 1, 1.0, 0.6666666666666666)
    """
    threshold = _check_threshold(threshold, "confusion_at_threshold")
    rows = _validate(y_true, y_prob, sample_weight, func="confusion_at_threshold")
    counts = _confusion_counts(rows, threshold)
    rates = _confusion_rates(**{k: float(v) for k, v in counts.items()})
    return {**counts, **{k: float(v) for k, v in rates.items()}}


def roc_curve_points(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    max_points: int = 500,
    sample_weight: ArrayLike | None = None,
) -> dict[str, list[float]]:
    """ROC curve points for plotting, at most ``max_points`` of them.

    Points on a straight segment are dropped first (the curve is unchanged); if more than
    ``max_points`` remain, points evenly spaced along the curve's length are kept, always
    including both ends.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As in :func:`roc_auc`.
    max_points : int, default 500

    Returns
    -------
    dict
        ``fpr``, ``tpr``, ``thresholds`` (descending; a point is ``score >= threshold``;
        the first threshold is the next float above the top score, so the curve starts at
        (0, 0) with finite, JSON-safe values). Empty lists with fewer than 2 events or 2
        non-events.

    Examples
    --------
    >>> roc_curve_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])["tpr"]
    [0.0, 0.5, 0.5, 1.0, 1.0]
    """
    if not isinstance(max_points, int | np.integer) or max_points < 2:
        raise SchemaError(
            Problem("max_points", f"must be an integer >= 2, got {max_points!r}"),
            context="Invalid argument to roc_curve_points",
        )
    return _roc_points(
        _validate(y_true, y_prob, sample_weight, func="roc_curve_points"), max_points
    )
