"""Section 9, training and evaluation data, under the Datasheets headings."""

from __future__ import annotations

from typing import Any

from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import num, opt_int
from riskmodels.modeling._presets import describe_preprocessing
from riskmodels.policy._gates import redact_counts

__all__ = ["build"]

_VALIDATED = (
    "Every frame is validated against the dataset spec (types, ranges, categories, "
    "duplicate ids) before training and evaluation; all problems are reported at once."
)
_PROTECTED = (
    "Protected characteristics are not model inputs unless listed as features with a "
    "written justification (see Factors)."
)
_USES = (
    "Training and evaluating this model. Any other use of the data needs its own lawful "
    "basis and assessment."
)


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"data": ...}``: motivation, composition, collection, preprocessing, uses, access."""
    model, evidence, ctx = inputs.model, inputs.evidence, inputs.context
    spec, quality = model.spec, model.quality_
    kinds: dict[str, int] = {}
    for f in spec.features:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    unit = "one row per record"
    if spec.person and spec.time:
        unit = "one row per person per snapshot date (the same person appears in several rows)"
    elif spec.person:
        unit = "one row per record; a person can have several"
    return {
        "data": {
            "motivation": ctx.data_motivation,
            "spec_description": spec.description or None,
            "composition": {
                "unit": unit,
                "target": spec.target,
                "target_description": spec.target_description,
                "n_features": len(spec.features),
                "feature_kinds": kinds,
                "protected": [p.name for p in spec.protected],
                "training": {
                    "n": opt_int(model.n_train_),
                    "n_events": opt_int(model.n_train_events_),
                    "window": list(model.training_window_) if model.training_window_ else None,
                    "sha256": model.training_sha256_,
                },
                "evaluation": {
                    "n": int(evidence.n),
                    "n_events": int(evidence.n_events),
                    "window": list(evidence.evaluation_window or []) or None,
                    "split_method": str(evidence.split.get("method", "unknown")),
                },
                "missingness": {
                    k: num(v) for k, v in (quality.missingness if quality else {}).items() if v
                },
            },
            "collection": ctx.data_collection,
            "preprocessing": [_VALIDATED, *describe_preprocessing(model.estimator), _PROTECTED],
            "quality_issues": [
                {
                    "column": i.get("column"),
                    # structured: the counts the finding records it quotes
                    "detail": redact_counts(
                        str(i.get("detail", "")),
                        tuple((str(w), int(n)) for w, n in i.get("counts", ())),
                        sdc,
                    ),
                    "serious": bool(i.get("serious", False)),
                }
                for i in (quality.issues if quality is not None else [])
            ],
            "uses": _USES,
            "access": ctx.data_access,
        }
    }
