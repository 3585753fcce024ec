"""Plots of a :class:`~riskmodels.fairness.FairnessAudit`, in scikit-learn's Display style.

``XDisplay.from_audit(audit, ...)`` computes what to draw and calls :meth:`plot`, which
draws on ``ax`` (or a new figure) and stores ``ax_`` and ``figure_``. Groups that are not
``adequate`` are drawn with hollow markers and labelled, so a small group's wide interval
is never mistaken for evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskmodels.errors import DataQualityError, Problem, SchemaError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from riskmodels.fairness._audit import FairnessAudit

__all__ = ["ErrorRateDisplay", "GroupCalibrationDisplay"]

_RATE_METRICS = ("base_rate", "selection_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv")


def _pick_attribute(audit: FairnessAudit, attribute: str | None) -> str:
    names = list(audit.reference)
    if attribute is None:
        return names[0]
    if attribute not in names:
        raise SchemaError(
            Problem("attribute", f"unknown attribute {attribute!r}", f"use one of {names}"),
            context="Invalid argument",
        )
    return attribute


def _new_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    return ax


def _label(group: str, adequate: bool, status: str, reference: bool) -> str:
    label = group + (" (reference)" if reference else "")
    return label if adequate else f"{label} [{status}]"


class ErrorRateDisplay:
    """Rates by group with percentile-bootstrap CI bars, one colour per metric.

    Parameters
    ----------
    frame : DataFrame
        Rows of :attr:`FairnessAudit.by_group` for one attribute.
    attribute : str
    metrics : sequence of str
    confidence : float

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from riskmodels.fairness import audit
    >>> rng = np.random.default_rng(0)
    >>> s = rng.random(600)
    >>> a = audit((rng.random(600) < s).astype(int), s,
    ...           pd.Series(rng.choice(["a", "b", "c"], 600), name="g"),
    ...           threshold=0.5, n_boot=100, random_state=0)
    >>> disp = ErrorRateDisplay.from_audit(a, metrics=("fpr", "fnr"))
    >>> [t.get_text() for t in disp.ax_.get_yticklabels()]
    ['a', 'b', 'c (reference)']
    """

    def __init__(
        self, frame: pd.DataFrame, *, attribute: str, metrics: Sequence[str], confidence: float
    ) -> None:
        self.frame = frame
        self.attribute = attribute
        self.metrics = tuple(metrics)
        self.confidence = confidence

    @classmethod
    def from_audit(
        cls,
        audit: FairnessAudit,
        *,
        attribute: str | None = None,
        metrics: Sequence[str] = ("selection_rate", "tpr", "fpr", "fnr"),
        ax: Axes | None = None,
    ) -> ErrorRateDisplay:
        """Plot ``metrics`` for each group of ``attribute`` (default: the first one)."""
        attribute = _pick_attribute(audit, attribute)
        unknown = [m for m in metrics if m not in _RATE_METRICS]
        if unknown or not metrics:
            raise SchemaError(
                Problem("metrics", f"{list(metrics)}", f"choose among {_RATE_METRICS}"),
                context="Invalid argument",
            )
        frame = audit.by_group[audit.by_group["attribute"] == attribute].reset_index(drop=True)
        return cls(frame, attribute=attribute, metrics=metrics, confidence=audit.confidence).plot(
            ax=ax
        )

    def plot(self, *, ax: Axes | None = None) -> ErrorRateDisplay:
        """Draw on ``ax`` (a new figure when None); returns self with ``ax_``, ``figure_``."""
        ax = _new_axes(ax)
        n_groups, k = len(self.frame), len(self.metrics)
        rows = np.arange(n_groups)
        offsets = (np.arange(k) - (k - 1) / 2) * (0.6 / max(k, 1))
        adequate = self.frame["adequate"].to_numpy(dtype=bool)
        for j, metric in enumerate(self.metrics):
            value = self.frame[metric].to_numpy(dtype=float)
            lo = self.frame[f"{metric}_lo"].to_numpy(dtype=float)
            hi = self.frame[f"{metric}_hi"].to_numpy(dtype=float)
            err = np.vstack([value - lo, hi - value])
            err = np.where(np.isfinite(err), err, 0.0)
            y = rows + offsets[j]
            colour = f"C{j}"
            ax.errorbar(value, y, xerr=err, fmt="none", capsize=3, ecolor=colour)
            ax.scatter(value[adequate], y[adequate], color=colour, label=metric, zorder=3)
            ax.scatter(
                value[~adequate],
                y[~adequate],
                facecolors="none",
                edgecolors=colour,
                zorder=3,
            )
        ax.set_yticks(
            rows,
            [
                _label(r.group, r.adequate, r.status, r.is_reference)
                for r in self.frame.itertuples(index=False)
            ],
        )
        ax.invert_yaxis()
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel(f"rate ({round(self.confidence * 100)}% bootstrap CI)")
        ax.set_title(f"Rates by {self.attribute}")
        ax.legend(loc="best")
        self.ax_ = ax
        self.figure_: Figure = ax.figure
        return self


class GroupCalibrationDisplay:
    """Calibration curves by group: observed event rate against mean predicted probability
    in 10 equal-width bins, with CI bars, and the diagonal of perfect calibration.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from riskmodels.fairness import audit
    >>> rng = np.random.default_rng(0)
    >>> s = rng.random(600)
    >>> a = audit((rng.random(600) < s).astype(int), s,
    ...           pd.Series(rng.choice(["a", "b"], 600), name="g"),
    ...           threshold=0.5, n_boot=100, random_state=0)
    >>> disp = GroupCalibrationDisplay.from_audit(a)
    >>> len(disp.ax_.get_legend().get_texts())
    3
    """

    def __init__(
        self, frame: pd.DataFrame, groups: pd.DataFrame, *, attribute: str, confidence: float
    ) -> None:
        self.frame = frame
        self.groups = groups
        self.attribute = attribute
        self.confidence = confidence

    @classmethod
    def from_audit(
        cls, audit: FairnessAudit, *, attribute: str | None = None, ax: Axes | None = None
    ) -> GroupCalibrationDisplay:
        """Plot the calibration curve of each group of ``attribute`` (default: the first).

        Raises
        ------
        DataQualityError
            When the audited scores are not probabilities.
        """
        attribute = _pick_attribute(audit, attribute)
        if not audit.scores_are_probabilities:
            raise DataQualityError(
                "The audited scores are not probabilities in [0, 1], so there is no "
                "calibration curve. Audit calibrated probabilities to see one.",
                column="y_score",
            )
        frame = audit.calibration[audit.calibration["attribute"] == attribute]
        groups = audit.by_group[audit.by_group["attribute"] == attribute]
        return cls(
            frame.reset_index(drop=True),
            groups.reset_index(drop=True),
            attribute=attribute,
            confidence=audit.confidence,
        ).plot(ax=ax)

    def plot(self, *, ax: Axes | None = None) -> GroupCalibrationDisplay:
        """Draw on ``ax`` (a new figure when None); returns self with ``ax_``, ``figure_``."""
        ax = _new_axes(ax)
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        for r in self.groups.itertuples(index=False):
            rows = self.frame[(self.frame["group"] == r.group) & (self.frame["n"] > 0)]
            x = rows["mean_score"].to_numpy(dtype=float)
            y = rows["observed_rate"].to_numpy(dtype=float)
            err = np.vstack(
                [
                    y - rows["observed_lo"].to_numpy(dtype=float),
                    rows["observed_hi"].to_numpy(dtype=float) - y,
                ]
            )
            err = np.where(np.isfinite(err), err, 0.0)
            style = "-" if r.adequate else ":"
            ax.errorbar(
                x,
                y,
                yerr=err,
                fmt="o" + style,
                capsize=2,
                label=_label(r.group, r.adequate, r.status, r.is_reference),
                mfc=None if r.adequate else "none",
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel(f"observed rate ({round(self.confidence * 100)}% bootstrap CI)")
        ax.set_title(f"Calibration by {self.attribute}")
        ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_: Figure = ax.figure
        return self
