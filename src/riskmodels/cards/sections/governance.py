"""Sections 10-12: limitations, ethical considerations and the policy gate report.

The gate section is not built with the others: a card is built first, then the policy is
checked (it reads the card's context, not the card) and the report attached with
``ModelCard.with_gates``, which calls :func:`gates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskmodels.cards._sdc import redact_small_counts
from riskmodels.cards._text import CANNOT_KNOW, LABEL_BIAS
from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import num
from riskmodels.cards.sections.fairness import judged
from riskmodels.policy import GateReport

__all__ = ["NO_GATES", "build", "gates"]

#: The gate section of a card no report has been attached to yet.
NO_GATES: dict[str, Any] = {
    "available": False,
    "status": None,
    "summary": None,
    "policy": None,
    "checked_at": None,
    "gates": [],
}
_ALGO_CARE = (
    "ALGO-CARE (Oswald et al. 2018) asks whether a tool is Advisory, Lawful, Granular, has "
    "clear Ownership, is Challengeable, Accurate, Responsible and Explainable. This card "
    "records the evidence for Accurate, Granular and Explainable; Advisory is enforced by "
    "the library; the owner's entries above answer Lawful, Ownership, Challengeable and "
    "Responsible."
)
_STANDING = (
    {
        "title": "Only listed characteristics were audited",
        "text": "The audit covers the protected characteristics in the data. Disparities by "
        "characteristics that are not recorded (for example disability or religion) are "
        "unknown.",
    },
    {
        "title": "Explanations are not causes",
        "text": "Contributions show what moved the model's score, not what causes incidents; "
        "changing a feature need not change a person's risk.",
    },
)


def _evaluation_item(method: str) -> dict[str, str]:
    if method == "temporal":
        return {
            "title": "Evaluated on a later period",
            "text": "Performance was measured on snapshots after the training period, the way "
            "the model will be used. It can still fall as the population and practice "
            "change; the owner must check it on recent outcomes before each re-approval.",
        }
    return {
        "title": f"Evaluated on a {method} split",
        "text": "The test set was not a later period, so performance on future people may be "
        "lower than shown.",
    }


def _small_groups_item(inputs: CardInputs) -> dict[str, str] | None:
    audit = inputs.evidence.fairness
    if audit is None:
        return None
    bg = judged(audit, inputs.policy).by_group
    small = bg[~bg["adequate"].astype(bool)]
    if small.empty:
        return None
    singles = [
        f"{r.attribute} = {r.group}" for r in small.itertuples() if r.attribute in audit.attributes
    ]
    text = (
        f"{len(small)} of {len(bg)} audited groups and intersections had too few rows, events "
        "or non-events for their rates to be judged; they are marked in the fairness tables "
        "and listed after them."
    )
    if singles:
        text += " Among single characteristics: " + "; ".join(singles) + "."
    text += " Lack of evidence of a disparity is not evidence of no disparity."
    return {"title": "Groups too small to judge", "text": text}


def _limitations(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    evidence = inputs.evidence
    items = [
        {"title": "Label bias: recorded incidents are not all incidents", "text": LABEL_BIAS},
        {"title": "What the model cannot know", "text": CANNOT_KNOW},
        _evaluation_item(str(evidence.split.get("method", "unknown"))),
    ]
    if evidence.n_events < 100 or evidence.n_nonevents < 100:
        items.append(
            {
                "title": "Small evaluation sample",
                "text": f"The evaluation set has {evidence.n_events:,} events and "
                f"{evidence.n_nonevents:,} non-events; below about 100 of either, performance "
                "estimates are too uncertain to trust (Collins et al. 2016).",
            }
        )
    small = _small_groups_item(inputs)
    if small is not None:
        items.append(small)
    if evidence.fairness is None:
        items.append(
            {
                "title": "No fairness audit",
                "text": "No fairness audit was run (the spec lists no protected attributes, "
                "or the evidence was built with fairness=False).",
            }
        )
    items += [dict(i) for i in _STANDING]
    items += [
        {"title": "Evidence note", "text": redact_small_counts(str(n), sdc)} for n in evidence.notes
    ]
    return {"items": items, "caveats": list(inputs.context.caveats)}


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"limitations", "ethical_considerations", "gate"}`` (the gate section empty)."""
    ctx = inputs.context
    return {
        "limitations": _limitations(inputs, sdc),
        "ethical_considerations": {
            "considerations": list(ctx.ethical_considerations),
            "dpia_reference": ctx.dpia_reference,
            "eqia_reference": ctx.eqia_reference,
            "algo_care": _ALGO_CARE,
        },
        "gate": dict(NO_GATES),
    }


def gates(report: GateReport, waivers: Mapping[str, str], sdc: int) -> dict[str, Any]:
    """The gate section: each gate, the worst status, the roll-up, and the waivers given."""
    return {
        "available": True,
        "status": report.status,
        "summary": report.summary(),
        "policy": f"{report.policy_name} v{report.policy_version}",
        "checked_at": report.checked_at or None,
        "gates": [
            {
                "name": g.name,
                "status": g.status,
                "value": num(g.value),
                "lo": num(g.lo),
                "hi": num(g.hi),
                "bound": g.bound,
                # the counts the gate records it quotes: structured, never guessed
                "reason": g.published_reason(sdc),
                "waivable": g.waivable,
                "waiver": redact_small_counts(str(waivers[g.name]), sdc)
                if g.name in waivers
                else None,
            }
            for g in report
        ],
    }
