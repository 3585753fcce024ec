"""Data-quality pass: problems that a schema cannot catch but that make a model unfit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.data._spec import DatasetSpec
from riskmodels.errors import DataQualityError
from riskmodels.metrics._counts import auc_from_counts, exact_bins

__all__ = ["DataQualityReport", "check_quality"]

#: A single feature predicting the target this well is more likely a leak (the outcome
#: recorded in the feature) than a risk factor; the strongest published self-harm
#: factor alone reaches far less (DOMAIN.md, Favril et al. 2020).
LEAKAGE_AUC = 0.95
#: Proposed: a feature missing for most rows carries little honest signal.
HIGH_MISSINGNESS = 0.5

#: Fewer events (or non-events) than this cannot fit a model, let alone judge one: the
#: policy's reliability gates ask for 100 of each (Collins 2016, Van Calster 2016).
MIN_CLASS_ROWS = 10
#: Below this many events (or non-events) a feature's univariate AUC is noise (a category
#: with many levels separates a handful of events by chance), so leakage is not judged.
MIN_LEAKAGE_EVENTS = 20

SERIOUS = ("single_class", "too_few_events", "leakage")


@dataclass
class DataQualityReport:
    """Result of :func:`check_quality`.

    Attributes
    ----------
    n_rows : int
    missingness : dict[str, float]
        Share of missing values per spec column.
    constant : list[str]
        Features with a single distinct value.
    univariate_auc : dict[str, float]
        Direction-free AUC of each feature alone against the target (>= 0.5).
    leakage : list[str]
        Features whose univariate AUC exceeds ``LEAKAGE_AUC``.
    target_counts : dict[str, int]
    issues : list[dict]
        Each issue: ``kind`` (``single_class``, ``too_few_events``, ``leakage``,
        ``constant``, ``high_missingness``), ``column``, ``detail``, ``serious``, and
        for a detail that quotes counts, ``counts``: ``[words, value]`` pairs, so that a
        published card can hide the small ones.
    """

    n_rows: int
    missingness: dict[str, float]
    constant: list[str]
    univariate_auc: dict[str, float]
    leakage: list[str]
    target_counts: dict[str, int]
    issues: list[dict[str, Any]] = field(default_factory=list)

    @property
    def serious(self) -> list[dict[str, Any]]:
        """The issues that block modelling unless explicitly allowed."""
        return [i for i in self.issues if i["serious"]]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "n_rows": self.n_rows,
            "missingness": self.missingness,
            "constant": self.constant,
            "univariate_auc": {
                k: (None if np.isnan(v) else v) for k, v in self.univariate_auc.items()
            },
            "leakage": self.leakage,
            "target_counts": self.target_counts,
            "issues": self.issues,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataQualityReport:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["univariate_auc"] = {
            k: (np.nan if v is None else v) for k, v in d["univariate_auc"].items()
        }
        return cls(**d)


def _univariate_auc(x: pd.Series, y: np.ndarray, kind: str) -> float:
    ok = x.notna().to_numpy()
    if kind == "categorical":
        # score each category by its event rate: the best a model could do with it alone
        codes = pd.factorize(x.astype(str))[0]
        rate = pd.Series(y).groupby(codes).mean()
        score = codes.astype(float)
        score[ok] = rate.reindex(codes[ok]).to_numpy()
        score[~ok] = y[~ok].mean() if (~ok).any() else 0.0
    else:
        score = pd.to_numeric(x, errors="coerce").astype(float).to_numpy()
        # missing values form their own bin below every observed value
        floor = np.nanmin(score) - 1.0 if ok.any() else 0.0
        score = np.where(np.isnan(score), floor, score)
    bins, values = exact_bins(score)
    pos = np.bincount(bins, weights=y, minlength=values.size)
    neg = np.bincount(bins, weights=1 - y, minlength=values.size)
    auc = float(auc_from_counts(pos, neg))
    return max(auc, 1 - auc) if not np.isnan(auc) else np.nan


def check_quality(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    *,
    allow: tuple[str, ...] | list[str] = (),
    raise_on_serious: bool = True,
) -> DataQualityReport:
    """Profile data quality and raise on serious problems unless they are allowed.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame that already passed ``spec.validate``.
    spec : DatasetSpec
    allow : sequence of str
        Serious issue kinds the caller explicitly accepts: ``"single_class"``,
        ``"too_few_events"``, ``"leakage"``.
    raise_on_serious : bool, default True

    Returns
    -------
    DataQualityReport

    Raises
    ------
    DataQualityError
        If a serious issue (one-class target, fewer than :data:`MIN_CLASS_ROWS` events or
        non-events, suspected leakage) is found and not allowed; the error names the
        column and carries the report.

    Examples
    --------
    >>> from riskmodels.data import DatasetSpec, FeatureSpec
    >>> spec = DatasetSpec(name="d", target="y", target_description="event", id="i",
    ...     features=[FeatureSpec(name="x", kind="numeric", description="x")])
    >>> df = pd.DataFrame({"i": range(60), "y": [0, 1, 0] * 20, "x": [1, 2, 3] * 20})
    >>> check_quality(df, spec).leakage
    []
    >>> check_quality(df.head(6), spec)
    Traceback (most recent call last):
    ...
    riskmodels.errors.DataQualityError: Serious data-quality problem(s): 'y': only 2 events ...
    """
    unknown = set(allow) - set(SERIOUS)
    if unknown:
        raise DataQualityError(
            f"unknown issue kind(s) in allow: {sorted(unknown)}; allowed kinds are {list(SERIOUS)}"
        )
    y = frame[spec.target].astype(float).to_numpy()
    issues: list[dict[str, Any]] = []
    counts = {str(int(k)): int(v) for k, v in pd.Series(y).value_counts().sort_index().items()}
    if len(counts) < 2:
        only = next(iter(counts), "none")
        issues.append(
            {
                "kind": "single_class",
                "column": spec.target,
                "detail": f"the target has one class only ({only}); a risk model "
                "needs both events and non-events",
                "serious": "single_class" not in allow,
            }
        )
    few = len(counts) == 2 and min(counts.values()) < MIN_CLASS_ROWS
    if few:
        events, nonevents = counts.get("1", 0), counts.get("0", 0)
        quoted = [[f"{events:,} events", events], [f"{nonevents:,} non-events", nonevents]]
        issues.append(
            {
                "kind": "too_few_events",
                "column": spec.target,
                "detail": f"only {quoted[0][0]} and {quoted[1][0]}: too few to fit a model "
                f"(at least {MIN_CLASS_ROWS} of each), and far too few to judge one (the "
                "policy asks for 100 of each)",
                "serious": "too_few_events" not in allow,
                # the counts the detail quotes (words, value): a published card hides
                # those below its disclosure threshold
                "counts": quoted,
            }
        )
    judge_leakage = len(counts) == 2 and min(counts.values()) >= MIN_LEAKAGE_EVENTS
    cols = [c for c in spec.columns() if c in frame.columns]
    missingness = {c: float(frame[c].isna().mean()) for c in cols}
    constant, aucs, leakage = [], {}, []
    for f in spec.features:
        x = frame[f.name]
        if x.nunique(dropna=False) <= 1:
            constant.append(f.name)
            issues.append(
                {
                    "kind": "constant",
                    "column": f.name,
                    "detail": "the feature has a single value and carries no signal",
                    "serious": False,
                }
            )
        if missingness[f.name] > HIGH_MISSINGNESS:
            issues.append(
                {
                    "kind": "high_missingness",
                    "column": f.name,
                    "detail": f"{missingness[f.name]:.0%} of values are missing",
                    "serious": False,
                }
            )
        aucs[f.name] = _univariate_auc(x, y, f.kind) if len(counts) == 2 else np.nan
        if judge_leakage and aucs[f.name] > LEAKAGE_AUC:
            leakage.append(f.name)
            issues.append(
                {
                    "kind": "leakage",
                    "column": f.name,
                    "detail": f"alone predicts the target with AUC "
                    f"{aucs[f.name]:.3f} > {LEAKAGE_AUC}: suspected leakage "
                    "(is it recorded after the outcome?)",
                    "serious": "leakage" not in allow,
                }
            )
    report = DataQualityReport(len(frame), missingness, constant, aucs, leakage, counts, issues)
    if raise_on_serious and report.serious:
        first = report.serious[0]
        msgs = "; ".join(f"{i['column']!r}: {i['detail']}" for i in report.serious)
        raise DataQualityError(
            f"Serious data-quality problem(s): {msgs}. Fix the data, or pass "
            f"allow={list(dict.fromkeys(i['kind'] for i in report.serious))} if you accept "
            "them knowingly.",
            column=first["column"],
            report=report,
        )
    return report
