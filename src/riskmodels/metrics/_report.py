"""Estimates with uncertainty and the performance report that collects them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from riskmodels._json import JsonForms
from riskmodels._validation import check_int, check_level, raise_problems
from riskmodels.errors import Problem, SchemaError
from riskmodels.metrics._bootstrap import (
    EXACT_MAX_DISTINCT,
    N_SCORE_BINS,
    RATE_METRICS,
    bootstrap_replicates,
    build_cell_table,
    replicate_metrics,
)
from riskmodels.metrics._intervals import (
    PROPORTION_METHOD,
    percentile_interval,
    proportion_interval,
    separation_bounds,
)
from riskmodels.metrics._performance import (
    BOTH_CLASS_METRICS,
    _auc,
    _average_precision,
    _brier,
    _brier_skill,
    _calibration,
    _check_threshold,
    _confusion_counts,
    _confusion_rates,
    _ece,
    _oe_ratio,
    _reliability,
    _roc_points,
    _Rows,
    _validate,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STATUSES", "Estimate", "PerformanceReport", "performance_report", "roc_auc_ci"]

#: The statuses of every estimate in the package (:class:`Estimate`, the fairness audit's
#: groups and long table, the paired AUC gain): ``ok`` (defined and judged), ``sparse``
#: (defined, but from a group too small to judge by the adequacy rule: shown, never
#: judged) and ``undefined`` (cannot be computed on these rows: NaN, with a reason).
STATUSES = ("ok", "sparse", "undefined")
#: Statuses written by riskmodels before 0.3, read as their current names.
LEGACY_STATUSES = {
    "insufficient_evidence": "undefined",
    "not_probabilities": "undefined",
    "small_group": "sparse",
}
#: Metrics that are only meaningful for probabilities in [0, 1].
CALIBRATION_METRICS = frozenset(
    {
        "brier",
        "brier_skill",
        "ece_uniform",
        "ece_quantile",
        "calibration_slope",
        "calibration_intercept",
        "oe_ratio",
    }
)
#: The metrics of a report, in report order.
REPORT_METRICS = (
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
#: Bins of the report's ECE and reliability diagrams.
REPORT_ECE_BINS = 10
#: Points of the report's ROC curve.
REPORT_ROC_POINTS = 500


def _encode(x: Any) -> Any:
    """A float as plain JSON: NaN -> None, +-inf -> "inf"/"-inf" (JSON has neither)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def _decode(x: Any) -> Any:
    if x is None:
        return math.nan
    if x in ("inf", "-inf"):
        return float(x)
    return x


@dataclass(frozen=True, eq=False)
class Estimate:
    """A metric's value with its confidence interval, sample size and status.

    Parameters
    ----------
    value : float
        The point estimate, computed exactly; NaN unless ``status == "ok"`` (or the fit
        did not exist, see the metric).
    lo, hi : float
        The confidence interval, by the package's one rule
        (:mod:`riskmodels.metrics._intervals`): for a rate, the exact (Clopper-Pearson)
        interval from its counts, never zero-width; for any other measure, the percentile
        bootstrap interval, NaN when not computed (``n_boot=0``) or when more than
        ``1 - confidence`` of the replicates leave the measure undefined.
    n : int
        Rows in the metric's denominator (all rows; events for TPR; selected rows for PPV).
    status : {"ok", "sparse", "undefined"}
        See :data:`STATUSES`.
    reason : str
        Why the status is not ``ok``, in words (empty when it is).

    Notes
    -----
    Two estimates are equal when their fields are equal with NaN equal to NaN, so a JSON
    round trip compares equal.

    Examples
    --------
    >>> import json
    >>> e = Estimate(value=float("nan"), lo=float("nan"), hi=float("nan"), n=1,
    ...              status="undefined", reason="fewer than 2 events or 2 non-events")
    >>> e.to_dict()["value"] is None
    True
    >>> Estimate.from_dict(json.loads(json.dumps(e.to_dict()))) == e
    True
    """

    value: float
    lo: float
    hi: float
    n: int
    status: str = "ok"
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise SchemaError(
                Problem("status", f"is {self.status!r}", hint=f"use one of {STATUSES}"),
                context="Invalid Estimate",
            )
        # plain Python types, so that to_dict() is JSON-ready whatever numpy passed in
        for name in ("value", "lo", "hi"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; NaN becomes None."""
        return {
            "value": _encode(self.value),
            "lo": _encode(self.lo),
            "hi": _encode(self.hi),
            "n": self.n,
            "status": self.status,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Estimate:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                value=_decode(data["value"]),
                lo=_decode(data["lo"]),
                hi=_decode(data["hi"]),
                n=data["n"],
                status=LEGACY_STATUSES.get(data["status"], data["status"]),
                reason=data.get("reason", ""),
            )
        except (KeyError, TypeError) as exc:
            raise SchemaError(
                Problem(None, f"malformed estimate {dict(data)!r} ({exc!r})"),
                context="Cannot read Estimate",
            ) from exc

    def _key(self) -> tuple[Any, ...]:
        return tuple(self.to_dict().values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Estimate):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _encode_tree(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _encode_tree(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_encode_tree(v) for v in x]
    return _encode(x)


def _decode_tree(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _decode_tree(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_decode_tree(v) for v in x]
    return _decode(x)


_SCALARS = ("n", "n_pos", "n_neg", "prevalence", "threshold", "n_boot", "confidence", "status")


@dataclass(frozen=True, eq=False)
class PerformanceReport(JsonForms):
    """Performance of a risk score on labelled data, every metric with its uncertainty.

    Build it with :func:`performance_report`.

    Attributes
    ----------
    n, n_pos, n_neg : int
        Rows, events and non-events.
    prevalence : float
    threshold : float
        Predicted positive iff ``y_prob >= threshold``.
    n_boot : int
    confidence : float
    metrics : dict[str, Estimate]
        ``auc``, ``average_precision``, ``brier``, ``brier_skill``, ``ece_uniform``,
        ``ece_quantile``, ``calibration_slope``, ``calibration_intercept``, ``oe_ratio``,
        ``tpr``, ``fpr``, ``fnr``, ``tnr``, ``ppv``, ``npv``, ``selection_rate``,
        ``accuracy``.
    confusion : dict[str, int]
        ``tp``, ``fp``, ``tn``, ``fn`` at the threshold.
    reliability : dict
        ``status`` and, for ``uniform`` and ``quantile`` 10-bin strategies, the output of
        :func:`~riskmodels.metrics.reliability_curve` (empty lists when the scores are not
        probabilities).
    roc : dict
        ``fpr``, ``tpr``, ``thresholds`` (at most 500 points; empty lists with insufficient
        evidence).
    status : {"ok", "undefined"}
        ``undefined`` with fewer than 2 events or 2 non-events.
    ci_method : str
        How the intervals were computed, in words (for model cards).
    """

    n: int
    n_pos: int
    n_neg: int
    prevalence: float
    threshold: float
    n_boot: int
    confidence: float
    metrics: dict[str, Estimate]
    confusion: dict[str, int]
    reliability: dict[str, Any] = field(repr=False)
    roc: dict[str, Any] = field(repr=False)
    status: str = "ok"
    ci_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (``json.dumps(..., allow_nan=False)`` works); NaN becomes None.

        Examples
        --------
        >>> import json
        >>> r = performance_report([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.7], threshold=0.5,
        ...                        n_boot=20, random_state=0)
        >>> PerformanceReport.from_dict(json.loads(json.dumps(r.to_dict()))) == r
        True
        """
        out: dict[str, Any] = {k: _encode(getattr(self, k)) for k in _SCALARS}
        out["ci_method"] = self.ci_method
        out["metrics"] = {k: e.to_dict() for k, e in self.metrics.items()}
        out["confusion"] = dict(self.confusion)
        out["reliability"] = _encode_tree(self.reliability)
        out["roc"] = _encode_tree(self.roc)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerformanceReport:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                **{k: _decode(data[k]) for k in _SCALARS if k != "status"},
                status=LEGACY_STATUSES.get(data["status"], data["status"]),
                ci_method=data.get("ci_method", ""),
                metrics={k: Estimate.from_dict(v) for k, v in data["metrics"].items()},
                confusion={k: int(v) for k, v in data["confusion"].items()},
                reliability=_decode_tree(data["reliability"]),
                roc=_decode_tree(data["roc"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SchemaError(
                Problem(None, f"malformed performance report ({exc!r})"),
                context="Cannot read PerformanceReport",
            ) from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PerformanceReport):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # holds dicts: mutable content

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: ``metric, value, lo, hi, n, status``.

        Examples
        --------
        >>> r = performance_report([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.7], threshold=0.5,
        ...                        n_boot=0)
        >>> frame = r.to_frame()
        >>> frame.columns.tolist()
        ['metric', 'value', 'lo', 'hi', 'n', 'status']
        >>> frame.iloc[0]["metric"], float(frame.iloc[0]["value"])
        ('auc', 1.0)
        """
        import pandas as pd  # only this view needs pandas; the engine is pure numpy

        return pd.DataFrame(
            [
                {
                    "metric": k,
                    "value": e.value,
                    "lo": e.lo,
                    "hi": e.hi,
                    "n": e.n,
                    "status": e.status,
                }
                for k, e in self.metrics.items()
            ],
            columns=["metric", "value", "lo", "hi", "n", "status"],
        )


def _check_bootstrap_args(n_boot: Any, confidence: Any, func: str) -> None:
    raise_problems(
        check_int(n_boot, "n_boot", minimum=0) + check_level(confidence),
        f"Invalid argument to {func}",
    )


def _ci_method(n_boot: int, confidence: float, exact: bool) -> str:
    rates = f"{confidence:.0%} intervals: rates (TPR, FPR, PPV, ...) by the {PROPORTION_METHOD}"
    if n_boot == 0:
        return f"{rates}; no bootstrap for the other metrics (n_boot=0); point estimates exact"
    cells = (
        "one cell per distinct score and label (exact row bootstrap)"
        if exact
        else f"{N_SCORE_BINS} equal-mass score bins x label (binned row bootstrap)"
    )
    return (
        f"{rates}; other metrics by the percentile bootstrap, {n_boot} replicates drawn as "
        f"multinomials over {cells}; point estimates exact"
    )


def _rng(random_state: Any) -> np.random.Generator:
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            Problem(
                "random_state",
                f"cannot seed a generator with {random_state!r}",
                hint="pass None, an int or a numpy Generator",
            ),
            context="Invalid argument",
        ) from exc


#: Why a report's metric is undefined, in words (cards and gate reasons quote it).
NOT_PROBABILITIES = "the scores are not probabilities in [0, 1]"
TOO_FEW_CLASSES = "fewer than 2 events or 2 non-events"


def _estimate(name: str, value: float, ci: tuple[float, float], n: int, rows: _Rows) -> Estimate:
    if name in CALIBRATION_METRICS and not rows.is_probability:
        reason = NOT_PROBABILITIES
    elif name in BOTH_CLASS_METRICS and not rows.both_classes:
        reason = TOO_FEW_CLASSES
    elif n == 0:
        reason = "no rows in its denominator"
    elif math.isnan(value):
        reason = "not defined on these rows"
    else:
        return Estimate(value, ci[0], ci[1], n)
    return Estimate(math.nan, math.nan, math.nan, n, "undefined", reason)


def performance_report(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    threshold: float,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> PerformanceReport:
    """Discrimination, calibration and threshold metrics, each with a bootstrap CI.

    Point estimates are exact (see :func:`roc_auc`, :func:`ece`, ...). The rates at the
    threshold (``tpr``, ``fpr``, ``fnr``, ``tnr``, ``ppv``, ``npv``, ``selection_rate``,
    ``accuracy``) get the exact (Clopper-Pearson) interval of their counts, with or without
    a bootstrap: it never claims certainty (0 false positives out of 88 reads
    [0, 0.041], not [0, 0]) and covers at least nominally at any size. The other metrics
    get percentile intervals of an ordinary (unstratified, n fixed) row bootstrap, drawn
    as multinomials over a score-bin x label count table: exact with at most 2048 distinct
    scores, otherwise over 2048 equal-mass score bins (see ``ci_method``). A replicate
    where a metric is undefined is left out; if more than ``1 - confidence`` of them are,
    the interval is NaN.

    With fewer than 2 events or 2 non-events the report's status is ``"undefined"`` and
    every metric that compares the classes is NaN with that status; so is a rate with a
    zero denominator, and every calibration metric of scores outside [0, 1]. Each such
    estimate's ``reason`` says why.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for an event, 0 for a non-event.
    y_prob : array-like of shape (n,)
        Predicted probability of an event.
    threshold : float
        Predicted positive iff ``y_prob >= threshold``.
    n_boot : int, default 1000
        Bootstrap replicates; 0 for no bootstrap intervals (rates keep their exact ones).
    confidence : float, default 0.95
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    PerformanceReport

    Raises
    ------
    riskmodels.errors.SchemaError
        Wrong shapes, non-binary ``y_true``, missing or infinite values, bad arguments.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=500)
    >>> y = rng.binomial(1, p)
    >>> r = performance_report(y, p, threshold=0.5, n_boot=200, random_state=0)
    >>> r.status, r.metrics["auc"].status, r.metrics["auc"].lo < r.metrics["auc"].hi
    ('ok', 'ok', True)
    >>> auc = performance_report([0, 1, 0], [0.2, 0.8, 0.4], threshold=0.5).metrics["auc"]
    >>> auc.status, auc.reason
    ('undefined', 'fewer than 2 events or 2 non-events')
    """
    threshold = _check_threshold(threshold, "performance_report")
    _check_bootstrap_args(n_boot, confidence, "performance_report")
    confidence = float(confidence)
    rng = _rng(random_state)
    rows = _validate(y_true, y_prob, func="performance_report")
    is_prob = rows.is_probability

    counts = _confusion_counts(rows, threshold)
    tp, fp, tn, fn = (counts[k] for k in ("tp", "fp", "tn", "fn"))
    slope, intercept = _calibration(rows) if is_prob else (math.nan, math.nan)
    point: dict[str, float] = {
        "auc": _auc(rows),
        "average_precision": _average_precision(rows),
        "brier": _brier(rows) if is_prob else math.nan,
        "brier_skill": _brier_skill(rows) if is_prob else math.nan,
        "ece_uniform": _ece(rows, REPORT_ECE_BINS, "uniform") if is_prob else math.nan,
        "ece_quantile": _ece(rows, REPORT_ECE_BINS, "quantile") if is_prob else math.nan,
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "oe_ratio": _oe_ratio(rows) if is_prob else math.nan,
        **{k: float(v) for k, v in _confusion_rates(tp, fp, tn, fn).items()},
    }
    n = len(rows.p)
    denominators = {
        "tpr": tp + fn,
        "fnr": tp + fn,
        "fpr": fp + tn,
        "tnr": fp + tn,
        "ppv": tp + fp,
        "npv": tn + fn,
    }

    # rates have exact intervals from their counts; only the other reported metrics need
    # bootstrap replicates
    numerators = {
        "tpr": tp,
        "fnr": fn,
        "fpr": fp,
        "tnr": tn,
        "ppv": tp,
        "npv": tn,
        "selection_rate": tp + fp,
        "accuracy": tp + tn,
    }
    rate_names = list(numerators)
    rate_lo, rate_hi = proportion_interval(
        [numerators[k] for k in rate_names],
        [denominators.get(k, n) for k in rate_names],
        confidence,
    )
    intervals = {k: (math.nan, math.nan) for k in REPORT_METRICS}
    intervals.update(
        {k: (float(a), float(b)) for k, a, b in zip(rate_names, rate_lo, rate_hi, strict=True)}
    )
    wanted = [
        k
        for k in REPORT_METRICS
        if k not in RATE_METRICS
        and not (k in CALIBRATION_METRICS and not is_prob)
        and not (k in BOTH_CLASS_METRICS and not rows.both_classes)
        and not math.isnan(point[k])
    ]
    exact = rows.distinct[0].size <= EXACT_MAX_DISTINCT
    if n_boot > 0 and wanted:
        table = build_cell_table(
            rows.y, rows.p, threshold=None, n_ece_bins=REPORT_ECE_BINS if is_prob else None
        )
        exact = table.exact
        start = (0.0, 1.0)
        if "calibration_slope" in wanted:
            # the binned full-sample fit: replicates start next to their optimum
            full = replicate_metrics(
                table,
                table.pos[None],
                table.neg[None],
                ["calibration_slope", "calibration_intercept"],
            )
            if np.isfinite(full["calibration_slope"][0]):
                start = (
                    float(full["calibration_intercept"][0]),
                    float(full["calibration_slope"][0]),
                )
        reps = bootstrap_replicates(table, wanted, n_boot, rng, calibration_start=start)
        for k, v in reps.items():
            lo, hi = percentile_interval(v, confidence)
            intervals[k] = (float(lo), float(hi))
        if "auc" in reps:
            intervals["auc"] = _separation(point["auc"], intervals["auc"], rows, confidence)

    metrics = {
        k: _estimate(k, point[k], intervals[k], denominators.get(k, n), rows)
        for k in REPORT_METRICS
    }
    reliability: dict[str, Any] = {"status": "ok" if is_prob else "undefined"}
    for strategy in ("uniform", "quantile"):
        if is_prob:
            reliability[strategy] = _reliability(rows, REPORT_ECE_BINS, strategy)
        else:
            reliability[strategy] = {
                "strategy": strategy,
                "n_bins": REPORT_ECE_BINS,
                "bin_lower": [],
                "bin_upper": [],
                "mean_predicted": [],
                "observed_rate": [],
                "count": [],
            }
    return PerformanceReport(
        n=n,
        n_pos=round(rows.n_pos),
        n_neg=round(rows.n_neg),
        prevalence=rows.n_pos / n,
        threshold=threshold,
        n_boot=int(n_boot),
        confidence=confidence,
        metrics=metrics,
        confusion=counts,
        reliability=reliability,
        roc=_roc_points(rows, REPORT_ROC_POINTS),
        status="ok" if rows.both_classes else "undefined",
        ci_method=_ci_method(int(n_boot), confidence, exact),
    )


def roc_auc_ci(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> Estimate:
    """ROC AUC with a percentile bootstrap interval (the AUC part of
    :func:`performance_report`, without the other metrics).

    Parameters
    ----------
    y_true, y_prob
        As in :func:`roc_auc`.
    n_boot : int, default 1000
    confidence : float, default 0.95
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    Estimate
        NaN with status ``undefined`` with fewer than 2 events or 2 non-events.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.binomial(1, 0.3, size=400)
    >>> score = rng.normal(size=400) + y
    >>> est = roc_auc_ci(y, score, n_boot=500, random_state=0)
    >>> est.n, est.status, est.lo < est.value < est.hi
    (400, 'ok', True)
    """
    _check_bootstrap_args(n_boot, confidence, "roc_auc_ci")
    rng = _rng(random_state)
    rows = _validate(y_true, y_prob, func="roc_auc_ci")
    value = _auc(rows)
    ci = (math.nan, math.nan)
    if n_boot > 0 and rows.both_classes:
        table = build_cell_table(rows.y, rows.p)
        reps = bootstrap_replicates(table, ["auc"], n_boot, rng)["auc"]
        lo, hi = percentile_interval(reps, float(confidence))
        ci = _separation(value, (float(lo), float(hi)), rows, float(confidence))
    return _estimate("auc", value, ci, len(rows.p), rows)


def _separation(
    auc: float, ci: tuple[float, float], rows: _Rows, confidence: float
) -> tuple[float, float]:
    """The AUC interval, with the exact bound where perfect separation collapses it."""
    lo, hi = separation_bounds(auc, ci[0], ci[1], rows.n_pos, rows.n_neg, confidence)
    return float(lo), float(hi)
