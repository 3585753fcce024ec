"""How numbers and text appear in a card (shared by every renderer, so formats agree)."""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "RATE_METRICS",
    "fmt_count",
    "fmt_estimate",
    "fmt_value",
    "md_text",
]

#: Metrics shown as percentages (shares of people); the rest are shown as decimals.
RATE_METRICS = frozenset(
    {
        "base_rate",
        "selection_rate",
        "tpr",
        "fpr",
        "fnr",
        "tnr",
        "ppv",
        "npv",
        "prevalence",
        "accuracy",
    }
)

#: Shown for a number that could not be estimated (NaN in the evidence).
NOT_ESTIMABLE = "n/a"
#: Shown for a number withheld by statistical disclosure control.
SUPPRESSED = "suppressed"


def fmt_value(value: float | None, metric: str = "", digits: int = 3) -> str:
    """A point value: percentages with one decimal for rates, else ``digits`` decimals.

    Examples
    --------
    >>> fmt_value(0.12345, "tpr"), fmt_value(0.73456, "auc"), fmt_value(None)
    ('12.3%', '0.735', 'n/a')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_ESTIMABLE
    if isinstance(value, str):  # "inf" / "-inf" from the JSON encoding of Estimate
        return value
    if metric in RATE_METRICS:
        return f"{100 * value:.1f}%"
    return f"{value:.{digits}f}"


def fmt_estimate(est: dict[str, Any] | None, metric: str = "", digits: int = 3) -> str:
    """An estimate with its interval, e.g. ``"0.735 (0.702–0.768)"``.

    ``None`` (a suppressed estimate) is shown as ``"suppressed"``; a NaN value as ``"n/a"``.

    Examples
    --------
    >>> fmt_estimate({"value": 0.2, "lo": 0.15, "hi": 0.25}, "fpr")
    '20.0% (15.0–25.0%)'
    >>> fmt_estimate({"value": 0.8, "lo": None, "hi": None}, "auc")
    '0.800'
    >>> fmt_estimate({"value": -0.07, "lo": -0.27, "hi": 0.15}, "calibration_intercept")
    '-0.070 (-0.270 to 0.150)'
    """
    if est is None:
        return SUPPRESSED
    value = est.get("value")
    text = fmt_value(value, metric, digits)
    if text == NOT_ESTIMABLE:
        return text
    lo, hi = est.get("lo"), est.get("hi")
    if lo is None or hi is None or isinstance(lo, str) or isinstance(hi, str):
        return text
    # An en dash between negative numbers reads as a minus sign: use "to" there.
    sep = " to " if lo < 0 or hi < 0 else "–"
    if metric in RATE_METRICS:
        return f"{text} ({100 * lo:.1f}{sep}{100 * hi:.1f}%)"
    return f"{text} ({lo:.{digits}f}{sep}{hi:.{digits}f})"


def fmt_count(value: int | None, reason: str | None = None, threshold: int = 10) -> str:
    """A count with thousands separators, or its disclosure-control marker.

    Examples
    --------
    >>> fmt_count(12345), fmt_count(None, "below_threshold"), fmt_count(None, "secondary")
    ('12,345', '<10', 'withheld')
    """
    if reason == "below_threshold":
        return f"<{threshold}"
    if reason is not None or value is None:
        return "withheld"
    return f"{int(value):,}"


def md_text(text: Any) -> str:
    """Text safe inside a Markdown table cell or paragraph: no raw HTML, pipes or breaks.

    Only what Markdown could read as markup is escaped, with CommonMark's backslash, so the
    file still reads as plain text: ``<`` before a letter, ``/``, ``!`` or ``?`` (a tag or
    comment could start there; ``<10`` and ``>= 100`` stay as they are), ``&`` before an
    entity name, and ``|`` (a table column).

    Examples
    --------
    >>> md_text("a | b <script> &amp; <10, >= 100 & more")
    'a \\\\| b \\\\<script> \\\\&amp; <10, >= 100 & more'
    """
    s = "" if text is None else str(text)
    s = _MD_TAG.sub(r"\\<", s)
    s = _MD_ENTITY.sub(r"\\&", s)
    return s.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


#: Where a ``<`` or ``&`` would start HTML in Markdown (CommonMark: a tag name starts with a
#: letter; declarations, comments and processing instructions with ``!`` or ``?``).
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
