"""Statistical disclosure control for published group tables.

A published card must not let a reader single out a handful of people. Counts below the
threshold are withheld ("<10"), and so are the counts from which a withheld count could be
recovered by subtraction, and every rate whose denominator is below the threshold.

The rules, applied to each audited attribute (and intersection) of a fairness audit:

1. *Primary*: a count ``n``, ``n_pos`` or ``n_neg`` below the threshold is withheld.
2. *Within a row*: ``n = n_pos + n_neg``, so when exactly one of the three is withheld a
   second one is withheld too (``n_neg`` for a withheld ``n_pos`` and vice versa; ``n``
   stays visible because readers need it).
3. *Across rows*: the counts of one attribute add up to the published totals, and the
   cells of an intersection add up to the cells of its margins. When exactly one count
   of such a line is withheld, the smallest other count of the line is withheld too.
   Rules 2 and 3 repeat until nothing changes.
4. *Rates*: a rate is suppressed when a published count it is computed from is below
   the threshold: its denominator (rows for share flagged, Brier and ECE; incidents for
   TPR and FNR; non-incidents for FPR and TNR; flagged rows for PPV; unflagged rows for
   NPV; the smaller class for AUC), and the incidents for the base rate and observed /
   expected. The base rate is also suppressed whenever any count of its row is withheld,
   because ``n_pos = base_rate * n``.

5. *Free text*: counts quoted in sentences written by other engines (gate reasons,
   notes, data-quality findings), such as "6 events" or "n=5", are replaced by "<10"
   (:func:`redact_small_counts`).

What the rules do not prevent: a true-positive or false-positive count below the
threshold can still be recovered by multiplying a published rate by its published
denominator (e.g. TPR x incidents). Suppressing those rates too would hide the error
rates the fairness audit exists to show (and the policy's gate report quotes them for
every group large enough to judge); a publisher who needs that protection must round or
suppress further before publication.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"attribute": ["sex"] * 3, "group": ["F", "M", "X"],
...                   "n": [400, 500, 8], "n_pos": [40, 60, 2], "n_neg": [360, 440, 6]})
>>> w = withheld_counts(t, threshold=10)
>>> sorted(w.items())[:3]
[((0, 'n'), 'secondary'), ((0, 'n_neg'), 'secondary'), ((0, 'n_pos'), 'secondary')]
>>> w[(2, "n")]
'below_threshold'
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from itertools import combinations
from typing import Any

import pandas as pd

__all__ = [
    "COUNT_COLUMNS",
    "INTERSECTION_SEP",
    "SUPPRESSED",
    "rate_cells",
    "redact_small_counts",
    "suppressed_rates",
    "withheld_counts",
]

#: The count columns of a group table.
COUNT_COLUMNS = ("n", "n_pos", "n_neg")
#: Joins attribute names and group labels of an intersection (as in the fairness audit).
INTERSECTION_SEP = " x "
#: Reasons a number is not published.
SUPPRESSED = ("below_threshold", "secondary")

_MAX_ROUNDS = 1000


def withheld_counts(table: pd.DataFrame, threshold: int) -> dict[tuple[int, str], str]:
    """Which counts of a group table to withhold, and why.

    Parameters
    ----------
    table : DataFrame
        Columns ``attribute``, ``group``, ``n``, ``n_pos``, ``n_neg`` (one row per group,
        as in ``FairnessAudit.by_group``); intersections are named ``"a x b"`` with groups
        ``"v x w"``.
    threshold : int
        Counts below it are withheld (0 disables disclosure control).

    Returns
    -------
    dict
        ``{(row position, column): "below_threshold" | "secondary"}``.
    """
    withheld: dict[tuple[int, str], str] = {}
    if threshold <= 0 or table.empty:
        return withheld
    counts = {c: table[c].to_numpy() for c in COUNT_COLUMNS}
    for i in range(len(table)):
        for c in COUNT_COLUMNS:
            if counts[c][i] < threshold:
                withheld[(i, c)] = "below_threshold"
    lines = _lines(table)
    for _ in range(_MAX_ROUNDS):
        changed = _protect_rows(withheld, len(table))
        for line in lines:
            for c in COUNT_COLUMNS:
                hidden = [i for i in line if (i, c) in withheld]
                if len(hidden) == 1 and len(line) > 1:
                    shown = [i for i in line if (i, c) not in withheld]
                    if shown:
                        smallest = min(shown, key=lambda i: (counts[c][i], i))
                        withheld[(smallest, c)] = "secondary"
                        changed = True
        if not changed:
            break
    return withheld


def _protect_rows(withheld: dict[tuple[int, str], str], n_rows: int) -> bool:
    changed = False
    partner = {"n_pos": "n_neg", "n_neg": "n_pos"}
    for i in range(n_rows):
        hidden = [c for c in COUNT_COLUMNS if (i, c) in withheld]
        if len(hidden) == 1:
            c = hidden[0]
            other = partner.get(c, "n_pos")
            withheld[(i, other)] = "secondary"
            changed = True
    return changed


def _lines(table: pd.DataFrame) -> list[list[int]]:
    """Sets of rows whose counts add up to a number a reader can see or derive."""
    lines: list[list[int]] = []
    for attribute, rows in table.groupby("attribute", sort=False).indices.items():
        positions = [int(i) for i in rows]
        lines.append(positions)  # the attribute's groups add up to the evaluation set
        k = len(str(attribute).split(INTERSECTION_SEP))
        if k < 2:
            continue
        parts = {i: str(table["group"].iat[i]).split(INTERSECTION_SEP) for i in positions}
        if any(len(p) != k for p in parts.values()):
            continue  # a label containing the separator: keep the whole-table line only
        for size in range(1, k):
            for fixed in combinations(range(k), size):
                slices: dict[tuple[str, ...], list[int]] = defaultdict(list)
                for i in positions:
                    slices[tuple(parts[i][j] for j in fixed)].append(i)
                lines.extend(slices.values())
    return lines


def rate_cells(metric: str, row: dict[str, Any]) -> tuple[float, ...]:
    """The counts a group rate is computed from that must reach the threshold (rule 4).

    Parameters
    ----------
    metric : str
        A group metric of the fairness audit.
    row : dict
        The group's row of ``FairnessAudit.by_group`` (counts and exact rates).

    Returns
    -------
    tuple of float
        The rate is publishable only when every one of them reaches the threshold.

    Examples
    --------
    >>> row = {"n": 100, "n_pos": 20, "n_neg": 80, "tpr": 0.75, "fpr": 0.1}
    >>> rate_cells("tpr", row), rate_cells("ppv", row), rate_cells("npv", row)
    ((20.0,), (23.0,), (77.0,))
    """
    n, n_pos, n_neg = (float(row[c]) for c in COUNT_COLUMNS)
    flagged = _count(row.get("tpr"), n_pos) + _count(row.get("fpr"), n_neg)
    cells = {
        "base_rate": (n, n_pos, n_neg),
        "tpr": (n_pos,),
        "fnr": (n_pos,),
        "fpr": (n_neg,),
        "tnr": (n_neg,),
        "ppv": (flagged,),
        "npv": (n - flagged,),
        "auc": (n_pos, n_neg),
        "oe_ratio": (n, n_pos),
    }
    return cells.get(metric, (n,))


def _count(rate: Any, denominator: float) -> float:
    # The audit's rates are exact ratios of integer counts: rounding recovers the count.
    if rate is None or denominator <= 0:
        return 0.0
    rate = float(rate)
    return 0.0 if math.isnan(rate) else float(round(rate * denominator))


def suppressed_rates(
    row: dict[str, Any], metrics: tuple[str, ...], withheld_in_row: set[str], threshold: int
) -> set[str]:
    """The metrics of one group row that must not be published."""
    if threshold <= 0:
        return set()
    out = {m for m in metrics if min(rate_cells(m, row)) < threshold}
    if withheld_in_row and "base_rate" in metrics:
        out.add("base_rate")
    return out


_SMALL_COUNT = re.compile(
    r"\b(?P<pre>n\s*=\s*)?(?P<num>\d[\d,]*)(?P<post>\s+(?:non-events?|events?|rows?|"
    r"people|persons?|incidents?|non-incidents?))?\b"
)


def redact_small_counts(text: str, threshold: int) -> str:
    """Replace counts below ``threshold`` in free text ("6 events", "n=5") by "<10".

    Gate reasons are sentences written by the policy engine; they may quote a small
    group's counts, which a published card must not show.

    Examples
    --------
    >>> redact_small_counts("ethnicity=Black (n=1452, 6 events); 0 rows", 10)
    'ethnicity=Black (n=1452, <10 events); <10 rows'
    """
    if threshold <= 0:
        return text

    def sub(m: re.Match[str]) -> str:
        if m.group("pre") is None and m.group("post") is None:
            return m.group(0)  # a number that is not a count (a bound, a version)
        if int(m.group("num").replace(",", "")) >= threshold:
            return m.group(0)
        return f"{m.group('pre') or ''}<{threshold}{m.group('post') or ''}"

    return _SMALL_COUNT.sub(sub, text)
