"""An Algorithmic Transparency Recording Standard (ATRS) record drafted from a card.

The record follows the structure of the ATRS (gov.uk, v3.0): Tier 1 (name, description,
website, contact) for the public, and Tier 2 in five sections (owner and responsibility;
description and rationale; decision-making process; tool specification; risks,
mitigations and impact assessments). What the library knows is filled in and listed in
``auto_filled``; what only the owner can say is left ``None`` and listed in
``to_be_completed``. Field names are ours; the ATRS team's template is the authority.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from riskmodels._json import dumps_published, round_floats
from riskmodels.cards._context import TO_BE_COMPLETED, CardContext
from riskmodels.cards._format import fmt_estimate

__all__ = ["ATRS_SCHEMA_ID", "ATRSRecord", "build_atrs"]

ATRS_SCHEMA_ID = "riskmodels.cards.ATRSRecord/1"


@dataclass(frozen=True)
class ATRSRecord:
    """An ATRS record as data, JSON and Markdown.

    Attributes
    ----------
    data : dict
        The record (Tier 1 and Tier 2 sections, ``to_be_completed``, ``auto_filled``).
    json : str
        ``data`` as indented JSON.
    markdown : str
        The record as a readable Markdown document.
    """

    data: dict[str, Any]
    json: str
    markdown: str
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when no field is left for the owner to complete."""
        return not self.missing

    def __getitem__(self, key: str) -> Any:
        # dict-style access: record["json"], record["markdown"], record["tier_1"] ...
        if key in ("json", "markdown", "data", "missing"):
            return getattr(self, key)
        return self.data[key]


class _Fields:
    """Records, while a record is drafted, which fields the library filled in and which
    only the owner can complete (left ``None``)."""

    def __init__(self, ctx: CardContext) -> None:
        self.ctx = ctx
        self.missing: list[dict[str, str]] = []
        self.auto: list[str] = []

    def owner(self, name: str, path: str) -> Any:
        """The owners' field ``name`` (``None`` and listed as missing when blank)."""
        value = getattr(self.ctx, name)
        if isinstance(value, list):
            value = [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
        if value is None or value == [] or value == "":
            self.missing.append({"field": path, "label": CardContext.label(name)})
            return None
        return value

    def known(self, value: Any, path: str) -> Any:
        """A field the library fills in from the card (the owner should check it)."""
        self.auto.append(path)
        return value


def _tier_1(card: dict[str, Any], f: _Fields) -> dict[str, Any]:
    md = card["model_details"]
    description = f.ctx.description
    if description is None:
        target = md["target_description"]
        description = f.known(
            f"A statistical model that estimates the chance of "
            f"{target[0].lower() + target[1:]}, from {len(md['features'])} items of a "
            "person's record. It is decision support only: a person reviews every output and "
            "makes the decision, and the tool never makes or replaces a decision about anyone.",
            "tier_1.description",
        )
    return {
        "name": f.known(md["name"], "tier_1.name"),
        "description": description,
        "website": f.owner("website", "tier_1.website"),
        "contact_email": f.owner("contact", "tier_1.contact_email"),
    }


def _owner_and_responsibility(f: _Fields) -> dict[str, Any]:
    at = "tier_2.owner_and_responsibility."
    return {
        "organisation": f.owner("owner_organisation", at + "organisation"),
        "team": f.owner("owner_team", at + "team"),
        "senior_responsible_owner": f.owner(
            "senior_responsible_owner", at + "senior_responsible_owner"
        ),
        "external_supplier": f.owner("external_supplier", at + "external_supplier"),
    }


def _description_and_rationale(card: dict[str, Any], f: _Fields) -> dict[str, Any]:
    md, at = card["model_details"], "tier_2.description_and_rationale."
    justified = (
        ", and as inputs only where the dataset spec gives a written justification"
        if card["factors"]["justified_features"]
        else ""
    )
    return {
        "detailed_description": f.known(
            f"{md['estimator_description']} Inputs: "
            + "; ".join(x["description"] for x in md["features"])
            + f". Protected characteristics are used to audit the model{justified}.",
            at + "detailed_description",
        ),
        "intended_use": f.owner("intended_use", at + "intended_use"),
        "out_of_scope_uses": f.owner("out_of_scope_uses", at + "out_of_scope_uses"),
        "benefits": f.owner("benefits", at + "benefits"),
        "previous_process": f.owner("previous_process", at + "previous_process"),
        "alternatives_considered": f.owner(
            "alternatives_considered", at + "alternatives_considered"
        ),
    }


def _decision_making_process(card: dict[str, Any], f: _Fields) -> dict[str, Any]:
    at = "tier_2.decision_making_process."
    return {
        "process_integration": f.owner("decision_process", at + "process_integration"),
        "provided_information": f.known(
            "A risk list: for each person, the probability, a risk band, whether they are "
            "flagged, plain-language reasons, what the list may and may not be used for, a "
            "reference to this model card, its validity dates, and a column for the "
            "reviewer's decision.",
            at + "provided_information",
        ),
        "frequency_and_scale": f.owner("frequency_and_scale", at + "frequency_and_scale"),
        "human_decisions_and_review": f.owner("human_review", at + "human_decisions_and_review"),
        "decision_support_statement": f.known(
            card["intended_use"]["decision_support_statement"], at + "decision_support_statement"
        ),
        "required_training": f.owner("reviewer_training", at + "required_training"),
        "appeals_and_review": f.owner("appeal_route", at + "appeals_and_review"),
    }


def _model_entry(card: dict[str, Any]) -> dict[str, Any]:
    md, me, fr = card["model_details"], card["metrics"], card["fairness"]
    auc = next(r for r in me["rows"] if r["metric"] == "auc")
    slope = card["calibration"]["model"]["calibration_slope"]
    return {
        "name": md["name"],
        "version": md["version"],
        "type": md["estimator_description"],
        "function": f"Estimates the probability of: {md['target_description']}.",
        "inputs": [x["description"] for x in md["features"]],
        "output": "A probability between 0 and 1, a risk band, and plain-language reasons; "
        f"a person is flagged at a score of {md['threshold']:.3f} or more.",
        "evaluation": (
            f"Held-out {me['split'].get('method', 'unknown')} evaluation on {me['n']:,} rows "
            f"({me['n_events']:,} recorded incidents): AUC {fmt_estimate(auc['model'], 'auc')} "
            f"against {fmt_estimate(auc['baseline'], 'auc')} for a simple baseline; "
            f"calibration slope {fmt_estimate(slope, 'calibration_slope')}. Fairness audited "
            f"across {sum(len(t['rows']) for t in fr['tables'])} groups and intersections; "
            "see the model card."
        ),
    }


def _tool_specification(card: dict[str, Any], f: _Fields) -> dict[str, Any]:
    md, me, data = card["model_details"], card["metrics"], card["data"]
    at = "tier_2.tool_specification."
    models = [_model_entry(card)]
    f.auto.append(at + "models")
    return {
        "system_architecture": f.known(
            "A scikit-learn pipeline trained by the riskmodels library; scores are produced "
            "only from an approved, hash-verified release bundle, for a purpose the release "
            "policy permits, and every scoring run is written to an append-only audit log.",
            at + "system_architecture",
        ),
        "phase": f.owner("phase", at + "phase"),
        "maintenance": f.owner("maintenance", at + "maintenance"),
        "models": models,
        "data": {
            "source_data_description": f.known(
                data["spec_description"] or data["composition"]["unit"],
                at + "data.source_data_description",
            ),
            "data_quantity": f.known(
                f"Training: {md['n_train']:,} rows ({md['n_train_events']:,} recorded "
                f"incidents); evaluation: {me['n']:,} rows ({me['n_events']:,} recorded "
                "incidents).",
                at + "data.data_quantity",
            ),
            "sensitive_attributes": f.known(
                [p["name"] for p in card["factors"]["protected"]], at + "data.sensitive_attributes"
            ),
            "training_window": md["training_window"],
            "preprocessing": f.known(data["preprocessing"], at + "data.preprocessing"),
            "motivation": f.owner("data_motivation", at + "data.motivation"),
            "collection": f.owner("data_collection", at + "data.collection"),
            "access_and_storage": f.owner("data_access", at + "data.access_and_storage"),
        },
    }


def _library_risks(card: dict[str, Any]) -> list[dict[str, str]]:
    """Risks the library can see, each with the evidence for it (none is claimed to be
    mitigated by anything the library does not do)."""
    fr = card["fairness"]
    risks = [
        {
            "risk": "Label bias: recorded incidents are not all incidents, and recording can "
            "differ between groups and places.",
            "evidence": "Stated in the model card's limitations; cannot be measured from the "
            "recorded labels.",
        },
        {
            "risk": "Automation bias: reviewers may defer to the score.",
            "evidence": "Every risk list has columns in which the member of staff records "
            "their decision, whether they agree with the flag, and why. "
            + (
                "Returned lists are read back into the site's monitoring store "
                "(rm.monitoring.record_reviews), and the monitoring report measures "
                "agreement with the flag by band and establishment. "
                + card["lifecycle"]["monitoring"]
                if card["lifecycle"].get("monitoring")
                else "No policy was given, so no monitoring thresholds are stated: the "
                "owner must review the recorded decisions."
            ),
        },
    ]
    if fr["small_groups"]:
        risks.append(
            {
                "risk": "Some groups are too small for their error rates to be judged.",
                "evidence": f"{len(fr['small_groups'])} group(s) marked too small in the "
                "fairness audit.",
            }
        )
    flagged = card["factors"]["proxies"]["flagged"]
    if flagged:
        risks.append(
            {
                "risk": "Some inputs are associated with protected characteristics (proxies).",
                "evidence": "; ".join(f"{x['feature']} for {x['attribute']}" for x in flagged),
            }
        )
    return risks


def _risks(card: dict[str, Any], f: _Fields) -> dict[str, Any]:
    at = "tier_2.risks_mitigations_and_impact_assessments."
    identified = _library_risks(card)
    f.auto.append(at + "identified_by_library")
    return {
        "impact_assessments": [
            {
                "name": "Data protection impact assessment (DPIA)",
                "reference": f.owner("dpia_reference", at + "dpia"),
            },
            {
                "name": "Equality impact assessment (EqIA)",
                "reference": f.owner("eqia_reference", at + "eqia"),
            },
        ],
        "risks": f.owner("risks", at + "risks"),
        "identified_by_library": identified,
    }


def build_atrs(card: dict[str, Any], ctx: CardContext) -> dict[str, Any]:
    """The ATRS record of a card's document and its context: Tier 1, then the five
    sections of Tier 2, each drafted by its own function from the card's section data."""
    f = _Fields(ctx)
    md = card["model_details"]
    tier_1 = _tier_1(card, f)
    tier_2 = {
        "owner_and_responsibility": _owner_and_responsibility(f),
        "description_and_rationale": _description_and_rationale(card, f),
        "decision_making_process": _decision_making_process(card, f),
        "tool_specification": _tool_specification(card, f),
        "risks_mitigations_and_impact_assessments": _risks(card, f),
    }
    return {
        "schema": ATRS_SCHEMA_ID,
        "standard": "Algorithmic Transparency Recording Standard (structure of v3.0)",
        "generated_at": card["generated_at"],
        "model_card": {"name": md["name"], "version": md["version"], "complete": card["complete"]},
        "tier_1": tier_1,
        "tier_2": tier_2,
        "to_be_completed": f.missing,
        "auto_filled": sorted(f.auto),
        "note": f"Fields left empty are marked '{TO_BE_COMPLETED}'. Auto-filled fields come "
        "from the model, its evidence and the dataset spec; the owner should check them "
        "before publication.",
    }


def make_record(card: dict[str, Any], ctx: CardContext) -> ATRSRecord:
    """Build the record and render it as JSON and Markdown."""
    from riskmodels.cards._render import render_atrs_markdown

    data = build_atrs(card, ctx)
    data = round_floats(data)
    text = dumps_published(data)
    return ATRSRecord(
        data=data,
        json=text,
        markdown=render_atrs_markdown(data),
        missing=[m["field"] for m in data["to_be_completed"]],
    )
