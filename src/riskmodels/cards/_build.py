"""Assemble a card's document (plain JSON data) from its sections, and its figures.

Every number in the document is copied from the :class:`~riskmodels.Evidence` (or the
model) unrounded; renderers only format it. Group tables pass through statistical
disclosure control (:mod:`riskmodels.cards._sdc`) inside the sections, so no format can
leak a withheld count. The gate section is attached after building
(:func:`attach_gates`): the policy check reads the card's context, never the card.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riskmodels.cards._context import TO_BE_COMPLETED, CardContext
from riskmodels.cards._plots import (
    CardFigure,
    calibration_figure,
    decision_curve_figure,
    fairness_figure,
    importance_figure,
    roc_figure,
)
from riskmodels.cards.sections import BUILDERS, review
from riskmodels.cards.sections._inputs import make_inputs
from riskmodels.cards.sections._values import num, slug
from riskmodels.cards.sections.fairness import criterion
from riskmodels.cards.sections.governance import gates
from riskmodels.cards.sections.lifecycle import release_record
from riskmodels.errors import Problem, SchemaError
from riskmodels.modeling import Evidence, RiskModel
from riskmodels.policy import GateReport, Policy

if TYPE_CHECKING:
    from riskmodels.release import Release

__all__ = ["SCHEMA_ID", "SECTIONS", "attach_gates", "build_document", "draw_figures"]

SCHEMA_ID = "riskmodels.cards.ModelCard/1"

#: The card's sections: JSON key and heading, in reading order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("prohibited_uses", "Prohibited and out-of-scope uses"),
    ("factors", "Factors: protected characteristics and proxies"),
    ("metrics", "Performance"),
    ("calibration", "Calibration"),
    ("fairness", "Fairness"),
    ("explanations", "Explanations"),
    ("data", "Training and evaluation data"),
    ("limitations", "Limitations"),
    ("ethical_considerations", "Ethical considerations"),
    ("gate", "Policy gate report"),
    ("lifecycle", "Lifecycle"),
)

#: Which section shows each owner-supplied field (for the "to be completed" list).
FIELD_SECTION = {
    "owner_organisation": "model_details",
    "owner_team": "model_details",
    "senior_responsible_owner": "model_details",
    "contact": "model_details",
    "intended_use": "intended_use",
    "intended_users": "intended_use",
    "permitted_uses": "intended_use",
    "decision_process": "intended_use",
    "human_review": "intended_use",
    "appeal_route": "intended_use",
    "prohibited_uses": "prohibited_uses",
    "out_of_scope_uses": "prohibited_uses",
    "dpia_reference": "ethical_considerations",
    "eqia_reference": "ethical_considerations",
    "ethical_considerations": "ethical_considerations",
    "caveats": "limitations",
}


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    metrics = data["metrics"]
    auc = next(r for r in metrics["rows"] if r["metric"] == "auc")
    fair = data["fairness"]
    return {
        "predicts": data["model_details"]["target_description"],
        "auc": auc["model"],
        "baseline_auc": auc["baseline"],
        "calibration_slope": data["calibration"]["model"]["calibration_slope"],
        "n_eval": metrics["n"],
        "n_eval_events": metrics["n_events"],
        "groups_audited": sum(len(t["rows"]) for t in fair["tables"]),
        "groups_too_small": len(fair["small_groups"]),
        "criterion": fair["criterion"]["plain"],
        "gate_status": data["gate"]["status"],
    }


def build_document(
    model: RiskModel,
    evidence: Evidence,
    context: Any,
    *,
    policy: Policy | None,
    release: Release | Mapping[str, Any] | None,
    mlflow_run_id: str | None,
    valid_until: Any,
    sdc_threshold: int,
    generated_at: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card's JSON document and its ROC points (see :meth:`ModelCard.build`)."""
    inputs = make_inputs(
        model,
        evidence,
        context,
        policy=policy,
        release=release_record(release),
        mlflow_run_id=mlflow_run_id,
        valid_until=valid_until,
        sdc_threshold=sdc_threshold,
        generated_at=generated_at,
    )
    ctx, sdc = inputs.context, int(sdc_threshold)
    sections: dict[str, Any] = {}
    for section in BUILDERS:
        sections.update(section.build(inputs, sdc))
    missing = [
        {"field": f, "label": CardContext.label(f), "section": FIELD_SECTION[f]}
        for f in ctx.missing_fields()
    ]
    data: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "title": f"Model card: {model.display_name}",
        "generated_at": inputs.generated_at,
        "complete": not missing,
        "missing_fields": missing,
        "to_be_completed": TO_BE_COMPLETED,
        "sdc_threshold": sdc,
        "sections": [{"key": k, "title": t} for k, t in SECTIONS],
        **{k: sections[k] for k, _ in SECTIONS},
        # what the owners wrote, as given: ModelCard.from_json rebuilds the context from it
        "context": ctx.model_dump(mode="json"),
    }
    data["summary"] = _summary(data)
    data.update(review.build(data))
    _assign_figures(data)
    return data, roc_points(evidence)


def attach_gates(
    data: dict[str, Any], report: GateReport, waivers: Mapping[str, str] | None
) -> dict[str, Any]:
    """A copy of a card document with ``report`` as its gate section (see
    :meth:`ModelCard.with_gates`); waivers default to those of the card's release record."""
    if not isinstance(report, GateReport):
        raise SchemaError(
            Problem(
                "report",
                f"expected a GateReport, got {type(report).__name__}",
                "pass policy.check(evidence, model=model, context=card.context)",
            ),
            context="Invalid argument to ModelCard.with_gates",
        )
    md = data["model_details"]
    if report.model_version not in (None, md["version"]):
        raise SchemaError(
            Problem(
                "report",
                f"checks model version {report.model_version}, the card is of {md['version']}",
                "check the evidence of this model",
            ),
            context="Gate report and card do not match",
        )
    out = copy.deepcopy(data)
    if waivers is None:
        waivers = ((out["lifecycle"]["release"] or {}).get("waivers")) or {}
    out["gate"] = gates(report, waivers, int(out["sdc_threshold"]))
    if out["fairness"]["criterion"]["name"] is None:
        # a card built without a policy still states the criterion the gates judged by
        crit = criterion(None)
        plain = report.criterion.replace("_", " ")
        crit.update(
            name=report.criterion,
            plain=plain,
            rationale=report.criterion_rationale,
            source="gate",
            policy=f"{report.policy_name} v{report.policy_version}",
        )
        out["fairness"]["criterion"] = crit
    out["summary"] = _summary(out)
    out.update(review.build(out))
    return out


def _assign_figures(data: dict[str, Any]) -> None:
    """Name the figures the card will have (drawing them waits until a renderer asks)."""
    used: set[str] = set()
    for table in data["fairness"]["tables"]:
        if table["kind"] != "attribute" or not table["rows"]:
            continue
        key = slug(table["attribute"])
        while key in used:
            key += "_"
        used.add(key)
        table["figure"] = f"fairness_{key}"


def roc_points(evidence: Evidence) -> dict[str, Any]:
    """The ROC curves of the model and the baseline (figure input; not in the JSON)."""
    return {
        key: {
            "fpr": list(rep.roc.get("fpr", [])),
            "tpr": list(rep.roc.get("tpr", [])),
            "auc": num(rep.metrics["auc"].value),
        }
        for key, rep in (("model", evidence.performance), ("baseline", evidence.baseline))
    }


def draw_figures(data: dict[str, Any], roc: dict[str, Any]) -> dict[str, CardFigure]:
    """Every figure of a card, drawn from its document (and the ROC points)."""
    figures: dict[str, CardFigure] = {}
    name = data["model_details"]["name"]
    for key, fig in (
        ("calibration", calibration_figure(data["calibration"], name)),
        ("roc", roc_figure(roc, name)),
        ("decision_curve", decision_curve_figure(data["metrics"].get("decision"), name)),
    ):
        if fig is not None:
            figures[key] = fig
    fair = data["fairness"]
    for table in fair["tables"]:
        key = table["figure"]
        if key is None:
            continue
        fig = fairness_figure(
            table["attribute"], table["rows"], key.removeprefix("fairness_"), fair["confidence"]
        )
        if fig is not None:
            figures[key] = fig
    if data["explanations"]["available"]:
        fig = importance_figure(data["explanations"]["importance"], data["metrics"]["confidence"])
        if fig is not None:
            figures["importance"] = fig
    return figures
