"""How a fitted RiskModel is turned into parts and back, for bundles on disk.

The fitted scikit-learn objects go into one plain dict (:func:`model_payload`) that the
release and candidate writers serialise with skops (never pickle); every other piece of
state is plain data (:func:`model_state`) written as JSON. :func:`rebuild_model` puts a
fitted ``RiskModel`` back together from those parts without calling ``fit`` or
``__init__``. Keeping this next to ``RiskModel`` means a new fitted attribute is added in
one place, not in every module that stores models.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MODEL_STATE", "model_payload", "model_state", "rebuild_model"]

#: Fitted RiskModel attributes that are plain data, stored in ``model.json``.
MODEL_STATE = (
    "version_",
    "features_",
    "baseline_features_",
    "threshold_",
    "training_sha256_",
    "n_train_",
    "n_train_events_",
    "training_window_",
    "fitted_at_",
    "fit_times_",
    "calibration_scheme_",
    "calibration_info_",
    "flag_share_",
)


def model_payload(model: Any) -> dict[str, Any]:
    """The fitted scikit-learn objects of ``model``, as one dict for skops."""
    return {
        "estimator": model.estimator_,
        "base_estimator": model.base_estimator_,
        "baseline": model.baseline_,
        "estimator_param": model.estimator,
    }


def model_state(model: Any) -> dict[str, Any]:
    """Everything else a fitted ``model`` knows, as JSON-ready plain data."""
    state = {
        "name": model.name,
        "display_name": model.display_name,
        "estimator_name": model.estimator_name,
        "calibration": model.calibration,
        "random_state": model.random_state,
        "quality": model.quality_.to_dict() if getattr(model, "quality_", None) else None,
    }
    for attr in MODEL_STATE:
        value = getattr(model, attr, None)
        state[attr] = list(value) if isinstance(value, tuple) else value
    return state


def rebuild_model(payload: dict[str, Any], state: dict[str, Any], spec: Any, profile: Any) -> Any:
    """A fitted ``RiskModel`` from its parts, without calling ``fit`` or ``__init__``.

    Examples
    --------
    >>> import riskmodels as rm
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=400, months=3, seed=2)
    >>> train, test = rm.split(frame, spec)
    >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
    >>> back = rebuild_model(model_payload(model), model_state(model), spec, model.profile_)
    >>> bool((back._predict_proba(test) == model._predict_proba(test)).all())
    True
    """
    from riskmodels.data._quality import DataQualityReport
    from riskmodels.modeling._model import RiskModel

    model = RiskModel.__new__(RiskModel)
    model.spec = spec
    model.estimator = payload["estimator_param"]
    model.calibration = state["calibration"]
    model.random_state = state["random_state"]
    model.name = state["name"]
    model.estimator_ = payload["estimator"]
    model.base_estimator_ = payload["base_estimator"]
    model.baseline_ = payload["baseline"]
    model.profile_ = profile
    model.quality_ = DataQualityReport.from_dict(state["quality"]) if state.get("quality") else None
    for attr in MODEL_STATE:
        value = state.get(attr)
        if attr == "training_window_" and value is not None:
            value = tuple(value)
        setattr(model, attr, value)
    return model
