"""Section 7, fairness: the criterion, the trade-off, group tables after disclosure control,
and the largest publishable gaps."""

from __future__ import annotations

from typing import Any

import pandas as pd

from riskmodels.cards._sdc import redact_small_counts, suppressed_rates, withheld_counts
from riskmodels.cards._text import CRITERIA, TRADEOFF
from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import num
from riskmodels.fairness import FairnessAudit
from riskmodels.fairness._engine import METRICS as GROUP_METRICS
from riskmodels.policy import Policy

__all__ = ["GAP_METRICS", "adequacy_rule", "build", "criterion", "judged"]

#: The gaps the card reports (selection, error and precision rates against the reference).
GAP_METRICS = ("selection_rate", "tpr", "fpr", "ppv")


def judged(audit: FairnessAudit, policy: Policy | None) -> FairnessAudit:
    """The audit as the gates judge it: with a policy, its adequacy rule
    (``FairnessPolicy.adequate``) applied through ``FairnessAudit.judged_by``, so a group
    the card shows as judged is never one the gates call too small."""
    return audit if policy is None else audit.judged_by(policy.fairness.adequate(audit.by_group))


def adequacy_rule(audit: FairnessAudit, policy: Policy | None) -> dict[str, Any]:
    """The group-adequacy rule in the card's words: the policy's, or the audit's own."""
    if policy is not None:
        f = policy.fairness
        return {
            "source": "policy",
            "min_rows": int(f.min_group_size),
            "min_events": int(f.min_group_events),
            "min_nonevents": int(f.min_group_nonevents),
        }
    return {
        "source": "audit",
        "min_rows": int(audit.min_group_size),
        "min_events": 1,
        "min_nonevents": 1,
    }


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


def _tables(audit: FairnessAudit, sdc: int) -> list[dict[str, Any]]:
    bg = audit.by_group.reset_index(drop=True)
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
                "status": str(r["status"]),
                "adequate": bool(r["adequate"]),
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
    d = audit.disparities  # judged: a comparison is adequate when both groups are
    d = d[d["adequate"] & (d["group"] != d["reference"])]
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
    described = adequacy_rule(audit, inputs.policy)
    audit = judged(audit, inputs.policy)
    tables = _tables(audit, sdc)
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
