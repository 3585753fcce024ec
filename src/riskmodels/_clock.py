"""The one clock every time-sensitive check reads.

Expiry, validity and audit-log timestamps use the system clock; no public function
accepts a caller's claim of the time, so an expired release cannot be scored "yesterday"
and the audit log records when things really happened. Tests replace :func:`now` with
``monkeypatch.setattr("riskmodels._clock.now", ...)``: a testing hook that is not part of
the public API and that the CLI cannot reach.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["now"]


def now() -> dt.datetime:
    """The current time, UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)
