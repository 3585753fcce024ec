"""Exact JSON round trips of result tables (NaN and infinities included).

JSON has no NaN: a float NaN is written as ``null`` and the column's dtype is stored, so it
reads back as NaN (not None); infinities are written as the strings ``"inf"`` / ``"-inf"``.
Python writes floats with the shortest repr that reads back to the same double, so values
round trip bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from riskmodels.errors import Problem, SchemaError

__all__ = ["frame_from_payload", "frame_to_payload", "json_float", "read_float"]


def json_float(x: float) -> float | str | None:
    """A float as a JSON-safe value (None for NaN, "inf"/"-inf" for infinities)."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def read_float(v: float | str | None) -> float:
    """Inverse of :func:`json_float`."""
    if v is None:
        return float("nan")
    return float(v)


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "int64"
    if pd.api.types.is_float_dtype(s.dtype):
        return "float64"
    return "str"


def frame_to_payload(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame (default RangeIndex) as ``{"columns", "dtypes", "data"}``."""
    columns = [str(c) for c in frame.columns]
    dtypes = [_kind(frame[c]) for c in frame.columns]
    data: dict[str, list[Any]] = {}
    for name, col, kind in zip(columns, frame.columns, dtypes, strict=True):
        values = frame[col].to_numpy()
        if kind == "float64":
            data[name] = [json_float(v) for v in values]
        elif kind == "int64":
            data[name] = [int(v) for v in values]
        elif kind == "bool":
            data[name] = [bool(v) for v in values]
        else:
            data[name] = [None if pd.isna(v) else str(v) for v in values]
    return {"columns": columns, "dtypes": dtypes, "data": data}


def frame_from_payload(payload: dict[str, Any]) -> pd.DataFrame:
    """Inverse of :func:`frame_to_payload`."""
    try:
        columns = payload["columns"]
        dtypes = payload["dtypes"]
        data = payload["data"]
        out = {}
        for name, kind in zip(columns, dtypes, strict=True):
            values = data[name]
            if kind == "float64":
                out[name] = pd.Series([read_float(v) for v in values], dtype="float64")
            elif kind == "int64":
                out[name] = pd.Series(values, dtype="int64")
            elif kind == "bool":
                out[name] = pd.Series(values, dtype="bool")
            else:
                out[name] = pd.Series(values, dtype="str")
        return pd.DataFrame(out, columns=columns)
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError(
            Problem(
                None, f"a malformed table in the JSON ({exc!r})", "re-create it with to_json()"
            ),
            context="Cannot read the JSON",
        ) from exc
