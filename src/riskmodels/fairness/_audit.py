"""The user-facing fairness audit: :func:`audit` and :class:`FairnessAudit`.

Tables are built here, at the edge; every number comes from the pure-numpy core in
:mod:`riskmodels.fairness._engine`.
"""

from __future__ import annotations

import dataclasses
import html
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmodels._json import JsonForms
from riskmodels._validation import (
    as_float_vector,
    check_binary_labels,
    check_finite,
    check_int,
    check_level,
    check_real,
    check_same_length,
    raise_problems,
)
from riskmodels.errors import Problem, SchemaError
from riskmodels.fairness._engine import (
    CALIBRATION_BINS,
    METRICS,
    N_SCORE_BINS,
    RATE_METRICS,
    SortedRows,
    bootstrap_metrics,
    count_tensor,
    exact_auc_by_group,
    metrics_from_counts,
    rate_counts,
    sort_rows,
)
from riskmodels.fairness._groups import (
    INTERSECTION_SEP,
    Grouping,
    build_groupings,
    sensitive_columns,
)
from riskmodels.fairness._serial import frame_from_payload, frame_to_payload
from riskmodels.metrics._counts import safe_ratio
from riskmodels.metrics._intervals import (
    oe_interval,
    percentile_interval,
    proportion_interval,
    rate_contrast_bounds,
    separation_bounds,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "BY_GROUP_COLUMNS",
    "CALIBRATION_COLUMNS",
    "DISPARITY_COLUMNS",
    "DISPARITY_METRICS",
    "FairnessAudit",
    "Gap",
    "audit",
]

#: metrics compared with the reference group in :attr:`FairnessAudit.disparities`
DISPARITY_METRICS = ("selection_rate", "tpr", "fpr", "fnr", "ppv", "npv", "auc", "ece")

BY_GROUP_COLUMNS = (
    "attribute",
    "group",
    "n",
    "n_pos",
    "n_neg",
    "status",
    "adequate",
    "is_reference",
    *[f"{m}{suffix}" for m in METRICS for suffix in ("", "_lo", "_hi")],
    "calibration_status",
)
DISPARITY_COLUMNS = (
    "attribute",
    "group",
    "reference",
    "metric",
    "value",
    "reference_value",
    "difference",
    "difference_lo",
    "difference_hi",
    "ratio",
    "ratio_lo",
    "ratio_hi",
    "n",
    "reference_n",
    "status",
    "adequate",
)
CALIBRATION_COLUMNS = (
    "attribute",
    "group",
    "bin",
    "bin_lower",
    "bin_upper",
    "n",
    "mean_score",
    "observed_rate",
    "observed_lo",
    "observed_hi",
)
_LONG_COLUMNS = ("attribute", "group", "metric", "value", "lo", "hi", "n", "status", "adequate")
_SCHEMA = "riskmodels.fairness.FairnessAudit/1"


@dataclass(frozen=True)
class Gap:
    """The largest disparity of one metric among adequate comparisons.

    ``status`` is ``"ok"`` or ``"undefined"`` (no adequate group to compare:
    every number is then NaN and ``group`` is None). The maximum over groups is a selected
    value, so it is biased away from 0; read it with its interval.
    """

    metric: str
    attribute: str | None
    group: str | None
    reference: str | None
    difference: float
    difference_lo: float
    difference_hi: float
    ratio: float
    ratio_lo: float
    ratio_hi: float
    n_compared: int
    status: str


@dataclass(frozen=True, eq=False)
class FairnessAudit(JsonForms):
    """The result of :func:`audit`: per-group metrics, disparities and calibration, with CIs.

    Attributes
    ----------
    by_group : DataFrame
        One row per (attribute, group) with columns :data:`BY_GROUP_COLUMNS`: counts,
        ``status`` (``ok`` / ``sparse`` / ``undefined``, see below), ``adequate``
        (True only for ``ok``: an inadequate group never passes a gate), ``is_reference``,
        each metric with ``_lo`` / ``_hi`` bounds, and ``calibration_status`` (``ok`` /
        ``undefined``: the scores are not probabilities). The rates
        (:data:`~riskmodels.fairness.METRICS` up to ``npv``) have exact (Clopper-Pearson)
        bounds from their counts, never zero-width; ``oe_ratio`` the exact Poisson
        interval; ``auc``, ``brier`` and ``ece`` percentile bootstrap bounds (the AUC of a
        perfectly separated group takes the exact pair bound instead of [1, 1]).
    disparities : DataFrame
        Long format, one row per (attribute, group, metric) for :data:`DISPARITY_METRICS`,
        columns :data:`DISPARITY_COLUMNS`: difference and ratio against the attribute's
        reference group with bootstrap CIs. ``adequate`` is True when both groups are
        adequate and the difference is defined.
    calibration : DataFrame
        Calibration curve per group (columns :data:`CALIBRATION_COLUMNS`), empty when the
        scores are not probabilities; the observed rate of each bin has exact bounds.
    threshold : float
        Predicted positive iff ``score >= threshold``.
    reference : dict
        The reference group used for each attribute.
    attributes, intersections : tuple of str
        Audited single attributes and intersections (``"a x b"``).
    n, n_boot, confidence, min_group_size, n_bins, calibration_bins, random_state : ...
        The settings the numbers rest on (``random_state`` is None unless an int seed).
    scores_are_probabilities : bool
        False for ordinal scores: calibration metrics are then NaN.
    notes : tuple of str
        Caveats worth showing next to the tables.
    """

    by_group: pd.DataFrame
    disparities: pd.DataFrame
    calibration: pd.DataFrame
    threshold: float
    reference: dict[str, str]
    attributes: tuple[str, ...]
    intersections: tuple[str, ...]
    n: int
    n_boot: int
    confidence: float
    min_group_size: int
    n_bins: int
    scores_are_probabilities: bool
    random_state: int | None = None
    calibration_bins: int = CALIBRATION_BINS
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ adequacy
    def judged_by(self, adequate: object) -> FairnessAudit:
        """The audit with a stricter adequacy rule applied (e.g. a policy's
        ``FairnessPolicy.adequate(audit.by_group)``): groups it rejects become ``sparse``
        and not ``adequate``, and so do their comparisons, so every summary
        (:meth:`max_gap`, :meth:`min_ratio`, tables, plots) judges what the gates judge.

        Parameters
        ----------
        adequate : array-like of bool
            One entry per row of :attr:`by_group`; a rule can only remove groups, never
            make an audit-inadequate group adequate.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> score = rng.random(1000)
        >>> y = (rng.random(1000) < score).astype(int)
        >>> sex = pd.Series(rng.choice(["F", "M"], 1000, p=[0.3, 0.7]), name="sex")
        >>> a = audit(y, score, sex, threshold=0.5, n_boot=0)
        >>> strict = a.judged_by(a.by_group["n"] >= 500)
        >>> strict.by_group["status"].tolist(), strict.max_gap("tpr").status
        (['sparse', 'ok'], 'undefined')
        """
        bg = self.by_group
        mask = np.asarray(adequate, dtype=bool).ravel()
        if mask.shape != (len(bg),):
            raise SchemaError(
                Problem("adequate", f"{mask.size} entries", f"one per group: {len(bg)}"),
                context="Invalid argument to FairnessAudit.judged_by",
            )
        keep = mask & bg["adequate"].to_numpy(dtype=bool)
        newly = ~keep & bg["adequate"].to_numpy(dtype=bool)
        by_group = bg.copy()
        by_group["adequate"] = keep
        by_group.loc[newly, "status"] = "sparse"
        ok = set(zip(by_group["attribute"][keep], by_group["group"][keep], strict=True))
        d = self.disparities.copy()
        both = [
            (a, g) in ok and (a, r) in ok
            for a, g, r in zip(d["attribute"], d["group"], d["reference"], strict=True)
        ]
        d["adequate"] = d["adequate"].to_numpy(dtype=bool) & np.asarray(both, dtype=bool)
        return dataclasses.replace(self, by_group=by_group, disparities=d)

    # ------------------------------------------------------------------ summaries
    def _comparisons(self, metric: str, attribute: str | Sequence[str] | None) -> pd.DataFrame:
        if metric not in DISPARITY_METRICS:
            raise SchemaError(
                Problem("metric", f"unknown metric {metric!r}", f"use one of {DISPARITY_METRICS}"),
                context="Invalid argument",
            )
        d = self.disparities
        rows = d[(d["metric"] == metric) & d["adequate"] & (d["group"] != d["reference"])]
        if attribute is not None:
            wanted = [attribute] if isinstance(attribute, str) else list(attribute)
            unknown = [a for a in wanted if a not in self.reference]
            if unknown:
                raise SchemaError(
                    Problem(
                        "attribute",
                        f"unknown attribute(s) {unknown}",
                        f"use one of {list(self.reference)}",
                    ),
                    context="Invalid argument",
                )
            rows = rows[rows["attribute"].isin(wanted)]
        return rows

    def _gap_from_row(self, metric: str, rows: pd.DataFrame, position: int | None) -> Gap:
        if position is None:
            nan = float("nan")
            return Gap(metric, None, None, None, nan, nan, nan, nan, nan, nan, 0, "undefined")
        row = rows.iloc[position]
        return Gap(
            metric=metric,
            attribute=str(row["attribute"]),
            group=str(row["group"]),
            reference=str(row["reference"]),
            difference=float(row["difference"]),
            difference_lo=float(row["difference_lo"]),
            difference_hi=float(row["difference_hi"]),
            ratio=float(row["ratio"]),
            ratio_lo=float(row["ratio_lo"]),
            ratio_hi=float(row["ratio_hi"]),
            n_compared=len(rows),
            status="ok",
        )

    def max_gap(self, metric: str, *, attribute: str | Sequence[str] | None = None) -> Gap:
        """Largest absolute difference vs the reference among adequate groups, with its CI.

        Parameters
        ----------
        metric : str
            One of :data:`DISPARITY_METRICS`.
        attribute : str or list of str, optional
            Restrict to these attributes / intersections (default: all).

        Returns
        -------
        Gap
            With ``status="undefined"`` and NaN values when no adequate group
            can be compared (a gate must not pass on that).

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> s = rng.random(400)
        >>> a = audit((rng.random(400) < s).astype(int), s,
        ...           pd.Series(np.repeat(["a", "b"], 200), name="g"),
        ...           threshold=0.5, n_boot=50, random_state=0)
        >>> gap = a.max_gap("fpr")
        >>> gap.group, gap.reference, gap.status
        ('b', 'a', 'ok')
        """
        rows = self._comparisons(metric, attribute)
        if rows.empty:
            return self._gap_from_row(metric, rows, None)
        return self._gap_from_row(metric, rows, int(np.argmax(np.abs(rows["difference"]))))

    def min_ratio(self, metric: str, *, attribute: str | Sequence[str] | None = None) -> Gap:
        """Smallest ratio to the reference among adequate groups (e.g. the four-fifths rule
        on ``selection_rate``), with its CI; same conventions as :meth:`max_gap`.

        Examples
        --------
        >>> a = audit([0, 1] * 100, [0.2, 0.8] * 100, pd.Series(["x"] * 200), threshold=0.5,
        ...           n_boot=0)
        >>> a.min_ratio("selection_rate").status  # one group: nothing to compare
        'undefined'
        """
        rows = self._comparisons(metric, attribute)
        rows = rows[rows["ratio"].notna()]
        if rows.empty:
            return self._gap_from_row(metric, rows, None)
        return self._gap_from_row(metric, rows, int(np.argmin(rows["ratio"].to_numpy())))

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """Every estimate in long (tidy) format: one row per (attribute, group, metric).

        Columns: ``attribute, group, metric, value, lo, hi, n, status, adequate``.

        Examples
        --------
        >>> a = audit([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.6], pd.Series(list("aabb"), name="g"),
        ...           threshold=0.5, n_boot=0, min_group_size=1)
        >>> a.to_frame().query("metric == 'tpr'")[["group", "value"]].to_numpy().tolist()
        [['a', 1.0], ['b', 0.0]]
        """
        bg = self.by_group
        k = len(METRICS)
        out = {
            "attribute": np.repeat(bg["attribute"].to_numpy(dtype=object), k),
            "group": np.repeat(bg["group"].to_numpy(dtype=object), k),
            "metric": np.tile(np.array(METRICS, dtype=object), len(bg)),
            "value": bg[list(METRICS)].to_numpy(dtype=float).ravel(),
            "lo": bg[[f"{m}_lo" for m in METRICS]].to_numpy(dtype=float).ravel(),
            "hi": bg[[f"{m}_hi" for m in METRICS]].to_numpy(dtype=float).ravel(),
            "n": np.repeat(bg["n"].to_numpy(), k),
            "status": np.repeat(bg["status"].to_numpy(dtype=object), k),
            "adequate": np.repeat(bg["adequate"].to_numpy(), k),
        }
        frame = pd.DataFrame(out, columns=list(_LONG_COLUMNS))
        for col in ("attribute", "group", "metric", "status"):
            frame[col] = frame[col].astype("str")
        return frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` (and ``from_json`` / ``load`` for text and
        files) restores an identical audit, NaN included.

        Examples
        --------
        >>> a = audit([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.6], pd.Series(list("aabb")),
        ...           threshold=0.5, n_boot=0)
        >>> b = FairnessAudit.from_json(a.to_json())
        >>> b.by_group.equals(a.by_group) and b.to_json() == a.to_json()
        True
        """
        payload = {
            "schema": _SCHEMA,
            "threshold": self.threshold,
            "reference": dict(self.reference),
            "attributes": list(self.attributes),
            "intersections": list(self.intersections),
            "n": self.n,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "min_group_size": self.min_group_size,
            "n_bins": self.n_bins,
            "calibration_bins": self.calibration_bins,
            "scores_are_probabilities": self.scores_are_probabilities,
            "random_state": self.random_state,
            "notes": list(self.notes),
            "by_group": frame_to_payload(self.by_group),
            "disparities": frame_to_payload(self.disparities),
            "calibration": frame_to_payload(self.calibration),
        }
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> FairnessAudit:
        """Rebuild an audit from :meth:`to_dict`.

        Raises
        ------
        SchemaError
            If it is not a serialised :class:`FairnessAudit`.
        """
        try:
            if not isinstance(payload, dict) or payload.get("schema") != _SCHEMA:
                raise ValueError(f"schema is not {_SCHEMA!r}")
            return cls(
                by_group=frame_from_payload(payload["by_group"]),
                disparities=frame_from_payload(payload["disparities"]),
                calibration=frame_from_payload(payload["calibration"]),
                threshold=float(payload["threshold"]),
                reference={str(k): str(v) for k, v in payload["reference"].items()},
                attributes=tuple(payload["attributes"]),
                intersections=tuple(payload["intersections"]),
                n=int(payload["n"]),
                n_boot=int(payload["n_boot"]),
                confidence=float(payload["confidence"]),
                min_group_size=int(payload["min_group_size"]),
                n_bins=int(payload["n_bins"]),
                scores_are_probabilities=bool(payload["scores_are_probabilities"]),
                random_state=payload["random_state"],
                calibration_bins=int(payload["calibration_bins"]),
                notes=tuple(payload["notes"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(
                Problem(
                    None, f"not a serialised FairnessAudit ({exc})", "use FairnessAudit.to_json()"
                ),
                context="Cannot read the fairness audit JSON",
            ) from exc

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        n_groups = len(self.by_group)
        flagged = int((~self.by_group["adequate"]).sum())
        return (
            f"FairnessAudit(n={self.n}, threshold={self.threshold}, "
            f"attributes={list(self.attributes)}, intersections={list(self.intersections)}, "
            f"groups={n_groups}, inadequate={flagged}, n_boot={self.n_boot})"
        )

    def _repr_html_(self) -> str:
        level = round(self.confidence * 100)
        shown = ("selection_rate", "tpr", "fpr", "fnr", "ppv", "auc", "ece")
        head = (
            f"<p><b>Fairness audit</b>: n = {self.n:,}; predicted positive iff score &ge; "
            f"{html.escape(repr(self.threshold))}; {level}% intervals: exact for rates, "
            f"percentile bootstrap ({self.n_boot} replicates) for AUC and calibration; "
            f"groups under {self.min_group_size} rows are flagged <i>sparse</i> and "
            "never pass.</p>"
        )
        header = "".join(
            f"<th>{html.escape(h)}</th>" for h in ("attribute", "group", "n", "status", *shown)
        )
        body = []
        for row in self.by_group.itertuples(index=False):
            r = row._asdict()
            cells = [
                html.escape(str(r["attribute"])),
                ("<b>" if r["is_reference"] else "")
                + html.escape(str(r["group"]))
                + (" (reference)</b>" if r["is_reference"] else ""),
                f"{r['n']:,}",
                html.escape(str(r["status"])),
            ]
            for m in shown:
                cells.append(_fmt_ci(r[m], r[f"{m}_lo"], r[f"{m}_hi"]))
            style = "" if r["adequate"] else ' style="color:#777;font-style:italic"'
            body.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        table = f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        return f"<div class='riskmodels-fairness-audit'>{head}{table}</div>"

    # ------------------------------------------------------------------ plots
    def plot_error_rates(
        self,
        *,
        attribute: str | None = None,
        metrics: Sequence[str] = ("selection_rate", "tpr", "fpr", "fnr"),
        ax: Axes | None = None,
    ) -> Axes:
        """Rates by group with CI bars; see :class:`ErrorRateDisplay`. Returns the Axes."""
        from riskmodels.fairness._plots import ErrorRateDisplay

        return ErrorRateDisplay.from_audit(self, attribute=attribute, metrics=metrics, ax=ax).ax_

    def plot_calibration(self, *, attribute: str | None = None, ax: Axes | None = None) -> Axes:
        """Calibration curves by group; see :class:`GroupCalibrationDisplay`. Returns the Axes."""
        from riskmodels.fairness._plots import GroupCalibrationDisplay

        return GroupCalibrationDisplay.from_audit(self, attribute=attribute, ax=ax).ax_


def _fmt_ci(value: float, lo: float, hi: float) -> str:
    if not np.isfinite(value):
        return "&ndash;"
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{value:.3f} ({lo:.3f}&ndash;{hi:.3f})"
    return f"{value:.3f}"


# ---------------------------------------------------------------------- validation
def _check_inputs(
    y_true: object,
    y_score: object,
    *,
    threshold: object,
    n_boot: object,
    confidence: object,
    min_group_size: object,
    n_bins: object,
) -> tuple[np.ndarray, np.ndarray]:
    y = _int_labels(y_true)
    problems = []
    if y is None:  # anything but 0/1 integers: read as floats, say what is wrong
        y, problems = as_float_vector(y_true, "y_true")
        if y is not None:
            problems += check_binary_labels(y, "y_true")
    s, more = as_float_vector(y_score, "y_score")
    problems += more
    if s is not None:
        problems += check_finite(s, "y_score", "score every row before auditing")
    problems += check_same_length({"y_true": y, "y_score": s})
    problems += check_real(threshold, "threshold", "pass a finite number; positive iff score >= it")
    problems += check_int(n_boot, "n_boot", minimum=0)
    problems += check_level(confidence)
    problems += check_int(min_group_size, "min_group_size", minimum=0)
    problems += check_int(n_bins, "n_bins", minimum=2)
    raise_problems(problems, "Invalid input to riskmodels.fairness.audit")
    assert y is not None and s is not None
    return y.astype(np.int64, copy=False), s


def _int_labels(x: object) -> np.ndarray | None:
    """0/1 integer or boolean labels as they are (no float copy of millions of rows)."""
    if isinstance(x, np.ndarray | pd.Series) and x.dtype.kind in "biu":
        arr = np.asarray(x)
        if arr.ndim == 1 and arr.min(initial=0) >= 0 and arr.max(initial=0) <= 1:
            return arr
    return None


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _requested_references(
    reference: object, groupings: list[Grouping]
) -> tuple[dict[str, int], list[Problem]]:
    """The reference groups named by the caller, as group indices, and every problem."""
    names = [g.name for g in groupings]
    if isinstance(reference, str) and reference == "largest":
        return {}, []
    if not isinstance(reference, Mapping):
        hint = "pass 'largest' or a dict {attribute: group}"
        return {}, [Problem("reference", f"{reference!r}", hint)]
    by_name = {g.name: g for g in groupings}
    chosen: dict[str, int] = {}
    problems = []
    for key, value in reference.items():
        if key not in by_name:
            problems.append(
                Problem("reference", f"unknown attribute {key!r}", f"use one of {names}")
            )
            continue
        labels = by_name[key].labels
        label = (
            INTERSECTION_SEP.join(str(v) for v in value) if isinstance(value, tuple) else str(value)
        )
        if label in labels:
            chosen[key] = labels.index(label)
        else:
            problems.append(
                Problem(
                    key,
                    f"reference group {label!r} is not among the observed groups",
                    f"choose one of {list(labels)}",
                )
            )
    return chosen, problems


def _largest_group(grouping: Grouping, n: np.ndarray) -> int:
    # "missing" is a group to audit, not a yardstick, unless it is all there is
    eligible = np.where(grouping.is_missing, -1, n)
    if (eligible < 0).all():
        eligible = n
    return int(np.argmax(eligible))


def _inherited_reference(
    grouping: Grouping, requested: Mapping[str, int], used: Mapping[str, str], n: np.ndarray
) -> int:
    """An intersection's reference: the cell of its attributes' references when the caller
    named a reference for any of them (``{"ethnicity": "White"}`` makes ``"M x White"`` the
    reference of ``sex x ethnicity`` when ``M`` is the largest sex), else the largest cell.
    Single attributes come first, so ``used`` already holds every component's reference."""
    if len(grouping.components) > 1 and any(c in requested for c in grouping.components):
        label = INTERSECTION_SEP.join(used[c] for c in grouping.components)
        if label in grouping.labels:  # labels are only the cells that have rows
            return grouping.labels.index(label)
    return _largest_group(grouping, n)


# ---------------------------------------------------------------------- the audit
def audit(
    y_true: object,
    y_score: object,
    sensitive_features: pd.Series | pd.DataFrame,
    *,
    threshold: float,
    reference: str | Mapping[str, object] = "largest",
    intersections: bool = True,
    n_boot: int = 1000,
    confidence: float = 0.95,
    min_group_size: int = 50,
    random_state: int | np.random.Generator | None = None,
    n_bins: int = N_SCORE_BINS,
) -> FairnessAudit:
    """Audit scores by group: rates, AUC and calibration with bootstrap CIs, and disparities.

    Parameters
    ----------
    y_true : array-like of 0/1
        Observed outcomes (1 = the incident was recorded).
    y_score : array-like of float
        Probabilities or any ordinal score (e.g. a 1-10 decile). Predicted positive iff
        ``y_score >= threshold``. Calibration metrics (``brier``, ``ece``, ``oe_ratio``) are
        computed only when every score lies in [0, 1]; otherwise they are NaN and
        ``calibration_status`` is ``undefined``.
    sensitive_features : Series or DataFrame
        One protected attribute (Series) or several (DataFrame columns), matched to the
        scores by position. Labels may be strings, pandas categoricals, integers or
        booleans; they are reported as strings. Missing values form an explicit
        ``"missing"`` group; unobserved categories are not reported.
    threshold : float
        The decision threshold (keyword only: there is no default threshold).
    reference : "largest" or dict
        The reference group of each attribute: the largest group with a known value, or a
        dict ``{attribute: group}`` for some attributes (intersections are named
        ``"a x b"`` with groups ``"v x w"`` or a tuple ``(v, w)``); the rest use the
        largest. An intersection not named inherits the cell of its attributes' references
        when any of them was named (``{"ethnicity": "White"}`` makes ``"M x White"`` the
        reference of ``sex x ethnicity`` when ``M`` is the largest sex), if that cell has
        rows. The reference used is recorded in :attr:`FairnessAudit.reference`.
    intersections : bool, default True
        With several attributes, also audit every pair and (with three or more) the full
        combination, named ``"a x b"`` (``" x "`` joins names and labels).
    n_boot : int, default 1000
        Bootstrap replicates for the intervals of AUC, Brier, ECE, O/E and the disparities
        (0: those intervals are NaN). Rates always have their exact intervals.
    confidence : float, default 0.95
        Level of every interval.
    min_group_size : int, default 50
        Groups with fewer rows are reported with status ``sparse`` and are never
        ``adequate``.
    random_state : int, Generator or None
        Seeds the bootstrap.
    n_bins : int, default 100
        Quantile score bins used by bootstrap replicates of AUC, Brier and ECE (refined at
        the threshold and the 10 calibration-bin edges). Point estimates are always exact.

    Returns
    -------
    FairnessAudit

    Notes
    -----
    Every metric is derived from a count tensor ``group x label x score bin`` built with
    one ``np.bincount`` per attribute (the predicted label is a function of the bin).

    Intervals follow one rule, shared with :func:`riskmodels.metrics.performance_report`
    (see :mod:`riskmodels.metrics._intervals`). A rate (base rate, selection rate, TPR,
    FPR, FNR, TNR, PPV, NPV, a calibration bin's observed rate) gets the exact
    Clopper-Pearson interval of its counts: it is never zero-width (no false positives
    among 88 non-events reads [0, 0.041], not [0, 0]) and covers at least nominally at any
    size. AUC, Brier, ECE, O/E and the disparities get percentile intervals of a
    bootstrap that resamples cells, not rows: a row bootstrap stratified by group is one
    multinomial draw over each group's cells, so a small group keeps its size, and a
    disparity replicate uses the same replicate of both groups. Replicates in which a
    measure is undefined (e.g. no events drawn) are left out, unless they are more than
    ``1 - confidence`` of all: the interval is then NaN. Where every replicate of a rate
    disparity is the same (both groups at 0, or both at 1) the percentile interval would
    claim certainty; the bounds implied by both groups' exact intervals
    (:func:`~riskmodels.metrics._intervals.rate_contrast_bounds`) are used instead.

    A group's ``status`` is ``sparse`` when ``n < min_group_size`` (its numbers are shown,
    never judged), else ``undefined`` when it has no events or no non-events (error rates and AUC
    are then undefined, reported NaN, never 0), else ``ok``.

    ``oe_ratio`` (observed / expected events) is the calibration-in-the-large measure;
    ``ece`` uses 10 equal-width bins on [0, 1].

    Raises
    ------
    SchemaError
        Listing every invalid input at once (non-binary labels, missing scores, mismatched
        lengths, an unknown reference group, ...).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> score = rng.random(1000)
    >>> y = (rng.random(1000) < score).astype(int)
    >>> sex = pd.Series(rng.choice(["F", "M"], 1000, p=[0.3, 0.7]), name="sex")
    >>> a = audit(y, score, sex, threshold=0.5, n_boot=200, random_state=0)
    >>> a.reference
    {'sex': 'M'}
    >>> a.by_group[["group", "n", "status"]].to_numpy().tolist()
    [['F', 290, 'ok'], ['M', 710, 'ok']]
    >>> bool(a.by_group["tpr_lo"].lt(a.by_group["tpr"]).all())
    True

    No false positives in a group is not certainty:

    >>> b = audit([0] * 88 + [1] * 12, [0.1] * 88 + [0.9] * 12, pd.Series(["g"] * 100),
    ...           threshold=0.5, n_boot=0)
    >>> b.by_group[["fpr", "fpr_lo", "fpr_hi"]].round(3).to_numpy().tolist()
    [[0.0, 0.0, 0.041]]
    """
    y, s = _check_inputs(
        y_true,
        y_score,
        threshold=threshold,
        n_boot=n_boot,
        confidence=confidence,
        min_group_size=min_group_size,
        n_bins=n_bins,
    )
    columns = sensitive_columns(sensitive_features, y.size)
    groupings = build_groupings(columns, intersections=intersections)
    requested, problems = _requested_references(reference, groupings)
    if problems:
        raise SchemaError(problems, context="Invalid input to riskmodels.fairness.audit")

    threshold = float(threshold)
    probabilities = bool(s.min() >= 0.0 and s.max() <= 1.0)
    rows = sort_rows(
        y,
        s,
        threshold,
        n_bins=n_bins,
        calibration_bins=CALIBRATION_BINS if probabilities else None,
    )
    rng = np.random.default_rng(random_state)  # a Generator passes through unchanged

    by_group: list[dict[str, Any]] = []
    disparities: list[dict[str, Any]] = []
    calibration: list[dict[str, Any]] = []
    reference_used: dict[str, str] = {}
    for grouping in groupings:
        result = _audit_one(grouping, rows, n_boot, min_group_size, rng)
        ref = requested.get(grouping.name)
        if ref is None:
            ref = _inherited_reference(grouping, requested, reference_used, result["n"])
        reference_used[grouping.name] = grouping.labels[ref]
        by_group.append(_by_group_columns(grouping, result, ref, probabilities, confidence))
        disparities.append(_disparity_columns(grouping, result, ref, confidence))
        if probabilities:
            calibration.append(_calibration_columns(grouping, result, confidence))
    n_singles = len(columns)
    return FairnessAudit(
        by_group=_concat(by_group, BY_GROUP_COLUMNS),
        disparities=_concat(disparities, DISPARITY_COLUMNS),
        calibration=_concat(calibration, CALIBRATION_COLUMNS),
        threshold=threshold,
        reference=reference_used,
        attributes=tuple(g.name for g in groupings[:n_singles]),
        intersections=tuple(g.name for g in groupings[n_singles:]),
        n=int(y.size),
        n_boot=int(n_boot),
        confidence=float(confidence),
        min_group_size=int(min_group_size),
        n_bins=int(n_bins),
        scores_are_probabilities=probabilities,
        random_state=int(random_state) if _is_int(random_state) else None,
        notes=() if probabilities else ("scores are not probabilities: no calibration metrics",),
    )


def _audit_one(
    grouping: Grouping,
    rows: SortedRows,
    n_boot: int,
    min_group_size: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    n_groups = grouping.n_groups
    group = grouping.codes[rows.order]
    tensor = count_tensor(group, n_groups, rows)
    point = metrics_from_counts(
        tensor.counts,
        rows.pred,
        score_sum=tensor.score_sum,
        sq_error_sum=tensor.sq_error_sum,
        cal=rows.cal,
        n_cal=rows.n_cal,
    )
    # binned AUC is exact only when each bin holds one distinct score: use the exact one
    point["auc"] = exact_auc_by_group(group, n_groups, rows)
    rates = rate_counts(tensor.counts, rows.pred)
    counts = tensor.counts
    n = counts.sum(axis=(1, 2))
    n_pos = counts[:, 1, :].sum(axis=-1)
    status = np.where(
        n < min_group_size,
        "sparse",
        np.where((n_pos == 0) | (n_pos == n), "undefined", "ok"),
    )
    reps = bootstrap_metrics(tensor, rows, n_boot, rng) if n_boot > 0 else None
    return {
        "n": n,
        "n_pos": n_pos,
        "status": status,
        "point": point,
        "rates": rates,
        "reps": reps,
    }


def _by_group_columns(
    grouping: Grouping, result: dict[str, Any], ref: int, probabilities: bool, confidence: float
) -> dict[str, Any]:
    n_groups = grouping.n_groups
    point, reps = result["point"], result["reps"]
    cols: dict[str, Any] = {
        "attribute": [grouping.name] * n_groups,
        "group": list(grouping.labels),
        "n": result["n"],
        "n_pos": result["n_pos"],
        "n_neg": result["n"] - result["n_pos"],
        "status": result["status"],
        "adequate": result["status"] == "ok",
        "is_reference": np.arange(n_groups) == ref,
    }
    rates = result["rates"]
    others = [m for m in METRICS if m not in RATE_METRICS]
    if reps is None:
        lo = hi = np.full((n_groups, len(others)), np.nan)
    else:  # one sort for every bootstrapped metric's replicates
        lo, hi = percentile_interval(np.stack([reps[m] for m in others], axis=2), confidence)
    bounds = {m: (lo[:, j], hi[:, j]) for j, m in enumerate(others)}
    if reps is not None:  # a perfectly separated group's replicates are all 1: not certainty
        bounds["auc"] = separation_bounds(
            point["auc"],
            *bounds["auc"],
            result["n_pos"],
            result["n"] - result["n_pos"],
            confidence,
        )
    # one call for every rate: each call has a fixed cost worth sharing
    rate_lo, rate_hi = proportion_interval(
        np.stack([rates[m][0] for m in RATE_METRICS]),
        np.stack([rates[m][1] for m in RATE_METRICS]),
        confidence,
    )
    bounds.update({m: (rate_lo[j], rate_hi[j]) for j, m in enumerate(RATE_METRICS)})
    if probabilities and "cal_expected" in point:
        # O/E: the exact Poisson interval the group calibration gate judges, so the card
        # and the gate show one interval (metrics/_intervals.py)
        expected = np.asarray(point["cal_expected"], dtype=float).sum(axis=-1)
        bounds["oe_ratio"] = oe_interval(result["n_pos"], expected, confidence)
    for m in METRICS:
        cols[m] = point[m]
        cols[f"{m}_lo"], cols[f"{m}_hi"] = bounds[m]
    cols["calibration_status"] = ["ok" if probabilities else "undefined"] * n_groups
    return cols


def _disparity_columns(
    grouping: Grouping, result: dict[str, Any], ref: int, confidence: float
) -> dict[str, Any]:
    n_groups = grouping.n_groups
    k = len(DISPARITY_METRICS)
    point, reps = result["point"], result["reps"]
    value = np.stack([point[m] for m in DISPARITY_METRICS], axis=1)  # (G, k)
    ref_value = np.broadcast_to(value[ref], value.shape)
    difference = value - ref_value
    ratio = safe_ratio(value, ref_value)
    if reps is None:
        nan = np.full(value.shape, np.nan)
        d_lo = d_hi = r_lo = r_hi = nan
    else:
        rep = np.stack([reps[m] for m in DISPARITY_METRICS], axis=2)  # (B, G, k)
        rep_ref = rep[:, ref : ref + 1, :]
        # the same replicate of both groups: their sampling variability combines correctly
        d_lo, d_hi = percentile_interval(rep - rep_ref, confidence)
        r_lo, r_hi = percentile_interval(safe_ratio(rep, rep_ref), confidence)
        d_lo, d_hi, r_lo, r_hi = _uncollapsed(
            result["rates"], ref, confidence, (d_lo, d_hi, r_lo, r_hi)
        )
    adequate_group = result["status"] == "ok"
    adequate = (adequate_group & adequate_group[ref])[:, None] & np.isfinite(difference)
    return {
        "attribute": [grouping.name] * (n_groups * k),
        "group": np.repeat(np.array(grouping.labels, dtype=object), k),
        "reference": [grouping.labels[ref]] * (n_groups * k),
        "metric": list(DISPARITY_METRICS) * n_groups,
        "value": value.ravel(),
        "reference_value": ref_value.ravel(),
        "difference": difference.ravel(),
        "difference_lo": d_lo.ravel(),
        "difference_hi": d_hi.ravel(),
        "ratio": ratio.ravel(),
        "ratio_lo": r_lo.ravel(),
        "ratio_hi": r_hi.ravel(),
        "n": np.repeat(result["n"], k),
        "reference_n": np.full(n_groups * k, result["n"][ref]),
        "status": np.repeat(result["status"], k),
        "adequate": adequate.ravel(),
    }


def _uncollapsed(
    rates: dict[str, tuple[np.ndarray, np.ndarray]],
    ref: int,
    confidence: float,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, ...]:
    """Rate disparities whose bootstrap collapsed to one value get exact-based bounds.

    When both groups' rate is 0 (or 1) in every replicate, the percentile interval of the
    difference is [0, 0] (of the ratio [1, 1]): certainty the data do not have. There the
    bounds implied by both groups' exact intervals replace it. The reference's comparison
    with itself stays [0, 0]: that one is certain.
    """
    d_lo, d_hi, r_lo, r_hi = (np.array(b, dtype=float, copy=True) for b in bounds)
    n_groups = d_lo.shape[0]
    other = np.arange(n_groups) != ref
    for j, metric in enumerate(DISPARITY_METRICS):
        if metric not in RATE_METRICS:
            continue
        k, n = rates[metric]
        exact = rate_contrast_bounds(k, n, k[ref], n[ref], confidence)
        for lo, hi, name in ((d_lo, d_hi, "difference"), (r_lo, r_hi, "ratio")):
            collapsed = other & (lo[:, j] == hi[:, j])
            lo[collapsed, j] = exact[f"{name}_lo"][collapsed]
            hi[collapsed, j] = exact[f"{name}_hi"][collapsed]
    return d_lo, d_hi, r_lo, r_hi


def _calibration_columns(
    grouping: Grouping, result: dict[str, Any], confidence: float
) -> dict[str, Any]:
    point = result["point"]
    n_groups, n_cal = point["cal_n"].shape
    observed = safe_ratio(point["cal_observed"], point["cal_n"])
    # events in a bin are a proportion of its rows: exact bounds, as for every rate
    lo, hi = proportion_interval(point["cal_observed"], point["cal_n"], confidence)
    edges = np.arange(n_cal + 1) / n_cal
    return {
        "attribute": [grouping.name] * (n_groups * n_cal),
        "group": np.repeat(np.array(grouping.labels, dtype=object), n_cal),
        "bin": np.tile(np.arange(n_cal), n_groups),
        "bin_lower": np.tile(edges[:-1], n_groups),
        "bin_upper": np.tile(edges[1:], n_groups),
        "n": point["cal_n"].ravel().astype(np.int64),
        "mean_score": safe_ratio(point["cal_expected"], point["cal_n"]).ravel(),
        "observed_rate": observed.ravel(),
        "observed_lo": lo.ravel(),
        "observed_hi": hi.ravel(),
    }


_DTYPES = {
    "attribute": "str",
    "group": "str",
    "reference": "str",
    "metric": "str",
    "status": "str",
    "calibration_status": "str",
    "n": "int64",
    "n_pos": "int64",
    "n_neg": "int64",
    "reference_n": "int64",
    "bin": "int64",
    "adequate": "bool",
    "is_reference": "bool",
}


def _concat(parts: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for col in columns:
        dtype = _DTYPES.get(col, "float64")
        if dtype == "str":
            values = [str(v) for p in parts for v in p[col]]
            data[col] = pd.array(values, dtype="str")
        elif parts:
            data[col] = np.concatenate([np.asarray(p[col]) for p in parts]).astype(dtype)
        else:
            data[col] = np.array([], dtype=dtype)
    return pd.DataFrame(data, columns=list(columns))
