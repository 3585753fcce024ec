"""Section 7, fairness: the criterion, the trade-off, group tables after disclosure control,
and the largest publishable gaps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.cards._sdc import redact_small_counts, suppressed_rates, withheld_counts
from riskmodels.cards._text import CRITERIA, TRADEOFF
from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import num
from riskmodels.fairness import FairnessAudit
from riskmodels.fairness._engine import METRICS as GROUP_METRICS
from riskmodels.policy import Policy

__all__ = ["GAP_METRICS", "AdequacyRule", "adequacy_rule", "build", "criterion"]

#: The gaps the card reports (selection, error and precision rates against the reference).
GAP_METRICS = ("selection_rate", "tpr", "fpr", "ppv")

#: (description for the card, the judge: by_group frame -> boolean array)
AdequacyRule = tuple[dict[str, Any], Callable[[pd.DataFrame], np.ndarray]]


def adequacy_rule(audit: FairnessAudit, policy: Policy | None) -> AdequacyRule:
    """The rule that marks a group too small: the policy's ``FairnessPolicy.adequate`` when
    there is a policy (the rule its gates use, so card and gates agree), else the audit's."""
    if policy is not None:
        f = policy.fairness
        described = {
            "source": "policy",
            "min_rows": int(f.min_group_size),
            "min_events": int(f.min_group_events),
            "min_nonevents": int(f.min_group_nonevents),
        }
        return described, lambda bg: np.asarray(f.adequate(bg), dtype=bool)
    described = {
        "source": "audit",
        "min_rows": int(audit.min_group_size),
        "min_events": 1,
        "min_nonevents": 1,
    }
    return described, lambda bg: bg["adequate"].astype(bool).to_numpy()


def criterion(policy: Policy | None) -> dict[str, Any]:
    """The fairness criterion the policy prioritises, in plain words, with its rationale."""
    if policy is None:
        return {
            "name": None,
            "plain": None,
            "consequence": None,
            "rationale": None,
            "source": None,
            "policy": None,
        }
    name = policy.fairness.criterion
    plain, consequence = CRITERIA.get(name, (name.replace("_", " "), None))
    return {
        "name": name,
        "plain": plain,
        "consequence": consequence,
        "rationale": policy.fairness.criterion_rationale,
        "source": "policy",
        "policy": f"{policy.name} v{policy.version}",
    }


def _metric_cells(r: dict[str, Any], hidden: set[str], sdc: int) -> tuple[dict[str, Any], set]:
    out_rates = suppressed_rates(r, GROUP_METRICS, hidden, sdc)
    cells = {
        m: None
        if m in out_rates
        else {"value": num(r[m]), "lo": num(r[f"{m}_lo"]), "hi": num(r[f"{m}_hi"])}
        for m in GROUP_METRICS
    }
    return cells, out_rates


def _tables(audit: FairnessAudit, sdc: int, judge: Callable) -> list[dict[str, Any]]:
    bg = audit.by_group.reset_index(drop=True)
    adequate = judge(bg)
    withheld = withheld_counts(bg, sdc)
    tables: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(bg.to_dict(orient="records")):
        attribute = str(r["attribute"])
        table = tables.setdefault(
            attribute,
            {
                "attribute": attribute,
                "kind": "intersection" if attribute in audit.intersections else "attribute",
                "reference": audit.reference.get(attribute),
                "figure": None,
                "rows": [],
            },
        )
        hidden = {c: withheld[(i, c)] for c in ("n", "n_pos", "n_neg") if (i, c) in withheld}
        cells, out_rates = _metric_cells(r, set(hidden), sdc)
        table["rows"].append(
            {
                "group": str(r["group"]),
                "reference": bool(r["is_reference"]),
                # a group the audit judged but the policy's rule calls too small is shown
                # as too small, as the gates treat it
                "status": str(r["status"]) if adequate[i] or not r["adequate"] else "sparse",
                "adequate": bool(adequate[i]),
                "n": None if "n" in hidden else int(r["n"]),
                "n_pos": None if "n_pos" in hidden else int(r["n_pos"]),
                "n_neg": None if "n_neg" in hidden else int(r["n_neg"]),
                "withheld": hidden,
                "suppressed_metrics": sorted(out_rates),
                "metrics": cells,
            }
        )
    for table in tables.values():
        # a table of which nothing can be published collapses to one line in the renderings
        table["publishable"] = any(
            row["n"] is not None or any(v is not None for v in row["metrics"].values())
            for row in table["rows"]
        )
    return list(tables.values())


def _gap_entry(table: dict[str, Any], metric: str, rows: pd.DataFrame, shown: dict) -> dict:
    published = [
        r
        for r in rows.to_dict(orient="records")
        if shown.get((table["attribute"], r["group"]), {}).get(metric) is not None
        and shown.get((table["attribute"], r["reference"]), {}).get(metric) is not None
    ]
    entry: dict[str, Any] = {
        "attribute": table["attribute"],
        "metric": metric,
        "status": "suppressed" if len(rows) else "undefined",
        "group": None,
        "reference": table["reference"],
        "difference": None,
        "difference_lo": None,
        "difference_hi": None,
        "n_compared": len(rows),
        "n_suppressed": len(rows) - len(published),
    }
    if published:
        best = max(published, key=lambda r: abs(r["difference"]))
        entry.update(
            status="ok",
            group=str(best["group"]),
            difference=num(best["difference"]),
            difference_lo=num(best["difference_lo"]),
            difference_hi=num(best["difference_hi"]),
        )
    return entry


def _gaps(audit: FairnessAudit, tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The largest publishable gap against the reference group, per attribute and metric.

    Like ``FairnessAudit.max_gap`` (adequate groups only), but among the comparisons whose
    two rates survive disclosure control, so that the card never points at a number it
    cannot show. ``n_compared`` counts the adequate comparisons, ``n_suppressed`` those
    left out for disclosure control.
    """
    shown = {(t["attribute"], row["group"]): row["metrics"] for t in tables for row in t["rows"]}
    judged = {
        (t["attribute"], row["group"]) for t in tables for row in t["rows"] if row["adequate"]
    }
    d = audit.disparities
    both = [
        (a, g) in judged and (a, ref) in judged
        for a, g, ref in zip(d["attribute"], d["group"], d["reference"], strict=True)
    ]
    d = d[d["adequate"] & (d["group"] != d["reference"]) & np.asarray(both, dtype=bool)]
    return [
        _gap_entry(
            t, metric, d[(d["attribute"] == t["attribute"]) & (d["metric"] == metric)], shown
        )
        for t in tables
        for metric in GAP_METRICS
    ]


def _base_rate_spread(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in tables:
        if t["kind"] != "attribute":
            continue
        rows = [
            (r["group"], r["metrics"]["base_rate"]["value"])
            for r in t["rows"]
            if r["adequate"]
            and r["metrics"]["base_rate"] is not None
            and r["metrics"]["base_rate"]["value"] is not None
        ]
        if len(rows) >= 2:
            lo, hi = min(rows, key=lambda x: x[1]), max(rows, key=lambda x: x[1])
            out.append(
                {
                    "attribute": t["attribute"],
                    "lowest_group": lo[0],
                    "lowest": lo[1],
                    "highest_group": hi[0],
                    "highest": hi[1],
                }
            )
    return out


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"fairness": ...}``: the audit after statistical disclosure control."""
    audit, crit = inputs.evidence.fairness, criterion(inputs.policy)
    if audit is None:
        return {
            "fairness": {
                "available": False,
                "criterion": crit,
                "tradeoff": TRADEOFF,
                "tables": [],
                "gaps": [],
                "small_groups": [],
                "base_rates": [],
                "notes": [
                    "No fairness audit was run (the spec lists no protected attributes, "
                    "or the evidence was built with fairness=False)."
                ],
            }
        }
    described, judge = adequacy_rule(audit, inputs.policy)
    tables = _tables(audit, sdc, judge)
    return {
        "fairness": {
            "available": True,
            "threshold": num(audit.threshold),
            "confidence": num(audit.confidence),
            "n_boot": int(audit.n_boot),
            "min_group_size": described["min_rows"],
            "adequacy": described,
            "reference": {str(k): str(v) for k, v in audit.reference.items()},
            "attributes": list(audit.attributes),
            "intersections": list(audit.intersections),
            "criterion": crit,
            "tradeoff": TRADEOFF,
            "base_rates": _base_rate_spread(tables),
            "tables": tables,
            "gaps": _gaps(audit, tables),
            "small_groups": [
                {"attribute": t["attribute"], "group": r["group"], "status": r["status"]}
                for t in tables
                for r in t["rows"]
                if not r["adequate"]
            ],
            "notes": [redact_small_counts(str(n), sdc) for n in audit.notes],
        }
    }
