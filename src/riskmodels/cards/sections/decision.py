"""Part of section 5, performance: the operational threshold, how it was chosen, what it
does there (selection rate, sensitivity, PPV) and the decision curve (net benefit of the
model, the simple baseline, acting on everyone and on no one; Vickers & Elkin 2006)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from riskmodels.cards.sections._values import num
from riskmodels.modeling import Evidence

__all__ = ["STRATEGIES", "decision"]

#: The strategies of the decision curve, in table order, with their card labels.
STRATEGIES = (
    ("model", "Model"),
    ("baseline", "Simple baseline"),
    ("act on all", "Act on everyone"),
    ("act on none", "Act on no one"),
)

_METHODS = {
    "capacity": "from the service's capacity",
    "sensitivity": "from a target sensitivity",
    "fixed": "fixed by the analyst",
    "training_top_decile": "the training top decile",
}

_RATES = (
    ("selection_rate", "Share flagged"),
    ("tpr", "Sensitivity (share of incidents flagged)"),
    ("ppv", "PPV (share of flagged people with an incident)"),
)

METHOD = (
    "Net benefit at threshold t is TP/n - FP/n x t/(1 - t): the incidents flagged, less "
    "the people flagged without one, weighted by the odds at which someone acting at t "
    "trades one for the other (Vickers & Elkin 2006). Acting on no one is worth 0. "
    "Intervals: percentile bootstrap over the held-out rows."
)


def _at(evidence: Evidence, thr: float) -> list[dict[str, Any]]:
    tr = evidence.threshold_rates
    if tr is None or len(tr) == 0:
        return []
    rows = tr[(tr["attribute"] == "all") & np.isclose(tr["threshold"].astype(float), thr)]
    out = []
    for key, label in _RATES:
        r = rows[rows["metric"] == key]
        if len(r):
            r0 = r.iloc[0]
            out.append(
                {
                    "metric": key,
                    "label": label,
                    "value": num(r0["value"]),
                    "lo": num(r0["lo"]),
                    "hi": num(r0["hi"]),
                }
            )
    return out


def decision(evidence: Evidence) -> dict[str, Any] | None:
    """The card's ``metrics.decision`` block, or None for evidence without a curve.

    Examples
    --------
    >>> decision(type("E", (), {"decision_curve": None})()) is None
    True
    """
    curve = getattr(evidence, "decision_curve", None)
    if curve is None or len(curve) == 0:
        return None
    thr = float(evidence.threshold)
    choice = dict(getattr(evidence, "threshold_choice", None) or {})
    method = str(choice.get("method", "unknown"))
    at_thr = np.isclose(curve["threshold"].astype(float), thr, rtol=0, atol=1e-12)
    table = []
    for key, label in STRATEGIES:
        row = curve[at_thr & (curve["strategy"] == key)]
        if len(row):
            r = row.iloc[0]
            table.append(
                {
                    "strategy": key,
                    "label": label,
                    "net_benefit": num(r["net_benefit"]),
                    "lo": num(r["lo"]),
                    "hi": num(r["hi"]),
                }
            )
    nb = {r["strategy"]: r["net_benefit"] for r in table}
    model, best = nb.get("model"), max(nb.get("act on all") or 0.0, 0.0)
    if model is None or not math.isfinite(thr):
        reading = None
    elif model > best:
        reading = (
            "At the operational threshold, acting on the model's flags does more good than "
            "acting on everyone or on no one (by the point estimates; see the intervals)."
        )
    else:
        reading = (
            "At the operational threshold, acting on the model's flags does no more good "
            "than acting on everyone or on no one: the threshold or the model needs review."
        )
    return {
        "threshold": num(thr),
        "choice": {
            "method": method,
            "method_label": _METHODS.get(method, method.replace("_", " ")),
            "description": str(choice.get("description", "")),
            "flagged": choice.get("flagged"),
            "n": choice.get("n"),
        },
        "rates": _at(evidence, thr),
        "table": table,
        "reading": reading,
        "method": METHOD,
        "curve": {
            key: {
                "threshold": [num(v) for v in part["threshold"]],
                "net_benefit": [num(v) for v in part["net_benefit"]],
                "lo": [num(v) for v in part["lo"]],
                "hi": [num(v) for v in part["hi"]],
            }
            for key, part in curve.groupby("strategy", sort=False)
        },
    }
