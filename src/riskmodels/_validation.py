"""Argument checks that return :class:`~riskmodels.errors.Problem` objects.

In the style of scikit-learn's ``utils/validation.py``, but collecting: a function checks
every argument, gathers the problems, and raises one
:class:`~riskmodels.errors.SchemaError` that lists them all (:func:`raise_problems`),
each naming the argument, what was found and what to pass instead. No bare ``TypeError``
or ``IndexError`` reaches a user from a bad argument.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.errors import Problem, SchemaError

__all__ = [
    "as_float_vector",
    "check_binary_labels",
    "check_choice",
    "check_finite",
    "check_int",
    "check_labels_and_scores",
    "check_level",
    "check_positions",
    "check_real",
    "check_same_length",
    "check_seed",
    "raise_problems",
]


def raise_problems(problems: Iterable[Problem], context: str) -> None:
    """Raise one :class:`SchemaError` listing ``problems``, if there are any.

    Examples
    --------
    >>> raise_problems(check_int(0, "chunk_size", minimum=1), "Invalid argument to f")
    Traceback (most recent call last):
    ...
    riskmodels.errors.SchemaError: Invalid argument to f (1 problem):
      - 'chunk_size': 0. Hint: pass an integer >= 1
    """
    problems = list(problems)
    if problems:
        raise SchemaError(problems, context=context)


def check_int(
    value: Any, name: str, *, minimum: int | None = None, none_ok: bool = False
) -> list[Problem]:
    """Problems unless ``value`` is an integer (not a bool) >= ``minimum``."""
    if value is None and none_ok:
        return []
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if ok and (minimum is None or value >= minimum):
        return []
    hint = "pass an integer" + (f" >= {minimum}" if minimum is not None else "")
    return [Problem(name, repr(value), hint + (" or None" if none_ok else ""))]


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> list[Problem]:
    """Problems unless ``value`` is one of ``choices``."""
    options = list(choices)
    if any(value is c or (type(value) is type(c) and value == c) for c in options):
        return []
    return [Problem(name, repr(value), f"use one of {options}")]


def check_seed(value: Any, name: str = "random_state") -> list[Problem]:
    """Problems unless ``value`` is None, an int >= 0 or a numpy Generator."""
    if value is None or isinstance(value, np.random.Generator):
        return []
    return check_int(value, name, minimum=0)


def check_positions(rows: Any, n: int, name: str = "rows") -> tuple[np.ndarray, list[Problem]]:
    """Row positions (int64) from positions or a boolean mask over ``n`` rows.

    Returns the positions (empty when there are problems) and the problems.

    Examples
    --------
    >>> check_positions([2, 0], 3)[0].tolist()
    [2, 0]
    >>> check_positions([True, False, True], 3)[0].tolist()
    [0, 2]
    >>> [p.hint for p in check_positions([5], 3)[1]]
    ['positions must lie in 0..2']
    """
    empty = np.zeros(0, dtype=np.int64)
    if rows is None:
        return np.arange(n, dtype=np.int64), []
    arr = rows.to_numpy() if isinstance(rows, pd.Series | pd.Index) else np.asarray(rows)
    if arr.dtype == bool:
        if arr.shape != (n,):
            return empty, [
                Problem(name, f"a boolean mask of shape {arr.shape}", f"a mask needs {n} entries")
            ]
        return np.flatnonzero(arr).astype(np.int64), []
    arr = arr.reshape(-1)
    if arr.size == 0:
        return empty, []
    if not np.issubdtype(arr.dtype, np.integer):
        return empty, [
            Problem(name, f"values of type {arr.dtype}", "pass row positions (int) or a mask")
        ]
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        return empty, [
            Problem(name, f"positions {bad[:5].tolist()}", f"positions must lie in 0..{n - 1}")
        ]
    return arr.astype(np.int64), []


# ------------------------------------------------------------------ arrays of rows
def as_float_vector(x: Any, name: str) -> tuple[np.ndarray | None, list[Problem]]:
    """``x`` as a 1-D float array (pandas nullable values become NaN), or None and why.

    Examples
    --------
    >>> as_float_vector([0, 1, 1], "y_true")[0].tolist()
    [0.0, 1.0, 1.0]
    >>> [p.hint for p in as_float_vector([[0.8, 0.2]], "y_prob")[1]]
    ['this looks like predict_proba output: pass predict_proba(X)[:, 1]']
    >>> [p.found for p in as_float_vector(["a", "b"], "y_true")[1]]
    ['cannot be read as numbers (dtype list)']
    """
    try:
        if hasattr(x, "to_numpy"):  # pandas: nullable dtypes need na_value to convert
            arr = x.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        dtype = getattr(x, "dtype", type(x).__name__)
        return None, [
            Problem(name, f"cannot be read as numbers (dtype {dtype})", hint="pass numeric values")
        ]
    if arr.ndim != 1:
        hint = "pass a 1-D array with one value per row"
        if arr.ndim == 2 and arr.shape[-1] == 2:
            hint = "this looks like predict_proba output: pass predict_proba(X)[:, 1]"
        return None, [Problem(name, f"has shape {arr.shape}, expected 1-D", hint=hint)]
    return arr, []


def check_binary_labels(y: np.ndarray, name: str = "y_true") -> list[Problem]:
    """Problems unless every value of ``y`` (floats) is 0 or 1, naming what was found.

    Examples
    --------
    >>> [p.found for p in check_binary_labels(np.array([0.0, 2.0, np.nan]))]
    ['contains 1 missing value(s)', 'is not binary: found value(s) 2.0']
    """
    problems = []
    n_nan = int(np.isnan(y).sum())
    if n_nan:
        problems.append(
            Problem(
                name,
                f"contains {n_nan} missing value(s)",
                hint="drop rows whose outcome is unknown before evaluating",
            )
        )
    other = np.unique(y[~np.isnan(y) & (y != 0) & (y != 1)])
    if other.size:
        shown = ", ".join(repr(float(v)) for v in other[:5])
        problems.append(
            Problem(
                name,
                f"is not binary: found value(s) {shown}",
                hint="encode the outcome as 1 = event, 0 = no event",
            )
        )
    return problems


def check_finite(x: np.ndarray, name: str, hint: str) -> list[Problem]:
    """Problems unless every value of ``x`` is finite (counts missing and infinite ones)."""
    n_nan = int(np.isnan(x).sum())
    n_inf = int(np.isinf(x).sum())
    if not (n_nan or n_inf):
        return []
    return [Problem(name, f"contains {n_nan} missing and {n_inf} infinite value(s)", hint=hint)]


def check_same_length(arrays: dict[str, np.ndarray | None]) -> list[Problem]:
    """Problems unless the given arrays (None: already reported) have one, non-zero length."""
    lengths = {k: a.size for k, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        return [Problem(None, f"inputs differ in length ({shown})", hint="align rows")]
    if lengths and next(iter(lengths.values())) == 0:
        return [Problem(None, "no rows", hint="evaluate on a non-empty sample")]
    return []


def check_real(value: Any, name: str, hint: str = "pass a finite number") -> list[Problem]:
    """Problems unless ``value`` is a finite real number (not a bool)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)):
        return []
    return [Problem(name, repr(value), hint)]


def check_level(value: Any, name: str = "confidence") -> list[Problem]:
    """Problems unless ``value`` is a confidence level strictly between 0 and 1."""
    if not check_real(value, name) and 0.0 < float(value) < 1.0:
        return []
    return [Problem(name, repr(value), "pass a level in (0, 1), e.g. 0.95")]


def check_labels_and_scores(
    y_true: Any, y_score: Any, score_name: str = "y_score", hint: str = "score every row"
) -> tuple[np.ndarray | None, np.ndarray | None, list[Problem]]:
    """0/1 labels and finite scores of the same, non-zero length, as float arrays, with
    every problem (the checks of every function that takes labels and scores).

    Examples
    --------
    >>> y, s, problems = check_labels_and_scores([0, 1], [0.2, float("nan")])
    >>> [p.found for p in problems]
    ['contains 1 missing and 0 infinite value(s)']
    """
    y, problems = as_float_vector(y_true, "y_true")
    s, more = as_float_vector(y_score, score_name)
    problems += more
    if y is not None:
        problems += check_binary_labels(y, "y_true")
    if s is not None:
        problems += check_finite(s, score_name, hint)
    problems += check_same_length({"y_true": y, score_name: s})
    return y, s, problems
