"""Where to act on a score: decision curves, and thresholds chosen the way services work.

A score is useful only at the threshold where staff act on it. This module answers three
questions a reviewer or a service asks:

* **Does acting on the list do more good than acting on everyone, or on no one?**
  :func:`decision_curve`: net benefit (Vickers & Elkin 2006) across thresholds for the
  model, any other score (e.g. the simple baseline), act-on-all and act-on-none, each with a
  bootstrap interval. Net benefit at threshold ``t`` is ``TP/n - FP/n * t / (1 - t)``: the
  true positives gained, less the false positives weighted by the odds at which a person
  choosing ``t`` would trade one for the other.
* **Which threshold fits our capacity?** :func:`from_capacity`: the threshold that flags
  the share of people the service can review (``per_period`` of ``population``), with the
  documented tie rule (:func:`top_k_threshold`): never more than k are flagged silently.
* **Which threshold catches enough incidents?** :func:`from_sensitivity`: the highest
  threshold whose sensitivity on the held-out data reaches the target.

Each choice is a :class:`ThresholdChoice` that reports, at that point, the selection rate,
sensitivity, PPV and net benefit, and every group's FPR and FNR with exact intervals, so
the fairness audit is read where the model is used. Pass it as the threshold to
``model.assess(test, threshold=choice)``: the evidence (and so the release, its card and
its lists) records the threshold and how it was chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmodels._validation import (
    as_float_vector,
    check_finite,
    check_int,
    raise_problems,
)
from riskmodels.errors import Problem, SchemaError
from riskmodels.metrics._net_benefit import (
    DECISION_CURVE_COLUMNS,
    decision_curve,
    net_benefit,
)

if TYPE_CHECKING:
    from riskmodels.modeling import RiskModel

__all__ = [
    "DECISION_CURVE_COLUMNS",
    "ThresholdChoice",
    "decision_curve",
    "from_capacity",
    "from_sensitivity",
    "top_k_threshold",
]


def top_k_threshold(scores: Any, k: int) -> tuple[float, int]:
    """The threshold that flags the ``k`` highest scores, and how many it flags.

    Tie rule: when the k-th highest score is shared with people below the cut, flagging
    all of them would flag more than k; the threshold is then raised to the next higher
    distinct score, flagging fewer than k (the shortfall is returned, never hidden).
    Never more than k are flagged.

    Returns
    -------
    (threshold, flagged)
        ``threshold`` is ``inf`` when even the highest score is tied beyond k (nobody is
        flagged; a larger k or a finer score is needed).

    Examples
    --------
    >>> top_k_threshold([0.9, 0.8, 0.8, 0.7, 0.1], 2)  # 0.8 is tied: only 0.9 fits
    (0.9, 1)
    >>> top_k_threshold([0.9, 0.8, 0.8, 0.7, 0.1], 3)
    (0.8, 3)
    """
    s, problems = as_float_vector(scores, "scores")
    problems += check_int(k, "k", minimum=1)
    if s is not None:
        problems += check_finite(s, "scores", "score every row")
    raise_problems(problems, "Invalid input to top_k_threshold")
    assert s is not None
    values, counts = np.unique(s, return_counts=True)
    flagged_at = np.cumsum(counts[::-1])[::-1]  # flagged when acting at each value
    fits = np.flatnonzero(flagged_at <= k)
    if fits.size == 0:
        return math.inf, 0
    j = int(fits[0])
    return float(values[j]), int(flagged_at[j])


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold, how it was chosen, and what it does on the held-out data.

    ``float(choice)`` is the threshold, so it can be passed wherever a threshold is
    (``model.assess(test, threshold=choice)`` records the choice in the evidence).

    Attributes
    ----------
    threshold : float
    method : str
        ``"capacity"`` or ``"sensitivity"``.
    description : str
        How it was chosen, in words (shown on the card and the list).
    flagged, n : int
        People flagged at the threshold on the held-out data, and how many there were.
    readout : DataFrame
        At the threshold: selection rate, TPR, FPR, PPV overall and by protected group with
        exact intervals (``rm.fairness.rates_at_thresholds``), and the net benefit.
    """

    threshold: float
    method: str
    description: str
    flagged: int
    n: int
    readout: pd.DataFrame = field(repr=False)

    def __float__(self) -> float:
        return self.threshold

    def to_dict(self) -> dict[str, Any]:
        """The provenance stored with the evidence (no table)."""
        return {
            "threshold": self.threshold,
            "method": self.method,
            "description": self.description,
            "flagged": self.flagged,
            "n": self.n,
        }


def _scored(model: RiskModel, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, Any]:
    model._check_fitted("thresholds")
    spec = model.spec
    data = spec.validate(data, require_protected=False)
    y = data[spec.target].astype(int).to_numpy()
    protected = [c for c in spec.protected_names if c in data.columns]
    groups = data[protected] if protected else None
    return y, model._predict_proba(data), groups


def _choice(
    y: np.ndarray, s: np.ndarray, groups: Any, threshold: float, method: str, words: str
) -> ThresholdChoice:
    from riskmodels.fairness import rates_at_thresholds

    if math.isfinite(threshold):
        readout = rates_at_thresholds(y, s, groups, thresholds=[threshold])
        tp = int(((s >= threshold) & (y == 1)).sum())
        fp = int(((s >= threshold) & (y == 0)).sum())
        nb = net_benefit(tp, fp, y.size, np.float64(threshold)) if threshold < 1 else math.nan
        readout = pd.concat(
            [
                readout,
                pd.DataFrame(
                    [
                        {
                            "threshold": threshold,
                            "attribute": "all",
                            "group": "all",
                            "n": y.size,
                            "metric": "net_benefit",
                            "value": float(nb),
                            "lo": math.nan,
                            "hi": math.nan,
                            "numerator": tp,
                            "denominator": y.size,
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    else:
        readout = pd.DataFrame()
    return ThresholdChoice(
        threshold=float(threshold),
        method=method,
        description=words,
        flagged=int((s >= threshold).sum()),
        n=int(y.size),
        readout=readout,
    )


def from_capacity(
    model: RiskModel, data: pd.DataFrame, *, per_period: int, population: int
) -> ThresholdChoice:
    """The threshold that flags what the service can review: ``per_period`` people out of
    a ``population`` scored each period (e.g. 40 welfare reviews a month for 1,200
    people: the top 3.3%).

    On the held-out ``data`` (labelled, as for ``assess``), the threshold flags the top
    ``floor(n * per_period / population)`` people by :func:`top_k_threshold`'s tie rule
    (never more; the description says so when ties make it fewer).

    Examples
    --------
    >>> import riskmodels as rm
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=800, months=3, seed=1)
    >>> train, test = rm.split(frame, spec)
    >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
    >>> choice = from_capacity(model, test, per_period=40, population=1_200)
    >>> choice.flagged <= len(test) * 40 // 1_200, choice.method
    (True, 'capacity')
    """
    raise_problems(
        check_int(per_period, "per_period", minimum=1)
        + check_int(population, "population", minimum=1),
        "Invalid input to from_capacity",
    )
    if per_period > population:
        raise SchemaError(
            Problem(
                "per_period",
                f"{per_period} > population {population}",
                "the service cannot review more people than it scores",
            ),
            context="Invalid input to from_capacity",
        )
    y, s, groups = _scored(model, data)
    k = int(len(s) * per_period // population)
    threshold, flagged = top_k_threshold(s, max(k, 1))
    words = (
        f"capacity: {per_period:,} reviews per period for {population:,} people "
        f"({per_period / population:.1%}); on {len(s):,} held-out rows the top {k:,}"
    )
    if flagged < k:
        words += f" (ties at the cut: {flagged:,} flagged, never more than {k:,})"
    return _choice(y, s, groups, threshold, "capacity", words)


def from_sensitivity(
    model: RiskModel, data: pd.DataFrame, *, target: float = 0.8
) -> ThresholdChoice:
    """The highest threshold whose sensitivity (share of incidents flagged) on the
    held-out ``data`` is at least ``target``.

    Examples
    --------
    >>> import riskmodels as rm
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=800, months=3, seed=1)
    >>> train, test = rm.split(frame, spec)
    >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
    >>> choice = from_sensitivity(model, test, target=0.8)
    >>> tpr = choice.readout.query("metric == 'tpr' and attribute == 'all'")["value"]
    >>> bool(tpr.iloc[0] >= 0.8)
    True
    """
    if not (isinstance(target, float | int) and not isinstance(target, bool) and 0 < target <= 1):
        raise SchemaError(
            Problem("target", repr(target), "a sensitivity in (0, 1], e.g. 0.8"),
            context="Invalid input to from_sensitivity",
        )
    y, s, groups = _scored(model, data)
    events = np.sort(s[y == 1])[::-1]
    if events.size == 0:
        raise SchemaError(
            Problem(model.spec.target, "no events in the data", "sensitivity needs incidents"),
            context="Cannot choose a threshold by sensitivity",
        )
    need = math.ceil(target * events.size)
    threshold = float(events[need - 1])  # every event at or above it is flagged
    words = (
        f"sensitivity: at least {target:.0%} of the {events.size:,} incidents in "
        f"{len(s):,} held-out rows flagged"
    )
    return _choice(y, s, groups, threshold, "sensitivity", words)
