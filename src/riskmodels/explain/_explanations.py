"""``Explanations``: per-person contributions in log-odds, and what is built from them."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels._json import JsonForms
from riskmodels.data._spec import DatasetSpec
from riskmodels.errors import Problem, SchemaError
from riskmodels.explain import _plots
from riskmodels.explain._reasons import top_reasons

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Explanations"]

FORMAT = "riskmodels.explanations/1"
_METHODS = ("tree", "linear", "permutation")
# Replicates per block in the bootstrap: bounds the weight matrix at ~4M entries (32 MB).
_BOOT_BLOCK_ENTRIES = 1 << 22


def _column_to_json(s: pd.Series | pd.Index) -> dict[str, Any]:
    values = pd.Series(s, copy=False)
    data = values.astype(object).where(values.notna(), None).tolist()
    return {"dtype": str(values.dtype), "values": data}


def _column_from_json(d: dict[str, Any]) -> pd.Series:
    return pd.Series(d["values"], dtype=d["dtype"])


@dataclass(frozen=True, eq=False, repr=False)
class Explanations(JsonForms):
    """Per-person explanations of a risk model's score, in log-odds.

    Each contribution is a SHAP value of the **uncalibrated** model: how much a feature
    moves that person's log-odds away from the base value. The probability users see is
    calibrated afterwards by a monotone map, so a feature that raises the log-odds also
    raises the calibrated risk, but the contributions do not add up to the calibrated
    probability. Build one with :func:`riskmodels.explain.explain`.

    Parameters
    ----------
    contributions : pandas.DataFrame
        Rows x the model's source features (spec order), indexed by the rows' ids. A
        categorical's one-hot columns are summed into one column.
    base_values : numpy.ndarray
        Per row, the explainer's expected log-odds (the same for every row of one run).
    margin : numpy.ndarray
        Per row, the model's log-odds; ``base_values + contributions.sum(axis=1)``.
    values : pandas.DataFrame
        The explained rows' source feature values (same index and columns).
    spec : DatasetSpec
        Gives each feature's plain-language description, kind and unit.
    proxies : frozenset of str
        Features flagged by the fairness proxy scan as proxies for a protected attribute.
    method : {"tree", "linear", "permutation"}
        Which shap explainer produced the values.
    rows : numpy.ndarray
        Position of each explained row in the frame passed to ``explain``.

    Examples
    --------
    >>> from riskmodels.explain import explain
    >>> from riskmodels.explain._example import make_example
    >>> pipeline, frame, spec = make_example()
    >>> ex = explain(pipeline, frame, spec, background=frame, rows=[0, 1, 2])
    >>> ex.contributions.shape
    (3, 5)
    >>> bool(np.allclose(ex.base_values + ex.contributions.sum(axis=1), ex.margin))
    True
    """

    contributions: pd.DataFrame
    base_values: np.ndarray
    margin: np.ndarray
    values: pd.DataFrame
    spec: DatasetSpec
    proxies: frozenset[str] = field(default_factory=frozenset)
    method: str = "tree"
    rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.contributions)
        names = list(self.contributions.columns)
        problems = []
        if len(set(names)) != len(names) or not set(names) <= set(self.spec.feature_names):
            problems.append(
                Problem("contributions", f"columns {names} are not distinct spec features")
            )
        if list(self.values.columns) != names:
            problems.append(
                Problem("values", f"columns {list(self.values.columns)}, expected {names}")
            )
        if len(self.values) != n:
            problems.append(Problem("values", f"{len(self.values)} rows, expected {n}"))
        unknown = sorted(set(self.proxies) - set(self.spec.feature_names))
        if unknown:
            problems.append(
                Problem(
                    "proxies",
                    f"not features of the spec: {unknown}",
                    "pass the feature names flagged by the proxy scan",
                )
            )
        if self.method not in _METHODS:
            problems.append(Problem("method", f"{self.method!r} is not one of {_METHODS}"))
        base = np.asarray(self.base_values, dtype=np.float64).reshape(-1)
        margin = np.asarray(self.margin, dtype=np.float64).reshape(-1)
        rows = np.arange(n) if self.rows is None else np.asarray(self.rows, dtype=np.int64)
        for what, arr in (("base_values", base), ("margin", margin), ("rows", rows)):
            if len(arr) != n:
                problems.append(Problem(what, f"{len(arr)} entries, expected {n}"))
        if problems:
            raise SchemaError(problems, context="Inconsistent Explanations")
        object.__setattr__(self, "base_values", base)
        object.__setattr__(self, "margin", margin)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "proxies", frozenset(self.proxies))

    # ------------------------------------------------------------------ accessors
    @property
    def ids(self) -> pd.Index:
        """The explained rows' ids (the index of ``contributions``)."""
        return self.contributions.index

    @property
    def features(self) -> list[str]:
        """The explained features (the model's inputs, in spec order)."""
        return list(self.contributions.columns)

    @property
    def base_value(self) -> float:
        """The expected log-odds the contributions start from (NaN if no rows)."""
        return float(self.base_values[0]) if len(self.base_values) else float("nan")

    def __len__(self) -> int:
        return len(self.contributions)

    def __repr__(self) -> str:
        return (
            f"Explanations({len(self):,} rows x {self.contributions.shape[1]} features, "
            f"method={self.method!r}, base_value={self.base_value:.4g} log-odds)"
        )

    # ------------------------------------------------------------------ summaries
    def global_importance(
        self, n_boot: int = 200, confidence: float = 0.95, random_state: int | None = 0
    ) -> pd.DataFrame:
        """Mean absolute contribution per feature, with a bootstrap confidence interval.

        Parameters
        ----------
        n_boot : int, default 200
            Bootstrap replicates (rows resampled with replacement).
        confidence : float, default 0.95
            Coverage of the percentile interval.
        random_state : int or None, default 0

        Returns
        -------
        pandas.DataFrame
            Columns ``feature, description, mean_abs, lo, hi, n``, most important first.
            ``mean_abs`` is in log-odds; with no rows every value is NaN and ``n`` is 0.

        Examples
        --------
        >>> from riskmodels.explain import explain
        >>> from riskmodels.explain._example import make_example
        >>> pipeline, frame, spec = make_example()
        >>> imp = explain(pipeline, frame, spec, background=frame).global_importance()
        >>> imp.loc[0, "description"]
        'Current suicidal ideation'
        >>> bool((imp["lo"] <= imp["mean_abs"]).all() and (imp["mean_abs"] <= imp["hi"]).all())
        True
        """
        if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
            raise SchemaError(
                Problem("n_boot", repr(n_boot), "pass a positive integer"),
                context="Invalid argument",
            )
        if not 0 < confidence < 1:
            raise SchemaError(
                Problem("confidence", repr(confidence), "pass a number between 0 and 1"),
                context="Invalid argument",
            )
        A = np.abs(self.contributions.to_numpy(dtype=np.float64))
        n, p = A.shape
        if n == 0:
            mean_abs = lo = hi = np.full(p, np.nan)
        else:
            mean_abs = A.mean(axis=0)
            rng = np.random.default_rng(random_state)
            boot = np.empty((n_boot, p))
            block = max(1, _BOOT_BLOCK_ENTRIES // n)
            # Each block draws its replicates' multinomial row counts at once (one bincount
            # over offset indices) and turns them into means with one matrix product.
            for start in range(0, n_boot, block):
                b = min(block, n_boot - start)
                idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
                counts = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n)
                boot[start : start + b] = (counts @ A) / n
            alpha = 1.0 - confidence
            lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
            # Percentile bounds can miss the point estimate by float rounding only.
            lo, hi = np.minimum(lo, mean_abs), np.maximum(hi, mean_abs)
        table = pd.DataFrame(
            {
                "feature": pd.Series(self.features, dtype="str"),
                "description": pd.Series(
                    [self.spec.feature(name).description for name in self.features], dtype="str"
                ),
                "mean_abs": mean_abs,
                "lo": lo,
                "hi": hi,
                "n": np.full(p, n, dtype=np.int64),
            }
        )
        return table.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)

    def reasons(self, k: int = 3) -> pd.DataFrame:
        """Per row, the ``k`` features that raise the risk most, in plain language.

        Only features with a positive contribution are reasons, so a row may have fewer
        than ``k`` (the rest are missing). Phrases come from the spec's descriptions and
        units and the person's own values, e.g. ``"Days in segregation: 14 days (raises
        risk)"``; a feature flagged as a proxy for a protected characteristic says so.
        Protected attributes are never reasons.

        Parameters
        ----------
        k : int, default 3

        Returns
        -------
        pandas.DataFrame
            The id column (named after the spec's id) and ``reason_1`` ... ``reason_k``.

        Examples
        --------
        >>> from riskmodels.explain import explain
        >>> from riskmodels.explain._example import make_example
        >>> pipeline, frame, spec = make_example()
        >>> ex = explain(pipeline, frame, spec, background=frame, rows=[3])
        >>> ex.reasons(k=2).loc[0, "reason_1"]
        'Current suicidal ideation: yes (raises risk)'
        """
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise SchemaError(
                Problem("k", repr(k), "pass a positive integer"), context="Invalid argument"
            )
        slots = top_reasons(
            self.contributions.to_numpy(dtype=np.float64),
            self.values,
            self.spec,
            self.proxies,
            int(k),
        )
        out = {self.spec.id: pd.Series(self.ids, copy=False).reset_index(drop=True)}
        for r, phrases in enumerate(slots, start=1):
            # a row with fewer reasons has a missing slot, never the text 'None' (numpy
            # "str" under pandas 2.x would write it)
            out[f"reason_{r}"] = pd.Series(phrases, dtype=pd.StringDtype("pyarrow"))
        return pd.DataFrame(out)

    # ------------------------------------------------------------------ figures
    def _labels(self) -> dict[str, str]:
        return {
            name: _plots._label(self.spec.feature(name).description, name in self.proxies)
            for name in self.features
        }

    def plot_bar(self, ax: Axes | None = None) -> Axes:
        """Bar chart of global importance (mean |contribution|, 95% bootstrap CI).

        Examples
        --------
        >>> from riskmodels.explain import explain
        >>> from riskmodels.explain._example import make_example
        >>> pipeline, frame, spec = make_example()
        >>> ax = explain(pipeline, frame, spec, background=frame).plot_bar()
        >>> ax.get_xlabel()
        'Mean |contribution| (log-odds of the uncalibrated model)'
        """
        return _plots.plot_bar(self.global_importance(), self.proxies, ax=ax)

    def plot_beeswarm(self, ax: Axes | None = None) -> Axes:
        """Each person's contribution per feature, coloured by the feature's value.

        Examples
        --------
        >>> from riskmodels.explain import explain
        >>> from riskmodels.explain._example import make_example
        >>> pipeline, frame, spec = make_example()
        >>> ax = explain(pipeline, frame, spec, background=frame).plot_beeswarm()
        >>> ax.get_title()
        'Contributions per person (400 people)'
        """
        order = list(self.global_importance(n_boot=1)["feature"])
        kinds = {name: self.spec.feature(name).kind for name in self.features}
        return _plots.plot_beeswarm(
            self.contributions, self.values, order, self._labels(), kinds, ax=ax
        )

    def to_png(self, kind: Literal["bar", "beeswarm"] = "bar", *, dpi: int = 120) -> bytes:
        """The ``plot_bar`` or ``plot_beeswarm`` figure as PNG bytes (for model cards).

        Examples
        --------
        >>> from riskmodels.explain import explain
        >>> from riskmodels.explain._example import make_example
        >>> pipeline, frame, spec = make_example()
        >>> explain(pipeline, frame, spec, background=frame).to_png("bar")[:4]
        b'\\x89PNG'
        """
        if kind == "bar":
            draw = self.plot_bar
        elif kind == "beeswarm":
            draw = self.plot_beeswarm
        else:
            raise SchemaError(
                Problem("kind", repr(kind), "use 'bar' or 'beeswarm'"), context="Invalid argument"
            )
        return _plots.to_png(draw, len(self.features), dpi=dpi)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``Explanations.from_dict`` restores it exactly.

        Examples
        --------
        >>> import json
        >>> from riskmodels.explain import Explanations, explain
        >>> from riskmodels.explain._example import make_example
        >>> pipeline, frame, spec = make_example()
        >>> ex = explain(pipeline, frame, spec, background=frame, rows=[0, 5])
        >>> back = Explanations.from_dict(json.loads(json.dumps(ex.to_dict())))
        >>> back.contributions.equals(ex.contributions)
        True
        """
        return {
            "format": FORMAT,
            "method": self.method,
            "spec": self.spec.model_dump(mode="json"),
            "proxies": sorted(self.proxies),
            "ids": {"name": self.ids.name, **_column_to_json(self.ids)},
            "rows": self.rows.tolist(),
            "base_values": self.base_values.tolist(),
            "margin": self.margin.tolist(),
            "contributions": {
                name: self.contributions[name].to_numpy(dtype=np.float64).tolist()
                for name in self.contributions.columns
            },
            "values": {name: _column_to_json(self.values[name]) for name in self.values.columns},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanations:
        """Rebuild explanations written by :meth:`to_dict`."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise SchemaError(
                Problem("format", f"expected {FORMAT!r}, found {found!r}", "pass to_dict() output"),
                context="Invalid Explanations",
            )
        spec = DatasetSpec.from_dict(data["spec"])
        index = pd.Index(_column_from_json(data["ids"]), name=data["ids"]["name"])
        contributions = pd.DataFrame(
            {name: np.asarray(v, dtype=np.float64) for name, v in data["contributions"].items()},
            index=index,
            columns=list(data["contributions"]),
        )
        values = pd.DataFrame(
            {name: _column_from_json(v).set_axis(index) for name, v in data["values"].items()},
            index=index,
        )
        return cls(
            contributions=contributions,
            base_values=np.asarray(data["base_values"], dtype=np.float64),
            margin=np.asarray(data["margin"], dtype=np.float64),
            values=values,
            spec=spec,
            proxies=frozenset(data["proxies"]),
            method=data["method"],
            rows=np.asarray(data["rows"], dtype=np.int64),
        )

    # ------------------------------------------------------------------ notebooks
    def _repr_html_(self) -> str:
        e = html.escape
        n = len(self)
        head = (
            f"<p><strong>Explanations</strong> of {n:,} row{'s' if n != 1 else ''} "
            f"({e(self.method)} SHAP values in log-odds of the uncalibrated model; "
            f"base value {self.base_value:.3f}).</p>"
        )
        if n == 0:
            return f"<div>{head}</div>"
        mean_abs = self.contributions.abs().mean(axis=0)
        descriptions = {name: self.spec.feature(name).description for name in self.features}
        body = "".join(
            f"<tr><td>{e(descriptions[name])}{' †' if name in self.proxies else ''}</td>"
            f"<td>{e(name)}</td><td style='text-align:right'>{value:.3f}</td></tr>"
            for name, value in mean_abs.sort_values(ascending=False, kind="stable").items()
        )
        note = "<p>† may act as a proxy for a protected characteristic.</p>" if self.proxies else ""
        return (
            f"<div>{head}<table><thead><tr><th>Feature</th><th>Column</th>"
            f"<th>Mean |contribution|</th></tr></thead><tbody>{body}</tbody></table>{note}</div>"
        )
