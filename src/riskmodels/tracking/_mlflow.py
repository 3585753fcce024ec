"""Log a model's assessment to MLflow (embedded SQLite store by default)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from riskmodels._progress import step

__all__ = ["DEFAULT_TRACKING_URI", "log_assessment"]

#: MLflow 3's own default; the old ./mlruns file store errors unless explicitly allowed.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"

#: Loggers that narrate MLflow's housekeeping at INFO ("Creating initial MLflow database
#: tables...", the store's schema migrations) into our users' output.
_CHATTY_LOGGERS = ("mlflow", "alembic", "sqlalchemy.engine", "huey")
#: MLflow prints "View run ... at: <url>" on stdout for tracking servers unless this is set.
_SUPPRESS_URL_ENV = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Hold back MLflow's INFO lines and run-URL prints while we call it, then restore.

    Warnings and errors still come through, and a logger the user set quieter than
    WARNING is left alone. Levels (not handlers) are changed, and only for the duration:
    MLflow configures its loggers when it is imported, so this must run after the import.
    """
    saved = []
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    env_before = os.environ.get(_SUPPRESS_URL_ENV)
    os.environ[_SUPPRESS_URL_ENV] = "true"
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)
        if env_before is None:
            os.environ.pop(_SUPPRESS_URL_ENV, None)
        else:
            os.environ[_SUPPRESS_URL_ENV] = env_before


def _metric_items(evidence: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for prefix, report in (("", evidence.performance), ("baseline_", evidence.baseline)):
        for name, est in report.metrics.items():
            for suffix, v in (("", est.value), ("_lo", est.lo), ("_hi", est.hi)):
                # MLflow stores NaN, but an undefined estimate is better absent than a
                # number a dashboard might plot; its status is in evidence.json
                if not math.isnan(v):
                    out[f"{prefix}{name}{suffix}"] = float(v)
    return out


def _artifact_location(uri: str) -> str | None:
    # With a SQLite store MLflow would put artifacts in ./mlruns of whatever directory the
    # process runs in; keep them beside the database instead.
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///")).resolve()
        return (db.parent / "mlartifacts").as_uri()
    return None


def log_assessment(
    model: Any,
    evidence: Any,
    *,
    card: Any = None,
    tracking_uri: str | None = None,
    experiment: str = "riskmodels",
    run_name: str | None = None,
) -> str:
    """Record a fitted model's evidence (and card) as one MLflow run.

    The model itself is not logged with MLflow's sklearn flavour: that flavour trusts the
    skops type list stored next to the model, and riskmodels loads models only with its
    own list (the release bundle is the model's home).

    Parameters
    ----------
    model : RiskModel
        A fitted model.
    evidence : Evidence
        From ``model.assess``.
    card : ModelCard, optional
        Saved as artifacts under ``card/``.
    tracking_uri : str, optional
        Defaults to ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///mlflow.db`` in the
        working directory.
    experiment : str, default "riskmodels"
    run_name : str, optional
        Defaults to the model's name and version.

    Returns
    -------
    str
        The MLflow run id (cards can cite it).
    """
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    with step("Logging to MLflow") as progress:
        progress.stage("starting MLflow")
        import mlflow  # a second or more; only runs that log pay for it

        progress.stage("recording the run")
        with _quiet_mlflow():
            return _log(mlflow, uri, model, evidence, card, experiment, run_name)


def _log(
    mlflow: Any,
    uri: str,
    model: Any,
    evidence: Any,
    card: Any,
    experiment: str,
    run_name: str | None,
) -> str:
    """The MLflow calls of :func:`log_assessment`; the caller's tracking URI is restored."""
    client_uri_before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        if mlflow.get_experiment_by_name(experiment) is None:
            mlflow.create_experiment(experiment, artifact_location=_artifact_location(uri))
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name or f"{model.display_name}-{model.version_}") as run:
            mlflow.set_tags(
                {
                    "riskmodels.model_name": model.display_name,
                    "riskmodels.model_version": model.version_,
                    "riskmodels.decision_support_only": "true",
                }
            )
            mlflow.log_params(
                {
                    "estimator": model.estimator_name,
                    "calibration": str(model.calibration),
                    "calibration_scheme": getattr(model, "calibration_scheme_", ""),
                    "features": ",".join(model.features_),
                    "baseline_features": ",".join(model.baseline_features_),
                    "n_train": model.n_train_,
                    "training_sha256": model.training_sha256_,
                    "split_method": evidence.split.get("method", "unknown"),
                    "threshold": evidence.threshold,
                    "n_boot": evidence.n_boot,
                    "n_test": evidence.n,
                    "n_test_events": evidence.n_events,
                }
            )
            mlflow.log_metrics(_metric_items(evidence))
            with tempfile.TemporaryDirectory() as tmp:
                ev_path = Path(tmp) / "evidence.json"
                evidence.to_json(ev_path)
                mlflow.log_artifact(str(ev_path))
                if card is not None:
                    card_dir = Path(tmp) / "card"
                    card.save(card_dir)
                    mlflow.log_artifacts(str(card_dir), artifact_path="card")
            return run.info.run_id
    finally:
        mlflow.set_tracking_uri(client_uri_before)
