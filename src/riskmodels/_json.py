"""How published numbers are written: a stated precision, so files are stable across machines.

Floating point differs in the last digits across CPUs and BLAS builds (and across thread
counts): a model card that printed 17 significant digits would change from one machine to
the next although nothing real had changed. Every published JSON document (model card,
fairness report, ATRS record) therefore stores floats at :data:`PUBLISHED_DIGITS`
significant digits, far more than any reader needs (an AUC of 0.821345) and far fewer than
the noise reaches. Counts are integers and are never rounded.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Self

import numpy as np

__all__ = [
    "PUBLISHED_DIGITS",
    "JsonForms",
    "dumps_published",
    "finite_or_none",
    "round_floats",
]

#: Significant digits of every float in a published JSON document.
PUBLISHED_DIGITS = 6


def finite_or_none(x: float | None) -> float | None:
    """A number for JSON, which has no NaN: NaN and infinities become ``null`` (None).

    The one NaN-to-JSON rule of the cards and the policy gates.

    Examples
    --------
    >>> finite_or_none(float("nan")), finite_or_none(np.float32(0.5)), finite_or_none(None)
    (None, 0.5, None)
    """
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def round_floats(obj: Any, digits: int = PUBLISHED_DIGITS) -> Any:
    """A copy of ``obj`` with every float rounded to ``digits`` significant digits.

    Mappings, lists and tuples are copied recursively; ints, bools, strings and None are
    kept as they are; NaN and infinities stay as they are (the JSON encoder decides how
    to write them). numpy scalars become Python numbers.

    Examples
    --------
    >>> round_floats({"auc": 0.030939189120498665, "n": 1994, "ci": (0.1234567, None)})
    {'auc': 0.0309392, 'n': 1994, 'ci': (0.123457, None)}
    >>> round_floats([78612.345678, True])
    [78612.3, True]
    """
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if not math.isfinite(x) else float(f"{x:.{digits}g}")
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(round_floats(v, digits) for v in obj)
    if isinstance(obj, list):
        return [round_floats(v, digits) for v in obj]
    return obj


def dumps_published(obj: Any) -> str:
    """``obj`` as indented UTF-8 JSON text at the published precision (NaN refused).

    Examples
    --------
    >>> print(dumps_published({"ece": 0.012345678901}), end="")
    {
      "ece": 0.0123457
    }
    """
    return json.dumps(round_floats(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class JsonForms:
    """The four JSON forms of a result type, from its ``to_dict`` and ``from_dict``.

    One encoding for every result (evidence, audits, scans, reports, cards): ``to_json`` /
    ``from_json`` for text, ``save`` / ``load`` for paths (written atomically). A subclass
    defines ``to_dict()`` (JSON-ready: no NaN, which JSON cannot carry; see
    :func:`finite_or_none`) and the classmethod ``from_dict(d)``, which raises
    :class:`~riskmodels.errors.SchemaError` on a dict it cannot read.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Count(JsonForms):
    ...     n: int
    ...     def to_dict(self): return {"n": self.n}
    ...     @classmethod
    ...     def from_dict(cls, d): return cls(int(d["n"]))
    >>> Count.from_json(Count(3).to_json())
    Count(n=3)
    """

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:  # pragma: no cover
        raise NotImplementedError

    def to_json(self, *, indent: int | None = None) -> str:
        """JSON text; :meth:`from_json` restores an equal object."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Read text written by :meth:`to_json` (text, never a path: see :meth:`load`)."""
        from riskmodels.errors import Problem, SchemaError

        try:
            d = json.loads(text)
        except ValueError as exc:
            raise SchemaError(
                Problem(None, f"is not JSON ({exc})", f"pass {cls.__name__}.to_json() text"),
                context=f"Cannot read the {cls.__name__} JSON",
            ) from exc
        return cls.from_dict(d)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path`` atomically (a crash leaves no half file)."""
        from riskmodels._io import atomic_write_text

        atomic_write_text(path, self.to_json(indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a file written by :meth:`save`."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(fh.read())
