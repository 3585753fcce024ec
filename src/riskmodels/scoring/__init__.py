"""Operational scoring: :func:`score` -> :class:`RiskList`, with a hash-chained audit log.

Scores reach people only through here: from a verified, approved, unexpired release, for
a purpose its policy permits, on data that matches the spec and has not drifted, with
rows outside the training data left unscored (``insufficient_basis``), and with one
audit-log entry per run or refusal in the site's log (:func:`verify_audit_log` checks
the chain, :func:`anchor` gives the head hash to keep elsewhere).
"""

from riskmodels.scoring._audit_log import (
    AUDIT_LOG_ENV,
    anchor,
    append_entry,
    default_audit_log,
    verify_audit_log,
)
from riskmodels.scoring._risklist import (
    DECISION_COLUMNS,
    DECISION_OPTIONS,
    STATUSES,
    RiskList,
    escape_formulas,
)
from riskmodels.scoring._score import DriftReport, score

__all__ = [
    "AUDIT_LOG_ENV",
    "DECISION_COLUMNS",
    "DECISION_OPTIONS",
    "STATUSES",
    "DriftReport",
    "RiskList",
    "anchor",
    "append_entry",
    "default_audit_log",
    "escape_formulas",
    "score",
    "verify_audit_log",
]
