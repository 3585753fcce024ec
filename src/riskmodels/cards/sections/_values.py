"""Plain-JSON values for card sections: NaN becomes None, numpy scalars become Python."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from riskmodels._json import finite_or_none
from riskmodels.metrics import Estimate

__all__ = ["estimate", "num", "opt_int", "plain", "slug"]


#: NaN and infinities become None: the one rule, from riskmodels._json.
num = finite_or_none


def opt_int(x: Any) -> int | None:
    """An int for JSON, or None for a missing value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return int(x)


def estimate(e: Estimate) -> dict[str, Any]:
    """An :class:`~riskmodels.metrics.Estimate` as plain JSON (non-finite values None)."""
    return {
        "value": num(e.value),
        "lo": num(e.lo),
        "hi": num(e.hi),
        "n": int(e.n),
        "status": str(e.status),
        "reason": str(e.reason),
    }


def plain(value: Any) -> Any:
    """A JSON value from a record that may hold numpy scalars or tuples."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def slug(name: str) -> str:
    """A file-name-safe key: ``slug("age band x ethnicity") == "age_band_x_ethnicity"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "attribute"
