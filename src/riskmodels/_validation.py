"""Argument checks that return :class:`~riskmodels.errors.Problem` objects.

In the style of scikit-learn's ``utils/validation.py``, but collecting: a function checks
every argument, gathers the problems, and raises one
:class:`~riskmodels.errors.SchemaError` that lists them all (:func:`raise_problems`),
each naming the argument, what was found and what to pass instead. No bare ``TypeError``
or ``IndexError`` reaches a user from a bad argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.errors import Problem, SchemaError

__all__ = [
    "check_choice",
    "check_int",
    "check_positions",
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
