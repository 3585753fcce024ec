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


def _field(value: Any, path: str, label: str, missing: list[dict[str, str]]) -> Any:
    if value is None or value == [] or value == "":
        missing.append({"field": path, "label": label})
        return None
    return value


def build_atrs(card: dict[str, Any], ctx: CardContext) -> dict[str, Any]:
    """The ATRS record of a card's document and its context."""
    missing: list[dict[str, str]] = []
    auto: list[str] = []
    md = card["model_details"]
    me = card["metrics"]
    fr = card["fairness"]
    data = card["data"]

    def owner(name: str, path: str) -> Any:
        value = getattr(ctx, name)
        if isinstance(value, list):
            value = [v.model_dump() if hasattr(v, "model_dump") else v for v in value]
        return _field(value, path, CardContext.label(name), missing)

    def known(value: Any, path: str) -> Any:
        auto.append(path)
        return value

    description = ctx.description
    if description is None:
        description = known(
            f"A statistical model that estimates the chance of "
            f"{md['target_description'][0].lower() + md['target_description'][1:]}, from "
            f"{len(md['features'])} items of a person's record. It is decision support "
            "only: a person reviews every output and makes the decision, and the tool "
            "never makes or replaces a decision about anyone.",
            "tier_1.description",
        )
    auc = next(r for r in me["rows"] if r["metric"] == "auc")
    slope = card["calibration"]["model"]["calibration_slope"]
    models = [
        {
            "name": md["name"],
            "version": md["version"],
            "type": md["estimator_description"],
            "function": f"Estimates the probability of: {md['target_description']}.",
            "inputs": [f["description"] for f in md["features"]],
            "output": "A probability between 0 and 1, a risk band, and plain-language "
            "reasons; a person is flagged at a score of "
            f"{md['threshold']:.3f} or more.",
            "evaluation": (
                f"Held-out {me['split'].get('method', 'unknown')} evaluation on {me['n']:,} "
                f"rows ({me['n_events']:,} recorded incidents): AUC "
                f"{fmt_estimate(auc['model'], 'auc')} against "
                f"{fmt_estimate(auc['baseline'], 'auc')} for a simple baseline; calibration "
                "slope "
                f"{fmt_estimate(slope, 'calibration_slope')}. "
                f"Fairness audited across {sum(len(t['rows']) for t in fr['tables'])} groups "
                "and intersections; see the model card."
            ),
        }
    ]
    auto.append("tier_2.tool_specification.models")
    library_risks = [
        {
            "risk": "Label bias: recorded incidents are not all incidents, and recording "
            "can differ between groups and places.",
            "evidence": "Stated in the model card's limitations; cannot be measured from the "
            "recorded labels.",
        },
        {
            "risk": "Automation bias: reviewers may defer to the score.",
            "evidence": "Every risk list has columns in which the member of staff records "
            "their decision, whether they agree with the flag, and why. riskmodels does not "
            "read these records back or measure agreement: the owner must review them "
            "(e.g. how often each reviewer simply agrees with the flag).",
        },
    ]
    if fr["small_groups"]:
        library_risks.append(
            {
                "risk": "Some groups are too small for their error rates to be judged.",
                "evidence": f"{len(fr['small_groups'])} group(s) marked too small in the "
                "fairness audit.",
            }
        )
    flagged = card["factors"]["proxies"]["flagged"]
    if flagged:
        library_risks.append(
            {
                "risk": "Some inputs are associated with protected characteristics (proxies).",
                "evidence": "; ".join(f"{f['feature']} for {f['attribute']}" for f in flagged),
            }
        )
    auto.append("tier_2.risks_mitigations_and_impact_assessments.identified_by_library")

    record = {
        "schema": ATRS_SCHEMA_ID,
        "standard": "Algorithmic Transparency Recording Standard (structure of v3.0)",
        "generated_at": card["generated_at"],
        "model_card": {"name": md["name"], "version": md["version"], "complete": card["complete"]},
        "tier_1": {
            "name": known(md["name"], "tier_1.name"),
            "description": description,
            "website": owner("website", "tier_1.website"),
            "contact_email": owner("contact", "tier_1.contact_email"),
        },
        "tier_2": {
            "owner_and_responsibility": {
                "organisation": owner(
                    "owner_organisation", "tier_2.owner_and_responsibility.organisation"
                ),
                "team": owner("owner_team", "tier_2.owner_and_responsibility.team"),
                "senior_responsible_owner": owner(
                    "senior_responsible_owner",
                    "tier_2.owner_and_responsibility.senior_responsible_owner",
                ),
                "external_supplier": owner(
                    "external_supplier", "tier_2.owner_and_responsibility.external_supplier"
                ),
            },
            "description_and_rationale": {
                "detailed_description": known(
                    f"{md['estimator_description']} Inputs: "
                    + "; ".join(f["description"] for f in md["features"])
                    + ". Protected characteristics are used to audit the model"
                    + (
                        ", and as inputs only where the dataset spec gives a written justification"
                        if card["factors"]["justified_features"]
                        else ""
                    )
                    + ".",
                    "tier_2.description_and_rationale.detailed_description",
                ),
                "intended_use": owner(
                    "intended_use", "tier_2.description_and_rationale.intended_use"
                ),
                "out_of_scope_uses": owner(
                    "out_of_scope_uses", "tier_2.description_and_rationale.out_of_scope_uses"
                ),
                "benefits": owner("benefits", "tier_2.description_and_rationale.benefits"),
                "previous_process": owner(
                    "previous_process", "tier_2.description_and_rationale.previous_process"
                ),
                "alternatives_considered": owner(
                    "alternatives_considered",
                    "tier_2.description_and_rationale.alternatives_considered",
                ),
            },
            "decision_making_process": {
                "process_integration": owner(
                    "decision_process", "tier_2.decision_making_process.process_integration"
                ),
                "provided_information": known(
                    "A risk list: for each person, the probability, a risk band, whether "
                    "they are flagged, plain-language reasons, what the list may and may "
                    "not be used for, a reference to this model card, its validity dates, "
                    "and a column for the reviewer's decision.",
                    "tier_2.decision_making_process.provided_information",
                ),
                "frequency_and_scale": owner(
                    "frequency_and_scale", "tier_2.decision_making_process.frequency_and_scale"
                ),
                "human_decisions_and_review": owner(
                    "human_review", "tier_2.decision_making_process.human_decisions_and_review"
                ),
                "decision_support_statement": known(
                    card["intended_use"]["decision_support_statement"],
                    "tier_2.decision_making_process.decision_support_statement",
                ),
                "required_training": owner(
                    "reviewer_training", "tier_2.decision_making_process.required_training"
                ),
                "appeals_and_review": owner(
                    "appeal_route", "tier_2.decision_making_process.appeals_and_review"
                ),
            },
            "tool_specification": {
                "system_architecture": known(
                    "A scikit-learn pipeline trained by the riskmodels library; scores are "
                    "produced only from an approved, hash-verified release bundle, for a "
                    "purpose the release policy permits, and every scoring run is written "
                    "to an append-only audit log.",
                    "tier_2.tool_specification.system_architecture",
                ),
                "phase": owner("phase", "tier_2.tool_specification.phase"),
                "maintenance": owner("maintenance", "tier_2.tool_specification.maintenance"),
                "models": models,
                "data": {
                    "source_data_description": known(
                        data["spec_description"] or data["composition"]["unit"],
                        "tier_2.tool_specification.data.source_data_description",
                    ),
                    "data_quantity": known(
                        f"Training: {md['n_train']:,} rows "
                        f"({md['n_train_events']:,} recorded incidents); evaluation: "
                        f"{me['n']:,} rows ({me['n_events']:,} recorded incidents).",
                        "tier_2.tool_specification.data.data_quantity",
                    ),
                    "sensitive_attributes": known(
                        [p["name"] for p in card["factors"]["protected"]],
                        "tier_2.tool_specification.data.sensitive_attributes",
                    ),
                    "training_window": md["training_window"],
                    "preprocessing": known(
                        data["preprocessing"], "tier_2.tool_specification.data.preprocessing"
                    ),
                    "motivation": owner(
                        "data_motivation", "tier_2.tool_specification.data.motivation"
                    ),
                    "collection": owner(
                        "data_collection", "tier_2.tool_specification.data.collection"
                    ),
                    "access_and_storage": owner(
                        "data_access", "tier_2.tool_specification.data.access_and_storage"
                    ),
                },
            },
            "risks_mitigations_and_impact_assessments": {
                "impact_assessments": [
                    {
                        "name": "Data protection impact assessment (DPIA)",
                        "reference": owner(
                            "dpia_reference", "tier_2.risks_mitigations_and_impact_assessments.dpia"
                        ),
                    },
                    {
                        "name": "Equality impact assessment (EqIA)",
                        "reference": owner(
                            "eqia_reference", "tier_2.risks_mitigations_and_impact_assessments.eqia"
                        ),
                    },
                ],
                "risks": owner("risks", "tier_2.risks_mitigations_and_impact_assessments.risks"),
                "identified_by_library": library_risks,
            },
        },
        "to_be_completed": missing,
        "auto_filled": sorted(auto),
        "note": f"Fields left empty are marked '{TO_BE_COMPLETED}'. Auto-filled fields come "
        "from the model, its evidence and the dataset spec; the owner should check them "
        "before publication.",
    }
    return record


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
