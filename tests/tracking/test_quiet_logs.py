"""MLflow's housekeeping (INFO lines about database tables and migrations) stays out of
our users' output while we log, and MLflow's logging is as it was afterwards."""

from __future__ import annotations

import logging

import pytest

from riskmodels.tracking import log_assessment
from riskmodels.tracking._store import _CHATTY_LOGGERS


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected():
    """Every record that reaches MLflow's and alembic's loggers (they do not propagate
    to the root logger, so pytest's caplog would not see them)."""
    import mlflow  # noqa: F401 - configures its loggers (INFO), as in any session

    handler = _Collect()
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.records
    for logger in loggers:
        logger.removeHandler(handler)


def test_mlflow_info_lines_are_held_back(fitted, tmp_path, collected):
    import mlflow

    model, evidence, _, _ = fitted
    levels = {name: logging.getLogger(name).level for name in _CHATTY_LOGGERS}

    # MLflow on its own narrates creating a new store...
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'direct.db'}").search_experiments()
    assert any(r.levelno == logging.INFO for r in collected), "no INFO line to hold back"
    collected.clear()

    # ...and says nothing when we create one and log a run in it.
    log_assessment(model, evidence, tracking_uri=f"sqlite:///{tmp_path / 'ours.db'}")
    assert [r.getMessage() for r in collected if r.levelno < logging.WARNING] == []
    assert {name: logging.getLogger(name).level for name in _CHATTY_LOGGERS} == levels
