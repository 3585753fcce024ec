"""The reviewer summary at the top of every card: the decision asked for, each gate in one
line, the three things to watch and the waivers; built from the card's own sections, so it
never says more than the detail below it."""

from __future__ import annotations

import math
import re
from typing import Any

from riskmodels.cards._format import fmt_estimate, fmt_value
from riskmodels.cards._text import METRIC_LABELS

__all__ = ["build", "first_sentence"]


#: Where a sentence ends: a full stop before a capital letter (numbers like 0.731 and
#: abbreviations in lower case are not ends).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, on one line (a gate's reason in the summary).

    Examples
    --------
    >>> first_sentence("AUC 0.731 meets >= 0.7. Not judged,  too small:   a, b.")
    'AUC 0.731 meets >= 0.7.'
    """
    return _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0]


def _decision(d: dict[str, Any]) -> str:
    md, gate = d["model_details"], d["gate"]
    purposes = ", ".join(d["intended_use"]["policy_permitted_purposes"]) or "no purpose named"
    release = d["lifecycle"]["release"] or {}
    if release.get("reviewer"):
        until = release.get("valid_until", "the end of its validity")
        return (
            f"Released: approved by {release['reviewer']} on "
            f"{str(release.get('approved_at', ''))[:10] or 'a recorded date'} as decision "
            f"support, valid until {str(until)[:10]}. Permitted purposes: {purposes}."
        )
    if not gate["available"]:
        return (
            "No decision can be asked for yet: the card has not been checked against a "
            "release policy (policy.check(evidence, model=model, context=card.context), then "
            "card.with_gates(report))."
        )
    return (
        f"Approve {md['name']} version {md['version']} as decision support for: {purposes}? "
        f"Gates: {gate['summary']}."
    )


def _gap(d: dict[str, Any]) -> dict[str, Any]:
    gaps = [g for g in d["fairness"]["gaps"] if g["status"] == "ok"]
    what = "Largest credible fairness gap"
    if not gaps:
        return {"what": what, "text": "No gap between groups could be published or judged."}
    credible = [
        g
        for g in gaps
        if g["difference_lo"] is not None
        and g["difference_hi"] is not None
        and (g["difference_lo"] > 0 or g["difference_hi"] < 0)
    ]
    pick = max(credible or gaps, key=lambda g: abs(g["difference"]))
    lo, hi = pick["difference_lo"], pick["difference_hi"]
    points = f"{100 * pick['difference']:+.1f}" + (
        "" if lo is None or hi is None else f" ({100 * lo:+.1f} to {100 * hi:+.1f})"
    )
    text = (
        f"{METRIC_LABELS.get(pick['metric'], pick['metric']).lower()} gap, "
        f"{pick['attribute']} = {pick['group']} vs {pick['reference']}: {points} "
        "percentage points"
    )
    if not credible:
        text += "; no published gap's interval excludes zero"
    return {"what": what, "text": text + ".", **{k: pick[k] for k in ("attribute", "group")}}


def _calibration(d: dict[str, Any]) -> dict[str, Any]:
    what = "Weakest group calibration"
    rows = [
        (t["attribute"], r)
        for t in d["fairness"]["tables"]
        for r in t["rows"]
        if r["adequate"] and r["metrics"]["oe_ratio"] and r["metrics"]["oe_ratio"]["value"]
    ]
    if not rows:
        return {"what": what, "text": "No group large enough to judge has a published O/E."}
    attribute, row = max(rows, key=lambda x: abs(math.log(x[1]["metrics"]["oe_ratio"]["value"])))
    oe = fmt_estimate(row["metrics"]["oe_ratio"], "oe_ratio", digits=2)
    return {
        "what": what,
        "text": f"observed/expected incidents for {attribute} = {row['group']}: {oe} (1 is ideal).",
        "attribute": attribute,
        "group": row["group"],
    }


def _proxy(d: dict[str, Any]) -> dict[str, Any]:
    what = "Biggest proxy"
    prox = d["factors"]["proxies"]
    if not prox["scanned"]:
        return {"what": what, "text": "No proxy scan was run."}
    text = "no single feature is associated with a protected characteristic"
    strong = [s for s in prox["strongest"] if s["cramers_v"] is not None]
    if strong:
        s = max(strong, key=lambda s: s["cramers_v"])
        flag = " (flagged)" if s["flagged"] else ""
        text = (
            f"{s['description']} and {s['attribute']}: Cramér's V "
            f"{fmt_value(s['cramers_v'], digits=2)}{flag}, flag at "
            f"{fmt_value(prox['assoc_flag'], digits=2)}"
        )
    joint = [j for j in prox["joint"] if j["auc"] is not None]
    if joint:
        j = max(joint, key=lambda j: j["auc"])
        text += (
            f"; all features together predict {j['attribute']} with AUC "
            f"{fmt_value(j['auc'], digits=2)}" + (" (flagged)" if j["flagged"] else "")
        )
    return {"what": what, "text": text + "."}


def _gates(gate: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    attention = [
        {
            "name": g["name"],
            "status": g["status"],
            "reason": first_sentence(g["reason"]),
            "waivable": g["waivable"],
            "waived": g["waiver"] is not None,
        }
        for g in gate["gates"]
        if g["status"] != "pass"
    ]
    return attention, [g["name"] for g in gate["gates"] if g["status"] == "pass"]


def _by_section(names: list[str]) -> str:
    """Gate names in one line, grouped by policy section.

    Examples
    --------
    >>> _by_section(["reliability.auc", "reliability.ece", "policy.bands"])
    'reliability: auc, ece; policy: bands'
    """
    sections: dict[str, list[str]] = {}
    for name in names:
        section, gate = name.split(".", 1)
        sections.setdefault(section, []).append(gate)
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in sections.items())


def build(d: dict[str, Any]) -> dict[str, Any]:
    """``{"review": ...}`` from a card document whose other sections are built."""
    attention, passed = _gates(d["gate"])
    waived = {g["name"]: g["waiver"] for g in d["gate"]["gates"] if g["waiver"] is not None}
    return {
        "review": {
            "decision": _decision(d),
            "gate_status": d["gate"]["status"],
            "attention": attention,
            "passed": passed,
            # the passing gates in one line: "reliability: events, auc, ...; policy: bands"
            "passed_line": _by_section(passed),
            "watch": [_gap(d), _calibration(d), _proxy(d)],
            "waivers": {
                "recorded": [{"gate": k, "reason": v} for k, v in waived.items()],
                "needed": [g["name"] for g in attention if g["waivable"] and not g["waived"]],
                "not_waivable": [g["name"] for g in attention if not g["waivable"]],
            },
            "missing_fields": len(d["missing_fields"]),
        }
    }
