"""Operational scoring: :func:`score` -> :class:`RiskList`, with a hash-chained audit log.

Scores reach people only through here: from a verified, approved, unexpired release, for
a purpose its policy permits, on data that matches the spec and has not drifted, with
rows outside the training data left unscored (``insufficient_basis``), and with one
audit-log entry per run (:func:`verify_audit_log` checks the chain).
"""

from riskmodels.scoring._audit_log import append_entry, verify_audit_log
from riskmodels.scoring._risklist import (
    DECISION_COLUMNS,
    STATUSES,
    RiskList,
    escape_formulas,
)
from riskmodels.scoring._score import DriftReport, score

__all__ = [
    "DECISION_COLUMNS",
    "STATUSES",
    "DriftReport",
    "RiskList",
    "append_entry",
    "escape_formulas",
    "score",
    "verify_audit_log",
]
