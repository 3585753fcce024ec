"""Section 4, factors: each protected characteristic, how it is used, and the proxy scan."""

from __future__ import annotations

from typing import Any

from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import num
from riskmodels.data import DatasetSpec
from riskmodels.fairness import ProxyScan

__all__ = ["build", "proxies"]


def proxies(scan: ProxyScan | None, spec: DatasetSpec) -> dict[str, Any]:
    """The proxy scan as card data: joint AUC per attribute, flagged and strongest features."""
    if scan is None:
        return {"scanned": False, "joint": [], "flagged": [], "strongest": []}
    descriptions = {f.name: f.description for f in spec.features}

    def row(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "attribute": str(r["attribute"]),
            "feature": str(r["feature"]),
            "description": descriptions.get(str(r["feature"]), str(r["feature"])),
            "cramers_v": num(r["cramers_v"]),
            "flagged": bool(r["flagged"]),
        }

    assoc = scan.associations
    strongest = []
    for attribute in scan.sensitive:
        sub = assoc[(assoc["attribute"] == attribute) & assoc["cramers_v"].notna()]
        if len(sub):
            strongest.append(row(sub.loc[sub["cramers_v"].idxmax()].to_dict()))
    return {
        "scanned": True,
        "auc_flag": num(scan.auc_flag),
        "assoc_flag": num(scan.assoc_flag),
        "joint": [
            {"attribute": str(r["attribute"]), "auc": num(r["auc"]), "flagged": bool(r["flagged"])}
            for r in scan.joint.to_dict(orient="records")
        ],
        "flagged": [row(r) for r in scan.flagged.to_dict(orient="records")],
        "strongest": strongest,
    }


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"factors": ...}``: protected characteristics, justified inputs, proxies."""
    model, evidence = inputs.model, inputs.evidence
    spec = model.spec
    features = set(model.features_)
    protected = [
        {
            "name": p.name,
            "description": p.description,
            "categories": list(p.categories) if p.categories else None,
            "use": "feature" if p.name in features else "audit_only",
            "justification": spec.feature(p.name).justification if p.name in features else None,
        }
        for p in spec.protected
    ]
    audit = evidence.fairness
    return {
        "factors": {
            "protected": protected,
            "justified_features": [
                {"name": f.name, "description": f.description, "justification": f.justification}
                for f in spec.features
                if f.justification and f.name in features
            ],
            "proxies": proxies(evidence.proxies, spec),
            "audited_attributes": list(audit.attributes) if audit else [],
            "audited_intersections": list(audit.intersections) if audit else [],
        }
    }
