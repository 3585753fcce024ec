"""Section 1, model details: what the model is, how it was fit and calibrated, who owns it."""

from __future__ import annotations

from typing import Any

from riskmodels._version import __version__
from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import num, opt_int
from riskmodels.modeling._model import DEFAULT_FLAG_SHARE, HOLDOUT_FROM, HOLDOUT_SHARE

__all__ = ["build", "estimator_text", "threshold_rule"]

_OWNER_FIELDS = ("owner_organisation", "owner_team", "senior_responsible_owner", "contact")
_ESTIMATORS = {
    "hgb": "Gradient-boosted decision trees (scikit-learn HistGradientBoostingClassifier)",
    "logistic": "L2-regularised logistic regression (scikit-learn LogisticRegression)",
}


def estimator_text(
    estimator: str, calibration: str | None, info: dict[str, Any], scheme: str = "unrecorded data"
) -> str:
    """One sentence: the estimator, and how its scores became probabilities.

    ``info`` is the model's ``calibration_info_`` (method, scheme, holdout share, grouping);
    a model saved before it was recorded has none, and its ``calibration_scheme_`` sentence
    (``scheme``) is quoted instead.

    Examples
    --------
    >>> text = estimator_text("hgb", "sigmoid", {"scheme": "cross_validated", "folds": 5,
    ...                                          "grouped_by_person": True})
    >>> text.split(", fitted on ")[1]
    '5-fold out-of-fold predictions grouped by person.'
    """
    base = _ESTIMATORS.get(estimator, f"scikit-learn classifier {estimator}")
    if not calibration:
        return f"{base}, without a separate calibration step."
    how = "isotonic regression" if calibration == "isotonic" else "a logistic (sigmoid) curve"
    grouped = " grouped by person" if info.get("grouped_by_person") else ""
    if not info.get("scheme"):
        # a model saved before calibration_info_ was recorded: quote its recorded scheme
        return f"{base}, its scores turned into probabilities by {how} ({scheme})."
    if info.get("scheme") == "held_out":
        share = info.get("holdout_share", HOLDOUT_SHARE)
        where = (
            f"a held-out {share:.0%} of the training data (split{grouped or ' at random'}), "
            f"the model being fit on the other {1 - share:.0%} (the rule from "
            f"{HOLDOUT_FROM:,} training rows)"
        )
    else:
        where = f"{info.get('folds', 5)}-fold out-of-fold predictions{grouped}"
    return f"{base}, its scores turned into probabilities by {how}, fitted on {where}."


def threshold_rule(flag_share: float | None) -> str:
    """How the default threshold was chosen (``RiskModel.threshold_``)."""
    limit = f"{DEFAULT_FLAG_SHARE:.0%}"
    flagged = (
        f"{flag_share:.1%} of the training population (the lowest cut that flags at most "
        f"{limit}; calibrated scores are tied in steps)"
        if flag_share is not None
        else f"at most {limit} of the training population"
    )
    return (
        "A person is flagged when their score is at or above the threshold. The default "
        f"threshold flags {flagged}."
    )


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"model_details": ...}``: name, version, estimator, threshold, inputs, owners."""
    model, evidence, ctx = inputs.model, inputs.evidence, inputs.context
    spec = model.spec
    used = set(model.features_)
    window = model.training_window_
    return {
        "model_details": {
            "name": model.display_name,
            "version": model.version_,
            "estimator": model.estimator_name,
            "estimator_description": estimator_text(
                model.estimator_name,
                model.calibration,
                model.calibration_info_ or {},
                model.calibration_scheme_ or "unrecorded data",
            ),
            "calibration": model.calibration,
            "target": spec.target,
            "target_description": spec.target_description,
            "threshold": num(evidence.threshold),
            "default_threshold": num(model.threshold_),
            "threshold_rule": threshold_rule(model.flag_share_),
            "features": [
                {"name": f.name, "description": f.description, "kind": f.kind, "unit": f.unit}
                for f in spec.features
                if f.name in used
            ],
            "training_window": list(window) if window else None,
            "training_sha256": model.training_sha256_,
            "n_train": opt_int(model.n_train_),
            "n_train_events": opt_int(model.n_train_events_),
            "fitted_at": model.fitted_at_,
            "library_version": __version__,
            "owner": {k: getattr(ctx, k) for k in _OWNER_FIELDS},
        }
    }
