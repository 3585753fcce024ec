"""MLflow tracking and a gated model registry.

:func:`log_assessment` records a model's evidence (metrics with CIs, per-group fairness,
card, gate report, policy, spec) as one run; the CLI's steps (``train``, ``check``,
``approve``, ``score``) each record a run linked to the step before. :func:`register`
registers a signed release bundle as a model version (an MLflow pyfunc that scores only
through :func:`riskmodels.score`) and sets the alias ``approved`` only after the stored
copy verified; ``rm.score("models:/NAME@approved", ...)`` and
``mlflow.pyfunc.load_model`` verify the bundle again every time. MLflow is imported
only by the functions that use it; no call leaves MLflow's global state changed.
"""

from riskmodels.tracking._mlflow import DEFAULT_TRACKING_URI, FAIRNESS_METRICS, log_assessment
from riskmodels.tracking._registry import (
    APPROVED_ALIAS,
    RegisteredRelease,
    load_registered_release,
    register,
)
from riskmodels.tracking._store import TRACKING_ENV, resolve_tracking_uri, tracking_enabled

__all__ = [
    "APPROVED_ALIAS",
    "DEFAULT_TRACKING_URI",
    "FAIRNESS_METRICS",
    "TRACKING_ENV",
    "RegisteredRelease",
    "load_registered_release",
    "log_assessment",
    "register",
    "resolve_tracking_uri",
    "tracking_enabled",
]
