"""Section 8, explanations: global importance with CIs and how reason codes are formed."""

from __future__ import annotations

from typing import Any

from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import num, opt_int

__all__ = ["build"]

METHOD = (
    "SHAP values of the uncalibrated model on held-out rows, on the log-odds scale, with "
    "the contributions of one-hot encoded columns summed back to the feature they came "
    "from. Importance is the mean absolute contribution; intervals are bootstrap intervals "
    "over the explained rows."
)
REASON_CODES = (
    "Each person on a risk list is given plain-language reasons: the features that raised "
    "their score the most (the largest positive SHAP contributions), each in the words of "
    "the dataset spec with the person's own value, for example \"Current suicidal ideation: "
    'yes (raises risk)". Reasons say what raised the score, not what causes risk. A '
    'feature flagged by the proxy scan is marked "may act as a proxy for a protected '
    'characteristic".'
)


def _calibration_note(calibration: str | None) -> str:
    if not calibration:
        return (
            "The model has no separate calibration step: explanations describe the model "
            "that produces the scores."
        )
    curve = "isotonic regression" if calibration == "isotonic" else "a logistic curve"
    return (
        "Explanations describe the uncalibrated model. The calibration step that turns its "
        f"score into a probability is monotone ({curve}), so it never reverses who is "
        "ranked above whom, and a feature that raises the uncalibrated score never lowers "
        "the probability. The sizes of contributions are on the uncalibrated log-odds "
        "scale, not in percentage points of risk."
    )


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"explanations": ...}``: importance rows, method, reason codes, proxy note."""
    evidence = inputs.evidence
    imp = evidence.importance
    rows = [
        {
            "feature": str(r["feature"]),
            "description": str(r.get("description", r["feature"])),
            "mean_abs": num(r["mean_abs"]),
            "lo": num(r.get("lo")),
            "hi": num(r.get("hi")),
            "n": opt_int(r.get("n")),
        }
        for r in (imp.to_dict(orient="records") if imp is not None else [])
    ]
    flagged = list(evidence.proxies.flagged_features) if evidence.proxies is not None else []
    return {
        "explanations": {
            "available": imp is not None,
            "method": METHOD,
            "importance": rows,
            "reason_codes": REASON_CODES,
            "calibration_note": _calibration_note(inputs.model.calibration),
            "proxy_note": (
                "Features flagged by the proxy scan, marked as such in reason codes: "
                + ", ".join(flagged)
                if flagged
                else None
            ),
        }
    }
