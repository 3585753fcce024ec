"""Turn sensitive features into integer group codes, one attribute (or intersection) at a time.

Group labels are always strings, whatever the input dtype (string, pandas categorical,
integer, boolean), so that tables and JSON have one shape. Rows with a missing value form
an explicit ``"missing"`` group: they are audited, never dropped.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodels.errors import Problem, SchemaError

__all__ = [
    "INTERSECTION_SEP",
    "MISSING",
    "Grouping",
    "build_groupings",
    "encode_attribute",
    "sensitive_columns",
]

MISSING = "missing"
#: joins attribute names ("sex x ethnicity") and group labels ("F x White") of an intersection
INTERSECTION_SEP = " x "


@dataclass(frozen=True)
class Grouping:
    """One audited attribute: a code per row and the label of each code."""

    name: str
    # (n,) in [0, len(labels)); int16 when every code fits (gathers move fewer bytes), so
    # any arithmetic on codes must widen to int64 first (see count_tensor)
    codes: np.ndarray
    labels: tuple[str, ...]
    components: tuple[str, ...]  # the single attributes it combines (one for a plain attribute)

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def is_missing(self) -> np.ndarray:
        """Boolean per group: is any component of the label the missing group."""
        return np.array(
            [MISSING in label.split(INTERSECTION_SEP) for label in self.labels], dtype=bool
        )


def sensitive_columns(
    sensitive_features: object, n_rows: int | None
) -> list[tuple[str, pd.Series]]:
    """Normalise a Series / DataFrame / 1-d or 2-d array into ``(name, values)`` pairs.

    Rows are matched to ``y_true`` / ``y_score`` by position (the index is ignored), as in
    scikit-learn and fairlearn. The caller's objects are never modified.
    """
    if isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features
        columns = [(str(c), frame.iloc[:, j]) for j, c in enumerate(frame.columns)]
    elif isinstance(sensitive_features, pd.Series):
        name = sensitive_features.name
        columns = [("sensitive_feature" if name is None else str(name), sensitive_features)]
    else:
        arr = np.asarray(sensitive_features, dtype=object)
        if arr.ndim not in (1, 2):
            raise SchemaError(
                Problem(
                    column="sensitive_features",
                    found=f"an array with {arr.ndim} dimensions",
                    hint="pass a Series (one attribute) or a DataFrame (several)",
                ),
                context="Invalid sensitive features",
            )
        if arr.ndim == 1:
            columns = [("sensitive_feature", pd.Series(list(arr), dtype=object))]
        else:
            columns = [
                (f"sensitive_feature_{j}", pd.Series(list(arr[:, j]), dtype=object))
                for j in range(arr.shape[1])
            ]
    problems = []
    names = [name for name, _ in columns]
    if not names:
        problems.append(
            Problem("sensitive_features", "no columns", "pass at least one protected attribute")
        )
    dupes = sorted(c for c, k in Counter(names).items() if k > 1)
    if dupes:
        problems.append(
            Problem("sensitive_features", f"duplicate column names {dupes}", "rename them")
        )
    lengths = {len(values) for _, values in columns}
    if n_rows is not None and lengths - {n_rows}:
        problems.append(
            Problem(
                "sensitive_features",
                f"{sorted(lengths)[0]} rows but y_true has {n_rows}",
                "pass one sensitive value per scored row",
            )
        )
    if problems:
        raise SchemaError(problems, context="Invalid sensitive features")
    return columns


def encode_attribute(values: pd.Series, name: str) -> Grouping:
    """Group codes and string labels of one attribute (missing values -> "missing").

    Groups are ordered as the categories of a categorical, else by sorted value (order of
    appearance when values of mixed types cannot be sorted); "missing" comes last.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        raw = values.cat.codes.to_numpy()
        categories = list(values.cat.categories)
        # report observed categories only: an unobserved category has nothing to audit
        present = np.bincount(raw[raw >= 0], minlength=len(categories)) > 0
        rank = np.cumsum(present) - 1
        raw_labels = [c for c, keep in zip(categories, present, strict=True) if keep]
    else:
        raw, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
        try:
            order = np.asarray(uniques.argsort())
        except TypeError:  # values of mixed, unorderable types: keep order of appearance
            order = np.arange(len(uniques))
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[order] = np.arange(len(uniques))
        raw_labels = [uniques[i] for i in order]
    labels = [str(v) for v in raw_labels]
    if (raw < 0).any():
        if MISSING in labels:
            raise SchemaError(
                Problem(
                    name,
                    f"both missing values and a group literally named {MISSING!r}",
                    f"rename the {MISSING!r} group: missing values are audited as "
                    f"their own {MISSING!r} group",
                ),
                context="Invalid sensitive features",
            )
        labels.append(MISSING)
    # a Counter, not list.count: thousands of groups must not cost a quadratic scan
    dupes = sorted(lab for lab, k in Counter(labels).items() if k > 1)
    if dupes:
        raise SchemaError(
            Problem(
                name,
                f"distinct values that print the same: {dupes}",
                "convert the column to one type (e.g. str) before auditing",
            ),
            context="Invalid sensitive features",
        )
    # one gather through a small table: raw code -> group code, with -1 (missing) -> last
    table = np.r_[rank, len(labels) - 1].astype(_code_dtype(len(labels)))
    return Grouping(name=name, codes=table[raw], labels=tuple(labels), components=(name,))


def _code_dtype(n_groups: int) -> type[np.integer]:
    """A small integer type when it holds every code: gathers then move fewer bytes."""
    return np.int16 if n_groups < np.iinfo(np.int16).max else np.int64


def _combine(parts: list[Grouping]) -> Grouping:
    codes = parts[0].codes
    labels = list(parts[0].labels)
    for part in parts[1:]:
        joint = codes.astype(np.int64) * part.n_groups + part.codes
        present = np.bincount(joint, minlength=len(labels) * part.n_groups) > 0
        remap = np.cumsum(present) - 1
        codes = remap[joint]
        labels = [
            f"{a}{INTERSECTION_SEP}{b}"
            for (a, b), keep in zip(itertools.product(labels, part.labels), present, strict=True)
            if keep
        ]
    return Grouping(
        name=INTERSECTION_SEP.join(p.name for p in parts),
        codes=codes.astype(_code_dtype(len(labels))),
        labels=tuple(labels),
        components=tuple(c for p in parts for c in p.components),
    )


def build_groupings(columns: list[tuple[str, pd.Series]], *, intersections: bool) -> list[Grouping]:
    """Single attributes first, then every pair, then the full combination (3+ attributes)."""
    singles = [encode_attribute(values, name) for name, values in columns]
    out = list(singles)
    if intersections and len(singles) >= 2:
        out += [_combine([a, b]) for a, b in itertools.combinations(singles, 2)]
        if len(singles) >= 3:
            out.append(_combine(singles))
    return out
