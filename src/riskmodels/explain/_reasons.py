"""Reason codes: the features that raise a person's risk, as plain-language phrases.

Phrases are built from the dataset spec (description, kind, unit) and the person's own
value, e.g. ``"Days in segregation: 14 days (raises risk)"``. Formatting is vectorised:
each feature's distinct values are formatted once and broadcast to the rows that need them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.data._spec import DatasetSpec, FeatureSpec

__all__ = ["PROXY_NOTE", "format_value", "phrase", "top_reasons"]

RAISES = "raises risk"
PROXY_NOTE = "may act as a proxy for a protected characteristic"
NOT_RECORDED = "not recorded"


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _format_number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _with_unit(number: str, unit: str | None) -> str:
    if not unit:
        return number
    if unit == "%":
        return f"{number}%"
    # "1 days" reads badly; plural units ending in "s" lose it for exactly one.
    if number == "1" and unit.endswith("s") and len(unit) > 3:
        unit = unit[:-1]
    return f"{number} {unit}"


def format_value(feature: FeatureSpec, value: Any) -> str:
    """A person's value of ``feature`` in words: ``"yes"``, ``"14 days"``, ``"HMP X"``.

    Examples
    --------
    >>> from riskmodels.data import FeatureSpec
    >>> format_value(FeatureSpec(name="d", kind="numeric", description="D", unit="days"), 14.0)
    '14 days'
    >>> format_value(FeatureSpec(name="b", kind="binary", description="B"), 1)
    'yes'
    """
    if _is_missing(value):
        return NOT_RECORDED
    if feature.kind == "binary":
        return "yes" if bool(value) else "no"
    if feature.kind == "numeric":
        return _with_unit(_format_number(float(value)), feature.unit)
    return _with_unit(str(value), feature.unit)


def phrase(feature: FeatureSpec, value: Any, *, proxy: bool = False) -> str:
    """One reason: ``"<description>: <value> (raises risk[; may act as a proxy ...])"``."""
    note = f"{RAISES}; {PROXY_NOTE}" if proxy else RAISES
    return f"{feature.description}: {format_value(feature, value)} ({note})"


def _phrases(feature: FeatureSpec, values: pd.Series, *, proxy: bool) -> np.ndarray:
    """Phrases for many values of one feature, formatting each distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = [phrase(feature, v, proxy=proxy) for v in uniques]
    table.append(phrase(feature, np.nan, proxy=proxy))  # code -1: missing
    return np.asarray(table, dtype=object)[codes]


def top_reasons(
    contributions: np.ndarray,
    values: pd.DataFrame,
    spec: DatasetSpec,
    proxies: frozenset[str],
    k: int,
) -> list[np.ndarray]:
    """The ``k`` largest positive contributions per row, as phrases (None where fewer).

    A binary factor is cited only when the person has it (value 1): its absence never
    "raises risk" in a reason, whatever its contribution.

    Protected attributes are never given as reasons, even when the spec lets one be a
    feature (with a written justification): they may shape a score, but a person is not
    told their risk is raised by who they are.
    """
    names = list(values.columns)
    protected = set(spec.protected_names)
    features = {f.name: f for f in spec.features}
    scores = np.where(np.isnan(contributions), -np.inf, contributions).copy()
    for j, name in enumerate(names):
        if name in protected:
            scores[:, j] = -np.inf
        elif name in features and features[name].kind == "binary":
            # The absence of a factor is never a reason: "Previous violence in prison: no
            # (raises risk)" reads as nonsense to staff, although a model may score it
            # above the average person (a negative coefficient, or the baseline of the
            # explainer). Only factors the person has are cited.
            absent = pd.to_numeric(values[name], errors="coerce").to_numpy(dtype=float) == 0
            scores[absent, j] = -np.inf
    n, p = scores.shape
    k_eff = min(k, p)
    # Stable sort on the negated scores: ties keep spec order, so output is deterministic.
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k_eff]
    chosen = np.take_along_axis(scores, order, axis=1)
    slots: list[np.ndarray] = []
    for r in range(k):
        out = np.full(n, None, dtype=object)
        if r < k_eff:
            raising = chosen[:, r] > 0
            for j, name in enumerate(names):
                sel = raising & (order[:, r] == j)
                if sel.any():
                    out[sel] = _phrases(
                        features[name],
                        values[name].iloc[np.flatnonzero(sel)],
                        proxy=name in proxies,
                    )
        slots.append(out)
    return slots
