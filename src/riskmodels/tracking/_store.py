"""Where runs go and how we talk to MLflow without touching its global state.

Every call goes through an explicit :class:`mlflow.MlflowClient` for the resolved
tracking URI: no ``mlflow.set_tracking_uri``, ``set_experiment`` or ``start_run``, so the
caller's tracking URI, active experiment and active run are exactly as they were. MLflow
is imported inside the functions (it takes a second or more), never at module import.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_TRACKING_URI",
    "STEP_TAG",
    "TRACKING_ENV",
    "client",
    "experiment_id",
    "find_run",
    "metric_key",
    "quiet_mlflow",
    "resolve_tracking_uri",
    "tracking_enabled",
    "write_run",
]

#: MLflow 3's own default; the old ./mlruns file store errors unless explicitly allowed.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "riskmodels"
#: ``RISKMODELS_TRACKING=0`` (or ``off``, ``false``, ``no``) stops the CLI logging its steps.
TRACKING_ENV = "RISKMODELS_TRACKING"
#: The step a run records (``assess``, ``train``, ``check``, ``approve``, ``register``,
#: ``score``); later steps find their parent run by it and a content hash.
STEP_TAG = "riskmodels.step"
#: The earlier run a step continues (also set as MLflow's ``mlflow.parentRunId``, so the
#: UI shows the chain as nested runs).
PARENT_TAG = "riskmodels.parent_run_id"

#: Loggers that narrate MLflow's housekeeping at INFO ("Creating initial MLflow database
#: tables...", the store's schema migrations) into our users' output.
_CHATTY_LOGGERS = ("mlflow", "alembic", "sqlalchemy.engine", "huey")
#: Environment switches MLflow reads at call time: no "View run ... at: <url>" line on
#: stdout, no progress bar per artifact download.
_QUIET_ENV = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
#: MLflow's log_batch accepts at most 1,000 metrics and 100 params per call.
_METRIC_BATCH, _PARAM_BATCH = 1000, 100


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The store to use: the argument, else ``$MLFLOW_TRACKING_URI``, else
    ``sqlite:///mlflow.db`` in the working folder.

    >>> resolve_tracking_uri("sqlite:///elsewhere.db")
    'sqlite:///elsewhere.db'
    """
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def tracking_enabled() -> bool:
    """False when ``$RISKMODELS_TRACKING`` is ``0``, ``off``, ``false`` or ``no``.

    >>> tracking_enabled() in (True, False)
    True
    """
    value = os.environ.get(TRACKING_ENV, "").strip().casefold()
    return value not in ("0", "off", "false", "no")


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Hold back MLflow's INFO lines, run-URL prints and progress bars while we call it,
    then restore.

    Warnings and errors still come through, and a logger the user set quieter than
    WARNING is left alone. Levels (not handlers) are changed, and only for the duration.
    """
    # MLflow configures its loggers when it is imported: import it before quieting them
    import mlflow  # noqa: F401

    saved = []
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    env_before = {k: os.environ.get(k) for k in _QUIET_ENV}
    os.environ.update(_QUIET_ENV)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _artifact_location(uri: str) -> str | None:
    # With a SQLite store MLflow would put artifacts in ./mlruns of whatever directory the
    # process runs in; keep them beside the database instead.
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///")).resolve()
        return (db.parent / "mlartifacts").as_uri()
    return None


def client(uri: str) -> Any:
    """An MLflow client bound to ``uri`` (the registry follows ``$MLFLOW_REGISTRY_URI`` when
    set, else the same store)."""
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri)


def experiment_id(mlflow_client: Any, uri: str, name: str) -> str:
    """The id of experiment ``name``, created (artifacts beside a SQLite store) if new."""
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return mlflow_client.create_experiment(name, artifact_location=_artifact_location(uri))


def find_run(mlflow_client: Any, experiment: str, step: str, tag: str, value: str) -> str | None:
    """The newest run of ``step`` whose tag ``tag`` is ``value`` (the earlier step a new
    run continues), or None."""
    exp = mlflow_client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    runs = mlflow_client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.`{STEP_TAG}` = '{step}' and tags.`{tag}` = '{value}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /:]")


def metric_key(*parts: str) -> str:
    """A metric name MLflow accepts, from parts joined by ``/`` (the UI groups by them);
    characters MLflow refuses become ``_``.

    >>> metric_key("fairness", "ethnicity", "Black & Other", "fpr")
    'fairness/ethnicity/Black _ Other/fpr'
    """
    return "/".join(_KEY_CHARS.sub("_", str(p)) for p in parts)


def write_run(
    mlflow_client: Any,
    experiment: str,
    uri: str,
    *,
    run_name: str,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    artifacts: str | os.PathLike[str] | None = None,
    parent_run_id: str | None = None,
) -> str:
    """One finished run: params, metrics (NaN left out), tags and a folder of artifacts.

    A run that fails half-way is marked FAILED, so the store never shows it as complete.
    """
    from mlflow.entities import Metric, Param

    all_tags = dict(tags or {})
    if parent_run_id:
        all_tags[PARENT_TAG] = parent_run_id
        all_tags["mlflow.parentRunId"] = parent_run_id
    run = mlflow_client.create_run(
        experiment_id(mlflow_client, uri, experiment), run_name=run_name, tags=all_tags
    )
    run_id = run.info.run_id
    try:
        stamp = run.info.start_time
        # MLflow stores NaN, but an undefined estimate is better absent than a number a
        # dashboard might plot; its status is in the artifacts
        values = [
            Metric(k, float(v), stamp, 0)
            for k, v in (metrics or {}).items()
            if v is not None and not math.isnan(float(v))
        ]
        given = [Param(k, str(v)) for k, v in (params or {}).items()]
        for start in range(0, len(given), _PARAM_BATCH):
            mlflow_client.log_batch(run_id, params=given[start : start + _PARAM_BATCH])
        for start in range(0, len(values), _METRIC_BATCH):
            mlflow_client.log_batch(run_id, metrics=values[start : start + _METRIC_BATCH])
        if artifacts is not None:
            mlflow_client.log_artifacts(run_id, str(artifacts))
    except BaseException:
        mlflow_client.set_terminated(run_id, status="FAILED")
        raise
    mlflow_client.set_terminated(run_id)
    return run_id


def merge_tags(*groups: Mapping[str, Any] | None) -> dict[str, str]:
    """Tags as strings, later groups winning (MLflow stores tag values as text)."""
    out: dict[str, str] = {}
    for g in groups:
        out.update({k: str(v) for k, v in (g or {}).items()})
    return out
