"""Monitoring a release in use: reviews, outcomes, drift, automation bias, suspension.

* :func:`record_reviews`: the decisions staff wrote on a returned risk list, checked
  against what was issued (ids, scores, drop-down values); a file with any problem is
  refused whole.
* :func:`record_outcomes`: observed outcomes of scored people, once their outcome window
  has passed.
* :func:`report` -> :class:`MonitoringReport`: indicators per period (volumes, refused
  runs, drift, review coverage, agreement with the flag and the automation-bias flag,
  support offered, incidents among flagged and not flagged, observed/expected overall
  and by group) judged against the release's policy. A calibration ``fail`` on matured
  outcomes suspends the release: ``riskmodels.score`` then refuses it.
* :func:`reinstate`: an approver's signature lifting a suspension (the policy's number of
  distinct trusted approvers is needed).

What each scoring run issued is kept by :func:`riskmodels.score` itself in the site's
monitoring store (``monitoring.db`` beside the audit log, or ``$RISKMODELS_MONITORING_URL``,
any SQLAlchemy URL); see ``docs/monitoring.md``.
"""

from riskmodels.monitoring._record import record_outcomes, record_reviews
from riskmodels.monitoring._report import (
    INDICATOR_COLUMNS,
    PERIODS,
    MonitoringReport,
    reinstate,
    report,
)
from riskmodels.scoring._store import MONITORING_ENV

__all__ = [
    "INDICATOR_COLUMNS",
    "MONITORING_ENV",
    "PERIODS",
    "MonitoringReport",
    "record_outcomes",
    "record_reviews",
    "reinstate",
    "report",
]
