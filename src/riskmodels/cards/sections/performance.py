"""Section 5, performance: every headline metric with its CI next to the simple baseline."""

from __future__ import annotations

from typing import Any

from riskmodels.cards._sdc import redact_small_counts
from riskmodels.cards._text import METRIC_TEXT
from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import estimate, num, plain
from riskmodels.cards.sections.decision import decision
from riskmodels.modeling._evidence import HEADLINE

__all__ = ["build"]

_WORDS = {key: (label, meaning) for key, label, meaning in METRIC_TEXT}


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"metrics": ...}``: the headline metrics of the model and the baseline."""
    evidence = inputs.evidence
    descriptions = {f.name: f.description for f in inputs.model.spec.features}
    rows = []
    for key in HEADLINE:
        a, b = evidence.metric(key), evidence.metric(key, baseline=True)
        label, meaning = _WORDS.get(key, (key.replace("_", " "), ""))
        rows.append(
            {
                "metric": key,
                "label": label,
                "meaning": meaning,
                "model": estimate(a),
                "baseline": estimate(b),
                "difference": num(a.value - b.value),
            }
        )
    perf = evidence.performance
    return {
        "metrics": {
            "n": int(perf.n),
            "n_events": int(perf.n_pos),
            "n_nonevents": int(perf.n_neg),
            "prevalence": num(perf.prevalence),
            "threshold": num(evidence.threshold),
            "confidence": num(evidence.confidence),
            "n_boot": int(evidence.n_boot),
            "ci_method": perf.ci_method,
            "split": {str(k): plain(v) for k, v in evidence.split.items()},
            "evaluation_window": list(evidence.evaluation_window or []) or None,
            "baseline_features": [
                {"name": b, "description": descriptions.get(b, b)}
                for b in evidence.baseline_features
            ],
            "rows": rows,
            "notes": [redact_small_counts(str(n), sdc) for n in evidence.notes],
            "decision": decision(evidence),
        }
    }
